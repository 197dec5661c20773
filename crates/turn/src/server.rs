//! The server: requests, indications, ChannelData, relayed data and timers.

use crate::allocation::{Allocation, AllocationView, Channel};
use crate::nonce::{Nonces, Verdict};
use crate::{timers, FiveTuple, Relays};
use causeway_stun::{
    attr_type as at, kind, long_term_key, method, Builder, ChannelData, Class, Family, Integrity,
    Kind, Message, CHANNEL_MAX, CHANNEL_MIN,
};
use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

mod tcp_relay;
use tcp_relay::Connection;

/// What the server is told at start. Changing any of it means a new [`Server`] (the guide
/// applies TURN settings when the service restarts); credentials change live.
#[derive(Debug, Clone)]
pub struct Config {
    /// REALM of the long-term credentials.
    pub realm: String,
    /// Requests must carry long-term credentials (`Authentication Mode: On`).
    pub authenticate: bool,
    /// Allocations at most; one more is answered 486.
    pub capacity: usize,
    /// The address IPv4 relays are opened on; `None` when the server has none.
    pub relay_v4: Option<IpAddr>,
    /// The address IPv6 relays are opened on (RFC 6156).
    pub relay_v6: Option<IpAddr>,
    /// The public address of IPv4 relays behind a static NAT: clients are given this address
    /// with the relay's own port, while the relay socket stays at the private one.
    pub relay_nat_v4: Option<IpAddr>,
    /// SOFTWARE in answers, if any.
    pub software: Option<String>,
}

/// Something to send.
#[derive(Debug, PartialEq, Eq)]
pub enum Output<'s> {
    /// An answer to the client, on the transport its request came in on.
    ToClient { tuple: FiveTuple, bytes: &'s [u8] },
    /// Data from the client, to send from the relay socket `relay` to `peer`.
    ToPeer {
        relay: SocketAddr,
        peer: SocketAddr,
        data: &'s [u8],
    },
}

/// What the server did that is worth logging or alarming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Allocated {
        tuple: FiveTuple,
        relay: SocketAddr,
        username: String,
    },
    /// The client deleted it (Refresh with lifetime zero).
    Deleted {
        tuple: FiveTuple,
        relay: SocketAddr,
        username: String,
    },
    Expired {
        tuple: FiveTuple,
        relay: SocketAddr,
        username: String,
    },
    /// A success answer went to a client.
    Success { tuple: FiveTuple, method: u16 },
    /// An error answer went to a client.
    Error {
        tuple: FiveTuple,
        method: u16,
        code: u16,
    },
    /// Every allocation the capacity allows is in use.
    CapacityReached,
    /// There is room again.
    CapacityAvailable,
    /// Allocations in use reached [`NEAR_CAPACITY`] of the capacity.
    CapacityNear,
    /// And went below it again.
    CapacityNotNear,
}

/// Events kept for the caller at most; beyond, the oldest go (a caller that never reads them
/// must not make the server grow).
const EVENTS_KEPT: usize = 10_000;

pub struct Server {
    config: Config,
    /// Long-term keys by username.
    keys: HashMap<String, [u8; 16]>,
    nonces: Nonces,
    /// The server's clock for nonces: seconds since this.
    epoch: Instant,
    allocations: HashMap<FiveTuple, Allocation>,
    by_relay: HashMap<SocketAddr, FiveTuple>,
    expiries: BTreeSet<(Instant, FiveTuple)>,
    /// Answers and relayed data are written here, then lent to the caller.
    out: Vec<u8>,
    events: Vec<Event>,
    at_capacity: bool,
    near_capacity: bool,
    /// Transaction ids of the Data indications the server sends.
    next_tid: u64,
    /// Ports held for a later Allocate, by RESERVATION-TOKEN: the relay address and until when.
    reservations: HashMap<[u8; 8], (SocketAddr, Instant)>,
    next_token: u64,
    /// The peer connections of TCP relays (RFC 6062), by CONNECTION-ID.
    connections: HashMap<u32, Connection>,
    /// When a peer connection stops waiting for its ConnectionBind.
    connection_timers: BTreeSet<(Instant, u32)>,
    next_connection: u32,
}

