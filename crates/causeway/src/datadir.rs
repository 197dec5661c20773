//! The data directory: where everything of one node lives.

use anyhow::{Context, Result};
use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub struct DataDir {
    pub root: PathBuf,
}

impl DataDir {
    /// Opens the directory, creating it (owner-only) when missing.
    pub fn create(root: &Path) -> Result<DataDir> {
        if !root.exists() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(root)
                .with_context(|| format!("creating {}", root.display()))?;
        }
        Ok(DataDir {
            root: root.to_path_buf(),
        })
    }

    pub fn config_db(&self) -> PathBuf {
        self.root.join("config.db")
    }
    pub fn socket(&self) -> PathBuf {
        self.root.join("control.sock")
    }
    pub fn logs(&self) -> PathBuf {
        self.root.join("log")
    }
    pub fn lock(&self) -> PathBuf {
        self.root.join("serve.lock")
    }
    pub fn initial_password(&self) -> PathBuf {
        self.root.join("initial-admin-password")
    }
}

/// Writes a file readable by the owner only.
pub fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.set_permissions(fs::Permissions::from_mode(0o600))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// An exclusive advisory lock on a file, held while the value lives (and released on exec).
pub struct Lock {
    _file: fs::File,
}

/// Takes the lock without waiting; `Ok(None)` when another process holds it.
pub fn try_lock(path: &Path) -> Result<Option<Lock>> {
    use std::os::fd::AsRawFd;
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    // SAFETY: flock on a file descriptor we own.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        Ok(Some(Lock { _file: file }))
    } else {
        Ok(None)
    }
}
