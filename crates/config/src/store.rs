//! The embedded store: one SQLite file in the data directory.
//!
//! Each commit is one SQLite transaction that rewrites the changed rows and appends a revision
//! row, so a crash leaves either the whole commit or none of it.

use crate::snapshot::Values;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;

pub struct Store {
    conn: Connection,
}

/// A row of the revision history.
#[derive(Debug, Clone)]
pub struct Revision {
    pub revision: u64,
    pub at_unix_ms: i64,
    pub user: String,
    pub source: String,
    pub changes: u64,
}

impl Store {
    pub fn open(path: &Path) -> rusqlite::Result<Store> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS config (path TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS revision (
                 revision INTEGER PRIMARY KEY,
                 at_unix_ms INTEGER NOT NULL,
                 user TEXT NOT NULL,
                 source TEXT NOT NULL,
                 changes INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
        )?;
        Ok(Store { conn })
    }

    pub fn load(&self) -> rusqlite::Result<(u64, Values)> {
        let rev = self.revision()?;
        let mut stmt = self.conn.prepare("SELECT path, value FROM config")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut values = Values::new();
        for row in rows {
            let (k, v) = row?;
            values.insert(k, v);
        }
        Ok((rev, values))
    }

    pub fn revision(&self) -> rusqlite::Result<u64> {
        self.conn
            .query_row("SELECT COALESCE(MAX(revision), 0) FROM revision", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|r| r as u64)
    }

    /// Runs `f` inside an immediate (write-locked) transaction with the latest stored state, and
    /// stores the writes it returns; an error from `f` rolls back. `cached` is the caller's copy
    /// of the state at its revision: it is used when no other process has committed since, which
    /// spares re-reading the whole table on every commit.
    pub fn transact<T, E>(
        &mut self,
        at_unix_ms: i64,
        cached: (u64, &Values),
        f: impl FnOnce(u64, Values) -> Result<(Vec<(String, Option<String>)>, T), E>,
        user: &str,
        source: &str,
    ) -> Result<Result<(u64, T), E>, rusqlite::Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let rev: i64 =
            tx.query_row("SELECT COALESCE(MAX(revision), 0) FROM revision", [], |r| {
                r.get(0)
            })?;
        let rev = rev as u64;
        let values = if rev == cached.0 {
            cached.1.clone()
        } else {
            let mut stmt = tx.prepare("SELECT path, value FROM config")?;
            let rows =
                stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            let mut values = Values::new();
            for row in rows {
                let (k, v) = row?;
                values.insert(k, v);
            }
            values
        };
        let (writes, out) = match f(rev, values) {
            Ok(x) => x,
            Err(e) => return Ok(Err(e)),
        };
        if writes.is_empty() {
            // Nothing changed: no new revision.
            return Ok(Ok((rev, out)));
        }
        let next = rev + 1;
        {
            let mut put =
                tx.prepare("INSERT INTO config(path, value) VALUES (?1, ?2) ON CONFLICT(path) DO UPDATE SET value = excluded.value")?;
            let mut del = tx.prepare("DELETE FROM config WHERE path = ?1")?;
            for (path, value) in &writes {
                match value {
                    Some(v) => put.execute(params![path, v])?,
                    None => del.execute(params![path])?,
                };
            }
        }
        tx.execute(
            "INSERT INTO revision(revision, at_unix_ms, user, source, changes) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![next as i64, at_unix_ms, user, source, writes.len() as i64],
        )?;
        tx.commit()?;
        Ok(Ok((next, out)))
    }

    pub fn history(&self, limit: u32) -> rusqlite::Result<Vec<Revision>> {
        let mut stmt = self.conn.prepare(
            "SELECT revision, at_unix_ms, user, source, changes FROM revision ORDER BY revision DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok(Revision {
                revision: r.get::<_, i64>(0)? as u64,
                at_unix_ms: r.get(1)?,
                user: r.get(2)?,
                source: r.get(3)?,
                changes: r.get::<_, i64>(4)? as u64,
            })
        })?;
        rows.collect()
    }

    pub fn meta(&self, key: &str) -> rusqlite::Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
    }

    pub fn set_meta(&self, key: &str, value: &str) -> rusqlite::Result<()> {
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// The underlying connection, for other tables that live in the same file (accounts).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}
