//! The Local Zone's subzones and the membership rules that place endpoints in them, compiled
//! once from a configuration snapshot.
//!
//! An endpoint belongs to the subzone of the first enabled membership rule that its address
//! or one of its aliases satisfies, or to the Default Subzone when none does. The order in
//! which rules are tried (guide, "Configuring Subzone Membership Rules", Priority, and the CLI
//! reference for `... MembershipRules Rule [1..3000] Priority`):
//!
//! 1. ascending `Priority` (1 first);
//! 2. within one priority, Subnet rules before Alias pattern match rules. The guide orders each
//!    kind within a priority but not the two kinds against each other; this follows the order
//!    in which it lists them everywhere;
//! 3. Subnet rules of one priority by prefix length, longest first;
//! 4. then configuration order (row number) — for alias rules this is the guide's rule, for
//!    subnet rules it only separates identical prefix lengths.
//!
//! A rule may name the Default Subzone, which lets a narrow range be carved back out of a wider
//! rule's subzone. Aliases are compared in the form the caller passes them, the same form search
//! rules see.
//!
//! Rows that cannot take part are left out, with the reason in [`SubZones::problems`]: a rule
//! whose subzone does not exist (or is the Traversal or Cluster Subzone, where nobody can
//! register), a subnet that does not parse or whose prefix does not fit its address family, an
//! alias rule with an empty or invalid pattern, a rule without a type. Leaving such a rule out
//! means endpoints fall through to later rules, as if it were disabled.

use crate::{Pattern, PatternType, Variables};
use causeway_config::Snapshot;
use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use crate::dialplan::DEFAULT_SUBZONE;

/// The Traversal Subzone's name, as links and call routes name it.
pub const TRAVERSAL_SUBZONE: &str = "TraversalSubZone";
/// The Cluster Subzone's name, as links and call routes name it.
pub const CLUSTER_SUBZONE: &str = "ClusterSubZone";

const SUBZONES: &str = "Zones LocalZone SubZones SubZone";
const RULES: &str = "Zones LocalZone SubZones MembershipRules Rule";
const DEFAULT: &str = "Zones LocalZone DefaultSubZone";
const FALLBACK_AUTH_MODE: &str = "DoNotCheckCredentials";

/// Whether `name` is one of the subzones the system creates itself (Default, Traversal,
/// Cluster), ignoring case. Such names cannot be given to a configured subzone.
pub fn is_builtin(name: &str) -> bool {
    [DEFAULT_SUBZONE, TRAVERSAL_SUBZONE, CLUSTER_SUBZONE]
        .iter()
        .any(|b| b.eq_ignore_ascii_case(name.trim()))
}

/// A subzone as the rest of the system refers to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubZoneRef {
    /// The subzone's name as configured (`DefaultSubZone` and friends for built-in ones).
    pub name: String,
    /// Row of `Zones LocalZone SubZones SubZone [n]`; `None` for a built-in subzone.
    pub row: Option<u32>,
}

impl SubZoneRef {
    /// The Default Subzone.
    pub fn default_subzone() -> SubZoneRef {
        SubZoneRef {
            name: DEFAULT_SUBZONE.to_string(),
            row: None,
        }
    }

    /// The Traversal Subzone.
    pub fn traversal() -> SubZoneRef {
        SubZoneRef {
            name: TRAVERSAL_SUBZONE.to_string(),
            row: None,
        }
    }

    /// The Cluster Subzone.
    pub fn cluster() -> SubZoneRef {
        SubZoneRef {
            name: CLUSTER_SUBZONE.to_string(),
            row: None,
        }
    }

    /// Whether this is the Default Subzone.
    pub fn is_default(&self) -> bool {
        self.row.is_none() && self.name.eq_ignore_ascii_case(DEFAULT_SUBZONE)
    }
}

impl fmt::Display for SubZoneRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// The registration and authentication policy of one subzone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubZone {
    /// `None` for the Default Subzone.
    pub row: Option<u32>,
    pub name: String,
    /// `Registrations: Allow`.
    pub registrations: bool,
    /// `Authentication Mode`, as configured.
    pub authentication_mode: String,
}

