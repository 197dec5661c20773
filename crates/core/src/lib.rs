//! Runtime services on tokio around the sans-IO cores: SIP transports, the registrar and the
//! proxy. They read the configuration from snapshots and follow its change events.

pub mod listen;
pub mod tls;
pub mod transport;
