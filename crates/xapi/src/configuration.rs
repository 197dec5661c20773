//! `xConfiguration`: print, set and explain elements of the tree.

use crate::format::{Field, Out, Response};
use crate::{Engine, Principal};
use causeway_config::schema::{resolve, walk, walk_templates, Element, Resolved, Valuespace};
use causeway_config::{Change, ConfigError, Origin};

/// How an element's value prints: strings (and quoted enums) in quotes, the rest bare. Secrets
/// never print as themselves: a sealed one prints sealed (`"{cipher}…"`, which can be written
/// back), a password hash or anything else as `"***"`.
pub fn show(e: &Element, value: Option<&str>) -> String {
    match (&e.valuespace, value) {
        (Valuespace::Str { secret: true, .. }, Some(v))
            if v.starts_with(causeway_config::secrets::PREFIX) =>
        {
            Field::str(v).to_string()
        }
        (Valuespace::Str { secret: true, .. }, Some(v)) if !v.is_empty() => "\"***\"".into(),
        (Valuespace::Str { .. }, v) | (Valuespace::Enum { quoted: true, .. }, v) => {
            Field::str(v.unwrap_or("")).to_string()
        }
        (_, Some(v)) => v.to_string(),
        (_, None) => String::new(),
    }
}

pub fn get(engine: &Engine, path: &[String]) -> Response {
    let snap = engine.config.snapshot();
    let mut out = Out::default();
    let emit = |out: &mut Out, e: &Element, p: &str| {
        let v = snap.configured(p);
        out.config(p, &show(e, v));
    };
    match resolve(path) {
        Ok(Resolved::Leaf { element, path }) => emit(&mut out, element, &path),
        Ok(Resolved::Subtree { node, path }) => {
            let rows = |prefix: &str| snap.rows(prefix);
            walk(node, &path, &rows, &mut |e, p| emit(&mut out, e, p));
        }
        Err(e) => {
            return out.error(
                "Configuration",
                &e.reason,
                &[("Path".into(), Field::str(e.path))],
            )
        }
    }
    out.ok()
}

pub fn set(engine: &Engine, path: &[String], value: &str, who: &Principal) -> Response {
    let change = Change::Set {
        path: path.join(" "),
        value: value.to_string(),
    };
    commit(engine, vec![change], who)
}

/// Commits changes all together or not at all, answering as `xConfiguration` does.
pub fn commit(engine: &Engine, changes: Vec<Change>, who: &Principal) -> Response {
    let origin = Origin {
        user: who.user.clone(),
        source: who.source.clone(),
    };
    match engine.config.commit(&origin, changes) {
        Ok(record) => {
            let mut out = Out::default();
            for c in record.changes.iter().filter(|c| c.restart) {
                out.record(
                    "Configuration",
                    true,
                    &[(
                        "Note".into(),
                        Field::str(format!("{} takes effect after a restart", c.path)),
                    )],
                );
            }
            out.ok()
        }
        Err(e) => config_error(Out::default(), "Configuration", &e),
    }
}

/// An error record for a refused commit, naming the path and valuespace where there is one.
pub fn config_error(out: Out, kind: &str, e: &ConfigError) -> Response {
    match e {
        ConfigError::Value {
            path,
            value,
            valuespace,
            reason,
        } => out.error(
            kind,
            &format!("value {} refused: {reason}", Field::str(value.as_str())),
            &[
                ("Path".into(), Field::str(path.as_str())),
                ("Valuespace".into(), Field::str(valuespace.as_str())),
            ],
        ),
        ConfigError::Path { path, reason } => {
            out.error(kind, reason, &[("Path".into(), Field::str(path.as_str()))])
        }
        ConfigError::Rule(v) => out.error(
            kind,
            &v.message,
            &v.paths
                .iter()
                .map(|p| ("Path".to_string(), Field::str(p.as_str())))
                .collect::<Vec<_>>(),
        ),
        other => out.error(kind, &other.to_string(), &[]),
    }
}

pub fn help(path: &[String], detail: bool) -> Response {
    let mut out = Out::default();
    let mut emit = |e: &'static Element| {
        out.line(&format!(
            "*h xConfiguration {}: {}",
            e.path,
            e.valuespace.notation()
        ));
        match e.default {
            Some(d) => out.line(&format!("    Default: {}", show(e, Some(d)))),
            None => out.line("    Default: (none)"),
        }
        if detail {
            if e.restart {
                out.line("    Applies: after a restart");
            }
            if e.peer_specific {
                out.line("    Scope: this cluster peer only (not replicated)");
            }
            if e.ours {
                out.line("    Origin: causeway (not an element of the reference)");
            }
        }
    };
    match resolve(path) {
        Ok(Resolved::Leaf { element, .. }) => emit(element),
        Ok(Resolved::Subtree { node, .. }) => walk_templates(node, &mut emit),
        Err(e) => {
            return out.error(
                "Configuration",
                &e.reason,
                &[("Path".into(), Field::str(e.path))],
            )
        }
    }
    if detail {
        out.line("*h Notation: <a..b> integer range; <S: min, max> quoted string of min..max characters;");
        out.line("*h           <A/B/C> one of the words; [a..b] a table row index.");
    }
    out.ok()
}
