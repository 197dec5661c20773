//! NAPTR substitution expressions (RFC 3402 §3.2): `<d>ERE<d>replacement<d>flags`, where `<d>`
//! is any character but a digit, a backslash or the flag `i`, the ERE is POSIX extended syntax
//! and the replacement may use `\1`..`\9`.

use regex::{Regex, RegexBuilder};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubstError {
    #[error("the substitution expression is empty")]
    Empty,
    #[error("{0:?} cannot delimit a substitution expression (digits, backslash and i cannot)")]
    BadDelimiter(char),
    #[error("a substitution expression needs exactly three delimiters")]
    Shape,
    #[error("unknown substitution flag {0:?} (only i is defined)")]
    Flag(char),
    #[error("the expression ends in a lone backslash")]
    TrailingBackslash,
    #[error("back-references are not part of POSIX extended expressions")]
    BackReferenceInPattern,
    #[error("POSIX collating elements and equivalence classes are not supported")]
    Collation,
    #[error("the replacement refers to group {group} but the expression has {groups}")]
    MissingGroup { group: usize, groups: usize },
    #[error("the expression does not compile: {0}")]
    Regex(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Group(usize),
}

/// A parsed substitution expression, ready to apply.
#[derive(Debug, Clone)]
pub struct Substitution {
    regex: Regex,
    replacement: Vec<Piece>,
}

impl Substitution {
    pub fn parse(expression: &str) -> Result<Substitution, SubstError> {
        let mut chars = expression.chars();
        let delimiter = chars.next().ok_or(SubstError::Empty)?;
        if delimiter.is_ascii_digit() || delimiter == '\\' || delimiter == 'i' {
            return Err(SubstError::BadDelimiter(delimiter));
        }
        let parts = split_on(chars.as_str(), delimiter)?;
        let [pattern, replacement, flags] = parts;
        let mut case_insensitive = false;
        for flag in flags.chars() {
            match flag {
                'i' => case_insensitive = true,
                other => return Err(SubstError::Flag(other)),
            }
        }
        let regex = RegexBuilder::new(&ere_to_rust(&pattern, delimiter)?)
            .case_insensitive(case_insensitive)
            .build()
            .map_err(|e| SubstError::Regex(e.to_string()))?;
        let replacement = parse_replacement(&replacement)?;
        let groups = regex.captures_len() - 1;
        for piece in &replacement {
            if let Piece::Group(group) = piece {
                if *group > groups {
                    return Err(SubstError::MissingGroup {
                        group: *group,
                        groups,
                    });
                }
            }
        }
        Ok(Substitution { regex, replacement })
    }

    /// The rewritten string, or None when the expression does not match. The whole input is
    /// replaced, not just the matched part: ENUM records are written that way (`^...$`) and
    /// deployed resolvers behave so for the rest.
    pub fn apply(&self, input: &str) -> Option<String> {
        let captures = self.regex.captures(input)?;
        let mut out = String::new();
        for piece in &self.replacement {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Group(group) => {
                    out.push_str(captures.get(*group).map_or("", |m| m.as_str()));
                }
            }
        }
        Some(out)
    }
}

/// Splits at unescaped delimiters; `\<d>` stays escaped so each part can read it.
fn split_on(body: &str, delimiter: char) -> Result<[String; 3], SubstError> {
    let mut parts = vec![String::new()];
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let next = chars.next().ok_or(SubstError::TrailingBackslash)?;
            let part = parts.last_mut().expect("never empty");
            part.push('\\');
            part.push(next);
        } else if c == delimiter {
            parts.push(String::new());
        } else {
            parts.last_mut().expect("never empty").push(c);
        }
    }
    // "!a!b!" splits into a, b and the empty flags; anything else is malformed.
    if parts.len() != 3 {
        return Err(SubstError::Shape);
    }
    let flags = parts.pop().expect("three parts");
    let replacement = parts.pop().expect("three parts");
    let pattern = parts.pop().expect("three parts");
    Ok([pattern, replacement, flags])
}

fn parse_replacement(text: &str) -> Result<Vec<Piece>, SubstError> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            literal.push(c);
            continue;
        }
        match chars.next().ok_or(SubstError::TrailingBackslash)? {
            d @ '1'..='9' => {
                if !literal.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Group(d as usize - '0' as usize));
            }
            // `\<delimiter>`, `\\` and any other escaped character stand for themselves.
            other => literal.push(other),
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Text(literal));
    }
    Ok(pieces)
}

