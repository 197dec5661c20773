//! The binding table and the REGISTER decision (RFC 3261 §10.3, RFC 5626 §6, RFC 5627).

use crate::expiry::{Expiry, Grant, Strategy};
use crate::policy::Restriction;
use causeway_config::Snapshot;
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};
use uuid::Uuid;

/// Registrar settings, read from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub standard: Expiry,
    /// For RFC 5626 registrations (with `+sip.instance` and `reg-id`).
    pub outbound: Expiry,
    /// `Flow-Timer` for outbound registrations; 0 sends none.
    pub flow_timer: u32,
    /// When neither the contact nor the request gives an expiry (RFC 3261's 3600).
    pub default_expires: u32,
    pub gruu: bool,
}

impl Settings {
    pub fn from_config(snap: &Snapshot) -> Settings {
        let trio = |kind: &str| Expiry {
            strategy: match snap.get(&format!("SIP Registration {kind} Refresh Strategy")) {
                Some("Variable") => Strategy::Variable,
                _ => Strategy::Maximum,
            },
            minimum: snap
                .int(&format!("SIP Registration {kind} Refresh Minimum"))
                .unwrap_or(45) as u32,
            maximum: snap
                .int(&format!("SIP Registration {kind} Refresh Maximum"))
                .unwrap_or(60) as u32,
        };
        Settings {
            standard: trio("Standard"),
            outbound: trio("Outbound"),
            flow_timer: snap
                .int("SIP Registration Outbound Flow Timer")
                .unwrap_or(0) as u32,
            default_expires: 3600,
            gruu: snap.get("SIP GRUU Mode") != Some("Off"),
        }
    }
}

/// One Contact of a REGISTER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactReq {
    /// The contact URI as sent.
    pub uri: String,
    /// The URI in the form used to compare contacts (RFC 3261 §19.1.4), from the SIP layer.
    pub key: String,
    pub expires: Option<u32>,
    pub q: Option<String>,
    /// `+sip.instance` (RFC 5626), quotes removed.
    pub instance: Option<String>,
    pub reg_id: Option<u32>,
}

/// A REGISTER, reduced to what the registrar decides on.
#[derive(Debug, Clone)]
pub struct Request {
    /// The address-of-record, `user@host` with the host in lower case.
    pub aor: String,
    /// The aliases the restriction policy tests (for SIP, the AOR).
    pub aliases: Vec<String>,
    /// `None` for `Contact: *`; an empty list is a query.
    pub contacts: Option<Vec<ContactReq>>,
    pub expires: Option<u32>,
    pub call_id: String,
    pub cseq: u32,
    pub source: SocketAddr,
    pub transport: String,
    /// The request's Supported header lists `outbound`.
    pub outbound: bool,
    /// The request's Supported header lists `gruu`.
    pub gruu: bool,
    pub path: Vec<String>,
    pub user_agent: String,
}

/// A registration held by this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub serial: Uuid,
    /// The smallest free positive number when it was created (`RemoveRegistration`).
    pub id: u32,
    pub aor: String,
    pub contact: String,
    pub key: String,
    pub q: Option<String>,
    pub instance: Option<String>,
    pub reg_id: Option<u32>,
    pub call_id: String,
    pub cseq: u32,
    pub granted: u32,
    pub expires_at: Instant,
    pub registered_at: SystemTime,
    pub source: SocketAddr,
    pub transport: String,
    pub outbound: bool,
    pub path: Vec<String>,
    pub user_agent: String,
    /// The public GRUU (RFC 5627) handed out for this instance.
    pub pub_gruu: Option<String>,
}

impl Binding {
    pub fn remaining(&self, now: Instant) -> u32 {
        self.expires_at.saturating_duration_since(now).as_secs() as u32
    }
}

/// Why a REGISTER was not applied; each maps to one SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 423 with `Min-Expires`.
    TooBrief { min_expires: u32 },
    /// 403: the restriction policy said no.
    Forbidden(String),
    /// 400: the request is inconsistent (for example `*` with a non-zero expiry).
    BadRequest(String),
    /// 500: an older or repeated request for a binding (same Call-ID, CSeq not higher).
    OutOfOrder,
}

/// Why a binding went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovalReason {
    Unregistered,
    Expired,
    Operator,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    pub binding: Binding,
    pub reason: RemovalReason,
}

/// The result of an accepted REGISTER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Every binding of the AOR now, for the 200's Contact list.
    pub bindings: Vec<Binding>,
    /// Serials created by this request.
    pub added: Vec<Uuid>,
    /// Serials refreshed by this request.
    pub refreshed: Vec<Uuid>,
    pub removed: Vec<Removed>,
    /// `Flow-Timer` to return (outbound registrations only).
    pub flow_timer: Option<u32>,
}

/// The table of registrations.
#[derive(Debug, Default)]
pub struct Registrar {
    bindings: HashMap<Uuid, Binding>,
    by_aor: HashMap<String, Vec<Uuid>>,
    by_expiry: BTreeSet<(Instant, Uuid)>,
    by_id: BTreeMap<u32, Uuid>,
    free_ids: BTreeSet<u32>,
    /// Bindings by contact key, for requests addressed to a registered contact.
    by_contact: HashMap<String, Uuid>,
}

