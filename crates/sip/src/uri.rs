//! URIs: SIP and SIPS (RFC 3261 §19.1, grammar of §25.1, IPv6 per RFC 5118), tel (RFC 3966)
//! and any other scheme kept as text.
//!
//! A parsed URI keeps its original text and records where its parts are, so printing it gives
//! back exactly what was received and the parts are borrowed from it without copying.

use std::borrow::Cow;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use bytes::Bytes;

use crate::text::{hex_val, is_reserved, is_token, is_unreserved, pct_decode, ByteStr};

/// Why a URI was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid URI: {0}")]
pub struct UriError(pub &'static str);

/// Where a part of a URI lies in its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn new(start: usize, end: usize) -> Span {
        // URIs longer than 4 GiB are refused before a span is made.
        Span {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
        }
    }
    fn get(self, s: &str) -> &str {
        s.get(self.start as usize..self.end as usize)
            .unwrap_or_default()
    }
    fn is_empty(self) -> bool {
        self.start >= self.end
    }
}

/// A host as it appears in a URI or a Via: a domain name or an IP address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Host<'a> {
    /// A host name, as written (compare it ignoring case).
    Domain(&'a str),
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 address (written as a `[...]` reference in URIs and sent-by).
    Ipv6(Ipv6Addr),
}

impl Host<'_> {
    /// Whether two hosts are the same: names compare ignoring case, addresses by value.
    pub fn same_as(&self, other: &Host<'_>) -> bool {
        match (self, other) {
            (Host::Domain(a), Host::Domain(b)) => a
                .trim_end_matches('.')
                .eq_ignore_ascii_case(b.trim_end_matches('.')),
            (Host::Ipv4(a), Host::Ipv4(b)) => a == b,
            (Host::Ipv6(a), Host::Ipv6(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for Host<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::Ipv4(a) => write!(f, "{a}"),
            Host::Ipv6(a) => write!(f, "[{a}]"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostKind {
    Domain,
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

impl HostKind {
    pub(crate) fn with_text(self, text: &str) -> Host<'_> {
        match self {
            HostKind::Domain => Host::Domain(text),
            HostKind::V4(a) => Host::Ipv4(a),
            HostKind::V6(a) => Host::Ipv6(a),
        }
    }
}

/// Parses `host = hostname / IPv4address / IPv6reference`.
pub(crate) fn parse_host(s: &str) -> Result<HostKind, UriError> {
    if let Some(inner) = s.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or(UriError("unterminated IPv6 reference"))?;
        return parse_ipv6(inner)
            .map(HostKind::V6)
            .ok_or(UriError("invalid IPv6 address"));
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return parse_ipv4(s)
            .map(HostKind::V4)
            .ok_or(UriError("invalid IPv4 address"));
    }
    if is_hostname(s) {
        Ok(HostKind::Domain)
    } else {
        Err(UriError("invalid host name"))
    }
}

/// `IPv4address = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT`, each at most 255. Leading
/// zeros are allowed by the SIP grammar, unlike `Ipv4Addr::from_str`.
pub(crate) fn parse_ipv4(s: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut n = 0;
    let mut value: u16 = 0;
    let mut digits = 0;
    for &b in s.as_bytes() {
        match b {
            b'0'..=b'9' if digits < 3 => {
                value = value * 10 + u16::from(b - b'0');
                digits += 1;
            }
            b'.' if digits > 0 && n < 3 => {
                *octets.get_mut(n)? = u8::try_from(value).ok()?;
                n += 1;
                value = 0;
                digits = 0;
            }
            _ => return None,
        }
    }
    if n != 3 || digits == 0 {
        return None;
    }
    *octets.get_mut(3)? = u8::try_from(value).ok()?;
    Some(Ipv4Addr::from(octets))
}

/// An IPv6 address without brackets. RFC 3261's grammar (inherited from RFC 2373) admits
/// `2001:db8:::192.0.2.1`, with three colons before an embedded IPv4 address; RFC 5118 §4.10
/// asks receivers to accept it, so it is read as the two-colon form.
pub(crate) fn parse_ipv6(s: &str) -> Option<Ipv6Addr> {
    if let Ok(a) = s.parse::<Ipv6Addr>() {
        return Some(a);
    }
    let idx = s.find(":::")?;
    let tail = s.get(idx + 3..)?;
    parse_ipv4(tail)?;
    let fixed = format!("{}::{}", s.get(..idx)?, tail);
    fixed.parse().ok()
}

/// `hostname = *( domainlabel "." ) toplabel [ "." ]`.
pub(crate) fn is_hostname(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() {
        return false;
    }
    let mut labels = s.split('.').peekable();
    while let Some(label) = labels.next() {
        let b = label.as_bytes();
        let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
            return false;
        };
        if !first.is_ascii_alphanumeric()
            || !last.is_ascii_alphanumeric()
            || !b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
        {
            return false;
        }
        if labels.peek().is_none() && !first.is_ascii_alphabetic() {
            return false;
        }
    }
    true
}

/// Checks that every byte is allowed by `ok` or is part of a valid `%XX` escape.
fn valid_escaped(s: &[u8], ok: fn(u8) -> bool) -> bool {
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if b == b'%' {
            if s.get(i + 1).copied().and_then(hex_val).is_none()
                || s.get(i + 2).copied().and_then(hex_val).is_none()
            {
                return false;
            }
            i += 3;
        } else if ok(b) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

fn user_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/')
}

fn password_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'&' | b'=' | b'+' | b'$' | b',')
}

/// `paramchar = param-unreserved / unreserved / escaped` (escapes handled by the caller).
fn param_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$')
}

