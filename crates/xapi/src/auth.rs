//! Who may log in, on which surface, with what access.
//!
//! Every surface that takes a name and a password (web, REST API, SSH) asks an [`Authenticator`]
//! and runs what the caller types as the [`Principal`] it answers with, so the access level is
//! enforced once, in the command layer.

use crate::{Access, Principal};
use causeway_config::accounts::{self, Level};

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
    /// The directory knows the user, but none of its groups is an enabled administrator group
    /// that grants any access.
    Unauthorized,
}

impl std::fmt::Display for LoginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoginError::BadCredentials => f.write_str("wrong user name or password"),
            LoginError::Disabled => f.write_str("account disabled"),
            LoginError::NoAccess(s) => write!(f, "account has no {} access", s.name()),
            LoginError::Unavailable(why) => write!(f, "remote authentication unavailable: {why}"),
            LoginError::Unauthorized => {
                f.write_str("no enabled administrator group grants this directory user access")
            }
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

    /// Checks an OpenSSH public key (`ssh-ed25519 AAAA…`, comment optional) offered by `user`.
    fn login_key(
        &self,
        _user: &str,
        _key: &str,
        _surface: Surface,
        _source: &str,
    ) -> Result<Login, LoginError> {
        Err(LoginError::BadCredentials)
    }
}

/// Logs in against the local administrator accounts in the configuration tree, following
/// `Login Source Admin`. Names that must be asked of a directory answer `Unavailable`; see
/// [`Logins`] for the authenticator that asks one.
pub struct LocalAccounts {
    pub config: std::sync::Arc<causeway_config::Config>,
}

/// A remote directory: checks a user's password and names the groups the user belongs to.
pub trait Directory: Send + Sync {
    fn groups(
        &self,
        user: &str,
        password: &str,
    ) -> Result<std::collections::BTreeSet<String>, LoginError>;
}

/// Local accounts and, where `Login Source Admin` says so, a directory whose groups are mapped
/// to access by the administrator groups of the tree.
pub struct Logins {
    pub local: LocalAccounts,
    pub directory: std::sync::Arc<dyn Directory>,
}

impl Authenticator for Logins {
    fn login(
        &self,
        user: &str,
        password: &str,
        surface: Surface,
        source: &str,
    ) -> Result<Login, LoginError> {
        self.local
            .login_with(user, password, surface, source, Some(&*self.directory))
    }

    fn login_key(
        &self,
        user: &str,
        key: &str,
        surface: Surface,
        source: &str,
    ) -> Result<Login, LoginError> {
        self.local.login_key(user, key, surface, source)
    }
}

/// The access an account level gives in the command layer.
pub fn access_of(level: Level) -> Access {
    match level {
        Level::ReadWrite => Access::ReadWrite,
        Level::ReadOnly => Access::ReadOnly,
        Level::Auditor => Access::Auditor,
    }
}

/// The type and key of an OpenSSH public key line, without its comment.
fn key_material(line: &str) -> Option<(&str, &str)> {
    let mut w = line.split_whitespace();
    Some((w.next()?, w.next()?))
}

impl LocalAccounts {
    fn grant(
        &self,
        a: accounts::Account,
        surface: Surface,
        source: &str,
    ) -> Result<Login, LoginError> {
        if !a.enabled {
            return Err(LoginError::Disabled);
        }
        let allowed = match surface {
            Surface::Web => a.web,
            Surface::Api => a.api,
            Surface::Ssh => a.name == accounts::ADMIN,
        };
        if !allowed {
            return Err(LoginError::NoAccess(surface));
        }
        Ok(Login {
            principal: Principal {
                user: a.name,
                source: source.to_string(),
                access: access_of(a.level),
            },
            must_change_password: a.force_password_reset,
        })
    }
}

impl Authenticator for LocalAccounts {
    fn login_key(
        &self,
        user: &str,
        key: &str,
        surface: Surface,
        source: &str,
    ) -> Result<Login, LoginError> {
        let snap = self.config.snapshot();
        let mode = snap.get("Login Source Admin").unwrap_or("LocalOnly");
        let a = accounts::find(snap.stored(), user)
            .filter(|a| mode != "RemoteOnly" || a.emergency)
            .ok_or(LoginError::BadCredentials)?;
        match (key_material(&a.public_key), key_material(key)) {
            (Some(mine), Some(offered)) if mine == offered => self.grant(a, surface, source),
            _ => Err(LoginError::BadCredentials),
        }
    }

    fn login(
        &self,
        user: &str,
        password: &str,
        surface: Surface,
        source: &str,
    ) -> Result<Login, LoginError> {
        self.login_with(user, password, surface, source, None)
    }
}

impl LocalAccounts {
    /// A password login; names with no usable local account go to `directory` when the login
    /// source allows it.
    pub fn login_with(
        &self,
        user: &str,
        password: &str,
        surface: Surface,
        source: &str,
        directory: Option<&dyn Directory>,
    ) -> Result<Login, LoginError> {
        let snap = self.config.snapshot();
        let mode = snap.get("Login Source Admin").unwrap_or("LocalOnly");
        let local = accounts::find(snap.stored(), user).filter(|a| !a.hash.is_empty());
        // RemoteOnly leaves only the emergency account local; Both asks the directory only for
        // names that have no local account.
        let local = match (mode, local) {
            ("RemoteOnly", Some(a)) if !a.emergency => None,
            (_, a) => a,
        };
        let Some(a) = local else {
            return match (mode, directory) {
                ("LocalOnly", _) => {
                    accounts::verify_nothing(password);
                    Err(LoginError::BadCredentials)
                }
                (_, None) => {
                    accounts::verify_nothing(password);
                    Err(LoginError::Unavailable("no directory is configured".into()))
                }
                (_, Some(d)) => {
                    let groups: Vec<String> = d.groups(user, password)?.into_iter().collect();
                    remote_grant(&snap, user, &groups, surface, source)
                }
            };
        };
        if !accounts::verify(&a.hash, password) {
            return Err(LoginError::BadCredentials);
        }
        self.grant(a, surface, source)
    }
}

/// The access a directory user gets from the administrator groups its directory groups match.
fn remote_grant(
    snap: &causeway_config::Snapshot,
    user: &str,
    groups: &[String],
    surface: Surface,
    source: &str,
) -> Result<Login, LoginError> {
    let rights = accounts::merge(&accounts::groups(snap.stored()), groups)
        .ok_or(LoginError::Unauthorized)?;
    let allowed = match surface {
        Surface::Web => rights.web,
        Surface::Api => rights.api,
        // The shell belongs to the local admin account alone.
        Surface::Ssh => false,
    };
    if !allowed {
        return Err(LoginError::NoAccess(surface));
    }
    Ok(Login {
        principal: Principal {
            user: user.to_string(),
            source: source.to_string(),
            access: access_of(rights.level),
        },
        must_change_password: false,
    })
}
