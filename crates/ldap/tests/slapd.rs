//! Logins against a real OpenLDAP server (Debian `slapd`), started for each test in a temporary
//! directory.

use causeway_ldap::{authenticate, DirectoryError, Settings};
use rustls_pki_types::pem::PemObject as _;
use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BASE: &str = "dc=example,dc=com";

struct Slapd {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn person(uid: &str, password: &str) -> String {
    format!(
        "dn: uid={uid},ou=people,{BASE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: {uid}\nuserPassword: {password}\n\n"
    )
}

fn group(cn: &str, members: &[&str]) -> String {
    let mut s = format!("dn: cn={cn},ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: {cn}\n");
    for m in members {
        s.push_str(&format!("member: {m}\n"));
    }
    s.push('\n');
    s
}

fn user_dn(uid: &str) -> String {
    format!("uid={uid},ou=people,{BASE}")
}

fn group_dn(cn: &str) -> String {
    format!("cn={cn},ou=groups,{BASE}")
}

/// A test authority and a certificate it signed for 127.0.0.1, as PEM: (CA, cert, key).
fn certificates() -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "test directory authority");
    ca.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let mut leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    leaf.distinguished_name
        .push(rcgen::DnType::CommonName, "127.0.0.1");
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

/// The guide's four members, plus one reached only through a nested group.
fn start() -> Slapd {
    start_with(None)
}

/// As [`start`], with StartTLS offered under `tls` (certificate and key PEM).
fn start_with(tls: Option<(&str, &str)>) -> Slapd {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("db")).unwrap();
    let conf = format!(
        "include /etc/ldap/schema/core.schema\n\
         include /etc/ldap/schema/cosine.schema\n\
         include /etc/ldap/schema/inetorgperson.schema\n\
         include /etc/ldap/schema/nis.schema\n\
         modulepath /usr/lib/ldap\nmoduleload back_mdb\n\
         pidfile {p}/slapd.pid\n\
         database mdb\nsuffix \"{BASE}\"\nrootdn \"cn=admin,{BASE}\"\nrootpw service-secret\n\
         directory {p}/db\n",
        p = d.display()
    );
    let conf = match tls {
        None => conf,
        Some((cert, key)) => {
            std::fs::write(d.join("cert.pem"), cert).unwrap();
            std::fs::write(d.join("key.pem"), key).unwrap();
            // TLS settings are global: they go before the database section.
            format!(
                "TLSCertificateFile {p}/cert.pem\nTLSCertificateKeyFile {p}/key.pem\n{conf}",
                p = d.display()
            )
        }
    };
    std::fs::write(d.join("slapd.conf"), conf).unwrap();
    let mut ldif = format!(
        "dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n\
         dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: ou=groups,{BASE}\nobjectClass: organizationalUnit\nou: groups\n\n"
    );
    for u in ["u1", "u2", "u3", "u4", "deep"] {
        ldif.push_str(&person(u, &format!("{u} pass")));
    }
    ldif.push_str(&group(
        "Administrators",
        &[&user_dn("u1"), &user_dn("u2"), &user_dn("u3")],
    ));
    ldif.push_str(&group("Region A", &[&user_dn("u1"), &user_dn("u4")]));
    ldif.push_str(&group("Region B", &[&user_dn("u2")]));
    ldif.push_str(&group("Region C", &[&user_dn("u3")]));
    // deep ∈ Team ∈ Department ∈ Region A.
    ldif.push_str(&group("Team", &[&user_dn("deep")]));
    ldif.push_str(&group("Department", &[&group_dn("Team")]));
    ldif.push_str(&group("Region A Wide", &[&group_dn("Department")]));
    std::fs::write(d.join("data.ldif"), ldif).unwrap();
    let st = Command::new("slapadd")
        .arg("-f")
        .arg(d.join("slapd.conf"))
        .arg("-l")
        .arg(d.join("data.ldif"))
        .stderr(Stdio::null())
        .status()
        .expect("slapadd (Debian package slapd)");
    assert!(st.success(), "slapadd");
    let port = free_port();
    let child = Command::new("slapd")
        .arg("-f")
        .arg(d.join("slapd.conf"))
        .arg("-h")
        .arg(format!("ldap://127.0.0.1:{port}/"))
        .args(["-d", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("slapd (Debian package slapd)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "slapd did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Slapd {
        child,
        port,
        _dir: dir,
    }
}

fn settings(port: u16) -> Settings {
    Settings {
        address: "127.0.0.1".into(),
        port,
        tls: false,
        bind_dn: format!("cn=admin,{BASE}"),
        bind_password: "service-secret".into(),
        accounts_base: format!("ou=people,{BASE}"),
        groups_base: format!("ou=groups,{BASE}"),
        nested_depth: 16,
    }
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
    let config = |pem: &str| {
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
    };
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
