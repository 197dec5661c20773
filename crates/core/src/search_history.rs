//! The most recent searches, with what each decided (the guide's Status > Search history).

use causeway_xapi::{Field, StatusSource};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::SystemTime;

/// How many searches are kept.
pub const KEPT: usize = 255;

/// One finished search.
#[derive(Debug, Clone)]
pub struct SearchRecord {
    pub id: u64,
    pub started: SystemTime,
    /// The message that searched: `INVITE`, `OPTIONS`, …
    pub kind: String,
    pub source: String,
    /// The alias as dialled, before any transform.
    pub destination: String,
    pub found: bool,
    /// Where it was found, or why not.
    pub outcome: String,
    pub call_id: String,
    pub trace: Vec<String>,
}

/// The history: the newest [`KEPT`] searches, oldest first.
#[derive(Default)]
pub struct SearchHistory {
    records: VecDeque<SearchRecord>,
    next: u64,
}

impl SearchHistory {
    /// Numbers a search as it starts (numbers follow start order).
    pub fn next_id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    pub fn add(&mut self, r: SearchRecord) {
        if self.records.len() == KEPT {
            self.records.pop_front();
        }
        self.records.push_back(r);
    }

    pub fn records(&self) -> impl DoubleEndedIterator<Item = &SearchRecord> {
        self.records.iter()
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// `xStatus SearchHistory`: ours (the guide shows the history on a web page only); the web
/// page is a view of this.
pub struct SearchHistoryStatus(pub Arc<crate::sip::state::Shared>);

impl StatusSource for SearchHistoryStatus {
    fn group(&self) -> &'static str {
        "SearchHistory"
    }

    fn collect(&self) -> Vec<(String, Field)> {
        let h = self.0.searches.lock().unwrap();
        let mut v = Vec::new();
        // Newest first, as an operator reads a history.
        for r in h.records().rev() {
            let p = format!("Search {} ", r.id);
            let started = chrono::DateTime::<chrono::Utc>::from(r.started)
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string();
            v.push((format!("{p}StartTime"), Field::str(started)));
            v.push((format!("{p}Type"), Field::bare(&r.kind)));
            v.push((format!("{p}Source"), Field::str(r.source.as_str())));
            v.push((
                format!("{p}Destination"),
                Field::str(r.destination.as_str()),
            ));
            v.push((
                format!("{p}Status"),
                Field::bare(if r.found { "Found" } else { "NotFound" }),
            ));
            v.push((format!("{p}Outcome"), Field::str(r.outcome.as_str())));
            v.push((format!("{p}CallId"), Field::str(r.call_id.as_str())));
            for (i, t) in r.trace.iter().enumerate() {
                v.push((format!("{p}Trace {}", i + 1), Field::str(t.as_str())));
            }
        }
        v.push(("Count".into(), Field::bare(h.len())));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u64) -> SearchRecord {
        SearchRecord {
            id,
            started: SystemTime::now(),
            kind: "INVITE".into(),
            source: "a".into(),
            destination: "b".into(),
            found: false,
            outcome: String::new(),
            call_id: String::new(),
            trace: vec!["x".into()],
        }
    }

    #[test]
    fn only_the_newest_255_are_kept() {
        let mut h = SearchHistory::default();
        for _ in 0..KEPT + 5 {
            let id = h.next_id();
            h.add(record(id));
        }
        assert_eq!(h.len(), KEPT);
        assert_eq!(h.records().next().unwrap().id, 6);
        assert_eq!(h.records().last().unwrap().id, (KEPT + 5) as u64);
    }
}
