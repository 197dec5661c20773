//! The administrator guide's worked examples (line numbers point into
//! shared/seed/000_3250a511d42af94b.txt), each with the guide's own
//! expected outcome.

use super::{apply, check, re_matches, vars};
use crate::*;

use Behavior::*;
use PatternType::*;

/// L12793: only aliases ending `@sales.example.com` go to the sales office,
/// unchanged (Suffix + Leave).
#[test]
fn filter_queries_without_transforming() {
    let r = check(
        "alice@sales.example.com",
        Suffix,
        "@sales.example.com",
        Leave,
        "",
    );
    assert!(r.matched);
    assert_eq!(r.alias, "alice@sales.example.com");

    let r = check("alice@example.com", Suffix, "@sales.example.com", Leave, "");
    assert!(!r.matched);
    assert_eq!(r.alias, "alice@example.com");
}

/// L12864: `name@example.com` is looked up as `name@example.co.uk`.
#[test]
fn query_zone_for_transformed_alias() {
    assert_eq!(
        apply(
            Suffix,
            "example.com",
            Replace,
            "example.co.uk",
            "name@example.com"
        )
        .as_deref(),
        Some("name@example.co.uk")
    );
}

/// L12906: the same zone is asked for the full URI (Any alias rule) and
/// for the name alone (Suffix `@example.com` + Strip).
#[test]
fn query_zone_for_original_and_stripped_alias() {
    assert_eq!(
        apply(Suffix, "@example.com", Strip, "", "name@example.com").as_deref(),
        Some("name")
    );
}

/// L12972: two rules with the same pattern give `name@example.co.uk` and
/// `name@example.net`.
#[test]
fn query_zone_for_two_transformed_aliases() {
    let a = apply(
        Suffix,
        "example.com",
        Replace,
        "example.co.uk",
        "name@example.com",
    );
    let b = apply(
        Suffix,
        "example.com",
        Replace,
        "example.net",
        "name@example.com",
    );
    assert_eq!(a.as_deref(), Some("name@example.co.uk"));
    assert_eq!(b.as_deref(), Some("name@example.net"));
}

/// L13054: pre-search transform `(\d+)` -> `\1@domain`, then Local Zone
/// rules `(\d+)@domain` -> `\1` (priority 50) and Leave (priority 60), so
/// both `123` and `123@domain` registrations are reachable.
#[test]
fn strip_domain_for_h323_numbers() {
    let v = vars();
    let pre = Transform::new(Regex, r"(\d+)", Replace, r"\1@domain", &v).unwrap();
    let rule50 = Transform::new(Regex, r"(\d+)@domain", Replace, r"\1", &v).unwrap();
    let rule60 = Transform::new(Regex, r"(\d+)@domain", Leave, "", &v).unwrap();

    // Dialled from H.323 as a bare number.
    let alias = pre.apply("123").unwrap();
    assert_eq!(alias, "123@domain");
    assert_eq!(rule50.apply(&alias).as_deref(), Some("123"));
    assert_eq!(rule60.apply(&alias).as_deref(), Some("123@domain"));

    // Dialled from SIP, the endpoint already added the domain: the
    // pre-search transform does not match (whole-alias regex) and the
    // rules see the alias as dialled.
    assert_eq!(pre.apply("123@domain"), None);
    assert_eq!(rule50.apply("123@domain").as_deref(), Some("123"));
    // Not a number: untouched.
    assert_eq!(pre.apply("alice"), None);
    assert_eq!(rule50.apply("alice@domain"), None);
}

/// L13172: the alphanumeric variant, `([^@]*)` -> `\1@domain`, rules
/// `(.+)@domain` -> `\1` (priority 40) and Leave (priority 50).
#[test]
fn alphanumeric_h323_ids() {
    let r = check("123abc", Regex, "([^@]*)", Replace, r"\1@domain");
    assert!(r.matched);
    assert_eq!(r.alias, "123abc@domain");

    let r = check("123abc@domain", Regex, "([^@]*)", Replace, r"\1@domain");
    assert!(!r.matched);
    assert_eq!(r.alias, "123abc@domain");

    let r = check("123abc@domain", Regex, "(.+)@domain", Replace, r"\1");
    assert_eq!((r.matched, r.alias.as_str()), (true, "123abc"));
    let r = check("123abc@domain", Regex, "(.+)@domain", Leave, "");
    assert_eq!((r.matched, r.alias.as_str()), (true, "123abc@domain"));
}

