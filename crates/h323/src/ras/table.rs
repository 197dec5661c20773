//! The H.323 registrations: endpoints by identifier, aliases and prefixes by text, and the
//! order in which their time to live runs out.

use crate::alias::Alias;
use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

/// What kind of device registered (`EndpointType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Terminal,
    Gateway,
    Mcu,
    Gatekeeper,
    Other,
}

impl DeviceKind {
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::Terminal => "H323 Endpoint",
            DeviceKind::Gateway => "H323 Gateway",
            DeviceKind::Mcu => "H323 MCU",
            DeviceKind::Gatekeeper => "H323 Gatekeeper",
            DeviceKind::Other => "H323 Device",
        }
    }
}

/// One registered endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The `endpointIdentifier` the gatekeeper assigned.
    pub endpoint_id: String,
    /// The smallest free positive number when it registered (`RemoveRegistration`).
    pub number: u32,
    pub serial: u128,
    pub aliases: Vec<Alias>,
    /// Prefixes a gateway or MCU registered: calls to aliases starting with one go to it.
    pub prefixes: Vec<String>,
    pub kind: DeviceKind,
    pub ras: SocketAddr,
    pub call_signal: Vec<SocketAddr>,
    /// Where the RRQ came from.
    pub source: SocketAddr,
    pub vendor: String,
    pub ttl: u32,
    pub registered_at: SystemTime,
    pub refreshed: Instant,
    pub expires_at: Instant,
    /// The user whose credential verified, if any.
    pub authenticated_as: Option<String>,
    /// Our address that the endpoint registered with: where we tell it to send.
    pub local: std::net::IpAddr,
}

impl Registration {
    pub fn remaining(&self, now: Instant) -> u32 {
        self.expires_at.saturating_duration_since(now).as_secs() as u32
    }

    /// The serial number in the form `xStatus` shows (a UUID).
    pub fn serial_text(&self) -> String {
        let h = format!("{:032x}", self.serial);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }
}

fn key(text: &str) -> String {
    text.to_lowercase()
}

/// The table. Every alias is held by at most one registration (the conflict rules see to
/// that), so the alias index maps to one endpoint.
#[derive(Debug, Default)]
pub struct Registrations {
    by_id: HashMap<String, Registration>,
    by_alias: HashMap<String, String>,
    prefixes: Vec<(String, String)>,
    by_expiry: BTreeSet<(Instant, String)>,
}

impl Registrations {
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn get(&self, endpoint_id: &str) -> Option<&Registration> {
        self.by_id.get(endpoint_id)
    }

    pub fn all(&self) -> impl Iterator<Item = &Registration> {
        self.by_id.values()
    }

    pub fn by_number(&self, n: u32) -> Option<&Registration> {
        self.by_id.values().find(|r| r.number == n)
    }

    pub fn by_serial(&self, serial: &str) -> Option<&Registration> {
        self.by_id
            .values()
            .find(|r| r.serial_text().eq_ignore_ascii_case(serial))
    }

    /// The registration holding this alias.
    pub fn holder(&self, alias: &str) -> Option<&Registration> {
        self.by_alias
            .get(&key(alias))
            .and_then(|id| self.by_id.get(id))
    }

    /// The registration whose prefix is the longest one starting `alias`.
    pub fn by_prefix(&self, alias: &str) -> Option<&Registration> {
        let alias = key(alias);
        self.prefixes
            .iter()
            .filter(|(p, _)| alias.starts_with(p.as_str()))
            .max_by_key(|(p, _)| p.len())
            .and_then(|(_, id)| self.by_id.get(id))
    }

    /// Adds or replaces a registration (by endpoint identifier).
    pub fn put(&mut self, r: Registration) {
        self.remove(&r.endpoint_id.clone());
        for a in &r.aliases {
            self.by_alias.insert(key(a.text()), r.endpoint_id.clone());
        }
        for p in &r.prefixes {
            self.prefixes.push((key(p), r.endpoint_id.clone()));
        }
        self.by_expiry.insert((r.expires_at, r.endpoint_id.clone()));
        self.by_id.insert(r.endpoint_id.clone(), r);
    }

