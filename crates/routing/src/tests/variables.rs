//! Pattern variables in patterns and replace strings.

use super::{apply, check, re_matches, vars};
use crate::*;

use Behavior::*;
use PatternType::*;

#[test]
fn systemname_in_every_type() {
    assert!(check("vcs-core", Exact, "%systemname%", Leave, "").matched);
    assert!(check("VCS-CORE.conf", Prefix, "%systemname%.", Leave, "").matched);
    assert!(check("room@vcs-core", Suffix, "@%SystemName%", Leave, "").matched);
    assert!(re_matches("(.*)@%SYSTEMNAME%", "room@vcs-core"));
    assert!(!re_matches("(.*)@%systemname%", "room@vcs-corex"));
    // The value is literal text in a regex, and the inserted group takes a
    // following quantifier as a whole.
    let v = Variables {
        system_name: "a.b".into(),
        ..Variables::default()
    };
    // Spaces in a value stay significant even in verbose mode.
    let spaced = Variables {
        system_name: "My VCS".into(),
        ..Variables::default()
    };
    let p = Pattern::compile(Regex, "(?x) a @ %systemname%", &spaced).unwrap();
    assert!(p.matches("a@my vcs"));
    assert!(!p.matches("a@myvcs"));
    let p = Pattern::compile(Regex, "%systemname%+", &v).unwrap();
    assert!(p.matches("a.ba.b"));
    assert!(!p.matches("axb"));
    assert!(!p.matches("a.bb"));
}

#[test]
fn localdomains_in_regex_is_an_alternation() {
    let p = "(.*)@%localdomains%";
    assert!(re_matches(p, "bob@example.com"));
    assert!(re_matches(p, "bob@example.org"));
    assert!(!re_matches(p, "bob@exampleXcom"));
    assert!(!re_matches(p, "bob@example.net"));
    // Groups in the administrator's pattern keep their numbers.
    assert_eq!(
        check(
            "bob@example.org",
            Regex,
            "(.*)@%localdomains%(.*)",
            Replace,
            r"\1\2"
        )
        .alias,
        "bob"
    );
}

#[test]
fn localdomains_in_plain_types_matches_any_domain() {
    for alias in ["bob@example.com", "bob@EXAMPLE.org"] {
        assert!(check(alias, Suffix, "@%localdomains%", Leave, "").matched);
    }
    assert!(!check("bob@example.net", Suffix, "@%localdomains%", Leave, "").matched);
    assert_eq!(
        check("bob@example.org", Suffix, "@%localdomains%", Strip, "").alias,
        "bob"
    );
    assert_eq!(
        check("example.com/x", Prefix, "%localdomains%/", Replace, "h/").alias,
        "h/x"
    );
    assert!(check("example.org", Exact, "%localdomains%", Leave, "").matched);
    assert!(!check("example.org.uk", Exact, "%localdomains%", Leave, "").matched);
    // Regex metacharacters in the surrounding text stay literal.
    assert!(!check("bobXexample.com", Suffix, ".%localdomains%", Leave, "").matched);
    assert!(check("bob.example.com", Suffix, ".%localdomains%", Leave, "").matched);
}

#[test]
fn prefix_and_suffix_take_the_longest_value() {
    let v = Variables {
        local_domains: vec!["b.c".into(), "a.b.c".into()],
        ..Variables::default()
    };
    let p = Pattern::compile(Suffix, "%localdomains%", &v).unwrap();
    assert_eq!(p.apply("x.a.b.c", Strip, "", &v).as_deref(), Some("x."));
    let p = Pattern::compile(Prefix, "%localdomains%", &v).unwrap();
    let v2 = Variables {
        local_domains: vec!["ab".into(), "abc".into()],
        ..Variables::default()
    };
    assert_eq!(p.apply("b.c.d", Strip, "", &v).as_deref(), Some(".d"));
    let p = Pattern::compile(Prefix, "%localdomains%", &v2).unwrap();
    assert_eq!(p.apply("abcd", Strip, "", &v2).as_deref(), Some("d"));
}

