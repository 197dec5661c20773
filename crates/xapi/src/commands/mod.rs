//! `xCommand`: the registry built from the reference's catalogue, argument checking, help, and
//! the commands implemented so far. A command in the catalogue that no handler implements yet is
//! answered with an error that says so.

mod accounts;
mod backup;
mod credentials;
mod dialplan;
mod lists;
pub mod syslog;

use crate::configuration::config_error;
use crate::format::{ErrorKind, Field, Out, Response};
use crate::spec::{self, CommandSpec};
use crate::{Access, Engine, Principal};
use causeway_config::{ConfigError, Origin};
use std::collections::HashMap;

/// Arguments after checking: canonical values by lower-case parameter name, defaults filled in.
pub struct Args {
    map: HashMap<String, String>,
}

impl Args {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
    /// A required parameter (presence was checked against the catalogue).
    pub fn req(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }
    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name)?.parse().ok()
    }
}

pub enum CmdError {
    Config(ConfigError),
    Refused(String),
}

impl From<ConfigError> for CmdError {
    fn from(e: ConfigError) -> Self {
        match e {
            ConfigError::Refused(r) => CmdError::Refused(r),
            e => CmdError::Config(e),
        }
    }
}

pub type Fields = Vec<(String, Field)>;
type Handler = fn(&Engine, &Args, &Principal) -> Result<Fields, CmdError>;

struct Impl {
    name: &'static str,
    handler: Handler,
    /// Changes configuration or state: needs read-write access.
    writes: bool,
    summary: &'static str,
}

const IMPLEMENTED: &[Impl] = &[
    Impl { name: "DomainAdd", handler: lists::domain_add, writes: true, summary: "Adds a SIP domain this system is authoritative for." },
    Impl { name: "DomainDelete", handler: lists::domain_delete, writes: true, summary: "Removes a SIP domain by its index." },
    Impl { name: "AllowListAdd", handler: lists::allow_add, writes: true, summary: "Adds a pattern to the registration allow list." },
    Impl { name: "AllowListDelete", handler: lists::allow_delete, writes: true, summary: "Removes an allow list entry by its index." },
    Impl { name: "DenyListAdd", handler: lists::deny_add, writes: true, summary: "Adds a pattern to the registration deny list." },
    Impl { name: "DenyListDelete", handler: lists::deny_delete, writes: true, summary: "Removes a deny list entry by its index." },
    Impl { name: "TransformAdd", handler: dialplan::transform_add, writes: true, summary: "Adds a pre-search transform; an occupied priority moves the occupant and all later ones down by one." },
    Impl { name: "TransformDelete", handler: dialplan::transform_delete, writes: true, summary: "Removes a pre-search transform by its index." },
    Impl { name: "SearchRuleAdd", handler: dialplan::search_rule_add, writes: true, summary: "Adds a search rule, optionally targeting a zone." },
    Impl { name: "SearchRuleDelete", handler: dialplan::search_rule_delete, writes: true, summary: "Removes a search rule by its index." },
    Impl { name: "CredentialAdd", handler: credentials::credential_add, writes: true, summary: "Adds (or replaces) a name and password in the local authentication database that devices authenticate with." },
    Impl { name: "CredentialDelete", handler: credentials::credential_delete, writes: true, summary: "Removes a name from the local authentication database." },
    Impl { name: "ZoneAdd", handler: lists::zone_add, writes: true, summary: "Adds a zone of the given type." },
    Impl { name: "ZoneDelete", handler: lists::zone_delete, writes: true, summary: "Removes a zone that no search rule targets." },
    Impl { name: "ZoneList", handler: dialplan::zone_list, writes: false, summary: "Shows the transform and the search rules (by priority) that a search for an alias would use." },
    Impl { name: "CheckPattern", handler: dialplan::check_pattern, writes: false, summary: "Tests an alias against a pattern and shows the alias the behaviour would produce." },
    Impl { name: "DefaultValuesSet", handler: crate::system::default_values_set, writes: true, summary: "Returns configuration to factory defaults: level 1 most settings, 2 adds remote login, 3 adds network and management access." },
    Impl { name: "Restart", handler: crate::system::restart, writes: true, summary: "Restarts the server process so that restart-only settings take effect." },
    Impl { name: "RemoveRegistration", handler: crate::system::remove_registration, writes: true, summary: "Removes a registration held by this node, by its number or its serial number." },
    Impl { name: "FindRegistration", handler: crate::system::find_registration, writes: false, summary: "Shows the registrations of an alias held by this node." },
    Impl { name: "Locate", handler: crate::system::locate, writes: false, summary: "Runs a search for an alias as if a request had arrived, and shows where it ended with every decision on the way." },
    Impl { name: "AdminAccountAdd", handler: accounts::account_add, writes: true, summary: "Adds a local administrator account; AccessLevel (ReadWrite, ReadOnly or Auditor) defaults to ReadWrite." },
    Impl { name: "AdminAccountDelete", handler: accounts::account_delete, writes: true, summary: "Removes a local administrator account by its name (the admin account stays)." },
    Impl { name: "AdminGroupAdd", handler: accounts::group_add, writes: true, summary: "Adds an administrator group: the access given to members of the directory group of that name." },
    Impl { name: "AdminGroupDelete", handler: accounts::group_delete, writes: true, summary: "Removes an administrator group by its name." },
    Impl { name: "AlarmAcknowledge", handler: crate::system::alarm_acknowledge, writes: true, summary: "Marks a raised alarm as seen; it stays listed until its cause goes away." },
    Impl { name: "PasswordChange", handler: accounts::password_change, writes: false, summary: "Changes the caller's own account password; the current password is required." },
    Impl { name: "BackupCreate", handler: backup::backup_create, writes: true, summary: "Writes an encrypted backup (configuration, accounts, credentials, keys and certificates; not logs) into backups/ in the data directory." },
    Impl { name: "BackupRestore", handler: backup::backup_restore, writes: true, summary: "Restores a backup made by this version of causeway, then restarts a running server." },
    Impl { name: "FactoryReset", handler: backup::factory_reset, writes: true, summary: "Returns everything to the factory configuration (accounts and device credentials too), then restarts a running server." },
    Impl { name: "RemoteSyslogAdd", handler: syslog::add, writes: true, summary: "Adds a remote syslog server in the first free of the four places; Mode picks a preset (bsd, ietf, ietf_secure) or user_defined to use Transport, Port and Format." },
    Impl { name: "RemoteSyslogDelete", handler: syslog::delete, writes: true, summary: "Removes the remote syslog server with this address, port and transport." },
    Impl { name: "DisconnectCall", handler: crate::system::disconnect_call, writes: true, summary: "Releases a call, by its number or its serial number." },
];

