//! One allocation: its relay, its permissions and channel bindings, its counters.

use crate::timers;
use crate::FiveTuple;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

/// What an allocation has done, for the relay usage status. A TCP relay's connections add
/// their bytes when they close, and no packets: a stream has none to count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub requests: u64,
    pub successes: u64,
    pub errors: u64,
    /// Packets from the client relayed to peers, and their payload bytes.
    pub to_peers: u64,
    pub bytes_to_peers: u64,
    /// Packets from peers relayed to the client, and their payload bytes.
    pub to_client: u64,
    pub bytes_to_client: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Channel {
    pub peer: SocketAddr,
    pub expires: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct Allocation {
    pub tuple: FiveTuple,
    pub relay: SocketAddr,
    /// A TCP relay (RFC 6062): peers reach the client through connections, not datagrams.
    pub tcp: bool,
    pub username: String,
    pub expires: Instant,
    /// The transaction of the Allocate that made it: a retransmission is answered again.
    pub allocate_tid: [u8; 12],
    pub lifetime_secs: u32,
    pub permissions: HashMap<IpAddr, Instant>,
    pub channels: HashMap<u16, Channel>,
    pub channel_of: HashMap<SocketAddr, u16>,
    pub counters: Counters,
    pub created: Instant,
}

impl Allocation {
    pub(crate) fn permitted(&self, ip: &IpAddr, now: Instant) -> bool {
        self.permissions.get(ip).is_some_and(|t| *t > now)
    }

    pub(crate) fn permit(&mut self, ip: IpAddr, now: Instant) {
        self.permissions.insert(ip, now + timers::PERMISSION);
    }

    /// A channel usable now (bound and not expired).
    pub(crate) fn channel_peer(&self, channel: u16, now: Instant) -> Option<SocketAddr> {
        self.channels
            .get(&channel)
            .filter(|c| c.expires > now)
            .map(|c| c.peer)
    }

    /// Drops permissions that ran out, and channel bindings whose quarantine is over.
    pub(crate) fn prune(&mut self, now: Instant) {
        self.permissions.retain(|_, t| *t > now);
        let gone: Vec<u16> = self
            .channels
            .iter()
            .filter(|(_, c)| c.expires + timers::CHANNEL_QUARANTINE <= now)
            .map(|(n, _)| *n)
            .collect();
        for n in gone {
            if let Some(c) = self.channels.remove(&n) {
                self.channel_of.remove(&c.peer);
            }
        }
    }

    pub(crate) fn view(&self, now: Instant) -> AllocationView {
        AllocationView {
            tuple: self.tuple,
            relay: self.relay,
            tcp: self.tcp,
            username: self.username.clone(),
            remaining_secs: self.expires.saturating_duration_since(now).as_secs(),
            age_secs: now.saturating_duration_since(self.created).as_secs(),
            permissions: {
                let mut p: Vec<(IpAddr, u64)> = self
                    .permissions
                    .iter()
                    .filter(|(_, t)| **t > now)
                    .map(|(ip, t)| (*ip, t.saturating_duration_since(now).as_secs()))
                    .collect();
                p.sort();
                p
            },
            channels: {
                let mut c: Vec<(u16, SocketAddr, u64)> = self
                    .channels
                    .iter()
                    .filter(|(_, c)| c.expires > now)
                    .map(|(n, c)| {
                        (
                            *n,
                            c.peer,
                            c.expires.saturating_duration_since(now).as_secs(),
                        )
                    })
                    .collect();
                c.sort();
                c
            },
            counters: self.counters,
            connections: Vec::new(),
        }
    }
}

/// An allocation as the status shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationView {
    pub tuple: FiveTuple,
    pub relay: SocketAddr,
    /// A TCP relay (RFC 6062) rather than a UDP one.
    pub tcp: bool,
    pub username: String,
    pub remaining_secs: u64,
    pub age_secs: u64,
    /// Peer addresses allowed, with the seconds left.
    pub permissions: Vec<(IpAddr, u64)>,
    /// Channel number, peer, seconds left.
    pub channels: Vec<(u16, SocketAddr, u64)>,
    pub counters: Counters,
    /// A TCP relay's peer connections.
    pub connections: Vec<ConnectionView>,
}

/// A peer connection of a TCP relay, as the status shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionView {
    pub id: u32,
    pub peer: SocketAddr,
    /// `Connecting` (to the peer, for a Connect), `Waiting` (for the client's ConnectionBind)
    /// or `Bound`.
    pub state: &'static str,
}
