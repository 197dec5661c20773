//! HTTP Basic authentication for the API, with a short-lived cache of good logins.
//!
//! Checking a password is slow on purpose (argon2id), far slower than any API call, so a
//! script making many calls would spend its time in password checks. After a good login the
//! same name and password are accepted without a check for [`TTL`], as long as the
//! configuration has not changed: accounts live in the configuration, so any commit (a new
//! password, a disabled account, a lowered access level) empties the cache in effect.
//!
//! The cache holds an HMAC-SHA-256 of the name and password under a key made at start-up and
//! never stored, so a memory dump shows neither the password nor a hash that could be
//! attacked offline without the key.

use crate::{reply, Shared};
use axum::body::Body;
use base64::Engine as _;
use causeway_xapi::auth::{LoginError, Surface};
use causeway_xapi::Principal;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use ring::hmac;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How long a good login is remembered.
pub(crate) const TTL: Duration = Duration::from_secs(60);
/// Entries kept at most; past this, expired ones go, and if that is not enough, all of them.
const MAX_ENTRIES: usize = 4096;
/// Password checks running at once. Each takes a core and tens of megabytes for a moment; a
/// burst of bad guesses waits here instead of starving the call services.
const CONCURRENT_CHECKS: usize = 4;
/// Longer Authorization headers are refused unread.
const MAX_HEADER: usize = 4096;

pub(crate) const CHALLENGE: &str = "Basic realm=\"causeway\", charset=\"UTF-8\"";

struct Entry {
    principal: Principal,
    revision: u64,
    until: Instant,
}

pub(crate) struct LoginCache {
    key: hmac::Key,
    entries: Mutex<HashMap<Vec<u8>, Entry>>,
    checks: Semaphore,
}

impl LoginCache {
    pub(crate) fn new() -> LoginCache {
        let rng = ring::rand::SystemRandom::new();
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng)
            .expect("the system random number generator failed");
        LoginCache {
            key,
            entries: Mutex::new(HashMap::new()),
            checks: Semaphore::new(CONCURRENT_CHECKS),
        }
    }

    fn tag(&self, user: &str, password: &str) -> Vec<u8> {
        let mut ctx = hmac::Context::with_key(&self.key);
        // The length prefix keeps ("ab", "c") and ("a", "bc") apart.
        ctx.update(&(user.len() as u64).to_be_bytes());
        ctx.update(user.as_bytes());
        ctx.update(password.as_bytes());
        ctx.sign().as_ref().to_vec()
    }

    fn get(&self, tag: &[u8], revision: u64, now: Instant) -> Option<Principal> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(tag) {
            Some(e) if e.revision == revision && now < e.until => Some(e.principal.clone()),
            Some(_) => {
                entries.remove(tag);
                None
            }
            None => None,
        }
    }

    fn put(&self, tag: Vec<u8>, principal: Principal, revision: u64, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.revision == revision && now < e.until);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            tag,
            Entry {
                principal,
                revision,
                until: now + TTL,
            },
        );
    }
}

/// Decodes `Authorization: Basic …` into a name and a password.
fn credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?;
    if value.len() > MAX_HEADER {
        return None;
    }
    let value = value.to_str().ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, password) = text.split_once(':')?;
    if user.is_empty() {
        return None;
    }
    Some((user.to_string(), password.to_string()))
}

fn challenge(message: &str) -> Response<Body> {
    let mut r = reply::error(StatusCode::UNAUTHORIZED, "Unauthorized", message);
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(CHALLENGE),
    );
    r
}

/// The principal a request acts as, or the answer that refuses it.
pub(crate) async fn authenticate(
    shared: &Shared,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Result<Principal, Response<Body>> {
    let Some((user, password)) = credentials(headers) else {
        return Err(challenge(
            "this API needs HTTP Basic authentication with an administrator account",
        ));
    };
    let source = peer.ip().to_string();
    // Read before the check: if a commit lands while the password is being checked, the entry
    // is stored under the older revision and the next request checks again.
    let revision = shared.engine.config.snapshot().revision;
    let cache = &shared.logins;
    let tag = cache.tag(&user, &password);
    if let Some(mut principal) = cache.get(&tag, revision, Instant::now()) {
        // The log should name where this request came from, not where the first one did.
        principal.source = source;
        return Ok(principal);
    }

    let Ok(_permit) = cache.checks.acquire().await else {
        return Err(reply::internal());
    };
    // Requests with the same login that waited for a slot find the first one's result: a
    // client opening many connections at once costs one check, not one per connection.
    if let Some(mut principal) = cache.get(&tag, revision, Instant::now()) {
        principal.source = source;
        return Ok(principal);
    }
    let auth = shared.auth.clone();
    let checked =
        tokio::task::spawn_blocking(move || auth.login(&user, &password, Surface::Api, &source))
            .await;
    let login = match checked {
        Ok(r) => r,
        Err(_) => return Err(reply::internal()),
    };
    match login {
        Ok(login) if login.must_change_password => Err(reply::error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "this account must choose a new password before using the API; \
             change it in the web interface or ask an administrator",
        )),
        Ok(login) => {
            cache.put(tag, login.principal.clone(), revision, Instant::now());
            Ok(login.principal)
        }
        Err(LoginError::BadCredentials) => Err(challenge("wrong user name or password")),
        // One message for both, so that an account's state is not told apart from its rights.
        Err(LoginError::Disabled | LoginError::NoAccess(_) | LoginError::Unauthorized) => {
            Err(reply::error(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "this account may not use the REST API",
            ))
        }
        Err(LoginError::Unavailable(_)) => Err(reply::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Unavailable",
            "the login could not be checked now (remote authentication is unreachable); \
             try again later",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use causeway_xapi::Access;

    fn p() -> Principal {
        Principal {
            user: "a".into(),
            source: "x".into(),
            access: Access::ReadWrite,
        }
    }

    #[test]
    fn entries_expire_and_follow_the_revision() {
        let c = LoginCache::new();
        let t0 = Instant::now();
        let tag = c.tag("a", "pw");
        c.put(tag.clone(), p(), 7, t0);
        assert!(c.get(&tag, 7, t0 + Duration::from_secs(59)).is_some());
        assert!(c.get(&tag, 8, t0).is_none());
        // A miss for a newer revision removes the entry for good.
        assert!(c.get(&tag, 7, t0).is_none());
        c.put(tag.clone(), p(), 7, t0);
        assert!(c.get(&tag, 7, t0 + TTL).is_none());
    }

    #[test]
    fn tags_separate_name_from_password() {
        let c = LoginCache::new();
        assert_ne!(c.tag("ab", "c"), c.tag("a", "bc"));
        assert_eq!(c.tag("a", "b"), c.tag("a", "b"));
        assert_ne!(LoginCache::new().tag("a", "b"), c.tag("a", "b"));
    }

    #[test]
    fn basic_header_parsing() {
        let mut h = HeaderMap::new();
        assert!(credentials(&h).is_none());
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic YWxpY2U6c2U6Y3JldA=="),
        );
        assert_eq!(
            credentials(&h),
            Some(("alice".to_string(), "se:cret".to_string()))
        );
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!"));
        assert!(credentials(&h).is_none());
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert!(credentials(&h).is_none());
        // ":pw" has no user name.
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic OnB3"),
        );
        assert!(credentials(&h).is_none());
    }
}
