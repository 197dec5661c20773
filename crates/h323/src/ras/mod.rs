//! The gatekeeper's side of RAS (H.225.0 clause 7): discovery, registration, admission,
//! bandwidth, disengage, location of local registrations, and the IRQ polls that find
//! endpoints which went away.
//!
//! [`Gatekeeper::handle`] takes one decoded message and the time, and returns what to send and
//! what happened; [`Gatekeeper::on_timer`] runs the polls and expiries that are due by then.
//! The gatekeeper always routes call signalling (its admission confirms name its own call
//! signalling address), which is how the product works.

pub mod build;
pub mod table;

use crate::alias::{self, Alias};
use crate::h235;
use causeway_h323_asn1::bmp_text;
use causeway_h323_asn1::h225::*;
use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};
pub use table::{DeviceKind, Registration, Registrations};

/// How long an IRQ waits for its IRR before it is sent again or given up.
pub const IRQ_WAIT: Duration = Duration::from_secs(5);
/// How many IRQs a poll sends before the endpoint counts as gone.
pub const IRQ_TRIES: u32 = 2;
/// The delay a RIP announces (`RIPAllRequests`), in milliseconds.
pub const RIP_DELAY_MS: u16 = 5000;

/// What to do with an RRQ whose alias another endpoint already holds from another address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictMode {
    Reject,
    Overwrite,
}

/// The zone or subzone's device authentication policy for a message's source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthPolicy {
    CheckCredentials,
    DoNotCheckCredentials,
    TreatAsAuthenticated,
}

/// Gatekeeper settings from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The `gatekeeperIdentifier` (the system name).
    pub gatekeeper_id: String,
    /// `H323 Gatekeeper Registration UDP Port`.
    pub ras_port: u16,
    /// `H323 Gatekeeper CallSignaling TCP Port`.
    pub call_signal_port: u16,
    /// `H323 Gatekeeper TimeToLive`.
    pub ttl: u32,
    /// `H323 Gatekeeper CallTimeToLive`.
    pub call_ttl: u32,
    /// `H323 Gatekeeper AutoDiscovery Mode`.
    pub auto_discovery: bool,
    pub conflict: ConflictMode,
    /// `H323 Gatekeeper Registration RIPAllRequests`.
    pub rip_all: bool,
}

/// The decisions the gatekeeper asks of the rest of causeway.
pub trait Context {
    /// Whether these aliases may register from `source` (the restriction policy and the
    /// subzone's registration policy): `Err(reason)` when not.
    fn may_register(&self, source: IpAddr, aliases: &[&str]) -> Result<(), String>;
    /// The authentication policy of the zone or subzone a source belongs to.
    fn auth_policy(&self, source: IpAddr, aliases: &[&str]) -> AuthPolicy;
    /// A user's password in the credential database.
    fn password(&self, user: &str) -> Option<String>;
    /// Wall-clock time in seconds since 1970, for token time stamps.
    fn unix_time(&self) -> u64;
    /// A number for a new registration (SIP and H.323 registrations share one sequence).
    /// The caller gives it back when it sees the registration's [`Output::Removed`].
    fn take_number(&self) -> u32;
}

/// Why a registration ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// The endpoint sent a URQ.
    Unregistered,
    /// Its time to live ran out and it did not answer the IRQs.
    Expired,
    /// Another endpoint took its alias (`ConflictMode: Overwrite`).
    Overwritten,
    /// An operator removed it.
    Operator,
}

/// A call as RAS knows it: one endpoint's admission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    pub call_id: [u8; 16],
    pub conference_id: [u8; 16],
    pub call_reference: u16,
    pub endpoint_id: String,
    pub answer: bool,
    pub bandwidth: u32,
    pub destination: Vec<Alias>,
    pub source: Vec<Alias>,
    next_poll: Instant,
}

/// What handling a message or a timer produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Boxed: RAS messages are large, the other outputs small.
    Send(SocketAddr, Box<RasMessage>),
    /// A new registration, or a full re-registration.
    Registered(Registration),
    /// An RRQ was refused.
    Refused {
        source: SocketAddr,
        aliases: Vec<Alias>,
        reason: String,
    },
    Removed(Registration, Removal),
    /// An admitted call is gone: its endpoint did not answer the in-call poll, or its
    /// registration ended. The call signalling layer clears it.
    ClearCall {
        call_id: [u8; 16],
        reason: String,
    },
    /// A message was not understood or was ignored; for the event log.
    Ignored {
        source: SocketAddr,
        what: String,
    },
    /// The answer to [`Gatekeeper::locate`]: where a neighbor said the alias is, or `None`
    /// when every peer refused or none answered in time.
    Located {
        id: u64,
        found: Option<Location>,
    },
}

/// Where a neighbor gatekeeper said an alias is (its LCF).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub call_signal: SocketAddr,
    pub ras: SocketAddr,
    /// The peer that answered.
    pub peer: SocketAddr,
}

