//! Administrator accounts (the first one, for now): names, argon2id hashes and access levels,
//! kept in the configuration database. Only the hash is stored.

use anyhow::Result;
use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use argon2::Argon2;
use causeway_config::Store;
use rand::Rng;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS account (
    name TEXT PRIMARY KEY COLLATE BINARY,
    hash TEXT NOT NULL,
    access TEXT NOT NULL,
    created_unix_ms INTEGER NOT NULL)";

/// Creates the `admin` account with a random password when there is no account yet. Returns the
/// password when it made one.
pub fn ensure_admin(store: &Store) -> Result<Option<String>> {
    let conn = store.connection();
    conn.execute_batch(SCHEMA)?;
    let count: i64 = conn.query_row("SELECT COUNT(*) FROM account", [], |r| r.get(0))?;
    if count > 0 {
        return Ok(None);
    }
    let password = random_password();
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?
        .to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    conn.execute(
        "INSERT INTO account(name, hash, access, created_unix_ms) VALUES ('admin', ?1, 'ReadWrite', ?2)",
        (&hash, now),
    )?;
    Ok(Some(password))
}

/// 20 characters from an alphabet without look-alikes (about 115 bits).
fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}
