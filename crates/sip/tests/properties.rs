//! Property tests: generated messages survive serialization and parsing unchanged, streams
//! of them are framed back into the same messages, and no input makes the parser panic.

use bytes::Bytes;
use proptest::prelude::*;

use causeway_sip::header::{AuthHeader, CSeq, Contact, NameAddr, SessionExpires, SipDate, Via};
use causeway_sip::parse::{salvage_headers, Parser};
use causeway_sip::serialize::SerializeOptions;
use causeway_sip::validate::{validate_request, validate_response, Role, ValidateOptions};
use causeway_sip::{
    frame, parse_message, uri_equal, Framing, Message, Method, Request, Response, Uri,
};

const KNOWN_METHODS: [&str; 14] = [
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "REGISTER",
    "OPTIONS",
    "PRACK",
    "SUBSCRIBE",
    "NOTIFY",
    "UPDATE",
    "MESSAGE",
    "REFER",
    "PUBLISH",
    "INFO",
];

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!%*_+.~'`-]{1,12}"
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        prop::sample::select(&KNOWN_METHODS[..]).prop_map(str::to_owned),
        token(),
    ]
    .prop_map(|t| t.parse::<Method>().unwrap())
}

fn escaped_or(chars: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(chars.chars().collect::<Vec<_>>()).prop_map(String::from),
            1 => any::<u8>().prop_map(|b| format!("%{b:02X}")),
        ],
        1..8,
    )
    .prop_map(|v| v.concat())
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            prop::collection::vec("[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?", 0..3),
            "[a-z]([a-z0-9-]{0,6}[a-z0-9])?"
        )
            .prop_map(|(labels, top)| {
                let mut s = labels.join(".");
                if !s.is_empty() {
                    s.push('.');
                }
                s + &top
            }),
        any::<[u8; 4]>().prop_map(|o| format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3])),
        any::<[u16; 8]>().prop_map(|a| format!("[{}]", std::net::Ipv6Addr::from(a))),
    ]
}

fn sip_uri() -> impl Strategy<Value = String> {
    const UNRESERVED: &str = "abcXYZ019-_.!~*'()";
    (
        prop::bool::ANY,
        prop::option::of((
            escaped_or("abcXYZ019-_.!~*'()&=+$,;?/"),
            prop::option::of(escaped_or("abcXYZ019-_.!~*'()&=+$,")),
        )),
        host(),
        prop::option::of(any::<u16>()),
        prop::collection::vec(
            (
                escaped_or(UNRESERVED),
                prop::option::of(escaped_or("abc019-_.[]/:&+$")),
            ),
            0..3,
        ),
        prop::collection::vec(
            (escaped_or(UNRESERVED), escaped_or("abc019-_.[]/?:+$")),
            0..2,
        ),
    )
        .prop_map(|(secure, userinfo, host, port, params, headers)| {
            let mut s = String::from(if secure { "sips:" } else { "sip:" });
            if let Some((user, password)) = userinfo {
                s.push_str(&user);
                if let Some(p) = password {
                    s.push(':');
                    s.push_str(&p);
                }
                s.push('@');
            }
            s.push_str(&host);
            if let Some(p) = port {
                s.push_str(&format!(":{p}"));
            }
            for (n, v) in params {
                s.push(';');
                s.push_str(&n);
                if let Some(v) = v {
                    s.push('=');
                    s.push_str(&v);
                }
            }
            for (i, (n, v)) in headers.iter().enumerate() {
                s.push(if i == 0 { '?' } else { '&' });
                s.push_str(n);
                s.push('=');
                s.push_str(v);
            }
            s
        })
}

fn uri() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => sip_uri(),
        1 => ("\\+?[0-9][0-9().-]{0,10}", prop::option::of("[a-z]{1,5}=[a-z0-9]{1,5}"))
            .prop_map(|(n, p)| match p {
                Some(p) => format!("tel:{n};{p}"),
                None => format!("tel:{n}"),
            }),
        1 => ("[a-z][a-z0-9+.-]{0,6}", "[a-zA-Z0-9/:@.?=&%-]{1,20}")
            .prop_filter("known schemes", |(s, _)| !matches!(s.as_str(), "sip" | "sips" | "tel"))
            .prop_filter("valid escapes", |(_, r)| Uri::parse(&format!("x:{r}")).is_ok())
            .prop_map(|(s, r)| format!("{s}:{r}")),
    ]
}

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "Via",
            "v",
            "From",
            "f",
            "To",
            "t",
            "Call-ID",
            "i",
            "CSeq",
            "Contact",
            "m",
            "Route",
            "Record-Route",
            "Max-Forwards",
            "Supported",
            "k",
            "Require",
            "Subject",
            "s",
            "Allow",
            "Accept",
            "Authorization",
            "WWW-Authenticate",
            "Date",
            "o",
            "r",
            "b",
            "u",
            "x",
            "a",
            "j",
            "d",
            "y",
            "n",
            "e",
            "c",
            "X-Custom",
            "VIA",
            "from",
        ])
        .prop_map(str::to_owned),
        token(),
    ]
    .prop_filter("Content-Length is generated separately", |n| {
        !n.eq_ignore_ascii_case("l") && !n.eq_ignore_ascii_case("content-length")
    })
}

