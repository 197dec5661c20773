//! Immutable views of the configuration, published on every commit.

use crate::schema::{element_of, Element, Word, ELEMENTS};
use std::sync::{Arc, OnceLock};

/// Stored values by canonical path. Elements without a stored value take their default.
///
/// A persistent map: a commit copies it in constant time and shares every untouched node with
/// the snapshot before it.
pub type Values = imbl::OrdMap<String, String>;

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
    /// Opens sealed secrets (see [`Snapshot::secret`]).
    pub(crate) key: Option<Arc<crate::credentials::SealKey>>,
}

impl Snapshot {
    pub(crate) fn new(revision: u64, configured: Values, boot: &Values) -> Snapshot {
        let mut pending = Vec::new();
        let mut effective = None::<Values>;
        // Only restart-flagged elements can differ from what is running: a handful of paths.
        for (path, e) in restart_paths() {
            let now = configured.get(path).map(String::as_str).or(e.default);
            let then = boot.get(path).map(String::as_str).or(e.default);
            if now != then {
                pending.push(path.to_string());
                let eff = effective.get_or_insert_with(|| configured.clone());
                match boot.get(path) {
                    Some(v) => eff.insert(path.to_string(), v.clone()),
                    None => eff.remove(path),
                };
            }
        }
        let configured = Arc::new(configured);
        let effective = match effective {
            Some(e) => Arc::new(e),
            None => configured.clone(),
        };
        Snapshot {
            revision,
            configured,
            effective,
            pending_restart: pending,
            key: None,
        }
    }

    /// A snapshot of these stored values, as a process started with them would see it (for
    /// tests and tools that work without a store). Paths are not checked.
    pub fn from_values(values: Values) -> Snapshot {
        Snapshot::new(0, values.clone(), &values)
    }

    /// The value subsystems should use now (stored, or the default), for a canonical path.
    pub fn get(&self, path: &str) -> Option<&str> {
        lookup(&self.effective, path)
    }

    /// An element's plain value: a sealed secret opened, for the code that must send it (a
    /// zone's or a policy service's password); any other element as [`Snapshot::get`] gives it.
    /// Secrets stored before they were sealed come back as they are.
    pub fn secret(&self, path: &str) -> Option<String> {
        let v = self.get(path)?;
        if !v.starts_with(crate::secrets::PREFIX) || !crate::secrets::is_sealed(path) {
            return Some(v.to_string());
        }
        crate::secrets::open(self.key.as_deref()?, path, v)
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
        rows_of(&self.configured, prefix)
    }
}

/// Indices of the rows of the table at `prefix` that hold any value in `values`.
pub fn rows_of(values: &Values, prefix: &str) -> Vec<u32> {
    let start = format!("{prefix} ");
    let mut rows: Vec<u32> = values
        .range(start.clone()..)
        .take_while(|(k, _)| k.starts_with(&start))
        .filter_map(|(k, _)| k[start.len()..].split(' ').next()?.parse().ok())
        .collect();
    rows.sort_unstable();
    rows.dedup();
    rows
}

/// Every concrete path of a restart-flagged element (their tables are small).
fn restart_paths() -> &'static [(String, &'static Element)] {
    static P: OnceLock<Vec<(String, &'static Element)>> = OnceLock::new();
    P.get_or_init(|| {
        let mut out = Vec::new();
        for e in ELEMENTS.iter().filter(|e| e.restart) {
            let mut paths = vec![String::new()];
            for w in e.words {
                let parts: Vec<String> = match *w {
                    Word::Lit(s) => vec![s.to_string()],
                    Word::Index { min, max } => (min..=max).map(|n| n.to_string()).collect(),
                };
                paths = paths
                    .iter()
                    .flat_map(|p| {
                        parts.iter().map(move |x| {
                            if p.is_empty() {
                                x.clone()
                            } else {
                                format!("{p} {x}")
                            }
                        })
                    })
                    .collect();
            }
            out.extend(paths.into_iter().map(|p| (p, e)));
        }
        out
    })
}

/// The stored value at `path`, or its element's default.
pub fn lookup<'a>(values: &'a Values, path: &str) -> Option<&'a str> {
    match values.get(path) {
        Some(v) => Some(v.as_str()),
        None => element_of(path).and_then(|e: &Element| e.default),
    }
}
