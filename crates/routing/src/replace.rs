//! Replace strings ("Replace string" / "Additional text").
//!
//! With an `Exact`, `Prefix` or `Suffix` pattern the replace string is plain
//! text in which variables are expanded.
//!
//! With a `Regex` pattern it is a template:
//!
//! * `\1` … `\9` insert capture group 1 … 9 (`\0` the whole alias); a group
//!   that took no part in the match inserts nothing. Only one digit is read,
//!   so `\10` is group 1 followed by `0`.
//! * `\` before any other character inserts that character literally (`\\`,
//!   `\(`, `\%`); a lone trailing `\` is kept.
//! * Unescaped `(` and `)` only group and are not copied to the result. This
//!   follows the Boost "extended" format syntax and is what makes the guide's
//!   ENUM example (`8(\d{4})` replaced by `44123123(\1)` giving
//!   `44123123xxxx`) come out as documented. Write `\(` for a real
//!   parenthesis.
//! * Variables are expanded; the inserted value is never reinterpreted.
//!
//! Variables allowed in a replace string are the single-valued ones:
//! `%systemname%`, `%localdomain1%`..`%localdomain200%`, `%ipv4_1%`,
//! `%ipv4_2%`, `%ipv6_1%`, `%ipv6_2%` (always this box's own address). The
//! set-valued `%ip%`, `%ipv4%`, `%ipv6%` and `%localdomains%` have no single
//! value: the strict parser ([`Replacement::parse`], used by
//! [`crate::Transform::new`] and [`crate::check_pattern`]) rejects them, the
//! lenient one used by [`crate::Pattern::apply`] keeps them as literal text.
//! A variable whose value is not configured expands to nothing.

use crate::vars::{split, Piece, Variables};
use crate::{PatternError, PatternType};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Group(usize),
}

/// A parsed replace string, ready to be expanded against a match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Replacement {
    parts: Vec<Part>,
    /// Highest group referenced (0 when none).
    max_group: usize,
}

impl Replacement {
    /// Parse strictly: a set-valued variable is an error.
    pub fn parse(kind: PatternType, text: &str, vars: &Variables) -> Result<Self, PatternError> {
        Self::build(kind, text, vars, true)
    }

    /// Parse leniently: never fails; set-valued variables stay as text.
    pub fn parse_lenient(kind: PatternType, text: &str, vars: &Variables) -> Self {
        // Cannot fail in lenient mode.
        Self::build(kind, text, vars, false).unwrap_or_default()
    }

    fn build(
        kind: PatternType,
        text: &str,
        vars: &Variables,
        strict: bool,
    ) -> Result<Self, PatternError> {
        let template = kind == PatternType::Regex;
        let mut rep = Replacement::default();
        let mut lit = String::new();
        for piece in split(text, template) {
            match piece {
                Piece::Var(var, spelled) => match var.replace_value(vars) {
                    Some(v) => lit.push_str(v),
                    None if strict => {
                        return Err(PatternError::VariableNotAllowedInReplace {
                            variable: var.token(),
                        })
                    }
                    None => lit.push_str(spelled),
                },
                Piece::Text(t) if !template => lit.push_str(t),
                Piece::Text(t) => {
                    let mut chars = t.chars();
                    while let Some(c) = chars.next() {
                        match c {
                            '\\' => match chars.next() {
                                Some(d @ '0'..='9') => {
                                    if !lit.is_empty() {
                                        rep.parts.push(Part::Text(std::mem::take(&mut lit)));
                                    }
                                    let g = (d as u8 - b'0') as usize;
                                    rep.max_group = rep.max_group.max(g);
                                    rep.parts.push(Part::Group(g));
                                }
                                Some(other) => lit.push(other),
                                None => lit.push('\\'),
                            },
                            '(' | ')' => {}
                            other => lit.push(other),
                        }
                    }
                }
            }
        }
        if !lit.is_empty() {
            rep.parts.push(Part::Text(lit));
        }
        Ok(rep)
    }

    /// Highest capture group the template refers to (0 if none).
    pub fn max_group(&self) -> usize {
        self.max_group
    }

    /// Whether expanding needs capture groups at all.
    pub(crate) fn needs_groups(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Group(_)))
    }

    /// Expand into `out`, looking groups up with `group`.
    pub(crate) fn expand_into<'h>(
        &self,
        out: &mut String,
        group: impl Fn(usize) -> Option<&'h str>,
    ) {
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Group(g) => out.push_str(group(*g).unwrap_or("")),
            }
        }
    }

    /// Total literal length, a cheap capacity hint.
    pub(crate) fn literal_len(&self) -> usize {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.len(),
                Part::Group(_) => 0,
            })
            .sum()
    }

    /// The text without any group references (used when there is no match
    /// data, e.g. for non-regex patterns where `\N` is never parsed).
    pub(crate) fn expand_plain(&self, out: &mut String) {
        self.expand_into(out, |_| None);
    }
}
