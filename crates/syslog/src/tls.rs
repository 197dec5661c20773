//! Client configurations for TLS targets.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::CertificateRevocationListDer;
use rustls::{ClientConfig, RootCertStore};

/// A client configuration that accepts a server whose certificate chains to one of `roots`
/// and names the target's address, over TLS 1.2 or 1.3 (ring).
///
/// With `crls` the end-entity certificate must also not be revoked, and a certificate whose
/// issuer has no list among `crls` is refused: an operator who turned revocation checking on
/// and loaded lists wants an unverifiable server treated like a revoked one. Pass the result
/// without lists to [`crate::Forwarder::start`], and one with lists as the second argument of
/// [`crate::Forwarder::set_tls`] for targets with `crl_check`.
pub fn client_config(
    roots: RootCertStore,
    crls: Vec<CertificateRevocationListDer<'static>>,
) -> Result<Arc<ClientConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?;
    let verifier = {
        let b = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone());
        let b = if crls.is_empty() {
            b
        } else {
            b.with_crls(crls).only_check_end_entity_revocation()
        };
        b.build()
            .map_err(|e| rustls::Error::General(format!("server certificate verifier: {e}")))?
    };
    Ok(Arc::new(
        builder.with_webpki_verifier(verifier).with_no_client_auth(),
    ))
}
