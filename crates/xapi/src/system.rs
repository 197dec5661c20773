//! `xStatus`, the system status groups, and the system commands.

use crate::commands::{origin, Args, CmdError, Fields};
use crate::format::{ErrorKind, Field, Out, Response};
use crate::status::{groups, StatusSource};
use crate::{Engine, Principal};
use causeway_config::{Change, Config};
use causeway_observe::{AlarmState, Alarms};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub fn status(engine: &Engine, path: &[String]) -> Response {
    let mut out = Out::default();
    let sources = engine.status_sources();
    if path.first().is_some_and(|p| p == "?" || p == "??") {
        for g in groups() {
            let here = sources.iter().any(|s| s.group().eq_ignore_ascii_case(g));
            out.line(&format!(
                "*h xStatus {g}{}",
                if here || !engine.is_online() {
                    ""
                } else {
                    "  (not implemented yet)"
                }
            ));
        }
        return out.ok();
    }
    let Some(group) = path.first() else {
        if !engine.is_online() {
            return out.fail(
                ErrorKind::Unavailable,
                "Status",
                "status needs a running server (none is running on this data directory)",
                &[],
            );
        }
        for s in sources {
            emit(&mut out, s.as_ref(), &[]);
        }
        return out.ok();
    };
    match sources
        .iter()
        .find(|s| s.group().eq_ignore_ascii_case(group))
    {
        Some(s) => {
            if !emit(&mut out, s.as_ref(), &path[1..]) {
                return out.error(
                    "Status",
                    &format!("{} has no status {}", s.group(), path[1..].join(" ")),
                    &[],
                );
            }
            out.ok()
        }
        None => match groups().iter().find(|g| g.eq_ignore_ascii_case(group)) {
            Some(g) if !engine.is_online() => out.fail(
                ErrorKind::Unavailable,
                "Status",
                &format!(
                    "{g} status needs a running server (none is running on this data directory)"
                ),
                &[],
            ),
            Some(g) => out.fail(
                ErrorKind::NotImplemented,
                "Status",
                &format!("status group {g} is not implemented in this version of causeway"),
                &[],
            ),
            None => out.error("Status", &format!("unknown status group {group}"), &[]),
        },
    }
}

/// `xStatus` limited to some groups, in the order the sources were added.
pub fn status_of(engine: &Engine, groups: &[&str]) -> Response {
    let mut out = Out::default();
    if !engine.is_online() {
        return out.fail(
            ErrorKind::Unavailable,
            "Status",
            "status needs a running server (none is running on this data directory)",
            &[],
        );
    }
    for s in engine.status_sources() {
        if groups.iter().any(|g| g.eq_ignore_ascii_case(s.group())) {
            emit(&mut out, s.as_ref(), &[]);
        }
    }
    out.ok()
}

/// Prints the leaves of `source` under `filter`; returns whether any matched.
fn emit(out: &mut Out, source: &dyn StatusSource, filter: &[String]) -> bool {
    let mut any = false;
    let mut leaves = source.collect();
    if let Some(first) = filter.first() {
        leaves.extend(source.collect_on_request(first));
    }
    for (path, value) in leaves {
        let words: Vec<&str> = path.split(' ').collect();
        let keep = filter.len() <= words.len()
            && filter
                .iter()
                .zip(&words)
                .all(|(f, w)| f.eq_ignore_ascii_case(w));
        if keep {
            any = true;
            out.status(source.group(), &path, &value);
        }
    }
    any
}

/// `xStatus SystemUnit`: what this is, how long it has run, what waits for a restart.
pub struct SystemUnit {
    pub started: Instant,
    pub config: Arc<Config>,
}

