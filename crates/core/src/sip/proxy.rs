//! Stateful proxying (RFC 3261 §16): requests to registered addresses fork to every contact,
//! in-dialog requests follow their Route set, and responses come back through the server
//! transaction with the best final response chosen as §16.7 says.

use super::neighbors::{retry_after, DownList, Failover, Outcome, PeerCache, TlsCheck};
use super::util::{self, header_str};
use super::{Service, TimerRef};
use crate::listen::Transport;
use crate::transport::Flow;
use causeway_routing::Search;
use causeway_sip::fork::{Action, ResponseContext, Upstream, TIMER_C};
use causeway_sip::header::{NameAddr, Via};
use causeway_sip::transaction::{ClientInvite, ClientNonInvite, Key, Output, Reliability};
use causeway_sip::uri::Uri;
use causeway_sip::{Message, Method, Request, Response};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::time::{Instant, SystemTime};

/// Branches we create start with this, after the magic cookie.
pub(super) const BRANCH_MARK: &str = "z9hG4bKcw";
/// Marks the Path entries we add to REGISTERs we proxy.
const PATH_MARK: &str = "cw-path";

/// Where a forwarded request goes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Hop {
    Addr(Transport, SocketAddr),
}

// Both machines hold a whole request; boxing one would only add an allocation per branch.
#[allow(clippy::large_enum_variant)]
pub(super) enum ClientMachine {
    Invite(ClientInvite<Message>),
    NonInvite(ClientNonInvite<Message>),
}

struct ClientTx {
    machine: ClientMachine,
    server: Key,
    hop: Hop,
    /// How a TLS hop checks its server (zones' destinations).
    tls: Option<TlsCheck>,
    /// The branch's number in its response context; `None` for a CANCEL we sent.
    branch: Option<usize>,
    finished: bool,
    /// Where the branch goes next if this destination fails (RFC 3263 §4.3).
    retry: Option<Box<Retry>>,
    /// A provisional response above 100 came: the destination has the request, and its
    /// failures are its own.
    heard: bool,
}

/// What a branch's later attempts rebuild their request from.
struct Retry {
    alternates: Alternates,
    uri: Option<Uri>,
    routes: Vec<String>,
    max_forwards: Option<u8>,
    query: Option<usize>,
    /// This attempt's number in the branch (0 for the first).
    attempt: usize,
}

/// The destinations a branch may fail over to, and how its Request-URI follows them.
#[derive(Debug, Clone)]
pub(super) struct Alternates {
    pub(super) failover: Failover,
    /// An alias without a domain, addressed to each destination's own address
    /// (`sip:alias@ip`); `None` keeps the branch's Request-URI.
    pub(super) alias_at: Option<String>,
}

/// One proxied request: its branches and the response context that decides for them.
pub(super) struct Ctx {
    pub(super) branches: Vec<Key>,
    pub(super) fork: ResponseContext,
    invite: bool,
    pub(super) call: Option<u32>,
    /// The request as forwarded, before each branch's own changes.
    pub(super) fwd: Request,
    /// Our branch parameter; each branch adds `.N`.
    branch: String,
    dialog_forming: bool,
    /// The search that picks targets, for requests routed by the dial plan.
    pub(super) search: Option<Search>,
    /// The queries of the search group whose branches are out.
    pub(super) queries: Vec<causeway_routing::Query>,
    /// A branch answered in a way that ends the search.
    found: bool,
    /// For each branch, the query of `queries` it came from (search branches only).
    pub(super) branch_query: Vec<Option<usize>>,
    /// The search's entry in the history, started when the search began.
    pub(super) record: Option<crate::search_history::SearchRecord>,
    /// The alias is registered here, but at no contact that can be reached.
    pub(super) unavailable: bool,
    /// DNS lookups of the current group still out, and the targets gathered meanwhile.
    pub(super) lookups: usize,
    pub(super) gathered: Vec<BranchTarget>,
    /// Answers other than "not found" that the group's queries gave without branches.
    pub(super) late_answers: Vec<(usize, causeway_routing::Answer)>,
    /// What our own responses to the request copy (for a search that finds nothing).
    pub(super) answer_to: Request,
    /// Where the request came from (policy services are told).
    pub(super) remote: std::net::SocketAddr,
}

impl Ctx {
    /// The context of a search that answers nobody on the wire (`xCommand Locate`): its
    /// branches go out like a proxied request's, and its outcome goes to the operator.
    pub(super) fn for_locate(
        fwd: Request,
        branch: String,
        search: Search,
        record: crate::search_history::SearchRecord,
        fork: ResponseContext,
    ) -> Ctx {
        Ctx {
            branches: Vec::new(),
            fork,
            invite: false,
            call: None,
            answer_to: fwd.clone(),
            fwd,
            branch,
            dialog_forming: false,
            search: Some(search),
            queries: Vec::new(),
            found: false,
            branch_query: Vec::new(),
            record: Some(record),
            unavailable: false,
            lookups: 0,
            gathered: Vec::new(),
            late_answers: Vec::new(),
            remote: std::net::SocketAddr::from(([0, 0, 0, 0], 0)),
        }
    }
}

/// Where one branch goes.
pub(super) struct BranchTarget {
    /// A new Request-URI, or the request's own.
    pub(super) uri: Option<Uri>,
    /// The search query it answers, if the search chose it.
    pub(super) query: Option<usize>,
    pub(super) hop: Hop,
    /// Route entries to put in front (a registration's Path).
    pub(super) routes: Vec<String>,
    /// A Max-Forwards of its own (the search's hop count).
    pub(super) max_forwards: Option<u8>,
    /// Zones' branches: the destinations to fail over to, `hop` being the first.
    pub(super) alternates: Option<Box<Alternates>>,
}

impl BranchTarget {
    /// Keeps the request's own Request-URI on every attempt (a proxied REGISTER).
    pub(super) fn keep_uri(&mut self) {
        self.uri = None;
        if let Some(a) = self.alternates.as_mut() {
            a.alias_at = None;
        }
    }
}

/// `sip:alias@addr`, the address in URI form (IPv6 in brackets).
pub(super) fn uri_at(alias: &str, addr: SocketAddr) -> Option<Uri> {
    let host = match addr.ip() {
        IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    };
    Uri::parse(&format!("sip:{alias}@{host}")).ok()
}

impl ClientTx {
    /// The request this transaction sends (the machine holds the only copy).
    fn request(&self) -> &Request {
        let m = match &self.machine {
            ClientMachine::Invite(m) => m.request(),
            ClientMachine::NonInvite(m) => m.request(),
        };
        match m {
            Message::Request(r) => r,
            Message::Response(_) => unreachable!("client transactions are built from requests"),
        }
    }
}

