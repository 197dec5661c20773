use std::time::{Duration, Instant};

/// The timer base values of RFC 3261 §17.1.1.1 and Table 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// Round-trip estimate (500 ms).
    pub t1: Duration,
    /// Longest retransmission interval for non-INVITE requests and INVITE responses (4 s).
    pub t2: Duration,
    /// Longest time a message stays in the network (5 s).
    pub t4: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl Timers {
    /// Timers B, F, H, J, L and M: 64·T1.
    pub fn long(&self) -> Duration {
        self.t1 * 64
    }

    /// Timer D: at least 32 s over unreliable transports.
    pub fn d(&self) -> Duration {
        self.long().max(Duration::from_secs(32))
    }

    /// The next retransmission interval after `current`, doubling up to `cap`.
    pub fn backoff(current: Duration, cap: Option<Duration>) -> Duration {
        let next = current * 2;
        match cap {
            Some(c) => next.min(c),
            None => next,
        }
    }
}

/// The earliest of a machine's armed timers.
pub(super) fn earliest(ts: &[Option<Instant>]) -> Option<Instant> {
    ts.iter().flatten().min().copied()
}

/// Whether an armed timer has come due.
pub(super) fn due(t: Option<Instant>, now: Instant) -> bool {
    t.is_some_and(|t| t <= now)
}
