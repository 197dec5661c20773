//! RFC 3263 §4 server location, as a sans-IO state machine: it asks questions in batches (all
//! SRV names at once, all target addresses at once) so the caller can send them concurrently,
//! and orders the destinations only at the end, with the caller's random source.
//!
//! ```text
//! let mut lookup = SipLookup::new(&target, &zone);
//! while !lookup.is_done() {
//!     for query in lookup.queries() { let answer = dns(&query); lookup.answer(&query, answer); }
//! }
//! let resolved = lookup.finish(&mut rng);
//! ```

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use crate::model::{normalize_name, Answer, Naptr, Query, RecordKind, Srv, Transport};
use crate::srv::{order_srv, Random};
use crate::target::{Destination, NaptrOrigin, Origin, Resolved, SipTarget, ZoneDns};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Naptr,
    Srv,
    Addresses,
    Done,
}

/// An SRV name to query and the transport it stands for.
#[derive(Debug, Clone)]
struct Service {
    transport: Transport,
    name: String,
    naptr: Option<NaptrOrigin>,
}

/// One RFC 3263 lookup in progress.
#[derive(Debug, Clone)]
pub struct SipLookup {
    host: String,
    secure: bool,
    zone: ZoneDns,
    step: Step,
    numeric: Option<Destination>,
    services: Vec<Service>,
    /// Transport and port for the host's own A/AAAA records, when those are to be used.
    host_address: Option<(Transport, u16)>,
    /// The transport "determined previously" (RFC 3263 §4.2) for the A/AAAA fallback.
    fallback_transport: Option<Transport>,
    asked: Vec<Query>,
    answers: HashMap<Query, Answer>,
    errors: Vec<(Query, String)>,
}

impl SipLookup {
    pub fn new(target: &SipTarget, zone: &ZoneDns) -> SipLookup {
        let mut lookup = SipLookup {
            host: normalize_name(&target.host),
            secure: target.secure,
            zone: *zone,
            step: Step::Done,
            numeric: None,
            services: Vec::new(),
            host_address: None,
            fallback_transport: None,
            asked: Vec::new(),
            answers: HashMap::new(),
            errors: Vec::new(),
        };
        let transport = lookup.uri_transport(target.transport);

        if let Some(ip) = target.ip() {
            lookup.numeric = transport.map(|transport| Destination {
                transport,
                addr: SocketAddr::new(ip, target.port.unwrap_or(transport.default_port())),
                origin: Origin::Numeric,
            });
        } else if let Some(port) = target.port {
            // §4.2: a port in the URI means the host is a machine, not a domain to look up
            // services for.
            if let Some(transport) = transport {
                lookup.host_address = Some((transport, port));
                lookup.start_addresses(vec![lookup.host.clone()]);
            }
        } else if target.transport.is_some() {
            // §4.1: an explicit transport skips NAPTR but still takes that transport's SRV.
            if let Some(transport) = transport {
                lookup.fallback_transport = Some(transport);
                let name = srv_name(transport, &lookup.host);
                lookup.start_srv(vec![Service {
                    transport,
                    name,
                    naptr: None,
                }]);
            }
        } else {
            lookup.step = Step::Naptr;
            lookup.asked = vec![Query::new(&lookup.host, RecordKind::Naptr)];
        }
        lookup
    }

    /// The questions of the current step that have no answer yet.
    pub fn queries(&self) -> Vec<Query> {
        self.asked
            .iter()
            .filter(|q| !self.answers.contains_key(q))
            .cloned()
            .collect()
    }

    pub fn is_done(&self) -> bool {
        self.step == Step::Done
    }

    /// Records the answer to one of [`SipLookup::queries`]; the lookup moves on to its next
    /// step once every question of the current one is answered.
    pub fn answer(&mut self, query: &Query, answer: Answer) {
        if !self.asked.contains(query) || self.answers.contains_key(query) {
            return;
        }
        if let Answer::Failed(reason) = &answer {
            self.errors.push((query.clone(), reason.clone()));
        }
        self.answers.insert(query.clone(), answer);
        if self.queries().is_empty() {
            self.advance();
        }
    }

