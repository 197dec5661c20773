//! SIP service state shared between the message loop and the management surfaces.

use crate::calls::Calls;
use causeway_registrar::{Binding, Registrar};
use causeway_xapi::{Field, Selector, StatusSource};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// The policy services in use, by the name the status shows; shared by SIP and H.323.
pub type PolicyServices = Arc<Mutex<Vec<(String, Arc<causeway_policy::PolicyService>)>>>;

/// What the message loop keeps and the xAPI reads. Locks are held only for a table operation.
#[derive(Default)]
pub struct Shared {
    pub registrar: Mutex<Registrar>,
    /// Shared with the H.323 service: one table of calls for both protocols.
    pub calls: Arc<Mutex<Calls>>,
    /// Calls released here: later requests in those dialogs get 481.
    pub released: Mutex<Released>,
    /// The most recent searches.
    /// Shared with the H.323 service: one history for both protocols.
    pub searches: Arc<Mutex<crate::search_history::SearchHistory>>,
    /// The zones and what monitoring knows of their peers.
    pub zones: Mutex<Vec<crate::sip::monitor::ZoneView>>,
    /// The configuration revision the SIP service last applied.
    pub applied: std::sync::atomic::AtomicU64,
    /// The policy services in use, by the name the status shows.
    /// Shared with the H.323 service, which asks the same services.
    pub policy_services: PolicyServices,
    /// Tells the SIP service what an operator did to its bindings and calls.
    pub notices: Mutex<Option<tokio::sync::mpsc::UnboundedSender<Notice>>>,
    /// Registrations that have ended; shared with the H.323 service.
    pub reg_history: Arc<crate::history::Registrations>,
}

/// Something an operator did outside the SIP service that it must act on.
#[derive(Debug, Clone)]
pub enum Notice {
    /// The binding with this contact key was removed: its calls may have to end.
    Removed(String),
    /// The call with this Call-ID was released: the proxy forgets it.
    Disconnected(String),
    /// Run a search for an operator and send its outcome back.
    Locate(
        causeway_xapi::LocateRequest,
        std::sync::mpsc::SyncSender<crate::sip::LocateOutcome>,
    ),
}

/// Call-IDs of calls released here without the endpoints' consent (by an operator, or with
/// their registration). They are remembered for [`Released::KEEP`], long enough for the
/// endpoints' next session refresh to meet a 481 and end the call on their side, and at most
/// [`Released::MAX`] of them, so that the set cannot grow without bound.
#[derive(Default)]
pub struct Released {
    ids: HashMap<String, Instant>,
    order: VecDeque<(Instant, String)>,
}

impl Released {
    pub const KEEP: Duration = Duration::from_secs(2 * 3600);
    pub const MAX: usize = 100_000;

    pub fn insert(&mut self, call_id: &str, now: Instant) {
        self.trim(now);
        while self.order.len() >= Self::MAX {
            self.pop();
        }
        self.ids.insert(call_id.to_string(), now);
        self.order.push_back((now, call_id.to_string()));
    }

    pub fn contains(&mut self, call_id: &str, now: Instant) -> bool {
        self.trim(now);
        self.ids.contains_key(call_id)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    fn trim(&mut self, now: Instant) {
        while self
            .order
            .front()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) >= Self::KEEP)
        {
            self.pop();
        }
    }

    fn pop(&mut self) {
        if let Some((at, id)) = self.order.pop_front() {
            // A Call-ID released twice is kept from its latest release.
            if self.ids.get(&id) == Some(&at) {
                self.ids.remove(&id);
            }
        }
    }
}

use crate::history::time;

