//! Password credentials in RAS messages (H.235.0): who a message claims to come from, and
//! whether its token proves it with a password from the credential database.
//!
//! Two forms are read:
//! - a `ClearToken` carrying `generalID` (the user name) and `password` in clear;
//! - a `cryptoEPPwdHash`, the form most endpoints send: the MD5 digest of the aligned-PER
//!   encoding of a `ClearToken { tokenOID {0 0}, timeStamp, password, generalID }`, sent with
//!   the alias (the user name) and the time stamp but not the password.

use causeway_h323_asn1::h225::{AliasAddress, CryptoH323Token};
use causeway_h323_asn1::h235::{ClearToken, Identifier, Password, TimeStamp};
use causeway_h323_asn1::rasn::types::ObjectIdentifier;
use causeway_h323_asn1::{bmp_string, bmp_text, encode_aligned_per};
use md5::{Digest, Md5};

/// MD5's object identifier (RFC 1321 as named by PKCS #1), which `cryptoEPPwdHash` carries.
pub const MD5_OID: &[u32] = &[1, 2, 840, 113549, 2, 5];

/// How far a token's time stamp may be from our clock: endpoints' clocks drift, and a
/// replayed token older than this is refused.
pub const MAX_SKEW_SECS: u64 = 600;

/// One credential a message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Clear {
        user: String,
        password: String,
    },
    Md5 {
        user: String,
        time_stamp: u32,
        digest: Vec<u8>,
    },
}

impl Credential {
    pub fn user(&self) -> &str {
        match self {
            Credential::Clear { user, .. } | Credential::Md5 { user, .. } => user,
        }
    }

    /// Whether the credential proves `password`, at wall-clock time `now_unix`.
    pub fn verifies(&self, password: &str, now_unix: u64) -> bool {
        match self {
            Credential::Clear { password: p, .. } => constant_eq(p.as_bytes(), password.as_bytes()),
            Credential::Md5 {
                user,
                time_stamp,
                digest,
            } => {
                if u64::from(*time_stamp).abs_diff(now_unix) > MAX_SKEW_SECS {
                    return false;
                }
                match md5_digest(user, password, *time_stamp) {
                    Some(d) => constant_eq(&d, digest),
                    None => false,
                }
            }
        }
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The digest a `cryptoEPPwdHash` carries for this user, password and time stamp.
pub fn md5_digest(user: &str, password: &str, time_stamp: u32) -> Option<[u8; 16]> {
    let token = ClearToken::new(
        ObjectIdentifier::new(vec![0, 0])?,
        Some(TimeStamp(time_stamp)),
        Some(Password(bmp_string(password)?)),
        None,
        None,
        None,
        None,
        Some(Identifier(bmp_string(user)?)),
        None,
        None,
        None,
        None,
        None,
    );
    let bytes = encode_aligned_per(&token).ok()?;
    Some(Md5::digest(&bytes).into())
}

/// The credentials of a message's `tokens` and `cryptoTokens`.
pub fn credentials(
    tokens: Option<&Vec<ClearToken>>,
    crypto: Option<&Vec<CryptoH323Token>>,
) -> Vec<Credential> {
    let mut out = Vec::new();
    for t in tokens.into_iter().flatten() {
        if let (Some(id), Some(pw)) = (&t.general_id, &t.password) {
            out.push(Credential::Clear {
                user: bmp_text(&id.0),
                password: bmp_text(&pw.0),
            });
        }
    }
    for c in crypto.into_iter().flatten() {
        if let CryptoH323Token::cryptoEPPwdHash(h) = c {
            if h.token.algorithm_oid.as_ref() != MD5_OID || h.token.hash.len() != 128 {
                continue;
            }
            let user = match &h.alias {
                AliasAddress::h323_ID(s) => bmp_text(s),
                AliasAddress::dialledDigits(s)
                | AliasAddress::url_ID(s)
                | AliasAddress::email_ID(s) => s.to_string(),
                _ => continue,
            };
            out.push(Credential::Md5 {
                user,
                time_stamp: h.time_stamp.0,
                digest: h.token.hash.as_raw_slice().to_vec(),
            });
        }
    }
    out
}

/// What checking a message's credentials found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No credential at all.
    None,
    /// A credential verified against this user's password.
    Verified(String),
    /// Credentials were present and none verified.
    Failed(String),
}

/// Checks every credential against `lookup` (the credential database: user name to
/// password); the first that verifies wins.
pub fn check(
    creds: &[Credential],
    lookup: &dyn Fn(&str) -> Option<String>,
    now_unix: u64,
) -> Verdict {
    let Some(first) = creds.first() else {
        return Verdict::None;
    };
    for c in creds {
        if let Some(pw) = lookup(c.user()) {
            if c.verifies(&pw, now_unix) {
                return Verdict::Verified(c.user().to_string());
            }
        }
    }
    Verdict::Failed(first.user().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_token_verifies_only_with_the_right_password_and_a_recent_time() {
        let d = md5_digest("alice", "secret", 1_700_000_000).unwrap();
        let c = Credential::Md5 {
            user: "alice".into(),
            time_stamp: 1_700_000_000,
            digest: d.to_vec(),
        };
        assert!(c.verifies("secret", 1_700_000_100));
        assert!(!c.verifies("Secret", 1_700_000_100));
        assert!(!c.verifies("secret", 1_700_000_000 + MAX_SKEW_SECS + 1));
    }

    #[test]
    fn check_reports_none_failed_and_verified() {
        let db = |u: &str| (u == "bob").then(|| "pw".to_string());
        assert_eq!(check(&[], &db, 0), Verdict::None);
        let wrong = Credential::Clear {
            user: "bob".into(),
            password: "nope".into(),
        };
        assert_eq!(
            check(std::slice::from_ref(&wrong), &db, 0),
            Verdict::Failed("bob".into())
        );
        let right = Credential::Clear {
            user: "bob".into(),
            password: "pw".into(),
        };
        assert_eq!(
            check(&[wrong, right], &db, 0),
            Verdict::Verified("bob".into())
        );
    }
}