/// A header value: any text without CR/LF, not starting or ending with whitespace.
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,40}",
        "[ -~\u{a0}-\u{2fff}]{0,20}",
        // comma-separated lists with quotes and brackets
        prop::collection::vec(
            r#"("[a-z ,]{0,5}" )?<sip:[a-z]{1,4}@[a-z]{1,4};x=[a-z,]{1,3}>"#,
            1..4
        )
        .prop_map(|v| v.join(", ")),
    ]
    .prop_map(|s| s.trim_matches(|c| c == ' ' || c == '\t').to_owned())
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((header_name(), header_value()), 0..12)
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![Just(Vec::new()), prop::collection::vec(any::<u8>(), 0..300),]
}

/// Content-Length: absent, or the body's length under one of its spellings.
fn content_length() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::of(prop::sample::select(vec![
        "Content-Length",
        "l",
        "content-length",
        "L",
    ]))
}

fn message() -> impl Strategy<Value = Message> {
    let request = (method(), uri(), headers(), body(), content_length()).prop_map(
        |(method, uri, hs, body, cl)| {
            let mut r = Request::new(method, Uri::parse(&uri).unwrap());
            for (n, v) in hs {
                r.headers.push(&n, v).unwrap();
            }
            if let Some(cl) = cl {
                r.headers.push(cl, body.len().to_string()).unwrap();
            }
            r.body = Bytes::from(body);
            Message::Request(r)
        },
    );
    let response = (
        100u16..700,
        "[ -~\u{a0}-\u{2fff}]{0,30}",
        headers(),
        body(),
        content_length(),
    )
        .prop_map(|(status, reason, hs, body, cl)| {
            let mut r = Response::new(status);
            r.reason = reason.as_str().into();
            for (n, v) in hs {
                r.headers.push(&n, v).unwrap();
            }
            if let Some(cl) = cl {
                r.headers.push(cl, body.len().to_string()).unwrap();
            }
            r.body = Bytes::from(body);
            Message::Response(r)
        });
    prop_oneof![request, response]
}

/// Reads every typed view and runs every check; none of it may panic.
fn exercise(m: &Message) {
    let h = m.headers();
    let _ = h.vias().count();
    let _ = h.from_addr();
    let _ = h.to_addr();
    let _ = h.contacts().count();
    let _ = h.routes().count();
    let _ = h.record_routes().count();
    let _ = h.call_id();
    let _ = h.cseq();
    let _ = h.max_forwards();
    let _ = h.expires();
    let _ = h.min_expires();
    let _ = h.content_length();
    let _ = h.session_expires();
    let _ = h.min_se();
    let _ = h.date();
    let _ = h.require();
    let _ = h.supported();
    let _ = h.authorizations().count();
    let _ = h.www_authenticates().count();
    for name in ["Via", "Contact", "X"] {
        let _ = h.values(name).count();
    }
    match m {
        Message::Request(r) => {
            for role in [Role::Proxy, Role::Uas, Role::Registrar] {
                if let Err(rej) = validate_request(r, &ValidateOptions::for_role(role)) {
                    let _ = rej.response(r);
                }
            }
            if let Some(u) = r.uri.as_sip() {
                let _ = (u.user_decoded(), u.maddr(), u.ttl(), u.headers().count());
            }
            let _ = uri_equal(&r.uri, &r.uri);
        }
        Message::Response(r) => {
            let _ = validate_response(r);
        }
    }
    let _ = m.to_bytes_with(SerializeOptions::FIX_CONTENT_LENGTH);
}

/// Messages from the RFC 4475 corpus, to mutate.
fn seed() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(
        sipx_testkit::rfc4475::CASES
            .iter()
            .map(|c| c.bytes)
            .collect::<Vec<_>>(),
    )
    .prop_map(<[u8]>::to_vec)
}

#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let interesting = prop::sample::select(vec![
        b"\r\n".to_vec(),
        b"\r\n ".to_vec(),
        b";".to_vec(),
        b",".to_vec(),
        b"\"".to_vec(),
        b"<".to_vec(),
        b">".to_vec(),
        b"[".to_vec(),
        b"]".to_vec(),
        b"%".to_vec(),
        b":".to_vec(),
        b"\\".to_vec(),
        b" ".to_vec(),
        b"\r".to_vec(),
        b"\n".to_vec(),
        b"99999999999999999999".to_vec(),
        vec![0xff, 0xfe],
    ]);
    prop::collection::vec(
        prop_oneof![
            (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
            (any::<usize>(), interesting).prop_map(|(i, v)| Edit::Insert(i, v)),
            (any::<usize>(), 1usize..20).prop_map(|(i, n)| Edit::Delete(i, n)),
            any::<usize>().prop_map(Edit::Truncate),
        ],
        1..6,
    )
}

