//! The checks a server makes before acting on a parsed message (RFC 3261 §8.2 for a UAS,
//! §16.3 for a proxy, §10.3 for a registrar, §18.1.2 for responses), and what to do when one
//! fails: answer with a given status code, or drop the message silently.
//!
//! Only the parts the element will use are checked. A proxy forwards headers it does not act
//! on, well-formed or not (§16.3: "Any other components, well-formed or not, SHOULD be ignored
//! and remain unchanged when the message is forwarded"), so its checks are a subset of a
//! UAS's.

use std::fmt;

use crate::header::{Contact, HeaderError, Via};
use crate::message::{Headers, KnownHeader, Method, Request, Response, Version};
use crate::text::ByteStr;
use crate::uri::Uri;

/// Which kind of element is about to act on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// A proxy (§16.3): checks what routing and the transaction layer use.
    Proxy,
    /// A user agent server (§8.2), e.g. a B2BUA leg or a presence server: also checks Contact
    /// and Date.
    #[default]
    Uas,
    /// A registrar (§10.3): a UAS that also checks the address of record and the use of
    /// `Contact: *`.
    Registrar,
}

/// Settings of [`validate_request`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidateOptions {
    /// The element's role.
    pub role: Role,
    /// Whether `tel:` Request-URIs are served (otherwise 416, like any scheme other than SIP
    /// and SIPS).
    pub tel_supported: bool,
    /// Whether a request without Max-Forwards is refused. RFC 3261 requires a UAC to send it
    /// but lets a proxy pass requests without one (§16.3 step 3), and RFC 4475 §3.4.1 wants an
    /// RFC 2543 request without it accepted, so this is off by default.
    pub require_max_forwards: bool,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions {
            role: Role::Uas,
            tel_supported: true,
            require_max_forwards: false,
        }
    }
}

impl ValidateOptions {
    /// Defaults for a role.
    pub fn for_role(role: Role) -> Self {
        ValidateOptions {
            role,
            ..ValidateOptions::default()
        }
    }
}

/// What is wrong with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// No Via at all: there is nowhere to send a response.
    NoVia,
    /// The top Via's sent-by cannot be read: there is nowhere to send a response.
    UnusableVia(HeaderError),
    /// The start line's version is not SIP/2.0.
    UnsupportedVersion(Version),
    /// The Request-URI's scheme is not served.
    UnsupportedUriScheme(String),
    /// The Request-URI carries `?headers` (RFC 3261 §19.1.5 forbids them there;
    /// RFC 4475 §3.1.2.11).
    HeadersInRequestUri,
    /// A mandatory header is absent.
    MissingHeader(&'static str),
    /// A header that may appear once appears more than once (RFC 4475 §3.3.8).
    RepeatedHeader(&'static str),
    /// A header's value does not follow its grammar.
    Malformed(HeaderError),
    /// The CSeq method differs from the request's method (RFC 4475 §3.1.2.17–18).
    CSeqMethodMismatch,
    /// Content-Length fields disagree (RFC 4475 §3.3.9).
    ConflictingContentLength,
    /// Max-Forwards is zero on a request that is not OPTIONS (a proxy must not forward it,
    /// §16.3 step 3).
    TooManyHops,
    /// `Contact: *` together with other contacts or a non-zero Expires (§10.3 step 6).
    InvalidContactStar,
    /// A REGISTER whose To is not a SIP or SIPS URI, so has no address of record (§10.2;
    /// RFC 4475 §3.3.4).
    InvalidAddressOfRecord,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NoVia => f.write_str("Missing Via header"),
            Problem::UnusableVia(e) | Problem::Malformed(e) => {
                write!(f, "Malformed {} header", e.header)
            }
            Problem::UnsupportedVersion(_) => f.write_str("Version Not Supported"),
            Problem::UnsupportedUriScheme(_) => f.write_str("Unsupported URI Scheme"),
            Problem::HeadersInRequestUri => f.write_str("Headers not allowed in Request-URI"),
            Problem::MissingHeader(h) => write!(f, "Missing {h} header"),
            Problem::RepeatedHeader(h) => write!(f, "Multiple {h} headers"),
            Problem::CSeqMethodMismatch => f.write_str("CSeq method does not match request method"),
            Problem::ConflictingContentLength => f.write_str("Conflicting Content-Length headers"),
            Problem::TooManyHops => f.write_str("Too Many Hops"),
            Problem::InvalidContactStar => f.write_str("Invalid use of Contact *"),
            Problem::InvalidAddressOfRecord => f.write_str("Address of record must be a SIP URI"),
        }
    }
}

/// What the server should do about a message that failed validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send a response with this status code.
    Respond(u16),
    /// Discard the message without a word.
    Drop,
}

