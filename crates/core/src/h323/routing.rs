//! Where an H.323 call goes: the dial plan's search (transforms, call policy, search rules)
//! run for H.323, with local registrations asked directly and neighbor zones asked with LRQs.

use super::state::Shared;
use causeway_config::Snapshot;
use causeway_h323::alias::Alias;
use causeway_h323::ras::{LocateRequest, Location};
use causeway_routing::subzones::SubZones;
use causeway_routing::{
    Answer, Dialplan, Protocol, Query, Refusal, Search, SearchRequest, Source, Step, Target,
};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// How long neighbors have to answer an LRQ.
pub const LRQ_WAIT: Duration = Duration::from_secs(5);

/// A neighbor zone as H.323 reaches it.
#[derive(Debug, Clone)]
pub struct Zone {
    pub name: String,
    /// Peer host names or addresses, as configured.
    pub peers: Vec<String>,
    /// `Neighbor H323 Port`: where LRQs go.
    pub ras_port: u16,
}

/// What routing reads of the configuration, rebuilt on every change.
pub struct Routing {
    pub dialplan: Arc<Dialplan>,
    pub zones: HashMap<String, Zone>,
    pub subzones: SubZones,
    /// DNS zones by lower-case name: whether they fall back to the domain's address records
    /// (`DNS IncludeAddressRecord`).
    pub dns_zones: HashMap<String, bool>,
    /// Asks the configured DNS servers; `None` when none is configured.
    pub resolver: Option<Arc<causeway_dns::DnsResolver>>,
}

impl Default for Routing {
    /// No dial plan yet: nothing is found.
    fn default() -> Routing {
        Routing {
            dialplan: Arc::new(Dialplan::default()),
            zones: HashMap::new(),
            subzones: SubZones::default(),
            dns_zones: HashMap::new(),
            resolver: None,
        }
    }
}

impl Routing {
    pub fn from_snapshot(snap: &Snapshot) -> Routing {
        let mut zones = HashMap::new();
        let mut dns_zones = HashMap::new();
        for r in snap.rows("Zones Zone") {
            let g = |k: &str| snap.get(&format!("Zones Zone {r} {k}")).unwrap_or("");
            if g("Type") == "DNS" && !g("Name").is_empty() {
                dns_zones.insert(
                    g("Name").to_ascii_lowercase(),
                    g("DNS IncludeAddressRecord") == "On",
                );
            }
            if g("Type") != "Neighbor" || g("Name").is_empty() {
                continue;
            }
            let peers = (1..=6)
                .map(|p| g(&format!("Neighbor Peer {p} Address")).trim().to_string())
                .filter(|p| !p.is_empty())
                .collect();
            let ras_port = snap
                .int(&format!("Zones Zone {r} Neighbor H323 Port"))
                .unwrap_or(1719) as u16;
            zones.insert(
                g("Name").to_ascii_lowercase(),
                Zone {
                    name: g("Name").to_string(),
                    peers,
                    ras_port,
                },
            );
        }
        let resolver = crate::dns::resolver(snap);
        Routing {
            dialplan: Arc::new(Dialplan::from_snapshot(snap)),
            zones,
            subzones: SubZones::from_snapshot(snap),
            dns_zones,
            resolver,
        }
    }

    /// The zone a caller's address belongs to, if it is one of a neighbor's peers.
    fn zone_of(&self, ip: IpAddr) -> Option<&Zone> {
        self.zones
            .values()
            .find(|z| z.peers.iter().any(|p| p.parse::<IpAddr>().ok() == Some(ip)))
    }
}

/// Who is calling, as the search sees it.
pub fn source_of(routing: &Routing, shared: &Shared, caller: IpAddr, aliases: &[Alias]) -> Source {
    let registered = shared
        .with_gatekeeper(|gk| gk.registrations().all().any(|r| r.source.ip() == caller))
        .unwrap_or(false);
    if registered {
        let texts: Vec<&str> = aliases.iter().map(Alias::text).collect();
        return Source::LocalZone {
            subzone: routing.subzones.member(caller, &texts).name,
        };
    }
    match routing.zone_of(caller) {
        Some(z) => Source::Zone(z.name.clone()),
        None => Source::DefaultZone,
    }
}

/// Asks the RAS task to send LRQs and waits for the answer.
pub type Locator =
    dyn Fn(LocateRequest) -> tokio::sync::oneshot::Receiver<Option<Location>> + Send + Sync;

/// The outcome of routing one call.
#[derive(Debug)]
pub enum Routed {
    /// Where to send the Setup, the alias it is for there, and the hop count it carries on.
    To(SocketAddr, String, u8),
    NotFound(Refusal),
}

/// What a call asks the search for.
pub struct Wanted<'a> {
    pub source: Source,
    pub destinations: &'a [Alias],
    pub caller_aliases: &'a [Alias],
    pub hop_count: Option<u8>,
    /// What is searching (`Setup`, `LRQ`, or a Locate, which policy services see as `LRQ`),
    /// and from where, for the policy services.
    pub method: causeway_policy::MessageKind,
    pub caller_address: Option<SocketAddr>,
}

