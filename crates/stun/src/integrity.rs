//! MESSAGE-INTEGRITY (HMAC-SHA1), MESSAGE-INTEGRITY-SHA256 and FINGERPRINT, and the long-term
//! credential keys.

use crate::attr_type as at;
use crate::message::Message;
use md5::Digest as _;
use ring::hmac;

/// FINGERPRINT is the CRC-32 of the message XORed with this ("STUN").
pub(crate) const FINGERPRINT_XOR: u32 = 0x5354_554E;

/// The long-term credential key of RFC 5389 §15.4: MD5 of `username:realm:password`. The
/// strings are taken as given: the caller applies whatever preparation its credentials had.
pub fn long_term_key(username: &str, realm: &str, password: &str) -> [u8; 16] {
    let mut h = md5::Md5::new();
    h.update(username.as_bytes());
    h.update(b":");
    h.update(realm.as_bytes());
    h.update(b":");
    h.update(password.as_bytes());
    h.finalize().into()
}

/// The RFC 8489 key for PASSWORD-ALGORITHM SHA-256: SHA-256 of `username:realm:password`.
pub fn long_term_key_sha256(username: &str, realm: &str, password: &str) -> [u8; 32] {
    let mut c = ring::digest::Context::new(&ring::digest::SHA256);
    c.update(username.as_bytes());
    c.update(b":");
    c.update(realm.as_bytes());
    c.update(b":");
    c.update(password.as_bytes());
    c.finish().as_ref().try_into().expect("32 bytes")
}

/// Which integrity attribute a message carries (the SHA-256 one wins when both are there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Integrity {
    None,
    Sha1,
    Sha256,
}

/// HMAC over the message up to `offset`, with the header's length field saying the message
/// ends after an attribute of `attr_len` value bytes at `offset`.
pub(crate) fn mac(
    alg: hmac::Algorithm,
    key: &[u8],
    bytes: &[u8],
    offset: usize,
    attr_len: usize,
) -> hmac::Tag {
    let k = hmac::Key::new(alg, key);
    let mut ctx = hmac::Context::with_key(&k);
    let len = (offset + 4 + attr_len - crate::HEADER_LEN) as u16;
    ctx.update(&bytes[..2]);
    ctx.update(&len.to_be_bytes());
    ctx.update(&bytes[4..offset]);
    ctx.sign()
}

/// Compares two MACs without stopping at the first difference, so that the time taken says
/// nothing about how much of a forged MAC was right.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && std::hint::black_box(a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y))) == 0
}

/// CRC-32 over the message up to `offset`, the length field counting a FINGERPRINT there.
pub(crate) fn fingerprint(bytes: &[u8], offset: usize) -> u32 {
    let mut h = crc32fast::Hasher::new();
    let len = (offset + 8 - crate::HEADER_LEN) as u16;
    h.update(&bytes[..2]);
    h.update(&len.to_be_bytes());
    h.update(&bytes[4..offset]);
    h.finalize() ^ FINGERPRINT_XOR
}

impl Message<'_> {
    pub fn integrity(&self) -> Integrity {
        let mut found = Integrity::None;
        for a in self.attrs() {
            match a.typ {
                at::MESSAGE_INTEGRITY_SHA256 => return Integrity::Sha256,
                at::MESSAGE_INTEGRITY => found = Integrity::Sha1,
                _ => {}
            }
        }
        found
    }

    /// Checks MESSAGE-INTEGRITY-SHA256 when present, else MESSAGE-INTEGRITY, with `key`.
    /// False when the message carries neither.
    pub fn check_integrity(&self, key: &[u8]) -> bool {
        let bytes = self.bytes();
        let mut sha1 = None;
        for a in self.attrs() {
            match a.typ {
                at::MESSAGE_INTEGRITY_SHA256 => {
                    // RFC 8489 §14.6: at least 16 bytes, a multiple of four, a prefix of the MAC.
                    let n = a.value.len();
                    if !(16..=32).contains(&n) || n % 4 != 0 {
                        return false;
                    }
                    let tag = mac(hmac::HMAC_SHA256, key, bytes, a.offset, n);
                    return same(&tag.as_ref()[..n], a.value);
                }
                at::MESSAGE_INTEGRITY if sha1.is_none() => sha1 = Some(a),
                _ => {}
            }
        }
        let Some(a) = sha1 else {
            return false;
        };
        if a.value.len() != 20 {
            return false;
        }
        let tag = mac(
            hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            key,
            bytes,
            a.offset,
            20,
        );
        same(tag.as_ref(), a.value)
    }

    /// `Some(true)` for a correct FINGERPRINT, `Some(false)` for a wrong one, `None` without.
    pub fn check_fingerprint(&self) -> Option<bool> {
        let a = self.attrs().find(|a| a.typ == at::FINGERPRINT)?;
        let want: [u8; 4] = a.value.try_into().ok()?;
        Some(fingerprint(self.bytes(), a.offset) == u32::from_be_bytes(want))
    }
}
