//! Routing requests by the dial plan: the proxy runs a [`Search`] and turns each priority
//! group's queries into branches. A group whose branches all fail hands over to the next one;
//! a branch that rings, answers or refuses for the callee ends the search.

use super::auth::Policy;
use super::neighbors::{Dest, Failover, PeerAddr};
use super::proxy::{reply, uri_hop, Alternates, BranchTarget};
use super::util::{self, header_str};
use super::Service;
use crate::listen::Transport;
use crate::search_history::SearchRecord;
use crate::transport::Flow;
use causeway_config::Snapshot;
use causeway_routing::dialplan::CallPolicy;
use causeway_routing::search::Caller;
use causeway_routing::search::{bare_alias, ip_alias};
use causeway_routing::{
    Answer, Protocol, Query, Refusal, Search, SearchRequest, Source, Step, Target,
};
use causeway_sip::header::NameAddr;
use causeway_sip::transaction::Key;
use causeway_sip::uri::Uri;
use causeway_sip::Request;
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::time::Instant;

/// Rewrites a request's From to the identity call policy chose, keeping its tag.
fn present_as(req: &mut Request, source: &causeway_routing::cpl::SourceAlias) {
    let Some(tag) = header_str(&req.headers, "From")
        .and_then(|f| NameAddr::parse(f).ok())
        .map(|f| f.tag().map(str::to_owned))
    else {
        return;
    };
    let alias = source.alias.trim();
    let uri = if alias.contains(':') {
        alias.to_string()
    } else {
        format!("sip:{alias}")
    };
    if Uri::parse(&uri).is_err() {
        return;
    }
    let name = source.display_name.replace(['"', '\\'], "");
    let mut from = format!("\"{name}\" <{uri}>");
    if let Some(t) = tag {
        from.push_str(&format!(";tag={t}"));
    }
    let _ = req.headers.replace("From", from);
}

/// What a policy service's Default CPL falls back to when it does not parse.
const FALLBACK_CPL: &str = "<reject status='403' reason='Service Unavailable'/>";

/// How a neighbor zone's peers are reached.
#[derive(Debug, Clone)]
pub(super) struct ZonePeers {
    pub name: String,
    pub transport: Transport,
    pub port: u16,
    /// Every address the zone's peers are known at (configured or resolved): requests from
    /// them come from the zone.
    pub addrs: Vec<IpAddr>,
    /// The peers as configured, in order.
    pub peers: Vec<PeerAddr>,
    /// `Neighbor SIP TLS Verify Mode: On`.
    pub verify: bool,
    /// Where the peers are reached, in the order to try them (names as last resolved).
    pub dests: Vec<Dest>,
}

/// A DNS lookup, reported back to the loop.
pub(super) enum DnsDone {
    /// One a search started, for the query `query` of its group.
    Search {
        key: Key,
        query: usize,
        found: Found,
    },
    /// Neighbor peer names asked again in the background.
    Peers(Vec<(PeerAddr, Result<Vec<SocketAddr>, String>)>),
}

pub(super) enum Found {
    /// Where a DNS zone's domain is served, and the host that was looked up.
    Servers(Vec<causeway_dns::Destination>, String),
    /// The URIs an ENUM zone turned the number into.
    Uris(Vec<String>),
    /// A neighbor zone's peer names, resolved for a search that waits for them.
    Peers(Vec<(PeerAddr, Result<Vec<SocketAddr>, String>)>),
}

/// ENUM zones' DNS suffixes, by lower-case zone name.
pub(super) fn enum_zones(snap: &Snapshot) -> HashMap<String, String> {
    snap.rows("Zones Zone")
        .into_iter()
        .filter(|r| snap.get(&format!("Zones Zone {r} Type")) == Some("ENUM"))
        .filter_map(|r| {
            let name = snap
                .get(&format!("Zones Zone {r} Name"))?
                .to_ascii_lowercase();
            let suffix = snap
                .get(&format!("Zones Zone {r} ENUM DNSSuffix"))
                .unwrap_or("");
            Some((name, suffix.to_string()))
        })
        .collect()
}

