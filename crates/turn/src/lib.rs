//! A TURN server (RFC 8656, with RFC 6156 IPv6 relays and RFC 6062 TCP relays) as a state
//! machine without I/O.
//!
//! The caller reads datagrams and stream frames and hands them in with the time:
//! [`Server::handle_client`] for what a client sent to the TURN port, [`Server::handle_peer`]
//! for what arrived on a relay socket. Each returns at most one thing to send. Relay sockets are
//! opened and closed through the [`Relays`] the caller passes, so that the core decides which
//! port and when, and the caller owns the sockets. [`Server::handle_timeout`] expires
//! allocations at [`Server::poll_timeout`]. What happened worth logging comes out of
//! [`Server::events`].
//!
//! TCP relays keep their bytes out of the core: once a client has bound a data connection to a
//! peer connection, the caller copies between the two, and tells the core only when the pair
//! has closed ([`Server::connection_closed`]).

mod allocation;
mod nonce;
mod server;

pub use allocation::{AllocationView, ConnectionView, Counters};
pub use server::{Config, Event, Output, Server, NEAR_CAPACITY};

use std::net::SocketAddr;

/// How a client reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }

    /// Streams pad ChannelData to a multiple of four; datagrams need not.
    pub fn is_stream(self) -> bool {
        !matches!(self, Transport::Udp)
    }
}

/// The client's 5-tuple: an allocation belongs to exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FiveTuple {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub transport: Transport,
}

/// The relay sockets, owned by the caller.
pub trait Relays {
    /// Opens a UDP relay socket on a free port of the relay range (an even one when `even`) at
    /// the address of `like`, or, when that is unspecified, at the address this host would
    /// use towards `client`; its address, or `None` when no port is free.
    fn open(&mut self, like: &SocketAddr, client: &SocketAddr, even: bool) -> Option<SocketAddr>;
    /// Opens a relay socket at exactly `addr` (the odd port after an even one, for a
    /// reservation); whether it could.
    fn open_at(&mut self, addr: SocketAddr) -> bool;
    /// Closes a relay socket opened by `open`, `open_at` or `open_tcp`.
    fn close(&mut self, relay: SocketAddr);
    /// Opens a TCP relay (RFC 6062): a listening socket on a free port of the relay range, at
    /// an address chosen as for `open`; its address, or `None` when no port is free. A peer
    /// that connects to it is reported with [`Server::handle_peer_connection`].
    fn open_tcp(&mut self, like: &SocketAddr, client: &SocketAddr) -> Option<SocketAddr>;
    /// Starts connection `id` from TCP relay `relay` to `peer`; its outcome is reported with
    /// [`Server::handle_connected`] (the caller gives up on a peer that does not answer).
    fn connect(&mut self, id: u32, relay: SocketAddr, peer: SocketAddr);
    /// Joins the client's data connection `data` to the peer connection `id`: from now on the
    /// bytes of each go to the other, after the answer the core hands out with this call.
    fn bind(&mut self, id: u32, data: FiveTuple);
    /// Closes peer connection `id`, with the data connection bound to it if any.
    fn close_connection(&mut self, id: u32);
}

/// Seconds of the protocol's timers (RFC 8656).
pub mod timers {
    use std::time::Duration;
    /// An allocation without a LIFETIME lasts this long.
    pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(600);
    /// And at most this long between refreshes.
    pub const MAX_LIFETIME: Duration = Duration::from_secs(3600);
    /// A permission lasts five minutes unless refreshed.
    pub const PERMISSION: Duration = Duration::from_secs(300);
    /// A channel binding lasts ten minutes unless refreshed.
    pub const CHANNEL: Duration = Duration::from_secs(600);
    /// After a channel binding ends, its number and peer stay taken this long (RFC 8656 §12).
    pub const CHANNEL_QUARANTINE: Duration = Duration::from_secs(300);
    /// A nonce is good for this long; then the client is told 438 and takes a new one.
    pub const NONCE: Duration = Duration::from_secs(600);
    /// A port reserved by EVEN-PORT's R bit waits this long for the Allocate that claims it.
    pub const RESERVATION: Duration = Duration::from_secs(30);
    /// A peer connection of a TCP relay waits this long for the client's ConnectionBind
    /// (RFC 6062 §5.2, §5.3); the caller gives a Connect attempt as long.
    pub const CONNECTION_BIND: Duration = Duration::from_secs(30);
}
