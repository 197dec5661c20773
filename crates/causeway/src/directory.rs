//! The LDAP directory behind remote administrator logins.

use causeway_config::{Config, Snapshot};
use causeway_core::tls::CrlCheck;
use causeway_dns::{ip_literal, qualify, ThreadRandom};
use causeway_ldap::Endpoint;
use causeway_xapi::auth::{Directory, LoginError};
use std::collections::BTreeSet;
use std::net::ToSocketAddrs;
use std::sync::Arc;

/// Asks the directory that `Login Remote LDAP …` describes, as configured at the time of each
/// login.
pub struct Ldap {
    pub config: Arc<Config>,
    /// Checks the directory's certificate against the node's trust store and, as `CRLCheck`
    /// asks, its revocation lists.
    pub tls: Option<Arc<causeway_core::tls::ClientTls>>,
    /// What the last check or login found.
    pub health: Arc<Health>,
}

impl Directory for Ldap {
    fn groups(&self, user: &str, password: &str) -> Result<BTreeSet<String>, LoginError> {
        let snap = self.config.snapshot();
        let mut settings = causeway_ldap::Settings::from_snapshot(&snap);
        let outcome = (|| {
            settings.endpoints = endpoints(&snap)?;
            self.client_config(&snap, settings.tls)
        })();
        let tls = match outcome {
            Ok(tls) => tls,
            Err(why) => {
                self.health.record(&Err(why.clone()));
                return Err(LoginError::Unavailable(why));
            }
        };
        let r = causeway_ldap::authenticate(&settings, tls, user, password);
        // A wrong password says nothing of the directory (a wrong accounts base looks the
        // same), so only a login that worked marks it available.
        match &r {
            Err(causeway_ldap::DirectoryError::Unavailable(why)) => {
                self.health.record(&Err(why.clone()))
            }
            Ok(_) => self.health.record(&Ok(())),
            Err(causeway_ldap::DirectoryError::BadCredentials) => {}
        }
        r.map_err(|e| match e {
            causeway_ldap::DirectoryError::BadCredentials => LoginError::BadCredentials,
            causeway_ldap::DirectoryError::Unavailable(why) => LoginError::Unavailable(why),
        })
    }
}

/// The directory servers to try, in order. An address is used as it is; a host name gets
/// `IP DNS Domain Name` when unqualified and is looked up through the configured DNS servers (or
/// the host's resolver when there are none); with `FQDNResolution: SRVRecord` the address is a
/// domain whose `_ldap._tcp` records name the servers and their ports.
pub fn endpoints(snap: &Snapshot) -> Result<Vec<Endpoint>, String> {
    let get = |leaf: &str| {
        snap.get(&format!("Login Remote LDAP {leaf}"))
            .unwrap_or("")
            .trim()
    };
    let address = get("Server Address");
    if address.is_empty() {
        // The directory crate says what is missing.
        return Ok(Vec::new());
    }
    let port: u16 = get("Server Port").parse().unwrap_or(389);
    let srv = get("Server FQDNResolution") == "SRVRecord";
    if let (false, Some(ip)) = (srv, ip_literal(address)) {
        return Ok(vec![Endpoint {
            host: ip.to_string(),
            port,
            addrs: vec![ip],
        }]);
    }
    let name = qualify(address, snap.get("IP DNS Domain Name").unwrap_or(""));
    let Some(resolver) = causeway_core::dns::resolver(snap) else {
        if srv {
            return Err(format!(
                "looking up SRV _ldap._tcp.{name} needs a DNS server (DNS Server 1 Address)"
            ));
        }
        let addrs = (name.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| format!("looking up {name}: {e}"))?
            .map(|a| a.ip())
            .collect();
        return Ok(vec![Endpoint {
            host: name,
            port,
            addrs,
        }]);
    };
    block_on(async move {
        if srv {
            let found = resolver
                .srv_servers(&format!("_ldap._tcp.{name}"), &mut ThreadRandom)
                .await?;
            Ok(found
                .into_iter()
                .map(|s| Endpoint {
                    host: s.host,
                    port: s.port,
                    addrs: s.addrs,
                })
                .collect())
        } else {
            let addrs = resolver.addresses(&name).await?;
            Ok(vec![Endpoint {
                host: name,
                port,
                addrs,
            }])
        }
    })
}

/// Runs a lookup from the blocking thread a login is checked on: on the server's runtime when
/// there is one, else on a small one of its own.
fn block_on<T>(f: impl std::future::Future<Output = Result<T, String>>) -> Result<T, String> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle.block_on(f),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("starting a DNS lookup: {e}"))?
            .block_on(f),
    }
}

/// What the directory looked like at the last check or login, for `xStatus Authentication`.
#[derive(Default)]
pub struct Health {
    seen: std::sync::Mutex<Seen>,
}

#[derive(Default, Clone)]
struct Seen {
    /// `Inactive` (local logins only), `Checking`, `Available` or `Failed`.
    state: &'static str,
    detail: String,
    checked: Option<std::time::SystemTime>,
}

impl Health {
    fn set(&self, state: &'static str, detail: String) {
        let mut s = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        *s = Seen {
            state,
            detail,
            checked: Some(std::time::SystemTime::now()),
        };
    }

    /// Records what a check or a login found out about the directory itself.
    fn record(&self, outcome: &Result<(), String>) {
        match outcome {
            Ok(()) => self.set("Available", String::new()),
            Err(why) => self.set("Failed", why.clone()),
        }
    }

    fn state(&self) -> &'static str {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).state
    }
}

