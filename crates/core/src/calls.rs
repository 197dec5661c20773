//! The table of calls this node carries, and the history of the last ones.
//!
//! A call has a number (the smallest free positive integer, for quick reference on the command
//! line), a serial number (a UUID, never reused) and a tag (a UUID shared by every leg and search
//! of one call, carried between nodes).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::SystemTime;
use uuid::Uuid;

/// How many ended calls are remembered.
pub const HISTORY: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    Attempting,
    Connected,
    Disconnected,
}

impl CallState {
    pub fn name(self) -> &'static str {
        match self {
            CallState::Attempting => "Connecting",
            CallState::Connected => "Connected",
            CallState::Disconnected => "Disconnected",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub number: u32,
    pub serial: Uuid,
    pub tag: Uuid,
    pub state: CallState,
    pub protocol: &'static str,
    pub source: String,
    pub destination: String,
    pub started: SystemTime,
    pub connected: Option<SystemTime>,
    pub ended: Option<SystemTime>,
    /// Why it ended: a status code and phrase, `BYE`, or an operator's action.
    pub reason: Option<String>,
    /// The signalling identifier (SIP Call-ID).
    pub call_id: String,
}

/// Told of every call that ends (call detail records). Must not block: it runs under the calls
/// lock.
pub type EndSink = Box<dyn Fn(&Call) + Send + Sync>;

#[derive(Default)]
pub struct Calls {
    active: BTreeMap<u32, Call>,
    free: BTreeSet<u32>,
    history: VecDeque<Call>,
    on_end: Option<EndSink>,
    /// The most calls ever active at once.
    peak: usize,
}

impl std::fmt::Debug for Calls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Calls")
            .field("active", &self.active)
            .field("history", &self.history.len())
            .finish()
    }
}

impl Calls {
    pub fn new() -> Calls {
        Calls::default()
    }

    /// Sets the sink told of every call that ends.
    pub fn set_on_end(&mut self, sink: EndSink) {
        self.on_end = Some(sink);
    }

    fn next_number(&mut self) -> u32 {
        match self.free.pop_first() {
            Some(n) => n,
            None => self.active.keys().next_back().map_or(1, |n| n + 1),
        }
    }

    /// Starts a call and returns its number.
    pub fn start(
        &mut self,
        protocol: &'static str,
        source: &str,
        destination: &str,
        call_id: &str,
        tag: Option<Uuid>,
        now: SystemTime,
    ) -> u32 {
        let number = self.next_number();
        self.active.insert(
            number,
            Call {
                number,
                serial: Uuid::new_v4(),
                tag: tag.unwrap_or_else(Uuid::new_v4),
                state: CallState::Attempting,
                protocol,
                source: source.to_string(),
                destination: destination.to_string(),
                started: now,
                connected: None,
                ended: None,
                reason: None,
                call_id: call_id.to_string(),
            },
        );
        self.peak = self.peak.max(self.active.len());
        number
    }

    /// How many calls are active now, and the most ever active at once.
    pub fn usage(&self) -> (usize, usize) {
        (self.active.len(), self.peak)
    }

    pub fn connected(&mut self, number: u32, now: SystemTime) {
        if let Some(c) = self.active.get_mut(&number) {
            if c.state == CallState::Attempting {
                c.state = CallState::Connected;
                c.connected = Some(now);
            }
        }
    }

    /// Ends a call and moves it to the history.
    pub fn end(&mut self, number: u32, reason: &str, now: SystemTime) -> Option<Call> {
        let mut c = self.active.remove(&number)?;
        self.free.insert(number);
        let top = self.active.keys().next_back().copied().unwrap_or(0);
        self.free.retain(|&n| n < top);
        c.state = CallState::Disconnected;
        c.ended = Some(now);
        c.reason = Some(reason.to_string());
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(c.clone());
        if let Some(sink) = &self.on_end {
            sink(&c);
        }
        Some(c)
    }

    pub fn get(&self, number: u32) -> Option<&Call> {
        self.active.get(&number)
    }

    pub fn by_serial(&self, serial: &str) -> Option<&Call> {
        let s: Uuid = serial.parse().ok()?;
        self.active.values().find(|c| c.serial == s)
    }

    pub fn active(&self) -> impl Iterator<Item = &Call> {
        self.active.values()
    }

    /// Ended calls, oldest first.
    pub fn history(&self) -> impl Iterator<Item = &Call> {
        self.history.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_smallest_free_and_history_is_bounded() {
        let now = SystemTime::now();
        let mut calls = Calls::new();
        let a = calls.start("SIP", "a", "b", "c1", None, now);
        let b = calls.start("SIP", "a", "b", "c2", None, now);
        let c = calls.start("SIP", "a", "b", "c3", None, now);
        assert_eq!((a, b, c), (1, 2, 3));
        calls.connected(b, now);
        assert_eq!(calls.get(b).unwrap().state, CallState::Connected);
        let ended = calls.end(b, "BYE", now).unwrap();
        assert_eq!(ended.state, CallState::Disconnected);
        assert_eq!(calls.start("SIP", "x", "y", "c4", None, now), 2);
        assert_eq!(calls.start("SIP", "x", "y", "c5", None, now), 4);
        let serial = calls.get(4).unwrap().serial.to_string();
        assert_eq!(calls.by_serial(&serial).unwrap().number, 4);
        assert_ne!(calls.get(1).unwrap().serial, calls.get(2).unwrap().serial);
        for i in 0..600 {
            let n = calls.start("SIP", "a", "b", &format!("h{i}"), None, now);
            calls.end(n, "BYE", now);
        }
        assert_eq!(calls.history().count(), HISTORY);
        assert_eq!(calls.history().last().unwrap().call_id, "h599");
        // A shared tag is kept.
        let tag = Uuid::new_v4();
        let n = calls.start("SIP", "a", "b", "t", Some(tag), now);
        assert_eq!(calls.get(n).unwrap().tag, tag);
    }
}
