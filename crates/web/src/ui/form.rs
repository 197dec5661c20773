//! Forms generated from the configuration tree: one field per element, its input chosen by the
//! valuespace, its help text saying what values are accepted and what the default is.
//!
//! The metadata of a page (which elements, in which sections, with which inputs) depends only
//! on the tree, so it is worked out once per page and kept; rendering a form then costs one
//! lookup per field in the snapshot.

use causeway_config::schema::{resolve, walk, Element, Resolved, Valuespace};
use causeway_config::Snapshot;
use std::collections::HashMap;

/// Text longer than this is edited in a text area (CPL scripts, keys).
const TEXTAREA_OVER: usize = 255;

/// How one element is edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Input {
    Select {
        values: Vec<&'static str>,
        /// No default: the element may hold no value at all.
        blank: bool,
    },
    Number {
        min: i64,
        max: i64,
    },
    Text {
        max: usize,
    },
    Area {
        max: usize,
    },
    Secret {
        max: usize,
    },
}

/// One field of a generated form. `rel` is the element's path below the page's root (for a
/// table row, below the row), so that a row's fields can be named for any row number.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub rel: String,
    pub section: String,
    pub label: String,
    pub element: &'static Element,
    pub input: Input,
    pub help: String,
}

fn input_of(e: &Element) -> Input {
    match e.valuespace {
        Valuespace::Enum { values, .. } => Input::Select {
            values: values.to_vec(),
            blank: e.default.is_none(),
        },
        Valuespace::Int { min, max } => Input::Number { min, max },
        Valuespace::Str { max, secret, .. } if secret => Input::Secret { max },
        Valuespace::Str { max, .. } if max > TEXTAREA_OVER => Input::Area { max },
        Valuespace::Str { max, .. } => Input::Text { max },
    }
}

/// What the field's help says: the accepted values, the default and the flags that matter.
fn help_of(e: &Element) -> String {
    let notation = e.valuespace.notation();
    let mut help = match e.valuespace {
        Valuespace::Enum { .. } => notation,
        Valuespace::Int { min, max } => format!("{notation} a whole number from {min} to {max}."),
        Valuespace::Str { min: 0, max, .. } => {
            format!("{notation} text of up to {max} characters.")
        }
        Valuespace::Str { min, max, .. } => {
            format!("{notation} text of {min} to {max} characters.")
        }
    };
    match e.default {
        Some(d) if e.valuespace.is_secret() && !d.is_empty() => {
            help.push_str(" Has a default value.")
        }
        Some("") | None => help.push_str(" No default."),
        Some(d) => help.push_str(&format!(" Default: {d}.")),
    }
    if e.valuespace.is_secret() {
        help.push_str(" Stored encrypted; leave empty to keep the current value.");
    }
    if e.restart {
        help.push_str(" Applies after a restart.");
    }
    if e.peer_specific {
        help.push_str(" Set on each cluster peer separately.");
    }
    if e.ours {
        help.push_str(" A causeway setting (not in the reference).");
    }
    help
}

/// Splits a path below a root into a section and a label: the first word is the section (with
/// its row number, for a row of a small table), the rest the label.
fn section_and_label(rel: &str) -> (String, String) {
    let words: Vec<&str> = rel.split(' ').collect();
    if words.len() < 2 {
        return (String::new(), rel.to_string());
    }
    let take = if words.len() > 2 && words[1].parse::<u32>().is_ok() {
        2
    } else {
        1
    };
    (words[..take].join(" "), words[take..].join(" "))
}

fn meta(rel: String, element: &'static Element, root_label: &str) -> Meta {
    let (section, label) = section_and_label(&rel);
    let section = match (root_label.is_empty(), section.is_empty()) {
        (true, _) => section,
        (false, true) => root_label.to_string(),
        (false, false) => format!("{root_label} {section}"),
    };
    Meta {
        input: input_of(element),
        help: help_of(element),
        rel,
        section,
        label,
        element,
    }
}

/// The elements under `root` (a subtree or one element), large tables left out, as paths below
/// the root.
fn under(root: &str) -> Vec<(String, &'static Element)> {
    let words: Vec<&str> = root.split(' ').collect();
    let mut out = Vec::new();
    match resolve(&words) {
        Ok(Resolved::Leaf { element, .. }) => out.push((String::new(), element)),
        Ok(Resolved::Subtree { node, .. }) => {
            walk(node, "", &|_| Vec::new(), &mut |e, p| {
                out.push((p.to_string(), e));
            });
        }
        Err(_) => {}
    }
    out
}

