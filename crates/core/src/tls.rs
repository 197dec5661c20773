//! The node's TLS identity: a certificate and key in the data directory, created self-signed on
//! first start and replaceable by the administrator (PEM files, read at start and on reload).

use anyhow::{Context, Result};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct Identity {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Identity {
    pub fn in_dir(dir: &Path) -> Identity {
        Identity {
            cert: dir.join("server-cert.pem"),
            key: dir.join("server-key.pem"),
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
    }
}
