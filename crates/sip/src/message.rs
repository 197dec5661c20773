//! The message model: requests, responses, methods and the ordered header list.
//!
//! A proxy has to pass on what it does not understand, so [`Headers`] keeps every header field
//! in order with its name spelled as received and its raw value; the typed views in
//! [`crate::header`] are parsed from it on demand. Fields that came off the wire remember their
//! original line, so a message that is not modified serializes back to the bytes it came from.

use std::fmt;
use std::str::FromStr;

use bytes::Bytes;

use crate::text::{is_token_str, split_commas, trim_ws, ByteStr};
use crate::uri::Uri;

/// A SIP method. Methods are case-sensitive (RFC 3261 §7.1): `invite` is an extension method,
/// not INVITE.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// RFC 3261.
    Invite,
    /// RFC 3261.
    Ack,
    /// RFC 3261.
    Bye,
    /// RFC 3261.
    Cancel,
    /// RFC 3261.
    Register,
    /// RFC 3261.
    Options,
    /// RFC 3262.
    Prack,
    /// RFC 3265 / 6665.
    Subscribe,
    /// RFC 3265 / 6665.
    Notify,
    /// RFC 3311.
    Update,
    /// RFC 3428.
    Message,
    /// RFC 3515.
    Refer,
    /// RFC 3903.
    Publish,
    /// RFC 6086.
    Info,
    /// Any other token.
    Extension(String),
}

/// A method name that is not a `token`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid method token")]
pub struct InvalidMethod;

impl Method {
    /// Reads a method from its token; `None` if it is not a token.
    pub fn from_token(s: &[u8]) -> Option<Method> {
        Some(match s {
            b"INVITE" => Method::Invite,
            b"ACK" => Method::Ack,
            b"BYE" => Method::Bye,
            b"CANCEL" => Method::Cancel,
            b"REGISTER" => Method::Register,
            b"OPTIONS" => Method::Options,
            b"PRACK" => Method::Prack,
            b"SUBSCRIBE" => Method::Subscribe,
            b"NOTIFY" => Method::Notify,
            b"UPDATE" => Method::Update,
            b"MESSAGE" => Method::Message,
            b"REFER" => Method::Refer,
            b"PUBLISH" => Method::Publish,
            b"INFO" => Method::Info,
            _ if is_token_str(s) => {
                // Tokens are ASCII, so this conversion cannot fail.
                Method::Extension(String::from_utf8_lossy(s).into_owned())
            }
            _ => return None,
        })
    }

    /// The method's token.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Prack => "PRACK",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Update => "UPDATE",
            Method::Message => "MESSAGE",
            Method::Refer => "REFER",
            Method::Publish => "PUBLISH",
            Method::Info => "INFO",
            Method::Extension(s) => s,
        }
    }
}