impl SubZone {
    fn load(snap: &Snapshot, prefix: &str, row: Option<u32>, name: String) -> SubZone {
        SubZone {
            row,
            name,
            registrations: !snap
                .get(&format!("{prefix} Registrations"))
                .is_some_and(|v| v.eq_ignore_ascii_case("Deny")),
            authentication_mode: snap
                .get(&format!("{prefix} Authentication Mode"))
                .unwrap_or(FALLBACK_AUTH_MODE)
                .to_string(),
        }
    }

    fn as_ref(&self) -> SubZoneRef {
        SubZoneRef {
            name: self.name.clone(),
            row: self.row,
        }
    }
}

/// An IPv4 or IPv6 address range: the network address (host bits cleared) and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    network: IpAddr,
    prefix: u8,
}

impl Subnet {
    /// The range `address/prefix`. Host bits in `address` are ignored, the way the web page's
    /// Address range column shows them. An IPv4-mapped IPv6 range (`::ffff:a.b.c.d/96+n`) is
    /// the IPv4 range `a.b.c.d/n`, since endpoints are compared in their IPv4 form.
    pub fn new(address: &str, prefix: i64) -> Result<Subnet, String> {
        let addr: IpAddr = address
            .trim()
            .parse()
            .map_err(|_| format!("subnet address {address:?} is not an IP address"))?;
        let bits = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        if !(1..=bits).contains(&prefix) {
            return Err(format!(
                "prefix length {prefix} does not fit {address} (1..{bits})"
            ));
        }
        let (addr, prefix) = match addr {
            IpAddr::V6(v6) if prefix >= 96 && v6.to_ipv4_mapped().is_some() => {
                (addr.to_canonical(), prefix - 96)
            }
            _ => (addr, prefix),
        };
        let prefix = prefix as u8;
        let network = match addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask32(prefix))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask128(prefix))),
        };
        Ok(Subnet { network, prefix })
    }

    /// The network address.
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` lies in the range. IPv4-mapped IPv6 addresses count as their IPv4 address,
    /// so a dual-stack socket's view of an IPv4 peer still matches IPv4 rules.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                u32::from(a) & mask32(self.prefix) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                u128::from(a) & mask128(self.prefix) == u128::from(net)
            }
            _ => false,
        }
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

// A mapped `::ffff:0:0/96` becomes IPv4 prefix 0, where the shift reaches the type's width.
fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

/// What a membership rule tests.
#[derive(Debug, Clone)]
pub enum RuleMatch {
    /// The endpoint's IP address is in the range.
    Subnet(Subnet),
    /// Any of the endpoint's aliases matches the pattern.
    AliasPatternMatch(Pattern),
}

/// An enabled membership rule whose subzone exists.
#[derive(Debug, Clone)]
pub struct MembershipRule {
    pub row: u32,
    pub name: String,
    pub priority: u16,
    pub test: RuleMatch,
    /// Where a matching endpoint goes.
    pub subzone: SubZoneRef,
}

impl MembershipRule {
    fn matches(&self, ip: IpAddr, aliases: &[&str]) -> bool {
        match &self.test {
            RuleMatch::Subnet(net) => net.contains(ip),
            RuleMatch::AliasPatternMatch(p) => aliases.iter().any(|a| p.matches(a)),
        }
    }

    /// Position within the rule list; see the module documentation for why.
    fn order(&self) -> (u16, u8, u8, u32) {
        match &self.test {
            RuleMatch::Subnet(net) => (self.priority, 0, u8::MAX - net.prefix, self.row),
            RuleMatch::AliasPatternMatch(_) => (self.priority, 1, 0, self.row),
        }
    }
}

/// The compiled subzones and membership rules.
#[derive(Debug, Clone)]
pub struct SubZones {
    default: SubZone,
    /// Configured subzones in row order.
    subzones: Vec<SubZone>,
    /// Lower-cased name → index into `subzones`.
    by_name: HashMap<String, usize>,
    /// In the order they are tried.
    rules: Vec<MembershipRule>,
    /// Rows left out, and why.
    pub problems: Vec<String>,
}

impl Default for SubZones {
    fn default() -> Self {
        SubZones::from_snapshot(&Snapshot::default())
    }
}

impl SubZones {
    /// Compiles the subzones and membership rules of a configuration snapshot.
    pub fn from_snapshot(snap: &Snapshot) -> SubZones {
        let mut sz = SubZones {
            default: SubZone::load(snap, DEFAULT, None, DEFAULT_SUBZONE.to_string()),
            subzones: Vec::new(),
            by_name: HashMap::new(),
            rules: Vec::new(),
            problems: Vec::new(),
        };
        sz.load_subzones(snap);
        sz.load_rules(snap, &Variables::from_snapshot(snap));
        sz
    }

    fn load_subzones(&mut self, snap: &Snapshot) {
        for r in snap.rows(SUBZONES) {
            let prefix = format!("{SUBZONES} {r}");
            let name = snap
                .get(&format!("{prefix} Name"))
                .unwrap_or("")
                .trim()
                .to_string();
            // A row can hold values (bandwidth, say) before it is given a name; it is not a
            // subzone yet.
            if name.is_empty() {
                continue;
            }
            if is_builtin(&name) {
                self.problems
                    .push(format!("subzone {r} ({name}): name is reserved"));
                continue;
            }
            let key = name.to_ascii_lowercase();
            if let Some(&first) = self.by_name.get(&key) {
                let first = self.subzones[first].row.unwrap_or(0);
                self.problems.push(format!(
                    "subzone {r} ({name}): same name as subzone {first}"
                ));
                continue;
            }
            self.by_name.insert(key, self.subzones.len());
            self.subzones
                .push(SubZone::load(snap, &prefix, Some(r), name));
        }
    }

    fn load_rules(&mut self, snap: &Snapshot, vars: &Variables) {
        for r in snap.rows(RULES) {
            let prefix = format!("{RULES} {r}");
            let g = |k: &str| snap.get(&format!("{prefix} {k}")).unwrap_or("");
            if g("State").eq_ignore_ascii_case("Disabled") {
                continue;
            }
            let name = g("Name").to_string();
            let target = g("SubZoneName").trim();
            let subzone = if target.eq_ignore_ascii_case(DEFAULT_SUBZONE) {
                self.default.as_ref()
            } else if let Some(&i) = self.by_name.get(&target.to_ascii_lowercase()) {
                self.subzones[i].as_ref()
            } else {
                self.problems.push(format!(
                    "membership rule {r} ({name}): no subzone {target:?} to assign endpoints to"
                ));
                continue;
            };
            let test = match g("Type") {
                "Subnet" => {
                    let len = snap
                        .int(&format!("{prefix} Subnet PrefixLength"))
                        .unwrap_or(32);
                    match Subnet::new(g("Subnet Address"), len) {
                        Ok(net) => RuleMatch::Subnet(net),
                        Err(e) => {
                            self.problems
                                .push(format!("membership rule {r} ({name}): {e}"));
                            continue;
                        }
                    }
                }
                "AliasPatternMatch" => {
                    let text = g("Pattern String");
                    // An empty prefix or suffix would take in every endpoint, which an
                    // unfinished rule is not meant to do.
                    if text.is_empty() {
                        self.problems
                            .push(format!("membership rule {r} ({name}): no pattern string"));
                        continue;
                    }
                    let kind = g("Pattern Type").parse().unwrap_or(PatternType::Prefix);
                    match Pattern::compile(kind, text, vars) {
                        Ok(p) => RuleMatch::AliasPatternMatch(p),
                        Err(e) => {
                            self.problems
                                .push(format!("membership rule {r} ({name}): {e}"));
                            continue;
                        }
                    }
                }
                other => {
                    self.problems.push(format!(
                        "membership rule {r} ({name}): unknown type {other:?}"
                    ));
                    continue;
                }
            };
            let priority = snap
                .int(&format!("{prefix} Priority"))
                .unwrap_or(100)
                .clamp(1, 65534) as u16;
            self.rules.push(MembershipRule {
                row: r,
                name,
                priority,
                test,
                subzone,
            });
        }
        self.rules.sort_by_key(MembershipRule::order);
    }

    /// The subzone an endpoint at `ip` with these aliases belongs to: that of the first rule
    /// (in the order of the module documentation) it satisfies, else the Default Subzone.
    pub fn member(&self, ip: IpAddr, aliases: &[&str]) -> SubZoneRef {
        self.matching_rule(ip, aliases)
            .map_or_else(SubZoneRef::default_subzone, |r| r.subzone.clone())
    }

    /// The rule that decides [`SubZones::member`]; `None` when the endpoint falls through to
    /// the Default Subzone.
    pub fn matching_rule(&self, ip: IpAddr, aliases: &[&str]) -> Option<&MembershipRule> {
        self.rules.iter().find(|r| r.matches(ip, aliases))
    }

    /// Whether the subzone accepts registrations. The Traversal and Cluster Subzones never do.
    /// A subzone that no longer exists is judged by the Default Subzone's policy, where its
    /// endpoints would now be placed.
    pub fn registrations_allowed(&self, sz: &SubZoneRef) -> bool {
        if is_builtin(&sz.name) && !sz.is_default() {
            return false;
        }
        self.policy(sz).registrations
    }

    /// The subzone's `Authentication Mode` (`DoNotCheckCredentials`, `TreatAsAuthenticated`
    /// or `CheckCredentials`). Subzones without a policy of their own (Traversal, Cluster, or
    /// one that no longer exists) answer with the Default Subzone's.
    pub fn authentication_mode(&self, sz: &SubZoneRef) -> &str {
        &self.policy(sz).authentication_mode
    }

    /// The policy of a subzone: the configured one with this name, else the Default Subzone.
    pub fn policy(&self, sz: &SubZoneRef) -> &SubZone {
        if sz.is_default() {
            return &self.default;
        }
        // The row is only a hint: rows can be renumbered between snapshots, names cannot
        // collide.
        if let Some(z) = sz
            .row
            .and_then(|row| self.subzones.iter().find(|z| z.row == Some(row)))
            .filter(|z| z.name.eq_ignore_ascii_case(&sz.name))
        {
            return z;
        }
        self.get(&sz.name).unwrap_or(&self.default)
    }

    /// The configured subzone called `name` (case ignored); `None` for built-in names.
    pub fn get(&self, name: &str) -> Option<&SubZone> {
        self.by_name
            .get(&name.trim().to_ascii_lowercase())
            .map(|&i| &self.subzones[i])
    }

    /// A reference to the subzone called `name` (case ignored), the Default Subzone included.
    pub fn lookup(&self, name: &str) -> Option<SubZoneRef> {
        if name.trim().eq_ignore_ascii_case(DEFAULT_SUBZONE) {
            return Some(SubZoneRef::default_subzone());
        }
        self.get(name).map(SubZone::as_ref)
    }

    /// Whether `ip` lies in the range of an enabled Subnet membership rule, which makes it a
    /// known address for calls to IP addresses. Rules that were left out do not count.
    pub fn covers_ip(&self, ip: IpAddr) -> bool {
        self.rules
            .iter()
            .any(|r| matches!(&r.test, RuleMatch::Subnet(net) if net.contains(ip)))
    }

    /// The subzones an endpoint can belong to, which search rules can name as sources: the
    /// Default Subzone, then the configured subzones in row order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(DEFAULT_SUBZONE).chain(self.subzones.iter().map(|z| z.name.as_str()))
    }

    /// Whether [`SubZones::names`] holds `name`, ignoring case.
    pub fn exists(&self, name: &str) -> bool {
        self.lookup(name).is_some()
    }

    /// The configured subzones in row order (the Default Subzone is [`SubZones::default_subzone`]).
    pub fn subzones(&self) -> &[SubZone] {
        &self.subzones
    }

    /// The Default Subzone's policy.
    pub fn default_subzone(&self) -> &SubZone {
        &self.default
    }

    /// The rules that take part, in the order they are tried.
    pub fn rules(&self) -> &[MembershipRule] {
        &self.rules
    }

    /// How many of the rules that take part assign endpoints to the subzone called `name`.
    pub fn rule_count(&self, name: &str) -> usize {
        self.rules
            .iter()
            .filter(|r| r.subzone.name.eq_ignore_ascii_case(name.trim()))
            .count()
    }
}
