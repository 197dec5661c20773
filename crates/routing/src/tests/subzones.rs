//! Subzone membership: rule order, subnets (IPv4 and IPv6), alias patterns, rules that are
//! left out, the Default Subzone and the per-subzone registration and authentication policy.
//! Configurations are written as an operator would set them.

use crate::subzones::*;
use causeway_config::{Snapshot, Values};
use std::net::IpAddr;

/// Compile a configuration given as `path = value` pairs; one SIP domain is configured so
/// that pattern variables have something to stand for.
fn build(rows: &[Vec<(String, String)>]) -> SubZones {
    let mut v = Values::new();
    v.insert("SIP Domain 1 Name".into(), "example.com".into());
    for (k, val) in rows.iter().flatten() {
        v.insert(k.clone(), val.clone());
    }
    SubZones::from_snapshot(&Snapshot::from_values(v))
}

/// Like [`build`], and every row must have been taken.
fn clean(rows: &[Vec<(String, String)>]) -> SubZones {
    let sz = build(rows);
    assert!(sz.problems.is_empty(), "{:?}", sz.problems);
    sz
}

/// `Zones LocalZone SubZones SubZone [n]` with a name and other fields.
fn subzone(n: u32, name: &str, fields: &[(&str, &str)]) -> Vec<(String, String)> {
    let p = format!("Zones LocalZone SubZones SubZone {n}");
    std::iter::once((format!("{p} Name"), name.to_string()))
        .chain(
            fields
                .iter()
                .map(|(k, v)| (format!("{p} {k}"), v.to_string())),
        )
        .collect()
}

fn rule(n: u32, fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(k, v)| {
            (
                format!("Zones LocalZone SubZones MembershipRules Rule {n} {k}"),
                v.to_string(),
            )
        })
        .collect()
}

/// A Subnet rule at priority 100 (the default, left unset).
fn subnet(n: u32, target: &str, address: &str, prefix: &str) -> Vec<(String, String)> {
    rule(
        n,
        &[
            ("Name", &format!("rule {n}")),
            ("Type", "Subnet"),
            ("Subnet Address", address),
            ("Subnet PrefixLength", prefix),
            ("SubZoneName", target),
        ],
    )
}

/// An Alias pattern match rule at priority 100.
fn alias(n: u32, target: &str, kind: &str, pattern: &str) -> Vec<(String, String)> {
    rule(
        n,
        &[
            ("Name", &format!("rule {n}")),
            ("Type", "AliasPatternMatch"),
            ("Pattern Type", kind),
            ("Pattern String", pattern),
            ("SubZoneName", target),
        ],
    )
}

