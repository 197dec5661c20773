//! SIP service state shared between the message loop and the management surfaces.

use crate::calls::Calls;
use causeway_registrar::{Binding, Registrar};
use causeway_xapi::{Field, Selector, StatusSource};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

/// What the message loop keeps and the xAPI reads. Locks are held only for a table operation.
#[derive(Default)]
pub struct Shared {
    pub registrar: Mutex<Registrar>,
    pub calls: Mutex<Calls>,
    /// Call-IDs of calls an operator released: later requests in those dialogs get 481.
    pub released: Mutex<std::collections::HashSet<String>>,
    /// Tells the SIP service about bindings removed from outside it (by an operator), so that
    /// it can end their calls.
    pub removals: Mutex<Option<tokio::sync::mpsc::UnboundedSender<String>>>,
}

fn time(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t)
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

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

/// `xStatus Registrations`.
pub struct RegistrationStatus(pub Arc<Shared>);

impl StatusSource for RegistrationStatus {
    fn group(&self) -> &'static str {
        "Registrations"
    }
    fn collect(&self) -> Vec<(String, Field)> {
        let reg = self.0.registrar.lock().unwrap();
        let now = Instant::now();
        let mut v = Vec::new();
        for b in reg.all() {
            v.extend(binding_fields(&format!("Registration {} ", b.id), b, now));
        }
        v.push(("Count".into(), Field::bare(reg.len())));
        v
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
}

impl Shared {
    /// Finds a binding by number or serial number.
    pub fn registration(&self, which: &Selector) -> Option<Binding> {
        let reg = self.registrar.lock().unwrap();
        match which {
            Selector::Number(n) => reg.by_number(*n).cloned(),
            Selector::Serial(s) => {
                let s: uuid::Uuid = s.parse().ok()?;
                reg.by_serial(&s).cloned()
            }
        }
    }

    /// Removes a binding at an operator's request and tells the SIP service.
    pub fn remove_registration(&self, which: &Selector) -> Option<Binding> {
        let b = self.registration(which)?;
        self.registrar.lock().unwrap().remove(&b.serial);
        if let Some(tx) = self.removals.lock().unwrap().as_ref() {
            let _ = tx.send(b.key.clone());
        }
        Some(b)
    }

    /// `DisconnectCall`: releases a call here. The endpoints are not told (no BYE is sent);
    /// whatever they send in the dialog afterwards is refused with 481.
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
        self.released.lock().unwrap().insert(call.call_id.clone());
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
