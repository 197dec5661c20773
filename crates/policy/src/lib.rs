//! Client for external policy services.
//!
//! Call policy, the policy services that search rules target, and registration policy can
//! each hand their decision to a remote HTTP(S) service. The service is sent name/value
//! parameters describing the request and answers `200 OK` with CPL, which the caller runs
//! with its own CPL engine; this crate does not look inside the CPL.
//!
//! * [`ServiceConfig`] is one service's settings, read from configuration with
//!   [`ServiceConfig::from_config`].
//! * [`Params`] builds the parameter list for each kind of request from [`CallFacts`] or
//!   [`RegFacts`].
//! * [`PolicyService`] sends a request, failing over across up to three servers and falling
//!   back to the Default CPL, and polls each server's status path.
//!
//! ```no_run
//! # async fn run(stored: impl Fn(&str) -> Option<String>) {
//! use std::sync::Arc;
//! use causeway_policy::{CallFacts, Params, PolicyService, ServiceConfig};
//!
//! let config = ServiceConfig::from_config(stored, "Policy AdministratorPolicy Service");
//! let service = Arc::new(PolicyService::new(config));
//! let _poller = service.spawn_status_poller(PolicyService::DEFAULT_POLL_INTERVAL);
//!
//! let facts = CallFacts {
//!     destination_alias: Some("sip:bob@example.com".into()),
//!     ..CallFacts::default()
//! };
//! let reply = service.query(&Params::call_policy(&facts)).await;
//! // `reply.cpl` is run either way; `default_used` says whether a server supplied it.
//! # let _ = reply;
//! # }
//! ```
//!
//! HTTPS uses rustls with the ring provider. Certificate revocation is only checked against
//! lists handed to [`PolicyService::with_crls`]; nothing is downloaded.

mod config;
mod http;
mod params;
mod service;
mod tls;

pub use config::{
    HttpMethod, Protocol, ServiceConfig, CALL_POLICY_DEFAULT_CPL, MAX_SERVERS,
    POLICY_SERVICE_DEFAULT_CPL,
};
pub use params::{
    CallFacts, MessageKind, ParameterUse, Params, PolicyType, RegFacts, SignalProtocol,
    TraversalType, PARAMETERS,
};
pub use service::{attempt_order, PolicyService, Reply, ServerState, ServerStatus};

/// Certificate and CRL types used by [`PolicyService`]'s builders.
pub use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};
