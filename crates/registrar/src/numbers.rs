//! Registration numbers. `xStatus Registrations` numbers SIP bindings and H.323 registrations
//! in one sequence, and `RemoveRegistration` takes that number, so both protocols draw
//! from one allocator: the smallest positive number not in use.

use std::collections::BTreeSet;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct Numbers(Mutex<Pool>);

#[derive(Debug, Default)]
struct Pool {
    /// Every number up to `top` is in use or in `free`.
    top: u32,
    free: BTreeSet<u32>,
    /// The most numbers ever in use at once.
    peak: u32,
}

impl Numbers {
    /// The smallest free number, now in use.
    pub fn take(&self) -> u32 {
        let mut p = self.0.lock().unwrap();
        let n = match p.free.pop_first() {
            Some(n) => n,
            None => {
                p.top += 1;
                p.top
            }
        };
        let used = p.top - p.free.len() as u32;
        p.peak = p.peak.max(used);
        n
    }

    /// How many numbers are in use now, and the most ever in use at once: the current and peak
    /// registrations (SIP and H.323 draw from one pool).
    pub fn usage(&self) -> (u32, u32) {
        let p = self.0.lock().unwrap();
        (p.top - p.free.len() as u32, p.peak)
    }

    /// Gives a number back. Giving back a number that is not in use changes nothing.
    pub fn give(&self, n: u32) {
        let mut guard = self.0.lock().unwrap();
        let p = &mut *guard;
        if n == 0 || n > p.top || p.free.contains(&n) {
            return;
        }
        p.free.insert(n);
        // Free numbers at the top shrink the range instead of waiting in the set.
        while p.top > 0 && p.free.remove(&p.top) {
            p.top -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smallest_free_number_first_and_the_top_shrinks() {
        let n = Numbers::default();
        assert_eq!((n.take(), n.take(), n.take()), (1, 2, 3));
        n.give(2);
        n.give(2);
        assert_eq!(n.take(), 2);
        n.give(3);
        n.give(2);
        assert_eq!(n.take(), 2);
        assert_eq!(n.take(), 3);
        n.give(9);
        assert_eq!(n.take(), 4);
        assert_eq!(n.usage(), (4, 4));
        n.give(1);
        n.give(4);
        assert_eq!(n.usage(), (2, 4));
    }
}
