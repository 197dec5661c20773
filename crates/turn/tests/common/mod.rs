//! What the TURN core's tests share: relay sockets that are only bookkeeping.

use causeway_turn::{FiveTuple, Relays};
use std::collections::BTreeSet;
use std::net::SocketAddr;

/// Relay "sockets" handed out from a small port range.
#[derive(Default)]
pub struct FakeRelays {
    pub open: BTreeSet<SocketAddr>,
    pub closed: Vec<SocketAddr>,
    pub ports: Vec<u16>,
    /// TCP relays among `open`.
    pub tcp: BTreeSet<SocketAddr>,
    /// Connections asked for (id, relay, peer), bound (id, data connection), closed.
    pub connecting: Vec<(u32, SocketAddr, SocketAddr)>,
    pub bound: Vec<(u32, FiveTuple)>,
    pub closed_connections: Vec<u32>,
}

impl FakeRelays {
    pub fn with_ports(ports: &[u16]) -> FakeRelays {
        FakeRelays {
            ports: ports.to_vec(),
            ..Default::default()
        }
    }
}

impl Relays for FakeRelays {
    fn open(&mut self, like: &SocketAddr, _client: &SocketAddr, even: bool) -> Option<SocketAddr> {
        let i = self.ports.iter().position(|p| !even || p % 2 == 0)?;
        let port = self.ports.remove(i);
        let a = SocketAddr::new(like.ip(), port);
        self.open.insert(a);
        Some(a)
    }
    fn open_at(&mut self, addr: SocketAddr) -> bool {
        match self.ports.iter().position(|p| *p == addr.port()) {
            Some(i) => {
                self.ports.remove(i);
                self.open.insert(addr);
                true
            }
            None => false,
        }
    }
    fn close(&mut self, relay: SocketAddr) {
        assert!(self.open.remove(&relay), "closed twice: {relay}");
        self.tcp.remove(&relay);
        self.closed.push(relay);
        self.ports.push(relay.port());
    }
    fn open_tcp(&mut self, like: &SocketAddr, client: &SocketAddr) -> Option<SocketAddr> {
        let a = self.open(like, client, false)?;
        self.tcp.insert(a);
        Some(a)
    }
    fn connect(&mut self, id: u32, relay: SocketAddr, peer: SocketAddr) {
        assert!(self.tcp.contains(&relay), "a connection from a TCP relay");
        self.connecting.push((id, relay, peer));
    }
    fn bind(&mut self, id: u32, data: FiveTuple) {
        self.bound.push((id, data));
    }
    fn close_connection(&mut self, id: u32) {
        assert!(
            !self.closed_connections.contains(&id),
            "connection {id} closed twice"
        );
        self.closed_connections.push(id);
    }
}
