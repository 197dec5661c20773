//! RFC 2782 ordering of an SRV answer: priority first, then weighted random choice.

use crate::model::Srv;

/// A source of uniform random numbers, injectable so that tests can fix the SRV order.
pub trait Random {
    /// A uniformly chosen number in `0..=max`.
    fn up_to(&mut self, max: u64) -> u64;
}

/// Any closure works as a fixed or scripted source in tests.
impl<F: FnMut(u64) -> u64> Random for F {
    fn up_to(&mut self, max: u64) -> u64 {
        self(max).min(max)
    }
}

/// The thread-local generator of the `rand` crate.
#[derive(Debug, Default, Clone, Copy)]
pub struct ThreadRandom;

impl Random for ThreadRandom {
    fn up_to(&mut self, max: u64) -> u64 {
        use rand::RngExt;
        rand::rng().random_range(0..=max)
    }
}

/// Orders the records in the order they should be tried. A lone record whose target is `.`
/// means the service is not offered, so nothing is returned for it.
pub fn order_srv(records: &[Srv], rng: &mut dyn Random) -> Vec<Srv> {
    let usable: Vec<&Srv> = records.iter().filter(|r| !r.target.is_empty()).collect();
    let mut priorities: Vec<u16> = usable.iter().map(|r| r.priority).collect();
    priorities.sort_unstable();
    priorities.dedup();

    let mut ordered = Vec::with_capacity(usable.len());
    for priority in priorities {
        // RFC 2782 puts weight-0 records first so that they are chosen only when the random
        // number is 0, i.e. rarely but not never, when weighted records exist.
        let mut group: Vec<&Srv> = usable
            .iter()
            .copied()
            .filter(|r| r.priority == priority && r.weight == 0)
            .collect();
        group.extend(
            usable
                .iter()
                .copied()
                .filter(|r| r.priority == priority && r.weight != 0),
        );
        while !group.is_empty() {
            let total: u64 = group.iter().map(|r| u64::from(r.weight)).sum();
            let pick = rng.up_to(total);
            let mut running = 0u64;
            let index = group
                .iter()
                .position(|r| {
                    running += u64::from(r.weight);
                    running >= pick
                })
                .unwrap_or(group.len() - 1);
            ordered.push(group.remove(index).clone());
        }
    }
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn srv(priority: u16, weight: u16, target: &str) -> Srv {
        Srv {
            priority,
            weight,
            port: 5060,
            target: target.to_string(),
        }
    }

    fn targets(records: &[Srv]) -> Vec<&str> {
        records.iter().map(|r| r.target.as_str()).collect()
    }

    #[test]
    fn lower_priority_numbers_come_first_whatever_the_weights() {
        let records = [srv(20, 100, "b"), srv(10, 0, "a"), srv(30, 65535, "c")];
        let mut max = |m: u64| m;
        assert_eq!(targets(&order_srv(&records, &mut max)), ["a", "b", "c"]);
    }

    #[test]
    fn the_random_number_picks_by_running_sum_of_weights() {
        let records = [srv(10, 60, "x"), srv(10, 30, "y"), srv(10, 10, "z")];
        // Running sums 60, 90, 100: 61 lands on y; then x, z have sums 60, 70 and 0 picks x.
        let mut draws = vec![61u64, 0, 0].into_iter();
        let mut scripted = |_: u64| draws.next().unwrap();
        assert_eq!(
            targets(&order_srv(&records, &mut scripted)),
            ["y", "x", "z"]
        );

        let mut draws = vec![100u64, 70, 0].into_iter();
        let mut scripted = |_: u64| draws.next().unwrap();
        assert_eq!(
            targets(&order_srv(&records, &mut scripted)),
            ["z", "y", "x"]
        );
    }

    #[test]
    fn the_random_range_is_the_sum_of_the_remaining_weights() {
        let records = [srv(1, 5, "a"), srv(1, 7, "b"), srv(1, 0, "c")];
        let mut seen = Vec::new();
        let mut recording = |max: u64| {
            seen.push(max);
            max
        };
        order_srv(&records, &mut recording);
        assert_eq!(seen, [12, 5, 0]);
    }

    #[test]
    fn zero_weight_records_are_chosen_only_on_a_zero_draw() {
        let records = [srv(1, 10, "weighted"), srv(1, 0, "zero")];
        let mut zero = |_: u64| 0;
        assert_eq!(
            targets(&order_srv(&records, &mut zero)),
            ["zero", "weighted"]
        );
        let mut one = |_: u64| 1;
        assert_eq!(
            targets(&order_srv(&records, &mut one)),
            ["weighted", "zero"]
        );
    }

    #[test]
    fn weights_share_out_first_places_over_many_draws() {
        let records = [srv(1, 3, "heavy"), srv(1, 1, "light")];
        let mut heavy_first = 0;
        for _ in 0..4000 {
            if order_srv(&records, &mut ThreadRandom)[0].target == "heavy" {
                heavy_first += 1;
            }
        }
        // RFC 2782 draws from 0..=4 inclusive and four of those five land on heavy's running
        // sum of 3, so heavy leads about 3200 times, not the 3000 the weights alone suggest.
        assert!((2900..3500).contains(&heavy_first), "{heavy_first}");
    }

    #[test]
    fn a_dot_target_offers_nothing() {
        let records = [srv(0, 0, "")];
        let mut zero = |_: u64| 0;
        assert!(order_srv(&records, &mut zero).is_empty());
    }
}
