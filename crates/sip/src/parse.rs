//! Turning bytes into messages: whole datagrams, and messages cut out of a stream.
//!
//! This layer checks the structure only — start line, header lines, framing — and keeps every
//! header field raw. What a header's value means is checked later, by the typed views of
//! [`crate::header`] and by [`crate::validate`]: a proxy must be able to forward a message
//! whose unknown or unused headers it cannot interpret, and it can answer 400 only to a
//! message it could parse.

use bytes::Bytes;

use crate::message::{Headers, KnownHeader, Message, Method, Request, Response, Version};
use crate::text::{is_token, is_ws, parse_u64, skip_ws, trim_ws, ByteStr};
use crate::uri::{Uri, UriError};

/// Bounds that keep a hostile peer from making the parser hold or scan too much.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    /// Most header fields in one message.
    pub max_headers: usize,
    /// Longest start line or header field, counting folded continuation lines.
    pub max_line_len: usize,
    /// Longest header section, start line included.
    pub max_head_len: usize,
    /// Largest body.
    pub max_body_len: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_headers: 256,
            max_line_len: 16 * 1024,
            max_head_len: 64 * 1024,
            max_body_len: 1024 * 1024,
        }
    }
}

/// Why bytes could not be turned into a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Nothing but line breaks (or nothing at all).
    #[error("empty message")]
    Empty,
    /// The request or status line does not follow the grammar.
    #[error("malformed start line: {0}")]
    StartLine(&'static str),
    /// The Request-URI is not a valid URI.
    #[error("malformed Request-URI: {0}")]
    RequestUri(UriError),
    /// A header line is malformed (no colon, bad name, bare CR or LF, stray continuation).
    #[error("malformed header line: {0}")]
    HeaderLine(&'static str),
    /// The header section does not end with an empty line.
    #[error("header section not terminated by an empty line")]
    UnterminatedHead,
    /// More header fields than [`ParseLimits::max_headers`].
    #[error("too many header fields")]
    TooManyHeaders,
    /// A line longer than [`ParseLimits::max_line_len`].
    #[error("line too long")]
    LineTooLong,
    /// A header section longer than [`ParseLimits::max_head_len`].
    #[error("header section too long")]
    HeadTooLong,
    /// A Content-Length that is not a decimal number.
    #[error("invalid Content-Length")]
    InvalidContentLength,
    /// Content-Length fields that disagree, where the body's end must be known (streams).
    #[error("conflicting Content-Length values")]
    ConflictingContentLength,
    /// No Content-Length on a stream (RFC 3261 §18.3 makes it mandatory there).
    #[error("missing Content-Length")]
    MissingContentLength,
    /// Content-Length claims more bytes than the datagram holds.
    #[error("Content-Length {declared} exceeds the {available} bytes present")]
    BodyTruncated {
        /// What Content-Length says.
        declared: usize,
        /// What is there.
        available: usize,
    },
    /// A body larger than [`ParseLimits::max_body_len`].
    #[error("body too long")]
    BodyTooLong,
    /// Bytes after a stream message's body (a framed message must be exactly one message).
    #[error("unexpected bytes after the message")]
    TrailingData,
}

/// Which part of the message a [`ParseError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The start line (including the Request-URI).
    StartLine,
    /// A header line.
    HeaderSyntax,
    /// Where the message or its body ends.
    Framing,
    /// A [`ParseLimits`] bound.
    Limit,
}

impl ParseError {
    /// Which part of the message is at fault.
    pub fn fault(&self) -> Fault {
        match self {
            ParseError::StartLine(_) | ParseError::RequestUri(_) => Fault::StartLine,
            ParseError::HeaderLine(_) => Fault::HeaderSyntax,
            ParseError::TooManyHeaders
            | ParseError::LineTooLong
            | ParseError::HeadTooLong
            | ParseError::BodyTooLong => Fault::Limit,
            ParseError::Empty
            | ParseError::UnterminatedHead
            | ParseError::InvalidContentLength
            | ParseError::ConflictingContentLength
            | ParseError::MissingContentLength
            | ParseError::BodyTruncated { .. }
            | ParseError::TrailingData => Fault::Framing,
        }
    }
}

