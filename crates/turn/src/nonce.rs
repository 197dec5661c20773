//! Stateless nonces: the expiry and an HMAC of it and the client's address, so that a nonce
//! cannot be forged, moved to another client, or used after it ran out, and the server keeps
//! nothing per client until it allocates.

use causeway_stun::same;
use ring::hmac;
use std::net::IpAddr;

pub(crate) struct Nonces {
    key: hmac::Key,
}

/// What a nonce said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Good,
    /// Ours, but out of date: the client gets 438 and a fresh one.
    Stale,
    /// Not ours at all.
    Bad,
}

fn hex(bytes: &[u8], out: &mut String) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
}

impl Nonces {
    pub(crate) fn new(secret: &[u8]) -> Nonces {
        Nonces {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    fn tag(&self, expiry: u32, client: IpAddr) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(&expiry.to_be_bytes());
        match client {
            IpAddr::V4(ip) => ctx.update(&ip.octets()),
            IpAddr::V6(ip) => ctx.update(&ip.octets()),
        }
        ctx.sign()
    }

    /// A nonce for `client` that runs out at `expiry` (seconds of the server's clock).
    pub(crate) fn make(&self, expiry: u32, client: IpAddr) -> String {
        let mut s = String::with_capacity(40);
        hex(&expiry.to_be_bytes(), &mut s);
        hex(&self.tag(expiry, client).as_ref()[..16], &mut s);
        s
    }

    pub(crate) fn check(&self, nonce: &str, client: IpAddr, now: u32) -> Verdict {
        if nonce.len() != 40 || !nonce.is_ascii() {
            return Verdict::Bad;
        }
        let Ok(expiry) = u32::from_str_radix(&nonce[..8], 16) else {
            return Verdict::Bad;
        };
        let mut want = String::with_capacity(32);
        hex(&self.tag(expiry, client).as_ref()[..16], &mut want);
        if !same(want.as_bytes(), &nonce.as_bytes()[8..]) {
            return Verdict::Bad;
        }
        if expiry <= now {
            Verdict::Stale
        } else {
            Verdict::Good
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_good_for_its_client_until_it_runs_out() {
        let n = Nonces::new(b"secret");
        let me: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let nonce = n.make(100, me);
        assert_eq!(n.check(&nonce, me, 99), Verdict::Good);
        assert_eq!(n.check(&nonce, me, 100), Verdict::Stale);
        assert_eq!(n.check(&nonce, other, 99), Verdict::Bad);
        assert_eq!(Nonces::new(b"other").check(&nonce, me, 99), Verdict::Bad);
        let mut forged = nonce.clone();
        forged.replace_range(..8, "0000ffff");
        assert_eq!(n.check(&forged, me, 99), Verdict::Bad);
        assert_eq!(n.check("short", me, 0), Verdict::Bad);
    }
}
