//! Writing a STUN message into a reusable buffer.

use crate::attr::{encode_xor, Family};
use crate::attr_type as at;
use crate::integrity::{fingerprint, mac};
use crate::message::{message_type, Class, TransactionId};
use crate::{HEADER_LEN, MAGIC_COOKIE};
use ring::hmac;
use std::net::SocketAddr;

/// Writes one message into `buf` (cleared first). Attributes go in the order they are added;
/// the integrity attributes and FINGERPRINT must come last, in that order.
pub struct Builder<'b> {
    buf: &'b mut Vec<u8>,
    tid: TransactionId,
}

impl<'b> Builder<'b> {
    pub fn new(
        buf: &'b mut Vec<u8>,
        method: u16,
        class: Class,
        tid: &TransactionId,
    ) -> Builder<'b> {
        buf.clear();
        buf.extend_from_slice(&message_type(method, class).to_be_bytes());
        buf.extend_from_slice(&[0, 0]);
        buf.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        buf.extend_from_slice(tid);
        Builder { buf, tid: *tid }
    }

    fn set_len(&mut self) {
        let len = (self.buf.len() - HEADER_LEN) as u16;
        self.buf[2..4].copy_from_slice(&len.to_be_bytes());
    }

    /// Any attribute, padded with zeros to a multiple of four.
    pub fn attr(&mut self, typ: u16, value: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(&typ.to_be_bytes());
        self.buf
            .extend_from_slice(&(value.len() as u16).to_be_bytes());
        self.buf.extend_from_slice(value);
        let pad = (4 - value.len() % 4) % 4;
        self.buf.extend_from_slice(&[0u8; 3][..pad]);
        self.set_len();
        self
    }

    pub fn text(&mut self, typ: u16, value: &str) -> &mut Self {
        self.attr(typ, value.as_bytes())
    }

    pub fn u32(&mut self, typ: u16, value: u32) -> &mut Self {
        self.attr(typ, &value.to_be_bytes())
    }

    /// An XOR-…-ADDRESS attribute, masked with this message's transaction id.
    pub fn xor_address(&mut self, typ: u16, addr: &SocketAddr) -> &mut Self {
        let (v, n) = encode_xor(addr, &self.tid);
        self.attr(typ, &v[..n])
    }

    /// ERROR-CODE with its reason phrase.
    pub fn error(&mut self, code: u16, reason: &str) -> &mut Self {
        let mut v = Vec::with_capacity(4 + reason.len());
        v.extend_from_slice(&[0, 0, (code / 100) as u8, (code % 100) as u8]);
        v.extend_from_slice(reason.as_bytes());
        self.attr(at::ERROR_CODE, &v)
    }

    /// UNKNOWN-ATTRIBUTES for a 420 answer.
    pub fn unknown_attributes(&mut self, types: &[u16]) -> &mut Self {
        let v: Vec<u8> = types.iter().flat_map(|t| t.to_be_bytes()).collect();
        self.attr(at::UNKNOWN_ATTRIBUTES, &v)
    }

    /// REQUESTED-ADDRESS-FAMILY or ADDITIONAL-ADDRESS-FAMILY.
    pub fn family(&mut self, typ: u16, family: Family) -> &mut Self {
        self.attr(typ, &[family.code(), 0, 0, 0])
    }

    pub fn channel_number(&mut self, channel: u16) -> &mut Self {
        let c = channel.to_be_bytes();
        self.attr(at::CHANNEL_NUMBER, &[c[0], c[1], 0, 0])
    }

    /// REQUESTED-TRANSPORT with a protocol number (17 UDP, 6 TCP).
    pub fn requested_transport(&mut self, protocol: u8) -> &mut Self {
        self.attr(at::REQUESTED_TRANSPORT, &[protocol, 0, 0, 0])
    }

    /// MESSAGE-INTEGRITY (HMAC-SHA1) with `key`, over everything written so far.
    pub fn integrity(&mut self, key: &[u8]) -> &mut Self {
        let offset = self.buf.len();
        let tag = mac(
            hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            key,
            self.buf,
            offset,
            20,
        );
        self.attr(at::MESSAGE_INTEGRITY, tag.as_ref())
    }

    /// MESSAGE-INTEGRITY-SHA256 (the whole 32 bytes) with `key`.
    pub fn integrity_sha256(&mut self, key: &[u8]) -> &mut Self {
        let offset = self.buf.len();
        let tag = mac(hmac::HMAC_SHA256, key, self.buf, offset, 32);
        self.attr(at::MESSAGE_INTEGRITY_SHA256, tag.as_ref())
    }

    /// FINGERPRINT, which must be the last attribute.
    pub fn fingerprint(&mut self) -> &mut Self {
        let offset = self.buf.len();
        let crc = fingerprint(self.buf, offset);
        self.u32(at::FINGERPRINT, crc)
    }

    /// The message's length in bytes.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        false
    }
}
