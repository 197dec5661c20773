//! A server killed with SIGKILL in the middle of a burst of commits leaves a consistent store:
//! every commit is there whole or not at all.

mod common;
use common::Node;
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

#[test]
fn kill_9_during_a_burst_of_commits_leaves_a_consistent_configuration() {
    let mut node = Node::new();
    node.start();
    // Each TransformAdd is one commit that writes several elements (and may move others).
    let mut writer = node
        .cmd()
        .args(["cli", "--data-dir"])
        .arg(node.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = writer.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        for i in 0..2000 {
            let line = format!(
                "xCommand TransformAdd Pattern: \"p{i}\" Type: Suffix Behavior: Replace Replace: \"r{i}\" Priority: 1 Description: \"d{i}\"\n"
            );
            if stdin.write_all(line.as_bytes()).is_err() {
                break;
            }
            // Keep the table from filling up so that the burst goes on until the kill.
            if i % 50 == 49 {
                let _ = stdin.write_all(b"xCommand DefaultValuesSet Level: 1\n");
            }
        }
    });
    std::thread::sleep(Duration::from_millis(700));
    node.kill();
    let _ = writer.kill();
    let _ = writer.wait();
    let _ = feeder.join();

    let db = rusqlite::Connection::open(node.dir.join("config.db")).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let revisions: i64 = db
        .query_row("SELECT COUNT(*) FROM revision", [], |r| r.get(0))
        .unwrap();
    assert!(
        revisions > 5,
        "the burst was under way: {revisions} commits"
    );
    drop(db);

    // Every transform row is whole, and priorities stay unique (each add moved the others).
    let text = node.ok("xConfiguration Transform");
    let mut rows = std::collections::BTreeMap::<u32, Vec<String>>::new();
    for line in text
        .lines()
        .filter_map(|l| l.strip_prefix("*c xConfiguration Transform "))
    {
        let (n, rest) = line.split_once(' ').unwrap();
        rows.entry(n.parse().unwrap())
            .or_default()
            .push(rest.to_string());
    }
    let mut priorities = std::collections::HashSet::new();
    for (n, fields) in &rows {
        let get = |k: &str| {
            fields
                .iter()
                .find_map(|f| f.strip_prefix(&format!("{k}: ")))
                .unwrap_or_else(|| panic!("transform {n} lacks {k}: {fields:?}"))
                .trim_matches('"')
                .to_string()
        };
        let p = get("Pattern String");
        let i = p.strip_prefix('p').unwrap();
        assert_eq!(get("Pattern Replace"), format!("r{i}"), "transform {n}");
        assert_eq!(get("Description"), format!("d{i}"), "transform {n}");
        assert_eq!(get("Pattern Type"), "Suffix");
        assert!(
            priorities.insert(get("Priority")),
            "duplicate priority in {fields:?}"
        );
    }
    // And the server starts on it again.
    node.start();
    node.ok("xCommand TransformAdd Pattern: \"after\"");
    assert!(node.stop());
}
