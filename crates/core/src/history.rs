//! Registrations that have ended since the server started, for the registration history
//! (`xStatus Registrations History`, Status > Registrations > History).

use causeway_xapi::Field;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::SystemTime;

/// How many ended registrations are kept; the oldest go first.
pub const KEPT: usize = 1000;

/// One registration that has ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// The SIP AOR, or an H.323 registration's first alias.
    pub name: String,
    pub protocol: &'static str,
    /// The contact (SIP) or call signalling address (H.323).
    pub address: String,
    pub created: SystemTime,
    pub ended: SystemTime,
    pub reason: String,
}

impl Ended {
    /// A SIP binding that has just gone.
    pub fn sip(b: &causeway_registrar::table::Binding, reason: &str) -> Ended {
        Ended {
            name: b.aor.clone(),
            protocol: "SIP",
            address: b.contact.clone(),
            created: b.registered_at,
            ended: SystemTime::now(),
            reason: reason.to_string(),
        }
    }
}

/// The ended registrations of both protocols, shared by the SIP registrar and the gatekeeper.
#[derive(Default)]
pub struct Registrations {
    kept: Mutex<VecDeque<Ended>>,
}

impl Registrations {
    pub fn push(&self, e: Ended) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() == KEPT {
            kept.pop_front();
        }
        kept.push_back(e);
    }

    pub fn len(&self) -> usize {
        self.kept.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `History Registration N …` leaves, oldest first, numbered from 1.
    pub fn fields(&self) -> Vec<(String, Field)> {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        let mut v = Vec::with_capacity(kept.len() * 7);
        for (i, e) in kept.iter().enumerate() {
            let p = format!("History Registration {} ", i + 1);
            v.push((format!("{p}Name"), Field::str(e.name.as_str())));
            v.push((format!("{p}Protocol"), Field::bare(e.protocol)));
            v.push((format!("{p}Address"), Field::str(e.address.as_str())));
            v.push((format!("{p}CreationTime"), Field::str(time(e.created))));
            v.push((format!("{p}EndTime"), Field::str(time(e.ended))));
            v.push((
                format!("{p}Duration"),
                Field::bare(
                    e.ended
                        .duration_since(e.created)
                        .map(|d| d.as_secs())
                        .unwrap_or(0),
                ),
            ));
            v.push((format!("{p}Reason"), Field::str(e.reason.as_str())));
        }
        v
    }
}

/// Times as the status shows them everywhere.
pub fn time(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t)
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ended(name: &str) -> Ended {
        let created = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        Ended {
            name: name.into(),
            protocol: "SIP",
            address: "sip:a@192.0.2.1".into(),
            created,
            ended: created + Duration::from_secs(90),
            reason: "Expired".into(),
        }
    }

    #[test]
    fn the_oldest_go_first_and_each_shows_its_duration() {
        let h = Registrations::default();
        for i in 0..KEPT + 5 {
            h.push(ended(&format!("u{i}@example.com")));
        }
        assert_eq!(h.len(), KEPT);
        let f = h.fields();
        assert_eq!(f[0].0, "History Registration 1 Name");
        assert_eq!(f[0].1, Field::str("u5@example.com"));
        assert!(f.contains(&("History Registration 1 Duration".into(), Field::bare(90))));
        assert!(f.contains(&(
            "History Registration 1 EndTime".into(),
            Field::str("2023-11-14 22:14:50 UTC")
        )));
    }
}
