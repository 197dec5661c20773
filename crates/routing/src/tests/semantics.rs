//! Matching and rewriting rules: every behaviour for every type, case,
//! anchoring, look-around, replace-string syntax, errors, keywords.

use super::{apply, check, re_matches, vars};
use crate::*;

use Behavior::*;
use PatternType::*;

#[test]
fn exact_behaviours() {
    let a = "Alice@Example.com";
    let p = "alice@example.com";
    assert_eq!(apply(Exact, p, Leave, "", a).as_deref(), Some(a));
    assert_eq!(apply(Exact, p, Strip, "", a).as_deref(), Some(""));
    assert_eq!(apply(Exact, p, Replace, "bob", a).as_deref(), Some("bob"));
    assert_eq!(
        apply(Exact, p, AddPrefix, "sip:", a).as_deref(),
        Some("sip:Alice@Example.com")
    );
    assert_eq!(
        apply(Exact, p, AddSuffix, ";x", a).as_deref(),
        Some("Alice@Example.com;x")
    );
    for b in Behavior::ALL {
        assert_eq!(apply(Exact, p, b, "z", "alice@example.co"), None, "{b}");
        assert_eq!(apply(Exact, p, b, "z", "xalice@example.com"), None, "{b}");
    }
}

#[test]
fn prefix_behaviours() {
    let a = "0044123456";
    assert_eq!(apply(Prefix, "00", Leave, "", a).as_deref(), Some(a));
    assert_eq!(
        apply(Prefix, "00", Strip, "", a).as_deref(),
        Some("44123456")
    );
    assert_eq!(
        apply(Prefix, "00", Replace, "+", a).as_deref(),
        Some("+44123456")
    );
    assert_eq!(
        apply(Prefix, "00", AddPrefix, "9", a).as_deref(),
        Some("90044123456")
    );
    assert_eq!(
        apply(Prefix, "00", AddSuffix, "@gw", a).as_deref(),
        Some("0044123456@gw")
    );
    for b in Behavior::ALL {
        assert_eq!(apply(Prefix, "00", b, "z", "044"), None, "{b}");
        assert_eq!(apply(Prefix, "00", b, "z", "0"), None, "{b}");
    }
}

#[test]
fn suffix_behaviours() {
    let a = "bob@Example.COM";
    let p = "@example.com";
    assert_eq!(apply(Suffix, p, Leave, "", a).as_deref(), Some(a));
    assert_eq!(apply(Suffix, p, Strip, "", a).as_deref(), Some("bob"));
    assert_eq!(
        apply(Suffix, p, Replace, "@example.net", a).as_deref(),
        Some("bob@example.net")
    );
    assert_eq!(
        apply(Suffix, p, AddPrefix, "sip:", a).as_deref(),
        Some("sip:bob@Example.COM")
    );
    assert_eq!(
        apply(Suffix, p, AddSuffix, ";transport=tls", a).as_deref(),
        Some("bob@Example.COM;transport=tls")
    );
    for b in Behavior::ALL {
        assert_eq!(apply(Suffix, p, b, "z", "bob@example.com.au"), None, "{b}");
    }
}

#[test]
fn regex_behaviours() {
    let a = "Alice.Smith@example.com";
    let p = r"(\w+)\.(\w+)@(.*)";
    assert_eq!(apply(Regex, p, Leave, "", a).as_deref(), Some(a));
    // Strip removes everything the regex matched, i.e. the whole alias.
    assert_eq!(apply(Regex, p, Strip, "", a).as_deref(), Some(""));
    assert_eq!(
        apply(Regex, p, Replace, r"\2.\1@\3", a).as_deref(),
        Some("Smith.Alice@example.com")
    );
    assert_eq!(
        apply(Regex, p, AddPrefix, "sip:", a).as_deref(),
        Some("sip:Alice.Smith@example.com")
    );
    assert_eq!(
        apply(Regex, p, AddSuffix, ";x", a).as_deref(),
        Some("Alice.Smith@example.com;x")
    );
    // Additional text is a template too with a regex pattern.
    assert_eq!(
        apply(Regex, p, AddPrefix, r"\1-", a).as_deref(),
        Some("Alice-Alice.Smith@example.com")
    );
    for b in Behavior::ALL {
        assert_eq!(apply(Regex, p, b, "z", "alice@example.com"), None, "{b}");
    }
}