fn header_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'[' | b']' | b'/' | b'?' | b':' | b'+' | b'$')
}

/// Characters of an absolute URI of a scheme we do not interpret (RFC 2396 `uric`, plus the
/// brackets of RFC 2732 and a fragment mark).
fn opaque_char(b: u8) -> bool {
    is_unreserved(b) || is_reserved(b) || matches!(b, b'[' | b']' | b'#')
}

fn valid_scheme(s: &str) -> bool {
    let b = s.as_bytes();
    b.first().is_some_and(u8::is_ascii_alphabetic)
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
}

/// A `name[=value]` parameter of a URI, as written (still escaped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UriParam<'a> {
    /// The name.
    pub name: &'a str,
    /// The value, if there is an `=`.
    pub value: Option<&'a str>,
}

/// Iterates over `;name[=value]` parameters of a SIP or tel URI.
#[derive(Debug, Clone)]
pub struct UriParams<'a> {
    rest: &'a str,
}

impl<'a> UriParams<'a> {
    fn new(s: &'a str) -> Self {
        UriParams {
            rest: s.strip_prefix(';').unwrap_or(s),
        }
    }

    /// The first parameter called `name` (compared ignoring case and escapes): `Some(None)`
    /// for a parameter without a value.
    pub fn get(&self, name: &str) -> Option<Option<&'a str>> {
        self.clone()
            .find(|p| name_eq(p.name, name))
            .map(|p| p.value)
    }

    /// Whether a parameter called `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

impl<'a> Iterator for UriParams<'a> {
    type Item = UriParam<'a>;

    fn next(&mut self) -> Option<UriParam<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        let (item, rest) = self.rest.split_once(';').unwrap_or((self.rest, ""));
        self.rest = rest;
        Some(match item.split_once('=') {
            Some((n, v)) => UriParam {
                name: n,
                value: Some(v),
            },
            None => UriParam {
                name: item,
                value: None,
            },
        })
    }
}

/// Compares parameter or header names ignoring case, treating `%XX` escapes as the characters
/// they stand for (RFC 3261 §19.1.4).
fn name_eq(written: &str, wanted: &str) -> bool {
    if written.contains('%') {
        pct_decode(written).eq_ignore_ascii_case(wanted.as_bytes())
    } else {
        written.eq_ignore_ascii_case(wanted)
    }
}

/// A `sip:` or `sips:` URI.
#[derive(Clone)]
pub struct SipUri {
    text: ByteStr,
    secure: bool,
    user: Option<Span>,
    password: Option<Span>,
    host: Span,
    host_kind: HostKind,
    port: Option<u16>,
    params: Span,
    headers: Span,
}

impl SipUri {
    /// Parses a SIP or SIPS URI.
    pub fn parse(s: &str) -> Result<SipUri, UriError> {
        match Uri::parse(s)? {
            Uri::Sip(u) => Ok(u),
            _ => Err(UriError("not a sip or sips URI")),
        }
    }

