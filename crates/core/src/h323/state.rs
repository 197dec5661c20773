//! H.323 state shared between the RAS task and the management surfaces.

use causeway_h323::ras::{Gatekeeper, Output, Registration};
use causeway_registrar::Numbers;
use causeway_xapi::{Field, Selector};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct Shared {
    /// `None` while `H323 Mode` is Off.
    pub gatekeeper: Mutex<Option<Gatekeeper>>,
    /// Registration numbers, shared with the SIP registrar.
    pub numbers: Arc<Numbers>,
    /// The configuration revision the H.323 service last applied.
    pub applied: AtomicU64,
    pub notices: Mutex<Option<tokio::sync::mpsc::UnboundedSender<Notice>>>,
    /// The calls in progress, to tell them to clear.
    pub active: super::signalling::Active,
    /// The dial plan and zones, as of the last configuration change.
    pub routing: Mutex<Arc<super::routing::Routing>>,
    /// The search history, shared with the SIP service.
    pub searches: Arc<Mutex<crate::search_history::SearchHistory>>,
    /// The policy services in use, by the name `xStatus Policy` shows (the SIP service keeps
    /// them up to date).
    pub policies: crate::sip::state::PolicyServices,
    /// Registrations that have ended; shared with the SIP registrar.
    pub reg_history: Arc<crate::history::Registrations>,
    locate_ids: AtomicU64,
}

/// Work for the RAS task that started outside it.
#[derive(Debug)]
pub enum Notice {
    /// What the gatekeeper produced for an operator's action (a URQ to send, say).
    Send(Vec<Output>),
    /// The registration policy service decided on an RRQ.
    Decided {
        from: std::net::SocketAddr,
        local: std::net::IpAddr,
        msg: Box<causeway_h323_asn1::h225::RasMessage>,
        allowed: bool,
    },
    /// Ask neighbors with LRQs; the answer goes back on the channel.
    Locate(
        causeway_h323::ras::LocateRequest,
        tokio::sync::oneshot::Sender<Option<causeway_h323::ras::Location>>,
    ),
}

impl Shared {
    pub fn new(
        numbers: Arc<Numbers>,
        searches: Arc<Mutex<crate::search_history::SearchHistory>>,
        policies: crate::sip::state::PolicyServices,
        reg_history: Arc<crate::history::Registrations>,
    ) -> Shared {
        Shared {
            numbers,
            searches,
            policies,
            reg_history,
            ..Shared::default()
        }
    }

    /// A policy service by the name it is shown under, any case.
    pub fn policy(&self, name: &str) -> Option<Arc<causeway_policy::PolicyService>> {
        self.policies
            .lock()
            .unwrap()
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
            .map(|(_, s)| s.clone())
    }

    /// Asks a policy service; its answer as a script, with the service's default (and then
    /// a refusal) standing in for what does not parse or never came.
    pub async fn ask_policy(
        &self,
        name: &str,
        params: causeway_policy::Params,
    ) -> causeway_routing::cpl::Policy {
        use causeway_routing::cpl::Policy;
        let (cpl, default) = match self.policy(name) {
            Some(svc) => (
                svc.query(&params).await.cpl,
                svc.config().default_cpl.clone(),
            ),
            None => (
                causeway_policy::POLICY_SERVICE_DEFAULT_CPL.to_string(),
                causeway_policy::POLICY_SERVICE_DEFAULT_CPL.to_string(),
            ),
        };
        Policy::parse(&cpl)
            .or_else(|_| Policy::parse(&default))
            .unwrap_or_else(|_| {
                Policy::parse(crate::sip::policy::LAST_RESORT).expect("a fixed fragment parses")
            })
    }

    /// Keeps a finished search in the history.
    pub fn record_search(&self, r: crate::search_history::SearchRecord) {
        self.searches.lock().unwrap().add(r);
    }

    /// A new search record's number.
    pub fn search_id(&self) -> u64 {
        self.searches.lock().unwrap().next_id()
    }

    /// `xCommand Locate` for H.323: the search a Setup for `alias` would make, from the
    /// given zone or subzone (the Default Zone when none), with neighbors really asked.
    /// Returns whether it was found, where or why not, and the trace.
    pub async fn locate_search(
        self: &Arc<Self>,
        req: &causeway_xapi::LocateRequest,
    ) -> (bool, String, Vec<String>) {
        use causeway_routing::Source;
        let routing = self.routing.lock().unwrap().clone();
        let source = match req.source_zone.as_deref() {
            None => Source::DefaultZone,
            Some(z) if z.eq_ignore_ascii_case("DefaultZone") => Source::DefaultZone,
            Some(z)
                if routing.zones.contains_key(&z.to_ascii_lowercase())
                    || routing.dns_zones.contains_key(&z.to_ascii_lowercase()) =>
            {
                Source::Zone(z.to_string())
            }
            Some(z) => Source::LocalZone {
                subzone: z.to_string(),
            },
        };
        let me = self.clone();
        let locator = move |r| me.locate(r);
        let dest = [causeway_h323::alias::Alias::guess(req.alias.trim())];
        let callers: Vec<causeway_h323::alias::Alias> = (!req.source_alias.is_empty())
            .then(|| causeway_h323::alias::Alias::guess(&req.source_alias))
            .into_iter()
            .collect();
        let mut trace = Vec::new();
        let routed = super::routing::route(
            &routing,
            self,
            &locator,
            super::routing::Wanted {
                source,
                destinations: &dest,
                caller_aliases: &callers,
                hop_count: Some(req.hop_count),
                method: causeway_policy::MessageKind::Lrq,
                caller_address: None,
            },
            &mut trace,
        )
        .await;
        match routed {
            super::routing::Routed::To(at, alias, _) => {
                (true, format!("{alias} found at {at}"), trace)
            }
            super::routing::Routed::NotFound(why) => (false, format!("{why:?}"), trace),
        }
    }