fn with(mut row: Vec<(String, String)>, n: u32, field: &str, value: &str) -> Vec<(String, String)> {
    row.push((
        format!("Zones LocalZone SubZones MembershipRules Rule {n} {field}"),
        value.to_string(),
    ));
    row
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The name of the subzone an endpoint lands in.
fn lands(sz: &SubZones, addr: &str, aliases: &[&str]) -> String {
    sz.member(ip(addr), aliases).name
}

#[test]
fn a_subnet_rule_takes_in_the_addresses_of_its_range_only() {
    let sz = clean(&[
        subzone(1, "Branch", &[]),
        subnet(1, "Branch", "192.168.10.0", "24"),
    ]);
    let m = sz.member(ip("192.168.10.77"), &[]);
    assert_eq!(
        m,
        SubZoneRef {
            name: "Branch".into(),
            row: Some(1)
        }
    );
    assert_eq!(lands(&sz, "192.168.11.1", &[]), DEFAULT_SUBZONE);
    assert_eq!(lands(&sz, "192.168.9.255", &[]), DEFAULT_SUBZONE);
}

#[test]
fn host_bits_of_the_subnet_address_do_not_narrow_the_range() {
    let sz = clean(&[
        subzone(1, "Branch", &[]),
        subnet(1, "Branch", "10.1.2.3", "16"),
    ]);
    assert_eq!(lands(&sz, "10.1.200.9", &[]), "Branch");
    match &sz.rules()[0].test {
        RuleMatch::Subnet(net) => assert_eq!(net.to_string(), "10.1.0.0/16"),
        other => panic!("{other:?}"),
    }
}

/// Subnet rules of equal priority: the longest prefix is tried first, whatever the row order.
#[test]
fn at_one_priority_the_longest_subnet_prefix_wins() {
    let sz = clean(&[
        subzone(1, "Campus", &[]),
        subzone(2, "Lab", &[]),
        subzone(3, "Desk", &[]),
        subnet(1, "Campus", "10.0.0.0", "8"),
        subnet(2, "Lab", "10.20.0.0", "16"),
        subnet(3, "Desk", "10.20.30.0", "24"),
    ]);
    assert_eq!(lands(&sz, "10.20.30.40", &[]), "Desk");
    assert_eq!(lands(&sz, "10.20.31.40", &[]), "Lab");
    assert_eq!(lands(&sz, "10.21.0.1", &[]), "Campus");
}

/// Lower priority numbers are tried first:
/// priority decides before prefix length does.
#[test]
fn a_lower_priority_number_beats_a_longer_prefix() {
    let sz = clean(&[
        subzone(1, "Campus", &[]),
        subzone(2, "Desk", &[]),
        subnet(1, "Desk", "10.20.30.0", "24"),
        with(subnet(2, "Campus", "10.0.0.0", "8"), 2, "Priority", "50"),
    ]);
    assert_eq!(lands(&sz, "10.20.30.40", &[]), "Campus");
    assert_eq!(sz.matching_rule(ip("10.20.30.40"), &[]).unwrap().row, 2);
}

#[test]
fn ipv6_subnets_match_ipv6_endpoints() {
    let sz = clean(&[
        subzone(1, "V6", &[]),
        subzone(2, "V6Desk", &[]),
        subnet(1, "V6", "2001:db8::", "32"),
        subnet(2, "V6Desk", "2001:db8:0:1::", "64"),
    ]);
    assert_eq!(lands(&sz, "2001:db8:ffff::1", &[]), "V6");
    assert_eq!(lands(&sz, "2001:db8:0:1::99", &[]), "V6Desk");
    assert_eq!(lands(&sz, "2001:db9::1", &[]), DEFAULT_SUBZONE);
    assert!(sz.covers_ip(ip("2001:db8::5")));
    assert!(!sz.covers_ip(ip("2001:db9::5")));
}

#[test]
fn address_families_never_match_each_other_except_through_mapped_ipv4() {
    let sz = clean(&[
        subzone(1, "V4", &[]),
        subzone(2, "V6", &[]),
        subnet(1, "V4", "192.0.2.0", "24"),
        subnet(2, "V6", "::", "1"),
    ]);
    // What a dual-stack socket reports for an IPv4 peer.
    assert_eq!(lands(&sz, "::ffff:192.0.2.7", &[]), "V4");
    assert_eq!(lands(&sz, "::c000:207", &[]), "V6");
    assert_eq!(lands(&sz, "198.51.100.1", &[]), DEFAULT_SUBZONE);
}

#[test]
fn a_prefix_rule_matches_any_of_the_endpoints_aliases_ignoring_case() {
    let sz = clean(&[
        subzone(1, "Sales", &[]),
        alias(1, "Sales", "Prefix", "sales."),
    ]);
    assert_eq!(
        lands(&sz, "203.0.113.5", &["1234", "Sales.Alice@example.com"]),
        "Sales"
    );
    assert_eq!(
        lands(&sz, "203.0.113.5", &["alice.sales@example.com"]),
        DEFAULT_SUBZONE
    );
    assert_eq!(lands(&sz, "203.0.113.5", &[]), DEFAULT_SUBZONE);
}

#[test]
fn a_regex_rule_must_match_the_whole_alias() {
    let sz = clean(&[
        subzone(1, "Home", &[]),
        alias(1, "Home", "Regex", r"home\..*@example\.com"),
    ]);
    assert_eq!(lands(&sz, "203.0.113.5", &["home.bob@example.com"]), "Home");
    assert_eq!(
        lands(&sz, "203.0.113.5", &["home.bob@example.com.evil.net"]),
        DEFAULT_SUBZONE
    );
    assert_eq!(
        lands(&sz, "203.0.113.5", &["x-home.bob@example.com"]),
        DEFAULT_SUBZONE
    );
}

#[test]
fn alias_patterns_expand_pattern_variables() {
    let sz = clean(&[
        subzone(1, "Ours", &[]),
        alias(1, "Ours", "Suffix", "@%localdomain1%"),
    ]);
    assert_eq!(lands(&sz, "203.0.113.5", &["carol@example.com"]), "Ours");
    assert_eq!(
        lands(&sz, "203.0.113.5", &["carol@example.net"]),
        DEFAULT_SUBZONE
    );
}

/// Alias rules of equal priority are tried in row order.
#[test]
fn alias_rules_of_one_priority_go_in_row_order() {
    let rows = |first: &str, second: &str| {
        clean(&[
            subzone(1, "Domain", &[]),
            subzone(2, "Person", &[]),
            alias(3, first, "Suffix", "@example.com"),
            alias(7, second, "Prefix", "alice"),
        ])
    };
    let a = ["alice@example.com"];
    assert_eq!(
        lands(&rows("Domain", "Person"), "203.0.113.5", &a),
        "Domain"
    );
    assert_eq!(
        lands(&rows("Person", "Domain"), "203.0.113.5", &a),
        "Person"
    );
}

/// Design decision: at one priority, Subnet rules are tried before Alias pattern match rules,
/// even when the alias rule has the lower row.
#[test]
fn at_one_priority_subnet_rules_come_before_alias_rules() {
    let sz = clean(&[
        subzone(1, "ByAlias", &[]),
        subzone(2, "BySubnet", &[]),
        alias(1, "ByAlias", "Prefix", "alice"),
        subnet(2, "BySubnet", "192.0.2.0", "24"),
    ]);
    assert_eq!(lands(&sz, "192.0.2.1", &["alice@example.com"]), "BySubnet");
    assert_eq!(
        lands(&sz, "198.51.100.1", &["alice@example.com"]),
        "ByAlias"
    );
    // A better priority still lets the alias rule win.
    let sz = clean(&[
        subzone(1, "ByAlias", &[]),
        subzone(2, "BySubnet", &[]),
        with(alias(1, "ByAlias", "Prefix", "alice"), 1, "Priority", "99"),
        subnet(2, "BySubnet", "192.0.2.0", "24"),
    ]);
    assert_eq!(lands(&sz, "192.0.2.1", &["alice@example.com"]), "ByAlias");
}

#[test]
fn disabled_rules_are_ignored_everywhere() {
    let sz = clean(&[
        subzone(1, "Branch", &[]),
        with(
            subnet(1, "Branch", "192.0.2.0", "24"),
            1,
            "State",
            "Disabled",
        ),
        with(alias(2, "Branch", "Prefix", "bob"), 2, "State", "Disabled"),
    ]);
    assert_eq!(lands(&sz, "192.0.2.1", &["bob"]), DEFAULT_SUBZONE);
    assert!(!sz.covers_ip(ip("192.0.2.1")));
    assert!(sz.rules().is_empty());
}

#[test]
fn a_rule_naming_a_missing_subzone_is_left_out_and_the_next_rule_applies() {
    let sz = build(&[
        subzone(1, "Branch", &[]),
        subnet(1, "Gone", "192.0.2.0", "25"),
        subnet(2, "Branch", "192.0.2.0", "24"),
    ]);
    assert_eq!(lands(&sz, "192.0.2.1", &[]), "Branch");
    assert_eq!(sz.problems.len(), 1, "{:?}", sz.problems);
    assert!(sz.problems[0].contains("Gone"), "{:?}", sz.problems);
    assert_eq!(sz.rule_count("Branch"), 1);
}

#[test]
fn rules_cannot_assign_endpoints_to_the_traversal_or_cluster_subzone() {
    let sz = build(&[
        subnet(1, TRAVERSAL_SUBZONE, "192.0.2.0", "24"),
        subnet(2, CLUSTER_SUBZONE, "198.51.100.0", "24"),
    ]);
    assert_eq!(lands(&sz, "192.0.2.1", &[]), DEFAULT_SUBZONE);
    assert_eq!(lands(&sz, "198.51.100.1", &[]), DEFAULT_SUBZONE);
    assert_eq!(sz.problems.len(), 2, "{:?}", sz.problems);
}

#[test]
fn subzone_names_in_rules_ignore_case() {
    let sz = clean(&[
        subzone(4, "Branch Office", &[]),
        subnet(1, "branch office", "192.0.2.0", "24"),
    ]);
    assert_eq!(
        sz.member(ip("192.0.2.1"), &[]),
        SubZoneRef {
            name: "Branch Office".into(),
            row: Some(4)
        }
    );
}

/// A rule may send a narrower range back to the Default Subzone, ahead of a wider rule.
#[test]
fn a_rule_may_name_the_default_subzone() {
    let sz = clean(&[
        subzone(1, "Branch", &[]),
        subnet(1, "Branch", "192.0.2.0", "24"),
        subnet(2, "defaultsubzone", "192.0.2.128", "25"),
    ]);
    assert_eq!(lands(&sz, "192.0.2.1", &[]), "Branch");
    let m = sz.member(ip("192.0.2.200"), &[]);
    assert!(m.is_default(), "{m:?}");
    assert_eq!(m.row, None);
}

#[test]
fn without_subzones_or_rules_everyone_is_in_the_default_subzone() {
    let sz = clean(&[]);
    let m = sz.member(ip("192.0.2.1"), &["alice@example.com"]);
    assert_eq!(m, SubZoneRef::default_subzone());
    assert_eq!(m.name, "DefaultSubZone");
    assert!(sz.registrations_allowed(&m));
    assert_eq!(sz.authentication_mode(&m), "DoNotCheckCredentials");
}

#[test]
fn registration_policy_is_per_subzone_and_the_default_subzone_has_its_own() {
    let sz = clean(&[
        subzone(1, "Blocked", &[("Registrations", "Deny")]),
        subzone(2, "Open", &[]),
        subnet(1, "Blocked", "192.0.2.0", "24"),
        subnet(2, "Open", "198.51.100.0", "24"),
        vec![(
            "Zones LocalZone DefaultSubZone Registrations".into(),
            "Deny".into(),
        )],
    ]);
    let blocked = sz.member(ip("192.0.2.1"), &[]);
    let open = sz.member(ip("198.51.100.1"), &[]);
    let stray = sz.member(ip("203.0.113.1"), &[]);
    assert!(!sz.registrations_allowed(&blocked));
    assert!(sz.registrations_allowed(&open));
    assert!(!sz.registrations_allowed(&stray));

    let sz = clean(&[subzone(1, "Blocked", &[("Registrations", "Deny")])]);
    assert!(sz.registrations_allowed(&SubZoneRef::default_subzone()));
    // Nobody registers to the virtual subzones, whatever the Default Subzone allows.
    assert!(!sz.registrations_allowed(&SubZoneRef::traversal()));
    assert!(!sz.registrations_allowed(&SubZoneRef::cluster()));
}

#[test]
fn authentication_mode_is_per_subzone_and_the_default_subzone_has_its_own() {
    let sz = clean(&[
        subzone(1, "Strict", &[("Authentication Mode", "CheckCredentials")]),
        subzone(2, "Plain", &[]),
        subnet(1, "Strict", "192.0.2.0", "24"),
        subnet(2, "Plain", "198.51.100.0", "24"),
        vec![(
            "Zones LocalZone DefaultSubZone Authentication Mode".into(),
            "TreatAsAuthenticated".into(),
        )],
    ]);
    let mode = |a: &str| sz.authentication_mode(&sz.member(ip(a), &[])).to_string();
    assert_eq!(mode("192.0.2.1"), "CheckCredentials");
    assert_eq!(mode("198.51.100.1"), "DoNotCheckCredentials");
    assert_eq!(mode("203.0.113.1"), "TreatAsAuthenticated");
}

#[test]
fn a_reference_is_resolved_by_name_when_rows_have_moved() {
    let sz = clean(&[subzone(
        5,
        "Strict",
        &[("Authentication Mode", "CheckCredentials")],
    )]);
    let stale = SubZoneRef {
        name: "Strict".into(),
        row: Some(1),
    };
    assert_eq!(sz.authentication_mode(&stale), "CheckCredentials");
    let gone = SubZoneRef {
        name: "Gone".into(),
        row: Some(5),
    };
    assert_eq!(sz.authentication_mode(&gone), "DoNotCheckCredentials");
}

#[test]
fn covers_ip_counts_subnet_rules_only() {
    let sz = build(&[
        subzone(1, "Branch", &[]),
        subnet(1, "Branch", "192.0.2.0", "24"),
        alias(2, "Branch", "Exact", "198.51.100.1"),
        subnet(3, "Gone", "203.0.113.0", "24"),
    ]);
    assert!(sz.covers_ip(ip("192.0.2.99")));
    assert!(!sz.covers_ip(ip("198.51.100.1")));
    // A rule that was left out makes no address known.
    assert!(!sz.covers_ip(ip("203.0.113.1")));
    assert!(!sz.covers_ip(ip("10.0.0.1")));
}

#[test]
fn names_lists_the_default_and_the_configured_subzones() {
    let sz = clean(&[
        subzone(2, "Branch", &[]),
        subzone(1, "HQ", &[]),
        // A row with values but no name yet is not a subzone.
        vec![(
            "Zones LocalZone SubZones SubZone 3 Registrations".into(),
            "Deny".into(),
        )],
    ]);
    assert_eq!(
        sz.names().collect::<Vec<_>>(),
        [DEFAULT_SUBZONE, "HQ", "Branch"]
    );
    assert!(sz.exists("branch"));
    assert!(sz.exists("DEFAULTSUBZONE"));
    assert!(!sz.exists("Gone"));
    assert!(!sz.exists(TRAVERSAL_SUBZONE));
}

#[test]
fn reserved_and_duplicate_subzone_names_are_refused() {
    let sz = build(&[
        subzone(1, "HQ", &[("Registrations", "Deny")]),
        subzone(2, "hq", &[]),
        subzone(3, "TraversalSubZone", &[]),
    ]);
    assert_eq!(sz.names().count(), 2);
    assert_eq!(sz.problems.len(), 2, "{:?}", sz.problems);
    assert!(!sz.registrations_allowed(&sz.lookup("HQ").unwrap()));
}

#[test]
fn malformed_rules_are_left_out_with_a_reason() {
    let sz = build(&[
        subzone(1, "Branch", &[]),
        subnet(1, "Branch", "not-an-address", "24"),
        subnet(2, "Branch", "192.0.2.0", "33"),
        alias(3, "Branch", "Prefix", ""),
        alias(4, "Branch", "Regex", "(unclosed"),
        rule(5, &[("SubZoneName", "Branch")]),
    ]);
    assert_eq!(sz.problems.len(), 5, "{:?}", sz.problems);
    assert!(sz.rules().is_empty());
    assert_eq!(lands(&sz, "192.0.2.1", &["anything"]), DEFAULT_SUBZONE);
}

#[test]
fn the_default_prefix_length_is_32() {
    let sz = clean(&[
        subzone(1, "One", &[]),
        rule(
            1,
            &[
                ("Type", "Subnet"),
                ("Subnet Address", "192.0.2.7"),
                ("SubZoneName", "One"),
            ],
        ),
    ]);
    assert_eq!(lands(&sz, "192.0.2.7", &[]), "One");
    assert_eq!(lands(&sz, "192.0.2.8", &[]), DEFAULT_SUBZONE);
}

#[test]
fn subnet_ranges_are_computed_per_family() {
    let net = Subnet::new("2001:db8:abcd:12ff::1", 56).unwrap();
    assert_eq!(net.to_string(), "2001:db8:abcd:1200::/56");
    let mapped = Subnet::new("::ffff:192.0.2.0", 120).unwrap();
    assert_eq!(mapped.to_string(), "192.0.2.0/24");
    assert!(Subnet::new("::ffff:0.0.0.0", 96)
        .unwrap()
        .contains(ip("203.0.113.9")));
    assert!(Subnet::new("192.0.2.0", 0).is_err());
    assert!(Subnet::new("2001:db8::", 129).is_err());
}
