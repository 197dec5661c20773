//! Attribute values: addresses, error codes, numbers.

use crate::MAGIC_COOKIE;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// An address family as STUN numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(addr: &SocketAddr) -> Family {
        match addr {
            SocketAddr::V4(_) => Family::V4,
            SocketAddr::V6(_) => Family::V6,
        }
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            Family::V4 => 1,
            Family::V6 => 2,
        }
    }
}

pub(crate) fn u32_of(v: &[u8]) -> Option<u32> {
    let b: [u8; 4] = v.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

/// The XOR mask: the cookie, then (for IPv6) the transaction id.
fn mask(tid: &[u8; 12]) -> [u8; 16] {
    let mut m = [0u8; 16];
    m[..4].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    m[4..].copy_from_slice(tid);
    m
}

pub(crate) fn decode_xor(v: &[u8], tid: &[u8; 12]) -> Option<SocketAddr> {
    if v.len() < 4 {
        return None;
    }
    let port = u16::from_be_bytes([v[2], v[3]]) ^ (MAGIC_COOKIE >> 16) as u16;
    let m = mask(tid);
    let ip = match (v[1], v.len()) {
        (1, 8) => {
            let mut b = [0u8; 4];
            for (o, (x, k)) in b.iter_mut().zip(v[4..].iter().zip(&m)) {
                *o = x ^ k;
            }
            IpAddr::V4(Ipv4Addr::from(b))
        }
        (2, 20) => {
            let mut b = [0u8; 16];
            for (o, (x, k)) in b.iter_mut().zip(v[4..].iter().zip(&m)) {
                *o = x ^ k;
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// The value of an XOR-…-ADDRESS attribute: (bytes, length used).
pub(crate) fn encode_xor(addr: &SocketAddr, tid: &[u8; 12]) -> ([u8; 20], usize) {
    let mut out = [0u8; 20];
    let m = mask(tid);
    out[1] = Family::of(addr).code();
    out[2..4].copy_from_slice(&(addr.port() ^ (MAGIC_COOKIE >> 16) as u16).to_be_bytes());
    let len = match addr.ip() {
        IpAddr::V4(ip) => {
            for (o, (b, k)) in out[4..8].iter_mut().zip(ip.octets().iter().zip(&m)) {
                *o = b ^ k;
            }
            8
        }
        IpAddr::V6(ip) => {
            for (o, (b, k)) in out[4..20].iter_mut().zip(ip.octets().iter().zip(&m)) {
                *o = b ^ k;
            }
            20
        }
    };
    (out, len)
}

/// ERROR-CODE: a code from 300 to 699 and its reason phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode<'a> {
    pub code: u16,
    pub reason: &'a str,
}

impl<'a> ErrorCode<'a> {
    pub(crate) fn parse(v: &'a [u8]) -> Option<ErrorCode<'a>> {
        if v.len() < 4 {
            return None;
        }
        let class = u16::from(v[2] & 0x07);
        let number = u16::from(v[3]);
        if !(3..=6).contains(&class) || number > 99 {
            return None;
        }
        Some(ErrorCode {
            code: class * 100 + number,
            reason: std::str::from_utf8(&v[4..]).ok()?,
        })
    }
}