// Boxed values: a table of calls in their 32 s tails would otherwise hold every slot at the
// size of the largest transaction, used or not.
pub(super) struct Proxy {
    pub(super) contexts: HashMap<Key, Box<Ctx>>,
    clients: HashMap<Key, Box<ClientTx>>,
    /// Call-ID to call number, for calls in progress.
    calls: HashMap<String, u32>,
    /// Call-ID to the contact keys of the two parties, for dropping a call with a registration.
    parties: HashMap<String, Vec<String>>,
    /// The `host:port` we put in Via and Record-Route towards a transport and remote address.
    pub(super) advertised: HashMap<(Transport, IpAddr), String>,
    /// Mixed into the loop part of our branches, so that two nodes never take each other's
    /// branches for their own.
    loop_salt: u64,
    /// What DNS said about neighbor peers' names.
    pub(super) peer_dns: PeerCache,
    /// Destinations that answered 503 with Retry-After, until then.
    pub(super) down: DownList,
}

impl Default for Proxy {
    fn default() -> Self {
        Proxy {
            contexts: HashMap::new(),
            clients: HashMap::new(),
            calls: HashMap::new(),
            parties: HashMap::new(),
            advertised: HashMap::new(),
            loop_salt: rand::random(),
            peer_dns: PeerCache::default(),
            down: DownList::default(),
        }
    }
}

/// The contact key of a message's first Contact.
fn contact_key_of(h: &causeway_sip::Headers) -> Option<String> {
    let v = util::values(h, "Contact").next()?;
    let na = NameAddr::parse(v).ok()?;
    Some(util::contact_key(na.uri()))
}

impl Proxy {
    /// What a live branch transaction sent and where: its server transaction, branch number,
    /// request, hop and TLS check, and whether it is an INVITE.
    #[allow(clippy::type_complexity)]
    pub(super) fn client_branch(
        &self,
        key: &Key,
    ) -> Option<(Key, usize, Request, Hop, Option<TlsCheck>, bool)> {
        let c = self.clients.get(key)?;
        if c.finished {
            return None;
        }
        let invite = matches!(c.machine, ClientMachine::Invite(_));
        Some((
            c.server.clone(),
            c.branch?,
            c.request().clone(),
            c.hop,
            c.tls.clone(),
            invite,
        ))
    }

    /// Replaces branch `i`'s transaction `old` by a new attempt `ck`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn add_attempt(
        &mut self,
        old: &Key,
        ck: Key,
        machine: ClientMachine,
        server: Key,
        hop: Hop,
        tls: Option<TlsCheck>,
        i: usize,
    ) {
        if let Some(c) = self.clients.get_mut(old) {
            c.finished = true;
        }
        if let Some(slot) = self
            .contexts
            .get_mut(&server)
            .and_then(|ctx| ctx.branches.get_mut(i))
        {
            *slot = ck.clone();
        }
        self.clients.insert(
            ck,
            Box::new(ClientTx {
                machine,
                server,
                hop,
                tls,
                branch: Some(i),
                finished: false,
                retry: None,
                heard: false,
            }),
        );
    }

    /// A call that ended outside the proxy's sight.
    pub(super) fn forget_call(&mut self, call_id: &str) {
        self.calls.remove(call_id);
        self.parties.remove(call_id);
    }
    pub(super) fn forget_server(&mut self, key: &Key) {
        if let Some(ctx) = self.contexts.get(key) {
            let open = ctx
                .branches
                .iter()
                .any(|b| self.clients.get(b).is_some_and(|c| !c.finished));
            if !open {
                self.contexts.remove(key);
            }
        }
    }
}

/// Whether a branch's response means its target has the alias. Not found, gone, unavailable,
/// incomplete, timed out and server failures let the search go on to the next group; any
/// other answer (ringing, success, busy, declined, a redirect) is the callee's own.
fn ends_search(status: u16) -> bool {
    status > 100 && !matches!(status, 404 | 408 | 410 | 480 | 484 | 500..=599)
}

/// Passes on, removes or asserts a request's P-Asserted-Identity as authentication decided.
fn apply_pai(req: &mut Request, pai: super::auth::Pai) {
    match pai {
        super::auth::Pai::Keep => {}
        super::auth::Pai::Strip => {
            req.headers.remove("P-Asserted-Identity");
        }
        super::auth::Pai::Assert => {
            let from = header_str(&req.headers, "From")
                .and_then(|f| NameAddr::parse(f).ok())
                .map(|f| f.uri().to_string());
            req.headers.remove("P-Asserted-Identity");
            if let Some(uri) = from {
                let _ = req.headers.push("P-Asserted-Identity", format!("<{uri}>"));
            }
        }
    }
}

pub(super) fn reply(req: &Request, status: u16, reason: &str) -> Response {
    Response::for_request(req, status, reason)
}