/// What [`Parser::frame`] found at the front of a stream buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framing {
    /// One whole message occupies the first `n` bytes.
    Complete(usize),
    /// More bytes are needed.
    Incomplete,
    /// A double-CRLF keep-alive ping (RFC 5626 §4.4.1) of `n` bytes: consume it and answer
    /// with a single CRLF pong.
    Ping(usize),
    /// A lone CRLF of `n` bytes before a message: a pong to our ping, or the stray CRLF RFC
    /// 3261 §7.5 tells stream receivers to ignore. Consume it.
    KeepAlive(usize),
    /// The stream cannot be framed; the connection should be closed.
    Invalid(ParseError),
}

/// A parser with configurable limits. The free functions of this module use the defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct Parser {
    /// The bounds applied.
    pub limits: ParseLimits,
}

/// Parses one datagram with default limits (see [`Parser::parse_datagram`]).
pub fn parse_message(data: &[u8]) -> Result<Message, ParseError> {
    Parser::default().parse_datagram(Bytes::copy_from_slice(data))
}

/// Like [`parse_message`], sharing the buffer instead of copying it.
pub fn parse_message_bytes(data: Bytes) -> Result<Message, ParseError> {
    Parser::default().parse_datagram(data)
}

/// Frames a stream buffer with default limits (see [`Parser::frame`]).
pub fn frame(buf: &[u8]) -> Framing {
    Parser::default().frame(buf)
}

/// Whether a datagram is only a keep-alive (CRLFs), which a transport silently drops.
pub fn is_keepalive(data: &[u8]) -> bool {
    !data.is_empty() && data.iter().all(|&b| b == b'\r' || b == b'\n')
}

/// The header fields of a message whose start line or framing was refused, when the header
/// section itself is well formed. RFC 4475 asks for a 400 to several requests with a broken
/// request line (§3.1.2.7–3.1.2.10) and RFC 5118 to one with an undelimited IPv6 Request-URI
/// (§4.2); with these headers [`Response::from_request_headers`] can build it.
///
/// [`Response::from_request_headers`]: crate::message::Response::from_request_headers
pub fn salvage_headers(data: &[u8]) -> Option<Headers> {
    let limits = ParseLimits::default();
    let buf = Bytes::copy_from_slice(data);
    let start = skip_crlf(&buf);
    let nl = memchr::memchr(b'\n', buf.get(start..)?)? + start;
    let mut headers = Headers::from_parts(buf.clone(), 16);
    scan_fields(&buf, nl + 1, &limits, Classify::All, |f| {
        add_field(&mut headers, &buf, f);
        Ok(())
    })
    .ok()?;
    Some(headers)
}

fn skip_crlf(data: &[u8]) -> usize {
    let mut i = 0;
    while data.get(i..i + 2) == Some(b"\r\n") {
        i += 2;
    }
    i
}

/// Which header names [`scan_fields`] recognises.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Classify {
    All,
    ContentLengthOnly,
}

/// One header field as found by [`scan_fields`], as offsets into the buffer.
#[derive(Debug, Clone, Copy)]
struct RawField {
    name: (usize, usize),
    /// From after the colon to the end of the last line; untrimmed, may hold folds.
    value: (usize, usize),
    raw: (usize, usize),
    folded: bool,
    kind: Option<KnownHeader>,
}