impl FromStr for Method {
    type Err = InvalidMethod;
    fn from_str(s: &str) -> Result<Method, InvalidMethod> {
        Method::from_token(s.as_bytes()).ok_or(InvalidMethod)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The protocol version of a start line, `SIP/major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version {
    /// Major version.
    pub major: u16,
    /// Minor version.
    pub minor: u16,
}

impl Version {
    /// SIP/2.0, the only version this crate speaks.
    pub const SIP_2_0: Version = Version { major: 2, minor: 0 };

    /// Reads `SIP/x.y`; the literal `SIP` is case-insensitive (RFC 3261 §7.1).
    pub fn parse(s: &[u8]) -> Option<Version> {
        let (proto, rest) = s.split_at_checked(4)?;
        if !proto.eq_ignore_ascii_case(b"SIP/") {
            return None;
        }
        let dot = memchr::memchr(b'.', rest)?;
        let (major, minor) = (rest.get(..dot)?, rest.get(dot + 1..)?);
        let num = |d: &[u8]| crate::text::parse_u64(d).and_then(|v| u16::try_from(v).ok());
        Some(Version {
            major: num(major)?,
            minor: num(minor)?,
        })
    }
}

impl Default for Version {
    fn default() -> Self {
        Version::SIP_2_0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/{}.{}", self.major, self.minor)
    }
}

macro_rules! known_headers {
    ($( $variant:ident = $name:literal $(, $compact:literal)? ; list = $list:literal ; )*) => {
        /// Header fields this crate knows by name. Unknown names are just as welcome in
        /// [`Headers`]; knowing a name gives its compact form and whether its value is a
        /// comma-separated list.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum KnownHeader {
            $(
                #[doc = $name]
                $variant,
            )*
        }

        impl KnownHeader {
            const ALL: &'static [KnownHeader] = &[$(KnownHeader::$variant,)*];

            /// The full name in its usual spelling.
            pub fn name(self) -> &'static str {
                match self { $(KnownHeader::$variant => $name,)* }
            }

            /// The single-letter compact form (RFC 3261 §7.3.3 and later RFCs), if it has one.
            pub fn compact(self) -> Option<char> {
                match self { $(KnownHeader::$variant => known_headers!(@compact $($compact)?),)* }
            }

            /// Whether several values may be combined in one field separated by commas
            /// (RFC 3261 §7.3.1). False for headers whose single value may itself contain
            /// commas, such as the authentication headers and Date.
            pub fn is_list(self) -> bool {
                match self { $(KnownHeader::$variant => $list,)* }
            }
        }
    };
    (@compact $c:literal) => { Some($c) };
    (@compact) => { None };
}

known_headers! {
    Accept = "Accept"; list = true;
    AcceptContact = "Accept-Contact", 'a'; list = true;
    AcceptEncoding = "Accept-Encoding"; list = true;
    AcceptLanguage = "Accept-Language"; list = true;
    AcceptResourcePriority = "Accept-Resource-Priority"; list = true;
    AlertInfo = "Alert-Info"; list = true;
    Allow = "Allow"; list = true;
    AllowEvents = "Allow-Events", 'u'; list = true;
    AuthenticationInfo = "Authentication-Info"; list = false;
    Authorization = "Authorization"; list = false;
    CallId = "Call-ID", 'i'; list = false;
    CallInfo = "Call-Info"; list = true;
    Contact = "Contact", 'm'; list = true;
    ContentDisposition = "Content-Disposition"; list = false;
    ContentEncoding = "Content-Encoding", 'e'; list = true;
    ContentLanguage = "Content-Language"; list = true;
    ContentLength = "Content-Length", 'l'; list = false;
    ContentType = "Content-Type", 'c'; list = false;
    CSeq = "CSeq"; list = false;
    Date = "Date"; list = false;
    ErrorInfo = "Error-Info"; list = true;
    Event = "Event", 'o'; list = false;
    Expires = "Expires"; list = false;
    From = "From", 'f'; list = false;
    HistoryInfo = "History-Info"; list = true;
    Identity = "Identity", 'y'; list = false;
    IdentityInfo = "Identity-Info", 'n'; list = false;
    InReplyTo = "In-Reply-To"; list = true;
    MaxForwards = "Max-Forwards"; list = false;
    MimeVersion = "MIME-Version"; list = false;
    MinExpires = "Min-Expires"; list = false;
    MinSe = "Min-SE"; list = false;
    Organization = "Organization"; list = false;
    PAssertedIdentity = "P-Asserted-Identity"; list = true;
    Path = "Path"; list = true;
    PPreferredIdentity = "P-Preferred-Identity"; list = true;
    Priority = "Priority"; list = false;
    Privacy = "Privacy"; list = false;
    ProxyAuthenticate = "Proxy-Authenticate"; list = false;
    ProxyAuthorization = "Proxy-Authorization"; list = false;
    ProxyRequire = "Proxy-Require"; list = true;
    RAck = "RAck"; list = false;
    Reason = "Reason"; list = true;
    RecordRoute = "Record-Route"; list = true;
    ReferredBy = "Referred-By", 'b'; list = false;
    ReferTo = "Refer-To", 'r'; list = false;
    RejectContact = "Reject-Contact", 'j'; list = true;
    Replaces = "Replaces"; list = false;
    ReplyTo = "Reply-To"; list = false;
    RequestDisposition = "Request-Disposition", 'd'; list = true;
    Require = "Require"; list = true;
    ResourcePriority = "Resource-Priority"; list = true;
    RetryAfter = "Retry-After"; list = false;
    Route = "Route"; list = true;
    RSeq = "RSeq"; list = false;
    SecurityClient = "Security-Client"; list = true;
    SecurityServer = "Security-Server"; list = true;
    SecurityVerify = "Security-Verify"; list = true;
    Server = "Server"; list = false;
    ServiceRoute = "Service-Route"; list = true;
    SessionExpires = "Session-Expires", 'x'; list = false;
    SipETag = "SIP-ETag"; list = false;
    SipIfMatch = "SIP-If-Match"; list = false;
    Subject = "Subject", 's'; list = false;
    SubscriptionState = "Subscription-State"; list = false;
    Supported = "Supported", 'k'; list = true;
    Timestamp = "Timestamp"; list = false;
    To = "To", 't'; list = false;
    Unsupported = "Unsupported"; list = true;
    UserAgent = "User-Agent"; list = false;
    Via = "Via", 'v'; list = true;
    Warning = "Warning"; list = true;
    WwwAuthenticate = "WWW-Authenticate"; list = false;
}

/// Longest known header name, in bytes.
const MAX_KNOWN_LEN: usize = 24;

/// Where a full header name is looked for: its length and its first letter.
fn slot(len: usize, first: u8) -> usize {
    len * 32 + usize::from(first & 0x1f)
}

/// Known headers grouped by the length and first letter of their full name (kept in lower
/// case), so that recognising a name compares it with one or two candidates.
fn by_shape() -> &'static [Vec<(Vec<u8>, KnownHeader)>] {
    type Table = Vec<Vec<(Vec<u8>, KnownHeader)>>;
    static TABLE: std::sync::OnceLock<Table> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = vec![Vec::new(); (MAX_KNOWN_LEN + 1) * 32];
        for &k in KnownHeader::ALL {
            let n = k.name().as_bytes();
            if let Some(cell) = n.first().and_then(|&f| t.get_mut(slot(n.len(), f))) {
                cell.push((n.to_ascii_lowercase(), k));
            }
        }
        t
    })
}

/// Compares a token with a lower-case name. Setting bit 5 lower-cases letters and leaves the
/// digits and `-` of header names alone; the only other bytes it could fold onto them are
/// control characters, which are not tokens and are refused first.
fn eq_lower(token: &[u8], lower: &[u8]) -> bool {
    token.len() == lower.len()
        && token
            .iter()
            .zip(lower)
            .all(|(&a, &b)| a | 0x20 == b && a > 0x20)
}

impl KnownHeader {
    /// Recognises a header name, full or compact, ignoring case.
    pub fn from_name(name: &[u8]) -> Option<KnownHeader> {
        if let [c] = name {
            return Some(match c.to_ascii_lowercase() {
                b'a' => KnownHeader::AcceptContact,
                b'b' => KnownHeader::ReferredBy,
                b'c' => KnownHeader::ContentType,
                b'd' => KnownHeader::RequestDisposition,
                b'e' => KnownHeader::ContentEncoding,
                b'f' => KnownHeader::From,
                b'i' => KnownHeader::CallId,
                b'j' => KnownHeader::RejectContact,
                b'k' => KnownHeader::Supported,
                b'l' => KnownHeader::ContentLength,
                b'm' => KnownHeader::Contact,
                b'n' => KnownHeader::IdentityInfo,
                b'o' => KnownHeader::Event,
                b'r' => KnownHeader::ReferTo,
                b's' => KnownHeader::Subject,
                b't' => KnownHeader::To,
                b'u' => KnownHeader::AllowEvents,
                b'v' => KnownHeader::Via,
                b'x' => KnownHeader::SessionExpires,
                b'y' => KnownHeader::Identity,
                _ => return None,
            });
        }
        let first = *name.first()?;
        if name.len() > MAX_KNOWN_LEN || !first.is_ascii_alphabetic() {
            return None;
        }
        by_shape()
            .get(slot(name.len(), first))?
            .iter()
            .find(|(n, _)| eq_lower(name, n))
            .map(|&(_, k)| k)
    }
}

/// A header name or value that cannot be put in a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidHeader {
    /// The name is not a `token`.
    #[error("header name is not a token")]
    Name,
    /// The value holds CR or LF, which would end the header line.
    #[error("header value contains CR or LF")]
    Value,
}

/// One piece of text of a header field: either a range of the buffer the message was parsed
/// from, or bytes of its own.
#[derive(Clone)]
enum Piece {
    Buf(u32, u32),
    Own(Bytes),
}

#[derive(Clone)]
struct Entry {
    name: Piece,
    value: Piece,
    /// The whole field as received (without its final CRLF), kept while the field is not
    /// modified so that it is written back exactly.
    raw: Option<Piece>,
    kind: Option<KnownHeader>,
}

/// The header fields of a message, in order.
///
/// Names are matched ignoring case and with compact forms recognised: `get("From")` finds an
/// `f:` field and `get("f")` a `From:` field.
#[derive(Clone, Default)]
pub struct Headers {
    buf: Bytes,
    entries: Vec<Entry>,
}

/// A borrowed header field.
#[derive(Clone, Copy)]
pub struct HeaderRef<'a> {
    name: &'a [u8],
    value: &'a [u8],
    raw: Option<&'a [u8]>,
    kind: Option<KnownHeader>,
}

impl<'a> HeaderRef<'a> {
    /// The name as spelled in the message.
    pub fn name(&self) -> &'a str {
        // Names are checked to be tokens, which are ASCII.
        std::str::from_utf8(self.name).unwrap_or_default()
    }

    /// The value, with line folding replaced by a space and surrounding whitespace removed.
    pub fn value(&self) -> &'a [u8] {
        self.value
    }

    /// The value as text, if it is UTF-8.
    pub fn value_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.value).ok()
    }

    /// The field exactly as received (name, colon, value and any folding), if it was parsed
    /// and has not been modified since.
    pub fn raw(&self) -> Option<&'a [u8]> {
        self.raw
    }

    /// The name, if this crate knows it.
    pub fn known(&self) -> Option<KnownHeader> {
        self.kind
    }

    /// Whether this field has the given name (ignoring case, compact forms recognised).
    pub fn is(&self, name: &str) -> bool {
        Query::new(name).matches(self.kind, self.name)
    }

    /// The values of this field: split at commas for list headers, the whole value otherwise.
    pub fn values(&self) -> impl Iterator<Item = &'a [u8]> {
        FieldValues::new(self.value, self.kind.is_some_and(KnownHeader::is_list))
    }
}

impl fmt::Debug for HeaderRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            self.name(),
            String::from_utf8_lossy(self.value)
        )
    }
}

enum FieldValues<'a> {
    Split(crate::text::CommaSplit<'a>),
    Whole(Option<&'a [u8]>),
}

impl<'a> FieldValues<'a> {
    fn new(value: &'a [u8], list: bool) -> Self {
        if list {
            if value.is_empty() {
                FieldValues::Whole(None)
            } else {
                FieldValues::Split(split_commas(value))
            }
        } else {
            FieldValues::Whole(Some(value))
        }
    }
}

impl<'a> Iterator for FieldValues<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            FieldValues::Split(s) => s.next(),
            FieldValues::Whole(v) => v.take(),
        }
    }
}

#[derive(Clone, Copy)]
enum Query<'a> {
    Known(KnownHeader),
    Name(&'a [u8]),
}

impl<'a> Query<'a> {
    fn new(name: &'a str) -> Self {
        match KnownHeader::from_name(name.as_bytes()) {
            Some(k) => Query::Known(k),
            None => Query::Name(name.as_bytes()),
        }
    }

    fn matches(self, kind: Option<KnownHeader>, name: &[u8]) -> bool {
        match self {
            Query::Known(k) => kind == Some(k),
            Query::Name(n) => kind.is_none() && n.eq_ignore_ascii_case(name),
        }
    }
}

fn check_field(name: &str, value: &[u8]) -> Result<(), InvalidHeader> {
    if !is_token_str(name.as_bytes()) {
        return Err(InvalidHeader::Name);
    }
    if value.iter().any(|&b| b == b'\r' || b == b'\n') {
        return Err(InvalidHeader::Value);
    }
    Ok(())
}

impl Headers {
    /// No header fields.
    pub fn new() -> Self {
        Headers::default()
    }

    /// Parsed headers: `buf` is the message buffer the ranges refer to.
    pub(crate) fn from_parts(buf: Bytes, cap: usize) -> Self {
        Headers {
            buf,
            entries: Vec::with_capacity(cap),
        }
    }

    /// Adds a field parsed from `self.buf`. `value` is its own buffer when the field was
    /// folded and had to be unfolded.
    pub(crate) fn push_parsed(
        &mut self,
        name: (usize, usize),
        value: Result<(usize, usize), Bytes>,
        raw: (usize, usize),
        kind: Option<KnownHeader>,
    ) {
        let piece = |(s, e): (usize, usize)| {
            Piece::Buf(
                u32::try_from(s).unwrap_or(u32::MAX),
                u32::try_from(e).unwrap_or(u32::MAX),
            )
        };
        self.entries.push(Entry {
            name: piece(name),
            value: match value {
                Ok(r) => piece(r),
                Err(b) => Piece::Own(b),
            },
            raw: Some(piece(raw)),
            kind,
        });
    }

    fn bytes<'a>(&'a self, p: &'a Piece) -> &'a [u8] {
        match p {
            Piece::Buf(s, e) => self.buf.get(*s as usize..*e as usize).unwrap_or_default(),
            Piece::Own(b) => b,
        }
    }

    fn shared(&self, p: &Piece) -> Bytes {
        match p {
            Piece::Buf(s, e) => {
                if *s >= *e {
                    Bytes::new()
                } else {
                    self.buf.slice(*s as usize..*e as usize)
                }
            }
            Piece::Own(b) => b.clone(),
        }
    }

    fn detach(&self, e: &Entry) -> Entry {
        Entry {
            name: Piece::Own(self.shared(&e.name)),
            value: Piece::Own(self.shared(&e.value)),
            raw: e.raw.as_ref().map(|r| Piece::Own(self.shared(r))),
            kind: e.kind,
        }
    }

    fn view<'a>(&'a self, e: &'a Entry) -> HeaderRef<'a> {
        HeaderRef {
            name: self.bytes(&e.name),
            value: self.bytes(&e.value),
            raw: e.raw.as_ref().map(|r| self.bytes(r)),
            kind: e.kind,
        }
    }

    /// Number of header fields (a field with several comma-separated values counts once).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All fields in order.
    pub fn iter(&self) -> impl Iterator<Item = HeaderRef<'_>> {
        self.entries.iter().map(|e| self.view(e))
    }

    /// The field at `index`.
    pub fn at(&self, index: usize) -> Option<HeaderRef<'_>> {
        self.entries.get(index).map(|e| self.view(e))
    }

    fn positions<'a>(&'a self, name: &'a str) -> impl Iterator<Item = usize> + 'a {
        let q = Query::new(name);
        self.entries
            .iter()
            .enumerate()
            .filter(move |(_, e)| q.matches(e.kind, self.bytes(&e.name)))
            .map(|(i, _)| i)
    }

    fn first_position(&self, name: &str) -> Option<usize> {
        self.positions(name).next()
    }

    /// The value of the first field called `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.first_position(name)
            .and_then(|i| self.entries.get(i))
            .map(|e| self.bytes(&e.value))
    }

