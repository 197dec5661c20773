use std::collections::HashMap;
use std::net::IpAddr;

use super::*;
use crate::model::TransportSet;
use crate::target::IpFamilies;

/// A fixed DNS: unknown questions get NotFound. Records every question asked.
#[derive(Default)]
struct FakeDns {
    records: HashMap<Query, Answer>,
    asked: Vec<Query>,
}

impl FakeDns {
    fn naptr(mut self, name: &str, records: &[(u16, u16, &str, &str, &str)]) -> Self {
        let records = records
            .iter()
            .map(|&(order, preference, flags, services, replacement)| Naptr {
                order,
                preference,
                flags: flags.into(),
                services: services.into(),
                regexp: String::new(),
                replacement: replacement.into(),
            })
            .collect();
        self.records
            .insert(Query::new(name, RecordKind::Naptr), Answer::Naptr(records));
        self
    }

    fn srv(mut self, name: &str, records: &[(u16, u16, u16, &str)]) -> Self {
        let records = records
            .iter()
            .map(|&(priority, weight, port, target)| Srv {
                priority,
                weight,
                port,
                target: target.into(),
            })
            .collect();
        self.records
            .insert(Query::new(name, RecordKind::Srv), Answer::Srv(records));
        self
    }

    fn a(mut self, name: &str, ips: &[&str]) -> Self {
        let ips: Vec<IpAddr> = ips.iter().map(|ip| ip.parse().unwrap()).collect();
        let (v4, v6): (Vec<IpAddr>, Vec<IpAddr>) = ips.into_iter().partition(|ip| ip.is_ipv4());
        if !v4.is_empty() {
            self.records
                .insert(Query::new(name, RecordKind::A), Answer::Addresses(v4));
        }
        if !v6.is_empty() {
            self.records
                .insert(Query::new(name, RecordKind::Aaaa), Answer::Addresses(v6));
        }
        self
    }

    fn fail(mut self, name: &str, kind: RecordKind) -> Self {
        self.records
            .insert(Query::new(name, kind), Answer::Failed("timed out".into()));
        self
    }

    fn resolve(&mut self, target: &SipTarget, zone: &ZoneDns) -> Resolved {
        let mut first = |_: u64| 0;
        self.resolve_rng(target, zone, &mut first)
    }

    fn resolve_rng(
        &mut self,
        target: &SipTarget,
        zone: &ZoneDns,
        rng: &mut dyn Random,
    ) -> Resolved {
        let records = &self.records;
        let asked = &mut self.asked;
        resolve_with(
            target,
            zone,
            |q| {
                asked.push(q.clone());
                records.get(q).cloned().unwrap_or(Answer::NotFound)
            },
            rng,
        )
    }

    fn asked(&self) -> Vec<String> {
        self.asked.iter().map(|q| q.to_string()).collect()
    }
}

fn summary(resolved: &Resolved) -> Vec<String> {
    resolved
        .destinations
        .iter()
        .map(|d| format!("{} {}", d.transport, d.addr))
        .collect()
}

fn example() -> SipTarget {
    SipTarget::new("example.com")
}

/// RFC 3263 §4.1's example, listed out of order: SIPS+D2T (order 50), then SIP+D2T (90), then
/// SIP+D2U (100).
fn rfc_example_dns() -> FakeDns {
    FakeDns::default()
        .naptr(
            "example.com",
            &[
                (100, 50, "s", "SIP+D2U", "_sip._udp.example.com."),
                (50, 50, "s", "SIPS+D2T", "_sips._tcp.example.com."),
                (90, 50, "s", "SIP+D2T", "_sip._tcp.example.com"),
            ],
        )
        .srv(
            "_sips._tcp.example.com",
            &[(0, 0, 5061, "tls.example.com.")],
        )
        .srv("_sip._tcp.example.com", &[(0, 0, 5060, "tcp.example.com")])
        .srv("_sip._udp.example.com", &[(0, 0, 5060, "udp.example.com")])
        .a("tls.example.com", &["192.0.2.1"])
        .a("tcp.example.com", &["192.0.2.2"])
        .a("udp.example.com", &["192.0.2.3", "2001:db8::3"])
}

