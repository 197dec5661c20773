//! The LDAP directory behind remote administrator logins.

use causeway_config::Config;
use causeway_xapi::auth::{Directory, LoginError};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Asks the directory that `Login Remote LDAP …` describes, as configured at the time of each
/// login.
pub struct Ldap {
    pub config: Arc<Config>,
    /// Checks the directory's certificate against the node's trust store.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl Directory for Ldap {
    fn groups(&self, user: &str, password: &str) -> Result<BTreeSet<String>, LoginError> {
        let settings = causeway_ldap::Settings::from_snapshot(&self.config.snapshot());
        causeway_ldap::authenticate(&settings, self.tls.clone(), user, password).map_err(
            |e| match e {
                causeway_ldap::DirectoryError::BadCredentials => LoginError::BadCredentials,
                causeway_ldap::DirectoryError::Unavailable(why) => LoginError::Unavailable(why),
            },
        )
    }
}
