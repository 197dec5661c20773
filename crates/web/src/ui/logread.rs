//! Reading the event and configuration logs newest first, as the log pages show them.
//!
//! The logs are the files `causeway_observe::EventLog` writes (`eventlog`, `eventlog.1`, …).
//! They are read backwards from the end, so the newest page costs only what it shows; a search
//! that matches little stops after [`SCAN_LIMIT`] bytes, as the reference's pages do, rather than
//! reading gigabytes on every refresh.

use causeway_observe::eventlog::files;
use causeway_observe::LogKind;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// How much of a log one page may read (the reference shows the first 50 MB of its event log).
pub(crate) const SCAN_LIMIT: u64 = 50 << 20;
const CHUNK: usize = 64 << 10;

/// How a filter's words are matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Every word appears.
    All,
    /// Any of the words appears.
    Any,
    /// The text appears as typed.
    Phrase,
    /// None of the words appears.
    None,
}

impl Mode {
    pub fn parse(s: &str) -> Mode {
        match s {
            "any" => Mode::Any,
            "phrase" => Mode::Phrase,
            "none" => Mode::None,
            _ => Mode::All,
        }
    }

    pub fn matches(self, line: &str, filter: &str) -> bool {
        if filter.trim().is_empty() {
            return true;
        }
        let l = line.to_lowercase();
        let f = filter.to_lowercase();
        let mut words = f.split_whitespace();
        match self {
            Mode::All => words.all(|w| l.contains(w)),
            Mode::Any => words.any(|w| l.contains(w)),
            Mode::Phrase => l.contains(f.trim()),
            Mode::None => !words.any(|w| l.contains(w)),
        }
    }
}

/// One page of a log.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub lines: Vec<String>,
    /// More matching lines follow (older ones).
    pub more: bool,
    /// The scan stopped at [`SCAN_LIMIT`] before reaching the start of the log.
    pub truncated: bool,
}

/// Matching lines, newest first, skipping the first `skip` matches.
pub(crate) fn read(
    dir: &Path,
    kind: LogKind,
    filter: &str,
    mode: Mode,
    skip: usize,
    limit: usize,
) -> Found {
    let mut found = Found::default();
    let mut seen = 0usize;
    let mut budget = SCAN_LIMIT;
    let mut done = false;
    for path in files(dir, kind).iter().rev() {
        let finished = lines_backwards(path, &mut budget, &mut |line| {
            if !mode.matches(line, filter) {
                return true;
            }
            seen += 1;
            if seen <= skip {
                return true;
            }
            if found.lines.len() == limit {
                found.more = true;
                done = true;
                return false;
            }
            found.lines.push(line.to_string());
            true
        });
        if done {
            return found;
        }
        if !finished {
            found.truncated = true;
            return found;
        }
    }
    found
}

/// Calls `f` with each line of the file from the last to the first, until it returns false or
/// `budget` bytes have been read. Returns whether the whole file was read.
fn lines_backwards(path: &Path, budget: &mut u64, f: &mut dyn FnMut(&str) -> bool) -> bool {
    let Ok(mut file) = File::open(path) else {
        return true;
    };
    let Ok(len) = file.metadata().map(|m| m.len()) else {
        return true;
    };
    let mut pos = len;
    // The start of the line the previous chunk began inside.
    let mut carry: Vec<u8> = Vec::new();
    while pos > 0 {
        if *budget == 0 {
            return false;
        }
        let n = (CHUNK as u64).min(pos).min(*budget) as usize;
        pos -= n as u64;
        *budget -= n as u64;
        let mut buf = vec![0u8; n];
        if file.seek(SeekFrom::Start(pos)).is_err() || file.read_exact(&mut buf).is_err() {
            return true;
        }
        buf.extend_from_slice(&carry);
        let mut end = buf.len();
        // Lines that are complete in this buffer, last first; the first piece may continue in
        // the chunk before.
        while let Some(i) = buf[..end].iter().rposition(|b| *b == b'\n') {
            let line = &buf[i + 1..end];
            if !line.is_empty() && !f(&String::from_utf8_lossy(line)) {
                return true;
            }
            end = i;
        }
        carry = buf[..end].to_vec();
    }
    if !carry.is_empty() {
        f(&String::from_utf8_lossy(&carry));
    }
    true
}

/// A log line taken apart for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub time: String,
    pub process: String,
    pub event: String,
    pub fields: Vec<(String, String)>,
}

/// `2026-11-24T15:00:00.123+01:00 host tvcs: Event="…" K="v" …` → its parts. Lines that do not
/// look like that (a MARK line) keep their text as the event.
pub(crate) fn parse(line: &str) -> Entry {
    let mut it = line.splitn(3, ' ');
    let stamp = it.next().unwrap_or("");
    let _host = it.next().unwrap_or("");
    let rest = it.next().unwrap_or("");
    let time = stamp
        .get(..19)
        .map(|t| t.replace('T', " "))
        .unwrap_or_else(|| stamp.to_string());
    let (process, body) = rest.split_once(": ").unwrap_or(("", rest));
    let mut fields = Vec::new();
    let mut s = body;
    while let Some(eq) = s.find("=\"") {
        let key = s[..eq].trim().to_string();
        let mut value = String::new();
        let mut chars = s[eq + 2..].char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        value.push(n);
                    }
                }
                '"' => {
                    end = Some(eq + 2 + i + 1);
                    break;
                }
                c => value.push(c),
            }
        }
        fields.push((key, value));
        match end {
            Some(e) => s = &s[e..],
            None => break,
        }
    }
    let event = match fields.first() {
        Some((k, _)) if k == "Event" => fields.remove(0).1,
        _ => body.trim().to_string(),
    };
    fields.retain(|(k, _)| k != "UTCTime");
    Entry {
        time,
        process: process.to_string(),
        event,
        fields,
    }
}