#[test]
fn naptr_order_gives_the_transport_preference_of_rfc_3263_example() {
    let mut dns = rfc_example_dns();
    let resolved = dns.resolve(&example(), &ZoneDns::default());
    assert_eq!(
        summary(&resolved),
        [
            "TLS 192.0.2.1:5061",
            "TCP 192.0.2.2:5060",
            "UDP 192.0.2.3:5060",
            "UDP [2001:db8::3]:5060"
        ]
    );
    let Origin::Srv { naptr, service, .. } = &resolved.destinations[0].origin else {
        panic!("{:?}", resolved.destinations[0].origin);
    };
    assert_eq!(service, "_sips._tcp.example.com");
    assert_eq!(naptr.as_ref().unwrap().order, 50);
    assert_eq!(dns.asked()[0], "NAPTR example.com");
}

#[test]
fn preference_breaks_ties_of_order_and_naptr_order_outranks_srv_priority() {
    let mut dns = FakeDns::default()
        .naptr(
            "example.com",
            &[
                (10, 20, "s", "SIP+D2U", "_sip._udp.example.com"),
                (10, 10, "S", "sip+d2t", "_sip._tcp.example.com"),
            ],
        )
        .srv(
            "_sip._tcp.example.com",
            &[(50, 0, 5060, "late.example.com")],
        )
        .srv(
            "_sip._udp.example.com",
            &[(0, 0, 5060, "early.example.com")],
        )
        .a("late.example.com", &["192.0.2.50"])
        .a("early.example.com", &["192.0.2.1"]);
    let resolved = dns.resolve(&example(), &ZoneDns::default());
    assert_eq!(
        summary(&resolved),
        ["TCP 192.0.2.50:5060", "UDP 192.0.2.1:5060"]
    );
}

#[test]
fn naptr_records_that_are_not_sip_services_with_flag_s_are_ignored() {
    let mut dns = FakeDns::default()
        .naptr(
            "example.com",
            &[
                (1, 1, "u", "SIP+D2T", "_sip._tcp.bad.example.com"),
                (2, 1, "", "SIP+D2T", "_sip._tcp.bad.example.com"),
                (3, 1, "s", "SIP+D2S", "_sip._sctp.example.com"),
                (4, 1, "s", "E2U+sip", "_sip._tcp.bad.example.com"),
                (5, 1, "s", "SIP+D2T", ""),
                (9, 1, "s", "SIP+D2T", "_sip._tcp.example.com"),
            ],
        )
        .srv(
            "_sip._tcp.bad.example.com",
            &[(0, 0, 5060, "bad.example.com")],
        )
        .srv("_sip._tcp.example.com", &[(0, 0, 5060, "good.example.com")])
        .a("bad.example.com", &["192.0.2.66"])
        .a("good.example.com", &["192.0.2.7"]);
    let resolved = dns.resolve(&example(), &ZoneDns::default());
    assert_eq!(summary(&resolved), ["TCP 192.0.2.7:5060"]);
}

#[test]
fn a_sips_uri_keeps_only_the_sips_naptr_records() {
    let mut dns = rfc_example_dns();
    let resolved = dns.resolve(&example().sips(), &ZoneDns::default());
    assert_eq!(summary(&resolved), ["TLS 192.0.2.1:5061"]);
}

#[test]
fn transports_switched_off_on_this_node_are_skipped() {
    let mut dns = rfc_example_dns();
    let zone = ZoneDns {
        transports: TransportSet {
            udp: true,
            tcp: true,
            tls: false,
        },
        ..ZoneDns::default()
    };
    let resolved = dns.resolve(&example(), &zone);
    assert_eq!(
        summary(&resolved),
        [
            "TCP 192.0.2.2:5060",
            "UDP 192.0.2.3:5060",
            "UDP [2001:db8::3]:5060"
        ]
    );
}