/// Rewrites a POSIX ERE into the regex crate's syntax. The two agree on everything ENUM
/// records use except bracket expressions, where POSIX takes a backslash literally and the
/// regex crate gives `[`, `&`, `~` and `-` pairs special meanings.
fn ere_to_rust(ere: &str, delimiter: char) -> Result<String, SubstError> {
    let chars: Vec<char> = ere.chars().collect();
    let mut out = String::with_capacity(ere.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let next = *chars.get(i + 1).ok_or(SubstError::TrailingBackslash)?;
                if next.is_ascii_digit() && next != '0' {
                    return Err(SubstError::BackReferenceInPattern);
                }
                if next == delimiter && !next.is_ascii_punctuation() {
                    out.push(next);
                } else {
                    out.push('\\');
                    out.push(next);
                }
                i += 2;
            }
            '[' => i = bracket(&chars, i, &mut out)?,
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Copies the bracket expression starting at `chars[start]` and returns the index after it.
fn bracket(chars: &[char], start: usize, out: &mut String) -> Result<usize, SubstError> {
    let mut i = start + 1;
    out.push('[');
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    // A `]` first in the list is a literal, not the end.
    if chars.get(i) == Some(&']') {
        out.push_str("\\]");
        i += 1;
    }
    while i < chars.len() {
        let c = chars[i];
        match c {
            ']' => {
                out.push(']');
                return Ok(i + 1);
            }
            '[' if chars.get(i + 1) == Some(&':') => {
                let end = (i + 2..chars.len().saturating_sub(1))
                    .find(|&j| chars[j] == ':' && chars[j + 1] == ']')
                    .ok_or_else(|| SubstError::Regex("unterminated character class".into()))?;
                out.extend(&chars[i..end + 2]);
                i = end + 2;
            }
            '[' if matches!(chars.get(i + 1), Some('.') | Some('=')) => {
                return Err(SubstError::Collation);
            }
            '\\' | '[' | '&' | '~' => {
                out.push('\\');
                out.push(c);
                i += 1;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                out.push_str("\\-");
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Err(SubstError::Regex("unterminated bracket expression".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(expression: &str, input: &str) -> Option<String> {
        Substitution::parse(expression).unwrap().apply(input)
    }

    #[test]
    fn the_guides_examples() {
        assert_eq!(
            apply(r"!^(.*)$!sip:\1@example.com!", "44123456789").as_deref(),
            Some("sip:44123456789@example.com")
        );
        assert_eq!(
            apply(r"!^(.*)$!h323:\1@example.com!", "1234").as_deref(),
            Some("h323:1234@example.com")
        );
    }

    #[test]
    fn rfc_3761_style_records() {
        assert_eq!(
            apply(r"!^\+441234(.*)$!sip:\1@example.net!", "+4412345678").as_deref(),
            Some("sip:5678@example.net")
        );
        assert_eq!(
            apply(r"!^.*$!sip:info@example.com!", "+4412345678").as_deref(),
            Some("sip:info@example.com")
        );
        assert_eq!(apply(r"!^\+1(.*)$!sip:\1@us!", "+4412345678"), None);
    }

    #[test]
    fn several_groups_and_a_group_that_did_not_take_part() {
        assert_eq!(
            apply(r"!^(44)(1)?([0-9]+)$!sip:\3-\2-\1@x!", "445678").as_deref(),
            Some("sip:5678--44@x")
        );
    }

    #[test]
    fn other_delimiters_and_escaped_delimiters() {
        assert_eq!(
            apply(r"/^(.*)$/sip:\1@a\/b/", "12").as_deref(),
            Some("sip:12@a/b")
        );
        assert_eq!(
            apply(r"#^1(.*)$#sip:\1\#x@y#", "123").as_deref(),
            Some("sip:23#x@y")
        );
        assert_eq!(
            apply(r"!^(.*)\!$!sip:\1@y!", "12!").as_deref(),
            Some("sip:12@y")
        );
        assert_eq!(apply(r"!^(.*)$!a\\b!", "1").as_deref(), Some(r"a\b"));
    }

    #[test]
    fn the_i_flag_makes_matching_case_insensitive() {
        assert_eq!(apply(r"!^ab(.*)$!sip:\1@x!", "ABc"), None);
        assert_eq!(
            apply(r"!^ab(.*)$!sip:\1@x!i", "ABc").as_deref(),
            Some("sip:c@x")
        );
    }

    #[test]
    fn posix_bracket_expressions() {
        assert_eq!(
            apply(r"!^([[:digit:]]+)$!sip:\1@x!", "123").as_deref(),
            Some("sip:123@x")
        );
        // In POSIX a backslash inside brackets is itself a member of the set.
        assert_eq!(apply(r"!^([\.]+)$!ok!", r"\.\").as_deref(), Some("ok"));
        assert_eq!(apply(r"!^[]a]+$!ok!", "]a]").as_deref(), Some("ok"));
        assert_eq!(apply(r"!^[^0-9]$!ok!", "5"), None);
    }

    #[test]
    fn malformed_expressions_are_refused() {
        assert_eq!(Substitution::parse("").unwrap_err(), SubstError::Empty);
        assert_eq!(
            Substitution::parse("1a1b1").unwrap_err(),
            SubstError::BadDelimiter('1')
        );
        assert_eq!(Substitution::parse("!a!b").unwrap_err(), SubstError::Shape);
        assert_eq!(
            Substitution::parse("!a!b!c!").unwrap_err(),
            SubstError::Shape
        );
        assert_eq!(
            Substitution::parse("!a!b!g").unwrap_err(),
            SubstError::Flag('g')
        );
        assert_eq!(
            Substitution::parse(r"!(a)\1!b!").unwrap_err(),
            SubstError::BackReferenceInPattern
        );
        assert_eq!(
            Substitution::parse(r"!(a)!\2!").unwrap_err(),
            SubstError::MissingGroup {
                group: 2,
                groups: 1
            }
        );
        assert!(matches!(
            Substitution::parse("!(a!b!").unwrap_err(),
            SubstError::Regex(_)
        ));
        assert_eq!(
            Substitution::parse("![[.a.]]!b!").unwrap_err(),
            SubstError::Collation
        );
    }
}
