//! Browser sessions: who is logged in, from where, since when, and the token their forms carry.
//!
//! A session is named by a random 256-bit value sent in a cookie; the registry keys sessions by
//! the SHA-256 of that value, so that the registry itself (a memory dump, a debugger) never
//! holds a usable cookie. The idle timeout and the concurrent-session limits are read from the
//! configuration each time they are applied, so a change applies to the next request.

use base64::Engine as _;
use causeway_config::Snapshot;
use causeway_xapi::Access;
use ring::rand::SecureRandom as _;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

pub(crate) const COOKIE: &str = "__Host-causeway_session";

pub(crate) const IDLE: &str = "Management Session InactivityTimeout";
pub(crate) const MAX_TOTAL: &str = "Management Session MaxConcurrentSessionsTotal";
pub(crate) const MAX_USER: &str = "Management Session MaxConcurrentSessionsUser";
/// Sessions kept at most whatever the configuration says ("0 = unlimited" still has to fit in
/// memory); far more than any administration team opens.
const HARD_LIMIT: usize = 4096;

/// A message for the information bar, shown once on the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Flash {
    pub error: bool,
    pub text: String,
}

struct State {
    last: Instant,
    last_wall: SystemTime,
    access: Access,
    must_change_password: bool,
    flash: Vec<Flash>,
    /// The configuration revision at which the account was last checked.
    checked: u64,
}

pub(crate) struct Session {
    key: [u8; 32],
    /// A short public name for the session (the Active sessions page terminates by it).
    pub handle: String,
    pub user: String,
    pub source: IpAddr,
    pub login_at: SystemTime,
    pub csrf: String,
    /// Logged in with a local account (so the account's row is followed for changes).
    pub local: bool,
    state: Mutex<State>,
}

// Never prints the form token.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl Session {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn access(&self) -> Access {
        self.state().access
    }

    pub fn must_change_password(&self) -> bool {
        self.state().must_change_password
    }

    pub fn password_changed(&self) {
        self.state().must_change_password = false;
    }

    pub fn last_access(&self) -> SystemTime {
        self.state().last_wall
    }

    pub fn flash(&self, error: bool, text: impl Into<String>) {
        let mut s = self.state();
        // A page that is never shown must not let messages pile up.
        if s.flash.len() < 8 {
            s.flash.push(Flash {
                error,
                text: text.into(),
            });
        }
    }

    pub fn take_flash(&self) -> Vec<Flash> {
        std::mem::take(&mut self.state().flash)
    }

    /// Whether `token` is this session's form token (compared in constant time).
    pub fn csrf_ok(&self, token: &str) -> bool {
        ring_eq(self.csrf.as_bytes(), token.as_bytes())
    }
}

fn ring_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why a new session was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    Total(i64),
    User(i64),
}

/// What a login attempt needs to know about the account it opens a session for.
pub(crate) struct NewSession<'a> {
    pub user: &'a str,
    pub source: IpAddr,
    pub access: Access,
    pub must_change_password: bool,
    pub local: bool,
}

/// An ended session, for the hook.
#[derive(Debug)]
pub(crate) struct Ended {
    pub user: String,
    pub source: String,
    pub why: String,
}

pub(crate) struct Sessions {
    map: Mutex<HashMap<[u8; 32], Arc<Session>>>,
    rng: ring::rand::SystemRandom,
}

fn random_text(rng: &ring::rand::SystemRandom, bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rng.fill(&mut b)
        .expect("the system random number generator failed");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn digest(cookie: &str) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, cookie.as_bytes());
    let mut k = [0u8; 32];
    k.copy_from_slice(d.as_ref());
    k
}

/// The idle timeout in force; `None` when sessions never time out.
pub(crate) fn idle_limit(snap: &Snapshot) -> Option<Duration> {
    match snap.int(IDLE) {
        Some(m) if m > 0 => Some(Duration::from_secs(m as u64 * 60)),
        _ => None,
    }
}

impl Default for Sessions {
    fn default() -> Sessions {
        Sessions::new()
    }
}

