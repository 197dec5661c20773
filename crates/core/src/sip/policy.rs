//! External policy services. Call policy in PolicyService mode, and search rules that target
//! a policy service, ask an HTTP(S) service for a CPL script; the question goes out on a task
//! of its own and the script comes back to the loop, which runs it with the routing core's
//! CPL engine. A service nobody answers for gives its Default CPL.

use super::Service;
use crate::transport::Flow;
use causeway_config::Snapshot;
use causeway_policy::RegFacts;
use causeway_policy::{
    CallFacts, MessageKind, Params, PolicyService, ServiceConfig, SignalProtocol,
};
use causeway_routing::cpl::{self, Decision};
use causeway_routing::{Answer, Query};
use causeway_sip::transaction::Key;
use causeway_sip::{Request, Response};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

const ADMIN: &str = "Policy AdministratorPolicy Service";
const SERVICES: &str = "Policy Services Service";
const REGISTRATION: &str = "Registration RestrictionPolicy Service";

/// Used when a service's Default CPL itself does not parse (the configuration refuses such
/// values, so only a store written by something else gets here).
/// The names the call and registration policy services are published under.
pub(crate) const CALL_POLICY: &str = "Call Policy";
pub(crate) const REGISTRATION_POLICY: &str = "Registration Policy";

pub(crate) const LAST_RESORT: &str = "<reject status='403' reason='Service Unavailable'/>";

/// A script a policy service sent, or its default, for the request of `key`.
pub(super) struct PolicyDone {
    key: Key,
    purpose: Purpose,
    cpl: String,
    /// What to run if `cpl` does not parse.
    default_cpl: String,
}

/// What a policy service was asked about.
enum Purpose {
    /// Call policy, for the search's current alias.
    Call,
    /// The query of the current search group with this index.
    Rule(usize),
    /// A REGISTER (with where it came from, and whether it authenticated).
    Register(Box<(Request, Flow, bool)>),
}

/// The configured policy services, kept across configuration changes that leave them alone
/// (so that their status and polling carry on).
#[derive(Default)]
pub(super) struct Policies {
    admin: Option<Arc<PolicyService>>,
    registration: Option<Arc<PolicyService>>,
    by_name: HashMap<String, Arc<PolicyService>>,
    /// The call policy in force, as text: a change is announced in the event log.
    call_policy: Option<String>,
}

/// What decides calls, in words and script, for telling when it changes.
fn call_policy_text(snap: &Snapshot) -> String {
    let mode = snap.get("Policy AdministratorPolicy Mode").unwrap_or("Off");
    match mode {
        "LocalCPL" | "LocalService" => {
            let (text, _) = causeway_routing::dialplan::local_policy_text(snap);
            format!("{mode}\n{text}")
        }
        _ => mode.to_string(),
    }
}

fn service(snap: &Snapshot, prefix: &str, old: Option<&Arc<PolicyService>>) -> Arc<PolicyService> {
    // Passwords are sealed in the tree; the service client needs them plain.
    let cfg = ServiceConfig::from_config(|p| snap.secret(p), prefix);
    match old {
        Some(s) if *s.config() == cfg => s.clone(),
        _ => {
            let s = Arc::new(PolicyService::new(cfg));
            s.spawn_status_poller(PolicyService::DEFAULT_POLL_INTERVAL);
            s
        }
    }
}

impl Policies {
    /// Brings the services in line with the configuration; returns the new call policy mode
    /// when the call policy changed (not on the first look).
    pub(super) fn refresh(
        &mut self,
        snap: &Snapshot,
        shared: &super::state::Shared,
    ) -> Option<String> {
        let text = call_policy_text(snap);
        let changed = self.call_policy.as_ref().is_some_and(|old| *old != text);
        self.call_policy = Some(text);
        self.admin = (snap.get("Policy AdministratorPolicy Mode") == Some("PolicyService"))
            .then(|| service(snap, ADMIN, self.admin.as_ref()));
        self.registration = (snap.get("Registration RestrictionPolicy Mode")
            == Some("PolicyService"))
        .then(|| service(snap, REGISTRATION, self.registration.as_ref()));
        let mut by_name = HashMap::new();
        for r in snap.rows(SERVICES) {
            let Some(name) = snap.get(&format!("{SERVICES} {r} Name")) else {
                continue;
            };
            let key = name.trim().to_ascii_lowercase();
            if key.is_empty() {
                continue;
            }
            let prefix = format!("{SERVICES} {r}");
            let s = service(snap, &prefix, self.by_name.get(&key));
            by_name.insert(key, s);
        }
        self.by_name = by_name;
        let mut shown = Vec::new();
        if let Some(s) = &self.admin {
            shown.push((CALL_POLICY.to_string(), s.clone()));
        }
        if let Some(s) = &self.registration {
            shown.push((REGISTRATION_POLICY.to_string(), s.clone()));
        }
        for r in snap.rows(SERVICES) {
            let name = snap
                .get(&format!("{SERVICES} {r} Name"))
                .unwrap_or("")
                .trim();
            if let Some(s) = self.by_name.get(&name.to_ascii_lowercase()) {
                shown.push((name.to_string(), s.clone()));
            }
        }
        *shared.policy_services.lock().unwrap() = shown;
        changed.then(|| {
            snap.get("Policy AdministratorPolicy Mode")
                .unwrap_or("Off")
                .to_string()
        })
    }
}

