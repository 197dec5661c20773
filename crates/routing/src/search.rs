//! The search for an alias (the guide's call routing process), without I/O.
//!
//! [`plan`] turns one alias into priority groups of queries: pre-search transforms, the
//! unknown-IP-address rule, then the search rules with their zone transforms. [`Search`] runs
//! the plans: the caller asks each group's targets (in parallel, however it likes), reports
//! what they said, and gets the next group, a find, or the end of the search. A target that
//! answers with new aliases (a policy service, an ENUM zone) starts the process again for
//! them. Every decision is written to the trace that search history and `Locate` show.

use crate::cpl;
use crate::dialplan::{
    CallPolicy, Dialplan, Protocol, RuleMode, RuleTarget, SourceMode, UnknownIp, ZoneKind,
    DEFAULT_HOP_COUNT, DEFAULT_SUBZONE, DEFAULT_ZONE, LOCAL_ZONE,
};
use std::collections::VecDeque;
use std::sync::Arc;

/// Where a request came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A local registration, in this subzone (or the Default Subzone).
    LocalZone { subzone: String },
    /// A configured zone (neighbor or traversal), by name.
    Zone(String),
    /// An unknown caller.
    DefaultZone,
}

impl Source {
    /// A local registration in the Default Subzone.
    pub fn local() -> Source {
        Source::LocalZone {
            subzone: DEFAULT_SUBZONE.to_string(),
        }
    }

    /// The zone or subzone name search rules and call policy know the source by.
    pub fn name(&self) -> &str {
        match self {
            Source::LocalZone { subzone } => subzone,
            Source::Zone(z) => z,
            Source::DefaultZone => DEFAULT_ZONE,
        }
    }
}

/// What is searched for, and on whose behalf.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// The destination alias: `user@host`, a bare host or IP address, an E.164 number or an
    /// H.323 ID. A `sip:` or `sips:` scheme is ignored for matching.
    pub alias: String,
    pub source: Source,
    pub protocol: Protocol,
    pub authenticated: bool,
    /// The hop count as received (SIP Max-Forwards); `None` for a search that starts here.
    pub hop_count: Option<u8>,
    /// From a peer of this node's cluster, where pre-search transforms already ran.
    pub from_cluster_peer: bool,
    /// The alias names this node itself (one of its addresses, no user part).
    pub to_node: bool,
    /// The alias is an IP address that is registered here or lies in a subzone's subnet.
    pub ip_known: bool,
    /// What call policy may look at besides the destination.
    pub caller: Caller,
}

/// The caller, as call policy sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// The source aliases the request claims (SIP From).
    pub source_aliases: Vec<String>,
    /// The user name the request authenticated with.
    pub auth_username: Option<String>,
    /// Every alias of the caller's registration here, if it is registered.
    pub registered_aliases: Option<Vec<String>>,
    /// The whole request, for rules that search the message.
    pub message: Option<String>,
}

impl SearchRequest {
    /// A request from a local registration with the defaults of a search started here.
    pub fn new(alias: &str, protocol: Protocol) -> SearchRequest {
        SearchRequest {
            alias: alias.to_string(),
            source: Source::local(),
            protocol,
            authenticated: false,
            hop_count: None,
            from_cluster_peer: false,
            to_node: false,
            ip_known: false,
            caller: Caller::default(),
        }
    }
}

/// Whom a query goes to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// Registrations here.
    LocalZone,
    /// A configured zone, by its configured name.
    Zone(String),
    /// A policy service, which answers with a routing decision.
    PolicyService(String),
    /// An IP address contacted directly (`CallsToUnknownIPAddresses: Direct`).
    Address(String),
}

/// One alias asked of one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The search rule's row; `None` for a direct call to an address.
    pub rule: Option<u32>,
    pub rule_name: String,
    pub target: Target,
    /// The alias as the target is asked for it (after the rule's zone transform).
    pub alias: String,
    /// The hop count the query carries.
    pub hop_count: u8,
    /// The rule says Stop.
    pub stop: bool,
}