impl Service {
    pub(super) async fn proxy_request(&mut self, key: Key, req: Request, flow: Flow, now: Instant) {
        let call_id = header_str(&req.headers, "Call-ID")
            .unwrap_or("")
            .to_string();
        let to_tag = header_str(&req.headers, "To")
            .and_then(|t| NameAddr::parse(t).ok())
            .and_then(|t| t.tag().map(str::to_owned));
        if to_tag.is_some() && self.shared.released.lock().unwrap().contains(&call_id, now) {
            // The call ended here; what the proxy still held of it goes too.
            self.proxy.forget_call(&call_id);
            let r = reply(&req, 481, "Call/Transaction Does Not Exist");
            return self.respond(&key, r, now).await;
        }
        let max_forwards = header_str(&req.headers, "Max-Forwards")
            .and_then(|m| m.parse::<u32>().ok())
            .unwrap_or(70);
        if max_forwards == 0 {
            return self
                .respond(&key, reply(&req, 483, "Too Many Hops"), now)
                .await;
        }
        // RFC 3261 §16.3 step 4: our branch starts with a hash of what makes the request this
        // request; finding it already in a Via means the request came back unchanged.
        let loop_part = self.loop_part(&req);
        let branch = self.branch_for(&key, &loop_part);
        let loops = util::values(&req.headers, "Via")
            .filter_map(|v| Via::parse_lenient(v).ok())
            .any(|v| v.branch().is_some_and(|b| b.starts_with(&loop_part)));
        if loops {
            return self
                .respond(&key, reply(&req, 482, "Loop Detected"), now)
                .await;
        }
        if req.method == Method::Invite {
            if let Some(se) = header_str(&req.headers, "Session-Expires")
                .and_then(|s| causeway_sip::header::SessionExpires::parse(s).ok())
            {
                if se.delta < self.derived.min_se {
                    let mut r = reply(&req, 422, "Session Interval Too Small");
                    let _ = r.headers.push("Min-SE", self.derived.min_se.to_string());
                    return self.respond(&key, r, now).await;
                }
            }
            let trying = reply(&req, 100, "Trying");
            self.respond(&key, trying, now).await;
        }
        // Our own Route entry (the Record-Route we put in the dialog) is consumed here.
        let mut fwd = req.clone();
        self.incoming_from_zone(&mut fwd, &flow);
        let mut via_path = self.strip_own_route(&mut fwd);
        // A contact we rewrote for a registrar without Path support: the real one is inside.
        if let Some(real) = util::sip_uri(&fwd.uri)
            .filter(|u| self.is_own_host(u.host_str()))
            .and_then(|u| super::zone_rules::real_contact(u.as_str()))
            .and_then(|r| Uri::parse(&r).ok())
        {
            fwd.uri = real;
            via_path = true;
        }
        let _ = fwd
            .headers
            .replace("Max-Forwards", (max_forwards - 1).to_string());
        // Requests inside a dialog or with a Route set go where they say; the rest are routed
        // by the dial plan.
        let preloaded = to_tag.is_none() && fwd.headers.get("Route").is_some();
        if preloaded
            && matches!(req.method, Method::Invite | Method::Subscribe)
            && !self.preloaded_route_allowed(&fwd, &flow)
        {
            let r = reply(&req, 403, "Forbidden (pre-loaded Route set)");
            return self.respond(&key, r, now).await;
        }
        let routed = to_tag.is_some() || preloaded || via_path;
        let targets = if routed {
            match self.targets(&fwd) {
                Ok(t) => t,
                Err((status, phrase)) => {
                    return self.respond(&key, reply(&req, status, phrase), now).await;
                }
            }
        } else {
            Vec::new()
        };
        let search = if routed {
            None
        } else {
            let source = self.source_of(&fwd, &flow);
            let policy = self.policy_of(&source);
            let from_host = header_str(&req.headers, "From")
                .and_then(|f| NameAddr::parse(f).ok())
                .and_then(|f| util::sip_uri(f.uri()).map(|u| u.host_str().to_ascii_lowercase()))
                .unwrap_or_default();
            let local_origin = self.derived.domains.is_local(&from_host);
            let trust = self.trusted(&source);
            let (user, pai) =
                match self.authenticate(&req, policy, trust, local_origin, &from_host, now) {
                    super::auth::Outcome::Answer(r) => return self.respond(&key, r, now).await,
                    super::auth::Outcome::Authenticated(user, pai) => (Some(user), pai),
                    super::auth::Outcome::Unauthenticated(pai) => (None, pai),
                };
            apply_pai(&mut fwd, pai);
            let tag = self.call_tag(&mut fwd);
            let search = self.search_for(&fwd, source.clone(), user, max_forwards);
            if self.search_loops(&key, &tag, &search.request().alias, &source) {
                let r = reply(&req, 482, "Loop Detected");
                return self.respond(&key, r, now).await;
            }
            Some(search)
        };
        let record = search.as_ref().map(|_| self.search_started(&req, &flow));
        let dialog_forming = to_tag.is_none()
            && matches!(
                req.method,
                Method::Invite | Method::Subscribe | Method::Refer | Method::Notify
            );
        let invite = req.method == Method::Invite;
        let call = if invite && to_tag.is_none() {
            let src = header_str(&req.headers, "From")
                .and_then(|f| NameAddr::parse(f).ok())
                .map(|f| f.uri().to_string())
                .unwrap_or_default();
            let n = self.shared.calls.lock().unwrap().start(
                "SIP",
                &src,
                &req.uri.to_string(),
                &call_id,
                None,
                SystemTime::now(),
            );
            self.proxy.calls.insert(call_id.clone(), n);
            if let Some(k) = contact_key_of(&req.headers) {
                self.proxy.parties.insert(call_id.clone(), vec![k]);
            }
            self.log_call("Call Attempted", &req, &flow, "");
            Some(n)
        } else {
            None
        };
        let (mut fork, _) = ResponseContext::new(invite, 0, now, TIMER_C, self.timers.t1 * 64);
        if search.is_some() {
            // Lower-priority groups may follow when a group's branches all fail.
            fork.hold();
        }
        self.proxy.contexts.insert(
            key.clone(),
            Box::new(Ctx {
                branches: Vec::with_capacity(targets.len()),
                fork,
                invite,
                call,
                fwd,
                branch,
                dialog_forming,
                search,
                queries: Vec::new(),
                found: false,
                branch_query: Vec::new(),
                record,
                unavailable: false,
                lookups: 0,
                gathered: Vec::new(),
                late_answers: Vec::new(),
                answer_to: super::answerable(&req),
                remote: flow.remote,
            }),
        );
        if routed {
            self.open_branches(&key, targets, now).await;
        } else {
            self.advance_search(&key, now).await;
        }
    }

    /// Sends the request to more targets, each on a branch of its own.
    pub(super) async fn open_branches(
        &mut self,
        key: &Key,
        targets: Vec<BranchTarget>,
        now: Instant,
    ) {
        let Some(ctx) = self.proxy.contexts.get_mut(key) else {
            return;
        };
        let (first, arm) = ctx.fork.add_branches(targets.len(), now);
        let mut opened = Vec::with_capacity(targets.len());
        ctx.branch_query.extend(targets.iter().map(|t| t.query));
        for (j, t) in targets.into_iter().enumerate() {
            if let Some(ck) = self.open_attempt(key, first + j, t, 0, now) {
                opened.push(ck);
            }
        }
        if let Some(ctx) = self.proxy.contexts.get_mut(key) {
            ctx.branches.extend(opened.iter().cloned());
        }
        self.run_fork(key, arm, now).await;
        for ck in opened {
            self.drain_client(&ck, now).await;
        }
    }

