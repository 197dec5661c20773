//! The configuration path: commits per second, commit latency, time until a subscriber sees the
//! new snapshot, snapshot reads and xAPI reads; beside it, the same durable write done with bare
//! SQLite, the floor any store on this disk has.
//!
//! `cargo run --release -p causeway-bench --bin config-path [COMMITS]`

use causeway_config::schema::{Valuespace, ELEMENTS};
use causeway_config::{Change, Config, Origin};
use causeway_xapi::{Engine, Principal};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort_unstable();
    v[((v.len() as f64 - 1.0) * p) as usize]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let dir = tempfile::tempdir().unwrap();
    let origin = Origin {
        user: "bench".into(),
        source: "bench".into(),
    };

    // Bare SQLite: one upsert and one revision row per transaction, WAL, synchronous=FULL.
    let bare = {
        let c = rusqlite::Connection::open(dir.path().join("bare.db")).unwrap();
        c.pragma_update(None, "journal_mode", "WAL").unwrap();
        c.pragma_update(None, "synchronous", "FULL").unwrap();
        c.execute_batch(
            "CREATE TABLE config (path TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE revision (revision INTEGER PRIMARY KEY, at INTEGER, user TEXT, source TEXT, changes INTEGER);",
        )
        .unwrap();
        let start = Instant::now();
        for i in 0..n {
            let tx = c.unchecked_transaction().unwrap();
            tx.execute(
                "INSERT INTO config(path, value) VALUES ('SIP Registration Standard Refresh Maximum', ?1) ON CONFLICT(path) DO UPDATE SET value = excluded.value",
                [(60 + i % 100).to_string()],
            )
            .unwrap();
            tx.execute(
                "INSERT INTO revision VALUES (?1, 0, 'bench', 'bench', 1)",
                [i as i64 + 1],
            )
            .unwrap();
            tx.commit().unwrap();
        }
        n as f64 / start.elapsed().as_secs_f64()
    };

    let config = Arc::new(Config::open(&dir.path().join("config.db")).unwrap());
    // Publish latency: a subscriber thread notes when each revision reaches it.
    let mut rx = config.subscribe();
    let seen = std::thread::spawn(move || {
        let mut at = Vec::new();
        while let Ok(ev) = rx.blocking_recv() {
            at.push((ev.snapshot.revision, Instant::now()));
            if at.len() == n {
                break;
            }
        }
        at
    });
    let mut started = Vec::with_capacity(n);
    let mut latency = Vec::with_capacity(n);
    let t0 = Instant::now();
    for i in 0..n {
        let s = Instant::now();
        let r = config
            .commit(
                &origin,
                vec![Change::Set {
                    path: "SIP Registration Standard Refresh Maximum".into(),
                    value: (61 + i % 100).to_string(),
                }],
            )
            .unwrap();
        latency.push(s.elapsed());
        started.push((r.revision, s));
    }
    let commits_per_s = n as f64 / t0.elapsed().as_secs_f64();
    let seen = seen.join().unwrap();
    let mut publish: Vec<Duration> = seen
        .iter()
        .filter_map(|(rev, at)| {
            started
                .iter()
                .find(|(r, _)| r == rev)
                .map(|(_, s)| at.duration_since(*s))
        })
        .collect();

    // A larger commit: 100 zones' worth of elements at once.
    let t = Instant::now();
    let big: Vec<Change> = (1..=100)
        .flat_map(|z| {
            [
                Change::Set {
                    path: format!("Zones Zone {z} Name"),
                    value: format!("zone{z}"),
                },
                Change::Set {
                    path: format!("Zones Zone {z} Type"),
                    value: "Neighbor".into(),
                },
                Change::Set {
                    path: format!("Zones Zone {z} HopCount"),
                    value: "10".into(),
                },
            ]
        })
        .collect();
    config.commit(&origin, big).unwrap();
    let big_commit = t.elapsed();

    // Commits against a large configuration: 1000 zones with 20 stored elements each.
    let fill: Vec<Change> = (1..=1000)
        .flat_map(|z| {
            let mut v = vec![
                Change::Set {
                    path: format!("Zones Zone {z} Name"),
                    value: format!("bulk{z}"),
                },
                Change::Set {
                    path: format!("Zones Zone {z} Type"),
                    value: "Neighbor".into(),
                },
            ];
            // Eighteen more of the zone's elements, each set to a value of its valuespace.
            for e in ELEMENTS
                .iter()
                .filter(|e| {
                    e.path.starts_with("Zones Zone [1..1000] Neighbor ") && e.index_count() == 1
                })
                .take(18)
            {
                let value = match e.valuespace {
                    Valuespace::Int { min, .. } => min.to_string(),
                    Valuespace::Enum { values, .. } => values[0].to_string(),
                    Valuespace::Str { min, .. } => "x".repeat(min.max(1)),
                };
                let path = e.path.replace("[1..1000]", &z.to_string());
                v.push(Change::Set { path, value });
            }
            v
        })
        .collect();
    let stored_before = config.snapshot().stored().len();
    let t = Instant::now();
    config.commit(&origin, fill).unwrap();
    let fill_time = t.elapsed();
    let stored = config.snapshot().stored().len();
    let large = 200;
    let t = Instant::now();
    for i in 0..large {
        config
            .commit(
                &origin,
                vec![Change::Set {
                    path: "SIP Mode".into(),
                    value: if i % 2 == 0 { "On" } else { "Off" }.into(),
                }],
            )
            .unwrap();
    }
    let large_per_s = large as f64 / t.elapsed().as_secs_f64();

    let reads = 1_000_000;
    let t = Instant::now();
    let mut hits = 0usize;
    for _ in 0..reads {
        let s = config.snapshot();
        hits += s.get("SIP Mode").map_or(0, str::len);
    }
    let read_ns = t.elapsed().as_nanos() as f64 / reads as f64;
    assert!(hits > 0);

    let engine = Engine::offline(config.clone());
    let who = Principal::local_root("bench");
    let lines = 20_000;
    let t = Instant::now();
    for _ in 0..lines {
        assert!(
            engine
                .execute("xConfiguration SIP Registration Standard Refresh", &who)
                .ok
        );
    }
    let xapi_per_s = lines as f64 / t.elapsed().as_secs_f64();

    println!("commits: {n}");
    println!("bare SQLite durable transactions/s: {bare:.0}");
    println!(
        "causeway commits/s: {commits_per_s:.0} ({:.2} of bare SQLite)",
        commits_per_s / bare
    );
    println!(
        "commit latency p50/p99: {:.0}/{:.0} us",
        us(pct(&mut latency, 0.5)),
        us(pct(&mut latency, 0.99))
    );
    println!(
        "publish latency (commit call to subscriber) p50/p99: {:.0}/{:.0} us",
        us(pct(&mut publish, 0.5)),
        us(pct(&mut publish, 0.99))
    );
    println!(
        "300-element commit: {:.1} ms",
        big_commit.as_secs_f64() * 1e3
    );
    println!(
        "filling {} elements in one commit: {:.0} ms; then commits/s with {stored} stored: {large_per_s:.0}",
        stored - stored_before,
        fill_time.as_secs_f64() * 1e3
    );
    println!("snapshot load + get: {read_ns:.0} ns");
    println!("xConfiguration subtree reads/s: {xapi_per_s:.0}");
}