/// DNS zones by lower-case name.
pub(super) fn dns_zones(snap: &Snapshot) -> HashMap<String, causeway_dns::ZoneDns> {
    let mut out = HashMap::new();
    for r in snap.rows("Zones Zone") {
        let g = |k: &str| snap.get(&format!("Zones Zone {r} {k}")).unwrap_or("");
        if g("Type") != "DNS" || g("Name").is_empty() {
            continue;
        }
        let cfg = causeway_dns::ZoneDns {
            include_address_record: g("DNS IncludeAddressRecord") == "On",
            default_transport: causeway_dns::Transport::from_config(g("DNS SIP Default Transport"))
                .unwrap_or(causeway_dns::Transport::Udp),
            ..causeway_dns::ZoneDns::default()
        };
        out.insert(g("Name").to_ascii_lowercase(), cfg);
    }
    out
}

/// A finished group's answers: not found, except for the queries that answered with new
/// aliases.
pub(super) fn group_answers(ctx: &mut super::proxy::Ctx) -> Vec<Answer> {
    let mut answers = vec![Answer::NotFound; ctx.queries.len()];
    for (i, a) in ctx.late_answers.drain(..) {
        if let Some(slot) = answers.get_mut(i) {
            *slot = a;
        }
    }
    answers
}

fn transport_of(t: causeway_dns::Transport) -> Transport {
    match t {
        causeway_dns::Transport::Udp => Transport::Udp,
        causeway_dns::Transport::Tcp => Transport::Tcp,
        causeway_dns::Transport::Tls => Transport::Tls,
    }
}

/// Neighbor zones by lower-case name. Peers given by host name or SRV name get their
/// addresses from DNS later (`Service::apply_peer_dns`); until then only IP addresses count.
pub(super) fn zone_peers(snap: &Snapshot) -> HashMap<String, ZonePeers> {
    let mut out = HashMap::new();
    for r in snap.rows("Zones Zone") {
        let g = |k: &str| snap.get(&format!("Zones Zone {r} {k}")).unwrap_or("");
        if g("Type") != "Neighbor" || g("Name").is_empty() {
            continue;
        }
        let peers: Vec<PeerAddr> = (1..=6)
            .filter_map(|p| PeerAddr::parse(g(&format!("Neighbor Peer {p} Address"))))
            .collect();
        let transport = Transport::from_name(g("Neighbor SIP Transport"));
        let port = snap
            .int(&format!("Zones Zone {r} Neighbor SIP Port"))
            .unwrap_or(5061) as u16;
        let verify = g("Neighbor SIP TLS Verify Mode") == "On";
        let dests = super::neighbors::zone_dests(
            &peers,
            transport,
            port,
            verify,
            &super::neighbors::PeerCache::default(),
        );
        out.insert(
            g("Name").to_ascii_lowercase(),
            ZonePeers {
                name: g("Name").to_string(),
                transport,
                port,
                addrs: dests.iter().map(|d| d.addr.ip()).collect(),
                peers,
                verify,
                dests,
            },
        );
    }
    out
}

