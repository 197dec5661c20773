//! HTTP digest authentication for SIP (RFC 3261 §22.4, RFC 2617, RFC 7616, RFC 8760).
//!
//! The server side: issue challenges with nonces that carry their own issue time and an HMAC,
//! so that no nonce table is kept and any peer of a cluster sharing the secret can check them;
//! verify a client's credentials against a stored HA1 (the hash of user, realm and password),
//! so passwords need not be stored in clear.

use hmac::{Hmac, Mac};
use md5::Md5;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// The hash algorithms SIP digest uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Md5Sess,
    Sha256,
    Sha256Sess,
}

impl Algorithm {
    /// Parses the `algorithm` parameter; absent means MD5.
    pub fn parse(s: Option<&str>) -> Option<Algorithm> {
        match s.map(|s| s.to_ascii_uppercase()).as_deref() {
            None | Some("MD5") => Some(Algorithm::Md5),
            Some("MD5-SESS") => Some(Algorithm::Md5Sess),
            Some("SHA-256") => Some(Algorithm::Sha256),
            Some("SHA-256-SESS") => Some(Algorithm::Sha256Sess),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    fn hash(self, data: &str) -> String {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => hex(&Md5::digest(data.as_bytes())),
            Algorithm::Sha256 | Algorithm::Sha256Sess => hex(&Sha256::digest(data.as_bytes())),
        }
    }

    fn sess(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// HA1 = H(username:realm:password), what a credential store keeps instead of the password.
pub fn ha1(alg: Algorithm, username: &str, realm: &str, password: &str) -> String {
    alg.hash(&format!("{username}:{realm}:{password}"))
}

/// The quality-of-protection part of a response computation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qop<'a> {
    /// `auth` (`auth-int` is not offered).
    pub qop: &'a str,
    /// The nonce count, eight hex digits as sent.
    pub nc: &'a str,
    pub cnonce: &'a str,
}

/// The `response` value for a request, from the stored HA1.
pub fn response(
    alg: Algorithm,
    ha1: &str,
    nonce: &str,
    method: &str,
    uri: &str,
    qop: Option<&Qop>,
) -> String {
    let ha1 = match (alg.sess(), qop) {
        (true, Some(q)) => alg.hash(&format!("{ha1}:{nonce}:{}", q.cnonce)),
        _ => ha1.to_string(),
    };
    let ha2 = alg.hash(&format!("{method}:{uri}"));
    match qop {
        Some(q) => alg.hash(&format!(
            "{ha1}:{nonce}:{}:{}:{}:{ha2}",
            q.nc, q.cnonce, q.qop
        )),
        None => alg.hash(&format!("{ha1}:{nonce}:{ha2}")),
    }
}

/// Compares two strings in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y.to_ascii_lowercase()))
            == 0
}

/// Issues and checks nonces. A nonce is `<issue time, 16 hex><random padding><MAC, 16 hex>`,
/// the MAC covering time, padding and realm, `length` characters in all. The issued nonces
/// are remembered (at most `limit`, the oldest forgotten first) with how often they were
/// used, so that one is good for `max_uses` requests and no more.
#[derive(Clone)]
pub struct Nonces {
    secret: Vec<u8>,
    /// How long a nonce stays fresh, in seconds.
    pub lifetime: u64,
    /// Characters in a nonce (at least 32).
    pub length: usize,
    /// Nonces remembered at once.
    pub limit: usize,
    /// Requests one nonce may authenticate.
    pub max_uses: u32,
    issued: std::collections::HashMap<String, u32>,
    order: std::collections::VecDeque<String>,
    counter: u64,
}

/// What a nonce check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceCheck {
    Fresh,
    /// Genuine but expired, used up or forgotten: challenge again with `stale=true`, the
    /// client need not re-prompt.
    Stale,
    Forged,
}

/// The shortest nonce: the issue time and the MAC.
const STAMP: usize = 16;
const MAC: usize = 16;

impl Nonces {
    pub fn new(secret: &[u8], lifetime: u64) -> Nonces {
        Nonces {
            secret: secret.to_vec(),
            lifetime,
            length: 60,
            limit: 10_000,
            max_uses: 128,
            issued: std::collections::HashMap::new(),
            order: std::collections::VecDeque::new(),
            counter: 0,
        }
    }