/// What one contact of a request will do, worked out before anything changes.
enum Step {
    Remove(Uuid),
    Refresh(Uuid, u32, usize),
    Add(usize, u32, bool),
}

impl Registrar {
    pub fn new() -> Registrar {
        Registrar::default()
    }

    pub fn len(&self) -> usize {
        self.bindings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }

    /// Decides on a REGISTER and applies it. Nothing changes when it is refused.
    #[allow(clippy::too_many_arguments)]
    pub fn register(
        &mut self,
        req: &Request,
        settings: &Settings,
        restriction: &Restriction,
        now: Instant,
        wall: SystemTime,
        rng: &mut impl Rng,
    ) -> Result<Decision, Refusal> {
        let existing: Vec<Uuid> = self.by_aor.get(&req.aor).cloned().unwrap_or_default();
        let mut decision = Decision {
            bindings: Vec::new(),
            added: Vec::new(),
            refreshed: Vec::new(),
            removed: Vec::new(),
            flow_timer: None,
        };
        let Some(contacts) = &req.contacts else {
            // `Contact: *` removes every binding, and only with an expiry of zero.
            if req.expires != Some(0) {
                return Err(Refusal::BadRequest("Contact: * needs Expires: 0".into()));
            }
            for s in existing {
                if let Some(b) = self.take(s) {
                    decision.removed.push(Removed {
                        binding: b,
                        reason: RemovalReason::Unregistered,
                    });
                }
            }
            return Ok(decision);
        };
        let adding = contacts
            .iter()
            .any(|c| c.expires.or(req.expires) != Some(0));
        if adding {
            let aliases: Vec<&str> = req.aliases.iter().map(String::as_str).collect();
            restriction.check(&aliases).map_err(Refusal::Forbidden)?;
        }
        // First pass: decide every contact; refuse the request as a whole.
        let mut steps = Vec::new();
        let mut too_brief: Option<u32> = None;
        for (i, c) in contacts.iter().enumerate() {
            let outbound = req.outbound && c.instance.is_some() && c.reg_id.is_some();
            let expiry = if outbound {
                &settings.outbound
            } else {
                &settings.standard
            };
            let requested = c
                .expires
                .or(req.expires)
                .unwrap_or(settings.default_expires);
            let grant = expiry.grant(requested, rng);
            let current = existing.iter().copied().find(|s| {
                let b = &self.bindings[s];
                if outbound {
                    b.instance == c.instance && b.reg_id == c.reg_id
                } else {
                    b.key == c.key
                }
            });
            if let Some(s) = current {
                let b = &self.bindings[&s];
                if b.call_id == req.call_id && req.cseq <= b.cseq {
                    return Err(Refusal::OutOfOrder);
                }
            }
            match (grant, current) {
                (Grant::TooBrief(min), _) => {
                    too_brief = Some(too_brief.map_or(min, |m: u32| m.max(min)))
                }
                (Grant::Remove, Some(s)) => steps.push(Step::Remove(s)),
                (Grant::Remove, None) => {}
                (Grant::Seconds(g), Some(s)) => steps.push(Step::Refresh(s, g, i)),
                (Grant::Seconds(g), None) => steps.push(Step::Add(i, g, outbound)),
            }
        }
        if let Some(min_expires) = too_brief {
            return Err(Refusal::TooBrief { min_expires });
        }
        // Second pass: apply.
        for step in steps {
            match step {
                Step::Remove(s) => {
                    if let Some(b) = self.take(s) {
                        decision.removed.push(Removed {
                            binding: b,
                            reason: RemovalReason::Unregistered,
                        });
                    }
                }
                Step::Refresh(s, granted, i) => {
                    let mut b = self.take_quiet(s).expect("decided above");
                    let c = &contacts[i];
                    b.contact = c.uri.clone();
                    b.key = c.key.clone();
                    b.q = c.q.clone();
                    b.call_id = req.call_id.clone();
                    b.cseq = req.cseq;
                    b.granted = granted;
                    b.expires_at = now + Duration::from_secs(granted.into());
                    b.source = req.source;
                    b.transport = req.transport.clone();
                    b.path = req.path.clone();
                    b.user_agent = req.user_agent.clone();
                    decision.refreshed.push(s);
                    self.put(b);
                }
                Step::Add(i, granted, outbound) => {
                    let c = &contacts[i];
                    let serial = uuid::Builder::from_random_bytes(rng.gen()).into_uuid();
                    let id = self.next_id();
                    let pub_gruu = match (&c.instance, settings.gruu && req.gruu) {
                        (Some(inst), true) => Some(format!(
                            "sip:{};gr={}",
                            req.aor,
                            inst.trim_matches(|ch| ch == '<' || ch == '>')
                        )),
                        _ => None,
                    };
                    if outbound {
                        decision.flow_timer =
                            (settings.flow_timer > 0).then_some(settings.flow_timer);
                    }
                    decision.added.push(serial);
                    self.put(Binding {
                        serial,
                        id,
                        aor: req.aor.clone(),
                        contact: c.uri.clone(),
                        key: c.key.clone(),
                        q: c.q.clone(),
                        instance: c.instance.clone(),
                        reg_id: c.reg_id,
                        call_id: req.call_id.clone(),
                        cseq: req.cseq,
                        granted,
                        expires_at: now + Duration::from_secs(granted.into()),
                        registered_at: wall,
                        source: req.source,
                        transport: req.transport.clone(),
                        outbound,
                        path: req.path.clone(),
                        user_agent: req.user_agent.clone(),
                        pub_gruu,
                    });
                }
            }
        }
        if decision.flow_timer.is_none()
            && settings.flow_timer > 0
            && contacts
                .iter()
                .any(|c| req.outbound && c.instance.is_some() && c.reg_id.is_some())
        {
            decision.flow_timer = Some(settings.flow_timer);
        }
        decision.bindings = self.lookup(&req.aor).into_iter().cloned().collect();
        Ok(decision)
    }

