//! The H.323 service: the gatekeeper's RAS socket (UDP, `Registration UDP Port`, and the
//! multicast discovery port) around the sans-IO [`Gatekeeper`], and the call signalling
//! listener ([`signalling`]) whose calls are routed by the search ([`routing`]). One task owns
//! the RAS sockets and the timers; the gatekeeper itself sits in [`state::Shared`] so that the
//! management surfaces and the calls can read and change it.

pub mod routing;
pub mod signalling;
pub mod state;

use causeway_config::{ChangeEvent, Config, Snapshot};
use causeway_h323::alias::Alias;
use causeway_h323::ras::{
    AuthPolicy, ConflictMode, Context, Gatekeeper, Output, Registration, Removal, Settings,
};
use causeway_observe::EventLog;
use causeway_registrar::{Numbers, Restriction};
use causeway_routing::subzones::SubZones;
use state::{Notice, Shared};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use tokio::net::UdpSocket;
use tokio::sync::{broadcast, mpsc};

/// The gatekeeper's settings, or `None` while `H323 Mode` is Off.
pub fn settings(snap: &Snapshot) -> Option<Settings> {
    if snap.get("H323 Mode") != Some("On") {
        return None;
    }
    let int = |p: &str, d: i64| snap.int(p).unwrap_or(d);
    let name = snap
        .get("SystemUnit Name")
        .filter(|n| !n.is_empty())
        .unwrap_or("causeway");
    Some(Settings {
        gatekeeper_id: name.to_string(),
        ras_port: int("H323 Gatekeeper Registration UDP Port", 1719) as u16,
        call_signal_port: int("H323 Gatekeeper CallSignaling TCP Port", 1720) as u16,
        ttl: int("H323 Gatekeeper TimeToLive", 1800) as u32,
        call_ttl: int("H323 Gatekeeper CallTimeToLive", 120) as u32,
        auto_discovery: snap.get("H323 Gatekeeper AutoDiscovery Mode") != Some("Off"),
        conflict: match snap.get("H323 Gatekeeper Registration ConflictMode") {
            Some("Overwrite") => ConflictMode::Overwrite,
            _ => ConflictMode::Reject,
        },
        rip_all: snap.get("H323 Gatekeeper Registration RIPAllRequests") == Some("On"),
    })
}

/// What the gatekeeper asks of the configuration, derived once per revision.
struct Derived {
    restriction: Restriction,
    /// Also what calls and LRQs are routed by (published in [`Shared::routing`]).
    routing: Arc<routing::Routing>,
}

impl Derived {
    fn new(snap: &Snapshot) -> Derived {
        let vars = causeway_routing::Variables::from_snapshot(snap);
        Derived {
            restriction: Restriction::from_config(snap, &vars),
            routing: Arc::new(routing::Routing::from_snapshot(snap)),
        }
    }

    fn subzones(&self) -> &SubZones {
        &self.routing.subzones
    }
}

struct Ctx<'a> {
    derived: &'a Derived,
    config: &'a Config,
    numbers: &'a Numbers,
    /// The registration policy service already allowed this RRQ.
    policy_allowed: bool,
}

impl Context for Ctx<'_> {
    fn may_register(&self, source: IpAddr, aliases: &[&str]) -> Result<(), String> {
        let sz = self.derived.subzones().member(source, aliases);
        if !self.derived.subzones().registrations_allowed(&sz) {
            return Err(format!("registrations are not allowed in subzone {sz}"));
        }
        // Under a policy service the service decided before the gatekeeper saw the RRQ; one
        // that reaches here unasked is refused rather than let through.
        if matches!(self.derived.restriction, Restriction::Decided) && !self.policy_allowed {
            return Err("the registration policy service was not asked".into());
        }
        self.derived.restriction.check(aliases)
    }

    fn auth_policy(&self, source: IpAddr, aliases: &[&str]) -> AuthPolicy {
        let sz = self.derived.subzones().member(source, aliases);
        match self.derived.subzones().authentication_mode(&sz) {
            "CheckCredentials" => AuthPolicy::CheckCredentials,
            "TreatAsAuthenticated" => AuthPolicy::TreatAsAuthenticated,
            _ => AuthPolicy::DoNotCheckCredentials,
        }
    }

    fn password(&self, user: &str) -> Option<String> {
        self.config.credential_password(user)
    }

    fn unix_time(&self) -> u64 {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    fn take_number(&self) -> u32 {
        self.numbers.take()
    }
}

