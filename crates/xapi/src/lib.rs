//! The xAPI: one command layer behind every management surface.
//!
//! A line of text (`xConfiguration …`, `xCommand …`, `xStatus …`) is parsed, checked against the
//! caller's access level, executed against the configuration tree and the running services, and
//! answered in records. The control socket, the `cli` subcommand and, later, SSH and REST all call
//! [`Engine::execute`].

pub mod auth;
pub mod commands;
pub mod configuration;
pub mod format;
pub mod parse;
pub mod spec;
pub mod status;
pub mod system;

use causeway_config::{Change, Config};
use causeway_observe::Alarms;
pub use format::{ErrorKind, Field, Item, Out, Response};
pub use status::StatusSource;
use std::sync::Arc;

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    ReadWrite,
    ReadOnly,
    Auditor,
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: String,
    pub source: String,
    pub access: Access,
}

impl Principal {
    /// The owner of the data directory (control socket or direct access).
    pub fn local_root(source: &str) -> Principal {
        Principal {
            user: "admin".into(),
            source: source.into(),
            access: Access::ReadWrite,
        }
    }
}

/// Picks one registration or call: by its number, or by its serial number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Number(u32),
    Serial(String),
}

/// Actions only a running server can take. Services a server does not run answer with an error
/// that says so.
pub trait Services: Send + Sync {
    /// Restarts the server process; returns once the restart is scheduled.
    fn restart(&self, reason: &str) -> Result<(), String>;

    /// Removes a registration held by this node.
    fn remove_registration(&self, _which: &Selector) -> Result<Vec<(String, Field)>, String> {
        Err("the registrar is not running".into())
    }

    /// Describes the registrations of an alias.
    fn find_registration(&self, _alias: &str) -> Result<Vec<(String, Field)>, String> {
        Err("the registrar is not running".into())
    }

    /// Releases a call.
    fn disconnect_call(&self, _which: &Selector) -> Result<Vec<(String, Field)>, String> {
        Err("call handling is not running".into())
    }

    /// Returns once the running services apply configuration `revision` (or soon after, if
    /// they are slow), so that a change is in force when the command that made it answers.
    fn settle(&self, _revision: u64) {}

    /// Runs a search as if a request had arrived, and reports where it ended and why.
    fn locate(&self, _request: &LocateRequest) -> Result<Vec<(String, Field)>, String> {
        Err("call handling is not running".into())
    }
}

/// What `xCommand Locate` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocateRequest {
    pub alias: String,
    pub hop_count: u8,
    /// `SIP` or `H323`.
    pub protocol: String,
    /// The zone or subzone the search is made as if from; `None` for the Default Zone.
    pub source_zone: Option<String>,
    pub authenticated: bool,
    pub source_alias: String,
}

/// The command layer.
pub struct Engine {
    pub config: Arc<Config>,
    pub alarms: Arc<Alarms>,
    status: Vec<Arc<dyn StatusSource>>,
    services: Option<Arc<dyn Services>>,
}

impl Engine {
    /// An engine with no running services (direct access to a stopped server's data).
    pub fn offline(config: Arc<Config>) -> Engine {
        Engine {
            config,
            alarms: Arc::new(Alarms::new(None)),
            status: Vec::new(),
            services: None,
        }
    }

    pub fn new(config: Arc<Config>, alarms: Arc<Alarms>, services: Arc<dyn Services>) -> Engine {
        Engine {
            config,
            alarms,
            status: Vec::new(),
            services: Some(services),
        }
    }

    /// Adds a status group source.
    pub fn add_status(&mut self, source: Arc<dyn StatusSource>) {
        self.status.push(source);
    }

    pub fn services(&self) -> Option<&Arc<dyn Services>> {
        self.services.as_ref()
    }

    pub fn is_online(&self) -> bool {
        self.services.is_some()
    }

    /// Executes one line. A line that changed the configuration answers once the running
    /// services have taken the change in.
    pub fn execute(&self, line: &str, who: &Principal) -> Response {
        self.settled(|| self.execute_line(line, who))
    }

