//! Response records in the style operators of this class of product script against:
//! `*c` configuration, `*s` status, `*r` command results, `*h` help; a response ends with `OK`,
//! or with an error record (`*r …Result (status=Error): … *r/end`).

use std::fmt::Write as _;

/// A value in a record: strings are printed in quotes, numbers and keywords bare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Str(String),
    Bare(String),
}

impl Field {
    pub fn str(s: impl Into<String>) -> Field {
        Field::Str(s.into())
    }
    pub fn bare(s: impl ToString) -> Field {
        Field::Bare(s.to_string())
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Field::Str(s) => {
                // Escape only what the parser would otherwise read differently, so that regexes
                // print as typed: a backslash before a quote, a backslash or the end, and quotes.
                f.write_char('"')?;
                let mut chars = s.chars().peekable();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' if matches!(chars.peek(), None | Some('"') | Some('\\')) => {
                            f.write_str("\\\\")?
                        }
                        c => f.write_char(c)?,
                    }
                }
                f.write_char('"')
            }
            Field::Bare(s) => f.write_str(s),
        }
    }
}

/// The result of one xAPI line.
#[cfg(test)]
mod tests {
    use super::Field;
    use crate::parse::{parse, Request};

    #[test]
    fn printed_strings_parse_back_to_themselves() {
        for s in [
            r"a\b",
            r"(\d+)@x",
            r"a\",
            r#"say "hi""#,
            r"\\",
            r#"\""#,
            "plain",
            "",
        ] {
            let line = format!("xConfiguration SystemUnit Name: {}", Field::str(s));
            match parse(&line).unwrap() {
                Request::ConfigSet { value, .. } => assert_eq!(value, s, "{line}"),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(Field::str(r"(\d+)").to_string(), r#""(\d+)""#);
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub text: String,
    pub ok: bool,
}

/// Builds a response.
#[derive(Debug, Default)]
pub struct Out {
    text: String,
}

impl Out {
    pub fn line(&mut self, s: &str) {
        self.text.push_str(s);
        self.text.push('\n');
    }

    /// `*r NameResult (status=OK|Error):` with indented fields, closed by `*r/end`.
    pub fn record(&mut self, name: &str, ok: bool, fields: &[(String, Field)]) {
        let _ = writeln!(
            self.text,
            "*r {name}Result (status={}):",
            if ok { "OK" } else { "Error" }
        );
        for (k, v) in fields {
            let _ = writeln!(self.text, "    {k}: {v}");
        }
        self.text.push_str("*r/end\n");
    }

    pub fn ok(mut self) -> Response {
        self.text.push_str("OK\n");
        Response {
            text: self.text,
            ok: true,
        }
    }

    /// Ends the response with an error record (anything already written stays before it).
    pub fn error(mut self, name: &str, reason: &str, extra: &[(String, Field)]) -> Response {
        let mut fields = vec![("Reason".to_string(), Field::str(reason))];
        fields.extend_from_slice(extra);
        self.record(name, false, &fields);
        Response {
            text: self.text,
            ok: false,
        }
    }
}
