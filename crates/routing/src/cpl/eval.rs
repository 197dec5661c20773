//! Running a policy against one call.

use std::borrow::Cow;

use super::alias::{part, strip_scheme};
use super::ast::{AddressSwitch, Branch, Field, Location, Node, Policy, Priority, Proxy, Rule};
use crate::cpl::Subfield;

pub use crate::dialplan::{Protocol, DEFAULT_SUBZONE, DEFAULT_ZONE};

/// What a policy may look at. Fields that do not apply stay empty or
/// `None`; the script then sees them as not present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallContext {
    /// Protocol of the incoming request.
    pub protocol: Protocol,
    /// Source aliases as the request states them: SIP From (and Reply-To);
    /// H.323 source aliases of the first LRQ/ARQ, or of the Setup when no
    /// RAS preceded it. The script's `unauthenticated-origin`.
    pub source_aliases: Vec<String>,
    /// Whether the request authenticated, or came through a zone whose
    /// authentication policy treats it as authenticated. Without it
    /// `origin` and `authenticated-origin` are not present (an H.323 Setup
    /// without RAS never authenticates).
    pub authenticated: bool,
    /// `originating-user`: the username the request authenticated with,
    /// when the zone checks credentials or treats requests as
    /// authenticated.
    pub auth_username: Option<String>,
    /// `registered-origin`: all aliases of the calling registrant; `None`
    /// when the caller is not registered here.
    pub registered_aliases: Option<Vec<String>>,
    /// `originating-zone`: the neighbour or traversal zone name, the local
    /// subzone name, [`DEFAULT_SUBZONE`] for other registrants, otherwise
    /// [`DEFAULT_ZONE`].
    pub originating_zone: String,
    /// `destination`: the aliases being routed (after pre-search
    /// transforms). They are also the initial location set.
    pub destination_aliases: Vec<String>,
    /// `original-destination`: the aliases as received, when transforms
    /// changed them; `None` means the same as `destination_aliases`.
    pub original_destination_aliases: Option<Vec<String>>,
    /// The whole SIP request, for `taa:rule message-regex`. Ignored for
    /// H.323, where such rules never match.
    pub message: Option<String>,
}

impl CallContext {
    /// A SIP call from `source` to `destination`, not authenticated, from
    /// [`DEFAULT_ZONE`].
    pub fn new(source: impl Into<String>, destination: impl Into<String>) -> Self {
        CallContext {
            protocol: Protocol::Sip,
            source_aliases: vec![source.into()],
            authenticated: false,
            auth_username: None,
            registered_aliases: None,
            originating_zone: DEFAULT_ZONE.to_owned(),
            destination_aliases: vec![destination.into()],
            original_destination_aliases: None,
            message: None,
        }
    }

    /// The aliases a field stands for; `None` when it is not present.
    /// Empty strings in the list are not aliases and never match.
    pub fn field(&self, field: Field) -> Option<&[String]> {
        let values: &[String] = match field {
            Field::Origin | Field::AuthenticatedOrigin if !self.authenticated => return None,
            Field::Origin | Field::AuthenticatedOrigin | Field::UnauthenticatedOrigin => {
                &self.source_aliases
            }
            Field::OriginatingZone => std::slice::from_ref(&self.originating_zone),
            Field::OriginatingUser => std::slice::from_ref(self.auth_username.as_ref()?),
            Field::RegisteredOrigin => self.registered_aliases.as_deref()?,
            Field::Destination => &self.destination_aliases,
            Field::OriginalDestination => self
                .original_destination_aliases
                .as_deref()
                .unwrap_or(&self.destination_aliases),
        };
        let present = values.iter().any(|v| !v.is_empty());
        present.then_some(values)
    }
}

/// One entry of the location set.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// A URI, H.323 ID or E.164 number.
    pub alias: String,
    /// Search order; equal priorities are searched in parallel.
    pub priority: Priority,
}

/// A source alias the script rewrote, with the display name that goes
/// with it (the new alias's user part).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceAlias {
    /// The new source alias.
    pub alias: String,
    /// The display name to present with it.
    pub display_name: String,
}

/// Options of the proxy node that produced a decision; defaults when the
/// script ended without one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProxyOptions {
    /// Give up on the forwarded call after this many seconds.
    pub timeout: Option<u32>,
    /// Stop searching further locations once one answers busy.
    pub stop_on_busy: bool,
    /// Present when the script says what to do if the forwarded call
    /// fails; hand it to [`Policy::resume`] with the outcome.
    pub resume: Option<Resume>,
}

