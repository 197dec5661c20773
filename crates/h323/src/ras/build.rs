//! The RAS messages the gatekeeper sends. rasn's types can only be built whole, so each
//! builder fills every component: the ones H.225.0 version 7 makes mandatory (extension
//! additions included) and `None` for the rest.

use crate::alias::{transport, Alias};
use causeway_h323_asn1::bmp_string;
use causeway_h323_asn1::h225::*;
use causeway_h323_asn1::rasn::types::ObjectIdentifier;
use std::net::SocketAddr;

/// H.225.0 version 7's protocol identifier.
pub const H225_V7: &[u32] = &[0, 0, 8, 2250, 0, 7];

pub fn protocol() -> ProtocolIdentifier {
    ProtocolIdentifier(ObjectIdentifier::new(H225_V7.to_vec()).expect("a valid OID"))
}

pub fn gatekeeper_id(name: &str) -> Option<GatekeeperIdentifier> {
    bmp_string(name).map(GatekeeperIdentifier)
}

pub fn endpoint_id(id: &str) -> EndpointIdentifier {
    EndpointIdentifier(bmp_string(id).expect("identifiers are ASCII"))
}

fn alias_list(aliases: &[Alias]) -> Vec<AliasAddress> {
    aliases.iter().filter_map(Alias::to_asn).collect()
}

pub fn gcf(seq: u16, gk: &str, ras: SocketAddr) -> RasMessage {
    RasMessage::gatekeeperConfirm(GatekeeperConfirm::new(
        RequestSeqNum(seq),
        protocol(),
        None,
        gatekeeper_id(gk),
        transport(ras),
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
        None,
    ))
}

pub fn grj(seq: u16, gk: &str, reason: GatekeeperRejectReason) -> RasMessage {
    RasMessage::gatekeeperReject(GatekeeperReject::new(
        RequestSeqNum(seq),
        protocol(),
        None,
        gatekeeper_id(gk),
        reason,
        None,
        None,
        None,
        None,
        None,
        None,
    ))
}

pub struct Rcf<'a> {
    pub seq: u16,
    pub gk: &'a str,
    pub endpoint_id: &'a str,
    pub call_signal: SocketAddr,
    pub aliases: &'a [Alias],
    pub ttl: u32,
}

pub fn rcf(r: Rcf) -> RasMessage {
    let aliases = alias_list(r.aliases);
    RasMessage::registrationConfirm(RegistrationConfirm::new(
        RequestSeqNum(r.seq),
        protocol(),
        None,
        vec![transport(r.call_signal)],
        (!aliases.is_empty()).then_some(aliases),
        gatekeeper_id(r.gk),
        endpoint_id(r.endpoint_id),
        None,
        Some(TimeToLive(r.ttl)),
        None,
        None,
        None,
        // The gatekeeper polls with IRQs, so IRRs are wanted.
        Some(true),
        None,
        Some(false),
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
        None,
        None,
    ))
}

pub fn rrj(seq: u16, gk: &str, reason: RegistrationRejectReason) -> RasMessage {
    RasMessage::registrationReject(RegistrationReject::new(
        RequestSeqNum(seq),
        protocol(),
        None,
        reason,
        gatekeeper_id(gk),
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ))
}

pub fn duplicate_alias(aliases: &[Alias]) -> RegistrationRejectReason {
    RegistrationRejectReason::duplicateAlias(alias_list(aliases))
}

pub fn rip(seq: u16, delay_ms: u16) -> RasMessage {
    RasMessage::requestInProgress(RequestInProgress::new(
        RequestSeqNum(seq),
        None,
        None,
        None,
        None,
        delay_ms.max(1),
    ))
}

pub fn urq(
    seq: u16,
    gk: &str,
    endpoint_id: &str,
    call_signal: &[SocketAddr],
    reason: UnregRequestReason,
) -> RasMessage {
    RasMessage::unregistrationRequest(UnregistrationRequest::new(
        RequestSeqNum(seq),
        call_signal.iter().copied().map(transport).collect(),
        None,
        None,
        Some(self::endpoint_id(endpoint_id)),
        None,
        gatekeeper_id(gk),
        None,
        None,
        None,
        Some(reason),
        None,
        None,
        None,
        None,
        None,
    ))
}

