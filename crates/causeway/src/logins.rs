//! Logins on the management surfaces, written to the event and configuration logs.

use causeway_observe::EventLog;
use causeway_xapi::auth::{Authenticator, Login, LoginError, Surface};
use std::sync::Arc;

/// Passes each check to `inner` and logs its outcome: `Admin Session Start` for a login that
/// succeeded, `Admin Session Login Failure` (with the reason, which only the log sees) for one
/// that did not, and `Authorization Failure` for a directory user whose groups grant nothing.
pub struct Logged {
    pub inner: Arc<dyn Authenticator>,
    pub events: Arc<EventLog>,
    pub configlog: Arc<EventLog>,
}

impl Logged {
    fn log(&self, user: &str, surface: Surface, source: &str, r: &Result<Login, LoginError>) {
        let (event, reason) = match r {
            Ok(l) => ("Admin Session Start", format!("{:?}", l.principal.access)),
            // The password was right; the groups were not. Operators look for this one on its
            // own, as a red event.
            Err(e @ LoginError::Unauthorized) => ("Authorization Failure", e.to_string()),
            Err(e) => ("Admin Session Login Failure", e.to_string()),
        };
        let fields = [
            ("Detail", reason.as_str()),
            ("User", user),
            ("Src", source),
            ("Type", surface.name()),
        ];
        self.events.event(1, "tvcs", event, &fields);
        self.configlog.event(1, "tvcs", event, &fields);
    }
}

impl Authenticator for Logged {
    fn login(
        &self,
        user: &str,
        password: &str,
        surface: Surface,
        source: &str,
    ) -> Result<Login, LoginError> {
        let r = self.inner.login(user, password, surface, source);
        self.log(user, surface, source, &r);
        r
    }

    fn login_key(
        &self,
        user: &str,
        key: &str,
        surface: Surface,
        source: &str,
    ) -> Result<Login, LoginError> {
        let r = self.inner.login_key(user, key, surface, source);
        self.log(user, surface, source, &r);
        r
    }
}
