//! The search: priority groups, Stop and Continue, rule filters, zone transforms, hop counts,
//! unknown IP addresses, the fallback alias and new aliases from a target. Dial plans are
//! written as configuration values, as an operator would set them.

use crate::dialplan::{Dialplan, Protocol};
use crate::search::*;
use causeway_config::{Snapshot, Values};
use std::sync::Arc;

fn dialplan(values: &[(&str, &str)]) -> Arc<Dialplan> {
    let mut v = Values::new();
    v.insert("SIP Domain 1 Name".into(), "example.com".into());
    for (k, val) in values {
        v.insert((*k).to_string(), (*val).to_string());
    }
    let dp = Dialplan::from_snapshot(&Snapshot::from_values(v));
    assert!(dp.problems.is_empty(), "{:?}", dp.problems);
    Arc::new(dp)
}

/// A zone row: name, type, hop count.
fn zone(n: u32, name: &str, hops: u8) -> Vec<(String, String)> {
    vec![
        (format!("Zones Zone {n} Name"), name.into()),
        (format!("Zones Zone {n} Type"), "Neighbor".into()),
        (format!("Zones Zone {n} HopCount"), hops.to_string()),
    ]
}

/// A search rule row from `key=value` pairs (keys relative to the rule).
fn rule(n: u32, fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(k, v)| {
            (
                format!("Zones Policy SearchRules Rule {n} {k}"),
                (*v).to_string(),
            )
        })
        .collect()
}

fn plan_of(rows: Vec<Vec<(String, String)>>) -> Arc<Dialplan> {
    let owned: Vec<(String, String)> = rows.into_iter().flatten().collect();
    let pairs: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    dialplan(&pairs)
}

fn asked(step: &Step) -> Vec<(Target, String)> {
    match step {
        Step::Ask(qs) => qs
            .iter()
            .map(|q| (q.target.clone(), q.alias.clone()))
            .collect(),
        other => panic!("expected queries, got {other:?}"),
    }
}

fn zone_t(z: &str) -> Target {
    Target::Zone(z.into())
}

fn sip(alias: &str) -> SearchRequest {
    SearchRequest::new(alias, Protocol::Sip)
}

/// Notes 05 §5.1: rules of one priority are asked together and the one that knows the alias
/// wins, even beside a Stop rule whose target does not; the next priority is never asked.
#[test]
fn a_priority_group_is_asked_at_once_and_a_find_ends_the_search() {
    let dp = plan_of(vec![
        zone(1, "Z1", 15),
        zone(2, "Z2", 15),
        zone(3, "Z3", 15),
        rule(
            1,
            &[
                ("Name", "A"),
                ("Priority", "10"),
                ("Progress", "Stop"),
                ("Target Name", "Z1"),
            ],
        ),
        rule(
            2,
            &[("Name", "B"), ("Priority", "10"), ("Target Name", "Z2")],
        ),
        rule(
            3,
            &[("Name", "C"), ("Priority", "20"), ("Target Name", "Z3")],
        ),
    ]);
    let mut s = Search::new(dp, sip("bob@example.com"));
    let step = s.step();
    assert_eq!(
        asked(&step),
        vec![
            (zone_t("Z1"), "bob@example.com".into()),
            (zone_t("Z2"), "bob@example.com".into())
        ]
    );
    s.answer(&[Answer::NotFound, Answer::Found]);
    match s.step() {
        Step::Found(q) => assert_eq!(q.target, zone_t("Z2")),
        other => panic!("{other:?}"),
    }
}

