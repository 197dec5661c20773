//! TLS targets (RFC 5425) against a rustls server of the test's own, with certificates from a
//! test authority.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use causeway_syslog::{client_config, format, Format, Forwarder, Severity, Transport};
use common::{eventually, message, octet_frames, target, Authority};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

fn server_config(
    cert: (CertificateDer<'static>, PrivateKeyDer<'static>),
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.0], cert.1)
            .unwrap(),
    )
}

/// A TLS syslog receiver that keeps every byte that arrives after a handshake.
struct Sink {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<u8>>>,
    handshakes: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
}

impl Sink {
    async fn start(config: Arc<ServerConfig>) -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sink = Sink {
            addr: listener.local_addr().unwrap(),
            received: Arc::default(),
            handshakes: Arc::default(),
            refused: Arc::default(),
        };
        let (received, handshakes, refused) = (
            sink.received.clone(),
            sink.handshakes.clone(),
            sink.refused.clone(),
        );
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, received, handshakes, refused) = (
                    acceptor.clone(),
                    received.clone(),
                    handshakes.clone(),
                    refused.clone(),
                );
                tokio::spawn(async move {
                    let mut tls = match acceptor.accept(tcp).await {
                        Ok(tls) => tls,
                        Err(_) => {
                            refused.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                    };
                    handshakes.fetch_add(1, Ordering::SeqCst);
                    let mut buf = [0u8; 4096];
                    while let Ok(n @ 1..) = tls.read(&mut buf).await {
                        received.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                });
            }
        });
        sink
    }

    fn frames(&self) -> Vec<Vec<u8>> {
        octet_frames(&self.received.lock().unwrap())
    }

    fn bytes(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}

fn tls_target(address: &str, port: u16) -> causeway_syslog::Target {
    target(address, port, Transport::Tls, Format::Ietf)
}