    fn execute_line(&self, line: &str, who: &Principal) -> Response {
        let req = match parse::parse(line) {
            Ok(r) => r,
            Err(e) => return Out::default().error("", &e.0, &[]),
        };
        use parse::Request::*;
        match req {
            Empty => Out::default().ok(),
            Command { ref name, .. }
                if who.access == Access::Auditor
                    && !name.eq_ignore_ascii_case("PasswordChange") =>
            {
                auditor_denied(who)
            }
            ConfigGet { .. } if who.access == Access::Auditor => auditor_denied(who),
            Status { path } if who.access == Access::Auditor => match path.first() {
                Some(g)
                    if g.starts_with('?')
                        || AUDITOR_STATUS.iter().any(|a| a.eq_ignore_ascii_case(g)) =>
                {
                    system::status(self, &path)
                }
                Some(_) => auditor_denied(who),
                None => system::status_of(self, AUDITOR_STATUS),
            },
            ConfigGet { path } => configuration::get(self, &path),
            ConfigHelp { path, detail } => configuration::help(&path, detail),
            ConfigSet { path, value } => {
                if who.access != Access::ReadWrite {
                    return denied("Configuration", who);
                }
                configuration::set(self, &path, &value, who)
            }
            CommandHelp { name, detail } => commands::help(name.as_deref(), detail),
            Command { name, args } => commands::run(self, &name, &args, who),
            Status { path } => system::status(self, &path),
        }
    }

    /// Sets (`Some`) or returns to default (`None`) several elements in one commit: all of them
    /// or none. For surfaces that edit many fields at once (a web form, a REST body).
    pub fn configure(&self, sets: &[(String, Option<String>)], who: &Principal) -> Response {
        if who.access != Access::ReadWrite {
            return denied("Configuration", who);
        }
        let changes = sets
            .iter()
            .map(|(path, value)| match value {
                Some(v) => Change::Set {
                    path: path.clone(),
                    value: v.clone(),
                },
                None => Change::Unset { path: path.clone() },
            })
            .collect();
        self.settled(|| configuration::commit(self, changes, who))
    }

    /// Removes one row of a table (`Zones Zone 3`) with all its elements.
    pub fn delete_row(&self, row: &str, who: &Principal) -> Response {
        if who.access != Access::ReadWrite {
            return denied("Configuration", who);
        }
        let words: Vec<&str> = row.split_whitespace().collect();
        let last_is_index = words.last().is_some_and(|w| w.parse::<u32>().is_ok());
        let is_table = last_is_index
            && matches!(
                causeway_config::schema::resolve(&words),
                Ok(causeway_config::schema::Resolved::Subtree { .. })
            );
        if !is_table {
            return Out::default().error(
                "Configuration",
                "not a table row (give the table's path and a row number)",
                &[("Path".into(), Field::str(row))],
            );
        }
        let change = Change::DeleteRow {
            row: words.join(" "),
        };
        self.settled(|| configuration::commit(self, vec![change], who))
    }

    /// Runs `f`; if it changed the configuration, waits for the services to take it in.
    fn settled(&self, f: impl FnOnce() -> Response) -> Response {
        let before = self.config.snapshot().revision;
        let out = f();
        let after = self.config.snapshot().revision;
        if after != before {
            if let Some(s) = &self.services {
                s.settle(after);
            }
        }
        out
    }

    pub(crate) fn status_sources(&self) -> &[Arc<dyn StatusSource>] {
        &self.status
    }
}

/// What an auditor may read: the overview's figures and the alarms (the logs are read through
/// their own views).
pub const AUDITOR_STATUS: &[&str] = &["SystemUnit", "ResourceUsage", "Alarm"];

fn auditor_denied(who: &Principal) -> Response {
    Out::default().fail(
        ErrorKind::Denied,
        "Access",
        &format!(
            "user {} has auditor access: only the logs, alarms and overview ({}) are open to it",
            who.user,
            AUDITOR_STATUS
                .iter()
                .map(|g| format!("xStatus {g}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        &[],
    )
}

fn denied(kind: &str, who: &Principal) -> Response {
    Out::default().fail(
        ErrorKind::Denied,
        kind,
        &format!("user {} has read-only access", who.user),
        &[],
    )
}