/// The share of the capacity, in per cent, from which the server warns that relays are running
/// out.
pub const NEAR_CAPACITY: usize = 90;

/// REQUESTED-TRANSPORT's protocol numbers.
const UDP: u8 = 17;
const TCP: u8 = 6;

/// How many even ports are tried for one whose odd neighbour is free too.
const PAIR_ATTEMPTS: usize = 16;

/// Attributes the server understands in requests; any other comprehension-required one is
/// answered 420. DONT-FRAGMENT is not among them: relayed datagrams may be fragmented, and a
/// client that needs otherwise learns it from the 420 (RFC 8656 §7.1).
fn known(t: u16) -> bool {
    matches!(
        t,
        at::USERNAME
            | at::MESSAGE_INTEGRITY
            | at::MESSAGE_INTEGRITY_SHA256
            | at::REALM
            | at::NONCE
            | at::LIFETIME
            | at::REQUESTED_TRANSPORT
            | at::REQUESTED_ADDRESS_FAMILY
            | at::EVEN_PORT
            | at::RESERVATION_TOKEN
            | at::XOR_PEER_ADDRESS
            | at::CHANNEL_NUMBER
            | at::DATA
            | at::PRIORITY
            | at::USE_CANDIDATE
            | at::USERHASH
            | at::PASSWORD_ALGORITHM
            | at::CONNECTION_ID
    )
}

fn reason(code: u16) -> &'static str {
    match code {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        420 => "Unknown Attribute",
        437 => "Allocation Mismatch",
        438 => "Stale Nonce",
        440 => "Address Family not Supported",
        441 => "Wrong Credentials",
        442 => "Unsupported Transport Protocol",
        443 => "Peer Address Family Mismatch",
        446 => "Connection Already Exists",
        447 => "Connection Timeout or Failure",
        486 => "Allocation Quota Reached",
        508 => "Insufficient Capacity",
        _ => "Server Error",
    }
}

/// How the answer to one request is protected: the key and the integrity the request used.
#[derive(Clone, Copy)]
struct Seal {
    key: [u8; 16],
    integrity: Integrity,
}

/// The parts of an error answer beyond its code.
enum Extra {
    None,
    /// REALM and NONCE, so that the client can authenticate.
    Challenge(String),
    Unknown(Vec<u16>),
}

impl Server {
    /// A server with `secret` for its nonces (random per start; fixed in tests).
    pub fn new(config: Config, secret: &[u8], now: Instant) -> Server {
        Server {
            config,
            keys: HashMap::new(),
            nonces: Nonces::new(secret),
            epoch: now,
            allocations: HashMap::new(),
            by_relay: HashMap::new(),
            expiries: BTreeSet::new(),
            out: Vec::with_capacity(1600),
            events: Vec::new(),
            at_capacity: false,
            near_capacity: false,
            next_tid: 0,
            reservations: HashMap::new(),
            next_token: 0,
            connections: HashMap::new(),
            connection_timers: BTreeSet::new(),
            next_connection: 0,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Replaces the credentials: (username, password) pairs, keyed with the realm.
    pub fn set_credentials<'a>(&mut self, creds: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let realm = self.config.realm.clone();
        self.keys = creds
            .into_iter()
            .map(|(u, p)| (u.to_string(), long_term_key(u, &realm, p)))
            .collect();
    }

    /// Events since the last call.
    pub fn events(&mut self) -> std::vec::Drain<'_, Event> {
        self.events.drain(..)
    }

    fn event(&mut self, e: Event) {
        if self.events.len() == EVENTS_KEPT {
            self.events.remove(0);
        }
        self.events.push(e);
    }

    pub fn len(&self) -> usize {
        self.allocations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.allocations.is_empty()
    }

    /// Every allocation, for the status.
    pub fn allocations(&self, now: Instant) -> Vec<AllocationView> {
        let mut v: Vec<AllocationView> = self
            .allocations
            .values()
            .map(|a| {
                let mut view = a.view(now);
                view.connections = self.connection_views(&a.tuple);
                view
            })
            .collect();
        v.sort_by_key(|a| a.tuple);
        v
    }

