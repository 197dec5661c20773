//! Login throttling by source address: after [`FAILURES`] failed logins from one address within
//! [`WINDOW`], that address may not try again for [`BLOCK`].
//!
//! The password check itself is slow (argon2id), but a script can still try many passwords an
//! hour; this makes an online guess at a password cost minutes instead of seconds, while a
//! person who mistypes a few times is not held up.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub(crate) const FAILURES: usize = 5;
pub(crate) const WINDOW: Duration = Duration::from_secs(5 * 60);
pub(crate) const BLOCK: Duration = Duration::from_secs(60);
/// Addresses tracked at most; past this, stale entries go first, then everything.
const MAX_ADDRESSES: usize = 10_000;

#[derive(Default)]
struct Entry {
    failures: Vec<Instant>,
    blocked_until: Option<Instant>,
}

#[derive(Default)]
pub(crate) struct Throttle {
    map: Mutex<HashMap<IpAddr, Entry>>,
}

impl Throttle {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Entry>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long `ip` must still wait before it may try again; `None` when it may try now.
    pub fn wait(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let map = self.map();
        let until = map.get(&ip)?.blocked_until?;
        (until > now).then(|| until - now)
    }

    /// Records a failed login. Returns how long the address is now blocked, if it is.
    pub fn failed(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let mut map = self.map();
        if map.len() >= MAX_ADDRESSES && !map.contains_key(&ip) {
            map.retain(|_, e| {
                e.blocked_until.is_some_and(|u| u > now)
                    || e.failures.iter().any(|t| now.duration_since(*t) < WINDOW)
            });
            if map.len() >= MAX_ADDRESSES {
                map.clear();
            }
        }
        let e = map.entry(ip).or_default();
        e.failures.retain(|t| now.duration_since(*t) < WINDOW);
        e.failures.push(now);
        if e.failures.len() >= FAILURES {
            e.failures.clear();
            e.blocked_until = Some(now + BLOCK);
            return Some(BLOCK);
        }
        None
    }

    /// A good login clears the address's record.
    pub fn succeeded(&self, ip: IpAddr) {
        self.map().remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_in_five_minutes_block_for_a_minute() {
        let t = Throttle::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..4 {
            assert_eq!(t.failed(ip, t0 + Duration::from_secs(i * 60)), None);
        }
        assert_eq!(t.wait(ip, t0 + Duration::from_secs(240)), None);
        assert_eq!(t.failed(ip, t0 + Duration::from_secs(250)), Some(BLOCK));
        assert_eq!(
            t.wait(ip, t0 + Duration::from_secs(260)),
            Some(Duration::from_secs(50))
        );
        assert_eq!(t.wait(other, t0 + Duration::from_secs(260)), None);
        assert_eq!(t.wait(ip, t0 + Duration::from_secs(310)), None);
        // The count starts again after a block.
        assert_eq!(t.failed(ip, t0 + Duration::from_secs(311)), None);
    }

    #[test]
    fn failures_older_than_the_window_do_not_count() {
        let t = Throttle::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..8 {
            // One failure every 80 s: never five within five minutes.
            assert_eq!(t.failed(ip, t0 + Duration::from_secs(i * 80)), None, "{i}");
        }
        t.succeeded(ip);
        assert_eq!(t.wait(ip, t0), None);
    }
}