pub struct Service {
    config: Arc<Config>,
    snap: Arc<Snapshot>,
    shared: Arc<Shared>,
    log: Arc<EventLog>,
    derived: Derived,
    socket: Option<Arc<UdpSocket>>,
    /// The multicast discovery socket (224.0.1.41, port 1718), while H.323 is on.
    discovery: Option<Arc<UdpSocket>>,
    /// The call signalling listener's address and accept task.
    listener: Option<(SocketAddr, tokio::task::JoinHandle<()>)>,
    calls: Arc<signalling::Ctx>,
    /// Searches waiting for neighbors' answers, by reference.
    locates: HashMap<u64, tokio::sync::oneshot::Sender<Option<causeway_h323::ras::Location>>>,
    /// Which of our addresses a peer reaches, when the socket listens on all of them.
    local_for: HashMap<IpAddr, IpAddr>,
}

impl Service {
    /// `calls` is the call table the SIP service shares.
    pub fn spawn(
        config: Arc<Config>,
        shared: Arc<Shared>,
        calls: Arc<std::sync::Mutex<crate::calls::Calls>>,
        log: Arc<EventLog>,
    ) -> tokio::task::JoinHandle<()> {
        let changes = config.subscribe();
        let (notice_tx, notices) = mpsc::unbounded_channel();
        *shared.notices.lock().unwrap() = Some(notice_tx);
        tokio::spawn(async move {
            let snap = config.snapshot();
            let calls = Arc::new(signalling::Ctx::new(shared.clone(), calls, log.clone()));
            let mut svc = Service {
                listener: None,
                calls,
                derived: Derived::new(&snap),
                config,
                snap,
                shared,
                log,
                socket: None,
                discovery: None,
                locates: HashMap::new(),
                local_for: HashMap::new(),
            };
            svc.reconfigure().await;
            svc.run(changes, notices).await;
        })
    }