    /// When [`Server::handle_timeout`] has something to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.expiries.first().map(|(t, _)| *t),
            self.reservations.values().map(|(_, t)| *t).min(),
            self.connection_timers.first().map(|(t, _)| *t),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Ends the allocations whose lifetime ran out, reservations nobody claimed, and peer
    /// connections nobody bound.
    pub fn handle_timeout(&mut self, now: Instant, relays: &mut dyn Relays) {
        let lapsed: Vec<[u8; 8]> = self
            .reservations
            .iter()
            .filter(|(_, (_, t))| *t <= now)
            .map(|(k, _)| *k)
            .collect();
        for k in lapsed {
            if let Some((addr, _)) = self.reservations.remove(&k) {
                relays.close(addr);
            }
        }
        while let Some(&(t, tuple)) = self.expiries.first() {
            if t > now {
                break;
            }
            self.expiries.remove(&(t, tuple));
            self.end(&tuple, relays, true);
        }
        self.unbound_connections_lapse(now, relays);
    }

    /// Reports when the allocations in use cross [`NEAR_CAPACITY`] of the capacity, either way.
    fn check_load(&mut self) {
        let near = self.allocations.len() * 100 >= self.config.capacity * NEAR_CAPACITY;
        if near != self.near_capacity {
            self.near_capacity = near;
            self.event(if near {
                Event::CapacityNear
            } else {
                Event::CapacityNotNear
            });
        }
    }

    /// The address a client is given for `relay`: its own, or its static NAT's.
    fn advertised(&self, relay: SocketAddr) -> SocketAddr {
        match self.config.relay_nat_v4 {
            Some(public) if relay.is_ipv4() => SocketAddr::new(public, relay.port()),
            _ => relay,
        }
    }

    /// Removes an allocation and reports it as expired or deleted.
    fn end(&mut self, tuple: &FiveTuple, relays: &mut dyn Relays, expired: bool) {
        if let Some(a) = self.remove(tuple, relays) {
            let (tuple, relay, username) = (*tuple, a.relay, a.username);
            self.event(if expired {
                Event::Expired {
                    tuple,
                    relay,
                    username,
                }
            } else {
                Event::Deleted {
                    tuple,
                    relay,
                    username,
                }
            });
        }
    }

    fn remove(&mut self, tuple: &FiveTuple, relays: &mut dyn Relays) -> Option<Allocation> {
        let a = self.allocations.remove(tuple)?;
        self.expiries.remove(&(a.expires, *tuple));
        self.by_relay.remove(&a.relay);
        if a.tcp {
            self.close_connections_of(tuple, relays);
        }
        relays.close(a.relay);
        if self.at_capacity && self.allocations.len() < self.config.capacity {
            self.at_capacity = false;
            self.event(Event::CapacityAvailable);
        }
        self.check_load();
        Some(a)
    }

    /// Ends the allocation of a 5-tuple whose connection closed (RFC 8656 §3.1: over TCP and
    /// TLS an allocation lives no longer than its connection).
    pub fn release(&mut self, tuple: &FiveTuple, relays: &mut dyn Relays) {
        self.end(tuple, relays, false);
    }

    /// Ends every allocation and reservation (the service is stopping).
    pub fn clear(&mut self, relays: &mut dyn Relays) {
        let all: Vec<FiveTuple> = self.allocations.keys().copied().collect();
        for t in all {
            self.remove(&t, relays);
        }
        for (_, (addr, _)) in self.reservations.drain() {
            relays.close(addr);
        }
        // Connections without an allocation: data connections bound by a ConnectionBind whose
        // control connection went already are closed with their allocation, so none are left.
        debug_assert!(self.connections.is_empty());
    }

    fn now_secs(&self, now: Instant) -> u32 {
        now.saturating_duration_since(self.epoch).as_secs() as u32
    }

