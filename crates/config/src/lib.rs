//! The configuration tree.
//!
//! Every setting is an element generated from the guide's command reference (`spec/`), with its
//! valuespace, default and restart flag. Writes are validated one by one, then the whole result is
//! checked against the cross-element rules, stored in one SQLite transaction with a new revision
//! number, and published as an immutable [`Snapshot`] with a [`ChangeEvent`].

pub mod accounts;
pub mod backup;
pub mod credentials;
pub mod factory;
pub mod password;
pub mod reset;
pub mod rules;
pub mod schema;
pub mod secrets;
pub mod snapshot;
pub mod store;

use arc_swap::ArcSwap;
use schema::{resolve, Resolved};
pub use snapshot::{Snapshot, Values};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
pub use store::{Revision, Store};
use tokio::sync::broadcast;

/// One requested modification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Set an element; `path` may be typed in any case, `value` is checked and canonicalised.
    Set { path: String, value: String },
    /// Return an element to its default.
    Unset { path: String },
    /// Remove every stored value of one table row, e.g. `Zones Zone 3`.
    DeleteRow { row: String },
    /// Return the elements of a factory-reset level (1..=3) to their defaults.
    ResetToDefaults { level: u8 },
    /// Replace every stored value with these, as stored (a restore: hashes and sealed secrets
    /// are taken as they are).
    Replace { values: Values },
}

/// Who made a change, for the configuration log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub user: String,
    /// Where it came from: `cli`, `socket`, an IP address, …
    pub source: String,
}

/// One element's change in a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub path: String,
    pub old: Option<String>,
    pub new: Option<String>,
    /// The element holds a password: logs must not show the values.
    pub secret: bool,
    /// Takes effect after a restart.
    pub restart: bool,
}

/// What a commit did.
#[derive(Debug, Clone)]
pub struct CommitRecord {
    pub revision: u64,
    pub origin: Origin,
    pub changes: Vec<Changed>,
}

/// Published to subscribers after every commit that changed something.
#[derive(Debug, Clone)]
pub struct ChangeEvent {
    pub snapshot: Arc<Snapshot>,
    pub record: Arc<CommitRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {reason}")]
    Path { path: String, reason: String },
    #[error("{path}: {reason} (valuespace {valuespace})")]
    Value {
        path: String,
        value: String,
        valuespace: String,
        reason: String,
    },
    #[error("{}", .0.message)]
    Rule(rules::RuleViolation),
    #[error("{0}")]
    Refused(String),
    #[error("configuration store: {0}")]
    Store(String),
}

impl From<rusqlite::Error> for ConfigError {
    fn from(e: rusqlite::Error) -> Self {
        ConfigError::Store(e.to_string())
    }
}

type AuditHook = Box<dyn Fn(&CommitRecord) + Send + Sync>;

/// Checks a value's content beyond its valuespace; `None` when the path is not its concern.
type ContentCheck = Box<dyn Fn(&str, &str) -> Option<Result<(), String>> + Send + Sync>;

/// The live configuration: store, current snapshot and subscribers.
pub struct Config {
    store: Mutex<Store>,
    current: ArcSwap<Snapshot>,
    /// Values when this process opened the store: restart-flagged elements keep these.
    boot: Values,
    events: broadcast::Sender<ChangeEvent>,
    audit: Mutex<Vec<AuditHook>>,
    checks: Mutex<Vec<ContentCheck>>,
    /// Seals secrets: the local authentication database's passwords and the tree's other
    /// secrets. Made with the store; `Err` says why it cannot be used.
    seal: Result<Arc<credentials::SealKey>, String>,
    dir: std::path::PathBuf,
    /// Counts changes to the local authentication database, so that services holding keys
    /// made from it know when to make them again.
    credential_generation: std::sync::atomic::AtomicU64,
}