    /// A new reference for a neighbor search.
    pub fn next_locate_id(&self) -> u64 {
        self.locate_ids.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Sends LRQs for a search; the receiver gets the answer (`None` when nobody has it, or
    /// when H.323 is off).
    pub fn locate(
        &self,
        req: causeway_h323::ras::LocateRequest,
    ) -> tokio::sync::oneshot::Receiver<Option<causeway_h323::ras::Location>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if let Some(n) = self.notices.lock().unwrap().as_ref() {
            let _ = n.send(Notice::Locate(req, tx));
        }
        rx
    }

    /// Runs `f` on the gatekeeper, if H.323 is on. The lock is held only for the call.
    pub fn with_gatekeeper<T>(&self, f: impl FnOnce(&mut Gatekeeper) -> T) -> Option<T> {
        self.gatekeeper.lock().unwrap().as_mut().map(f)
    }

    /// Every registration, by number.
    pub fn registrations(&self) -> Vec<Registration> {
        let mut v: Vec<Registration> = self
            .with_gatekeeper(|gk| gk.registrations().all().cloned().collect())
            .unwrap_or_default();
        v.sort_by_key(|r| r.number);
        v
    }

    fn find(&self, which: &Selector) -> Option<Registration> {
        self.with_gatekeeper(|gk| {
            let t = gk.registrations();
            match which {
                Selector::Number(n) => t.by_number(*n).cloned(),
                Selector::Serial(s) => t.by_serial(s).cloned(),
            }
        })
        .flatten()
    }

    /// Removes a registration for an operator; the endpoint is sent a URQ.
    pub fn remove_registration(&self, which: &Selector) -> Option<Registration> {
        let r = self.find(which)?;
        let out = self.with_gatekeeper(|gk| gk.unregister(&r.endpoint_id))?;
        if let Some(tx) = self.notices.lock().unwrap().as_ref() {
            let _ = tx.send(Notice::Send(out));
        }
        Some(r)
    }

    /// The registrations holding an alias (or, for a gateway, a prefix of it).
    pub fn holders(&self, alias: &str) -> Vec<Registration> {
        self.with_gatekeeper(|gk| {
            let t = gk.registrations();
            t.holder(alias)
                .or_else(|| t.by_prefix(alias))
                .cloned()
                .into_iter()
                .collect()
        })
        .unwrap_or_default()
    }

    /// Clears the call with this call identifier (32 hex digits); whether it was running.
    pub fn disconnect(&self, call_id: &str, why: &str) -> bool {
        let Some(id) = parse_call_id(call_id) else {
            return false;
        };
        self.active
            .tell(&id, super::signalling::CallNotice::Clear(why.to_string()))
    }

    /// Waits (briefly) until the RAS task has applied configuration `revision`.
    pub fn settle(&self, revision: u64) {
        if self.notices.lock().unwrap().is_none() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.applied.load(Ordering::Acquire) < revision && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// The fields `xStatus Registrations` shows for an H.323 registration.
pub fn registration_fields(r: &Registration, now: Instant) -> Vec<(String, Field)> {
    let p = format!("Registration {} ", r.number);
    let mut v = vec![
        (
            format!("{p}Name"),
            Field::str(r.aliases.first().map_or("", |a| a.text())),
        ),
        (format!("{p}Protocol"), Field::bare("H323")),
        (format!("{p}Type"), Field::str(r.kind.name())),
        (
            format!("{p}Address"),
            Field::str(
                r.call_signal
                    .first()
                    .map_or_else(String::new, |a| a.to_string()),
            ),
        ),
        (format!("{p}SerialNumber"), Field::str(r.serial_text())),
        (
            format!("{p}CreationTime"),
            Field::str(crate::history::time(r.registered_at)),
        ),
        (format!("{p}Expires"), Field::bare(r.remaining(now))),
        (format!("{p}TimeToLive"), Field::bare(r.ttl)),
        (
            format!("{p}EndpointIdentifier"),
            Field::str(r.endpoint_id.as_str()),
        ),
        (format!("{p}RasAddress"), Field::str(r.ras.to_string())),
        (format!("{p}Source"), Field::str(r.source.to_string())),
    ];
    for (i, a) in r.aliases.iter().enumerate() {
        let q = format!("{p}Aliases Alias {} ", i + 1);
        v.push((format!("{q}Type"), Field::bare(a.kind())));
        v.push((format!("{q}Value"), Field::str(a.text())));
    }
    for (i, pre) in r.prefixes.iter().enumerate() {
        v.push((
            format!("{p}Prefixes Prefix {}", i + 1),
            Field::str(pre.as_str()),
        ));
    }
    if !r.vendor.is_empty() {
        v.push((format!("{p}Vendor"), Field::str(r.vendor.as_str())));
    }
    if let Some(user) = r.authenticated_as.as_deref().filter(|u| !u.is_empty()) {
        v.push((format!("{p}AuthenticatedUser"), Field::str(user)));
    }
    v
}

fn parse_call_id(text: &str) -> Option<[u8; 16]> {
    if text.len() != 32 {
        return None;
    }
    let mut id = [0u8; 16];
    for (i, b) in id.iter_mut().enumerate() {
        *b = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(id)
}