/// A search of neighbors for one alias: LRQs to some peers, the first LCF wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocateRequest {
    /// The caller's own reference, given back in [`Output::Located`].
    pub id: u64,
    pub alias: Alias,
    pub source: Vec<Alias>,
    pub peers: Vec<SocketAddr>,
    pub hop_count: Option<u8>,
    /// Our address the peers reach us on: their answers come to it.
    pub local: IpAddr,
    /// How long to wait for the answers.
    pub wait: Duration,
}

#[derive(Debug, Clone)]
struct Locating {
    id: u64,
    /// LRQs not yet answered (their sequence numbers).
    waiting: Vec<u16>,
    deadline: Instant,
}

fn send(to: SocketAddr, message: RasMessage) -> Output {
    Output::Send(to, Box::new(message))
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum PollTarget {
    Registration(String),
    Call([u8; 16], bool),
}

#[derive(Debug, Clone)]
struct Poll {
    target: PollTarget,
    to: SocketAddr,
    tries: u32,
    deadline: Instant,
}

/// The gatekeeper.
pub struct Gatekeeper {
    settings: Settings,
    table: Registrations,
    /// Admissions by call identifier and whether this is the answering side.
    calls: HashMap<([u8; 16], bool), Admission>,
    call_polls: BTreeSet<(Instant, [u8; 16], bool)>,
    /// Outstanding IRQs by sequence number.
    polls: HashMap<u16, Poll>,
    /// Outstanding LRQs of ours, by request, and the request of each sequence number.
    locating: HashMap<u64, Locating>,
    lrq_of: HashMap<u16, u64>,
    polling: HashMap<PollTarget, u16>,
    next_seq: u16,
    next_endpoint: u64,
    salt: u64,
    /// The address the message being handled reached.
    local: IpAddr,
}

fn guid(g: &GloballyUniqueID) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(g.0.as_ref());
    out
}

fn texts(aliases: &[Alias]) -> Vec<&str> {
    aliases.iter().map(Alias::text).collect()
}

fn kind_of(t: &EndpointType) -> DeviceKind {
    if t.gatekeeper.is_some() {
        DeviceKind::Gatekeeper
    } else if t.mcu.is_some() {
        DeviceKind::Mcu
    } else if t.gateway.is_some() {
        DeviceKind::Gateway
    } else if t.terminal.is_some() {
        DeviceKind::Terminal
    } else {
        DeviceKind::Other
    }
}

/// The prefixes a gateway or MCU registers in its supported protocols.
fn prefixes_of(t: &EndpointType) -> Vec<String> {
    let protocols = t
        .gateway
        .as_ref()
        .and_then(|g| g.protocol.as_ref())
        .into_iter()
        .chain(t.mcu.as_ref().and_then(|m| m.protocol.as_ref()))
        .flatten();
    let mut out = Vec::new();
    for p in protocols {
        let list = match p {
            SupportedProtocols::h310(c) => c.supported_prefixes.as_ref(),
            SupportedProtocols::h320(c) => c.supported_prefixes.as_ref(),
            SupportedProtocols::h321(c) => c.supported_prefixes.as_ref(),
            SupportedProtocols::h322(c) => c.supported_prefixes.as_ref(),
            SupportedProtocols::h323(c) => c.supported_prefixes.as_ref(),
            SupportedProtocols::h324(c) => c.supported_prefixes.as_ref(),
            SupportedProtocols::voice(c) => c.supported_prefixes.as_ref(),
            SupportedProtocols::t120_only(c) => c.supported_prefixes.as_ref(),
            _ => None,
        };
        for sp in list.into_iter().flatten() {
            if let Some(a) = Alias::from_asn(&sp.prefix) {
                if !out.iter().any(|p: &String| p == a.text()) {
                    out.push(a.text().to_string());
                }
            }
        }
    }
    out
}

fn vendor_of(v: &VendorIdentifier) -> String {
    let text = |o: &Option<causeway_h323_asn1::rasn::types::OctetString>| {
        o.as_ref()
            .map(|b| {
                String::from_utf8_lossy(b)
                    .trim_end_matches('\0')
                    .trim()
                    .to_string()
            })
            .unwrap_or_default()
    };
    let product = text(&v.product_id);
    let version = text(&v.version_id);
    match (product.is_empty(), version.is_empty()) {
        (true, _) => String::new(),
        (false, true) => product,
        (false, false) => format!("{product} {version}"),
    }
}