/// Rules of one priority: their queries go out together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub priority: u16,
    pub queries: Vec<Query>,
    /// A rule of the group matched and says Stop: lower priorities are not searched.
    pub stop: bool,
}

/// The plan for one alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasPlan {
    /// The alias as given.
    pub original: String,
    /// After the pre-search transform (the same as `original` when none matched).
    pub alias: String,
    /// The row of the pre-search transform that applied.
    pub transform: Option<u32>,
    pub groups: Vec<Group>,
    /// Why nothing is to be searched, when that was decided before the rules.
    pub refused: Option<Refusal>,
}

/// Why a search ended without a find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Call policy, or a policy service a rule asked, refused the call.
    Rejected { status: u16, reason: String },
    /// No rule matched, or no target knew the alias.
    NotFound,
    /// A matching rule said Stop and its group found nothing.
    Stopped,
    /// An IP address that is not known here, with `CallsToUnknownIPAddresses: Off`.
    UnknownIpOff,
    /// Addressed to the node itself and no fallback alias is set.
    NoFallback,
    /// The hop count was used up.
    HopsExhausted,
    /// Every new alias led back to one already being searched.
    PolicyLoop,
}

/// The scheme-less form of an alias that patterns are matched against.
pub fn bare_alias(alias: &str) -> &str {
    let a = alias.trim();
    for scheme in ["sip:", "sips:", "h323:"] {
        if a.len() > scheme.len() && a[..scheme.len()].eq_ignore_ascii_case(scheme) {
            return &a[scheme.len()..];
        }
    }
    a
}

/// The IP address an alias consists of (with an optional port), if it is one.
pub fn ip_alias(alias: &str) -> Option<std::net::IpAddr> {
    let a = bare_alias(alias);
    if let Ok(ip) = a.parse() {
        return Some(ip);
    }
    if let Ok(sa) = a.parse::<std::net::SocketAddr>() {
        return Some(sa.ip());
    }
    let host = a.strip_prefix('[').and_then(|r| r.split(']').next());
    if let Some(ip) = host.and_then(|h| h.parse::<std::net::Ipv6Addr>().ok()) {
        return Some(ip.into());
    }
    None
}

fn source_matches(mode: &SourceMode, source: &Source) -> bool {
    match mode {
        SourceMode::Any => true,
        SourceMode::AllZones => !matches!(source, Source::DefaultZone),
        SourceMode::LocalZone => matches!(source, Source::LocalZone { .. }),
        SourceMode::Named(n) => n.eq_ignore_ascii_case(source.name()),
    }
}

/// Plans the search for `alias` (the request's own alias, or one a target answered with),
/// without call policy.
pub fn plan(dp: &Dialplan, req: &SearchRequest, alias: &str, trace: &mut Vec<String>) -> AliasPlan {
    let mut p = plan_head(dp, req, alias, trace);
    if p.refused.is_none() {
        plan_rules(dp, req, &mut p, trace);
    }
    p
}

/// The steps before call policy: the hop count and the pre-search transform.
fn plan_head(
    dp: &Dialplan,
    req: &SearchRequest,
    alias: &str,
    trace: &mut Vec<String>,
) -> AliasPlan {
    let mut plan = AliasPlan {
        original: alias.to_string(),
        alias: alias.to_string(),
        transform: None,
        groups: Vec::new(),
        refused: None,
    };
    if req.hop_count == Some(0) {
        trace.push(format!("{alias}: hop count exhausted, not searched"));
        plan.refused = Some(Refusal::HopsExhausted);
        return plan;
    }
    if req.from_cluster_peer {
        trace.push(format!(
            "{alias}: from a cluster peer, pre-search transforms not applied"
        ));
    } else if let Some(t) = dp
        .transforms
        .iter()
        .find_map(|t| t.transform.apply(bare_alias(alias)).map(|a| (t.row, a)))
    {
        trace.push(format!(
            "{alias}: pre-search transform {} gives {}",
            t.0, t.1
        ));
        plan.transform = Some(t.0);
        plan.alias = t.1;
    }
    plan
}

