//! Typed views of the header fields a proxy and a registrar act on, parsed on demand from
//! [`Headers`]. Each view keeps the field's text and borrows its parts from it; the field in
//! the message stays exactly as it was received.
//!
//! Whitespace is allowed wherever RFC 3261's grammar has LWS/SWS (RFC 4475 §3.1.1.1 is full of
//! it); line folding has already been replaced by spaces when the message was parsed.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use bytes::Bytes;

use crate::message::{Headers, Method};
use crate::text::{is_token, is_ws, parse_u32, parse_u64, scan_quoted, skip_ws, unquote, ByteStr};
use crate::uri::{parse_host, parse_ipv4, parse_ipv6, Host, HostKind, Uri};

/// A header field whose value does not follow its grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {header} header: {reason}")]
pub struct HeaderError {
    /// The header's name.
    pub header: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl HeaderError {
    /// An error about `header`.
    pub const fn new(header: &'static str, reason: &'static str) -> Self {
        HeaderError { header, reason }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Sp {
    s: u32,
    e: u32,
}

impl Sp {
    fn new(s: usize, e: usize) -> Sp {
        Sp {
            s: u32::try_from(s).unwrap_or(u32::MAX),
            e: u32::try_from(e).unwrap_or(u32::MAX),
        }
    }
    fn get(self, t: &str) -> &str {
        t.get(self.s as usize..self.e as usize).unwrap_or_default()
    }
}

fn to_byte_str(b: Bytes, header: &'static str) -> Result<ByteStr, HeaderError> {
    ByteStr::from_utf8(b).map_err(|_| HeaderError::new(header, "not UTF-8"))
}

fn token_end(b: &[u8], i: usize) -> usize {
    let mut j = i;
    while b.get(j).is_some_and(|&c| is_token(c)) {
        j += 1;
    }
    j
}

/// A `name[=value]` header parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    /// The name as written.
    pub name: &'a str,
    /// The value as written (a quoted-string keeps its quotes), if there is an `=`.
    pub value: Option<&'a str>,
}

impl Param<'_> {
    /// The value with quotes and escapes removed.
    pub fn unquoted(&self) -> Option<Cow<'_, str>> {
        self.value.map(unquote)
    }
}

/// The parameters after a header value: `*( SEMI generic-param )`, where a value is a token,
/// a host (IPv6 with or without brackets, which `received` needs per RFC 5118 §4.5) or a
/// quoted-string.
#[derive(Debug, Clone, Copy, Default)]
pub struct Params<'a> {
    text: &'a str,
}

/// Reads one `SEMI name [EQUAL value]` at `i`; returns the parameter and where it ends.
fn next_param(s: &str, i: usize) -> Result<Option<(Param<'_>, usize)>, &'static str> {
    let b = s.as_bytes();
    let mut i = skip_ws(b, i);
    if i >= b.len() {
        return Ok(None);
    }
    if b.get(i) != Some(&b';') {
        return Err("expected ';' before a parameter");
    }
    i = skip_ws(b, i + 1);
    let ne = token_end(b, i);
    if ne == i {
        return Err("empty parameter name");
    }
    let name = s.get(i..ne).unwrap_or_default();
    i = skip_ws(b, ne);
    let mut value = None;
    if b.get(i) == Some(&b'=') {
        i = skip_ws(b, i + 1);
        let ve = if b.get(i) == Some(&b'"') {
            scan_quoted(b, i).ok_or("unterminated quoted parameter value")?
        } else {
            let mut j = i;
            while b
                .get(j)
                .is_some_and(|&c| is_token(c) || matches!(c, b':' | b'[' | b']'))
            {
                j += 1;
            }
            j
        };
        if ve == i {
            return Err("empty parameter value");
        }
        value = Some(s.get(i..ve).unwrap_or_default());
        i = ve;
    }
    Ok(Some((Param { name, value }, i)))
}

/// Checks a parameter list that starts at `i`; it must run to the end of `s`.
fn check_params(s: &str, mut i: usize) -> Result<(), &'static str> {
    while let Some((_, next)) = next_param(s, i)? {
        i = next;
    }
    Ok(())
}

impl<'a> Params<'a> {
    /// Parameters parsed from text such as `;tag=1 ; lr`. Fails on anything else.
    pub fn parse(text: &'a str) -> Result<Params<'a>, &'static str> {
        check_params(text, 0)?;
        Ok(Params { text })
    }

    /// The first parameter called `name` (ignoring case): `Some(None)` when it has no value.
    pub fn get(&self, name: &str) -> Option<Option<&'a str>> {
        self.iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value)
    }

    /// Whether a parameter called `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The parameters in order.
    pub fn iter(&self) -> impl Iterator<Item = Param<'a>> + 'a {
        let text = self.text;
        let mut i = 0;
        std::iter::from_fn(move || {
            let (p, next) = next_param(text, i).ok()??;
            i = next;
            Some(p)
        })
    }

    /// The parameter text as written.
    pub fn as_str(&self) -> &'a str {
        self.text
    }
}

/// The `received` value of a Via: an IP address, with or without the brackets (RFC 5118 §4.5
/// asks receivers to accept both).
fn parse_received(v: &str) -> Option<IpAddr> {
    if let Some(inner) = v.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return parse_ipv6(inner).map(IpAddr::V6);
    }
    parse_ipv4(v)
        .map(IpAddr::V4)
        .or_else(|| parse_ipv6(v).map(IpAddr::V6))
}

/// One Via value (`via-parm`, RFC 3261 §20.42, with `rport` of RFC 3581).
#[derive(Clone)]
pub struct Via {
    text: ByteStr,
    protocol: Sp,
    version: Sp,
    transport: Sp,
    host: Sp,
    host_kind: HostKind,
    port: Option<u16>,
    params: Sp,
}

const VIA: &str = "Via";

impl Via {
    /// Parses one via-parm.
    pub fn parse(s: &str) -> Result<Via, HeaderError> {
        Via::from_byte_str(ByteStr::from(s), false)
    }

    /// Parses the sent-protocol and sent-by strictly and ignores malformed parameters. This
    /// is enough to send a response back (a 400 explaining the bad Via).
    pub fn parse_lenient(s: &str) -> Result<Via, HeaderError> {
        Via::from_byte_str(ByteStr::from(s), true)
    }