impl StatusSource for SystemUnit {
    fn group(&self) -> &'static str {
        "SystemUnit"
    }
    fn collect(&self) -> Vec<(String, Field)> {
        let snap = self.config.snapshot();
        let mut v = vec![
            ("Product".into(), Field::str("causeway")),
            (
                "Software Version".into(),
                Field::str(env!("CARGO_PKG_VERSION")),
            ),
            (
                "Name".into(),
                Field::str(snap.get("SystemUnit Name").unwrap_or("")),
            ),
            (
                "Type".into(),
                Field::bare(snap.get("SystemUnit Type").unwrap_or("Core")),
            ),
            (
                "Uptime".into(),
                Field::bare(self.started.elapsed().as_secs()),
            ),
            ("Configuration Revision".into(), Field::bare(snap.revision)),
            (
                "RestartRequired".into(),
                Field::bare(if snap.pending_restart.is_empty() {
                    "False"
                } else {
                    "True"
                }),
            ),
        ];
        for (i, p) in snap.pending_restart.iter().enumerate() {
            v.push((
                format!("PendingRestart {} Path", i + 1),
                Field::str(p.as_str()),
            ));
        }
        v
    }
}

/// `xStatus ResourceUsage`: this process and the host, read from /proc.
pub struct ResourceUsage {
    pub data_dir: std::path::PathBuf,
    /// Current and peak registrations and calls, from the running services.
    pub counters: Option<Counters>,
}

/// Supplies `(current registrations, peak), (current calls, peak)`.
pub type Counters = Box<dyn Fn() -> ((u64, u64), (u64, u64)) + Send + Sync>;

fn proc_kb(file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

impl StatusSource for ResourceUsage {
    fn group(&self) -> &'static str {
        "ResourceUsage"
    }
    fn collect(&self) -> Vec<(String, Field)> {
        let mut v = Vec::new();
        if let (Some(total), Some(avail)) = (
            proc_kb("/proc/meminfo", "MemTotal:"),
            proc_kb("/proc/meminfo", "MemAvailable:"),
        ) {
            v.push(("Memory Total".into(), Field::bare(total * 1024)));
            v.push(("Memory Used".into(), Field::bare((total - avail) * 1024)));
        }
        if let Some(rss) = proc_kb("/proc/self/status", "VmRSS:") {
            v.push(("Process Memory Resident".into(), Field::bare(rss * 1024)));
        }
        if let Some(t) = proc_kb("/proc/self/status", "Threads:") {
            v.push(("Process Threads".into(), Field::bare(t)));
        }
        if let Ok(l) = std::fs::read_to_string("/proc/loadavg") {
            let f: Vec<&str> = l.split_whitespace().collect();
            for (i, name) in ["1", "5", "15"].iter().enumerate() {
                if let Some(x) = f.get(i) {
                    v.push((format!("Load Average{name}"), Field::bare(x)));
                }
            }
        }
        v.push((
            "Cores".into(),
            Field::bare(
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1),
            ),
        ));
        if let Some(c) = &self.counters {
            let ((reg, reg_peak), (calls, calls_peak)) = c();
            v.push(("Registrations Current".into(), Field::bare(reg)));
            v.push(("Registrations Peak".into(), Field::bare(reg_peak)));
            v.push(("Calls Current".into(), Field::bare(calls)));
            v.push(("Calls Peak".into(), Field::bare(calls_peak)));
        }
        if let Ok(m) = std::fs::metadata(self.data_dir.join("config.db")) {
            v.push(("ConfigurationStore Size".into(), Field::bare(m.len())));
        }
        v
    }
}

/// `xStatus Alarm`: the raised alarms.
pub struct AlarmStatus {
    pub alarms: Arc<Alarms>,
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl StatusSource for AlarmStatus {
    fn group(&self) -> &'static str {
        "Alarm"
    }
    fn collect(&self) -> Vec<(String, Field)> {
        let mut v = Vec::new();
        for (i, a) in self.alarms.list().iter().enumerate() {
            let n = i + 1;
            v.push((format!("{n} Id"), Field::bare(a.id)));
            v.push((format!("{n} Title"), Field::str(a.title.as_str())));
            v.push((format!("{n} Severity"), Field::bare(&a.severity)));
            v.push((format!("{n} Detail"), Field::str(a.detail.as_str())));
            v.push((
                format!("{n} State"),
                Field::bare(match a.state {
                    AlarmState::New => "New",
                    AlarmState::Acknowledged => "Acknowledged",
                }),
            ));
            v.push((
                format!("{n} FirstRaised"),
                Field::bare(unix(a.first_raised)),
            ));
            v.push((format!("{n} LastRaised"), Field::bare(unix(a.last_raised))));
        }
        if v.is_empty() {
            v.push(("Count".into(), Field::bare(0)));
        }
        v
    }
}