/// The steps after call policy: unknown IP addresses and the search rules.
fn plan_rules(dp: &Dialplan, req: &SearchRequest, plan: &mut AliasPlan, trace: &mut Vec<String>) {
    let alias = bare_alias(&plan.alias).to_string();
    let ip = ip_alias(&alias);
    if ip.is_some() && !req.ip_known {
        match dp.unknown_ip {
            UnknownIp::Off => {
                trace.push(format!(
                    "{alias}: unknown IP address, calls to unknown IP addresses are off"
                ));
                plan.refused = Some(Refusal::UnknownIpOff);
                return;
            }
            UnknownIp::Direct => {
                trace.push(format!("{alias}: unknown IP address, called directly"));
                plan.groups.push(Group {
                    priority: 0,
                    queries: vec![Query {
                        rule: None,
                        rule_name: String::new(),
                        target: Target::Address(alias.clone()),
                        alias: alias.clone(),
                        hop_count: out_hops(req, DEFAULT_HOP_COUNT),
                        stop: true,
                    }],
                    stop: true,
                });
                return;
            }
            UnknownIp::Indirect => {
                trace.push(format!(
                    "{alias}: unknown IP address, searched through the search rules"
                ));
            }
        }
    }
    // Rules whose alias test fails are counted, not listed: a dial plan of thousands of rules
    // would bury the few that mattered.
    let mut unmatched = 0usize;
    let mut i = 0;
    while i < dp.rules.len() {
        let priority = dp.rules[i].priority;
        let mut group = Group {
            priority,
            queries: Vec::new(),
            stop: false,
        };
        while i < dp.rules.len() && dp.rules[i].priority == priority {
            let rule = &dp.rules[i];
            i += 1;
            let skip = |why: &str, trace: &mut Vec<String>| {
                trace.push(format!("rule {} ({}): {why}", rule.row, rule.name));
            };
            let sent = match &rule.mode {
                RuleMode::AnyAlias if ip.is_none() => alias.clone(),
                RuleMode::AnyIpAddress if ip.is_some() => alias.clone(),
                RuleMode::AliasPatternMatch(t) if t.pattern().matches(&alias) => {
                    match t.apply(&alias) {
                        Some(a) => a,
                        None => {
                            unmatched += 1;
                            continue;
                        }
                    }
                }
                _ => {
                    unmatched += 1;
                    continue;
                }
            };
            if rule.protocol.is_some_and(|p| p != req.protocol) {
                skip("other protocol", trace);
                continue;
            }
            if !source_matches(&rule.source, &req.source) {
                skip("other source", trace);
                continue;
            }
            if rule.authenticated_only && !req.authenticated {
                skip("request not authenticated", trace);
                continue;
            }
            // Stop counts once the rule matched, whether or not its target can be asked.
            group.stop |= rule.stop;
            let (target, hops) = match &rule.target {
                RuleTarget::PolicyService(s) => (
                    Target::PolicyService(s.clone()),
                    out_hops(req, DEFAULT_HOP_COUNT),
                ),
                RuleTarget::Zone(z) => match dp.zone(z) {
                    None => {
                        skip(&format!("target zone {z} does not exist"), trace);
                        continue;
                    }
                    Some(zone) if zone.kind == ZoneKind::Default => {
                        skip("the Default Zone cannot be searched", trace);
                        continue;
                    }
                    Some(zone)
                        if (req.protocol == Protocol::Sip && !zone.sip)
                            || (req.protocol == Protocol::H323 && !zone.h323) =>
                    {
                        skip(
                            &format!("zone {} has {} off", zone.name, req.protocol.name()),
                            trace,
                        );
                        continue;
                    }
                    // Local registrations are the last hop: no zone hop count caps them.
                    Some(zone) if zone.kind == ZoneKind::Local => {
                        (Target::LocalZone, out_hops(req, u8::MAX))
                    }
                    Some(zone) => (
                        Target::Zone(zone.name.clone()),
                        out_hops(req, zone.hop_count),
                    ),
                },
            };
            let q = Query {
                rule: Some(rule.row),
                rule_name: rule.name.clone(),
                target,
                alias: sent,
                hop_count: hops,
                stop: rule.stop,
            };
            if group
                .queries
                .iter()
                .any(|o| o.target == q.target && o.alias.eq_ignore_ascii_case(&q.alias))
            {
                skip(
                    &format!("{} already asked for {}", q.target, q.alias),
                    trace,
                );
                continue;
            }
            trace.push(format!(
                "rule {} ({}): ask {} for {} (hop count {}){}",
                rule.row,
                rule.name,
                q.target,
                q.alias,
                q.hop_count,
                if rule.stop { ", then stop" } else { "" }
            ));
            group.queries.push(q);
        }
        let stop = group.stop;
        if !group.queries.is_empty() || stop {
            plan.groups.push(group);
        }
        if stop && unmatched > 0 {
            trace.push(format!("{unmatched} rules did not match {alias}"));
            unmatched = 0;
        }
        if stop {
            trace.push(format!(
                "priority {priority}: a matching rule says stop; lower priorities are not planned"
            ));
            break;
        }
    }
    if unmatched > 0 {
        trace.push(format!("{unmatched} rules did not match {alias}"));
    }
}

