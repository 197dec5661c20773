//! Administrator accounts and groups: rows of the tree, their password hashes, their rules, and
//! how a remote user's directory groups combine into one set of rights.
//!
//! An account's `Password` element never holds a password: a write is checked, then replaced by
//! an argon2id hash before it is stored. Hashes made by SHA-512 crypt (`$6$…`, from older
//! backups) still verify.

use crate::rules::RuleViolation;
use crate::snapshot::{lookup, rows_of, Values};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use std::sync::OnceLock;

pub const ACCOUNT: &str = "Authentication Account Admin Account";
pub const GROUP: &str = "Authentication Account Admin Group";
/// The account that always exists, always has full access and alone may use the SSH shell.
pub const ADMIN: &str = "admin";
/// Names that belong to the operating system or to recovery procedures.
const RESERVED: &[&str] = &["root", "pwrec", "nobody", "daemon", "bin", "sys", "sshd"];
/// Characters a directory group name may not contain.
const GROUP_FORBIDDEN: &[char] = &[
    '/', '\\', '[', ']', ':', ';', '|', '=', ',', '+', '*', '?', '>', '<', '@', '"',
];

/// What an account or a group may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Auditor,
    ReadOnly,
    ReadWrite,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "ReadWrite" => Some(Level::ReadWrite),
            "ReadOnly" => Some(Level::ReadOnly),
            "Auditor" => Some(Level::Auditor),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Level::ReadWrite => "ReadWrite",
            Level::ReadOnly => "ReadOnly",
            Level::Auditor => "Auditor",
        }
    }
}

/// A local administrator account as the tree holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub row: u32,
    pub name: String,
    /// The stored hash; empty when no password was ever set.
    pub hash: String,
    pub level: Level,
    pub web: bool,
    pub api: bool,
    pub enabled: bool,
    pub emergency: bool,
    pub force_password_reset: bool,
    pub public_key: String,
}

/// An administrator group: the rights given to members of the directory group of that name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub row: u32,
    pub name: String,
    /// `None` gives no access at all.
    pub level: Option<Level>,
    pub web: bool,
    pub api: bool,
    pub enabled: bool,
}

fn on(values: &Values, path: &str) -> bool {
    lookup(values, path) == Some("On")
}

/// Every account row, in row order.
pub fn accounts(values: &Values) -> Vec<Account> {
    rows_of(values, ACCOUNT)
        .into_iter()
        .map(|row| {
            let p = |leaf: &str| format!("{ACCOUNT} {row} {leaf}");
            let get = |leaf: &str| lookup(values, &p(leaf)).unwrap_or("").to_string();
            Account {
                row,
                name: get("Name"),
                hash: get("Password"),
                level: Level::parse(&get("AccessLevel")).unwrap_or(Level::ReadWrite),
                web: on(values, &p("AccessWeb")),
                api: on(values, &p("AccessAPI")),
                enabled: on(values, &p("Enabled")),
                emergency: on(values, &p("Emergency")),
                force_password_reset: on(values, &p("ForcePasswordReset")),
                public_key: get("PublicKey"),
            }
        })
        .collect()
}

/// The account of that name (names compare exactly: they are case-sensitive).
pub fn find(values: &Values, name: &str) -> Option<Account> {
    accounts(values).into_iter().find(|a| a.name == name)
}

/// Every group row, in row order.
pub fn groups(values: &Values) -> Vec<Group> {
    rows_of(values, GROUP)
        .into_iter()
        .map(|row| {
            let p = |leaf: &str| format!("{GROUP} {row} {leaf}");
            Group {
                row,
                name: lookup(values, &p("Name")).unwrap_or("").to_string(),
                level: Level::parse(lookup(values, &p("AccessLevel")).unwrap_or("ReadWrite")),
                web: on(values, &p("AccessWeb")),
                api: on(values, &p("AccessAPI")),
                enabled: on(values, &p("Enabled")),
            }
        })
        .collect()
}