impl Gatekeeper {
    /// `salt` makes endpoint identifiers differ between runs.
    pub fn new(settings: Settings, salt: u64) -> Gatekeeper {
        Gatekeeper {
            settings,
            table: Registrations::default(),
            calls: HashMap::new(),
            call_polls: BTreeSet::new(),
            polls: HashMap::new(),
            locating: HashMap::new(),
            lrq_of: HashMap::new(),
            polling: HashMap::new(),
            next_seq: (salt as u16).max(1),
            next_endpoint: 1,
            salt,
            local: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// New settings take effect for the next message; registrations keep the time to live
    /// they were given.
    pub fn set_settings(&mut self, settings: Settings) {
        self.settings = settings;
    }

    pub fn registrations(&self) -> &Registrations {
        &self.table
    }

    pub fn admissions(&self) -> impl Iterator<Item = &Admission> {
        self.calls.values()
    }

    fn seq(&mut self) -> u16 {
        self.next_seq = self.next_seq.wrapping_add(1).max(1);
        self.next_seq
    }

    fn new_endpoint_id(&mut self) -> String {
        let n = self.next_endpoint;
        self.next_endpoint += 1;
        // Unique for this gatekeeper's life and unlikely to repeat a previous run's.
        format!("{:08X}{:08X}", (self.salt >> 16) as u32, n as u32)
    }

    /// Handles one RAS message from `from`.
    /// `local` is our address that the message reached, which the answers give as ours.
    pub fn handle(
        &mut self,
        from: SocketAddr,
        local: IpAddr,
        msg: RasMessage,
        now: Instant,
        ctx: &dyn Context,
    ) -> Vec<Output> {
        let mut out = Vec::new();
        self.local = local;
        match msg {
            RasMessage::gatekeeperRequest(m) => self.grq(from, m, &mut out),
            RasMessage::registrationRequest(m) => self.rrq(from, m, now, ctx, &mut out),
            RasMessage::unregistrationRequest(m) => self.urq(from, m, &mut out),
            RasMessage::admissionRequest(m) => self.arq(from, m, now, &mut out),
            RasMessage::disengageRequest(m) => self.drq(from, m, &mut out),
            RasMessage::bandwidthRequest(m) => self.brq(from, m, &mut out),
            RasMessage::locationRequest(m) => self.lrq(from, m, &mut out),
            RasMessage::infoRequestResponse(m) => self.irr(from, m, now, &mut out),
            // Answers to our URQs need nothing more.
            RasMessage::unregistrationConfirm(_) | RasMessage::unregistrationReject(_) => {}
            RasMessage::infoRequestAck(_) | RasMessage::infoRequestNak(_) => {}
            RasMessage::locationConfirm(m) => {
                let found = Location {
                    call_signal: alias::socket_addr(&m.call_signal_address).unwrap_or(from),
                    ras: alias::socket_addr(&m.ras_address).unwrap_or(from),
                    peer: from,
                };
                self.located(m.request_seq_num.0, Some(found), &mut out);
            }
            RasMessage::locationReject(m) => self.located(m.request_seq_num.0, None, &mut out),
            // A neighbor asks for more time: the LRQ waits on.
            RasMessage::requestInProgress(m) => {
                if let Some(id) = self.lrq_of.get(&m.request_seq_num.0) {
                    if let Some(l) = self.locating.get_mut(id) {
                        let more = now + Duration::from_millis(u64::from(m.delay));
                        l.deadline = l.deadline.max(more);
                    }
                }
            }
            RasMessage::unknownMessageResponse(_) => {}
            other => {
                let (name, seq) = describe(&other);
                out.push(Output::Ignored {
                    source: from,
                    what: format!("{name} is not handled"),
                });
                if let Some(seq) = seq {
                    out.push(send(from, build::xrs(seq, None)));
                }
            }
        }
        out
    }

    fn grq(&mut self, from: SocketAddr, m: GatekeeperRequest, out: &mut Vec<Output>) {
        let seq = m.request_seq_num.0;
        if let Some(id) = &m.gatekeeper_identifier {
            if !bmp_text(&id.0).eq_ignore_ascii_case(&self.settings.gatekeeper_id) {
                let reply = alias::socket_addr(&m.ras_address).unwrap_or(from);
                out.push(send(
                    reply,
                    build::grj(
                        seq,
                        &self.settings.gatekeeper_id,
                        GatekeeperRejectReason::terminalExcluded(()),
                    ),
                ));
                return;
            }
        }
        // With discovery off the gatekeeper stays silent: only endpoints given its address
        // by hand register.
        if !self.settings.auto_discovery {
            out.push(Output::Ignored {
                source: from,
                what: "GRQ ignored: auto discovery is off".into(),
            });
            return;
        }
        let reply = alias::socket_addr(&m.ras_address).unwrap_or(from);
        out.push(send(
            reply,
            build::gcf(seq, &self.settings.gatekeeper_id, self.ras()),
        ));
    }

    fn rrq(
        &mut self,
        from: SocketAddr,
        m: RegistrationRequest,
        now: Instant,
        ctx: &dyn Context,
        out: &mut Vec<Output>,
    ) {
        let seq = m.request_seq_num.0;
        let gk = self.settings.gatekeeper_id.clone();
        // Answers go to where the request came from: an endpoint behind NAT cannot be reached
        // on the address it wrote into the message.
        let reply = from;
        if self.settings.rip_all {
            out.push(send(reply, build::rip(seq, RIP_DELAY_MS)));
        }
        let reject = |out: &mut Vec<Output>,
                      reason: RegistrationRejectReason,
                      why: &str,
                      aliases: Vec<Alias>| {
            out.push(Output::Refused {
                source: from,
                aliases,
                reason: why.to_string(),
            });
            out.push(send(reply, build::rrj(seq, &gk, reason)));
        };
        if let Some(id) = &m.gatekeeper_identifier {
            if !bmp_text(&id.0).eq_ignore_ascii_case(&gk) {
                reject(
                    out,
                    RegistrationRejectReason::undefinedReason(()),
                    "the RRQ names another gatekeeper",
                    vec![],
                );
                return;
            }
        }
        let aliases = alias::aliases(m.terminal_alias.as_ref());
        let ttl = match m.time_to_live {
            Some(TimeToLive(t)) if t > 0 => t.min(self.settings.ttl),
            _ => self.settings.ttl,
        };

        if m.keep_alive == Some(true) {
            // A lightweight refresh names the endpoint and carries no aliases, so the
            // restriction policy is not asked again.
            let id = m.endpoint_identifier.as_ref().map(|e| bmp_text(&e.0));
            let known = id
                .as_deref()
                .and_then(|id| self.table.get(id))
                .filter(|r| r.source.ip() == from.ip())
                .cloned();
            let Some(r) = known else {
                reject(
                    out,
                    RegistrationRejectReason::fullRegistrationRequired(()),
                    "keep-alive for an unknown registration",
                    aliases,
                );
                return;
            };
            self.table.refresh(&r.endpoint_id, now, ttl);
            self.forget_poll(&PollTarget::Registration(r.endpoint_id.clone()));
            out.push(send(
                reply,
                build::rcf(build::Rcf {
                    seq,
                    gk: &gk,
                    endpoint_id: &r.endpoint_id,
                    call_signal: self.call_signal(),
                    aliases: &[],
                    ttl,
                }),
            ));
            return;
        }

        if !m
            .call_signal_address
            .iter()
            .any(|a| alias::socket_addr(a).is_some())
        {
            reject(
                out,
                RegistrationRejectReason::invalidCallSignalAddress(()),
                "no usable call signalling address",
                aliases,
            );
            return;
        };
        let Some(ras) = m.ras_address.iter().find_map(alias::socket_addr) else {
            reject(
                out,
                RegistrationRejectReason::invalidRASAddress(()),
                "no usable RAS address",
                aliases,
            );
            return;
        };
        let prefixes = prefixes_of(&m.terminal_type);
        let mut checked: Vec<&str> = texts(&aliases);
        checked.extend(prefixes.iter().map(String::as_str));

        // Credentials, as the source's authentication policy asks.
        let mut authenticated_as = None;
        match ctx.auth_policy(from.ip(), &checked) {
            AuthPolicy::CheckCredentials => {
                let creds = h235::credentials(m.tokens.as_ref(), m.crypto_tokens.as_ref());
                match h235::check(&creds, &|u| ctx.password(u), ctx.unix_time()) {
                    h235::Verdict::Verified(user) => authenticated_as = Some(user),
                    h235::Verdict::None => {
                        reject(
                            out,
                            RegistrationRejectReason::securityDenial(()),
                            "credentials required but none given",
                            aliases,
                        );
                        return;
                    }
                    h235::Verdict::Failed(user) => {
                        reject(
                            out,
                            RegistrationRejectReason::securityDenial(()),
                            &format!("credentials for {user} did not verify"),
                            aliases,
                        );
                        return;
                    }
                }
            }
            AuthPolicy::TreatAsAuthenticated => authenticated_as = Some(String::new()),
            AuthPolicy::DoNotCheckCredentials => {}
        }

        if let Err(why) = ctx.may_register(from.ip(), &checked) {
            reject(
                out,
                RegistrationRejectReason::securityDenial(()),
                &why,
                aliases,
            );
            return;
        }

        // The registration this RRQ renews, if any: the one it names, or one from the same
        // address holding one of its aliases.
        let named = m
            .endpoint_identifier
            .as_ref()
            .map(|e| bmp_text(&e.0))
            .filter(|id| {
                self.table
                    .get(id)
                    .is_some_and(|r| r.source.ip() == from.ip())
            });
        let mut conflicts: Vec<String> = Vec::new();
        let mut renews: Option<String> = named.clone();
        for a in &aliases {
            let holder = self
                .table
                .holder(a.text())
                .map(|r| (r.endpoint_id.clone(), r.source.ip()));
            if let Some((id, ip)) = holder {
                if Some(&id) == named.as_ref() {
                    continue;
                }
                if ip == from.ip() {
                    // The same device registering again (a restart, say) is not a conflict.
                    renews.get_or_insert(id);
                } else if !conflicts.contains(&id) {
                    conflicts.push(id);
                }
            }
        }
        if !conflicts.is_empty() {
            match self.settings.conflict {
                ConflictMode::Reject => {
                    let taken: Vec<Alias> = aliases
                        .iter()
                        .filter(|a| {
                            self.table
                                .holder(a.text())
                                .is_some_and(|r| conflicts.contains(&r.endpoint_id))
                        })
                        .cloned()
                        .collect();
                    reject(
                        out,
                        build::duplicate_alias(&taken),
                        "alias registered from another address",
                        aliases,
                    );
                    return;
                }
                ConflictMode::Overwrite => {
                    for id in conflicts {
                        self.remove(&id, Removal::Overwritten, out);
                    }
                }
            }
        }
        // Other registrations from this address that share an alias are folded into this one.
        let previous = renews.and_then(|id| self.table.get(&id).cloned());
        let (endpoint_id, number, serial, registered_at) = match &previous {
            Some(p) => (p.endpoint_id.clone(), p.number, p.serial, p.registered_at),
            None => (
                self.new_endpoint_id(),
                ctx.take_number(),
                self.serial(),
                SystemTime::now(),
            ),
        };
        let r = Registration {
            endpoint_id: endpoint_id.clone(),
            number,
            serial,
            aliases: aliases.clone(),
            prefixes,
            kind: kind_of(&m.terminal_type),
            ras,
            call_signal: m
                .call_signal_address
                .iter()
                .filter_map(alias::socket_addr)
                .collect(),
            source: from,
            vendor: vendor_of(&m.endpoint_vendor),
            ttl,
            registered_at,
            refreshed: now,
            expires_at: now + Duration::from_secs(u64::from(ttl)),
            authenticated_as,
            local: self.local,
        };
        self.table.put(r.clone());
        self.forget_poll(&PollTarget::Registration(endpoint_id.clone()));
        out.push(send(
            reply,
            build::rcf(build::Rcf {
                seq,
                gk: &gk,
                endpoint_id: &endpoint_id,
                call_signal: self.call_signal(),
                aliases: &aliases,
                ttl,
            }),
        ));
        out.push(Output::Registered(r));
    }

    fn serial(&mut self) -> u128 {
        // A version 4 UUID from the salt, a counter and the time; unique enough for display.
        let t = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let mut x = (u128::from(self.salt) << 64) ^ t ^ (u128::from(self.next_endpoint) << 32);
        x = x.wrapping_mul(0x2545_f491_4f6c_dd1d_9e37_79b9_7f4a_7c15);
        (x & !(0xf000u128 << 64) | (0x4000u128 << 64)) & !(0xc000u128 << 48) | (0x8000u128 << 48)
    }

    fn urq(&mut self, from: SocketAddr, m: UnregistrationRequest, out: &mut Vec<Output>) {
        let seq = m.request_seq_num.0;
        let by_id = m
            .endpoint_identifier
            .as_ref()
            .map(|e| bmp_text(&e.0))
            .filter(|id| self.table.get(id).is_some());
        let by_address = || {
            let addrs: Vec<SocketAddr> = m
                .call_signal_address
                .iter()
                .filter_map(alias::socket_addr)
                .collect();
            self.table
                .all()
                .find(|r| r.call_signal.iter().any(|a| addrs.contains(a)))
                .map(|r| r.endpoint_id.clone())
        };
        let found = by_id.or_else(by_address).filter(|id| {
            self.table
                .get(id)
                .is_some_and(|r| r.source.ip() == from.ip())
        });
        match found {
            Some(id) => {
                self.remove(&id, Removal::Unregistered, out);
                out.push(send(from, build::ucf(seq)));
            }
            None => out.push(send(
                from,
                build::urj(seq, UnregRejectReason::notCurrentlyRegistered(())),
            )),
        }
    }

    /// Whether `from` speaks for the registration `id`.
    fn registered<'a>(
        &'a self,
        id: &EndpointIdentifier,
        from: SocketAddr,
    ) -> Option<&'a Registration> {
        self.table
            .get(&bmp_text(&id.0))
            .filter(|r| r.source.ip() == from.ip())
    }