/// The policy's verdict on a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Let the call continue to its destination unchanged.
    Allow(ProxyOptions),
    /// Route the call to these locations instead (several = fork). Listed
    /// in location-set order; order the search by [`Target::priority`].
    Redirect {
        /// The new location set.
        targets: Vec<Target>,
        /// How to forward.
        options: ProxyOptions,
    },
    /// Refuse the call with this response.
    Reject {
        /// SIP response code, 400..=699.
        status: u16,
        /// Reason phrase, when the script gave one.
        reason: Option<String>,
    },
}

impl Decision {
    /// Whether the call is refused.
    pub fn is_reject(&self) -> bool {
        matches!(self, Decision::Reject { .. })
    }

    /// Whether the call continues unchanged.
    pub fn is_allow(&self) -> bool {
        matches!(self, Decision::Allow(_))
    }
}

/// A decision, what the script did to the caller's identity, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// What to do with the call.
    pub decision: Decision,
    /// The source aliases to present from now on, when the script changed
    /// them; `None` leaves the caller's identity alone.
    pub source: Option<Vec<SourceAlias>>,
    /// One line per step, for search history and `xCommand Locate`.
    pub trace: Vec<String>,
}

/// How a forwarded call ended, when it did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyOutcome {
    /// Nothing could be reached.
    Failure,
    /// Found, but busy.
    Busy,
    /// Found, but nobody answered before the timeout.
    NoAnswer,
    /// The far end redirected the call to these aliases; they form the new
    /// location set for the script's `redirection` branch.
    Redirection(Vec<String>),
}

impl ProxyOutcome {
    fn name(&self) -> &'static str {
        match self {
            ProxyOutcome::Failure => "failure",
            ProxyOutcome::Busy => "busy",
            ProxyOutcome::NoAnswer => "noanswer",
            ProxyOutcome::Redirection(_) => "redirection",
        }
    }
}

/// Where a script waits for a forwarded call's outcome. Only meaningful
/// with the policy that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    node: usize,
    sources: Vec<String>,
    source_changed: bool,
}

impl Policy {
    /// Run the policy for one call. Never fails: a parsed policy always
    /// reaches a decision, and a script that ends without one lets the
    /// call proceed to its current location set.
    pub fn evaluate(&self, ctx: &CallContext) -> Evaluation {
        let mut run = Run::new(self, ctx, ctx.source_aliases.clone(), false);
        run.locations = ctx
            .destination_aliases
            .iter()
            .map(|a| Target {
                alias: a.clone(),
                priority: Priority::default(),
            })
            .collect();
        run.initial = run.locations.clone();
        if self.root.is_none() {
            run.trace
                .push("call policy: empty policy, call allowed".to_owned());
        }
        let decision = run.run(self.root, false);
        run.finish(decision.unwrap_or(Decision::Allow(ProxyOptions::default())))
    }

    /// Continue a script after the forwarded call ended with `outcome`.
    ///
    /// The location set starts empty (the earlier locations were tried),
    /// except that a redirection's aliases become the new set. `None`
    /// means the script has nothing more to do, so the outcome goes back
    /// to the caller as it is; this is also the answer for a token from
    /// another policy.
    pub fn resume(
        &self,
        ctx: &CallContext,
        resume: &Resume,
        outcome: ProxyOutcome,
    ) -> Option<Evaluation> {
        let Some(Node::Proxy(proxy)) = self.nodes.get(resume.node) else {
            return None;
        };
        let r = &proxy.results;
        let chosen = match outcome {
            ProxyOutcome::Failure => r.failure,
            ProxyOutcome::Busy => r.busy,
            ProxyOutcome::NoAnswer => r.noanswer,
            ProxyOutcome::Redirection(_) => r.redirection,
        };
        let branch = chosen.or(r.default)?;
        let mut run = Run::new(self, ctx, resume.sources.clone(), resume.source_changed);
        run.trace.push(format!(
            "call policy line {}: proxy ended with {}",
            proxy.line,
            outcome.name()
        ));
        if let ProxyOutcome::Redirection(aliases) = outcome {
            run.add_targets(aliases.into_iter().map(|alias| Target {
                alias,
                priority: Priority::default(),
            }));
        }
        let decision = run.run(branch, true)?;
        Some(run.finish(decision))
    }
}

