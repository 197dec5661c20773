//! Rules that span more than one element, checked on the whole configuration at commit.

use crate::schema::ELEMENTS;
use crate::snapshot::{Snapshot, Values};
use std::collections::HashMap;
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
        prefix: "Registration DenyList",
        required: &["Pattern String"],
        unique: None,
    },
];

/// Checks every rule against a candidate configuration.
pub fn check(values: &Values) -> Result<(), RuleViolation> {
    let snap = Snapshot::new(0, values.clone(), values);
    for r in ranges() {
        let (Some(lo), Some(hi)) = (snap.int(r.low), snap.int(r.high)) else {
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
    for t in TABLES {
        let mut seen: HashMap<String, u32> = HashMap::new();
        for row in snap.rows(t.prefix) {
            for req in t.required {
                let p = format!("{} {row} {req}", t.prefix);
                if snap.get(&p).unwrap_or("").is_empty() {
                    return Err(RuleViolation {
                        paths: vec![p.clone()],
                        message: format!("{} {row} needs a value for {req}", t.prefix),
                    });
                }
            }
            if let Some(u) = t.unique {
                let p = format!("{} {row} {u}", t.prefix);
                let v = snap.get(&p).unwrap_or("").to_lowercase();
                if let Some(first) = seen.insert(v.clone(), row) {
                    return Err(RuleViolation {
                        paths: vec![p],
                        message: format!(
                            "{} {row} {u} \"{v}\" is already used by {} {first}",
                            t.prefix, t.prefix
                        ),
                    });
                }
            }
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
