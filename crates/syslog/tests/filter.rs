//! The per-target severity and keyword filters.

use causeway_syslog::{parse_keywords, passes, Format, Message, Severity, Target, Transport};
use chrono::Utc;

fn target(max: Severity, keywords: &[&str]) -> Target {
    Target {
        address: "192.0.2.10".into(),
        port: 514,
        transport: Transport::Udp,
        format: Format::Bsd,
        max_severity: max,
        keywords: keywords.iter().map(|k| k.to_string()).collect(),
        crl_check: false,
        dns_servers: Vec::new(),
    }
}

fn message(severity: Severity, text: &str) -> Message {
    Message {
        at: Utc::now(),
        host: "node1".into(),
        app: "tvcs".into(),
        facility: 16,
        severity,
        msgid: None,
        text: text.into(),
    }
}

#[test]
fn chosen_severity_and_everything_more_severe() {
    let t = target(Severity::Warning, &[]);
    for s in Severity::ALL {
        assert_eq!(
            passes(&message(s, "x"), &t),
            s <= Severity::Warning,
            "{s} against warning"
        );
    }
    let all = target(Severity::Debug, &[]);
    assert!(Severity::ALL
        .iter()
        .all(|&s| passes(&message(s, "x"), &all)));
    let only = target(Severity::Emergency, &[]);
    let sent: Vec<Severity> = Severity::ALL
        .into_iter()
        .filter(|&s| passes(&message(s, "x"), &only))
        .collect();
    assert_eq!(sent, [Severity::Emergency]);
}

#[test]
fn keywords_match_any_ignoring_case() {
    let t = target(Severity::Debug, &["login successful", "Reboot"]);
    assert!(passes(
        &message(Severity::Notice, "admin LOGIN Successful from 10.0.0.1"),
        &t
    ));
    assert!(passes(
        &message(Severity::Notice, "system will reboot now"),
        &t
    ));
    assert!(!passes(&message(Severity::Notice, "login failed"), &t));
    assert!(!passes(&message(Severity::Notice, "login  successful"), &t));
}

#[test]
fn keywords_apply_after_severity() {
    let t = target(Severity::Error, &["alpha"]);
    assert!(passes(&message(Severity::Critical, "alpha"), &t));
    assert!(!passes(&message(Severity::Warning, "alpha"), &t));
    assert!(!passes(&message(Severity::Critical, "beta"), &t));
}

#[test]
fn no_keywords_or_blank_ones_let_everything_through() {
    assert!(passes(
        &message(Severity::Informational, "anything"),
        &target(Severity::Informational, &[])
    ));
    assert!(passes(
        &message(Severity::Informational, "anything"),
        &target(Severity::Informational, &["", "  "])
    ));
    // A blank keyword beside a real one does not match everything.
    assert!(!passes(
        &message(Severity::Informational, "anything"),
        &target(Severity::Informational, &["", "zulu"])
    ));
}

#[test]
fn keywords_fold_case_beyond_ascii() {
    let t = target(Severity::Debug, &["ÉCHEC"]);
    assert!(passes(&message(Severity::Error, "connexion: échec"), &t));
}

#[test]
fn keyword_setting_splits_on_commas() {
    assert_eq!(
        parse_keywords(" login successful, reboot ,,Alarm "),
        ["login successful", "reboot", "Alarm"]
    );
    assert!(parse_keywords("").is_empty());
    assert!(parse_keywords(" , ").is_empty());
}
