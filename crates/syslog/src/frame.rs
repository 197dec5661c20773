//! Putting a formatted message on a transport.

use crate::{Format, Transport};

/// The largest datagram sent for a format: RFC 3164 §4.1 limits a BSD message to 1024 bytes,
/// and 2048 is what RFC 5426 §3.2 says every IETF receiver should accept. Longer messages are
/// cut (over UDP only; TCP and TLS carry them whole).
pub fn udp_limit(f: Format) -> usize {
    match f {
        Format::Bsd => 1024,
        Format::Ietf => 2048,
    }
}

/// The bytes that carry one formatted message (see [`crate::format()`]):
///
/// - UDP: the message itself, one per datagram, cut to [`udp_limit`] without splitting a UTF-8
///   character.
/// - TCP and TLS, IETF: octet counting, `LEN SP MSG` (RFC 6587 §3.4.1, RFC 5425 §4.3), so the
///   message may contain anything.
/// - TCP and TLS, BSD: the message followed by LF (RFC 6587 §3.4.2, the framing BSD-format
///   receivers expect). An LF inside the message would end it early, so any is sent as a space;
///   [`crate::format()`] never produces one.
pub fn frame(payload: &[u8], t: Transport, f: Format) -> Vec<u8> {
    match (t, f) {
        (Transport::Udp, _) => truncate_utf8(payload, udp_limit(f)).to_vec(),
        (Transport::Tcp | Transport::Tls, Format::Ietf) => {
            let mut out = format!("{} ", payload.len()).into_bytes();
            out.extend_from_slice(payload);
            out
        }
        (Transport::Tcp | Transport::Tls, Format::Bsd) => {
            let mut out: Vec<u8> = payload
                .iter()
                .map(|&b| if b == b'\n' { b' ' } else { b })
                .collect();
            out.push(b'\n');
            out
        }
    }
}

/// At most `max` bytes, backing off to the start of a UTF-8 sequence so the cut text stays
/// valid (RFC 5424 text is UTF-8).
fn truncate_utf8(payload: &[u8], max: usize) -> &[u8] {
    if payload.len() <= max {
        return payload;
    }
    let mut end = max;
    // Continuation bytes are 0b10xxxxxx; a sequence is at most four bytes long.
    while end > 0 && max - end < 4 && payload[end] & 0xC0 == 0x80 {
        end -= 1;
    }
    if max - end >= 4 {
        // Not UTF-8 after all: a plain byte cut is as good as any.
        end = max;
    }
    &payload[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_cut() {
        let s = "ab\u{e9}".as_bytes(); // a b C3 A9
        assert_eq!(truncate_utf8(s, 3), b"ab");
        assert_eq!(truncate_utf8(s, 4), s);
        assert_eq!(truncate_utf8(s, 2), b"ab");
        assert_eq!(truncate_utf8(&[0x80; 10], 6), &[0x80; 6]);
    }
}
