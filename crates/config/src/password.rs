//! The strict password policy (`Authentication StrictPassword …`), applied to every local password
//! set while it is on: administrator accounts and the local authentication database.

use crate::snapshot::{lookup, Values};

/// The policy's settings, read from a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub enabled: bool,
    pub min_length: usize,
    pub min_digits: usize,
    pub min_upper: usize,
    pub min_lower: usize,
    pub min_other: usize,
    /// 0: no limit.
    pub max_repeated: usize,
    /// 0: no requirement.
    pub min_classes: usize,
}

impl Policy {
    pub fn from_values(values: &Values) -> Policy {
        let int = |leaf: &str| -> usize {
            lookup(values, &format!("Authentication StrictPassword {leaf}"))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Policy {
            enabled: lookup(values, "Authentication StrictPassword Enabled") == Some("On"),
            min_length: int("MinimumLength"),
            min_digits: int("MinimumDigits"),
            min_upper: int("MinimumUpperCase"),
            min_lower: int("MinimumLowerCase"),
            min_other: int("MinimumOther"),
            max_repeated: int("MaximumConsecutiveRepeated"),
            min_classes: int("MinimumClasses"),
        }
    }

    /// Checks a new password for account `user`; the reason when it is refused. With the policy
    /// off only an empty password is refused.
    pub fn check(&self, user: &str, password: &str) -> Result<(), String> {
        if password.is_empty() {
            return Err("a password cannot be empty".into());
        }
        if !self.enabled {
            return Ok(());
        }
        let chars: Vec<char> = password.chars().collect();
        let count = |f: fn(&char) -> bool| chars.iter().filter(|c| f(c)).count();
        let digits = count(char::is_ascii_digit);
        let upper = count(char::is_ascii_uppercase);
        let lower = count(char::is_ascii_lowercase);
        // Printable 7-bit ASCII that is neither a letter nor a digit, space included.
        let other = count(|c| (' '..='~').contains(c) && !c.is_ascii_alphanumeric());
        if chars.len() < self.min_length {
            return Err(format!(
                "it must be at least {} characters long",
                self.min_length
            ));
        }
        for (have, need, what) in [
            (digits, self.min_digits, "digits"),
            (upper, self.min_upper, "upper-case letters"),
            (lower, self.min_lower, "lower-case letters"),
            (
                other,
                self.min_other,
                "other characters (punctuation or space)",
            ),
        ] {
            if have < need {
                return Err(format!("it needs at least {need} {what}"));
            }
        }
        let classes = [digits, upper, lower, other]
            .iter()
            .filter(|&&n| n > 0)
            .count();
        if classes < self.min_classes {
            return Err(format!(
                "it needs characters of at least {} of the four kinds (digits, upper-case, \
                 lower-case, other)",
                self.min_classes
            ));
        }
        if self.max_repeated > 0 {
            let mut run = 1;
            for w in chars.windows(2) {
                run = if w[0] == w[1] { run + 1 } else { 1 };
                if run > self.max_repeated {
                    return Err(format!(
                        "it repeats '{}' more than {} times in a row",
                        w[0], self.max_repeated
                    ));
                }
            }
        }
        fixed_rules(user, &chars)
    }
}

/// The rules that always apply while the policy is on.
fn fixed_rules(user: &str, chars: &[char]) -> Result<(), String> {
    // One character may make up at most a quarter of the password (at least two of it are
    // always allowed), wherever its copies stand.
    let most = chars.len().div_ceil(4).max(2);
    for &c in chars {
        if chars.iter().filter(|&&d| d == c).count() > most {
            return Err(format!("it uses '{c}' more than {most} times"));
        }
    }
    // Three characters in a row that step up or down by one: abc, 321, XYZ.
    let folded: Vec<char> = chars.iter().map(|c| c.to_ascii_lowercase()).collect();
    for w in folded.windows(3) {
        let alnum = w.iter().all(|c| c.is_ascii_alphanumeric())
            && (w.iter().all(char::is_ascii_digit) || w.iter().all(char::is_ascii_alphabetic));
        let (a, b, c) = (w[0] as i32, w[1] as i32, w[2] as i32);
        if alnum && b - a == c - b && (b - a).abs() == 1 {
            return Err(format!(
                "it contains the sequence \"{}\"",
                w.iter().collect::<String>()
            ));
        }
    }
    if folded.len() >= 3 && folded.iter().eq(folded.iter().rev()) {
        return Err("it reads the same backwards".into());
    }
    let lower: String = folded.iter().collect();
    let name = user.to_ascii_lowercase();
    if name.chars().count() >= 3 {
        let reversed: String = name.chars().rev().collect();
        if lower.contains(&name) || lower.contains(&reversed) {
            return Err("it contains the account name, forwards or backwards".into());
        }
    }
    // Dictionary words of five letters or more, forwards, backwards or with digits for letters,
    // found by the decomposition a password cracker would try first.
    let password: String = chars.iter().collect();
    for m in zxcvbn::zxcvbn(&password, &[]).sequence() {
        if let zxcvbn::matching::patterns::MatchPattern::Dictionary(d) = &m.pattern {
            if d.matched_word.chars().count() >= 5 {
                return Err(format!(
                    "it contains the {}dictionary word \"{}\"",
                    if d.reversed { "reversed " } else { "" },
                    d.matched_word
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict() -> Policy {
        Policy {
            enabled: true,
            min_length: 15,
            min_digits: 2,
            min_upper: 2,
            min_lower: 2,
            min_other: 2,
            max_repeated: 0,
            min_classes: 0,
        }
    }

    #[test]
    fn off_refuses_only_the_empty_password() {
        let p = Policy {
            enabled: false,
            ..strict()
        };
        assert!(p.check("bob", "x").is_ok());
        assert!(p.check("bob", "").is_err());
    }

    #[test]
    fn strict_rules_each_refuse_what_they_name() {
        let p = strict();
        let good = "Qz7#Lm4!Rv9@Kw2$";
        assert_eq!(p.check("bob", good), Ok(()));
        let refused = |user: &str, pw: &str, why: &str| {
            let e = p.check(user, pw).expect_err(pw);
            assert!(e.contains(why), "{pw}: {e}");
        };
        refused("bob", "Qz7#Lm4!Rv9@", "at least 15");
        refused("bob", "Qz7#Lm!Rv@KwPxYpt", "digits");
        refused("bob", "qz7#lm4!rv9@kw2$x", "upper-case");
        refused("bob", "QZ7#LM4!RV9@KW2$X", "lower-case");
        refused("bob", "Qz7xLm4yRv9zKw2Tp", "other characters");
        refused("bob", "Qz7#Lm4!Rv9@Kabc2$", "sequence \"abc\"");
        refused("bob", "Qz7#Lm4!Rv9@K321$x", "sequence \"321\"");
        refused("bob", "Qz7#QzQ!Rv9@QwQ$Q", "uses 'Q'");
        refused("bob", "Qz7#Lm4!!4mL#7zQ", "backwards");
        refused("alice", "Qz7#ECILa!Rv9@Kw2$", "account name");
        refused("alice", "Qz7#Alice!Rv9@Kw2$", "account name");
        refused("bob", "Qz7#Lm4!Rv9@Kw2$sunshine", "dictionary word");
        refused(
            "bob",
            "Qz7#Lm4!Rv9@Kw2$enihsnus",
            "reversed dictionary word",
        );
    }

    #[test]
    fn classes_and_repeats_are_configurable() {
        let p = Policy {
            min_length: 6,
            min_digits: 0,
            min_upper: 0,
            min_lower: 0,
            min_other: 0,
            min_classes: 2,
            max_repeated: 1,
            ..strict()
        };
        assert!(p.check("bob", "qzmwvk").unwrap_err().contains("at least 2"));
        assert_eq!(p.check("bob", "qz7mw9vk"), Ok(()));
        assert!(p
            .check("bob", "qz7mww9vk")
            .unwrap_err()
            .contains("in a row"));
    }
}
