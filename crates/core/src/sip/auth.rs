//! Device authentication: the zone's or subzone's policy (Check credentials, Do not check
//! credentials, Treat as authenticated) decides whether a request is challenged with digest
//! against the local authentication database, and whether it counts as authenticated.

use super::util::header_str;
use super::Service;
use causeway_sip::digest::{self, Algorithm, Nonces, Verdict};
use causeway_sip::header::AuthHeader;
use causeway_sip::{Method, Request, Response};
use std::collections::HashMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// A zone's or subzone's authentication policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Policy {
    Check,
    DoNotCheck,
    TreatAsAuthenticated,
}

impl Policy {
    pub(super) fn from_config(v: Option<&str>) -> Policy {
        match v {
            Some("CheckCredentials") => Policy::Check,
            Some("TreatAsAuthenticated") => Policy::TreatAsAuthenticated,
            _ => Policy::DoNotCheck,
        }
    }
}

/// What happens to a request's P-Asserted-Identity (RFC 3325) on its way on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pai {
    /// Passed on as it came (or absent, as it came).
    Keep,
    /// Removed: nobody vouches for it.
    Strip,
    /// Replaced by the identity this node vouches for (the From address).
    Assert,
}

/// The first answer of the authentication table (notes on device authentication, SIP), before
/// any digest is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum First {
    Challenge,
    Authenticated(Pai),
    Unauthenticated(Pai),
}

/// The SIP device authentication table: the zone's policy, whether the zone is trusted to
/// assert identities, whether the From domain is one of ours, and whether the request carries
/// a P-Asserted-Identity.
pub(super) fn table(policy: Policy, trust: bool, local: bool, has_pai: bool) -> First {
    use First::*;
    match (policy, trust) {
        (Policy::Check, false) if local => Challenge,
        (Policy::Check, false) => Unauthenticated(Pai::Strip),
        (Policy::Check, true) if has_pai => Authenticated(Pai::Keep),
        (Policy::Check, true) if local => Challenge,
        (Policy::Check, true) => Unauthenticated(Pai::Keep),
        (Policy::DoNotCheck, false) => Unauthenticated(Pai::Strip),
        (Policy::DoNotCheck, true) if has_pai => Authenticated(Pai::Keep),
        (Policy::DoNotCheck, true) => Unauthenticated(Pai::Keep),
        (Policy::TreatAsAuthenticated, false) if local => Authenticated(Pai::Assert),
        (Policy::TreatAsAuthenticated, false) => Unauthenticated(Pai::Strip),
        (Policy::TreatAsAuthenticated, true) if local && has_pai => Authenticated(Pai::Keep),
        (Policy::TreatAsAuthenticated, true) if local => Authenticated(Pai::Assert),
        (Policy::TreatAsAuthenticated, true) if has_pai => Authenticated(Pai::Keep),
        (Policy::TreatAsAuthenticated, true) => Unauthenticated(Pai::Keep),
    }
}

/// What authentication decided for a request.
pub(super) enum Outcome {
    /// With the user name that proved it, when a digest did.
    Authenticated(Option<String>, Pai),
    Unauthenticated(Pai),
    /// Answer with this (a challenge, or 403 once the retries are used up).
    Answer(Response),
}

/// Digest state: the nonce key and the failed attempts per Call-ID.
pub(super) struct Auth {
    nonces: Nonces,
    failures: HashMap<String, (u32, Instant)>,
}

/// Failed attempts are forgotten after this long without another.
const FAILURE_MEMORY: std::time::Duration = std::time::Duration::from_secs(300);

impl Auth {
    pub(super) fn new(lifetime: u64) -> Auth {
        let secret: [u8; 32] = rand::random();
        Auth {
            nonces: Nonces::new(&secret, lifetime),
            failures: HashMap::new(),
        }
    }

    /// `SIP Authentication Digest Nonce …`: lifetime, length, how many are remembered, and
    /// how often one may be used.
    pub(super) fn set_nonces(&mut self, snap: &causeway_config::Snapshot) {
        let int = |k: &str, d: i64| {
            snap.int(&format!("SIP Authentication Digest Nonce {k}"))
                .unwrap_or(d)
        };
        self.nonces.lifetime = int("ExpireDelta", 300).max(1) as u64;
        self.nonces.length = int("Length", 60).clamp(32, 512) as usize;
        self.nonces.limit = int("Limit", 10_000).max(1) as usize;
        self.nonces.max_uses = int("Maximum Use Count", 128).max(1) as u32;
    }

