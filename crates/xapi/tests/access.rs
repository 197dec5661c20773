//! Access levels are enforced in the command layer, whatever the surface.

use causeway_config::Config;
use causeway_xapi::{Access, Engine, ErrorKind, Principal};
use std::sync::Arc;

fn engine() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let config = Arc::new(Config::open(&dir.path().join("config.db")).unwrap());
    (dir, Engine::offline(config))
}

fn who(access: Access) -> Principal {
    Principal {
        user: "op".into(),
        source: "test".into(),
        access,
    }
}

#[test]
fn read_only_callers_read_and_diagnose_but_change_nothing() {
    let (_dir, e) = engine();
    let p = who(Access::ReadOnly);
    assert!(e.execute("xConfiguration SIP Mode", &p).ok);
    for line in [
        "xConfiguration SIP Mode: On",
        "xCommand DomainAdd Name: \"example.com\"",
        "xCommand AdminAccountAdd Name: \"me\" Password: \"x\"",
    ] {
        let r = e.execute(line, &p);
        assert!(!r.ok && r.text.contains("read-only"), "{}", r.text);
        assert_eq!(r.error, Some(ErrorKind::Denied));
    }
    let r = e.configure(&[("SIP Mode".into(), Some("On".into()))], &p);
    assert_eq!(r.error, Some(ErrorKind::Denied), "{}", r.text);
    let r = e.delete_row("Zones Policy SearchRules Rule 1", &p);
    assert_eq!(r.error, Some(ErrorKind::Denied), "{}", r.text);
    let r = e.execute(
        "xCommand CheckPattern Target: \"a\" Pattern: \"a\" Type: Exact Behavior: Leave",
        &p,
    );
    assert!(r.ok, "{}", r.text);
    // Revision 1 is the factory rows; nothing after it.
    assert_eq!(e.config.snapshot().revision, 1);
    let r = e.execute("xConfiguration SIP Mode: On", &who(Access::ReadWrite));
    assert!(r.ok, "{}", r.text);
    assert_eq!(e.config.snapshot().get("SIP Mode"), Some("On"));
}

#[test]
fn auditors_see_only_the_overview_and_alarms() {
    let (_dir, e) = engine();
    let p = who(Access::Auditor);
    for line in [
        "xConfiguration SIP Mode",
        "xConfiguration",
        "xCommand CheckPattern Target: \"a\" Pattern: \"a\" Type: Exact Behavior: Leave",
        "xCommand DomainAdd Name: \"example.com\"",
        "xStatus Registrations",
        "xStatus Calls",
    ] {
        let r = e.execute(line, &p);
        assert!(
            !r.ok && r.text.contains("auditor access"),
            "{line}: {}",
            r.text
        );
        assert_eq!(r.error, Some(ErrorKind::Denied), "{line}");
    }
    // Help is open to everyone; the overview's groups are open to auditors (this engine runs no
    // server, so they answer that they need one, not that access is denied).
    assert!(e.execute("xConfiguration ?", &p).ok);
    for line in ["xStatus SystemUnit", "xStatus Alarm", "xStatus"] {
        let r = e.execute(line, &p);
        assert_eq!(r.error, Some(ErrorKind::Unavailable), "{line}: {}", r.text);
    }
}

#[test]
fn status_help_lists_the_groups() {
    let (_dir, e) = engine();
    let r = e.execute("xStatus ?", &who(Access::ReadOnly));
    assert!(r.ok, "{}", r.text);
    assert!(r.text.contains("*h xStatus Registrations\n"), "{}", r.text);
    assert!(r.text.contains("*h xStatus SystemUnit\n"), "{}", r.text);
}