/// What a policy service is told about a call.
fn facts(ctx: &super::proxy::Ctx, destination: &str) -> CallFacts {
    let search = ctx.search.as_ref();
    let req = search.map(|s| s.request());
    CallFacts {
        protocol: Some(SignalProtocol::Sip),
        method: Some(match ctx.fwd.method {
            causeway_sip::Method::Invite => MessageKind::Invite,
            causeway_sip::Method::Register => MessageKind::Register,
            _ => MessageKind::Options,
        }),
        source_aliases: req
            .map(|r| r.caller.source_aliases.clone())
            .unwrap_or_default(),
        authenticated: req.is_some_and(|r| r.authenticated),
        authentication_user_name: req.and_then(|r| r.caller.auth_username.clone()),
        registered_aliases: req
            .and_then(|r| r.caller.registered_aliases.clone())
            .unwrap_or_default(),
        destination_alias: Some(format!(
            "sip:{}",
            causeway_routing::search::bare_alias(destination)
        )),
        source_ip: Some(ctx.remote.ip()),
        source_port: Some(ctx.remote.port()),
        zone_name: req.map(|r| r.source.name().to_string()),
        utc_time: Some(std::time::SystemTime::now()),
        ..CallFacts::default()
    }
}

impl Service {
    /// Asks the call policy service about the alias of the current search; false when no
    /// service is configured (the caller then runs the Default CPL itself).
    pub(super) fn ask_call_policy(&self, key: &Key, alias: &str) -> bool {
        let (Some(svc), Some(tx)) = (self.policies.admin.clone(), self.policy_tx.clone()) else {
            return false;
        };
        let Some(ctx) = self.proxy.contexts.get(key) else {
            return false;
        };
        let params = Params::call_policy(&facts(ctx, alias));
        let key = key.clone();
        tokio::spawn(async move {
            let reply = svc.query(&params).await;
            let _ = tx.send(PolicyDone {
                key,
                purpose: Purpose::Call,
                cpl: reply.cpl,
                default_cpl: svc.config().default_cpl.clone(),
            });
        });
        true
    }

    /// Starts a question for each policy-service query of a group; returns how many are out.
    pub(super) fn start_policy_queries(&self, key: &Key, queries: &[(usize, &Query)]) -> usize {
        let Some(tx) = self.policy_tx.clone() else {
            return 0;
        };
        let Some(ctx) = self.proxy.contexts.get(key) else {
            return 0;
        };
        let mut n = 0;
        for (i, q) in queries {
            let causeway_routing::Target::PolicyService(name) = &q.target else {
                continue;
            };
            let (tx, key, query) = (tx.clone(), key.clone(), *i);
            let params = Params::search_rule(&facts(ctx, &q.alias));
            match self
                .policies
                .by_name
                .get(&name.to_ascii_lowercase())
                .cloned()
            {
                Some(svc) => {
                    tokio::spawn(async move {
                        let reply = svc.query(&params).await;
                        let _ = tx.send(PolicyDone {
                            key,
                            purpose: Purpose::Rule(query),
                            cpl: reply.cpl,
                            default_cpl: svc.config().default_cpl.clone(),
                        });
                    });
                }
                // A rule naming a service that does not exist: that service's default, as
                // if it never answered.
                None => {
                    let _ = tx.send(PolicyDone {
                        key,
                        purpose: Purpose::Rule(query),
                        cpl: causeway_policy::POLICY_SERVICE_DEFAULT_CPL.to_string(),
                        default_cpl: causeway_policy::POLICY_SERVICE_DEFAULT_CPL.to_string(),
                    });
                }
            }
            n += 1;
        }
        n
    }