    /// The value of the first field called `name`, if it is UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The value of the first field called `name`, sharing the message buffer.
    pub fn get_bytes(&self, name: &str) -> Option<Bytes> {
        self.first_position(name)
            .and_then(|i| self.entries.get(i))
            .map(|e| self.shared(&e.value))
    }

    /// The value of the field at `index`, sharing the message buffer.
    pub fn value_bytes_at(&self, index: usize) -> Option<Bytes> {
        self.entries.get(index).map(|e| self.shared(&e.value))
    }

    /// The values of every field called `name`, one per field.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.positions(name)
            .filter_map(|i| self.entries.get(i))
            .map(|e| self.bytes(&e.value))
    }

    /// Every value of `name`: fields are taken in order and, for list headers (Via, Contact,
    /// Route, Supported, ...), split at the commas that separate values. Headers whose value
    /// may contain commas (WWW-Authenticate, Authorization, Date, unknown headers) are never
    /// split.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.positions(name)
            .filter_map(|i| self.entries.get(i))
            .flat_map(|e| {
                FieldValues::new(
                    self.bytes(&e.value),
                    e.kind.is_some_and(KnownHeader::is_list),
                )
            })
    }

    /// Every value of `name` as in [`Headers::values`], each sharing the message buffer.
    pub fn values_bytes<'a>(&'a self, name: &'a str) -> impl Iterator<Item = Bytes> + 'a {
        self.positions(name)
            .filter_map(|i| self.entries.get(i))
            .flat_map(move |e| {
                let whole = self.shared(&e.value);
                let parts: Vec<Bytes> = FieldValues::new(
                    self.bytes(&e.value),
                    e.kind.is_some_and(KnownHeader::is_list),
                )
                .map(|v| {
                    if v.is_empty() {
                        Bytes::new()
                    } else {
                        whole.slice_ref(v)
                    }
                })
                .collect();
                parts
            })
    }

    /// Number of fields called `name`.
    pub fn count(&self, name: &str) -> usize {
        self.positions(name).count()
    }

    /// Whether a field called `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.first_position(name).is_some()
    }

    fn new_entry(name: &str, value: &[u8]) -> Result<Entry, InvalidHeader> {
        check_field(name, value)?;
        Ok(Entry {
            name: Piece::Own(Bytes::copy_from_slice(name.as_bytes())),
            value: Piece::Own(Bytes::copy_from_slice(trim_ws(value))),
            raw: None,
            kind: KnownHeader::from_name(name.as_bytes()),
        })
    }

    /// Makes room for exactly `additional` more fields: a proxy that adds its Via and
    /// Record-Route to a request it keeps for retransmission then keeps no spare room.
    pub fn reserve_exact(&mut self, additional: usize) {
        self.entries.reserve_exact(additional);
    }

    /// Appends a field. Surrounding whitespace of the value is dropped.
    pub fn push(&mut self, name: &str, value: impl AsRef<[u8]>) -> Result<(), InvalidHeader> {
        let e = Self::new_entry(name, value.as_ref())?;
        self.entries.push(e);
        Ok(())
    }

    /// Inserts a field at `index` (clamped to the end).
    pub fn insert(
        &mut self,
        index: usize,
        name: &str,
        value: impl AsRef<[u8]>,
    ) -> Result<(), InvalidHeader> {
        let e = Self::new_entry(name, value.as_ref())?;
        self.entries.insert(index.min(self.entries.len()), e);
        Ok(())
    }

    /// Inserts a field above the first field of the same name, or at the very top when there
    /// is none: how a proxy adds its Via or Record-Route.
    pub fn insert_top(&mut self, name: &str, value: impl AsRef<[u8]>) -> Result<(), InvalidHeader> {
        let at = self.first_position(name).unwrap_or(0);
        self.insert(at, name, value)
    }

    /// Removes every field called `name`; returns how many there were.
    pub fn remove(&mut self, name: &str) -> usize {
        let q = Query::new(name);
        let before = self.entries.len();
        let buf = &self.buf;
        self.entries.retain(|e| {
            let n = match &e.name {
                Piece::Buf(s, en) => buf.get(*s as usize..*en as usize).unwrap_or_default(),
                Piece::Own(b) => b,
            };
            !q.matches(e.kind, n)
        });
        before - self.entries.len()
    }

    /// Removes the field at `index`.
    pub fn remove_at(&mut self, index: usize) -> bool {
        if index < self.entries.len() {
            self.entries.remove(index);
            true
        } else {
            false
        }
    }

    /// Removes the first field called `name`; returns its value.
    pub fn remove_first(&mut self, name: &str) -> Option<Bytes> {
        let i = self.first_position(name)?;
        let v = self.entries.get(i).map(|e| self.shared(&e.value));
        self.entries.remove(i);
        v
    }

    /// Removes the first *value* of `name`: when the first field holds several comma-separated
    /// values (`Via: a, b`), only the first is taken out and the field keeps the rest. This is
    /// what a proxy does with its own Via in a response (RFC 3261 §16.7 step 3).
    pub fn remove_first_value(&mut self, name: &str) -> Option<Bytes> {
        let i = self.first_position(name)?;
        let e = self.entries.get(i)?;
        let whole = self.shared(&e.value);
        let list = e.kind.is_some_and(KnownHeader::is_list);
        let mut parts = FieldValues::new(&whole, list);
        let first = parts.next().unwrap_or_default();
        let first_bytes = if first.is_empty() {
            Bytes::new()
        } else {
            whole.slice_ref(first)
        };
        let rest: Vec<&[u8]> = parts.collect();
        if rest.is_empty() {
            self.entries.remove(i);
        } else {
            let joined = rest.join(&b", "[..]);
            if let Some(e) = self.entries.get_mut(i) {
                e.value = Piece::Own(Bytes::from(joined));
                e.raw = None;
            }
        }
        Some(first_bytes)
    }

    /// Replaces the value of the field at `index`, keeping its name.
    pub fn set_at(&mut self, index: usize, value: impl AsRef<[u8]>) -> Result<(), InvalidHeader> {
        let value = value.as_ref();
        if value.iter().any(|&b| b == b'\r' || b == b'\n') {
            return Err(InvalidHeader::Value);
        }
        let Some(e) = self.entries.get(index) else {
            return Ok(());
        };
        let name = self.shared(&e.name);
        if let Some(e) = self.entries.get_mut(index) {
            e.name = Piece::Own(name);
            e.value = Piece::Own(Bytes::copy_from_slice(trim_ws(value)));
            e.raw = None;
        }
        Ok(())
    }

    /// Sets `name` to a single field with this value: the first field of that name is
    /// rewritten in place (under the given spelling of the name), any others are removed, and
    /// the field is appended if there was none.
    pub fn replace(&mut self, name: &str, value: impl AsRef<[u8]>) -> Result<(), InvalidHeader> {
        let e = Self::new_entry(name, value.as_ref())?;
        match self.first_position(name) {
            Some(i) => {
                let q = Query::new(name);
                let mut idx = 0;
                let buf = &self.buf;
                self.entries.retain(|x| {
                    let keep = idx <= i || {
                        let n = match &x.name {
                            Piece::Buf(s, en) => {
                                buf.get(*s as usize..*en as usize).unwrap_or_default()
                            }
                            Piece::Own(b) => b,
                        };
                        !q.matches(x.kind, n)
                    };
                    idx += 1;
                    keep
                });
                if let Some(slot) = self.entries.get_mut(i) {
                    *slot = e;
                }
            }
            None => self.entries.push(e),
        }
        Ok(())
    }

    /// Copies the fields called `name` from `other`, in order, to the end of this list,
    /// keeping their spelling and raw form.
    pub fn copy_from(&mut self, other: &Headers, name: &str) {
        for i in other.positions(name).collect::<Vec<_>>() {
            if let Some(e) = other.entries.get(i) {
                let d = other.detach(e);
                self.entries.push(d);
            }
        }
    }

    /// Writes the fields, each followed by CRLF.
    pub(crate) fn write(&self, out: &mut Vec<u8>, skip: impl Fn(HeaderRef<'_>) -> bool) {
        for e in &self.entries {
            let v = self.view(e);
            if skip(v) {
                continue;
            }
            match v.raw {
                Some(raw) => out.extend_from_slice(raw),
                None => {
                    out.extend_from_slice(v.name);
                    out.extend_from_slice(b": ");
                    out.extend_from_slice(v.value);
                }
            }
            out.extend_from_slice(b"\r\n");
        }
    }

    pub(crate) fn encoded_len(&self) -> usize {
        self.iter()
            .map(|v| v.raw.map_or(v.name.len() + 2 + v.value.len(), <[u8]>::len) + 2)
            .sum()
    }
}