impl Service {
    /// The search for an out-of-dialog request: its alias, and who is asking.
    pub(super) fn search_for(
        &self,
        req: &Request,
        source: Source,
        // `Some` when the request counts as authenticated, with the digest user name if any.
        user: Option<Option<String>>,
        max_forwards: u32,
    ) -> Search {
        // A REGISTER is searched for by its address of record, not by the registrar's domain.
        let aor = (req.method == causeway_sip::Method::Register)
            .then(|| {
                header_str(&req.headers, "To")
                    .and_then(|t| NameAddr::parse(t).ok())
                    .and_then(|t| util::aor_of(t.uri()))
            })
            .flatten();
        let (alias, to_node) = match util::sip_uri(&req.uri) {
            _ if aor.is_some() => (aor.unwrap_or_default(), false),
            Some(s) => {
                let host = match s.port() {
                    Some(p) => format!("{}:{p}", s.host_str()),
                    None => s.host_str().to_string(),
                };
                match s.user() {
                    Some(u) => (format!("{u}@{host}"), false),
                    None => {
                        // Another port on one of our addresses is someone else.
                        let own = self.is_own_host(s.host_str())
                            && s.port().is_none_or(|p| {
                                self.transports.active().iter().any(|l| l.addr.port() == p)
                            });
                        (host, own)
                    }
                }
            }
            None => (req.uri.to_string(), false),
        };
        let ip_known = ip_alias(&alias).is_some_and(|ip| {
            if self.derived.subzones.covers_ip(ip) {
                return true;
            }
            let reg = self.shared.registrar.lock().unwrap();
            let known = reg.all().any(|b| {
                Uri::parse(&b.contact)
                    .ok()
                    .and_then(|u| util::sip_uri(&u).map(|s| s.host_str().to_string()))
                    .and_then(|h| h.trim_matches(['[', ']']).parse::<IpAddr>().ok())
                    == Some(ip)
            });
            known
        });
        let from = header_str(&req.headers, "From")
            .and_then(|f| NameAddr::parse(f).ok())
            .map(|f| f.uri().clone());
        let policy_on = !matches!(self.derived.dialplan.call_policy, CallPolicy::Off);
        let caller = Caller {
            source_aliases: from.iter().map(|u| u.to_string()).collect(),
            auth_username: user.clone().flatten(),
            registered_aliases: matches!(source, Source::LocalZone { .. })
                .then(|| from.as_ref().and_then(util::aor_of))
                .flatten()
                .map(|aor| vec![format!("sip:{aor}")]),
            // Rules may search the whole message; serialised only when someone may look.
            message: policy_on.then(|| String::from_utf8_lossy(&req.to_bytes()).into_owned()),
        };
        let request = SearchRequest {
            alias,
            source,
            protocol: Protocol::Sip,
            authenticated: user.is_some(),
            caller,
            hop_count: Some(max_forwards.min(255) as u8),
            from_cluster_peer: false,
            to_node,
            ip_known,
        };
        Search::new(self.derived.dialplan.clone(), request)
    }

    /// Opens the history entry of a search and logs its start.
    pub(super) fn search_started(&self, req: &Request, flow: &Flow) -> SearchRecord {
        let source = header_str(&req.headers, "From")
            .and_then(|f| NameAddr::parse(f).ok())
            .map(|f| f.uri().to_string())
            .unwrap_or_default();
        let destination = req.uri.to_string();
        let call_id = header_str(&req.headers, "Call-ID")
            .unwrap_or("")
            .to_string();
        self.log.event(
            1,
            "tvcs",
            "Search Attempted",
            &[
                ("Protocol", "SIP"),
                ("Src-ip", &flow.remote.ip().to_string()),
                ("Src-alias", &source),
                ("Dst-alias", &destination),
                ("Method", req.method.as_str()),
                ("Call-id", &call_id),
            ],
        );
        SearchRecord {
            id: self.shared.searches.lock().unwrap().next_id(),
            started: std::time::SystemTime::now(),
            kind: req.method.as_str().to_string(),
            source,
            destination,
            found: false,
            outcome: String::new(),
            call_id,
            trace: Vec::new(),
        }
    }

    /// Closes the search of `key`'s request: the history gets its entry and trace, the event
    /// log its outcome. The search itself is done with.
    pub(super) fn search_finished(&mut self, key: &Key, found: bool, outcome: String) {
        self.tags.finish(key);
        let Some(ctx) = self.proxy.contexts.get_mut(key) else {
            return;
        };
        let trace = ctx
            .search
            .take()
            .map(|s| s.trace().to_vec())
            .unwrap_or_default();
        let Some(mut r) = ctx.record.take() else {
            return;
        };
        r.found = found;
        r.outcome = outcome;
        r.trace = trace;
        self.log.event(
            1,
            "tvcs",
            "Search Completed",
            &[
                ("Protocol", "SIP"),
                ("Src-alias", &r.source),
                ("Dst-alias", &r.destination),
                ("Call-id", &r.call_id),
                ("Found", if found { "True" } else { "False" }),
                ("Detail", &r.outcome),
            ],
        );
        if let Some(reply) = self.locates.remove(key) {
            let _ = reply.send(Ok(super::locate::Located {
                found,
                detail: r.outcome.clone(),
                trace: r.trace.clone(),
            }));
            // Nobody waits for an answer on the wire; late branch answers find no context.
            self.proxy.contexts.remove(key);
        }
        self.shared.searches.lock().unwrap().add(r);
    }

