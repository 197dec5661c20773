//! Regular expressions in scripts.
//!
//! Alias patterns go through the crate's pattern engine (whole-value match,
//! case ignored, look-around available) so a script and a transform read
//! the same expression the same way.

use crate::{Behavior, Pattern, PatternError, PatternType, Transform, Variables};

/// Same cap as the pattern engine's.
const SIZE_LIMIT: usize = 4 << 20;

/// Compile a script's alias regex: whole-value match, case ignored, `%`
/// literal.
pub(crate) fn compile_regex(v: &str) -> Result<Pattern, PatternError> {
    Pattern::compile(
        PatternType::Regex,
        &literal_percent(v),
        &Variables::default(),
    )
    .map_err(|e| restore_source(e, v))
}

/// Pattern variables (`%ip%`, ...) belong to transforms and search rules;
/// in a script `%` is an ordinary character, so escape it before handing
/// the text to the shared pattern engine.
fn literal_percent(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push('\\');
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            '%' => out.push_str("\\%"),
            other => out.push(other),
        }
    }
    out
}

/// Errors should quote the expression as the author wrote it, not the
/// escaped copy the engine saw.
fn restore_source(e: PatternError, original: &str) -> PatternError {
    match e {
        PatternError::InvalidRegex { reason, .. } => PatternError::InvalidRegex {
            pattern: original.to_owned(),
            reason,
        },
        PatternError::TooComplex { reason, .. } => PatternError::TooComplex {
            pattern: original.to_owned(),
            reason,
        },
        other => other,
    }
}

/// A location's `regex`/`replace` pair (or the source-url variant).
pub(crate) fn compile_rewrite(pattern: &str, replace: &str) -> Result<Transform, PatternError> {
    Transform::new(
        PatternType::Regex,
        &literal_percent(pattern),
        Behavior::Replace,
        &literal_percent(replace),
        &Variables::default(),
    )
    .map_err(|e| restore_source(e, pattern))
}

/// `message-regex`: searched for anywhere in the SIP message, unlike alias
/// patterns, because a whole message never equals a useful expression.
#[derive(Debug, Clone)]
pub(crate) enum MessageRegex {
    Std(regex::Regex),
    Fancy(fancy_regex::Regex),
}

impl MessageRegex {
    pub fn compile(v: &str) -> Result<Self, PatternError> {
        let err = match regex::RegexBuilder::new(v)
            .case_insensitive(true)
            .multi_line(true)
            .size_limit(SIZE_LIMIT)
            .build()
        {
            Ok(r) => return Ok(MessageRegex::Std(r)),
            Err(e) => e,
        };
        // Look-around and backreferences need the backtracking engine.
        fancy_regex::RegexBuilder::new(&format!("(?im){v}"))
            .delegate_size_limit(SIZE_LIMIT)
            .build()
            .map(MessageRegex::Fancy)
            .map_err(|_| PatternError::InvalidRegex {
                pattern: v.to_owned(),
                reason: match &err {
                    regex::Error::Syntax(msg) => msg
                        .lines()
                        .rev()
                        .find_map(|l| l.strip_prefix("error: "))
                        .unwrap_or(msg)
                        .to_owned(),
                    other => other.to_string(),
                },
            })
    }

    pub fn is_match(&self, message: &str) -> bool {
        match self {
            MessageRegex::Std(r) => r.is_match(message),
            // Hitting the backtracking limit is treated as no match.
            MessageRegex::Fancy(r) => r.is_match(message).unwrap_or(false),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            MessageRegex::Std(r) => r.as_str(),
            MessageRegex::Fancy(r) => r.as_str().strip_prefix("(?im)").unwrap_or(r.as_str()),
        }
    }
}