pub fn default_values_set(e: &Engine, a: &Args, who: &Principal) -> Result<Fields, CmdError> {
    let level = a.int("Level").unwrap_or(1) as u8;
    let record = e
        .config
        .commit(&origin(who), vec![Change::ResetToDefaults { level }])?;
    Ok(vec![("Reset".into(), Field::bare(record.changes.len()))])
}

pub fn restart(e: &Engine, _: &Args, who: &Principal) -> Result<Fields, CmdError> {
    match e.services() {
        Some(s) => {
            s.restart(&format!("requested by {}", who.user))
                .map_err(CmdError::Refused)?;
            Ok(vec![("Restart".into(), Field::bare("Scheduled"))])
        }
        None => Err(CmdError::Refused(
            "no server is running on this data directory, so there is nothing to restart".into(),
        )),
    }
}

/// `Registration: N` or `RegistrationSerialNumber: "…"` (and the same pair for calls): exactly one.
fn selector(a: &Args, number: &str, serial: &str) -> Result<crate::Selector, CmdError> {
    match (a.int(number), a.get(serial)) {
        (Some(n), None) => Ok(crate::Selector::Number(n as u32)),
        (None, Some(s)) => Ok(crate::Selector::Serial(s.to_string())),
        _ => Err(CmdError::Refused(format!(
            "give either {number} or {serial}"
        ))),
    }
}

fn online(e: &Engine) -> Result<&Arc<dyn crate::Services>, CmdError> {
    e.services()
        .ok_or_else(|| CmdError::Refused("no server is running on this data directory".into()))
}

pub fn remove_registration(e: &Engine, a: &Args, _: &Principal) -> Result<Fields, CmdError> {
    let which = selector(a, "Registration", "RegistrationSerialNumber")?;
    online(e)?
        .remove_registration(&which)
        .map_err(CmdError::Refused)
}

pub fn find_registration(e: &Engine, a: &Args, _: &Principal) -> Result<Fields, CmdError> {
    online(e)?
        .find_registration(a.req("Alias"))
        .map_err(CmdError::Refused)
}

pub fn disconnect_call(e: &Engine, a: &Args, _: &Principal) -> Result<Fields, CmdError> {
    let which = selector(a, "Call", "CallSerialNumber")?;
    online(e)?
        .disconnect_call(&which)
        .map_err(CmdError::Refused)
}

pub fn locate(e: &Engine, a: &Args, _: &Principal) -> Result<Fields, CmdError> {
    let request = crate::LocateRequest {
        alias: a.req("Alias").to_string(),
        hop_count: a.int("HopCount").unwrap_or(15).clamp(0, 255) as u8,
        protocol: a.req("Protocol").to_string(),
        source_zone: a.get("SourceZone").map(str::to_string),
        authenticated: a.get("Authenticated") == Some("Yes"),
        source_alias: a.get("SourceAlias").unwrap_or("xcom-locate").to_string(),
    };
    online(e)?.locate(&request).map_err(CmdError::Refused)
}

pub fn alarm_acknowledge(e: &Engine, a: &Args, _: &Principal) -> Result<Fields, CmdError> {
    let id = a.int("Id").unwrap_or(0) as u32;
    if !e.alarms.acknowledge(id) {
        return Err(CmdError::Refused(format!("alarm {id} is not raised")));
    }
    Ok(vec![("Id".into(), Field::bare(id))])
}
