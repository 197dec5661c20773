//! RFC 4475 (SIP torture test messages) against the parser and `validate`.
//!
//! The message bytes come from the `sipx-testkit` crate, which carries the RFC's Appendix A
//! archive bit-exactly. Its own classification is not used: the table below is ours, read from
//! the RFC's text, and says for each message what this crate does with it.

use causeway_sip::header::{Contact, Via};
use causeway_sip::parse::{frame, parse_message, salvage_headers, Fault, Framing, ParseError};
use causeway_sip::uri::Host;
use causeway_sip::validate::{
    unsupported_extensions, validate_request, validate_response, Action, Role, ValidateOptions,
};
use causeway_sip::{Message, Method, Response, Uri};

/// What must happen to one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Parses, writes back byte for byte, and passes validation in every role.
    Fine,
    /// The parser refuses it, for this reason.
    ParseErr(Fault),
    /// Parses and writes back byte for byte; `validate` refuses it for a UAS with `uas` and
    /// for a proxy with `proxy` (`None`: a proxy forwards it).
    Refuse { uas: Action, proxy: Option<Action> },
    /// Parses and passes as a proxy and a UAS, but a registrar refuses it.
    RegistrarRefuses(Action),
}

use Expect::{Fine, ParseErr, Refuse, RegistrarRefuses};

const fn all(a: Action) -> Expect {
    Refuse {
        uas: a,
        proxy: Some(a),
    }
}

const fn uas_only(a: Action) -> Expect {
    Refuse {
        uas: a,
        proxy: None,
    }
}

const R400: Action = Action::Respond(400);

/// Our reading of RFC 4475, section by section.
const TABLE: &[(&str, &str, Expect)] = &[
    // 3.1.1 Valid messages: every one must be accepted.
    ("wsinv", "3.1.1.1", Fine),
    ("intmeth", "3.1.1.2", Fine),
    ("esc01", "3.1.1.3", Fine),
    ("escnull", "3.1.1.4", Fine),
    ("esc02", "3.1.1.5", Fine),
    ("lwsdisp", "3.1.1.6", Fine),
    ("longreq", "3.1.1.7", Fine),
    ("dblreq", "3.1.1.8", Fine),
    ("semiuri", "3.1.1.9", Fine),
    ("transports", "3.1.1.10", Fine),
    ("mpart01", "3.1.1.11", Fine),
    ("unreason", "3.1.1.12", Fine),
    ("noreason", "3.1.1.13", Fine),
    // 3.1.2 Invalid messages.
    // The Via and Contact carry empty parameters: the message frames, the values do not
    // follow their grammar. The top Via still names 192.0.2.15, so a 400 can be sent there.
    ("badinv01", "3.1.2.1", all(R400)),
    // Content-Length larger than the datagram: the body's end is unknown.
    ("clerr", "3.1.2.2", ParseErr(Fault::Framing)),
    ("ncl", "3.1.2.3", ParseErr(Fault::Framing)),
    // CSeq beyond 2^32-1 (also Max-Forwards 300 and overlarge expiries): 400 for the CSeq.
    ("scalar02", "3.1.2.4", all(R400)),
    // A response cannot be answered: it is discarded.
    ("scalarlg", "3.1.2.5", all(Action::Drop)),
    ("quotbal", "3.1.2.6", all(R400)),
    // Start-line faults: refused by the parser (see salvage_for_400 below).
    ("ltgtruri", "3.1.2.7", ParseErr(Fault::StartLine)),
    ("lwsruri", "3.1.2.8", ParseErr(Fault::StartLine)),
    ("lwsstart", "3.1.2.9", ParseErr(Fault::StartLine)),
    ("trws", "3.1.2.10", ParseErr(Fault::StartLine)),
    ("escruri", "3.1.2.11", all(R400)),
    // The Date is not in GMT. A proxy does not use Date and forwards it untouched (RFC 3261
    // §16.3); an element that acts on the request answers 400.
    ("baddate", "3.1.2.12", uas_only(R400)),
    // A bare Contact URI with '?': a registrar must refuse it; a proxy does not read Contact.
    ("regbadct", "3.1.2.13", uas_only(R400)),
    ("badaspec", "3.1.2.14", all(R400)),
    // The archive's copy of this message ends without the empty line that closes the header
    // section, so it is refused as unterminated; with the empty line added (see
    // `baddn_with_its_header_section_closed`) the unquoted comma in the display names earns
    // the 400 the RFC describes.
    ("baddn", "3.1.2.15", ParseErr(Fault::Framing)),
    ("badvers", "3.1.2.16", all(Action::Respond(505))),
    ("mismatch01", "3.1.2.17", all(R400)),
    ("mismatch02", "3.1.2.18", all(R400)),
    ("bigcode", "3.1.2.19", ParseErr(Fault::StartLine)),
    // 3.2 Transaction layer: a branch without the magic cookie is legal (RFC 2543 matching).
    ("badbranch", "3.2.1", Fine),
    // 3.3 Application layer.
    ("insuf", "3.3.1", all(R400)),
    ("unkscm", "3.3.2", all(Action::Respond(416))),
    ("novelsc", "3.3.3", all(Action::Respond(416))),
    // Unknown schemes in To/From/Contact parse; only a registrar needs a SIP AOR in To.
    ("unksm2", "3.3.4", RegistrarRefuses(R400)),
    // 420 is the caller's decision; `unsupported_extensions` gives it the tags (checked below).
    ("bext01", "3.3.5", Fine),
    // 415 is the UAS's decision about the body, not a syntax matter.
    ("invut", "3.3.6", Fine),
    // The registrar answers 401 with a scheme it knows; the header itself parses.
    ("regaut01", "3.3.7", Fine),
    ("multi01", "3.3.8", all(R400)),
    // Over UDP the rest of the datagram is the body; the conflict earns a 400. On a stream
    // it cannot be framed at all (checked below).
    ("mcl01", "3.3.9", all(R400)),
    ("bcast", "3.3.10", Fine),
    // OPTIONS with Max-Forwards 0: a proxy answers it itself instead of forwarding.
    ("zeromf", "3.3.11", Fine),
    ("cparam01", "3.3.12", Fine),
    ("cparam02", "3.3.13", Fine),
    ("regescrt", "3.3.14", Fine),
    // 406 is the UAS's decision.
    ("sdp01", "3.3.15", Fine),
    // 3.4 Backward compatibility: no branch, no From tag, no Content-Length, no Max-Forwards.
    ("inv2543", "3.4.1", Fine),
    // In the archive but cited by no section: the request line has no SIP-Version.
    ("test", "-", ParseErr(Fault::StartLine)),
];