#[test]
fn localdomain_by_index() {
    assert!(check("bob@example.com", Suffix, "@%localdomain1%", Leave, "").matched);
    assert!(!check("bob@example.org", Suffix, "@%localdomain1%", Leave, "").matched);
    assert!(re_matches(".*@%LocalDomain2%", "bob@example.org"));
    // An index with no configured domain matches nothing (it must not
    // degrade into an empty prefix that matches everything).
    assert!(!check("anything", Prefix, "%localdomain3%", Leave, "").matched);
    assert!(!re_matches("(.*)%localdomain3%", "anything"));
    // Outside 1..=200, or spelled with a leading zero: ordinary text.
    assert!(check("%localdomain0%", Exact, "%localdomain0%", Leave, "").matched);
    assert!(check("%localdomain201%", Exact, "%localdomain201%", Leave, "").matched);
    assert!(check("%localdomain01%", Exact, "%localdomain01%", Leave, "").matched);
    let v = Variables {
        local_domains: (1..=200).map(|i| format!("d{i}.example")).collect(),
        ..Variables::default()
    };
    assert!(Pattern::compile(Exact, "%localdomain200%", &v)
        .unwrap()
        .matches("d200.example"));
    assert!(Pattern::compile(Regex, ".*@%localdomains%", &v)
        .unwrap()
        .matches("x@d137.example"));
}

#[test]
fn address_variables_in_patterns() {
    // %ip% covers every configured v4 and v6 address; empty ones are
    // skipped.
    for a in ["192.0.2.10", "198.51.100.10", "2001:db8::10"] {
        assert!(check(a, Exact, "%ip%", Leave, "").matched, "{a}");
    }
    assert!(!check("", Exact, "%ip%", Leave, "").matched);
    assert!(check("192.0.2.10", Exact, "%ipv4%", Leave, "").matched);
    assert!(!check("2001:db8::10", Exact, "%ipv4%", Leave, "").matched);
    assert!(check("2001:DB8::10", Exact, "%ipv6%", Leave, "").matched);
    assert!(check("192.0.2.10", Exact, "%ipv4_1%", Leave, "").matched);
    assert!(!check("198.51.100.10", Exact, "%ipv4_1%", Leave, "").matched);
    assert!(check("198.51.100.10", Exact, "%ipv4_2%", Leave, "").matched);
    assert!(check("2001:db8::10", Exact, "%ipv6_1%", Leave, "").matched);
    // LAN 2 has no IPv6 address: the variable matches nothing.
    assert!(!check("x", Prefix, "%ipv6_2%", Leave, "").matched);
    assert!(!re_matches("x|%ipv6_2%", "")); // and in a regex the branch is dead
    assert!(re_matches("x|%ipv6_2%", "x"));
    assert!(re_matches(
        r"sip:.*@%ipv4%(:\d+)?",
        "sip:bob@198.51.100.10:5061"
    ));
    assert!(!re_matches(
        r"sip:.*@%ipv4%(:\d+)?",
        "sip:bob@198x51.100.10"
    ));
}

#[test]
fn cluster_peer_addresses_follow_the_lan_pairs() {
    // [this lan1, this lan2, peer lan1, peer lan2]
    let v = Variables {
        ipv4: vec![
            "10.0.0.1".into(),
            "10.1.0.1".into(),
            "10.0.0.2".into(),
            "10.1.0.2".into(),
        ],
        ..Variables::default()
    };
    let lan1 = Pattern::compile(Exact, "%ipv4_1%", &v).unwrap();
    assert!(lan1.matches("10.0.0.1") && lan1.matches("10.0.0.2"));
    assert!(!lan1.matches("10.1.0.1"));
    let lan2 = Pattern::compile(Regex, "%ipv4_2%", &v).unwrap();
    assert!(lan2.matches("10.1.0.2") && !lan2.matches("10.0.0.2"));
    // In a replace string only this box's own address is used.
    assert_eq!(
        lan1.apply("10.0.0.2", Replace, "%ipv4_1%", &v).as_deref(),
        Some("10.0.0.1")
    );
}