/// Walks the header lines from `pos` to the empty line, calling `f` for each field; returns
/// where the body starts.
fn scan_fields(
    data: &[u8],
    mut pos: usize,
    limits: &ParseLimits,
    classify: Classify,
    mut f: impl FnMut(RawField) -> Result<(), ParseError>,
) -> Result<usize, ParseError> {
    let mut current: Option<RawField> = None;
    let mut count = 0usize;
    loop {
        if pos > limits.max_head_len {
            return Err(ParseError::HeadTooLong);
        }
        let rest = data.get(pos..).unwrap_or_default();
        // One search finds the line's end and any bare CR or LF in it.
        let Some(cr_rel) = memchr::memchr2(b'\r', b'\n', rest) else {
            if rest.len() > limits.max_line_len {
                return Err(ParseError::LineTooLong);
            }
            return Err(ParseError::UnterminatedHead);
        };
        let line_end = pos + cr_rel;
        match data.get(line_end..line_end + 2) {
            Some(b"\r\n") => {}
            // A CR at the very end of what has arrived so far may yet be followed by LF.
            Some([b'\r']) | None => return Err(ParseError::UnterminatedHead),
            Some([b'\n', ..]) => return Err(ParseError::HeaderLine("line not ended by CRLF")),
            Some(_) => return Err(ParseError::HeaderLine("bare CR")),
        }
        let nl = line_end + 1;
        let line = data.get(pos..line_end).unwrap_or_default();
        if line.is_empty() {
            if let Some(c) = current.take() {
                f(c)?;
            }
            return Ok(nl + 1);
        }
        if line.first().is_some_and(|&b| is_ws(b)) {
            let c = current
                .as_mut()
                .ok_or(ParseError::HeaderLine("continuation line without a header"))?;
            c.value.1 = line_end;
            c.raw.1 = line_end;
            c.folded = true;
            if line_end - c.raw.0 > limits.max_line_len {
                return Err(ParseError::LineTooLong);
            }
        } else {
            if let Some(c) = current.take() {
                f(c)?;
            }
            count += 1;
            if count > limits.max_headers {
                return Err(ParseError::TooManyHeaders);
            }
            if line.len() > limits.max_line_len {
                return Err(ParseError::LineTooLong);
            }
            let name_len = line
                .iter()
                .position(|&b| !is_token(b))
                .unwrap_or(line.len());
            let colon = skip_ws(line, name_len);
            if line.get(colon) != Some(&b':') {
                return Err(ParseError::HeaderLine(if name_len == 0 {
                    "header name is not a token"
                } else {
                    "no colon after the header name"
                }));
            }
            let name = line.get(..name_len).unwrap_or_default();
            current = Some(RawField {
                name: (pos, pos + name_len),
                value: (pos + colon + 1, line_end),
                raw: (pos, line_end),
                folded: false,
                kind: match classify {
                    Classify::All => KnownHeader::from_name(name),
                    // Only Content-Length matters for framing; the length test skips the
                    // lookup for almost every other name.
                    Classify::ContentLengthOnly if name.len() == 1 || name.len() == 14 => {
                        KnownHeader::from_name(name)
                    }
                    Classify::ContentLengthOnly => None,
                },
            });
        }
        pos = nl + 1;
    }
}

/// Replaces each CRLF and the whitespace after it with one space (RFC 3261 §7.3.1), then
/// trims.
fn unfold(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while let Some(&b) = v.get(i) {
        if b == b'\r' && v.get(i + 1) == Some(&b'\n') {
            i += 2;
            while v.get(i).is_some_and(|&c| is_ws(c)) {
                i += 1;
            }
            out.push(b' ');
        } else {
            out.push(b);
            i += 1;
        }
    }
    trim_ws(&out).to_vec()
}

fn trimmed_range(data: &[u8], (s, e): (usize, usize)) -> (usize, usize) {
    let v = data.get(s..e).unwrap_or_default();
    let lead = v.iter().position(|&b| !is_ws(b)).unwrap_or(v.len());
    let trail = v.iter().rposition(|&b| !is_ws(b)).map_or(lead, |i| i + 1);
    (s + lead, s + trail)
}

fn add_field(headers: &mut Headers, buf: &Bytes, f: RawField) {
    let value = if f.folded {
        Err(Bytes::from(unfold(
            buf.get(f.value.0..f.value.1).unwrap_or_default(),
        )))
    } else {
        Ok(trimmed_range(buf, f.value))
    };
    headers.push_parsed(f.name, value, f.raw, f.kind);
}

/// Reads a Content-Length value: digits only, no sign.
fn content_length_value(data: &[u8], f: &RawField) -> Result<usize, ParseError> {
    let raw = data.get(f.value.0..f.value.1).unwrap_or_default();
    let v = if f.folded {
        unfold(raw)
    } else {
        trim_ws(raw).to_vec()
    };
    parse_u64(&v)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or(ParseError::InvalidContentLength)
}