    pub(crate) fn from_byte_str(text: ByteStr, lenient: bool) -> Result<Via, HeaderError> {
        let err = |r| HeaderError::new(VIA, r);
        let s = text.as_str();
        let b = s.as_bytes();
        let mut i = skip_ws(b, 0);
        let part = |i: &mut usize, last: bool| -> Result<Sp, HeaderError> {
            let start = *i;
            let end = token_end(b, start);
            if end == start {
                return Err(err("invalid sent-protocol"));
            }
            *i = skip_ws(b, end);
            if !last {
                if b.get(*i) != Some(&b'/') {
                    return Err(err("invalid sent-protocol"));
                }
                *i = skip_ws(b, *i + 1);
            }
            Ok(Sp::new(start, end))
        };
        let protocol = part(&mut i, false)?;
        let version = part(&mut i, false)?;
        let transport = part(&mut i, true)?;
        if i == transport.e as usize {
            return Err(err("no space before sent-by"));
        }
        let host_start = i;
        let host_end = if b.get(i) == Some(&b'[') {
            memchr::memchr(b']', b.get(i..).unwrap_or_default())
                .map(|c| i + c + 1)
                .ok_or(err("unterminated IPv6 reference"))?
        } else {
            let mut j = i;
            while b
                .get(j)
                .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-')
            {
                j += 1;
            }
            j
        };
        let host_kind = parse_host(s.get(host_start..host_end).unwrap_or_default())
            .map_err(|_| err("invalid sent-by host"))?;
        i = skip_ws(b, host_end);
        let mut port = None;
        if b.get(i) == Some(&b':') {
            i = skip_ws(b, i + 1);
            let mut j = i;
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            port = Some(
                parse_u64(b.get(i..j).unwrap_or_default())
                    .and_then(|p| u16::try_from(p).ok())
                    .ok_or(err("invalid sent-by port"))?,
            );
            i = j;
        }
        let mut params = Sp::new(i, b.len());
        let checked = check_params(s, i).map_err(err).and_then(|()| {
            let p = Params {
                text: params.get(s),
            };
            Via::check_known_params(p)
        });
        if let Err(e) = checked {
            if !lenient {
                return Err(e);
            }
            params = Sp::new(b.len(), b.len());
        }
        Ok(Via {
            protocol,
            version,
            transport,
            host: Sp::new(host_start, host_end),
            host_kind,
            port,
            params,
            text,
        })
    }

    fn check_known_params(p: Params<'_>) -> Result<(), HeaderError> {
        let err = |r| HeaderError::new(VIA, r);
        for param in p.iter() {
            let n = param.name;
            let v = param.value;
            if n.eq_ignore_ascii_case("branch") {
                if !v.is_some_and(crate::uri::is_token_text) {
                    return Err(err("invalid branch"));
                }
            } else if n.eq_ignore_ascii_case("received") {
                if v.and_then(parse_received).is_none() {
                    return Err(err("invalid received"));
                }
            } else if n.eq_ignore_ascii_case("rport") {
                if let Some(v) = v {
                    if parse_u64(v.as_bytes())
                        .and_then(|p| u16::try_from(p).ok())
                        .is_none()
                    {
                        return Err(err("invalid rport"));
                    }
                }
            } else if n.eq_ignore_ascii_case("ttl") {
                if v.filter(|v| v.len() <= 3)
                    .and_then(|v| v.parse::<u8>().ok())
                    .is_none()
                {
                    return Err(err("invalid ttl"));
                }
            } else if n.eq_ignore_ascii_case("maddr")
                && v.map(parse_host).is_none_or(|r| r.is_err())
            {
                return Err(err("invalid maddr"));
            }
        }
        Ok(())
    }

    /// The via-parm as written.
    pub fn as_str(&self) -> &str {
        self.text.as_str()
    }

    /// The protocol name (`SIP`).
    pub fn protocol_name(&self) -> &str {
        self.protocol.get(self.as_str())
    }

    /// The protocol version (`2.0`).
    pub fn protocol_version(&self) -> &str {
        self.version.get(self.as_str())
    }

    /// The transport as written (`UDP`, `TCP`, `TLS`, `SCTP`, `WS`, or any token).
    pub fn transport(&self) -> &str {
        self.transport.get(self.as_str())
    }

    /// The sent-by host.
    pub fn host(&self) -> Host<'_> {
        self.host_kind.with_text(self.host_str())
    }

    /// The sent-by host as written (with brackets for IPv6).
    pub fn host_str(&self) -> &str {
        self.host.get(self.as_str())
    }

    /// The sent-by port, if written.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The parameters.
    pub fn params(&self) -> Params<'_> {
        Params {
            text: self.params.get(self.as_str()),
        }
    }

    /// A parameter: `Some(None)` when present without a value.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params().get(name)
    }

    /// The branch parameter.
    pub fn branch(&self) -> Option<&str> {
        self.param("branch").flatten()
    }

    /// Whether the branch is an RFC 3261 transaction identifier: the magic cookie `z9hG4bK`
    /// followed by at least one more character. A bare cookie identifies nothing
    /// (RFC 4475 §3.2.1), so such a request is matched the RFC 2543 way.
    pub fn has_magic_cookie(&self) -> bool {
        self.branch()
            .is_some_and(|b| b.len() > 7 && b.starts_with("z9hG4bK"))
    }

    /// The received parameter.
    pub fn received(&self) -> Option<IpAddr> {
        self.param("received").flatten().and_then(parse_received)
    }

    /// The rport parameter (RFC 3581): `Some(None)` when present without a value, as a client
    /// sends it; `Some(Some(port))` once filled in.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.param("rport")
            .map(|v| v.and_then(|v| v.parse::<u16>().ok()))
    }

    /// The maddr parameter.
    pub fn maddr(&self) -> Option<Host<'_>> {
        let v = self.param("maddr").flatten()?;
        parse_host(v).ok().map(|k| k.with_text(v))
    }

    /// The ttl parameter.
    pub fn ttl(&self) -> Option<u8> {
        self.param("ttl").flatten().and_then(|v| v.parse().ok())
    }

    /// A copy with the parameter set (replacing an existing one of that name), e.g. to add
    /// `received` and fill in `rport` (RFC 3261 §18.2.1, RFC 3581 §4).
    pub fn with_param(&self, name: &str, value: Option<&str>) -> Result<Via, HeaderError> {
        let s = self.as_str();
        let mut out = String::with_capacity(s.len() + name.len() + 16);
        out.push_str(
            s.get(..self.params.s as usize)
                .unwrap_or_default()
                .trim_end(),
        );
        for p in self.params().iter() {
            if !p.name.eq_ignore_ascii_case(name) {
                push_param(&mut out, p.name, p.value);
            }
        }
        push_param(&mut out, name, value);
        Via::parse(&out)
    }
}

