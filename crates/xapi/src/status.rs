//! The xStatus tree: each top-level group is filled by one source.

use crate::format::Field;
use std::sync::OnceLock;

/// Supplies the leaves of one top-level status group.
pub trait StatusSource: Send + Sync {
    /// The group name, as the reference spells it (`SystemUnit`, `Alarm`, …).
    fn group(&self) -> &'static str;
    /// Leaves as (path below the group, value), in display order.
    fn collect(&self) -> Vec<(String, Field)>;
    /// Leaves too many to list every time (histories), given only when the path asks for
    /// their first word (`xStatus Calls History`). Same form as [`StatusSource::collect`].
    fn collect_on_request(&self, _first: &str) -> Vec<(String, Field)> {
        Vec::new()
    }
}

/// The top-level status groups the reference lists.
pub fn groups() -> &'static [String] {
    static G: OnceLock<Vec<String>> = OnceLock::new();
    G.get_or_init(|| {
        #[derive(serde::Deserialize)]
        struct G {
            name: String,
        }
        let list: Vec<G> =
            serde_json::from_str(include_str!("../spec/xstatus.json")).expect("status groups");
        list.into_iter().map(|g| g.name).collect()
    })
}