    fn arq(&mut self, from: SocketAddr, m: AdmissionRequest, now: Instant, out: &mut Vec<Output>) {
        let seq = m.request_seq_num.0;
        let Some(r) = self.registered(&m.endpoint_identifier, from) else {
            out.push(send(
                from,
                build::arj(seq, AdmissionRejectReason::callerNotRegistered(())),
            ));
            return;
        };
        let endpoint_id = r.endpoint_id.clone();
        let Some(call_id) = m.call_identifier.as_ref().map(|c| guid(&c.guid)) else {
            // Version 1 endpoints without call identifiers are not supported.
            out.push(send(
                from,
                build::arj(seq, AdmissionRejectReason::undefinedReason(())),
            ));
            return;
        };
        let destination = alias::aliases(m.destination_info.as_ref());
        if !m.answer_call && destination.is_empty() && m.dest_call_signal_address.is_none() {
            out.push(send(
                from,
                build::arj(seq, AdmissionRejectReason::incompleteAddress(())),
            ));
            return;
        }
        let admission = Admission {
            call_id,
            conference_id: guid(&m.conference_id.0),
            call_reference: m.call_reference_value.0,
            endpoint_id,
            answer: m.answer_call,
            bandwidth: m.band_width.0,
            destination,
            source: alias::aliases(Some(&m.src_info)),
            next_poll: now + self.call_ttl(),
        };
        let key = (call_id, m.answer_call);
        if let Some(old) = self.calls.insert(key, admission.clone()) {
            self.call_polls
                .remove(&(old.next_poll, call_id, old.answer));
        }
        self.call_polls
            .insert((admission.next_poll, call_id, admission.answer));
        out.push(send(
            from,
            build::acf(seq, m.band_width.0, self.call_signal()),
        ));
    }