    /// Builds attempt `attempt` of branch `i` of `server`'s request, to `t`, and its client
    /// transaction (not started yet). Returns the transaction's key.
    fn open_attempt(
        &mut self,
        server: &Key,
        i: usize,
        t: BranchTarget,
        attempt: usize,
        now: Instant,
    ) -> Option<Key> {
        let ctx = self.proxy.contexts.get(server)?;
        let mut out = ctx.fwd.clone();
        let (branch, dialog_forming, invite) = (&ctx.branch, ctx.dialog_forming, ctx.invite);
        let b = match attempt {
            0 => format!("{branch}.{i}"),
            n => format!("{branch}.{i}.{n}"),
        };
        out.headers.reserve_exact(t.routes.len() + 2);
        if let Some(u) = &t.uri {
            out.uri = u.clone();
        }
        if let Some(mf) = t.max_forwards {
            let _ = out.headers.replace("Max-Forwards", mf.to_string());
        }
        for r in t.routes.iter().rev() {
            let _ = out.headers.insert_top("Route", r);
        }
        let Hop::Addr(transport, remote) = t.hop;
        let me = self.advertised(transport, remote);
        if out.method == Method::Register {
            // RFC 3327: calls to the contact come back through us.
            let path = format!(
                "<sip:{me};transport={};lr;{PATH_MARK}>",
                transport.name().to_ascii_lowercase()
            );
            let _ = out.headers.insert_top("Path", path);
        }
        if dialog_forming {
            let rr = format!(
                "<sip:{me};transport={};lr>",
                transport.name().to_ascii_lowercase()
            );
            let _ = out.headers.insert_top("Record-Route", rr);
        }
        let via = format!("SIP/2.0/{} {me};branch={b};rport", transport.name());
        let _ = out.headers.insert_top("Via", via);
        self.outgoing_to_zone(server, t.query, t.hop, &me, &mut out);
        let ck = Key::client(&b, out.method.as_str());
        let rel = if transport.reliable() {
            Reliability::Reliable
        } else {
            Reliability::Unreliable
        };
        let msg = Message::Request(out);
        let machine = if invite {
            ClientMachine::Invite(ClientInvite::new(msg, rel, self.timers, now))
        } else {
            ClientMachine::NonInvite(ClientNonInvite::new(msg, rel, self.timers, now))
        };
        let tls = t
            .alternates
            .as_ref()
            .and_then(|a| a.failover.current().tls.clone());
        let retry = t.alternates.map(|a| {
            Box::new(Retry {
                alternates: *a,
                uri: t.uri,
                routes: t.routes,
                max_forwards: t.max_forwards,
                query: t.query,
                attempt,
            })
        });
        self.proxy.clients.insert(
            ck.clone(),
            Box::new(ClientTx {
                machine,
                server: server.clone(),
                hop: t.hop,
                tls,
                branch: Some(i),
                finished: false,
                retry,
                heard: false,
            }),
        );
        Some(ck)
    }

    /// Branch transaction `key` failed as `outcome` says. When its destination has a next one
    /// to try (RFC 3263 §4.3: after a transport error, a timeout or a 503, and before anything
    /// but 100 came from it), the request goes there on a new transaction that takes over
    /// the branch, and this returns true; the failure then goes no further.
    async fn fail_over(&mut self, key: &Key, outcome: Outcome, now: Instant) -> bool {
        let proxy = &mut self.proxy;
        let Some(c) = proxy.clients.get_mut(key) else {
            return false;
        };
        let Some(i) = c.branch else { return false };
        if c.finished || c.heard {
            return false;
        }
        let Some(retry) = c.retry.as_mut() else {
            return false;
        };
        let why = match outcome {
            Outcome::Status(code, _) => format!("answered {code}"),
            Outcome::TransportError => "could not be reached".to_string(),
            Outcome::Timeout => "did not answer in time".to_string(),
        };
        if retry
            .alternates
            .failover
            .failed(outcome, &mut proxy.down, now)
            .is_none()
        {
            return false;
        }
        // Not when the request is answered or cancelled meanwhile.
        let wanted = proxy
            .contexts
            .get(&c.server)
            .is_some_and(|ctx| !ctx.fork.answered() && ctx.branches.get(i) == Some(key));
        if !wanted {
            return false;
        }
        let (Some(retry), server) = (c.retry.take(), c.server.clone()) else {
            return false;
        };
        c.finished = true;
        let Hop::Addr(_, failed) = c.hop;
        let dest = retry.alternates.failover.current().clone();
        // The search history and the event log tell where the request went instead.
        let line = format!("{failed} {why}; trying {}", dest.addr);
        if let Some(s) = proxy
            .contexts
            .get_mut(&server)
            .and_then(|ctx| ctx.search.as_mut())
        {
            s.note(line.clone());
        }
        self.log
            .event(2, "tvcs", "Search Failover", &[("Detail", line.as_str())]);
        let uri = match &retry.alternates.alias_at {
            Some(a) => uri_at(a, dest.addr),
            None => retry.uri,
        };
        let t = BranchTarget {
            uri,
            query: retry.query,
            hop: dest.hop(),
            routes: retry.routes,
            max_forwards: retry.max_forwards,
            alternates: Some(Box::new(retry.alternates)),
        };
        let Some(ck) = self.open_attempt(&server, i, t, retry.attempt + 1, now) else {
            return false;
        };
        if let Some(slot) = self
            .proxy
            .contexts
            .get_mut(&server)
            .and_then(|ctx| ctx.branches.get_mut(i))
        {
            *slot = ck.clone();
        }
        self.move_timer_c(key, &ck);
        self.drain_client(&ck, now).await;
        true
    }

    /// A branch's Timer C carries on with the transaction that replaced `old`.
    pub(super) fn move_timer_c(&mut self, old: &Key, new: &Key) {
        if let Some(at) = self.due.get(&TimerRef::TimerC(old.clone())).copied() {
            self.schedule(TimerRef::TimerC(old.clone()), None);
            self.schedule(TimerRef::TimerC(new.clone()), Some(at));
        }
    }

    /// The loop-detection part of our branch (RFC 3261 §16.6 step 8 without the top Via, so
    /// that a request that went round through other proxies computes the same value).
    fn loop_part(&self, req: &Request) -> String {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.proxy.loop_salt.hash(&mut h);
        req.uri.to_string().hash(&mut h);
        let tag = |name: &str| {
            header_str(&req.headers, name)
                .and_then(|v| NameAddr::parse(v).ok())
                .and_then(|na| na.tag().map(str::to_owned))
        };
        tag("From").hash(&mut h);
        tag("To").hash(&mut h);
        header_str(&req.headers, "Call-ID").hash(&mut h);
        util::cseq(&req.headers).map(|c| c.seq).hash(&mut h);
        for name in ["Proxy-Require", "Proxy-Authorization", "Route"] {
            for v in util::values(&req.headers, name) {
                v.hash(&mut h);
            }
        }
        format!("{BRANCH_MARK}{:016x}", h.finish())
    }

    /// Our branch for a request: the loop part, and the upstream transaction's, so that two
    /// copies of one request from different upstream branches stay apart.
    fn branch_for(&self, key: &Key, loop_part: &str) -> String {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.branch.hash(&mut h);
        format!("{loop_part}{:08x}", h.finish() as u32)
    }

    /// Removes the top Route when it names this node.
    /// Returns whether that entry was a Path we added to a REGISTER we proxied: the request
    /// then goes to its Request-URI, the contact registered through us.
    fn strip_own_route(&self, req: &mut Request) -> bool {
        let Some(first) = util::values(&req.headers, "Route")
            .next()
            .map(str::to_owned)
        else {
            return false;
        };
        let Some(na) = NameAddr::parse(&first).ok() else {
            return false;
        };
        let (ours, path) = match na.uri() {
            Uri::Sip(s) => (
                self.is_own_host(s.host_str())
                    && s.port().is_none_or(|p| {
                        self.transports.active().iter().any(|l| l.addr.port() == p)
                    }),
                s.param(PATH_MARK).is_some(),
            ),
            _ => (false, false),
        };
        if ours {
            req.headers.remove_first_value("Route");
        }
        ours && path
    }

