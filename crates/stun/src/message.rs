//! Reading a STUN message in place.

use crate::attr::{self, ErrorCode, Family};
use crate::attr_type as at;
use crate::{HEADER_LEN, MAGIC_COOKIE};
use std::net::SocketAddr;

pub type TransactionId = [u8; 12];

/// The two class bits of the message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Request,
    Indication,
    Success,
    Error,
}

impl Class {
    fn bits(self) -> u16 {
        match self {
            Class::Request => 0,
            Class::Indication => 1,
            Class::Success => 2,
            Class::Error => 3,
        }
    }

    fn from_bits(b: u16) -> Class {
        match b & 3 {
            0 => Class::Request,
            1 => Class::Indication,
            2 => Class::Success,
            _ => Class::Error,
        }
    }
}

/// The message type field: the method's bits with the class bits interleaved at 4 and 8.
pub(crate) fn message_type(method: u16, class: Class) -> u16 {
    let m = method & 0x0FFF;
    let c = class.bits();
    ((m & 0x0F80) << 2) | ((m & 0x0070) << 1) | (m & 0x000F) | ((c & 2) << 7) | ((c & 1) << 4)
}

fn split_type(t: u16) -> (u16, Class) {
    let method = (t & 0x000F) | ((t & 0x00E0) >> 1) | ((t & 0x3E00) >> 2);
    let class = ((t >> 7) & 2) | ((t >> 4) & 1);
    (method, Class::from_bits(class))
}

/// Why bytes are not a STUN message. Servers drop such datagrams without an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Shorter than a header, or than the header says.
    TooShort,
    /// The first two bits are not zero.
    NotStun,
    /// Not RFC 5389's magic cookie (the classic RFC 3489 STUN is not served).
    BadCookie,
    /// The length is not a multiple of four, or does not match the datagram.
    BadLength,
    /// An attribute runs past the end of the message.
    BadAttribute,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ParseError::TooShort => "shorter than its header says",
            ParseError::NotStun => "not a STUN message",
            ParseError::BadCookie => "no STUN magic cookie",
            ParseError::BadLength => "the length field does not fit the message",
            ParseError::BadAttribute => "an attribute runs past the end of the message",
        })
    }
}

impl std::error::Error for ParseError {}

/// A STUN message checked for layout, read in place.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    bytes: &'a [u8],
    method: u16,
    class: Class,
}

/// One attribute: its type, its value (without padding) and where its header starts in the
/// message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    pub typ: u16,
    pub value: &'a [u8],
    pub offset: usize,
}

/// How long the STUN message at the head of a stream is, once its header has arrived.
pub fn frame_len(buf: &[u8]) -> Option<usize> {
    if buf.len() < 4 {
        return None;
    }
    Some(HEADER_LEN + usize::from(u16::from_be_bytes([buf[2], buf[3]])))
}

