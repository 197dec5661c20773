//! Neighbor zones' peers named by host name or SRV record, RFC 3263 failover between the
//! places one branch may go, and the TLS checks of outgoing connections to zones.
//!
//! The decisions are sans-IO: [`PeerAddr`] reads a configured peer address, [`PeerCache`]
//! keeps what DNS said about peer names and when to ask again, [`zone_dests`] turns a zone's
//! peers into destinations, and [`Failover`] with [`DownList`] picks the next destination after
//! a failure. The lookups themselves run on tasks and report back through the loop's DNS
//! channel.

use super::proxy::Hop;
use super::Service;
use crate::listen::Transport;
use causeway_dns::{Answer, DnsResolver, Query, RecordKind};
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// How long a resolved peer name is used before DNS is asked again. The resolver's own cache
/// honours the records' TTLs, so asking again within a TTL costs no traffic.
pub(super) const REFRESH: Duration = Duration::from_secs(60);
/// How soon a lookup that failed (no answer, SERVFAIL) is tried again; what it found
/// before stays in use meanwhile.
pub(super) const RETRY: Duration = Duration::from_secs(10);
/// The most peers an SRV lookup gives a zone (the guide's default of 15).
pub(super) const MAX_SRV_PEERS: usize = 15;
/// The longest a 503's Retry-After keeps a destination out.
pub(super) const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// A `Zones Zone [n] Neighbor Peer [1..6] Address` as configured.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum PeerAddr {
    Ip(IpAddr),
    /// A host name, reached at its A and AAAA records on the zone's port and transport.
    Host(String),
    /// An SRV owner name (`_sips._tcp.example.com`, `_sip._tcp…`, `_sip._udp…`): every
    /// target it lists is a peer, on the record's port and the name's transport.
    Srv {
        name: String,
        transport: Transport,
    },
}

impl PeerAddr {
    /// Reads a peer address: an IP address (IPv6 with or without brackets), an SRV owner name
    /// or a host name. Anything else (empty, spaces, a port) is no peer.
    pub(super) fn parse(text: &str) -> Option<PeerAddr> {
        let t = text.trim();
        if t.is_empty() {
            return None;
        }
        if let Ok(ip) = t.trim_start_matches('[').trim_end_matches(']').parse() {
            return Some(PeerAddr::Ip(ip));
        }
        let name = t.trim_end_matches('.').to_ascii_lowercase();
        let labels: Vec<&str> = name.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        for (prefix, transport) in [
            ("_sips._tcp.", Transport::Tls),
            ("_sip._tcp.", Transport::Tcp),
            ("_sip._udp.", Transport::Udp),
        ] {
            if let Some(domain) = name.strip_prefix(prefix) {
                let ok = !domain.is_empty() && domain.split('.').all(|l| label_ok(&l));
                return ok.then(|| PeerAddr::Srv {
                    name: name.clone(),
                    transport,
                });
            }
        }
        (name.len() <= 253 && labels.iter().all(label_ok)).then_some(PeerAddr::Host(name))
    }

    /// Whether DNS must be asked before the peer can be reached.
    pub(super) fn needs_dns(&self) -> bool {
        !matches!(self, PeerAddr::Ip(_))
    }

    /// The name a peer's TLS certificate must carry (guide: the peer address field): the
    /// address as configured, or for an SRV name its domain (RFC 5922 §4.2: the domain asked
    /// for, not the target the DNS returned).
    pub(super) fn tls_name(&self) -> String {
        match self {
            PeerAddr::Ip(ip) => ip.to_string(),
            PeerAddr::Host(h) => h.clone(),
            PeerAddr::Srv { name, .. } => name.splitn(3, '.').nth(2).unwrap_or(name).to_string(),
        }
    }
}

/// What an outgoing TLS connection checks of its server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TlsCheck {
    /// `TLS Verify Mode: On`: the certificate must chain to the trust store and carry `name`.
    pub verify: bool,
    pub name: String,
}

/// One place a request may go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Dest {
    pub transport: Transport,
    pub addr: SocketAddr,
    /// For TLS: how the server is checked.
    pub tls: Option<TlsCheck>,
}

impl Dest {
    pub(super) fn new(
        transport: Transport,
        addr: SocketAddr,
        tls_name: Option<(bool, String)>,
    ) -> Dest {
        let tls = (transport == Transport::Tls).then(|| {
            let (verify, name) = tls_name.unwrap_or((false, addr.ip().to_string()));
            TlsCheck { verify, name }
        });
        Dest {
            transport,
            addr,
            tls,
        }
    }