    fn ras(&self) -> SocketAddr {
        SocketAddr::new(self.local, self.settings.ras_port)
    }

    fn call_signal(&self) -> SocketAddr {
        SocketAddr::new(self.local, self.settings.call_signal_port)
    }

    fn call_ttl(&self) -> Duration {
        Duration::from_secs(u64::from(self.settings.call_ttl))
    }

    fn drq(&mut self, from: SocketAddr, m: DisengageRequest, out: &mut Vec<Output>) {
        let seq = m.request_seq_num.0;
        let Some(r) = self.registered(&m.endpoint_identifier, from) else {
            out.push(send(
                from,
                build::drj(seq, DisengageRejectReason::notRegistered(())),
            ));
            return;
        };
        let endpoint_id = r.endpoint_id.clone();
        let call = m.call_identifier.as_ref().map(|c| guid(&c.guid));
        for k in self.admissions_of(&endpoint_id, call, m.call_reference_value.0) {
            self.drop_admission(k);
        }
        // A DRQ for a call we no longer know is still confirmed: the endpoint is done with it.
        out.push(send(from, build::dcf(seq)));
    }

    /// An endpoint's admissions for one call: by call identifier (a direct lookup), or by
    /// call reference for endpoints that send none.
    fn admissions_of(
        &self,
        endpoint_id: &str,
        call: Option<[u8; 16]>,
        call_reference: u16,
    ) -> Vec<([u8; 16], bool)> {
        match call {
            Some(id) => [(id, false), (id, true)]
                .into_iter()
                .filter(|k| {
                    self.calls
                        .get(k)
                        .is_some_and(|a| a.endpoint_id == endpoint_id)
                })
                .collect(),
            None => self
                .calls
                .iter()
                .filter(|(_, a)| a.endpoint_id == endpoint_id && a.call_reference == call_reference)
                .map(|(k, _)| *k)
                .collect(),
        }
    }