    /// What a client sent to the TURN port: a STUN message or ChannelData.
    pub fn handle_client<'s>(
        &'s mut self,
        now: Instant,
        tuple: FiveTuple,
        bytes: &'s [u8],
        relays: &mut dyn Relays,
    ) -> Option<Output<'s>> {
        match kind(*bytes.first()?) {
            Kind::ChannelData => self.channel_data(now, tuple, bytes),
            Kind::Stun => {
                let m = Message::parse(bytes).ok()?;
                match m.class() {
                    Class::Request => self.request(now, tuple, &m, relays),
                    Class::Indication => self.indication(now, tuple, &m),
                    // Answers from a client mean nothing to a server.
                    Class::Success | Class::Error => None,
                }
            }
            Kind::Other => None,
        }
    }

    fn channel_data<'s>(
        &mut self,
        now: Instant,
        tuple: FiveTuple,
        bytes: &'s [u8],
    ) -> Option<Output<'s>> {
        let cd = ChannelData::parse(bytes)?;
        let a = self.allocations.get_mut(&tuple)?;
        let peer = a.channel_peer(cd.channel, now)?;
        if !a.permitted(&peer.ip(), now) {
            return None;
        }
        a.counters.to_peers += 1;
        a.counters.bytes_to_peers += cd.data.len() as u64;
        Some(Output::ToPeer {
            relay: a.relay,
            peer,
            data: cd.data,
        })
    }

    fn indication<'s>(
        &mut self,
        now: Instant,
        tuple: FiveTuple,
        m: &Message<'s>,
    ) -> Option<Output<'s>> {
        if m.method() != method::SEND {
            return None;
        }
        let a = self.allocations.get_mut(&tuple)?;
        let peer = m.xor_address(at::XOR_PEER_ADDRESS)?;
        let data = m.data()?;
        if a.tcp
            || !a.permitted(&peer.ip(), now)
            || Family::of(&peer) != Family::of(&a.relay)
            || !peer_allowed(&a.relay, &peer)
        {
            return None;
        }
        a.counters.to_peers += 1;
        a.counters.bytes_to_peers += data.len() as u64;
        Some(Output::ToPeer {
            relay: a.relay,
            peer,
            data,
        })
    }

    /// Data that arrived on relay socket `relay` from `peer`: what to send to the client, as
    /// ChannelData when the peer has a channel, else as a Data indication. Nothing without a
    /// permission for the peer.
    pub fn handle_peer(
        &mut self,
        now: Instant,
        relay: SocketAddr,
        peer: SocketAddr,
        data: &[u8],
    ) -> Option<(FiveTuple, &[u8])> {
        let tuple = *self.by_relay.get(&relay)?;
        let a = self.allocations.get_mut(&tuple)?;
        if a.expires <= now || !a.permitted(&peer.ip(), now) {
            return None;
        }
        a.counters.to_client += 1;
        a.counters.bytes_to_client += data.len() as u64;
        let channel = a
            .channel_of
            .get(&peer)
            .copied()
            .filter(|n| a.channel_peer(*n, now) == Some(peer));
        self.out.clear();
        match channel {
            Some(n) => {
                self.out
                    .extend_from_slice(&ChannelData::header(n, data.len()));
                self.out.extend_from_slice(data);
                if tuple.transport.is_stream() {
                    let pad = (4 - data.len() % 4) % 4;
                    self.out.extend_from_slice(&[0u8; 3][..pad]);
                }
            }
            None => {
                self.next_tid += 1;
                let mut tid = [0u8; 12];
                tid[4..].copy_from_slice(&self.next_tid.to_be_bytes());
                let mut b = Builder::new(&mut self.out, method::DATA, Class::Indication, &tid);
                b.xor_address(at::XOR_PEER_ADDRESS, &peer)
                    .attr(at::DATA, data);
            }
        }
        Some((tuple, &self.out))
    }

    /// The answer to a request; none yet for a Connect, answered when its attempt ends.
    fn request(
        &mut self,
        now: Instant,
        tuple: FiveTuple,
        m: &Message<'_>,
        relays: &mut dyn Relays,
    ) -> Option<Output<'_>> {
        let tid = *m.transaction_id();
        let meth = m.method();
        // An allocation past its time is gone, even if the timer has not come round yet.
        if self
            .allocations
            .get(&tuple)
            .is_some_and(|a| a.expires <= now)
        {
            self.end(&tuple, relays, true);
        }
        if let Some(a) = self.allocations.get_mut(&tuple) {
            a.counters.requests += 1;
        }
        let unknown = m.unknown_required(known);
        if !unknown.is_empty() {
            return Some(self.error(tuple, meth, &tid, 420, None, Extra::Unknown(unknown)));
        }
        let seal = if self.config.authenticate {
            match self.authenticate(now, &tuple, m) {
                Ok(s) => Some(s),
                Err((code, extra)) => {
                    return Some(self.error(tuple, meth, &tid, code, None, extra))
                }
            }
        } else {
            None
        };
        if meth == method::CONNECT {
            return self.connect(tuple, m, seal, relays);
        }
        Some(match meth {
            method::BINDING => {
                let client = tuple.client;
                self.success(tuple, meth, &tid, seal, |b| {
                    b.xor_address(at::XOR_MAPPED_ADDRESS, &client);
                })
            }
            method::ALLOCATE => self.allocate(now, tuple, m, seal, relays),
            method::REFRESH => self.refresh(now, tuple, m, seal, relays),
            method::CREATE_PERMISSION => self.create_permission(now, tuple, m, seal),
            method::CHANNEL_BIND => self.channel_bind(now, tuple, m, seal),
            method::CONNECTION_BIND => self.connection_bind(tuple, m, seal, relays),
            _ => self.error(tuple, meth, &tid, 400, seal, Extra::None),
        })
    }

    /// The long-term credential mechanism (RFC 8489 §9.2): a key, or the error to answer.
    fn authenticate(
        &self,
        now: Instant,
        tuple: &FiveTuple,
        m: &Message<'_>,
    ) -> Result<Seal, (u16, Extra)> {
        let challenge = || {
            let expiry = self.now_secs(now) + timers::NONCE.as_secs() as u32;
            Extra::Challenge(self.nonces.make(expiry, tuple.client.ip()))
        };
        let integrity = m.integrity();
        if integrity == Integrity::None {
            return Err((401, challenge()));
        }
        let (Some(user), Some(realm), Some(nonce)) = (m.username(), m.realm(), m.nonce()) else {
            return Err((400, Extra::None));
        };
        if self
            .nonces
            .check(nonce, tuple.client.ip(), self.now_secs(now))
            != Verdict::Good
        {
            return Err((438, challenge()));
        }
        let key = match self.keys.get(user) {
            Some(k) if realm == self.config.realm => *k,
            _ => return Err((401, challenge())),
        };
        if !m.check_integrity(&key) {
            return Err((401, challenge()));
        }
        // An allocation answers only to the user who made it.
        if let Some(a) = self.allocations.get(tuple) {
            if a.username != user {
                return Err((441, Extra::None));
            }
        }
        Ok(Seal { key, integrity })
    }

    fn allocate(
        &mut self,
        now: Instant,
        tuple: FiveTuple,
        m: &Message<'_>,
        seal: Option<Seal>,
        relays: &mut dyn Relays,
    ) -> Output<'_> {
        let tid = *m.transaction_id();
        let meth = method::ALLOCATE;
        if let Some(a) = self.allocations.get(&tuple) {
            if a.allocate_tid != tid {
                return self.error(tuple, meth, &tid, 437, seal, Extra::None);
            }
            // A retransmission of the Allocate that made it: the same answer again.
            let (relay, lifetime, client) =
                (self.advertised(a.relay), a.lifetime_secs, tuple.client);
            return self.success(tuple, meth, &tid, seal, |b| {
                b.xor_address(at::XOR_RELAYED_ADDRESS, &relay)
                    .u32(at::LIFETIME, lifetime)
                    .xor_address(at::XOR_MAPPED_ADDRESS, &client);
            });
        }
        let tcp = match m.requested_transport() {
            None => return self.error(tuple, meth, &tid, 400, seal, Extra::None),
            Some(UDP) => false,
            Some(TCP) => true,
            Some(_) => return self.error(tuple, meth, &tid, 442, seal, Extra::None),
        };
        // EVEN-PORT asks for an even port; its R bit also holds the next one for a second
        // Allocate (RTP and RTCP), which names it by RESERVATION-TOKEN.
        let (even, reserve) = match m.get(at::EVEN_PORT) {
            None => (false, false),
            Some(v) => (true, v.first().is_some_and(|b| b & 0x80 != 0)),
        };
        // A TCP relay is controlled over a stream, and has no use for port pairs (RFC 6062
        // §5.1).
        if tcp && (!tuple.transport.is_stream() || even || m.get(at::RESERVATION_TOKEN).is_some()) {
            return self.error(tuple, meth, &tid, 400, seal, Extra::None);
        }
        let token = match m.get(at::RESERVATION_TOKEN) {
            None => None,
            Some(t) => match <[u8; 8]>::try_from(t) {
                // A token with EVEN-PORT or a family request contradicts itself.
                Ok(t) if !even && m.requested_family().is_none() => Some(t),
                _ => return self.error(tuple, meth, &tid, 400, seal, Extra::None),
            },
        };
        let family = match m.requested_family() {
            None => Family::V4,
            Some(Ok(f)) => f,
            Some(Err(())) => return self.error(tuple, meth, &tid, 440, seal, Extra::None),
        };
        let base = match family {
            Family::V4 => self.config.relay_v4,
            Family::V6 => self.config.relay_v6,
        };
        let Some(base) = base else {
            return self.error(tuple, meth, &tid, 440, seal, Extra::None);
        };
        if self.allocations.len() >= self.config.capacity {
            if !self.at_capacity {
                self.at_capacity = true;
                self.event(Event::CapacityReached);
            }
            return self.error(tuple, meth, &tid, 486, seal, Extra::None);
        }
        let mut issued = None;
        let relay = match token {
            Some(t) => match self.reservations.remove(&t) {
                Some((addr, until)) if until > now => addr,
                Some((addr, _)) => {
                    relays.close(addr);
                    return self.error(tuple, meth, &tid, 508, seal, Extra::None);
                }
                None => return self.error(tuple, meth, &tid, 508, seal, Extra::None),
            },
            None if reserve => {
                let like = SocketAddr::new(base, 0);
                let mut pair = None;
                for _ in 0..PAIR_ATTEMPTS {
                    let Some(a) = relays.open(&like, &tuple.client, true) else {
                        break;
                    };
                    let next = SocketAddr::new(a.ip(), a.port().wrapping_add(1));
                    if a.port() < u16::MAX && relays.open_at(next) {
                        pair = Some((a, next));
                        break;
                    }
                    relays.close(a);
                }
                let Some((a, next)) = pair else {
                    return self.error(tuple, meth, &tid, 508, seal, Extra::None);
                };
                self.next_token += 1;
                let t = self.next_token.to_be_bytes();
                self.reservations
                    .insert(t, (next, now + timers::RESERVATION));
                issued = Some(t);
                a
            }
            None => {
                let like = SocketAddr::new(base, 0);
                let opened = if tcp {
                    relays.open_tcp(&like, &tuple.client)
                } else {
                    relays.open(&like, &tuple.client, even)
                };
                match opened {
                    Some(a) => a,
                    None => return self.error(tuple, meth, &tid, 508, seal, Extra::None),
                }
            }
        };
        let lifetime = lifetime_of(m);
        let expires = now + std::time::Duration::from_secs(u64::from(lifetime));
        let username = m.username().unwrap_or("").to_string();
        self.allocations.insert(
            tuple,
            Allocation {
                tuple,
                relay,
                tcp,
                username: username.clone(),
                expires,
                allocate_tid: tid,
                lifetime_secs: lifetime,
                permissions: HashMap::new(),
                channels: HashMap::new(),
                channel_of: HashMap::new(),
                counters: crate::Counters {
                    requests: 1,
                    ..Default::default()
                },
                created: now,
            },
        );
        self.by_relay.insert(relay, tuple);
        self.expiries.insert((expires, tuple));
        self.event(Event::Allocated {
            tuple,
            relay,
            username,
        });
        self.check_load();
        let client = tuple.client;
        let relay = self.advertised(relay);
        self.success(tuple, meth, &tid, seal, |b| {
            b.xor_address(at::XOR_RELAYED_ADDRESS, &relay)
                .u32(at::LIFETIME, lifetime)
                .xor_address(at::XOR_MAPPED_ADDRESS, &client);
            if let Some(t) = issued {
                b.attr(at::RESERVATION_TOKEN, &t);
            }
        })
    }

    fn refresh(
        &mut self,
        now: Instant,
        tuple: FiveTuple,
        m: &Message<'_>,
        seal: Option<Seal>,
        relays: &mut dyn Relays,
    ) -> Output<'_> {
        let tid = *m.transaction_id();
        let meth = method::REFRESH;
        let Some(a) = self.allocations.get(&tuple) else {
            return self.error(tuple, meth, &tid, 437, seal, Extra::None);
        };
        if let Some(f) = m.requested_family() {
            if f != Ok(Family::of(&a.relay)) {
                return self.error(tuple, meth, &tid, 443, seal, Extra::None);
            }
        }
        if m.lifetime() == Some(0) {
            self.end(&tuple, relays, false);
            return self.success(tuple, meth, &tid, seal, |b| {
                b.u32(at::LIFETIME, 0);
            });
        }
        let lifetime = lifetime_of(m);
        let expires = now + std::time::Duration::from_secs(u64::from(lifetime));
        let a = self.allocations.get_mut(&tuple).expect("looked up above");
        self.expiries.remove(&(a.expires, tuple));
        a.expires = expires;
        a.lifetime_secs = lifetime;
        a.prune(now);
        self.expiries.insert((expires, tuple));
        self.success(tuple, meth, &tid, seal, |b| {
            b.u32(at::LIFETIME, lifetime);
        })
    }

    fn create_permission(
        &mut self,
        now: Instant,
        tuple: FiveTuple,
        m: &Message<'_>,
        seal: Option<Seal>,
    ) -> Output<'_> {
        let tid = *m.transaction_id();
        let meth = method::CREATE_PERMISSION;
        let Some(a) = self.allocations.get(&tuple) else {
            return self.error(tuple, meth, &tid, 437, seal, Extra::None);
        };
        let peers: Option<Vec<SocketAddr>> = m.xor_peer_addresses().collect();
        let peers = match peers {
            Some(p) if !p.is_empty() => p,
            _ => return self.error(tuple, meth, &tid, 400, seal, Extra::None),
        };
        let family = Family::of(&a.relay);
        if peers.iter().any(|p| Family::of(p) != family) {
            return self.error(tuple, meth, &tid, 443, seal, Extra::None);
        }
        if !peers.iter().all(|p| peer_allowed(&a.relay, p)) {
            return self.error(tuple, meth, &tid, 403, seal, Extra::None);
        }
        let a = self.allocations.get_mut(&tuple).expect("looked up above");
        a.prune(now);
        for p in peers {
            a.permit(p.ip(), now);
        }
        self.success(tuple, meth, &tid, seal, |_| {})
    }

    fn channel_bind(
        &mut self,
        now: Instant,
        tuple: FiveTuple,
        m: &Message<'_>,
        seal: Option<Seal>,
    ) -> Output<'_> {
        let tid = *m.transaction_id();
        let meth = method::CHANNEL_BIND;
        let Some(a) = self.allocations.get(&tuple) else {
            return self.error(tuple, meth, &tid, 437, seal, Extra::None);
        };
        let (Some(channel), Some(peer)) = (m.channel_number(), m.xor_address(at::XOR_PEER_ADDRESS))
        else {
            return self.error(tuple, meth, &tid, 400, seal, Extra::None);
        };
        if !(CHANNEL_MIN..=CHANNEL_MAX).contains(&channel) {
            return self.error(tuple, meth, &tid, 400, seal, Extra::None);
        }
        if Family::of(&peer) != Family::of(&a.relay) {
            return self.error(tuple, meth, &tid, 443, seal, Extra::None);
        }
        // Channels carry datagrams; a TCP relay has connections instead.
        if a.tcp {
            return self.error(tuple, meth, &tid, 400, seal, Extra::None);
        }
        if !peer_allowed(&a.relay, &peer) {
            return self.error(tuple, meth, &tid, 403, seal, Extra::None);
        }
        // A channel is bound to one peer and a peer to one channel, for the binding's life and
        // the quarantine after it.
        let taken = a.channels.get(&channel).is_some_and(|c| c.peer != peer)
            || a.channel_of.get(&peer).is_some_and(|n| *n != channel);
        if taken {
            return self.error(tuple, meth, &tid, 400, seal, Extra::None);
        }
        let a = self.allocations.get_mut(&tuple).expect("looked up above");
        a.channels.insert(
            channel,
            Channel {
                peer,
                expires: now + timers::CHANNEL,
            },
        );
        a.channel_of.insert(peer, channel);
        a.permit(peer.ip(), now);
        self.success(tuple, meth, &tid, seal, |_| {})
    }

    fn success(
        &mut self,
        tuple: FiveTuple,
        meth: u16,
        tid: &[u8; 12],
        seal: Option<Seal>,
        fill: impl FnOnce(&mut Builder<'_>),
    ) -> Output<'_> {
        if let Some(a) = self.allocations.get_mut(&tuple) {
            a.counters.successes += 1;
        }
        self.event(Event::Success {
            tuple,
            method: meth,
        });
        let software = self.config.software.clone();
        let mut b = Builder::new(&mut self.out, meth, Class::Success, tid);
        fill(&mut b);
        finish(&mut b, software.as_deref(), seal);
        Output::ToClient {
            tuple,
            bytes: &self.out,
        }
    }

    fn error(
        &mut self,
        tuple: FiveTuple,
        meth: u16,
        tid: &[u8; 12],
        code: u16,
        seal: Option<Seal>,
        extra: Extra,
    ) -> Output<'_> {
        if let Some(a) = self.allocations.get_mut(&tuple) {
            a.counters.errors += 1;
        }
        self.event(Event::Error {
            tuple,
            method: meth,
            code,
        });
        let software = self.config.software.clone();
        let realm = self.config.realm.clone();
        let mut b = Builder::new(&mut self.out, meth, Class::Error, tid);
        b.error(code, reason(code));
        match &extra {
            Extra::None => {}
            Extra::Challenge(nonce) => {
                b.text(at::REALM, &realm).text(at::NONCE, nonce);
            }
            Extra::Unknown(types) => {
                b.unknown_attributes(types);
            }
        }
        finish(&mut b, software.as_deref(), seal);
        Output::ToClient {
            tuple,
            bytes: &self.out,
        }
    }
}