#[test]
fn comparisons_ignore_case() {
    assert!(check("ALICE@EXAMPLE.COM", Exact, "alice@example.com", Leave, "").matched);
    assert!(check("SIP:bob", Prefix, "sip:", Leave, "").matched);
    assert!(check("bob@EXAMPLE.com", Suffix, "@example.COM", Leave, "").matched);
    assert!(re_matches("[a-c]+@EXAMPLE\\.com", "ABC@example.COM"));
    // Non-ASCII letters fold too.
    assert!(check("ÉCOLE@example.fr", Prefix, "école", Leave, "").matched);
    assert!(check("Straße", Exact, "STRAßE", Leave, "").matched);
    assert!(re_matches("éCOLE", "École"));
    // The stripped remainder keeps the alias's own spelling.
    assert_eq!(
        check("ÉCOLE@Example.fr", Prefix, "école", Strip, "").alias,
        "@Example.fr"
    );
    assert_eq!(
        check("ÉCOLE@Ex.fr", Suffix, "@EX.FR", Strip, "").alias,
        "ÉCOLE"
    );
}

#[test]
fn regex_must_match_the_whole_alias() {
    assert!(!re_matches(r"\d+", "123abc"));
    assert!(!re_matches(r"\d+", "abc123"));
    assert!(!re_matches("alice", "alice@example.com"));
    assert!(!re_matches("example", "alice@example.com"));
    assert!(re_matches("alice.*", "alice@example.com"));
    // Alternation is anchored as a whole, not just its first/last branch.
    assert!(!re_matches("a|b", "ab"));
    assert!(!re_matches("a|b", "xb"));
    assert!(re_matches("a|ab", "ab"));
    // Explicit anchors are harmless.
    assert!(re_matches("^alice$", "Alice"));
    // An unmatched alias is reported unchanged.
    let r = check("123abc", Regex, r"(\d+)", Replace, r"\1@x");
    assert_eq!(
        r,
        CheckResult {
            matched: false,
            alias: "123abc".into()
        }
    );
}

#[test]
fn lookahead_and_lookbehind() {
    // Positive and negative look-ahead.
    assert!(re_matches(r"(?=\d{4}$)\d+", "1234"));
    assert!(!re_matches(r"(?=\d{4}$)\d+", "12345"));
    assert!(re_matches("(?!admin).*@example.com", "bob@example.com"));
    assert!(!re_matches("(?!admin).*@example.com", "Admin@example.com"));
    // Positive and negative look-behind.
    assert!(re_matches(r".*(?<=\.com)", "a@b.com"));
    assert!(!re_matches(r".*(?<=\.com)", "a@b.net"));
    assert!(re_matches(".*(?<!@example.com)", "a@example.net"));
    // Look-behind of varying length.
    assert!(re_matches(r".*(?<!\.(com|info))", "a@b.net"));
    assert!(!re_matches(r".*(?<!\.(com|info))", "a@b.info"));
    // Capture groups still work alongside look-around.
    assert_eq!(
        apply(
            Regex,
            r"(?!9)(\d+)@(?<!x)(.*)",
            Replace,
            r"\2/\1",
            "123@example.com"
        )
        .as_deref(),
        Some("example.com/123")
    );
    assert_eq!(
        apply(Regex, r"(?!9)(\d+)@(.*)", Replace, r"\2", "923@example.com"),
        None
    );
    // Backreferences in the pattern itself.
    assert!(re_matches(r"(\w+)@\1\.com", "bob@BOB.com"));
    assert!(!re_matches(r"(\w+)@\1\.com", "bob@alice.com"));
}