fn push_param(out: &mut String, name: &str, value: Option<&str>) {
    out.push(';');
    out.push_str(name);
    if let Some(v) = value {
        out.push('=');
        out.push_str(v);
    }
}

impl fmt::Debug for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Via({:?})", self.as_str())
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `q` value (RFC 3261 §20.10), in thousandths: `q=0.5` is 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QValue(pub u16);

impl QValue {
    /// Parses `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`.
    pub fn parse(s: &str) -> Option<QValue> {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut thousandths: u16 = 0;
        for (i, d) in frac.bytes().enumerate() {
            thousandths += u16::from(d - b'0') * [100, 10, 1].get(i).copied().unwrap_or(0);
        }
        match int {
            "0" => Some(QValue(thousandths)),
            "1" if thousandths == 0 => Some(QValue(1000)),
            _ => None,
        }
    }
}

/// `name-addr` or `addr-spec` with header parameters: the value of From, To, Contact, Route,
/// Record-Route, Reply-To, Refer-To, P-Asserted-Identity and similar headers.
#[derive(Clone)]
pub struct NameAddr {
    text: ByteStr,
    display: Option<Sp>,
    uri: Uri,
    angle: bool,
    params: Sp,
}

impl NameAddr {
    /// Parses a name-addr (`"Display" <uri>;params`) or an addr-spec (`uri;params`). In the
    /// addr-spec form the URI must not contain `,`, `?` or `;` (RFC 3261 §20.10): its
    /// parameters belong to the header.
    pub fn parse(s: &str) -> Result<NameAddr, HeaderError> {
        NameAddr::from_byte_str(ByteStr::from(s), "name-addr", false)
    }

    /// Parses a name-addr, requiring the `<...>` form (Route, Record-Route, Path).
    pub fn parse_name_addr(s: &str) -> Result<NameAddr, HeaderError> {
        NameAddr::from_byte_str(ByteStr::from(s), "name-addr", true)
    }

    /// A name-addr for `uri`, with a display name quoted when needed.
    pub fn new(display: Option<&str>, uri: &Uri) -> NameAddr {
        let text = match display {
            Some(d) if !d.is_empty() => {
                let tokens = d
                    .split(' ')
                    .all(|t| !t.is_empty() && t.bytes().all(is_token));
                if tokens {
                    format!("{d} <{uri}>")
                } else {
                    format!("{} <{uri}>", crate::text::quote(d))
                }
            }
            _ => format!("<{uri}>"),
        };
        // Built from a valid URI and a quoted or token display name, so it parses; the
        // fallback keeps this infallible.
        NameAddr::parse(&text).unwrap_or_else(|_| NameAddr {
            text: ByteStr::from(format!("<{uri}>")),
            display: None,
            uri: uri.clone(),
            angle: true,
            params: Sp::default(),
        })
    }

    pub(crate) fn from_byte_str(
        text: ByteStr,
        header: &'static str,
        need_angle: bool,
    ) -> Result<NameAddr, HeaderError> {
        let err = |r| HeaderError::new(header, r);
        let s = text.as_str();
        let b = s.as_bytes();
        let mut i = skip_ws(b, 0);
        let mut display = None;
        let angle;
        let uri_span;
        let lt = if b.get(i) == Some(&b'"') {
            let end = scan_quoted(b, i).ok_or(err("unterminated quoted display name"))?;
            display = Some(Sp::new(i, end));
            let j = skip_ws(b, end);
            if b.get(j) != Some(&b'<') {
                return Err(err("expected '<' after display name"));
            }
            Some(j)
        } else {
            let mut j = i;
            while b.get(j).is_some_and(|&c| is_token(c) || is_ws(c)) {
                j += 1;
            }
            if b.get(j) == Some(&b'<') {
                let d = s.get(i..j).unwrap_or_default().trim_end();
                if !d.is_empty() {
                    display = Some(Sp::new(i, i + d.len()));
                }
                Some(j)
            } else {
                None
            }
        };
        if let Some(lt) = lt {
            let gt = memchr::memchr(b'>', b.get(lt..).unwrap_or_default())
                .map(|g| lt + g)
                .ok_or(err("missing '>'"))?;
            uri_span = Sp::new(lt + 1, gt);
            angle = true;
            i = gt + 1;
        } else {
            if need_angle {
                return Err(err("URI must be enclosed in <>"));
            }
            let start = i;
            let mut j = i;
            while b.get(j).is_some_and(|&c| c != b';' && !is_ws(c)) {
                j += 1;
            }
            let u = b.get(start..j).unwrap_or_default();
            if u.is_empty() {
                return Err(err("missing URI"));
            }
            if u.iter()
                .any(|&c| matches!(c, b',' | b'?' | b'<' | b'>' | b'"'))
            {
                return Err(err("URI with ',', '?' or ';' must be enclosed in <>"));
            }
            uri_span = Sp::new(start, j);
            angle = false;
            i = j;
        }
        let uri_text = uri_span.get(s);
        let uri = Uri::from_byte_str(text.slice_ref(uri_text)).map_err(|e| HeaderError {
            header,
            reason: e.0,
        })?;
        check_params(s, i).map_err(err)?;
        Ok(NameAddr {
            display,
            uri,
            angle,
            params: Sp::new(i, b.len()),
            text,
        })
    }

    /// The value as written.
    pub fn as_str(&self) -> &str {
        self.text.as_str()
    }

