//! `causeway serve`: first start, the control socket, restarts, signals.

mod common;
use common::{signal, wait_exit, Node};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

#[test]
fn first_start_creates_the_data_directory_and_one_admin_account() {
    let mut node = Node::new();
    assert!(!node.dir.exists());
    node.start();
    let pw_file = node.dir.join("initial-admin-password");
    let password = std::fs::read_to_string(&pw_file).unwrap();
    let password = password.trim();
    assert_eq!(password.len(), 20);
    assert_eq!(
        std::fs::metadata(&pw_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&node.dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let sock = node.dir.join("control.sock");
    assert_eq!(
        std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Factory configuration: SIP and H.323 off.
    assert_eq!(node.value("SIP Mode"), "Off");
    assert_eq!(node.value("H323 Mode"), "Off");
    assert!(node.stop());
    assert!(!sock.exists(), "the socket goes away with the server");

    // Only an argon2id hash of the password is stored, in the admin account's row.
    let db = rusqlite::Connection::open(node.dir.join("config.db")).unwrap();
    let row = |path: &str| -> String {
        db.query_row("SELECT value FROM config WHERE path = ?1", [path], |r| {
            r.get(0)
        })
        .unwrap()
    };
    assert_eq!(row("Authentication Account Admin Account 1 Name"), "admin");
    let hash = row("Authentication Account Admin Account 1 Password");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    drop(db);
    for entry in std::fs::read_dir(&node.dir).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name().unwrap() == "initial-admin-password" || p.is_dir() {
            continue;
        }
        let bytes = std::fs::read(&p).unwrap();
        assert!(
            !bytes
                .windows(password.len())
                .any(|w| w == password.as_bytes()),
            "password in {}",
            p.display()
        );
    }

    // A second start keeps the account and prints no new password.
    node.start();
    assert_eq!(std::fs::read_to_string(&pw_file).unwrap().trim(), password);
    assert!(node.stop());
}

#[test]
fn values_survive_a_restart_of_serve() {
    let mut node = Node::new();
    node.start();
    node.ok("xConfiguration SIP Mode: On");
    node.ok("xConfiguration SIP UDP Port: 15060");
    node.ok("xCommand ZoneAdd ZoneName: \"Peer\" Type: Neighbor");
    assert!(node.stop());
    node.start();
    assert_eq!(node.value("SIP Mode"), "On");
    assert_eq!(node.value("SIP UDP Port"), "15060");
    assert_eq!(node.value("Zones Zone 1 Name"), "\"Peer\"");
    let t = node.ok("xStatus SystemUnit Configuration Revision");
    // The factory rows, the admin password, then three commits.
    assert!(
        t.contains("*s SystemUnit Configuration Revision: 5\n"),
        "{t}"
    );
}

#[test]
fn the_cli_works_with_and_without_a_server() {
    let mut node = Node::new();
    // Without a server: configuration works, status does not.
    node.ok("xConfiguration SystemUnit Name: \"edge one\"");
    let t = node.err("xStatus SystemUnit");
    assert!(t.contains("running server"), "{t}");
    node.start();
    // The server sees what was stored while it was down, and answers status.
    let t = node.ok("xStatus SystemUnit");
    assert!(t.contains("*s SystemUnit Product: \"causeway\"\n"), "{t}");
    assert!(t.contains("*s SystemUnit Name: \"edge one\"\n"), "{t}");
    assert!(t.contains("*s SystemUnit Uptime: "), "{t}");
    let t = node.ok("xStatus ResourceUsage");
    assert!(t.contains("*s ResourceUsage Memory Total: "), "{t}");
    let t = node.ok("xStatus Alarm");
    assert!(t.contains("*s Alarm Count: 0"), "{t}");
    let t = node.ok("xStatus Zones");
    assert!(t.contains("*s Zones DefaultZone Name"), "{t}");
    let t = node.err("xStatus Links");
    assert!(t.contains("not implemented"), "{t}");
    let t = node.err("xStatus Nonsense");
    assert!(t.contains("unknown status group"), "{t}");
    // Writes through the server are visible to a later offline CLI.
    node.ok("xConfiguration SIP Mode: On");
    let (ok, text) = node.cli("xConfiguration SIP Mode: Sideways");
    assert!(!ok && text.contains("<On/Off>"), "{text}");
    assert!(node.stop());
    assert_eq!(node.value("SIP Mode"), "On");
    // Several lines on standard input; the exit status says whether all were OK.
    let (ok, r) = node.script(&[
        "xConfiguration SIP Mode".into(),
        "xConfiguration H323 Mode".into(),
    ]);
    assert!(ok && r[1].contains("H323 Mode: Off"), "{r:?}");
    let (ok, _) = node.script(&[
        "xConfiguration SIP Mode".into(),
        "xConfiguration SIP Mode: 7".into(),
    ]);
    assert!(!ok);
}

#[test]
fn restart_required_settings_raise_an_alarm_until_restart() {
    let mut node = Node::new();
    node.start();
    let t = node.ok("xConfiguration IP QoS Mode: DiffServ");
    assert!(t.contains("takes effect after a restart"), "{t}");
    let t = node.ok("xStatus SystemUnit");
    assert!(t.contains("RestartRequired: True"), "{t}");
    assert!(t.contains("PendingRestart 1 Path: \"IP QoS Mode\""), "{t}");
    let t = node.ok("xStatus Alarm");
    assert!(t.contains("*s Alarm 1 Id: 20007\n"), "{t}");
    assert!(t.contains("Title: \"Restart required\""), "{t}");
    let t = node.ok("xCommand Restart");
    assert!(t.contains("RestartResult (status=OK)"), "{t}");
    // Wait for the restarted process to answer.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (ok, t) = node.cli("xStatus SystemUnit RestartRequired");
        if ok && t.contains("RestartRequired: False") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no restart: {t}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(node.value("IP QoS Mode"), "DiffServ");
    let t = node.ok("xStatus Alarm");
    assert!(t.contains("Alarm Count: 0"), "{t}");
    let log = node.event_log(Some("Restart Requested"));
    assert_eq!(log.lines().count(), 1, "{log}");
    assert!(node.stop());
}

#[test]
fn sigint_and_sigterm_stop_cleanly_and_are_logged() {
    let mut node = Node::new();
    node.start();
    let mut child = node.server.take().unwrap();
    signal(&child, 2);
    assert!(wait_exit(&mut child, Duration::from_secs(20)).success());
    node.start();
    assert!(node.stop());
    let log = node.event_log(None);
    assert_eq!(log.matches("Event=\"System Start\"").count(), 2, "{log}");
    assert_eq!(log.matches("Event=\"System Shutdown\"").count(), 2, "{log}");
}

#[test]
fn a_second_server_on_the_same_directory_is_refused() {
    let mut node = Node::new();
    node.start();
    let out = node
        .cmd()
        .args(["serve", "--data-dir"])
        .arg(node.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("another causeway process"));
    assert!(node.stop());
}

#[test]
fn log_follow_prints_new_entries() {
    let mut node = Node::new();
    node.start();
    let mut follower = node
        .cmd()
        .args([
            "log",
            "--follow",
            "--grep",
            "Configuration Changed",
            "--data-dir",
        ])
        .arg(node.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    node.ok("xConfiguration SystemUnit Name: \"followed\"");
    let stdout = follower.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let _ = tx.send(line.unwrap());
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("followed line");
    assert!(line.contains("SystemUnit Name changed"), "{line}");
    follower.kill().unwrap();
    follower.wait().unwrap();
    assert!(node.stop());
}
