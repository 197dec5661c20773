//! Remote syslog servers through the command layer.

use causeway_config::Config;
use causeway_xapi::commands::syslog::effective;
use causeway_xapi::{Engine, Principal};
use std::sync::Arc;

fn engine() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let config = Arc::new(Config::open(&dir.path().join("config.db")).unwrap());
    (dir, Engine::offline(config))
}

fn run(e: &Engine, line: &str) -> (bool, String) {
    let r = e.execute(line, &Principal::local_root("test"));
    (r.ok, r.text)
}

#[test]
fn four_servers_are_added_by_preset_or_by_field_and_deleted_by_address() {
    let (_d, e) = engine();
    assert!(run(&e, "xCommand RemoteSyslogAdd Address: \"logs.example.com\"").0);
    assert!(
        run(
            &e,
            "xCommand RemoteSyslogAdd Address: \"192.0.2.9\" Mode: ietf_secure Loglevel: warning"
        )
        .0
    );
    assert!(
        run(
            &e,
            "xCommand RemoteSyslogAdd Address: \"192.0.2.10\" Mode: user_defined Transport: tcp Port: 1514 Format: ietf"
        )
        .0
    );
    let snap = e.config.snapshot();
    assert_eq!(effective(&snap, 1), ("udp".into(), 514, "bsd".into()));
    assert_eq!(effective(&snap, 2), ("tls".into(), 6514, "ietf".into()));
    assert_eq!(effective(&snap, 3), ("tcp".into(), 1514, "ietf".into()));
    assert_eq!(snap.get("Remote Syslog 2 Loglevel"), Some("warning"));
    assert!(run(&e, "xCommand RemoteSyslogAdd Address: \"d\"").0);
    let (ok, t) = run(&e, "xCommand RemoteSyslogAdd Address: \"e\"");
    assert!(!ok && t.contains("all 4"), "{t}");
    let (ok, t) = run(
        &e,
        "xCommand RemoteSyslogDelete Address: \"192.0.2.9\" Port: 514 Transport: tls",
    );
    assert!(!ok && t.contains("no remote syslog server"), "{t}");
    let (ok, t) = run(
        &e,
        "xCommand RemoteSyslogDelete Address: \"192.0.2.9\" Port: 6514 Transport: tls",
    );
    assert!(ok, "{t}");
    assert_eq!(e.config.snapshot().get("Remote Syslog 2 Address"), None);
    // The freed place is used again.
    let (ok, t) = run(&e, "xCommand RemoteSyslogAdd Address: \"e\"");
    assert!(ok && t.contains("Row: 2"), "{t}");
}