    async fn run(
        &mut self,
        mut changes: broadcast::Receiver<ChangeEvent>,
        mut notices: mpsc::UnboundedReceiver<Notice>,
    ) {
        let mut buf = vec![0u8; 65536];
        loop {
            let next = self
                .shared
                .with_gatekeeper(|gk| gk.poll_timeout())
                .flatten();
            let sleep = async {
                match next {
                    Some(t) => tokio::time::sleep_until(t.into()).await,
                    None => std::future::pending().await,
                }
            };
            let socket = self.socket.clone();
            let recv = async {
                match &socket {
                    Some(s) => s.recv_from(&mut buf).await,
                    None => std::future::pending().await,
                }
            };
            let discovery = self.discovery.clone();
            let mut dbuf = [0u8; 2048];
            let discover = async {
                match &discovery {
                    Some(s) => s.recv_from(&mut dbuf).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = discover => {
                    // Only GRQs belong here; the answer goes out from the RAS socket.
                    if let Ok((n, from)) = r {
                        if let Ok(m) = causeway_h323_asn1::decode_ras(&dbuf[..n]) {
                            if matches!(m, causeway_h323_asn1::h225::RasMessage::gatekeeperRequest(_)) {
                                self.on_message(m, from).await;
                            }
                        }
                    }
                }
                r = recv => {
                    // Errors (ICMP reports of earlier sends, on some systems) are skipped.
                    if let Ok((n, from)) = r {
                        let bytes = buf[..n].to_vec();
                        self.on_datagram(&bytes, from).await;
                    }
                }
                ch = changes.recv() => match ch {
                    Ok(ev) => {
                        self.snap = ev.snapshot;
                        self.reconfigure().await;
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        self.snap = self.config.snapshot();
                        self.reconfigure().await;
                    }
                    Err(_) => break,
                },
                Some(notice) = notices.recv() => match notice {
                    Notice::Send(outputs) => self.act(outputs).await,
                    Notice::Decided { from, local, msg, allowed } => {
                        self.registration_decided(from, local, *msg, allowed).await
                    }
                    Notice::Locate(req, reply) => {
                        let id = req.id;
                        self.locates.insert(id, reply);
                        let out = self
                            .shared
                            .with_gatekeeper(|gk| gk.locate(req, Instant::now()))
                            .unwrap_or_else(|| vec![Output::Located { id, found: None }]);
                        self.act(out).await;
                    }
                },
                _ = sleep => {
                    let out = self
                        .shared
                        .with_gatekeeper(|gk| gk.on_timer(Instant::now()))
                        .unwrap_or_default();
                    self.act(out).await;
                }
            }
        }
    }

    async fn reconfigure(&mut self) {
        let snap = self.snap.clone();
        self.derived = Derived::new(&snap);
        *self.shared.routing.lock().unwrap() = self.derived.routing.clone();
        let wanted = settings(&snap);
        let bind = wanted
            .as_ref()
            .map(|s| SocketAddr::new(crate::listen::bind_address(&snap), s.ras_port));
        let bound = self.socket.as_ref().and_then(|s| s.local_addr().ok());
        if bind != bound {
            self.socket = None;
            if let Some(addr) = bind {
                match UdpSocket::bind(addr).await {
                    Ok(s) => self.socket = Some(Arc::new(s)),
                    Err(e) => self.log.event(
                        1,
                        "tvcs",
                        "Application Failed",
                        &[("Detail", &format!("H.323 RAS cannot listen on {addr}: {e}"))],
                    ),
                }
            }
        }
        if wanted.is_some() != self.discovery.is_some() {
            self.discovery = match wanted {
                Some(_) => match discovery_socket() {
                    Ok(s) => Some(Arc::new(s)),
                    Err(e) => {
                        self.log.event(
                            2,
                            "tvcs",
                            "Application Failed",
                            &[("Detail", &format!("no multicast gatekeeper discovery: {e}"))],
                        );
                        None
                    }
                },
                None => None,
            };
        }
        self.listen_for_calls(&snap, wanted.as_ref()).await;
        let removed = {
            let mut gk = self.shared.gatekeeper.lock().unwrap();
            match (wanted, gk.as_mut()) {
                (Some(s), Some(g)) => {
                    g.set_settings(s);
                    Vec::new()
                }
                (Some(s), None) => {
                    *gk = Some(Gatekeeper::new(s, rand::random()));
                    Vec::new()
                }
                // H.323 turned off: every registration goes.
                (None, Some(g)) => {
                    let ids: Vec<String> = g
                        .registrations()
                        .all()
                        .map(|r| r.endpoint_id.clone())
                        .collect();
                    let mut out = Vec::new();
                    for id in ids {
                        out.extend(g.unregister(&id));
                    }
                    *gk = None;
                    out
                }
                (None, None) => Vec::new(),
            }
        };
        // The URQs cannot go out with the socket closed; the removals still count.
        for o in removed {
            if let Output::Removed(r, why) = o {
                self.removed(&r, why);
            }
        }
        self.shared
            .applied
            .store(snap.revision, std::sync::atomic::Ordering::Release);
    }

    /// Opens, moves or closes the call signalling listener.
    async fn listen_for_calls(&mut self, snap: &Snapshot, wanted: Option<&Settings>) {
        let start = snap
            .int("H323 Gatekeeper CallSignaling PortRange Start")
            .unwrap_or(15000);
        let end = snap
            .int("H323 Gatekeeper CallSignaling PortRange End")
            .unwrap_or(19999);
        *self.calls.range.lock().unwrap() = (start as u16, end.max(start) as u16);
        let addr =
            wanted.map(|s| SocketAddr::new(crate::listen::bind_address(snap), s.call_signal_port));
        if self.listener.as_ref().map(|(a, _)| *a) == addr {
            return;
        }
        if let Some((_, task)) = self.listener.take() {
            task.abort();
        }
        let Some(addr) = addr else { return };
        match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => {
                let task = tokio::spawn(signalling::serve(l, self.calls.clone()));
                self.listener = Some((addr, task));
            }
            Err(e) => self.log.event(
                1,
                "tvcs",
                "Application Failed",
                &[(
                    "Detail",
                    &format!("H.323 call signalling cannot listen on {addr}: {e}"),
                )],
            ),
        }
    }

    fn local_ip(&mut self, peer: IpAddr) -> IpAddr {
        let bound = self
            .socket
            .as_ref()
            .and_then(|s| s.local_addr().ok())
            .map(|a| a.ip());
        match bound {
            Some(ip) if !ip.is_unspecified() => ip,
            _ => {
                if let Some(ip) = self.local_for.get(&peer) {
                    return *ip;
                }
                let ip = route_to(peer).unwrap_or(peer);
                // The cache stays small: one entry per peer address, cleared when it grows.
                if self.local_for.len() > 4096 {
                    self.local_for.clear();
                }
                self.local_for.insert(peer, ip);
                ip
            }
        }
    }

