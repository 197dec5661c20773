//! A throwaway policy server for the integration tests: plain HTTP/1.1 written out by hand
//! (so the client is not tested against its own HTTP library), optionally behind TLS, one
//! request per connection, recording every request it sees.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }
}

pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Never answer; the connection just stays open.
    pub hang: bool,
}

impl Answer {
    pub fn ok(body: &str) -> Answer {
        Answer {
            status: 200,
            headers: vec![("Content-Type".into(), "text/xml".into())],
            body: body.into(),
            hang: false,
        }
    }

    pub fn status(status: u16) -> Answer {
        Answer {
            status,
            headers: vec![],
            body: String::new(),
            hang: false,
        }
    }

    pub fn redirect(location: &str) -> Answer {
        Answer {
            status: 301,
            headers: vec![("Location".into(), location.into())],
            body: String::new(),
            hang: false,
        }
    }

    pub fn hang() -> Answer {
        Answer {
            status: 0,
            headers: vec![],
            body: String::new(),
            hang: true,
        }
    }
}

type Handler = Box<dyn Fn(&Recorded) -> Answer + Send + Sync>;

pub struct TestServer {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    handler: Arc<Mutex<Handler>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    pub async fn http(handler: impl Fn(&Recorded) -> Answer + Send + Sync + 'static) -> Self {
        Self::start(None, Box::new(handler)).await
    }

    pub async fn https(
        tls: Arc<rustls::ServerConfig>,
        handler: impl Fn(&Recorded) -> Answer + Send + Sync + 'static,
    ) -> Self {
        Self::start(Some(tls), Box::new(handler)).await
    }

    async fn start(tls: Option<Arc<rustls::ServerConfig>>, handler: Handler) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler = Arc::new(Mutex::new(handler));
        let (reqs, h) = (requests.clone(), handler.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (reqs, h, tls) = (reqs.clone(), h.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        Some(cfg) => {
                            let acceptor = tokio_rustls::TlsAcceptor::from(cfg);
                            if let Ok(stream) = acceptor.accept(tcp).await {
                                serve(stream, reqs, h).await;
                            }
                        }
                        None => serve(tcp, reqs, h).await,
                    }
                });
            }
        });
        TestServer {
            addr,
            requests,
            handler,
            task,
        }
    }

    /// `host:port` with the host given, for the service's server address.
    pub fn address(&self, host: &str) -> String {
        format!("{host}:{}", self.addr.port())
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn set_handler(&self, handler: impl Fn(&Recorded) -> Answer + Send + Sync + 'static) {
        *self.handler.lock().unwrap() = Box::new(handler);
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    reqs: Arc<Mutex<Vec<Recorded>>>,
    handler: Arc<Mutex<Handler>>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_string();
    let target = first.next().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    let rec = Recorded {
        method,
        target,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    };
    reqs.lock().unwrap().push(rec.clone());
    let answer = (handler.lock().unwrap())(&rec);
    if answer.hang {
        std::future::pending::<()>().await;
    }
    let mut out = format!("HTTP/1.1 {} Whatever\r\n", answer.status);
    for (n, v) in &answer.headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
        answer.body.len(),
        answer.body
    ));
    let _ = s.write_all(out.as_bytes()).await;
    let _ = s.shutdown().await;
}

/// An address nothing listens on: bound and released at once.
pub async fn dead_address() -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("127.0.0.1:{port}")
}

/// A private CA for the TLS tests.
pub struct TestCa {
    pub cert: CertificateDer<'static>,
    pub issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    pub fn new() -> TestCa {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "causeway test CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).unwrap().der().clone();
        TestCa {
            cert,
            issuer: Issuer::new(params, key),
        }
    }

    /// A server configuration whose certificate has `sans` as DNS names and `cn`, if any, as
    /// its subject common name.
    pub fn server(
        &self,
        sans: &[&str],
        cn: Option<&str>,
        serial: u64,
    ) -> Arc<rustls::ServerConfig> {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        if let Some(cn) = cn {
            params.distinguished_name.push(DnType::CommonName, cn);
        }
        params.serial_number = Some(serial.into());
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let chain = vec![cert.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
        Arc::new(cfg)
    }

    /// A CRL from this CA revoking the given serial numbers.
    pub fn crl(&self, revoked: &[u64]) -> rustls::pki_types::CertificateRevocationListDer<'static> {
        let params = rcgen::CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2020, 1, 1),
            next_update: rcgen::date_time_ymd(4000, 1, 1),
            crl_number: 1u64.into(),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|&s| rcgen::RevokedCertParams {
                    serial_number: s.into(),
                    revocation_time: rcgen::date_time_ymd(2020, 1, 1),
                    reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        params.signed_by(&self.issuer).unwrap().der().clone()
    }
}
