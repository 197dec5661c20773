//! Writing a [`Message`] as RFC 3164 or RFC 5424 bytes.
//!
//! Both formats are built so that any input gives a message a receiver can parse: header
//! fields are cut down to printable US-ASCII without spaces and to their maximum lengths, and
//! control characters in the text (line breaks included) become `#ooo` octal escapes, the way
//! rsyslog shows them on receipt. That keeps one message on one line for LF-framed transports
//! and for the files receivers write.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Utc};

use crate::{Format, Message};

/// RFC 5424 §6 field limits.
const HOSTNAME_MAX: usize = 255;
const APP_NAME_MAX: usize = 48;
const PROCID_MAX: usize = 128;
const MSGID_MAX: usize = 32;
/// RFC 3164 §4.1.3: the TAG is at most 32 characters.
const TAG_MAX: usize = 32;

const NILVALUE: &str = "-";
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The message in the given format, without transport framing (see [`crate::frame`]).
///
/// BSD: `<PRI>Mmm dd hh:mm:ss HOST TAG: MSG`, the timestamp in UTC (RFC 3164 wants the
/// sender's local time, but carries no zone; servers here often run in containers without a
/// meaningful local zone, so UTC is the only value a reader can interpret). TAG is the app name.
///
/// IETF: `<PRI>1 TIMESTAMP HOST APP-NAME PROCID MSGID - MSG` with an RFC 3339 UTC timestamp
/// to the millisecond, this process's id as PROCID and no structured data. The text is
/// preceded by the UTF-8 byte order mark only when it has characters beyond ASCII: pure
/// ASCII is valid as RFC 5424's MSG-ANY, and many receivers keep the BOM in the text.
pub fn format(m: &Message, f: Format) -> Vec<u8> {
    let pri = u32::from(facility(m.facility)) * 8 + u32::from(m.severity.code());
    let mut out = String::with_capacity(64 + m.host.len() + m.app.len() + m.text.len());
    match f {
        Format::Bsd => {
            // `%e` pads the day with a space, as RFC 3164 §4.1.2 asks ("Jan  5").
            let _ = write!(
                out,
                "<{pri}>{} {} {}: ",
                m.at.format("%b %e %H:%M:%S"),
                header_field(&m.host, HOSTNAME_MAX, |_| true),
                // Receivers end the TAG at `[` or `:`; keep those out of it.
                header_field(&m.app, TAG_MAX, |c| !matches!(c, ':' | '[' | ']')),
            );
            escape_text(&m.text, &mut out);
            out.into_bytes()
        }
        Format::Ietf => {
            let msgid = m.msgid.as_deref().unwrap_or("");
            let _ = write!(
                out,
                "<{pri}>1 {} {} {} {} {} -",
                ietf_timestamp(m.at),
                header_field(&m.host, HOSTNAME_MAX, |_| true),
                header_field(&m.app, APP_NAME_MAX, |_| true),
                header_field(&std::process::id().to_string(), PROCID_MAX, |_| true),
                header_field(msgid, MSGID_MAX, |_| true),
            );
            let mut bytes = out.into_bytes();
            if !m.text.is_empty() {
                bytes.push(b' ');
                if !m.text.is_ascii() {
                    bytes.extend_from_slice(BOM);
                }
                let mut text = String::with_capacity(m.text.len());
                escape_text(&m.text, &mut text);
                bytes.extend_from_slice(text.as_bytes());
            }
            bytes
        }
    }
}

/// Facilities stop at 23 (local7); anything else goes out as user-level, the facility RFC 3164
/// §4.3.3 gives messages that arrive without a valid one.
fn facility(f: u8) -> u8 {
    if f <= 23 {
        f
    } else {
        1
    }
}

/// RFC 5424 wants a four-digit year; a time outside that range is sent as "unknown".
fn ietf_timestamp(at: DateTime<Utc>) -> String {
    if (0..=9999).contains(&at.year()) {
        at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    } else {
        NILVALUE.to_string()
    }
}

/// A header field restricted to PRINTUSASCII (no spaces) and `max` characters: anything else
/// becomes `_`, so a field keeps its shape and never splits the header. An empty field is
/// written as the nil value `-`.
fn header_field(value: &str, max: usize, allowed: impl Fn(char) -> bool) -> String {
    let field: String = value
        .chars()
        .take(max)
        .map(|c| {
            if ('!'..='~').contains(&c) && allowed(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if field.is_empty() {
        NILVALUE.to_string()
    } else {
        field
    }
}

/// Control characters (C0, DEL, C1) become `#` and three octal digits of their code point.
fn escape_text(text: &str, out: &mut String) {
    for c in text.chars() {
        if c.is_control() {
            let _ = write!(out, "#{:03o}", u32::from(c));
        } else {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields() {
        assert_eq!(header_field("", 10, |_| true), "-");
        assert_eq!(header_field("a b\u{e9}c", 10, |_| true), "a_b_c");
        assert_eq!(header_field("abcdef", 3, |_| true), "abc");
        assert_eq!(header_field("a:b[1]", 10, |c| c != ':'), "a_b[1]");
    }

    #[test]
    fn escapes() {
        let mut s = String::new();
        escape_text("a\r\nb\tc\u{7f}d\u{85}e", &mut s);
        assert_eq!(s, "a#015#012b#011c#177d#205e");
    }

    #[test]
    fn facility_range() {
        assert_eq!(facility(23), 23);
        assert_eq!(facility(24), 1);
    }
}
