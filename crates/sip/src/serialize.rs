//! Turning messages into bytes, and building the responses a server sends.

use bytes::Bytes;

use crate::header::{HeaderError, NameAddr};
use crate::message::{Headers, KnownHeader, Message, Request, Response, Version};
use crate::text::ByteStr;

/// How to write a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SerializeOptions {
    /// Make Content-Length state the body's length: the first Content-Length field is
    /// rewritten (keeping its name's spelling), any others are dropped, and one is added at
    /// the end when there was none. Off by default, so that a message that was not modified is
    /// written back exactly as it was received.
    pub fix_content_length: bool,
}

impl SerializeOptions {
    /// Options that fix Content-Length, as a stream transport needs.
    pub const FIX_CONTENT_LENGTH: SerializeOptions = SerializeOptions {
        fix_content_length: true,
    };
}

/// The reason phrase RFC 3261 §21 (or the RFC that defined the code) gives a status code;
/// for an unknown code, a phrase naming its class.
pub fn reason_phrase(status: u16) -> &'static str {
    standard_reason_phrase(status).unwrap_or(match status / 100 {
        1 => "Informational",
        2 => "Success",
        3 => "Redirection",
        4 => "Client Error",
        5 => "Server Error",
        6 => "Global Failure",
        _ => "Unknown",
    })
}

/// The registered reason phrase of a status code, if it has one.
pub fn standard_reason_phrase(status: u16) -> Option<&'static str> {
    Some(match status {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        199 => "Early Dialog Terminated",
        200 => "OK",
        202 => "Accepted",
        204 => "No Notification",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        305 => "Use Proxy",
        380 => "Alternative Service",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        412 => "Conditional Request Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        417 => "Unknown Resource-Priority",
        420 => "Bad Extension",
        421 => "Extension Required",
        422 => "Session Interval Too Small",
        423 => "Interval Too Brief",
        424 => "Bad Location Information",
        428 => "Use Identity Header",
        429 => "Provide Referrer Identity",
        430 => "Flow Failed",
        433 => "Anonymity Disallowed",
        436 => "Bad Identity-Info",
        437 => "Unsupported Certificate",
        438 => "Invalid Identity Header",
        439 => "First Hop Lacks Outbound Support",
        440 => "Max-Breadth Exceeded",
        469 => "Bad Info Package",
        470 => "Consent Needed",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        485 => "Ambiguous",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        489 => "Bad Event",
        491 => "Request Pending",
        493 => "Undecipherable",
        494 => "Security Agreement Required",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        555 => "Push Notification Service Not Supported",
        580 => "Precondition Failure",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        607 => "Unwanted",
        608 => "Rejected",
        _ => return None,
    })
}