/// The hop count a query carries: one less than received, and no more than the zone allows
/// (the zone's count, or the default one, for a search that starts here).
fn out_hops(req: &SearchRequest, zone: u8) -> u8 {
    match req.hop_count {
        Some(h) => h.saturating_sub(1).min(zone),
        None => zone.min(DEFAULT_HOP_COUNT),
    }
}

/// How a target reads in traces, the search history and the event log.
impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::LocalZone => f.write_str(LOCAL_ZONE),
            Target::Zone(z) => write!(f, "zone {z}"),
            Target::PolicyService(s) => write!(f, "policy service {s}"),
            Target::Address(a) => write!(f, "address {a}"),
        }
    }
}

/// What a target said to a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Found,
    NotFound,
    /// Search for these aliases instead (a policy service's or ENUM zone's answer).
    Aliases(Vec<String>),
    /// Refuse the call (a policy service's reject).
    Rejected {
        status: u16,
        reason: String,
    },
}

/// What the caller does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Ask each of these (one priority group) and report with [`Search::answer`].
    Ask(Vec<Query>),
    /// A target has it.
    Found(Query),
    /// The search is over without a find.
    NotFound(Refusal),
    /// Call policy is an external service: fetch its script for this alias and hand it to
    /// [`Search::policy_answer`] (the service's default script when it cannot be reached).
    AskPolicy(PolicyQuery),
}

/// The alias call policy is asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyQuery {
    /// After the pre-search transform.
    pub alias: String,
    /// As dialled.
    pub original: String,
}

struct Frame {
    /// The alias planned, before transforms: new aliases that lead back here are a loop.
    alias: String,
    groups: VecDeque<Group>,
    /// Transforms, call policy and rules have run (the groups are known).
    planned: bool,
    /// Call policy already chose this alias: search it by the rules alone.
    chosen: bool,
}