fn implementation(name: &str) -> Option<&'static Impl> {
    IMPLEMENTED
        .iter()
        .find(|i| i.name.eq_ignore_ascii_case(name))
}

/// The origin recorded with a command's configuration changes.
pub fn origin(who: &Principal) -> Origin {
    Origin {
        user: who.user.clone(),
        source: who.source.clone(),
    }
}

fn check_args(spec: &CommandSpec, raw: &[(String, String)]) -> Result<Args, (String, Fields)> {
    let mut map = HashMap::new();
    for (k, v) in raw {
        let Some(p) = spec
            .parameters
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(k))
        else {
            let names: Vec<&str> = spec.parameters.iter().map(|p| p.name.as_str()).collect();
            return Err((
                format!(
                    "{} has no parameter {k}; it takes {}",
                    spec.name,
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ),
                vec![],
            ));
        };
        let value = match &p.valuespace {
            Some(vs) => vs.canonical(v).map_err(|reason| {
                (
                    format!("{} refused: {reason}", p.name),
                    vec![
                        ("Parameter".to_string(), Field::str(p.name.as_str())),
                        ("Valuespace".to_string(), Field::str(vs.notation())),
                    ],
                )
            })?,
            None => v.clone(),
        };
        if map.insert(p.name.to_ascii_lowercase(), value).is_some() {
            return Err((format!("parameter {} is given twice", p.name), vec![]));
        }
    }
    for p in &spec.parameters {
        let key = p.name.to_ascii_lowercase();
        if map.contains_key(&key) {
            continue;
        }
        if p.required {
            return Err((
                format!("parameter {} is required", p.name),
                vec![("Parameter".to_string(), Field::str(p.name.as_str()))],
            ));
        }
        if let Some(d) = &p.default {
            map.insert(key, d.clone());
        }
    }
    Ok(Args { map })
}

pub fn run(engine: &Engine, name: &str, raw: &[(String, String)], who: &Principal) -> Response {
    let Some(spec) = spec::find(name) else {
        return Out::default().error(
            "Command",
            &format!("unknown command {name} (xCommand ? lists them)"),
            &[],
        );
    };
    let label = spec.name.as_str();
    let Some(imp) = implementation(label) else {
        return Out::default().fail(
            ErrorKind::NotImplemented,
            label,
            &format!("xCommand {label} is not implemented in this version of causeway"),
            &[],
        );
    };
    if imp.writes && who.access != Access::ReadWrite {
        return crate::denied(label, who);
    }
    let args = match check_args(spec, raw) {
        Ok(a) => a,
        Err((reason, extra)) => return Out::default().error(label, &reason, &extra),
    };
    match (imp.handler)(engine, &args, who) {
        Ok(fields) => {
            let mut out = Out::default();
            out.record(label, true, &fields);
            out.ok()
        }
        Err(CmdError::Config(e)) => config_error(Out::default(), label, &e),
        Err(CmdError::Refused(reason)) => Out::default().error(label, &reason, &[]),
    }
}

pub fn help(name: Option<&str>, detail: bool) -> Response {
    let mut out = Out::default();
    let Some(name) = name else {
        for c in spec::commands() {
            let imp = implementation(&c.name);
            let mut line = format!("*h xCommand {}", c.name);
            if imp.is_none() {
                line.push_str("  (not implemented yet)");
            }
            out.line(&line);
            if let (true, Some(i)) = (detail, imp) {
                out.line(&format!("    {}", i.summary));
            }
        }
        return out.ok();
    };
    let Some(spec) = spec::find(name) else {
        return out.error("Command", &format!("unknown command {name}"), &[]);
    };
    out.line(&format!("*h xCommand {}", spec.name));
    match implementation(&spec.name) {
        Some(i) => out.line(&format!("    {}", i.summary)),
        None => out.line("    Not implemented yet in this version of causeway."),
    }
    if spec.parameters.is_empty() {
        out.line("    (no parameters)");
    }
    for p in &spec.parameters {
        let vs = p
            .valuespace
            .as_ref()
            .map(|v| v.notation())
            .unwrap_or_default();
        let mut line = format!(
            "    {}{}: {vs}",
            p.name,
            if p.required { "(r)" } else { "" }
        );
        if let Some(d) = &p.default {
            line.push_str(&format!("  Default: {d}"));
        }
        out.line(&line);
    }
    if detail {
        out.line("*h (r) marks a required parameter. Write values as Name: value, quoting text with spaces.");
    }
    out.ok()
}
