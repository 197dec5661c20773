//! The server's host key: made once, kept in the data directory, reused on every start.
//!
//! Operators pin the key the first time they connect; a key that changed on restart would look
//! exactly like a man in the middle. So the key is created only when the file is missing, and a
//! file that cannot be read is an error rather than a reason to make a new key over it.

use anyhow::{bail, Context as _};
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::ssh_key::LineEnding;
use russh::keys::{HashAlg, PrivateKey};
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

/// Loads the key at `path`, or makes a new Ed25519 key there (OpenSSH format, mode 0600) when
/// there is no file yet.
pub fn load_or_create(path: &Path) -> anyhow::Result<PrivateKey> {
    match fs::read(path) {
        Ok(pem) => load(path, &pem),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path),
        Err(e) => {
            Err(e).with_context(|| format!("cannot read the SSH host key {}", path.display()))
        }
    }
}

/// The `SHA256:…` fingerprint OpenSSH shows for the key.
pub fn fingerprint(key: &PrivateKey) -> String {
    key.public_key().fingerprint(HashAlg::Sha256).to_string()
}

fn load(path: &Path, pem: &[u8]) -> anyhow::Result<PrivateKey> {
    let key = PrivateKey::from_openssh(pem)
        .with_context(|| format!("{} is not an OpenSSH private key", path.display()))?;
    if key.is_encrypted() {
        bail!(
            "the SSH host key {} is protected by a passphrase, which a server cannot type",
            path.display()
        );
    }
    // A key others can read is no longer this server's alone; at least stop it spreading.
    let mode = fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict {} to its owner", path.display()))?;
    }
    Ok(key)
}

fn create(path: &Path) -> anyhow::Result<PrivateKey> {
    use ring::rand::SecureRandom as _;
    let mut seed = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut seed)
        .map_err(|_| anyhow::anyhow!("no randomness for a new SSH host key"))?;
    let key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
    seed.fill(0);
    let pem = key
        .to_openssh(LineEnding::LF)
        .context("cannot encode the new SSH host key")?;

    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // Written under a temporary name and linked into place, so that a crash never leaves a
    // half-written key and two servers starting at once cannot both win: the loser reads the
    // winner's key.
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(pem.as_bytes())?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", tmp.display()));
    }
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let pem = fs::read(path)?;
            load(path, &pem)
        }
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ssh").join("host_ed25519");
        let a = load_or_create(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
        let b = load_or_create(&path).unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert!(fingerprint(&a).starts_with("SHA256:"));
        assert_eq!(a.algorithm(), russh::keys::Algorithm::Ed25519);
        // No temporary file is left beside it.
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn a_damaged_key_is_an_error_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host_ed25519");
        fs::write(&path, "not a key").unwrap();
        assert!(load_or_create(&path).is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), "not a key");
    }

    #[test]
    fn an_open_key_file_is_closed_to_others() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host_ed25519");
        load_or_create(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        load_or_create(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