/// One search, from the request's alias to a find or the end.
pub struct Search {
    dp: Arc<Dialplan>,
    req: SearchRequest,
    frames: Vec<Frame>,
    asked: Option<Group>,
    trace: Vec<String>,
    /// The plan of the request's own alias, for showing.
    first: Option<AliasPlan>,
    /// Why the search ends if nothing is found: the most telling reason seen.
    reason: Refusal,
    found: Option<Query>,
    /// Waiting for the external call policy's script for this plan.
    awaiting: Option<AliasPlan>,
    /// Policy decisions that continue if their locations are not found, innermost last.
    follow_ups: Vec<FollowUp>,
    /// The caller's identity as call policy last rewrote it.
    source: Option<Vec<cpl::SourceAlias>>,
    /// How long locations may ring, as call policy last said (seconds).
    ring: Option<u32>,
}

/// A policy script waiting at a `proxy` node for the outcome of the frames above `floor`.
struct FollowUp {
    policy: cpl::Policy,
    ctx: cpl::CallContext,
    resume: cpl::Resume,
    floor: usize,
    /// How the call failed, when the caller said (busy, no answer); otherwise a failure.
    outcome: Option<cpl::ProxyOutcome>,
    /// A busy answer ends the search of the decision's other locations.
    stop_on_busy: bool,
}

/// How far a new-alias chain may go before it is taken for a loop the seen-set missed.
const MAX_DEPTH: usize = 16;

impl Search {
    pub fn new(dp: Arc<Dialplan>, req: SearchRequest) -> Search {
        let mut s = Search {
            dp,
            frames: Vec::new(),
            asked: None,
            trace: Vec::new(),
            first: None,
            reason: Refusal::NotFound,
            found: None,
            awaiting: None,
            follow_ups: Vec::new(),
            source: None,
            ring: None,
            req,
        };
        let mut alias = s.req.alias.clone();
        if s.req.to_node {
            match &s.dp.fallback_alias {
                Some(f) => {
                    s.trace.push(format!(
                        "{alias}: addressed to this node, fallback alias {f}"
                    ));
                    alias = f.clone();
                }
                None => {
                    s.trace.push(format!(
                        "{alias}: addressed to this node and no fallback alias is set"
                    ));
                    s.reason = Refusal::NoFallback;
                    return s;
                }
            }
        }
        s.push(&alias);
        // Plans that need nobody's answer are made now, so they can be shown at once.
        if !matches!(s.dp.call_policy, CallPolicy::Service) {
            s.plan_top();
        }
        s
    }

    /// Plans `alias` on top of the stack, unless it is already being searched.
    fn push(&mut self, alias: &str) -> bool {
        if self
            .frames
            .iter()
            .any(|f| f.alias.eq_ignore_ascii_case(alias))
            || self.frames.len() >= MAX_DEPTH
        {
            self.trace
                .push(format!("{alias}: policy loop detected, not searched again"));
            if self.reason == Refusal::NotFound {
                self.reason = Refusal::PolicyLoop;
            }
            return false;
        }
        self.frames.push(Frame {
            alias: alias.to_string(),
            groups: VecDeque::new(),
            planned: false,
            chosen: false,
        });
        true
    }

    /// Plans the alias on top of the stack: transforms, call policy, rules. Returns the step
    /// to hand out when call policy must be fetched first.
    fn plan_top(&mut self) -> Option<Step> {
        let frame = self.frames.last_mut()?;
        if frame.planned {
            return None;
        }
        frame.planned = true;
        let (alias, chosen) = (frame.alias.clone(), frame.chosen);
        let head = if chosen {
            AliasPlan {
                original: alias.clone(),
                alias,
                transform: None,
                groups: Vec::new(),
                refused: None,
            }
        } else {
            plan_head(&self.dp, &self.req, &alias, &mut self.trace)
        };
        if let Some(r) = &head.refused {
            self.reason = r.clone();
            self.first.get_or_insert(head);
            return None;
        }
        if chosen {
            self.finish_plan(head);
            return None;
        }
        match &self.dp.call_policy {
            CallPolicy::Off => self.finish_plan(head),
            CallPolicy::Local(p) => {
                let p = p.clone();
                self.apply_policy(&p, head);
            }
            CallPolicy::Service => {
                let q = PolicyQuery {
                    alias: head.alias.clone(),
                    original: head.original.clone(),
                };
                self.awaiting = Some(head);
                return Some(Step::AskPolicy(q));
            }
        }
        None
    }