struct Run<'p> {
    policy: &'p Policy,
    ctx: &'p CallContext,
    locations: Vec<Target>,
    /// The location set at the start; proxying to it unchanged is an
    /// Allow rather than a Redirect.
    initial: Vec<Target>,
    sources: Vec<String>,
    source_changed: bool,
    trace: Vec<String>,
}

impl<'p> Run<'p> {
    fn new(
        policy: &'p Policy,
        ctx: &'p CallContext,
        sources: Vec<String>,
        source_changed: bool,
    ) -> Self {
        Run {
            policy,
            ctx,
            locations: Vec::new(),
            initial: Vec::new(),
            sources,
            source_changed,
            trace: Vec::new(),
        }
    }

    fn finish(self, decision: Decision) -> Evaluation {
        let source = self.source_changed.then(|| {
            self.sources
                .iter()
                .map(|alias| SourceAlias {
                    display_name: display_name(alias),
                    alias: alias.clone(),
                })
                .collect()
        });
        Evaluation {
            decision,
            source,
            trace: self.trace,
        }
    }

    /// Walk from `at` to a decision. `None` only when a resumed script
    /// ends with nothing left to forward.
    fn run(&mut self, mut at: Branch, resumed: bool) -> Option<Decision> {
        loop {
            let Some(id) = at else {
                return self.end(resumed);
            };
            // CPL has no loops: every step moves to a child, so this ends.
            at = match &self.policy.nodes[id] {
                Node::AddressSwitch(sw) => self.address_switch(sw),
                Node::RuleSwitch { line, rules } => self.rule_switch(*line, rules),
                Node::Location(loc) => {
                    self.location(loc);
                    loc.next
                }
                Node::Proxy(p) => return Some(self.proxy(id, p)),
                Node::Reject(r) => {
                    self.trace.push(format!(
                        "call policy line {}: reject with {} {}",
                        r.line,
                        r.status,
                        r.reason.as_deref().unwrap_or("")
                    ));
                    return Some(Decision::Reject {
                        status: r.status,
                        reason: r.reason.clone(),
                    });
                }
            };
        }
    }

    fn end(&mut self, resumed: bool) -> Option<Decision> {
        if resumed && self.locations.is_empty() {
            self.trace
                .push("call policy: script ended, outcome passed back".to_owned());
            return None;
        }
        self.trace
            .push("call policy: script ended without a decision, call proceeds".to_owned());
        Some(self.forward(ProxyOptions::default()))
    }

    fn forward(&self, options: ProxyOptions) -> Decision {
        if self.locations.is_empty() || self.locations == self.initial {
            Decision::Allow(options)
        } else {
            Decision::Redirect {
                targets: self.locations.clone(),
                options,
            }
        }
    }

    fn proxy(&mut self, id: usize, p: &Proxy) -> Decision {
        let resume = (!p.results.is_empty()).then(|| Resume {
            node: id,
            sources: self.sources.clone(),
            source_changed: self.source_changed,
        });
        let decision = self.forward(ProxyOptions {
            timeout: p.timeout,
            stop_on_busy: p.stop_on_busy,
            resume,
        });
        let whither = match &decision {
            Decision::Redirect { targets, .. } => format!("to {}", list(targets)),
            _ => "to the original destination".to_owned(),
        };
        self.trace
            .push(format!("call policy line {}: proxy {whither}", p.line));
        decision
    }

    fn address_switch(&mut self, sw: &AddressSwitch) -> Branch {
        let proto = self.ctx.protocol;
        let values: Vec<Cow<'_, str>> = self
            .ctx
            .field(sw.field)
            .map(|aliases| {
                aliases
                    .iter()
                    .filter(|a| !a.is_empty())
                    .filter_map(|a| part(a, sw.subfield, proto))
                    .collect()
            })
            .unwrap_or_default();
        let what = match sw.subfield {
            Some(s) => format!("{} {}", sw.field, s),
            None => sw.field.to_string(),
        };
        if values.is_empty() {
            self.trace.push(format!(
                "call policy line {}: {what} not present{}",
                sw.line,
                if sw.not_present.is_some() {
                    ""
                } else {
                    ", no not-present branch"
                }
            ));
            return sw.not_present.flatten();
        }
        for arm in &sw.arms {
            if let Some(v) = values.iter().find(|v| arm.test.matches(v)) {
                self.trace.push(format!(
                    "call policy line {}: {what} {v:?} matches address {}",
                    arm.line, arm.test
                ));
                return arm.next;
            }
        }
        self.trace.push(format!(
            "call policy line {}: {what} {} matches no address{}",
            sw.line,
            quoted(&values),
            if sw.otherwise.is_some() {
                ", otherwise"
            } else {
                ""
            }
        ));
        sw.otherwise.flatten()
    }