    /// The display name, without quotes and escapes.
    pub fn display_name(&self) -> Option<Cow<'_, str>> {
        self.display.map(|d| unquote(d.get(self.as_str())))
    }

    /// The display name as written (with its quotes, if quoted).
    pub fn display_raw(&self) -> Option<&str> {
        self.display.map(|d| d.get(self.as_str()))
    }

    /// The URI.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// Whether the URI was enclosed in `<>`.
    pub fn is_bracketed(&self) -> bool {
        self.angle
    }

    /// The header parameters (after the URI, not inside it).
    pub fn params(&self) -> Params<'_> {
        Params {
            text: self.params.get(self.as_str()),
        }
    }

    /// A header parameter: `Some(None)` when present without a value.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params().get(name)
    }

    /// The tag parameter (From, To).
    pub fn tag(&self) -> Option<&str> {
        self.param("tag").flatten()
    }

    /// The expires parameter of a Contact: `Ok(None)` when absent, an error when it is not a
    /// 32-bit number (RFC 4475 §3.1.2.4 suggests treating that as the default expiry).
    pub fn expires(&self) -> Result<Option<u32>, HeaderError> {
        match self.param("expires") {
            None => Ok(None),
            Some(v) => v
                .and_then(|v| parse_u32(v.as_bytes()))
                .map(Some)
                .ok_or(HeaderError::new("Contact", "invalid expires parameter")),
        }
    }

    /// The q parameter of a Contact.
    pub fn q(&self) -> Result<Option<QValue>, HeaderError> {
        match self.param("q") {
            None => Ok(None),
            Some(v) => v
                .and_then(QValue::parse)
                .map(Some)
                .ok_or(HeaderError::new("Contact", "invalid q parameter")),
        }
    }

    /// The `+sip.instance` parameter (RFC 5626), unquoted: `<urn:uuid:...>`.
    pub fn sip_instance(&self) -> Option<Cow<'_, str>> {
        self.params()
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case("+sip.instance"))
            .and_then(|p| p.value.map(unquote))
    }

    /// The `reg-id` parameter (RFC 5626).
    pub fn reg_id(&self) -> Result<Option<u32>, HeaderError> {
        match self.param("reg-id") {
            None => Ok(None),
            Some(v) => v
                .and_then(|v| parse_u32(v.as_bytes()))
                .map(Some)
                .ok_or(HeaderError::new("Contact", "invalid reg-id parameter")),
        }
    }

    /// A copy with a header parameter set (replacing one of the same name).
    pub fn with_param(&self, name: &str, value: Option<&str>) -> Result<NameAddr, HeaderError> {
        let s = self.as_str();
        let mut out = String::with_capacity(s.len() + name.len() + 16);
        out.push_str(
            s.get(..self.params.s as usize)
                .unwrap_or_default()
                .trim_end(),
        );
        for p in self.params().iter() {
            if !p.name.eq_ignore_ascii_case(name) {
                push_param(&mut out, p.name, p.value);
            }
        }
        push_param(&mut out, name, value);
        if self.angle {
            NameAddr::parse(&out)
        } else {
            NameAddr::parse(&out).or_else(|_| {
                // A bare URI gains its brackets when a parameter is added.
                NameAddr::parse(&format!(
                    "<{}>{}",
                    self.uri,
                    out.get(self.params.s as usize..).unwrap_or_default()
                ))
            })
        }
    }
}

impl fmt::Debug for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NameAddr({:?})", self.as_str())
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One Contact value: `*` (only in a REGISTER that removes every binding) or an address.
#[derive(Debug, Clone)]
pub enum Contact {
    /// `Contact: *`.
    Star,
    /// An address with its parameters.
    Addr(NameAddr),
}

impl Contact {
    /// Parses one Contact value.
    pub fn parse(s: &str) -> Result<Contact, HeaderError> {
        Contact::from_byte_str(ByteStr::from(s))
    }

    pub(crate) fn from_byte_str(t: ByteStr) -> Result<Contact, HeaderError> {
        if t.as_str().trim() == "*" {
            Ok(Contact::Star)
        } else {
            NameAddr::from_byte_str(t, "Contact", false).map(Contact::Addr)
        }
    }

    /// The address, unless this is `*`.
    pub fn addr(&self) -> Option<&NameAddr> {
        match self {
            Contact::Star => None,
            Contact::Addr(a) => Some(a),
        }
    }
}

/// The CSeq header: sequence number and method (RFC 3261 §20.16).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CSeq {
    /// The sequence number (a 32-bit unsigned integer).
    pub seq: u32,
    /// The method.
    pub method: Method,
}

impl CSeq {
    /// Parses `1*DIGIT LWS Method`.
    pub fn parse(s: &str) -> Result<CSeq, HeaderError> {
        let err = |r| HeaderError::new("CSeq", r);
        let b = s.as_bytes();
        let i = skip_ws(b, 0);
        let mut j = i;
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        let seq = parse_u32(b.get(i..j).unwrap_or_default())
            .ok_or(err("sequence number is not a 32-bit number"))?;
        let k = skip_ws(b, j);
        if k == j {
            return Err(err("no space before the method"));
        }
        let end = token_end(b, k);
        let method =
            Method::from_token(b.get(k..end).unwrap_or_default()).ok_or(err("invalid method"))?;
        if skip_ws(b, end) != b.len() {
            return Err(err("unexpected text after the method"));
        }
        Ok(CSeq { seq, method })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// Parses a delta-seconds value (Expires, Min-Expires, Retry-After's number): a 32-bit number.
pub fn parse_delta_seconds(s: &str, header: &'static str) -> Result<u32, HeaderError> {
    parse_u32(s.trim_matches(|c| c == ' ' || c == '\t').as_bytes()).ok_or(HeaderError::new(
        header,
        "not a number of seconds below 2^32",
    ))
}

/// Parses Max-Forwards: an integer 0–255 (RFC 3261 §20.22).
pub fn parse_max_forwards(s: &str) -> Result<u8, HeaderError> {
    parse_u64(s.trim_matches(|c| c == ' ' || c == '\t').as_bytes())
        .and_then(|v| u8::try_from(v).ok())
        .ok_or(HeaderError::new("Max-Forwards", "not an integer 0-255"))
}

/// Checks a Call-ID: `word [ "@" word ]` (RFC 3261 §25.1).
pub fn parse_call_id(s: &str) -> Result<&str, HeaderError> {
    let s = s.trim_matches(|c| c == ' ' || c == '\t');
    let word = |w: &str| {
        !w.is_empty()
            && w.bytes().all(|c| {
                is_token(c)
                    || matches!(
                        c,
                        b'(' | b')'
                            | b'<'
                            | b'>'
                            | b':'
                            | b'\\'
                            | b'"'
                            | b'/'
                            | b'['
                            | b']'
                            | b'?'
                            | b'{'
                            | b'}'
                    )
            })
    };
    let ok = match s.split_once('@') {
        Some((a, b)) => word(a) && word(b),
        None => word(s),
    };
    if ok {
        Ok(s)
    } else {
        Err(HeaderError::new("Call-ID", "not word[@word]"))
    }
}

/// Which side refreshes a session (RFC 4028).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresher {
    /// The caller.
    Uac,
    /// The callee.
    Uas,
}

/// The Session-Expires header (RFC 4028 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionExpires {
    /// The session interval in seconds.
    pub delta: u32,
    /// The refresher parameter, if present.
    pub refresher: Option<Refresher>,
}