    fn mac(&self, body: &str, realm: &str) -> String {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.secret).expect("any key length");
        m.update(body.as_bytes());
        m.update(b":");
        m.update(realm.as_bytes());
        hex(&m.finalize().into_bytes()[..MAC / 2])
    }

    /// A nonce issued at `now` (seconds since the epoch).
    pub fn issue(&mut self, realm: &str, now: u64) -> String {
        let length = self.length.max(STAMP + MAC);
        // The padding only has to differ between nonces; the MAC makes them unforgeable.
        self.counter = self.counter.wrapping_add(1);
        let mut pad = String::new();
        let mut n = 0u64;
        while pad.len() < length - STAMP - MAC {
            let mut m = Hmac::<Sha256>::new_from_slice(&self.secret).expect("any key length");
            m.update(&self.counter.to_be_bytes());
            m.update(&n.to_be_bytes());
            pad.push_str(&hex(&m.finalize().into_bytes()));
            n += 1;
        }
        pad.truncate(length - STAMP - MAC);
        let body = format!("{now:016x}{pad}");
        let nonce = format!("{body}{}", self.mac(&body, realm));
        while self.order.len() >= self.limit.max(1) {
            if let Some(old) = self.order.pop_front() {
                self.issued.remove(&old);
            }
        }
        self.issued.insert(nonce.clone(), 0);
        self.order.push_back(nonce.clone());
        nonce
    }

    /// Checks a nonce without using it up.
    pub fn check(&self, nonce: &str, realm: &str, now: u64) -> NonceCheck {
        if nonce.len() < STAMP + MAC || !nonce.is_ascii() {
            return NonceCheck::Forged;
        }
        let (body, mac) = nonce.split_at(nonce.len() - MAC);
        if !same(mac, &self.mac(body, realm)) {
            return NonceCheck::Forged;
        }
        let fresh = match u64::from_str_radix(&body[..STAMP], 16) {
            Ok(t) => t <= now && now - t <= self.lifetime,
            Err(_) => return NonceCheck::Forged,
        };
        let usable = self.issued.get(nonce).is_some_and(|&n| n < self.max_uses);
        if fresh && usable {
            NonceCheck::Fresh
        } else {
            NonceCheck::Stale
        }
    }

    /// Counts one use of a nonce that authenticated a request.
    pub fn used(&mut self, nonce: &str) {
        if let Some(n) = self.issued.get_mut(nonce) {
            *n += 1;
        }
    }
}

/// A `WWW-Authenticate` / `Proxy-Authenticate` value.
pub fn challenge(alg: Algorithm, realm: &str, nonce: &str, stale: bool) -> String {
    let mut s = format!(
        "Digest realm=\"{}\", nonce=\"{nonce}\", algorithm={}, qop=\"auth\"",
        realm.replace(['"', '\\'], ""),
        alg.name()
    );
    if stale {
        s.push_str(", stale=true");
    }
    s
}

/// The parameters of an `Authorization` / `Proxy-Authorization` digest answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: Option<String>,
    pub cnonce: Option<String>,
    pub qop: Option<String>,
    pub nc: Option<String>,
    pub opaque: Option<String>,
}

/// The outcome of checking credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// Right password, old nonce: challenge again with `stale=true`.
    Stale,
    /// Wrong password, forged nonce, unknown algorithm or missing parameters.
    Denied,
}

impl Credentials {
    /// From (name, value) pairs with quotes already removed; names ignore case.
    pub fn from_params<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> Credentials {
        let mut c = Credentials::default();
        for (k, v) in params {
            let v = v.to_string();
            match k.to_ascii_lowercase().as_str() {
                "username" => c.username = v,
                "realm" => c.realm = v,
                "nonce" => c.nonce = v,
                "uri" => c.uri = v,
                "response" => c.response = v,
                "algorithm" => c.algorithm = Some(v),
                "cnonce" => c.cnonce = Some(v),
                "qop" => c.qop = Some(v),
                "nc" => c.nc = Some(v),
                "opaque" => c.opaque = Some(v),
                _ => {}
            }
        }
        c
    }