fn apply(mut data: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = data.len().max(1);
        match e {
            Edit::Flip(i, b) => {
                if let Some(x) = data.get_mut(i % len) {
                    *x = *b;
                }
            }
            Edit::Insert(i, v) => {
                let at = i % (data.len() + 1);
                data.splice(at..at, v.iter().copied());
            }
            Edit::Delete(i, n) => {
                let at = i % len;
                let end = (at + n).min(data.len());
                if at < end {
                    data.drain(at..end);
                }
            }
            Edit::Truncate(i) => data.truncate(i % len),
        }
    }
    data
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn serialize_then_parse_gives_the_same_message(m in message()) {
        let bytes = m.to_bytes();
        let parsed = parse_message(&bytes);
        prop_assert_eq!(parsed.as_ref(), Ok(&m), "{}", String::from_utf8_lossy(&bytes));
        // A parsed message writes back to the same bytes.
        prop_assert_eq!(parsed.unwrap().to_bytes(), bytes);
    }

    #[test]
    fn streams_of_messages_are_framed_back(
        ms in prop::collection::vec((message(), prop::sample::select(vec![0usize, 2, 4])), 1..5),
        chunk in 1usize..200,
    ) {
        let mut wire = Vec::new();
        let mut expected = Vec::new();
        for (m, keepalive) in &ms {
            wire.extend(std::iter::repeat_n(b"\r\n", keepalive / 2).flatten());
            let b = m.to_bytes_with(SerializeOptions::FIX_CONTENT_LENGTH);
            expected.push(b.clone());
            wire.extend_from_slice(&b);
        }
        let parser = Parser::default();
        let mut buf: Vec<u8> = Vec::new();
        let mut got = Vec::new();
        for piece in wire.chunks(chunk) {
            buf.extend_from_slice(piece);
            loop {
                match frame(&buf) {
                    Framing::Complete(n) => {
                        let msg: Vec<u8> = buf.drain(..n).collect();
                        let parsed = parser.parse_framed(Bytes::from(msg.clone())).unwrap();
                        let again = parsed.to_bytes();
                        prop_assert_eq!(again.as_ref(), msg.as_slice());
                        got.push(Bytes::from(msg));
                    }
                    Framing::Ping(n) | Framing::KeepAlive(n) => {
                        buf.drain(..n);
                    }
                    Framing::Incomplete => break,
                    Framing::Invalid(e) => prop_assert!(false, "invalid: {}", e),
                }
            }
        }
        prop_assert!(buf.is_empty() || buf == b"\r\n");
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn uris_print_as_parsed(s in uri()) {
        let u = Uri::parse(&s).unwrap();
        prop_assert_eq!(u.to_string(), s);
        prop_assert!(uri_equal(&u, &u));
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..1500)) {
        if let Ok(m) = parse_message(&data) {
            exercise(&m);
        }
        let _ = frame(&data);
        let _ = salvage_headers(&data);
    }

    #[test]
    fn mutated_torture_messages_never_panic(data in seed(), e in edits()) {
        let data = apply(data, &e);
        if let Ok(m) = parse_message(&data) {
            exercise(&m);
            // Whatever parsed writes back to bytes that parse to the same message.
            let again = parse_message(&m.to_bytes());
            prop_assert_eq!(again.as_ref(), Ok(&m));
        }
        if let Framing::Complete(n) = frame(&data) {
            let _ = Parser::default().parse_framed(Bytes::copy_from_slice(&data[..n]));
        }
    }

    #[test]
    fn typed_parsers_never_panic(s in "[ -~\u{80}-\u{ff}]{0,80}") {
        let _ = Via::parse(&s);
        let _ = Via::parse_lenient(&s);
        let _ = NameAddr::parse(&s);
        let _ = Contact::parse(&s);
        let _ = CSeq::parse(&s);
        let _ = AuthHeader::parse(&s);
        let _ = SessionExpires::parse(&s);
        let _ = SipDate::parse(&s);
        if let Ok(u) = Uri::parse(&s) {
            prop_assert_eq!(u.to_string(), s);
        }
    }

    #[test]
    fn typed_parsers_on_sip_like_text(s in r#"[ <>";:@\[\]=,.?&%a-f0-9A-F/SIPUDTCsipt]{0,60}"#) {
        let _ = Via::parse(&s);
        let _ = NameAddr::parse(&s);
        let _ = AuthHeader::parse(&s);
        if let Ok(u) = Uri::parse(&s) {
            prop_assert_eq!(u.to_string(), s.clone());
            prop_assert!(uri_equal(&u, &u));
        }
    }
}
