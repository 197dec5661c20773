//! The node's TLS identity: a certificate and key in the data directory, created self-signed on
//! first start and replaceable by the administrator (PEM files, read at start and on reload).

use anyhow::{Context, Result};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct Identity {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The trust store: PEM certificates of the authorities whose servers outgoing TLS
    /// connections accept when a zone verifies its peers.
    pub trusted: PathBuf,
    /// PEM certificate revocation lists, for the clients whose settings ask for revocation
    /// checks (`CRLCheck`, `Crlcheck`).
    pub crls: PathBuf,
}

impl Identity {
    pub fn in_dir(dir: &Path) -> Identity {
        Identity {
            cert: dir.join("server-cert.pem"),
            key: dir.join("server-key.pem"),
            trusted: dir.join("trusted-ca.pem"),
            crls: dir.join("crl.pem"),
        }
    }

    /// Creates a self-signed certificate for `names` unless one is there. Returns whether it made
    /// one.
    pub fn ensure(&self, names: &[String]) -> Result<bool> {
        if self.cert.exists() && self.key.exists() {
            return Ok(false);
        }
        if let Some(dir) = self.cert.parent() {
            fs::create_dir_all(dir)?;
        }
        let mut names = names.to_vec();
        // Loopback names let local tools and tests verify the certificate.
        for n in ["localhost", "127.0.0.1", "::1"] {
            if !names.iter().any(|x| x == n) {
                names.push(n.into());
            }
        }
        let key = rcgen::KeyPair::generate().context("generating a key")?;
        let mut params = rcgen::CertificateParams::new(names.clone())?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, names[0].clone());
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "causeway");
        let cert = params.self_signed(&key)?;
        fs::write(&self.cert, cert.pem())?;
        fs::write(&self.key, key.serialize_pem())?;
        Ok(true)
    }

    /// A rustls server configuration with this identity (TLS 1.2 and 1.3).
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&self.cert)
            .with_context(|| format!("reading {}", self.cert.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("parsing {}", self.cert.display()))?;
        let key = PrivateKeyDer::from_pem_file(&self.key)
            .with_context(|| format!("reading {}", self.key.display()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
        Ok(Arc::new(config))
    }

    /// What outgoing TLS connections use: the trust store (empty when the file is missing,
    /// so that verifying zones then trust nobody) and this identity as the client
    /// certificate, for neighbors that ask for one.
    pub fn client_tls(&self) -> Result<Arc<ClientTls>> {
        let trusted: Vec<CertificateDer<'static>> = if self.trusted.exists() {
            CertificateDer::pem_file_iter(&self.trusted)
                .with_context(|| format!("reading {}", self.trusted.display()))?
                .collect::<Result<_, _>>()
                .with_context(|| format!("parsing {}", self.trusted.display()))?
        } else {
            Vec::new()
        };
        // Revocation lists may sit in the trust store next to the authorities that issued
        // them, or in a file of their own.
        let mut crls: Vec<CertificateRevocationListDer<'static>> = Vec::new();
        for file in [&self.trusted, &self.crls] {
            if file.exists() {
                crls.extend(
                    CertificateRevocationListDer::pem_file_iter(file)
                        .with_context(|| format!("reading {}", file.display()))?
                        .collect::<Result<Vec<_>, _>>()
                        .with_context(|| format!("parsing {}", file.display()))?,
                );
            }
        }
        let own = CertificateDer::pem_file_iter(&self.cert)
            .ok()
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>().ok())
            .zip(PrivateKeyDer::from_pem_file(&self.key).ok());
        Ok(Arc::new(ClientTls::with_crls(trusted, crls, own)?))
    }
}

/// How much of a server's certificate chain is checked against the revocation lists: the
/// valuespace of `Login Remote LDAP CRLCheck`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrlCheck {
    None,
    /// The server's own certificate.
    Peer,
    /// Every certificate of the chain below the trusted authority.
    All,
}

impl CrlCheck {
    /// The configuration's spelling; anything else is `None`.
    pub fn parse(value: &str) -> CrlCheck {
        match value.trim() {
            "Peer" => CrlCheck::Peer,
            "All" => CrlCheck::All,
            _ => CrlCheck::None,
        }
    }
}

/// The TLS client side of the node: one configuration that verifies servers against the
/// trust store and one that accepts any certificate (a zone's `TLS Verify Mode: Off`).
#[derive(Debug)]
pub struct ClientTls {
    verifying: Arc<rustls::ClientConfig>,
    trusting: Arc<rustls::ClientConfig>,
    /// Verifying with the revocation lists: (peer only, whole chain). `None` when no list is
    /// loaded, so that a check that was asked for cannot silently pass.
    revocation: Option<(Arc<rustls::ClientConfig>, Arc<rustls::ClientConfig>)>,
    /// The trust store holds no authority: verifying connections can only fail.
    trusts_nobody: bool,
}

/// Where an outgoing TLS connection goes and how it checks the server.
#[derive(Debug, Clone)]
pub struct TlsTarget {
    pub config: Arc<rustls::ClientConfig>,
    /// The name the certificate must carry (also sent as SNI when it is a host name).
    pub name: rustls_pki_types::ServerName<'static>,
    /// Connections are reused only for the same name and verification.
    pub id: String,
}

