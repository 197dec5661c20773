//! The local authentication database: `CredentialAdd` and `CredentialDelete`.
//!
//! Entries live beside the configuration (not in the tree: passwords are not configuration
//! values to print), sealed by the configuration store.

use super::{Args, CmdError, Fields};
use crate::format::Field;
use crate::{Engine, Principal};

pub fn credential_add(e: &Engine, a: &Args, _: &Principal) -> Result<Fields, CmdError> {
    let name = a.req("Name");
    let password = a.req("Password");
    // Device credentials fall under the strict password policy as accounts do; with the policy
    // off they are taken as given.
    let policy = causeway_config::password::Policy::from_values(e.config.snapshot().stored());
    if policy.enabled {
        policy
            .check(name, password)
            .map_err(|why| CmdError::Refused(format!("password refused: {why}")))?;
    }
    e.config
        .credential_add(name, password)
        .map_err(|err| CmdError::Refused(err.to_string()))?;
    Ok(vec![("Name".into(), Field::str(name))])
}

pub fn credential_delete(e: &Engine, a: &Args, _: &Principal) -> Result<Fields, CmdError> {
    let name = a.req("Name");
    match e.config.credential_delete(name) {
        Ok(true) => Ok(vec![("Name".into(), Field::str(name))]),
        Ok(false) => Err(CmdError::Refused(format!(
            "there is no credential named \"{name}\""
        ))),
        Err(err) => Err(CmdError::Refused(err.to_string())),
    }
}