    /// The destinations in the order to try them. SRV records of equal priority are shuffled
    /// by weight with `rng`.
    pub fn finish(self, rng: &mut dyn Random) -> Resolved {
        let mut destinations: Vec<Destination> = Vec::new();
        let mut push = |destination: Destination| {
            // The same address reached through two records is tried once, at its first place.
            if !destinations
                .iter()
                .any(|d| d.transport == destination.transport && d.addr == destination.addr)
            {
                destinations.push(destination);
            }
        };

        if let Some(numeric) = self.numeric.clone() {
            push(numeric);
        }
        for service in &self.services {
            let records = self.srv_records(&service.name);
            for srv in order_srv(&records, rng) {
                for ip in self.addresses(&srv.target) {
                    push(Destination {
                        transport: service.transport,
                        addr: SocketAddr::new(ip, srv.port),
                        origin: Origin::Srv {
                            naptr: service.naptr.clone(),
                            service: service.name.clone(),
                            priority: srv.priority,
                            weight: srv.weight,
                            target: srv.target.clone(),
                        },
                    });
                }
            }
        }
        if let Some((transport, port)) = self.host_address {
            for ip in self.addresses(&self.host) {
                push(Destination {
                    transport,
                    addr: SocketAddr::new(ip, port),
                    origin: Origin::Address {
                        host: self.host.clone(),
                    },
                });
            }
        }
        Resolved {
            destinations,
            errors: self.errors,
        }
    }

    /// §4.1's transport for an IP literal or an explicit port, and for the fallback when the
    /// domain publishes nothing: the URI's, else TLS for SIPS, else the zone's default.
    fn uri_transport(&self, explicit: Option<Transport>) -> Option<Transport> {
        let transport = match (explicit, self.secure) {
            (Some(Transport::Udp), true) => return None,
            (Some(_), true) | (None, true) => Transport::Tls,
            (Some(t), false) => t,
            (None, false) => self.zone.default_transport,
        };
        self.zone
            .transports
            .contains(transport)
            .then_some(transport)
    }

    fn advance(&mut self) {
        match self.step {
            Step::Naptr => self.after_naptr(),
            Step::Srv => self.after_srv(),
            Step::Addresses | Step::Done => self.step = Step::Done,
        }
    }

    fn after_naptr(&mut self) {
        let query = Query::new(&self.host, RecordKind::Naptr);
        let records = match self.answers.get(&query) {
            Some(Answer::Naptr(records)) => records.clone(),
            _ => Vec::new(),
        };
        let mut services = self.naptr_services(&records);
        if let Some(first) = services.first() {
            self.fallback_transport = Some(first.transport);
        } else {
            // §4.1: no (usable) NAPTR, so ask for each supported transport's SRV, in the
            // order the guide gives: _sips._tcp, _sip._tcp, _sip._udp.
            let candidates = if self.secure {
                vec![Transport::Tls]
            } else {
                vec![Transport::Tls, Transport::Tcp, Transport::Udp]
            };
            services = candidates
                .into_iter()
                .filter(|t| self.zone.transports.contains(*t))
                .map(|transport| Service {
                    transport,
                    name: srv_name(transport, &self.host),
                    naptr: None,
                })
                .collect();
        }
        self.start_srv(services);
    }

    fn naptr_services(&self, records: &[Naptr]) -> Vec<Service> {
        let mut usable: Vec<(&Naptr, Transport)> = records
            .iter()
            .filter(|r| r.flags.eq_ignore_ascii_case("s") && !r.replacement.is_empty())
            .filter_map(|r| naptr_transport(&r.services).map(|t| (r, t)))
            .filter(|(_, t)| !self.secure || *t == Transport::Tls)
            .filter(|(_, t)| self.zone.transports.contains(*t))
            .collect();
        usable.sort_by_key(|(r, _)| (r.order, r.preference));
        usable
            .into_iter()
            .map(|(r, transport)| Service {
                transport,
                name: normalize_name(&r.replacement),
                naptr: Some(NaptrOrigin {
                    order: r.order,
                    preference: r.preference,
                    service: r.services.clone(),
                }),
            })
            .collect()
    }