#[test]
fn without_naptr_the_three_srv_names_are_asked_together_in_the_guides_order() {
    let mut dns = FakeDns::default()
        .srv("_sip._udp.example.com", &[(0, 0, 5070, "udp.example.com")])
        .srv("_sips._tcp.example.com", &[(0, 0, 5071, "tls.example.com")])
        .a("udp.example.com", &["192.0.2.3"])
        .a("tls.example.com", &["192.0.2.1"]);
    let mut lookup = SipLookup::new(&example(), &ZoneDns::default());
    assert_eq!(
        lookup.queries(),
        [Query::new("example.com", RecordKind::Naptr)]
    );
    lookup.answer(
        &Query::new("example.com", RecordKind::Naptr),
        Answer::NotFound,
    );
    let names: Vec<String> = lookup.queries().iter().map(|q| q.to_string()).collect();
    assert_eq!(
        names,
        [
            "SRV _sips._tcp.example.com",
            "SRV _sip._tcp.example.com",
            "SRV _sip._udp.example.com"
        ]
    );

    let resolved = dns.resolve(&example(), &ZoneDns::default());
    assert_eq!(
        summary(&resolved),
        ["TLS 192.0.2.1:5071", "UDP 192.0.2.3:5070"]
    );
    assert!(matches!(
        &resolved.destinations[1].origin,
        Origin::Srv { naptr: None, .. }
    ));
}

#[test]
fn naptr_that_offers_nothing_usable_counts_as_no_naptr() {
    let mut dns = FakeDns::default()
        .naptr("example.com", &[(1, 1, "u", "E2U+sip", "")])
        .srv("_sip._tcp.example.com", &[(0, 0, 5060, "tcp.example.com")])
        .a("tcp.example.com", &["192.0.2.2"]);
    let resolved = dns.resolve(&example(), &ZoneDns::default());
    assert_eq!(summary(&resolved), ["TCP 192.0.2.2:5060"]);
}

#[test]
fn srv_weights_order_targets_of_one_priority_with_the_injected_random_source() {
    let dns = || {
        FakeDns::default()
            .srv(
                "_sip._tcp.example.com",
                &[
                    (10, 60, 5060, "a.example.com"),
                    (10, 40, 5060, "b.example.com"),
                    (20, 0, 5060, "c.example.com"),
                ],
            )
            .a("a.example.com", &["192.0.2.1"])
            .a("b.example.com", &["192.0.2.2"])
            .a("c.example.com", &["192.0.2.3"])
    };
    let mut low = |_: u64| 10;
    let resolved = dns().resolve_rng(&example(), &ZoneDns::default(), &mut low);
    assert_eq!(
        summary(&resolved),
        [
            "TCP 192.0.2.1:5060",
            "TCP 192.0.2.2:5060",
            "TCP 192.0.2.3:5060"
        ]
    );
    let mut high = |max: u64| max;
    let resolved = dns().resolve_rng(&example(), &ZoneDns::default(), &mut high);
    assert_eq!(
        summary(&resolved),
        [
            "TCP 192.0.2.2:5060",
            "TCP 192.0.2.1:5060",
            "TCP 192.0.2.3:5060"
        ]
    );
}

#[test]
fn include_address_record_off_leaves_an_a_only_domain_not_found() {
    let mut dns = FakeDns::default().a("example.com", &["192.0.2.9"]);
    let resolved = dns.resolve(&example(), &ZoneDns::default());
    assert!(!resolved.is_found());
    assert!(
        !dns.asked().iter().any(|q| q.starts_with("A ")),
        "{:?}",
        dns.asked()
    );
}