    fn parse_text(text: ByteStr, colon: usize, secure: bool) -> Result<SipUri, UriError> {
        let s = text.as_str();
        let b = s.as_bytes();
        let mut pos = colon + 1;

        let mut user = None;
        let mut password = None;
        if let Some(at) = memchr::memchr(b'@', b.get(pos..).unwrap_or_default()) {
            let at = pos + at;
            let info = b.get(pos..at).unwrap_or_default();
            let (u_end, p) = match memchr::memchr(b':', info) {
                Some(c) => (pos + c, Some(Span::new(pos + c + 1, at))),
                None => (at, None),
            };
            let u = b.get(pos..u_end).unwrap_or_default();
            if u.is_empty() || !valid_escaped(u, user_char) {
                return Err(UriError("invalid user part"));
            }
            if let Some(p) = p {
                if !valid_escaped(
                    b.get(p.start as usize..p.end as usize).unwrap_or_default(),
                    password_char,
                ) {
                    return Err(UriError("invalid password"));
                }
            }
            user = Some(Span::new(pos, u_end));
            password = p;
            pos = at + 1;
        }

        // host
        let host_start = pos;
        let host_end = if b.get(pos) == Some(&b'[') {
            let close = memchr::memchr(b']', b.get(pos..).unwrap_or_default())
                .ok_or(UriError("unterminated IPv6 reference"))?;
            pos + close + 1
        } else {
            b.get(pos..)
                .unwrap_or_default()
                .iter()
                .position(|&c| matches!(c, b':' | b';' | b'?'))
                .map_or(b.len(), |i| pos + i)
        };
        let host_text = s.get(host_start..host_end).unwrap_or_default();
        if host_text.is_empty() {
            return Err(UriError("missing host"));
        }
        let host_kind = parse_host(host_text)?;
        pos = host_end;

        let mut port = None;
        if b.get(pos) == Some(&b':') {
            let start = pos + 1;
            let end = b
                .get(start..)
                .unwrap_or_default()
                .iter()
                .position(|&c| c == b';' || c == b'?')
                .map_or(b.len(), |i| start + i);
            let digits = b.get(start..end).unwrap_or_default();
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return Err(UriError("invalid port"));
            }
            port = Some(
                crate::text::parse_u64(digits)
                    .and_then(|v| u16::try_from(v).ok())
                    .ok_or(UriError("port out of range"))?,
            );
            pos = end;
        }

        let params_start = pos;
        while b.get(pos) == Some(&b';') {
            let start = pos + 1;
            let end = b
                .get(start..)
                .unwrap_or_default()
                .iter()
                .position(|&c| c == b';' || c == b'?')
                .map_or(b.len(), |i| start + i);
            let item = b.get(start..end).unwrap_or_default();
            let (name, value) = match memchr::memchr(b'=', item) {
                Some(eq) => (
                    item.get(..eq).unwrap_or_default(),
                    Some(item.get(eq + 1..).unwrap_or_default()),
                ),
                None => (item, None),
            };
            if name.is_empty()
                || !valid_escaped(name, param_char)
                || value.is_some_and(|v| v.is_empty() || !valid_escaped(v, param_char))
            {
                return Err(UriError("invalid uri-parameter"));
            }
            pos = end;
        }
        let params = Span::new(params_start, pos);

        let mut headers = Span::new(pos, pos);
        if b.get(pos) == Some(&b'?') {
            let hs = b.get(pos + 1..).unwrap_or_default();
            for h in hs.split(|&c| c == b'&') {
                let eq = memchr::memchr(b'=', h).ok_or(UriError("header without '='"))?;
                let (name, value) = (
                    h.get(..eq).unwrap_or_default(),
                    h.get(eq + 1..).unwrap_or_default(),
                );
                if name.is_empty()
                    || !valid_escaped(name, header_char)
                    || !valid_escaped(value, header_char)
                {
                    return Err(UriError("invalid header in URI"));
                }
            }
            headers = Span::new(pos + 1, b.len());
            pos = b.len();
        }
        if pos != b.len() {
            return Err(UriError("unexpected character"));
        }

