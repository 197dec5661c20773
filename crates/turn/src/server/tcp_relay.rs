//! TCP relays (RFC 6062): Connect, ConnectionAttempt and ConnectionBind, and the peer
//! connections they make. The core keeps each connection's state and timer; the bytes stay
//! with the caller.

use super::{Extra, Seal, Server};
use crate::{timers, ConnectionView, FiveTuple, Output, Relays};
use causeway_stun::{attr_type as at, method, Builder, Class, Family, Message};
use std::net::SocketAddr;
use std::time::Instant;

pub(crate) struct Connection {
    /// The control connection of the allocation it belongs to.
    owner: FiveTuple,
    peer: SocketAddr,
    state: State,
}

enum State {
    /// Being made for the Connect request with this transaction, which is answered when the
    /// attempt ends.
    Connecting { tid: [u8; 12], seal: Option<Seal> },
    /// Made, and closed unless the client binds a data connection to it by then.
    Waiting { until: Instant },
    /// Joined to the client's data connection.
    Bound,
}

impl State {
    fn name(&self) -> &'static str {
        match self {
            State::Connecting { .. } => "Connecting",
            State::Waiting { .. } => "Waiting",
            State::Bound => "Bound",
        }
    }
}

impl Server {
    /// A Connect request: the server connects the allocation's TCP relay to the peer and
    /// answers once that worked or failed, so there is no answer yet unless the request is
    /// refused.
    pub(super) fn connect(
        &mut self,
        tuple: FiveTuple,
        m: &Message<'_>,
        seal: Option<Seal>,
        relays: &mut dyn Relays,
    ) -> Option<Output<'_>> {
        let tid = *m.transaction_id();
        let meth = method::CONNECT;
        let peer = match self.connect_target(&tuple, m) {
            Ok(p) => p,
            Err(code) => return Some(self.error(tuple, meth, &tid, code, seal, Extra::None)),
        };
        let relay = self.allocations[&tuple].relay;
        let id = self.new_connection_id();
        self.connections.insert(
            id,
            Connection {
                owner: tuple,
                peer,
                state: State::Connecting { tid, seal },
            },
        );
        relays.connect(id, relay, peer);
        None
    }

    /// The peer a Connect asks for, or the code that refuses it.
    fn connect_target(&self, tuple: &FiveTuple, m: &Message<'_>) -> Result<SocketAddr, u16> {
        let a = self.allocations.get(tuple).ok_or(437u16)?;
        if !a.tcp {
            return Err(400);
        }
        let peer = m.xor_address(at::XOR_PEER_ADDRESS).ok_or(400u16)?;
        if Family::of(&peer) != Family::of(&a.relay) {
            return Err(443);
        }
        if !super::peer_allowed(&a.relay, &peer) {
            return Err(403);
        }
        if self
            .connections
            .values()
            .any(|c| c.owner == *tuple && c.peer == peer)
        {
            return Err(446);
        }
        Ok(peer)
    }

    fn new_connection_id(&mut self) -> u32 {
        loop {
            self.next_connection = self.next_connection.wrapping_add(1);
            let id = self.next_connection;
            if id != 0 && !self.connections.contains_key(&id) {
                return id;
            }
        }
    }

    /// How the attempt for connection `id` ended: the answer to its Connect, with the
    /// CONNECTION-ID the client binds a data connection to, or 447. `None` when the connection
    /// is no longer wanted (its allocation ended meanwhile and it was closed).
    pub fn handle_connected(&mut self, now: Instant, id: u32, ok: bool) -> Option<Output<'_>> {
        let c = self.connections.get_mut(&id)?;
        let State::Connecting { tid, seal } = c.state else {
            return None;
        };
        let owner = c.owner;
        if !ok {
            self.connections.remove(&id);
            return Some(self.error(owner, method::CONNECT, &tid, 447, seal, Extra::None));
        }
        let until = now + timers::CONNECTION_BIND;
        c.state = State::Waiting { until };
        self.connection_timers.insert((until, id));
        Some(self.success(owner, method::CONNECT, &tid, seal, |b| {
            b.u32(at::CONNECTION_ID, id);
        }))
    }

    /// A peer connected to TCP relay `relay`: the connection's id and the ConnectionAttempt
    /// that tells the client of it, or `None` when the relay has no permission for the peer
    /// and the caller is to close the connection (RFC 6062 §5.3).
    pub fn handle_peer_connection(
        &mut self,
        now: Instant,
        relay: SocketAddr,
        peer: SocketAddr,
    ) -> Option<(u32, Output<'_>)> {
        let tuple = *self.by_relay.get(&relay)?;
        let a = self.allocations.get(&tuple)?;
        if !a.tcp || a.expires <= now || !a.permitted(&peer.ip(), now) {
            return None;
        }
        let id = self.new_connection_id();
        let until = now + timers::CONNECTION_BIND;
        self.connections.insert(
            id,
            Connection {
                owner: tuple,
                peer,
                state: State::Waiting { until },
            },
        );
        self.connection_timers.insert((until, id));
        self.next_tid += 1;
        let mut tid = [0u8; 12];
        tid[4..].copy_from_slice(&self.next_tid.to_be_bytes());
        let mut b = Builder::new(
            &mut self.out,
            method::CONNECTION_ATTEMPT,
            Class::Indication,
            &tid,
        );
        b.xor_address(at::XOR_PEER_ADDRESS, &peer)
            .u32(at::CONNECTION_ID, id)
            .fingerprint();
        Some((
            id,
            Output::ToClient {
                tuple,
                bytes: &self.out,
            },
        ))
    }

    /// A ConnectionBind on a new connection of the client's: that connection becomes the data
    /// connection of the peer connection named by CONNECTION-ID.
    pub(super) fn connection_bind(
        &mut self,
        tuple: FiveTuple,
        m: &Message<'_>,
        seal: Option<Seal>,
        relays: &mut dyn Relays,
    ) -> Output<'_> {
        let tid = *m.transaction_id();
        let meth = method::CONNECTION_BIND;
        // A data connection is a stream of its own, never the control connection.
        if !tuple.transport.is_stream() || self.allocations.contains_key(&tuple) {
            return self.error(tuple, meth, &tid, 400, seal, Extra::None);
        }
        let id = m
            .get(at::CONNECTION_ID)
            .and_then(|v| <[u8; 4]>::try_from(v).ok())
            .map(u32::from_be_bytes);
        let Some(c) = id.and_then(|id| self.connections.get(&id)) else {
            return self.error(tuple, meth, &tid, 400, seal, Extra::None);
        };
        let State::Waiting { until } = c.state else {
            return self.error(tuple, meth, &tid, 400, seal, Extra::None);
        };
        // Only the allocation's own user may take its connections.
        if self.config.authenticate {
            let owner = self.allocations.get(&c.owner).map(|a| a.username.as_str());
            if owner != m.username() {
                return self.error(tuple, meth, &tid, 441, seal, Extra::None);
            }
        }
        let id = id.expect("looked up above");
        self.connection_timers.remove(&(until, id));
        if let Some(c) = self.connections.get_mut(&id) {
            c.state = State::Bound;
        }
        relays.bind(id, tuple);
        self.success(tuple, meth, &tid, seal, |_| {})
    }

    /// Connection `id` closed, from either end: it is forgotten, and the bytes it carried
    /// are counted to its allocation.
    pub fn connection_closed(&mut self, id: u32, to_peer: u64, to_client: u64) {
        let Some(c) = self.connections.remove(&id) else {
            return;
        };
        if let State::Waiting { until } = c.state {
            self.connection_timers.remove(&(until, id));
        }
        if let Some(a) = self.allocations.get_mut(&c.owner) {
            a.counters.bytes_to_peers += to_peer;
            a.counters.bytes_to_client += to_client;
        }
    }

    /// Closes the peer connections nobody bound in time.
    pub(super) fn unbound_connections_lapse(&mut self, now: Instant, relays: &mut dyn Relays) {
        while let Some(&(t, id)) = self.connection_timers.first() {
            if t > now {
                break;
            }
            self.connection_timers.remove(&(t, id));
            self.connections.remove(&id);
            relays.close_connection(id);
        }
    }

    /// Closes every connection of the allocation of `owner` (it is ending).
    pub(super) fn close_connections_of(&mut self, owner: &FiveTuple, relays: &mut dyn Relays) {
        let ids: Vec<u32> = self
            .connections
            .iter()
            .filter(|(_, c)| c.owner == *owner)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            if let Some(Connection {
                state: State::Waiting { until },
                ..
            }) = self.connections.remove(&id)
            {
                self.connection_timers.remove(&(until, id));
            }
            relays.close_connection(id);
        }
    }

    pub(super) fn connection_views(&self, owner: &FiveTuple) -> Vec<ConnectionView> {
        let mut v: Vec<ConnectionView> = self
            .connections
            .iter()
            .filter(|(_, c)| c.owner == *owner)
            .map(|(id, c)| ConnectionView {
                id: *id,
                peer: c.peer,
                state: c.state.name(),
            })
            .collect();
        v.sort_by_key(|c| c.id);
        v
    }
}
