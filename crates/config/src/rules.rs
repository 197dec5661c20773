//! Rules that span more than one element, checked on the whole configuration at commit.

use crate::schema::ELEMENTS;
use crate::snapshot::{lookup, rows_of, Values};
use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

/// A commit that would break one of these rules is refused whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleViolation {
    pub paths: Vec<String>,
    pub message: String,
}

/// `low` must be below `high` (or equal, when `strict` is false).
struct Range {
    low: &'static str,
    high: &'static str,
    strict: bool,
}

/// Pairs of sibling elements that bound a range: `… Start`/`… End`, `… PortRangeStart`/
/// `… PortRangeEnd` (ports: start below end) and `… Minimum`/`… Maximum` (may be equal).
fn ranges() -> &'static [Range] {
    static R: OnceLock<Vec<Range>> = OnceLock::new();
    R.get_or_init(|| {
        let by_path: HashMap<&str, ()> = ELEMENTS.iter().map(|e| (e.path, ())).collect();
        let mut out = Vec::new();
        for e in ELEMENTS {
            if e.index_count() > 0 {
                continue;
            }
            for (lo, hi, strict) in [
                ("Start", "End", true),
                ("PortRangeStart", "PortRangeEnd", true),
                ("Minimum", "Maximum", false),
            ] {
                if let Some(stem) = e.path.strip_suffix(lo) {
                    if stem.ends_with(' ') {
                        let other = format!("{stem}{hi}");
                        if let Some((k, _)) = by_path.get_key_value(other.as_str()) {
                            out.push(Range {
                                low: e.path,
                                high: k,
                                // A port range needs room for at least two ports; an alias
                                // number range may hold a single number.
                                strict: strict && e.path.contains("Port"),
                            });
                        }
                    }
                }
            }
        }
        out
    })
}

/// A table whose rows must carry some elements, and whose rows must differ in one.
struct Table {
    prefix: &'static str,
    required: &'static [&'static str],
    unique: Option<&'static str>,
}

const TABLES: &[Table] = &[
    Table {
        prefix: "Zones Zone",
        required: &["Name", "Type"],
        unique: Some("Name"),
    },
    Table {
        prefix: "SIP Domain",
        required: &["Name"],
        unique: Some("Name"),
    },
    Table {
        prefix: "Zones Policy SearchRules Rule",
        required: &["Name"],
        unique: Some("Name"),
    },
    Table {
        prefix: "Authentication Account Admin Account",
        required: &["Name"],
        unique: Some("Name"),
    },
    Table {
        prefix: "Authentication Account Admin Group",
        required: &["Name"],
        unique: Some("Name"),
    },
    Table {
        prefix: "Transform",
        required: &["Pattern String"],
        unique: None,
    },
    Table {
        prefix: "Registration AllowList",
        required: &["Pattern String"],
        unique: None,
    },
    Table {
        prefix: "Policy AdministratorPolicy Rules Rule",
        required: &["DestinationPattern"],
        unique: None,
    },
    Table {
        prefix: "Registration DenyList",
        required: &["Pattern String"],
        unique: None,
    },
];

/// Reads a candidate configuration without building a snapshot of it.
struct View<'a>(&'a Values);

impl View<'_> {
    fn get(&self, path: &str) -> Option<&str> {
        lookup(self.0, path)
    }
    fn int(&self, path: &str) -> Option<i64> {
        self.get(path)?.parse().ok()
    }
    fn rows(&self, prefix: &str) -> Vec<u32> {
        rows_of(self.0, prefix)
    }
    fn row_exists(&self, prefix: &str, row: u32) -> bool {
        let start = format!("{prefix} {row} ");
        self.0
            .range(start.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&start))
    }
}

/// Checks every rule against a whole configuration.
pub fn check_all(values: &Values) -> Result<(), RuleViolation> {
    check_ranges(&View(values), &|_| true)?;
    crate::accounts::check(values, false)?;
    let view = View(values);
    check_edge_services(&view)?;
    for t in TABLES {
        let rows = view.rows(t.prefix);
        for &row in &rows {
            check_required(&view, t, row)?;
            if t.prefix == "SIP Domain" {
                check_domain_name(&view, row)?;
            }
        }
        check_unique(&view, t, &rows)?;
    }
    Ok(())
}

/// The TURN server is an Edge node's service (design §4.6): it may be switched on only where
/// `SystemUnit Type` is Edge.
fn check_edge_services(view: &View) -> Result<(), RuleViolation> {
    const TURN: &str = "Traversal Server TURN Mode";
    if view.get(TURN) == Some("On") && view.get("SystemUnit Type").unwrap_or("Core") != "Edge" {
        return Err(RuleViolation {
            paths: vec![TURN.into()],
            message: "the TURN server runs on an Edge node only: set SystemUnit Type to Edge \
                      (and restart) before switching it on"
                .into(),
        });
    }
    Ok(())
}