impl<'a> Message<'a> {
    /// Checks `buf` as exactly one message (a datagram, or one frame cut from a stream).
    pub fn parse(buf: &'a [u8]) -> Result<Message<'a>, ParseError> {
        if buf.len() < HEADER_LEN {
            return Err(ParseError::TooShort);
        }
        if buf[0] & 0xC0 != 0 {
            return Err(ParseError::NotStun);
        }
        if u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]) != MAGIC_COOKIE {
            return Err(ParseError::BadCookie);
        }
        let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
        if len % 4 != 0 || HEADER_LEN + len != buf.len() {
            return Err(if HEADER_LEN + len > buf.len() {
                ParseError::TooShort
            } else {
                ParseError::BadLength
            });
        }
        let mut at = HEADER_LEN;
        while at < buf.len() {
            if at + 4 > buf.len() {
                return Err(ParseError::BadAttribute);
            }
            let vlen = usize::from(u16::from_be_bytes([buf[at + 2], buf[at + 3]]));
            let next = at + 4 + vlen.div_ceil(4) * 4;
            if next > buf.len() {
                return Err(ParseError::BadAttribute);
            }
            at = next;
        }
        let (method, class) = split_type(u16::from_be_bytes([buf[0], buf[1]]));
        Ok(Message {
            bytes: buf,
            method,
            class,
        })
    }

    pub fn method(&self) -> u16 {
        self.method
    }

    pub fn class(&self) -> Class {
        self.class
    }

    pub fn transaction_id(&self) -> &'a TransactionId {
        self.bytes[8..20].try_into().expect("checked length")
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Every attribute, in order. After MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and
    /// FINGERPRINT count (RFC 8489 §14.5): anything else there is not covered by the integrity
    /// check, so it is skipped.
    pub fn attrs(&self) -> Attrs<'a> {
        Attrs {
            bytes: self.bytes,
            at: HEADER_LEN,
            sealed: false,
        }
    }

    /// The first attribute of a type.
    pub fn get(&self, typ: u16) -> Option<&'a [u8]> {
        self.attrs().find(|a| a.typ == typ).map(|a| a.value)
    }

    fn text(&self, typ: u16) -> Option<&'a str> {
        self.get(typ).and_then(|v| std::str::from_utf8(v).ok())
    }

    pub fn username(&self) -> Option<&'a str> {
        self.text(at::USERNAME)
    }

    pub fn realm(&self) -> Option<&'a str> {
        self.text(at::REALM)
    }

    pub fn nonce(&self) -> Option<&'a str> {
        self.text(at::NONCE)
    }

    pub fn software(&self) -> Option<&'a str> {
        self.text(at::SOFTWARE)
    }

    /// LIFETIME, in seconds.
    pub fn lifetime(&self) -> Option<u32> {
        attr::u32_of(self.get(at::LIFETIME)?)
    }

    /// The protocol number in REQUESTED-TRANSPORT (17 UDP, 6 TCP).
    pub fn requested_transport(&self) -> Option<u8> {
        let v = self.get(at::REQUESTED_TRANSPORT)?;
        (v.len() == 4).then(|| v[0])
    }

    /// REQUESTED-ADDRESS-FAMILY (RFC 6156); `Err(())` for a family that is neither.
    pub fn requested_family(&self) -> Option<Result<Family, ()>> {
        let v = self.get(at::REQUESTED_ADDRESS_FAMILY)?;
        Some(match v.first() {
            Some(1) if v.len() == 4 => Ok(Family::V4),
            Some(2) if v.len() == 4 => Ok(Family::V6),
            _ => Err(()),
        })
    }

    /// The channel number of CHANNEL-NUMBER.
    pub fn channel_number(&self) -> Option<u16> {
        let v = self.get(at::CHANNEL_NUMBER)?;
        (v.len() == 4).then(|| u16::from_be_bytes([v[0], v[1]]))
    }

    /// An XOR-…-ADDRESS attribute, decoded with this message's transaction id.
    pub fn xor_address(&self, typ: u16) -> Option<SocketAddr> {
        attr::decode_xor(self.get(typ)?, self.transaction_id())
    }

    /// Every XOR-PEER-ADDRESS (a CreatePermission may carry several); `None` for one that does
    /// not decode.
    pub fn xor_peer_addresses(&self) -> impl Iterator<Item = Option<SocketAddr>> + 'a {
        let tid = self.transaction_id();
        self.attrs()
            .filter(|a| a.typ == at::XOR_PEER_ADDRESS)
            .map(move |a| attr::decode_xor(a.value, tid))
    }

    pub fn error_code(&self) -> Option<ErrorCode<'a>> {
        ErrorCode::parse(self.get(at::ERROR_CODE)?)
    }

    /// The DATA attribute of a Send or Data indication.
    pub fn data(&self) -> Option<&'a [u8]> {
        self.get(at::DATA)
    }

    /// Comprehension-required attributes (types below 0x8000) that `known` does not cover, for
    /// a 420 answer.
    pub fn unknown_required(&self, known: impl Fn(u16) -> bool) -> Vec<u16> {
        self.attrs()
            .map(|a| a.typ)
            .filter(|&t| t < 0x8000 && !known(t))
            .collect()
    }
}

/// The attributes of a [`Message`]; see [`Message::attrs`].
#[derive(Debug, Clone)]
pub struct Attrs<'a> {
    bytes: &'a [u8],
    at: usize,
    sealed: bool,
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Attr<'a>;

    fn next(&mut self) -> Option<Attr<'a>> {
        while self.at + 4 <= self.bytes.len() {
            let b = self.bytes;
            let at = self.at;
            let typ = u16::from_be_bytes([b[at], b[at + 1]]);
            let len = usize::from(u16::from_be_bytes([b[at + 2], b[at + 3]]));
            // The layout was checked by `parse`.
            let value = &b[at + 4..at + 4 + len];
            self.at = at + 4 + len.div_ceil(4) * 4;
            let after_seal = matches!(typ, at::MESSAGE_INTEGRITY_SHA256 | at::FINGERPRINT);
            if self.sealed && !after_seal {
                continue;
            }
            if typ == at::MESSAGE_INTEGRITY || typ == at::MESSAGE_INTEGRITY_SHA256 {
                self.sealed = true;
            }
            return Some(Attr {
                typ,
                value,
                offset: at,
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_interleave_the_class_bits() {
        assert_eq!(message_type(0x001, Class::Request), 0x0001);
        assert_eq!(message_type(0x001, Class::Success), 0x0101);
        assert_eq!(message_type(0x001, Class::Error), 0x0111);
        assert_eq!(message_type(0x003, Class::Error), 0x0113);
        assert_eq!(message_type(0x006, Class::Indication), 0x0016);
        assert_eq!(message_type(0x009, Class::Success), 0x0109);
        for m in 0..0x1000u16 {
            for c in [
                Class::Request,
                Class::Indication,
                Class::Success,
                Class::Error,
            ] {
                assert_eq!(split_type(message_type(m, c)), (m, c));
            }
        }
    }
}
