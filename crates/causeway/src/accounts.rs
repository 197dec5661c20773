//! The `admin` account's first password.

use anyhow::Result;
use causeway_config::accounts::{find, ACCOUNT, ADMIN};
use causeway_config::{Change, Config, Origin};
use rand::Rng;

/// Gives the `admin` account a random password when it has none (first start, or after a
/// level-3 reset), adding the row itself to a store that predates accounts in the tree. Returns
/// the password when it made one.
pub fn ensure_admin(config: &Config) -> Result<Option<String>> {
    let origin = Origin {
        user: "causeway".into(),
        source: "start".into(),
    };
    let password = random_password();
    let (_, made) = config.commit_with(&origin, |snap| {
        let (row, mut changes) = match find(snap.stored(), ADMIN) {
            Some(a) if !a.hash.is_empty() => return Ok((vec![], false)),
            Some(a) => (a.row, vec![]),
            None => {
                let row = (1..).find(|n| !snap.rows(ACCOUNT).contains(n)).unwrap_or(1);
                let name = Change::Set {
                    path: format!("{ACCOUNT} {row} Name"),
                    value: ADMIN.into(),
                };
                (row, vec![name])
            }
        };
        changes.push(Change::Set {
            path: format!("{ACCOUNT} {row} Password"),
            value: password.clone(),
        });
        Ok((changes, true))
    })?;
    Ok(made.then_some(password))
}

/// 20 characters from an alphabet without look-alikes (about 115 bits).
fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}