#[tokio::test(flavor = "multi_thread")]
async fn delivers_octet_counted_frames_to_a_trusted_server() {
    let ca = Authority::new("syslog test authority");
    let sink = Sink::start(server_config(
        ca.issue("127.0.0.1", 10),
        &[&rustls::version::TLS13, &rustls::version::TLS12],
    ))
    .await;
    let fwd = Forwarder::start(Some(client_config(ca.roots(), Vec::new()).unwrap()));
    fwd.set_targets(vec![tls_target("127.0.0.1", sink.addr.port())]);
    let sent: Vec<_> = ["first over TLS", "line\nbreak", "caf\u{e9} last"]
        .iter()
        .map(|t| {
            let mut m = message(Severity::Warning, t);
            m.msgid = Some("TlsTest".into());
            m
        })
        .collect();
    for m in &sent {
        fwd.send(m.clone());
    }
    eventually("three frames", || sink.frames().len() == 3).await;
    let want: Vec<Vec<u8>> = sent.iter().map(|m| format(m, Format::Ietf)).collect();
    assert_eq!(sink.frames(), want);
    // Exactly the frames, nothing between or after them.
    let total: usize = want
        .iter()
        .map(|f| f.len() + f.len().to_string().len() + 1)
        .sum();
    assert_eq!(sink.bytes(), total);
    eventually("the counters", || fwd.stats()[0].sent == 3).await;
    let s = &fwd.stats()[0];
    assert!(s.connected && s.last_error.is_none(), "{s:?}");
    assert_eq!(sink.handshakes.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_name_is_checked_against_the_certificate_and_tls12_suffices() {
    let ca = Authority::new("syslog test authority");
    let sink = Sink::start(server_config(
        ca.issue("localhost", 11),
        &[&rustls::version::TLS12],
    ))
    .await;
    let fwd = Forwarder::start(Some(client_config(ca.roots(), Vec::new()).unwrap()));
    fwd.set_targets(vec![tls_target("localhost", sink.addr.port())]);
    fwd.send(message(Severity::Error, "named server"));
    eventually("the frame", || sink.frames().len() == 1).await;
    assert!(sink.frames()[0].ends_with(b" named server"));
}

/// Sends a message to a TLS server that must be refused, and checks that nothing arrived once
/// the forwarder has reported the failure.
async fn refused(sink: &Sink, fwd: &Forwarder, error_has: &str) {
    fwd.send(message(Severity::Emergency, "must not arrive"));
    let deadline = tokio::time::Instant::now() + common::PATIENCE;
    loop {
        let s = &fwd.stats()[0];
        if s.last_error
            .as_deref()
            .is_some_and(|e| e.contains(error_has))
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no error containing {error_has:?}: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let a second attempt (after the first backoff second) fail too.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let s = &fwd.stats()[0];
    assert!(!s.connected, "{s:?}");
    assert_eq!((s.sent, s.queued), (0, 1), "{s:?}");
    assert_eq!(sink.handshakes.load(Ordering::SeqCst), 0);
    assert_eq!(sink.bytes(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_server_gets_nothing() {
    let ours = Authority::new("trusted authority");
    let theirs = Authority::new("unknown authority");
    let sink = Sink::start(server_config(
        theirs.issue("127.0.0.1", 12),
        &[&rustls::version::TLS13, &rustls::version::TLS12],
    ))
    .await;
    let fwd = Forwarder::start(Some(client_config(ours.roots(), Vec::new()).unwrap()));
    fwd.set_targets(vec![tls_target("127.0.0.1", sink.addr.port())]);
    refused(&sink, &fwd, "UnknownIssuer").await;
    assert!(sink.refused.load(Ordering::SeqCst) >= 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_for_another_name_gets_nothing() {
    let ca = Authority::new("syslog test authority");
    let sink = Sink::start(server_config(
        ca.issue("other.example.com", 13),
        &[&rustls::version::TLS13],
    ))
    .await;
    let fwd = Forwarder::start(Some(client_config(ca.roots(), Vec::new()).unwrap()));
    fwd.set_targets(vec![tls_target("127.0.0.1", sink.addr.port())]);
    refused(&sink, &fwd, "not valid for name").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_client_configuration_nothing_is_sent() {
    let ca = Authority::new("syslog test authority");
    let sink = Sink::start(server_config(
        ca.issue("127.0.0.1", 14),
        &[&rustls::version::TLS13],
    ))
    .await;
    let fwd = Forwarder::start(None);
    fwd.set_targets(vec![tls_target("127.0.0.1", sink.addr.port())]);
    refused(&sink, &fwd, "no TLS client configuration").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn crl_check_without_lists_waits_for_them() {
    let ca = Authority::new("syslog test authority");
    let sink = Sink::start(server_config(
        ca.issue("127.0.0.1", 15),
        &[&rustls::version::TLS13],
    ))
    .await;
    let plain = client_config(ca.roots(), Vec::new()).unwrap();
    let fwd = Forwarder::start(Some(plain.clone()));
    let mut t = tls_target("127.0.0.1", sink.addr.port());
    t.crl_check = true;
    fwd.set_targets(vec![t]);
    refused(&sink, &fwd, "revocation lists").await;

    // Lists arrive: the waiting message goes out without waiting for the backoff.
    let with_crls = client_config(ca.roots(), vec![ca.crl(&[99])]).unwrap();
    fwd.set_tls(Some(plain), Some(with_crls));
    eventually("the queued message", || sink.frames().len() == 1).await;
    assert!(sink.frames()[0].ends_with(b" must not arrive"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_server_gets_nothing() {
    let ca = Authority::new("syslog test authority");
    let sink = Sink::start(server_config(
        ca.issue("127.0.0.1", 16),
        &[&rustls::version::TLS13],
    ))
    .await;
    let plain = client_config(ca.roots(), Vec::new()).unwrap();
    let with_crls = client_config(ca.roots(), vec![ca.crl(&[16])]).unwrap();
    let fwd = Forwarder::start(Some(plain));
    fwd.set_tls(None, Some(with_crls));
    let mut t = tls_target("127.0.0.1", sink.addr.port());
    t.crl_check = true;
    fwd.set_targets(vec![t]);
    refused(&sink, &fwd, "Revoked").await;
}
