//! Event and configuration logs: rotating text files in the data directory.
//!
//! A line is `<local ISO time> <host> <process>: Event="…" Name="Value" … Level="N"
//! UTCTime="YYYY-MM-DD hh:mm:ss,mmm"`: the local timestamp leads, as in syslog, the first field is
//! always `Event`, and `Level` and `UTCTime` close the line.

use chrono::{DateTime, Local, Utc};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

/// Which log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    Event,
    Config,
}

impl LogKind {
    pub fn file_name(self) -> &'static str {
        match self {
            LogKind::Event => "eventlog",
            LogKind::Config => "configlog",
        }
    }

    /// Size caps: the event log keeps about 2 GB, the configuration log about 30 MB.
    pub fn rotation(self) -> Rotation {
        match self {
            LogKind::Event => Rotation {
                file_bytes: 64 << 20,
                files: 32,
            },
            LogKind::Config => Rotation {
                file_bytes: 10 << 20,
                files: 3,
            },
        }
    }
}

/// Rotate when the current file passes `file_bytes`; keep `files` files in all.
#[derive(Debug, Clone, Copy)]
pub struct Rotation {
    pub file_bytes: u64,
    pub files: u32,
}

struct Writer {
    file: File,
    size: u64,
    last_write: std::time::Instant,
}

/// An entry as written, for a copy sent elsewhere (remote syslog).
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub kind: LogKind,
    pub at: DateTime<Utc>,
    pub host: &'a str,
    pub process: &'a str,
    pub event: &'a str,
    pub level: u8,
    /// The line after `process: `: `Event="…" … Level="N" UTCTime="…"`.
    pub details: &'a str,
}

type Sink = std::sync::Arc<dyn Fn(&Entry) + Send + Sync>;

/// One log. Safe to share between threads; lines are written whole.
pub struct EventLog {
    path: PathBuf,
    kind: LogKind,
    rotation: Rotation,
    level: AtomicU8,
    host: Mutex<String>,
    writer: Mutex<Option<Writer>>,
    sink: std::sync::RwLock<Option<Sink>>,
}

impl EventLog {
    /// Opens (creating) `dir/<kind>`; `dir` is the logs directory.
    pub fn open(dir: &Path, kind: LogKind) -> io::Result<EventLog> {
        Self::with_rotation(dir, kind, kind.rotation())
    }

    pub fn with_rotation(dir: &Path, kind: LogKind, rotation: Rotation) -> io::Result<EventLog> {
        fs::create_dir_all(dir)?;
        let path = dir.join(kind.file_name());
        let log = EventLog {
            path,
            kind,
            sink: std::sync::RwLock::new(None),
            rotation,
            level: AtomicU8::new(1),
            host: Mutex::new("causeway".into()),
            writer: Mutex::new(None),
        };
        *log.writer.lock().unwrap() = Some(log.open_writer()?);
        Ok(log)
    }