    pub(super) fn hop(&self) -> Hop {
        Hop::Addr(self.transport, self.addr)
    }
}

/// What DNS said about peer names, and when to ask again.
#[derive(Debug, Default)]
pub(super) struct PeerCache {
    entries: HashMap<PeerAddr, Entry>,
}

#[derive(Debug)]
struct Entry {
    /// The last good answer (host names: port 0, the zone's port applies).
    addrs: Option<Vec<SocketAddr>>,
    /// When to ask again.
    due: Instant,
    /// A lookup is out.
    pending: bool,
}

impl PeerCache {
    /// The addresses last found for `peer`, if it was ever resolved.
    pub(super) fn get(&self, peer: &PeerAddr) -> Option<&[SocketAddr]> {
        self.entries.get(peer).and_then(|e| e.addrs.as_deref())
    }

    /// Whether `peer` has had an answer (good or bad) or needs none: a search need not wait.
    pub(super) fn settled(&self, peer: &PeerAddr) -> bool {
        !peer.needs_dns()
            || self
                .entries
                .get(peer)
                .is_some_and(|e| !e.pending || e.addrs.is_some())
    }

    /// Which of `names` to ask now: never asked, or due and not already out. They count as
    /// out from now on.
    pub(super) fn due<'a>(
        &mut self,
        names: impl IntoIterator<Item = &'a PeerAddr>,
        now: Instant,
    ) -> Vec<PeerAddr> {
        let mut out = Vec::new();
        for n in names {
            if !n.needs_dns() || out.contains(n) {
                continue;
            }
            let e = self.entries.entry(n.clone()).or_insert(Entry {
                addrs: None,
                due: now,
                pending: false,
            });
            if !e.pending && e.due <= now {
                e.pending = true;
                out.push(n.clone());
            }
        }
        out
    }

    /// A lookup came back. A failure keeps the last good answer and is retried sooner.
    pub(super) fn store(
        &mut self,
        peer: &PeerAddr,
        found: Result<Vec<SocketAddr>, String>,
        now: Instant,
    ) {
        let e = self.entries.entry(peer.clone()).or_insert(Entry {
            addrs: None,
            due: now,
            pending: false,
        });
        e.pending = false;
        match found {
            Ok(addrs) => {
                e.addrs = Some(addrs);
                e.due = now + REFRESH;
            }
            Err(_) => {
                e.addrs.get_or_insert_with(Vec::new);
                e.due = now + RETRY;
            }
        }
    }

    /// Forgets names no zone uses any more.
    pub(super) fn retain(&mut self, names: &HashSet<PeerAddr>) {
        self.entries.retain(|k, _| names.contains(k));
    }
}

/// A neighbor zone's destinations, peer by peer in the configured order: an IP address on
/// the zone's transport and port, a host name at each address it resolved to, an SRV name at
/// each target in the record order. Duplicates are tried once, at their first place.
pub(super) fn zone_dests(
    peers: &[PeerAddr],
    transport: Transport,
    port: u16,
    verify: bool,
    cache: &PeerCache,
) -> Vec<Dest> {
    let mut out: Vec<Dest> = Vec::new();
    for p in peers {
        let tls = Some((verify, p.tls_name()));
        let found: Vec<Dest> = match p {
            PeerAddr::Ip(ip) => vec![Dest::new(transport, SocketAddr::new(*ip, port), tls)],
            PeerAddr::Host(_) => cache
                .get(p)
                .unwrap_or_default()
                .iter()
                .map(|a| Dest::new(transport, SocketAddr::new(a.ip(), port), tls.clone()))
                .collect(),
            PeerAddr::Srv { transport: t, .. } => cache
                .get(p)
                .unwrap_or_default()
                .iter()
                .map(|a| Dest::new(*t, *a, tls.clone()))
                .collect(),
        };
        for d in found {
            if !out
                .iter()
                .any(|o| o.transport == d.transport && o.addr == d.addr)
            {
                out.push(d);
            }
        }
    }
    out
}