impl Sessions {
    pub fn new() -> Sessions {
        Sessions {
            map: Mutex::new(HashMap::new()),
            rng: ring::rand::SystemRandom::new(),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Arc<Session>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Removes sessions idle for longer than the configured timeout.
    pub fn expire(&self, snap: &Snapshot, now: Instant) -> Vec<Ended> {
        let Some(limit) = idle_limit(snap) else {
            return Vec::new();
        };
        let mut ended = Vec::new();
        self.map().retain(|_, s| {
            let keep = now.saturating_duration_since(s.state().last) <= limit;
            if !keep {
                ended.push(Ended {
                    user: s.user.clone(),
                    source: s.source.to_string(),
                    why: "inactivity timeout".into(),
                });
            }
            keep
        });
        ended
    }

    /// Opens a session, unless a concurrent-session limit forbids it. Returns the cookie value.
    pub fn open(
        &self,
        snap: &Snapshot,
        new: NewSession<'_>,
        now: Instant,
    ) -> Result<(String, Arc<Session>), Refused> {
        let total = snap.int(MAX_TOTAL).unwrap_or(0);
        let per_user = snap.int(MAX_USER).unwrap_or(0);
        let cookie = random_text(&self.rng, 32);
        let key = digest(&cookie);
        let session = Arc::new(Session {
            key,
            handle: random_text(&self.rng, 12),
            user: new.user.to_string(),
            source: new.source,
            login_at: SystemTime::now(),
            csrf: random_text(&self.rng, 32),
            local: new.local,
            state: Mutex::new(State {
                last: now,
                last_wall: SystemTime::now(),
                access: new.access,
                must_change_password: new.must_change_password,
                flash: Vec::new(),
                checked: snap.revision,
            }),
        });
        let mut map = self.map();
        if total > 0 && map.len() as i64 >= total {
            return Err(Refused::Total(total));
        }
        if map.len() >= HARD_LIMIT {
            return Err(Refused::Total(HARD_LIMIT as i64));
        }
        if per_user > 0 && map.values().filter(|s| s.user == new.user).count() as i64 >= per_user {
            return Err(Refused::User(per_user));
        }
        map.insert(key, session.clone());
        Ok((cookie, session))
    }

    /// The session a cookie names, if it is alive. `touch` records the access (requests that
    /// refresh a page by themselves do not, so that an open page does not keep a session alive).
    pub fn find(
        &self,
        cookie: &str,
        snap: &Snapshot,
        now: Instant,
        touch: bool,
    ) -> Result<Arc<Session>, Option<Ended>> {
        let key = digest(cookie);
        let mut map = self.map();
        let Some(s) = map.get(&key).cloned() else {
            return Err(None);
        };
        let mut st = s.state();
        if idle_limit(snap).is_some_and(|l| now.saturating_duration_since(st.last) > l) {
            drop(st);
            map.remove(&key);
            return Err(Some(Ended {
                user: s.user.clone(),
                source: s.source.to_string(),
                why: "inactivity timeout".into(),
            }));
        }
        if touch {
            st.last = now;
            st.last_wall = SystemTime::now();
        }
        drop(st);
        Ok(s)
    }

    /// Follows changes to the session's account: a disabled, removed or web-less account ends
    /// the session; a changed access level applies at once. Checked once per revision.
    pub fn follow_account(&self, s: &Session, snap: &Snapshot) -> Result<(), Ended> {
        if !s.local {
            return Ok(());
        }
        {
            let mut st = s.state();
            if st.checked == snap.revision {
                return Ok(());
            }
            st.checked = snap.revision;
        }
        let account = causeway_config::accounts::find(snap.stored(), &s.user);
        let why = match account {
            None => "account removed",
            Some(a) if !a.enabled => "account disabled",
            Some(a) if !a.web => "web access withdrawn",
            Some(a) => {
                s.state().access = causeway_xapi::auth::access_of(a.level);
                return Ok(());
            }
        };
        self.map().remove(&s.key);
        Err(Ended {
            user: s.user.clone(),
            source: s.source.to_string(),
            why: why.into(),
        })
    }

    /// Ends a session (logout).
    pub fn close(&self, s: &Session) -> bool {
        self.map().remove(&s.key).is_some()
    }

    /// Ends the session with this handle.
    pub fn terminate(&self, handle: &str) -> Option<Arc<Session>> {
        let mut map = self.map();
        let key = map
            .iter()
            .find(|(_, s)| ring_eq(s.handle.as_bytes(), handle.as_bytes()))
            .map(|(k, _)| *k)?;
        map.remove(&key)
    }

    /// Every live session, oldest login first.
    pub fn list(&self) -> Vec<Arc<Session>> {
        let mut v: Vec<_> = self.map().values().cloned().collect();
        v.sort_by_key(|s| s.login_at);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use causeway_config::Values;

    fn snap(pairs: &[(&str, &str)]) -> Snapshot {
        let mut v = Values::new();
        for (k, val) in pairs {
            v.insert(k.to_string(), val.to_string());
        }
        Snapshot::from_values(v)
    }

    fn new(user: &str) -> NewSession<'_> {
        NewSession {
            user,
            source: "127.0.0.1".parse().unwrap(),
            access: Access::ReadWrite,
            must_change_password: false,
            local: false,
        }
    }

    #[test]
    fn cookies_find_their_session_and_nothing_else() {
        let s = Sessions::new();
        let cfg = snap(&[]);
        let now = Instant::now();
        let (cookie, sess) = s.open(&cfg, new("alice"), now).unwrap();
        assert_eq!(cookie.len(), 43);
        assert_eq!(s.find(&cookie, &cfg, now, true).unwrap().user, "alice");
        assert!(s.find("nope", &cfg, now, true).is_err());
        assert!(sess.csrf_ok(&sess.csrf.clone()));
        assert!(!sess.csrf_ok("x"));
        assert!(s.close(&sess));
        assert!(s.find(&cookie, &cfg, now, true).is_err());
    }

    #[test]
    fn idle_sessions_end_after_the_configured_minutes() {
        let s = Sessions::new();
        let cfg = snap(&[(IDLE, "2")]);
        let t0 = Instant::now();
        let (cookie, _) = s.open(&cfg, new("a"), t0).unwrap();
        // A self-refreshing page does not count as activity.
        assert!(s
            .find(&cookie, &cfg, t0 + Duration::from_secs(100), false)
            .is_ok());
        assert!(s
            .find(&cookie, &cfg, t0 + Duration::from_secs(119), true)
            .is_ok());
        let late = t0 + Duration::from_secs(119 + 121);
        let ended = s.find(&cookie, &cfg, late, true).unwrap_err().unwrap();
        assert_eq!(ended.why, "inactivity timeout");
        // 0 means never.
        let never = snap(&[(IDLE, "0")]);
        let (cookie, _) = s.open(&never, new("a"), t0).unwrap();
        assert!(s
            .find(&cookie, &never, t0 + Duration::from_secs(86400 * 30), true)
            .is_ok());
        assert!(s.expire(&never, t0 + Duration::from_secs(86400)).is_empty());
        assert_eq!(
            s.expire(&cfg, t0 + Duration::from_secs(86400 * 31)).len(),
            1
        );
    }

    #[test]
    fn limits_count_live_sessions() {
        let s = Sessions::new();
        let cfg = snap(&[(MAX_TOTAL, "3"), (MAX_USER, "2")]);
        let now = Instant::now();
        s.open(&cfg, new("a"), now).unwrap();
        let (_, second) = s.open(&cfg, new("a"), now).unwrap();
        assert_eq!(s.open(&cfg, new("a"), now).unwrap_err(), Refused::User(2));
        s.open(&cfg, new("b"), now).unwrap();
        assert_eq!(s.open(&cfg, new("c"), now).unwrap_err(), Refused::Total(3));
        s.close(&second);
        s.open(&cfg, new("c"), now).unwrap();
        // 0 is unlimited.
        let open = snap(&[]);
        for _ in 0..10 {
            s.open(&open, new("a"), now).unwrap();
        }
    }

    #[test]
    fn terminate_by_handle() {
        let s = Sessions::new();
        let cfg = snap(&[]);
        let (cookie, sess) = s.open(&cfg, new("a"), Instant::now()).unwrap();
        assert!(s.terminate("unknown").is_none());
        assert!(s.terminate(&sess.handle).is_some());
        assert!(s.find(&cookie, &cfg, Instant::now(), true).is_err());
    }
}
