//! Logins against a real OpenLDAP server (Debian `slapd`), started for each test in a temporary
//! directory.

#[path = "support/slapd.rs"]
mod server;

use causeway_ldap::{authenticate, check, DirectoryError, Endpoint, Settings};
use rustls_pki_types::pem::PemObject as _;
use server::{certificates, free_port, start, start_ldaps, start_with, BASE};
use std::collections::BTreeSet;

fn settings(port: u16) -> Settings {
    Settings {
        address: "127.0.0.1".into(),
        port,
        endpoints: Vec::new(),
        tls: false,
        bind_dn: format!("cn=admin,{BASE}"),
        bind_password: "service-secret".into(),
        accounts_base: format!("ou=people,{BASE}"),
        groups_base: format!("ou=groups,{BASE}"),
        nested_depth: 16,
    }
}

/// A client that trusts only the authority `pem`.
fn client_config(pem: &str) -> std::sync::Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    std::sync::Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn users_log_in_with_their_password_and_bring_their_groups() {
    let slapd = start();
    let s = settings(slapd.port);
    let auth = |u: &str, p: &str| authenticate(&s, None, u, p);
    assert_eq!(
        auth("u1", "u1 pass").unwrap(),
        set(&["Administrators", "Region A"])
    );
    assert_eq!(
        auth("u2", "u2 pass").unwrap(),
        set(&["Administrators", "Region B"])
    );
    assert_eq!(auth("u4", "u4 pass").unwrap(), set(&["Region A"]));
    assert_eq!(auth("u1", "u2 pass"), Err(DirectoryError::BadCredentials));
    assert_eq!(auth("u1", ""), Err(DirectoryError::BadCredentials));
    assert_eq!(auth("nobody", "x"), Err(DirectoryError::BadCredentials));
    // A name that would widen the search matches nobody.
    assert_eq!(auth("u*", "u1 pass"), Err(DirectoryError::BadCredentials));
}

#[test]
fn nested_groups_count_down_to_the_configured_depth() {
    let slapd = start();
    let mut s = settings(slapd.port);
    assert_eq!(
        authenticate(&s, None, "deep", "deep pass").unwrap(),
        set(&["Team", "Department", "Region A Wide"])
    );
    s.nested_depth = 2;
    assert_eq!(
        authenticate(&s, None, "deep", "deep pass").unwrap(),
        set(&["Team", "Department"])
    );
    s.nested_depth = 1;
    assert_eq!(
        authenticate(&s, None, "deep", "deep pass").unwrap(),
        set(&["Team"])
    );
}

#[test]
fn a_directory_that_cannot_be_used_says_so() {
    let slapd = start();
    let mut s = settings(slapd.port);
    s.bind_password = "wrong".into();
    assert!(matches!(
        authenticate(&s, None, "u1", "u1 pass"),
        Err(DirectoryError::Unavailable(m)) if m.contains("service account")
    ));
    let mut s = settings(free_port());
    s.bind_password = "service-secret".into();
    assert!(matches!(
        authenticate(&s, None, "u1", "u1 pass"),
        Err(DirectoryError::Unavailable(_))
    ));
    s.address.clear();
    assert!(matches!(
        authenticate(&s, None, "u1", "u1 pass"),
        Err(DirectoryError::Unavailable(m)) if m.contains("Server Address")
    ));
}

#[test]
fn start_tls_checks_the_directory_certificate() {
    let (ca, cert, key) = certificates();
    let slapd = start_with(Some((&cert, &key)));
    let mut s = settings(slapd.port);
    s.tls = true;
    let config = client_config;
    assert_eq!(
        authenticate(&s, Some(config(&ca)), "u4", "u4 pass").unwrap(),
        set(&["Region A"])
    );
    // A directory whose certificate the trust store does not vouch for is not used.
    let (other_ca, _, _) = certificates();
    assert!(matches!(
        authenticate(&s, Some(config(&other_ca)), "u4", "u4 pass"),
        Err(DirectoryError::Unavailable(_))
    ));
    // Without a trust store, TLS is not attempted at all.
    assert!(matches!(
        authenticate(&s, None, "u4", "u4 pass"),
        Err(DirectoryError::Unavailable(m)) if m.contains("trust store")
    ));
}

#[test]
fn port_636_speaks_tls_from_the_first_byte() {
    let (ca, cert, key) = certificates();
    let slapd = start_ldaps(&cert, &key);
    let mut s = settings(slapd.port);
    s.tls = true;
    assert_eq!(
        authenticate(&s, Some(client_config(&ca)), "u4", "u4 pass").unwrap(),
        set(&["Region A"])
    );
    // Plain LDAP to the same port gets nowhere.
    s.tls = false;
    assert!(matches!(
        authenticate(&s, None, "u4", "u4 pass"),
        Err(DirectoryError::Unavailable(_))
    ));
}

#[test]
fn resolved_servers_are_tried_in_order() {
    let slapd = start();
    let mut s = settings(free_port());
    let local = |port: u16| Endpoint {
        host: "127.0.0.1".into(),
        port,
        addrs: vec!["127.0.0.1".parse().unwrap()],
    };
    // The first server is down; the second answers.
    s.endpoints = vec![local(free_port()), local(slapd.port)];
    assert_eq!(
        authenticate(&s, None, "u4", "u4 pass").unwrap(),
        set(&["Region A"])
    );
    s.endpoints.pop();
    assert!(matches!(
        authenticate(&s, None, "u4", "u4 pass"),
        Err(DirectoryError::Unavailable(m)) if m.contains("cannot reach")
    ));
}

#[test]
fn the_check_names_what_is_wrong() {
    let slapd = start();
    let s = settings(slapd.port);
    assert_eq!(check(&s, None), Ok(()));
    let mut bad = s.clone();
    bad.accounts_base = format!("ou=nobody,{BASE}");
    assert!(
        matches!(check(&bad, None), Err(DirectoryError::Unavailable(m)) if m.contains("accounts base"))
    );
    let mut bad = s.clone();
    bad.groups_base = format!("ou=nogroups,{BASE}");
    assert!(
        matches!(check(&bad, None), Err(DirectoryError::Unavailable(m)) if m.contains("groups base"))
    );
    let mut bad = s.clone();
    bad.bind_password = "wrong".into();
    assert!(
        matches!(check(&bad, None), Err(DirectoryError::Unavailable(m)) if m.contains("service account"))
    );
}
