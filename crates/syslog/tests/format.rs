//! The bytes of both message formats.

use causeway_syslog::{format, Format, Message, Severity, Transport};
use chrono::{NaiveDate, TimeZone, Utc};

fn message() -> Message {
    Message {
        at: Utc.with_ymd_and_hms(2024, 3, 5, 7, 8, 9).unwrap()
            + chrono::Duration::milliseconds(123),
        host: "node1.example.com".into(),
        app: "tvcs".into(),
        facility: 22,
        severity: Severity::Warning,
        msgid: Some("RegistrationAccepted".into()),
        text: r#"Event="Registration Accepted" Protocol="SIP""#.into(),
    }
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).expect("formatted messages are UTF-8")
}

#[test]
fn bsd_exact_bytes() {
    assert_eq!(
        text(format(&message(), Format::Bsd)),
        r#"<180>Mar  5 07:08:09 node1.example.com tvcs: Event="Registration Accepted" Protocol="SIP""#
    );
}

#[test]
fn ietf_exact_bytes() {
    let pid = std::process::id();
    assert_eq!(
        text(format(&message(), Format::Ietf)),
        format!(
            r#"<180>1 2024-03-05T07:08:09.123Z node1.example.com tvcs {pid} RegistrationAccepted - Event="Registration Accepted" Protocol="SIP""#
        )
    );
}

#[test]
fn pri_is_facility_times_eight_plus_severity() {
    for facility in 0..=23u8 {
        for severity in Severity::ALL {
            let m = Message {
                facility,
                severity,
                ..message()
            };
            let want = format!("<{}>", u32::from(facility) * 8 + u32::from(severity.code()));
            for f in [Format::Bsd, Format::Ietf] {
                assert!(
                    text(format(&m, f)).starts_with(&want),
                    "{f} {facility} {severity}"
                );
            }
        }
    }
}

#[test]
fn facility_out_of_range_is_user() {
    let m = Message {
        facility: 24,
        severity: Severity::Error,
        ..message()
    };
    assert!(text(format(&m, Format::Bsd)).starts_with("<11>"));
    let m = Message {
        facility: 255,
        severity: Severity::Debug,
        ..message()
    };
    assert!(text(format(&m, Format::Ietf)).starts_with("<15>1 "));
}

#[test]
fn bsd_day_is_two_wide() {
    let mut m = message();
    m.at = Utc.with_ymd_and_hms(2024, 12, 25, 23, 59, 0).unwrap();
    assert!(text(format(&m, Format::Bsd)).starts_with("<180>Dec 25 23:59:00 node1"));
}

#[test]
fn header_fields_are_cleaned() {
    let m = Message {
        host: "my host\u{e9}".into(),
        app: "a:b[c] d".into(),
        msgid: Some("Call Attempt".into()),
        ..message()
    };
    let bsd = text(format(&m, Format::Bsd));
    assert!(bsd.contains(" my_host_ a_b_c__d: "), "{bsd}");
    let ietf = text(format(&m, Format::Ietf));
    assert!(ietf.contains(" my_host_ a:b[c]_d "), "{ietf}");
    assert!(ietf.contains(" Call_Attempt - "), "{ietf}");
}

#[test]
fn absent_fields_are_nil() {
    let m = Message {
        host: String::new(),
        app: String::new(),
        msgid: None,
        text: String::new(),
        ..message()
    };
    let pid = std::process::id();
    assert_eq!(
        text(format(&m, Format::Ietf)),
        format!("<180>1 2024-03-05T07:08:09.123Z - - {pid} - -")
    );
    assert_eq!(text(format(&m, Format::Bsd)), "<180>Mar  5 07:08:09 - -: ");
    let m = Message {
        msgid: Some(String::new()),
        ..message()
    };
    assert!(text(format(&m, Format::Ietf)).contains(&format!(" tvcs {pid} - - ")));
}

#[test]
fn header_fields_are_cut_to_their_limits() {
    let m = Message {
        host: "h".repeat(300),
        app: "a".repeat(60),
        msgid: Some("m".repeat(40)),
        ..message()
    };
    let ietf = text(format(&m, Format::Ietf));
    let fields: Vec<&str> = ietf.split(' ').collect();
    assert_eq!(fields[2].len(), 255);
    assert_eq!(fields[3].len(), 48);
    assert_eq!(fields[5].len(), 32);
    let bsd = text(format(&m, Format::Bsd));
    let fields: Vec<&str> = bsd.split(' ').collect();
    // `<180>Mar`, ``, `5`, `07:08:09`, HOST, `TAG:`
    assert_eq!(fields[4].len(), 255);
    assert_eq!(fields[5], format!("{}:", "a".repeat(32)));
}

#[test]
fn control_characters_are_escaped() {
    let m = Message {
        text: "INVITE sip:a@b SIP/2.0\r\nVia: x\tend\u{0}\u{7f}".into(),
        ..message()
    };
    for f in [Format::Bsd, Format::Ietf] {
        let s = text(format(&m, f));
        assert!(
            s.ends_with("INVITE sip:a@b SIP/2.0#015#012Via: x#011end#000#177"),
            "{s}"
        );
        assert!(!s.bytes().any(|b| b < 0x20 || b == 0x7f));
    }
}

#[test]
fn ietf_marks_non_ascii_text_with_a_bom() {
    let m = Message {
        text: "caf\u{e9} \u{260e}".into(),
        ..message()
    };
    let ietf = format(&m, Format::Ietf);
    let tail = "RegistrationAccepted - \u{feff}caf\u{e9} \u{260e}";
    assert!(text(ietf).ends_with(tail));
    // BSD has no notion of a BOM: the text goes as it is.
    assert!(text(format(&m, Format::Bsd)).ends_with("tvcs: caf\u{e9} \u{260e}"));
    // Plain ASCII is sent without one.
    assert!(!text(format(&message(), Format::Ietf)).contains('\u{feff}'));
}

#[test]
fn ietf_year_out_of_range_is_nil() {
    let m = Message {
        at: NaiveDate::from_ymd_opt(10000, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc(),
        ..message()
    };
    assert!(text(format(&m, Format::Ietf)).starts_with("<180>1 - node1"));
}

#[test]
fn names_parse_as_the_configuration_writes_them() {
    let names = [
        "emergency",
        "alert",
        "critical",
        "error",
        "warning",
        "notice",
        "informational",
        "debug",
    ];
    for (code, name) in names.iter().enumerate() {
        let s: Severity = name.parse().unwrap();
        assert_eq!(usize::from(s.code()), code);
        assert_eq!(s.to_string(), *name);
        assert_eq!(Severity::from_code(code as u8), Some(s));
    }
    assert_eq!(
        "Informational".parse::<Severity>(),
        Ok(Severity::Informational)
    );
    assert!("info".parse::<Severity>().is_err());
    assert_eq!(Severity::from_code(8), None);
    assert_eq!("bsd".parse::<Format>(), Ok(Format::Bsd));
    assert_eq!("ietf".parse::<Format>(), Ok(Format::Ietf));
    assert!("json".parse::<Format>().is_err());
    assert_eq!("udp".parse::<Transport>(), Ok(Transport::Udp));
    assert_eq!("TCP".parse::<Transport>(), Ok(Transport::Tcp));
    assert_eq!("tls".parse::<Transport>(), Ok(Transport::Tls));
    assert!("sctp".parse::<Transport>().is_err());
}