fn bytes(name: &str) -> &'static [u8] {
    sipx_testkit::rfc4475::CASES
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("{name} not in the corpus"))
        .bytes
}

fn parse(name: &str) -> Message {
    parse_message(bytes(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn request(name: &str) -> causeway_sip::Request {
    match parse(name) {
        Message::Request(r) => r,
        Message::Response(_) => panic!("{name} is a response"),
    }
}

const ROLES: [Role; 3] = [Role::Proxy, Role::Uas, Role::Registrar];

fn verdict(m: &Message, role: Role) -> Option<Action> {
    match m {
        Message::Request(r) => validate_request(r, &ValidateOptions::for_role(role))
            .err()
            .map(|e| e.action),
        Message::Response(r) => validate_response(r).err().map(|e| e.action),
    }
}

#[test]
fn table_covers_the_whole_archive() {
    let mut in_table: Vec<&str> = TABLE.iter().map(|t| t.0).collect();
    let mut in_corpus: Vec<&str> = sipx_testkit::rfc4475::CASES
        .iter()
        .map(|c| c.name)
        .collect();
    in_table.sort_unstable();
    in_corpus.sort_unstable();
    assert_eq!(in_table, in_corpus);
    assert_eq!(
        TABLE.iter().filter(|t| t.1.starts_with("3.1.1")).count(),
        13
    );
    assert_eq!(
        TABLE.iter().filter(|t| t.1.starts_with("3.1.2")).count(),
        19
    );
    assert_eq!(TABLE.iter().filter(|t| t.1.starts_with("3.3")).count(), 15);
}

#[test]
fn every_message_meets_its_expectation() {
    for &(name, section, expect) in TABLE {
        let data = bytes(name);
        let parsed = parse_message(data);
        match expect {
            ParseErr(fault) => {
                let err = parsed.expect_err(name);
                assert_eq!(err.fault(), fault, "{name} ({section}): {err}");
                continue;
            }
            _ => {
                let m = parsed.unwrap_or_else(|e| panic!("{name} ({section}): {e}"));
                // What was received is written back unchanged (for dblreq: the first message;
                // the rest of the datagram is not part of it).
                let out = m.to_bytes();
                assert!(data.starts_with(&out), "{name}: not written back exactly");
                if name != "dblreq" {
                    assert_eq!(out.len(), data.len(), "{name}");
                }
                for role in ROLES {
                    let got = verdict(&m, role);
                    let want = match expect {
                        Fine => None,
                        Refuse { uas, proxy } => match role {
                            Role::Proxy => proxy,
                            Role::Uas | Role::Registrar => Some(uas),
                        },
                        RegistrarRefuses(a) => (role == Role::Registrar).then_some(a),
                        ParseErr(_) => unreachable!(),
                    };
                    assert_eq!(got, want, "{name} ({section}) as {role:?}");
                }
            }
        }
    }
}

#[test]
fn counts_of_the_table() {
    let fine = TABLE.iter().filter(|t| t.2 == Fine).count();
    let parse = TABLE.iter().filter(|t| matches!(t.2, ParseErr(_))).count();
    let refused = TABLE
        .iter()
        .filter(|t| matches!(t.2, Refuse { .. } | RegistrarRefuses(_)))
        .count();
    assert_eq!((fine, parse, refused), (24, 9, 17));
}

#[test]
fn rejection_responses_name_the_problem() {
    let req = request("insuf");
    let rej = validate_request(&req, &ValidateOptions::default()).unwrap_err();
    let resp = rej.response(&req).unwrap();
    assert_eq!(resp.status, 400);
    assert_eq!(resp.reason.as_str(), "Missing To header");

    let req = request("multi01");
    let rej = validate_request(&req, &ValidateOptions::default()).unwrap_err();
    assert_eq!(rej.reason_phrase(), "Multiple To headers");

    let req = request("mismatch01");
    let rej = validate_request(&req, &ValidateOptions::default()).unwrap_err();
    assert_eq!(
        rej.reason_phrase(),
        "CSeq method does not match request method"
    );

    let req = request("scalar02");
    let rej = validate_request(&req, &ValidateOptions::default()).unwrap_err();
    assert_eq!(rej.reason_phrase(), "Malformed CSeq header");

    let req = request("badinv01");
    let rej = validate_request(&req, &ValidateOptions::default()).unwrap_err();
    assert_eq!(rej.reason_phrase(), "Malformed Via header");
    let resp = rej.response(&req).unwrap();
    assert_eq!(
        resp.headers.get("Via"),
        Some(&b"SIP/2.0/UDP 192.0.2.15;;,;,,"[..])
    );

    let req = request("badvers");
    let resp = validate_request(&req, &ValidateOptions::default())
        .unwrap_err()
        .response(&req)
        .unwrap();
    assert_eq!(
        (resp.status, resp.reason.as_str()),
        (505, "Version Not Supported")
    );

    let req = request("unkscm");
    let rej = validate_request(&req, &ValidateOptions::default()).unwrap_err();
    assert_eq!(rej.response(&req).unwrap().status, 416);
}

#[test]
fn baddn_with_its_header_section_closed() {
    let mut data = bytes("baddn").to_vec();
    assert!(!data.windows(4).any(|w| w == b"\r\n\r\n"));
    assert_eq!(
        parse_message(&data),
        Err(ParseError::UnterminatedHead),
        "the archive's copy has no empty line"
    );
    data.extend_from_slice(b"\r\n");
    let m = parse_message(&data).unwrap();
    for role in ROLES {
        assert_eq!(verdict(&m, role), Some(R400), "{role:?}");
    }
    let Message::Request(r) = m else { panic!() };
    assert_eq!(r.headers.from_addr().unwrap().unwrap_err().header, "From");
}

#[test]
fn salvage_for_400() {
    // RFC 4475 asks for a 400 to these; their headers are intact, so one can be built.
    for name in ["ltgtruri", "lwsruri", "lwsstart", "trws", "clerr", "ncl"] {
        let h = salvage_headers(bytes(name)).unwrap_or_else(|| panic!("{name}"));
        let r = Response::from_request_headers(&h, 400, "");
        assert!(
            r.headers.contains("Via") && r.headers.contains("CSeq"),
            "{name}"
        );
    }
}

#[test]
fn streams() {
    // Framing every valid request as if it came over a stream: all but the ones without
    // Content-Length frame to their own length.
    for name in [
        "wsinv", "intmeth", "esc01", "longreq", "mpart01", "unreason",
    ] {
        let data = bytes(name);
        assert_eq!(frame(data), Framing::Complete(data.len()), "{name}");
    }
    let dbl = bytes("dblreq");
    let Framing::Complete(n) = frame(dbl) else {
        panic!()
    };
    let second = dbl.get(n..).unwrap();
    // The second message follows after a lone CRLF.
    assert_eq!(frame(second), Framing::KeepAlive(2));
    let second = second.get(2..).unwrap();
    assert!(matches!(frame(second), Framing::Complete(_)));
    assert_eq!(
        frame(bytes("mcl01")),
        Framing::Invalid(ParseError::ConflictingContentLength)
    );
    assert_eq!(
        frame(bytes("inv2543")),
        Framing::Invalid(ParseError::MissingContentLength)
    );
    assert!(matches!(frame(bytes("ncl")), Framing::Invalid(_)));
    assert_eq!(frame(bytes("clerr")), Framing::Incomplete);
    assert!(matches!(frame(bytes("bigcode")), Framing::Invalid(_)));
}

#[test]
fn wsinv_details() {
    let r = request("wsinv");
    let h = &r.headers;
    assert_eq!(
        r.uri.as_str(),
        "sip:vivekg@chair-dnrc.example.com;unknownparam"
    );
    let to = h.to_addr().unwrap().unwrap();
    assert_eq!(to.tag(), Some("1918181833n"));
    let from = h.from_addr().unwrap().unwrap();
    assert_eq!(from.display_name().unwrap(), "J Rosenberg \\\"");
    assert_eq!(from.tag(), Some("98asjd8"));
    assert_eq!(h.max_forwards(), Some(Ok(68)));
    assert_eq!(h.cseq().unwrap().unwrap().seq, 9);
    let vias: Vec<Via> = h.vias().map(Result::unwrap).collect();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[0].host(), Host::Ipv4("192.0.2.2".parse().unwrap()));
    assert_eq!(vias[1].transport(), "TCP");
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    assert_eq!(h.get("Subject"), Some(&b""[..]));
    assert_eq!(
        h.get("NewFangledHeader"),
        Some(&b"newfangled value continued newfangled value"[..])
    );
    assert_eq!(
        h.get("UnknownHeaderWithUnusualValue"),
        Some(&b";;,,;;,;"[..])
    );
    let route = h.routes().next().unwrap().unwrap();
    assert!(route.uri().as_sip().unwrap().lr());
    let Contact::Addr(c) = h.contacts().next().unwrap().unwrap() else {
        panic!()
    };
    assert_eq!(c.display_name().unwrap(), "Quoted string \"\"");
    assert_eq!(c.param("newparam"), Some(Some("newvalue")));
    assert_eq!(c.param("secondparam"), Some(None));
    assert_eq!(c.q().unwrap().unwrap().0, 330);
    assert_eq!(h.content_length(), Some(Ok(150)));
    assert_eq!(r.body.len(), 150);
}

#[test]
fn escapes_and_unusual_characters() {
    let r = request("intmeth");
    assert_eq!(
        r.method,
        Method::Extension("!interesting-Method0123456789_*+`.%indeed'~".into())
    );
    let u = r.uri.as_sip().unwrap();
    assert_eq!(
        u.password(),
        Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
    );
    let to = r.headers.to_addr().unwrap().unwrap();
    assert_eq!(to.display_name().unwrap(), "BEL:\u{7} NUL:\u{0} DEL:\u{7f}");
    let from = r.headers.from_addr().unwrap().unwrap();
    assert_eq!(
        from.param("fromParam''~+*_!.-%"),
        Some(Some(
            "\"\u{440}\u{430}\u{431}\u{43e}\u{442}\u{430}\u{44e}\u{449}\u{438}\u{439}\""
        ))
    );
    assert_eq!(
        r.headers.get_str("extensionHeader-!.%*+_`'~"),
        Some("\u{feff}\u{5927}\u{505c}\u{96fb}")
    );

    let r = request("esc01");
    let u = r.uri.as_sip().unwrap();
    assert_eq!(u.user_decoded().unwrap().as_ref(), b"sips:user@example.com");
    assert_eq!(r.headers.get("Content-Type"), Some(&b"application/sdp"[..]));

    let r = request("escnull");
    let contacts: Vec<_> = r.headers.contacts().map(Result::unwrap).collect();
    let Contact::Addr(c) = &contacts[1] else {
        panic!()
    };
    assert_eq!(
        c.uri().as_sip().unwrap().user_decoded().unwrap().as_ref(),
        b"\0\0"
    );

    let r = request("esc02");
    assert_eq!(r.method, Method::Extension("RE%47IST%45R".into()));
    assert_eq!(r.headers.contacts().count(), 2, "C%6Fntact is not Contact");
    assert!(r.headers.contains("C%6Fntact"));

    let r = request("semiuri");
    assert_eq!(
        r.uri.as_sip().unwrap().user(),
        Some("user;par=u%40example.net")
    );
    assert_eq!(r.headers.values("Accept").count(), 6);

    let r = request("lwsdisp");
    let from = r.headers.from_addr().unwrap().unwrap();
    assert_eq!(from.display_name().unwrap(), "caller");
}

#[test]
fn other_details() {
    let r = request("dblreq");
    assert!(r.body.is_empty());
    assert_eq!(r.method, Method::Register);

    let r = request("transports");
    let transports: Vec<String> = r
        .headers
        .vias()
        .map(|v| v.unwrap().transport().to_owned())
        .collect();
    assert_eq!(transports, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);

    let r = request("longreq");
    assert_eq!(r.headers.vias().count(), 34);
    assert!(r.headers.vias().all(|v| v.is_ok()));

    let r = request("mpart01");
    assert_eq!(r.method, Method::Message);
    assert_eq!(r.body.len(), 553);
    assert!(r.headers.date().unwrap().is_ok());

    let Message::Response(u) = parse("unreason") else {
        panic!()
    };
    assert!(u.reason.as_str().starts_with("= 2**3 * 5**2 "));
    let Message::Response(n) = parse("noreason") else {
        panic!()
    };
    assert_eq!((n.status, n.reason.as_str()), (100, ""));

    let r = request("badbranch");
    assert!(!r.headers.top_via().unwrap().unwrap().has_magic_cookie());

    let Message::Response(b) = parse("bcast") else {
        panic!()
    };
    let second = b.headers.vias().nth(1).unwrap().unwrap();
    assert_eq!(
        second.host(),
        Host::Ipv4("255.255.255.255".parse().unwrap())
    );

    let r = request("unksm2");
    assert_eq!(r.headers.to_addr().unwrap().unwrap().uri().scheme(), "isbn");
    assert!(matches!(
        r.headers.from_addr().unwrap().unwrap().uri(),
        Uri::Other(_)
    ));

    let r = request("bext01");
    assert_eq!(
        unsupported_extensions(&r, Role::Proxy, &["path"]),
        ["noProxiesSupportThis", "norDoAnyProxiesSupportThis"]
    );
    assert_eq!(
        unsupported_extensions(&r, Role::Uas, &["nothingsupportsthis"]),
        ["nothingSupportsThisEither"]
    );
    let resp = Response::bad_extension(&r, &["nothingSupportsThisEither"]);
    assert_eq!(resp.status, 420);
    assert_eq!(
        resp.headers.get("Unsupported"),
        Some(&b"nothingSupportsThisEither"[..])
    );

    let r = request("regaut01");
    let auth = r.headers.authorizations().next().unwrap().unwrap();
    assert_eq!(auth.scheme(), "NoOneKnowsThisScheme");
    assert!(!auth.is_digest());

    let r = request("cparam01");
    let Contact::Addr(c) = r.headers.contacts().next().unwrap().unwrap() else {
        panic!()
    };
    assert_eq!(c.param("unknownparam"), Some(None));
    assert!(!c.uri().as_sip().unwrap().params().contains("unknownparam"));
    let r = request("cparam02");
    let Contact::Addr(c) = r.headers.contacts().next().unwrap().unwrap() else {
        panic!()
    };
    assert_eq!(c.param("unknownparam"), None);
    assert!(c.uri().as_sip().unwrap().params().contains("unknownparam"));

    let r = request("regescrt");
    let Contact::Addr(c) = r.headers.contacts().next().unwrap().unwrap() else {
        panic!()
    };
    assert!(c.uri().as_sip().unwrap().has_headers());

    let r = request("zeromf");
    assert_eq!(r.headers.max_forwards(), Some(Ok(0)));
    let mut invite = r.clone();
    invite.method = Method::Invite;
    invite.headers.replace("CSeq", "39234321 INVITE").unwrap();
    let rej = validate_request(&invite, &ValidateOptions::for_role(Role::Proxy)).unwrap_err();
    assert_eq!(rej.action, Action::Respond(483));

    let r = request("inv2543");
    assert!(r.headers.top_via().unwrap().unwrap().branch().is_none());
    assert!(r.headers.from_addr().unwrap().unwrap().tag().is_none());
    assert_eq!(r.body.len(), 105);
    let strict = ValidateOptions {
        require_max_forwards: true,
        ..ValidateOptions::default()
    };
    assert_eq!(
        validate_request(&r, &strict).unwrap_err().action,
        Action::Respond(400)
    );

    let mut ack = request("mismatch01");
    ack.method = Method::Ack;
    assert_eq!(
        validate_request(&ack, &ValidateOptions::default())
            .unwrap_err()
            .action,
        Action::Drop,
        "an ACK is never answered"
    );
}
