//! Call detail records.
//!
//! One record per call that ended, with the field set operators' billing and reporting tools read
//! from this class of product, kept for seven days in `cdr.db` in the data directory, and given out
//! as JSON or CSV with the columns in the order those tools expect.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long records are kept.
pub const RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// Which service handled a call: our own fixed identifiers (a call through the proxy, or through
/// the back-to-back user agent).
pub const PROXY_SERVICE: &str = "7a1d2f40-7c3e-4b8e-9b1a-3f0c5e2d9a61";
pub const B2BUA_SERVICE: &str = "c4e85b2a-1f6d-4d0b-8e3a-92b7f1a6c0d5";

/// One call detail record. Field names, and the order of the CSV columns (see [`CSV_COLUMNS`]),
/// follow the reference; flags are the strings `"true"`/`"false"`, times
/// `YYYY-MM-DD HH:MM:SS.ffffff` in UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub uuid: String,
    pub service_uuid: String,
    pub active: String,
    pub initial_call: String,
    pub licensed: String,
    pub licensed_as_traversal: String,
    pub status: String,
    pub tag: String,
    pub box_call_serial_number: String,
    pub start_time: String,
    pub end_time: String,
    pub source_alias: String,
    pub destination_alias: String,
    pub aside_destination_alias: String,
    pub bside_destination_alias: String,
    pub aside_request_uri: String,
    pub bside_request_uri: String,
    pub protocol: String,
    pub protocol_summary: String,
    pub media_routed: String,
    pub audio: String,
    pub traversal_license_tokens: u32,
    pub non_traversal_license_tokens: u32,
    pub disconnect_reason: String,
    /// A JSON document in a string: the call as the status pages describe it.
    pub details: String,
    pub last_updated_timestamp: i64,
}

/// The CSV header, in the reference's order (`protocol_summary` before `protocol`).
pub const CSV_COLUMNS: &[&str] = &[
    "uuid",
    "service_uuid",
    "active",
    "initial_call",
    "licensed",
    "licensed_as_traversal",
    "status",
    "tag",
    "box_call_serial_number",
    "start_time",
    "end_time",
    "source_alias",
    "destination_alias",
    "aside_destination_alias",
    "bside_destination_alias",
    "aside_request_uri",
    "bside_request_uri",
    "protocol_summary",
    "protocol",
    "media_routed",
    "audio",
    "traversal_license_tokens",
    "non_traversal_license_tokens",
    "disconnect_reason",
    "details",
    "last_updated_timestamp",
];