/// The fields of a configuration page. Paths are absolute (`rel` is the element's full path).
pub(crate) fn page_fields(roots: &[&str], skip: &[&str]) -> Vec<Meta> {
    let mut fields = Vec::new();
    let several = roots.len() > 1;
    for root in roots {
        // With several roots, the last word of each names its section ("DefaultSubZone").
        let root_label = if several {
            root.rsplit(' ').next().unwrap_or(root)
        } else {
            ""
        };
        for (rel, e) in under(root) {
            let full = if rel.is_empty() {
                root.to_string()
            } else {
                format!("{root} {rel}")
            };
            if skip
                .iter()
                .any(|s| full == *s || full.starts_with(&format!("{s} ")))
            {
                continue;
            }
            let shown = if rel.is_empty() {
                root.rsplit(' ').next().unwrap_or(root).to_string()
            } else {
                rel
            };
            let mut m = meta(shown, e, root_label);
            if several && m.section == m.label {
                // A root that is itself one element stands in the general section.
                m.section.clear();
            }
            m.rel = full;
            fields.push(m);
        }
    }
    fields
}

/// The fields of one row of `table` (paths below the row).
pub(crate) fn row_fields(table: &str) -> Vec<Meta> {
    let mut words: Vec<String> = table.split(' ').map(String::from).collect();
    let Ok(Resolved::Subtree { node, .. }) = resolve(&words) else {
        return Vec::new();
    };
    let Some((min, _, _)) = node.index else {
        return Vec::new();
    };
    words.push(min.to_string());
    let Ok(Resolved::Subtree { node, .. }) = resolve(&words) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    walk(node, "", &|_| Vec::new(), &mut |e, p| {
        out.push(meta(p.to_string(), e, ""));
    });
    out
}

/// Per-page metadata, worked out on first use.
pub(crate) fn cached(key: &str, make: impl FnOnce() -> Vec<Meta>) -> std::sync::Arc<Vec<Meta>> {
    use std::sync::{Arc, Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Vec<Meta>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(m) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(key) {
        return m.clone();
    }
    let made = Arc::new(make());
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key.to_string())
        .or_insert(made)
        .clone()
}

