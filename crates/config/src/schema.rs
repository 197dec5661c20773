//! The element table (generated from the spec) and a tree over it for resolving paths.

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// One word of an element's path: a literal name, or a table index with its range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Word {
    Lit(&'static str),
    Index { min: u32, max: u32 },
}

/// The values an element accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Valuespace {
    Int {
        min: i64,
        max: i64,
    },
    /// Length limits count characters. `secret` marks passwords, which are never printed.
    Str {
        min: usize,
        max: usize,
        secret: bool,
    },
    /// Matched case-insensitively, stored in the spelling given here. `quoted` values are printed
    /// in quotation marks, as the reference writes them.
    Enum {
        values: &'static [&'static str],
        quoted: bool,
    },
}

/// A configuration element as the reference describes it.
#[derive(Debug)]
pub struct Element {
    /// The path as the reference writes it, with index ranges: `Zones Zone [1..1000] Name`.
    pub path: &'static str,
    pub words: &'static [Word],
    pub valuespace: Valuespace,
    pub default: Option<&'static str>,
    /// Takes effect only after a restart.
    pub restart: bool,
    /// Belongs to one cluster peer and is not replicated.
    pub peer_specific: bool,
    /// Added by causeway; not in the reference.
    pub ours: bool,
    /// Line of the guide's reference entry (0 for our own elements).
    pub guide_line: u32,
}

include!(concat!(env!("OUT_DIR"), "/elements.rs"));

impl Valuespace {
    /// The valuespace in the reference's notation: `<30..3600>`, `<S: 0, 128>`, `<On/Off>`.
    pub fn notation(&self) -> String {
        match self {
            Valuespace::Int { min, max } => format!("<{min}..{max}>"),
            Valuespace::Str { min, max, .. } => format!("<S: {min}, {max}>"),
            Valuespace::Enum { values, .. } => format!("<{}>", values.join("/")),
        }
    }

    /// Checks a raw value and returns it in canonical form, or why it is refused.
    pub fn canonical(&self, raw: &str) -> Result<String, String> {
        match *self {
            Valuespace::Int { min, max } => {
                let t = raw.trim();
                let n: i64 = t
                    .parse()
                    .map_err(|_| format!("\"{raw}\" is not an integer"))?;
                if n < min || n > max {
                    return Err(format!("{n} is outside {min}..{max}"));
                }
                Ok(n.to_string())
            }
            Valuespace::Str { min, max, .. } => {
                if let Some(c) = raw.chars().find(|c| c.is_control()) {
                    return Err(format!(
                        "control character U+{:04X} is not allowed",
                        c as u32
                    ));
                }
                let len = raw.chars().count();
                if len < min || len > max {
                    return Err(format!("length {len} is outside {min}..{max} characters"));
                }
                Ok(raw.to_string())
            }
            Valuespace::Enum { values, .. } => values
                .iter()
                .find(|v| v.eq_ignore_ascii_case(raw.trim()))
                .map(|v| v.to_string())
                .ok_or_else(|| format!("\"{raw}\" is not one of {}", values.join("/"))),
        }
    }

    pub fn is_secret(&self) -> bool {
        matches!(self, Valuespace::Str { secret: true, .. })
    }
}

impl Element {
    /// Number of table indices in the path.
    pub fn index_count(&self) -> usize {
        self.words
            .iter()
            .filter(|w| matches!(w, Word::Index { .. }))
            .count()
    }
}

/// A node of the element tree. Literal children are keyed by lower-case name so that lookups
/// ignore case; each keeps its canonical spelling for printing.
#[derive(Debug, Default)]
pub struct Node {
    pub children: BTreeMap<String, (&'static str, Node)>,
    pub index: Option<(u32, u32, Box<Node>)>,
    pub element: Option<usize>,
}

impl Node {
    fn insert(&mut self, words: &'static [Word], element: usize) {
        let Some((first, rest)) = words.split_first() else {
            self.element = Some(element);
            return;
        };
        let child = match *first {
            Word::Lit(name) => {
                &mut self
                    .children
                    .entry(name.to_ascii_lowercase())
                    .or_insert_with(|| (name, Node::default()))
                    .1
            }
            Word::Index { min, max } => {
                &mut *self
                    .index
                    .get_or_insert_with(|| (min, max, Box::default()))
                    .2
            }
        };
        child.insert(rest, element);
    }
}

/// The whole element tree.
pub fn tree() -> &'static Node {
    static TREE: OnceLock<Node> = OnceLock::new();
    TREE.get_or_init(|| {
        let mut root = Node::default();
        for (i, e) in ELEMENTS.iter().enumerate() {
            root.insert(e.words, i);
        }
        root
    })
}