    fn after_srv(&mut self) {
        let any_records = self
            .services
            .iter()
            .any(|s| !self.srv_records(&s.name).is_empty());
        if any_records {
            let mut targets: Vec<String> = Vec::new();
            for service in &self.services {
                for srv in self.srv_records(&service.name) {
                    if !srv.target.is_empty() && !targets.contains(&srv.target) {
                        targets.push(srv.target);
                    }
                }
            }
            self.start_addresses(targets);
            return;
        }
        // The guide's IncludeAddressRecord: without it a domain that publishes no NAPTR or SRV
        // record is "not found" here, so the search goes on to lower-priority rules.
        let fallback = self.fallback_transport.or_else(|| self.uri_transport(None));
        match fallback {
            Some(transport) if self.zone.include_address_record => {
                self.host_address = Some((transport, transport.default_port()));
                self.start_addresses(vec![self.host.clone()]);
            }
            _ => self.step = Step::Done,
        }
    }

    fn start_srv(&mut self, services: Vec<Service>) {
        // Two NAPTR records may name the same SRV owner; it is asked once.
        self.asked.clear();
        for service in &services {
            let query = Query::new(&service.name, RecordKind::Srv);
            if !self.asked.contains(&query) {
                self.asked.push(query);
            }
        }
        self.services = services;
        self.step = Step::Srv;
        if self.asked.is_empty() {
            self.after_srv();
        }
    }

    fn start_addresses(&mut self, names: Vec<String>) {
        let families = self.zone.families;
        self.asked = names
            .iter()
            .flat_map(|name| {
                let a = families.ipv4.then(|| Query::new(name, RecordKind::A));
                let aaaa = families.ipv6.then(|| Query::new(name, RecordKind::Aaaa));
                a.into_iter().chain(aaaa)
            })
            .collect();
        self.step = if self.asked.is_empty() {
            Step::Done
        } else {
            Step::Addresses
        };
    }

    fn srv_records(&self, name: &str) -> Vec<Srv> {
        match self.answers.get(&Query::new(name, RecordKind::Srv)) {
            Some(Answer::Srv(records)) => records
                .iter()
                .map(|r| Srv {
                    target: normalize_name(&r.target),
                    ..r.clone()
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// IPv4 before IPv6, each in the order the server gave.
    fn addresses(&self, name: &str) -> Vec<IpAddr> {
        let mut out = Vec::new();
        for (kind, wanted) in [
            (RecordKind::A, self.zone.families.ipv4),
            (RecordKind::Aaaa, self.zone.families.ipv6),
        ] {
            if !wanted {
                continue;
            }
            if let Some(Answer::Addresses(ips)) = self.answers.get(&Query::new(name, kind)) {
                out.extend(
                    ips.iter()
                        .filter(|ip| ip.is_ipv4() == (kind == RecordKind::A))
                        .copied(),
                );
            }
        }
        out
    }
}

/// The transport of a SIP NAPTR service field (RFC 3263 §4.1), case-insensitively.
fn naptr_transport(service: &str) -> Option<Transport> {
    match service.to_ascii_uppercase().as_str() {
        "SIPS+D2T" => Some(Transport::Tls),
        "SIP+D2T" => Some(Transport::Tcp),
        "SIP+D2U" => Some(Transport::Udp),
        _ => None,
    }
}

fn srv_name(transport: Transport, domain: &str) -> String {
    let prefix = match transport {
        Transport::Tls => "_sips._tcp",
        Transport::Tcp => "_sip._tcp",
        Transport::Udp => "_sip._udp",
    };
    format!("{prefix}.{domain}")
}

/// Runs a lookup against a synchronous answer source (a cache, or a test's fixed records).
pub fn resolve_with(
    target: &SipTarget,
    zone: &ZoneDns,
    mut ask: impl FnMut(&Query) -> Answer,
    rng: &mut dyn Random,
) -> Resolved {
    let mut lookup = SipLookup::new(target, zone);
    while !lookup.is_done() {
        for query in lookup.queries() {
            let answer = ask(&query);
            lookup.answer(&query, answer);
        }
    }
    lookup.finish(rng)
}

#[cfg(test)]
mod tests;