/// A field as a template shows it.
#[derive(Debug, Clone)]
pub(crate) struct FieldView {
    /// The element's path: the form field's name.
    pub name: String,
    pub id: String,
    pub label: String,
    /// `select`, `number`, `text`, `area` or `password`.
    pub kind: &'static str,
    pub options: Vec<(String, bool)>,
    pub value: String,
    pub min: String,
    pub max: String,
    pub maxlength: String,
    pub help: String,
    pub placeholder: String,
    pub error: Option<String>,
    pub restart: bool,
    pub peer: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct SectionView {
    pub title: String,
    pub fields: Vec<FieldView>,
}

/// An HTML id for a path (spaces are not allowed in ids).
pub(crate) fn html_id(path: &str) -> String {
    let mut id = String::from("f-");
    for c in path.chars() {
        id.push(if c.is_ascii_alphanumeric() { c } else { '-' });
    }
    id
}

/// Builds the view of `fields`; `prefix` turns a field's `rel` into its path (empty for
/// configuration pages, `"<table> <row> "` for rows). Values come from `submitted` when a form
/// is shown again after an error, otherwise from the snapshot.
pub(crate) fn view(
    fields: &[Meta],
    prefix: &str,
    snap: &Snapshot,
    submitted: Option<&HashMap<String, String>>,
    errors: &HashMap<String, String>,
) -> Vec<SectionView> {
    let mut sections: Vec<SectionView> = Vec::new();
    for m in fields {
        let name = format!("{prefix}{}", m.rel);
        let stored = snap.configured(&name).unwrap_or("");
        let value = match (submitted.and_then(|s| s.get(&name)), &m.input) {
            (_, Input::Secret { .. }) => String::new(),
            (Some(v), _) => v.clone(),
            (None, _) => stored.to_string(),
        };
        let mut f = FieldView {
            id: html_id(&name),
            label: m.label.clone(),
            kind: "text",
            options: Vec::new(),
            value,
            min: String::new(),
            max: String::new(),
            maxlength: String::new(),
            help: m.help.clone(),
            placeholder: String::new(),
            error: errors.get(&name).cloned(),
            restart: m.element.restart,
            peer: m.element.peer_specific,
            name,
        };
        match &m.input {
            Input::Select { values, blank } => {
                f.kind = "select";
                let current = f.value.clone();
                if *blank || current.is_empty() {
                    f.options.push((String::new(), current.is_empty()));
                }
                for v in values {
                    f.options
                        .push((v.to_string(), v.eq_ignore_ascii_case(&current)));
                }
            }
            Input::Number { min, max } => {
                f.kind = "number";
                f.min = min.to_string();
                f.max = max.to_string();
            }
            Input::Text { max } => f.maxlength = max.to_string(),
            Input::Area { max } => {
                f.kind = "area";
                f.maxlength = max.to_string();
            }
            Input::Secret { max } => {
                f.kind = "password";
                f.maxlength = max.to_string();
                f.placeholder = if stored.is_empty() {
                    "not set".into()
                } else {
                    "set (leave empty to keep)".into()
                };
            }
        }
        match sections.iter_mut().find(|s| s.title == m.section) {
            Some(s) => s.fields.push(f),
            None => sections.push(SectionView {
                title: m.section.clone(),
                fields: vec![f],
            }),
        }
    }
    // The settings of the whole page (its Mode, say) come before the groups.
    sections.sort_by_key(|s| !s.title.is_empty());
    sections
}

/// The changes a submitted form asks for: fields whose value differs from what is stored.
/// An emptied field returns its element to the default; an empty secret leaves it alone.
pub(crate) fn changes(
    fields: &[Meta],
    prefix: &str,
    snap: &Snapshot,
    submitted: &HashMap<String, String>,
) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for m in fields {
        let name = format!("{prefix}{}", m.rel);
        let Some(raw) = submitted.get(&name) else {
            continue;
        };
        // Browsers send text areas with CRLF line ends; values are single lines.
        let v = raw.trim_end_matches(['\r', '\n']);
        if let Input::Secret { .. } = m.input {
            if !v.is_empty() {
                out.push((name, Some(v.to_string())));
            }
            continue;
        }
        let stored = snap.configured(&name).unwrap_or("");
        let same = match m.element.valuespace.canonical(v) {
            Ok(c) => c == stored,
            Err(_) => v == stored,
        };
        if same {
            continue;
        }
        if !v.is_empty() {
            out.push((name, Some(v.to_string())));
            continue;
        }
        // Emptied: text with a non-empty default is really set empty; anything else returns
        // to its default.
        let text_with_default = matches!(m.element.valuespace, Valuespace::Str { .. })
            && m.element.default.is_some_and(|d| !d.is_empty());
        if text_with_default {
            out.push((name, Some(String::new())));
        } else if snap.is_stored(&name) {
            out.push((name, None));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use causeway_config::Values;

    #[test]
    fn sip_page_fields() {
        let f = page_fields(&["SIP"], &["SIP Domain", "SIP Routes"]);
        assert!(f
            .iter()
            .any(|m| m.rel == "SIP Mode" && m.section.is_empty()));
        let udp = f.iter().find(|m| m.rel == "SIP UDP Port").unwrap();
        assert_eq!(udp.section, "UDP");
        assert_eq!(udp.label, "Port");
        assert_eq!(
            udp.input,
            Input::Number {
                min: 1024,
                max: 65534
            }
        );
        assert!(udp.help.contains("Default: 5060"), "{}", udp.help);
        assert!(!f.iter().any(|m| m.rel.starts_with("SIP Domain")));
    }

    #[test]
    fn small_tables_expand_and_large_ones_are_left_out() {
        let f = page_fields(&["IP DNS", "DNS"], &[]);
        assert!(f.iter().any(|m| m.rel == "DNS Server 5 Address"));
        let f = page_fields(&["Zones Policy Mode"], &[]);
        assert_eq!(f.len(), 1);
        let rows = row_fields("Zones Policy SearchRules Rule");
        assert!(rows.iter().any(|m| m.rel == "Pattern String"));
        assert!(row_fields("Zones Zone").iter().any(|m| m.rel == "Type"));
    }

    #[test]
    fn only_changed_fields_are_committed() {
        let f = page_fields(&["SIP"], &["SIP Domain", "SIP Routes"]);
        let mut v = Values::new();
        v.insert("SIP Mode".into(), "On".into());
        let snap = Snapshot::from_values(v);
        let mut sub = HashMap::new();
        sub.insert("SIP Mode".to_string(), "on".to_string());
        sub.insert("SIP UDP Port".to_string(), "5062".to_string());
        sub.insert("SIP TCP Port".to_string(), "5060".to_string());
        sub.insert("SIP PreRoutedRouteHeader".to_string(), String::new());
        let c = changes(&f, "", &snap, &sub);
        assert_eq!(
            c,
            vec![("SIP UDP Port".to_string(), Some("5062".to_string()))]
        );
        sub.insert("SIP Mode".to_string(), String::new());
        let c = changes(&f, "", &snap, &sub);
        assert!(c.contains(&("SIP Mode".to_string(), None)), "{c:?}");
    }

    #[test]
    fn secrets_are_never_shown_and_kept_when_left_empty() {
        let f = page_fields(&["Authentication UserName", "Authentication Password"], &[]);
        let mut v = Values::new();
        v.insert("Authentication Password".into(), "{cipher}abc".into());
        let snap = Snapshot::from_values(v);
        let view = view(&f, "", &snap, None, &HashMap::new());
        let pw = view
            .iter()
            .flat_map(|s| &s.fields)
            .find(|x| x.name == "Authentication Password")
            .unwrap();
        assert_eq!(pw.kind, "password");
        assert!(pw.value.is_empty());
        let mut sub = HashMap::new();
        sub.insert("Authentication Password".to_string(), String::new());
        assert!(changes(&f, "", &snap, &sub).is_empty());
        sub.insert("Authentication Password".to_string(), "n3w".to_string());
        assert_eq!(changes(&f, "", &snap, &sub).len(), 1);
    }
}