/// The time format of records and of interval queries' bounds.
pub fn format_time(t: SystemTime) -> String {
    let dt: chrono::DateTime<chrono::Utc> = t.into();
    dt.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

/// Parses `YYYY-MM-DD HH:MM:SS` (fractions allowed), UTC.
pub fn parse_time(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let dt = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").ok()?;
    let secs = dt.and_utc().timestamp();
    let nanos = dt.and_utc().timestamp_subsec_nanos();
    if secs < 0 {
        return None;
    }
    Some(UNIX_EPOCH + Duration::new(secs as u64, nanos))
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl Record {
    fn cells(&self) -> Vec<String> {
        let r = self;
        vec![
            r.uuid.clone(),
            r.service_uuid.clone(),
            r.active.clone(),
            r.initial_call.clone(),
            r.licensed.clone(),
            r.licensed_as_traversal.clone(),
            r.status.clone(),
            r.tag.clone(),
            r.box_call_serial_number.clone(),
            r.start_time.clone(),
            r.end_time.clone(),
            r.source_alias.clone(),
            r.destination_alias.clone(),
            r.aside_destination_alias.clone(),
            r.bside_destination_alias.clone(),
            r.aside_request_uri.clone(),
            r.bside_request_uri.clone(),
            r.protocol_summary.clone(),
            r.protocol.clone(),
            r.media_routed.clone(),
            r.audio.clone(),
            r.traversal_license_tokens.to_string(),
            r.non_traversal_license_tokens.to_string(),
            r.disconnect_reason.clone(),
            r.details.clone(),
            r.last_updated_timestamp.to_string(),
        ]
    }
}

/// Records as CSV: a header row, then one row per record.
pub fn csv(records: &[Record]) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push_str("\r\n");
    for r in records {
        let row: Vec<String> = r.cells().iter().map(|c| csv_cell(c)).collect();
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Which records a filtered query wants; `None` matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub uuid: Option<String>,
    pub src_alias: Option<String>,
    pub dest_alias: Option<String>,
    pub protocol: Option<String>,
}

/// The record store.
pub struct Store {
    conn: Connection,
}

impl Store {
    pub fn open(path: &Path) -> rusqlite::Result<Store> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS cdr (
                uuid TEXT PRIMARY KEY,
                start_unix REAL NOT NULL,
                end_unix REAL NOT NULL,
                source_alias TEXT NOT NULL,
                destination_alias TEXT NOT NULL,
                protocol TEXT NOT NULL,
                record TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS cdr_start ON cdr(start_unix);",
        )?;
        Ok(Store { conn })
    }

    /// Stores (or replaces) a record that started at `start` and ended at `end`.
    pub fn insert(&self, r: &Record, start: SystemTime, end: SystemTime) -> rusqlite::Result<()> {
        let json = serde_json::to_string(r).unwrap_or_default();
        self.conn.execute(
            "INSERT OR REPLACE INTO cdr(uuid, start_unix, end_unix, source_alias,
                destination_alias, protocol, record) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                r.uuid,
                unix(start),
                unix(end),
                r.source_alias,
                r.destination_alias,
                r.protocol,
                json
            ],
        )?;
        Ok(())
    }

    /// Removes records that ended before the retention period; returns how many.
    pub fn prune(&self, now: SystemTime) -> rusqlite::Result<usize> {
        let cutoff = unix(now) - RETENTION.as_secs_f64();
        self.conn
            .execute("DELETE FROM cdr WHERE end_unix < ?1", [cutoff])
    }

    fn query(&self, sql: &str, args: &[&dyn rusqlite::ToSql]) -> rusqlite::Result<Vec<Record>> {
        let mut st = self.conn.prepare(sql)?;
        let rows = st.query_map(args, |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for json in rows {
            if let Ok(rec) = serde_json::from_str(&json?) {
                out.push(rec);
            }
        }
        Ok(out)
    }

    /// Every record still kept, oldest first.
    pub fn all(&self, now: SystemTime) -> rusqlite::Result<Vec<Record>> {
        let cutoff = unix(now) - RETENTION.as_secs_f64();
        self.query(
            "SELECT record FROM cdr WHERE end_unix >= ?1 ORDER BY start_unix",
            &[&cutoff],
        )
    }

    /// Records of calls that started within `[from, to]`.
    pub fn interval(&self, from: SystemTime, to: SystemTime) -> rusqlite::Result<Vec<Record>> {
        self.query(
            "SELECT record FROM cdr WHERE start_unix >= ?1 AND start_unix <= ?2
             ORDER BY start_unix",
            &[&unix(from), &unix(to)],
        )
    }

    /// Records matching every given part of `f` exactly (aliases and protocol ignoring case).
    pub fn filter(&self, f: &Filter, now: SystemTime) -> rusqlite::Result<Vec<Record>> {
        let cutoff = unix(now) - RETENTION.as_secs_f64();
        let any = String::new();
        self.query(
            "SELECT record FROM cdr WHERE end_unix >= ?1
               AND (?2 = '' OR uuid = ?2)
               AND (?3 = '' OR source_alias = ?3 COLLATE NOCASE)
               AND (?4 = '' OR destination_alias = ?4 COLLATE NOCASE)
               AND (?5 = '' OR protocol = ?5 COLLATE NOCASE)
             ORDER BY start_unix",
            &[
                &cutoff,
                f.uuid.as_ref().unwrap_or(&any),
                f.src_alias.as_ref().unwrap_or(&any),
                f.dest_alias.as_ref().unwrap_or(&any),
                f.protocol.as_ref().unwrap_or(&any),
            ],
        )
    }

    /// One record by its uuid.
    pub fn get(&self, uuid: &str) -> rusqlite::Result<Option<Record>> {
        let json: Option<String> = self
            .conn
            .query_row("SELECT record FROM cdr WHERE uuid = ?1", [uuid], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
    }
}
