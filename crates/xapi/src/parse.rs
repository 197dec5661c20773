//! The xAPI line grammar.
//!
//! ```text
//! xConfiguration [path…] [? | ??]          print a subtree, or help on it
//! xConfiguration path…: value               set one element (value quoted or bare)
//! xCommand [? | ??]                         list the commands
//! xCommand Name [? | ??]                    help on one command
//! xCommand Name Param: value …              run a command
//! xStatus [path…]                           print status
//! ```
//! Keywords and names are case-insensitive.

/// One parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    ConfigGet {
        path: Vec<String>,
    },
    ConfigSet {
        path: Vec<String>,
        value: String,
    },
    ConfigHelp {
        path: Vec<String>,
        detail: bool,
    },
    CommandHelp {
        name: Option<String>,
        detail: bool,
    },
    Command {
        name: String,
        args: Vec<(String, String)>,
    },
    Status {
        path: Vec<String>,
    },
    Empty,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

/// Splits on whitespace; a double-quoted token may contain spaces and `\"` / `\\` escapes.
fn tokens(s: &str) -> Result<Vec<String>, ParseError> {
    Ok(marked_tokens(s)?.into_iter().map(|(t, _)| t).collect())
}

/// Like [`tokens`], marking which tokens were quoted.
fn marked_tokens(s: &str) -> Result<Vec<(String, bool)>, ParseError> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '"' {
            chars.next();
            out.push((quoted(&mut chars)?, true));
            continue;
        }
        let mut t = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            t.push(c);
            chars.next();
        }
        out.push((t, false));
    }
    Ok(out)
}

fn quoted(chars: &mut std::iter::Peekable<std::str::Chars>) -> Result<String, ParseError> {
    let mut t = String::new();
    loop {
        match chars.next() {
            None => return Err(ParseError("a quoted value has no closing quote".into())),
            Some('"') => return Ok(t),
            Some('\\') => match chars.next() {
                Some(c @ ('"' | '\\')) => t.push(c),
                Some(c) => {
                    t.push('\\');
                    t.push(c);
                }
                None => return Err(ParseError("a quoted value has no closing quote".into())),
            },
            Some(c) => t.push(c),
        }
    }
}

/// Parses a value written after `Path:` — quoted, or the bare rest of the line.
fn value(rest: &str) -> Result<String, ParseError> {
    let rest = rest.trim();
    if let Some(inner) = rest.strip_prefix('"') {
        let mut chars = inner.chars().peekable();
        let v = quoted(&mut chars)?;
        let tail: String = chars.collect();
        if !tail.trim().is_empty() {
            return Err(ParseError(format!(
                "unexpected text after the quoted value: {}",
                tail.trim()
            )));
        }
        Ok(v)
    } else {
        Ok(rest.to_string())
    }
}

pub fn parse(line: &str) -> Result<Request, ParseError> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(Request::Empty);
    }
    let (head, rest) = match line.split_once(char::is_whitespace) {
        Some((h, r)) => (h, r.trim()),
        None => (line, ""),
    };
    match head.to_ascii_lowercase().as_str() {
        "xconfiguration" => configuration(rest),
        "xcommand" => command(rest),
        "xstatus" => {
            let path = tokens(rest)?;
            Ok(Request::Status { path })
        }
        _ => Err(ParseError(format!(
            "unknown command \"{head}\": expected xConfiguration, xCommand or xStatus"
        ))),
    }
}

fn help_mark(words: &mut Vec<String>) -> Option<bool> {
    match words.last().map(String::as_str) {
        Some("?") => {
            words.pop();
            Some(false)
        }
        Some("??") => {
            words.pop();
            Some(true)
        }
        _ => None,
    }
}

fn configuration(rest: &str) -> Result<Request, ParseError> {
    // A colon outside quotes separates the path from the value.
    if let Some((path, val)) = rest.split_once(':') {
        if !path.contains('"') {
            let path: Vec<String> = path.split_whitespace().map(str::to_owned).collect();
            if path.is_empty() {
                return Err(ParseError(
                    "a value needs an element path before the colon".into(),
                ));
            }
            return Ok(Request::ConfigSet {
                path,
                value: value(val)?,
            });
        }
    }
    let mut path = tokens(rest)?;
    if let Some(detail) = help_mark(&mut path) {
        return Ok(Request::ConfigHelp { path, detail });
    }
    Ok(Request::ConfigGet { path })
}

