//! A real OpenLDAP server (Debian `slapd`) for tests, started in a temporary directory with a
//! small directory: people u1..u6 and `deep`, and the guide's administrator-group examples.
//! Used by this crate's tests and by the server's end-to-end login tests.

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BASE: &str = "dc=example,dc=com";

pub struct Slapd {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn person(uid: &str, password: &str) -> String {
    format!(
        "dn: uid={uid},ou=people,{BASE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: {uid}\nuserPassword: {password}\n\n"
    )
}

pub fn group(cn: &str, members: &[&str]) -> String {
    let mut s = format!("dn: cn={cn},ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: {cn}\n");
    for m in members {
        s.push_str(&format!("member: {m}\n"));
    }
    s.push('\n');
    s
}

pub fn user_dn(uid: &str) -> String {
    format!("uid={uid},ou=people,{BASE}")
}

pub fn group_dn(cn: &str) -> String {
    format!("cn={cn},ou=groups,{BASE}")
}

/// A test certificate authority that signs server certificates for 127.0.0.1 and revocation
/// lists.
pub struct Authority {
    /// The authority's certificate, PEM.
    pub pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl Authority {
    pub fn new() -> Authority {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "test directory authority");
        ca.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let pem = ca.self_signed(&key).unwrap().pem();
        Authority {
            pem,
            issuer: rcgen::Issuer::new(ca, key),
        }
    }

    /// A certificate for 127.0.0.1 with serial number `serial`, and its key: (cert, key) PEM.
    pub fn leaf(&self, serial: u64) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
        leaf.distinguished_name
            .push(rcgen::DnType::CommonName, "127.0.0.1");
        leaf.serial_number = Some(rcgen::SerialNumber::from(serial));
        let cert = leaf.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// A revocation list, PEM, that revokes the certificates with these serial numbers.
    pub fn crl(&self, revoked: &[u64]) -> String {
        let params = rcgen::CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2020, 1, 1),
            next_update: rcgen::date_time_ymd(2099, 1, 1),
            crl_number: rcgen::SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|n| rcgen::RevokedCertParams {
                    serial_number: rcgen::SerialNumber::from(*n),
                    revocation_time: rcgen::date_time_ymd(2021, 1, 1),
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        params.signed_by(&self.issuer).unwrap().pem().unwrap()
    }
}

/// A test authority and a certificate it signed for 127.0.0.1, as PEM: (CA, cert, key).
pub fn certificates() -> (String, String, String) {
    let ca = Authority::new();
    let (cert, key) = ca.leaf(1);
    (ca.pem, cert, key)
}

/// The guide's four members, two more, and one reached only through a nested group.
pub fn start() -> Slapd {
    start_with(None)
}

/// As [`start`], with StartTLS offered under `tls` (certificate and key PEM).
pub fn start_with(tls: Option<(&str, &str)>) -> Slapd {
    launch(tls, false)
}

/// As [`start`], speaking TLS from the first byte on the LDAPS port, 636 (so the test must run
/// as root, as it does in CI).
pub fn start_ldaps(cert: &str, key: &str) -> Slapd {
    launch(Some((cert, key)), true)
}

fn launch(tls: Option<(&str, &str)>, ldaps: bool) -> Slapd {
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
    for u in ["u1", "u2", "u3", "u4", "u5", "u6", "deep"] {
        ldif.push_str(&person(u, &format!("{u} pass")));
    }
    ldif.push_str(&group(
        "Administrators",
        &[&user_dn("u1"), &user_dn("u2"), &user_dn("u3")],
    ));
    ldif.push_str(&group("Region A", &[&user_dn("u1"), &user_dn("u4")]));
    ldif.push_str(&group("Region B", &[&user_dn("u2")]));
    ldif.push_str(&group("Region C", &[&user_dn("u3"), &user_dn("u6")]));
    // u5 belongs to no administrator group; u6 also to one that a test disables.
    ldif.push_str(&group("Elsewhere", &[&user_dn("u5")]));
    ldif.push_str(&group("Retired", &[&user_dn("u6")]));
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
    let (port, scheme) = if ldaps {
        (636, "ldaps")
    } else {
        (free_port(), "ldap")
    };
    let child = Command::new("slapd")
        .arg("-f")
        .arg(d.join("slapd.conf"))
        .arg("-h")
        .arg(format!("{scheme}://127.0.0.1:{port}/"))
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