#[test]
fn replace_string_syntax() {
    // An unmatched group expands to nothing.
    assert_eq!(
        apply(Regex, r"(a)?(b)", Replace, r"[\1|\2]", "b").as_deref(),
        Some("[|b]")
    );
    // \0 is the whole alias.
    assert_eq!(
        apply(Regex, r"\d+", Replace, r"<\0>", "42").as_deref(),
        Some("<42>")
    );
    // One digit only: \10 is group 1 then "0".
    assert_eq!(
        apply(Regex, r"(\d)", Replace, r"\10", "7").as_deref(),
        Some("70")
    );
    // Unescaped parentheses group; escaped ones are kept.
    assert_eq!(
        apply(Regex, r"(\d+)", Replace, r"(\1)-\(\1\)", "5").as_deref(),
        Some("5-(5)")
    );
    // Other escapes give the character; a trailing backslash stays.
    assert_eq!(
        apply(Regex, r"(\d+)", Replace, r"\\\1\%ip%\", "5").as_deref(),
        Some(r"\5%ip%\")
    );
    // `$` is not special.
    assert_eq!(
        apply(Regex, r"(\d+)", Replace, "$1", "5").as_deref(),
        Some("$1")
    );
    // Non-regex replace strings are plain text.
    assert_eq!(
        apply(Suffix, "@a", Replace, r"@(b)\1", "x@a").as_deref(),
        Some(r"x@(b)\1")
    );
}

#[test]
fn strict_replace_rejects_missing_groups() {
    let v = vars();
    assert_eq!(
        Transform::new(Regex, r"(\d+)", Replace, r"\2", &v).unwrap_err(),
        PatternError::NoSuchGroup {
            group: 2,
            groups: 1
        }
    );
    // Strip/Leave never read the replace string.
    assert!(Transform::new(Regex, r"\d+", Leave, r"\5", &v).is_ok());
    // The lenient path expands a missing group to nothing.
    let p = Pattern::compile(Regex, r"(\d+)", &v).unwrap();
    assert_eq!(p.apply("12", Replace, r"\1\2", &v).as_deref(), Some("12"));
    assert_eq!(p.group_count(), 1);
    // Groups created by variable expansion do not count.
    let p = Pattern::compile(Regex, "(.*)@%localdomains%", &v).unwrap();
    assert_eq!(p.group_count(), 1);
}

#[test]
fn invalid_regexes_are_reported() {
    let v = vars();
    for (pattern, needle) in [
        ("(abc", "unclosed group"),
        ("abc)", "unopened group"),
        ("[a-", "unclosed character class"),
        ("[z-a]", "invalid character class range"),
        ("a{3,1}", "invalid repetition count range"),
        ("*a", "repetition operator missing expression"),
        ("a\\", "incomplete escape sequence"),
        ("(?!abc", "unclosed group"),
        ("(?=a)*b", "repeat"),
        ("(?=a)a{3,1}", "invalid repetition count range"),
        ("(?=a)b{", "unclosed counted repetition"),
        (r"(a)\1{2,1}", "invalid repetition count range"),
        ("(?=a)[z-a]", "invalid character class range"),
    ] {
        let err = Pattern::compile(Regex, pattern, &v).unwrap_err();
        let PatternError::InvalidRegex { pattern: p, reason } = &err else {
            panic!("{pattern}: {err:?}")
        };
        assert_eq!(p, pattern);
        assert!(
            reason.to_lowercase().contains(needle),
            "{pattern}: {reason}"
        );
        assert!(!reason.contains('\n'), "{pattern}: {reason}");
        let shown = err.to_string();
        assert!(shown.contains(&format!("{pattern:?}")), "{shown}");
        // check_pattern reports the same error.
        assert_eq!(
            check_pattern("x", Regex, pattern, Leave, "", &v).unwrap_err(),
            err
        );
    }
    // An unbalanced expression stays invalid even though wrapping could
    // balance it.
    assert!(Pattern::compile(Regex, "a)|(b", &v).is_err());
    // A verbose-mode comment cannot swallow the anchoring.
    let err = Pattern::compile(Regex, "(?x)a#", &v).unwrap_err();
    assert!(!err.to_string().contains('\n'), "{err}");
    // Deep nesting is refused, not a stack overflow.
    let deep = format!("{}a{}", "(".repeat(5000), ")".repeat(5000));
    assert!(Pattern::compile(Regex, &deep, &v).is_err());
    let deep = format!("(?=x){}a{}", "(".repeat(5000), ")".repeat(5000));
    assert!(Pattern::compile(Regex, &deep, &v).is_err());
    // Regex metacharacters mean nothing in the other types.
    assert!(Pattern::compile(Exact, "(abc", &v).unwrap().matches("(ABC"));
    assert!(Pattern::compile(Prefix, "a.*", &v).unwrap().matches("a.*b"));
    assert!(!Pattern::compile(Prefix, "a.*", &v).unwrap().matches("abc"));
}

#[test]
fn keywords_parse_ignoring_case_and_print_canonically() {
    for k in PatternType::ALL {
        assert_eq!(k.to_string().parse::<PatternType>().unwrap(), k);
        assert_eq!(
            k.to_string().to_uppercase().parse::<PatternType>().unwrap(),
            k
        );
        assert_eq!(
            k.to_string().to_lowercase().parse::<PatternType>().unwrap(),
            k
        );
    }
    for b in Behavior::ALL {
        assert_eq!(b.to_string().parse::<Behavior>().unwrap(), b);
        assert_eq!(b.to_string().to_lowercase().parse::<Behavior>().unwrap(), b);
    }
    assert_eq!(
        "addprefix".parse::<Behavior>().unwrap().to_string(),
        "AddPrefix"
    );
    assert_eq!("REGEX".parse::<PatternType>().unwrap().to_string(), "Regex");
    assert_eq!(
        "glob".parse::<PatternType>().unwrap_err(),
        PatternError::UnknownPatternType("glob".into())
    );
    assert!(matches!(
        "add prefix".parse::<Behavior>(),
        Err(PatternError::UnknownBehavior(_))
    ));
    assert_eq!(PatternType::default(), Prefix);
    assert_eq!(Behavior::default(), Strip);
}

#[test]
fn empty_patterns_and_aliases() {
    let v = vars();
    // An empty prefix or suffix matches everything and strips nothing.
    assert_eq!(apply(Prefix, "", Strip, "", "abc").as_deref(), Some("abc"));
    assert_eq!(
        apply(Suffix, "", Replace, "@x", "a").as_deref(),
        Some("a@x")
    );
    // An empty exact pattern / regex matches only the empty alias.
    assert!(Pattern::compile(Exact, "", &v).unwrap().matches(""));
    assert!(!Pattern::compile(Exact, "", &v).unwrap().matches("a"));
    assert!(Pattern::compile(Regex, "", &v).unwrap().matches(""));
    assert!(!Pattern::compile(Regex, "", &v).unwrap().matches("a"));
}

#[test]
fn transform_reports_its_parts() {
    let v = vars();
    let t = Transform::new(Suffix, "@a.net", Replace, "@a.com", &v).unwrap();
    assert_eq!(t.behavior(), Replace);
    assert_eq!(t.pattern().kind(), Suffix);
    assert_eq!(t.pattern().as_str(), "@a.net");
    assert_eq!(t.pattern().match_span("bob@a.net"), Some(3..9));
    assert_eq!(t.apply("bob@a.net").as_deref(), Some("bob@a.com"));
    assert_eq!(t.apply("bob@a.org"), None);
}