pub fn ucf(seq: u16) -> RasMessage {
    RasMessage::unregistrationConfirm(UnregistrationConfirm::new(
        RequestSeqNum(seq),
        None,
        None,
        None,
        None,
        None,
        None,
    ))
}

pub fn urj(seq: u16, reason: UnregRejectReason) -> RasMessage {
    RasMessage::unregistrationReject(UnregistrationReject::new(
        RequestSeqNum(seq),
        reason,
        None,
        None,
        None,
        None,
        None,
        None,
    ))
}

pub fn acf(seq: u16, bandwidth: u32, call_signal: SocketAddr) -> RasMessage {
    RasMessage::admissionConfirm(AdmissionConfirm::new(
        RequestSeqNum(seq),
        BandWidth(bandwidth),
        CallModel::gatekeeperRouted(()),
        transport(call_signal),
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
        None,
        Some(true),
        Some(no_uuies()),
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
        None,
        None,
    ))
}

/// The gatekeeper routes the call signalling itself, so it asks for no copies of it.
fn no_uuies() -> UUIEsRequested {
    UUIEsRequested::new(
        false,
        false,
        false,
        false,
        false,
        false,
        false,
        false,
        false,
        Some(false),
        Some(false),
        Some(false),
        Some(false),
    )
}

pub fn arj(seq: u16, reason: AdmissionRejectReason) -> RasMessage {
    RasMessage::admissionReject(AdmissionReject::new(
        RequestSeqNum(seq),
        reason,
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
    ))
}

pub fn dcf(seq: u16) -> RasMessage {
    RasMessage::disengageConfirm(DisengageConfirm::new(
        RequestSeqNum(seq),
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ))
}

pub fn drj(seq: u16, reason: DisengageRejectReason) -> RasMessage {
    RasMessage::disengageReject(DisengageReject::new(
        RequestSeqNum(seq),
        reason,
        None,
        None,
        None,
        None,
        None,
        None,
    ))
}

pub fn bcf(seq: u16, bandwidth: u32) -> RasMessage {
    RasMessage::bandwidthConfirm(BandwidthConfirm::new(
        RequestSeqNum(seq),
        BandWidth(bandwidth),
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ))
}

pub fn brj(seq: u16, reason: BandRejectReason, allowed: u32) -> RasMessage {
    RasMessage::bandwidthReject(BandwidthReject::new(
        RequestSeqNum(seq),
        reason,
        BandWidth(allowed),
        None,
        None,
        None,
        None,
        None,
        None,
    ))
}

/// An IRQ. `call` is `None` for a registration poll (call reference 0), or the call's
/// reference value and identifier.
pub fn irq(seq: u16, call: Option<(u16, [u8; 16])>, reply: SocketAddr) -> RasMessage {
    let (crv, id) = match call {
        Some((crv, guid)) => (
            crv,
            Some(CallIdentifier::new(GloballyUniqueID(guid.into()))),
        ),
        None => (0, None),
    };
    RasMessage::infoRequest(InfoRequest::new(
        RequestSeqNum(seq),
        CallReferenceValue(crv),
        None,
        Some(transport(reply)),
        id,
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
        None,
    ))
}

pub fn iack(seq: u16) -> RasMessage {
    RasMessage::infoRequestAck(InfoRequestAck::new(
        RequestSeqNum(seq),
        None,
        None,
        None,
        None,
    ))
}

pub struct Lcf<'a> {
    pub seq: u16,
    pub call_signal: SocketAddr,
    pub ras: SocketAddr,
    pub destination: &'a [Alias],
}

pub fn lcf(l: Lcf) -> RasMessage {
    let dest = alias_list(l.destination);
    RasMessage::locationConfirm(LocationConfirm::new(
        RequestSeqNum(l.seq),
        transport(l.call_signal),
        transport(l.ras),
        None,
        (!dest.is_empty()).then_some(dest),
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
        None,
        None,
        None,
        None,
        None,
        None,
    ))
}

pub fn lrj(seq: u16, reason: LocationRejectReason) -> RasMessage {
    RasMessage::locationReject(LocationReject::new(
        RequestSeqNum(seq),
        reason,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ))
}