    fn drop_admission(&mut self, key: ([u8; 16], bool)) -> Option<Admission> {
        let a = self.calls.remove(&key)?;
        self.call_polls.remove(&(a.next_poll, key.0, key.1));
        self.forget_poll(&PollTarget::Call(key.0, key.1));
        Some(a)
    }

    fn brq(&mut self, from: SocketAddr, m: BandwidthRequest, out: &mut Vec<Output>) {
        let seq = m.request_seq_num.0;
        let Some(r) = self.registered(&m.endpoint_identifier, from) else {
            out.push(send(
                from,
                build::brj(seq, BandRejectReason::notBound(()), 0),
            ));
            return;
        };
        let endpoint_id = r.endpoint_id.clone();
        let call = m.call_identifier.as_ref().map(|c| guid(&c.guid));
        let wanted = m.band_width.0;
        let keys = self.admissions_of(&endpoint_id, call, m.call_reference_value.0);
        for k in &keys {
            if let Some(a) = self.calls.get_mut(k) {
                a.bandwidth = wanted;
            }
        }
        if !keys.is_empty() {
            out.push(send(from, build::bcf(seq, wanted)));
        } else {
            out.push(send(
                from,
                build::brj(seq, BandRejectReason::invalidConferenceID(()), 0),
            ));
        }
    }

    fn lrq(&mut self, from: SocketAddr, m: LocationRequest, out: &mut Vec<Output>) {
        let seq = m.request_seq_num.0;
        let reply = alias::socket_addr(&m.reply_address).unwrap_or(from);
        let wanted = alias::aliases(Some(&m.destination_info));
        let found = wanted.iter().find(|a| {
            self.table.holder(a.text()).is_some() || self.table.by_prefix(a.text()).is_some()
        });
        match found {
            Some(a) => out.push(send(
                reply,
                build::lcf(build::Lcf {
                    seq,
                    call_signal: self.call_signal(),
                    ras: self.ras(),
                    destination: std::slice::from_ref(a),
                }),
            )),
            None => out.push(send(
                reply,
                build::lrj(seq, LocationRejectReason::requestDenied(())),
            )),
        }
    }

    fn irr(
        &mut self,
        from: SocketAddr,
        m: InfoRequestResponse,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        let seq = m.request_seq_num.0;
        let endpoint_id = bmp_text(&m.endpoint_identifier.0);
        let known = self
            .table
            .get(&endpoint_id)
            .is_some_and(|r| r.source.ip() == from.ip());
        if known {
            // Any IRR shows the endpoint alive; an answer to a registration poll renews it.
            if let Some(poll) = self.polls.get(&seq) {
                if poll.target == PollTarget::Registration(endpoint_id.clone()) {
                    let ttl = self
                        .table
                        .get(&endpoint_id)
                        .map_or(self.settings.ttl, |r| r.ttl);
                    self.table.refresh(&endpoint_id, now, ttl);
                    self.forget_poll(&PollTarget::Registration(endpoint_id.clone()));
                }
            }
            // Calls it reports are alive too.
            let reported: Vec<[u8; 16]> = m
                .per_call_info
                .iter()
                .flat_map(|p| p.0.iter())
                .filter_map(|c| c.call_identifier.as_ref().map(|i| guid(&i.guid)))
                .collect();
            let keys: Vec<([u8; 16], bool)> = self
                .calls
                .iter()
                .filter(|(_, a)| a.endpoint_id == endpoint_id && reported.contains(&a.call_id))
                .map(|(k, _)| *k)
                .collect();
            for k in keys {
                self.forget_poll(&PollTarget::Call(k.0, k.1));
                self.schedule_call_poll(k, now);
            }
        }
        if m.need_response == Some(true) {
            out.push(send(from, build::iack(seq)));
        }
    }

