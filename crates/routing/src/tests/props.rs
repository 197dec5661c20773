//! Property tests: nothing panics on arbitrary input, and the behaviours keep
//! their invariants.

use proptest::prelude::*;

use super::vars;
use crate::*;

/// Fragments that exercise regex syntax, variables and escapes.
const TOKENS: &[&str] = &[
    "a",
    "B",
    "1",
    "9",
    "@",
    ".",
    "-",
    "_",
    " ",
    "(",
    ")",
    "(?:",
    "(?i)",
    "(?-i)",
    "(?x)",
    "[",
    "]",
    "[^",
    "\\",
    "\\d",
    "\\w",
    "\\1",
    "\\2",
    "\\0",
    "\\(",
    "\\%",
    "|",
    "*",
    "+",
    "?",
    "{",
    "}",
    "{2}",
    "{1,3}",
    "{,",
    "^",
    "$",
    "(?!",
    "(?=",
    "(?<!",
    "(?<=",
    "(?>",
    "(?P<n>",
    "\\k<n>",
    "#",
    "%",
    "%ip%",
    "%ipv4%",
    "%IPV6_1%",
    "%ipv4_2%",
    "%localdomains%",
    "%localdomain1%",
    "%localdomain200%",
    "%systemname%",
    "%foo%",
    "é",
    "ß",
    "K",
    "İ",
    "\u{212A}",
    "\n",
    "*?",
    "++",
    "\\b",
    "\\p{L}",
    "\\x{41}",
    "\\Q",
];

fn token_string(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(TOKENS).prop_map(str::to_owned),
            1 => any::<char>().prop_map(String::from),
        ],
        0..max,
    )
    .prop_map(|v| v.concat())
}

fn kind() -> impl Strategy<Value = PatternType> {
    prop::sample::select(PatternType::ALL.to_vec())
}

fn behavior() -> impl Strategy<Value = Behavior> {
    prop::sample::select(Behavior::ALL.to_vec())
}

fn alias() -> impl Strategy<Value = String> {
    prop_oneof![token_string(12), "[a-zA-Z0-9@._%-]{0,24}", any::<String>(),]
}

proptest! {
    // PROPTEST_CASES raises the count for a longer soak.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(2000),
        .. ProptestConfig::default()
    })]

    /// Compile, match, apply and check never panic, whatever the input.
    #[test]
    fn never_panics(
        kind in kind(),
        behavior in behavior(),
        pattern in token_string(16),
        alias in alias(),
        replace in token_string(8),
    ) {
        let v = vars();
        let _ = check_pattern(&alias, kind, &pattern, behavior, &replace, &v);
        if let Ok(p) = Pattern::compile(kind, &pattern, &v) {
            let matched = p.matches(&alias);
            let span = p.match_span(&alias);
            prop_assert_eq!(matched, span.is_some());
            if let Some(r) = &span {
                prop_assert!(alias.is_char_boundary(r.start) && alias.is_char_boundary(r.end));
            }
            for b in Behavior::ALL {
                let out = p.apply(&alias, b, &replace, &v);
                prop_assert_eq!(out.is_some(), matched);
            }
            let out = p.apply(&alias, behavior, &replace, &v);
            if let Some(out) = out {
                match behavior {
                    Behavior::Leave => prop_assert_eq!(&out, &alias),
                    Behavior::AddPrefix => prop_assert!(out.ends_with(alias.as_str())),
                    Behavior::AddSuffix => prop_assert!(out.starts_with(alias.as_str())),
                    Behavior::Strip if kind == PatternType::Prefix => {
                        prop_assert!(alias.ends_with(out.as_str()))
                    }
                    Behavior::Strip if kind == PatternType::Suffix => {
                        prop_assert!(alias.starts_with(out.as_str()))
                    }
                    Behavior::Strip => prop_assert_eq!(out, ""),
                    Behavior::Replace => {}
                }
            }
        }
    }

    /// With no variables involved, `Exact`/`Prefix`/`Suffix` agree with an
    /// escaped regex (`p`, `p.*`, `.*p`), for case-mixed ASCII text.
    #[test]
    fn plain_types_agree_with_regex(
        pat in "[a-cA-C@.]{0,4}",
        alias in "[a-cA-C@.]{0,8}",
    ) {
        let v = Variables::default();
        let esc = regex::escape(&pat);
        for (kind, re) in [
            (PatternType::Exact, esc.clone()),
            (PatternType::Prefix, format!("{esc}.*")),
            (PatternType::Suffix, format!(".*{esc}")),
        ] {
            let plain = Pattern::compile(kind, &pat, &v).unwrap();
            let regex = Pattern::compile(PatternType::Regex, &re, &v).unwrap();
            prop_assert_eq!(plain.matches(&alias), regex.matches(&alias), "{} {:?}", kind, pat);
        }
    }

    /// A pattern whose set-valued variable is compiled as a regex gives the
    /// same answer as trying each value as a plain pattern.
    #[test]
    fn set_valued_variables_match_like_any_value(
        kind in prop::sample::select(vec![PatternType::Exact, PatternType::Prefix, PatternType::Suffix]),
        domains in prop::collection::vec("[ab.]{1,3}", 1..4),
        around in "[ab@]{0,2}",
        alias in "[ab.@]{0,8}",
    ) {
        let v = Variables { local_domains: domains.clone(), ..Variables::default() };
        let text = format!("{around}%localdomains%");
        let set = Pattern::compile(kind, &text, &v).unwrap();
        let any = domains.iter().any(|d| {
            Pattern::compile(kind, &format!("{around}{d}"), &Variables::default())
                .unwrap()
                .matches(&alias)
        });
        prop_assert_eq!(set.matches(&alias), any);
    }

    /// Prefix/Suffix Strip and Replace only touch the matched end.
    #[test]
    fn prefix_suffix_replace_keeps_the_rest(
        pat in "[a-c]{1,3}",
        rest in "[a-d@]{0,6}",
        rep in "[x-z]{0,3}",
    ) {
        let v = Variables::default();
        let p = Pattern::compile(PatternType::Prefix, &pat, &v).unwrap();
        let alias = format!("{}{rest}", pat.to_uppercase());
        prop_assert_eq!(p.apply(&alias, Behavior::Replace, &rep, &v), Some(format!("{rep}{rest}")));
        prop_assert_eq!(p.apply(&alias, Behavior::Strip, &rep, &v), Some(rest.clone()));
        let s = Pattern::compile(PatternType::Suffix, &pat, &v).unwrap();
        let alias = format!("{rest}{}", pat.to_uppercase());
        prop_assert_eq!(s.apply(&alias, Behavior::Replace, &rep, &v), Some(format!("{rest}{rep}")));
        prop_assert_eq!(s.apply(&alias, Behavior::Strip, &rep, &v), Some(rest));
    }
}
