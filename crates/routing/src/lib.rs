//! Routing core: alias patterns and their behaviours.
//!
//! One engine serves pre-search transforms, search rules and their zone
//! transforms, registration allow/deny lists and `xCommand CheckPattern`.
//!
//! * [`PatternType`] says how a pattern string is compared with an alias
//!   (`Exact`, `Prefix`, `Suffix`, `Regex`), [`Behavior`] what happens to a
//!   matching alias (`Strip`, `Leave`, `Replace`, `AddPrefix`, `AddSuffix`).
//! * [`Pattern::compile`] expands pattern variables from [`Variables`] and
//!   compiles once; [`Pattern::matches`] and [`Pattern::apply`] are then
//!   cheap. [`Transform`] also pre-parses the replace string.
//! * [`check_pattern`] is the diagnostic behind `xCommand CheckPattern`.
//!
//! Comparison rules (design decision 4.2):
//!
//! * every type ignores case;
//! * a `Regex` must match the *whole* alias — `(\d+)` matches `123` but not
//!   `123@example.com`;
//! * replace strings refer to regex groups as `\1` … `\9`;
//! * variables expand before matching, see [`Variables`] for the list.
//!
//! ```
//! use causeway_routing::{check_pattern, Behavior, PatternType, Variables};
//!
//! let vars = Variables::default();
//! let r = check_pattern("123", PatternType::Regex, r"(\d+)", Behavior::Replace,
//!                       r"\1@example.com", &vars).unwrap();
//! assert!(r.matched);
//! assert_eq!(r.alias, "123@example.com");
//! ```

pub mod checks;
pub mod cpl;
pub mod dialplan;
mod kinds;
mod pattern;
mod replace;
pub mod search;
pub mod subzones;
mod vars;

#[cfg(test)]
mod tests;

pub use dialplan::{Dialplan, Protocol};
pub use kinds::{Behavior, PatternType};
pub use pattern::{Pattern, Transform};
pub use replace::Replacement;
pub use search::{Answer, Query, Refusal, Search, SearchRequest, Source, Step, Target};
pub use vars::{Variables, MAX_LOCAL_DOMAIN_INDEX};

/// Why a pattern, replace string or keyword was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PatternError {
    /// The regular expression does not compile; `reason` says why.
    #[error("invalid regular expression {pattern:?}: {reason}")]
    InvalidRegex {
        /// The pattern as given (variables not expanded).
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A non-regex pattern whose variables expand to too many alternatives.
    #[error("pattern {pattern:?} expands to more alternatives than can be compiled: {reason}")]
    TooComplex {
        /// The pattern as given.
        pattern: String,
        /// Engine explanation.
        reason: String,
    },
    /// A set-valued variable (`%ip%`, `%ipv4%`, `%ipv6%`, `%localdomains%`)
    /// in a replace string, where one value is needed.
    #[error("{variable} stands for several values and cannot be used in a replace string")]
    VariableNotAllowedInReplace {
        /// The variable, e.g. `%ip%`.
        variable: String,
    },
    /// The replace string refers to a capture group the regex does not have.
    #[error(
        "replace string refers to group \\{group}, but the pattern has {groups} capture group(s)"
    )]
    NoSuchGroup {
        /// Highest group referenced.
        group: usize,
        /// Groups the pattern has (not counting the whole match).
        groups: usize,
    },
    /// Text that is not one of Exact, Prefix, Suffix, Regex.
    #[error("unknown pattern type {0:?} (expected Exact, Prefix, Suffix or Regex)")]
    UnknownPatternType(String),
    /// Text that is not one of Strip, Leave, Replace, AddPrefix, AddSuffix.
    #[error(
        "unknown pattern behavior {0:?} (expected Strip, Leave, Replace, AddPrefix or AddSuffix)"
    )]
    UnknownBehavior(String),
}

/// Outcome of [`check_pattern`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// Whether the alias matched the pattern.
    pub matched: bool,
    /// The alias after the behaviour was applied; the input alias unchanged
    /// when it did not match.
    pub alias: String,
}

/// Test `target` against a pattern and show what the behaviour makes of it
/// (Maintenance > Tools > Check pattern, `xCommand CheckPattern`).
///
/// The replace string is validated strictly, as for a configured transform
/// (see [`Transform::new`]), but only when `behavior` uses it.
pub fn check_pattern(
    target: &str,
    kind: PatternType,
    pattern: &str,
    behavior: Behavior,
    replace: &str,
    vars: &Variables,
) -> Result<CheckResult, PatternError> {
    let transform = Transform::new(kind, pattern, behavior, replace, vars)?;
    Ok(match transform.apply(target) {
        Some(alias) => CheckResult {
            matched: true,
            alias,
        },
        None => CheckResult {
            matched: false,
            alias: target.to_owned(),
        },
    })
}
