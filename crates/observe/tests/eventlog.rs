use causeway_observe::eventlog::{format_line, read, EventLog, LogKind, Rotation};

#[test]
fn line_format_puts_event_first_and_level_utc_last() {
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-24T03:13:07.123Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let line = format_line(
        at,
        "vcs1",
        "tvcs",
        "Registration Accepted",
        &[("Protocol", "SIP"), ("Detail", "say \"hi\"\nthere")],
        1,
    );
    assert!(
        line.ends_with(" Level=\"1\" UTCTime=\"2026-11-24 03:13:07,123\"\n"),
        "{line}"
    );
    let body = line.split_once(" vcs1 tvcs: ").unwrap().1;
    assert!(
        body.starts_with(
            "Event=\"Registration Accepted\" Protocol=\"SIP\" Detail=\"say \\\"hi\\\" there\""
        ),
        "{body}"
    );
    assert_eq!(line.matches('\n').count(), 1);
}

#[test]
fn levels_filter_and_rotation_keeps_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let log = EventLog::with_rotation(
        dir.path(),
        LogKind::Event,
        Rotation {
            file_bytes: 2000,
            files: 3,
        },
    )
    .unwrap();
    log.event(2, "tvcs", "Too Verbose", &[]);
    log.set_level(2);
    for i in 0..100 {
        log.event(2, "tvcs", "Numbered", &[("N", &i.to_string())]);
    }
    let mut out = Vec::new();
    read(dir.path(), LogKind::Event, None, false, &mut out, &|| true).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("Too Verbose"));
    assert!(text.contains("N=\"99\""), "newest kept");
    assert!(!text.contains("N=\"0\""), "oldest rotated away");
    // Oldest first, no gaps among what is kept.
    let ns: Vec<u32> = text
        .lines()
        .map(|l| {
            l.split("N=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(ns.windows(2).all(|w| w[1] == w[0] + 1), "{ns:?}");
    assert!(std::fs::metadata(dir.path().join("eventlog.2")).is_ok());
    assert!(std::fs::metadata(dir.path().join("eventlog.3")).is_err());
    let mut out = Vec::new();
    read(
        dir.path(),
        LogKind::Event,
        Some("n=\"98\" numbered"),
        false,
        &mut out,
        &|| true,
    )
    .unwrap();
    assert_eq!(String::from_utf8(out).unwrap().lines().count(), 1);
}

#[test]
fn a_quiet_log_gets_a_mark() {
    let dir = tempfile::tempdir().unwrap();
    let log = EventLog::open(dir.path(), LogKind::Event).unwrap();
    log.event(1, "tvcs", "Something", &[]);
    assert!(!log.mark_if_idle(std::time::Duration::from_secs(3600)));
    std::thread::sleep(std::time::Duration::from_millis(30));
    assert!(log.mark_if_idle(std::time::Duration::from_millis(20)));
    assert!(
        !log.mark_if_idle(std::time::Duration::from_millis(20)),
        "the mark counts as a write"
    );
    let text = std::fs::read_to_string(dir.path().join("eventlog")).unwrap();
    assert_eq!(
        text.lines()
            .filter(|l| l.ends_with("syslog.info: -- MARK --"))
            .count(),
        1,
        "{text}"
    );
}

#[test]
fn a_sink_sees_each_entry_written_and_only_those() {
    use std::sync::{Arc, Mutex};
    let dir = tempfile::tempdir().unwrap();
    let log = EventLog::open(dir.path(), LogKind::Event).unwrap();
    log.set_host("edge one");
    type Seen = Vec<(String, u8, String, String)>;
    let seen: Arc<Mutex<Seen>> = Default::default();
    let s = seen.clone();
    log.set_sink(move |e| {
        s.lock().unwrap().push((
            e.event.to_string(),
            e.level,
            e.host.to_string(),
            e.details.to_string(),
        ))
    });
    log.event(1, "tvcs", "Admin Session Start", &[("User", "ops")]);
    // Above the configured level: neither written nor sent.
    log.event(2, "tvcs", "Noise", &[]);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let (event, level, host, details) = &seen[0];
    assert_eq!(
        (event.as_str(), *level, host.as_str()),
        ("Admin Session Start", 1, "edge_one")
    );
    assert!(
        details.starts_with("Event=\"Admin Session Start\" User=\"ops\" Level=\"1\" UTCTime=\""),
        "{details}"
    );
}
