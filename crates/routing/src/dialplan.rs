//! The dial plan as the search works with it: pre-search transforms, search rules and zones,
//! compiled once from a configuration snapshot.
//!
//! Rows that cannot be compiled (a pattern that no longer compiles because a variable changed,
//! a rule without a target) are left out and listed in [`Dialplan::problems`]; the rest of the
//! plan still works.

use crate::cpl::{self, RuleAction, RuleSource, WebRule};
use crate::{Behavior, PatternType, Transform, Variables};
use causeway_config::Snapshot;
use std::sync::Arc;

const TRANSFORMS: &str = "Transform";
const RULES: &str = "Zones Policy SearchRules Rule";
const ZONES: &str = "Zones Zone";

/// The Local Zone's name as search rules name it.
pub const LOCAL_ZONE: &str = "LocalZone";
/// The Default Zone's name.
pub const DEFAULT_ZONE: &str = "DefaultZone";
/// The Default Subzone's name.
pub const DEFAULT_SUBZONE: &str = "DefaultSubZone";
/// Hop count of searches into the Local Zone and of requests that arrive without one.
pub const DEFAULT_HOP_COUNT: u8 = 15;

/// Signalling protocol of a search (and of the caller, for call policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Protocol {
    #[default]
    Sip,
    H323,
}

impl Protocol {
    /// The value of CPL's `address-type` subfield.
    pub(crate) fn address_type(self) -> &'static str {
        match self {
            Protocol::Sip => "sip",
            Protocol::H323 => "h323",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Protocol::Sip => "SIP",
            Protocol::H323 => "H323",
        }
    }
}

/// What kind of zone a zone is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneKind {
    Local,
    Default,
    Neighbor,
    TraversalClient,
    TraversalServer,
    Dns,
    Enum,
}

/// A zone a search rule can send a search to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// Row of `Zones Zone [n]`; `None` for the Local and Default Zones.
    pub row: Option<u32>,
    pub name: String,
    pub kind: ZoneKind,
    pub hop_count: u8,
    pub sip: bool,
    pub h323: bool,
}

/// Which requests a search rule considers, by where they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceMode {
    /// Everyone, including unknown callers (the Default Zone).
    Any,
    /// Local registrations and configured zones, not the Default Zone.
    AllZones,
    /// Local registrations only.
    LocalZone,
    /// One zone or subzone, by name.
    Named(String),
}

/// How a search rule decides that an alias is for it.
#[derive(Debug, Clone)]
pub enum RuleMode {
    /// Aliases that match the pattern; the rule's behaviour (Strip, Leave, Replace) makes the
    /// alias its target is asked for.
    AliasPatternMatch(Transform),
    /// Every alias that is not an IP address.
    AnyAlias,
    /// Only IP addresses.
    AnyIpAddress,
}

/// Where a search rule sends its search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleTarget {
    Zone(String),
    PolicyService(String),
}

/// An enabled search rule.
#[derive(Debug, Clone)]
pub struct SearchRule {
    pub row: u32,
    pub name: String,
    pub priority: u16,
    /// `None` for Any.
    pub protocol: Option<Protocol>,
    pub source: SourceMode,
    /// Only requests that were authenticated.
    pub authenticated_only: bool,
    pub mode: RuleMode,
    /// Progress Stop: a match ends the search after this rule's priority group.
    pub stop: bool,
    pub target: RuleTarget,
}

/// An enabled pre-search transform.
#[derive(Debug, Clone)]
pub struct PreSearch {
    pub row: u32,
    pub priority: u16,
    pub transform: Transform,
}

/// `Call Services CallsToUnknownIPAddresses`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownIp {
    Off,
    Direct,
    Indirect,
}

/// Call policy (`Policy AdministratorPolicy Mode`), ready to run.
#[derive(Debug, Clone, Default)]
pub enum CallPolicy {
    /// No call policy.
    #[default]
    Off,
    /// The uploaded script, or else the web rules (which allow everything when there are
    /// none).
    Local(Arc<cpl::Policy>),
    /// An external service decides: the search asks the caller for its script.
    Service,
}

const POLICY_RULES: &str = "Policy AdministratorPolicy Rules Rule";
/// Where an uploaded call policy script is kept.
pub const POLICY_FILE: &str = "Policy AdministratorPolicy LocalCPL File";