impl SessionExpires {
    /// Parses `delta-seconds *( SEMI se-params )`.
    pub fn parse(s: &str) -> Result<SessionExpires, HeaderError> {
        let (delta, params) = delta_with_params(s, "Session-Expires")?;
        let refresher = match params.get("refresher") {
            None => None,
            Some(Some(v)) if v.eq_ignore_ascii_case("uac") => Some(Refresher::Uac),
            Some(Some(v)) if v.eq_ignore_ascii_case("uas") => Some(Refresher::Uas),
            Some(_) => {
                return Err(HeaderError::new(
                    "Session-Expires",
                    "refresher must be uac or uas",
                ))
            }
        };
        Ok(SessionExpires { delta, refresher })
    }
}

fn delta_with_params<'a>(
    s: &'a str,
    header: &'static str,
) -> Result<(u32, Params<'a>), HeaderError> {
    let b = s.as_bytes();
    let i = skip_ws(b, 0);
    let mut j = i;
    while b.get(j).is_some_and(u8::is_ascii_digit) {
        j += 1;
    }
    let delta = parse_u32(b.get(i..j).unwrap_or_default()).ok_or(HeaderError::new(
        header,
        "not a number of seconds below 2^32",
    ))?;
    let rest = s.get(j..).unwrap_or_default();
    let params = Params::parse(rest).map_err(|r| HeaderError::new(header, r))?;
    Ok((delta, params))
}

/// Parses Min-SE (RFC 4028 §5): `delta-seconds *( SEMI generic-param )`.
pub fn parse_min_se(s: &str) -> Result<u32, HeaderError> {
    delta_with_params(s, "Min-SE").map(|(d, _)| d)
}

/// An authentication header value: `scheme` followed by comma-separated `name=value`
/// parameters (RFC 3261 §25.1, RFC 2617, RFC 7616) or, for schemes such as Bearer, a
/// token68. Used for WWW-Authenticate / Proxy-Authenticate (challenges) and Authorization /
/// Proxy-Authorization (credentials).
#[derive(Clone)]
pub struct AuthHeader {
    text: ByteStr,
    scheme: Sp,
    params: Vec<(Sp, Sp)>,
    token68: Option<Sp>,
}

impl AuthHeader {
    /// Parses a challenge or credentials value.
    pub fn parse(s: &str) -> Result<AuthHeader, HeaderError> {
        AuthHeader::from_byte_str(ByteStr::from(s), "Authorization")
    }

    pub(crate) fn from_byte_str(
        text: ByteStr,
        header: &'static str,
    ) -> Result<AuthHeader, HeaderError> {
        let err = |r| HeaderError::new(header, r);
        let s = text.as_str();
        let b = s.as_bytes();
        let start = skip_ws(b, 0);
        let end = token_end(b, start);
        if end == start {
            return Err(err("missing auth-scheme"));
        }
        let scheme = Sp::new(start, end);
        let mut i = skip_ws(b, end);
        if i == b.len() {
            return Ok(AuthHeader {
                text,
                scheme,
                params: Vec::new(),
                token68: None,
            });
        }
        if i == end {
            return Err(err("no space after auth-scheme"));
        }
        let rest_start = i;
        let mut params = Vec::new();
        let parsed: Result<(), &'static str> = (|| {
            loop {
                // Empty list elements are tolerated, as in HTTP's list rule.
                while b.get(i).is_some_and(|&c| c == b',' || is_ws(c)) {
                    i += 1;
                }
                if i >= b.len() {
                    return Ok(());
                }
                let ne = token_end(b, i);
                if ne == i {
                    return Err("invalid auth-param name");
                }
                let name = Sp::new(i, ne);
                i = skip_ws(b, ne);
                if b.get(i) != Some(&b'=') {
                    return Err("auth-param without '='");
                }
                i = skip_ws(b, i + 1);
                let ve = if b.get(i) == Some(&b'"') {
                    scan_quoted(b, i).ok_or("unterminated quoted-string")?
                } else {
                    token_end(b, i)
                };
                if ve == i {
                    return Err("empty auth-param value");
                }
                params.push((name, Sp::new(i, ve)));
                i = skip_ws(b, ve);
                match b.get(i) {
                    None => return Ok(()),
                    Some(b',') => i += 1,
                    Some(_) => return Err("expected ',' between auth-params"),
                }
            }
        })();
        if let Err(reason) = parsed {
            let rest = s.get(rest_start..).unwrap_or_default().trim_end();
            let t68 = rest.trim_end_matches('=');
            if !t68.is_empty()
                && t68.bytes().all(|c| {
                    c.is_ascii_alphanumeric()
                        || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
                })
            {
                return Ok(AuthHeader {
                    token68: Some(Sp::new(rest_start, rest_start + rest.len())),
                    text,
                    scheme,
                    params: Vec::new(),
                });
            }
            return Err(err(reason));
        }
        Ok(AuthHeader {
            text,
            scheme,
            params,
            token68: None,
        })
    }

    /// The value as written.
    pub fn as_str(&self) -> &str {
        self.text.as_str()
    }

    /// The auth-scheme as written (`Digest`, ...).
    pub fn scheme(&self) -> &str {
        self.scheme.get(self.as_str())
    }

    /// Whether the scheme is Digest (compared ignoring case).
    pub fn is_digest(&self) -> bool {
        self.scheme().eq_ignore_ascii_case("Digest")
    }

    /// The token68 form's value (`Bearer abc...`), if that is the form used.
    pub fn token68(&self) -> Option<&str> {
        self.token68.map(|t| t.get(self.as_str()))
    }

    /// The parameters as written: names, and values with their quotes.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        let s = self.as_str();
        self.params.iter().map(move |(n, v)| (n.get(s), v.get(s)))
    }

    /// A parameter's value as written (quotes kept).
    pub fn param_raw(&self, name: &str) -> Option<&str> {
        self.params()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// A parameter's value with quotes and quoted-pair escapes removed.
    pub fn param(&self, name: &str) -> Option<Cow<'_, str>> {
        self.param_raw(name).map(unquote)
    }

    /// `realm`.
    pub fn realm(&self) -> Option<Cow<'_, str>> {
        self.param("realm")
    }

    /// `nonce`.
    pub fn nonce(&self) -> Option<Cow<'_, str>> {
        self.param("nonce")
    }

    /// `opaque`.
    pub fn opaque(&self) -> Option<Cow<'_, str>> {
        self.param("opaque")
    }

    /// `algorithm` (absent means MD5).
    pub fn algorithm(&self) -> Option<Cow<'_, str>> {
        self.param("algorithm")
    }

    /// `qop`: in a challenge a quoted list of options, in credentials the one chosen.
    pub fn qop(&self) -> Option<Cow<'_, str>> {
        self.param("qop")
    }

    /// The qop options of a challenge, split at commas.
    pub fn qop_options(&self) -> Vec<String> {
        self.qop()
            .map(|q| {
                q.split(',')
                    .map(|o| o.trim().to_owned())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `stale=true` in a challenge.
    pub fn stale(&self) -> bool {
        self.param("stale")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// `domain` of a challenge.
    pub fn domain(&self) -> Option<Cow<'_, str>> {
        self.param("domain")
    }

    /// `username` of credentials.
    pub fn username(&self) -> Option<Cow<'_, str>> {
        self.param("username")
    }

    /// `uri` (digest-uri) of credentials.
    pub fn uri(&self) -> Option<Cow<'_, str>> {
        self.param("uri")
    }

    /// `response` of credentials.
    pub fn response(&self) -> Option<Cow<'_, str>> {
        self.param("response")
    }

    /// `cnonce` of credentials.
    pub fn cnonce(&self) -> Option<Cow<'_, str>> {
        self.param("cnonce")
    }

    /// `nc` (nonce count) of credentials, as a number.
    pub fn nc(&self) -> Option<u32> {
        self.param("nc")
            .and_then(|v| u32::from_str_radix(&v, 16).ok())
    }

    /// `userhash=true` (RFC 7616).
    pub fn userhash(&self) -> bool {
        self.param("userhash")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

impl fmt::Debug for AuthHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthHeader({:?})", self.as_str())
    }
}