    /// Where a request goes: (new Request-URI, next hop, Route headers to add) per branch.
    #[allow(clippy::type_complexity)]
    /// Where a request inside a dialog, or with a Route set, goes.
    fn targets(&self, req: &Request) -> Result<Vec<BranchTarget>, (u16, &'static str)> {
        let plain = |hop| BranchTarget {
            query: None,
            uri: None,
            hop,
            routes: Vec::new(),
            max_forwards: None,
            alternates: None,
        };
        // A remaining Route set decides the next hop (loose routing).
        if let Some(route) = util::values(&req.headers, "Route").next() {
            let na = NameAddr::parse(route).map_err(|_| (400, "Bad Request (Route)"))?;
            let hop = uri_hop(na.uri()).ok_or((404, "Not Found"))?;
            return Ok(vec![plain(hop)]);
        }
        let Some(sip) = util::sip_uri(&req.uri) else {
            return Err((416, "Unsupported URI Scheme"));
        };
        if sip.user().is_some() && self.derived.domains.is_local(sip.host_str()) {
            let aor = util::aor_of(&req.uri).unwrap_or_default();
            let targets = self.registered_targets(&aor, None);
            if targets.is_empty() {
                return Err((404, "Not Found"));
            }
            return Ok(targets);
        }
        if let Some(t) = self.contact_target(&req.uri) {
            return Ok(vec![t]);
        }
        match uri_hop(&req.uri) {
            Some(hop) if !self.is_own_host(sip.host_str()) || sip.user().is_some() => {
                Ok(vec![plain(hop)])
            }
            _ => Err((404, "Not Found")),
        }
    }

    /// The registered contacts of an address of record.
    pub(super) fn registered_targets(
        &self,
        aor: &str,
        max_forwards: Option<u8>,
    ) -> Vec<BranchTarget> {
        let reg = self.shared.registrar.lock().unwrap();
        reg.lookup(aor)
            .iter()
            .filter_map(|b| {
                let uri = Uri::parse(&b.contact).ok()?;
                // An outbound (RFC 5626) registration is reached over the flow it came on, and
                // so is any registration over TCP or TLS while its connection is open (the
                // client may listen nowhere else); otherwise the Contact address (RFC 3261
                // §16.5). Contacts named by host name need DNS, which DNS zones bring.
                let transport = Transport::from_name(&b.transport);
                let reuse = b.outbound
                    || (transport.reliable() && self.transports.connected(transport, b.source));
                // A registration that came through proxies (RFC 3327 Path) is reached through
                // them: the first Path entry is the next hop.
                let via_path = b
                    .path
                    .first()
                    .and_then(|p| NameAddr::parse(p).ok())
                    .and_then(|na| uri_hop(na.uri()));
                let hop = if reuse {
                    Hop::Addr(transport, b.source)
                } else if let Some(hop) = via_path {
                    hop
                } else {
                    uri_hop(&uri)?
                };
                Some(BranchTarget {
                    query: None,
                    uri: Some(uri),
                    hop,
                    routes: b.path.clone(),
                    max_forwards,
                    alternates: None,
                })
            })
            .collect()
    }

    /// A request addressed to a registered contact itself: over the connection it registered
    /// on while that is open, otherwise to the address in the URI.
    pub(super) fn contact_target(&self, uri: &Uri) -> Option<BranchTarget> {
        let key = util::contact_key(uri);
        let b = self.shared.registrar.lock().unwrap().by_contact(&key)?;
        let transport = Transport::from_name(&b.transport);
        let hop = if transport.reliable() && self.transports.connected(transport, b.source) {
            Hop::Addr(transport, b.source)
        } else {
            uri_hop(uri)?
        };
        Some(BranchTarget {
            query: None,
            uri: None,
            hop,
            routes: Vec::new(),
            max_forwards: None,
            alternates: None,
        })
    }

    pub(super) fn advertised(&mut self, transport: Transport, remote: SocketAddr) -> String {
        // Finding the address the system routes from takes a socket and three system calls;
        // the answer depends only on the remote address until the listeners change.
        let k = (transport, remote.ip());
        if let Some(me) = self.proxy.advertised.get(&k) {
            return me.clone();
        }
        if self.proxy.advertised.len() >= 4096 {
            self.proxy.advertised.clear();
        }
        let me = self.advertise_uncached(transport, remote);
        self.proxy.advertised.insert(k, me.clone());
        me
    }

    fn advertise_uncached(&self, transport: Transport, remote: SocketAddr) -> String {
        let port = self
            .transports
            .active()
            .iter()
            .find(|l| l.transport == transport)
            .map(|l| l.addr.port())
            .unwrap_or(5060);
        let listen_ip = self
            .transports
            .active()
            .iter()
            .find(|l| l.transport == transport)
            .map(|l| l.addr.ip());
        let ip = match listen_ip {
            Some(ip) if !ip.is_unspecified() => ip,
            _ => local_ip_towards(remote.ip()),
        };
        match ip {
            IpAddr::V6(v6) => format!("[{v6}]:{port}"),
            v4 => format!("{v4}:{port}"),
        }
    }

    async fn send_hop(&mut self, hop: Hop, bytes: bytes::Bytes) -> bool {
        self.send_dest(hop, None, bytes).await
    }