    /// A neighbor's peer, a local registration (its From is registered from the address the
    /// request came from), or an unknown caller.
    pub(super) fn source_of(&self, req: &Request, flow: &Flow) -> Source {
        let ip = flow.remote.ip();
        if let Some(z) = self.derived.zones.values().find(|z| z.addrs.contains(&ip)) {
            return Source::Zone(z.name.clone());
        }
        let from = header_str(&req.headers, "From")
            .and_then(|f| NameAddr::parse(f).ok())
            .and_then(|f| util::aor_of(f.uri()));
        if let Some(aor) = from {
            let reg = self.shared.registrar.lock().unwrap();
            if reg.lookup(&aor).iter().any(|b| b.source.ip() == ip) {
                let subzone = self.derived.subzones.member(ip, &[aor.as_str()]);
                return Source::LocalZone {
                    subzone: subzone.name,
                };
            }
        }
        Source::DefaultZone
    }

    /// Whether an alias has registrations here, reachable or not.
    pub(super) fn registered(&self, alias: &str) -> bool {
        Uri::parse(&format!("sip:{}", bare_alias(alias)))
            .ok()
            .and_then(|u| util::aor_of(&u))
            .is_some_and(|aor| {
                !self
                    .shared
                    .registrar
                    .lock()
                    .unwrap()
                    .lookup(&aor)
                    .is_empty()
            })
    }

    /// The authentication policy of the zone or subzone a request comes from.
    pub(super) fn policy_of(&self, source: &Source) -> Policy {
        let path = match source {
            Source::LocalZone { subzone } => {
                let subzones = &self.derived.subzones;
                let sz = subzones
                    .lookup(subzone)
                    .unwrap_or_else(causeway_routing::subzones::SubZoneRef::default_subzone);
                return Policy::from_config(Some(subzones.authentication_mode(&sz)));
            }
            Source::DefaultZone => "Zones DefaultZone Authentication Mode".to_string(),
            Source::Zone(name) => match self.derived.dialplan.zone(name).and_then(|z| z.row) {
                Some(r) => format!("Zones Zone {r} Neighbor Authentication Mode"),
                None => return Policy::DoNotCheck,
            },
        };
        Policy::from_config(self.snap.get(&path))
    }

    /// `SIP Registration Proxy Mode` for a dialog-forming request that arrives with a Route
    /// set of its own: refused when Off, allowed from configured zones only with
    /// ProxyToKnownOnly, always with ProxyToAny.
    pub(super) fn preloaded_route_allowed(&self, req: &Request, flow: &Flow) -> bool {
        match self.snap.get("SIP Registration Proxy Mode") {
            Some("ProxyToAny") => true,
            Some("ProxyToKnownOnly") => matches!(self.source_of(req, flow), Source::Zone(_)),
            _ => false,
        }
    }

    /// Whether a REGISTER for someone else's domain may be proxied to a query's target:
    /// only to neighbor and traversal zones, and DNS and ENUM zones as well with ProxyToAny.
    fn register_may_ask(&self, q: &Query) -> bool {
        let Target::Zone(z) = &q.target else {
            return false;
        };
        let lz = z.to_ascii_lowercase();
        if self.derived.dns_zones.contains_key(&lz) || self.derived.enum_zones.contains_key(&lz) {
            return self.snap.get("SIP Registration Proxy Mode") == Some("ProxyToAny");
        }
        self.derived.zones.contains_key(&lz)
    }

    /// Call policy's `proxy timeout` shortens how long the next branches may ring (never
    /// beyond Timer C).
    fn limit_ringing(&mut self, key: &Key) {
        if let Some(ctx) = self.proxy.contexts.get_mut(key) {
            if let Some(secs) = ctx.search.as_ref().and_then(|s| s.ring_timeout()) {
                let limit = std::time::Duration::from_secs(u64::from(secs));
                ctx.fork.set_timer_c(limit.min(causeway_sip::fork::TIMER_C));
            }
        }
    }

    /// Whether a source zone is trusted to assert identities (P-Asserted-Identity). Only
    /// neighbor zones can be; traversal zones will always be.
    pub(super) fn trusted(&self, source: &Source) -> bool {
        let Source::Zone(name) = source else {
            return false;
        };
        self.derived
            .dialplan
            .zone(name)
            .and_then(|z| z.row)
            .and_then(|r| {
                self.snap.get(&format!(
                    "Zones Zone {r} Neighbor SIP Authentication Trust Mode"
                ))
            })
            == Some("On")
    }