    async fn on_datagram(&mut self, bytes: &[u8], from: SocketAddr) {
        let msg = match causeway_h323_asn1::decode_ras(bytes) {
            Ok(m) => m,
            Err(e) => {
                // No sequence number to answer with: the datagram is dropped.
                self.log.event(
                    2,
                    "tvcs",
                    "Bad RAS Message",
                    &[
                        ("Src-ip", &from.ip().to_string()),
                        ("Src-port", &from.port().to_string()),
                        ("Detail", &format!("undecodable datagram: {e}")),
                    ],
                );
                return;
            }
        };
        self.on_message(msg, from).await;
    }

    /// One decoded RAS message: LRQs and policy-checked RRQs take their own way, the rest
    /// goes to the gatekeeper.
    async fn on_message(&mut self, msg: causeway_h323_asn1::h225::RasMessage, from: SocketAddr) {
        let local = self.local_ip(from.ip());
        if let causeway_h323_asn1::h225::RasMessage::locationRequest(m) = msg {
            self.answer_lrq(from, local, m);
            return;
        }
        if let causeway_h323_asn1::h225::RasMessage::registrationRequest(m) = &msg {
            if m.keep_alive != Some(true)
                && matches!(self.derived.restriction, Restriction::Decided)
            {
                self.ask_registration_policy(from, local, msg);
                return;
            }
        }
        self.handle(from, local, msg, false).await;
    }

    /// Hands a message to the gatekeeper and acts on what it decided.
    async fn handle(
        &mut self,
        from: SocketAddr,
        local: IpAddr,
        msg: causeway_h323_asn1::h225::RasMessage,
        policy_allowed: bool,
    ) {
        let ctx = Ctx {
            derived: &self.derived,
            config: &self.config,
            numbers: &self.shared.numbers,
            policy_allowed,
        };
        let out = self
            .shared
            .with_gatekeeper(|gk| gk.handle(from, local, msg, Instant::now(), &ctx))
            .unwrap_or_default();
        self.act(out).await;
    }

    /// Asks the registration policy service about a full RRQ; the RRQ goes on to the
    /// gatekeeper when the service allows it, and gets RRJ `securityDenial` when it refuses.
    fn ask_registration_policy(
        &mut self,
        from: SocketAddr,
        local: IpAddr,
        msg: causeway_h323_asn1::h225::RasMessage,
    ) {
        let causeway_h323_asn1::h225::RasMessage::registrationRequest(m) = &msg else {
            return;
        };
        let aliases = causeway_h323::alias::aliases(m.terminal_alias.as_ref());
        let facts = causeway_policy::RegFacts {
            protocol: Some(causeway_policy::SignalProtocol::H323),
            aliases: aliases.iter().map(|a| a.text().to_string()).collect(),
            source_ip: Some(from.ip()),
            source_port: Some(from.port()),
            utc_time: Some(SystemTime::now()),
            ..causeway_policy::RegFacts::default()
        };
        let Some(tx) = self.shared.notices.lock().unwrap().clone() else {
            return;
        };
        let shared = self.shared.clone();
        tokio::spawn(async move {
            let params = causeway_policy::Params::registration(&facts);
            let policy = shared
                .ask_policy(crate::sip::policy::REGISTRATION_POLICY, params)
                .await;
            let first = aliases.first().map_or("", |a| a.text()).to_string();
            let ctx = causeway_routing::cpl::CallContext::new(first.clone(), first);
            let allowed = !matches!(
                policy.evaluate(&ctx).decision,
                causeway_routing::cpl::Decision::Reject { .. }
            );
            let _ = tx.send(Notice::Decided {
                from,
                local,
                msg: Box::new(msg),
                allowed,
            });
        });
    }