/// What a policy service is told about an H.323 search for `destination`.
fn facts(wanted: &Wanted<'_>, destination: &str) -> causeway_policy::CallFacts {
    causeway_policy::CallFacts {
        protocol: Some(causeway_policy::SignalProtocol::H323),
        method: Some(wanted.method),
        source_aliases: wanted
            .caller_aliases
            .iter()
            .map(|a| a.text().to_string())
            .collect(),
        destination_alias: Some(destination.to_string()),
        source_ip: wanted.caller_address.map(|a| a.ip()),
        source_port: wanted.caller_address.map(|a| a.port()),
        zone_name: Some(wanted.source.name().to_string()),
        utc_time: Some(std::time::SystemTime::now()),
        ..causeway_policy::CallFacts::default()
    }
}

/// Searches for the first destination alias that is found.
pub async fn route(
    routing: &Routing,
    shared: &Shared,
    locate: &Locator,
    wanted: Wanted<'_>,
    trace: &mut Vec<String>,
) -> Routed {
    let (source, destinations, caller_aliases, hop_count) = (
        wanted.source.clone(),
        wanted.destinations,
        wanted.caller_aliases,
        wanted.hop_count,
    );
    let mut refusal = Refusal::NotFound;
    for alias in destinations {
        let mut req = SearchRequest::new(alias.text(), Protocol::H323);
        req.source = source.clone();
        req.hop_count = hop_count;
        req.caller.source_aliases = caller_aliases
            .iter()
            .map(|a| a.text().to_string())
            .collect();
        let mut search = Search::new(routing.dialplan.clone(), req);
        let mut found_at: Vec<(Query, SocketAddr)> = Vec::new();
        loop {
            match search.step() {
                Step::Ask(queries) => {
                    let mut answers = Vec::with_capacity(queries.len());
                    for q in &queries {
                        if let Target::PolicyService(name) = &q.target {
                            // The service's script decides for this alias, as call policy does.
                            let params =
                                causeway_policy::Params::search_rule(&facts(&wanted, &q.alias));
                            let policy = shared.ask_policy(name, params).await;
                            let eval = policy.evaluate(&search.policy_context(&q.alias, &q.alias));
                            answers.push(match eval.decision {
                                causeway_routing::cpl::Decision::Redirect { targets, .. } => {
                                    Answer::Aliases(targets.into_iter().map(|t| t.alias).collect())
                                }
                                causeway_routing::cpl::Decision::Reject { status, reason } => {
                                    Answer::Rejected {
                                        status,
                                        reason: reason.unwrap_or_default(),
                                    }
                                }
                                // Handing the alias back to the rules that asked would loop.
                                causeway_routing::cpl::Decision::Allow(_) => Answer::NotFound,
                            });
                            continue;
                        }
                        let (answer, at) = ask(routing, shared, locate, q, caller_aliases).await;
                        if let Some(at) = at {
                            found_at.push((q.clone(), at));
                        }
                        answers.push(answer);
                    }
                    search.answer(&answers);
                }
                Step::Found(q) => {
                    trace.extend(search.trace().iter().cloned());
                    let at = found_at
                        .iter()
                        .find(|(f, _)| *f == q)
                        .map(|(_, a)| *a)
                        .expect("a found query has an address");
                    return Routed::To(at, q.alias, q.hop_count);
                }
                Step::NotFound(r) => {
                    trace.extend(search.trace().iter().cloned());
                    refusal = r;
                    break;
                }
                Step::AskPolicy(pq) => {
                    let params = causeway_policy::Params::call_policy(&facts(&wanted, &pq.alias));
                    let policy = shared
                        .ask_policy(crate::sip::policy::CALL_POLICY, params)
                        .await;
                    search.policy_answer(&policy);
                }
            }
        }
    }
    Routed::NotFound(refusal)
}