#[test]
fn include_address_record_on_falls_back_to_a_and_aaaa_on_the_default_port() {
    let zone = ZoneDns {
        include_address_record: true,
        ..ZoneDns::default()
    };
    let mut dns = FakeDns::default().a("example.com", &["192.0.2.9", "2001:db8::9"]);
    let resolved = dns.resolve(&example(), &zone);
    assert_eq!(
        summary(&resolved),
        ["UDP 192.0.2.9:5060", "UDP [2001:db8::9]:5060"]
    );
    assert_eq!(
        resolved.destinations[0].origin,
        Origin::Address {
            host: "example.com".into()
        }
    );

    let zone = ZoneDns {
        default_transport: Transport::Tls,
        ..zone
    };
    let resolved = dns.resolve(&example(), &zone);
    assert_eq!(
        summary(&resolved),
        ["TLS 192.0.2.9:5061", "TLS [2001:db8::9]:5061"]
    );
}

#[test]
fn include_address_record_is_not_used_when_srv_records_exist() {
    let zone = ZoneDns {
        include_address_record: true,
        ..ZoneDns::default()
    };
    let mut dns = FakeDns::default()
        .srv("_sip._tcp.example.com", &[(0, 0, 5062, "sip.example.com")])
        .a("sip.example.com", &["192.0.2.2"])
        .a("example.com", &["192.0.2.9"]);
    let resolved = dns.resolve(&example(), &zone);
    assert_eq!(summary(&resolved), ["TCP 192.0.2.2:5062"]);
}

#[test]
fn a_dot_srv_target_means_no_service_and_no_address_fallback() {
    let zone = ZoneDns {
        include_address_record: true,
        ..ZoneDns::default()
    };
    let mut dns = FakeDns::default()
        .srv("_sip._tcp.example.com", &[(0, 0, 0, ".")])
        .a("example.com", &["192.0.2.9"]);
    let resolved = dns.resolve(&example(), &zone);
    assert!(!resolved.is_found(), "{resolved:?}");
}

#[test]
fn naptr_without_srv_falls_back_over_the_naptr_transport() {
    let zone = ZoneDns {
        include_address_record: true,
        ..ZoneDns::default()
    };
    let mut dns = FakeDns::default()
        .naptr(
            "example.com",
            &[(10, 10, "s", "SIP+D2T", "_sip._tcp.example.com")],
        )
        .a("example.com", &["192.0.2.9"]);
    let resolved = dns.resolve(&example(), &zone);
    assert_eq!(summary(&resolved), ["TCP 192.0.2.9:5060"]);
}

#[test]
fn an_explicit_transport_skips_naptr_but_still_asks_that_transports_srv() {
    let mut dns = rfc_example_dns();
    let resolved = dns.resolve(
        &example().with_transport(Transport::Udp),
        &ZoneDns::default(),
    );
    assert_eq!(
        summary(&resolved),
        ["UDP 192.0.2.3:5060", "UDP [2001:db8::3]:5060"]
    );
    assert_eq!(dns.asked()[0], "SRV _sip._udp.example.com");
    assert!(!dns.asked().iter().any(|q| q.starts_with("NAPTR")));

    let mut dns = rfc_example_dns();
    let resolved = dns.resolve(
        &example().with_transport(Transport::Tls),
        &ZoneDns::default(),
    );
    assert_eq!(summary(&resolved), ["TLS 192.0.2.1:5061"]);
}

#[test]
fn an_explicit_port_skips_naptr_and_srv() {
    let mut dns = rfc_example_dns().a("example.com", &["192.0.2.9"]);
    let resolved = dns.resolve(&example().with_port(5080), &ZoneDns::default());
    assert_eq!(summary(&resolved), ["UDP 192.0.2.9:5080"]);
    assert!(dns
        .asked()
        .iter()
        .all(|q| q == "A example.com" || q == "AAAA example.com"));

    let resolved = dns.resolve(
        &example().with_port(5080).with_transport(Transport::Tcp),
        &ZoneDns::default(),
    );
    assert_eq!(summary(&resolved), ["TCP 192.0.2.9:5080"]);
    let resolved = dns.resolve(&example().with_port(5081).sips(), &ZoneDns::default());
    assert_eq!(summary(&resolved), ["TLS 192.0.2.9:5081"]);
}

