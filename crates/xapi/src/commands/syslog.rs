//! Remote syslog servers: `RemoteSyslogAdd` and `RemoteSyslogDelete`.

use super::lists::set;
use super::{origin, Args, CmdError, Fields};
use crate::format::Field;
use crate::{Engine, Principal};
use causeway_config::{Change, ConfigError, Snapshot};

const TABLE: &str = "Remote Syslog";
const ROWS: u32 = 4;

/// The transport and port a row sends with: its mode's preset, or its own fields when the mode
/// is `user_defined`.
pub fn effective(snap: &Snapshot, row: u32) -> (String, u16, String) {
    let get = |leaf: &str| {
        snap.get(&format!("{TABLE} {row} {leaf}"))
            .unwrap_or("")
            .to_string()
    };
    match get("Mode").as_str() {
        "ietf" => ("udp".into(), 514, "ietf".into()),
        "ietf_secure" => ("tls".into(), 6514, "ietf".into()),
        "user_defined" => (
            get("Transport"),
            get("Port").parse().unwrap_or(514),
            get("Format"),
        ),
        _ => ("udp".into(), 514, "bsd".into()),
    }
}

fn in_use(snap: &Snapshot, row: u32) -> bool {
    !snap
        .get(&format!("{TABLE} {row} Address"))
        .unwrap_or("")
        .is_empty()
}

pub fn add(e: &Engine, a: &Args, who: &Principal) -> Result<Fields, CmdError> {
    let (_, row) = e.config.commit_with(&origin(who), |snap| {
        let row = (1..=ROWS).find(|&r| !in_use(snap, r)).ok_or_else(|| {
            ConfigError::Refused(format!("all {ROWS} remote syslog servers are in use"))
        })?;
        let mut changes = vec![Change::DeleteRow {
            row: format!("{TABLE} {row}"),
        }];
        for leaf in [
            "Address",
            "Crlcheck",
            "Format",
            "Loglevel",
            "Mode",
            "Port",
            "Transport",
        ] {
            if let Some(v) = a.get(leaf) {
                changes.push(set(format!("{TABLE} {row} {leaf}"), v));
            }
        }
        Ok((changes, row))
    })?;
    Ok(vec![("Row".into(), Field::bare(row))])
}

pub fn delete(e: &Engine, a: &Args, who: &Principal) -> Result<Fields, CmdError> {
    let address = a.req("Address");
    let port: u16 = a.int("Port").unwrap_or(0) as u16;
    let transport = a.req("Transport");
    e.config.commit_with(&origin(who), |snap| {
        let row = (1..=ROWS)
            .find(|&r| {
                let (t, p, _) = effective(snap, r);
                snap.get(&format!("{TABLE} {r} Address"))
                    .is_some_and(|x| x.eq_ignore_ascii_case(address))
                    && p == port
                    && t == transport
            })
            .ok_or_else(|| {
                ConfigError::Refused(format!(
                    "no remote syslog server {address} port {port} over {transport}"
                ))
            })?;
        Ok((
            vec![Change::DeleteRow {
                row: format!("{TABLE} {row}"),
            }],
            row,
        ))
    })?;
    Ok(vec![])
}