fn binding_fields(prefix: &str, b: &Binding, now: Instant) -> Vec<(String, Field)> {
    let mut v = vec![
        (format!("{prefix}Name"), Field::str(b.aor.as_str())),
        (format!("{prefix}Protocol"), Field::bare("SIP")),
        (format!("{prefix}Type"), Field::str("SIP UA")),
        (format!("{prefix}Address"), Field::str(b.contact.as_str())),
        (
            format!("{prefix}SerialNumber"),
            Field::str(b.serial.to_string()),
        ),
        (
            format!("{prefix}CreationTime"),
            Field::str(time(b.registered_at)),
        ),
        (format!("{prefix}Expires"), Field::bare(b.remaining(now))),
        (format!("{prefix}Transport"), Field::bare(&b.transport)),
        (format!("{prefix}Source"), Field::str(b.source.to_string())),
        (
            format!("{prefix}Outbound"),
            Field::bare(if b.outbound { "True" } else { "False" }),
        ),
    ];
    if !b.user_agent.is_empty() {
        v.push((
            format!("{prefix}UserAgent"),
            Field::str(b.user_agent.as_str()),
        ));
    }
    if let Some(g) = &b.pub_gruu {
        v.push((format!("{prefix}PublicGruu"), Field::str(g.as_str())));
    }
    v
}

/// `xStatus Registrations`: SIP bindings and H.323 registrations, numbered in one sequence.
pub struct RegistrationStatus {
    pub sip: Arc<Shared>,
    pub h323: Arc<crate::h323::state::Shared>,
}

impl StatusSource for RegistrationStatus {
    fn group(&self) -> &'static str {
        "Registrations"
    }
    fn collect(&self) -> Vec<(String, Field)> {
        let now = Instant::now();
        let mut rows: Vec<(u32, Vec<(String, Field)>)> = Vec::new();
        let mut count = {
            let reg = self.sip.registrar.lock().unwrap();
            for b in reg.all() {
                rows.push((
                    b.id,
                    binding_fields(&format!("Registration {} ", b.id), &b, now),
                ));
            }
            reg.len()
        };
        for r in self.h323.registrations() {
            rows.push((r.number, crate::h323::state::registration_fields(&r, now)));
            count += 1;
        }
        rows.sort_by_key(|(n, _)| *n);
        let mut v: Vec<(String, Field)> = rows.into_iter().flat_map(|(_, f)| f).collect();
        v.push(("Count".into(), Field::bare(count)));
        v.push((
            "History Count".into(),
            Field::bare(self.sip.reg_history.len()),
        ));
        v
    }

    fn collect_on_request(&self, first: &str) -> Vec<(String, Field)> {
        if first.eq_ignore_ascii_case("History") {
            self.sip.reg_history.fields()
        } else {
            Vec::new()
        }
    }
}

/// `xStatus Calls`.
pub struct CallStatus(pub Arc<Shared>);

impl StatusSource for CallStatus {
    fn group(&self) -> &'static str {
        "Calls"
    }
    fn collect(&self) -> Vec<(String, Field)> {
        let calls = self.0.calls.lock().unwrap();
        let mut v = Vec::new();
        let mut count = 0;
        for c in calls.active() {
            count += 1;
            let p = format!("Call {} ", c.number);
            v.push((format!("{p}SerialNumber"), Field::str(c.serial.to_string())));
            v.push((format!("{p}Tag"), Field::str(c.tag.to_string())));
            v.push((format!("{p}State"), Field::bare(c.state.name())));
            v.push((format!("{p}Protocol"), Field::bare(c.protocol)));
            v.push((format!("{p}SourceAlias"), Field::str(c.source.as_str())));
            v.push((
                format!("{p}DestinationAlias"),
                Field::str(c.destination.as_str()),
            ));
            v.push((format!("{p}StartTime"), Field::str(time(c.started))));
            if let Some(t) = c.connected {
                v.push((format!("{p}ConnectTime"), Field::str(time(t))));
            }
        }
        v.push(("Count".into(), Field::bare(count)));
        v.push(("History Count".into(), Field::bare(calls.history().count())));
        v
    }

    fn collect_on_request(&self, first: &str) -> Vec<(String, Field)> {
        if !first.eq_ignore_ascii_case("History") {
            return Vec::new();
        }
        let calls = self.0.calls.lock().unwrap();
        let mut v = Vec::new();
        for (i, c) in calls.history().enumerate() {
            let p = format!("History Call {} ", i + 1);
            v.push((format!("{p}SerialNumber"), Field::str(c.serial.to_string())));
            v.push((format!("{p}Protocol"), Field::bare(c.protocol)));
            v.push((format!("{p}SourceAlias"), Field::str(c.source.as_str())));
            v.push((
                format!("{p}DestinationAlias"),
                Field::str(c.destination.as_str()),
            ));
            v.push((format!("{p}StartTime"), Field::str(time(c.started))));
            if let Some(t) = c.connected {
                v.push((format!("{p}ConnectTime"), Field::str(time(t))));
            }
            if let Some(t) = c.ended {
                v.push((format!("{p}EndTime"), Field::str(time(t))));
                let from = c.connected.unwrap_or(c.started);
                v.push((
                    format!("{p}Duration"),
                    Field::bare(t.duration_since(from).map(|d| d.as_secs()).unwrap_or(0)),
                ));
            }
            v.push((
                format!("{p}Reason"),
                Field::str(c.reason.as_deref().unwrap_or("")),
            ));
        }
        v
    }
}