/// SOFTWARE, then the integrity the request used, then FINGERPRINT.
fn finish(b: &mut Builder<'_>, software: Option<&str>, seal: Option<Seal>) {
    if let Some(s) = software {
        b.text(at::SOFTWARE, s);
    }
    match seal {
        Some(Seal {
            key,
            integrity: Integrity::Sha256,
        }) => {
            b.integrity_sha256(&key);
        }
        Some(Seal { key, .. }) => {
            b.integrity(&key);
        }
        None => {}
    }
    b.fingerprint();
}

/// Whether a relay may send to `peer`: never to an unspecified, multicast or broadcast address,
/// and to this host's loopback only from a relay that is itself on loopback, so that a relay
/// on a public address cannot be used to reach services listening on the host.
pub(crate) fn peer_allowed(relay: &SocketAddr, peer: &SocketAddr) -> bool {
    let ip = peer.ip().to_canonical();
    let bad = ip.is_unspecified()
        || ip.is_multicast()
        || matches!(ip, IpAddr::V4(v4) if v4.is_broadcast())
        || (ip.is_loopback() && !relay.ip().to_canonical().is_loopback());
    !bad
}

/// The lifetime granted: the default without a LIFETIME, else what was asked within the
/// default and the maximum.
fn lifetime_of(m: &Message<'_>) -> u32 {
    let default = timers::DEFAULT_LIFETIME.as_secs() as u32;
    let max = timers::MAX_LIFETIME.as_secs() as u32;
    match m.lifetime() {
        None => default,
        Some(asked) => asked.clamp(default, max),
    }
}