async fn ask(
    routing: &Routing,
    shared: &Shared,
    locate: &Locator,
    q: &Query,
    caller_aliases: &[Alias],
) -> (Answer, Option<SocketAddr>) {
    match &q.target {
        Target::LocalZone => match shared
            .holders(&q.alias)
            .first()
            .and_then(|r| r.call_signal.first().copied())
        {
            Some(a) => (Answer::Found, Some(a)),
            None => (Answer::NotFound, None),
        },
        // No hops left: the zone may not be asked (an LRQ with hop count 1 is not passed on).
        Target::Zone(_) if q.hop_count == 0 => (Answer::NotFound, None),
        Target::Zone(name) if routing.dns_zones.contains_key(&name.to_ascii_lowercase()) => {
            let include_a = routing.dns_zones[&name.to_ascii_lowercase()];
            match dns_ask(routing, shared, locate, q, caller_aliases, include_a).await {
                Some(a) => (Answer::Found, Some(a)),
                None => (Answer::NotFound, None),
            }
        }
        Target::Zone(name) => {
            let Some(zone) = routing.zones.get(&name.to_ascii_lowercase()) else {
                return (Answer::NotFound, None);
            };
            let mut peers = Vec::new();
            for p in &zone.peers {
                if let Ok(addrs) = tokio::net::lookup_host((p.as_str(), zone.ras_port)).await {
                    peers.extend(addrs.filter(|a| a.is_ipv4()).take(1));
                }
            }
            match ask_neighbors(shared, locate, q, caller_aliases, peers).await {
                Some(a) => (Answer::Found, Some(a)),
                None => (Answer::NotFound, None),
            }
        }
        Target::Address(text) => {
            let addr = text.parse::<SocketAddr>().ok().or_else(|| {
                text.parse::<IpAddr>()
                    .ok()
                    .map(|ip| SocketAddr::new(ip, 1720))
            });
            match addr {
                Some(a) => (Answer::Found, Some(a)),
                None => (Answer::NotFound, None),
            }
        }
        Target::PolicyService(_) => (Answer::NotFound, None),
    }
}

/// LRQs for a query's alias to `peers`; the call signalling address of the first LCF.
async fn ask_neighbors(
    shared: &Shared,
    locate: &Locator,
    q: &Query,
    caller_aliases: &[Alias],
    peers: Vec<SocketAddr>,
) -> Option<SocketAddr> {
    let local = peers
        .first()
        .and_then(|p| super::route_to(p.ip()))
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    let rx = locate(LocateRequest {
        id: shared.next_locate_id(),
        alias: Alias::guess(&q.alias),
        source: caller_aliases.to_vec(),
        peers,
        hop_count: Some(q.hop_count),
        local,
        wait: LRQ_WAIT,
    });
    rx.await.ok().flatten().map(|l| l.call_signal)
}

/// The IPv4 addresses of a host name (or the address it is).
async fn addresses(resolver: &causeway_dns::DnsResolver, host: &str) -> Vec<IpAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return vec![ip];
    }
    let q = causeway_dns::Query::new(host, causeway_dns::RecordKind::A);
    match resolver.lookup(&q).await {
        causeway_dns::Answer::Addresses(a) => a,
        _ => Vec::new(),
    }
}

/// The SRV records of `name`, in the order to try them.
async fn srv(resolver: &causeway_dns::DnsResolver, name: &str) -> Vec<causeway_dns::Srv> {
    let q = causeway_dns::Query::new(name, causeway_dns::RecordKind::Srv);
    match resolver.lookup(&q).await {
        causeway_dns::Answer::Srv(records) => {
            let usable: Vec<_> = records
                .into_iter()
                .filter(|r| !r.target.is_empty())
                .collect();
            causeway_dns::order_srv(&usable, &mut causeway_dns::ThreadRandom)
        }
        _ => Vec::new(),
    }
}

/// A DNS zone for H.323: the domain's location service (`_h323ls._udp`) is asked with LRQs
/// for the whole alias; failing that, its call signalling service (`_h323cs._tcp`) is called
/// directly; failing that, with `IncludeAddressRecord`, the domain's own address on 1720.
/// A dial string with a port (`user@host:1719`) is asked with an LRQ at that port.
async fn dns_ask(
    routing: &Routing,
    shared: &Shared,
    locate: &Locator,
    q: &Query,
    caller_aliases: &[Alias],
    include_address_record: bool,
) -> Option<SocketAddr> {
    let resolver = routing.resolver.as_ref()?;
    let text = q.alias.strip_prefix("h323:").unwrap_or(&q.alias);
    let (_, host) = text.rsplit_once('@')?;
    let (domain, port) = match host.rsplit_once(':') {
        Some((d, p)) if p.parse::<u16>().is_ok() => (d, p.parse::<u16>().ok()),
        _ => (host, None),
    };
    if let Some(port) = port {
        let peers: Vec<SocketAddr> = addresses(resolver, domain)
            .await
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect();
        return ask_neighbors(shared, locate, q, caller_aliases, peers).await;
    }
    let ls = srv(resolver, &format!("_h323ls._udp.{domain}")).await;
    if !ls.is_empty() {
        let mut peers = Vec::new();
        for r in &ls {
            for ip in addresses(resolver, &r.target).await {
                peers.push(SocketAddr::new(ip, r.port));
            }
        }
        return ask_neighbors(shared, locate, q, caller_aliases, peers).await;
    }
    for r in srv(resolver, &format!("_h323cs._tcp.{domain}")).await {
        if let Some(ip) = addresses(resolver, &r.target).await.first() {
            return Some(SocketAddr::new(*ip, r.port));
        }
    }
    if include_address_record {
        return addresses(resolver, domain)
            .await
            .first()
            .map(|ip| SocketAddr::new(*ip, 1720));
    }
    None
}
