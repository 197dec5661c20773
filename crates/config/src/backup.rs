//! Backups: the configuration, accounts, credentials, the seal key and the TLS identity, in a
//! gzip'd tar encrypted under a password. Logs are not included.
//!
//! File layout: a magic line, a 16-byte salt, a 12-byte nonce, then the archive sealed with
//! ChaCha20-Poly1305 under an argon2id key derived from the password and salt. The archive holds
//! `manifest.json`, `config.json` (every stored value as stored: hashes and sealed secrets stay
//! as they are, since the seal key travels with them), `credentials.json`, `credentials.key` and
//! the files of `tls/`.

use crate::credentials;
use crate::snapshot::Values;
use crate::{Change, Config, ConfigError, Origin};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

const MAGIC: &[u8] = b"causeway-backup-1\n";
const SALT_LEN: usize = 16;
/// Archives larger than this are not ours (a backup holds configuration, not logs).
const MAX_ARCHIVE: u64 = 256 << 20;

/// What a backup says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub product: String,
    pub version: String,
    pub system_name: String,
    pub created_unix: u64,
    pub revision: u64,
    pub values: usize,
    pub credentials: usize,
    pub tls_files: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("a backup needs a password")]
    NoPassword,
    #[error("the password is wrong, or this is not a causeway backup")]
    Undecryptable,
    #[error("the backup is damaged: {0}")]
    Damaged(String),
    #[error(
        "the backup was made by causeway {found}; this is {running}, and a backup restores only \
         onto the version that made it"
    )]
    Version { found: String, running: String },
    #[error("the backup's configuration is refused: {0}")]
    Config(ConfigError),
    #[error("{0}")]
    Io(String),
}

fn io(e: impl std::fmt::Display) -> BackupError {
    BackupError::Io(e.to_string())
}

fn running_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

fn key_from(password: &str, salt: &[u8]) -> Result<LessSafeKey, BackupError> {
    let mut key = [0u8; 32];
    argon2::Argon2::default()
        .hash_password_into(password.as_bytes(), salt, &mut key)
        .map_err(io)?;
    let unbound = UnboundKey::new(&CHACHA20_POLY1305, &key).map_err(|_| io("bad key"))?;
    Ok(LessSafeKey::new(unbound))
}

fn encrypt(password: &str, plain: Vec<u8>) -> Result<Vec<u8>, BackupError> {
    let rng = SystemRandom::new();
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill(&mut salt).map_err(|_| io("no randomness"))?;
    rng.fill(&mut nonce).map_err(|_| io("no randomness"))?;
    let key = key_from(password, &salt)?;
    let mut data = plain;
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(MAGIC),
        &mut data,
    )
    .map_err(|_| io("encryption failed"))?;
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&salt);
    out.extend_from_slice(&nonce);
    out.extend(data);
    Ok(out)
}

fn decrypt(password: &str, file: &[u8]) -> Result<Vec<u8>, BackupError> {
    let rest = file.strip_prefix(MAGIC).ok_or(BackupError::Undecryptable)?;
    if rest.len() < SALT_LEN + NONCE_LEN {
        return Err(BackupError::Undecryptable);
    }
    let (salt, rest) = rest.split_at(SALT_LEN);
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let key = key_from(password, salt)?;
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| BackupError::Undecryptable)?;
    let mut data = sealed.to_vec();
    let plain = key
        .open_in_place(nonce, Aad::from(MAGIC), &mut data)
        .map_err(|_| BackupError::Undecryptable)?;
    Ok(plain.to_vec())
}

/// The archive's contents, by name.
type Files = BTreeMap<String, Vec<u8>>;

fn pack(files: &Files) -> Result<Vec<u8>, BackupError> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (name, bytes) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o600);
        h.set_cksum();
        tar.append_data(&mut h, name, bytes.as_slice())
            .map_err(io)?;
    }
    tar.into_inner().map_err(io)?.finish().map_err(io)
}

fn unpack(archive: &[u8]) -> Result<Files, BackupError> {
    let gz = flate2::read::GzDecoder::new(archive).take(MAX_ARCHIVE);
    let mut tar = tar::Archive::new(gz);
    let mut files = Files::new();
    for entry in tar
        .entries()
        .map_err(|e| BackupError::Damaged(e.to_string()))?
    {
        let mut entry = entry.map_err(|e| BackupError::Damaged(e.to_string()))?;
        let name = entry
            .path()
            .map_err(|e| BackupError::Damaged(e.to_string()))?
            .to_string_lossy()
            .to_string();
        // Names are ours: flat, or one level under tls/, never climbing out.
        if name.contains("..") || name.starts_with('/') {
            return Err(BackupError::Damaged(format!("unexpected entry {name}")));
        }
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| BackupError::Damaged(e.to_string()))?;
        files.insert(name, bytes);
    }
    Ok(files)
}

#[derive(Serialize, Deserialize)]
struct Credential {
    name: String,
    secret: String,
}

