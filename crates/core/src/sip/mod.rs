//! The SIP service: transports, transactions, registrar and proxy, in one message loop.
//!
//! One task owns every transaction and the routing decisions; the registration and call tables
//! are shared with the management surfaces through [`state::Shared`]. The loop waits for a
//! message, a configuration change or the next timer, whichever comes first.

mod auth;
mod call_tag;
mod locate;
pub mod monitor;
mod neighbors;
mod outbound_auth;
pub(crate) mod policy;
mod proxy;
mod register;
mod search;
pub mod state;
pub mod util;
pub mod zone_rules;

use crate::listen::{listeners, Transport};
use crate::transport::{Event, Flow, Frame, Limits, Transports};
use causeway_config::{ChangeEvent, Config, Snapshot};
use causeway_observe::EventLog;
use causeway_registrar::{Domains, Restriction, Settings};
use causeway_sip::parse::Framing;
use causeway_sip::retain::{Damage, RetainMode, Tolerance, Verdict};
use causeway_sip::transaction::{
    Key, Output, Reliability, ServerInvite, ServerNonInvite, Timers, TxMessage,
};
use causeway_sip::validate::{validate_request, Role, ValidateOptions};
use causeway_sip::{Message, Method, Request, Response};
use rand::SeedableRng;
use state::{Notice, Shared};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use tokio::sync::{broadcast, mpsc};

fn framer(buf: &[u8]) -> Frame {
    match causeway_sip::frame(buf) {
        Framing::Complete(n) => Frame::Complete(n),
        Framing::Incomplete => Frame::Incomplete,
        Framing::Ping(n) | Framing::KeepAlive(n) => Frame::KeepAlive(n),
        Framing::Invalid(_) => Frame::Invalid,
    }
}

/// Which timer an entry of the timer index belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum TimerRef {
    Server(Key),
    Client(Key),
    /// Timer C of a proxied INVITE branch (RFC 3261 §16.6 step 11).
    TimerC(Key),
    Registrar,
    /// The next round of neighbor monitoring.
    Monitor,
}

/// What a server transaction keeps of a message: its status and its bytes. A completed
/// transaction lives on for Timer J (32 s over UDP) only to repeat its response, so it holds the
/// serialized response and not a parsed copy of anything.
#[derive(Debug, Clone, Default)]
struct Wire {
    status: Option<u16>,
    bytes: bytes::Bytes,
}

impl TxMessage for Wire {
    fn status(&self) -> Option<u16> {
        self.status
    }
    fn ack_for(invite: &Self, _: &Self) -> Self {
        // Server transactions never build ACKs.
        invite.clone()
    }
}

enum ServerMachine {
    Invite(ServerInvite<Wire>),
    NonInvite(ServerNonInvite<Wire>),
}

struct ServerTx {
    machine: ServerMachine,
    flow: Flow,
    /// The INVITE, kept to answer a CANCEL with 487.
    invite: Option<Request>,
}

/// A non-INVITE server transaction in the Completed state (RFC 3261 §17.2.2): until Timer J it
/// only repeats its final response to retransmissions. A registrar holds one for every REGISTER
/// of the last 32 s, so this keeps the response and where it went, not the machine.
struct Done {
    flow: Flow,
    /// Not `Bytes`, which is twice the size: retransmissions are rare, copying for them is cheap.
    response: Box<[u8]>,
}

/// Completed non-INVITE server transactions. Timer J is the same for all of them, so they expire
/// in the order they completed, and one timer entry (under the oldest one's key) serves them all.
#[derive(Default)]
struct Completed {
    by_key: HashMap<Arc<str>, Done>,
    queue: std::collections::VecDeque<(Instant, Arc<str>)>,
}

impl Completed {
    /// A key as one string, one allocation instead of three; no part can hold a line feed.
    fn pack(key: &Key) -> String {
        format!("{}\n{}\n{}", key.method, key.sent_by, key.branch)
    }