    /// The smallest positive number not in use: every number below the highest one in use is
    /// either in use or in `free_ids`.
    fn next_id(&mut self) -> u32 {
        match self.free_ids.pop_first() {
            Some(id) => id,
            None => self.by_id.keys().next_back().map_or(1, |top| top + 1),
        }
    }

    fn put(&mut self, b: Binding) {
        self.by_contact.insert(b.key.clone(), b.serial);
        self.by_expiry.insert((b.expires_at, b.serial));
        self.by_aor.entry(b.aor.clone()).or_default().push(b.serial);
        self.by_id.insert(b.id, b.serial);
        self.bindings.insert(b.serial, b);
    }

    /// Removes a binding and frees its number.
    fn take(&mut self, serial: Uuid) -> Option<Binding> {
        let b = self.take_quiet(serial)?;
        self.by_id.remove(&b.id);
        self.free_ids.insert(b.id);
        self.trim_free();
        Some(b)
    }

    /// Removes a binding from every index except the number (it is about to come back).
    fn take_quiet(&mut self, serial: Uuid) -> Option<Binding> {
        let b = self.bindings.remove(&serial)?;
        if self.by_contact.get(&b.key) == Some(&serial) {
            self.by_contact.remove(&b.key);
        }
        self.by_expiry.remove(&(b.expires_at, serial));
        if let Some(list) = self.by_aor.get_mut(&b.aor) {
            list.retain(|s| *s != serial);
            if list.is_empty() {
                self.by_aor.remove(&b.aor);
            }
        }
        Some(b)
    }

    /// Drops free numbers above the highest one in use.
    fn trim_free(&mut self) {
        let top = self.by_id.keys().next_back().copied().unwrap_or(0);
        self.free_ids.retain(|&id| id < top);
    }

    /// The live bindings of an AOR, highest q first.
    pub fn lookup(&self, aor: &str) -> Vec<&Binding> {
        let mut v: Vec<&Binding> = self
            .by_aor
            .get(aor)
            .into_iter()
            .flatten()
            .filter_map(|s| self.bindings.get(s))
            .collect();
        v.sort_by(|a, b| {
            let q = |x: &Binding| {
                x.q.as_deref()
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0)
            };
            q(b).partial_cmp(&q(a)).unwrap_or(std::cmp::Ordering::Equal)
        });
        v
    }

    /// Every binding, by number.
    pub fn all(&self) -> impl Iterator<Item = &Binding> {
        self.by_id.values().filter_map(|s| self.bindings.get(s))
    }

    /// The binding registered with this contact (by the key the SIP layer computes).
    pub fn by_contact(&self, key: &str) -> Option<&Binding> {
        self.by_contact.get(key).and_then(|s| self.bindings.get(s))
    }

    pub fn by_serial(&self, serial: &Uuid) -> Option<&Binding> {
        self.bindings.get(serial)
    }

    pub fn by_number(&self, id: u32) -> Option<&Binding> {
        self.by_id.get(&id).and_then(|s| self.bindings.get(s))
    }

    /// Removes a binding at an operator's request.
    pub fn remove(&mut self, serial: &Uuid) -> Option<Removed> {
        self.take(*serial).map(|binding| Removed {
            binding,
            reason: RemovalReason::Operator,
        })
    }

    /// When the next binding expires.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.by_expiry.first().map(|(t, _)| *t)
    }

    /// Removes the bindings whose time is up.
    pub fn expire(&mut self, now: Instant) -> Vec<Removed> {
        let due: Vec<Uuid> = self
            .by_expiry
            .iter()
            .take_while(|(t, _)| *t <= now)
            .map(|(_, s)| *s)
            .collect();
        due.into_iter()
            .filter_map(|s| self.take(s))
            .map(|binding| Removed {
                binding,
                reason: RemovalReason::Expired,
            })
            .collect()
    }
}