        Ok(SipUri {
            secure,
            user,
            password,
            host: Span::new(host_start, host_end),
            host_kind,
            port,
            params,
            headers,
            text,
        })
    }

    /// The whole URI, as written.
    pub fn as_str(&self) -> &str {
        self.text.as_str()
    }

    /// Whether this is a `sips:` URI.
    pub fn is_sips(&self) -> bool {
        self.secure
    }

    /// The user part, still escaped (`sip:%61lice@...` gives `%61lice`).
    pub fn user(&self) -> Option<&str> {
        self.user.map(|s| s.get(self.as_str()))
    }

    /// The user part with escapes decoded. Bytes, because `%00` and non-UTF-8 escapes are
    /// legal (RFC 4475 §3.1.1.4).
    pub fn user_decoded(&self) -> Option<Cow<'_, [u8]>> {
        self.user().map(pct_decode)
    }

    /// The password, still escaped.
    pub fn password(&self) -> Option<&str> {
        self.password.map(|s| s.get(self.as_str()))
    }

    /// The host.
    pub fn host(&self) -> Host<'_> {
        self.host_kind.with_text(self.host_str())
    }

    /// The host as written, with brackets for IPv6.
    pub fn host_str(&self) -> &str {
        self.host.get(self.as_str())
    }

    /// The explicit port, if any.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The uri-parameters.
    pub fn params(&self) -> UriParams<'_> {
        UriParams::new(self.params.get(self.as_str()))
    }

    /// The raw parameter section, starting with `;` (empty when there are none).
    pub fn params_str(&self) -> &str {
        self.params.get(self.as_str())
    }

    /// A parameter: `Some(None)` when present without a value.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params().get(name)
    }

    /// The `transport` parameter.
    pub fn transport(&self) -> Option<&str> {
        self.param("transport").flatten()
    }

    /// The `user` parameter (`phone`, `ip`, ...).
    pub fn user_param(&self) -> Option<&str> {
        self.param("user").flatten()
    }

    /// The `method` parameter.
    pub fn method_param(&self) -> Option<&str> {
        self.param("method").flatten()
    }

    /// The `ttl` parameter, when it is a valid TTL (0–255).
    pub fn ttl(&self) -> Option<u8> {
        self.param("ttl")
            .flatten()
            .filter(|v| v.len() <= 3)
            .and_then(|v| v.parse().ok())
    }

    /// The `maddr` parameter, when it is a valid host.
    pub fn maddr(&self) -> Option<Host<'_>> {
        let v = self.param("maddr").flatten()?;
        parse_host(v).ok().map(|k| k.with_text(v))
    }

    /// Whether the `lr` parameter is present (loose routing, RFC 3261 §19.1.1).
    pub fn lr(&self) -> bool {
        self.params().contains("lr")
    }

    /// Whether the `ob` parameter is present (RFC 5626).
    pub fn ob(&self) -> bool {
        self.params().contains("ob")
    }

    /// The `gr` parameter (RFC 5627): `Some(None)` for a bare `gr`.
    pub fn gr(&self) -> Option<Option<&str>> {
        self.param("gr")
    }

    /// The header section after `?`, still escaped (empty when there is none).
    pub fn headers_str(&self) -> &str {
        self.headers.get(self.as_str())
    }

    /// Whether the URI carries `?headers`.
    pub fn has_headers(&self) -> bool {
        !self.headers.is_empty() || self.as_str().ends_with('?')
    }

    /// The `?name=value` headers, still escaped.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        let h = self.headers_str();
        h.split('&')
            .filter(|_| !h.is_empty())
            .map(|kv| kv.split_once('=').unwrap_or((kv, "")))
    }

    /// A copy with the parameter `name` added or replaced.
    pub fn with_param(&self, name: &str, value: Option<&str>) -> Result<SipUri, UriError> {
        let base = self.without_param(name);
        let s = base.as_str();
        let at = base.params.end as usize;
        let mut out = String::with_capacity(s.len() + name.len() + 2);
        out.push_str(s.get(..at).unwrap_or_default());
        out.push(';');
        out.push_str(name);
        if let Some(v) = value {
            out.push('=');
            out.push_str(v);
        }
        out.push_str(s.get(at..).unwrap_or_default());
        SipUri::parse(&out)
    }

    /// A copy without any parameter called `name`.
    pub fn without_param(&self, name: &str) -> SipUri {
        if !self.params().contains(name) {
            return self.clone();
        }
        let s = self.as_str();
        let mut out = String::with_capacity(s.len());
        out.push_str(s.get(..self.params.start as usize).unwrap_or_default());
        for p in self.params().filter(|p| !name_eq(p.name, name)) {
            out.push(';');
            out.push_str(p.name);
            if let Some(v) = p.value {
                out.push('=');
                out.push_str(v);
            }
        }
        out.push_str(s.get(self.params.end as usize..).unwrap_or_default());
        // Removing a parameter from a valid URI leaves a valid URI.
        SipUri::parse(&out).unwrap_or_else(|_| self.clone())
    }

    /// A copy without the `?headers` part.
    pub fn without_headers(&self) -> SipUri {
        if !self.has_headers() {
            return self.clone();
        }
        let s = self.as_str();
        let end = self.params.end as usize;
        SipUri::parse(s.get(..end).unwrap_or_default()).unwrap_or_else(|_| self.clone())
    }
}

