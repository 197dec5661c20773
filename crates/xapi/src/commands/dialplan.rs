//! Dial plan commands: transforms, search rules, and the two pattern diagnostics.

use super::lists::{delete_row, free_row, set};
use super::{origin, Args, CmdError, Fields};
use crate::format::Field;
use crate::{Engine, Principal};
use causeway_config::{Change, ConfigError, Snapshot};
use causeway_routing::dialplan::LOCAL_ZONE;
use causeway_routing::search::plan;
use causeway_routing::{
    check_pattern as check, Behavior, Dialplan, PatternType, Protocol, SearchRequest, Target,
    Transform, Variables,
};

const TRANSFORMS: &str = "Transform";
const RULES: &str = "Zones Policy SearchRules Rule";
const MAX_PRIORITY: i64 = 65534;

/// The values pattern variables stand for, from the configuration.
pub fn variables(snap: &Snapshot) -> Variables {
    Variables::from_snapshot(snap)
}

fn pattern_error(e: causeway_routing::PatternError) -> CmdError {
    CmdError::Refused(e.to_string())
}

fn parse_kind(s: &str) -> Result<PatternType, CmdError> {
    s.parse().map_err(pattern_error)
}

fn parse_behavior(s: &str) -> Result<Behavior, CmdError> {
    s.parse().map_err(pattern_error)
}

pub fn check_pattern(e: &Engine, a: &Args, _: &Principal) -> Result<Fields, CmdError> {
    let vars = variables(&e.config.snapshot());
    let r = check(
        a.req("Target"),
        parse_kind(a.req("Type"))?,
        a.req("Pattern"),
        parse_behavior(a.req("Behavior"))?,
        a.get("Replace").unwrap_or(""),
        &vars,
    )
    .map_err(pattern_error)?;
    Ok(vec![
        (
            "Result".into(),
            Field::bare(if r.matched { "Succeeded" } else { "Failed" }),
        ),
        (
            "Matched".into(),
            Field::bare(if r.matched { "Yes" } else { "No" }),
        ),
        ("Alias".into(), Field::str(r.alias)),
    ])
}

pub fn transform_add(e: &Engine, a: &Args, who: &Principal) -> Result<Fields, CmdError> {
    // Refuse a pattern that does not compile before touching the configuration.
    let vars = variables(&e.config.snapshot());
    Transform::new(
        parse_kind(a.req("Type"))?,
        a.req("Pattern"),
        parse_behavior(a.req("Behavior"))?,
        a.get("Replace").unwrap_or(""),
        &vars,
    )
    .map_err(pattern_error)?;
    let priority = a.int("Priority").unwrap_or(1);
    let (_, row) = e.config.commit_with(&origin(who), |snap| {
        let row = free_row(snap, TRANSFORMS, 100)?;
        let mut changes = shift_priorities(snap, priority)?;
        let p = |k: &str| format!("{TRANSFORMS} {row} {k}");
        changes.push(set(p("Priority"), priority.to_string()));
        changes.push(set(p("Pattern String"), a.req("Pattern")));
        for (key, arg) in [
            ("Pattern Type", "Type"),
            ("Pattern Behavior", "Behavior"),
            ("Pattern Replace", "Replace"),
            ("Description", "Description"),
            ("State", "State"),
        ] {
            if let Some(v) = a.get(arg) {
                changes.push(set(p(key), v));
            }
        }
        Ok((changes, row))
    })?;
    Ok(vec![("TransformId".into(), Field::bare(row))])
}

/// Makes room at `priority`: when a transform holds it, that one and every transform with a
/// larger number move down by one. Refused when that would pass the last priority.
fn shift_priorities(snap: &Snapshot, priority: i64) -> Result<Vec<Change>, ConfigError> {
    let prio = |r: u32| snap.int(&format!("{TRANSFORMS} {r} Priority")).unwrap_or(1);
    let rows = snap.rows(TRANSFORMS);
    if !rows.iter().any(|&r| prio(r) == priority) {
        return Ok(vec![]);
    }
    let mut changes = Vec::new();
    for r in rows {
        let p = prio(r);
        if p >= priority {
            if p + 1 > MAX_PRIORITY {
                return Err(ConfigError::Refused(format!(
                    "no room at priority {priority}: transform {r} would move past {MAX_PRIORITY}"
                )));
            }
            changes.push(set(
                format!("{TRANSFORMS} {r} Priority"),
                (p + 1).to_string(),
            ));
        }
    }
    Ok(changes)
}