/// A Date header value (RFC 3261 §20.17: an RFC 1123 date, always in GMT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SipDate {
    /// Year.
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day of the month.
    pub day: u8,
    /// Hour.
    pub hour: u8,
    /// Minute.
    pub minute: u8,
    /// Second.
    pub second: u8,
}

impl SipDate {
    /// Parses `wkday "," SP 2DIGIT SP month SP 4DIGIT SP 2DIGIT ":" 2DIGIT ":" 2DIGIT SP "GMT"`.
    pub fn parse(s: &str) -> Result<SipDate, HeaderError> {
        let err = HeaderError::new("Date", "not an RFC 1123 date in GMT");
        let s = s.trim_matches(|c| c == ' ' || c == '\t');
        let (wkday, rest) = s.split_once(", ").ok_or(err.clone())?;
        if !["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].contains(&wkday) {
            return Err(err);
        }
        let parts: Vec<&str> = rest.split(' ').collect();
        let [day, month, year, time, zone] = parts.as_slice() else {
            return Err(err);
        };
        let num = |t: &str, n: usize| -> Option<u16> {
            (t.len() == n && t.bytes().all(|c| c.is_ascii_digit()))
                .then(|| t.parse().ok())
                .flatten()
        };
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let month = MONTHS.iter().position(|m| m == month).ok_or(err.clone())?;
        let hms: Vec<&str> = time.split(':').collect();
        let [h, m, sec] = hms.as_slice() else {
            return Err(err);
        };
        let small =
            |v: Option<u16>, max: u16| v.filter(|&v| v <= max).and_then(|v| u8::try_from(v).ok());
        if *zone != "GMT" {
            return Err(err);
        }
        Ok(SipDate {
            year: num(year, 4).ok_or(err.clone())?,
            month: u8::try_from(month + 1).map_err(|_| err.clone())?,
            day: small(num(day, 2), 31)
                .filter(|&d| d >= 1)
                .ok_or(err.clone())?,
            hour: small(num(h, 2), 23).ok_or(err.clone())?,
            minute: small(num(m, 2), 59).ok_or(err.clone())?,
            second: small(num(sec, 2), 60).ok_or(err)?,
        })
    }
}

fn values_of<'a, T: 'a>(
    h: &'a Headers,
    name: &'static str,
    f: impl Fn(ByteStr) -> Result<T, HeaderError> + 'a,
) -> impl Iterator<Item = Result<T, HeaderError>> + 'a {
    h.values_bytes(name)
        .map(move |b| to_byte_str(b, name).and_then(&f))
}

fn first_of<T>(
    h: &Headers,
    name: &'static str,
    f: impl Fn(&str) -> Result<T, HeaderError>,
) -> Option<Result<T, HeaderError>> {
    let v = h.get(name)?;
    Some(
        std::str::from_utf8(v)
            .map_err(|_| HeaderError::new(name, "not UTF-8"))
            .and_then(f),
    )
}