/// Asks DNS for one peer name: A and AAAA for a host name (IPv4 first); for an SRV name its
/// records in priority and weight order, each target's addresses in turn, at most
/// [`MAX_SRV_PEERS`]. Not found is an empty answer; only failures are errors.
pub(super) async fn lookup(
    resolver: &DnsResolver,
    peer: &PeerAddr,
) -> Result<Vec<SocketAddr>, String> {
    match peer {
        PeerAddr::Ip(ip) => Ok(vec![SocketAddr::new(*ip, 0)]),
        PeerAddr::Host(h) => Ok(addresses(resolver, h)
            .await?
            .into_iter()
            .map(|ip| SocketAddr::new(ip, 0))
            .collect()),
        PeerAddr::Srv { name, .. } => {
            let records = match resolver.lookup(&Query::new(name, RecordKind::Srv)).await {
                Answer::Srv(r) => r,
                Answer::Failed(e) => return Err(e),
                _ => Vec::new(),
            };
            let mut out = Vec::new();
            for r in causeway_dns::order_srv(&records, &mut causeway_dns::ThreadRandom) {
                if r.target.is_empty() {
                    continue;
                }
                let Ok(ips) = addresses(resolver, &r.target).await else {
                    continue;
                };
                for ip in ips {
                    let a = SocketAddr::new(ip, r.port);
                    if out.len() < MAX_SRV_PEERS && !out.contains(&a) {
                        out.push(a);
                    }
                }
            }
            Ok(out)
        }
    }
}

async fn addresses(resolver: &DnsResolver, host: &str) -> Result<Vec<IpAddr>, String> {
    let (qa, qaaaa) = (
        Query::new(host, RecordKind::A),
        Query::new(host, RecordKind::Aaaa),
    );
    let (a, aaaa) = tokio::join!(resolver.lookup(&qa), resolver.lookup(&qaaaa));
    let mut out = Vec::new();
    let mut error = None;
    for answer in [a, aaaa] {
        match answer {
            Answer::Addresses(ips) => out.extend(ips),
            Answer::Failed(e) => error = Some(e),
            _ => {}
        }
    }
    match error {
        Some(e) if out.is_empty() => Err(e),
        _ => Ok(out),
    }
}

/// How one attempt at a destination ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// A final response from the destination, with its Retry-After.
    Status(u16, Option<Duration>),
    /// The connection could not be made or the message not sent (RFC 3263 §4.3).
    TransportError,
    /// No final response in time (Timer B or F).
    Timeout,
}

/// Destinations that asked not to be sent to for a while (503 with Retry-After).
#[derive(Debug, Default)]
pub(super) struct DownList {
    until: HashMap<(Transport, SocketAddr), Instant>,
}

impl DownList {
    pub(super) fn is_down(&self, d: &Dest, now: Instant) -> bool {
        self.until
            .get(&(d.transport, d.addr))
            .is_some_and(|u| *u > now)
    }

    pub(super) fn mark(&mut self, d: &Dest, until: Instant, now: Instant) {
        self.until.retain(|_, u| *u > now);
        let e = self.until.entry((d.transport, d.addr)).or_insert(until);
        *e = (*e).max(until);
    }
}

/// The destinations one branch may try, in order (RFC 3263 §4.3): the first that is not
/// down, then, after a transport error, a timeout or a 503, the next that is not down.
#[derive(Debug, Clone)]
pub(super) struct Failover {
    dests: Vec<Dest>,
    at: usize,
}

impl Failover {
    /// Starts at the first destination not down; `None` when all of them are.
    pub(super) fn start(dests: Vec<Dest>, down: &DownList, now: Instant) -> Option<Failover> {
        let at = dests.iter().position(|d| !down.is_down(d, now))?;
        Some(Failover { dests, at })
    }

    /// The destination being tried.
    pub(super) fn current(&self) -> &Dest {
        &self.dests[self.at]
    }

    /// The current attempt ended with `outcome`: the destination to try next, or `None` when
    /// the failure stands (any other answer, or no destination left). A 503 with Retry-After
    /// marks the destination down for that long (at most [`MAX_RETRY_AFTER`]).
    pub(super) fn failed(
        &mut self,
        outcome: Outcome,
        down: &mut DownList,
        now: Instant,
    ) -> Option<&Dest> {
        match outcome {
            Outcome::Status(503, retry_after) => {
                if let Some(ra) = retry_after.filter(|d| !d.is_zero()) {
                    down.mark(self.current(), now + ra.min(MAX_RETRY_AFTER), now);
                }
            }
            Outcome::Status(..) => return None,
            Outcome::TransportError | Outcome::Timeout => {}
        }
        let next = self.dests[self.at + 1..]
            .iter()
            .position(|d| !down.is_down(d, now))?;
        self.at += 1 + next;
        Some(&self.dests[self.at])
    }
}