pub fn xrs(seq: u16, not_understood: Option<&[u8]>) -> RasMessage {
    RasMessage::unknownMessageResponse(UnknownMessageResponse::new(
        RequestSeqNum(seq),
        None,
        None,
        None,
        Some(causeway_h323_asn1::rasn::types::OctetString::from(
            not_understood.unwrap_or_default().to_vec(),
        )),
    ))
}

/// The requests an endpoint sends, for load generators and tests (and for the gatekeeper's
/// own requests to neighbors later).
pub mod client {
    use super::*;

    fn terminal() -> EndpointType {
        EndpointType::new(
            None,
            None,
            None,
            None,
            None,
            Some(TerminalInfo::new(None)),
            false,
            false,
            None,
            None,
        )
    }

    fn vendor() -> VendorIdentifier {
        VendorIdentifier::new(H221NonStandard::new(0, 0, 0), None, None, None)
    }

    /// A full RRQ with `aliases`, or a lightweight refresh of `keep_alive`'s registration.
    pub fn rrq(
        seq: u16,
        aliases: &[Alias],
        ras: SocketAddr,
        call_signal: SocketAddr,
        keep_alive: Option<&str>,
    ) -> RasMessage {
        let list = alias_list(aliases);
        RasMessage::registrationRequest(RegistrationRequest::new(
            RequestSeqNum(seq),
            protocol(),
            None,
            true,
            vec![transport(call_signal)],
            vec![transport(ras)],
            terminal(),
            (!list.is_empty()).then_some(list),
            None,
            vendor(),
            None,
            None,
            None,
            None,
            None,
            Some(keep_alive.is_some()),
            keep_alive.map(endpoint_id),
            Some(false),
            Some(false),
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
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ))
    }

    /// An ARQ for a new point-to-point call from a registered endpoint.
    pub fn arq(
        seq: u16,
        endpoint: &str,
        source: &[Alias],
        destination: &[Alias],
        call_id: [u8; 16],
        call_reference: u16,
    ) -> RasMessage {
        RasMessage::admissionRequest(AdmissionRequest::new(
            RequestSeqNum(seq),
            CallType::pointToPoint(()),
            None,
            endpoint_id(endpoint),
            Some(alias_list(destination)),
            None,
            None,
            alias_list(source),
            None,
            BandWidth(3840),
            CallReferenceValue(call_reference),
            None,
            None,
            ConferenceIdentifier(GloballyUniqueID(call_id.into())),
            false,
            false,
            Some(false),
            Some(CallIdentifier::new(GloballyUniqueID(call_id.into()))),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            Some(false),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            Some(false),
        ))
    }

    pub fn drq(seq: u16, endpoint: &str, call_id: [u8; 16], call_reference: u16) -> RasMessage {
        RasMessage::disengageRequest(DisengageRequest::new(
            RequestSeqNum(seq),
            endpoint_id(endpoint),
            ConferenceIdentifier(GloballyUniqueID(call_id.into())),
            CallReferenceValue(call_reference),
            DisengageReason::normalDrop(()),
            None,
            Some(CallIdentifier::new(GloballyUniqueID(call_id.into()))),
            None,
            None,
            None,
            None,
            Some(false),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ))
    }

    /// An LRQ for `destination` with answers to `reply` (a gatekeeper asking a neighbor).
    pub fn lrq(
        seq: u16,
        gk: &str,
        destination: &Alias,
        source: &[Alias],
        reply: SocketAddr,
        hop_count: Option<u8>,
    ) -> RasMessage {
        let source = alias_list(source);
        RasMessage::locationRequest(LocationRequest::new(
            RequestSeqNum(seq),
            None,
            alias_list(std::slice::from_ref(destination)),
            None,
            transport(reply),
            (!source.is_empty()).then_some(source),
            Some(false),
            gatekeeper_id(gk),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            hop_count.map(|h| h.max(1)),
            None,
            None,
            None,
            None,
            Some(false),
            None,
        ))
    }

    pub fn urq(seq: u16, endpoint: &str, call_signal: SocketAddr) -> RasMessage {
        RasMessage::unregistrationRequest(UnregistrationRequest::new(
            RequestSeqNum(seq),
            vec![transport(call_signal)],
            None,
            None,
            Some(endpoint_id(endpoint)),
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
            None,
        ))
    }
}