impl Config {
    pub fn open(db: &Path) -> Result<Config, ConfigError> {
        let store = Store::open(db)?;
        let (rev, values) = store.load()?;
        let key_path = db.with_file_name("credentials.key");
        let seal = credentials::SealKey::load_or_create(&key_path)
            .map(Arc::new)
            .map_err(|e| format!("the seal key {}: {e}", key_path.display()));
        let mut snap = Snapshot::new(rev, values.clone(), &values);
        snap.key = seal.as_ref().ok().cloned();
        let config = Config {
            store: Mutex::new(store),
            current: ArcSwap::from_pointee(snap),
            boot: values,
            events: broadcast::channel(256).0,
            audit: Mutex::new(Vec::new()),
            checks: Mutex::new(Vec::new()),
            seal,
            dir: db.parent().unwrap_or(Path::new(".")).to_path_buf(),
            credential_generation: std::sync::atomic::AtomicU64::new(0),
        };
        if rev == 0 {
            // A new store starts from the factory configuration, as a commit of its own so
            // that the history shows where those rows came from.
            let origin = Origin {
                user: "factory".into(),
                source: "factory".into(),
            };
            config.commit(&origin, factory::changes(3))?;
        }
        Ok(config)
    }

    /// The current configuration.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Change events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<ChangeEvent> {
        self.events.subscribe()
    }

    /// Registers a hook called with every commit that changed something (configuration log).
    pub fn on_commit(&self, hook: impl Fn(&CommitRecord) + Send + Sync + 'static) {
        self.audit.lock().unwrap().push(Box::new(hook));
    }

    /// Adds a check of values whose meaning this crate does not know (a CPL script, a
    /// regular expression): `check(path, value)` answers for the paths it cares about, and a
    /// commit that stores a value it refuses is refused whole, naming the path.
    pub fn add_check(
        &self,
        check: impl Fn(&str, &str) -> Option<Result<(), String>> + Send + Sync + 'static,
    ) {
        self.checks.lock().unwrap().push(Box::new(check));
    }

    /// Runs `f` on a snapshot read inside the store's write lock (so it sees every earlier commit,
    /// from this process or another) and commits the changes it returns, all or nothing.
    pub fn commit_with<T>(
        &self,
        origin: &Origin,
        f: impl FnOnce(&Snapshot) -> Result<(Vec<Change>, T), ConfigError>,
    ) -> Result<(CommitRecord, T), ConfigError> {
        let mut store = self.store.lock().unwrap();
        let boot = &self.boot;
        let mut record = None;
        let current = self.current.load_full();
        let result = store.transact(
            now_ms(),
            (current.revision, current.stored()),
            |rev, values| {
                let mut before = Snapshot::new(rev, values, boot);
                before.key = self.seal.as_ref().ok().cloned();
                let (changes, out) = f(&before)?;
                let (after, touched) =
                    apply(before.stored(), &changes, self.seal.as_ref().map(|k| &**k))?;
                rules::check(&after, &touched).map_err(ConfigError::Rule)?;
                let checks = self.checks.lock().unwrap();
                for path in &touched {
                    let Some(value) = after.get(path) else {
                        continue;
                    };
                    for c in checks.iter() {
                        if let Some(Err(reason)) = c(path, value) {
                            return Err(ConfigError::Path {
                                path: path.clone(),
                                reason,
                            });
                        }
                    }
                }
                let changed = diff(before.stored(), &after, &touched);
                let writes = changed
                    .iter()
                    .map(|c| (c.path.clone(), c.new.clone()))
                    .collect();
                record = Some((changed, after));
                Ok::<_, ConfigError>((writes, out))
            },
            &origin.user,
            &origin.source,
        )??;
        let (revision, out) = result;
        let (changes, after) = record.expect("set by the closure");
        let record = CommitRecord {
            revision,
            origin: origin.clone(),
            changes,
        };
        if revision != self.current.load().revision || !record.changes.is_empty() {
            let snap = Arc::new(self.snapshot_of(revision, after));
            self.current.store(snap.clone());
            if !record.changes.is_empty() {
                for hook in self.audit.lock().unwrap().iter() {
                    hook(&record);
                }
                let _ = self.events.send(ChangeEvent {
                    snapshot: snap,
                    record: Arc::new(record.clone()),
                });
            }
        }
        Ok((record, out))
    }

    /// Commits a fixed list of changes.
    pub fn commit(
        &self,
        origin: &Origin,
        changes: Vec<Change>,
    ) -> Result<CommitRecord, ConfigError> {
        self.commit_with(origin, |_| Ok((changes, ())))
            .map(|(r, ())| r)
    }

    /// The directory the store lives in (the node's data directory).
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    /// Re-reads the store (after another process wrote to it).
    pub fn reload(&self) -> Result<Arc<Snapshot>, ConfigError> {
        let (rev, values) = self.store.lock().unwrap().load()?;
        let snap = Arc::new(self.snapshot_of(rev, values));
        self.current.store(snap.clone());
        Ok(snap)
    }

    /// The most recent revisions, newest first.
    pub fn history(&self, limit: u32) -> Result<Vec<Revision>, ConfigError> {
        Ok(self.store.lock().unwrap().history(limit)?)
    }

    /// Runs `f` with the store (for tables that share its file, such as accounts).
    pub fn with_store<T>(&self, f: impl FnOnce(&Store) -> T) -> T {
        f(&self.store.lock().unwrap())
    }

    fn snapshot_of(&self, revision: u64, values: Values) -> Snapshot {
        let mut snap = Snapshot::new(revision, values, &self.boot);
        snap.key = self.seal.as_ref().ok().cloned();
        snap
    }

    fn seal_key(&self) -> Result<&credentials::SealKey, credentials::CredentialError> {
        self.seal
            .as_deref()
            .map_err(|e| credentials::CredentialError::Store(e.clone()))
    }

    /// Adds or replaces an entry of the local authentication database.
    pub fn credential_add(
        &self,
        name: &str,
        password: &str,
    ) -> Result<(), credentials::CredentialError> {
        let key = self.seal_key()?;
        let r = self.with_store(|s| credentials::add(s, key, name, password));
        self.credentials_changed();
        r
    }

    /// Removes an entry of the local authentication database; whether there was one.
    pub fn credential_delete(&self, name: &str) -> Result<bool, credentials::CredentialError> {
        let r = self.with_store(|s| credentials::delete(s, name));
        self.credentials_changed();
        r
    }

    pub(crate) fn credentials_changed(&self) {
        self.credential_generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    /// Grows with every change to the local authentication database.
    pub fn credential_generation(&self) -> u64 {
        self.credential_generation
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// The password of an entry of the local authentication database.
    pub fn credential_password(&self, name: &str) -> Option<String> {
        let key = self.seal_key().ok()?;
        self.with_store(|s| credentials::password(s, key, name))
    }

    /// The names in the local authentication database.
    pub fn credential_names(&self) -> Vec<String> {
        self.with_store(credentials::names)
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Validates one write: the path must name a single element and the value fit its valuespace.
/// Returns the canonical path and value.
pub fn validate(path: &str, value: &str) -> Result<(String, String), ConfigError> {
    let words: Vec<&str> = path.split_whitespace().collect();
    match resolve(&words) {
        Ok(Resolved::Leaf { element, path }) => match element.valuespace.canonical(value) {
            Ok(v) => Ok((path, v)),
            Err(reason) => Err(ConfigError::Value {
                path,
                // A refused password is not repeated back, nor logged.
                value: if element.valuespace.is_secret() {
                    "***".to_string()
                } else {
                    value.to_string()
                },
                valuespace: element.valuespace.notation(),
                reason,
            }),
        },
        Ok(Resolved::Subtree { path, .. }) => Err(ConfigError::Path {
            path: words.join(" "),
            reason: if path.is_empty() {
                "no element named".into()
            } else {
                format!("\"{path}\" is a group of elements, not one element")
            },
        }),
        Err(e) => Err(ConfigError::Path {
            path: e.path,
            reason: e.reason,
        }),
    }
}

/// Validates a secret's plain value and returns it sealed. A value already sealed (as a read
/// prints it) is taken as it is, if this node's key opens it for this element.
fn validate_secret(
    path: &str,
    value: &str,
    key: &credentials::SealKey,
) -> Result<(String, String), ConfigError> {
    let canonical = canonical_path(path)?;
    if value.starts_with(secrets::PREFIX) {
        let plain = secrets::open(key, &canonical, value).ok_or_else(|| ConfigError::Path {
            path: canonical.clone(),
            reason: "this {cipher} value was not sealed by this node for this element".into(),
        })?;
        validate(&canonical, &plain)?;
        return Ok((canonical, value.to_string()));
    }
    let (p, v) = validate(&canonical, value)?;
    let sealed = if v.is_empty() {
        v
    } else {
        secrets::seal(key, &p, &v)
    };
    Ok((p, sealed))
}

fn canonical_path(path: &str) -> Result<String, ConfigError> {
    let words: Vec<&str> = path.split_whitespace().collect();
    match resolve(&words) {
        Ok(Resolved::Leaf { path, .. }) => Ok(path),
        Ok(Resolved::Subtree { path, .. }) => Err(ConfigError::Path {
            path,
            reason: "names a group of elements, not one element".into(),
        }),
        Err(e) => Err(ConfigError::Path {
            path: e.path,
            reason: e.reason,
        }),
    }
}

/// Applies changes to a copy of `values`; also returns the paths the changes touched.
/// Secrets are sealed with `key`; without one, a commit that sets a secret is refused.
pub fn apply(
    values: &Values,
    changes: &[Change],
    key: Result<&credentials::SealKey, &String>,
) -> Result<(Values, BTreeSet<String>), ConfigError> {
    let mut out = values.clone();
    let mut touched = BTreeSet::new();
    let mut passwords = Vec::new();
    for c in changes {
        match c {
            Change::Set { path, value }
                if canonical_path(path).is_ok_and(|p| secrets::is_sealed(&p)) =>
            {
                let key = key.map_err(|why| {
                    ConfigError::Refused(format!("secrets cannot be stored: {why}"))
                })?;
                let (p, v) = validate_secret(path, value, key)?;
                out.insert(p.clone(), v);
                touched.insert(p);
            }
            Change::Set { path, value } => {
                let (p, v) = validate(path, value)?;
                if accounts::is_hashed(&p) {
                    passwords.push((p.clone(), v.clone()));
                }
                out.insert(p.clone(), v);
                touched.insert(p);
            }
            Change::Unset { path } => {
                let p = canonical_path(path)?;
                out.remove(&p);
                touched.insert(p);
            }
            Change::DeleteRow { row } => {
                let start = format!("{row} ");
                let gone: Vec<String> = out
                    .range(start.clone()..)
                    .take_while(|(k, _)| k.starts_with(&start))
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in gone {
                    out.remove(&k);
                    touched.insert(k);
                }
            }
            Change::Replace { values: new } => {
                for (k, v) in new.iter() {
                    if canonical_path(k)? != *k {
                        return Err(ConfigError::Path {
                            path: k.clone(),
                            reason: "not written as the tree spells it".into(),
                        });
                    }
                    if !schema::element_of(k).is_some_and(|e| e.valuespace.is_secret()) {
                        validate(k, v)?;
                    }
                }
                touched.extend(out.keys().cloned());
                touched.extend(new.keys().cloned());
                out = new.clone();
            }
            Change::ResetToDefaults { level } => {
                let gone: Vec<String> = out
                    .keys()
                    .filter(|k| reset::resets(k, *level))
                    .cloned()
                    .collect();
                for k in gone {
                    out.remove(&k);
                    touched.insert(k);
                }
                for (k, v) in factory::ROWS {
                    if reset::resets(k, *level) {
                        out.insert(k.to_string(), v.to_string());
                        touched.insert(k.to_string());
                    }
                }
            }
        }
    }
    // Passwords are judged against the commit's result (the account's name may change with it),
    // then only their hashes are kept.
    let policy = password::Policy::from_values(&out);
    for (path, plain) in passwords {
        if out.get(&path) != Some(&plain) {
            continue;
        }
        let row = path.trim_end_matches(" Password");
        let name = snapshot::lookup(&out, &format!("{row} Name")).unwrap_or("");
        policy
            .check(name, &plain)
            .map_err(|why| ConfigError::Path {
                path: path.clone(),
                reason: format!("password refused: {why}"),
            })?;
        out.insert(path, accounts::hash(&plain));
    }
    Ok((out, touched))
}

/// What changed between two versions, looking only at the touched paths.
fn diff(before: &Values, after: &Values, touched: &BTreeSet<String>) -> Vec<Changed> {
    touched
        .iter()
        .filter_map(|path| {
            let (old, new) = (before.get(path), after.get(path));
            if old == new {
                return None;
            }
            let e = schema::element_of(path);
            Some(Changed {
                path: path.clone(),
                old: old.cloned(),
                new: new.cloned(),
                secret: e.is_some_and(|e| e.valuespace.is_secret()),
                restart: e.is_some_and(|e| e.restart),
            })
        })
        .collect()
}