/// A response's Retry-After in seconds (RFC 3261 §20.33; a comment or parameters may follow).
pub(super) fn retry_after(value: Option<&str>) -> Option<Duration> {
    let v = value?.trim();
    let digits: String = v.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok().map(Duration::from_secs)
}

impl Service {
    /// After the configuration changed: forgets names no zone uses, gives the zones what is
    /// known of their peers' names, and asks for the rest.
    pub(super) fn neighbors_reconfigured(&mut self, now: Instant) {
        let names: HashSet<PeerAddr> = self
            .derived
            .zones
            .values()
            .flat_map(|z| z.peers.iter().filter(|p| p.needs_dns()).cloned())
            .collect();
        self.proxy.peer_dns.retain(&names);
        self.apply_peer_dns();
        self.refresh_peer_names(now);
    }

    /// Starts lookups for the peer names that are due (from the monitor's round).
    pub(super) fn refresh_peer_names(&mut self, now: Instant) {
        let (Some(resolver), Some(tx)) = (self.derived.resolver.clone(), self.dns_tx.clone())
        else {
            return;
        };
        let due = self.proxy.peer_dns.due(
            self.derived.zones.values().flat_map(|z| z.peers.iter()),
            now,
        );
        // One task per name: a server slow to answer for one does not hold up the others.
        for p in due {
            let (resolver, tx) = (resolver.clone(), tx.clone());
            tokio::spawn(async move {
                let r = lookup(&resolver, &p).await;
                let _ = tx.send(super::search::DnsDone::Peers(vec![(p, r)]));
            });
        }
    }

    /// Peer names came back from DNS: the zones and the monitor learn the new addresses.
    pub(super) fn peers_resolved(
        &mut self,
        found: Vec<(PeerAddr, Result<Vec<SocketAddr>, String>)>,
        now: Instant,
    ) {
        for (p, r) in found {
            if let Err(e) = &r {
                let detail = format!("DNS lookup of neighbor peer {} failed: {e}", p.tls_name());
                self.log
                    .event(2, "tvcs", "Application Warning", &[("Detail", &detail)]);
            }
            self.proxy.peer_dns.store(&p, r, now);
        }
        self.apply_peer_dns();
    }

    /// Rebuilds every neighbor zone's destinations and known addresses from its peers and the
    /// cache, and shows them to the monitor.
    pub(super) fn apply_peer_dns(&mut self) {
        let cache = &self.proxy.peer_dns;
        for z in self.derived.zones.values_mut() {
            z.dests = zone_dests(&z.peers, z.transport, z.port, z.verify, cache);
            let mut addrs: Vec<IpAddr> = z
                .peers
                .iter()
                .filter_map(|p| match p {
                    PeerAddr::Ip(ip) => Some(*ip),
                    _ => None,
                })
                .collect();
            for d in &z.dests {
                if !addrs.contains(&d.addr.ip()) {
                    addrs.push(d.addr.ip());
                }
            }
            z.addrs = addrs;
        }
        self.sync_monitored_peers();
    }

    /// The peer names of a neighbor zone a search has to wait for: never answered yet, with
    /// DNS servers to ask.
    pub(super) fn unsettled_peers(&self, zone: &str) -> Vec<PeerAddr> {
        if self.derived.resolver.is_none() {
            return Vec::new();
        }
        let Some(z) = self.derived.zones.get(&zone.to_ascii_lowercase()) else {
            return Vec::new();
        };
        z.peers
            .iter()
            .filter(|p| !self.proxy.peer_dns.settled(p))
            .cloned()
            .collect()
    }