fn write_message(
    out: &mut Vec<u8>,
    start: impl FnOnce(&mut Vec<u8>),
    headers: &Headers,
    body: &Bytes,
    opts: SerializeOptions,
) {
    start(out);
    out.extend_from_slice(b"\r\n");
    if opts.fix_content_length {
        let len = body.len().to_string();
        let mut seen = false;
        for h in headers.iter() {
            let is_cl = h.known() == Some(KnownHeader::ContentLength);
            if is_cl && seen {
                continue;
            }
            if is_cl {
                seen = true;
                if h.value() == len.as_bytes() {
                    match h.raw() {
                        Some(raw) => out.extend_from_slice(raw),
                        None => {
                            out.extend_from_slice(h.name().as_bytes());
                            out.extend_from_slice(b": ");
                            out.extend_from_slice(len.as_bytes());
                        }
                    }
                } else {
                    out.extend_from_slice(h.name().as_bytes());
                    out.extend_from_slice(b": ");
                    out.extend_from_slice(len.as_bytes());
                }
                out.extend_from_slice(b"\r\n");
                continue;
            }
            match h.raw() {
                Some(raw) => out.extend_from_slice(raw),
                None => {
                    out.extend_from_slice(h.name().as_bytes());
                    out.extend_from_slice(b": ");
                    out.extend_from_slice(h.value());
                }
            }
            out.extend_from_slice(b"\r\n");
        }
        if !seen {
            out.extend_from_slice(b"Content-Length: ");
            out.extend_from_slice(len.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    } else {
        headers.write(out, |_| false);
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

impl Request {
    /// The request line, `METHOD SP Request-URI SP SIP-Version`, without CRLF.
    pub fn start_line(&self) -> String {
        format!("{} {} {}", self.method, self.uri, self.version)
    }

    /// Appends the encoded request to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>, opts: SerializeOptions) {
        out.reserve(self.encoded_len_hint());
        write_message(
            out,
            |o| {
                o.extend_from_slice(self.method.as_str().as_bytes());
                o.push(b' ');
                o.extend_from_slice(self.uri.as_str().as_bytes());
                o.push(b' ');
                write_version(o, self.version);
            },
            &self.headers,
            &self.body,
            opts,
        );
    }

    fn encoded_len_hint(&self) -> usize {
        self.method.as_str().len()
            + self.uri.as_str().len()
            + 16
            + self.headers.encoded_len()
            + 32
            + self.body.len()
    }

    /// The request as bytes, exactly as received if it was parsed and not modified.
    pub fn to_bytes(&self) -> Bytes {
        self.to_bytes_with(SerializeOptions::default())
    }

    /// The request as bytes, with options.
    pub fn to_bytes_with(&self, opts: SerializeOptions) -> Bytes {
        let mut out = Vec::new();
        self.write_to(&mut out, opts);
        Bytes::from(out)
    }

    /// Replaces the body and sets Content-Length to match (and Content-Type, when given).
    pub fn set_body(&mut self, body: Bytes, content_type: Option<&str>) {
        set_body(&mut self.headers, &mut self.body, body, content_type);
    }
}

fn set_body(headers: &mut Headers, slot: &mut Bytes, body: Bytes, content_type: Option<&str>) {
    // The value is digits or a caller's content type checked for CR/LF by `replace`; a bad
    // content type is simply not set.
    let _ = headers.replace("Content-Length", body.len().to_string());
    if let Some(ct) = content_type {
        let _ = headers.replace("Content-Type", ct);
    }
    *slot = body;
}

fn write_version(out: &mut Vec<u8>, v: Version) {
    if v == Version::SIP_2_0 {
        out.extend_from_slice(b"SIP/2.0");
    } else {
        out.extend_from_slice(v.to_string().as_bytes());
    }
}

impl Response {
    /// The status line, `SIP-Version SP Status-Code SP Reason-Phrase`, without CRLF.
    pub fn start_line(&self) -> String {
        format!("{} {} {}", self.version, self.status, self.reason)
    }

    /// Appends the encoded response to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>, opts: SerializeOptions) {
        out.reserve(self.reason.len() + 16 + self.headers.encoded_len() + 32 + self.body.len());
        write_message(
            out,
            |o| {
                write_version(o, self.version);
                o.push(b' ');
                o.extend_from_slice(self.status.to_string().as_bytes());
                o.push(b' ');
                o.extend_from_slice(self.reason.as_bytes());
            },
            &self.headers,
            &self.body,
            opts,
        );
    }

    /// The response as bytes, exactly as received if it was parsed and not modified.
    pub fn to_bytes(&self) -> Bytes {
        self.to_bytes_with(SerializeOptions::default())
    }

    /// The response as bytes, with options.
    pub fn to_bytes_with(&self, opts: SerializeOptions) -> Bytes {
        let mut out = Vec::new();
        self.write_to(&mut out, opts);
        Bytes::from(out)
    }

    /// Replaces the body and sets Content-Length to match (and Content-Type, when given).
    pub fn set_body(&mut self, body: Bytes, content_type: Option<&str>) {
        set_body(&mut self.headers, &mut self.body, body, content_type);
    }

    /// A response to `req` as RFC 3261 §8.2.6 builds it: the Via fields (all of them, in
    /// order), From, To, Call-ID and CSeq are copied, and for a 100 also Timestamp. An empty
    /// `reason` gives the standard phrase. Content-Length: 0 is added, so the response can go
    /// out on a stream as it is. The To tag is left to [`Response::set_to_tag`], since only
    /// the UAS knows its tag.
    pub fn for_request(req: &Request, status: u16, reason: &str) -> Response {
        Response::from_request_headers(&req.headers, status, reason)
    }

    /// Like [`Response::for_request`], from the header fields alone; used to answer a request
    /// whose start line could not be parsed (see [`crate::parse::salvage_headers`]).
    pub fn from_request_headers(headers: &Headers, status: u16, reason: &str) -> Response {
        let mut h = Headers::new();
        for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
            h.copy_from(headers, name);
        }
        if status == 100 {
            h.copy_from(headers, "Timestamp");
        }
        // Digits only: cannot be refused.
        let _ = h.push("Content-Length", "0");
        Response {
            version: Version::SIP_2_0,
            status,
            reason: if reason.is_empty() {
                ByteStr::from_static(reason_phrase(status))
            } else {
                ByteStr::from(reason)
            },
            headers: h,
            body: Bytes::new(),
        }
    }

    /// The tag of the To header, if there is one.
    pub fn to_tag(&self) -> Option<String> {
        let to = self.headers.to_addr()?.ok()?;
        to.tag().map(str::to_owned)
    }

    /// Adds `;tag=tag` to the To header unless it already has a tag (RFC 3261 §8.2.6.2: a
    /// UAS adds its tag to every response except a 100, and keeps the tag a request already
    /// carried). Returns whether a tag was added.
    pub fn set_to_tag(&mut self, tag: &str) -> Result<bool, HeaderError> {
        if !crate::uri::is_token_text(tag) {
            return Err(HeaderError::new("To", "tag is not a token"));
        }
        let Some(to) = self.headers.to_addr() else {
            return Err(HeaderError::new("To", "missing"));
        };
        let to: NameAddr = to?;
        if to.tag().is_some() {
            return Ok(false);
        }
        let value = format!("{};tag={}", to.as_str(), tag);
        self.headers
            .replace(KnownHeader::To.name(), value)
            .map_err(|_| HeaderError::new("To", "invalid"))?;
        Ok(true)
    }

    /// A 420 (Bad Extension) for `req` listing the option tags it required and we lack
    /// (RFC 3261 §8.2.2.3), as found by [`crate::validate::unsupported_extensions`].
    pub fn bad_extension(req: &Request, unsupported: &[&str]) -> Response {
        let mut r = Response::for_request(req, 420, "");
        if !unsupported.is_empty() {
            let _ = r.headers.push("Unsupported", unsupported.join(", "));
        }
        r
    }
}

impl Message {
    /// Appends the encoded message to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>, opts: SerializeOptions) {
        match self {
            Message::Request(r) => r.write_to(out, opts),
            Message::Response(r) => r.write_to(out, opts),
        }
    }

    /// The message as bytes, exactly as received if it was parsed and not modified.
    pub fn to_bytes(&self) -> Bytes {
        self.to_bytes_with(SerializeOptions::default())
    }

    /// The message as bytes, with options.
    pub fn to_bytes_with(&self, opts: SerializeOptions) -> Bytes {
        match self {
            Message::Request(r) => r.to_bytes_with(opts),
            Message::Response(r) => r.to_bytes_with(opts),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_message;

    const INVITE: &[u8] = b"INVITE sip:bob@biloxi.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n\
v: SIP/2.0/UDP proxy.atlanta.com;branch=z9hG4bK1, SIP/2.0/UDP p2;branch=z9hG4bK2\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.com>\r\n\
From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n\
CSeq: 314159 INVITE\r\n\
Timestamp: 54\r\n\
Contact: <sip:alice@pc33.atlanta.com>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\n";

    fn invite() -> Request {
        match parse_message(INVITE).unwrap() {
            Message::Request(r) => r,
            Message::Response(_) => unreachable!(),
        }
    }

    #[test]
    fn unmodified_round_trip_is_exact() {
        assert_eq!(invite().to_bytes().as_ref(), INVITE);
    }

    #[test]
    fn content_length_fix() {
        let mut r = invite();
        r.body = Bytes::from_static(b"v=0\r\no=x\r\n");
        let out = r.to_bytes_with(SerializeOptions::FIX_CONTENT_LENGTH);
        let text = String::from_utf8(out.to_vec()).unwrap();
        assert!(text.contains("Content-Length: 10\r\n\r\nv=0"));
        assert_eq!(text.matches("Content-Length").count(), 1);
        r.headers.remove("Content-Length");
        let out = r.to_bytes_with(SerializeOptions::FIX_CONTENT_LENGTH);
        assert!(String::from_utf8(out.to_vec())
            .unwrap()
            .contains("Content-Length: 10\r\n\r\n"));
    }

    #[test]
    fn response_for_request() {
        let req = invite();
        let mut r = Response::for_request(&req, 180, "");
        assert_eq!(r.reason.as_str(), "Ringing");
        assert_eq!(r.headers.count("Via"), 2);
        assert_eq!(r.headers.values("Via").count(), 3);
        assert!(r.headers.get("Timestamp").is_none());
        assert!(r.headers.get("Contact").is_none());
        assert!(r.set_to_tag("abc").unwrap());
        assert!(!r.set_to_tag("xyz").unwrap());
        assert_eq!(r.to_tag().as_deref(), Some("abc"));
        let text = String::from_utf8(r.to_bytes().to_vec()).unwrap();
        assert!(text.starts_with("SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP pc33"));
        assert!(text.contains("\r\nTo: Bob <sip:bob@biloxi.com>;tag=abc\r\n"));
        assert!(text.ends_with("Content-Length: 0\r\n\r\n"));
        let trying = Response::for_request(&req, 100, "");
        assert_eq!(trying.headers.get("Timestamp"), Some(&b"54"[..]));
        let reparsed = parse_message(&text.into_bytes()).unwrap();
        assert_eq!(reparsed, Message::Response(r));
    }

    #[test]
    fn every_rfc3261_code_has_its_phrase() {
        for code in [
            100, 180, 181, 182, 183, 200, 300, 301, 302, 305, 380, 400, 401, 402, 403, 404, 405,
            406, 407, 408, 410, 413, 414, 415, 416, 420, 421, 423, 480, 481, 482, 483, 484, 485,
            486, 487, 488, 491, 493, 500, 501, 502, 503, 504, 505, 513, 600, 603, 604, 606,
        ] {
            assert!(standard_reason_phrase(code).is_some(), "{code}");
        }
        assert_eq!(reason_phrase(499), "Client Error");
    }
}