/// Whether `path` is an account's password element, whose writes are stored hashed.
pub fn is_hashed(path: &str) -> bool {
    path.strip_prefix(ACCOUNT)
        .and_then(|rest| rest.strip_suffix(" Password"))
        .is_some_and(|n| n.trim().parse::<u32>().is_ok())
}

/// An argon2id hash of `password` with a fresh salt, in PHC string form.
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        // Only a salt or parameters out of argon2's range fail, and both are fixed here.
        .expect("argon2 with default parameters")
}

/// Whether `password` matches `stored` (argon2 PHC string, or SHA-512 crypt).
pub fn verify(stored: &str, password: &str) -> bool {
    if stored.starts_with("$6$") {
        return sha_crypt::sha512_check(password, stored).is_ok();
    }
    match PasswordHash::new(stored) {
        Ok(h) => Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the time a real check takes, so that a wrong user name answers no faster than a
/// wrong password.
pub fn verify_nothing(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let h = DUMMY.get_or_init(|| hash("an unguessable placeholder"));
    let _ = verify(h, password);
}

/// The rights a remote user gets from the groups the directory says they belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rights {
    pub level: Level,
    pub web: bool,
    pub api: bool,
}

/// Combines the configured groups that `member_of` names (compared without case, as directory
/// names are). Disabled groups count for nothing. The level is the highest any remaining group
/// gives; web and API access are each granted when any remaining group grants them, independently
/// of which group gives the level. `None` when no enabled group matches, or the best level is
/// `None`.
pub fn merge(groups: &[Group], member_of: &[String]) -> Option<Rights> {
    let mine: Vec<&Group> = groups
        .iter()
        .filter(|g| g.enabled && member_of.iter().any(|m| m.eq_ignore_ascii_case(&g.name)))
        .collect();
    let level = mine.iter().filter_map(|g| g.level).max()?;
    Some(Rights {
        level,
        web: mine.iter().any(|g| g.web),
        api: mine.iter().any(|g| g.api),
    })
}

fn violation(path: String, message: String) -> RuleViolation {
    RuleViolation {
        paths: vec![path],
        message,
    }
}

/// The account and group rules, on a whole candidate configuration. `require_admin` is false only
/// for a configuration with no account rows at all that no commit has touched (a bare set of
/// values, or a store older than accounts in the tree, until the server adds `admin`).
pub fn check(values: &Values, require_admin: bool) -> Result<(), RuleViolation> {
    let all = accounts(values);
    if require_admin || !all.is_empty() {
        let Some(admin) = all.iter().find(|a| a.name == ADMIN) else {
            return Err(violation(
                format!("{ACCOUNT} 1 Name"),
                format!("the \"{ADMIN}\" account cannot be deleted or renamed"),
            ));
        };
        let p = |leaf: &str| format!("{ACCOUNT} {} {leaf}", admin.row);
        if !admin.enabled {
            return Err(violation(
                p("Enabled"),
                format!("the \"{ADMIN}\" account cannot be disabled"),
            ));
        }
        if admin.level != Level::ReadWrite {
            return Err(violation(
                p("AccessLevel"),
                format!("the \"{ADMIN}\" account always has ReadWrite access"),
            ));
        }
    }
    for a in &all {
        let p = |leaf: &str| format!("{ACCOUNT} {} {leaf}", a.row);
        if RESERVED.contains(&a.name.to_ascii_lowercase().as_str()) {
            return Err(violation(
                p("Name"),
                format!("\"{}\" is reserved and cannot name an account", a.name),
            ));
        }
        if a.name.contains(':') || a.name.chars().any(char::is_whitespace) {
            return Err(violation(
                p("Name"),
                format!(
                    "account name \"{}\" may not contain spaces or a colon",
                    a.name
                ),
            ));
        }
        if a.emergency && !(a.enabled && a.level == Level::ReadWrite && a.web) {
            return Err(violation(
                p("Emergency"),
                format!(
                    "the emergency account (\"{}\") must be enabled, with ReadWrite access and \
                     web access",
                    a.name
                ),
            ));
        }
        if !a.public_key.is_empty() && !plausible_public_key(&a.public_key) {
            return Err(violation(
                p("PublicKey"),
                "give one OpenSSH public key: its type, its base64 key, and an optional comment"
                    .into(),
            ));
        }
    }
    let emergency: Vec<&Account> = all.iter().filter(|a| a.emergency).collect();
    if emergency.len() > 1 {
        return Err(violation(
            format!("{ACCOUNT} {} Emergency", emergency[1].row),
            format!(
                "only one account can be the emergency account (\"{}\" already is)",
                emergency[0].name
            ),
        ));
    }
    for g in groups(values) {
        if let Some(c) = g.name.chars().find(|c| GROUP_FORBIDDEN.contains(c)) {
            return Err(violation(
                format!("{GROUP} {} Name", g.row),
                format!("group name \"{}\" may not contain '{c}'", g.name),
            ));
        }
    }
    Ok(())
}

/// `ssh-ed25519 AAAA… comment` and the like: a known key type and base64 of a plausible length.
fn plausible_public_key(key: &str) -> bool {
    let mut words = key.split_whitespace();
    let (Some(kind), Some(blob)) = (words.next(), words.next()) else {
        return false;
    };
    let known = kind.starts_with("ssh-")
        || kind.starts_with("ecdsa-sha2-")
        || kind.starts_with("sk-ssh-")
        || kind.starts_with("sk-ecdsa-");
    known
        && blob.len() >= 16
        && blob
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(name: &str, level: Option<Level>, web: bool, api: bool, enabled: bool) -> Group {
        Group {
            row: 0,
            name: name.into(),
            level,
            web,
            api,
            enabled,
        }
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// The four combinations the guide works through, plus disabled and `None` groups.
    #[test]
    fn directory_groups_merge_level_web_and_api_independently() {
        use Level::*;
        let groups = vec![
            group("Administrators", Some(ReadWrite), false, false, true),
            group("Region A", Some(ReadOnly), true, false, true),
            group("Region B", Some(ReadOnly), false, true, true),
            group("Region C", Some(ReadOnly), true, true, true),
            group("Off", Some(ReadWrite), true, true, false),
            group("Nobody", None, true, true, true),
        ];
        let r = |m: &[&str]| merge(&groups, &names(m));
        let rights = |level, web, api| Some(Rights { level, web, api });
        assert_eq!(
            r(&["Administrators", "Region A"]),
            rights(ReadWrite, true, false)
        );
        assert_eq!(
            r(&["Administrators", "Region B"]),
            rights(ReadWrite, false, true)
        );
        assert_eq!(
            r(&["Administrators", "Region C"]),
            rights(ReadWrite, true, true)
        );
        assert_eq!(r(&["region a"]), rights(ReadOnly, true, false));
        // A disabled group gives nothing; with an enabled one beside it, the enabled one counts.
        assert_eq!(r(&["Off"]), None);
        assert_eq!(r(&["Off", "Region A"]), rights(ReadOnly, true, false));
        assert_eq!(r(&["Nobody"]), None);
        assert_eq!(r(&["Unknown"]), None);
    }

    #[test]
    fn hashes_verify_only_their_password() {
        let h = hash("correct horse");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify(&h, "correct horse"));
        assert!(!verify(&h, "correct horsE"));
        assert_ne!(h, hash("correct horse"), "a fresh salt each time");
        // SHA-512 crypt, as older systems stored it (made with `openssl passwd -6 -salt
        // saltsalt secret`).
        let old = "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1";
        assert!(verify(old, "secret"));
        assert!(!verify(old, "Secret"));
        assert!(!verify("not a hash", "x"));
        assert!(!verify("", ""));
    }

    #[test]
    fn only_account_password_elements_are_hashed() {
        assert!(is_hashed("Authentication Account Admin Account 3 Password"));
        assert!(!is_hashed("Authentication Account Admin Account 3 Name"));
        assert!(!is_hashed("Authentication Password"));
        assert!(!is_hashed("Login User 1 Password"));
    }
}