impl Shared {
    /// Finds a binding by number or serial number.
    pub fn registration(&self, which: &Selector) -> Option<Binding> {
        let reg = self.registrar.lock().unwrap();
        match which {
            Selector::Number(n) => reg.by_number(*n),
            Selector::Serial(s) => {
                let s: uuid::Uuid = s.parse().ok()?;
                reg.by_serial(&s)
            }
        }
    }

    /// Runs `xCommand Locate` on the SIP service and waits for its outcome.
    pub fn locate(
        &self,
        request: &causeway_xapi::LocateRequest,
    ) -> Result<Vec<(String, Field)>, String> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        match self.notices.lock().unwrap().as_ref() {
            Some(n) => n
                .send(Notice::Locate(request.clone(), tx))
                .map_err(|_| "the SIP service is not running".to_string())?,
            None => return Err("the SIP service is not running".into()),
        }
        // Searches end by Timer C at worst; a search that outlives this is reported as such.
        let outcome = rx
            .recv_timeout(std::time::Duration::from_secs(200))
            .map_err(|_| "the search did not finish in time".to_string())??;
        let mut out = vec![
            ("Alias".into(), Field::str(request.alias.clone())),
            (
                "Found".into(),
                Field::bare(if outcome.found { "True" } else { "False" }),
            ),
            ("Detail".into(), Field::str(outcome.detail)),
        ];
        for (i, line) in outcome.trace.into_iter().enumerate() {
            out.push((format!("Trace {}", i + 1), Field::str(line)));
        }
        Ok(out)
    }

    /// Waits (at most two seconds) until the SIP service has applied `revision`.
    pub fn settle(&self, revision: u64) {
        use std::sync::atomic::Ordering;
        // Only a running service moves this on; without one there is nothing to wait for.
        if self.notices.lock().unwrap().is_none() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.applied.load(Ordering::Acquire) < revision && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn notify(&self, notice: Notice) {
        if let Some(tx) = self.notices.lock().unwrap().as_ref() {
            let _ = tx.send(notice);
        }
    }

    /// Removes a binding at an operator's request and tells the SIP service.
    pub fn remove_registration(&self, which: &Selector) -> Option<Binding> {
        let b = self.registration(which)?;
        self.registrar.lock().unwrap().remove(&b.serial);
        self.reg_history
            .push(crate::history::Ended::sip(&b, "Operator forced removal"));
        self.notify(Notice::Removed(b.key.clone()));
        Some(b)
    }

    /// `DisconnectCall`: releases a call here. The endpoints are not told (no BYE is sent);
    /// whatever they send in the dialog afterwards is refused with 481.
    /// A call in progress, by number or serial number.
    pub fn call(&self, which: &Selector) -> Option<crate::calls::Call> {
        let calls = self.calls.lock().unwrap();
        match which {
            Selector::Number(n) => calls.get(*n).cloned(),
            Selector::Serial(s) => calls.by_serial(s).cloned(),
        }
    }

    pub fn disconnect(&self, which: &Selector) -> Result<Vec<(String, Field)>, String> {
        let mut calls = self.calls.lock().unwrap();
        let number = match which {
            Selector::Number(n) => calls.get(*n).map(|c| c.number),
            Selector::Serial(s) => calls.by_serial(s).map(|c| c.number),
        }
        .ok_or_else(|| "no such call".to_string())?;
        let call = calls
            .end(number, "Operator disconnect", SystemTime::now())
            .ok_or_else(|| "no such call".to_string())?;
        self.released
            .lock()
            .unwrap()
            .insert(&call.call_id, Instant::now());
        self.notify(Notice::Disconnected(call.call_id.clone()));
        Ok(vec![
            ("Call".into(), Field::bare(call.number)),
            ("SerialNumber".into(), Field::str(call.serial.to_string())),
        ])
    }

    /// `FindRegistration`: every binding of an alias (an AOR, with or without a `sip:`).
    pub fn find(&self, alias: &str) -> Vec<(String, Field)> {
        let aor = alias
            .trim()
            .trim_start_matches("sips:")
            .trim_start_matches("sip:");
        let aor = match aor.split_once('@') {
            Some((u, h)) => format!("{u}@{}", h.to_ascii_lowercase()),
            None => aor.to_string(),
        };
        let reg = self.registrar.lock().unwrap();
        let now = Instant::now();
        let found = reg.lookup(&aor);
        let mut v = Vec::new();
        for b in &found {
            v.extend(binding_fields(&format!("Registration {} ", b.id), b, now));
        }
        v.push(("Count".into(), Field::bare(found.len())));
        v
    }
}