    /// The registration policy service's answer for an RRQ.
    async fn registration_decided(
        &mut self,
        from: SocketAddr,
        local: IpAddr,
        msg: causeway_h323_asn1::h225::RasMessage,
        allowed: bool,
    ) {
        if allowed {
            return self.handle(from, local, msg, true).await;
        }
        let causeway_h323_asn1::h225::RasMessage::registrationRequest(m) = msg else {
            return;
        };
        let gk = self
            .shared
            .with_gatekeeper(|gk| gk.settings().gatekeeper_id.clone())
            .unwrap_or_default();
        let rrj = causeway_h323::ras::build::rrj(
            m.request_seq_num.0,
            &gk,
            causeway_h323_asn1::h225::RegistrationRejectReason::securityDenial(()),
        );
        let refused = Output::Refused {
            source: from,
            aliases: causeway_h323::alias::aliases(m.terminal_alias.as_ref()),
            reason: "the registration policy service refused it".into(),
        };
        self.act(vec![refused, Output::Send(from, Box::new(rrj))])
            .await;
    }

    /// An LRQ is answered by a search, as a call would be: its source is the neighbor zone it
    /// comes from (or the Default Zone), and its hop count limits how far the search goes on.
    /// A find is confirmed with our own addresses, because the call will come through us.
    fn answer_lrq(
        &mut self,
        from: SocketAddr,
        local: IpAddr,
        m: causeway_h323_asn1::h225::LocationRequest,
    ) {
        use causeway_h323::ras::build;
        let (Some(socket), Some(ports)) = (
            self.socket.clone(),
            self.shared
                .with_gatekeeper(|gk| (gk.settings().ras_port, gk.settings().call_signal_port)),
        ) else {
            return;
        };
        let calls = self.calls.clone();
        let log = self.log.clone();
        tokio::spawn(async move {
            let seq = m.request_seq_num.0;
            let reply = causeway_h323::alias::socket_addr(&m.reply_address).unwrap_or(from);
            let wanted = causeway_h323::alias::aliases(Some(&m.destination_info));
            let callers = causeway_h323::alias::aliases(m.source_info.as_ref());
            let routing = calls.shared.routing.lock().unwrap().clone();
            let source = match routing::source_of(&routing, &calls.shared, from.ip(), &[]) {
                // An LRQ is never from a registration of ours.
                causeway_routing::Source::LocalZone { .. } => causeway_routing::Source::DefaultZone,
                s => s,
            };
            let shared = calls.shared.clone();
            let locator = move |req| shared.locate(req);
            let mut trace = Vec::new();
            let routed = routing::route(
                &routing,
                &calls.shared,
                &locator,
                routing::Wanted {
                    source,
                    destinations: &wanted,
                    caller_aliases: &callers,
                    hop_count: m.hop_count,
                    method: causeway_policy::MessageKind::Lrq,
                    caller_address: Some(from),
                },
                &mut trace,
            )
            .await;
            let dest = wanted.first().map_or("", |a| a.text()).to_string();
            let (answer, found, detail) = match routed {
                routing::Routed::To(at, alias, _) => (
                    build::lcf(build::Lcf {
                        seq,
                        call_signal: SocketAddr::new(local, ports.1),
                        ras: SocketAddr::new(local, ports.0),
                        destination: &[Alias::guess(&alias)],
                    }),
                    "True",
                    format!("LRQ: {alias} found at {at}"),
                ),
                routing::Routed::NotFound(why) => (
                    build::lrj(
                        seq,
                        causeway_h323_asn1::h225::LocationRejectReason::requestDenied(()),
                    ),
                    "False",
                    format!("LRQ: {why:?}: {}", trace.join("; ")),
                ),
            };
            search_completed(&log, from, &dest, found, &detail);
            calls
                .shared
                .record_search(crate::search_history::SearchRecord {
                    id: calls.shared.search_id(),
                    started: std::time::SystemTime::now(),
                    kind: "LRQ".into(),
                    source: from.ip().to_string(),
                    destination: dest.clone(),
                    found: found == "True",
                    outcome: detail.clone(),
                    call_id: String::new(),
                    trace,
                });
            if let Ok(bytes) = causeway_h323_asn1::encode_ras(&answer) {
                let _ = socket.send_to(&bytes, reply).await;
            }
        });
    }

