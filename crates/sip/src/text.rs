//! Character classes and small scanners shared by the parsers (RFC 3261 §25.1).
//!
//! Everything here works on bytes: the message is parsed from the wire without first
//! insisting that it is UTF-8, and only the pieces handed out as `&str` are checked.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

/// `token` characters: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~".
pub(crate) const fn is_token(b: u8) -> bool {
    TOKEN[b as usize]
}

/// A lookup table, because header names and parameters are checked byte by byte on every
/// message.
static TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = matches!(b,
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9'
            | b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~');
        i += 1;
    }
    t
};

/// `unreserved` = alphanum / mark.
pub(crate) const fn is_unreserved(b: u8) -> bool {
    matches!(b,
        b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9'
        | b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')')
}

/// The `reserved` set of RFC 3261 §25.1; an escape of one of these is not equivalent to the
/// character itself when URIs are compared.
pub(crate) const fn is_reserved(b: u8) -> bool {
    matches!(
        b,
        b';' | b'/' | b'?' | b':' | b'@' | b'&' | b'=' | b'+' | b'$' | b','
    )
}

pub(crate) const fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

pub(crate) const fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

pub(crate) fn is_token_str(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_token(b))
}

pub(crate) fn trim_ws(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_ws(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_ws(b)).map_or(start, |e| e + 1);
    s.get(start..end).unwrap_or_default()
}

pub(crate) fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while s.get(i).is_some_and(|&b| is_ws(b)) {
        i += 1;
    }
    i
}

/// Scans a quoted-string whose opening quote is at `start`; returns the index just past the
/// closing quote. Raw control characters other than HT are refused (they may only appear as a
/// quoted-pair), as are CR and LF even when escaped.
pub(crate) fn scan_quoted(s: &[u8], start: usize) -> Option<usize> {
    if s.get(start) != Some(&b'"') {
        return None;
    }
    let mut i = start + 1;
    loop {
        let b = *s.get(i)?;
        match b {
            b'"' => return Some(i + 1),
            b'\\' => {
                let next = *s.get(i + 1)?;
                if next == b'\r' || next == b'\n' {
                    return None;
                }
                i += 2;
            }
            b'\t' => i += 1,
            0..=0x1f | 0x7f => return None,
            _ => i += 1,
        }
    }
}

/// Removes the quotes and quoted-pair escapes of a quoted-string; anything else is returned
/// as it is.
pub(crate) fn unquote(s: &str) -> Cow<'_, str> {
    let Some(inner) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
        return Cow::Borrowed(s);
    };
    if !inner.contains('\\') {
        return Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Quotes a string for use as a quoted-string, escaping `"` and `\`.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Splits a header value at the commas that separate list elements, leaving alone the commas
/// inside quoted strings and inside `<...>` (URIs may contain commas). Elements are trimmed;
/// empty elements are kept so that the typed parsers can object to them.
pub(crate) fn split_commas(value: &[u8]) -> CommaSplit<'_> {
    CommaSplit { rest: Some(value) }
}

pub(crate) struct CommaSplit<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> Iterator for CommaSplit<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let s = self.rest?;
        let mut i = 0;
        let mut in_angle = false;
        while let Some(&b) = s.get(i) {
            match b {
                b'"' if !in_angle => {
                    // An unterminated quote swallows the rest: the element is then malformed
                    // and its own parser says so.
                    i = scan_quoted_lenient(s, i);
                    continue;
                }
                b'<' => in_angle = true,
                b'>' => in_angle = false,
                b',' if !in_angle => {
                    self.rest = s.get(i + 1..);
                    return Some(trim_ws(s.get(..i).unwrap_or_default()));
                }
                _ => {}
            }
            i += 1;
        }
        self.rest = None;
        Some(trim_ws(s))
    }
}

/// Like [`scan_quoted`] but never fails: an unterminated string runs to the end.
fn scan_quoted_lenient(s: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while let Some(&b) = s.get(i) {
        match b {
            b'"' => return i + 1,
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    s.len()
}

/// Decodes `%XX` escapes. Invalid escapes are left as they are (the URI parser has already
/// refused them where the grammar requires valid ones).
pub fn pct_decode(s: &str) -> Cow<'_, [u8]> {
    let b = s.as_bytes();
    if !b.contains(&b'%') {
        return Cow::Borrowed(b);
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            if let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex_val),
                b.get(i + 2).copied().and_then(hex_val),
            ) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    Cow::Owned(out)
}

/// Parses an unsigned decimal made only of digits, refusing overflow.
pub(crate) fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

pub(crate) fn parse_u32(s: &[u8]) -> Option<u32> {
    parse_u64(s).and_then(|v| u32::try_from(v).ok())
}

/// A cheaply clonable, immutable UTF-8 string that can share the buffer a message was parsed
/// from. Header values, URIs and reason phrases use it so that parsing does not copy them.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ByteStr(Bytes);

impl ByteStr {
    /// Wraps a static string without copying.
    pub const fn from_static(s: &'static str) -> Self {
        ByteStr(Bytes::from_static(s.as_bytes()))
    }

    /// Wraps bytes that must be UTF-8; gives them back otherwise.
    pub fn from_utf8(b: Bytes) -> Result<Self, Bytes> {
        if std::str::from_utf8(&b).is_ok() {
            Ok(ByteStr(b))
        } else {
            Err(b)
        }
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        // The constructor checked the bytes, so this never falls back.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The underlying bytes, shared.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// A sub-string given as a `&str` borrowed from this one.
    pub(crate) fn slice_ref(&self, sub: &str) -> ByteStr {
        if sub.is_empty() {
            return ByteStr::default();
        }
        ByteStr(self.0.slice_ref(sub.as_bytes()))
    }
}

impl Deref for ByteStr {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for ByteStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for ByteStr {
    fn from(s: &str) -> Self {
        ByteStr(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for ByteStr {
    fn from(s: String) -> Self {
        ByteStr(Bytes::from(s))
    }
}

impl From<ByteStr> for Bytes {
    fn from(s: ByteStr) -> Bytes {
        s.0
    }
}

impl PartialEq<str> for ByteStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ByteStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for ByteStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for ByteStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comma_split_respects_quotes_and_angles() {
        let v: Vec<&[u8]> = split_commas(br#""a, b" <sip:x@y;p=1,2>;q=1 , <sip:z>,"#).collect();
        assert_eq!(
            v,
            vec![&br#""a, b" <sip:x@y;p=1,2>;q=1"#[..], b"<sip:z>", b""]
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u64(b"0009"), Some(9));
        assert_eq!(parse_u64(b"000000000000000000000000000001"), Some(1));
        assert_eq!(parse_u64(b"36893488147419103232"), None);
        assert_eq!(parse_u64(b"-1"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u32(b"4294967296"), None);
    }

    #[test]
    fn unquoting() {
        assert_eq!(unquote(r#""J Rosenberg \\\"""#), r#"J Rosenberg \""#);
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(scan_quoted(br#""abc" x"#, 0), Some(5));
        assert_eq!(scan_quoted(br#""abc"#, 0), None);
    }
}
