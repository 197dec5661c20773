//! Administrator accounts and groups, by name.

use super::lists::{free_row, set};
use super::{origin, Args, CmdError, Fields};
use crate::format::Field;
use crate::{Engine, Principal};
use causeway_config::accounts::{ACCOUNT, GROUP};
use causeway_config::{Change, ConfigError, Snapshot};

/// Enough rows for any team; the tree allows more, the commands keep lists readable.
const MAX_ROWS: u32 = 1000;

/// The row of `table` whose `Name` is `name`. Account names compare exactly (they are
/// case-sensitive); group names without case, as the directory compares them.
fn row_named(snap: &Snapshot, table: &str, name: &str, exact: bool) -> Option<u32> {
    snap.rows(table).into_iter().find(|r| {
        let n = snap.get(&format!("{table} {r} Name")).unwrap_or("");
        if exact {
            n == name
        } else {
            n.eq_ignore_ascii_case(name)
        }
    })
}

fn add(
    e: &Engine,
    who: &Principal,
    table: &'static str,
    what: &str,
    fields: Vec<(&'static str, Option<String>)>,
    name: &str,
) -> Result<Fields, CmdError> {
    let (_, row) = e.config.commit_with(&origin(who), |snap| {
        if row_named(snap, table, name, false).is_some() {
            return Err(ConfigError::Refused(format!(
                "{what} \"{name}\" already exists"
            )));
        }
        let row = free_row(snap, table, MAX_ROWS)?;
        let changes = fields
            .into_iter()
            .filter_map(|(k, v)| Some(set(format!("{table} {row} {k}"), v?)))
            .collect();
        Ok((changes, row))
    })?;
    Ok(vec![("Row".into(), Field::bare(row))])
}

fn delete(
    e: &Engine,
    who: &Principal,
    table: &'static str,
    what: &str,
    name: &str,
    exact: bool,
) -> Result<Fields, CmdError> {
    e.config.commit_with(&origin(who), |snap| {
        let Some(row) = row_named(snap, table, name, exact) else {
            return Err(ConfigError::Refused(format!(
                "no {what} is named \"{name}\""
            )));
        };
        Ok((
            vec![Change::DeleteRow {
                row: format!("{table} {row}"),
            }],
            (),
        ))
    })?;
    Ok(vec![])
}

fn flags(a: &Args) -> Vec<(&'static str, Option<String>)> {
    ["AccessAPI", "AccessWeb", "Enabled", "AccessLevel"]
        .into_iter()
        .map(|k| (k, a.get(k).map(str::to_owned)))
        .collect()
}

pub fn account_add(e: &Engine, a: &Args, who: &Principal) -> Result<Fields, CmdError> {
    let name = a.req("Name");
    let mut fields = vec![
        ("Name", Some(name.to_string())),
        ("Password", Some(a.req("Password").to_string())),
    ];
    fields.extend(flags(a));
    add(e, who, ACCOUNT, "an account", fields, name)
}

pub fn account_delete(e: &Engine, a: &Args, who: &Principal) -> Result<Fields, CmdError> {
    delete(e, who, ACCOUNT, "account", a.req("Name"), true)
}

pub fn group_add(e: &Engine, a: &Args, who: &Principal) -> Result<Fields, CmdError> {
    let name = a.req("Name");
    let mut fields = vec![("Name", Some(name.to_string()))];
    fields.extend(flags(a));
    add(e, who, GROUP, "a group", fields, name)
}

pub fn group_delete(e: &Engine, a: &Args, who: &Principal) -> Result<Fields, CmdError> {
    delete(e, who, GROUP, "group", a.req("Name"), false)
}

/// The caller's own password, whatever their access level: the current one must check out. Also
/// clears a forced reset.
pub fn password_change(e: &Engine, a: &Args, who: &Principal) -> Result<Fields, CmdError> {
    e.config.commit_with(&origin(who), |snap| {
        let account = causeway_config::accounts::find(snap.stored(), &who.user)
            .filter(|acc| !acc.hash.is_empty())
            .ok_or_else(|| {
                ConfigError::Refused(format!("{} has no local account password", who.user))
            })?;
        if !causeway_config::accounts::verify(&account.hash, a.req("CurrentPassword")) {
            return Err(ConfigError::Refused(
                "the current password is not correct".into(),
            ));
        }
        let row = account.row;
        Ok((
            vec![
                set(format!("{ACCOUNT} {row} Password"), a.req("NewPassword")),
                set(format!("{ACCOUNT} {row} ForcePasswordReset"), "Off"),
            ],
            (),
        ))
    })?;
    Ok(vec![])
}