/// What a user-typed path names.
#[derive(Debug)]
pub enum Resolved<'a> {
    /// One element at a concrete path (indices filled in).
    Leaf {
        element: &'static Element,
        path: String,
    },
    /// A subtree; `path` is its concrete prefix (possibly empty for the root).
    Subtree { node: &'a Node, path: String },
}

/// Why a path does not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    pub path: String,
    pub reason: String,
}

/// Resolves words typed by a user (any case) against the tree.
pub fn resolve<S: AsRef<str>>(words: &[S]) -> Result<Resolved<'static>, PathError> {
    let mut node = tree();
    let mut path = String::new();
    let typed = || {
        words
            .iter()
            .map(|w| w.as_ref())
            .collect::<Vec<_>>()
            .join(" ")
    };
    for w in words {
        let w = w.as_ref();
        if let Some((_, (name, child))) = node.children.get_key_value(&w.to_ascii_lowercase()) {
            push_word(&mut path, name);
            node = child;
        } else if let Some((min, max, child)) = &node.index {
            let n: u32 = w.parse().map_err(|_| PathError {
                path: typed(),
                reason: format!("expected an index {min}..{max} after \"{path}\", found \"{w}\""),
            })?;
            if n < *min || n > *max {
                return Err(PathError {
                    path: typed(),
                    reason: format!("index {n} after \"{path}\" is outside {min}..{max}"),
                });
            }
            push_word(&mut path, &n.to_string());
            node = child;
        } else {
            return Err(PathError {
                path: typed(),
                reason: if path.is_empty() {
                    format!("no configuration element starts with \"{w}\"")
                } else {
                    format!("\"{path}\" has no element \"{w}\"")
                },
            });
        }
    }
    match node.element {
        Some(i) if node.children.is_empty() && node.index.is_none() => Ok(Resolved::Leaf {
            element: &ELEMENTS[i],
            path,
        }),
        _ => Ok(Resolved::Subtree { node, path }),
    }
}

/// Resolves a canonical path (as stored) to its element.
pub fn element_of(path: &str) -> Option<&'static Element> {
    // Most reads name an element without table indices: look those up directly.
    static PLAIN: OnceLock<std::collections::HashMap<&'static str, &'static Element>> =
        OnceLock::new();
    let plain = PLAIN.get_or_init(|| {
        ELEMENTS
            .iter()
            .filter(|e| e.index_count() == 0)
            .map(|e| (e.path, e))
            .collect()
    });
    if let Some(e) = plain.get(path) {
        return Some(e);
    }
    let words: Vec<&str> = path.split(' ').collect();
    match resolve(&words) {
        Ok(Resolved::Leaf { element, .. }) => Some(element),
        _ => None,
    }
}

fn push_word(path: &mut String, w: &str) {
    if !path.is_empty() {
        path.push(' ');
    }
    path.push_str(w);
}

/// Tables with at most this many rows list every row; larger ones list the rows that exist.
pub const SMALL_TABLE: u32 = 10;

/// Calls `f` for every concrete element under `node`, in tree order. `exists(prefix)` gives the
/// indices of a large table that have any stored value under `prefix`.
pub fn walk(
    node: &Node,
    path: &str,
    exists: &dyn Fn(&str) -> Vec<u32>,
    f: &mut dyn FnMut(&'static Element, &str),
) {
    if let Some(i) = node.element {
        f(&ELEMENTS[i], path);
    }
    for (name, child) in node.children.values() {
        let mut p = path.to_string();
        push_word(&mut p, name);
        walk(child, &p, exists, f);
    }
    if let Some((min, max, child)) = &node.index {
        let rows: Vec<u32> = if max - min < SMALL_TABLE {
            (*min..=*max).collect()
        } else {
            exists(path)
        };
        for n in rows {
            let mut p = path.to_string();
            push_word(&mut p, &n.to_string());
            walk(child, &p, exists, f);
        }
    }
}

/// Calls `f` for every element template under `node` (indices shown as ranges), for help output.
pub fn walk_templates(node: &Node, f: &mut dyn FnMut(&'static Element)) {
    if let Some(i) = node.element {
        f(&ELEMENTS[i]);
    }
    for (_, child) in node.children.values() {
        walk_templates(child, f);
    }
    if let Some((_, _, child)) = &node.index {
        walk_templates(child, f);
    }
}