    async fn act(&mut self, outputs: Vec<Output>) {
        for o in outputs {
            match o {
                Output::Send(to, m) => {
                    let Some(s) = &self.socket else { continue };
                    match causeway_h323_asn1::encode_ras(&m) {
                        Ok(bytes) => {
                            let _ = s.send_to(&bytes, to).await;
                        }
                        Err(e) => self.log.event(
                            1,
                            "tvcs",
                            "Application Failed",
                            &[("Detail", &format!("a RAS message did not encode: {e}"))],
                        ),
                    }
                }
                Output::Registered(r) => self.log.event(
                    1,
                    "tvcs",
                    "Registration Accepted",
                    &[
                        ("Protocol", "H323"),
                        ("Src-ip", &r.source.ip().to_string()),
                        ("Src-port", &r.source.port().to_string()),
                        ("Alias", &alias_list(&r.aliases)),
                        ("Endpoint-id", &r.endpoint_id),
                    ],
                ),
                Output::Refused {
                    source,
                    aliases,
                    reason,
                } => self.log.event(
                    1,
                    "tvcs",
                    "Registration Rejected",
                    &[
                        ("Protocol", "H323"),
                        ("Src-ip", &source.ip().to_string()),
                        ("Src-port", &source.port().to_string()),
                        ("Alias", &alias_list(&aliases)),
                        ("Detail", &reason),
                    ],
                ),
                Output::Removed(r, why) => self.removed(&r, why),
                Output::ClearCall { call_id, reason } => {
                    self.shared
                        .active
                        .tell(&call_id, signalling::CallNotice::Clear(reason));
                }
                Output::Located { id, found } => {
                    if let Some(reply) = self.locates.remove(&id) {
                        let _ = reply.send(found);
                    }
                }
                Output::Ignored { source, what } => self.log.event(
                    2,
                    "tvcs",
                    "RAS Message Ignored",
                    &[("Src-ip", &source.ip().to_string()), ("Detail", &what)],
                ),
            }
        }
    }

    fn removed(&self, r: &Registration, why: Removal) {
        self.shared.numbers.give(r.number);
        let reason = match why {
            Removal::Unregistered => "Unregistered by the endpoint",
            Removal::Expired => "Registration expired",
            Removal::Overwritten => "Alias taken over by another registration",
            Removal::Operator => "Operator forced removal",
        };
        self.shared.reg_history.push(crate::history::Ended {
            name: r
                .aliases
                .first()
                .map_or_else(String::new, |a| a.text().to_string()),
            protocol: "H323",
            address: r
                .call_signal
                .first()
                .map_or_else(String::new, |a| a.to_string()),
            created: r.registered_at,
            ended: std::time::SystemTime::now(),
            reason: reason.to_string(),
        });
        self.log.event(
            1,
            "tvcs",
            "Registration Removed",
            &[
                ("Protocol", "H323"),
                ("Alias", &alias_list(&r.aliases)),
                ("Endpoint-id", &r.endpoint_id),
                ("Reason", reason),
            ],
        );
    }
}

/// The event every H.323 search ends with (the SIP service logs the same one).
pub(crate) fn search_completed(
    log: &EventLog,
    from: SocketAddr,
    dest: &str,
    found: &str,
    detail: &str,
) {
    log.event(
        1,
        "tvcs",
        "Search Completed",
        &[
            ("Protocol", "H323"),
            ("Src-ip", &from.ip().to_string()),
            ("Dst-alias", dest),
            ("Found", found),
            ("Detail", detail),
        ],
    );
}

fn alias_list(aliases: &[Alias]) -> String {
    aliases
        .iter()
        .map(Alias::text)
        .collect::<Vec<_>>()
        .join(",")
}

/// The gatekeeper discovery multicast group and port (H.225.0).
pub const DISCOVERY: (std::net::Ipv4Addr, u16) = (std::net::Ipv4Addr::new(224, 0, 1, 41), 1718);

/// A socket on the discovery port, in the discovery group. Address reuse lets several
/// gatekeepers on one host (or several test nodes) all hear multicast GRQs.
fn discovery_socket() -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.bind(&SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, DISCOVERY.1)).into())?;
    s.join_multicast_v4(&DISCOVERY.0, &std::net::Ipv4Addr::UNSPECIFIED)?;
    s.set_nonblocking(true)?;
    UdpSocket::from_std(s.into())
}

/// Which local address the system would send from to reach `peer` (a routing lookup; no
/// packet is sent).
pub(crate) fn route_to(peer: IpAddr) -> Option<IpAddr> {
    let any: SocketAddr = if peer.is_ipv4() {
        "0.0.0.0:0".parse().ok()?
    } else {
        "[::]:0".parse().ok()?
    };
    let s = std::net::UdpSocket::bind(any).ok()?;
    s.connect(SocketAddr::new(peer, 9)).ok()?;
    Some(s.local_addr().ok()?.ip())
}
