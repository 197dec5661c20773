//! Who may log in, on which surface, with what access.
//!
//! Every surface that takes a name and a password (web, REST API, SSH) asks an [`Authenticator`]
//! and runs what the caller types as the [`Principal`] it answers with, so the access level is
//! enforced once, in the command layer.

use crate::Principal;

/// Where a login comes from; each has its own access flag on an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// The browser interface (`AccessWeb`).
    Web,
    /// The REST API (`AccessAPI`).
    Api,
    /// The SSH command line: only the `admin` account.
    Ssh,
}

impl Surface {
    pub fn name(self) -> &'static str {
        match self {
            Surface::Web => "web",
            Surface::Api => "api",
            Surface::Ssh => "ssh",
        }
    }
}

/// Why a login was refused. Surfaces show the user one message for every kind (so that a
/// guesser learns nothing); the event log records the kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginError {
    /// No such account, or the wrong password.
    BadCredentials,
    /// The account exists but is disabled.
    Disabled,
    /// The account may not use this surface.
    NoAccess(Surface),
    /// The remote directory could not be asked.
    Unavailable(String),
}

impl std::fmt::Display for LoginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoginError::BadCredentials => f.write_str("wrong user name or password"),
            LoginError::Disabled => f.write_str("account disabled"),
            LoginError::NoAccess(s) => write!(f, "account has no {} access", s.name()),
            LoginError::Unavailable(why) => write!(f, "remote authentication unavailable: {why}"),
        }
    }
}

impl std::error::Error for LoginError {}

/// A successful login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub principal: Principal,
    /// The account must choose a new password before doing anything else.
    pub must_change_password: bool,
}

/// Checks names and passwords.
pub trait Authenticator: Send + Sync {
    /// Checks `user` and `password` for `surface`; `source` is the peer address, for the log.
    fn login(
        &self,
        user: &str,
        password: &str,
        surface: Surface,
        source: &str,
    ) -> Result<Login, LoginError>;
}