    pub fn remove(&mut self, endpoint_id: &str) -> Option<Registration> {
        let r = self.by_id.remove(endpoint_id)?;
        for a in &r.aliases {
            let k = key(a.text());
            if self.by_alias.get(&k).map(String::as_str) == Some(endpoint_id) {
                self.by_alias.remove(&k);
            }
        }
        self.prefixes.retain(|(_, id)| id != endpoint_id);
        self.by_expiry
            .remove(&(r.expires_at, r.endpoint_id.clone()));
        Some(r)
    }

    /// Moves a registration's expiry.
    pub fn refresh(&mut self, endpoint_id: &str, now: Instant, ttl: u32) {
        if let Some(r) = self.by_id.get_mut(endpoint_id) {
            self.by_expiry
                .remove(&(r.expires_at, r.endpoint_id.clone()));
            r.ttl = ttl;
            r.refreshed = now;
            r.expires_at = now + std::time::Duration::from_secs(u64::from(ttl));
            self.by_expiry.insert((r.expires_at, r.endpoint_id.clone()));
        }
    }

    /// Moves a registration's expiry without renewing it (while a poll runs).
    pub fn postpone(&mut self, endpoint_id: &str, until: Instant) {
        if let Some(r) = self.by_id.get_mut(endpoint_id) {
            self.by_expiry
                .remove(&(r.expires_at, r.endpoint_id.clone()));
            r.expires_at = until;
            self.by_expiry.insert((r.expires_at, r.endpoint_id.clone()));
        }
    }

    /// The first time a registration runs out.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.by_expiry.first().map(|(t, _)| *t)
    }

    /// The registrations whose time to live has run out by `now`.
    pub fn due(&self, now: Instant) -> Vec<String> {
        self.by_expiry
            .iter()
            .take_while(|(t, _)| *t <= now)
            .map(|(_, id)| id.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn reg(
        id: &str,
        number: u32,
        aliases: &[&str],
        prefixes: &[&str],
        now: Instant,
    ) -> Registration {
        Registration {
            endpoint_id: id.into(),
            number,
            serial: number as u128,
            aliases: aliases.iter().map(|a| Alias::guess(a)).collect(),
            prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
            kind: DeviceKind::Terminal,
            ras: "192.0.2.1:1719".parse().unwrap(),
            call_signal: vec!["192.0.2.1:1720".parse().unwrap()],
            source: "192.0.2.1:1719".parse().unwrap(),
            vendor: String::new(),
            ttl: 60,
            registered_at: SystemTime::UNIX_EPOCH,
            refreshed: now,
            expires_at: now + Duration::from_secs(60),
            authenticated_as: None,
            local: "192.0.2.100".parse().unwrap(),
        }
    }

    #[test]
    fn aliases_are_found_case_insensitively_and_prefixes_by_longest_match() {
        let now = Instant::now();
        let mut t = Registrations::default();
        t.put(reg("a", 1, &["Alice", "1000"], &[], now));
        t.put(reg("g", 2, &["gw"], &["9", "90"], now));
        assert_eq!(t.holder("alice").unwrap().endpoint_id, "a");
        assert_eq!(t.by_prefix("9044").unwrap().endpoint_id, "g");
        assert!(t.by_prefix("8044").is_none());
        t.remove("a");
        assert!(t.holder("alice").is_none());
    }

    #[test]
    fn refresh_moves_the_expiry() {
        let now = Instant::now();
        let mut t = Registrations::default();
        t.put(reg("a", 1, &["alice"], &[], now));
        assert!(t
            .due(now + Duration::from_secs(61))
            .contains(&"a".to_string()));
        t.refresh("a", now + Duration::from_secs(30), 60);
        assert!(t.due(now + Duration::from_secs(61)).is_empty());
        assert_eq!(t.next_expiry(), Some(now + Duration::from_secs(90)));
    }
}
