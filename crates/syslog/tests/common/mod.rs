//! Helpers shared by the network tests; each test binary uses a different part.
#![allow(dead_code)]

use std::time::Duration;

use causeway_syslog::{Format, Message, Severity, Target, Transport};
use chrono::{TimeZone, Utc};
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::RootCertStore;

/// How long a test waits for something that should happen within milliseconds, before it
/// declares failure. Never an assertion on speed: only a bound on a hung test.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Polls `done` until it holds, failing the test with `what` after [`PATIENCE`].
pub async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn message(severity: Severity, text: &str) -> Message {
    Message {
        at: Utc.with_ymd_and_hms(2024, 3, 5, 7, 8, 9).unwrap(),
        host: "node-a".into(),
        app: "tvcs".into(),
        facility: 16,
        severity,
        msgid: None,
        text: text.into(),
    }
}

pub fn target(address: &str, port: u16, transport: Transport, format: Format) -> Target {
    Target {
        address: address.into(),
        port,
        transport,
        format,
        max_severity: Severity::Debug,
        keywords: Vec::new(),
        crl_check: false,
        dns_servers: Vec::new(),
    }
}

/// A TCP port nothing listens on (for now).
pub fn free_tcp_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

pub fn free_udp_port() -> u16 {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.local_addr().unwrap().port()
}

/// Splits a stream of octet-counted frames (`LEN SP MSG`…), failing on anything else. A frame
/// not yet complete at the end is left out.
pub fn octet_frames(mut buf: &[u8]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    while !buf.is_empty() {
        let sp = buf
            .iter()
            .position(|&b| b == b' ')
            .expect("a length and a space");
        let len: usize = std::str::from_utf8(&buf[..sp])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad frame length in {:?}", String::from_utf8_lossy(buf)));
        if buf.len() < sp + 1 + len {
            break;
        }
        frames.push(buf[sp + 1..sp + 1 + len].to_vec());
        buf = &buf[sp + 1 + len..];
    }
    frames
}

/// A test certificate authority: server certificates and revocation lists.
pub struct Authority {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    cert: CertificateDer<'static>,
    pem: String,
}

impl Authority {
    pub fn new(name: &str) -> Authority {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).unwrap();
        Authority {
            cert: cert.der().clone(),
            pem: cert.pem(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    pub fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots.add(self.cert.clone()).unwrap();
        roots
    }

    /// A certificate for `name` with serial number `serial`, and its key.
    pub fn issue(
        &self,
        name: &str,
        serial: u64,
    ) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.serial_number = Some(serial.into());
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (
            cert.der().clone(),
            PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
    }

    /// The authority's certificate, PEM.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// As [`Authority::issue`], as PEM: (certificate, key).
    pub fn issue_pem(&self, name: &str, serial: u64) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.serial_number = Some(serial.into());
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// A revocation list from this authority naming `revoked` serial numbers.
    pub fn crl(&self, revoked: &[u64]) -> CertificateRevocationListDer<'static> {
        let params = rcgen::CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2024, 1, 1),
            next_update: rcgen::date_time_ymd(2099, 1, 1),
            crl_number: 1u64.into(),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|&s| rcgen::RevokedCertParams {
                    serial_number: s.into(),
                    revocation_time: rcgen::date_time_ymd(2024, 1, 1),
                    reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        params.signed_by(&self.issuer).unwrap().der().clone()
    }
}
