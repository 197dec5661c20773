//! Which domains are ours, and which aliases may register.

use causeway_config::Snapshot;
use causeway_routing::{Pattern, PatternType, Variables};

/// The domains this node is registrar for, plus its own names and addresses.
#[derive(Debug, Clone, Default)]
pub struct Domains {
    names: Vec<String>,
}

impl Domains {
    /// From `SIP Domain [n] Name` and the node's own host names and addresses.
    pub fn from_config(snap: &Snapshot, own: &[String]) -> Domains {
        let mut names: Vec<String> = snap
            .rows("SIP Domain")
            .into_iter()
            .filter_map(|n| snap.get(&format!("SIP Domain {n} Name")))
            .chain(own.iter().map(String::as_str))
            .filter(|s| !s.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
        names.sort();
        names.dedup();
        Domains { names }
    }

    pub fn new(names: &[&str]) -> Domains {
        Domains {
            names: names.iter().map(|s| s.to_ascii_lowercase()).collect(),
        }
    }

    /// Whether an address-of-record's host is one we are registrar for.
    pub fn is_local(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.names.iter().any(|d| d.eq_ignore_ascii_case(host))
    }
}

/// The registration restriction policy (`Registration RestrictionPolicy Mode`).
#[derive(Debug, Clone)]
pub enum Restriction {
    None,
    /// Register when any alias matches an entry.
    Allow(Vec<Pattern>),
    /// Refuse when any alias matches an entry.
    Deny(Vec<Pattern>),
    /// A policy service decides; its caller asks it before the registrar sees the request,
    /// so the registrar lets through what reaches it.
    Decided,
    /// A mode whose service causeway does not provide yet: every registration is refused, so
    /// that a policy the administrator chose is never silently bypassed.
    Unavailable(String),
}

impl Restriction {
    pub fn from_config(snap: &Snapshot, vars: &Variables) -> Restriction {
        let list = |table: &str| -> Vec<Pattern> {
            snap.rows(table)
                .into_iter()
                .filter_map(|n| {
                    let text = snap.get(&format!("{table} {n} Pattern String"))?;
                    let kind: PatternType = snap
                        .get(&format!("{table} {n} Pattern Type"))
                        .unwrap_or("Exact")
                        .parse()
                        .ok()?;
                    // An entry that no longer compiles (a variable's value changed) matches nothing.
                    Pattern::compile(kind, text, vars).ok()
                })
                .collect()
        };
        match snap
            .get("Registration RestrictionPolicy Mode")
            .unwrap_or("None")
        {
            "AllowList" => Restriction::Allow(list("Registration AllowList")),
            "DenyList" => Restriction::Deny(list("Registration DenyList")),
            "None" => Restriction::None,
            "PolicyService" => Restriction::Decided,
            other => Restriction::Unavailable(other.to_string()),
        }
    }

    /// `Err(reason)` when the aliases may not register.
    pub fn check(&self, aliases: &[&str]) -> Result<(), String> {
        match self {
            Restriction::None | Restriction::Decided => Ok(()),
            Restriction::Allow(list) => {
                if aliases.iter().any(|a| list.iter().any(|p| p.matches(a))) {
                    Ok(())
                } else {
                    Err("no alias is on the allow list".into())
                }
            }
            Restriction::Deny(list) => {
                match aliases.iter().find(|a| list.iter().any(|p| p.matches(a))) {
                    Some(a) => Err(format!("alias {a} is on the deny list")),
                    None => Ok(()),
                }
            }
            Restriction::Unavailable(mode) => Err(format!(
                "restriction policy {mode} is not available in this version"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(kind: PatternType, s: &str) -> Pattern {
        Pattern::compile(kind, s, &Variables::default()).unwrap()
    }

    #[test]
    fn allow_list_needs_any_alias_and_deny_list_refuses_any() {
        let allow = Restriction::Allow(vec![pat(PatternType::Suffix, "@example.com")]);
        assert!(allow.check(&["alice@example.com"]).is_ok());
        assert!(allow.check(&["1234", "alice@EXAMPLE.com"]).is_ok());
        assert!(allow.check(&["bob@other.com"]).is_err());
        assert!(Restriction::Allow(vec![]).check(&["a@b"]).is_err());
        let deny = Restriction::Deny(vec![pat(PatternType::Regex, "bad.*")]);
        assert!(deny.check(&["good@x", "badguy@x"]).is_err());
        assert!(deny.check(&["good@x"]).is_ok());
        assert!(Restriction::Deny(vec![]).check(&["a@b"]).is_ok());
        assert!(Restriction::Unavailable("PolicyService".into())
            .check(&["a@b"])
            .is_err());
    }

    #[test]
    fn local_domains_ignore_case_and_brackets() {
        let d = Domains::new(&["Example.com", "192.0.2.1", "2001:db8::1"]);
        assert!(d.is_local("example.COM"));
        assert!(d.is_local("192.0.2.1"));
        assert!(d.is_local("[2001:db8::1]"));
        assert!(!d.is_local("example.org"));
    }
}