/// L13384 / L13461: Kari's Law rules. `911|(911@%localdomains%)` with
/// Leave; `00(911|911@%localdomains%)` with Replace `\1`.
#[test]
fn direct_911_rules() {
    let p = "911|(911@%localdomains%)";
    for alias in ["911", "911@example.com", "911@EXAMPLE.ORG"] {
        let r = check(alias, Regex, p, Leave, "");
        assert!(r.matched, "{alias}");
        assert_eq!(r.alias, alias);
    }
    for alias in [
        "9110",
        "0911",
        "911@other.com",
        "911@example.com.evil",
        "00911",
    ] {
        assert!(!re_matches(p, alias), "{alias}");
    }

    let p = "00(911|911@%localdomains%)";
    assert_eq!(
        check("00911", Regex, p, Replace, r"\1").alias,
        "911".to_owned()
    );
    assert_eq!(
        check("00911@example.org", Regex, p, Replace, r"\1").alias,
        "911@example.org".to_owned()
    );
    let r = check("911", Regex, p, Replace, r"\1");
    assert!(!r.matched);
    let r = check("00911@other.com", Regex, p, Replace, r"\1");
    assert!(!r.matched);
    assert_eq!(r.alias, "00911@other.com");
}

/// L13762: a policy-service rule `.*\.meet@example.com`.
#[test]
fn policy_service_rule_pattern() {
    let p = r".*\.meet@example.com";
    assert!(re_matches(p, "room1.meet@example.com"));
    assert!(!re_matches(p, "room1meet@example.com"));
    assert!(!re_matches(p, "room1.meet@example.com.au"));
}

/// L14612: DNS zone rules. `.*@.*` catches URI-shaped aliases;
/// `(?!.*@example.com$).*` catches those not in example.com.
#[test]
fn dns_zone_rule_patterns() {
    assert!(re_matches(".*@.*", "bob@example.net"));
    assert!(!re_matches(".*@.*", "12345"));

    let p = "(?!.*@example.com$).*";
    assert!(re_matches(p, "bob@example.net"));
    assert!(re_matches(p, "12345"));
    assert!(!re_matches(p, "bob@example.com"));
    assert!(!re_matches(p, "bob@Example.COM"));
}

/// L14980: an ENUM rule with Prefix `44`; L14996: Regex `8(\d{4})` with
/// Replace `44123123(\1)` gives `44123123xxxx`.
#[test]
fn enum_zone_rules() {
    assert!(check("441234567890", Prefix, "44", Leave, "").matched);
    assert!(!check("331234567890", Prefix, "44", Leave, "").matched);

    let r = check("81234", Regex, r"8(\d{4})", Replace, r"44123123(\1)");
    assert!(r.matched);
    assert_eq!(r.alias, "441231231234");
    assert!(!check("812345", Regex, r"8(\d{4})", Replace, r"44123123(\1)").matched);
}

/// L33754: `xCommand CheckPattern Target: "bob@a.net" Pattern: "@a.net"
/// Type: "suffix" Behavior: replace Replace: "@a.com"`.
#[test]
fn check_pattern_command_example() {
    let kind: PatternType = "suffix".parse().unwrap();
    let behavior: Behavior = "replace".parse().unwrap();
    let r = check_pattern("bob@a.net", kind, "@a.net", behavior, "@a.com", &vars()).unwrap();
    assert_eq!(
        r,
        CheckResult {
            matched: true,
            alias: "bob@a.com".into()
        }
    );
}

