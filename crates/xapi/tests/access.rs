//! Access levels are enforced in the command layer, whatever the surface.

use causeway_config::Config;
use causeway_xapi::{Access, Engine, Principal};
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
    for access in [Access::ReadOnly, Access::Auditor] {
        let p = who(access);
        assert!(e.execute("xConfiguration SIP Mode", &p).ok);
        let r = e.execute("xConfiguration SIP Mode: On", &p);
        assert!(!r.ok && r.text.contains("read-only"), "{}", r.text);
        let r = e.execute("xCommand DomainAdd Name: \"example.com\"", &p);
        assert!(!r.ok && r.text.contains("read-only"), "{}", r.text);
        let r = e.execute(
            "xCommand CheckPattern Target: \"a\" Pattern: \"a\" Type: Exact Behavior: Leave",
            &p,
        );
        assert!(r.ok, "{}", r.text);
    }
    // Revision 1 is the factory rows; nothing after it.
    assert_eq!(e.config.snapshot().revision, 1);
    let r = e.execute("xConfiguration SIP Mode: On", &who(Access::ReadWrite));
    assert!(r.ok, "{}", r.text);
    assert_eq!(e.config.snapshot().get("SIP Mode"), Some("On"));
}
