//! RFC 5118 (IPv6 torture test messages) against the parser and `validate`.
//!
//! The message bytes come from the `sipx-testkit` crate, which carries the RFC's Appendix A
//! archive as it is. That archive is not wire format: its lines end in bare LF, the two §4.10
//! files stop without the empty line that ends the header section, and the three messages
//! with SDP declare Content-Lengths that fit neither line ending. `wire` below turns them into
//! what the RFC's text shows being sent (CRLF lines, a closed header section, the body's real
//! length) without touching a URI, a Via or a body byte. The expectations are ours, from the
//! RFC's text.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use causeway_sip::header::Contact;
use causeway_sip::parse::{parse_message, salvage_headers, Fault};
use causeway_sip::uri::Host;
use causeway_sip::validate::{validate_request, Role, ValidateOptions};
use causeway_sip::{Message, Request, Response};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Parses, writes back exactly, passes validation in every role.
    Fine,
    /// Refused by the parser.
    ParseErr(Fault),
}

use Expect::{Fine, ParseErr};

const TABLE: &[(&str, &str, Expect)] = &[
    ("ipv6-good", "4.1", Fine),
    // `sip:2001:db8::10`: an IPv6 address without its brackets reads as host `2001` and a
    // port that is not a number. The RFC wants a 400; the headers can be salvaged for it.
    ("ipv6-bad", "4.2", ParseErr(Fault::StartLine)),
    // Well formed; the port the sender meant ends up inside the address.
    ("port-ambiguous", "4.3", Fine),
    ("port-unambiguous", "4.4", Fine),
    // `received` with and without brackets: both accepted.
    ("via-received-param-with-delim", "4.5", Fine),
    ("via-received-param-no-delim", "4.5", Fine),
    ("ipv6-in-sdp", "4.6", Fine),
    ("mult-ip-in-header", "4.7", Fine),
    ("mult-ip-in-sdp", "4.8", Fine),
    ("ipv4-mapped-ipv6", "4.9", Fine),
    // RFC 3261's ABNF admits three colons before an embedded IPv4 address; tolerated.
    ("ipv6-bug-abnf-3-colons", "4.10", Fine),
    ("ipv6-correct-abnf-2-colons", "4.10", Fine),
];

/// The archive's bytes as they would travel: CRLF line ends, the header section closed, and
/// Content-Length set to the body actually present.
fn wire(name: &str) -> Vec<u8> {
    let archived = sipx_testkit::rfc5118::CASES
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("{name} not in the corpus"))
        .bytes;
    let text = std::str::from_utf8(archived).unwrap();
    let (head, body) = match text.split_once("\n\n") {
        Some((h, b)) => (h, b.replace('\n', "\r\n")),
        None => (text.trim_end_matches('\n'), String::new()),
    };
    let mut out = String::new();
    for line in head.split('\n') {
        match line.split_once(':') {
            Some((n, _)) if n.eq_ignore_ascii_case("Content-Length") => {
                out.push_str(&format!("{n}: {}", body.len()));
            }
            _ => out.push_str(line),
        }
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.push_str(&body);
    out.into_bytes()
}