/// Notes 05 §5.2 and SE8: Stop ends the search when its group finds nothing, even though its
/// own target did not know the alias.
#[test]
fn stop_ends_the_search_when_its_group_finds_nothing() {
    let dp = plan_of(vec![
        zone(1, "Z1", 15),
        zone(2, "Z2", 15),
        rule(
            1,
            &[
                ("Priority", "10"),
                ("Progress", "Stop"),
                ("Target Name", "Z1"),
            ],
        ),
        rule(2, &[("Priority", "20"), ("Target Name", "Z2")]),
    ]);
    let mut s = Search::new(dp.clone(), sip("bob@example.com"));
    s.step();
    s.answer(&[Answer::NotFound]);
    assert_eq!(s.step(), Step::NotFound(Refusal::Stopped));

    // With Continue the next priority is asked.
    let dp = plan_of(vec![
        zone(1, "Z1", 15),
        zone(2, "Z2", 15),
        rule(1, &[("Priority", "10"), ("Target Name", "Z1")]),
        rule(2, &[("Priority", "20"), ("Target Name", "Z2")]),
    ]);
    let mut s = Search::new(dp, sip("bob@example.com"));
    s.step();
    s.answer(&[Answer::NotFound]);
    assert_eq!(
        asked(&s.step()),
        vec![(zone_t("Z2"), "bob@example.com".into())]
    );
    s.answer(&[Answer::NotFound]);
    assert_eq!(s.step(), Step::NotFound(Refusal::NotFound));
}

/// Notes 05 §5.3: AnyAlias never takes an IP address and AnyIPAddress takes nothing else.
#[test]
fn any_alias_and_any_ip_address_split_the_aliases() {
    let dp = plan_of(vec![
        zone(1, "Names", 15),
        zone(2, "Addresses", 15),
        rule(1, &[("Mode", "AnyAlias"), ("Target Name", "Names")]),
        rule(2, &[("Mode", "AnyIPAddress"), ("Target Name", "Addresses")]),
    ]);
    let mut s = Search::new(dp.clone(), sip("alice@example.com"));
    assert_eq!(
        asked(&s.step()),
        vec![(zone_t("Names"), "alice@example.com".into())]
    );
    for ip in ["sip:10.0.0.5", "10.0.0.5:5060", "[2001:db8::5]"] {
        let mut req = sip(ip);
        req.ip_known = true;
        let mut s = Search::new(dp.clone(), req);
        let q = asked(&s.step());
        assert_eq!(q.len(), 1, "{ip}");
        assert_eq!(q[0].0, zone_t("Addresses"), "{ip}");
    }
}

/// Notes 05 §5.4: a zone transform changes only what its own target is asked; identical
/// (target, alias) pairs in one group are asked once.
#[test]
fn zone_transforms_are_per_rule_and_duplicates_collapse() {
    let dp = plan_of(vec![
        zone(1, "Z", 15),
        rule(
            1,
            &[
                ("Priority", "10"),
                ("Mode", "AnyAlias"),
                ("Target Name", "Z"),
            ],
        ),
        rule(
            2,
            &[
                ("Priority", "10"),
                ("Mode", "AliasPatternMatch"),
                ("Pattern Type", "Suffix"),
                ("Pattern String", "@example.com"),
                ("Pattern Behavior", "Strip"),
                ("Target Name", "Z"),
            ],
        ),
        rule(
            3,
            &[
                ("Priority", "10"),
                ("Mode", "AliasPatternMatch"),
                ("Pattern Type", "Suffix"),
                ("Pattern String", "@example.com"),
                ("Pattern Behavior", "Leave"),
                ("Target Name", "Z"),
            ],
        ),
    ]);
    let mut s = Search::new(dp, sip("name@example.com"));
    assert_eq!(
        asked(&s.step()),
        vec![
            (zone_t("Z"), "name@example.com".into()),
            (zone_t("Z"), "name".into())
        ]
    );
}

