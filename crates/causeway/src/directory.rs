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
}

impl Directory for Ldap {
    fn groups(&self, user: &str, password: &str) -> Result<BTreeSet<String>, LoginError> {
        let snap = self.config.snapshot();
        let mut settings = causeway_ldap::Settings::from_snapshot(&snap);
        settings.endpoints = endpoints(&snap).map_err(LoginError::Unavailable)?;
        let tls = match (&self.tls, settings.tls) {
            (Some(client), true) => {
                let check = CrlCheck::parse(snap.get("Login Remote LDAP CRLCheck").unwrap_or(""));
                Some(client.checking(check).map_err(LoginError::Unavailable)?)
            }
            _ => None,
        };
        causeway_ldap::authenticate(&settings, tls, user, password).map_err(|e| match e {
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