/// The Call Policy rules of the configuration, in the order they are tried.
pub fn web_rules(snap: &Snapshot) -> (Vec<WebRule>, Vec<String>) {
    let mut rules = Vec::new();
    let mut problems = Vec::new();
    for r in snap.rows(POLICY_RULES) {
        let g = |k: &str| snap.get(&format!("{POLICY_RULES} {r} {k}")).unwrap_or("");
        let source = match g("SourceType") {
            "Zone" => RuleSource::Zone(g("OriginatingZone").trim().to_string()),
            _ => RuleSource::From {
                authenticated: g("Callers") == "Authenticated",
                pattern: g("SourcePattern").to_string(),
            },
        };
        let rule = WebRule {
            source,
            destination: g("DestinationPattern").to_string(),
            action: if g("Action") == "Allow" {
                RuleAction::Allow
            } else {
                RuleAction::Reject
            },
        };
        match rule.check() {
            Ok(()) => rules.push(rule),
            Err(e) => problems.push(format!("call policy rule {r}: {e}")),
        }
    }
    (rules, problems)
}

/// The call policy script that runs in Local CPL mode: the uploaded one, else the web rules
/// rendered as CPL.
pub fn local_policy_text(snap: &Snapshot) -> (String, Vec<String>) {
    match snap
        .get(POLICY_FILE)
        .map(str::trim)
        .filter(|f| !f.is_empty())
    {
        Some(file) => (file.to_string(), Vec::new()),
        None => {
            let (rules, problems) = web_rules(snap);
            (cpl::rules_to_cpl(&rules), problems)
        }
    }
}

/// The compiled dial plan.
#[derive(Debug, Clone)]
pub struct Dialplan {
    /// Enabled pre-search transforms, in the order they are tried.
    pub transforms: Vec<PreSearch>,
    /// Enabled search rules, by priority then row.
    pub rules: Vec<SearchRule>,
    /// Every zone, the Local and Default Zones first.
    pub zones: Vec<Zone>,
    pub unknown_ip: UnknownIp,
    /// Where calls addressed to the node itself go; `None` refuses them.
    pub fallback_alias: Option<String>,
    /// `Call Loop Detection Mode: On`.
    pub loop_detection: bool,
    pub call_policy: CallPolicy,
    /// Rows left out, and why.
    pub problems: Vec<String>,
}

impl Default for Dialplan {
    fn default() -> Self {
        Dialplan {
            transforms: Vec::new(),
            rules: Vec::new(),
            zones: builtin_zones(),
            unknown_ip: UnknownIp::Indirect,
            fallback_alias: None,
            loop_detection: true,
            call_policy: CallPolicy::Off,
            problems: Vec::new(),
        }
    }
}

fn builtin_zones() -> Vec<Zone> {
    [
        (LOCAL_ZONE, ZoneKind::Local),
        (DEFAULT_ZONE, ZoneKind::Default),
    ]
    .into_iter()
    .map(|(name, kind)| Zone {
        row: None,
        name: name.to_string(),
        kind,
        hop_count: DEFAULT_HOP_COUNT,
        sip: true,
        h323: true,
    })
    .collect()
}

