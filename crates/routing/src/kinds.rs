//! The two small enumerations every pattern user configures: how a pattern
//! string is compared with an alias, and what happens to the alias when it
//! matches.

use std::fmt;
use std::str::FromStr;

use crate::PatternError;

/// How a pattern string is compared with an alias.
///
/// Parsing (`FromStr`) ignores ASCII case, so `"suffix"` and `"SUFFIX"` both
/// give [`PatternType::Suffix`]; `Display` prints the canonical spelling used
/// by the configuration tree (`Exact`, `Prefix`, `Suffix`, `Regex`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PatternType {
    /// The whole alias equals the pattern (ignoring case).
    Exact,
    /// The alias starts with the pattern (ignoring case). The configuration
    /// default for transforms and search rules.
    #[default]
    Prefix,
    /// The alias ends with the pattern (ignoring case).
    Suffix,
    /// The pattern is a regular expression that must match the whole alias,
    /// ignoring case.
    Regex,
}

impl PatternType {
    /// Every value, in valuespace order.
    pub const ALL: [PatternType; 4] = [
        PatternType::Exact,
        PatternType::Prefix,
        PatternType::Suffix,
        PatternType::Regex,
    ];

    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PatternType::Exact => "Exact",
            PatternType::Prefix => "Prefix",
            PatternType::Suffix => "Suffix",
            PatternType::Regex => "Regex",
        }
    }
}

impl fmt::Display for PatternType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PatternType {
    type Err = PatternError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PatternType::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| PatternError::UnknownPatternType(s.to_owned()))
    }
}

/// What happens to an alias that matches a pattern.
///
/// Parsing ignores ASCII case; `Display` gives the canonical spelling
/// (`Strip`, `Leave`, `Replace`, `AddPrefix`, `AddSuffix`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Behavior {
    /// Remove the matched part: the prefix for `Prefix`, the suffix for
    /// `Suffix`, everything (giving an empty alias) for `Exact` and `Regex`.
    /// The configuration default.
    #[default]
    Strip,
    /// Keep the alias as it is (the pattern only filters).
    Leave,
    /// Substitute the matched part with the replace string; for `Regex` the
    /// whole alias becomes the expanded replace string.
    Replace,
    /// Put the replace string (the "additional text") in front of the whole
    /// alias.
    AddPrefix,
    /// Append the replace string (the "additional text") to the whole alias.
    AddSuffix,
}

impl Behavior {
    /// Every value, in valuespace order.
    pub const ALL: [Behavior; 5] = [
        Behavior::Strip,
        Behavior::Leave,
        Behavior::Replace,
        Behavior::AddPrefix,
        Behavior::AddSuffix,
    ];

    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Behavior::Strip => "Strip",
            Behavior::Leave => "Leave",
            Behavior::Replace => "Replace",
            Behavior::AddPrefix => "AddPrefix",
            Behavior::AddSuffix => "AddSuffix",
        }
    }

    /// Whether this behaviour reads the replace string at all.
    pub fn uses_replace(self) -> bool {
        matches!(
            self,
            Behavior::Replace | Behavior::AddPrefix | Behavior::AddSuffix
        )
    }
}

impl fmt::Display for Behavior {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Behavior {
    type Err = PatternError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Behavior::ALL
            .into_iter()
            .find(|b| b.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| PatternError::UnknownBehavior(s.to_owned()))
    }
}