impl causeway_xapi::StatusSource for Health {
    fn group(&self) -> &'static str {
        "Authentication"
    }
    fn collect(&self) -> Vec<(String, causeway_xapi::Field)> {
        use causeway_xapi::Field;
        let s = self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut v = vec![
            (
                "LDAP Admin State".to_string(),
                Field::bare(if s.state.is_empty() {
                    "Unknown"
                } else {
                    s.state
                }),
            ),
            ("LDAP Admin Detail".into(), Field::str(s.detail)),
        ];
        if let Some(t) = s.checked {
            let secs = t
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            v.push(("LDAP Admin LastChecked".into(), Field::bare(secs)));
        }
        v
    }
}

impl Ldap {
    /// Asks the directory whether it can be used (reachable, service bind, bases present) and
    /// records the answer.
    pub fn check(&self) {
        let snap = self.config.snapshot();
        let outcome = (|| {
            let mut settings = causeway_ldap::Settings::from_snapshot(&snap);
            settings.endpoints = endpoints(&snap)?;
            let tls = self.client_config(&snap, settings.tls)?;
            causeway_ldap::check(&settings, tls).map_err(|e| e.to_string())
        })();
        self.health.record(&outcome);
    }

    fn client_config(
        &self,
        snap: &Snapshot,
        tls: bool,
    ) -> Result<Option<Arc<rustls::ClientConfig>>, String> {
        match (&self.tls, tls) {
            (Some(client), true) => {
                let check = CrlCheck::parse(snap.get("Login Remote LDAP CRLCheck").unwrap_or(""));
                client.checking(check).map(Some)
            }
            _ => Ok(None),
        }
    }
}

/// Everything a check of the directory depends on, to notice when it changed.
fn settings_key(snap: &Snapshot) -> String {
    let mut key = String::new();
    for path in [
        "Login Source Admin",
        "Login Remote LDAP Server Address",
        "Login Remote LDAP Server Port",
        "Login Remote LDAP Server FQDNResolution",
        "Login Remote LDAP Encryption",
        "Login Remote LDAP CRLCheck",
        "Login Remote LDAP VCS BindDN",
        "Login Remote LDAP VCS BindPassword",
        "Login Remote LDAP BaseDN Accounts",
        "Login Remote LDAP BaseDN Groups",
        "IP DNS Domain Name",
        "DNS Server 1 Address",
        "DNS Server 2 Address",
        "DNS Server 3 Address",
        "DNS Server 4 Address",
        "DNS Server 5 Address",
    ] {
        key.push_str(snap.get(path).unwrap_or(""));
        key.push('\n');
    }
    key
}

/// How often a directory in use is checked again when nothing changed.
const RECHECK: std::time::Duration = std::time::Duration::from_secs(300);

/// Alarms the directory settings alone decide: settings missing while remote logins are on
/// (35004) and TLS with an empty trust store (40029).
pub fn sync_alarms(alarms: &causeway_observe::Alarms, snap: &Snapshot, trust_store_empty: bool) {
    let remote = snap.get("Login Source Admin").unwrap_or("LocalOnly") != "LocalOnly";
    let get = |leaf: &str| {
        snap.get(&format!("Login Remote LDAP {leaf}"))
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let missing: Vec<&str> = [
        ("Server Address", "the server address"),
        ("VCS BindDN", "the bind DN"),
        ("BaseDN Accounts", "the accounts base DN"),
    ]
    .into_iter()
    .filter(|(leaf, _)| get(leaf).is_empty())
    .map(|(_, what)| what)
    .collect();
    if remote && !missing.is_empty() {
        alarms.raise(
            35004,
            &format!(
                "remote administrator logins are on, but {} is not set",
                missing.join(", ")
            ),
        );
    } else {
        alarms.lower(35004);
    }
    if remote && get("Encryption") != "Off" && trust_store_empty {
        alarms.raise(
            40029,
            "TLS to the directory needs the authority that signed its certificate in the trust store (tls/trusted-ca.pem)",
        );
    } else {
        alarms.lower(40029);
    }
}

/// Keeps the directory's status and alarms current: a check at start, after every change of
/// the settings it depends on, and every five minutes while remote logins are on.
pub fn monitor(
    ldap: Arc<Ldap>,
    alarms: Arc<causeway_observe::Alarms>,
    trust_store_empty: bool,
) -> tokio::task::JoinHandle<()> {
    let mut changes = ldap.config.subscribe();
    tokio::spawn(async move {
        let mut last: Option<(String, tokio::time::Instant)> = None;
        loop {
            let snap = ldap.config.snapshot();
            sync_alarms(&alarms, &snap, trust_store_empty);
            if snap.get("Login Source Admin").unwrap_or("LocalOnly") == "LocalOnly" {
                if ldap.health.state() != "Inactive" {
                    ldap.health.set(
                        "Inactive",
                        "administrators log in with local accounts only".into(),
                    );
                }
                last = None;
            } else {
                let key = settings_key(&snap);
                let due = match &last {
                    Some((k, at)) => *k != key || at.elapsed() >= RECHECK,
                    None => true,
                };
                if due {
                    last = Some((key, tokio::time::Instant::now()));
                    ldap.health.set("Checking", String::new());
                    let l = ldap.clone();
                    let _ = tokio::task::spawn_blocking(move || l.check()).await;
                }
            }
            tokio::select! {
                ev = changes.recv() => {
                    if let Err(tokio::sync::broadcast::error::RecvError::Closed) = ev {
                        break;
                    }
                }
                _ = tokio::time::sleep(RECHECK) => {}
            }
        }
    })
}