/// `xStatus Policy`: each policy service in use, the server it would ask now, and how that
/// server answered its last status poll.
pub struct PolicyStatus(pub Arc<Shared>);

impl StatusSource for PolicyStatus {
    fn group(&self) -> &'static str {
        "Policy"
    }

    fn collect(&self) -> Vec<(String, Field)> {
        let services = self.0.policy_services.lock().unwrap();
        let mut v = Vec::new();
        for (i, (name, svc)) in services.iter().enumerate() {
            let p = format!("Service {} ", i + 1);
            let cfg = svc.config();
            let status = svc.status();
            let states: Vec<_> = status.iter().map(|s| s.state).collect();
            let current = causeway_policy::attempt_order(&states)
                .first()
                .and_then(|&i| status.get(i));
            let url = current.map_or(String::new(), |s| {
                format!(
                    "{}://{}/{}",
                    cfg.protocol.scheme(),
                    s.address,
                    cfg.path.trim_start_matches('/')
                )
            });
            let state = current.map_or("Inactive", |s| match s.state {
                causeway_policy::ServerState::Active => "Active",
                causeway_policy::ServerState::Failed => "Failed",
                causeway_policy::ServerState::Unknown => "Checking",
            });
            v.push((format!("{p}Name"), Field::str(name.as_str())));
            v.push((format!("{p}URL"), Field::str(url)));
            v.push((format!("{p}Status"), Field::bare(state)));
            let used = svc.last_used().map_or(String::new(), |t| {
                chrono::DateTime::<chrono::Utc>::from(t)
                    .format("%Y-%m-%d %H:%M:%S UTC")
                    .to_string()
            });
            v.push((format!("{p}LastUsed"), Field::str(used)));
        }
        v.push(("Count".into(), Field::bare(services.len())));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::Released;
    use std::time::{Duration, Instant};

    #[test]
    fn released_calls_are_forgotten_after_keep() {
        let t0 = Instant::now();
        let mut r = Released::default();
        r.insert("a", t0);
        r.insert("b", t0 + Duration::from_secs(10));
        assert!(r.contains("a", t0 + Released::KEEP - Duration::from_secs(1)));
        assert!(!r.contains("a", t0 + Released::KEEP));
        assert!(r.contains("b", t0 + Released::KEEP));
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn a_call_released_again_is_kept_from_the_later_release() {
        let t0 = Instant::now();
        let mut r = Released::default();
        r.insert("a", t0);
        r.insert("a", t0 + Duration::from_secs(60));
        assert!(r.contains("a", t0 + Released::KEEP));
    }

    #[test]
    fn the_set_is_bounded() {
        let t0 = Instant::now();
        let mut r = Released::default();
        for i in 0..Released::MAX + 10 {
            r.insert(&i.to_string(), t0);
        }
        assert_eq!(r.len(), Released::MAX);
        assert!(!r.contains("0", t0) && r.contains("10", t0));
    }
}