impl fmt::Debug for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SipUri({:?})", self.as_str())
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for SipUri {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for SipUri {}

/// A `tel:` URI (RFC 3966): the number and its parameters, not interpreted further.
#[derive(Clone)]
pub struct TelUri {
    text: ByteStr,
    number: Span,
    params: Span,
}

fn tel_char(b: u8) -> bool {
    b.is_ascii_hexdigit() || matches!(b, b'*' | b'#' | b'-' | b'.' | b'(' | b')' | b'+')
}

impl TelUri {
    fn parse_text(text: ByteStr, colon: usize) -> Result<TelUri, UriError> {
        let s = text.as_str();
        let b = s.as_bytes();
        let start = colon + 1;
        let end =
            memchr::memchr(b';', b.get(start..).unwrap_or_default()).map_or(b.len(), |i| start + i);
        let num = b.get(start..end).unwrap_or_default();
        let digits = num.strip_prefix(b"+").unwrap_or(num);
        if digits.is_empty()
            || !digits.iter().all(|&c| tel_char(c) && c != b'+')
            || !digits
                .iter()
                .any(|&c| c.is_ascii_hexdigit() || c == b'*' || c == b'#')
        {
            return Err(UriError("invalid telephone number"));
        }
        let rest = b.get(end..).unwrap_or_default();
        for item in rest.split(|&c| c == b';').skip(1) {
            let (name, value) = match memchr::memchr(b'=', item) {
                Some(eq) => (
                    item.get(..eq).unwrap_or_default(),
                    Some(item.get(eq + 1..).unwrap_or_default()),
                ),
                None => (item, None),
            };
            if name.is_empty()
                || !name.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
                || value.is_some_and(|v| v.is_empty() || !valid_escaped(v, param_char))
            {
                return Err(UriError("invalid tel parameter"));
            }
        }
        Ok(TelUri {
            number: Span::new(start, end),
            params: Span::new(end, b.len()),
            text,
        })
    }

    /// The whole URI, as written.
    pub fn as_str(&self) -> &str {
        self.text.as_str()
    }

    /// The number as written, with any visual separators.
    pub fn number(&self) -> &str {
        self.number.get(self.as_str())
    }

    /// Whether the number is global (starts with `+`).
    pub fn is_global(&self) -> bool {
        self.number().starts_with('+')
    }

    /// The number without visual separators (`-`, `.`, `(`, `)`).
    pub fn digits(&self) -> String {
        self.number()
            .chars()
            .filter(|c| !matches!(c, '-' | '.' | '(' | ')'))
            .collect()
    }

    /// The parameters (`;phone-context=...`, `;ext=...`, ...).
    pub fn params(&self) -> UriParams<'_> {
        UriParams::new(self.params.get(self.as_str()))
    }
}

impl fmt::Debug for TelUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TelUri({:?})", self.as_str())
    }
}

impl PartialEq for TelUri {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for TelUri {}

/// An absolute URI of a scheme this crate does not interpret (`mailto:`, `http:`, `urn:` ...).
#[derive(Clone, PartialEq, Eq)]
pub struct OtherUri {
    text: ByteStr,
    colon: u32,
}

impl OtherUri {
    /// The whole URI, as written.
    pub fn as_str(&self) -> &str {
        self.text.as_str()
    }

    /// The scheme, as written.
    pub fn scheme(&self) -> &str {
        self.as_str().get(..self.colon as usize).unwrap_or_default()
    }

    /// Everything after `scheme:`.
    pub fn rest(&self) -> &str {
        self.as_str()
            .get(self.colon as usize + 1..)
            .unwrap_or_default()
    }
}

impl fmt::Debug for OtherUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OtherUri({:?})", self.as_str())
    }
}

/// Any URI that may appear in a Request-URI or a name-addr.
#[derive(Clone, PartialEq, Eq)]
pub enum Uri {
    /// `sip:` or `sips:`.
    Sip(SipUri),
    /// `tel:`.
    Tel(TelUri),
    /// Any other scheme, kept as text.
    Other(OtherUri),
}

impl Uri {
    /// Parses a URI, copying the text.
    pub fn parse(s: &str) -> Result<Uri, UriError> {
        Uri::from_byte_str(ByteStr::from(s))
    }

