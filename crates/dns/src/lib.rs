//! DNS for call routing: where a SIP URI's domain is served (RFC 3263 with the guide's DNS zone
//! settings) and which URIs a dialled number maps to (ENUM).
//!
//! The decisions are sans-IO ([`SipLookup`], [`enum_domain`], [`enum_uris`]): they take DNS
//! answers and return destinations, so they are tested without a network. [`DnsResolver`] asks
//! the configured servers through hickory and feeds them.

mod e164;
mod model;
mod resolver;
mod rfc3263;
mod servers;
mod srv;
mod subst;
mod target;

pub use e164::{enum_domain, enum_uris, EnumService, EnumServices, EnumUri};
pub use model::{normalize_name, Answer, Naptr, Query, RecordKind, Srv, Transport, TransportSet};
pub use resolver::{DnsConfig, DnsResolver, EnumResolved, ResolverError};
pub use rfc3263::{resolve_with, SipLookup};
pub use servers::{ip_literal, qualify, ServerAddress};
pub use srv::{order_srv, Random, ThreadRandom};
pub use subst::{SubstError, Substitution};
pub use target::{Destination, IpFamilies, NaptrOrigin, Origin, Resolved, SipTarget, ZoneDns};