    fn unpack(s: &str) -> Key {
        let mut parts = s.splitn(3, '\n').map(str::to_string);
        let mut next = || parts.next().unwrap_or_default();
        let (method, sent_by, branch) = (next(), next(), next());
        Key {
            branch,
            sent_by,
            method,
        }
    }

    fn get(&self, key: &Key) -> Option<&Done> {
        if self.by_key.is_empty() {
            return None;
        }
        self.by_key.get(Self::pack(key).as_str())
    }

    /// Whether the record just added is the oldest one, whose Timer J needs scheduling.
    fn push(&mut self, key: &Key, done: Done, until: Instant) -> bool {
        let k: Arc<str> = Arc::from(Self::pack(key));
        self.queue.push_back((until, k.clone()));
        self.by_key.insert(k, done);
        self.queue.len() == 1
    }

    fn oldest(&self) -> Option<(Instant, Key)> {
        self.queue.front().map(|(t, k)| (*t, Self::unpack(k)))
    }

    /// Drops the records whose Timer J has fired and returns their keys.
    fn expire(&mut self, now: Instant) -> Vec<Key> {
        let mut gone = Vec::new();
        while let Some((t, k)) = self.queue.front() {
            if *t > now {
                break;
            }
            self.by_key.remove(k);
            gone.push(Self::unpack(k));
            self.queue.pop_front();
        }
        // A burst of registrations leaves big tables behind; give the room back once it is
        // mostly empty (halving at a quarter keeps this amortised).
        let len = self.by_key.len();
        if self.by_key.capacity() > 1024 && len < self.by_key.capacity() / 4 {
            self.by_key.shrink_to(len * 2);
            self.queue.shrink_to(len * 2);
        }
        gone
    }
}

/// What an INVITE server transaction keeps of its request: the fields a response of ours
/// copies (for a 487 after CANCEL or a 408 after Timer C), not the whole INVITE and its body.
fn answerable(req: &Request) -> Request {
    let mut r = Request::new(req.method.clone(), req.uri.clone());
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        r.headers.copy_from(&req.headers, name);
    }
    r
}

/// Settings the loop derives from the configuration.
struct Derived {
    /// The dial plan out-of-dialog requests are routed by.
    dialplan: Arc<causeway_routing::Dialplan>,
    /// Neighbor zones' peers, by lower-case zone name.
    zones: HashMap<String, search::ZonePeers>,
    /// DNS zones' lookup settings, by lower-case zone name.
    dns_zones: HashMap<String, causeway_dns::ZoneDns>,
    /// ENUM zones' DNS suffixes, by lower-case zone name.
    enum_zones: HashMap<String, String>,
    /// Asks the configured DNS servers; `None` when none is configured.
    resolver: Option<Arc<causeway_dns::DnsResolver>>,
    /// The Local Zone's subzones and the rules that place endpoints in them.
    subzones: causeway_routing::subzones::SubZones,
    registrar: Settings,
    restriction: Restriction,
    domains: Domains,
    min_se: u32,
    /// Neighbor and DNS zones' advanced settings (zone profiles).
    zone_rules: zone_rules::Rules,
}

pub use locate::LocateOutcome;

pub struct Service {
    config: Arc<Config>,
    snap: Arc<Snapshot>,
    shared: Arc<Shared>,
    log: Arc<EventLog>,
    transports: Transports,
    timers: Timers,
    // Boxed: INVITE transactions stay 32 s after their call is answered, and an unboxed table
    // would hold every slot at a transaction's full size.
    server: HashMap<Key, Box<ServerTx>>,
    completed: Completed,
    proxy: proxy::Proxy,
    /// Malformed-message runs of TCP and TLS connections that delivered one lately.
    tolerance: HashMap<u64, Tolerance>,
    /// Digest nonces and failed attempts.
    auth: auth::Auth,
    /// Where DNS lookups started by searches report back to the loop.
    dns_tx: Option<mpsc::UnboundedSender<search::DnsDone>>,
    /// Where policy services' scripts come back to the loop.
    policy_tx: Option<mpsc::UnboundedSender<policy::PolicyDone>>,
    policies: policy::Policies,
    /// Searches run for `xCommand Locate`, and where their outcomes go.
    locates: HashMap<Key, std::sync::mpsc::SyncSender<LocateOutcome>>,
    /// Searches in progress, for loop detection by call tag.
    tags: call_tag::Searches,
    /// Where each neighbor zone's round-robin stands.
    turns: std::sync::Mutex<HashMap<String, usize>>,
    index: BTreeSet<(Instant, TimerRef)>,
    due: HashMap<TimerRef, Instant>,
    derived: Derived,
    rng: rand::rngs::StdRng,
    /// Host names and addresses that mean "this node" in URIs.
    own: Vec<String>,
}