fn request(name: &str) -> Request {
    match parse_message(&wire(name)).unwrap_or_else(|e| panic!("{name}: {e}")) {
        Message::Request(r) => r,
        Message::Response(_) => panic!("{name} is a response"),
    }
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

#[test]
fn table_covers_the_whole_archive() {
    let mut in_table: Vec<&str> = TABLE.iter().map(|t| t.0).collect();
    let mut in_corpus: Vec<&str> = sipx_testkit::rfc5118::CASES
        .iter()
        .map(|c| c.name)
        .collect();
    in_table.sort_unstable();
    in_corpus.sort_unstable();
    assert_eq!(in_table, in_corpus);
}

#[test]
fn every_message_meets_its_expectation() {
    for &(name, section, expect) in TABLE {
        let data = wire(name);
        match expect {
            ParseErr(fault) => {
                let e = parse_message(&data).expect_err(name);
                assert_eq!(e.fault(), fault, "{name} ({section}): {e}");
            }
            Fine => {
                let m = parse_message(&data).unwrap_or_else(|e| panic!("{name} ({section}): {e}"));
                assert_eq!(m.to_bytes().as_ref(), data.as_slice(), "{name}");
                let Message::Request(r) = m else {
                    panic!("{name}")
                };
                for role in [Role::Proxy, Role::Uas, Role::Registrar] {
                    assert_eq!(
                        validate_request(&r, &ValidateOptions::for_role(role)),
                        Ok(()),
                        "{name} ({section}) as {role:?}"
                    );
                }
                // Every Via and Contact host in these messages is an IP address.
                for via in r.headers.vias() {
                    let via = via.unwrap();
                    assert!(
                        matches!(via.host(), Host::Ipv4(_) | Host::Ipv6(_))
                            || via.host_str().ends_with("example.com"),
                        "{name}: {}",
                        via.as_str()
                    );
                }
            }
        }
    }
}

#[test]
fn ipv6_bad_can_still_be_answered() {
    let h = salvage_headers(&wire("ipv6-bad")).unwrap();
    let r = Response::from_request_headers(&h, 400, "Malformed Request-URI");
    assert_eq!(
        r.headers.get("Via"),
        Some(&b"SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111"[..])
    );
}

#[test]
fn hosts_and_ports() {
    let r = request("ipv6-good");
    let u = r.uri.as_sip().unwrap();
    assert_eq!(u.host(), Host::Ipv6(v6("2001:db8::10")));
    assert_eq!(u.port(), None);
    let via = r.headers.top_via().unwrap().unwrap();
    assert_eq!(via.host(), Host::Ipv6(v6("2001:db8::9:1")));
    assert_eq!(via.host_str(), "[2001:db8::9:1]");
    let Contact::Addr(c) = r.headers.contacts().next().unwrap().unwrap() else {
        panic!()
    };
    assert_eq!(
        c.uri().as_sip().unwrap().host(),
        Host::Ipv6(v6("2001:db8::1"))
    );

    // §4.3: the port inside the brackets is part of the address.
    let u = request("port-ambiguous").uri;
    let u = u.as_sip().unwrap();
    assert_eq!(u.host(), Host::Ipv6(v6("2001:db8::10:5070")));
    assert_eq!(u.port(), None);

    let u = request("port-unambiguous").uri;
    let u = u.as_sip().unwrap();
    assert_eq!(u.host(), Host::Ipv6(v6("2001:db8::10")));
    assert_eq!(u.port(), Some(5070));
}

#[test]
fn received_with_and_without_brackets() {
    for name in [
        "via-received-param-with-delim",
        "via-received-param-no-delim",
    ] {
        let via = request(name).headers.top_via().unwrap().unwrap();
        assert_eq!(
            via.received(),
            Some(IpAddr::V6(v6("2001:db8::9:255"))),
            "{name}"
        );
        assert_eq!(via.host(), Host::Ipv6(v6("2001:db8::9:1")));
    }
}

#[test]
fn several_addresses() {
    let r = request("mult-ip-in-header");
    let vias: Vec<_> = r.headers.vias().map(Result::unwrap).collect();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[0].host(), Host::Ipv6(v6("2001:db8::9:1")));
    assert_eq!(vias[0].port(), Some(6050));
    assert_eq!(vias[1].host(), Host::Ipv4(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(vias[2].host(), Host::Ipv6(v6("2001:db8::9:255")));
    assert_eq!(vias[2].transport(), "TCP");
    assert_eq!(
        vias[2].received(),
        Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 200)))
    );

    let r = request("ipv4-mapped-ipv6");
    let vias: Vec<_> = r.headers.vias().map(Result::unwrap).collect();
    assert_eq!(vias[0].host(), Host::Ipv6(v6("::ffff:192.0.2.10")));
    assert_eq!(vias[0].port(), Some(19823));
    assert_eq!(vias[1].host(), Host::Ipv6(v6("::ffff:192.0.2.2")));
    let Contact::Addr(c) = r.headers.contacts().next().unwrap().unwrap() else {
        panic!()
    };
    assert_eq!(c.display_name().unwrap(), "T. desk phone");
    assert_eq!(
        c.uri().as_sip().unwrap().host(),
        Host::Ipv6(v6("::ffff:192.0.2.2"))
    );

    for name in ["ipv6-in-sdp", "mult-ip-in-sdp", "ipv4-mapped-ipv6"] {
        let r = request(name);
        assert!(r.body.starts_with(b"v=0\r\n"), "{name}");
        assert_eq!(r.headers.content_length(), Some(Ok(r.body.len())), "{name}");
    }
}

#[test]
fn the_abnf_bug_form_is_the_same_address() {
    let bug = request("ipv6-bug-abnf-3-colons");
    let good = request("ipv6-correct-abnf-2-colons");
    let want = Host::Ipv6(v6("2001:db8::192.0.2.1"));
    assert_eq!(bug.uri.as_sip().unwrap().host(), want);
    assert_eq!(good.uri.as_sip().unwrap().host(), want);
    assert!(causeway_sip::uri_equal(&bug.uri, &good.uri));
    // The text is kept as received.
    assert_eq!(bug.uri.as_str(), "sip:user@[2001:db8:::192.0.2.1]");
    let to = bug.headers.to_addr().unwrap().unwrap();
    assert_eq!(to.uri().as_sip().unwrap().host(), want);
}

#[test]
fn the_archived_lengths_as_declared() {
    // Left as the archive has them, the declared length of §4.6 runs past the body (an error
    // on a datagram); §4.8's falls short of it (the tail is not part of the message).
    let fix_lines = |name: &str| -> Vec<u8> {
        let b = sipx_testkit::rfc5118::CASES
            .iter()
            .find(|c| c.name == name)
            .unwrap()
            .bytes;
        String::from_utf8(b.to_vec())
            .unwrap()
            .replace('\n', "\r\n")
            .into_bytes()
    };
    assert!(matches!(
        parse_message(&fix_lines("ipv6-in-sdp")),
        Err(causeway_sip::ParseError::BodyTruncated { declared: 268, .. })
    ));
    let m = parse_message(&fix_lines("mult-ip-in-sdp")).unwrap();
    assert_eq!(m.body().len(), 181);
}