/// L31231: `.*@(%localdomains%|%ip%)` — any user at a local domain or at
/// one of the box's addresses.
#[test]
fn sip_route_pattern_with_domains_and_addresses() {
    let p = ".*@(%localdomains%|%ip%)";
    for alias in [
        "bob@example.com",
        "bob@example.org",
        "bob@192.0.2.10",
        "bob@198.51.100.10",
        "bob@2001:DB8::10",
    ] {
        assert!(re_matches(p, alias), "{alias}");
    }
    for alias in ["bob@example.net", "bob@192.0.2.1", "bob@192x0x2x10", "bob"] {
        assert!(!re_matches(p, alias), "{alias}");
    }
}

/// L22600-22717: the regular-expression table.
#[test]
fn regex_reference_table() {
    // `.` any single character.
    assert!(re_matches("a.c", "abc") && !re_matches("a.c", "ac"));
    // `\d` a digit.
    assert!(re_matches(r"\d", "7") && !re_matches(r"\d", "x"));
    // `.*` any sequence.
    assert!(re_matches(".*", "") && re_matches(".*", "anything@at.all"));
    // `+` one or more.
    assert!(re_matches("a+", "aaa") && !re_matches("a+", ""));
    // `9?123` matches 9123 and 123.
    assert!(re_matches("9?123", "9123") && re_matches("9?123", "123"));
    assert!(!re_matches("9?123", "99123"));
    // `\d{3}` three digits; `\d{3,5}` three to five.
    assert!(re_matches(r"\d{3}", "123") && !re_matches(r"\d{3}", "1234"));
    for (s, ok) in [
        ("12", false),
        ("123", true),
        ("12345", true),
        ("123456", false),
    ] {
        assert_eq!(re_matches(r"\d{3,5}", s), ok, "{s}");
    }
    // `[a-z]` a letter (any case, comparisons ignore case).
    assert!(re_matches("[a-z]", "q") && re_matches("[a-z]", "Q"));
    assert!(!re_matches("[a-z]", "1"));
    // `[0-9#*]` one E.164 character; `[^0-9#*]` anything else.
    for s in ["5", "#", "*"] {
        assert!(re_matches("[0-9#*]", s), "{s}");
        assert!(!re_matches("[^0-9#*]", s), "{s}");
    }
    assert!(re_matches("[^0-9#*]", "x"));
    // `[^a-z]` a non-letter; `[^abc]`.
    assert!(re_matches("[^a-z]", "7") && !re_matches("[^a-z]", "k"));
    assert!(re_matches("[^abc]", "d") && !re_matches("[^abc]", "B"));
    // Groups and `\1\2\3`: john_smith@example.com -> js@example.com.
    let r = check(
        "john_smith@example.com",
        Regex,
        "(.).*_(.).*(@example.com)",
        Replace,
        r"\1\2\3",
    );
    assert_eq!((r.matched, r.alias.as_str()), (true, "js@example.com"));
    // `|`: .*@example.(net|com).
    let p = ".*@example.(net|com)";
    assert!(re_matches(p, "a@example.net") && re_matches(p, "a@example.com"));
    assert!(!re_matches(p, "a@example.org"));
    // `\` escapes: `\.` is a dot only.
    assert!(re_matches(r"a\.b", "a.b") && !re_matches(r"a\.b", "axb"));
    // `^\d\d\d$` exactly three digits.
    assert!(re_matches(r"^\d\d\d$", "123") && !re_matches(r"^\d\d\d$", "1234"));
    // `(?!alice).*` does not start with alice.
    assert!(re_matches("(?!alice).*", "bob@example.com"));
    assert!(!re_matches("(?!alice).*", "alice@example.com"));
    assert!(!re_matches("(?!alice).*", "ALICE@example.com"));
    // `.*(?<!net)` does not end with net.
    assert!(re_matches(".*(?<!net)", "bob@example.com"));
    assert!(!re_matches(".*(?<!net)", "bob@example.net"));
    assert!(!re_matches(".*(?<!net)", "bob@example.NET"));
}
