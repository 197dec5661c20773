//! Reading `xStatus` answers as tables: `Calls Call 3 State: Connected` becomes the cell
//! `State` of row 3.

use causeway_xapi::{Field, Item, Response as XResponse};
use std::collections::{BTreeMap, HashMap};

/// The status leaves of a response below `group` (`Calls`), as (path, value).
pub(crate) fn leaves(r: &XResponse, group: &str) -> Vec<(String, String)> {
    let prefix = format!("{group} ");
    r.items
        .iter()
        .filter_map(|i| match i {
            Item::Status { path, value } => {
                let rest = path.strip_prefix(&prefix)?;
                let v = match value {
                    Field::Str(s) | Field::Bare(s) => s.clone(),
                };
                Some((rest.to_string(), v))
            }
            _ => None,
        })
        .collect()
}

/// One row of a status table: its number and its cells by name (the path after the number).
#[derive(Debug, Clone, Default)]
pub(crate) struct Row {
    pub n: u32,
    pub cells: HashMap<String, String>,
    /// Cells in the order the status listed them.
    pub order: Vec<String>,
}

impl Row {
    pub fn get(&self, k: &str) -> &str {
        self.cells.get(k).map(String::as_str).unwrap_or("")
    }
}

/// Rows of the leaves that start with `word N` (`Call 3 …`), by number.
pub(crate) fn rows(leaves: &[(String, String)], word: &str) -> Vec<Row> {
    let prefix = format!("{word} ");
    let mut out: BTreeMap<u32, Row> = BTreeMap::new();
    for (path, value) in leaves {
        let Some(rest) = path.strip_prefix(&prefix) else {
            continue;
        };
        let Some((n, cell)) = rest.split_once(' ') else {
            continue;
        };
        let Ok(n) = n.parse::<u32>() else {
            continue;
        };
        let row = out.entry(n).or_insert_with(|| Row {
            n,
            ..Row::default()
        });
        row.order.push(cell.to_string());
        row.cells.insert(cell.to_string(), value.clone());
    }
    out.into_values().collect()
}

/// The value of one leaf.
pub(crate) fn value<'a>(leaves: &'a [(String, String)], path: &str) -> Option<&'a str> {
    leaves
        .iter()
        .find(|(p, _)| p == path)
        .map(|(_, v)| v.as_str())
}

/// Keeps the rows whose cells contain every word of `filter` (ignoring case), as the
/// reference's list filters do.
pub(crate) fn filter_rows(rows: Vec<Row>, filter: &str) -> Vec<Row> {
    let words: Vec<String> = filter.split_whitespace().map(str::to_lowercase).collect();
    if words.is_empty() {
        return rows;
    }
    rows.into_iter()
        .filter(|r| {
            let text: String = r
                .cells
                .values()
                .map(|v| v.to_lowercase())
                .collect::<Vec<_>>()
                .join("\u{1f}");
            words.iter().all(|w| text.contains(w.as_str()))
        })
        .collect()
}

/// Sorts rows by a cell: numerically when both values are numbers, otherwise ignoring case.
pub(crate) fn sort_rows(rows: &mut [Row], key: &str, descending: bool) {
    rows.sort_by(|a, b| {
        let o = compare(a.get(key), b.get(key)).then(a.n.cmp(&b.n));
        if descending {
            o.reverse()
        } else {
            o
        }
    });
}

pub(crate) fn compare(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<i64>(), b.parse::<i64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.to_lowercase().cmp(&b.to_lowercase()),
    }
}

/// Seconds as `3 d 4 h 5 min` (the largest units that matter).
pub(crate) fn duration(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86400,
        secs % 86400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, _) => format!("{m} min {s} s"),
        (0, _, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h {m} min"),
    }
}

/// Bytes as KiB, MiB or GiB.
pub(crate) fn bytes(n: u64) -> String {
    const K: f64 = 1024.0;
    let f = n as f64;
    if f >= K * K * K {
        format!("{:.1} GiB", f / (K * K * K))
    } else if f >= K * K {
        format!("{:.1} MiB", f / (K * K))
    } else if f >= K {
        format!("{:.1} KiB", f / K)
    } else {
        format!("{n} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn leaves_become_rows() {
        let leaves = l(&[
            ("Call 3 State", "Connected"),
            ("Call 3 SourceAlias", "alice@example.com"),
            ("Call 12 State", "Ringing"),
            ("Count", "2"),
        ]);
        let r = rows(&leaves, "Call");
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].n, 3);
        assert_eq!(r[0].get("SourceAlias"), "alice@example.com");
        assert_eq!(value(&leaves, "Count"), Some("2"));
        let f = filter_rows(r.clone(), "ALICE conn");
        assert_eq!(f.len(), 1);
        let mut r = r;
        sort_rows(&mut r, "State", false);
        assert_eq!(r[0].n, 3);
        sort_rows(&mut r, "State", true);
        assert_eq!(r[0].n, 12);
    }

    #[test]
    fn durations_and_sizes_read_well() {
        assert_eq!(duration(59), "59 s");
        assert_eq!(duration(3 * 3600 + 120), "3 h 2 min");
        assert_eq!(duration(2 * 86400 + 5), "2 d 0 h 0 min");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 << 20), "3.0 MiB");
        assert!(compare("9", "10").is_lt());
        assert!(compare("b", "A").is_gt());
    }
}
