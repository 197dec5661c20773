//! Routed call signalling (H.225.0 clause 7 over Q.931), free of I/O: a call's two legs, the
//! caller's connection to the gatekeeper (A) and the gatekeeper's connection to the callee
//! (B), and what a message arriving on one leg becomes on the other.
//!
//! The gatekeeper stays in the signalling path for the whole call. It picks a call reference of
//! its own for leg B and translates call references both ways. It passes fast start proposals
//! and tunnelled H.245 through unchanged. Every message that names an H.245 address is handed
//! to the caller, which must replace that address with one of its own relays: H.245 on
//! separate connections is routed too.

use crate::alias::{self, Alias};
use crate::q931::{CauseValue, Message, MessageType};
use crate::ras::build::protocol;
use causeway_h323_asn1::h225::*;
use causeway_h323_asn1::{decode_user_information, encode_user_information};
use std::net::SocketAddr;

/// One call-signalling message: the Q.931 envelope and the H.225.0 part it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    pub q931: Message,
    /// `None` when the message has no User-user element, or one that does not decode.
    pub uu: Option<H323UserInformation>,
}

/// Why a TPKT payload is not a call-signalling message we can route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignalError {
    #[error("Q.931: {0}")]
    Q931(#[from] crate::q931::Error),
    #[error("H.225.0 user information: {0}")]
    Uuie(String),
}

impl Signal {
    pub fn decode(bytes: &[u8]) -> Result<Signal, SignalError> {
        let q931 = Message::decode(bytes)?;
        let uu = match q931.h323_user_information() {
            Some(b) => {
                Some(decode_user_information(b).map_err(|e| SignalError::Uuie(e.to_string()))?)
            }
            None => None,
        };
        Ok(Signal { q931, uu })
    }

    /// The message with its user information encoded into the User-user element again.
    pub fn encode(&self) -> Vec<u8> {
        let mut m = self.q931.clone();
        if let Some(uu) = &self.uu {
            if let Ok(bytes) = encode_user_information(uu) {
                // Only an oversized element fails here; the original one stays then.
                if let Ok(with) = m.clone().with_user_user(bytes) {
                    m = with;
                }
            }
        }
        m.encode()
    }

    pub fn body(&self) -> Option<&H323UUPDUH323MessageBody> {
        self.uu.as_ref().map(|u| &u.h323_uu_pdu.h323_message_body)
    }

    /// The H.245 address the message offers, if any.
    pub fn h245_address(&self) -> Option<SocketAddr> {
        let body = self.body()?;
        let a = match body {
            H323UUPDUH323MessageBody::setup(x) => x.h245_address.as_ref(),
            H323UUPDUH323MessageBody::callProceeding(x) => x.h245_address.as_ref(),
            H323UUPDUH323MessageBody::alerting(x) => x.h245_address.as_ref(),
            H323UUPDUH323MessageBody::connect(x) => x.h245_address.as_ref(),
            H323UUPDUH323MessageBody::progress(x) => x.h245_address.as_ref(),
            H323UUPDUH323MessageBody::facility(x) => x.h245_address.as_ref(),
            _ => None,
        }?;
        alias::socket_addr(a)
    }

    /// Replaces the H.245 address the message offers.
    pub fn set_h245_address(&mut self, addr: SocketAddr) {
        let Some(uu) = self.uu.as_mut() else { return };
        let t = Some(alias::transport(addr));
        match &mut uu.h323_uu_pdu.h323_message_body {
            H323UUPDUH323MessageBody::setup(x) => x.h245_address = t,
            H323UUPDUH323MessageBody::callProceeding(x) => x.h245_address = t,
            H323UUPDUH323MessageBody::alerting(x) => x.h245_address = t,
            H323UUPDUH323MessageBody::connect(x) => x.h245_address = t,
            H323UUPDUH323MessageBody::progress(x) => x.h245_address = t,
            H323UUPDUH323MessageBody::facility(x) => x.h245_address = t,
            _ => {}
        }
    }
}

/// What a Setup asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupInfo {
    pub call_id: [u8; 16],
    pub source: Vec<Alias>,
    pub destination: Vec<Alias>,
    /// The address the caller dialled directly, if it gave one.
    pub dest_address: Option<SocketAddr>,
    pub fast_start: bool,
    pub tunnelling: bool,
    /// How many more gatekeepers the call may cross (`hopCount`).
    pub hop_count: Option<u8>,
}