    /// The branches a query becomes.
    fn resolve(&self, q: &Query, fwd: &Request) -> Vec<BranchTarget> {
        let mf = Some(q.hop_count);
        match &q.target {
            Target::LocalZone => {
                let alias = bare_alias(&q.alias);
                let mut out = match Uri::parse(&format!("sip:{alias}")) {
                    Ok(uri) => util::aor_of(&uri)
                        .map(|aor| self.registered_targets(&aor, mf))
                        .unwrap_or_default(),
                    Err(_) => Vec::new(),
                };
                // A request for a registered contact's own address reaches that contact.
                if out.is_empty() {
                    if let Some(mut t) = self.contact_target(&fwd.uri) {
                        t.max_forwards = mf;
                        out.push(t);
                    }
                }
                out
            }
            Target::Zone(name) => {
                let Some(z) = self.derived.zones.get(&name.to_ascii_lowercase()) else {
                    return Vec::new();
                };
                let alias = bare_alias(&q.alias);
                // Peers the monitor found silent are left out while another is up.
                let failed: Vec<(Transport, SocketAddr)> = self
                    .shared
                    .zones
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|v| v.name.eq_ignore_ascii_case(&z.name) && v.monitored)
                    .flat_map(|v| v.peers.iter())
                    .filter(|p| p.state == super::monitor::PeerState::Failed)
                    .map(|p| (p.transport, p.addr))
                    .collect();
                let is_failed = |d: &Dest| failed.contains(&(d.transport, d.addr));
                let up = z.dests.iter().any(|d| !is_failed(d));
                // One branch, trying the peers in turn (RFC 3263 §4.3 failover), starting
                // from the next peer each time (round-robin: we have no load figures).
                let mut dests: Vec<Dest> = z
                    .dests
                    .iter()
                    .filter(|d| !up || !is_failed(d))
                    .cloned()
                    .collect();
                if dests.len() > 1 {
                    let mut turns = self.turns.lock().unwrap();
                    let turn = turns.entry(z.name.to_ascii_lowercase()).or_insert(0);
                    let n = dests.len();
                    dests.rotate_left(*turn % n);
                    *turn = turn.wrapping_add(1);
                }
                self.failover_target(dests, alias, true, mf)
                    .into_iter()
                    .collect()
            }
            Target::Address(_) => uri_hop(&fwd.uri)
                .map(|hop| BranchTarget {
                    query: None,
                    uri: None,
                    hop,
                    routes: Vec::new(),
                    max_forwards: mf,
                    alternates: None,
                })
                .into_iter()
                .collect(),
            // Policy services come with call policy; until then they know nothing.
            Target::PolicyService(_) => Vec::new(),
        }
    }

    /// One branch that tries `dests` in turn, skipping those that asked to be left alone
    /// (503 with Retry-After). With `at_host`, an alias without a domain is addressed to each
    /// destination's own address (`sip:alias@ip`).
    fn failover_target(
        &self,
        dests: Vec<Dest>,
        alias: &str,
        at_host: bool,
        mf: Option<u8>,
    ) -> Option<BranchTarget> {
        let failover = Failover::start(dests, &self.proxy.down, Instant::now())?;
        let alias_at = (at_host && !alias.contains('@')).then(|| alias.to_string());
        let first = failover.current().clone();
        let uri = match &alias_at {
            Some(a) => super::proxy::uri_at(a, first.addr)?,
            None => Uri::parse(&format!("sip:{alias}")).ok()?,
        };
        Some(BranchTarget {
            query: None,
            uri: Some(uri),
            hop: first.hop(),
            routes: Vec::new(),
            max_forwards: mf,
            alternates: Some(Box::new(Alternates { failover, alias_at })),
        })
    }

    /// Starts a lookup for each DNS-zone query of a group, and for each neighbor zone whose
    /// peer names were never resolved; returns how many are out.
    fn start_lookups(&self, key: &Key, queries: &[(usize, &Query)]) -> usize {
        let (Some(resolver), Some(tx)) = (&self.derived.resolver, &self.dns_tx) else {
            return 0;
        };
        let mut n = 0;
        for (i, q) in queries {
            let Target::Zone(z) = &q.target else { continue };
            let (resolver, tx, key, query) = (resolver.clone(), tx.clone(), key.clone(), *i);
            let names = self.unsettled_peers(z);
            if !names.is_empty() {
                tokio::spawn(async move {
                    let mut found = Vec::with_capacity(names.len());
                    for p in names {
                        let r = super::neighbors::lookup(&resolver, &p).await;
                        found.push((p, r));
                    }
                    let _ = tx.send(DnsDone::Search {
                        key,
                        query,
                        found: Found::Peers(found),
                    });
                });
                n += 1;
                continue;
            }
            if let Some(suffix) = self.derived.enum_zones.get(&z.to_ascii_lowercase()) {
                // The number is the alias without any domain.
                let alias = bare_alias(&q.alias);
                let number = alias.split('@').next().unwrap_or(alias).to_string();
                let suffix = suffix.clone();
                tokio::spawn(async move {
                    let r = resolver
                        .resolve_enum(&number, &suffix, causeway_dns::EnumServices::SIP)
                        .await;
                    let uris = r.uris.into_iter().map(|u| u.uri).collect();
                    let _ = tx.send(DnsDone::Search {
                        key,
                        query,
                        found: Found::Uris(uris),
                    });
                });
                n += 1;
                continue;
            }
            let Some(cfg) = self.derived.dns_zones.get(&z.to_ascii_lowercase()).copied() else {
                continue;
            };
            let alias = bare_alias(&q.alias);
            let host = alias.rsplit_once('@').map_or(alias, |(_, h)| h);
            let target = match host.rsplit_once(':') {
                Some((h, p)) if p.parse::<u16>().is_ok() && !h.contains(':') => {
                    causeway_dns::SipTarget::new(h).with_port(p.parse().unwrap_or(5060))
                }
                _ => causeway_dns::SipTarget::new(host.trim_matches(['[', ']'])),
            };
            let domain = target.host.clone();
            tokio::spawn(async move {
                let r = resolver.resolve_sip(&target, &cfg).await;
                let _ = tx.send(DnsDone::Search {
                    key,
                    query,
                    found: Found::Servers(r.destinations, domain),
                });
            });
            n += 1;
        }
        n
    }

    /// The TLS check of a DNS zone's destinations: `DNS SIP TLS Verify Mode`, against
    /// `DNS SIP TLS Verify Subject Name` or, when that is empty, the domain looked up.
    fn dns_zone_tls(&self, zone: &str, domain: &str) -> (bool, String) {
        let row = self.derived.dialplan.zone(zone).and_then(|z| z.row);
        let get = |k: &str| {
            row.and_then(|r| self.snap.get(&format!("Zones Zone {r} DNS SIP TLS {k}")))
                .unwrap_or("")
        };
        let subject = get("Verify Subject Name").trim();
        let name = if subject.is_empty() { domain } else { subject };
        (get("Verify Mode") == "On", name.to_string())
    }

    /// A DNS lookup came back. For a search: a DNS zone's destinations become one branch
    /// that fails over from each to the next (RFC 3263 §4.3), an ENUM zone's URIs the
    /// query's answer, a neighbor zone's resolved peers its branch. Once the group's lookups
    /// are all back, the group goes out, or the search moves on.
    pub(super) async fn dns_done(&mut self, done: DnsDone, now: Instant) {
        let (key, query, found) = match done {
            DnsDone::Peers(found) => return self.peers_resolved(found, now),
            DnsDone::Search { key, query, found } => (key, query, found),
        };
        // What DNS said about peer names is worth keeping even if the search is gone.
        let found = match found {
            Found::Peers(peers) => {
                self.peers_resolved(peers, now);
                None
            }
            other => Some(other),
        };
        let Some(ctx) = self.proxy.contexts.get_mut(&key) else {
            return;
        };
        if ctx.lookups == 0 || ctx.search.is_none() {
            return;
        }
        let Some(q) = ctx.queries.get(query).cloned() else {
            return;
        };
        let register = ctx.fwd.method == causeway_sip::Method::Register;
        let mut target = None;
        match found {
            Some(Found::Servers(destinations, domain)) => {
                let zone = match &q.target {
                    Target::Zone(z) => z.clone(),
                    _ => String::new(),
                };
                let (verify, name) = self.dns_zone_tls(&zone, &domain);
                let dests = destinations
                    .iter()
                    .map(|d| {
                        Dest::new(
                            transport_of(d.transport),
                            d.addr,
                            Some((verify, name.clone())),
                        )
                    })
                    .collect();
                target =
                    self.failover_target(dests, bare_alias(&q.alias), false, Some(q.hop_count));
            }
            // New aliases are the group's answer for that query, given when the group is done.
            Some(Found::Uris(uris)) if !uris.is_empty() => {
                if let Some(ctx) = self.proxy.contexts.get_mut(&key) {
                    ctx.late_answers.push((query, Answer::Aliases(uris)));
                }
            }
            Some(Found::Uris(_)) => {}
            Some(Found::Peers(_)) => {}
            None => {
                let fwd = self.proxy.contexts.get(&key).map(|c| c.fwd.clone());
                target = fwd.and_then(|fwd| self.resolve(&q, &fwd).into_iter().next());
            }
        }
        let Some(ctx) = self.proxy.contexts.get_mut(&key) else {
            return;
        };
        if let Some(mut t) = target {
            t.query = Some(query);
            if register {
                t.keep_uri();
            }
            ctx.gathered.push(t);
        }
        ctx.lookups -= 1;
        if ctx.lookups > 0 {
            return;
        }
        self.lookups_finished(&key, now).await;
    }

    /// Every lookup and policy question of the current group is back: the group goes out,
    /// or the search moves on.
    pub(super) async fn lookups_finished(&mut self, key: &Key, now: Instant) {
        let Some(ctx) = self.proxy.contexts.get_mut(key) else {
            return;
        };
        let targets = std::mem::take(&mut ctx.gathered);
        if targets.is_empty() {
            let answers = group_answers(ctx);
            if let Some(s) = ctx.search.as_mut() {
                s.answer(&answers);
            }
            self.advance_search(key, now).await;
        } else {
            self.limit_ringing(key);
            self.open_branches(key, targets, now).await;
        }
    }

    /// Runs the search of `key`'s request until a group has branches out, or it ends.
    /// Boxed: a group whose branches fail at once comes back here through the response
    /// context.
    pub(super) fn advance_search<'a>(
        &'a mut self,
        key: &'a Key,
        now: Instant,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            loop {
                let Some(ctx) = self.proxy.contexts.get_mut(key) else {
                    return;
                };
                let Some(search) = ctx.search.as_mut() else {
                    return;
                };
                match search.step() {
                    Step::Ask(queries) => {
                        // Call policy may present the caller as someone else.
                        if let Some(first) = ctx
                            .search
                            .as_ref()
                            .and_then(|s| s.source())
                            .and_then(|s| s.first())
                        {
                            present_as(&mut ctx.fwd, first);
                        }
                        let fwd = ctx.fwd.clone();
                        // A Locate finds local registrations without ringing them.
                        if self.locates.contains_key(key) {
                            let answers: Vec<Answer> = queries
                                .iter()
                                .map(|q| match q.target {
                                    Target::LocalZone if self.registered(&q.alias) => Answer::Found,
                                    _ => Answer::NotFound,
                                })
                                .collect();
                            if answers.contains(&Answer::Found) {
                                if let Some(s) = self
                                    .proxy
                                    .contexts
                                    .get_mut(key)
                                    .and_then(|c| c.search.as_mut())
                                {
                                    s.answer(&answers);
                                }
                                continue;
                            }
                        }
                        // A proxied REGISTER leaves unasked the targets it may not go to.
                        let register = fwd.method == causeway_sip::Method::Register;
                        let asks = |q: &Query| !register || self.register_may_ask(q);
                        // DNS zones and policy services answer later; the rest now.
                        let (later, now_known): (Vec<_>, Vec<_>) = queries
                            .iter()
                            .enumerate()
                            .filter(|(_, q)| asks(q))
                            .partition(|(_, q)| {
                                matches!(&q.target, Target::PolicyService(_))
                                    || matches!(&q.target, Target::Zone(z) if {
                                        let z = z.to_ascii_lowercase();
                                        self.derived.dns_zones.contains_key(&z)
                                            || self.derived.enum_zones.contains_key(&z)
                                            || !self.unsettled_peers(&z).is_empty()
                                    })
                            });
                        let targets: Vec<BranchTarget> = now_known
                            .into_iter()
                            .flat_map(|(i, q)| {
                                self.resolve(q, &fwd).into_iter().map(move |mut t| {
                                    t.query = Some(i);
                                    // A REGISTER keeps addressing the registrar's domain.
                                    if register {
                                        t.keep_uri();
                                    }
                                    t
                                })
                            })
                            .collect();
                        let started = self.start_lookups(key, &later)
                            + self.start_policy_queries(key, &later);
                        if started > 0 {
                            if let Some(ctx) = self.proxy.contexts.get_mut(key) {
                                ctx.queries = queries;
                                ctx.gathered = targets;
                                ctx.lookups = started;
                            }
                            return;
                        }
                        let Some(ctx) = self.proxy.contexts.get_mut(key) else {
                            return;
                        };
                        if targets.is_empty() {
                            // Registered, but only at contacts that cannot be reached yet
                            // (host names need DNS): unavailable rather than unknown.
                            let registered = queries.iter().any(|q| {
                                q.target == Target::LocalZone && self.registered(&q.alias)
                            });
                            let Some(ctx) = self.proxy.contexts.get_mut(key) else {
                                return;
                            };
                            ctx.unavailable |= registered;
                            if let Some(s) = ctx.search.as_mut() {
                                s.answer(&vec![Answer::NotFound; queries.len()]);
                            }
                            continue;
                        }
                        ctx.queries = queries;
                        self.limit_ringing(key);
                        self.open_branches(key, targets, now).await;
                        return;
                    }
                    Step::AskPolicy(q) => {
                        if self.ask_call_policy(key, &q.alias) {
                            return;
                        }
                        // No service to ask: its Default CPL decides, as when it is down.
                        let Some(search) = self
                            .proxy
                            .contexts
                            .get_mut(key)
                            .and_then(|c| c.search.as_mut())
                        else {
                            return;
                        };
                        let text = self
                            .snap
                            .get("Policy AdministratorPolicy Service DefaultCPL")
                            .unwrap_or("<reject status='403' reason='Service Unavailable'/>");
                        let policy =
                            causeway_routing::cpl::Policy::parse(text).unwrap_or_else(|_| {
                                causeway_routing::cpl::Policy::parse(FALLBACK_CPL).unwrap()
                            });
                        search.policy_answer(&policy);
                        continue;
                    }
                    Step::Found(q) => {
                        let actions = ctx.fork.release();
                        let outcome = format!("found by {} as {}", q.target, q.alias);
                        self.search_finished(key, true, outcome);
                        self.run_fork(key, actions, now).await;
                        return;
                    }
                    Step::NotFound(reason) => {
                        let best = ctx.fork.best_status();
                        let actions = ctx.fork.release();
                        if !actions.is_empty() {
                            let outcome = format!(
                                "not found ({reason:?}); best answer {}",
                                best.unwrap_or(0)
                            );
                            self.search_finished(key, false, outcome);
                            self.run_fork(key, actions, now).await;
                            return;
                        }
                        let Some(ctx) = self.proxy.contexts.get_mut(key) else {
                            return;
                        };
                        // Nothing was ever asked, or nothing answered: the answer is ours.
                        let (status, phrase) = match &reason {
                            Refusal::HopsExhausted => (483, "Too Many Hops"),
                            Refusal::PolicyLoop => (482, "Loop Detected"),
                            Refusal::Rejected { status, reason } => (*status, reason.as_str()),
                            _ if ctx.unavailable => (480, "Temporarily Unavailable"),
                            _ => (404, "Not Found"),
                        };
                        let phrase = phrase.to_string();
                        let resp = reply(&ctx.answer_to, status, &phrase);
                        let call = ctx.call;
                        self.search_finished(
                            key,
                            false,
                            format!("not found ({reason:?}); answered {status} {phrase}"),
                        );
                        self.respond(key, resp.clone(), now).await;
                        self.after_final(&resp, call);
                        return;
                    }
                }
            }
        })
    }
}
