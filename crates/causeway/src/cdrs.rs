//! Call detail records: every call that ends becomes a record in `cdr.db`, while
//! `Log CDR Service` is not off, and also an event (and so a syslog message) with
//! `serviceandlogging`. Records older than seven days are removed.

use causeway_cdr::{format_time, Record, Store, PROXY_SERVICE};
use causeway_config::Config;
use causeway_core::calls::{Call, CallState};
use causeway_observe::EventLog;
use std::path::Path;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn flag(b: bool) -> String {
    if b { "true" } else { "false" }.into()
}

/// The record of an ended call.
pub fn record(c: &Call, now: SystemTime) -> Record {
    let protocol = match c.protocol {
        "H323" => "H323 <-> H323",
        _ => "SIP <-> SIP",
    };
    let ended = c.ended.unwrap_or(now);
    let connected = c.connected.is_some();
    let duration = c
        .connected
        .and_then(|t| ended.duration_since(t).ok())
        .map_or(0, |d| d.as_secs());
    let details = serde_json::json!({
        "Call": {
            "SerialNumber": c.serial.to_string(),
            "Tag": c.tag.to_string(),
            "State": CallState::Disconnected.name(),
            "StartTime": format_time(c.started),
            "EndTime": format_time(ended),
            "SourceAlias": c.source,
            "DestinationAlias": c.destination,
            "Protocol": c.protocol,
            "Connected": if connected { "True" } else { "False" },
            "Duration": duration,
            "Reason": c.reason.clone().unwrap_or_default(),
        }
    });
    Record {
        uuid: c.serial.to_string(),
        service_uuid: PROXY_SERVICE.into(),
        active: flag(false),
        initial_call: flag(true),
        licensed: flag(connected),
        licensed_as_traversal: flag(false),
        status: CallState::Disconnected.name().into(),
        tag: c.tag.to_string(),
        box_call_serial_number: c.serial.to_string(),
        start_time: format_time(c.started),
        end_time: format_time(ended),
        source_alias: c.source.clone(),
        destination_alias: c.destination.clone(),
        aside_destination_alias: c.destination.clone(),
        bside_destination_alias: c.destination.clone(),
        aside_request_uri: String::new(),
        bside_request_uri: String::new(),
        protocol: protocol.into(),
        protocol_summary: String::new(),
        media_routed: flag(false),
        audio: flag(false),
        traversal_license_tokens: 0,
        // A video call costs two tokens, once it was answered.
        non_traversal_license_tokens: if connected { 2 } else { 0 },
        disconnect_reason: c.reason.clone().unwrap_or_default(),
        details: details.to_string(),
        last_updated_timestamp: now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    }
}

/// Starts the writer and returns the sink for the call table. Writing happens on a thread of its
/// own, so ending a call never waits for the disk.
pub fn start(
    dir: &Path,
    config: Arc<Config>,
    events: Arc<EventLog>,
) -> Option<causeway_core::calls::EndSink> {
    let store = match Store::open(&dir.join("cdr.db")) {
        Ok(s) => s,
        Err(e) => {
            say!("causeway: call detail records unavailable: {e}");
            return None;
        }
    };
    let (tx, rx) = mpsc::channel::<Call>();
    std::thread::Builder::new()
        .name("cdr".into())
        .spawn(move || {
            let _ = store.prune(SystemTime::now());
            let mut pruned = SystemTime::now();
            loop {
                match rx.recv_timeout(Duration::from_secs(3600)) {
                    Ok(call) => write(&store, &config, &events, &call),
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                }
                let now = SystemTime::now();
                if now.duration_since(pruned).unwrap_or_default() >= Duration::from_secs(3600) {
                    let _ = store.prune(now);
                    pruned = now;
                }
            }
        })
        .ok()?;
    let tx = std::sync::Mutex::new(tx);
    Some(Box::new(move |c: &Call| {
        let _ = tx.lock().unwrap().send(c.clone());
    }))
}

fn write(store: &Store, config: &Config, events: &EventLog, call: &Call) {
    let mode = config
        .snapshot()
        .get("Log CDR Service")
        .unwrap_or("off")
        .to_string();
    if mode == "off" {
        return;
    }
    let now = SystemTime::now();
    let r = record(call, now);
    if let Err(e) = store.insert(&r, call.started, call.ended.unwrap_or(now)) {
        say!("causeway: cannot store a call detail record: {e}");
    }
    if mode == "serviceandlogging" {
        events.event(
            1,
            "tvcs",
            "Call Detail Record",
            &[
                ("Uuid", r.uuid.as_str()),
                ("Src-alias", r.source_alias.as_str()),
                ("Dst-alias", r.destination_alias.as_str()),
                ("Protocol", r.protocol.as_str()),
                ("Start-time", r.start_time.as_str()),
                ("End-time", r.end_time.as_str()),
                ("Reason", r.disconnect_reason.as_str()),
            ],
        );
    }
}
