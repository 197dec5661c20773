//! Immutable views of the configuration, published on every commit.

use crate::schema::{element_of, Element};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Stored values by canonical path. Elements without a stored value take their default.
pub type Values = BTreeMap<String, String>;

/// One revision of the configuration.
///
/// `configured` is what was committed. `effective` is what subsystems act on: the same, except
/// that elements which need a restart keep the value they had when the process started.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub revision: u64,
    configured: Arc<Values>,
    effective: Arc<Values>,
    /// Restart-flagged paths whose configured value differs from the running one.
    pub pending_restart: Vec<String>,
}

impl Snapshot {
    pub(crate) fn new(revision: u64, configured: Values, boot: &Values) -> Snapshot {
        let mut pending = Vec::new();
        let mut effective = configured.clone();
        let keys: std::collections::BTreeSet<&String> =
            configured.keys().chain(boot.keys()).collect();
        for k in keys {
            let Some(e) = element_of(k) else { continue };
            if !e.restart {
                continue;
            }
            let now = configured.get(k).map(String::as_str).or(e.default);
            let then = boot.get(k).map(String::as_str).or(e.default);
            if now != then {
                pending.push(k.clone());
                match boot.get(k) {
                    Some(v) => effective.insert(k.clone(), v.clone()),
                    None => effective.remove(k),
                };
            }
        }
        let configured = Arc::new(configured);
        let effective = if pending.is_empty() {
            configured.clone()
        } else {
            Arc::new(effective)
        };
        Snapshot {
            revision,
            configured,
            effective,
            pending_restart: pending,
        }
    }

    /// The value subsystems should use now (stored, or the default), for a canonical path.
    pub fn get(&self, path: &str) -> Option<&str> {
        lookup(&self.effective, path)
    }

    /// The committed value (which may still be waiting for a restart).
    pub fn configured(&self, path: &str) -> Option<&str> {
        lookup(&self.configured, path)
    }

    /// An integer element's value; `None` if unset with no default, or not an integer.
    pub fn int(&self, path: &str) -> Option<i64> {
        self.get(path)?.parse().ok()
    }

    /// Whether a value is stored explicitly for this path.
    pub fn is_stored(&self, path: &str) -> bool {
        self.configured.contains_key(path)
    }

    /// All stored values.
    pub fn stored(&self) -> &Values {
        &self.configured
    }

    /// Indices of the rows of the table at `prefix` (e.g. `Zones Zone`) that hold any value.
    pub fn rows(&self, prefix: &str) -> Vec<u32> {
        let start = format!("{prefix} ");
        let mut rows: Vec<u32> = self
            .configured
            .range(start.clone()..)
            .take_while(|(k, _)| k.starts_with(&start))
            .filter_map(|(k, _)| k[start.len()..].split(' ').next()?.parse().ok())
            .collect();
        rows.sort_unstable();
        rows.dedup();
        rows
    }
}

fn lookup<'a>(values: &'a Values, path: &str) -> Option<&'a str> {
    match values.get(path) {
        Some(v) => Some(v.as_str()),
        None => element_of(path).and_then(|e: &Element| e.default),
    }
}
