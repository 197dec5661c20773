//! Copies of the event and configuration logs sent to the remote syslog servers of
//! `Remote Syslog [1..4]`.

use causeway_config::Snapshot;
use causeway_observe::{Entry, EventLog, LogKind};
use causeway_syslog::{Forwarder, Message, Severity, Target};
use causeway_xapi::commands::syslog::effective;
use std::sync::Arc;

/// Facilities: the configuration log on local1, administrator sessions on local0, the rest of
/// the event log as a daemon's.
fn facility(e: &Entry) -> u8 {
    match e.kind {
        LogKind::Config => 17,
        LogKind::Event if e.event.starts_with("Admin Session") => 16,
        LogKind::Event => 3,
    }
}

/// The event log's levels say how detailed an event is, not how bad: failures and raised alarms
/// are warnings, the lifecycle of the system and its configuration notices, level-4 protocol
/// detail debug, the rest informational.
pub fn severity(level: u8, event: &str) -> Severity {
    if event.contains("Failure")
        || event.contains("Failed")
        || event.contains("Error")
        || event == "Alarm Raised"
    {
        Severity::Warning
    } else if level >= 4 {
        Severity::Debug
    } else if level == 1
        && (event.starts_with("System ")
            || event.starts_with("Restart")
            || event.starts_with("Admin Session")
            || event.starts_with("Application"))
    {
        Severity::Notice
    } else {
        Severity::Informational
    }
}

/// The servers configured now.
pub fn targets(snap: &Snapshot) -> Vec<Target> {
    let domain = snap.get("IP DNS Domain Name").unwrap_or("");
    let dns_servers = causeway_core::dns::servers(snap);
    (1..=4u32)
        .filter_map(|row| {
            let get = |leaf: &str| {
                snap.get(&format!("Remote Syslog {row} {leaf}"))
                    .unwrap_or("")
                    .to_string()
            };
            let address = get("Address");
            if address.trim().is_empty() {
                return None;
            }
            let (transport, port, format) = effective(snap, row);
            Some(Target {
                // An unqualified name gets the node's domain, as every server address does.
                address: causeway_dns::qualify(&address, domain),
                port,
                transport: transport.parse().ok()?,
                format: format.parse().ok()?,
                max_severity: get("Loglevel").parse().unwrap_or(Severity::Informational),
                keywords: causeway_syslog::parse_keywords(&get("Keywords")),
                crl_check: get("Crlcheck") == "On",
                dns_servers: dns_servers.clone(),
            })
        })
        .collect()
}

/// Sends every entry of `logs` to the forwarder.
pub fn attach(forwarder: &Forwarder, logs: &[&Arc<EventLog>]) {
    for log in logs {
        let f = forwarder.clone();
        log.set_sink(move |e| {
            f.send(Message {
                at: e.at,
                host: e.host.to_string(),
                app: e.process.to_string(),
                facility: facility(e),
                severity: severity(e.level, e.event),
                msgid: Some(e.event.replace(' ', "_")),
                text: e.details.to_string(),
            })
        });
    }
}
