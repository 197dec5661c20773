//! Backup, factory reset and restore on a running server.

mod common;
use common::Node;
use std::time::{Duration, Instant};

/// Configuration rows (path, value) and credential rows (name, sealed password), as stored.
type Rows = (Vec<(String, String)>, Vec<(String, Vec<u8>)>);

fn stored(node: &Node) -> Rows {
    let db = rusqlite::Connection::open(node.dir.join("config.db")).unwrap();
    let config = db
        .prepare("SELECT path, value FROM config ORDER BY path")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let creds = db
        .prepare("SELECT name, secret FROM credential ORDER BY name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    (config, creds)
}

fn starts(node: &Node) -> usize {
    node.event_log(Some("System Start")).lines().count()
}

/// Waits for the server to come back after a restart it announced.
fn wait_restarted(node: &Node, starts_before: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if starts(node) > starts_before && node.cli("xStatus SystemUnit Uptime").0 {
            return;
        }
        assert!(Instant::now() < deadline, "the server did not come back");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn field(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .trim_matches('"')
        .to_string()
}

#[test]
fn backup_then_factory_reset_then_restore_gives_back_the_same_node() {
    let mut node = Node::new();
    node.start();
    node.ok("xConfiguration SIP Mode: On");
    node.ok("xConfiguration SystemUnit Name: \"edge one\"");
    node.ok("xCommand ZoneAdd ZoneName: \"Peer\" Type: Neighbor");
    node.ok("xConfiguration Zones Zone 1 TraversalClient Authentication Password: \"zone pw\"");
    node.ok("xCommand CredentialAdd Name: \"dev1\" Password: \"dev pw\"");
    node.ok("xCommand AdminAccountAdd Name: \"ops\" Password: \"ops pw\" AccessLevel: ReadOnly");
    let before = stored(&node);
    let printed = node.ok("xConfiguration");

    let t = node.ok("xCommand BackupCreate Password: \"backup pw\"");
    let file = field(&t, "File");
    assert!(file.ends_with("_backup.tar.gz.enc"), "{file}");
    assert!(file.contains("edge-one"), "{file}");
    let bytes = std::fs::read(&file).unwrap();
    for secret in ["zone pw", "dev pw", "ops pw", "backup pw", "edge one"] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} readable in the backup"
        );
    }

    // A wrong password, or a damaged file, is refused and changes nothing.
    let t = node.err(&format!(
        "xCommand BackupRestore File: \"{file}\" Password: \"wrong\""
    ));
    assert!(t.contains("password is wrong"), "{t}");
    let damaged = node.dir.join("damaged.enc");
    let mut b = bytes.clone();
    let n = b.len() - 5;
    b[n] ^= 1;
    std::fs::write(&damaged, b).unwrap();
    node.err(&format!(
        "xCommand BackupRestore File: \"{}\" Password: \"backup pw\"",
        damaged.display()
    ));
    assert_eq!(stored(&node), before);

    let n = starts(&node);
    let t = node.ok("xCommand FactoryReset Confirm: Yes");
    assert!(t.contains("Restart: Scheduled"), "{t}");
    wait_restarted(&node, n);
    let reset = stored(&node);
    assert_ne!(reset, before);
    assert!(reset.1.is_empty(), "device credentials are gone");
    assert_eq!(node.value("Zones Zone 1 Name"), "\"\"");
    // The restarted server gave admin a new password.
    assert!(reset
        .0
        .iter()
        .any(|(p, v)| p == "Authentication Account Admin Account 1 Password" && !v.is_empty()));

    let n = starts(&node);
    let t = node.ok(&format!(
        "xCommand BackupRestore File: \"{file}\" Password: \"backup pw\""
    ));
    assert!(t.contains("SystemName: \"edge one\""), "{t}");
    assert!(t.contains("Restart: Scheduled"), "{t}");
    wait_restarted(&node, n);
    assert_eq!(stored(&node), before, "identical rows after the restore");
    assert_eq!(node.ok("xConfiguration"), printed);
    assert!(node.stop());
}
