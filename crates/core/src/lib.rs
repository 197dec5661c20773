//! Runtime services on tokio around the sans-IO cores: SIP transports, the registrar and the
//! proxy, and the H.323 gatekeeper. They read the configuration from snapshots and follow its change events.

pub mod calls;
pub mod dns;
pub mod h323;
pub mod history;
pub mod listen;
pub mod search_history;
pub mod sip;
pub mod tls;
pub mod transport;
pub mod turn;