impl Service {
    /// Starts the service; it runs until the task is dropped. `tls` serves the TLS
    /// listeners, `client_tls` makes outgoing TLS connections (to zones).
    pub fn spawn(
        config: Arc<Config>,
        shared: Arc<Shared>,
        log: Arc<EventLog>,
        tls: Option<Arc<rustls::ServerConfig>>,
        client_tls: Option<Arc<crate::tls::ClientTls>>,
    ) -> tokio::task::JoinHandle<()> {
        let changes = config.subscribe();
        let (notice_tx, notices) = mpsc::unbounded_channel();
        *shared.notices.lock().unwrap() = Some(notice_tx);
        tokio::spawn(async move {
            let (tx, rx) = mpsc::channel(4096);
            let snap = config.snapshot();
            let lifetime = nonce_lifetime(&snap);
            let own = own_names(&snap);
            let mut svc = Service {
                derived: derive(&snap, &own),
                config,
                snap,
                shared,
                log,
                transports: Transports::new(framer, tx, tls).with_client_tls(client_tls),
                timers: Timers::default(),
                server: HashMap::new(),
                completed: Completed::default(),
                proxy: proxy::Proxy::default(),
                tolerance: HashMap::new(),
                auth: auth::Auth::new(lifetime),
                dns_tx: None,
                policy_tx: None,
                policies: policy::Policies::default(),
                locates: HashMap::new(),
                tags: call_tag::Searches::default(),
                turns: Default::default(),
                index: BTreeSet::new(),
                due: HashMap::new(),
                rng: rand::rngs::StdRng::from_entropy(),
                own,
            };
            svc.reconfigure().await;
            svc.run(rx, changes, notices).await;
        })
    }