    /// Parses a URI held in `Bytes`, sharing them.
    pub fn from_bytes(b: Bytes) -> Result<Uri, UriError> {
        let text = ByteStr::from_utf8(b).map_err(|_| UriError("not UTF-8"))?;
        Uri::from_byte_str(text)
    }

    pub(crate) fn from_byte_str(text: ByteStr) -> Result<Uri, UriError> {
        let s = text.as_str();
        if s.len() >= u32::MAX as usize {
            return Err(UriError("too long"));
        }
        let colon = memchr::memchr(b':', s.as_bytes()).ok_or(UriError("missing scheme"))?;
        let scheme = s.get(..colon).unwrap_or_default();
        if !valid_scheme(scheme) {
            return Err(UriError("invalid scheme"));
        }
        if scheme.eq_ignore_ascii_case("sip") {
            SipUri::parse_text(text, colon, false).map(Uri::Sip)
        } else if scheme.eq_ignore_ascii_case("sips") {
            SipUri::parse_text(text, colon, true).map(Uri::Sip)
        } else if scheme.eq_ignore_ascii_case("tel") {
            TelUri::parse_text(text, colon).map(Uri::Tel)
        } else {
            let rest = s.as_bytes().get(colon + 1..).unwrap_or_default();
            if rest.is_empty() || !valid_escaped(rest, opaque_char) {
                return Err(UriError("invalid characters"));
            }
            Ok(Uri::Other(OtherUri {
                colon: u32::try_from(colon).unwrap_or(u32::MAX),
                text,
            }))
        }
    }

    /// The URI as written.
    pub fn as_str(&self) -> &str {
        match self {
            Uri::Sip(u) => u.as_str(),
            Uri::Tel(u) => u.as_str(),
            Uri::Other(u) => u.as_str(),
        }
    }

    /// The scheme as written.
    pub fn scheme(&self) -> &str {
        let s = self.as_str();
        s.split_once(':').map_or(s, |(a, _)| a)
    }

    /// The SIP or SIPS URI, if it is one.
    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Uri::Sip(u) => Some(u),
            _ => None,
        }
    }

    /// The tel URI, if it is one.
    pub fn as_tel(&self) -> Option<&TelUri> {
        match self {
            Uri::Tel(u) => Some(u),
            _ => None,
        }
    }
}

impl FromStr for Uri {
    type Err = UriError;
    fn from_str(s: &str) -> Result<Uri, UriError> {
        Uri::parse(s)
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uri({:?})", self.as_str())
    }
}

/// Rewrites escapes into one canonical form for comparison: an escape of a character outside
/// the reserved set becomes the character, the others keep upper-case hex digits.
fn canonical(s: &str, fold_case: bool) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            if let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex_val),
                b.get(i + 2).copied().and_then(hex_val),
            ) {
                let v = h * 16 + l;
                if is_reserved(v) {
                    out.push(b'%');
                    out.extend_from_slice(format!("{v:02X}").as_bytes());
                } else {
                    out.push(if fold_case { v.to_ascii_lowercase() } else { v });
                }
                i += 3;
                continue;
            }
        }
        out.push(if fold_case { c.to_ascii_lowercase() } else { c });
        i += 1;
    }
    out
}

type CanonParams = Vec<(Vec<u8>, Option<Vec<u8>>)>;

fn canonical_params(p: UriParams<'_>) -> CanonParams {
    p.map(|p| (canonical(p.name, true), p.value.map(|v| canonical(v, true))))
        .collect()
}

/// Whether two URIs are equivalent under RFC 3261 §19.1.4 (SIP/SIPS), RFC 3966 §4 (tel), or,
/// for other schemes, are the same text with the scheme compared ignoring case.
pub fn uri_equal(a: &Uri, b: &Uri) -> bool {
    match (a, b) {
        (Uri::Sip(a), Uri::Sip(b)) => sip_uri_equal(a, b),
        (Uri::Tel(a), Uri::Tel(b)) => tel_uri_equal(a, b),
        (Uri::Other(a), Uri::Other(b)) => {
            a.scheme().eq_ignore_ascii_case(b.scheme()) && a.rest() == b.rest()
        }
        _ => false,
    }
}

