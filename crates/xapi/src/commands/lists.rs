//! Table commands: domains, registration allow and deny lists, zones.

use super::{origin, Args, CmdError, Fields};
use crate::format::Field;
use crate::{Engine, Principal};
use causeway_config::{Change, ConfigError, Snapshot};

/// The lowest free row of a table of `max` rows.
pub(crate) fn free_row(snap: &Snapshot, table: &str, max: u32) -> Result<u32, ConfigError> {
    let used = snap.rows(table);
    (1..=max)
        .find(|n| used.binary_search(n).is_err())
        .ok_or_else(|| ConfigError::Refused(format!("{table} is full ({max} entries)")))
}

pub(crate) fn set(path: String, value: impl Into<String>) -> Change {
    Change::Set {
        path,
        value: value.into(),
    }
}

/// Adds a row holding `fields` to `table`; returns its index as `<id_name>`.
fn add_row(
    engine: &Engine,
    who: &Principal,
    table: &'static str,
    max: u32,
    id_name: &str,
    fields: Vec<(&'static str, Option<String>)>,
) -> Result<Fields, CmdError> {
    let (_, row) = engine.config.commit_with(&origin(who), |snap| {
        let row = free_row(snap, table, max)?;
        let changes = fields
            .into_iter()
            .filter_map(|(k, v)| Some(set(format!("{table} {row} {k}"), v?)))
            .collect();
        Ok((changes, row))
    })?;
    Ok(vec![(id_name.to_string(), Field::bare(row))])
}

/// Removes row `id` of `table`, refusing when it does not exist.
pub(crate) fn delete_row(
    engine: &Engine,
    who: &Principal,
    table: &str,
    id: i64,
) -> Result<Fields, CmdError> {
    engine.config.commit_with(&origin(who), |snap| {
        if !snap.rows(table).contains(&(id as u32)) {
            return Err(ConfigError::Refused(format!("{table} {id} does not exist")));
        }
        Ok((
            vec![Change::DeleteRow {
                row: format!("{table} {id}"),
            }],
            (),
        ))
    })?;
    Ok(vec![])
}

pub fn domain_add(e: &Engine, a: &Args, who: &Principal) -> Result<Fields, CmdError> {
    // Edgexmpp and Xmppfederation are accepted for compatibility; XMPP is not part of causeway.
    add_row(
        e,
        who,
        "SIP Domain",
        200,
        "DomainId",
        vec![
            ("Name", Some(a.req("Name").to_string())),
            ("Sip", a.get("Sip").map(str::to_owned)),
            ("Edge", a.get("Edgesip").map(str::to_owned)),
        ],
    )
}

pub fn domain_delete(e: &Engine, a: &Args, who: &Principal) -> Result<Fields, CmdError> {
    delete_row(e, who, "SIP Domain", a.int("DomainId").unwrap_or(0))
}

fn list_add(
    e: &Engine,
    a: &Args,
    who: &Principal,
    table: &'static str,
    id: &str,
) -> Result<Fields, CmdError> {
    add_row(
        e,
        who,
        table,
        2500,
        id,
        vec![
            ("Pattern String", Some(a.req("PatternString").to_string())),
            ("Pattern Type", a.get("PatternType").map(str::to_owned)),
            ("Description", a.get("Description").map(str::to_owned)),
        ],
    )
}

pub fn allow_add(e: &Engine, a: &Args, who: &Principal) -> Result<Fields, CmdError> {
    list_add(e, a, who, "Registration AllowList", "AllowListId")
}

pub fn allow_delete(e: &Engine, a: &Args, who: &Principal) -> Result<Fields, CmdError> {
    delete_row(
        e,
        who,
        "Registration AllowList",
        a.int("AllowListId").unwrap_or(0),
    )
}

pub fn deny_add(e: &Engine, a: &Args, who: &Principal) -> Result<Fields, CmdError> {
    list_add(e, a, who, "Registration DenyList", "DenyListId")
}

pub fn deny_delete(e: &Engine, a: &Args, who: &Principal) -> Result<Fields, CmdError> {
    delete_row(
        e,
        who,
        "Registration DenyList",
        a.int("DenyListId").unwrap_or(0),
    )
}

pub fn zone_add(e: &Engine, a: &Args, who: &Principal) -> Result<Fields, CmdError> {
    add_row(
        e,
        who,
        "Zones Zone",
        1000,
        "ZoneId",
        vec![
            ("Name", Some(a.req("ZoneName").to_string())),
            ("Type", Some(a.req("Type").to_string())),
        ],
    )
}

pub fn zone_delete(e: &Engine, a: &Args, who: &Principal) -> Result<Fields, CmdError> {
    let id = a.int("ZoneId").unwrap_or(0);
    e.config.commit_with(&origin(who), |snap| {
        let table = "Zones Zone";
        if !snap.rows(table).contains(&(id as u32)) {
            return Err(ConfigError::Refused(format!("{table} {id} does not exist")));
        }
        let name = snap.get(&format!("{table} {id} Name")).unwrap_or("").to_string();
        let rules = "Zones Policy SearchRules Rule";
        for r in snap.rows(rules) {
            let target = snap.get(&format!("{rules} {r} Target Name")).unwrap_or("");
            let kind = snap.get(&format!("{rules} {r} Target Type")).unwrap_or("Zone");
            if kind == "Zone" && target.eq_ignore_ascii_case(&name) {
                return Err(ConfigError::Refused(format!(
                    "zone \"{name}\" is the target of search rule {r}; delete or retarget the rule first"
                )));
            }
        }
        Ok((vec![Change::DeleteRow { row: format!("{table} {id}") }], ()))
    })?;
    Ok(vec![])
}
