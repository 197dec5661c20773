//! Administrator login against a directory, as `Login Remote LDAP …` describes it: bind with the
//! service account, find the user's entry under the accounts base, bind as the user to check the
//! password, then collect the names of the groups the user belongs to (directly or through
//! nested groups). Which of those groups give access is the tree's business
//! (`causeway_config::accounts::merge`).
//!
//! Blocking: call it off the async workers.

use causeway_config::Snapshot;
use ldap3::{LdapConn, LdapConnSettings, Scope, SearchEntry};
use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// How long to wait for the directory: a login should fail, not hang.
const TIMEOUT: Duration = Duration::from_secs(5);

/// One directory server as the node's DNS found it: the name its certificate must show, the
/// port, and the addresses to try in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub addrs: Vec<IpAddr>,
}

/// The directory settings, read from a configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub address: String,
    pub port: u16,
    /// The servers to try, in order, when the caller resolved them (SRV records, or a name
    /// through the configured DNS servers). Empty: `address` and `port`, resolved by the host.
    pub endpoints: Vec<Endpoint>,
    pub tls: bool,
    pub bind_dn: String,
    pub bind_password: String,
    pub accounts_base: String,
    pub groups_base: String,
    pub nested_depth: u32,
}

impl Settings {
    pub fn from_snapshot(snap: &Snapshot) -> Settings {
        let get = |leaf: &str| {
            snap.get(&format!("Login Remote LDAP {leaf}"))
                .unwrap_or("")
                .trim()
                .to_string()
        };
        let accounts_base = get("BaseDN Accounts");
        let groups = get("BaseDN Groups");
        Settings {
            address: get("Server Address"),
            port: get("Server Port").parse().unwrap_or(389),
            endpoints: Vec::new(),
            tls: get("Encryption") != "Off",
            bind_dn: get("VCS BindDN"),
            bind_password: snap
                .secret("Login Remote LDAP VCS BindPassword")
                .unwrap_or_default(),
            // An empty groups base means the accounts base.
            groups_base: if groups.is_empty() {
                accounts_base.clone()
            } else {
                groups
            },
            accounts_base,
            nested_depth: get("SearchOptimize NestedDepth")
                .parse()
                .unwrap_or(16)
                .clamp(1, 16),
        }
    }
}

/// Why a directory login failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryError {
    /// No such user, several entries for the name, or the wrong password.
    BadCredentials,
    /// The directory could not be used (unreachable, TLS, service bind, configuration).
    Unavailable(String),
}

impl std::fmt::Display for DirectoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DirectoryError::BadCredentials => f.write_str("wrong user name or password"),
            DirectoryError::Unavailable(why) => f.write_str(why),
        }
    }
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> DirectoryError {
    DirectoryError::Unavailable(format!("{what}: {e}"))
}

/// RFC 4515 escaping of a value inside a search filter.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'*' | b'(' | b')' | b'\\' | 0 => out.push_str(&format!("\\{b:02x}")),
            _ => out.push(b as char),
        }
    }
    out
}

/// The first value of the `cn` of a DN (`cn=Region A,ou=groups,…` → `Region A`).
fn cn_of(dn: &str) -> Option<String> {
    let first = dn.split(',').next()?;
    let (k, v) = first.split_once('=')?;
    k.trim()
        .eq_ignore_ascii_case("cn")
        .then(|| v.trim().to_string())
}