/// [`uri_equal`] for two SIP/SIPS URIs.
pub fn sip_uri_equal(a: &SipUri, b: &SipUri) -> bool {
    if a.secure != b.secure {
        return false;
    }
    let opt_eq = |x: Option<&str>, y: Option<&str>| match (x, y) {
        (None, None) => true,
        (Some(x), Some(y)) => canonical(x, false) == canonical(y, false),
        _ => false,
    };
    if !opt_eq(a.user(), b.user()) || !opt_eq(a.password(), b.password()) {
        return false;
    }
    if !a.host().same_as(&b.host()) || a.port != b.port {
        return false;
    }
    let pa = canonical_params(a.params());
    let pb = canonical_params(b.params());
    // RFC 3261 §19.1.4 lists user, ttl, method and maddr as parameters that must appear on
    // both sides; its own examples also treat transport that way (sip:bob@biloxi.com and
    // sip:bob@biloxi.com;transport=udp differ), so it is included.
    const MUST_MATCH: [&[u8]; 5] = [b"user", b"ttl", b"method", b"maddr", b"transport"];
    let values = |ps: &CanonParams, name: &[u8]| -> Vec<Option<Vec<u8>>> {
        let mut v: Vec<_> = ps
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect();
        v.sort();
        v
    };
    for (name, _) in pa.iter().chain(pb.iter()) {
        let (va, vb) = (values(&pa, name), values(&pb, name));
        if va.is_empty() || vb.is_empty() {
            if MUST_MATCH.contains(&name.as_slice()) {
                return false;
            }
        } else if va != vb {
            return false;
        }
    }
    let headers = |u: &SipUri| -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut v: Vec<_> = u
            .headers()
            .map(|(n, v)| (canonical(n, true), canonical(v, false)))
            .collect();
        v.sort();
        v
    };
    headers(a) == headers(b)
}

fn tel_uri_equal(a: &TelUri, b: &TelUri) -> bool {
    if a.is_global() != b.is_global() || !a.digits().eq_ignore_ascii_case(&b.digits()) {
        return false;
    }
    let mut pa = canonical_params(a.params());
    let mut pb = canonical_params(b.params());
    pa.sort();
    pb.sort();
    pa == pb
}

