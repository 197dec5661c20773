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

/// Why a line failed, for surfaces that answer with a status code of their own (HTTP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ErrorKind {
    /// The line, a path or a value is wrong, or a rule refused the change.
    Refused,
    /// The caller's access level does not allow it.
    Denied,
    /// It needs a running server or a service that is not running.
    Unavailable,
    /// The reference names it but this version does not do it.
    NotImplemented,
}

/// One record of a response, as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `*c xConfiguration path: value`; the value as printed (secrets masked), unquoted.
    Config { path: String, value: String },
    /// `*s Group path: value`.
    Status { path: String, value: Field },
    /// `*r NameResult (status=…)` with its fields.
    Result {
        name: String,
        ok: bool,
        fields: Vec<(String, Field)>,
    },
    /// A line of help.
    Help(String),
}

/// The result of one xAPI line: the text every terminal surface prints, and the same records as
/// data for the ones that answer in JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub text: String,
    pub ok: bool,
    pub error: Option<ErrorKind>,
    pub items: Vec<Item>,
}

impl Field {
    fn json(&self) -> serde_json::Value {
        match self {
            Field::Str(s) | Field::Bare(s) => serde_json::Value::String(s.clone()),
        }
    }
}

impl Response {
    /// `{"ok", "error", "configuration": {path: value}, "status": {path: value}, "results": [..],
    /// "help": [..], "text"}`; empty groups are left out.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{json, Map, Value};
        let mut config = Map::new();
        let mut status = Map::new();
        let mut results = Vec::new();
        let mut help = Vec::new();
        for i in &self.items {
            match i {
                Item::Config { path, value } => {
                    config.insert(path.clone(), Value::String(value.clone()));
                }
                Item::Status { path, value } => {
                    status.insert(path.clone(), value.json());
                }
                Item::Result { name, ok, fields } => {
                    let mut f = Map::new();
                    for (k, v) in fields {
                        // A field may repeat (several paths named by one error): keep them all.
                        match f.get_mut(k) {
                            Some(Value::Array(a)) => a.push(v.json()),
                            Some(prev) => *prev = Value::Array(vec![prev.take(), v.json()]),
                            None => {
                                f.insert(k.clone(), v.json());
                            }
                        }
                    }
                    results.push(json!({"name": name, "ok": ok, "fields": f}));
                }
                Item::Help(h) => help.push(Value::String(h.clone())),
            }
        }
        let mut out = Map::new();
        out.insert("ok".into(), Value::Bool(self.ok));
        if let Some(e) = self.error {
            out.insert(
                "error".into(),
                serde_json::to_value(e).unwrap_or(Value::Null),
            );
        }
        for (k, v) in [
            ("configuration", Value::Object(config)),
            ("status", Value::Object(status)),
            ("results", Value::Array(results)),
            ("help", Value::Array(help)),
        ] {
            let empty = match &v {
                Value::Object(m) => m.is_empty(),
                Value::Array(a) => a.is_empty(),
                _ => false,
            };
            if !empty {
                out.insert(k.into(), v);
            }
        }
        out.insert("text".into(), Value::String(self.text.clone()));
        Value::Object(out)
    }
}

/// Builds a response.
#[derive(Debug, Default)]
pub struct Out {
    text: String,
    items: Vec<Item>,
}

impl Out {
    /// A line of help text.
    pub fn line(&mut self, s: &str) {
        self.text.push_str(s);
        self.text.push('\n');
        if let Some(h) = s.strip_prefix("*h ") {
            self.items.push(Item::Help(h.to_string()));
        } else if let Some(h) = s.strip_prefix("    ") {
            self.items.push(Item::Help(h.to_string()));
        }
    }

    /// `*c xConfiguration path: value`, with `shown` already in printed form.
    pub fn config(&mut self, path: &str, shown: &str) {
        let _ = writeln!(
            self.text,
            "{}",
            format!("*c xConfiguration {path}: {shown}").trim_end()
        );
        let value = match shown.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            Some(inner) => unescape(inner),
            None => shown.to_string(),
        };
        self.items.push(Item::Config {
            path: path.to_string(),
            value,
        });
    }

    /// `*s group path: value`.
    pub fn status(&mut self, group: &str, path: &str, value: &Field) {
        let _ = writeln!(self.text, "*s {group} {path}: {value}");
        self.items.push(Item::Status {
            path: format!("{group} {path}"),
            value: value.clone(),
        });
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
        self.items.push(Item::Result {
            name: name.to_string(),
            ok,
            fields: fields.to_vec(),
        });
    }

    pub fn ok(mut self) -> Response {
        self.text.push_str("OK\n");
        Response {
            text: self.text,
            ok: true,
            error: None,
            items: self.items,
        }
    }

    /// Ends the response with an error record (anything already written stays before it).
    pub fn error(self, name: &str, reason: &str, extra: &[(String, Field)]) -> Response {
        self.fail(ErrorKind::Refused, name, reason, extra)
    }

    /// Ends the response with an error record of a given kind.
    pub fn fail(
        mut self,
        kind: ErrorKind,
        name: &str,
        reason: &str,
        extra: &[(String, Field)],
    ) -> Response {
        let mut fields = vec![("Reason".to_string(), Field::str(reason))];
        fields.extend_from_slice(extra);
        self.record(name, false, &fields);
        Response {
            text: self.text,
            ok: false,
            error: Some(kind),
            items: self.items,
        }
    }
}

/// Undoes [`Field::Str`]'s escaping.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && matches!(chars.peek(), Some('"') | Some('\\')) {
            out.push(chars.next().unwrap_or('\\'));
        } else {
            out.push(c);
        }
    }
    out
}