pub fn transform_delete(e: &Engine, a: &Args, who: &Principal) -> Result<Fields, CmdError> {
    delete_row(e, who, TRANSFORMS, a.int("TransformId").unwrap_or(0))
}

pub fn search_rule_add(e: &Engine, a: &Args, who: &Principal) -> Result<Fields, CmdError> {
    let zone = a
        .get("ZoneName")
        .filter(|z| !z.is_empty())
        .map(str::to_owned);
    let (_, row) = e.config.commit_with(&origin(who), |snap| {
        if let Some(z) = &zone {
            if !zone_exists(snap, z) {
                return Err(ConfigError::Refused(format!(
                    "there is no zone named \"{z}\""
                )));
            }
        }
        let row = free_row(snap, RULES, 2000)?;
        let p = |k: &str| format!("{RULES} {row} {k}");
        let mut changes = vec![set(p("Name"), a.req("Name"))];
        if let Some(d) = a.get("Description") {
            changes.push(set(p("Description"), d));
        }
        if let Some(z) = &zone {
            changes.push(set(p("Target Type"), "Zone"));
            changes.push(set(p("Target Name"), z.as_str()));
        }
        Ok((changes, row))
    })?;
    Ok(vec![("SearchRuleId".into(), Field::bare(row))])
}

/// Configured zones, plus the two built-in ones.
fn zone_exists(snap: &Snapshot, name: &str) -> bool {
    ["LocalZone", "DefaultZone"]
        .iter()
        .any(|z| z.eq_ignore_ascii_case(name))
        || snap.rows("Zones Zone").iter().any(|r| {
            snap.get(&format!("Zones Zone {r} Name"))
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
}

pub fn search_rule_delete(e: &Engine, a: &Args, who: &Principal) -> Result<Fields, CmdError> {
    delete_row(e, who, RULES, a.int("SearchRuleId").unwrap_or(0))
}

/// Whether an alias is an IP address (optionally with a URI scheme, brackets or a port).
/// `ZoneList`: the searches the dial plan would make for an alias, planned as a SIP request
/// from an authenticated local registration (the search the routing core would run first).
pub fn zone_list(e: &Engine, a: &Args, _: &Principal) -> Result<Fields, CmdError> {
    let snap = e.config.snapshot();
    let dp = Dialplan::from_snapshot(&snap);
    let original = a.req("Alias").to_string();
    let mut req = SearchRequest::new(&original, Protocol::Sip);
    req.authenticated = true;
    let p = plan(&dp, &req, &original, &mut Vec::new());
    let mut out: Fields = vec![("Alias".into(), Field::str(original))];
    if let Some(r) = p.transform {
        out.push(("Transform".into(), Field::bare(r)));
        out.push(("TransformedAlias".into(), Field::str(p.alias.clone())));
    }
    let mut n = 0;
    for g in &p.groups {
        for q in &g.queries {
            n += 1;
            let target = match &q.target {
                Target::LocalZone => LOCAL_ZONE.to_string(),
                Target::Zone(z) => z.clone(),
                Target::PolicyService(s) => format!("policy service {s}"),
                Target::Address(a) => format!("address {a}"),
            };
            for (k, v) in [
                ("Priority", Field::bare(g.priority)),
                ("Rule", Field::str(q.rule_name.clone())),
                ("Target", Field::str(target)),
                ("SearchAlias", Field::str(q.alias.clone())),
                (
                    "Progress",
                    Field::bare(if q.stop { "Stop" } else { "Continue" }),
                ),
            ] {
                out.push((format!("Search {n} {k}"), v));
            }
        }
    }
    out.push(("Searches".into(), Field::bare(n)));
    Ok(out)
}