    /// The search rules' part of the plan on top of the stack.
    fn finish_plan(&mut self, mut head: AliasPlan) {
        plan_rules(&self.dp, &self.req, &mut head, &mut self.trace);
        if let Some(r) = &head.refused {
            self.reason = r.clone();
        }
        if let Some(f) = self.frames.last_mut() {
            f.groups = head.groups.iter().cloned().collect();
        }
        self.first.get_or_insert(head);
    }

    /// What call policy sees of this call when the destination is `alias`.
    pub fn policy_context(&self, alias: &str, original: &str) -> cpl::CallContext {
        let c = &self.req.caller;
        cpl::CallContext {
            protocol: self.req.protocol,
            source_aliases: c.source_aliases.clone(),
            authenticated: self.req.authenticated,
            auth_username: c.auth_username.clone(),
            registered_aliases: c.registered_aliases.clone(),
            originating_zone: self.req.source.name().to_string(),
            destination_aliases: vec![alias.to_string()],
            original_destination_aliases: (!original.eq_ignore_ascii_case(alias))
                .then(|| vec![original.to_string()]),
            message: c.message.clone(),
        }
    }

    /// Runs call policy on a planned head and acts on its decision.
    fn apply_policy(&mut self, policy: &cpl::Policy, head: AliasPlan) {
        let ctx = self.policy_context(bare_alias(&head.alias), bare_alias(&head.original));
        let eval = policy.evaluate(&ctx);
        self.trace.extend(eval.trace);
        if eval.source.is_some() {
            self.source = eval.source.clone();
        }
        // The script goes on if what it proxied to is not found (its `failure` branch): it
        // waits until the frames its decision leaves on the stack are done.
        let (resume, stop_on_busy, timeout) = match &eval.decision {
            cpl::Decision::Allow(o) | cpl::Decision::Redirect { options: o, .. } => {
                (o.resume.clone(), o.stop_on_busy, o.timeout)
            }
            cpl::Decision::Reject { .. } => (None, false, None),
        };
        if timeout.is_some() {
            self.ring = timeout;
        }
        if let Some(resume) = resume {
            self.follow_ups.push(FollowUp {
                policy: policy.clone(),
                ctx,
                resume,
                floor: self.frames.len().saturating_sub(1),
                outcome: None,
                stop_on_busy,
            });
        }
        match eval.decision {
            cpl::Decision::Allow(_) => self.finish_plan(head),
            cpl::Decision::Reject { status, reason } => {
                let reason = reason.unwrap_or_default();
                self.trace.push(format!(
                    "{}: call policy rejects the call ({status} {reason})",
                    head.alias
                ));
                self.reason = Refusal::Rejected { status, reason };
                self.frames.clear();
                self.first.get_or_insert(head);
            }
            cpl::Decision::Redirect { mut targets, .. } => {
                // Higher priorities first; the stack takes them in reverse.
                // `random` ranks in the middle: the search has no source of randomness.
                let rank = |t: &cpl::Target| match t.priority {
                    cpl::Priority::Value(v) => v,
                    cpl::Priority::Random => 0.5,
                };
                targets.sort_by(|a, b| rank(b).total_cmp(&rank(a)));
                let current = bare_alias(&head.alias).to_string();
                self.trace.push(format!(
                    "{current}: call policy sends the call to {}",
                    targets
                        .iter()
                        .map(|t| t.alias.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                self.first.get_or_insert(head);
                for t in targets.iter().rev() {
                    let alias = bare_alias(&t.alias);
                    if alias.eq_ignore_ascii_case(&current) {
                        // The policy kept this alias: search it as it is, without asking
                        // the policy again.
                        self.frames.push(Frame {
                            alias: alias.to_string(),
                            groups: VecDeque::new(),
                            planned: false,
                            chosen: true,
                        });
                    } else {
                        self.push(alias);
                    }
                }
            }
        }
    }

    /// The frames of a policy decision that waits for its outcome are done and nothing was
    /// found: the script's `failure` branch decides what happens next.
    fn follow_up(&mut self) {
        let Some(f) = self.follow_ups.pop() else {
            return;
        };
        let outcome = f.outcome.unwrap_or(cpl::ProxyOutcome::Failure);
        let Some(eval) = f.policy.resume(&f.ctx, &f.resume, outcome) else {
            return;
        };
        self.trace.extend(eval.trace);
        if eval.source.is_some() {
            self.source = eval.source.clone();
        }
        match eval.decision {
            cpl::Decision::Reject { status, reason } => {
                let reason = reason.unwrap_or_default();
                self.trace.push(format!(
                    "call policy rejects the call after a failure ({status} {reason})"
                ));
                self.reason = Refusal::Rejected { status, reason };
                self.frames.clear();
            }
            cpl::Decision::Redirect { targets, .. } => {
                self.trace.push(format!(
                    "call policy tries {} after a failure",
                    targets
                        .iter()
                        .map(|t| t.alias.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                for t in targets.iter().rev() {
                    self.push(bare_alias(&t.alias));
                }
            }
            cpl::Decision::Allow(_) => {}
        }
    }

    /// The source aliases call policy wants the call to present from now on, if it changed
    /// them (`source-url-for-message`).
    pub fn source(&self) -> Option<&[cpl::SourceAlias]> {
        self.source.as_deref()
    }

    /// Whether call policy has something to do if the call ends this way (a `busy` or
    /// `noanswer` branch of the `proxy` node it waits at): the caller should then report the
    /// outcome with [`Search::outcome`] and treat the answer as not found.
    pub fn takes(&self, outcome: &cpl::ProxyOutcome) -> bool {
        self.follow_ups.last().is_some_and(|f| {
            f.policy
                .resume(&f.ctx, &f.resume, outcome.clone())
                .is_some()
        })
    }

    /// Whether a call policy decision waits for how its locations end (a `proxy` node with
    /// result branches): the search is not over while they only ring.
    pub fn waits(&self) -> bool {
        !self.follow_ups.is_empty()
    }

    /// Whether the caller already reported this outcome for the waiting policy decision.
    pub fn heard(&self, outcome: &cpl::ProxyOutcome) -> bool {
        self.follow_ups
            .last()
            .is_some_and(|f| f.outcome.as_ref() == Some(outcome))
    }

    /// How the locations of the waiting policy decision ended.
    pub fn outcome(&mut self, outcome: cpl::ProxyOutcome) {
        if let Some(f) = self.follow_ups.last_mut() {
            self.trace
                .push(format!("call policy hears the call ended: {outcome:?}"));
            // stop-on-busy: the decision's locations not yet searched are not searched.
            if f.stop_on_busy && outcome == cpl::ProxyOutcome::Busy {
                let keep = f.floor + 1;
                if self.frames.len() > keep {
                    self.trace
                        .push("stop-on-busy: the other locations are not searched".into());
                    self.frames.truncate(keep);
                }
            }
            f.outcome = Some(outcome);
        }
    }

    /// The external call policy's script for the alias of the last [`Step::AskPolicy`].
    pub fn policy_answer(&mut self, policy: &cpl::Policy) {
        if let Some(head) = self.awaiting.take() {
            self.apply_policy(policy, head);
        }
    }

    /// The next thing to do.
    pub fn step(&mut self) -> Step {
        if let Some(q) = &self.found {
            return Step::Found(q.clone());
        }
        if let Some(g) = &self.asked {
            return Step::Ask(g.queries.clone());
        }
        if let Some(h) = &self.awaiting {
            return Step::AskPolicy(PolicyQuery {
                alias: h.alias.clone(),
                original: h.original.clone(),
            });
        }
        while let Some(frame) = self.frames.last_mut() {
            if !frame.planned {
                if let Some(step) = self.plan_top() {
                    return step;
                }
                continue;
            }
            match frame.groups.pop_front() {
                Some(g) if g.queries.is_empty() => {
                    // A Stop rule matched but none of its group's targets could be asked.
                    self.trace.push(format!(
                        "priority {}: nothing to ask, search stops",
                        g.priority
                    ));
                    frame.groups.clear();
                    self.reason = Refusal::Stopped;
                }
                Some(g) => {
                    let qs = g.queries.clone();
                    self.asked = Some(g);
                    return Step::Ask(qs);
                }
                None => {
                    self.frames.pop();
                    let done = self
                        .follow_ups
                        .last()
                        .is_some_and(|f| self.frames.len() <= f.floor);
                    if done && self.found.is_none() {
                        self.follow_up();
                    }
                }
            }
        }
        Step::NotFound(self.reason.clone())
    }

    /// Reports the answers to the queries of the last [`Step::Ask`], in the same order.
    /// A missing answer counts as not found.
    pub fn answer(&mut self, answers: &[Answer]) {
        let Some(group) = self.asked.take() else {
            return;
        };
        let mut new_aliases = Vec::new();
        for (i, q) in group.queries.iter().enumerate() {
            match answers.get(i).unwrap_or(&Answer::NotFound) {
                Answer::Found => {
                    self.trace.push(format!("{} has {}", q.target, q.alias));
                    if self.found.is_none() {
                        self.found = Some(q.clone());
                    }
                }
                Answer::NotFound => self
                    .trace
                    .push(format!("{} does not know {}", q.target, q.alias)),
                Answer::Aliases(a) => {
                    self.trace.push(format!(
                        "{} answers {} with {}",
                        q.target,
                        q.alias,
                        a.join(", ")
                    ));
                    new_aliases.extend(a.iter().cloned());
                }
                Answer::Rejected { status, reason } => {
                    self.trace.push(format!(
                        "{} rejects {} ({status} {reason})",
                        q.target, q.alias
                    ));
                    if !matches!(self.reason, Refusal::Rejected { .. }) {
                        self.reason = Refusal::Rejected {
                            status: *status,
                            reason: reason.clone(),
                        };
                    }
                }
            }
        }
        if self.found.is_some() {
            return;
        }
        if matches!(self.reason, Refusal::Rejected { .. }) {
            // A refusal ends the call, not just this alias's search.
            self.frames.clear();
            return;
        }
        if group.stop {
            self.trace.push(format!(
                "priority {}: not found and a matching rule says stop",
                group.priority
            ));
            if let Some(f) = self.frames.last_mut() {
                f.groups.clear();
            }
            self.reason = Refusal::Stopped;
        }
        // New aliases are searched before whatever is left of the alias that produced them;
        // Stop ends only that alias's own search (the new ones start afresh).
        for a in new_aliases.iter().rev() {
            self.push(a);
        }
    }

    /// The plan of the request's alias (after the fallback alias, if it applied).
    pub fn first_plan(&self) -> Option<&AliasPlan> {
        self.first.as_ref()
    }

    /// How long the locations now being searched may ring, when call policy limits it (the
    /// `timeout` of the `proxy` node it waits at).
    pub fn ring_timeout(&self) -> Option<u32> {
        self.ring
    }

    /// Adds what the caller did for the search (a destination failed over) to the trace.
    pub fn note(&mut self, line: String) {
        self.trace.push(line);
    }

    /// Every decision so far.
    pub fn trace(&self) -> &[String] {
        &self.trace
    }

    pub fn request(&self) -> &SearchRequest {
        &self.req
    }
}
