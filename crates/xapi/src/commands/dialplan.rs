//! Dial plan commands: transforms, search rules, and the two pattern diagnostics.

use super::lists::{delete_row, free_row, set};
use super::{origin, Args, CmdError, Fields};
use crate::format::Field;
use crate::{Engine, Principal};
use causeway_config::{Change, ConfigError, Snapshot};
use causeway_routing::{check_pattern as check, Behavior, PatternType, Transform, Variables};

const TRANSFORMS: &str = "Transform";
const RULES: &str = "Zones Policy SearchRules Rule";
const MAX_PRIORITY: i64 = 65534;

/// The values pattern variables stand for, from the configuration.
pub fn variables(snap: &Snapshot) -> Variables {
    let rows = snap.rows("SIP Domain");
    let last = rows.last().copied().unwrap_or(0);
    let local_domains = (1..=last)
        .map(|n| {
            snap.get(&format!("SIP Domain {n} Name"))
                .unwrap_or("")
                .to_string()
        })
        .collect();
    let lan = |v: &str| {
        (1..=2)
            .map(|n| {
                snap.get(&format!("Ethernet {n} IP {v} Address"))
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
    };
    Variables {
        system_name: snap.get("SystemUnit Name").unwrap_or("").to_string(),
        local_domains,
        ipv4: lan("V4"),
        ipv6: lan("V6"),
    }
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
fn is_ip_alias(alias: &str) -> bool {
    let a = alias
        .strip_prefix("sip:")
        .or_else(|| alias.strip_prefix("sips:"))
        .or_else(|| alias.strip_prefix("h323:"))
        .unwrap_or(alias);
    if a.parse::<std::net::IpAddr>().is_ok() || a.parse::<std::net::SocketAddr>().is_ok() {
        return true;
    }
    let host = a.trim_start_matches('[').split(']').next().unwrap_or(a);
    host.parse::<std::net::IpAddr>().is_ok()
        || a.rsplit_once(':').is_some_and(|(h, p)| {
            p.parse::<u16>().is_ok() && h.parse::<std::net::Ipv4Addr>().is_ok()
        })
}

/// The first enabled pre-search transform (by priority, then index) that matches.
fn pre_search(snap: &Snapshot, vars: &Variables, alias: &str) -> Option<(u32, String)> {
    let mut rows: Vec<(i64, u32)> = snap
        .rows(TRANSFORMS)
        .into_iter()
        .filter(|r| snap.get(&format!("{TRANSFORMS} {r} State")) != Some("Disabled"))
        .map(|r| {
            (
                snap.int(&format!("{TRANSFORMS} {r} Priority")).unwrap_or(1),
                r,
            )
        })
        .collect();
    rows.sort_unstable();
    for (_, r) in rows {
        let g = |k: &str| {
            snap.get(&format!("{TRANSFORMS} {r} {k}"))
                .unwrap_or("")
                .to_string()
        };
        let (Ok(kind), Ok(behavior)) = (g("Pattern Type").parse(), g("Pattern Behavior").parse())
        else {
            continue;
        };
        let Ok(t) = Transform::new(
            kind,
            &g("Pattern String"),
            behavior,
            &g("Pattern Replace"),
            vars,
        ) else {
            continue;
        };
        if let Some(out) = t.apply(alias) {
            return Some((r, out));
        }
    }
    None
}

pub fn zone_list(e: &Engine, a: &Args, _: &Principal) -> Result<Fields, CmdError> {
    let snap = e.config.snapshot();
    let vars = variables(&snap);
    let original = a.req("Alias").to_string();
    let mut out: Fields = vec![("Alias".into(), Field::str(original.clone()))];
    let alias = match pre_search(&snap, &vars, &original) {
        Some((r, t)) => {
            out.push(("Transform".into(), Field::bare(r)));
            out.push(("TransformedAlias".into(), Field::str(t.clone())));
            t
        }
        None => original,
    };
    let ip = is_ip_alias(&alias);
    let mut rules: Vec<(i64, u32)> = snap
        .rows(RULES)
        .into_iter()
        .filter(|r| snap.get(&format!("{RULES} {r} State")) != Some("Disabled"))
        .map(|r| (snap.int(&format!("{RULES} {r} Priority")).unwrap_or(100), r))
        .collect();
    rules.sort_unstable();
    let mut n = 0;
    let mut i = 0;
    while i < rules.len() {
        let prio = rules[i].0;
        let mut stop = false;
        while i < rules.len() && rules[i].0 == prio {
            let r = rules[i].1;
            i += 1;
            let g = |k: &str| {
                snap.get(&format!("{RULES} {r} {k}"))
                    .unwrap_or("")
                    .to_string()
            };
            let sent = match g("Mode").as_str() {
                "AnyIPAddress" if ip => Some(alias.clone()),
                "AnyAlias" if !ip => Some(alias.clone()),
                "AliasPatternMatch" => {
                    let kind = g("Pattern Type").parse().unwrap_or(PatternType::Prefix);
                    let behavior = g("Pattern Behavior").parse().unwrap_or(Behavior::Strip);
                    Transform::new(
                        kind,
                        &g("Pattern String"),
                        behavior,
                        &g("Pattern Replace"),
                        &vars,
                    )
                    .ok()
                    .and_then(|t| t.apply(&alias))
                }
                _ => None,
            };
            let Some(sent) = sent else { continue };
            n += 1;
            stop |= g("Progress") == "Stop";
            let target = if g("Target Type") == "PolicyService" {
                format!("policy service {}", g("Target Name"))
            } else {
                g("Target Name")
            };
            for (k, v) in [
                ("Priority", Field::bare(prio)),
                ("Rule", Field::str(g("Name"))),
                ("Target", Field::str(target)),
                ("SearchAlias", Field::str(sent)),
                ("Progress", Field::bare(g("Progress"))),
            ] {
                out.push((format!("Search {n} {k}"), v));
            }
        }
        if stop {
            break;
        }
    }
    out.push(("Searches".into(), Field::bare(n)));
    Ok(out)
}