/// Makes a backup of `config`'s node. Returns the file's bytes and its manifest.
pub fn create(config: &Config, password: &str) -> Result<(Vec<u8>, Manifest), BackupError> {
    if password.is_empty() {
        return Err(BackupError::NoPassword);
    }
    let dir = config.data_dir();
    let snap = config.snapshot();
    let values: BTreeMap<&String, &String> = snap.stored().iter().collect();
    let creds = config
        .with_store(credentials::raw)
        .map_err(io)?
        .into_iter()
        .map(|(name, secret)| Credential {
            name,
            secret: STANDARD.encode(secret),
        })
        .collect::<Vec<_>>();
    let mut files = Files::new();
    let key = std::fs::read(dir.join("credentials.key")).map_err(io)?;
    files.insert("credentials.key".into(), key);
    let mut tls_files = 0;
    if let Ok(entries) = std::fs::read_dir(dir.join("tls")) {
        for e in entries.flatten() {
            if e.path().is_file() {
                let name = e.file_name().to_string_lossy().to_string();
                files.insert(format!("tls/{name}"), std::fs::read(e.path()).map_err(io)?);
                tls_files += 1;
            }
        }
    }
    let manifest = Manifest {
        product: "causeway".into(),
        version: running_version(),
        system_name: snap.get("SystemUnit Name").unwrap_or("").to_string(),
        created_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        revision: snap.revision,
        values: values.len(),
        credentials: creds.len(),
        tls_files,
    };
    files.insert(
        "manifest.json".into(),
        serde_json::to_vec_pretty(&manifest).map_err(io)?,
    );
    files.insert(
        "config.json".into(),
        serde_json::to_vec_pretty(&values).map_err(io)?,
    );
    files.insert(
        "credentials.json".into(),
        serde_json::to_vec_pretty(&creds).map_err(io)?,
    );
    Ok((encrypt(password, pack(&files)?)?, manifest))
}

/// A backup opened and checked, ready to restore.
pub struct Opened {
    pub manifest: Manifest,
    values: Values,
    credentials: Vec<(String, Vec<u8>)>,
    key: Vec<u8>,
    tls: Vec<(String, Vec<u8>)>,
}

/// Decrypts and checks a backup without changing anything.
pub fn open(file: &[u8], password: &str) -> Result<Opened, BackupError> {
    let files = unpack(&decrypt(password, file)?)?;
    let get = |name: &str| {
        files
            .get(name)
            .ok_or_else(|| BackupError::Damaged(format!("{name} is missing")))
    };
    let manifest: Manifest = serde_json::from_slice(get("manifest.json")?)
        .map_err(|e| BackupError::Damaged(format!("manifest.json: {e}")))?;
    if manifest.version != running_version() {
        return Err(BackupError::Version {
            found: manifest.version,
            running: running_version(),
        });
    }
    let map: BTreeMap<String, String> = serde_json::from_slice(get("config.json")?)
        .map_err(|e| BackupError::Damaged(format!("config.json: {e}")))?;
    let creds: Vec<Credential> = serde_json::from_slice(get("credentials.json")?)
        .map_err(|e| BackupError::Damaged(format!("credentials.json: {e}")))?;
    let credentials = creds
        .into_iter()
        .map(|c| {
            STANDARD
                .decode(&c.secret)
                .map(|s| (c.name, s))
                .map_err(|e| BackupError::Damaged(format!("credentials.json: {e}")))
        })
        .collect::<Result<_, _>>()?;
    let key = get("credentials.key")?.clone();
    if key.len() != 32 {
        return Err(BackupError::Damaged("credentials.key is not a key".into()));
    }
    let tls = files
        .iter()
        .filter_map(|(n, b)| Some((n.strip_prefix("tls/")?.to_string(), b.clone())))
        .filter(|(n, _)| !n.is_empty() && !n.contains('/'))
        .collect();
    let values: Values = map.into_iter().collect();
    crate::rules::check_all(&values).map_err(|v| BackupError::Config(ConfigError::Rule(v)))?;
    Ok(Opened {
        manifest,
        values,
        credentials,
        key,
        tls,
    })
}

/// Writes `bytes` to `path` through a temporary file, so a failure leaves the old file.
fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let tmp = path.with_extension("restoring");
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&tmp).map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

/// Restores an opened backup onto `config`'s node: the configuration in one commit, then the
/// credentials, the seal key and the TLS files. The seal key and the TLS identity are read at
/// start, so a running server restarts afterwards.
pub fn restore(config: &Config, backup: Opened, origin: &Origin) -> Result<(), BackupError> {
    config
        .commit(
            origin,
            vec![Change::Replace {
                values: backup.values,
            }],
        )
        .map_err(BackupError::Config)?;
    config
        .with_store(|s| credentials::replace_raw(s, &backup.credentials))
        .map_err(io)?;
    config.credentials_changed();
    let dir = config.data_dir();
    replace_file(&dir.join("credentials.key"), &backup.key)?;
    if !backup.tls.is_empty() {
        let tls = dir.join("tls");
        std::fs::create_dir_all(&tls).map_err(io)?;
        for (name, bytes) in &backup.tls {
            replace_file(&tls.join(name), bytes)?;
        }
    }
    Ok(())
}