    /// Carries out what a client transaction asks for. Boxed: a response can cancel other
    /// branches, which drains their transactions in turn.
    pub(super) fn drain_client<'a>(
        &'a mut self,
        key: &'a Key,
        now: Instant,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            let mut outs = Vec::new();
            let (hop, tls, next) = {
                let Some(c) = self.proxy.clients.get_mut(key) else {
                    return;
                };
                loop {
                    let o = match &mut c.machine {
                        ClientMachine::Invite(m) => m.poll_output(),
                        ClientMachine::NonInvite(m) => m.poll_output(),
                    };
                    match o {
                        Some(o) => outs.push(o),
                        None => break,
                    }
                }
                let next = match &c.machine {
                    ClientMachine::Invite(m) => m.poll_timeout(),
                    ClientMachine::NonInvite(m) => m.poll_timeout(),
                };
                (c.hop, c.tls.clone(), next)
            };
            self.schedule(TimerRef::Client(key.clone()), next);
            for o in outs {
                match o {
                    Output::Transmit(m) => {
                        if !self.send_dest(hop, tls.as_ref(), m.to_bytes()).await {
                            if let Some(c) = self.proxy.clients.get_mut(key) {
                                match &mut c.machine {
                                    ClientMachine::Invite(m) => m.transport_error(),
                                    ClientMachine::NonInvite(m) => m.transport_error(),
                                }
                            }
                            self.drain_client(key, now).await;
                            return;
                        }
                    }
                    Output::ToTu(Message::Response(r)) => {
                        if (101..200).contains(&r.status) {
                            if let Some(c) = self.proxy.clients.get_mut(key) {
                                c.heard = true;
                            }
                        }
                        if matches!(r.status, 401 | 407)
                            && self.answer_challenge(key, &r, now).await
                        {
                            continue;
                        }
                        if r.status == 503 {
                            let ra = retry_after(header_str(&r.headers, "Retry-After"));
                            if self.fail_over(key, Outcome::Status(503, ra), now).await {
                                continue;
                            }
                        }
                        self.branch_response(key, r, now).await
                    }
                    Output::Timeout => {
                        if self.fail_over(key, Outcome::Timeout, now).await {
                            continue;
                        }
                        let req = self.proxy.clients.get(key).map(|c| c.request().clone());
                        if let Some(req) = req {
                            self.branch_response(key, reply(&req, 408, "Request Timeout"), now)
                                .await;
                        }
                    }
                    Output::TransportError => {
                        if self.fail_over(key, Outcome::TransportError, now).await {
                            continue;
                        }
                        let req = self.proxy.clients.get(key).map(|c| c.request().clone());
                        if let Some(req) = req {
                            self.branch_response(key, reply(&req, 503, "Service Unavailable"), now)
                                .await;
                        }
                    }
                    Output::Terminated => {
                        self.schedule(TimerRef::Client(key.clone()), None);
                        self.schedule(TimerRef::TimerC(key.clone()), None);
                        if let Some(c) = self.proxy.clients.remove(key) {
                            self.proxy.forget_server(&c.server);
                        }
                    }
                    Output::ToTu(Message::Request(_)) => {}
                }
            }
        })
    }

    /// A response of one branch, on its way up.
    async fn branch_response(&mut self, key: &Key, mut resp: Response, now: Instant) {
        let Some(c) = self.proxy.clients.get_mut(key) else {
            return;
        };
        // A CANCEL's own responses end here.
        let Some(i) = c.branch else { return };
        if resp.status >= 200 {
            c.finished = true;
        }
        let (server, hop) = (c.server.clone(), c.hop);
        resp.headers.remove_first_value("Via");
        self.response_from_zone(&server, i, hop, &mut resp);
        let Some(ctx) = self.proxy.contexts.get_mut(&server) else {
            // The request's transaction is gone: a late 2xx still reaches the caller.
            if (200..300).contains(&resp.status) {
                self.forward_stateless(resp).await;
            }
            return;
        };
        let mut actions = Vec::new();
        // Busy, when call policy has a `busy` branch waiting for it, is not the callee's last
        // word: the search goes on where the script says.
        // So is a redirect, when the script has a `redirection` branch: the contacts become
        // its location set.
        let outcome = match resp.status {
            486 | 600 => Some(causeway_routing::cpl::ProxyOutcome::Busy),
            300..=399 => Some(causeway_routing::cpl::ProxyOutcome::Redirection(
                util::values(&resp.headers, "Contact")
                    .filter_map(|c| NameAddr::parse(c).ok())
                    .map(|c| c.uri().to_string())
                    .collect(),
            )),
            _ => None,
        };
        // The 487 of a branch cancelled because it rang too long is no answer, not the end.
        let rang_out = resp.status == 487
            && ctx
                .search
                .as_ref()
                .is_some_and(|s| s.heard(&causeway_routing::cpl::ProxyOutcome::NoAnswer));
        // While call policy waits for how the call ends, ringing is not the end of the search.
        let still_open = resp.status < 200 && ctx.search.as_ref().is_some_and(|s| s.waits());
        let policy_takes = !ctx.found
            && (rang_out
                || still_open
                || outcome
                    .as_ref()
                    .is_some_and(|o| ctx.search.as_ref().is_some_and(|s| s.takes(o))));
        if policy_takes {
            if let (Some(s), Some(o)) = (ctx.search.as_mut(), outcome) {
                s.outcome(o);
            }
        }
        if ctx.search.is_some() && !ctx.found && ends_search(resp.status) && !policy_takes {
            // Someone has the alias: no lower-priority group will be needed, so the best
            // response may go up as soon as every branch is done.
            ctx.found = true;
            ctx.fork.clear_best();
            actions = ctx.fork.release();
            let query = ctx
                .branch_query
                .get(i)
                .copied()
                .flatten()
                .and_then(|q| ctx.queries.get(q))
                .cloned();
            let outcome = match query {
                Some(q) => format!(
                    "found by {} as {} ({} {})",
                    q.target, q.alias, resp.status, resp.reason
                ),
                None => format!("{} {}", resp.status, resp.reason),
            };
            self.search_finished(&server, true, outcome);
        }
        let Some(ctx) = self.proxy.contexts.get_mut(&server) else {
            return;
        };
        actions.extend(ctx.fork.on_response(i, resp, now));
        self.run_fork(&server, actions, now).await;
    }

    /// Branch `key`'s Timer C fired.
    pub(super) async fn timer_c(&mut self, key: Key, now: Instant) {
        let Some((server, Some(i))) = self
            .proxy
            .clients
            .get(&key)
            .map(|c| (c.server.clone(), c.branch))
        else {
            return;
        };
        let Some(ctx) = self.proxy.contexts.get_mut(&server) else {
            return;
        };
        let no_answer = causeway_routing::cpl::ProxyOutcome::NoAnswer;
        if let Some(s) = ctx.search.as_mut().filter(|s| s.takes(&no_answer)) {
            s.outcome(no_answer);
        }
        let actions = ctx.fork.on_timer(i, now);
        self.run_fork(&server, actions, now).await;
    }

    /// Carries out what the response context of `server`'s request decided.
    pub(super) async fn run_fork(&mut self, server: &Key, actions: Vec<Action>, now: Instant) {
        let mut abandoned = false;
        let mut exhausted = false;
        for action in actions {
            let Some(ctx) = self.proxy.contexts.get(server) else {
                return;
            };
            let branch = |i: usize| ctx.branches.get(i).cloned();
            let (call, invite) = (ctx.call, ctx.invite);
            match action {
                Action::Send(Upstream::Relay(resp)) => {
                    if resp.status >= 200 && resp.status < 300 && invite {
                        self.connected(call, &resp);
                    }
                    let fin = resp.status >= 200;
                    let copy = fin.then(|| resp.clone());
                    self.respond(server, resp, now).await;
                    if let Some(resp) = copy {
                        self.after_final(&resp, call);
                    }
                }
                Action::Send(Upstream::Local(status, reason)) => {
                    let req = self.server.get(server).and_then(|t| t.invite.clone());
                    if let Some(req) = req {
                        let resp = reply(&req, status, reason);
                        self.respond(server, resp.clone(), now).await;
                        self.after_final(&resp, call);
                    }
                }
                Action::Cancel(i) => {
                    if let Some(k) = branch(i) {
                        self.send_cancel(&k, now).await;
                    }
                }
                Action::Arm(i, at) => {
                    if let Some(k) = branch(i) {
                        self.schedule(TimerRef::TimerC(k), Some(at));
                    }
                }
                Action::Disarm(i) => {
                    if let Some(k) = branch(i) {
                        self.schedule(TimerRef::TimerC(k), None);
                    }
                }
                Action::Abandon(i) => {
                    if let Some(k) = branch(i) {
                        self.schedule(TimerRef::Client(k.clone()), None);
                        self.schedule(TimerRef::TimerC(k.clone()), None);
                        self.proxy.clients.remove(&k);
                        abandoned = true;
                    }
                }
                Action::Exhausted => exhausted = true,
            }
        }
        if exhausted {
            // The group's targets all failed: none of them has the alias.
            if let Some(ctx) = self.proxy.contexts.get_mut(server) {
                let answers = super::search::group_answers(ctx);
                if let Some(search) = ctx.search.as_mut() {
                    search.answer(&answers);
                }
            }
            self.advance_search(server, now).await;
        }
        if abandoned {
            self.proxy.forget_server(server);
        }
    }

    /// Call bookkeeping when an INVITE is answered.
    fn connected(&mut self, call: Option<u32>, resp: &Response) {
        let Some(n) = call else { return };
        if let (Some(k), Some(cid)) = (
            contact_key_of(&resp.headers),
            header_str(&resp.headers, "Call-ID"),
        ) {
            let parties = self.proxy.parties.entry(cid.to_string()).or_default();
            if !parties.contains(&k) {
                parties.push(k);
            }
        }
        self.shared
            .calls
            .lock()
            .unwrap()
            .connected(n, SystemTime::now());
        self.log.event(
            1,
            "tvcs",
            "Call Connected",
            &[(
                "Call-id",
                header_str(&resp.headers, "Call-ID").unwrap_or(""),
            )],
        );
    }

    /// Call bookkeeping after a final response went up.
    pub(super) fn after_final(&mut self, resp: &Response, call: Option<u32>) {
        let method = util::cseq(&resp.headers).map(|c| c.method);
        let call_id = header_str(&resp.headers, "Call-ID")
            .unwrap_or("")
            .to_string();
        match (method, resp.status) {
            (Some(Method::Invite), 300..) => {
                if let Some(n) = call.or_else(|| self.proxy.calls.get(&call_id).copied()) {
                    self.shared.calls.lock().unwrap().end(
                        n,
                        &format!("{} {}", resp.status, resp.reason),
                        SystemTime::now(),
                    );
                    self.proxy.calls.remove(&call_id);
                    self.proxy.parties.remove(&call_id);
                    self.log.event(
                        1,
                        "tvcs",
                        "Call Rejected",
                        &[
                            ("Call-id", call_id.as_str()),
                            ("Response-code", &resp.status.to_string()),
                        ],
                    );
                }
            }
            (Some(Method::Bye), 200..=299) => {
                self.proxy.parties.remove(&call_id);
                if let Some(n) = self.proxy.calls.remove(&call_id) {
                    self.shared
                        .calls
                        .lock()
                        .unwrap()
                        .end(n, "BYE", SystemTime::now());
                    self.log.event(
                        1,
                        "tvcs",
                        "Call Disconnected",
                        &[("Call-id", call_id.as_str())],
                    );
                }
            }
            _ => {}
        }
    }

    async fn send_cancel(&mut self, key: &Key, now: Instant) {
        let Some(c) = self.proxy.clients.get(key) else {
            return;
        };
        let inv = c.request();
        let mut cancel = Request::new(Method::Cancel, inv.uri.clone());
        for name in ["Via", "From", "To", "Call-ID"] {
            if let Some(v) = if name == "Via" {
                inv.headers.values("Via").next()
            } else {
                inv.headers.get(name)
            } {
                let _ = cancel.headers.push(name, v);
            }
        }
        let seq = util::cseq(&inv.headers).map_or(1, |c| c.seq);
        let _ = cancel.headers.push("CSeq", format!("{seq} CANCEL"));
        for r in inv.headers.get_all("Route") {
            let _ = cancel.headers.push("Route", r);
        }
        let _ = cancel.headers.push("Max-Forwards", "70");
        let _ = cancel.headers.push("Content-Length", "0");
        let (hop, tls) = (c.hop, c.tls.clone());
        let server = c.server.clone();
        let branch = Via::parse_lenient(
            std::str::from_utf8(inv.headers.values("Via").next().unwrap_or_default()).unwrap_or(""),
        )
        .ok()
        .and_then(|v| v.branch().map(str::to_owned))
        .unwrap_or_default();
        let ck = Key::client(&branch, "CANCEL");
        let Hop::Addr(t, _) = hop;
        let rel = if t.reliable() {
            Reliability::Reliable
        } else {
            Reliability::Unreliable
        };
        let machine = ClientMachine::NonInvite(ClientNonInvite::new(
            Message::Request(cancel),
            rel,
            self.timers,
            now,
        ));
        // The CANCEL's own responses stay here (finished: it is not a branch of the request).
        self.proxy.clients.insert(
            ck.clone(),
            Box::new(ClientTx {
                machine,
                server,
                hop,
                tls,
                branch: None,
                finished: true,
                retry: None,
                heard: false,
            }),
        );
        self.drain_client(&ck, now).await;
    }

    pub(super) async fn on_response(&mut self, resp: Response, _flow: Flow) {
        let Some(via) = util::top_via(&resp.headers) else {
            return;
        };
        let Some(branch) = via.branch().map(str::to_owned) else {
            return;
        };
        let Some(cseq) = util::cseq(&resp.headers) else {
            return;
        };
        let key = Key::client(&branch, cseq.method.as_str());
        let now = Instant::now();
        if branch.starts_with(super::monitor::MARK) {
            return self.monitor_answer(&branch, now);
        }
        if !branch.starts_with(BRANCH_MARK) {
            return; // not ours: RFC 3261 §16.7 step 1 says drop
        }
        match self.proxy.clients.get_mut(&key) {
            Some(c) => {
                // Responses to our CANCELs end there.
                let msg = Message::Response(resp);
                match &mut c.machine {
                    ClientMachine::Invite(m) => m.on_response(msg, now),
                    ClientMachine::NonInvite(m) => m.on_response(msg, now),
                }
                if c.branch.is_none() {
                    // Drain without passing anything up.
                    while match &mut c.machine {
                        ClientMachine::NonInvite(m) => m.poll_output().is_some(),
                        ClientMachine::Invite(m) => m.poll_output().is_some(),
                    } {}
                    return;
                }
                self.drain_client(&key, now).await;
            }
            None if cseq.method == Method::Invite && (200..300).contains(&resp.status) => {
                let mut resp = resp;
                resp.headers.remove_first_value("Via");
                self.forward_stateless(resp).await;
            }
            None => {}
        }
    }

    /// Sends a response to where its (new) top Via says, honouring received and rport.
    async fn forward_stateless(&mut self, resp: Response) {
        let Some(via) = util::top_via(&resp.headers) else {
            return;
        };
        let ip: IpAddr = match via.received() {
            Some(ip) => ip,
            None => match via
                .host_str()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
            {
                Ok(ip) => ip,
                Err(_) => return,
            },
        };
        let port = match via.rport() {
            Some(Some(p)) => p,
            _ => via.port().unwrap_or(5060),
        };
        let transport = Transport::from_name(via.transport());
        let _ = self
            .transports
            .send_to(
                transport,
                SocketAddr::new(ip, port),
                Message::Response(resp).to_bytes(),
            )
            .await;
    }

    /// An ACK for a 2xx: it follows the dialog's route, statelessly (RFC 3261 §16.11).
    pub(super) async fn proxy_ack(&mut self, mut req: Request, _flow: Flow) {
        self.strip_own_route(&mut req);
        let Ok(mut targets) = self.targets(&req) else {
            return;
        };
        let Some(t) = targets.pop() else {
            return;
        };
        if let Some(u) = t.uri {
            req.uri = u;
        }
        for r in t.routes.iter().rev() {
            let _ = req.headers.insert_top("Route", r);
        }
        let hop = t.hop;
        let Hop::Addr(transport, remote) = hop;
        let me = self.advertised(transport, remote);
        let branch = {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            util::values(&req.headers, "Via").next().hash(&mut h);
            format!("{BRANCH_MARK}{:016x}a", h.finish())
        };
        let _ = req.headers.insert_top(
            "Via",
            format!("SIP/2.0/{} {me};branch={branch};rport", transport.name()),
        );
        self.send_hop(hop, Message::Request(req).to_bytes()).await;
    }

    pub(super) async fn on_cancel(&mut self, req: Request, flow: Flow, key: Option<Key>) {
        let now = Instant::now();
        let invite_key = key.map(|k| Key {
            method: "INVITE".into(),
            ..k
        });
        let found = invite_key
            .as_ref()
            .filter(|k| self.server.contains_key(*k))
            .cloned();
        let answer = if found.is_some() {
            reply(&req, 200, "OK")
        } else {
            reply(&req, 481, "Call/Transaction Does Not Exist")
        };
        let _ = self
            .transports
            .send(&flow, Message::Response(answer).to_bytes())
            .await;
        let Some(k) = found else { return };
        let branches: Vec<Key> = self
            .proxy
            .contexts
            .get(&k)
            .map(|c| c.branches.clone())
            .unwrap_or_default();
        if branches.is_empty() {
            // Nothing forwarded yet (a search may still be waiting for DNS, and must not
            // send anything when it hears back): the INVITE ends here.
            if let Some(ctx) = self.proxy.contexts.get_mut(&k) {
                ctx.search = None;
                ctx.lookups = 0;
            }
            let inv = self.server.get(&k).and_then(|t| t.invite.clone());
            if let Some(inv) = inv {
                self.respond(&k, reply(&inv, 487, "Request Terminated"), now)
                    .await;
            }
            return;
        }
        // A cancelled request tries no further destinations.
        for b in &branches {
            if let Some(c) = self.proxy.clients.get_mut(b) {
                c.retry = None;
            }
        }
        let actions = match self.proxy.contexts.get_mut(&k) {
            Some(ctx) => ctx.fork.on_cancel(),
            None => Vec::new(),
        };
        self.run_fork(&k, actions, now).await;
    }

    /// With `SIP Registration Call Remove: Yes`, a registration that goes away takes its calls
    /// with it: they end here, and later requests in them get 481.
    pub(super) fn drop_calls_of(&mut self, contact_key: &str, reason: &str) {
        if self.snap.get("SIP Registration Call Remove") != Some("Yes") {
            return;
        }
        let ids: Vec<String> = self
            .proxy
            .parties
            .iter()
            .filter(|(_, keys)| keys.iter().any(|k| k == contact_key))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            self.proxy.parties.remove(&id);
            if let Some(n) = self.proxy.calls.remove(&id) {
                self.shared
                    .calls
                    .lock()
                    .unwrap()
                    .end(n, reason, SystemTime::now());
            }
            self.shared
                .released
                .lock()
                .unwrap()
                .insert(&id, Instant::now());
            self.log.event(
                1,
                "tvcs",
                "Call Disconnected",
                &[("Call-id", id.as_str()), ("Reason", reason)],
            );
        }
    }

    /// A detached send failed: every branch waiting on that destination has failed too.
    pub(super) async fn unreachable(&mut self, transport: Transport, remote: SocketAddr) {
        let now = Instant::now();
        let keys: Vec<Key> = self
            .proxy
            .clients
            .iter()
            .filter(|(_, c)| {
                let Hop::Addr(t, a) = c.hop;
                t == transport && a == remote && !c.finished
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            if let Some(c) = self.proxy.clients.get_mut(&k) {
                match &mut c.machine {
                    ClientMachine::Invite(m) => m.transport_error(),
                    ClientMachine::NonInvite(m) => m.transport_error(),
                }
            }
            self.drain_client(&k, now).await;
        }
    }

    pub(super) async fn proxy_client_timeout(&mut self, key: Key, now: Instant) {
        if let Some(c) = self.proxy.clients.get_mut(&key) {
            match &mut c.machine {
                ClientMachine::Invite(m) => m.handle_timeout(now),
                ClientMachine::NonInvite(m) => m.handle_timeout(now),
            }
        }
        self.drain_client(&key, now).await;
    }

    fn log_call(&self, event: &str, req: &Request, flow: &Flow, detail: &str) {
        let from = header_str(&req.headers, "From").unwrap_or("").to_string();
        let fields = vec![("Src-alias", from), ("Dst-alias", req.uri.to_string())];
        self.log_request(1, event, req, flow, fields, detail);
    }
}

/// The next hop named by a URI with an IP address host.
pub(super) fn uri_hop(uri: &Uri) -> Option<Hop> {
    let Uri::Sip(s) = uri else { return None };
    let host = s.host_str().trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = match s.maddr() {
        Some(m) => m.to_string().parse().ok()?,
        None => host.parse().ok()?,
    };
    let transport = match s.transport() {
        Some(t) => Transport::from_name(t),
        None if s.is_sips() => Transport::Tls,
        None => Transport::Udp,
    };
    let port = s.port().unwrap_or(if transport == Transport::Tls {
        5061
    } else {
        5060
    });
    Some(Hop::Addr(transport, SocketAddr::new(ip, port)))
}

/// The local address the system would use to reach `remote`.
fn local_ip_towards(remote: IpAddr) -> IpAddr {
    let bind: SocketAddr = if remote.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    std::net::UdpSocket::bind(bind)
        .and_then(|s| {
            s.connect((remote, 9))?;
            s.local_addr()
        })
        .map(|a| a.ip())
        .unwrap_or(remote)
}