/// Guide L13172 (notes 05 §5.5): one pre-search transform applies, then the Local Zone is
/// asked for the stripped number at priority 50 and for the full alias at 60.
#[test]
fn pre_search_transform_then_local_zone_rules() {
    let dp = dialplan(&[
        ("Transform 1 Pattern Type", "Regex"),
        ("Transform 1 Pattern String", r"(\d+)"),
        ("Transform 1 Pattern Behavior", "Replace"),
        ("Transform 1 Pattern Replace", r"\1@example.com"),
        ("Transform 1 Priority", "1"),
        ("Transform 1 State", "Enabled"),
        ("Transform 2 Pattern Type", "Prefix"),
        ("Transform 2 Pattern String", "1"),
        ("Transform 2 Pattern Behavior", "Strip"),
        ("Transform 2 Priority", "2"),
        ("Transform 2 State", "Enabled"),
        ("Zones Policy SearchRules Rule 1 Priority", "50"),
        ("Zones Policy SearchRules Rule 1 Mode", "AliasPatternMatch"),
        ("Zones Policy SearchRules Rule 1 Pattern Type", "Regex"),
        (
            "Zones Policy SearchRules Rule 1 Pattern String",
            r"(\d+)@example.com",
        ),
        (
            "Zones Policy SearchRules Rule 1 Pattern Behavior",
            "Replace",
        ),
        ("Zones Policy SearchRules Rule 1 Pattern Replace", r"\1"),
        ("Zones Policy SearchRules Rule 1 Target Name", "LocalZone"),
        ("Zones Policy SearchRules Rule 2 Priority", "60"),
        ("Zones Policy SearchRules Rule 2 Mode", "AliasPatternMatch"),
        ("Zones Policy SearchRules Rule 2 Pattern Type", "Suffix"),
        (
            "Zones Policy SearchRules Rule 2 Pattern String",
            "@example.com",
        ),
        ("Zones Policy SearchRules Rule 2 Pattern Behavior", "Leave"),
        ("Zones Policy SearchRules Rule 2 Target Name", "LocalZone"),
    ]);
    let mut s = Search::new(dp, sip("123"));
    assert_eq!(s.first_plan().unwrap().alias, "123@example.com");
    assert_eq!(s.first_plan().unwrap().transform, Some(1));
    assert_eq!(asked(&s.step()), vec![(Target::LocalZone, "123".into())]);
    s.answer(&[Answer::NotFound]);
    assert_eq!(
        asked(&s.step()),
        vec![(Target::LocalZone, "123@example.com".into())]
    );
}

/// Notes 05 §5.7: source and authentication filters.
#[test]
fn source_and_authentication_filters() {
    let dp = plan_of(vec![
        zone(1, "Z", 15),
        zone(2, "N", 15),
        rule(1, &[("Source Mode", "LocalZone"), ("Target Name", "Z")]),
        rule(
            2,
            &[
                ("Authentication", "Yes"),
                ("Target Name", "Z"),
                ("Mode", "AliasPatternMatch"),
                ("Pattern Type", "Prefix"),
                ("Pattern String", "a"),
                ("Pattern Behavior", "Strip"),
            ],
        ),
        rule(
            3,
            &[
                ("Source Mode", "AllZones"),
                ("Target Name", "N"),
                ("Priority", "200"),
            ],
        ),
        rule(
            4,
            &[
                ("Source Mode", "Named"),
                ("Source Name", "N"),
                ("Target Name", "LocalZone"),
                ("Priority", "300"),
            ],
        ),
    ]);
    let ask = |source: Source, authenticated: bool| {
        let mut req = sip("alice@example.com");
        req.source = source;
        req.authenticated = authenticated;
        let mut s = Search::new(dp.clone(), req);
        let mut all = Vec::new();
        while let Step::Ask(qs) = s.step() {
            all.extend(qs.iter().map(|q| (q.target.clone(), q.alias.clone())));
            s.answer(&[]);
        }
        all
    };
    let local = ask(Source::local(), false);
    assert_eq!(
        local,
        vec![
            (zone_t("Z"), "alice@example.com".into()),
            (zone_t("N"), "alice@example.com".into())
        ]
    );
    let authenticated = ask(Source::local(), true);
    assert!(authenticated.contains(&(zone_t("Z"), "lice@example.com".into())));
    // From the Default Zone neither the LocalZone nor the AllZones rule applies.
    assert!(ask(Source::DefaultZone, false).is_empty());
    // From zone N: AllZones and the rule naming N apply.
    assert_eq!(
        ask(Source::Zone("n".into()), false),
        vec![
            (zone_t("N"), "alice@example.com".into()),
            (Target::LocalZone, "alice@example.com".into())
        ]
    );
}