    /// Sends to a destination: TLS ones over a connection that checks the server as the zone
    /// says, the others as any message goes. Returns whether the message went (or is on its
    /// way: a connection being set up reports failure later).
    pub(super) async fn send_dest(
        &self,
        hop: Hop,
        tls: Option<&TlsCheck>,
        bytes: bytes::Bytes,
    ) -> bool {
        let Hop::Addr(t, a) = hop;
        // A request inside a dialog with a neighbor, once the connection of its first request
        // has gone, is checked as the zone's own requests are.
        let tls = match tls {
            None if t == Transport::Tls && !self.transports.connected(t, a) => self
                .derived
                .zones
                .values()
                .flat_map(|z| z.dests.iter())
                .find(|d| d.transport == t && d.addr == a)
                .and_then(|d| d.tls.as_ref()),
            other => other,
        };
        if let (Transport::Tls, Some(check)) = (t, tls) {
            let target = self
                .transports
                .client_tls()
                .and_then(|c| c.target(check.verify, &check.name));
            return match target {
                Some(target) => {
                    self.transports.send_tls_detached(a, &target, bytes);
                    true
                }
                None => false,
            };
        }
        self.transports.send_to_detached(t, a, bytes).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(last: u8, port: u16) -> Dest {
        Dest::new(
            Transport::Udp,
            SocketAddr::from(([192, 0, 2, last], port)),
            None,
        )
    }

    #[test]
    fn peer_addresses_are_read() {
        assert_eq!(
            PeerAddr::parse(" 192.0.2.1 "),
            Some(PeerAddr::Ip("192.0.2.1".parse().unwrap()))
        );
        assert_eq!(
            PeerAddr::parse("[2001:db8::1]"),
            Some(PeerAddr::Ip("2001:db8::1".parse().unwrap()))
        );
        assert_eq!(
            PeerAddr::parse("Peer1.Example.COM."),
            Some(PeerAddr::Host("peer1.example.com".into()))
        );
        assert_eq!(
            PeerAddr::parse("_SIPS._tcp.example.com"),
            Some(PeerAddr::Srv {
                name: "_sips._tcp.example.com".into(),
                transport: Transport::Tls
            })
        );
        assert_eq!(
            PeerAddr::parse("_sip._udp.example.com").unwrap().tls_name(),
            "example.com"
        );
        for bad in [
            "",
            "  ",
            "peer.example.com:5060",
            "-bad.example.com",
            "a b",
            "_h323._udp.x.com",
            "_sip._tcp.",
        ] {
            assert_eq!(PeerAddr::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn zone_destinations_follow_the_peer_order() {
        let t0 = Instant::now();
        let host = PeerAddr::Host("p.example.com".into());
        let srv = PeerAddr::Srv {
            name: "_sips._tcp.example.com".into(),
            transport: Transport::Tls,
        };
        let ip = PeerAddr::Ip("192.0.2.9".parse().unwrap());
        let mut cache = PeerCache::default();
        // Nothing resolved yet: only the address.
        let dests = zone_dests(
            &[host.clone(), ip.clone()],
            Transport::Udp,
            5060,
            false,
            &cache,
        );
        assert_eq!(dests, vec![d(9, 5060)]);
        assert!(!cache.settled(&host) && cache.settled(&ip));
        assert_eq!(
            cache.due([&host, &srv, &ip, &host], t0),
            vec![host.clone(), srv.clone()]
        );
        assert!(cache.due([&host], t0).is_empty(), "already out");
        assert!(!cache.settled(&host));
        cache.store(
            &host,
            Ok(vec![
                "192.0.2.1:0".parse().unwrap(),
                "192.0.2.9:0".parse().unwrap(),
            ]),
            t0,
        );
        cache.store(&srv, Ok(vec!["192.0.2.5:5071".parse().unwrap()]), t0);
        assert!(cache.settled(&host));
        let dests = zone_dests(
            &[host.clone(), ip.clone(), srv.clone()],
            Transport::Udp,
            5060,
            true,
            &cache,
        );
        assert_eq!(dests.len(), 3, "{dests:?}");
        assert_eq!(dests[0], d(1, 5060));
        assert_eq!(dests[1], d(9, 5060), "the address both name is tried once");
        assert_eq!(dests[2].transport, Transport::Tls);
        assert_eq!(dests[2].addr, "192.0.2.5:5071".parse().unwrap());
        assert_eq!(
            dests[2].tls,
            Some(TlsCheck {
                verify: true,
                name: "example.com".into()
            })
        );
        // A TLS zone checks a host-named peer against its name.
        let tls = zone_dests(
            std::slice::from_ref(&host),
            Transport::Tls,
            5061,
            true,
            &cache,
        );
        assert_eq!(tls[0].tls.as_ref().unwrap().name, "p.example.com");
        // Asked again once due; a failure keeps the last answer and retries sooner.
        assert!(cache
            .due([&host], t0 + REFRESH - Duration::from_secs(1))
            .is_empty());
        assert_eq!(cache.due([&host], t0 + REFRESH), vec![host.clone()]);
        cache.store(&host, Err("SERVFAIL".into()), t0 + REFRESH);
        assert_eq!(cache.get(&host).unwrap().len(), 2);
        assert_eq!(cache.due([&host], t0 + REFRESH + RETRY), vec![host.clone()]);
        cache.retain(&HashSet::from([srv.clone()]));
        assert!(cache.get(&host).is_none() && cache.get(&srv).is_some());
    }

    #[test]
    fn failover_tries_the_next_destination_on_503_timeout_and_transport_errors() {
        let t0 = Instant::now();
        let mut down = DownList::default();
        let mut f = Failover::start(
            vec![d(1, 5060), d(2, 5060), d(3, 5060), d(4, 5060)],
            &down,
            t0,
        )
        .unwrap();
        assert_eq!(f.current(), &d(1, 5060));
        assert_eq!(
            f.failed(Outcome::TransportError, &mut down, t0),
            Some(&d(2, 5060))
        );
        assert_eq!(f.failed(Outcome::Timeout, &mut down, t0), Some(&d(3, 5060)));
        assert_eq!(
            f.failed(Outcome::Status(503, None), &mut down, t0),
            Some(&d(4, 5060))
        );
        assert!(!down.is_down(&d(3, 5060), t0), "no Retry-After, not marked");
        assert_eq!(
            f.failed(Outcome::Status(503, None), &mut down, t0),
            None,
            "none left"
        );
    }

    #[test]
    fn other_answers_end_the_failover() {
        let t0 = Instant::now();
        let mut down = DownList::default();
        let mut f = Failover::start(vec![d(1, 5060), d(2, 5060)], &down, t0).unwrap();
        for status in [404, 408, 480, 486, 500, 502, 504, 603] {
            assert_eq!(
                f.clone()
                    .failed(Outcome::Status(status, None), &mut down, t0),
                None,
                "{status}"
            );
        }
        assert_eq!(
            f.failed(Outcome::Status(503, None), &mut down, t0),
            Some(&d(2, 5060))
        );
    }

    #[test]
    fn retry_after_keeps_a_destination_out_for_that_long() {
        let t0 = Instant::now();
        let mut down = DownList::default();
        let dests = vec![d(1, 5060), d(2, 5060), d(3, 5060)];
        let mut f = Failover::start(dests.clone(), &down, t0).unwrap();
        let ra = Some(Duration::from_secs(30));
        assert_eq!(
            f.failed(Outcome::Status(503, ra), &mut down, t0),
            Some(&d(2, 5060))
        );
        assert!(down.is_down(&d(1, 5060), t0 + Duration::from_secs(29)));
        // The next request starts after it, and skips it while it is down.
        let t1 = t0 + Duration::from_secs(10);
        let mut g = Failover::start(dests.clone(), &down, t1).unwrap();
        assert_eq!(g.current(), &d(2, 5060));
        // The second goes down too: the third is next, then nothing.
        assert_eq!(
            g.failed(
                Outcome::Status(503, Some(Duration::from_secs(5))),
                &mut down,
                t1
            ),
            Some(&d(3, 5060))
        );
        assert_eq!(g.failed(Outcome::Status(503, ra), &mut down, t1), None);
        assert!(
            Failover::start(dests.clone(), &down, t1).is_none(),
            "all down"
        );
        // Back once the time is up; an absurd Retry-After is capped.
        let t2 = t1 + Duration::from_secs(6);
        assert_eq!(
            Failover::start(dests.clone(), &down, t2).unwrap().current(),
            &d(2, 5060)
        );
        let mut h = Failover::start(dests.clone(), &down, t2).unwrap();
        h.failed(
            Outcome::Status(503, Some(Duration::from_secs(86400 * 365))),
            &mut down,
            t2,
        );
        assert!(!down.is_down(&d(2, 5060), t2 + MAX_RETRY_AFTER));
        // Marks that ran out are dropped as new ones come.
        down.mark(
            &d(4, 5060),
            t2 + MAX_RETRY_AFTER * 3,
            t2 + MAX_RETRY_AFTER * 2,
        );
        assert_eq!(down.until.len(), 1);
    }

    #[test]
    fn retry_after_values_are_read() {
        assert_eq!(retry_after(Some("120")), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after(Some(" 18000;duration=3600")),
            Some(Duration::from_secs(18000))
        );
        assert_eq!(
            retry_after(Some("5 (maintenance)")),
            Some(Duration::from_secs(5))
        );
        assert_eq!(retry_after(Some("soon")), None);
        assert_eq!(retry_after(None), None);
    }
}
