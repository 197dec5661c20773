//! The alarm catalogue (from the reference) and the table of active alarms.

use crate::eventlog::EventLog;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

/// A catalogue entry.
#[derive(Debug, Clone, Deserialize)]
pub struct AlarmSpec {
    pub id: u32,
    pub title: String,
    /// The reference leaves a few blank; those are treated as warnings.
    #[serde(default, deserialize_with = "severity")]
    pub severity: String,
    pub category: String,
}

fn severity<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_else(|| "Warning".into()))
}

/// Every alarm the guide lists, by id.
pub fn catalogue() -> &'static BTreeMap<u32, AlarmSpec> {
    static C: OnceLock<BTreeMap<u32, AlarmSpec>> = OnceLock::new();
    C.get_or_init(|| {
        let list: Vec<AlarmSpec> =
            serde_json::from_str(include_str!("../spec/alarms.json")).expect("alarm catalogue");
        list.into_iter().map(|a| (a.id, a)).collect()
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmState {
    New,
    Acknowledged,
}

/// An alarm that is raised now.
#[derive(Debug, Clone)]
pub struct Alarm {
    pub id: u32,
    pub title: String,
    pub severity: String,
    pub detail: String,
    pub state: AlarmState,
    pub first_raised: SystemTime,
    pub last_raised: SystemTime,
    /// Distinguishes alarm instances in a listing.
    pub uuid: u64,
}

/// Active alarms. Raising an unknown id is a programming error and panics in debug builds.
pub struct Alarms {
    active: Mutex<BTreeMap<u32, Alarm>>,
    next: Mutex<u64>,
    log: Option<Arc<EventLog>>,
}

impl Alarms {
    pub fn new(log: Option<Arc<EventLog>>) -> Alarms {
        Alarms {
            active: Mutex::new(BTreeMap::new()),
            next: Mutex::new(1),
            log,
        }
    }

    /// Raises (or refreshes) an alarm. Returns whether it was newly raised.
    pub fn raise(&self, id: u32, detail: &str) -> bool {
        let spec = catalogue().get(&id);
        debug_assert!(spec.is_some(), "alarm {id} is not in the catalogue");
        let now = SystemTime::now();
        let mut active = self.active.lock().unwrap();
        if let Some(a) = active.get_mut(&id) {
            a.last_raised = now;
            if a.detail != detail {
                a.detail = detail.to_string();
            }
            return false;
        }
        let uuid = {
            let mut n = self.next.lock().unwrap();
            *n += 1;
            *n
        };
        let (title, severity) = spec
            .map(|s| (s.title.clone(), s.severity.clone()))
            .unwrap_or_else(|| ("Unknown".into(), "Warning".into()));
        active.insert(
            id,
            Alarm {
                id,
                title: title.clone(),
                severity,
                detail: detail.to_string(),
                state: AlarmState::New,
                first_raised: now,
                last_raised: now,
                uuid,
            },
        );
        drop(active);
        self.emit("Alarm Raised", id, &title, detail);
        true
    }

    /// Lowers an alarm if it is raised. Returns whether it was.
    pub fn lower(&self, id: u32) -> bool {
        let removed = self.active.lock().unwrap().remove(&id);
        match removed {
            Some(a) => {
                self.emit("Alarm Lowered", id, &a.title, &a.detail);
                true
            }
            None => false,
        }
    }

    /// Marks an alarm seen. Returns whether it is raised.
    pub fn acknowledge(&self, id: u32) -> bool {
        let mut active = self.active.lock().unwrap();
        let Some(a) = active.get_mut(&id) else {
            return false;
        };
        a.state = AlarmState::Acknowledged;
        let (title, detail) = (a.title.clone(), a.detail.clone());
        drop(active);
        self.emit("Alarm Acknowledged", id, &title, &detail);
        true
    }

    pub fn list(&self) -> Vec<Alarm> {
        self.active.lock().unwrap().values().cloned().collect()
    }

    pub fn is_raised(&self, id: u32) -> bool {
        self.active.lock().unwrap().contains_key(&id)
    }

    fn emit(&self, event: &str, id: u32, title: &str, detail: &str) {
        if let Some(log) = &self.log {
            log.event(
                1,
                "tvcs",
                event,
                &[
                    ("Id", &id.to_string()),
                    ("Title", title),
                    ("Detail", detail),
                ],
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_has_the_reference_alarms() {
        let c = catalogue();
        assert_eq!(c.len(), 387);
        assert_eq!(c[&20007].title, "Restart required");
    }

    #[test]
    fn raise_acknowledge_lower() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(EventLog::open(dir.path(), crate::LogKind::Event).unwrap());
        let a = Alarms::new(Some(log));
        assert!(a.raise(20007, "SIP Mode"));
        assert!(!a.raise(20007, "SIP Mode"));
        assert!(a.acknowledge(20007));
        assert_eq!(a.list()[0].state, AlarmState::Acknowledged);
        assert!(a.lower(20007));
        assert!(!a.lower(20007));
        let text = std::fs::read_to_string(dir.path().join("eventlog")).unwrap();
        for ev in ["Alarm Raised", "Alarm Acknowledged", "Alarm Lowered"] {
            assert!(
                text.contains(&format!("Event=\"{ev}\" Id=\"20007\"")),
                "{text}"
            );
        }
    }
}