fn is_content_length(f: &RawField) -> bool {
    f.kind == Some(KnownHeader::ContentLength)
}

/// What the Content-Length fields of a message said.
#[derive(Debug, Default)]
struct Lengths {
    value: Option<usize>,
    conflicting: bool,
}

impl Lengths {
    fn add(&mut self, v: usize) {
        match self.value {
            Some(old) if old != v => self.conflicting = true,
            _ => self.value = Some(v),
        }
    }
}

enum StartLine {
    Request {
        method: Method,
        uri: (usize, usize),
        version: Version,
    },
    Response {
        version: Version,
        status: u16,
        reason: (usize, usize),
    },
}

/// Parses a start line found at `data[s..e]` (without its CRLF).
fn parse_start_line(data: &[u8], s: usize, e: usize) -> Result<StartLine, ParseError> {
    let line = data.get(s..e).unwrap_or_default();
    if line.len() >= 4
        && line
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
    {
        let sp = memchr::memchr(b' ', line).ok_or(ParseError::StartLine("no status code"))?;
        let version = Version::parse(line.get(..sp).unwrap_or_default())
            .ok_or(ParseError::StartLine("invalid version"))?;
        let code = line.get(sp + 1..sp + 4).unwrap_or_default();
        if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
            return Err(ParseError::StartLine("status code is not three digits"));
        }
        let status = code
            .iter()
            .fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
        if !(100..=699).contains(&status) {
            return Err(ParseError::StartLine("status code outside 100-699"));
        }
        let after = sp + 4;
        let reason = match line.get(after) {
            // A missing SP before an empty reason phrase is accepted: nothing is ambiguous.
            None => (e, e),
            Some(b' ') => (s + after + 1, e),
            Some(_) => return Err(ParseError::StartLine("status code is not three digits")),
        };
        if data
            .get(reason.0..reason.1)
            .unwrap_or_default()
            .iter()
            .any(|&b| b < 0x20 && b != b'\t' || b == 0x7f)
        {
            return Err(ParseError::StartLine("control character in reason phrase"));
        }
        return Ok(StartLine::Response {
            version,
            status,
            reason,
        });
    }
    let sp1 = memchr::memchr(b' ', line).ok_or(ParseError::StartLine("no Request-URI"))?;
    let method = Method::from_token(line.get(..sp1).unwrap_or_default())
        .ok_or(ParseError::StartLine("method is not a token"))?;
    let rest = line.get(sp1 + 1..).unwrap_or_default();
    let sp2 = memchr::memchr(b' ', rest).ok_or(ParseError::StartLine("no SIP-Version"))?;
    if sp2 == 0 {
        return Err(ParseError::StartLine("empty Request-URI"));
    }
    let uri = rest.get(..sp2).unwrap_or_default();
    if !uri.iter().all(|&b| (0x21..=0x7e).contains(&b)) {
        return Err(ParseError::StartLine("invalid character in Request-URI"));
    }
    let version = Version::parse(rest.get(sp2 + 1..).unwrap_or_default())
        .ok_or(ParseError::StartLine("invalid SIP-Version"))?;
    Ok(StartLine::Request {
        method,
        uri: (s + sp1 + 1, s + sp1 + 1 + sp2),
        version,
    })
}

/// Finds and parses the start line after any leading CRLFs; returns it and where the header
/// lines begin.
fn start_line(data: &[u8], limits: &ParseLimits) -> Result<(StartLine, usize), ParseError> {
    let start = skip_crlf(data);
    if data.len() <= start {
        return Err(ParseError::Empty);
    }
    let rest = data.get(start..).unwrap_or_default();
    let Some(nl) = memchr::memchr(b'\n', rest) else {
        return Err(if rest.len() > limits.max_line_len {
            ParseError::LineTooLong
        } else {
            ParseError::UnterminatedHead
        });
    };
    if nl > limits.max_line_len {
        return Err(ParseError::LineTooLong);
    }
    if nl == 0 || rest.get(nl - 1) != Some(&b'\r') {
        return Err(ParseError::StartLine("line not ended by CRLF"));
    }
    let line_end = start + nl - 1;
    if memchr::memchr(b'\r', data.get(start..line_end).unwrap_or_default()).is_some() {
        return Err(ParseError::StartLine("bare CR"));
    }
    Ok((parse_start_line(data, start, line_end)?, start + nl + 1))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    Datagram,
    Stream,
}

