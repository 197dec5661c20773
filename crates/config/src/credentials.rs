//! The local authentication database: the names and passwords devices prove themselves with
//! (SIP digest now; traversal clients and TURN use the same entries). Digest needs the
//! password itself (or a hash bound to one realm), so passwords are kept encrypted, under a key
//! in a file of its own beside the database: a copy of the database alone does not give them
//! away.

use crate::Store;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::OptionalExtension;
use std::io::Write;
use std::path::Path;

/// Longest name and password the guide allows.
pub const MAX_LEN: usize = 128;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS credential (
    name TEXT PRIMARY KEY COLLATE BINARY,
    secret BLOB NOT NULL)";

/// Why a credential could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("a credential name must be 1 to {MAX_LEN} characters")]
    BadName,
    #[error("a password must be 1 to {MAX_LEN} characters")]
    BadPassword,
    #[error("the credential store failed: {0}")]
    Store(String),
}

/// The key that seals passwords.
pub struct SealKey(LessSafeKey);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(..)")
    }
}

impl SealKey {
    /// Reads the key file, creating it (readable by the owner only) on first use.
    pub fn load_or_create(path: &Path) -> std::io::Result<SealKey> {
        let bytes = match std::fs::read(path) {
            Ok(b) if b.len() == 32 => b,
            Ok(_) => {
                return Err(std::io::Error::other(format!(
                    "{} is not a 32-byte key",
                    path.display()
                )))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut k = vec![0u8; 32];
                SystemRandom::new()
                    .fill(&mut k)
                    .map_err(|_| std::io::Error::other("no randomness for a key"))?;
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
                opts.open(path)?.write_all(&k)?;
                k
            }
            Err(e) => return Err(e),
        };
        let key = UnboundKey::new(&CHACHA20_POLY1305, &bytes)
            .map_err(|_| std::io::Error::other("bad key"))?;
        Ok(SealKey(LessSafeKey::new(key)))
    }

    pub(crate) fn seal(&self, name: &str, password: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        // A failure of the system's random source leaves the nonce zero; names bind each
        // ciphertext to its row, and a key is only ever used by this one store.
        let _ = SystemRandom::new().fill(&mut nonce);
        let mut data = password.as_bytes().to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(name.as_bytes()),
                &mut data,
            )
            .expect("sealing cannot fail for short inputs");
        let mut out = nonce.to_vec();
        out.extend(data);
        out
    }

    pub(crate) fn open(&self, name: &str, secret: &[u8]) -> Option<String> {
        if secret.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = secret.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut data = sealed.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(name.as_bytes()), &mut data)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

fn store_err(e: rusqlite::Error) -> CredentialError {
    CredentialError::Store(e.to_string())
}

/// Adds or replaces an entry.
pub fn add(
    store: &Store,
    key: &SealKey,
    name: &str,
    password: &str,
) -> Result<(), CredentialError> {
    if name.is_empty() || name.chars().count() > MAX_LEN {
        return Err(CredentialError::BadName);
    }
    if password.is_empty() || password.chars().count() > MAX_LEN {
        return Err(CredentialError::BadPassword);
    }
    let conn = store.connection();
    conn.execute_batch(SCHEMA).map_err(store_err)?;
    conn.execute(
        "INSERT INTO credential(name, secret) VALUES (?1, ?2)
         ON CONFLICT(name) DO UPDATE SET secret = excluded.secret",
        (name, key.seal(name, password)),
    )
    .map_err(store_err)?;
    Ok(())
}

/// Removes an entry; whether there was one.
pub fn delete(store: &Store, name: &str) -> Result<bool, CredentialError> {
    let conn = store.connection();
    conn.execute_batch(SCHEMA).map_err(store_err)?;
    let n = conn
        .execute("DELETE FROM credential WHERE name = ?1", [name])
        .map_err(store_err)?;
    Ok(n > 0)
}

/// The password of an entry.
pub fn password(store: &Store, key: &SealKey, name: &str) -> Option<String> {
    let conn = store.connection();
    conn.execute_batch(SCHEMA).ok()?;
    let secret: Vec<u8> = conn
        .query_row(
            "SELECT secret FROM credential WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .optional()
        .ok()??;
    key.open(name, &secret)
}

/// Every entry's name, in order.
pub fn names(store: &Store) -> Vec<String> {
    let conn = store.connection();
    if conn.execute_batch(SCHEMA).is_err() {
        return Vec::new();
    }
    let Ok(mut st) = conn.prepare("SELECT name FROM credential ORDER BY name") else {
        return Vec::new();
    };
    st.query_map([], |r| r.get(0))
        .map(|rows| rows.flatten().collect())
        .unwrap_or_default()
}

/// Every entry as stored (names and sealed passwords), for a backup.
pub fn raw(store: &Store) -> Result<Vec<(String, Vec<u8>)>, CredentialError> {
    let conn = store.connection();
    conn.execute_batch(SCHEMA).map_err(store_err)?;
    let mut st = conn
        .prepare("SELECT name, secret FROM credential ORDER BY name")
        .map_err(store_err)?;
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(store_err)?;
    rows.collect::<Result<_, _>>().map_err(store_err)
}

/// Replaces every entry with these (sealed under the key they come with), in one transaction.
pub fn replace_raw(store: &Store, rows: &[(String, Vec<u8>)]) -> Result<(), CredentialError> {
    let conn = store.connection();
    conn.execute_batch(SCHEMA).map_err(store_err)?;
    conn.execute_batch("BEGIN IMMEDIATE").map_err(store_err)?;
    let result = (|| {
        conn.execute("DELETE FROM credential", [])?;
        for (name, secret) in rows {
            conn.execute(
                "INSERT INTO credential(name, secret) VALUES (?1, ?2)",
                (name, secret),
            )?;
        }
        conn.execute_batch("COMMIT")
    })();
    if result.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    result.map_err(store_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_round_trip_sealed_and_bound_to_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("c.db")).unwrap();
        let key = SealKey::load_or_create(&dir.path().join("k")).unwrap();
        add(&store, &key, "alice", "abcXYZ_123").unwrap();
        assert_eq!(
            password(&store, &key, "alice").as_deref(),
            Some("abcXYZ_123")
        );
        // The database holds no plaintext.
        let raw: Vec<u8> = store
            .connection()
            .query_row("SELECT secret FROM credential", [], |r| r.get(0))
            .unwrap();
        assert!(!raw.windows(10).any(|w| w == b"abcXYZ_123"));
        // A secret moved to another row does not open.
        store
            .connection()
            .execute("UPDATE credential SET name = 'bob'", [])
            .unwrap();
        assert_eq!(password(&store, &key, "bob"), None);
        // The key survives a reopen.
        add(&store, &key, "carol", "pw").unwrap();
        let again = SealKey::load_or_create(&dir.path().join("k")).unwrap();
        assert_eq!(password(&store, &again, "carol").as_deref(), Some("pw"));
        assert!(delete(&store, "carol").unwrap());
        assert!(!delete(&store, "carol").unwrap());
        assert!(matches!(
            add(&store, &key, "", "x"),
            Err(CredentialError::BadName)
        ));
        assert!(matches!(
            add(&store, &key, "x", &"p".repeat(129)),
            Err(CredentialError::BadPassword)
        ));
    }
}