impl PartialEq for Headers {
    /// Two header lists are equal when they hold the same names (spelled the same way) and
    /// values in the same order; how the fields were laid out on the wire does not matter.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|(a, b)| a.name == b.name && a.value == b.value)
    }
}

impl Eq for Headers {}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A SIP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method of the request line.
    pub method: Method,
    /// The Request-URI.
    pub uri: Uri,
    /// The version of the request line.
    pub version: Version,
    /// The header fields.
    pub headers: Headers,
    /// The body.
    pub body: Bytes,
}

/// A SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The version of the status line.
    pub version: Version,
    /// The status code, 100–699.
    pub status: u16,
    /// The reason phrase (may be empty).
    pub reason: ByteStr,
    /// The header fields.
    pub headers: Headers,
    /// The body.
    pub body: Bytes,
}

/// A request or a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Request {
    /// A SIP/2.0 request with no headers and no body.
    pub fn new(method: Method, uri: Uri) -> Self {
        Request {
            method,
            uri,
            version: Version::SIP_2_0,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }
}

impl Response {
    /// A SIP/2.0 response with the standard reason phrase, no headers and no body.
    pub fn new(status: u16) -> Self {
        Response {
            version: Version::SIP_2_0,
            status,
            reason: ByteStr::from_static(crate::serialize::reason_phrase(status)),
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }
}

impl Message {
    /// The header fields.
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    /// The header fields, for changing.
    pub fn headers_mut(&mut self) -> &mut Headers {
        match self {
            Message::Request(r) => &mut r.headers,
            Message::Response(r) => &mut r.headers,
        }
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        match self {
            Message::Request(r) => &r.body,
            Message::Response(r) => &r.body,
        }
    }