    fn open_writer(&self) -> io::Result<Writer> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        let size = file.metadata()?.len();
        Ok(Writer {
            file,
            size,
            last_write: std::time::Instant::now(),
        })
    }

    /// The configured verbosity (1..=4): events above it are not written.
    pub fn set_level(&self, level: u8) {
        self.level.store(level.clamp(1, 4), Ordering::Relaxed);
    }

    pub fn level(&self) -> u8 {
        self.level.load(Ordering::Relaxed)
    }

    /// The host name shown on each line (the system name).
    pub fn set_host(&self, host: &str) {
        let host = host.trim();
        *self.host.lock().unwrap() = if host.is_empty() {
            "causeway".into()
        } else {
            host.replace(' ', "_")
        };
    }

    /// Whether an event at `level` would be written.
    pub fn enabled(&self, level: u8) -> bool {
        level <= self.level()
    }

    /// Writes one event if its level is enabled. `fields` follow `Event`; `Level` and `UTCTime`
    /// are added.
    pub fn event(&self, level: u8, process: &str, event: &str, fields: &[(&str, &str)]) {
        if !self.enabled(level) {
            return;
        }
        let at = Utc::now();
        let host = self.host.lock().unwrap().clone();
        let line = format_line(at, &host, process, event, fields, level);
        if let Err(e) = self.write_line(&line) {
            use std::io::Write as _;
            let _ = writeln!(
                io::stderr(),
                "causeway: cannot write {}: {e}",
                self.path.display()
            );
        }
        let sink = self.sink.read().unwrap().clone();
        if let Some(sink) = sink {
            let details = line
                .split_once(&format!(" {process}: "))
                .map_or(line.as_str(), |(_, d)| d)
                .trim_end();
            sink(&Entry {
                kind: self.kind,
                at,
                host: &host,
                process,
                event,
                level,
                details,
            });
        }
    }

    /// Sends a copy of every entry written from now on to `sink` (which must not block).
    pub fn set_sink(&self, sink: impl Fn(&Entry) + Send + Sync + 'static) {
        *self.sink.write().unwrap() = Some(std::sync::Arc::new(sink));
    }

    fn write_line(&self, line: &str) -> io::Result<()> {
        let mut guard = self.writer.lock().unwrap();
        let w = match guard.as_mut() {
            Some(w) => w,
            None => guard.insert(self.open_writer()?),
        };
        if w.size + line.len() as u64 > self.rotation.file_bytes && w.size > 0 {
            rotate(&self.path, self.rotation.files)?;
            *w = self.open_writer()?;
        }
        w.file.write_all(line.as_bytes())?;
        w.size += line.len() as u64;
        w.last_write = std::time::Instant::now();
        Ok(())
    }

    /// Writes a `MARK` line when nothing was written for `idle`, so that a quiet log still shows
    /// the system was alive (the server checks this every minute with an idle time of one hour).
    pub fn mark_if_idle(&self, idle: std::time::Duration) -> bool {
        let quiet = self
            .writer
            .lock()
            .unwrap()
            .as_ref()
            .is_some_and(|w| w.last_write.elapsed() >= idle);
        if !quiet {
            return false;
        }
        let local = Utc::now().with_timezone(&Local);
        let line = format!(
            "{} {} syslog.info: -- MARK --\n",
            local.format("%Y-%m-%dT%H:%M:%S%.3f%:z"),
            self.host.lock().unwrap()
        );
        self.write_line(&line).is_ok()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Shifts `log` → `log.1` → `log.2` …, dropping the oldest.
fn rotate(path: &Path, files: u32) -> io::Result<()> {
    let name = |i: u32| -> PathBuf {
        if i == 0 {
            path.to_path_buf()
        } else {
            PathBuf::from(format!("{}.{i}", path.display()))
        }
    };
    let last = files.saturating_sub(1);
    let _ = fs::remove_file(name(last));
    for i in (0..last).rev() {
        if name(i).exists() {
            fs::rename(name(i), name(i + 1))?;
        }
    }
    Ok(())
}

/// Quotes a field value: backslash and double quote are escaped, line breaks become spaces so
/// an entry always stays on one line.
fn quote(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Formats one line (exposed for tests and for other writers such as syslog).
pub fn format_line(
    at: DateTime<Utc>,
    host: &str,
    process: &str,
    event: &str,
    fields: &[(&str, &str)],
    level: u8,
) -> String {
    let local = at.with_timezone(&Local);
    let mut line = format!(
        "{} {host} {process}: Event={}",
        local.format("%Y-%m-%dT%H:%M:%S%.3f%:z"),
        quote(event)
    );
    for (k, v) in fields {
        line.push(' ');
        line.push_str(k);
        line.push('=');
        line.push_str(&quote(v));
    }
    line.push_str(&format!(
        " Level=\"{level}\" UTCTime=\"{}\"\n",
        at.format("%Y-%m-%d %H:%M:%S,%3f")
    ));
    line
}

/// The files of a log, oldest first.
pub fn files(dir: &Path, kind: LogKind) -> Vec<PathBuf> {
    let base = dir.join(kind.file_name());
    let mut rotated: Vec<(u32, PathBuf)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            let name = p.file_name()?.to_str()?.to_string();
            let n: u32 = name
                .strip_prefix(kind.file_name())?
                .strip_prefix('.')?
                .parse()
                .ok()?;
            Some((n, p))
        })
        .collect();
    rotated.sort_by_key(|r| std::cmp::Reverse(r.0));
    let mut out: Vec<PathBuf> = rotated.into_iter().map(|(_, p)| p).collect();
    if base.exists() {
        out.push(base);
    }
    out
}

/// A filter over lines: every word must appear (case-insensitive), as the web log's plain filter
/// does.
pub fn matches(line: &str, filter: &str) -> bool {
    let l = line.to_lowercase();
    filter
        .split_whitespace()
        .all(|w| l.contains(&w.to_lowercase()))
}

/// Writes the lines of a log that match `filter` to `out`, oldest first; with `follow`, keeps
/// waiting for new lines (following rotation) until `stop` says so.
pub fn read(
    dir: &Path,
    kind: LogKind,
    filter: Option<&str>,
    follow: bool,
    out: &mut dyn Write,
    stop: &dyn Fn() -> bool,
) -> io::Result<()> {
    let keep = |l: &str| filter.is_none_or(|f| matches(l, f));
    for f in files(dir, kind) {
        let Ok(file) = File::open(&f) else { continue };
        for line in BufReader::new(file).lines() {
            let line = line?;
            if keep(&line) {
                writeln!(out, "{line}")?;
            }
        }
    }
    out.flush()?;
    if !follow {
        return Ok(());
    }
    let path = dir.join(kind.file_name());
    let mut pos = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let mut ino = inode(&path);
    let mut partial = String::new();
    while !stop() {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let now_ino = inode(&path);
        if now_ino != ino {
            // Rotated: the new file starts from the beginning.
            ino = now_ino;
            pos = 0;
        }
        let Ok(mut file) = File::open(&path) else {
            continue;
        };
        let len = file.metadata()?.len();
        if len < pos {
            pos = 0;
        }
        if len == pos {
            continue;
        }
        file.seek(SeekFrom::Start(pos))?;
        let mut reader = BufReader::new(file);
        loop {
            let mut buf = String::new();
            let n = reader.read_line(&mut buf)?;
            if n == 0 {
                break;
            }
            pos += n as u64;
            partial.push_str(&buf);
            if partial.ends_with('\n') {
                let line = partial.trim_end_matches('\n');
                if keep(line) {
                    writeln!(out, "{line}")?;
                }
                partial.clear();
            }
        }
        out.flush()?;
    }
    Ok(())
}

#[cfg(unix)]
fn inode(p: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(p).map(|m| m.ino()).unwrap_or(0)
}