    fn rule_switch(&mut self, line: u32, rules: &[Rule]) -> Branch {
        for rule in rules {
            if self.rule_matches(rule) {
                let message = rule
                    .message
                    .as_ref()
                    .map(|m| format!(" message-regex={:?}", m.as_str()))
                    .unwrap_or_default();
                self.trace.push(format!(
                    "call policy line {}: rule {}={:?} destination={:?}{message} matches",
                    rule.line,
                    rule.origin_field,
                    rule.origin.as_str(),
                    rule.destination.as_str()
                ));
                return rule.next;
            }
        }
        self.trace
            .push(format!("call policy line {line}: no rule matches"));
        None
    }

    fn rule_matches(&self, rule: &Rule) -> bool {
        let any = |field: Field, test: &dyn Fn(&str) -> bool| {
            self.ctx.field(field).is_some_and(|aliases| {
                aliases
                    .iter()
                    .any(|a| !a.is_empty() && test(strip_scheme(a).0))
            })
        };
        any(rule.origin_field, &|v| rule.origin.matches(v))
            && any(Field::Destination, &|v| rule.destination.matches(v))
            && rule.message.as_ref().is_none_or(|m| {
                self.ctx.protocol == Protocol::Sip
                    && self
                        .ctx
                        .message
                        .as_deref()
                        .is_some_and(|msg| m.is_match(msg))
            })
    }

    fn location(&mut self, loc: &Location) {
        if let Some(t) = &loc.rewrite {
            let mut kept = Vec::with_capacity(self.locations.len());
            for mut target in std::mem::take(&mut self.locations) {
                match t.apply(strip_scheme(&target.alias).0) {
                    Some(new) => {
                        target.alias = new;
                        kept.push(target);
                    }
                    // `clear` with a rewrite keeps only what was rewritten.
                    None if loc.clear => {}
                    None => kept.push(target),
                }
            }
            self.locations = kept;
        } else if loc.clear {
            self.locations.clear();
        }
        if let Some(url) = &loc.url {
            self.add_targets(std::iter::once(Target {
                alias: url.clone(),
                priority: loc.priority,
            }));
        }
        if let Some(url) = &loc.source_url {
            self.sources = vec![url.clone()];
            self.source_changed = true;
        }
        if let Some(t) = &loc.source_rewrite {
            for s in &mut self.sources {
                // Sources that do not match stay as they are.
                if let Some(new) = t.apply(strip_scheme(s).0) {
                    *s = new;
                    self.source_changed = true;
                }
            }
        }
        let mut step = format!(
            "call policy line {}: location set is now {}",
            loc.line,
            list(&self.locations)
        );
        if loc.source_url.is_some() || loc.source_rewrite.is_some() {
            step.push_str(&format!(", source {}", quoted(&self.sources)));
        }
        self.trace.push(step);
    }

    /// Append, skipping aliases already in the set: forking to the same
    /// place twice only doubles the signalling.
    fn add_targets(&mut self, targets: impl IntoIterator<Item = Target>) {
        for t in targets {
            let seen = self
                .locations
                .iter()
                .any(|l| l.alias.to_lowercase() == t.alias.to_lowercase());
            if !seen {
                self.locations.push(t);
            }
        }
    }
}

fn display_name(alias: &str) -> String {
    part(alias, Some(Subfield::User), Protocol::Sip)
        .map(Cow::into_owned)
        .unwrap_or_else(|| strip_scheme(alias).0.to_owned())
}

fn quoted<S: AsRef<str>>(values: &[S]) -> String {
    let items: Vec<String> = values.iter().map(|v| format!("{:?}", v.as_ref())).collect();
    format!("[{}]", items.join(", "))
}

fn list(targets: &[Target]) -> String {
    let items: Vec<String> = targets
        .iter()
        .map(|t| match t.priority {
            Priority::Value(1.0) => format!("{:?}", t.alias),
            p => format!("{:?} (priority {p})", t.alias),
        })
        .collect();
    format!("[{}]", items.join(", "))
}