/// Whether `s` is a valid `token`.
pub(crate) fn is_token_text(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sip(s: &str) -> SipUri {
        SipUri::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn ipv4() {
        assert_eq!(parse_ipv4("192.0.2.1"), Some(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(
            parse_ipv4("010.000.002.001"),
            Some(Ipv4Addr::new(10, 0, 2, 1))
        );
        for bad in [
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "1..2.3",
            "1.2.3.",
            ".1.2.3",
            "1.2.3.1234",
            "",
        ] {
            assert_eq!(parse_ipv4(bad), None, "{bad}");
        }
    }

    #[test]
    fn parts() {
        let u = sip("sips:alice:secret@[2001:db8::1]:5061;transport=tcp;lr;maddr=239.255.255.1;ttl=15?subject=x&priority=urgent");
        assert!(u.is_sips());
        assert_eq!(u.user(), Some("alice"));
        assert_eq!(u.password(), Some("secret"));
        assert_eq!(u.host(), Host::Ipv6("2001:db8::1".parse().unwrap()));
        assert_eq!(u.host_str(), "[2001:db8::1]");
        assert_eq!(u.port(), Some(5061));
        assert_eq!(u.transport(), Some("tcp"));
        assert!(u.lr());
        assert_eq!(u.ttl(), Some(15));
        assert_eq!(u.maddr(), Some(Host::Ipv4(Ipv4Addr::new(239, 255, 255, 1))));
        assert_eq!(
            u.headers().collect::<Vec<_>>(),
            vec![("subject", "x"), ("priority", "urgent")]
        );
    }

    #[test]
    fn unusual_user_parts() {
        let u = sip("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com");
        assert_eq!(
            u.user(),
            Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        );
        assert_eq!(
            u.password(),
            Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
        );
        assert_eq!(u.host(), Host::Domain("example.com"));
        let u = sip("sip:user;par=u%40example.net@example.com");
        assert_eq!(u.user(), Some("user;par=u%40example.net"));
        let u = sip("sip:null-%00-null@example.com");
        assert_eq!(u.user_decoded().unwrap().as_ref(), b"null-\0-null");
    }

    #[test]
    fn refusals() {
        for bad in [
            "sip:2001:db8::10",
            "<sip:user@example.com>",
            "sip:user@example.com;",
            "sip:user@exa mple.com",
            "sip:@example.com",
            "sip:user@example.com:99999",
            "sip:user@[2001:db8::1",
            "sip:user@example.com;a=",
            "sip:us%zzer@example.com",
            "sip:user@256.0.0.1",
            "sip:user@-bad.example.com",
            "sip:user@example.com?novalue",
            "tel:",
            "tel:abc-xyz",
            "nocolon",
            "1abc:foo",
            "x:",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn ipv6_forms_of_rfc_5118() {
        let a = sip("sip:user@[2001:db8:::192.0.2.1]");
        let b = sip("sip:user@[2001:db8::192.0.2.1]");
        assert_eq!(a.host(), b.host());
        let amb = sip("sip:[2001:db8::10:5070]");
        assert_eq!(amb.port(), None);
        assert_eq!(amb.host(), Host::Ipv6("2001:db8::10:5070".parse().unwrap()));
        let unamb = sip("sip:[2001:db8::10]:5070");
        assert_eq!(unamb.port(), Some(5070));
        let mapped = sip("sip:ted@[::ffff:192.0.2.2]");
        assert_eq!(
            mapped.host(),
            Host::Ipv6("::ffff:192.0.2.2".parse().unwrap())
        );
    }

    #[test]
    fn other_schemes_and_tel() {
        for s in [
            "nobodyKnowsThisScheme:totallyopaquecontent",
            "soap.beep://192.0.2.103:3002",
            "isbn:2983792873",
            "http://www.example.com",
            "name:John_Smith",
            "mailto:joe@example.com",
        ] {
            let u = Uri::parse(s).unwrap();
            assert!(matches!(u, Uri::Other(_)), "{s}");
            assert_eq!(u.to_string(), s);
        }
        let t = Uri::parse("tel:+1-201-555-0123;ext=1234;phone-context=example.com").unwrap();
        let t = t.as_tel().unwrap();
        assert_eq!(t.number(), "+1-201-555-0123");
        assert_eq!(t.digits(), "+12015550123");
        assert_eq!(t.params().get("ext"), Some(Some("1234")));
    }

    fn eq(a: &str, b: &str) -> bool {
        uri_equal(&Uri::parse(a).unwrap(), &Uri::parse(b).unwrap())
    }

    #[test]
    fn rfc3261_comparison_examples() {
        assert!(eq(
            "sip:%61lice@atlanta.com;transport=TCP",
            "sip:alice@AtLanTa.CoM;Transport=tcp"
        ));
        assert!(eq(
            "sip:carol@chicago.com",
            "sip:carol@chicago.com;newparam=5"
        ));
        assert!(eq(
            "sip:carol@chicago.com",
            "sip:carol@chicago.com;security=on"
        ));
        assert!(eq(
            "sip:carol@chicago.com;newparam=5",
            "sip:carol@chicago.com;security=on"
        ));
        assert!(eq(
            "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
            "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"
        ));
        assert!(eq(
            "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
            "sip:alice@atlanta.com?priority=urgent&subject=project%20x"
        ));

        assert!(!eq(
            "SIP:ALICE@AtLanTa.CoM;Transport=udp",
            "sip:alice@AtLanTa.CoM;Transport=UDP"
        ));
        assert!(!eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
        assert!(!eq(
            "sip:bob@biloxi.com",
            "sip:bob@biloxi.com;transport=udp"
        ));
        assert!(!eq(
            "sip:bob@biloxi.com",
            "sip:bob@biloxi.com:6000;transport=tcp"
        ));
        assert!(!eq(
            "sip:carol@chicago.com",
            "sip:carol@chicago.com?Subject=next%20meeting"
        ));
        assert!(!eq("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"));
        assert!(!eq("sip:bob@example.com", "sips:bob@example.com"));
        assert!(!eq("sip:a@b;maddr=1.2.3.4", "sip:a@b"));
        assert!(eq("sip:a@[2001:db8::1]", "sip:a@[2001:DB8:0::1]"));
        assert!(eq("tel:+1-201-555-0123", "tel:+1.201.555.0123"));
        assert!(eq("HTTP://x", "http://x"));
    }

    #[test]
    fn escaped_param_names_match() {
        let u = sip("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31");
        assert!(u.lr());
        assert_eq!(u.param("name"), Some(Some("v%61lue%25%34%31")));
    }

    #[test]
    fn editing() {
        let u = sip("sip:a@b;x=1?h=v");
        let v = u.with_param("lr", None).unwrap();
        assert_eq!(v.as_str(), "sip:a@b;x=1;lr?h=v");
        assert_eq!(v.without_param("x").as_str(), "sip:a@b;lr?h=v");
        assert_eq!(v.without_headers().as_str(), "sip:a@b;x=1;lr");
        assert_eq!(
            u.with_param("x", Some("2")).unwrap().as_str(),
            "sip:a@b;x=2?h=v"
        );
    }
}