    /// Checks the answer for `method` against the stored HA1 (computed with the same algorithm).
    /// Checks the answer, and counts the nonce's use when it is good.
    pub fn verify(&self, method: &str, ha1: &str, nonces: &mut Nonces, now: u64) -> Verdict {
        let Some(alg) = Algorithm::parse(self.algorithm.as_deref()) else {
            return Verdict::Denied;
        };
        let qop = match (&self.qop, &self.nc, &self.cnonce) {
            (Some(q), Some(nc), Some(cn)) if q.eq_ignore_ascii_case("auth") => Some(Qop {
                qop: q,
                nc,
                cnonce: cn,
            }),
            (None, _, _) if !alg.sess() => None,
            _ => return Verdict::Denied,
        };
        let expected = response(alg, ha1, &self.nonce, method, &self.uri, qop.as_ref());
        if !same(&expected, &self.response.to_ascii_lowercase()) {
            return Verdict::Denied;
        }
        match nonces.check(&self.nonce, &self.realm, now) {
            NonceCheck::Fresh => {
                nonces.used(&self.nonce);
                Verdict::Ok
            }
            NonceCheck::Stale => Verdict::Stale,
            NonceCheck::Forged => Verdict::Denied,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2617 §3.5's worked example (an HTTP GET, but the arithmetic is the same).
    #[test]
    fn rfc2617_example() {
        let h = ha1(
            Algorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
        );
        let r = response(
            Algorithm::Md5,
            &h,
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            "GET",
            "/dir/index.html",
            Some(&Qop {
                qop: "auth",
                nc: "00000001",
                cnonce: "0a4f113b",
            }),
        );
        assert_eq!(r, "6629fae49393a05397450978507c4ef1");
    }

    /// RFC 7616 §3.9.1's SHA-256 example.
    #[test]
    fn rfc7616_sha256_example() {
        let h = ha1(
            Algorithm::Sha256,
            "Mufasa",
            "http-auth@example.org",
            "Circle of Life",
        );
        let r = response(
            Algorithm::Sha256,
            &h,
            "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            "GET",
            "/dir/index.html",
            Some(&Qop {
                qop: "auth",
                nc: "00000001",
                cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
            }),
        );
        assert_eq!(
            r,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn nonces_expire_and_resist_forgery() {
        let mut n = Nonces::new(b"secret", 300);
        let nonce = n.issue("example.com", 1_000);
        assert_eq!(nonce.len(), 60, "the factory length");
        assert_eq!(n.check(&nonce, "example.com", 1_100), NonceCheck::Fresh);
        assert_eq!(n.check(&nonce, "example.com", 1_301), NonceCheck::Stale);
        assert_eq!(n.check(&nonce, "other.com", 1_100), NonceCheck::Forged);
        let mut forged = nonce.clone();
        forged.replace_range(0..1, if nonce.starts_with('0') { "1" } else { "0" });
        assert_eq!(n.check(&forged, "example.com", 1_100), NonceCheck::Forged);
        assert_eq!(n.check("short", "example.com", 1_100), NonceCheck::Forged);
        assert_eq!(
            Nonces::new(b"other", 300).check(&nonce, "example.com", 1_100),
            NonceCheck::Forged
        );
    }

    #[test]
    fn verify_round_trip() {
        let mut nonces = Nonces::new(b"k", 60);
        let realm = "example.com";
        let nonce = nonces.issue(realm, 50);
        let stored = ha1(Algorithm::Md5, "alice", realm, "pw");
        let qop = Qop {
            qop: "auth",
            nc: "00000001",
            cnonce: "abc",
        };
        let mut c = Credentials::from_params([
            ("username", "alice"),
            ("realm", realm),
            ("nonce", nonce.as_str()),
            ("uri", "sip:example.com"),
            ("qop", "auth"),
            ("nc", "00000001"),
            ("cnonce", "abc"),
        ]);
        c.response = response(
            Algorithm::Md5,
            &stored,
            &nonce,
            "REGISTER",
            "sip:example.com",
            Some(&qop),
        );
        assert_eq!(c.verify("REGISTER", &stored, &mut nonces, 60), Verdict::Ok);
        assert_eq!(
            c.verify("REGISTER", &stored, &mut nonces, 200),
            Verdict::Stale
        );
        assert_eq!(
            c.verify("INVITE", &stored, &mut nonces, 60),
            Verdict::Denied
        );
        let wrong = ha1(Algorithm::Md5, "alice", realm, "guess");
        assert_eq!(
            c.verify("REGISTER", &wrong, &mut nonces, 60),
            Verdict::Denied
        );
        c.algorithm = Some("SHA-512-256".into());
        assert_eq!(
            c.verify("REGISTER", &stored, &mut nonces, 60),
            Verdict::Denied
        );
        // Without qop (RFC 2069 style) for plain MD5.
        let mut c2 = c.clone();
        c2.algorithm = None;
        c2.qop = None;
        c2.response = response(
            Algorithm::Md5,
            &stored,
            &nonce,
            "REGISTER",
            "sip:example.com",
            None,
        );
        assert_eq!(c2.verify("REGISTER", &stored, &mut nonces, 60), Verdict::Ok);
        assert!(challenge(Algorithm::Md5, realm, &nonce, true).ends_with("stale=true"));
    }

    /// A nonce is good for `max_uses` requests; only `limit` nonces are remembered (the
    /// oldest forgotten first), and a forgotten one is stale; the length is as set.
    #[test]
    fn nonces_are_used_up_and_forgotten() {
        let mut n = Nonces::new(b"k", 300);
        n.max_uses = 2;
        n.limit = 2;
        n.length = 100;
        let a = n.issue("r", 10);
        assert_eq!(a.len(), 100);
        assert_eq!(n.check(&a, "r", 11), NonceCheck::Fresh);
        n.used(&a);
        assert_eq!(n.check(&a, "r", 11), NonceCheck::Fresh);
        n.used(&a);
        assert_eq!(n.check(&a, "r", 11), NonceCheck::Stale, "used up");
        let b = n.issue("r", 12);
        let _c = n.issue("r", 13);
        assert_eq!(n.check(&a, "r", 14), NonceCheck::Stale, "forgotten");
        assert_eq!(n.check(&b, "r", 14), NonceCheck::Fresh);
        assert_ne!(b, _c, "two nonces of one second differ");
    }
}