impl Dialplan {
    /// Compiles the dial plan of a configuration snapshot.
    pub fn from_snapshot(snap: &Snapshot) -> Dialplan {
        let vars = Variables::from_snapshot(snap);
        let mut dp = Dialplan {
            unknown_ip: match snap.get("Call Services CallsToUnknownIPAddresses") {
                Some("Off") => UnknownIp::Off,
                Some("Direct") => UnknownIp::Direct,
                _ => UnknownIp::Indirect,
            },
            fallback_alias: snap
                .get("Call Services Fallback Alias")
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_string),
            loop_detection: snap.get("Call Loop Detection Mode") != Some("Off"),
            ..Dialplan::default()
        };
        dp.load_zones(snap);
        dp.load_transforms(snap, &vars);
        dp.load_rules(snap, &vars);
        dp.load_call_policy(snap);
        dp
    }

    fn load_call_policy(&mut self, snap: &Snapshot) {
        self.call_policy = match snap.get("Policy AdministratorPolicy Mode") {
            // LocalService combines group policy, which we do not have, with the local script.
            Some("LocalCPL") | Some("LocalService") => {
                let (text, problems) = local_policy_text(snap);
                self.problems.extend(problems);
                match cpl::Policy::parse(&text) {
                    Ok(p) => CallPolicy::Local(Arc::new(p)),
                    Err(e) => {
                        // Uploads are checked, so this is a script an older version accepted:
                        // refuse calls rather than let everything through.
                        self.problems.push(format!("call policy script: {e}"));
                        let closed = cpl::Policy::parse(
                            "<reject status='403' reason='Call policy script is invalid'/>",
                        )
                        .expect("a fixed fragment parses");
                        CallPolicy::Local(Arc::new(closed))
                    }
                }
            }
            Some("PolicyService") => CallPolicy::Service,
            _ => CallPolicy::Off,
        };
    }

    /// The zone called `name` (case ignored).
    pub fn zone(&self, name: &str) -> Option<&Zone> {
        self.zones
            .iter()
            .find(|z| z.name.eq_ignore_ascii_case(name))
    }

    fn load_zones(&mut self, snap: &Snapshot) {
        for r in snap.rows(ZONES) {
            let g = |k: &str| snap.get(&format!("{ZONES} {r} {k}")).unwrap_or("");
            let name = g("Name").trim();
            if name.is_empty() {
                continue;
            }
            let kind = match g("Type") {
                "Neighbor" => ZoneKind::Neighbor,
                "TraversalClient" => ZoneKind::TraversalClient,
                "TraversalServer" => ZoneKind::TraversalServer,
                "DNS" => ZoneKind::Dns,
                "ENUM" => ZoneKind::Enum,
                other => {
                    self.problems
                        .push(format!("zone {r} ({name}): unknown type {other:?}"));
                    continue;
                }
            };
            let hop_count = snap
                .int(&format!("{ZONES} {r} HopCount"))
                .unwrap_or(i64::from(DEFAULT_HOP_COUNT))
                .clamp(1, 255) as u8;
            self.zones.push(Zone {
                row: Some(r),
                name: name.to_string(),
                kind,
                hop_count,
                sip: g("SIP Mode") != "Off",
                h323: g("H323 Mode") != "Off",
            });
        }
    }

    fn load_transforms(&mut self, snap: &Snapshot, vars: &Variables) {
        for r in snap.rows(TRANSFORMS) {
            let g = |k: &str| snap.get(&format!("{TRANSFORMS} {r} {k}")).unwrap_or("");
            if g("State") == "Disabled" {
                continue;
            }
            let kind = g("Pattern Type").parse().unwrap_or(PatternType::Prefix);
            let behavior = g("Pattern Behavior").parse().unwrap_or(Behavior::Strip);
            match Transform::new(
                kind,
                g("Pattern String"),
                behavior,
                g("Pattern Replace"),
                vars,
            ) {
                Ok(transform) => self.transforms.push(PreSearch {
                    row: r,
                    priority: priority(snap.int(&format!("{TRANSFORMS} {r} Priority")), 1),
                    transform,
                }),
                Err(e) => self.problems.push(format!("transform {r}: {e}")),
            }
        }
        self.transforms.sort_by_key(|t| (t.priority, t.row));
    }

    fn load_rules(&mut self, snap: &Snapshot, vars: &Variables) {
        for r in snap.rows(RULES) {
            let g = |k: &str| snap.get(&format!("{RULES} {r} {k}")).unwrap_or("");
            if g("State") == "Disabled" {
                continue;
            }
            let name = g("Name").to_string();
            let target_name = g("Target Name").trim().to_string();
            if target_name.is_empty() {
                self.problems
                    .push(format!("search rule {r} ({name}): no target"));
                continue;
            }
            let target = match g("Target Type") {
                "PolicyService" => RuleTarget::PolicyService(target_name),
                _ => RuleTarget::Zone(target_name),
            };
            let mode = match g("Mode") {
                "AliasPatternMatch" => {
                    let kind = g("Pattern Type").parse().unwrap_or(PatternType::Prefix);
                    let behavior = g("Pattern Behavior").parse().unwrap_or(Behavior::Strip);
                    match Transform::new(
                        kind,
                        g("Pattern String"),
                        behavior,
                        g("Pattern Replace"),
                        vars,
                    ) {
                        Ok(t) => RuleMode::AliasPatternMatch(t),
                        Err(e) => {
                            self.problems.push(format!("search rule {r} ({name}): {e}"));
                            continue;
                        }
                    }
                }
                "AnyIPAddress" => RuleMode::AnyIpAddress,
                _ => RuleMode::AnyAlias,
            };
            let source = match g("Source Mode") {
                "AllZones" => SourceMode::AllZones,
                "LocalZone" => SourceMode::LocalZone,
                "Named" => SourceMode::Named(g("Source Name").trim().to_string()),
                _ => SourceMode::Any,
            };
            self.rules.push(SearchRule {
                row: r,
                name,
                priority: priority(snap.int(&format!("{RULES} {r} Priority")), 100),
                protocol: match g("Protocol") {
                    "SIP" => Some(Protocol::Sip),
                    "H323" => Some(Protocol::H323),
                    _ => None,
                },
                source,
                authenticated_only: g("Authentication") == "Yes",
                mode,
                stop: g("Progress") == "Stop",
                target,
            });
        }
        self.rules.sort_by_key(|r| (r.priority, r.row));
    }
}

fn priority(v: Option<i64>, default: u16) -> u16 {
    v.map_or(default, |p| p.clamp(1, 65534) as u16)
}

impl Variables {
    /// The values pattern variables stand for, from the configuration.
    pub fn from_snapshot(snap: &Snapshot) -> Variables {
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
}