/// The colour class of an event, after the reference's log page: green for starts, connections
/// and successes; orange for shutdowns; red for refusals, failures and alerts.
pub(crate) fn tone(event: &str) -> &'static str {
    const GOOD: &[&str] = &[
        "System Start",
        "Admin Session Start",
        "Admin Session Finish",
        "Call Connected",
        "Request Successful",
        "Beginning System Restore",
        "Completed System Restore",
        "Registration Accepted",
    ];
    const WARN: &[&str] = &[
        "System Shutdown",
        "Intrusion Protection Unblocking",
        "Alarm Raised",
    ];
    const BAD: &[&str] = &[
        "Registration Rejected",
        "Registration Refresh Rejected",
        "Call Rejected",
        "Security Alert",
        "License Limit Reached",
        "Decode Error",
        "TLS Negotiation Error",
        "External Server Communications Failure",
        "Application Failed",
        "Request Failed",
        "System Backup Error",
        "System Restore Error",
        "Authorization Failure",
        "Intrusion Protection Blocking",
        "Admin Session Login Failure",
    ];
    if GOOD.iter().any(|e| e.eq_ignore_ascii_case(event)) {
        "good"
    } else if WARN.iter().any(|e| e.eq_ignore_ascii_case(event)) {
        "warn"
    } else if BAD.iter().any(|e| e.eq_ignore_ascii_case(event)) {
        "bad"
    } else if event.eq_ignore_ascii_case("Diagnostic Logging") {
        "diag"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use causeway_observe::{EventLog, Rotation};

    #[test]
    fn newest_first_across_rotations_with_paging() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::with_rotation(
            dir.path(),
            LogKind::Event,
            Rotation {
                file_bytes: 2000,
                files: 5,
            },
        )
        .unwrap();
        for i in 0..40 {
            let n = i.to_string();
            log.event(1, "tvcs", "Thing", &[("N", n.as_str())]);
        }
        assert!(files(dir.path(), LogKind::Event).len() > 1);
        let page = read(dir.path(), LogKind::Event, "", Mode::All, 0, 10);
        assert_eq!(page.lines.len(), 10);
        assert!(page.more);
        assert!(page.lines[0].contains("N=\"39\""), "{}", page.lines[0]);
        assert!(page.lines[9].contains("N=\"30\""));
        let next = read(dir.path(), LogKind::Event, "", Mode::All, 10, 10);
        assert!(next.lines[0].contains("N=\"29\""));
        let one = read(dir.path(), LogKind::Event, "n=\"7\"", Mode::Phrase, 0, 10);
        assert_eq!(one.lines.len(), 1);
        assert!(!one.more);
    }

    #[test]
    fn long_lines_across_chunks_stay_whole() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::open(dir.path(), LogKind::Config).unwrap();
        let big = "x".repeat(CHUNK + 100);
        log.event(1, "tvcs", "A", &[("Detail", big.as_str())]);
        log.event(1, "tvcs", "B", &[]);
        let page = read(dir.path(), LogKind::Config, "", Mode::All, 0, 10);
        assert_eq!(page.lines.len(), 2);
        assert!(page.lines[1].contains(&big));
    }

    #[test]
    fn filters() {
        let l = "Event=\"Call Connected\" Src-alias=\"alice\"";
        assert!(Mode::All.matches(l, "call ALICE"));
        assert!(!Mode::All.matches(l, "call bob"));
        assert!(Mode::Any.matches(l, "bob alice"));
        assert!(Mode::Phrase.matches(l, "call connected"));
        assert!(!Mode::Phrase.matches(l, "connected call"));
        assert!(Mode::None.matches(l, "bob"));
        assert!(!Mode::None.matches(l, "bob alice"));
    }

    #[test]
    fn lines_parse_into_fields() {
        let e = parse("2026-11-24T15:00:00.123+01:00 vcs tvcs: Event=\"Admin Session Start\" User=\"a \\\"b\\\"\" Level=\"1\" UTCTime=\"2026-11-24 14:00:00,123\"");
        assert_eq!(e.time, "2026-11-24 15:00:00");
        assert_eq!(e.process, "tvcs");
        assert_eq!(e.event, "Admin Session Start");
        assert_eq!(
            e.fields,
            vec![
                ("User".to_string(), "a \"b\"".to_string()),
                ("Level".to_string(), "1".to_string())
            ]
        );
        assert_eq!(tone(&e.event), "good");
        let m = parse("2026-11-24T15:00:00.123+01:00 vcs syslog.info: -- MARK --");
        assert_eq!(m.event, "-- MARK --");
    }
}