    /// A policy service answered (or its default stood in).
    pub(super) async fn policy_done(&mut self, done: PolicyDone, now: Instant) {
        let policy = cpl::Policy::parse(&done.cpl)
            .or_else(|_| cpl::Policy::parse(&done.default_cpl))
            .unwrap_or_else(|_| cpl::Policy::parse(LAST_RESORT).expect("a fixed fragment parses"));
        let i = match done.purpose {
            Purpose::Register(what) => {
                let (req, flow, authenticated) = *what;
                return self
                    .registration_decided(&done.key, &req, &flow, authenticated, &policy, now)
                    .await;
            }
            Purpose::Call => {
                if let Some(search) = self
                    .proxy
                    .contexts
                    .get_mut(&done.key)
                    .and_then(|c| c.search.as_mut())
                {
                    search.policy_answer(&policy);
                    self.advance_search(&done.key, now).await;
                }
                return;
            }
            Purpose::Rule(i) => i,
        };
        let Some(ctx) = self.proxy.contexts.get_mut(&done.key) else {
            return;
        };
        let Some(search) = ctx.search.as_mut() else {
            return;
        };
        if ctx.lookups == 0 {
            return;
        }
        ctx.lookups -= 1;
        if let Some(q) = ctx.queries.get(i) {
            let eval = policy.evaluate(&search.policy_context(&q.alias, &q.alias));
            match eval.decision {
                Decision::Redirect { targets, .. } => ctx.late_answers.push((
                    i,
                    Answer::Aliases(targets.into_iter().map(|t| t.alias).collect()),
                )),
                Decision::Reject { status, reason } => ctx.late_answers.push((
                    i,
                    Answer::Rejected {
                        status,
                        reason: reason.unwrap_or_default(),
                    },
                )),
                // Sending the alias back to the rules that asked would loop.
                Decision::Allow(_) => {}
            }
        }
        if ctx.lookups > 0 {
            return;
        }
        self.lookups_finished(&done.key, now).await;
    }
}

impl Service {
    /// Sends a REGISTER's question to the registration policy service; the registration
    /// goes on when the answer comes back.
    pub(super) fn ask_registration_policy(
        &mut self,
        key: &Key,
        req: &Request,
        flow: &Flow,
        authenticated: bool,
    ) {
        let Some(tx) = self.policy_tx.clone() else {
            return;
        };
        let Some(svc) = self.policies.registration.clone() else {
            // Not configured after all: the services' default decides, as if it were down.
            let _ = tx.send(PolicyDone {
                key: key.clone(),
                purpose: Purpose::Register(Box::new((req.clone(), *flow, authenticated))),
                cpl: causeway_policy::POLICY_SERVICE_DEFAULT_CPL.to_string(),
                default_cpl: causeway_policy::POLICY_SERVICE_DEFAULT_CPL.to_string(),
            });
            return;
        };
        let aor = super::util::header_str(&req.headers, "To")
            .and_then(|t| causeway_sip::header::NameAddr::parse(t).ok())
            .and_then(|t| super::util::aor_of(t.uri()))
            .unwrap_or_default();
        let facts = RegFacts {
            protocol: Some(SignalProtocol::Sip),
            method: Some(MessageKind::Register),
            aliases: vec![format!("sip:{aor}")],
            authenticated,
            source_ip: Some(flow.remote.ip()),
            source_port: Some(flow.remote.port()),
            utc_time: Some(std::time::SystemTime::now()),
            ..RegFacts::default()
        };
        let params = Params::registration(&facts);
        let (key, what) = (key.clone(), Box::new((req.clone(), *flow, authenticated)));
        tokio::spawn(async move {
            let reply = svc.query(&params).await;
            let _ = tx.send(PolicyDone {
                key,
                purpose: Purpose::Register(what),
                cpl: reply.cpl,
                default_cpl: svc.config().default_cpl.clone(),
            });
        });
    }

    /// The registration policy service answered for a REGISTER: a reject refuses it with the
    /// script's status, anything else lets the registrar decide.
    async fn registration_decided(
        &mut self,
        key: &Key,
        req: &Request,
        flow: &Flow,
        authenticated: bool,
        policy: &cpl::Policy,
        now: Instant,
    ) {
        let aor = super::util::header_str(&req.headers, "To")
            .and_then(|t| causeway_sip::header::NameAddr::parse(t).ok())
            .and_then(|t| super::util::aor_of(t.uri()))
            .unwrap_or_default();
        let alias = format!("sip:{aor}");
        let mut ctx = cpl::CallContext::new(alias.clone(), alias);
        ctx.authenticated = authenticated;
        let resp = match policy.evaluate(&ctx).decision {
            Decision::Reject { status, reason } => {
                self.log_registration(
                    "Registration Rejected",
                    req,
                    flow,
                    &aor,
                    "the registration policy service refused it",
                );
                Response::for_request(req, status, reason.as_deref().unwrap_or(""))
            }
            _ => match self.register(req, flow, now, true) {
                Ok(r) => r,
                Err(_) => Response::for_request(req, 500, ""),
            },
        };
        self.respond(key, resp, now).await;
        let next = self.shared.registrar.lock().unwrap().poll_timeout();
        self.schedule(super::TimerRef::Registrar, next);
    }
}