impl Parser {
    /// A parser with these limits.
    pub fn new(limits: ParseLimits) -> Self {
        Parser { limits }
    }

    /// Parses a message received as one datagram (UDP).
    ///
    /// Content-Length is optional: without it the body is the rest of the datagram. With it,
    /// the body is that many bytes and anything after them is ignored (RFC 4475 §3.1.1.8);
    /// a length larger than what is there is an error. Content-Length fields that disagree
    /// leave the body's end unknown; the rest of the datagram is taken as the body, and
    /// [`crate::validate`] answers such a request with 400 (RFC 4475 §3.3.9).
    pub fn parse_datagram(&self, data: Bytes) -> Result<Message, ParseError> {
        self.parse(data, Transport::Datagram)
    }

    /// Parses one message cut out of a stream by [`Parser::frame`]: Content-Length is
    /// mandatory and the buffer must hold exactly the message.
    pub fn parse_framed(&self, data: Bytes) -> Result<Message, ParseError> {
        self.parse(data, Transport::Stream)
    }

    fn parse(&self, data: Bytes, transport: Transport) -> Result<Message, ParseError> {
        let (start, pos) = start_line(&data, &self.limits)?;
        let mut lengths = Lengths::default();
        let mut headers = Headers::from_parts(data.clone(), 24);
        let body_start = scan_fields(&data, pos, &self.limits, Classify::All, |f| {
            if is_content_length(&f) {
                lengths.add(content_length_value(&data, &f)?);
            }
            add_field(&mut headers, &data, f);
            Ok(())
        })?;
        let available = data.len() - body_start;
        let body_len = match (transport, lengths.value, lengths.conflicting) {
            (Transport::Stream, None, _) => return Err(ParseError::MissingContentLength),
            (Transport::Stream, _, true) => return Err(ParseError::ConflictingContentLength),
            (Transport::Datagram, None, _) | (Transport::Datagram, _, true) => available,
            (_, Some(n), false) => {
                if n > available {
                    return Err(ParseError::BodyTruncated {
                        declared: n,
                        available,
                    });
                }
                if transport == Transport::Stream && n < available {
                    return Err(ParseError::TrailingData);
                }
                n
            }
        };
        if body_len > self.limits.max_body_len {
            return Err(ParseError::BodyTooLong);
        }
        let body = if body_len == 0 {
            Bytes::new()
        } else {
            data.slice(body_start..body_start + body_len)
        };
        Ok(match start {
            StartLine::Request {
                method,
                uri,
                version,
            } => {
                let uri =
                    Uri::from_bytes(data.slice(uri.0..uri.1)).map_err(ParseError::RequestUri)?;
                Message::Request(Request {
                    method,
                    uri,
                    version,
                    headers,
                    body,
                })
            }
            StartLine::Response {
                version,
                status,
                reason,
            } => {
                let raw = data.slice(reason.0..reason.1);
                let reason = ByteStr::from_utf8(raw).unwrap_or_else(|raw| {
                    ByteStr::from(String::from_utf8_lossy(&raw).into_owned())
                });
                Message::Response(Response {
                    version,
                    status,
                    reason,
                    headers,
                    body,
                })
            }
        })
    }