#[test]
fn variables_in_replace_strings() {
    assert_eq!(
        check("bob", Exact, "bob", AddSuffix, "@%systemname%").alias,
        "bob@vcs-core"
    );
    assert_eq!(
        check("bob", Regex, "(.*)", Replace, r"\1@%localdomain2%").alias,
        "bob@example.org"
    );
    assert_eq!(
        check("bob", Prefix, "b", AddSuffix, "@%ipv4_2%").alias,
        "bob@198.51.100.10"
    );
    assert_eq!(
        check("bob", Prefix, "b", AddSuffix, "@[%IPv6_1%]").alias,
        "bob@[2001:db8::10]"
    );
    // Unconfigured values expand to nothing.
    assert_eq!(
        check("bob", Prefix, "b", AddSuffix, "@%ipv6_2%").alias,
        "bob@"
    );
    assert_eq!(
        check("bob", Prefix, "b", AddSuffix, "@%localdomain9%").alias,
        "bob@"
    );
    // The inserted value is not reinterpreted as template syntax.
    let v = Variables {
        system_name: r"a\1(b)".into(),
        ..Variables::default()
    };
    let p = Pattern::compile(Regex, "(x)", &v).unwrap();
    assert_eq!(
        p.apply("x", Replace, r"%systemname%\1", &v).as_deref(),
        Some(r"a\1(b)x")
    );
}

#[test]
fn set_valued_variables_are_refused_in_strict_replace_strings() {
    let v = vars();
    for var in ["%ip%", "%ipv4%", "%IPv6%", "%localdomains%"] {
        let err = check_pattern("bob", Prefix, "b", Replace, &format!("x{var}"), &v).unwrap_err();
        assert_eq!(
            err,
            PatternError::VariableNotAllowedInReplace {
                variable: var.to_lowercase()
            }
        );
        assert!(err.to_string().contains(&var.to_lowercase()));
        // Leave / Strip do not read the replace string.
        assert!(check_pattern("bob", Prefix, "b", Strip, var, &v).is_ok());
        // The lenient path keeps the text as written.
        let p = Pattern::compile(Prefix, "b", &v).unwrap();
        assert_eq!(
            p.apply("bob", AddSuffix, var, &v),
            Some(format!("bob{var}"))
        );
    }
}

#[test]
fn text_that_is_not_a_variable_is_literal() {
    // Percent-encoding and unknown names.
    assert!(check("bob%40example.com", Exact, "bob%40example.com", Leave, "").matched);
    assert!(check("%foo%", Exact, "%foo%", Leave, "").matched);
    assert!(check("%foo%vcs-core", Exact, "%foo%%systemname%", Leave, "").matched);
    assert!(check("50%", Suffix, "%", Leave, "").matched);
    assert!(re_matches("%.*%", "%anything%"));
    // An escaped percent sign protects a variable name in a regex.
    assert!(re_matches(r"\%ip%", "%ip%"));
    assert!(!re_matches(r"\%ip%", "192.0.2.10"));
    // Non-ASCII around percent signs is handled.
    assert!(check("é%é", Exact, "É%É", Leave, "").matched);
}

#[test]
fn no_variables_configured() {
    let v = Variables::default();
    for p in ["%localdomains%", "%ip%", "%ipv4%", "%systemname%"] {
        for kind in PatternType::ALL {
            let pat = Pattern::compile(kind, p, &v).unwrap();
            assert!(!pat.matches(""), "{kind} {p}");
            assert!(!pat.matches("x"), "{kind} {p}");
        }
    }
    assert_eq!(
        apply(Prefix, "a", AddPrefix, "%systemname%-", "abc").as_deref(),
        Some("vcs-core-abc")
    );
}