    fn schedule_call_poll(&mut self, key: ([u8; 16], bool), now: Instant) {
        let next = now + self.call_ttl();
        if let Some(a) = self.calls.get_mut(&key) {
            self.call_polls.remove(&(a.next_poll, key.0, key.1));
            a.next_poll = next;
            self.call_polls.insert((next, key.0, key.1));
        }
    }

    fn forget_poll(&mut self, target: &PollTarget) {
        if let Some(seq) = self.polling.remove(target) {
            self.polls.remove(&seq);
        }
    }

    /// Removes a registration and the calls it admitted.
    fn remove(&mut self, endpoint_id: &str, why: Removal, out: &mut Vec<Output>) {
        let Some(r) = self.table.remove(endpoint_id) else {
            return;
        };
        self.forget_poll(&PollTarget::Registration(endpoint_id.to_string()));
        let keys: Vec<([u8; 16], bool)> = self
            .calls
            .iter()
            .filter(|(_, a)| a.endpoint_id == endpoint_id)
            .map(|(k, _)| *k)
            .collect();
        for k in keys {
            self.drop_admission(k);
            out.push(Output::ClearCall {
                call_id: k.0,
                reason: "the endpoint's registration ended".into(),
            });
        }
        if why == Removal::Overwritten || why == Removal::Operator {
            // Tell the endpoint, so that it registers again rather than believe it still is.
            let seq = self.seq();
            let reason = if why == Removal::Operator {
                UnregRequestReason::maintenance(())
            } else {
                UnregRequestReason::undefinedReason(())
            };
            out.push(send(
                r.ras,
                build::urq(
                    seq,
                    &self.settings.gatekeeper_id,
                    &r.endpoint_id,
                    &r.call_signal,
                    reason,
                ),
            ));
        }
        out.push(Output::Removed(r, why));
    }

    /// Asks neighbors where an alias is: one LRQ to each peer. The answer comes as an
    /// [`Output::Located`] from [`Gatekeeper::handle`] or [`Gatekeeper::on_timer`].
    pub fn locate(&mut self, req: LocateRequest, now: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        let reply = SocketAddr::new(req.local, self.settings.ras_port);
        let mut waiting = Vec::new();
        for peer in &req.peers {
            let seq = self.seq();
            out.push(send(
                *peer,
                build::client::lrq(
                    seq,
                    &self.settings.gatekeeper_id,
                    &req.alias,
                    &req.source,
                    reply,
                    req.hop_count,
                ),
            ));
            self.lrq_of.insert(seq, req.id);
            waiting.push(seq);
        }
        if waiting.is_empty() {
            out.push(Output::Located {
                id: req.id,
                found: None,
            });
            return out;
        }
        self.locating.insert(
            req.id,
            Locating {
                id: req.id,
                waiting,
                deadline: now + req.wait,
            },
        );
        out
    }

    /// An LCF (`found`) or LRJ for one of our LRQs.
    fn located(&mut self, seq: u16, found: Option<Location>, out: &mut Vec<Output>) {
        let Some(id) = self.lrq_of.remove(&seq) else {
            return;
        };
        let Some(l) = self.locating.get_mut(&id) else {
            return;
        };
        l.waiting.retain(|s| *s != seq);
        if found.is_none() && !l.waiting.is_empty() {
            return;
        }
        let l = self.locating.remove(&id).expect("present");
        for s in l.waiting {
            self.lrq_of.remove(&s);
        }
        out.push(Output::Located { id: l.id, found });
    }

    /// Removes a registration for an operator (`RemoveRegistration`); the endpoint gets a URQ.
    pub fn unregister(&mut self, endpoint_id: &str) -> Vec<Output> {
        let mut out = Vec::new();
        self.remove(endpoint_id, Removal::Operator, &mut out);
        out
    }

    /// Forgets an admission when the call signalling layer ended the call.
    pub fn call_ended(&mut self, call_id: [u8; 16]) {
        for answer in [false, true] {
            self.drop_admission((call_id, answer));
        }
    }