/// Typed access to the headers. Each accessor returns `None` when the header is absent and
/// `Some(Err(..))` when it is present but malformed; single-valued headers read the first
/// field (whether there is more than one is [`crate::validate`]'s concern).
impl Headers {
    /// Every Via value, top first.
    pub fn vias(&self) -> impl Iterator<Item = Result<Via, HeaderError>> + '_ {
        values_of(self, "Via", |t| Via::from_byte_str(t, false))
    }

    /// The topmost Via value.
    pub fn top_via(&self) -> Option<Result<Via, HeaderError>> {
        self.vias().next()
    }

    /// The From header.
    pub fn from_addr(&self) -> Option<Result<NameAddr, HeaderError>> {
        let b = self.get_bytes("From")?;
        Some(to_byte_str(b, "From").and_then(|t| NameAddr::from_byte_str(t, "From", false)))
    }

    /// The To header.
    pub fn to_addr(&self) -> Option<Result<NameAddr, HeaderError>> {
        let b = self.get_bytes("To")?;
        Some(to_byte_str(b, "To").and_then(|t| NameAddr::from_byte_str(t, "To", false)))
    }

    /// Every Contact value.
    pub fn contacts(&self) -> impl Iterator<Item = Result<Contact, HeaderError>> + '_ {
        values_of(self, "Contact", Contact::from_byte_str)
    }

    /// Every Route value, top first.
    pub fn routes(&self) -> impl Iterator<Item = Result<NameAddr, HeaderError>> + '_ {
        values_of(self, "Route", |t| NameAddr::from_byte_str(t, "Route", true))
    }

    /// Every Record-Route value, top first.
    pub fn record_routes(&self) -> impl Iterator<Item = Result<NameAddr, HeaderError>> + '_ {
        values_of(self, "Record-Route", |t| {
            NameAddr::from_byte_str(t, "Record-Route", true)
        })
    }

    /// The Call-ID.
    pub fn call_id(&self) -> Option<Result<&str, HeaderError>> {
        let v = self.get("Call-ID")?;
        Some(
            std::str::from_utf8(v)
                .map_err(|_| HeaderError::new("Call-ID", "not UTF-8"))
                .and_then(parse_call_id),
        )
    }

    /// The CSeq.
    pub fn cseq(&self) -> Option<Result<CSeq, HeaderError>> {
        first_of(self, "CSeq", CSeq::parse)
    }

    /// Max-Forwards.
    pub fn max_forwards(&self) -> Option<Result<u8, HeaderError>> {
        first_of(self, "Max-Forwards", parse_max_forwards)
    }

    /// Expires.
    pub fn expires(&self) -> Option<Result<u32, HeaderError>> {
        first_of(self, "Expires", |s| parse_delta_seconds(s, "Expires"))
    }

    /// Min-Expires.
    pub fn min_expires(&self) -> Option<Result<u32, HeaderError>> {
        first_of(self, "Min-Expires", |s| {
            parse_delta_seconds(s, "Min-Expires")
        })
    }

    /// Content-Length.
    pub fn content_length(&self) -> Option<Result<usize, HeaderError>> {
        first_of(self, "Content-Length", |s| {
            parse_u64(s.as_bytes())
                .and_then(|v| usize::try_from(v).ok())
                .ok_or(HeaderError::new("Content-Length", "not a number"))
        })
    }

    /// Session-Expires (RFC 4028).
    pub fn session_expires(&self) -> Option<Result<SessionExpires, HeaderError>> {
        first_of(self, "Session-Expires", SessionExpires::parse)
    }

    /// Min-SE (RFC 4028).
    pub fn min_se(&self) -> Option<Result<u32, HeaderError>> {
        first_of(self, "Min-SE", parse_min_se)
    }

    /// Date.
    pub fn date(&self) -> Option<Result<SipDate, HeaderError>> {
        first_of(self, "Date", SipDate::parse)
    }

    /// The option tags of every field called `name` (Require, Supported, Proxy-Require,
    /// Unsupported); empty list elements are skipped.
    pub fn option_tags<'a>(&'a self, name: &'a str) -> Result<Vec<&'a str>, HeaderError> {
        let mut out = Vec::new();
        for v in self.values(name) {
            if v.is_empty() {
                continue;
            }
            let t = std::str::from_utf8(v)
                .ok()
                .filter(|t| crate::uri::is_token_text(t))
                .ok_or(HeaderError::new(
                    "option-tag list",
                    "an option tag is not a token",
                ))?;
            out.push(t);
        }
        Ok(out)
    }

    /// Require's option tags.
    pub fn require(&self) -> Result<Vec<&str>, HeaderError> {
        self.option_tags("Require")
    }

    /// Proxy-Require's option tags.
    pub fn proxy_require(&self) -> Result<Vec<&str>, HeaderError> {
        self.option_tags("Proxy-Require")
    }

    /// Supported's option tags.
    pub fn supported(&self) -> Result<Vec<&str>, HeaderError> {
        self.option_tags("Supported")
    }

    /// Unsupported's option tags.
    pub fn unsupported(&self) -> Result<Vec<&str>, HeaderError> {
        self.option_tags("Unsupported")
    }

    /// Every Authorization field (each holds one set of credentials).
    pub fn authorizations(&self) -> impl Iterator<Item = Result<AuthHeader, HeaderError>> + '_ {
        values_of(self, "Authorization", |t| {
            AuthHeader::from_byte_str(t, "Authorization")
        })
    }

    /// Every Proxy-Authorization field.
    pub fn proxy_authorizations(
        &self,
    ) -> impl Iterator<Item = Result<AuthHeader, HeaderError>> + '_ {
        values_of(self, "Proxy-Authorization", |t| {
            AuthHeader::from_byte_str(t, "Proxy-Authorization")
        })
    }

    /// Every WWW-Authenticate field (each holds one challenge).
    pub fn www_authenticates(&self) -> impl Iterator<Item = Result<AuthHeader, HeaderError>> + '_ {
        values_of(self, "WWW-Authenticate", |t| {
            AuthHeader::from_byte_str(t, "WWW-Authenticate")
        })
    }

    /// Every Proxy-Authenticate field.
    pub fn proxy_authenticates(
        &self,
    ) -> impl Iterator<Item = Result<AuthHeader, HeaderError>> + '_ {
        values_of(self, "Proxy-Authenticate", |t| {
            AuthHeader::from_byte_str(t, "Proxy-Authenticate")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn via_with_odd_spacing() {
        let v = Via::parse("SIP  /   2.0 /UDP     192.0.2.2;branch=390skdjuw").unwrap();
        assert_eq!(v.protocol_name(), "SIP");
        assert_eq!(v.protocol_version(), "2.0");
        assert_eq!(v.transport(), "UDP");
        assert_eq!(v.host(), Host::Ipv4(Ipv4Addr::new(192, 0, 2, 2)));
        assert_eq!(v.branch(), Some("390skdjuw"));
        assert!(!v.has_magic_cookie());
        let v =
            Via::parse("SIP  / 2.0  / TCP     spindle.example.com   ;   branch  =   z9hG4bK9ikj8")
                .unwrap();
        assert_eq!(v.host(), Host::Domain("spindle.example.com"));
        assert_eq!(v.branch(), Some("z9hG4bK9ikj8"));
    }

    #[test]
    fn via_params() {
        let v = Via::parse(
            "SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3;received=2001:db8::9:255;rport;ttl=1;maddr=224.2.0.1",
        )
        .unwrap();
        assert_eq!(v.port(), Some(6050));
        assert_eq!(v.received(), Some("2001:db8::9:255".parse().unwrap()));
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.ttl(), Some(1));
        assert_eq!(v.maddr(), Some(Host::Ipv4(Ipv4Addr::new(224, 2, 0, 1))));
        let v = Via::parse("SIP/2.0/UDP h;received=[2001:db8::9:255];rport=5060").unwrap();
        assert_eq!(v.received(), Some("2001:db8::9:255".parse().unwrap()));
        assert_eq!(v.rport(), Some(Some(5060)));
        let w = v
            .with_param("received", Some("192.0.2.1"))
            .unwrap()
            .with_param("rport", Some("1234"))
            .unwrap();
        assert_eq!(w.as_str(), "SIP/2.0/UDP h;received=192.0.2.1;rport=1234");
        for bad in [
            "SIP/2.0/UDP 192.0.2.15;;",
            ";",
            "",
            "SIP/2.0/UDP",
            "SIP/2.0 UDP h",
            "SIP/2.0/UDPh",
            "SIP/2.0/UDP h;received=example.com",
            "SIP/2.0/UDP h;ttl=256",
            "SIP/2.0/UDP h;rport=x",
            "SIP/2.0/UDP h:99999",
            "SIP/2.0/UDP h extra",
        ] {
            assert!(Via::parse(bad).is_err(), "{bad:?}");
        }
        let lenient = Via::parse_lenient("SIP/2.0/UDP 192.0.2.15;;").unwrap();
        assert_eq!(lenient.host_str(), "192.0.2.15");
    }

    #[test]
    fn name_addr_forms() {
        let a = NameAddr::parse(
            r#""J Rosenberg \\\""       <sip:jdrosen@example.com> ; tag = 98asjd8"#,
        )
        .unwrap();
        assert_eq!(a.display_name().unwrap(), r#"J Rosenberg \""#);
        assert_eq!(a.tag(), Some("98asjd8"));
        let a =
            NameAddr::parse("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n").unwrap();
        assert!(!a.is_bracketed());
        assert_eq!(a.uri().as_str(), "sip:vivekg@chair-dnrc.example.com");
        assert_eq!(a.tag(), Some("1918181833n"));
        let a = NameAddr::parse("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(a.display_name().unwrap(), "caller");
        let a =
            NameAddr::parse("token1~` token2'+_ token3*%!.- <sip:mundane@example.com>").unwrap();
        assert_eq!(a.display_raw(), Some("token1~` token2'+_ token3*%!.-"));
        let a = NameAddr::parse("sip:+16505552222@ss1.example.net;user=phone").unwrap();
        assert_eq!(a.param("user"), Some(Some("phone")));
        assert_eq!(a.uri().as_str(), "sip:+16505552222@ss1.example.net");
        let a = NameAddr::parse("isbn:2983792873").unwrap();
        assert_eq!(a.uri().scheme(), "isbn");
        let c = NameAddr::parse(r#"<sip:a@b>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>";reg-id=1;q=0.7;expires=3600"#).unwrap();
        assert_eq!(
            c.sip_instance().unwrap(),
            "<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"
        );
        assert_eq!(c.reg_id(), Ok(Some(1)));
        assert_eq!(c.q(), Ok(Some(QValue(700))));
        assert_eq!(c.expires(), Ok(Some(3600)));
        for bad in [
            r#""Mr. J. User <sip:j.user@example.com>"#,
            r#""Watson, Thomas" < sip:t.watson@example.org >"#,
            "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            r#""Joe" <sip:joe@example.org>;;;;"#,
            "alan@jasomi.com",
            "<sip:a@b>, <sip:c@d>",
            "<sip:a@b",
        ] {
            assert!(NameAddr::parse(bad).is_err(), "{bad}");
        }
        assert!(NameAddr::parse_name_addr("sip:a@b").is_err());
        let plain = NameAddr::parse("sip:a@b").unwrap();
        assert_eq!(
            plain.with_param("tag", Some("x")).unwrap().as_str(),
            "sip:a@b;tag=x"
        );
        let built = NameAddr::new(Some("Bell, Alexander"), &Uri::parse("sip:a@b").unwrap());
        assert_eq!(built.as_str(), r#""Bell, Alexander" <sip:a@b>"#);
    }

    #[test]
    fn scalars() {
        assert_eq!(
            CSeq::parse("0009   INVITE").unwrap(),
            CSeq {
                seq: 9,
                method: Method::Invite
            }
        );
        assert!(CSeq::parse("36893488147419103232 REGISTER").is_err());
        assert!(CSeq::parse("1INVITE").is_err());
        assert!(CSeq::parse("1 INVITE x").is_err());
        assert_eq!(parse_max_forwards("0068"), Ok(68));
        assert!(parse_max_forwards("300").is_err());
        assert!(parse_delta_seconds("1000000000000000000000", "Expires").is_err());
        assert_eq!(
            SessionExpires::parse("1800;refresher=uac").unwrap(),
            SessionExpires {
                delta: 1800,
                refresher: Some(Refresher::Uac)
            }
        );
        assert!(SessionExpires::parse("1800;refresher=me").is_err());
        assert_eq!(parse_min_se("90;x=1"), Ok(90));
        assert!(parse_call_id("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{").is_ok());
        assert!(parse_call_id("a b").is_err());
        assert!(parse_call_id("a@b@c").is_err());
        assert_eq!(QValue::parse("1.000"), Some(QValue(1000)));
        assert_eq!(QValue::parse("0.33"), Some(QValue(330)));
        assert_eq!(QValue::parse("1.5"), None);
        assert!(SipDate::parse("Sat, 13 Nov 2010 23:29:00 GMT").is_ok());
        assert!(SipDate::parse("Fri, 01 Jan 2010 16:00:00 EST").is_err());
    }

    #[test]
    fn auth_headers() {
        let a = AuthHeader::parse(
            r#"Digest username="bob", realm="biloxi.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="sip:bob@biloxi.com", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        )
        .unwrap();
        assert!(a.is_digest());
        assert_eq!(a.username().unwrap(), "bob");
        assert_eq!(a.nc(), Some(1));
        assert_eq!(a.qop().unwrap(), "auth");
        assert_eq!(a.uri().unwrap(), "sip:bob@biloxi.com");
        let c = AuthHeader::parse(
            r#"Digest realm="a\"b", qop="auth,auth-int", stale=TRUE, algorithm=SHA-256"#,
        )
        .unwrap();
        assert_eq!(c.realm().unwrap(), "a\"b");
        assert_eq!(c.qop_options(), vec!["auth", "auth-int"]);
        assert!(c.stale());
        let u = AuthHeader::parse("NoOneKnowsThisScheme opaque-data=here").unwrap();
        assert_eq!(u.scheme(), "NoOneKnowsThisScheme");
        assert_eq!(u.param("opaque-data").unwrap(), "here");
        let b = AuthHeader::parse("Bearer eyJhbGciOi.JIUzI1NiJ9==").unwrap();
        assert_eq!(b.token68(), Some("eyJhbGciOi.JIUzI1NiJ9=="));
        assert!(AuthHeader::parse(r#"Digest realm="unterminated"#).is_err());
    }
}