fn connect(
    s: &Settings,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Result<LdapConn, DirectoryError> {
    if s.address.is_empty() && s.endpoints.is_empty() {
        return Err(DirectoryError::Unavailable(
            "no directory server is configured (Login Remote LDAP Server Address)".into(),
        ));
    }
    if s.endpoints.is_empty() {
        return open(s, tls, &s.address, s.port, None);
    }
    // The first server, and the first of its addresses, that takes the connection.
    let mut failures = Vec::new();
    for e in &s.endpoints {
        for ip in &e.addrs {
            let at = SocketAddr::new(*ip, e.port);
            match TcpStream::connect_timeout(&at, TIMEOUT) {
                Ok(stream) => return open(s, tls, &e.host, e.port, Some(stream)),
                Err(err) => failures.push(format!("{} ({at}): {err}", e.host)),
            }
        }
    }
    Err(DirectoryError::Unavailable(format!(
        "cannot reach the directory: {}",
        failures.join("; ")
    )))
}

/// Speaks LDAP to `host`:`port`, over `stream` when one is already connected. `host` is what the
/// server's certificate must name.
fn open(
    s: &Settings,
    tls: Option<Arc<rustls::ClientConfig>>,
    host: &str,
    port: u16,
    stream: Option<TcpStream>,
) -> Result<LdapConn, DirectoryError> {
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    // Port 636 speaks TLS from the first byte; any other port upgrades with StartTLS.
    let ldaps = s.tls && port == 636;
    let url = format!("{}://{host}:{port}", if ldaps { "ldaps" } else { "ldap" },);
    let mut settings = LdapConnSettings::new()
        .set_conn_timeout(TIMEOUT)
        .set_starttls(s.tls && !ldaps);
    if let Some(stream) = stream {
        settings = settings.set_std_stream(ldap3::StdStream::Tcp(stream));
    }
    if s.tls {
        let Some(config) = tls else {
            return Err(DirectoryError::Unavailable(
                "TLS to the directory needs a trust store".into(),
            ));
        };
        settings = settings.set_config(config);
    }
    LdapConn::with_settings(settings, &url)
        .map_err(|e| unavailable("cannot reach the directory", e))
}

/// Checks `user`'s password in the directory and returns the names of the groups it belongs
/// to, nested groups included down to the configured depth.
pub fn authenticate(
    s: &Settings,
    tls: Option<Arc<rustls::ClientConfig>>,
    user: &str,
    password: &str,
) -> Result<BTreeSet<String>, DirectoryError> {
    // An empty password would be an anonymous bind, which directories accept.
    if user.is_empty() || password.is_empty() {
        return Err(DirectoryError::BadCredentials);
    }
    let mut ldap = connect(s, tls.clone())?;
    ldap.simple_bind(&s.bind_dn, &s.bind_password)
        .and_then(|r| r.success())
        .map_err(|e| unavailable("the service account cannot bind", e))?;
    let u = escape(user);
    let filter = format!("(|(sAMAccountName={u})(uid={u})(userPrincipalName={u}))");
    let (entries, _) = ldap
        .with_timeout(TIMEOUT)
        .search(&s.accounts_base, Scope::Subtree, &filter, vec!["memberOf"])
        .and_then(|r| r.success())
        .map_err(|e| unavailable("searching for the account", e))?;
    let [entry] = entries.as_slice() else {
        return Err(DirectoryError::BadCredentials);
    };
    let entry = SearchEntry::construct(entry.clone());
    let user_dn = entry.dn.clone();
    // Check the password on a connection of its own, so the service account's session stays
    // usable for the group searches.
    let mut check = connect(s, tls)?;
    let ok = check
        .simple_bind(&user_dn, password)
        .map(|r| r.rc == 0)
        .map_err(|e| unavailable("checking the password", e))?;
    let _ = check.unbind();
    if !ok {
        return Err(DirectoryError::BadCredentials);
    }
    let mut groups = BTreeSet::new();
    let mut frontier: Vec<String> = Vec::new();
    // Active Directory lists the groups on the user (memberOf).
    for dn in entry.attrs.get("memberOf").into_iter().flatten() {
        if let Some(cn) = cn_of(dn) {
            groups.insert(cn);
        }
        frontier.push(dn.clone());
    }
    // Other directories list the members on the group.
    let direct = format!(
        "(|(member={d})(uniqueMember={d})(memberUid={u}))",
        d = escape(&user_dn)
    );
    let mut seen: BTreeSet<String> = frontier.iter().map(|d| d.to_lowercase()).collect();
    let mut next = search_groups(&mut ldap, &s.groups_base, &direct)?;
    for depth in 0..s.nested_depth {
        for (dn, cn) in next.drain(..) {
            if seen.insert(dn.to_lowercase()) {
                groups.extend(cn);
                frontier.push(dn);
            }
        }
        if frontier.is_empty() || depth + 1 == s.nested_depth {
            break;
        }
        // Groups that contain the groups found so far.
        let parents: String = frontier
            .drain(..)
            .map(|dn| format!("(member={})", escape(&dn)))
            .collect();
        next = search_groups(&mut ldap, &s.groups_base, &format!("(|{parents})"))?;
    }
    let _ = ldap.unbind();
    Ok(groups)
}

/// Checks that the directory can be used for logins: it is reachable (with TLS as set), the
/// service account binds, and the accounts base exists. What the status page shows.
pub fn check(s: &Settings, tls: Option<Arc<rustls::ClientConfig>>) -> Result<(), DirectoryError> {
    let mut ldap = connect(s, tls)?;
    ldap.simple_bind(&s.bind_dn, &s.bind_password)
        .and_then(|r| r.success())
        .map_err(|e| unavailable("the service account cannot bind", e))?;
    if s.accounts_base.is_empty() {
        return Err(DirectoryError::Unavailable(
            "no accounts base is configured (Login Remote LDAP BaseDN Accounts)".into(),
        ));
    }
    for (what, base) in [("accounts", &s.accounts_base), ("groups", &s.groups_base)] {
        let found = ldap
            .with_timeout(TIMEOUT)
            .search(base, Scope::Base, "(objectClass=*)", vec!["1.1"])
            .map_err(|e| unavailable(&format!("reading the {what} base"), e))?;
        if found.1.rc != 0 {
            return Err(DirectoryError::Unavailable(format!(
                "the {what} base {base:?} is not in the directory ({})",
                found.1
            )));
        }
    }
    let _ = ldap.unbind();
    Ok(())
}

/// (DN, cn) of the groups under `base` that match `filter`.
fn search_groups(
    ldap: &mut LdapConn,
    base: &str,
    filter: &str,
) -> Result<Vec<(String, Option<String>)>, DirectoryError> {
    let (entries, _) = ldap
        .with_timeout(TIMEOUT)
        .search(base, Scope::Subtree, filter, vec!["cn"])
        .and_then(|r| r.success())
        .map_err(|e| unavailable("searching for groups", e))?;
    Ok(entries
        .into_iter()
        .map(|e| {
            let e = SearchEntry::construct(e);
            let cn = e
                .attrs
                .get("cn")
                .and_then(|v| v.first().cloned())
                .or_else(|| cn_of(&e.dn));
            (e.dn, cn)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn filter_values_are_escaped() {
        assert_eq!(super::escape("a*(b)\\"), "a\\2a\\28b\\29\\5c");
        assert_eq!(super::escape("plain"), "plain");
    }

    #[test]
    fn group_names_come_from_the_first_rdn() {
        assert_eq!(
            super::cn_of("CN=Region A,OU=Groups,DC=example,DC=com").as_deref(),
            Some("Region A")
        );
        assert_eq!(super::cn_of("ou=x,dc=y"), None);
    }
}
