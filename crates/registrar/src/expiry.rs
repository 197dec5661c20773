//! How long a registration is granted.

use rand::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Grant what was asked, capped at the maximum.
    Maximum,
    /// Grant a random time between the minimum and the capped request, so that a crowd of
    /// endpoints that registered together spreads its refreshes out.
    Variable,
}

/// One trio of refresh settings (standard, or RFC 5626 outbound registrations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    pub strategy: Strategy,
    pub minimum: u32,
    pub maximum: u32,
}

/// What to do with a requested expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// Remove the binding.
    Remove,
    Seconds(u32),
    /// Below the minimum: answer 423 with this Min-Expires.
    TooBrief(u32),
}

impl Expiry {
    pub fn grant(&self, requested: u32, rng: &mut impl Rng) -> Grant {
        if requested == 0 {
            return Grant::Remove;
        }
        if requested < self.minimum {
            return Grant::TooBrief(self.minimum);
        }
        let cap = requested.min(self.maximum).max(self.minimum);
        match self.strategy {
            Strategy::Maximum => Grant::Seconds(cap),
            Strategy::Variable => Grant::Seconds(rng.gen_range(self.minimum..=cap)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn maximum_caps_and_minimum_refuses() {
        let e = Expiry {
            strategy: Strategy::Maximum,
            minimum: 45,
            maximum: 60,
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        assert_eq!(e.grant(3600, &mut rng), Grant::Seconds(60));
        assert_eq!(e.grant(50, &mut rng), Grant::Seconds(50));
        assert_eq!(e.grant(45, &mut rng), Grant::Seconds(45));
        assert_eq!(e.grant(44, &mut rng), Grant::TooBrief(45));
        assert_eq!(e.grant(0, &mut rng), Grant::Remove);
    }

    #[test]
    fn variable_stays_between_minimum_and_the_capped_request() {
        let e = Expiry {
            strategy: Strategy::Variable,
            minimum: 300,
            maximum: 3600,
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            match e.grant(1000, &mut rng) {
                Grant::Seconds(s) => {
                    assert!((300..=1000).contains(&s), "{s}");
                    seen.insert(s);
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(seen.len() > 100, "the grant varies");
        assert_eq!(e.grant(299, &mut rng), Grant::TooBrief(300));
        for _ in 0..100 {
            assert!(
                matches!(e.grant(100_000, &mut rng), Grant::Seconds(s) if (300..=3600).contains(&s))
            );
        }
    }
}
