//! Checks of configuration values only the routing core can read: call policy scripts and
//! the regular expressions of call policy rules. Installed on the configuration so that every
//! surface refuses a value the core could not run, and the old value stays.

use crate::cpl::{Policy, RuleAction, RuleSource, WebRule};
use causeway_config::Config;

/// Whether a stored path holds a CPL script (an uploaded policy or a Default CPL).
fn holds_cpl(path: &str) -> bool {
    path == crate::dialplan::POLICY_FILE || path.ends_with(" DefaultCPL")
}

/// Whether a stored path holds a call policy rule's regular expression.
fn holds_rule_pattern(path: &str) -> bool {
    path.starts_with("Policy AdministratorPolicy Rules Rule ")
        && (path.ends_with(" SourcePattern") || path.ends_with(" DestinationPattern"))
}

/// Why `value` cannot be stored at `path`, if the routing core would refuse it.
pub fn check(path: &str, value: &str) -> Option<Result<(), String>> {
    if holds_cpl(path) {
        if value.trim().is_empty() {
            return Some(Ok(()));
        }
        return Some(
            Policy::parse(value)
                .map(|_| ())
                .map_err(|e| format!("not a call policy script this server runs: {e}")),
        );
    }
    if holds_rule_pattern(path) {
        let rule = WebRule {
            source: RuleSource::From {
                authenticated: false,
                pattern: String::new(),
            },
            destination: if value.is_empty() { ".*" } else { value }.to_string(),
            action: RuleAction::Allow,
        };
        return Some(rule.check().map_err(|e| e.to_string()));
    }
    None
}

/// Installs [`check`] on a configuration.
pub fn install(config: &Config) {
    config.add_check(check);
}