impl SetupInfo {
    pub fn of(s: &Signal) -> Option<SetupInfo> {
        let uu = s.uu.as_ref()?;
        let H323UUPDUH323MessageBody::setup(setup) = &uu.h323_uu_pdu.h323_message_body else {
            return None;
        };
        let call_id = setup
            .call_identifier
            .as_ref()
            .map(|c| c.guid.0.as_ref())
            .unwrap_or(setup.conference_id.0 .0.as_ref());
        let mut id = [0u8; 16];
        id.copy_from_slice(call_id);
        let mut destination = alias::aliases(setup.destination_address.as_ref());
        // A caller may dial by number in the Q.931 called party number only.
        if let Ok(Some(n)) = s.q931.called_number() {
            let d = Alias::E164(n.digits.clone());
            if !n.digits.is_empty() && !destination.contains(&d) {
                destination.push(d);
            }
        }
        Some(SetupInfo {
            call_id: id,
            source: alias::aliases(setup.source_address.as_ref()),
            destination,
            dest_address: setup
                .dest_call_signal_address
                .as_ref()
                .and_then(alias::socket_addr),
            fast_start: setup.fast_start.as_ref().is_some_and(|f| !f.is_empty()),
            tunnelling: uu.h323_uu_pdu.h245_tunnelling == Some(true),
            hop_count: setup.hop_count,
        })
    }
}

/// A leg of a routed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// The caller's connection to us.
    Caller,
    /// Our connection to the callee.
    Callee,
}

impl Leg {
    pub fn other(self) -> Leg {
        match self {
            Leg::Caller => Leg::Callee,
            Leg::Callee => Leg::Caller,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The Setup went to the callee.
    Setup,
    Alerting,
    Connected,
    Released,
}

/// What handling a message produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Send this message on that leg (after replacing any H.245 address it offers).
    Forward(Leg, Box<Signal>),
    /// The callee answered.
    Connected,
    /// The call is over; close both legs once the forwards are sent.
    Ended { cause: Option<u8>, by: Leg },
}

/// One routed call.
#[derive(Debug, Clone)]
pub struct RoutedCall {
    pub call_id: [u8; 16],
    /// The call reference the caller chose (leg A).
    caller_crv: u16,
    /// The one we chose for leg B.
    callee_crv: u16,
    pub phase: Phase,
}

impl RoutedCall {
    /// A call for the Setup `setup` from the caller, sent on to `callee` with call reference
    /// `callee_crv`. Returns the call and the Setup for leg B.
    /// `destination` replaces the Setup's destination aliases when the search changed the
    /// alias (a transform); `hop_count` is what the next gatekeeper may still cross.
    pub fn start(
        setup: &Signal,
        callee: SocketAddr,
        our_address: SocketAddr,
        callee_crv: u16,
    ) -> Option<(RoutedCall, Signal)> {
        RoutedCall::start_to(setup, callee, our_address, callee_crv, None, None)
    }

    pub fn start_to(
        setup: &Signal,
        callee: SocketAddr,
        our_address: SocketAddr,
        callee_crv: u16,
        destination: Option<&Alias>,
        hop_count: Option<u8>,
    ) -> Option<(RoutedCall, Signal)> {
        let info = SetupInfo::of(setup)?;
        let mut out = setup.clone();
        out.q931.call_reference = crate::q931::CallReference::new(callee_crv & 0x7fff, true);
        if let Some(uu) = out.uu.as_mut() {
            if let H323UUPDUH323MessageBody::setup(s) = &mut uu.h323_uu_pdu.h323_message_body {
                s.dest_call_signal_address = Some(alias::transport(callee));
                s.source_call_signal_address = Some(alias::transport(our_address));
                // The endpoint identifier is the one we gave the caller: meaningless to the
                // callee.
                s.endpoint_identifier = None;
                if let Some(d) = destination.and_then(Alias::to_asn) {
                    s.destination_address = Some(vec![d]);
                }
                if hop_count.is_some() {
                    s.hop_count = hop_count.map(|h| h.clamp(1, 31));
                }
            }
        }
        // The Q.931 called party number says the same as the new destination, or nothing.
        if let Some(d) = destination {
            match (d, out.q931.called_number()) {
                (Alias::E164(digits), Ok(Some(mut n))) => {
                    n.digits = digits.clone();
                    let _ = out.q931.set_called_number(&n);
                }
                (_, Ok(Some(_)) | Err(_)) => {
                    out.q931.remove_ie(crate::q931::Ie::CALLED_PARTY_NUMBER);
                }
                _ => {}
            }
        }
        Some((
            RoutedCall {
                call_id: info.call_id,
                caller_crv: setup.q931.call_reference.value(),
                callee_crv: callee_crv & 0x7fff,
                phase: Phase::Setup,
            },
            out,
        ))
    }

