//! Fuzz target for the TURN core: the input is read as a script of things clients, peers and
//! the clock do (well-formed requests with chosen attributes, ChannelData, raw bytes, peer
//! data and connections, connection outcomes, time passing, connections closing), so that the
//! state machine is driven deep rather than stopped at the parser. Whatever the script, the
//! server must not panic, must not close a relay twice (the fake relays check), and must keep
//! its books: no more allocations than its capacity, each on an open relay, and no timer left
//! in the past. Under `cargo test` a bounded run; under `cargo bolero test drive_anything` as
//! long as asked.

use causeway_stun::{attr_type as at, method, Builder, ChannelData, Class};
use causeway_turn::{Config, FiveTuple, Output, Server, Transport};
use common::FakeRelays;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

mod common;

const PEERS: [&str; 5] = [
    "192.0.2.9:5000",
    "192.0.2.9:5001",
    "192.0.2.10:6000",
    "127.0.0.1:7000",
    "[2001:db8::9]:5000",
];

fn tuple(i: u8) -> FiveTuple {
    FiveTuple {
        client: SocketAddr::from(([198, 51, 100, 7], 40000 + u16::from(i % 8))),
        server: "203.0.113.1:3478".parse().unwrap(),
        // Half stream clients, so that TCP relays and data connections are reached.
        transport: if i % 8 < 4 {
            Transport::Udp
        } else {
            Transport::Tcp
        },
    }
}

fn peer(i: u8) -> SocketAddr {
    PEERS[usize::from(i) % PEERS.len()].parse().unwrap()
}

/// Reads bytes off the script; zeros once it runs out.
struct Script<'a>(&'a [u8]);

impl Script<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    fn bytes(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
}

fn request(meth: u16, tid: u8, fill: impl FnOnce(&mut Builder)) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut b = Builder::new(&mut buf, meth, Class::Request, &[tid; 12]);
    fill(&mut b);
    b.fingerprint();
    buf
}

fn drive(input: &[u8]) {
    let mut now = Instant::now();
    let config = Config {
        realm: "fuzz".into(),
        // Without credentials every request reaches its method; the credential checks have
        // tests of their own.
        authenticate: false,
        capacity: 5,
        relay_v4: Some("203.0.113.1".parse().unwrap()),
        relay_v6: Some("2001:db8::1".parse().unwrap()),
        relay_nat_v4: None,
        software: None,
    };
    let mut server = Server::new(config, b"fuzz", now);
    let mut relays = FakeRelays::with_ports(&[50000, 50001, 50002, 50003, 50004, 50005, 50006]);
    let mut s = Script(input);
    let mut tid = 0u8;
    while !s.0.is_empty() {
        tid = tid.wrapping_add(1);
        let op = s.byte() % 15;
        let who = tuple(s.byte());
        let arg = s.byte();
        let to = peer(s.byte());
        let bytes = match op {
            0 => request(method::ALLOCATE, tid, |b| {
                b.requested_transport(if arg & 1 == 0 { 17 } else { 6 });
                if arg & 2 != 0 {
                    b.attr(at::EVEN_PORT, &[arg & 0x80]);
                }
                if arg & 4 != 0 {
                    b.family(at::REQUESTED_ADDRESS_FAMILY, causeway_stun::Family::V6);
                }
                if arg & 8 != 0 {
                    b.attr(at::RESERVATION_TOKEN, &1u64.to_be_bytes());
                }
            }),
            1 => request(method::REFRESH, tid, |b| {
                b.u32(at::LIFETIME, u32::from(arg & 0x7f) * 60);
            }),
            2 => request(method::CREATE_PERMISSION, tid, |b| {
                b.xor_address(at::XOR_PEER_ADDRESS, &to);
            }),
            3 => request(method::CHANNEL_BIND, tid, |b| {
                b.channel_number(0x4000 + u16::from(arg % 4))
                    .xor_address(at::XOR_PEER_ADDRESS, &to);
            }),
            4 => {
                let mut buf = Vec::new();
                Builder::new(&mut buf, method::SEND, Class::Indication, &[tid; 12])
                    .xor_address(at::XOR_PEER_ADDRESS, &to)
                    .attr(at::DATA, &[arg; 20]);
                buf
            }
            5 => {
                let mut buf = ChannelData::header(0x4000 + u16::from(arg % 4), 8).to_vec();
                buf.extend_from_slice(&[arg; 8]);
                buf
            }
            6 => request(method::CONNECT, tid, |b| {
                b.xor_address(at::XOR_PEER_ADDRESS, &to);
            }),
            7 => request(method::CONNECTION_BIND, tid, |b| {
                b.u32(at::CONNECTION_ID, u32::from(arg % 6));
            }),
            8 => {
                let relay = relays.open.iter().nth(usize::from(arg)).copied();
                if let Some(relay) = relay {
                    let _ = server.handle_peer(now, relay, to, &[arg; 12]);
                }
                continue;
            }
            9 => {
                let relay = relays.open.iter().nth(usize::from(arg)).copied();
                if let Some(relay) = relay {
                    let _ = server.handle_peer_connection(now, relay, to);
                }
                continue;
            }
            10 => {
                let _ = server.handle_connected(now, u32::from(arg % 6), arg & 0x80 == 0);
                continue;
            }
            11 => {
                server.connection_closed(u32::from(arg % 6), 10, 20);
                continue;
            }
            12 => {
                now += Duration::from_secs(u64::from(arg) * 8);
                server.handle_timeout(now, &mut relays);
                if let Some(t) = server.poll_timeout() {
                    assert!(t > now, "a timer left in the past");
                }
                continue;
            }
            13 => {
                server.release(&who, &mut relays);
                continue;
            }
            _ => s.bytes(usize::from(arg)).to_vec(),
        };
        if let Some(Output::ToPeer { peer, .. }) =
            server.handle_client(now, who, &bytes, &mut relays)
        {
            // The relays are not on loopback, so nothing may go to the host's own.
            assert!(!peer.ip().is_loopback(), "data to a forbidden peer {peer}");
        }
        let _ = server.events().count();
        assert!(server.len() <= 5, "more allocations than the capacity");
        for a in server.allocations(now) {
            assert!(
                relays.open.contains(&a.relay),
                "{} on a closed relay",
                a.relay
            );
        }
    }
    server.clear(&mut relays);
    assert!(
        relays.open.is_empty(),
        "relays left open: {:?}",
        relays.open
    );
}

#[test]
fn drive_anything() {
    bolero::check!().for_each(drive);
}
