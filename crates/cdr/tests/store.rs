//! The record store: queries, retention, and the CSV layout.

use causeway_cdr::{csv, format_time, parse_time, Filter, Record, Store, CSV_COLUMNS};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn record(uuid: &str, src: &str, dest: &str, start: SystemTime, end: SystemTime) -> Record {
    Record {
        uuid: uuid.into(),
        service_uuid: causeway_cdr::PROXY_SERVICE.into(),
        active: "false".into(),
        initial_call: "true".into(),
        licensed: "true".into(),
        licensed_as_traversal: "false".into(),
        status: "Disconnected".into(),
        tag: format!("tag-{uuid}"),
        box_call_serial_number: uuid.into(),
        start_time: format_time(start),
        end_time: format_time(end),
        source_alias: src.into(),
        destination_alias: dest.into(),
        aside_destination_alias: dest.into(),
        bside_destination_alias: dest.into(),
        aside_request_uri: String::new(),
        bside_request_uri: String::new(),
        protocol: "SIP <-> SIP".into(),
        protocol_summary: String::new(),
        media_routed: "false".into(),
        audio: "false".into(),
        traversal_license_tokens: 0,
        non_traversal_license_tokens: 2,
        disconnect_reason: "BYE".into(),
        details: r#"{"Call":{"State":"Disconnected","Note":"a, \"b\""}}"#.into(),
        last_updated_timestamp: 0,
    }
}

#[test]
fn records_are_found_by_interval_and_filter_and_kept_seven_days() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("cdr.db")).unwrap();
    let day = 86_400;
    let now = at(100 * day);
    let old = record("old", "sip:a@x", "sip:b@x", at(92 * day), at(92 * day + 60));
    let one = record("one", "sip:a@x", "sip:b@x", at(99 * day), at(99 * day + 60));
    let two = record(
        "two",
        "sip:c@x",
        "sip:b@x",
        at(100 * day - 10),
        at(100 * day - 5),
    );
    for r in [&old, &one, &two] {
        let (s, e) = (
            parse_time(&r.start_time).unwrap(),
            parse_time(&r.end_time).unwrap(),
        );
        store.insert(r, s, e).unwrap();
    }
    // Older than seven days: not given out, then removed.
    assert_eq!(store.all(now).unwrap(), vec![one.clone(), two.clone()]);
    assert_eq!(
        store.interval(at(99 * day), at(99 * day + 1)).unwrap(),
        vec![one.clone()]
    );
    let f = Filter {
        src_alias: Some("SIP:C@X".into()),
        ..Default::default()
    };
    assert_eq!(store.filter(&f, now).unwrap(), vec![two.clone()]);
    let f = Filter {
        dest_alias: Some("sip:b@x".into()),
        protocol: Some("sip <-> sip".into()),
        ..Default::default()
    };
    assert_eq!(store.filter(&f, now).unwrap().len(), 2);
    let f = Filter {
        uuid: Some("one".into()),
        src_alias: Some("sip:c@x".into()),
        ..Default::default()
    };
    assert!(store.filter(&f, now).unwrap().is_empty());
    assert_eq!(store.prune(now).unwrap(), 1);
    assert_eq!(store.get("old").unwrap(), None);
    assert_eq!(store.get("one").unwrap(), Some(one));
}

#[test]
fn csv_has_the_reference_column_order_and_quotes_what_needs_it() {
    let r = record("u1", "sip:a@x", "sip:b@x", at(0), at(61));
    let text = csv(&[r]);
    let mut lines = text.split("\r\n");
    let header = lines.next().unwrap();
    assert_eq!(header, CSV_COLUMNS.join(","));
    let cols: Vec<&str> = header.split(',').collect();
    let pos = |c: &str| cols.iter().position(|x| *x == c).unwrap();
    assert!(pos("protocol_summary") < pos("protocol"));
    assert_eq!(cols.len(), 26);
    let row = lines.next().unwrap();
    assert!(row.starts_with("u1,7a1d2f40-"), "{row}");
    assert!(
        row.contains(r#","{""Call"":{""State"":""Disconnected"",""Note"":""a, \""b\""""}}","#),
        "{row}"
    );
    assert!(
        row.contains(",1970-01-01 00:00:00.000000,1970-01-01 00:01:01.000000,"),
        "{row}"
    );
}

#[test]
fn times_print_and_parse_in_the_reference_format() {
    let t = at(1_795_000_000) + Duration::from_micros(123_456);
    assert_eq!(format_time(t), "2026-11-18 11:06:40.123456");
    assert_eq!(parse_time("2026-11-18 11:06:40.123456"), Some(t));
    assert_eq!(parse_time("2026-11-18 11:06:40"), Some(at(1_795_000_000)));
    assert_eq!(parse_time("18/11/2026"), None);
}