    fn failed(&mut self, call_id: &str, now: Instant) -> u32 {
        if self.failures.len() > 10_000 {
            self.failures
                .retain(|_, (_, at)| now.duration_since(*at) < FAILURE_MEMORY);
        }
        let e = self.failures.entry(call_id.to_string()).or_insert((0, now));
        if now.duration_since(e.1) >= FAILURE_MEMORY {
            e.0 = 0;
        }
        e.0 += 1;
        e.1 = now;
        e.0
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Service {
    /// Applies `policy` to a request from `local_origin` (the From domain is one of ours),
    /// from a zone that is (`trust`) or is not trusted to assert identities. REGISTERs are
    /// challenged with 401, everything else with 407.
    pub(super) fn authenticate(
        &mut self,
        req: &Request,
        policy: Policy,
        trust: bool,
        local_origin: bool,
        realm: &str,
        now: Instant,
    ) -> Outcome {
        let has_pai = req.headers.get("P-Asserted-Identity").is_some();
        match table(policy, trust, local_origin, has_pai) {
            First::Authenticated(pai) => return Outcome::Authenticated(None, pai),
            First::Unauthenticated(pai) => return Outcome::Unauthenticated(pai),
            First::Challenge => {}
        }
        let register = req.method == Method::Register;
        let (ask, answer) = if register {
            (401, "Authorization")
        } else {
            (407, "Proxy-Authorization")
        };
        let call_id = header_str(&req.headers, "Call-ID")
            .unwrap_or("")
            .to_string();
        let t = unix_now();
        let mut stale = false;
        let offered: Vec<AuthHeader> = req
            .headers
            .get_all(answer)
            .filter_map(|v| std::str::from_utf8(v).ok())
            .filter_map(|v| AuthHeader::parse(v).ok())
            .filter(|h| h.is_digest())
            .collect();
        let mut tried = false;
        for h in &offered {
            let names = [
                "username",
                "realm",
                "nonce",
                "uri",
                "response",
                "algorithm",
                "cnonce",
                "qop",
                "nc",
                "opaque",
            ];
            let params: Vec<(&str, String)> = names
                .iter()
                .filter_map(|n| h.param(n).map(|v| (*n, v.into_owned())))
                .collect();
            let creds =
                digest::Credentials::from_params(params.iter().map(|(k, v)| (*k, v.as_str())));
            if creds.realm != realm {
                continue;
            }
            tried = true;
            let Some(alg) = Algorithm::parse(creds.algorithm.as_deref()) else {
                continue;
            };
            let Some(password) = self.config.credential_password(&creds.username) else {
                continue;
            };
            let ha1 = digest::ha1(alg, &creds.username, realm, &password);
            match creds.verify(req.method.as_str(), &ha1, &mut self.auth.nonces, t) {
                Verdict::Ok => {
                    self.auth.failures.remove(&call_id);
                    return Outcome::Authenticated(Some(creds.username), Pai::Assert);
                }
                Verdict::Stale => stale = true,
                Verdict::Denied => {}
            }
        }
        if tried && !stale {
            let limit = self
                .snap
                .int("SIP Authentication Retry Limit")
                .unwrap_or(3)
                .max(1) as u32;
            if self.auth.failed(&call_id, now) >= limit {
                self.auth.failures.remove(&call_id);
                return Outcome::Answer(Response::for_request(req, 403, "Forbidden"));
            }
        }
        let mut r = Response::for_request(req, ask, "");
        let header = if register {
            "WWW-Authenticate"
        } else {
            "Proxy-Authenticate"
        };
        let nonce = self.auth.nonces.issue(realm, t);
        // MD5 first: clients take the first algorithm they know, and many know only MD5.
        for alg in [Algorithm::Md5, Algorithm::Sha256] {
            let _ = r
                .headers
                .push(header, digest::challenge(alg, realm, &nonce, stale));
        }
        Outcome::Answer(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use First::*;

    /// Every row of the table, local and non-local origin, with and without an asserted
    /// identity.
    #[test]
    fn the_authentication_table() {
        use Policy::*;
        let rows = [
            // policy, trust, local, pai, expected
            (Check, false, true, false, Challenge),
            (Check, false, true, true, Challenge),
            (Check, false, false, true, Unauthenticated(Pai::Strip)),
            (Check, true, true, true, Authenticated(Pai::Keep)),
            (Check, true, true, false, Challenge),
            (Check, true, false, true, Authenticated(Pai::Keep)),
            (Check, true, false, false, Unauthenticated(Pai::Keep)),
            (DoNotCheck, false, true, true, Unauthenticated(Pai::Strip)),
            (DoNotCheck, false, false, true, Unauthenticated(Pai::Strip)),
            (DoNotCheck, true, true, true, Authenticated(Pai::Keep)),
            (DoNotCheck, true, false, false, Unauthenticated(Pai::Keep)),
            (
                TreatAsAuthenticated,
                false,
                true,
                true,
                Authenticated(Pai::Assert),
            ),
            (
                TreatAsAuthenticated,
                false,
                false,
                true,
                Unauthenticated(Pai::Strip),
            ),
            (
                TreatAsAuthenticated,
                true,
                true,
                true,
                Authenticated(Pai::Keep),
            ),
            (
                TreatAsAuthenticated,
                true,
                true,
                false,
                Authenticated(Pai::Assert),
            ),
            (
                TreatAsAuthenticated,
                true,
                false,
                true,
                Authenticated(Pai::Keep),
            ),
            (
                TreatAsAuthenticated,
                true,
                false,
                false,
                Unauthenticated(Pai::Keep),
            ),
        ];
        for (policy, trust, local, pai, want) in rows {
            assert_eq!(
                table(policy, trust, local, pai),
                want,
                "{policy:?} trust {trust} local {local} pai {pai}"
            );
        }
    }
}