impl ClientTls {
    /// `trusted` are the authorities to verify against; `own` is the certificate chain and
    /// key offered to servers that ask for a client certificate.
    pub fn new(
        trusted: Vec<CertificateDer<'static>>,
        own: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    ) -> Result<ClientTls> {
        ClientTls::with_crls(trusted, Vec::new(), own)
    }

    /// As [`ClientTls::new`], with revocation lists for the clients that check them.
    pub fn with_crls(
        trusted: Vec<CertificateDer<'static>>,
        crls: Vec<CertificateRevocationListDer<'static>>,
        own: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    ) -> Result<ClientTls> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for c in trusted {
            roots
                .add(c)
                .context("a trusted certificate is not a usable authority")?;
        }
        let trusts_nobody = roots.is_empty();
        let roots = Arc::new(roots);
        let versions = [&rustls::version::TLS12, &rustls::version::TLS13];
        let finish = |b: rustls::ConfigBuilder<
            rustls::ClientConfig,
            rustls::client::WantsClientCert,
        >|
         -> Result<Arc<rustls::ClientConfig>> {
            Ok(Arc::new(match &own {
                Some((certs, key)) => b.with_client_auth_cert(certs.clone(), key.clone_key())?,
                None => b.with_no_client_auth(),
            }))
        };
        let verifying = finish(
            rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_protocol_versions(&versions)?
                .with_root_certificates(roots.clone()),
        )?;
        let trusting = finish(
            rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_protocol_versions(&versions)?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAny(provider.clone()))),
        )?;
        let revoking = |peer_only: bool| -> Result<Arc<rustls::ClientConfig>> {
            let b = rustls::client::WebPkiServerVerifier::builder_with_provider(
                roots.clone(),
                provider.clone(),
            )
            .with_crls(crls.clone());
            let b = if peer_only {
                b.only_check_end_entity_revocation()
            } else {
                b
            };
            let verifier = b
                .build()
                .context("the revocation lists cannot be used to check servers")?;
            finish(
                rustls::ClientConfig::builder_with_provider(provider.clone())
                    .with_protocol_versions(&versions)?
                    .with_webpki_verifier(verifier),
            )
        };
        let revocation = if crls.is_empty() {
            None
        } else {
            Some((revoking(true)?, revoking(false)?))
        };
        Ok(ClientTls {
            verifying,
            trusting,
            revocation,
            trusts_nobody,
        })
    }

    /// Whether the trust store is empty, so that no server can be verified.
    pub fn trusts_nobody(&self) -> bool {
        self.trusts_nobody
    }

    /// The configuration that checks servers against the trust store and, as `check` asks,
    /// the revocation lists. An error when revocation checks are asked for and there are no
    /// lists to check against.
    pub fn checking(&self, check: CrlCheck) -> Result<Arc<rustls::ClientConfig>, String> {
        match (check, &self.revocation) {
            (CrlCheck::None, _) => Ok(self.verifying.clone()),
            (CrlCheck::Peer, Some((peer, _))) => Ok(peer.clone()),
            (CrlCheck::All, Some((_, all))) => Ok(all.clone()),
            (_, None) => Err(
                "revocation checking is on but no revocation lists are loaded (tls/crl.pem)".into(),
            ),
        }
    }

    /// The configuration that checks servers against the trust store.
    pub fn verifying(&self) -> Arc<rustls::ClientConfig> {
        self.verifying.clone()
    }

    /// A connection to a server that must (with `verify`) present a certificate for `name`,
    /// a host name or an IP address. `None` when `name` is neither.
    pub fn target(&self, verify: bool, name: &str) -> Option<TlsTarget> {
        let name = name.trim().trim_start_matches('[').trim_end_matches(']');
        let server = rustls_pki_types::ServerName::try_from(name.to_ascii_lowercase()).ok()?;
        let (config, mode) = if verify {
            (self.verifying.clone(), "verify")
        } else {
            (self.trusting.clone(), "any")
        };
        Some(TlsTarget {
            config,
            name: server,
            id: format!("{mode}:{}", name.to_ascii_lowercase()),
        })
    }
}

/// `TLS Verify Mode: Off`: any certificate is accepted, but the handshake's signatures are
/// still checked, so the connection is at least with the holder of the certificate shown.
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls_pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_start_makes_a_usable_identity_once() {
        let dir = tempfile::tempdir().unwrap();
        let id = Identity::in_dir(&dir.path().join("tls"));
        assert!(id.ensure(&["node.example.com".into()]).unwrap());
        let pem = fs::read_to_string(&id.cert).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(!id.ensure(&[]).unwrap(), "kept on the next start");
        assert_eq!(fs::read_to_string(&id.cert).unwrap(), pem);
        id.server_config().unwrap();
        let client = id.client_tls().unwrap();
        let t = client.target(true, "Peer.Example.com").unwrap();
        assert_eq!(t.id, "verify:peer.example.com");
        assert!(matches!(
            client.target(false, "[::1]").unwrap().name,
            rustls_pki_types::ServerName::IpAddress(_)
        ));
        assert!(client.target(true, "not a name").is_none());
    }
}