/// Notes 05 §5.8: the hop count is one less than received and no more than the zone's.
#[test]
fn hop_counts() {
    let dp = plan_of(vec![zone(1, "Z", 5), rule(1, &[("Target Name", "Z")])]);
    let hops = |received: Option<u8>| {
        let mut req = sip("bob@example.com");
        req.hop_count = received;
        let mut s = Search::new(dp.clone(), req);
        match s.step() {
            Step::Ask(qs) => Some(qs[0].hop_count),
            Step::NotFound(r) => {
                assert_eq!(r, Refusal::HopsExhausted);
                None
            }
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(hops(None), Some(5));
    assert_eq!(hops(Some(70)), Some(5));
    assert_eq!(hops(Some(3)), Some(2));
    assert_eq!(hops(Some(0)), None);
}

/// Notes 05 §5.14: the three ways with an IP address that is not known here.
#[test]
fn calls_to_unknown_ip_addresses() {
    let rows = |mode: &str| {
        plan_of(vec![
            zone(1, "Edge", 15),
            rule(1, &[("Mode", "AnyIPAddress"), ("Target Name", "Edge")]),
            vec![(
                "Call Services CallsToUnknownIPAddresses".into(),
                mode.to_string(),
            )],
        ])
    };
    let first = |mode: &str, known: bool| {
        let mut req = sip("192.0.2.77");
        req.ip_known = known;
        Search::new(rows(mode), req).step()
    };
    assert_eq!(first("Off", false), Step::NotFound(Refusal::UnknownIpOff));
    assert_eq!(
        asked(&first("Direct", false)),
        vec![(Target::Address("192.0.2.77".into()), "192.0.2.77".into())]
    );
    assert_eq!(
        asked(&first("Indirect", false)),
        vec![(zone_t("Edge"), "192.0.2.77".into())]
    );
    // A known address is searched by the rules whatever the setting.
    assert_eq!(
        asked(&first("Off", true)),
        vec![(zone_t("Edge"), "192.0.2.77".into())]
    );
}

/// Notes 05 §5.15: a request for the node itself goes to the fallback alias, or nowhere.
#[test]
fn fallback_alias() {
    let with = plan_of(vec![
        rule(1, &[("Target Name", "LocalZone")]),
        vec![(
            "Call Services Fallback Alias".into(),
            "reception@example.com".into(),
        )],
    ]);
    let mut req = sip("192.0.2.10");
    req.to_node = true;
    let mut s = Search::new(with, req.clone());
    assert_eq!(
        asked(&s.step()),
        vec![(Target::LocalZone, "reception@example.com".into())]
    );
    let without = plan_of(vec![rule(1, &[("Target Name", "LocalZone")])]);
    assert_eq!(
        Search::new(without, req).step(),
        Step::NotFound(Refusal::NoFallback)
    );
}

/// SE10 and the policy loop: new aliases from a policy service are searched from the start
/// (pre-search transforms included), even after Stop; an alias that comes back is a loop.
#[test]
fn new_aliases_restart_the_search_and_loops_are_caught() {
    let dp = dialplan(&[
        ("Transform 1 Pattern Type", "Prefix"),
        ("Transform 1 Pattern String", "old-"),
        ("Transform 1 Pattern Behavior", "Replace"),
        ("Transform 1 Pattern Replace", "new-"),
        ("Transform 1 State", "Enabled"),
        ("Zones Policy SearchRules Rule 1 Priority", "10"),
        ("Zones Policy SearchRules Rule 1 Mode", "AliasPatternMatch"),
        ("Zones Policy SearchRules Rule 1 Pattern Type", "Prefix"),
        ("Zones Policy SearchRules Rule 1 Pattern String", "ask"),
        ("Zones Policy SearchRules Rule 1 Pattern Behavior", "Leave"),
        ("Zones Policy SearchRules Rule 1 Progress", "Stop"),
        (
            "Zones Policy SearchRules Rule 1 Target Type",
            "PolicyService",
        ),
        ("Zones Policy SearchRules Rule 1 Target Name", "Router"),
        ("Zones Policy SearchRules Rule 2 Priority", "20"),
        ("Zones Policy SearchRules Rule 2 Target Name", "LocalZone"),
    ]);
    let mut s = Search::new(dp.clone(), sip("ask-me"));
    assert_eq!(
        asked(&s.step()),
        vec![(Target::PolicyService("Router".into()), "ask-me".into())]
    );
    s.answer(&[Answer::Aliases(vec!["old-bob".into()])]);
    // The new alias is transformed and searched by the rules; the Stop did not end it.
    assert_eq!(
        asked(&s.step()),
        vec![(Target::LocalZone, "new-bob".into())]
    );
    s.answer(&[Answer::Found]);
    assert!(matches!(s.step(), Step::Found(q) if q.alias == "new-bob"));

    // The service answers with the alias being searched: a loop, and nothing else to do.
    let mut s = Search::new(dp, sip("ask-me"));
    s.step();
    s.answer(&[Answer::Aliases(vec!["ask-me".into()])]);
    assert_eq!(s.step(), Step::NotFound(Refusal::Stopped));
    assert!(s.trace().iter().any(|l| l.contains("policy loop detected")));
}

/// Guide L13384: 911 from local endpoints goes to the gateway and nowhere else; 00911 is
/// rewritten to 911 for the same gateway.
#[test]
fn direct_911_rules() {
    let dp = plan_of(vec![
        zone(1, "Gateway", 15),
        zone(2, "Elsewhere", 15),
        rule(
            1,
            &[
                ("Priority", "1"),
                ("Source Mode", "LocalZone"),
                ("Mode", "AliasPatternMatch"),
                ("Pattern Type", "Regex"),
                ("Pattern String", "911|(911@%localdomains%)"),
                ("Pattern Behavior", "Leave"),
                ("Progress", "Stop"),
                ("Target Name", "Gateway"),
            ],
        ),
        rule(
            2,
            &[
                ("Priority", "2"),
                ("Source Mode", "LocalZone"),
                ("Mode", "AliasPatternMatch"),
                ("Pattern Type", "Regex"),
                ("Pattern String", "00(911|911@%localdomains%)"),
                ("Pattern Behavior", "Replace"),
                ("Pattern Replace", r"\1"),
                ("Progress", "Stop"),
                ("Target Name", "Gateway"),
            ],
        ),
        rule(3, &[("Priority", "100"), ("Target Name", "Elsewhere")]),
    ]);
    for (dialled, sent) in [
        ("911", "911"),
        ("911@example.com", "911@example.com"),
        ("00911", "911"),
    ] {
        let mut s = Search::new(dp.clone(), sip(dialled));
        assert_eq!(
            asked(&s.step()),
            vec![(zone_t("Gateway"), sent.into())],
            "{dialled}"
        );
        s.answer(&[Answer::NotFound]);
        assert_eq!(s.step(), Step::NotFound(Refusal::Stopped), "{dialled}");
    }
}

#[test]
fn rules_for_missing_or_protocol_less_zones_are_skipped() {
    let dp = plan_of(vec![
        zone(1, "Z", 15),
        vec![("Zones Zone 1 SIP Mode".into(), "Off".into())],
        rule(1, &[("Target Name", "Z")]),
        rule(2, &[("Target Name", "Nowhere")]),
        rule(3, &[("Protocol", "H323"), ("Target Name", "LocalZone")]),
    ]);
    let mut s = Search::new(dp, sip("bob@example.com"));
    assert_eq!(s.step(), Step::NotFound(Refusal::NotFound));
    let t = s.trace().join("\n");
    assert!(
        t.contains("has SIP off") && t.contains("does not exist") && t.contains("other protocol"),
        "{t}"
    );
}
