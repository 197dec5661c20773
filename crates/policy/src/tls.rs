//! Client TLS set-up for policy servers.
//!
//! With verification on, the certificate must chain to a trusted root and name the
//! configured address. The guide accepts the name in either the subject common name or a
//! subject alternative name; webpki only reads SANs, so a failed name check falls back to
//! the CN. With verification off any certificate is taken, but the handshake signatures are
//! still checked so the session keys belong to whoever holds the certificate's key.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, Error, RootCertStore, SignatureScheme,
};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, ServerName, UnixTime};

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The platform's trust store, read once per process: reading it means parsing every file in
/// the system bundle.
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// Builds the client configuration for one service.
pub(crate) fn client_config(
    verify: bool,
    extra_roots: &[CertificateDer<'static>],
    crls: &[CertificateRevocationListDer<'static>],
) -> Arc<ClientConfig> {
    let provider = provider();
    let verifier: Arc<dyn ServerCertVerifier> = if verify {
        let mut roots = RootCertStore::empty();
        // A bad entry in the system bundle should not take the good ones down with it.
        roots.add_parsable_certificates(system_roots().iter().cloned());
        roots.add_parsable_certificates(extra_roots.iter().cloned());
        let inner = if roots.is_empty() {
            None
        } else {
            let mut b =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            if !crls.is_empty() {
                // Only the lists that were handed over are consulted; a CA with no list here
                // is not a reason to refuse its certificates.
                b = b
                    .with_crls(crls.iter().cloned())
                    .allow_unknown_revocation_status();
            }
            b.build().ok()
        };
        Arc::new(Verifying {
            check: Check::Chain(inner),
            provider: provider.clone(),
        })
    } else {
        Arc::new(Verifying {
            check: Check::Nothing,
            provider: provider.clone(),
        })
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Arc::new(config)
}

/// What is checked of the certificate itself; the handshake signatures always are.
#[derive(Debug)]
enum Check {
    /// Chain and name; `None` when there is no trusted root at all, so nothing can verify.
    Chain(Option<Arc<WebPkiServerVerifier>>),
    /// Verification is off.
    Nothing,
}

#[derive(Debug)]
struct Verifying {
    check: Check,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifying {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let inner = match &self.check {
            Check::Nothing => return Ok(ServerCertVerified::assertion()),
            Check::Chain(None) => {
                return Err(Error::InvalidCertificate(CertificateError::UnknownIssuer))
            }
            Check::Chain(Some(inner)) => inner,
        };
        match inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            // webpki checks the chain before the name, so a name error means the chain held.
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if common_name_matches(end_entity, server_name) => {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn common_name_matches(cert: &CertificateDer<'_>, server_name: &ServerName<'_>) -> bool {
    let wanted = match server_name {
        ServerName::DnsName(d) => d.as_ref().trim_end_matches('.').to_string(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        _ => return false,
    };
    subject_common_names(cert.as_ref())
        .iter()
        .any(|cn| cn.trim_end_matches('.').eq_ignore_ascii_case(&wanted))
}

/// One DER element: its tag, its contents, and what follows it.
fn der_next(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > std::mem::size_of::<usize>() || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

/// The subject CN values of a certificate. Only the string types CAs actually use are read.
pub(crate) fn subject_common_names(cert: &[u8]) -> Vec<String> {
    fn walk(cert: &[u8]) -> Option<Vec<String>> {
        let (SEQUENCE, cert, _) = der_next(cert)? else {
            return None;
        };
        let (SEQUENCE, mut tbs, _) = der_next(cert)? else {
            return None;
        };
        // The version is an explicit [0] and is left out for v1 certificates.
        if tbs.first() == Some(&0xa0) {
            tbs = der_next(tbs)?.2;
        }
        // serialNumber, signature, issuer, validity come before the subject.
        for _ in 0..4 {
            tbs = der_next(tbs)?.2;
        }
        let (SEQUENCE, mut name, _) = der_next(tbs)? else {
            return None;
        };
        let mut out = Vec::new();
        while !name.is_empty() {
            let (tag, mut rdn, rest) = der_next(name)?;
            name = rest;
            if tag != SET {
                continue;
            }
            while !rdn.is_empty() {
                let (tag, atv, rest) = der_next(rdn)?;
                rdn = rest;
                if tag != SEQUENCE {
                    continue;
                }
                let (0x06, oid, value) = der_next(atv)? else {
                    continue;
                };
                if oid != OID_COMMON_NAME {
                    continue;
                }
                let (vtag, bytes, _) = der_next(value)?;
                let text = match vtag {
                    // UTF8String, PrintableString, IA5String
                    0x0c | 0x13 | 0x16 => String::from_utf8(bytes.to_vec()).ok(),
                    // TeletexString: treated as Latin-1, which is how it is used in practice.
                    0x14 => Some(bytes.iter().map(|&b| char::from(b)).collect()),
                    _ => None,
                };
                out.extend(text);
            }
        }
        Some(out)
    }
    walk(cert).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_subject_cn_and_not_the_issuer_cn() {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "Test CA");
        let issuer = rcgen::Issuer::new(ca, ca_key);

        let key = rcgen::KeyPair::generate().unwrap();
        let mut leaf = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        leaf.distinguished_name
            .push(rcgen::DnType::OrganizationName, "causeway");
        leaf.distinguished_name
            .push(rcgen::DnType::CommonName, "policy.example.com");
        let cert = leaf.signed_by(&key, &issuer).unwrap();
        assert_eq!(
            subject_common_names(cert.der()),
            vec!["policy.example.com".to_string()]
        );

        let name = ServerName::try_from("POLICY.example.com").unwrap();
        assert!(common_name_matches(cert.der(), &name));
        let other = ServerName::try_from("other.example.com").unwrap();
        assert!(!common_name_matches(cert.der(), &other));
    }

    #[test]
    fn garbage_yields_no_names() {
        assert!(subject_common_names(&[]).is_empty());
        assert!(subject_common_names(&[0x30, 0x82, 0xff]).is_empty());
        assert!(subject_common_names(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_empty());
    }
}
