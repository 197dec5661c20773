//! Secrets other than account passwords (zone, policy-service, directory and mail credentials):
//! they must be sent to other systems, so they cannot be hashed. They are stored encrypted under
//! the node's seal key and read back as `{cipher}…`, never as themselves.

use crate::accounts;
use crate::credentials::SealKey;
use crate::schema::element_of;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// How a sealed value begins, in storage and when printed.
pub const PREFIX: &str = "{cipher}";

/// Whether `path` holds a secret stored sealed (every secret except account passwords, which are
/// hashed).
pub fn is_sealed(path: &str) -> bool {
    element_of(path).is_some_and(|e| e.valuespace.is_secret()) && !accounts::is_hashed(path)
}

/// The element template a path belongs to: the data the ciphertext is bound to, so that a
/// sealed value cannot be moved to another element, but survives its row moving.
fn template(path: &str) -> &'static str {
    element_of(path).map(|e| e.path).unwrap_or("")
}

pub fn seal(key: &SealKey, path: &str, plain: &str) -> String {
    format!(
        "{PREFIX}{}",
        STANDARD.encode(key.seal(template(path), plain))
    )
}

/// The plain value of a sealed one; `None` when it is not sealed by this key for this element.
pub fn open(key: &SealKey, path: &str, stored: &str) -> Option<String> {
    let b64 = stored.strip_prefix(PREFIX)?;
    let bytes = STANDARD.decode(b64).ok()?;
    key.open(template(path), &bytes)
}
