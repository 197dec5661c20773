//! Call tags and search loop detection (`Call Loop Detection Mode`).
//!
//! A call keeps the tag it arrived with, or gets a new one here, and carries it on in a
//! header of our own, so that the same call can be recognised when it comes round again —
//! possibly with another Request-URI, which the RFC 3261 check cannot see. Two searches are a
//! loop when they have the same tag, destination alias, protocol and source zone, and the
//! first is still running.

use super::util::header_str;
use super::Service;
use causeway_routing::Source;
use causeway_sip::transaction::Key;
use causeway_sip::Request;
use std::collections::HashMap;

/// The header that carries the call tag between nodes.
pub(super) const HEADER: &str = "X-Cw-Call-Tag";

/// Searches in progress, by what makes two of them a loop.
#[derive(Default)]
pub(super) struct Searches {
    running: HashMap<String, usize>,
    by_key: HashMap<Key, String>,
}

/// What identifies a search for loop detection.
fn identity(tag: &str, alias: &str, source: &Source) -> String {
    format!(
        "{}\u{0}{}\u{0}SIP\u{0}{}",
        tag.to_ascii_lowercase(),
        causeway_routing::search::bare_alias(alias).to_ascii_lowercase(),
        source.name().to_ascii_lowercase()
    )
}

impl Searches {
    /// Records the search of `key`; false when the same search is already running (a loop).
    pub(super) fn start(&mut self, key: &Key, tag: &str, alias: &str, source: &Source) -> bool {
        let id = identity(tag, alias, source);
        if self.running.contains_key(&id) {
            return false;
        }
        self.running.insert(id.clone(), 1);
        self.by_key.insert(key.clone(), id);
        true
    }

    /// The search of `key` ended.
    pub(super) fn finish(&mut self, key: &Key) {
        if let Some(id) = self.by_key.remove(key) {
            self.running.remove(&id);
        }
    }
}

impl Service {
    /// The request's call tag, or a new one; the forwarded request carries it.
    pub(super) fn call_tag(&self, fwd: &mut Request) -> String {
        let tag = header_str(&fwd.headers, HEADER)
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 64)
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let _ = fwd.headers.replace(HEADER, &tag);
        tag
    }

    /// Whether a new search is a loop of one still running; false when detection is off.
    pub(super) fn search_loops(
        &mut self,
        key: &Key,
        tag: &str,
        alias: &str,
        source: &Source,
    ) -> bool {
        if !self.derived.dialplan.loop_detection {
            return false;
        }
        if self.tags.start(key, tag, alias, source) {
            return false;
        }
        self.log.event(
            2,
            "tvcs",
            "Search Loop detected",
            &[
                ("Protocol", "SIP"),
                ("Dst-alias", alias),
                ("Call-tag", tag),
                ("Zone", source.name()),
            ],
        );
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: &str) -> Key {
        Key::server(&format!("z9hG4bK{b}"), "h", "INVITE").unwrap()
    }

    /// A second search with the same tag, alias, protocol and source zone is a loop while
    /// the first runs; another zone or alias is not; after the first ends it is not either.
    #[test]
    fn the_same_search_twice_is_a_loop_while_it_runs() {
        let mut s = Searches::default();
        let from_b = Source::Zone("B".into());
        assert!(s.start(&key("1"), "t", "sip:bob@example.com", &from_b));
        assert!(!s.start(&key("2"), "T", "bob@EXAMPLE.com", &from_b));
        assert!(s.start(&key("3"), "t", "bob@example.com", &Source::DefaultZone));
        assert!(s.start(&key("4"), "t", "carol@example.com", &from_b));
        s.finish(&key("1"));
        assert!(s.start(&key("5"), "t", "bob@example.com", &from_b));
    }
}