    /// When [`Gatekeeper::on_timer`] next has something to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let polls = self.polls.values().map(|p| p.deadline).min();
        let lrqs = self.locating.values().map(|l| l.deadline).min();
        [
            self.table.next_expiry(),
            self.call_polls.first().map(|c| c.0),
            polls,
            lrqs,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Sends the polls that are due and gives up on the endpoints that did not answer.
    pub fn on_timer(&mut self, now: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        // LRQs nobody answered in time.
        let late: Vec<u64> = self
            .locating
            .values()
            .filter(|l| l.deadline <= now)
            .map(|l| l.id)
            .collect();
        for id in late {
            if let Some(l) = self.locating.remove(&id) {
                for s in l.waiting {
                    self.lrq_of.remove(&s);
                }
                out.push(Output::Located { id, found: None });
            }
        }
        // Unanswered polls: ask again, or give up.
        let overdue: Vec<u16> = self
            .polls
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(s, _)| *s)
            .collect();
        for seq in overdue {
            let Some(p) = self.polls.remove(&seq) else {
                continue;
            };
            self.polling.remove(&p.target);
            if p.tries < IRQ_TRIES {
                self.send_poll(p.target, p.to, p.tries + 1, now, &mut out);
                continue;
            }
            match p.target {
                PollTarget::Registration(id) => self.remove(&id, Removal::Expired, &mut out),
                PollTarget::Call(call_id, answer) => {
                    if self.drop_admission((call_id, answer)).is_some() {
                        out.push(Output::ClearCall {
                            call_id,
                            reason: "no answer to the in-call poll".into(),
                        });
                    }
                }
            }
        }
        // Registrations past their time to live get an IRQ; the poll decides their fate.
        for id in self.table.due(now) {
            let target = PollTarget::Registration(id.clone());
            if self.polling.contains_key(&target) {
                continue;
            }
            let Some(ras) = self.table.get(&id).map(|r| r.ras) else {
                continue;
            };
            // Keep it out of the due list while the poll runs.
            self.table.postpone(&id, now + IRQ_WAIT * (IRQ_TRIES + 1));
            self.send_poll(target, ras, 1, now, &mut out);
        }
        // Calls whose poll is due.
        while let Some(&(at, call_id, answer)) = self.call_polls.first() {
            if at > now {
                break;
            }
            self.call_polls.pop_first();
            let Some(a) = self.calls.get_mut(&(call_id, answer)) else {
                continue;
            };
            a.next_poll = now + Duration::from_secs(u64::from(self.settings.call_ttl));
            self.call_polls.insert((a.next_poll, call_id, answer));
            let endpoint = a.endpoint_id.clone();
            if let Some(ras) = self.table.get(&endpoint).map(|r| r.ras) {
                let target = PollTarget::Call(call_id, answer);
                if !self.polling.contains_key(&target) {
                    self.send_poll(target, ras, 1, now, &mut out);
                }
            }
        }
        out
    }

    fn send_poll(
        &mut self,
        target: PollTarget,
        to: SocketAddr,
        tries: u32,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        let seq = self.seq();
        let call = match &target {
            PollTarget::Registration(_) => None,
            PollTarget::Call(id, answer) => self
                .calls
                .get(&(*id, *answer))
                .map(|a| (a.call_reference, a.call_id)),
        };
        let endpoint = match &target {
            PollTarget::Registration(id) => Some(id.clone()),
            PollTarget::Call(id, answer) => self
                .calls
                .get(&(*id, *answer))
                .map(|a| a.endpoint_id.clone()),
        };
        let local = endpoint
            .and_then(|e| self.table.get(&e).map(|r| r.local))
            .unwrap_or(self.local);
        let reply = SocketAddr::new(local, self.settings.ras_port);
        out.push(send(to, build::irq(seq, call, reply)));
        self.polling.insert(target.clone(), seq);
        self.polls.insert(
            seq,
            Poll {
                target,
                to,
                tries,
                deadline: now + IRQ_WAIT,
            },
        );
    }
}

/// A message's name and sequence number, for messages the gatekeeper does not handle.
fn describe(m: &RasMessage) -> (&'static str, Option<u16>) {
    match m {
        RasMessage::gatekeeperConfirm(x) => ("GCF", Some(x.request_seq_num.0)),
        RasMessage::gatekeeperReject(x) => ("GRJ", Some(x.request_seq_num.0)),
        RasMessage::registrationConfirm(x) => ("RCF", Some(x.request_seq_num.0)),
        RasMessage::registrationReject(x) => ("RRJ", Some(x.request_seq_num.0)),
        RasMessage::admissionConfirm(x) => ("ACF", Some(x.request_seq_num.0)),
        RasMessage::admissionReject(x) => ("ARJ", Some(x.request_seq_num.0)),
        RasMessage::bandwidthConfirm(x) => ("BCF", Some(x.request_seq_num.0)),
        RasMessage::bandwidthReject(x) => ("BRJ", Some(x.request_seq_num.0)),
        RasMessage::disengageConfirm(x) => ("DCF", Some(x.request_seq_num.0)),
        RasMessage::disengageReject(x) => ("DRJ", Some(x.request_seq_num.0)),
        RasMessage::locationConfirm(x) => ("LCF", Some(x.request_seq_num.0)),
        RasMessage::locationReject(x) => ("LRJ", Some(x.request_seq_num.0)),
        RasMessage::infoRequest(x) => ("IRQ", Some(x.request_seq_num.0)),
        RasMessage::nonStandardMessage(x) => ("NonStandardMessage", Some(x.request_seq_num.0)),
        RasMessage::requestInProgress(x) => ("RIP", Some(x.request_seq_num.0)),
        _ => ("message", None),
    }
}

#[cfg(test)]
mod tests;