    async fn run(
        &mut self,
        mut events: mpsc::Receiver<Event>,
        mut changes: broadcast::Receiver<ChangeEvent>,
        mut notices: mpsc::UnboundedReceiver<Notice>,
    ) {
        let (dns_tx, mut dns_rx) = mpsc::unbounded_channel();
        self.dns_tx = Some(dns_tx);
        let (policy_tx, mut policy_rx) = mpsc::unbounded_channel();
        self.policy_tx = Some(policy_tx);
        loop {
            let next = self.next_deadline();
            let sleep = async {
                match next {
                    Some(t) => tokio::time::sleep_until(t.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                ev = events.recv() => match ev {
                    Some(ev) => self.on_event(ev).await,
                    None => break,
                },
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
                    Notice::Removed(key) => self.drop_calls_of(&key, "Operator forced removal"),
                    Notice::Disconnected(call_id) => {
                        self.proxy.forget_call(&call_id);
                        self.log.event(
                            1,
                            "tvcs",
                            "Call Disconnected",
                            &[("Call-id", call_id.as_str()), ("Reason", "Operator disconnect")],
                        );
                    }
                    Notice::Locate(request, reply) => {
                        self.locate(request, reply, Instant::now()).await
                    }
                },
                Some(done) = dns_rx.recv() => self.dns_done(done, Instant::now()).await,
                Some(done) = policy_rx.recv() => self.policy_done(done, Instant::now()).await,
                _ = sleep => self.on_timers(Instant::now()).await,
            }
        }
    }

    /// Applies the current snapshot: listeners, limits and derived settings.
    async fn reconfigure(&mut self) {
        let snap = self.snap.clone();
        self.proxy.advertised.clear();
        if let Some(mode) = self.policies.refresh(&snap, &self.shared) {
            self.log.event(
                1,
                "tvcs",
                "Policy Change",
                &[("Detail", &format!("call policy now {mode}"))],
            );
        }
        {
            let mut zones = self.shared.zones.lock().unwrap();
            let old = std::mem::take(&mut *zones);
            *zones = monitor::zone_views(&snap, &old);
        }
        if !self.due.contains_key(&TimerRef::Monitor) {
            self.schedule(TimerRef::Monitor, Some(Instant::now()));
        }
        self.auth.set_nonces(&snap);
        self.own = own_names(&snap);
        self.derived = derive(&snap, &self.own);
        self.neighbors_reconfigured(Instant::now());
        let max = snap.int("SIP Advanced SipMaxSize").unwrap_or(32768) as usize;
        self.transports.set_limits(Limits {
            max_message: max,
            connect_timeout: std::time::Duration::from_secs(
                snap.int("SIP Advanced SipTcpConnectTimeout").unwrap_or(10) as u64,
            ),
            outbound_ports: (
                snap.int("SIP TCP Outbound Port Start").unwrap_or(25000) as u16,
                snap.int("SIP TCP Outbound Port End").unwrap_or(29999) as u16,
            ),
        });
        let wanted = listeners(&snap);
        for (l, e) in self.transports.apply(&wanted).await {
            let detail = format!("{} {}: {e}", l.transport.name(), l.addr);
            eprintln!("causeway: SIP listener failed: {detail}");
            self.log
                .event(1, "tvcs", "Application Warning", &[("Detail", &detail)]);
        }
        self.shared
            .applied
            .store(snap.revision, std::sync::atomic::Ordering::Release);
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.index.first().map(|(t, _)| *t)
    }

    fn schedule(&mut self, r: TimerRef, at: Option<Instant>) {
        if let Some(old) = self.due.remove(&r) {
            self.index.remove(&(old, r.clone()));
        }
        if let Some(at) = at {
            self.index.insert((at, r.clone()));
            self.due.insert(r, at);
        }
    }

    async fn on_timers(&mut self, now: Instant) {
        while let Some((t, r)) = self.index.first().cloned() {
            if t > now {
                break;
            }
            self.index.remove(&(t, r.clone()));
            self.due.remove(&r);
            match r {
                TimerRef::Server(key) => {
                    if let Some(tx) = self.server.get_mut(&key) {
                        match &mut tx.machine {
                            ServerMachine::Invite(m) => m.handle_timeout(now),
                            ServerMachine::NonInvite(m) => m.handle_timeout(now),
                        }
                    }
                    self.drain_server(&key).await;
                }
                TimerRef::Client(key) => self.proxy_client_timeout(key, now).await,
                TimerRef::TimerC(key) => self.timer_c(key, now).await,
                TimerRef::Registrar => self.expire_registrations(now),
                TimerRef::Monitor => self.monitor_tick(now).await,
            }
        }
    }

    async fn on_event(&mut self, ev: Event) {
        match ev {
            Event::Message {
                flow,
                bytes,
                parsed,
            } => match parsed {
                Ok(Message::Request(req)) => self.on_request(req, flow).await,
                Ok(Message::Response(resp)) => {
                    self.well_formed(&flow);
                    self.on_response(resp, flow).await
                }
                Err(e) => {
                    self.on_garbage(flow, &bytes, &e.to_string()).await;
                    self.malformed(&flow, Damage::of_parse_error(&e)).await;
                }
            },
            Event::TooLarge { flow, head } => {
                // RFC 3261 §18.1.1 and the guide: too big gets 513 where a response can go.
                if let Some(h) = causeway_sip::parse::salvage_headers(&head) {
                    let is_request = !head.starts_with(b"SIP/");
                    if is_request && util::top_via(&h).is_some() {
                        let r = Response::from_request_headers(&h, 513, "Message Too Large");
                        let _ = self
                            .transports
                            .send(&flow, Message::Response(r).to_bytes())
                            .await;
                    }
                }
                self.log.event(
                    2,
                    "tvcs",
                    "Decode Error",
                    &[
                        ("Src-ip", &flow.remote.ip().to_string()),
                        ("Detail", "message larger than SIP Advanced SipMaxSize"),
                    ],
                );
                if flow.transport != Transport::Udp {
                    self.transports.close(&flow).await;
                }
            }
            Event::Garbage { flow, bytes } => {
                self.on_garbage(flow, &bytes, "stream could not be framed")
                    .await
            }
            Event::Closed { flow } => {
                self.tolerance.remove(&flow.conn);
            }
            Event::Unreachable { transport, remote } => self.unreachable(transport, remote).await,
        }
    }

    /// The connection policy for malformed messages on `flow`'s connection. Messages from
    /// endpoints arrive in the Default Zone, which has no setting of its own: it keeps the
    /// zones' default, DropAll.
    fn retain_mode(&self, flow: &Flow) -> RetainMode {
        // A neighbor zone's peers follow the zone's own mode (zone_rules).
        self.zone_retain_mode(flow.remote.ip())
    }

    /// A malformed message came on `flow` (its error response, if any, already sent): a TCP
    /// or TLS connection may have to close.
    async fn malformed(&mut self, flow: &Flow, damage: Damage) {
        if flow.transport == Transport::Udp {
            return;
        }
        let mode = self.retain_mode(flow);
        let verdict = self
            .tolerance
            .entry(flow.conn)
            .or_default()
            .malformed(mode, damage);
        if verdict == Verdict::Close {
            self.tolerance.remove(&flow.conn);
            self.transports.close(flow).await;
        }
    }

    /// A well-formed message came on `flow`: a run of malformed ones is over.
    fn well_formed(&mut self, flow: &Flow) {
        if !self.tolerance.is_empty() {
            if let Some(t) = self.tolerance.get_mut(&flow.conn) {
                t.good();
            }
        }
    }

    /// A message that does not parse: answered 400 when it is a request whose headers still say
    /// where a response goes, otherwise dropped (RFC 3261 §18.3).
    async fn on_garbage(&mut self, flow: Flow, bytes: &[u8], why: &str) {
        self.log.event(
            1,
            "tvcs",
            "Decode Error",
            &[
                ("Protocol", flow.transport.name()),
                ("Src-ip", &flow.remote.ip().to_string()),
                ("Src-port", &flow.remote.port().to_string()),
                ("Detail", why),
            ],
        );
        if bytes.starts_with(b"SIP/") {
            return;
        }
        let Some(h) = causeway_sip::parse::salvage_headers(bytes) else {
            return;
        };
        let has_all = ["Via", "From", "To", "Call-ID", "CSeq"]
            .iter()
            .all(|n| h.contains(n));
        let is_ack = bytes.starts_with(b"ACK ");
        if has_all && !is_ack {
            let mut r = Response::from_request_headers(&h, 400, "");
            r.reason = causeway_sip::ByteStr::from(format!("Bad Request ({why})"));
            let _ = self
                .transports
                .send(&flow, Message::Response(r).to_bytes())
                .await;
        }
    }

    async fn on_request(&mut self, mut req: Request, flow: Flow) {
        let role = if req.method == Method::Register {
            Role::Registrar
        } else {
            Role::Proxy
        };
        if let Err(rej) = validate_request(&req, &ValidateOptions::for_role(role)) {
            if let Some(r) = rej.response(&req) {
                let _ = self
                    .transports
                    .send(&flow, Message::Response(r).to_bytes())
                    .await;
            }
            match Damage::of_problem(&rej.problem) {
                Some(damage) => self.malformed(&flow, damage).await,
                None => self.well_formed(&flow),
            }
            return;
        }
        self.well_formed(&flow);
        let Some(via) = stamp_received(&mut req, &flow) else {
            return;
        };
        let sent_by = match via.port() {
            Some(p) => format!("{}:{p}", via.host_str()),
            None => via.host_str().to_string(),
        };
        let branch = via.branch().unwrap_or("").to_string();
        let key = Key::server(&branch, &sent_by, req.method.as_str());
        let now = Instant::now();
        // An ACK for a 2xx has its own branch and belongs to the dialog: the proxy forwards it.
        if req.method == Method::Ack {
            if let Some(k) = &key {
                if let Some(tx) = self.server.get_mut(k) {
                    if let ServerMachine::Invite(m) = &mut tx.machine {
                        m.on_request(Wire::default(), true, now);
                    }
                    let k = k.clone();
                    self.drain_server(&k).await;
                    return;
                }
            }
            self.proxy_ack(req, flow).await;
            return;
        }
        if req.method == Method::Cancel {
            self.on_cancel(req, flow, key).await;
            return;
        }
        let Some(key) = key else {
            // RFC 2543 peers without the magic cookie: answered, but not matched for
            // retransmissions.
            let r = Response::for_request(&req, 400, "Bad Request (Via branch lacks z9hG4bK)");
            let _ = self
                .transports
                .send(&flow, Message::Response(r).to_bytes())
                .await;
            return;
        };
        if let Some(tx) = self.server.get_mut(&key) {
            match &mut tx.machine {
                ServerMachine::Invite(m) => m.on_request(Wire::default(), false, now),
                ServerMachine::NonInvite(m) => m.on_request(Wire::default()),
            }
            self.drain_server(&key).await;
            return;
        }
        if let Some(done) = self.completed.get(&key) {
            let (flow, bytes) = (done.flow, bytes::Bytes::copy_from_slice(&done.response));
            let _ = self.transports.send(&flow, bytes).await;
            return;
        }
        let rel = if flow.transport.reliable() {
            Reliability::Reliable
        } else {
            Reliability::Unreliable
        };
        let mut machine = if req.method == Method::Invite {
            ServerMachine::Invite(ServerInvite::new(Wire::default(), rel, self.timers))
        } else {
            ServerMachine::NonInvite(ServerNonInvite::new(Wire::default(), rel, self.timers))
        };
        // The first output hands the request to us; we already hold it.
        match &mut machine {
            ServerMachine::Invite(m) => while m.poll_output().is_some() {},
            ServerMachine::NonInvite(m) => while m.poll_output().is_some() {},
        }
        self.server.insert(
            key.clone(),
            Box::new(ServerTx {
                machine,
                flow,
                invite: (req.method == Method::Invite).then(|| answerable(&req)),
            }),
        );
        if let Some(r) = self.poison_answer(&req) {
            return self.respond(&key, r, now).await;
        }
        match req.method {
            Method::Register => self.on_register(&key, &req, &flow, now).await,
            Method::Options if self.is_for_us(&req) => {
                let mut r = Response::for_request(&req, 200, "OK");
                let _ = r.headers.push("Allow", ALLOW);
                let _ = r.headers.push("Accept", "application/sdp");
                let _ = r.headers.push("Supported", SUPPORTED);
                self.respond(&key, r, now).await;
            }
            _ => self.proxy_request(key, req, flow, now).await,
        }
    }

    /// Whether a request is addressed to this node itself (no user part, our host).
    fn is_for_us(&self, req: &Request) -> bool {
        match util::sip_uri(&req.uri) {
            Some(u) => {
                u.user().is_none()
                    && (self.is_own_host(u.host_str())
                        || self.derived.domains.is_local(u.host_str()))
            }
            None => false,
        }
    }

    fn is_own_host(&self, host: &str) -> bool {
        let h = host.trim_start_matches('[').trim_end_matches(']');
        self.own.iter().any(|o| o.eq_ignore_ascii_case(h))
            || self
                .transports
                .active()
                .iter()
                .any(|l| l.addr.ip().to_string() == h)
            || h.parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// Sends a response through the server transaction `key`.
    async fn respond(&mut self, key: &Key, mut resp: Response, now: Instant) {
        self.response_to_zone(key, &mut resp);
        if let Some(tx) = self.server.get_mut(key) {
            let msg = Wire {
                status: Some(resp.status),
                bytes: Message::Response(resp).to_bytes(),
            };
            match &mut tx.machine {
                ServerMachine::Invite(m) => m.send_response(msg, now),
                ServerMachine::NonInvite(m) => m.send_response(msg, now),
            }
        }
        self.drain_server(key).await;
    }

    /// Carries out what a server transaction asks for.
    async fn drain_server(&mut self, key: &Key) {
        let Some(tx) = self.server.get_mut(key) else {
            // Not a live transaction: the timer of the oldest completed one (or a late call for
            // a completed one, which changes nothing but the clean-up).
            self.expire_completed(Instant::now());
            return;
        };
        let flow = tx.flow;
        let mut sends = Vec::new();
        let mut done = false;
        loop {
            let out = match &mut tx.machine {
                ServerMachine::Invite(m) => m.poll_output(),
                ServerMachine::NonInvite(m) => m.poll_output(),
            };
            match out {
                Some(Output::Transmit(m)) => sends.push(m.bytes),
                Some(Output::Terminated) => done = true,
                Some(_) => {}
                None => break,
            }
        }
        let (next, completed) = match &tx.machine {
            ServerMachine::Invite(m) => (m.poll_timeout(), false),
            ServerMachine::NonInvite(m) => (
                m.poll_timeout(),
                m.state() == causeway_sip::transaction::State::Completed,
            ),
        };
        // The final response goes out in the same drain that completes the machine. Copied,
        // because the serializer's buffer has room to spare and this copy lives for Timer J.
        let last = sends
            .last()
            .filter(|_| completed)
            .map(|b| Box::from(&b[..]));
        for b in sends {
            let _ = self.transports.send(&flow, b).await;
        }
        if done {
            self.server.remove(key);
            self.proxy.forget_server(key);
            self.tags.finish(key);
            self.schedule(TimerRef::Server(key.clone()), None);
        } else if let (Some(until), Some(response)) = (next.filter(|_| completed), last) {
            self.server.remove(key);
            let oldest = self.completed.push(key, Done { flow, response }, until);
            self.schedule(TimerRef::Server(key.clone()), oldest.then_some(until));
        } else {
            self.schedule(TimerRef::Server(key.clone()), next);
        }
    }

    /// Timer J for completed non-INVITE server transactions: ends those whose time is up and
    /// sets the timer for the oldest one left.
    fn expire_completed(&mut self, now: Instant) {
        for key in self.completed.expire(now) {
            self.proxy.forget_server(&key);
            self.tags.finish(&key);
        }
        if let Some((at, key)) = self.completed.oldest() {
            self.schedule(TimerRef::Server(key), Some(at));
        }
    }

    /// Writes an event about a request: where it came from, `fields`, its Call-ID and a detail.
    fn log_request(
        &self,
        level: u8,
        event: &str,
        req: &Request,
        flow: &Flow,
        mut fields: Vec<(&str, String)>,
        detail: &str,
    ) {
        if !self.log.enabled(level) {
            return;
        }
        let call_id = util::header_str(&req.headers, "Call-ID").unwrap_or("");
        fields.splice(
            0..0,
            [
                ("Protocol", flow.transport.name().to_string()),
                ("Src-ip", flow.remote.ip().to_string()),
                ("Src-port", flow.remote.port().to_string()),
            ],
        );
        fields.push(("Call-id", call_id.to_string()));
        if !detail.is_empty() {
            fields.push(("Detail", detail.to_string()));
        }
        let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.log.event(level, "tvcs", event, &refs);
    }

    fn now_wall() -> SystemTime {
        SystemTime::now()
    }
}

const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, INFO, UPDATE, PRACK, SUBSCRIBE, NOTIFY, REFER, MESSAGE";
const SUPPORTED: &str = "path, outbound, gruu, timer";

/// RFC 3261 §18.2.1 and RFC 3581: note where the request really came from.
/// Returns the top Via as it now stands.
fn stamp_received(req: &mut Request, flow: &Flow) -> Option<causeway_sip::header::Via> {
    let via = util::top_via(&req.headers)?;
    let ip = flow.remote.ip().to_string();
    let mut v = via.clone();
    if via.host_str().trim_start_matches('[').trim_end_matches(']') != ip {
        if let Ok(x) = v.with_param("received", Some(&ip)) {
            v = x;
        }
    }
    if let Some(None) = via.rport() {
        if let Ok(x) = v.with_param("rport", Some(&flow.remote.port().to_string())) {
            if v.received().is_none() {
                v = x.with_param("received", Some(&ip)).unwrap_or(x);
            } else {
                v = x;
            }
        }
    }
    if v.as_str() != via.as_str() {
        let _ = replace_top_value(&mut req.headers, "Via", v.as_str());
    }
    Some(v)
}

/// Replaces the first value of a (possibly comma-joined) header.
fn replace_top_value(h: &mut causeway_sip::Headers, name: &str, value: &str) -> Option<()> {
    h.remove_first_value(name)?;
    h.insert_top(name, value).ok()
}

fn own_names(snap: &Snapshot) -> Vec<String> {
    let mut v = Vec::new();
    for p in [
        "SystemUnit Name",
        "Ethernet 1 IP V4 Address",
        "Ethernet 2 IP V4 Address",
        "Ethernet 1 IP V6 Address",
        "Ethernet 2 IP V6 Address",
        "IP DNS Hostname",
    ] {
        if let Some(x) = snap.get(p).filter(|x| !x.is_empty()) {
            v.push(x.to_string());
        }
    }
    if let (Some(h), Some(d)) = (snap.get("IP DNS Hostname"), snap.get("IP DNS Domain Name")) {
        if !h.is_empty() && !d.is_empty() {
            v.push(format!("{h}.{d}"));
        }
    }
    v.push("localhost".into());
    v
}

/// How long a digest nonce stays fresh.
fn nonce_lifetime(snap: &Snapshot) -> u64 {
    snap.int("SIP Authentication Digest Nonce ExpireDelta")
        .unwrap_or(300)
        .max(1) as u64
}

fn derive(snap: &Snapshot, own: &[String]) -> Derived {
    let vars = causeway_routing::Variables::from_snapshot(snap);
    Derived {
        dialplan: Arc::new(causeway_routing::Dialplan::from_snapshot(snap)),
        zones: search::zone_peers(snap),
        dns_zones: search::dns_zones(snap),
        enum_zones: search::enum_zones(snap),
        resolver: crate::dns::resolver(snap),
        subzones: causeway_routing::subzones::SubZones::from_snapshot(snap),
        registrar: Settings::from_config(snap),
        restriction: Restriction::from_config(snap, &vars),
        domains: Domains::from_config(snap, own),
        min_se: snap.int("SIP Session Refresh Minimum").unwrap_or(500) as u32,
        zone_rules: zone_rules::Rules::from_snapshot(snap),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn done() -> Done {
        let a = "127.0.0.1:5060".parse().unwrap();
        Done {
            flow: Flow {
                transport: Transport::Udp,
                local: a,
                remote: a,
                conn: 0,
            },
            response: Box::from(&b"SIP/2.0 200 OK\r\n\r\n"[..]),
        }
    }

    #[test]
    fn completed_transactions_expire_oldest_first() {
        let t0 = Instant::now();
        let key = |n: u32| Key::server(&format!("z9hG4bK{n}"), "Host:5060", "REGISTER").unwrap();
        let mut c = Completed::default();
        assert!(c.push(&key(1), done(), t0 + Duration::from_secs(1)));
        assert!(!c.push(&key(2), done(), t0 + Duration::from_secs(2)));
        assert!(!c.push(&key(3), done(), t0 + Duration::from_secs(3)));
        assert!(c.get(&key(2)).is_some());
        assert_eq!(c.oldest(), Some((t0 + Duration::from_secs(1), key(1))));
        assert_eq!(c.expire(t0 + Duration::from_secs(2)), vec![key(1), key(2)]);
        assert!(c.get(&key(2)).is_none() && c.get(&key(3)).is_some());
        assert_eq!(c.oldest(), Some((t0 + Duration::from_secs(3), key(3))));
    }
}