    /// The version of the start line.
    pub fn version(&self) -> Version {
        match self {
            Message::Request(r) => r.version,
            Message::Response(r) => r.version,
        }
    }

    /// Whether this is a request.
    pub fn is_request(&self) -> bool {
        matches!(self, Message::Request(_))
    }

    /// The request, if it is one.
    pub fn as_request(&self) -> Option<&Request> {
        match self {
            Message::Request(r) => Some(r),
            Message::Response(_) => None,
        }
    }

    /// The response, if it is one.
    pub fn as_response(&self) -> Option<&Response> {
        match self {
            Message::Response(r) => Some(r),
            Message::Request(_) => None,
        }
    }
}

impl From<Request> for Message {
    fn from(r: Request) -> Self {
        Message::Request(r)
    }
}

impl From<Response> for Message {
    fn from(r: Response) -> Self {
        Message::Response(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_case_sensitive() {
        assert_eq!("INVITE".parse::<Method>(), Ok(Method::Invite));
        assert_eq!(
            "invite".parse::<Method>(),
            Ok(Method::Extension("invite".into()))
        );
        assert_eq!(
            "RE%47IST%45R".parse::<Method>(),
            Ok(Method::Extension("RE%47IST%45R".into()))
        );
        assert!("IN VITE".parse::<Method>().is_err());
        assert!("".parse::<Method>().is_err());
        for m in [
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
        ] {
            let parsed: Method = m.parse().unwrap();
            assert!(!matches!(parsed, Method::Extension(_)));
            assert_eq!(parsed.as_str(), m);
        }
    }

    #[test]
    fn versions() {
        assert_eq!(Version::parse(b"SIP/2.0"), Some(Version::SIP_2_0));
        assert_eq!(Version::parse(b"sip/2.0"), Some(Version::SIP_2_0));
        assert_eq!(
            Version::parse(b"SIP/7.0"),
            Some(Version { major: 7, minor: 0 })
        );
        assert_eq!(Version::parse(b"SIP/2.0 "), None);
        assert_eq!(Version::parse(b"HTTP/1.1"), None);
        assert_eq!(Version::parse(b"SIP/2"), None);
    }

    #[test]
    fn compact_names() {
        for (c, full) in [
            ("i", "Call-ID"),
            ("m", "Contact"),
            ("e", "Content-Encoding"),
            ("l", "Content-Length"),
            ("c", "Content-Type"),
            ("f", "From"),
            ("s", "Subject"),
            ("k", "Supported"),
            ("t", "To"),
            ("v", "Via"),
            ("o", "Event"),
            ("r", "Refer-To"),
            ("b", "Referred-By"),
            ("u", "Allow-Events"),
            ("x", "Session-Expires"),
            ("a", "Accept-Contact"),
            ("j", "Reject-Contact"),
            ("d", "Request-Disposition"),
            ("y", "Identity"),
            ("n", "Identity-Info"),
        ] {
            let k = KnownHeader::from_name(c.as_bytes()).unwrap();
            assert_eq!(k.name(), full);
            assert_eq!(k.compact(), c.chars().next());
            assert_eq!(
                KnownHeader::from_name(full.to_uppercase().as_bytes()),
                Some(k)
            );
            assert_eq!(KnownHeader::from_name(c.to_uppercase().as_bytes()), Some(k));
        }
        assert_eq!(KnownHeader::from_name(b"z"), None);
        assert_eq!(KnownHeader::from_name(b"C%6Fntact"), None);
        for &k in KnownHeader::ALL {
            assert!(k.name().len() <= MAX_KNOWN_LEN);
            assert_eq!(KnownHeader::from_name(k.name().as_bytes()), Some(k));
            if let Some(c) = k.compact() {
                assert_eq!(KnownHeader::from_name(c.to_string().as_bytes()), Some(k));
            }
        }
    }

    #[test]
    fn header_list_operations() {
        let mut h = Headers::new();
        h.push(
            "Via",
            "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2",
        )
        .unwrap();
        h.push("v", "SIP/2.0/TCP c").unwrap();
        h.push("X-Thing", "one, two").unwrap();
        h.push("f", "<sip:a@b>;tag=1").unwrap();
        assert_eq!(h.count("via"), 2);
        assert_eq!(h.values("Via").count(), 3);
        assert_eq!(h.values("x-thing").count(), 1);
        assert_eq!(h.get("From"), Some(&b"<sip:a@b>;tag=1"[..]));
        h.insert_top("Via", "SIP/2.0/UDP top").unwrap();
        assert_eq!(h.at(0).unwrap().value(), b"SIP/2.0/UDP top");
        assert_eq!(
            h.remove_first_value("Via").unwrap(),
            &b"SIP/2.0/UDP top"[..]
        );
        assert_eq!(
            h.remove_first_value("Via").unwrap(),
            &b"SIP/2.0/UDP a;branch=z9hG4bK1"[..]
        );
        assert_eq!(h.get("Via"), Some(&b"SIP/2.0/UDP b;branch=z9hG4bK2"[..]));
        assert_eq!(h.values("Via").count(), 2);
        h.replace("VIA", "SIP/2.0/UDP only").unwrap();
        assert_eq!(h.count("Via"), 1);
        assert_eq!(h.at(0).unwrap().name(), "VIA");
        assert_eq!(h.remove("from"), 1);
        assert!(h.push("Bad Name", "x").is_err());
        assert!(h.push("X", "a\r\nInjected: 1").is_err());
        h.replace("Subject", "new").unwrap();
        assert_eq!(h.at(h.len() - 1).unwrap().name(), "Subject");
    }
}