/// A failed validation: the problem and the action it calls for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem}")]
pub struct Rejection {
    /// What is wrong.
    pub problem: Problem,
    /// What to do.
    pub action: Action,
}

impl Rejection {
    fn respond(problem: Problem, status: u16) -> Self {
        Rejection {
            problem,
            action: Action::Respond(status),
        }
    }

    fn drop(problem: Problem) -> Self {
        Rejection {
            problem,
            action: Action::Drop,
        }
    }

    /// The status code to answer with, or `None` to drop.
    pub fn status(&self) -> Option<u16> {
        match self.action {
            Action::Respond(s) => Some(s),
            Action::Drop => None,
        }
    }

    /// A reason phrase that names the problem (for 400s: "Missing Call-ID header", ...).
    pub fn reason_phrase(&self) -> String {
        self.problem.to_string()
    }

    /// The response to send for `req`, or `None` when the request is to be dropped.
    pub fn response(&self, req: &Request) -> Option<Response> {
        let status = self.status()?;
        let mut r = Response::for_request(req, status, "");
        if status == 400 {
            r.reason = ByteStr::from(self.reason_phrase());
        }
        Some(r)
    }
}

/// How often the headers that may appear only once are present, counted in one pass.
#[derive(Default)]
struct Counts {
    to: usize,
    from: usize,
    call_id: usize,
    cseq: usize,
    max_forwards: usize,
    conflicting_length: bool,
}

impl Counts {
    fn of(h: &Headers) -> Counts {
        let mut c = Counts::default();
        let mut length: Option<&[u8]> = None;
        for f in h.iter() {
            match f.known() {
                Some(KnownHeader::To) => c.to += 1,
                Some(KnownHeader::From) => c.from += 1,
                Some(KnownHeader::CallId) => c.call_id += 1,
                Some(KnownHeader::CSeq) => c.cseq += 1,
                Some(KnownHeader::MaxForwards) => c.max_forwards += 1,
                Some(KnownHeader::ContentLength) => match length {
                    Some(l) if l != f.value() => c.conflicting_length = true,
                    _ => length = Some(f.value()),
                },
                _ => {}
            }
        }
        c
    }

