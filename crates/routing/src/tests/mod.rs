//! Unit tests: the guide's worked examples, the behaviour matrix, variables
//! and property tests.

use crate::*;

mod guide;
mod props;
mod search;
mod search_policy;
mod semantics;
mod subzones;
mod variables;

/// A box with two SIP domains, both LANs on IPv4 and LAN 1 on IPv6.
pub(crate) fn vars() -> Variables {
    Variables {
        system_name: "vcs-core".into(),
        local_domains: vec!["example.com".into(), "example.org".into()],
        ipv4: vec!["192.0.2.10".into(), "198.51.100.10".into()],
        ipv6: vec!["2001:db8::10".into(), String::new()],
    }
}

/// `check_pattern` with [`vars`], unwrapped.
pub(crate) fn check(
    target: &str,
    kind: PatternType,
    pattern: &str,
    behavior: Behavior,
    replace: &str,
) -> CheckResult {
    check_pattern(target, kind, pattern, behavior, replace, &vars())
        .unwrap_or_else(|e| panic!("{kind} {pattern:?}: {e}"))
}

/// Compile with [`vars`] and apply.
pub(crate) fn apply(
    kind: PatternType,
    pattern: &str,
    behavior: Behavior,
    replace: &str,
    alias: &str,
) -> Option<String> {
    let v = vars();
    Pattern::compile(kind, pattern, &v)
        .unwrap_or_else(|e| panic!("{kind} {pattern:?}: {e}"))
        .apply(alias, behavior, replace, &v)
}

/// Whether `alias` matches a regex pattern (compiled with [`vars`]).
pub(crate) fn re_matches(pattern: &str, alias: &str) -> bool {
    Pattern::compile(PatternType::Regex, pattern, &vars())
        .unwrap_or_else(|e| panic!("{pattern:?}: {e}"))
        .matches(alias)
}