    /// A message from `leg`: what to send where.
    pub fn on_message(&mut self, leg: Leg, mut s: Signal) -> Vec<Step> {
        if self.phase == Phase::Released {
            return Vec::new();
        }
        let kind = s.q931.message_type;
        if leg == Leg::Caller && kind == MessageType::Setup {
            // A repeated Setup on the same connection: the call is already under way.
            return Vec::new();
        }
        let to = leg.other();
        s.q931.call_reference = match to {
            // Towards the caller we answer on its call reference.
            Leg::Caller => crate::q931::CallReference::new(self.caller_crv, false),
            Leg::Callee => crate::q931::CallReference::new(self.callee_crv, true),
        };
        let mut steps = Vec::new();
        match kind {
            MessageType::Alerting if leg == Leg::Callee && self.phase == Phase::Setup => {
                self.phase = Phase::Alerting;
            }
            MessageType::Connect if leg == Leg::Callee && self.phase != Phase::Connected => {
                self.phase = Phase::Connected;
                steps.push(Step::Connected);
            }
            _ => {}
        }
        let ends = kind == MessageType::ReleaseComplete;
        let cause = s.q931.cause().ok().flatten().map(|c| c.value.0);
        steps.insert(0, Step::Forward(to, Box::new(s)));
        if ends {
            self.phase = Phase::Released;
            steps.push(Step::Ended { cause, by: leg });
        }
        steps
    }

    /// One leg's connection is gone without a ReleaseComplete: the other leg is released.
    pub fn on_closed(&mut self, leg: Leg) -> Vec<Step> {
        if self.phase == Phase::Released {
            return Vec::new();
        }
        self.phase = Phase::Released;
        let to = leg.other();
        vec![
            Step::Forward(
                to,
                Box::new(self.release(to, CauseValue::NORMAL_CALL_CLEARING, None)),
            ),
            Step::Ended {
                cause: None,
                by: leg,
            },
        ]
    }

    /// Releases both legs (an operator's disconnect, or an endpoint gone silent).
    pub fn clear(&mut self, cause: CauseValue) -> Vec<Step> {
        if self.phase == Phase::Released {
            return Vec::new();
        }
        self.phase = Phase::Released;
        let mut v = vec![Step::Forward(
            Leg::Caller,
            Box::new(self.release(Leg::Caller, cause, None)),
        )];
        v.push(Step::Forward(
            Leg::Callee,
            Box::new(self.release(Leg::Callee, cause, None)),
        ));
        v.push(Step::Ended {
            cause: Some(cause.0),
            by: Leg::Caller,
        });
        v
    }

    /// A ReleaseComplete for one leg.
    pub fn release(
        &self,
        leg: Leg,
        cause: CauseValue,
        reason: Option<ReleaseCompleteReason>,
    ) -> Signal {
        let (crv, from_originator) = match leg {
            Leg::Caller => (self.caller_crv, false),
            Leg::Callee => (self.callee_crv, true),
        };
        release_complete(crv, from_originator, cause, reason, Some(self.call_id))
    }
}

/// A ReleaseComplete with its H.225.0 part.
pub fn release_complete(
    crv: u16,
    from_originator: bool,
    cause: CauseValue,
    reason: Option<ReleaseCompleteReason>,
    call_id: Option<[u8; 16]>,
) -> Signal {
    let body = H323UUPDUH323MessageBody::releaseComplete(ReleaseCompleteUUIE::new(
        protocol(),
        reason,
        call_id.map(|g| CallIdentifier::new(GloballyUniqueID(g.into()))),
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ));
    Signal {
        q931: Message::release_complete(crv, from_originator, cause),
        uu: Some(user_information(body)),
    }
}

fn user_information(body: H323UUPDUH323MessageBody) -> H323UserInformation {
    H323UserInformation::new(
        H323UUPDU::new(
            body, None, None, None, None, None, None, None, None, None, None,
        ),
        None,
    )
}

#[cfg(test)]
mod tests;