    /// The mandatory headers (RFC 3261 §8.1.1) with how often each appears.
    fn mandatory(&self) -> [(&'static str, usize); 4] {
        [
            ("To", self.to),
            ("From", self.from),
            ("Call-ID", self.call_id),
            ("CSeq", self.cseq),
        ]
    }
}

/// Checks a request before a server acts on it.
///
/// The order matters: a request that gives no usable Via is dropped first, since no response
/// could reach its sender; then the version (505) and Request-URI scheme (416) are checked,
/// then the mandatory headers (400). An ACK is never answered (§17.2.1), so for an ACK every
/// failure means dropping it.
pub fn validate_request(req: &Request, opts: &ValidateOptions) -> Result<(), Rejection> {
    let r = check_request(req, opts);
    match r {
        Err(rej) if req.method == Method::Ack => Err(Rejection::drop(rej.problem)),
        other => other,
    }
}

fn malformed(e: HeaderError) -> Rejection {
    Rejection::respond(Problem::Malformed(e), 400)
}

fn check_request(req: &Request, opts: &ValidateOptions) -> Result<(), Rejection> {
    let h = &req.headers;

    // Somewhere to send the answer.
    let Some(top) = h.values_bytes("Via").next() else {
        return Err(Rejection::drop(Problem::NoVia));
    };
    let top = ByteStr::from_utf8(top)
        .map_err(|_| Rejection::drop(Problem::UnusableVia(HeaderError::new("Via", "not UTF-8"))))?;
    Via::from_byte_str(top, true).map_err(|e| Rejection::drop(Problem::UnusableVia(e)))?;

    if req.version != Version::SIP_2_0 {
        return Err(Rejection::respond(
            Problem::UnsupportedVersion(req.version),
            505,
        ));
    }

    match &req.uri {
        Uri::Sip(u) => {
            if u.has_headers() {
                return Err(Rejection::respond(Problem::HeadersInRequestUri, 400));
            }
        }
        Uri::Tel(_) if opts.tel_supported => {}
        other => {
            return Err(Rejection::respond(
                Problem::UnsupportedUriScheme(other.scheme().to_owned()),
                416,
            ))
        }
    }

    let counts = Counts::of(h);
    for (name, n) in counts.mandatory() {
        if n == 0 {
            return Err(Rejection::respond(Problem::MissingHeader(name), 400));
        }
    }
    if opts.require_max_forwards && counts.max_forwards == 0 {
        return Err(Rejection::respond(
            Problem::MissingHeader("Max-Forwards"),
            400,
        ));
    }
    for (name, n) in counts.mandatory() {
        if n > 1 {
            return Err(Rejection::respond(Problem::RepeatedHeader(name), 400));
        }
    }
    if counts.max_forwards > 1 {
        return Err(Rejection::respond(
            Problem::RepeatedHeader("Max-Forwards"),
            400,
        ));
    }
    if counts.conflicting_length {
        return Err(Rejection::respond(Problem::ConflictingContentLength, 400));
    }

    for via in h.vias() {
        via.map_err(malformed)?;
    }
    let cseq = match h.cseq() {
        Some(Ok(c)) => c,
        Some(Err(e)) => return Err(malformed(e)),
        None => return Err(Rejection::respond(Problem::MissingHeader("CSeq"), 400)),
    };
    if cseq.method != req.method {
        return Err(Rejection::respond(Problem::CSeqMethodMismatch, 400));
    }
    if let Some(Err(e)) = h.call_id() {
        return Err(malformed(e));
    }
    h.from_addr().transpose().map_err(malformed)?;
    let to = h.to_addr().transpose().map_err(malformed)?;
    let mf = h.max_forwards().transpose().map_err(malformed)?;

    if opts.role == Role::Proxy && mf == Some(0) && req.method != Method::Options {
        return Err(Rejection::respond(Problem::TooManyHops, 483));
    }

    if opts.role != Role::Proxy {
        let mut contacts = Vec::new();
        for c in h.contacts() {
            contacts.push(c.map_err(malformed)?);
        }
        if let Some(Err(e)) = h.date() {
            return Err(malformed(e));
        }
        if opts.role == Role::Registrar && req.method == Method::Register {
            let aor_ok = |a: &Option<crate::header::NameAddr>| {
                a.as_ref().is_some_and(|a| matches!(a.uri(), Uri::Sip(_)))
            };
            // The address of record is the To URI (§10.2); From may name someone else
            // registering on the user's behalf, so it is not held to the same rule.
            if !aor_ok(&to) {
                return Err(Rejection::respond(Problem::InvalidAddressOfRecord, 400));
            }
            let star = contacts.iter().any(|c| matches!(c, Contact::Star));
            if star {
                let expires = h.expires().transpose().map_err(malformed)?;
                if contacts.len() > 1 || expires != Some(0) {
                    return Err(Rejection::respond(Problem::InvalidContactStar, 400));
                }
            }
        }
    }
    Ok(())
}

/// Checks a response before a client transaction or a proxy acts on it. A response cannot be
/// answered, so every failure means dropping it (RFC 3261 §18.1.2 and RFC 4475 §3.1.2.5).
/// Whether the top Via names this element is the caller's check.
pub fn validate_response(resp: &Response) -> Result<(), Rejection> {
    let h = &resp.headers;
    let drop = Rejection::drop;
    if resp.version != Version::SIP_2_0 {
        return Err(drop(Problem::UnsupportedVersion(resp.version)));
    }
    if !h.contains("Via") {
        return Err(drop(Problem::NoVia));
    }
    let counts = Counts::of(h);
    for (name, n) in counts.mandatory() {
        if n == 0 {
            return Err(drop(Problem::MissingHeader(name)));
        }
        if n > 1 {
            return Err(drop(Problem::RepeatedHeader(name)));
        }
    }
    if counts.conflicting_length {
        return Err(drop(Problem::ConflictingContentLength));
    }
    for via in h.vias() {
        via.map_err(|e| drop(Problem::Malformed(e)))?;
    }
    let as_drop = |e: HeaderError| drop(Problem::Malformed(e));
    h.cseq().transpose().map_err(as_drop)?;
    h.call_id().transpose().map_err(as_drop)?;
    h.from_addr().transpose().map_err(as_drop)?;
    h.to_addr().transpose().map_err(as_drop)?;
    Ok(())
}

/// The option tags a request requires that `supported` lacks: Proxy-Require for a proxy,
/// Require for a UAS or registrar (RFC 3261 §8.2.2.3, §16.3 step 5). A non-empty result calls
/// for a 420 listing them (see [`Response::bad_extension`]). ACK and CANCEL are never refused
/// for this reason, so they give none. Tags compare ignoring case, like all tokens (§7.3.1).
pub fn unsupported_extensions<'a>(
    req: &'a Request,
    role: Role,
    supported: &[&str],
) -> Vec<&'a str> {
    if matches!(req.method, Method::Ack | Method::Cancel) {
        return Vec::new();
    }
    let name = match role {
        Role::Proxy => "Proxy-Require",
        Role::Uas | Role::Registrar => "Require",
    };
    req.headers
        .values(name)
        .filter_map(|v| std::str::from_utf8(v).ok())
        .filter(|t| !t.is_empty())
        .filter(|t| !supported.iter().any(|s| s.eq_ignore_ascii_case(t)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_message;

    fn req(extra: &str, method: &str, uri: &str) -> Request {
        let text = format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
             To: <sip:bob@example.com>\r\nFrom: <sip:alice@example.com>;tag=1\r\n\
             Call-ID: c1\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\n{extra}\r\n"
        );
        match parse_message(text.as_bytes()).unwrap() {
            crate::Message::Request(r) => r,
            crate::Message::Response(_) => unreachable!(),
        }
    }

    fn check(r: &Request, role: Role) -> Result<(), Action> {
        validate_request(r, &ValidateOptions::for_role(role)).map_err(|e| e.action)
    }

    #[test]
    fn a_plain_request_passes() {
        let r = req("", "INVITE", "sip:bob@example.com");
        for role in [Role::Proxy, Role::Uas, Role::Registrar] {
            assert_eq!(check(&r, role), Ok(()));
        }
    }

    #[test]
    fn via_problems_drop_the_request() {
        let mut r = req("", "OPTIONS", "sip:bob@example.com");
        r.headers.remove("Via");
        assert_eq!(check(&r, Role::Uas), Err(Action::Drop));
        r.headers.push("Via", "garbage").unwrap();
        assert_eq!(check(&r, Role::Uas), Err(Action::Drop));
    }

    #[test]
    fn schemes() {
        let tel = req("", "INVITE", "tel:+15551234");
        assert_eq!(check(&tel, Role::Proxy), Ok(()));
        let no_tel = ValidateOptions {
            tel_supported: false,
            ..ValidateOptions::default()
        };
        assert_eq!(
            validate_request(&tel, &no_tel).map_err(|e| e.action),
            Err(Action::Respond(416))
        );
        let sips = req("", "INVITE", "sips:bob@example.com");
        assert_eq!(check(&sips, Role::Uas), Ok(()));
    }

    #[test]
    fn max_forwards_zero() {
        let r = req("", "INVITE", "sip:bob@example.com");
        let mut zero = r.clone();
        zero.headers.replace("Max-Forwards", "0").unwrap();
        assert_eq!(check(&zero, Role::Proxy), Err(Action::Respond(483)));
        assert_eq!(check(&zero, Role::Uas), Ok(()));
        let mut bad = r;
        bad.headers.replace("Max-Forwards", "256").unwrap();
        assert_eq!(check(&bad, Role::Proxy), Err(Action::Respond(400)));
    }

    #[test]
    fn registrar_rules() {
        let ok = req(
            "Contact: *\r\nExpires: 0\r\n",
            "REGISTER",
            "sip:example.com",
        );
        assert_eq!(check(&ok, Role::Registrar), Ok(()));
        let star_with_expiry = req(
            "Contact: *\r\nExpires: 60\r\n",
            "REGISTER",
            "sip:example.com",
        );
        assert_eq!(
            check(&star_with_expiry, Role::Registrar),
            Err(Action::Respond(400))
        );
        assert_eq!(check(&star_with_expiry, Role::Uas), Ok(()));
        let star_and_more = req(
            "Contact: *, <sip:a@b>\r\nExpires: 0\r\n",
            "REGISTER",
            "sip:example.com",
        );
        assert_eq!(
            check(&star_and_more, Role::Registrar),
            Err(Action::Respond(400))
        );
        let mut tel_aor = req("", "REGISTER", "sip:example.com");
        tel_aor.headers.replace("To", "<tel:+15551234>").unwrap();
        assert_eq!(check(&tel_aor, Role::Registrar), Err(Action::Respond(400)));
        assert_eq!(check(&tel_aor, Role::Uas), Ok(()));
    }

    #[test]
    fn responses() {
        let ok = parse_message(
            b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:b@c>;tag=2\r\n\
              From: <sip:a@c>;tag=1\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n",
        )
        .unwrap();
        let crate::Message::Response(ok) = ok else {
            unreachable!()
        };
        assert_eq!(validate_response(&ok), Ok(()));
        let mut no_call_id = ok.clone();
        no_call_id.headers.remove("Call-ID");
        assert_eq!(
            validate_response(&no_call_id).map_err(|e| e.action),
            Err(Action::Drop)
        );
    }

    #[test]
    fn required_extensions() {
        let r = req(
            "Require: 100rel, Timer\r\nProxy-Require: sec-agree\r\n",
            "INVITE",
            "sip:bob@example.com",
        );
        assert_eq!(
            unsupported_extensions(&r, Role::Uas, &["timer"]),
            ["100rel"]
        );
        assert_eq!(unsupported_extensions(&r, Role::Proxy, &[]), ["sec-agree"]);
        let mut cancel = r.clone();
        cancel.method = Method::Cancel;
        assert!(unsupported_extensions(&cancel, Role::Uas, &[]).is_empty());
    }
}