fn command(rest: &str) -> Result<Request, ParseError> {
    let marked = marked_tokens(rest)?;
    let mut toks: Vec<String> = marked.iter().map(|(t, _)| t.clone()).collect();
    // A quoted "?" is a value, not a request for help.
    let last_quoted = marked.last().is_some_and(|(_, quoted)| *quoted);
    if let Some(detail) = (!last_quoted).then(|| help_mark(&mut toks)).flatten() {
        return match toks.len() {
            0 => Ok(Request::CommandHelp { name: None, detail }),
            1 => Ok(Request::CommandHelp {
                name: Some(toks.remove(0)),
                detail,
            }),
            _ => Err(ParseError("help takes only a command name".into())),
        };
    }
    let mut it = marked.into_iter();
    let Some((name, _)) = it.next() else {
        return Ok(Request::CommandHelp {
            name: None,
            detail: false,
        });
    };
    if name.contains(':') {
        return Err(ParseError(format!(
            "expected a command name, found \"{name}\""
        )));
    }
    let mut args = Vec::new();
    while let Some((tok, was_quoted)) = it.next() {
        // `Key: value`, `Key:value` or `Key: "value"`; a bare value may itself hold colons.
        let split = if was_quoted {
            None
        } else {
            tok.split_once(':')
        };
        let Some((key, inline)) = split else {
            return Err(ParseError(format!(
                "expected \"Parameter: value\", found \"{tok}\""
            )));
        };
        if key.is_empty() {
            return Err(ParseError("a parameter name is missing before ':'".into()));
        }
        let v = if inline.is_empty() {
            match it.next() {
                Some((v, _)) => v,
                None => return Err(ParseError(format!("parameter {key} has no value"))),
            }
        } else {
            inline.to_string()
        };
        args.push((key.to_string(), v));
    }
    Ok(Request::Command { name, args })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn configuration_forms() {
        assert_eq!(
            parse("xConfiguration SIP Registration Standard Refresh Minimum: 45").unwrap(),
            Request::ConfigSet {
                path: s(&["SIP", "Registration", "Standard", "Refresh", "Minimum"]),
                value: "45".into()
            }
        );
        assert_eq!(
            parse(r#"xconfiguration SIP Domain 1 Name: "example.com""#).unwrap(),
            Request::ConfigSet {
                path: s(&["SIP", "Domain", "1", "Name"]),
                value: "example.com".into()
            }
        );
        assert_eq!(
            parse(r#"xConfiguration SystemUnit Name: "a \"b\" c""#).unwrap(),
            Request::ConfigSet {
                path: s(&["SystemUnit", "Name"]),
                value: "a \"b\" c".into()
            }
        );
        assert_eq!(
            parse("xConfiguration SIP ??").unwrap(),
            Request::ConfigHelp {
                path: s(&["SIP"]),
                detail: true
            }
        );
        assert_eq!(
            parse("xConfiguration").unwrap(),
            Request::ConfigGet { path: vec![] }
        );
        assert!(parse(r#"xConfiguration SystemUnit Name: "open"#).is_err());
    }

    #[test]
    fn command_forms() {
        assert_eq!(
            parse(r#"xCommand DomainAdd Name: "example.com" Sip:On"#).unwrap(),
            Request::Command {
                name: "DomainAdd".into(),
                args: vec![
                    ("Name".into(), "example.com".into()),
                    ("Sip".into(), "On".into())
                ]
            }
        );
        assert_eq!(
            parse("xCommand DomainAdd ?").unwrap(),
            Request::CommandHelp {
                name: Some("DomainAdd".into()),
                detail: false
            }
        );
        assert_eq!(
            parse("xCommand ZoneList Alias: sip:bob@example.com").unwrap(),
            Request::Command {
                name: "ZoneList".into(),
                args: vec![("Alias".into(), "sip:bob@example.com".into())]
            }
        );
        // A quoted question mark is a value.
        assert_eq!(
            parse(r#"xCommand CheckPattern Target: "?""#).unwrap(),
            Request::Command {
                name: "CheckPattern".into(),
                args: vec![("Target".into(), "?".into())]
            }
        );
        assert!(parse("xCommand DomainAdd Name").is_err());
        assert!(parse("xCommand DomainAdd Name:").is_err());
        assert!(parse("xFoo").is_err());
    }
}