    /// Finds the end of the first message in a stream buffer (TCP, TLS, WebSocket-less
    /// streams). Keep-alives in front of a message are reported on their own so the caller
    /// can consume them (and answer a ping). Content-Length is mandatory on streams
    /// (RFC 3261 §18.3); a buffer that cannot be framed is [`Framing::Invalid`] and the
    /// connection should be closed, since its next message boundary cannot be found.
    ///
    /// Nothing is consumed: on `Complete(n)` the caller takes `n` bytes and passes them to
    /// [`Parser::parse_framed`].
    pub fn frame(&self, buf: &[u8]) -> Framing {
        match buf {
            [] | [b'\r'] | [b'\r', b'\n'] | [b'\r', b'\n', b'\r'] => return Framing::Incomplete,
            [b'\r', b'\n', b'\r', b'\n', ..] => return Framing::Ping(4),
            [b'\r', b'\n', ..] => return Framing::KeepAlive(2),
            _ => {}
        }
        let pos = match start_line(buf, &self.limits) {
            Ok((_, pos)) => pos,
            Err(ParseError::UnterminatedHead) => return Framing::Incomplete,
            Err(e) => return Framing::Invalid(e),
        };
        // A cheap search for the end of the header section first, so that a message arriving
        // in many small pieces is not scanned line by line on every call.
        let Some(end) = memchr::memmem::find(buf, b"\r\n\r\n") else {
            return if buf.len() > self.limits.max_head_len {
                Framing::Invalid(ParseError::HeadTooLong)
            } else {
                Framing::Incomplete
            };
        };
        let head = buf.get(..end + 4).unwrap_or_default();
        let mut lengths = Lengths::default();
        let scanned = scan_fields(head, pos, &self.limits, Classify::ContentLengthOnly, |f| {
            if is_content_length(&f) {
                lengths.add(content_length_value(head, &f)?);
            }
            Ok(())
        });
        let body_start = match scanned {
            Ok(b) => b,
            Err(e) => return Framing::Invalid(e),
        };
        let len = match (lengths.value, lengths.conflicting) {
            (None, _) => return Framing::Invalid(ParseError::MissingContentLength),
            (_, true) => return Framing::Invalid(ParseError::ConflictingContentLength),
            (Some(n), false) => n,
        };
        if len > self.limits.max_body_len {
            return Framing::Invalid(ParseError::BodyTooLong);
        }
        let total = body_start + len;
        if buf.len() < total {
            Framing::Incomplete
        } else {
            Framing::Complete(total)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nContent-Length: 3\r\n\r\nabc";

    #[test]
    fn framing_a_stream() {
        assert_eq!(frame(OPTIONS), Framing::Complete(OPTIONS.len()));
        for cut in 0..OPTIONS.len() {
            let f = frame(OPTIONS.get(..cut).unwrap());
            assert!(
                matches!(f, Framing::Incomplete | Framing::KeepAlive(_)),
                "{cut}: {f:?}"
            );
        }
        let mut two = OPTIONS.to_vec();
        two.extend_from_slice(OPTIONS);
        assert_eq!(frame(&two), Framing::Complete(OPTIONS.len()));
        assert_eq!(frame(b"\r\n\r\nOPTIONS"), Framing::Ping(4));
        assert_eq!(frame(b"\r\nOPTIONS"), Framing::KeepAlive(2));
        assert_eq!(frame(b"\r\n"), Framing::Incomplete);
        assert_eq!(
            frame(b"OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n"),
            Framing::Invalid(ParseError::MissingContentLength)
        );
        assert_eq!(
            frame(b"OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab"),
            Framing::Invalid(ParseError::ConflictingContentLength)
        );
        let same = b"OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nContent-Length: 1\r\n\r\nab";
        assert_eq!(frame(same), Framing::Complete(same.len() - 1));
        assert!(matches!(frame(b"GET / HTTP/1.1\r\n"), Framing::Invalid(_)));
        let empty = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(frame(empty), Framing::Complete(empty.len()));
        assert_eq!(
            frame(b"SIP/2.0 200 OK\r\n\r\n"),
            Framing::Invalid(ParseError::MissingContentLength)
        );
    }

    #[test]
    fn datagram_bodies() {
        let m = parse_message(b"OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\nbody").unwrap();
        assert_eq!(m.body().as_ref(), b"body");
        let m = parse_message(b"OPTIONS sip:a@b SIP/2.0\r\nl: 2\r\n\r\nbody").unwrap();
        assert_eq!(m.body().as_ref(), b"bo");
        assert_eq!(
            parse_message(b"OPTIONS sip:a@b SIP/2.0\r\nl: 9\r\n\r\nbody"),
            Err(ParseError::BodyTruncated {
                declared: 9,
                available: 4
            })
        );
        assert_eq!(
            parse_message(b"OPTIONS sip:a@b SIP/2.0\r\nl: -1\r\n\r\n"),
            Err(ParseError::InvalidContentLength)
        );
        assert_eq!(parse_message(b"\r\n\r\n"), Err(ParseError::Empty));
        assert!(is_keepalive(b"\r\n\r\n"));
    }

    #[test]
    fn folding_is_unfolded_and_kept_raw() {
        let data = b"OPTIONS sip:a@b SIP/2.0\r\nSubject: one\r\n  two\r\n\tthree\r\nX:\r\n\r\n";
        let m = parse_message(data).unwrap();
        let h = m.headers();
        assert_eq!(h.get("Subject"), Some(&b"one two three"[..]));
        assert_eq!(h.get("x"), Some(&b""[..]));
        assert_eq!(
            h.at(0).unwrap().raw(),
            Some(&b"Subject: one\r\n  two\r\n\tthree"[..])
        );
    }

    #[test]
    fn structural_errors() {
        for (bad, why) in [
            (&b"OPTIONS sip:a@b SIP/2.0\r\n"[..], "unterminated"),
            (b"OPTIONS sip:a@b SIP/2.0\nVia: x\r\n\r\n", "bare LF"),
            (b"OPTIONS sip:a@b SIP/2.0\r\nVia x\r\n\r\n", "no colon"),
            (
                b"OPTIONS sip:a@b SIP/2.0\r\n folded\r\n\r\n",
                "stray continuation",
            ),
            (
                b"OPTIONS sip:a@b SIP/2.0\r\nV ia: x\r\n\r\n",
                "space in name",
            ),
            (b"OPTIONS sip:a@b SIP/2.0\r\nVia: x\ry\r\n\r\n", "bare CR"),
            (b"SIP/2.0 99 Low\r\n\r\n", "code"),
            (b"SIP/2.0 700 High\r\n\r\n", "code"),
            (b"SIP/2.0 2000 OK\r\n\r\n", "code"),
            (b"OPTIONS  sip:a@b SIP/2.0\r\n\r\n", "double space"),
            (b"OPTIONS sip:a@b SIP/2.0 \r\n\r\n", "trailing space"),
            (b"OPTIONS sip:a@b\r\n\r\n", "no version"),
            (b"OPTIONS <sip:a@b> SIP/2.0\r\n\r\n", "angle brackets"),
            (b"OPT IONS sip:a@b SIP/2.0\r\n\r\n", "method"),
        ] {
            assert!(parse_message(bad).is_err(), "{why}");
        }
        let ok = parse_message(b"SIP/2.0 200\r\n\r\n").unwrap();
        assert_eq!(ok.as_response().unwrap().reason.as_str(), "");
    }

    #[test]
    fn limits() {
        let p = Parser::new(ParseLimits {
            max_headers: 2,
            max_line_len: 40,
            max_head_len: 200,
            max_body_len: 3,
        });
        let msg = |s: &str| p.parse_datagram(Bytes::copy_from_slice(s.as_bytes()));
        assert_eq!(
            msg("OPTIONS sip:a@b SIP/2.0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
            Err(ParseError::TooManyHeaders)
        );
        assert_eq!(
            msg("OPTIONS sip:a@b SIP/2.0\r\nA: 1111111111111111111111111111111111111111\r\n\r\n"),
            Err(ParseError::LineTooLong)
        );
        assert_eq!(
            msg("OPTIONS sip:a@b SIP/2.0\r\nA: 1\r\n 22222222222222222222222222222222222\r\n\r\n"),
            Err(ParseError::LineTooLong)
        );
        assert_eq!(
            msg("OPTIONS sip:a@b SIP/2.0\r\n\r\nabcd"),
            Err(ParseError::BodyTooLong)
        );
        assert_eq!(
            p.frame(b"OPTIONS sip:a@b SIP/2.0\r\nl: 4\r\n\r\n"),
            Framing::Invalid(ParseError::BodyTooLong)
        );
    }

    #[test]
    fn salvage() {
        let h = salvage_headers(
            b"INVITE  sip:a@b  SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nCall-ID: x\r\n\r\n",
        )
        .unwrap();
        assert_eq!(h.get("i"), Some(&b"x"[..]));
    }
}