#[test]
fn numeric_hosts_need_no_lookup() {
    let mut dns = FakeDns::default();
    let zone = ZoneDns::default();
    let cases = [
        (SipTarget::new("192.0.2.4"), "UDP 192.0.2.4:5060"),
        (SipTarget::new("[2001:db8::4]"), "UDP [2001:db8::4]:5060"),
        (
            SipTarget::new("192.0.2.4").with_port(5090),
            "UDP 192.0.2.4:5090",
        ),
        (
            SipTarget::new("192.0.2.4").with_transport(Transport::Tcp),
            "TCP 192.0.2.4:5060",
        ),
        (SipTarget::new("192.0.2.4").sips(), "TLS 192.0.2.4:5061"),
    ];
    for (target, expected) in cases {
        let resolved = dns.resolve(&target, &zone);
        assert_eq!(summary(&resolved), [expected], "{target:?}");
        assert_eq!(resolved.destinations[0].origin, Origin::Numeric);
    }
    assert!(dns.asked.is_empty());

    let tcp_default = ZoneDns {
        default_transport: Transport::Tcp,
        ..zone
    };
    let resolved = dns.resolve(&SipTarget::new("192.0.2.4"), &tcp_default);
    assert_eq!(summary(&resolved), ["TCP 192.0.2.4:5060"]);
}

#[test]
fn sips_over_udp_has_no_destination() {
    let mut dns = FakeDns::default();
    let target = SipTarget::new("192.0.2.4")
        .sips()
        .with_transport(Transport::Udp);
    assert!(!dns.resolve(&target, &ZoneDns::default()).is_found());
}

#[test]
fn failed_questions_are_reported_and_treated_as_no_records() {
    let mut dns = FakeDns::default()
        .fail("example.com", RecordKind::Naptr)
        .srv("_sip._udp.example.com", &[(0, 0, 5060, "udp.example.com")])
        .a("udp.example.com", &["192.0.2.3"]);
    let resolved = dns.resolve(&example(), &ZoneDns::default());
    assert_eq!(summary(&resolved), ["UDP 192.0.2.3:5060"]);
    assert_eq!(
        resolved.errors,
        [(
            Query::new("example.com", RecordKind::Naptr),
            "timed out".to_string()
        )]
    );
}

#[test]
fn an_address_reached_twice_is_listed_once() {
    let mut dns = FakeDns::default()
        .srv(
            "_sip._tcp.example.com",
            &[(0, 0, 5060, "a.example.com"), (1, 0, 5060, "b.example.com")],
        )
        .a("a.example.com", &["192.0.2.1"])
        .a("b.example.com", &["192.0.2.1", "192.0.2.2"]);
    let resolved = dns.resolve(&example(), &ZoneDns::default());
    assert_eq!(
        summary(&resolved),
        ["TCP 192.0.2.1:5060", "TCP 192.0.2.2:5060"]
    );
}

#[test]
fn address_families_follow_the_zone() {
    let zone = ZoneDns {
        families: IpFamilies {
            ipv4: false,
            ipv6: true,
        },
        ..ZoneDns::default()
    };
    let mut dns = rfc_example_dns();
    let resolved = dns.resolve(&example().with_transport(Transport::Udp), &zone);
    assert_eq!(summary(&resolved), ["UDP [2001:db8::3]:5060"]);
    assert!(!dns.asked().iter().any(|q| q.starts_with("A ")));
}

#[test]
fn names_compare_without_case_or_final_dot() {
    let mut dns = FakeDns::default()
        .srv(
            "_SIP._TCP.Example.COM.",
            &[(0, 0, 5060, "Sip.Example.com.")],
        )
        .a("sip.example.com", &["192.0.2.2"]);
    let resolved = dns.resolve(&SipTarget::new("EXAMPLE.com"), &ZoneDns::default());
    assert_eq!(summary(&resolved), ["TCP 192.0.2.2:5060"]);
}