/// Whether a name is usable as a SIP domain: dot-separated labels of letters, digits and
/// hyphens, no label starting or ending with a hyphen, and a last label that starts with a
/// letter (so that a domain never looks like an IPv4 address).
pub fn valid_domain_name(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    labels.iter().all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    }) && labels
        .last()
        .is_some_and(|l| l.as_bytes()[0].is_ascii_alphabetic())
        && name.len() <= 253
}

fn check_domain_name(view: &View, row: u32) -> Result<(), RuleViolation> {
    let p = format!("SIP Domain {row} Name");
    let name = view.get(&p).unwrap_or("");
    if name.is_empty() || valid_domain_name(name) {
        return Ok(());
    }
    Err(RuleViolation {
        paths: vec![p],
        message: format!(
            "\"{name}\" is not a valid domain name: use dot-separated labels of letters, digits \
             and hyphens, none starting or ending with a hyphen, the last starting with a letter"
        ),
    })
}

/// Checks the rules that a commit touching `touched` can break, against the configuration after
/// it. The configuration before it obeyed every rule, so that is enough.
pub fn check(values: &Values, touched: &BTreeSet<String>) -> Result<(), RuleViolation> {
    let view = View(values);
    check_ranges(&view, &|p| touched.contains(p))?;
    if touched
        .iter()
        .any(|p| p.starts_with("Authentication Account Admin "))
    {
        crate::accounts::check(values, true)?;
    }
    if touched.contains("Traversal Server TURN Mode") || touched.contains("SystemUnit Type") {
        check_edge_services(&view)?;
    }
    for t in TABLES {
        let start = format!("{} ", t.prefix);
        let mut rows: Vec<(u32, bool)> = Vec::new();
        for p in touched
            .range(start.clone()..)
            .take_while(|p| p.starts_with(&start))
        {
            let rest = &p[start.len()..];
            let Some((n, field)) = rest.split_once(' ') else {
                continue;
            };
            let Ok(n) = n.parse::<u32>() else { continue };
            let names_changed = t.unique == Some(field);
            match rows.iter_mut().find(|(r, _)| *r == n) {
                Some(entry) => entry.1 |= names_changed,
                None => rows.push((n, names_changed)),
            }
        }
        rows.retain(|(row, _)| view.row_exists(t.prefix, *row));
        for &(row, _) in &rows {
            check_required(&view, t, row)?;
            if t.prefix == "SIP Domain" {
                check_domain_name(&view, row)?;
            }
        }
        let renamed: Vec<u32> = rows.iter().filter(|r| r.1).map(|r| r.0).collect();
        if !renamed.is_empty() {
            check_unique(&view, t, &renamed)?;
        }
    }
    Ok(())
}

fn check_ranges(view: &View, touched: &dyn Fn(&str) -> bool) -> Result<(), RuleViolation> {
    for r in ranges() {
        if !touched(r.low) && !touched(r.high) {
            continue;
        }
        let (Some(lo), Some(hi)) = (view.int(r.low), view.int(r.high)) else {
            continue;
        };
        if lo > hi || (r.strict && lo == hi) {
            return Err(RuleViolation {
                paths: vec![r.low.into(), r.high.into()],
                message: format!(
                    "{} ({lo}) must be {} {} ({hi})",
                    r.low,
                    if r.strict { "below" } else { "at most" },
                    r.high
                ),
            });
        }
    }
    Ok(())
}

/// A row's required elements hold values.
fn check_required(view: &View, t: &Table, row: u32) -> Result<(), RuleViolation> {
    for req in t.required {
        let p = format!("{} {row} {req}", t.prefix);
        if view.get(&p).unwrap_or("").is_empty() {
            return Err(RuleViolation {
                paths: vec![p.clone()],
                message: format!("{} {row} needs a value for {req}", t.prefix),
            });
        }
    }
    Ok(())
}

/// The key of each of `rows` differs (ignoring case) from every other row's.
fn check_unique(view: &View, t: &Table, rows: &[u32]) -> Result<(), RuleViolation> {
    let Some(u) = t.unique else { return Ok(()) };
    let key = |row: u32| {
        view.get(&format!("{} {row} {u}", t.prefix))
            .unwrap_or("")
            .to_lowercase()
    };
    let mut holders: HashMap<String, Vec<u32>> = HashMap::new();
    for row in view.rows(t.prefix) {
        holders.entry(key(row)).or_default().push(row);
    }
    for &row in rows {
        let mine = key(row);
        let other = holders[&mine].iter().copied().find(|&o| o != row);
        if let Some(other) = other {
            return Err(RuleViolation {
                paths: vec![format!("{} {row} {u}", t.prefix)],
                message: format!(
                    "{} {row} {u} \"{mine}\" is already used by {} {other}",
                    t.prefix, t.prefix
                ),
            });
        }
    }
    Ok(())
}

/// Whether an element path (template form) sits in one of the tables above; used by tests.
pub fn table_prefixes() -> impl Iterator<Item = &'static str> {
    TABLES.iter().map(|t| t.prefix)
}

/// The template prefixes of the range rules, for documentation and tests.
pub fn range_pairs() -> Vec<(&'static str, &'static str)> {
    ranges().iter().map(|r| (r.low, r.high)).collect()
}
