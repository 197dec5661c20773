//! The TURN core driven without a network: a client that writes real STUN messages, a fake set
//! of relay sockets, and time passed in.

use causeway_stun::{attr_type as at, long_term_key, method, Builder, ChannelData, Class, Message};
use causeway_turn::{Config, Event, FiveTuple, Output, Server, Transport};
use common::FakeRelays;
use std::net::SocketAddr;

mod common;
use std::time::{Duration, Instant};

const REALM: &str = "causeway.test";

fn config() -> Config {
    Config {
        realm: REALM.into(),
        authenticate: true,
        capacity: 10,
        relay_v4: Some("203.0.113.1".parse().unwrap()),
        relay_v6: None,
        relay_nat_v4: None,
        software: Some("causeway test".into()),
    }
}

struct World {
    server: Server,
    relays: FakeRelays,
    now: Instant,
}

fn world(config: Config) -> World {
    let now = Instant::now();
    let mut server = Server::new(config, b"test secret", now);
    server.set_credentials([("alice", "alice pass"), ("bob", "bob pass")]);
    World {
        server,
        relays: FakeRelays::with_ports(&[50000, 50001, 50002, 50003, 50004, 50005]),
        now,
    }
}

fn tuple(client: &str) -> FiveTuple {
    FiveTuple {
        client: client.parse().unwrap(),
        server: "203.0.113.1:3478".parse().unwrap(),
        transport: Transport::Udp,
    }
}

/// A client: its 5-tuple and, once challenged, its nonce.
struct Client {
    tuple: FiveTuple,
    user: &'static str,
    password: &'static str,
    nonce: Option<String>,
    realm: String,
    next: u8,
}

fn client(addr: &str, user: &'static str, password: &'static str) -> Client {
    Client {
        tuple: tuple(addr),
        user,
        password,
        nonce: None,
        realm: REALM.into(),
        next: 0,
    }
}

impl Client {
    fn tid(&mut self) -> [u8; 12] {
        self.next += 1;
        [self.next; 12]
    }

    /// A request, authenticated when a nonce is known.
    fn request(&mut self, meth: u16, tid: [u8; 12], fill: impl FnOnce(&mut Builder)) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut b = Builder::new(&mut buf, meth, Class::Request, &tid);
        fill(&mut b);
        if let Some(n) = &self.nonce {
            b.text(at::USERNAME, self.user)
                .text(at::REALM, &self.realm)
                .text(at::NONCE, n)
                .integrity(&long_term_key(self.user, &self.realm, self.password));
        }
        buf
    }
}

/// The answer to `bytes`, as owned bytes.
fn send(w: &mut World, c: &Client, bytes: &[u8]) -> Option<Vec<u8>> {
    match w
        .server
        .handle_client(w.now, c.tuple, bytes, &mut w.relays)?
    {
        Output::ToClient { tuple, bytes } => {
            assert_eq!(tuple, c.tuple);
            Some(bytes.to_vec())
        }
        Output::ToPeer { .. } => panic!("a request was relayed"),
    }
}

fn code(answer: &[u8]) -> Option<u16> {
    Message::parse(answer).unwrap().error_code().map(|e| e.code)
}

/// Sends `meth`, taking the 401 challenge first when needed; the final answer.
fn ask(w: &mut World, c: &mut Client, meth: u16, fill: impl Fn(&mut Builder)) -> Vec<u8> {
    let tid = c.tid();
    let req = c.request(meth, tid, &fill);
    let answer = send(w, c, &req).expect("an answer");
    let stale = code(&answer) == Some(438);
    if stale || (code(&answer) == Some(401) && c.nonce.is_none()) {
        let m = Message::parse(&answer).unwrap();
        c.nonce = m.nonce().map(str::to_string);
        let tid = c.tid();
        let req = c.request(meth, tid, &fill);
        return send(w, c, &req).expect("an answer");
    }
    answer
}

fn allocate(w: &mut World, c: &mut Client) -> SocketAddr {
    let answer = ask(w, c, method::ALLOCATE, |b| {
        b.requested_transport(17);
    });
    let m = Message::parse(&answer).unwrap();
    assert_eq!(m.class(), Class::Success, "{:?}", m.error_code());
    assert!(m.check_integrity(&long_term_key(c.user, REALM, c.password)));
    assert_eq!(m.check_fingerprint(), Some(true));
    assert_eq!(m.xor_address(at::XOR_MAPPED_ADDRESS), Some(c.tuple.client));
    assert_eq!(m.lifetime(), Some(600));
    m.xor_address(at::XOR_RELAYED_ADDRESS).unwrap()
}

#[test]
fn a_request_without_credentials_is_challenged_and_then_allocates() {
    let mut w = world(config());
    let mut c = client("198.51.100.7:40000", "alice", "alice pass");
    let tid = c.tid();
    let req = c.request(method::ALLOCATE, tid, |b| {
        b.requested_transport(17);
    });
    let first = send(&mut w, &c, &req).unwrap();
    let m = Message::parse(&first).unwrap();
    assert_eq!(m.error_code().unwrap().code, 401);
    assert_eq!(m.realm(), Some(REALM));
    assert!(m.nonce().is_some());
    assert_eq!(
        m.get(at::MESSAGE_INTEGRITY),
        None,
        "a challenge is not signed"
    );
    let relay = allocate(&mut w, &mut c);
    assert_eq!(relay, "203.0.113.1:50000".parse().unwrap());
    let events: Vec<Event> = w.server.events().collect();
    assert!(events.contains(&Event::Allocated {
        tuple: c.tuple,
        relay,
        username: "alice".into()
    }));
    assert_eq!(w.server.len(), 1);
}

#[test]
fn wrong_password_realm_and_old_nonces_are_refused() {
    let mut w = world(config());
    let mut c = client("198.51.100.7:40000", "alice", "wrong");
    let answer = ask(&mut w, &mut c, method::ALLOCATE, |b| {
        b.requested_transport(17);
    });
    assert_eq!(code(&answer), Some(401));
    let mut c = client("198.51.100.7:40000", "nobody", "alice pass");
    assert_eq!(
        code(&ask(&mut w, &mut c, method::ALLOCATE, |b| {
            b.requested_transport(17);
        })),
        Some(401)
    );
    let mut c = client("198.51.100.7:40000", "alice", "alice pass");
    c.realm = "elsewhere".into();
    assert_eq!(
        code(&ask(&mut w, &mut c, method::ALLOCATE, |b| {
            b.requested_transport(17);
        })),
        Some(401)
    );
    // A nonce from another client's address, and one past its time, are stale.
    let mut c = client("198.51.100.7:40000", "alice", "alice pass");
    allocate(&mut w, &mut c);
    let mut other = client("198.51.100.8:40000", "alice", "alice pass");
    other.nonce = c.nonce.clone();
    let tid = other.tid();
    let req = other.request(method::ALLOCATE, tid, |b| {
        b.requested_transport(17);
    });
    let a = send(&mut w, &other, &req).unwrap();
    assert_eq!(code(&a), Some(438));
    assert!(
        Message::parse(&a).unwrap().nonce().is_some(),
        "a fresh nonce"
    );
    w.now += Duration::from_secs(601);
    let tid = c.tid();
    let req = c.request(method::REFRESH, tid, |_| {});
    assert_eq!(code(&send(&mut w, &c, &req).unwrap()), Some(438));
}

#[test]
fn an_unauthenticated_binding_is_refused_unless_authentication_is_off() {
    let mut w = world(config());
    let mut c = client("198.51.100.7:40000", "alice", "alice pass");
    let tid = c.tid();
    let req = c.request(method::BINDING, tid, |_| {});
    assert_eq!(code(&send(&mut w, &c, &req).unwrap()), Some(401));
    let mut w = world(Config {
        authenticate: false,
        ..config()
    });
    let a = send(&mut w, &c, &req).unwrap();
    let m = Message::parse(&a).unwrap();
    assert_eq!(m.class(), Class::Success);
    assert_eq!(m.xor_address(at::XOR_MAPPED_ADDRESS), Some(c.tuple.client));
    assert_eq!(m.get(at::MESSAGE_INTEGRITY), None);
}

#[test]
fn retransmitted_allocates_get_the_same_answer_and_others_437() {
    let mut w = world(config());
    let mut c = client("198.51.100.7:40000", "alice", "alice pass");
    allocate(&mut w, &mut c);
    let tid = [c.next; 12];
    let again = c.request(method::ALLOCATE, tid, |b| {
        b.requested_transport(17);
    });
    let m_bytes = send(&mut w, &c, &again).unwrap();
    let m = Message::parse(&m_bytes).unwrap();
    assert_eq!(m.class(), Class::Success);
    assert_eq!(
        m.xor_address(at::XOR_RELAYED_ADDRESS),
        Some("203.0.113.1:50000".parse().unwrap())
    );
    assert_eq!(w.relays.open.len(), 1, "no second relay");
    let answer = ask(&mut w, &mut c, method::ALLOCATE, |b| {
        b.requested_transport(17);
    });
    assert_eq!(code(&answer), Some(437));
    // Another user on the same 5-tuple: wrong credentials.
    let mut bob = client("198.51.100.7:40000", "bob", "bob pass");
    bob.nonce = c.nonce.clone();
    assert_eq!(
        code(&ask(&mut w, &mut bob, method::REFRESH, |_| {})),
        Some(441)
    );
}

#[test]
fn allocate_checks_its_attributes() {
    let mut w = world(config());
    let mut c = client("198.51.100.7:40000", "alice", "alice pass");
    assert_eq!(
        code(&ask(&mut w, &mut c, method::ALLOCATE, |_| {})),
        Some(400)
    );
    assert_eq!(
        code(&ask(&mut w, &mut c, method::ALLOCATE, |b| {
            b.requested_transport(1);
        })),
        Some(442)
    );
    assert_eq!(
        code(&ask(&mut w, &mut c, method::ALLOCATE, |b| {
            b.requested_transport(17)
                .family(at::REQUESTED_ADDRESS_FAMILY, causeway_stun::Family::V6);
        })),
        Some(440)
    );
    // An attribute the server must understand and does not.
    let a = ask(&mut w, &mut c, method::ALLOCATE, |b| {
        b.requested_transport(17).attr(0x0030, &[1, 2, 3, 4]);
    });
    let m = Message::parse(&a).unwrap();
    assert_eq!(m.error_code().unwrap().code, 420);
    assert_eq!(m.get(at::UNKNOWN_ATTRIBUTES), Some(&[0x00, 0x30][..]));
    // An even port when asked.
    let a = ask(&mut w, &mut c, method::ALLOCATE, |b| {
        b.requested_transport(17).attr(at::EVEN_PORT, &[0]);
    });
    let m = Message::parse(&a).unwrap();
    assert_eq!(
        m.xor_address(at::XOR_RELAYED_ADDRESS).unwrap().port() % 2,
        0
    );
}

#[test]
fn ipv6_relays_and_family_mismatches() {
    let mut w = world(Config {
        relay_v6: Some("2001:db8::1".parse().unwrap()),
        ..config()
    });
    let mut c = client("[2001:db8::7]:40000", "alice", "alice pass");
    let a = ask(&mut w, &mut c, method::ALLOCATE, |b| {
        b.requested_transport(17)
            .family(at::REQUESTED_ADDRESS_FAMILY, causeway_stun::Family::V6);
    });
    let m = Message::parse(&a).unwrap();
    let relay = m.xor_address(at::XOR_RELAYED_ADDRESS).unwrap();
    assert_eq!(relay, "[2001:db8::1]:50000".parse().unwrap());
    let peer4: SocketAddr = "192.0.2.9:5000".parse().unwrap();
    assert_eq!(
        code(&ask(&mut w, &mut c, method::CREATE_PERMISSION, |b| {
            b.xor_address(at::XOR_PEER_ADDRESS, &peer4);
        })),
        Some(443)
    );
}

/// Client → relay → peer and back, with a permission, then over a channel.
#[test]
fn data_flows_only_with_a_permission_and_over_channels() {
    let mut w = world(config());
    let mut c = client("198.51.100.7:40000", "alice", "alice pass");
    let relay = allocate(&mut w, &mut c);
    let peer: SocketAddr = "192.0.2.9:5000".parse().unwrap();

    let send_ind = |tid: [u8; 12]| {
        let mut buf = Vec::new();
        let mut b = Builder::new(&mut buf, method::SEND, Class::Indication, &tid);
        b.xor_address(at::XOR_PEER_ADDRESS, &peer)
            .attr(at::DATA, b"to the peer");
        buf
    };
    let ind = send_ind([9; 12]);
    assert_eq!(
        w.server.handle_client(w.now, c.tuple, &ind, &mut w.relays),
        None,
        "no permission yet"
    );
    assert_eq!(w.server.handle_peer(w.now, relay, peer, b"hi"), None);

    let ok = ask(&mut w, &mut c, method::CREATE_PERMISSION, |b| {
        b.xor_address(at::XOR_PEER_ADDRESS, &peer);
    });
    assert_eq!(Message::parse(&ok).unwrap().class(), Class::Success);
    assert_eq!(
        w.server.handle_client(w.now, c.tuple, &ind, &mut w.relays),
        Some(Output::ToPeer {
            relay,
            peer,
            data: b"to the peer"
        })
    );
    // Back from the peer (any port of the permitted address) as a Data indication.
    let other_port: SocketAddr = "192.0.2.9:5001".parse().unwrap();
    let (to, bytes) = w
        .server
        .handle_peer(w.now, relay, other_port, b"back")
        .unwrap();
    assert_eq!(to, c.tuple);
    let m = Message::parse(bytes).unwrap();
    assert_eq!((m.method(), m.class()), (method::DATA, Class::Indication));
    assert_eq!(m.xor_address(at::XOR_PEER_ADDRESS), Some(other_port));
    assert_eq!(m.data(), Some(&b"back"[..]));

    // A channel: ChannelData both ways.
    let ok = ask(&mut w, &mut c, method::CHANNEL_BIND, |b| {
        b.channel_number(0x4001)
            .xor_address(at::XOR_PEER_ADDRESS, &peer);
    });
    assert_eq!(Message::parse(&ok).unwrap().class(), Class::Success);
    let mut cd = ChannelData::header(0x4001, 3).to_vec();
    cd.extend_from_slice(b"abc");
    assert_eq!(
        w.server.handle_client(w.now, c.tuple, &cd, &mut w.relays),
        Some(Output::ToPeer {
            relay,
            peer,
            data: b"abc"
        })
    );
    let (_, bytes) = w.server.handle_peer(w.now, relay, peer, b"xyz").unwrap();
    assert_eq!(
        ChannelData::parse(bytes),
        Some(ChannelData {
            channel: 0x4001,
            data: b"xyz"
        })
    );
    // The same channel for another peer, another channel for the same peer, a number out of
    // range: refused.
    for (n, p) in [
        (0x4001, "192.0.2.10:5000"),
        (0x4002, "192.0.2.9:5000"),
        (0x3000, "192.0.2.10:5000"),
        (0x8000, "192.0.2.10:5000"),
    ] {
        let p: SocketAddr = p.parse().unwrap();
        assert_eq!(
            code(&ask(&mut w, &mut c, method::CHANNEL_BIND, |b| {
                b.channel_number(n).xor_address(at::XOR_PEER_ADDRESS, &p);
            })),
            Some(400),
            "channel {n:#x} to {p}"
        );
    }
    // An unknown channel goes nowhere.
    let mut stray = ChannelData::header(0x4005, 1).to_vec();
    stray.push(1);
    assert_eq!(
        w.server
            .handle_client(w.now, c.tuple, &stray, &mut w.relays),
        None
    );

    // Permissions run out after five minutes unless refreshed.
    w.now += Duration::from_secs(301);
    let ok = ask(&mut w, &mut c, method::REFRESH, |b| {
        b.u32(at::LIFETIME, 1800);
    });
    assert_eq!(Message::parse(&ok).unwrap().lifetime(), Some(1800));
    assert_eq!(
        w.server.handle_client(w.now, c.tuple, &ind, &mut w.relays),
        None
    );
    let view = &w.server.allocations(w.now)[0];
    assert!(view.permissions.is_empty());
    assert_eq!(view.counters.to_peers, 2);
    assert_eq!(view.counters.to_client, 2);

    // Ten minutes after its binding the channel is gone, though the peer is permitted again:
    // ChannelData goes nowhere and the peer's data comes back as Data indications.
    w.now += Duration::from_secs(300);
    let ok = ask(&mut w, &mut c, method::CREATE_PERMISSION, |b| {
        b.xor_address(at::XOR_PEER_ADDRESS, &peer);
    });
    assert_eq!(Message::parse(&ok).unwrap().class(), Class::Success);
    assert_eq!(
        w.server.handle_client(w.now, c.tuple, &cd, &mut w.relays),
        None
    );
    let (_, bytes) = w.server.handle_peer(w.now, relay, peer, b"xyz").unwrap();
    assert_eq!(Message::parse(bytes).unwrap().method(), method::DATA);
    assert!(w.server.allocations(w.now)[0].channels.is_empty());
}

#[test]
fn refresh_zero_deletes_and_expiry_closes_the_relay() {
    let mut w = world(config());
    let mut c = client("198.51.100.7:40000", "alice", "alice pass");
    let relay = allocate(&mut w, &mut c);
    let a = ask(&mut w, &mut c, method::REFRESH, |b| {
        b.u32(at::LIFETIME, 0);
    });
    assert_eq!(Message::parse(&a).unwrap().lifetime(), Some(0));
    assert_eq!(w.relays.closed, vec![relay]);
    assert!(w.server.is_empty());
    assert_eq!(
        code(&ask(&mut w, &mut c, method::REFRESH, |_| {})),
        Some(437)
    );

    // A new one, refreshed to 20 minutes, then left to expire.
    let relay = allocate(&mut w, &mut c);
    let a = ask(&mut w, &mut c, method::REFRESH, |b| {
        b.u32(at::LIFETIME, 1200);
    });
    assert_eq!(Message::parse(&a).unwrap().lifetime(), Some(1200));
    assert_eq!(
        w.server.poll_timeout(),
        Some(w.now + Duration::from_secs(1200))
    );
    w.server
        .handle_timeout(w.now + Duration::from_secs(1199), &mut w.relays);
    assert_eq!(w.server.len(), 1);
    w.server
        .handle_timeout(w.now + Duration::from_secs(1200), &mut w.relays);
    assert!(w.server.is_empty());
    assert_eq!(w.relays.closed.last(), Some(&relay));
    assert!(w
        .server
        .events()
        .any(|e| matches!(e, Event::Expired { relay: r, .. } if r == relay)));

    // A request after the lifetime finds no allocation, even before the timer runs.
    let relay = allocate(&mut w, &mut c);
    w.now += Duration::from_secs(1201);
    let a = ask(&mut w, &mut c, method::REFRESH, |_| {});
    assert_eq!(code(&a), Some(437));
    assert_eq!(w.relays.closed.last(), Some(&relay));
}

#[test]
fn capacity_is_answered_486_and_alarmed_until_there_is_room() {
    let mut w = world(Config {
        capacity: 2,
        ..config()
    });
    let mut a = client("198.51.100.7:40000", "alice", "alice pass");
    let mut b = client("198.51.100.7:40001", "alice", "alice pass");
    let mut c = client("198.51.100.7:40002", "bob", "bob pass");
    allocate(&mut w, &mut a);
    allocate(&mut w, &mut b);
    let answer = ask(&mut w, &mut c, method::ALLOCATE, |x| {
        x.requested_transport(17);
    });
    assert_eq!(code(&answer), Some(486));
    assert!(w.server.events().any(|e| e == Event::CapacityReached));
    ask(&mut w, &mut a, method::REFRESH, |x| {
        x.u32(at::LIFETIME, 0);
    });
    assert!(w.server.events().any(|e| e == Event::CapacityAvailable));
    allocate(&mut w, &mut c);
}

#[test]
fn a_warning_comes_at_nine_tenths_of_the_capacity_and_goes_below() {
    let mut w = world(config());
    let mut clients: Vec<Client> = (0..9)
        .map(|i| {
            client(
                &format!("198.51.100.7:{}", 41000 + i),
                "alice",
                "alice pass",
            )
        })
        .collect();
    w.relays.ports = (50000..50010).collect();
    for c in clients.iter_mut().take(8) {
        allocate(&mut w, c);
    }
    let near = |w: &mut World, e: Event| w.server.events().filter(|x| *x == e).count();
    assert_eq!(near(&mut w, Event::CapacityNear), 0, "8 of 10");
    allocate(&mut w, &mut clients[8]);
    assert_eq!(near(&mut w, Event::CapacityNear), 1, "9 of 10");
    ask(&mut w, &mut clients[0], method::REFRESH, |x| {
        x.u32(at::LIFETIME, 0);
    });
    assert_eq!(near(&mut w, Event::CapacityNotNear), 1);
}

#[test]
fn behind_a_static_nat_clients_are_given_the_public_address() {
    let mut w = world(Config {
        relay_nat_v4: Some("192.0.2.200".parse().unwrap()),
        ..config()
    });
    let mut c = client("198.51.100.7:40000", "alice", "alice pass");
    let told = allocate(&mut w, &mut c);
    assert_eq!(told, "192.0.2.200:50000".parse().unwrap());
    let real: SocketAddr = "203.0.113.1:50000".parse().unwrap();
    assert!(
        w.relays.open.contains(&real),
        "the socket is at the private address"
    );
    assert_eq!(w.server.allocations(w.now)[0].relay, real);
    // Data from a peer arrives at the real socket and reaches the client.
    let peer: SocketAddr = "192.0.2.9:5000".parse().unwrap();
    ask(&mut w, &mut c, method::CREATE_PERMISSION, |b| {
        b.xor_address(at::XOR_PEER_ADDRESS, &peer);
    });
    assert!(w.server.handle_peer(w.now, real, peer, b"media").is_some());
}

/// EVEN-PORT with the R bit: an even port now, the odd one after it held for an Allocate that
/// brings the token (RTP and RTCP); unclaimed, the hold lapses.
#[test]
fn reserved_ports_go_to_the_allocate_with_the_token() {
    let mut w = world(config());
    w.relays = FakeRelays::with_ports(&[50001, 50002, 50003, 50004, 50005]);
    let mut rtp = client("198.51.100.7:40000", "alice", "alice pass");
    let a = ask(&mut w, &mut rtp, method::ALLOCATE, |b| {
        b.requested_transport(17).attr(at::EVEN_PORT, &[0x80]);
    });
    let m = Message::parse(&a).unwrap();
    assert_eq!(
        m.xor_address(at::XOR_RELAYED_ADDRESS),
        Some("203.0.113.1:50002".parse().unwrap())
    );
    let token = m.get(at::RESERVATION_TOKEN).unwrap().to_vec();
    assert!(w
        .relays
        .open
        .contains(&"203.0.113.1:50003".parse().unwrap()));

    let mut rtcp = client("198.51.100.7:40001", "alice", "alice pass");
    let a = ask(&mut w, &mut rtcp, method::ALLOCATE, |b| {
        b.requested_transport(17)
            .attr(at::RESERVATION_TOKEN, &token);
    });
    let m = Message::parse(&a).unwrap();
    assert_eq!(
        m.xor_address(at::XOR_RELAYED_ADDRESS),
        Some("203.0.113.1:50003".parse().unwrap())
    );
    // A token is good once.
    let mut late = client("198.51.100.7:40002", "alice", "alice pass");
    assert_eq!(
        code(&ask(&mut w, &mut late, method::ALLOCATE, |b| {
            b.requested_transport(17)
                .attr(at::RESERVATION_TOKEN, &token);
        })),
        Some(508)
    );
    // A reservation nobody claims is let go after 30 seconds.
    let mut third = client("198.51.100.7:40003", "alice", "alice pass");
    ask(&mut w, &mut third, method::ALLOCATE, |b| {
        b.requested_transport(17).attr(at::EVEN_PORT, &[0x80]);
    });
    let held: SocketAddr = "203.0.113.1:50005".parse().unwrap();
    assert!(w.relays.open.contains(&held));
    w.server
        .handle_timeout(w.now + Duration::from_secs(30), &mut w.relays);
    assert!(!w.relays.open.contains(&held));
}

#[test]
fn no_free_relay_port_is_508() {
    let mut w = world(config());
    w.relays = FakeRelays::with_ports(&[50001]);
    let mut c = client("198.51.100.7:40000", "alice", "alice pass");
    assert_eq!(
        code(&ask(&mut w, &mut c, method::ALLOCATE, |b| {
            b.requested_transport(17).attr(at::EVEN_PORT, &[0]);
        })),
        Some(508)
    );
}

#[test]
fn garbage_and_answers_from_clients_get_nothing() {
    let mut w = world(config());
    let c = client("198.51.100.7:40000", "alice", "alice pass");
    for junk in [
        &b""[..],
        b"\x80\x00\x00\x00",
        b"\x00\x01\x00\x04short",
        b"\xff\xff",
    ] {
        assert_eq!(
            w.server.handle_client(w.now, c.tuple, junk, &mut w.relays),
            None
        );
    }
    let mut buf = Vec::new();
    Builder::new(&mut buf, method::BINDING, Class::Success, &[1; 12]);
    assert_eq!(
        w.server.handle_client(w.now, c.tuple, &buf, &mut w.relays),
        None
    );
}

// TCP relays (RFC 6062).

fn tcp_client(addr: &str, user: &'static str, password: &'static str) -> Client {
    let mut c = client(addr, user, password);
    c.tuple.transport = Transport::Tcp;
    c
}

fn allocate_tcp(w: &mut World, c: &mut Client) -> SocketAddr {
    let answer = ask(w, c, method::ALLOCATE, |b| {
        b.requested_transport(6);
    });
    let m = Message::parse(&answer).unwrap();
    assert_eq!(m.class(), Class::Success, "{:?}", m.error_code());
    let relay = m.xor_address(at::XOR_RELAYED_ADDRESS).unwrap();
    assert!(w.relays.tcp.contains(&relay), "a TCP relay was opened");
    relay
}

fn permit(w: &mut World, c: &mut Client, peer: SocketAddr) {
    let answer = ask(w, c, method::CREATE_PERMISSION, |b| {
        b.xor_address(at::XOR_PEER_ADDRESS, &peer);
    });
    assert_eq!(code(&answer), None);
}

fn connection_id(m: &Message) -> u32 {
    u32::from_be_bytes(m.get(at::CONNECTION_ID).unwrap().try_into().unwrap())
}

#[test]
fn a_tcp_relay_needs_a_stream_and_no_port_pairs() {
    let mut w = world(config());
    let mut udp = client("198.51.100.7:40000", "alice", "alice pass");
    let answer = ask(&mut w, &mut udp, method::ALLOCATE, |b| {
        b.requested_transport(6);
    });
    assert_eq!(code(&answer), Some(400), "a TCP relay over UDP");
    let mut c = tcp_client("198.51.100.7:40001", "alice", "alice pass");
    let answer = ask(&mut w, &mut c, method::ALLOCATE, |b| {
        b.requested_transport(6).attr(at::EVEN_PORT, &[0]);
    });
    assert_eq!(code(&answer), Some(400), "EVEN-PORT with a TCP relay");
    let relay = allocate_tcp(&mut w, &mut c);
    let peer: SocketAddr = "192.0.2.9:5000".parse().unwrap();
    let answer = ask(&mut w, &mut c, method::CHANNEL_BIND, |b| {
        b.channel_number(0x4000)
            .xor_address(at::XOR_PEER_ADDRESS, &peer);
    });
    assert_eq!(code(&answer), Some(400), "channels are for UDP relays");
    // A Send indication has nowhere to go.
    permit(&mut w, &mut c, peer);
    let mut buf = Vec::new();
    Builder::new(&mut buf, method::SEND, Class::Indication, &[9; 12])
        .xor_address(at::XOR_PEER_ADDRESS, &peer)
        .attr(at::DATA, b"hello");
    assert!(w
        .server
        .handle_client(w.now, c.tuple, &buf, &mut w.relays)
        .is_none());
    // Connect belongs to TCP relays only.
    let mut u = client("198.51.100.7:40002", "alice", "alice pass");
    allocate(&mut w, &mut u);
    let answer = ask(&mut w, &mut u, method::CONNECT, |b| {
        b.xor_address(at::XOR_PEER_ADDRESS, &peer);
    });
    assert_eq!(code(&answer), Some(400));
    assert_eq!(w.server.allocations(w.now).len(), 2);
    assert!(w.relays.open.contains(&relay));
}

#[test]
fn connect_is_answered_when_the_peer_connection_is_made_or_fails() {
    let mut w = world(config());
    let mut c = tcp_client("198.51.100.7:40001", "alice", "alice pass");
    let peer: SocketAddr = "192.0.2.9:5000".parse().unwrap();
    // No allocation yet.
    let answer = ask(&mut w, &mut c, method::CONNECT, |b| {
        b.xor_address(at::XOR_PEER_ADDRESS, &peer);
    });
    assert_eq!(code(&answer), Some(437));
    let relay = allocate_tcp(&mut w, &mut c);
    let v6: SocketAddr = "[2001:db8::9]:5000".parse().unwrap();
    let answer = ask(&mut w, &mut c, method::CONNECT, |b| {
        b.xor_address(at::XOR_PEER_ADDRESS, &v6);
    });
    assert_eq!(code(&answer), Some(443));

    let tid = c.tid();
    let req = c.request(method::CONNECT, tid, |b| {
        b.xor_address(at::XOR_PEER_ADDRESS, &peer);
    });
    assert!(send(&mut w, &c, &req).is_none(), "answered once connected");
    let (id, from, to) = w.relays.connecting[0];
    assert_eq!((from, to), (relay, peer));
    // While it is being made, and after, a second Connect to that peer is refused.
    let answer = ask(&mut w, &mut c, method::CONNECT, |b| {
        b.xor_address(at::XOR_PEER_ADDRESS, &peer);
    });
    assert_eq!(code(&answer), Some(446));
    let Some(Output::ToClient { tuple, bytes }) = w.server.handle_connected(w.now, id, true) else {
        panic!("an answer to the Connect");
    };
    assert_eq!(tuple, c.tuple);
    let m = Message::parse(bytes).unwrap();
    assert_eq!(m.class(), Class::Success);
    assert_eq!(m.transaction_id(), &tid);
    assert!(m.check_integrity(&long_term_key("alice", REALM, "alice pass")));
    assert_eq!(connection_id(&m), id);
    let view = &w.server.allocations(w.now)[0];
    assert_eq!(view.connections.len(), 1);
    assert_eq!(view.connections[0].state, "Waiting");

    // A peer that cannot be reached: 447, and the peer may be tried again.
    let other: SocketAddr = "192.0.2.10:5000".parse().unwrap();
    let tid = c.tid();
    let req = c.request(method::CONNECT, tid, |b| {
        b.xor_address(at::XOR_PEER_ADDRESS, &other);
    });
    assert!(send(&mut w, &c, &req).is_none());
    let (id2, _, _) = w.relays.connecting[1];
    assert_ne!(id2, id);
    let Some(Output::ToClient { bytes, .. }) = w.server.handle_connected(w.now, id2, false) else {
        panic!("a 447");
    };
    assert_eq!(code(bytes), Some(447));
    assert!(w.server.handle_connected(w.now, id2, true).is_none());
    let tid = c.tid();
    let req = c.request(method::CONNECT, tid, |b| {
        b.xor_address(at::XOR_PEER_ADDRESS, &other);
    });
    assert!(send(&mut w, &c, &req).is_none(), "tried again");
}

#[test]
fn a_peer_connection_is_offered_to_the_client_and_bound_by_its_user_only() {
    let mut w = world(config());
    let mut c = tcp_client("198.51.100.7:40001", "alice", "alice pass");
    let relay = allocate_tcp(&mut w, &mut c);
    let peer: SocketAddr = "192.0.2.9:5000".parse().unwrap();
    assert!(
        w.server
            .handle_peer_connection(w.now, relay, peer)
            .is_none(),
        "no permission, no connection"
    );
    permit(&mut w, &mut c, peer);
    let Some((id, Output::ToClient { tuple, bytes })) =
        w.server.handle_peer_connection(w.now, relay, peer)
    else {
        panic!("a ConnectionAttempt");
    };
    assert_eq!(tuple, c.tuple);
    let m = Message::parse(bytes).unwrap();
    assert_eq!(
        (m.method(), m.class()),
        (method::CONNECTION_ATTEMPT, Class::Indication)
    );
    assert_eq!(m.xor_address(at::XOR_PEER_ADDRESS), Some(peer));
    assert_eq!(connection_id(&m), id);
    assert_eq!(m.check_fingerprint(), Some(true));

    let bind = |w: &mut World, d: &mut Client, id: u32| {
        ask(w, d, method::CONNECTION_BIND, |b| {
            b.u32(at::CONNECTION_ID, id);
        })
    };
    // Over UDP, with an unknown id, by another user, or on the control connection: refused.
    let mut d = client("198.51.100.7:40002", "alice", "alice pass");
    assert_eq!(code(&bind(&mut w, &mut d, id)), Some(400));
    let mut d = tcp_client("198.51.100.7:40002", "alice", "alice pass");
    assert_eq!(code(&bind(&mut w, &mut d, id + 7)), Some(400));
    let mut bob = tcp_client("198.51.100.7:40003", "bob", "bob pass");
    assert_eq!(code(&bind(&mut w, &mut bob, id)), Some(441));
    assert_eq!(code(&bind(&mut w, &mut c, id)), Some(400));
    assert!(w.relays.bound.is_empty());

    let answer = bind(&mut w, &mut d, id);
    let m = Message::parse(&answer).unwrap();
    assert_eq!(m.class(), Class::Success);
    assert!(m.check_integrity(&long_term_key("alice", REALM, "alice pass")));
    assert_eq!(w.relays.bound, vec![(id, d.tuple)]);
    assert_eq!(w.server.allocations(w.now)[0].connections[0].state, "Bound");
    // Bound once only; and a bound connection does not lapse.
    let mut e = tcp_client("198.51.100.7:40004", "alice", "alice pass");
    assert_eq!(code(&bind(&mut w, &mut e, id)), Some(400));
    w.now += Duration::from_secs(31);
    w.server.handle_timeout(w.now, &mut w.relays);
    assert!(w.relays.closed_connections.is_empty());

    // Its bytes count when it closes.
    w.server.connection_closed(id, 1000, 2000);
    let view = &w.server.allocations(w.now)[0];
    assert!(view.connections.is_empty());
    assert_eq!(
        (view.counters.bytes_to_peers, view.counters.bytes_to_client),
        (1000, 2000)
    );
}

#[test]
fn unbound_connections_lapse_and_connections_end_with_their_allocation() {
    let mut w = world(config());
    let mut c = tcp_client("198.51.100.7:40001", "alice", "alice pass");
    let relay = allocate_tcp(&mut w, &mut c);
    let peer: SocketAddr = "192.0.2.9:5000".parse().unwrap();
    permit(&mut w, &mut c, peer);
    let (first, _) = w
        .server
        .handle_peer_connection(w.now, relay, peer)
        .map(|(id, _)| (id, ()))
        .unwrap();
    w.now += Duration::from_secs(29);
    w.server.handle_timeout(w.now, &mut w.relays);
    assert!(w.relays.closed_connections.is_empty());
    assert_eq!(
        w.server.poll_timeout(),
        Some(w.now + Duration::from_secs(1))
    );
    w.now += Duration::from_secs(1);
    w.server.handle_timeout(w.now, &mut w.relays);
    assert_eq!(w.relays.closed_connections, vec![first]);
    let mut d = tcp_client("198.51.100.7:40002", "alice", "alice pass");
    let answer = ask(&mut w, &mut d, method::CONNECTION_BIND, |b| {
        b.u32(at::CONNECTION_ID, first);
    });
    assert_eq!(code(&answer), Some(400), "too late to bind");

    // One waiting, one being made, one bound: all closed when the control connection goes.
    permit(&mut w, &mut c, peer);
    let (waiting, _) = w
        .server
        .handle_peer_connection(w.now, relay, peer)
        .map(|(id, _)| (id, ()))
        .unwrap();
    let other: SocketAddr = "192.0.2.10:5000".parse().unwrap();
    let tid = c.tid();
    let req = c.request(method::CONNECT, tid, |b| {
        b.xor_address(at::XOR_PEER_ADDRESS, &other);
    });
    assert!(send(&mut w, &c, &req).is_none());
    let (connecting, _, _) = *w.relays.connecting.last().unwrap();
    let (bound, _) = w
        .server
        .handle_peer_connection(w.now, relay, "192.0.2.9:5001".parse().unwrap())
        .map(|(id, _)| (id, ()))
        .unwrap();
    let answer = ask(&mut w, &mut d, method::CONNECTION_BIND, |b| {
        b.u32(at::CONNECTION_ID, bound);
    });
    assert_eq!(code(&answer), None);
    w.server.release(&c.tuple, &mut w.relays);
    let mut closed = w.relays.closed_connections[1..].to_vec();
    closed.sort();
    let mut want = vec![waiting, connecting, bound];
    want.sort();
    assert_eq!(closed, want);
    assert!(
        w.relays.closed.contains(&relay),
        "the listening relay closed"
    );
    assert!(
        w.server.handle_connected(w.now, connecting, true).is_none(),
        "a connection made after its allocation ended is not wanted"
    );
    assert_eq!(w.server.poll_timeout(), None);
}

#[test]
fn peers_a_relay_must_not_reach_are_403() {
    let mut w = world(config());
    let mut c = client("198.51.100.7:40000", "alice", "alice pass");
    allocate(&mut w, &mut c);
    for bad in [
        "127.0.0.1:5000",
        "0.0.0.0:5000",
        "224.0.0.5:5000",
        "255.255.255.255:5000",
    ] {
        let peer: SocketAddr = bad.parse().unwrap();
        let answer = ask(&mut w, &mut c, method::CREATE_PERMISSION, |b| {
            b.xor_address(at::XOR_PEER_ADDRESS, &peer);
        });
        assert_eq!(code(&answer), Some(403), "permission for {bad}");
        let answer = ask(&mut w, &mut c, method::CHANNEL_BIND, |b| {
            b.channel_number(0x4000)
                .xor_address(at::XOR_PEER_ADDRESS, &peer);
        });
        assert_eq!(code(&answer), Some(403), "channel to {bad}");
    }
    // One bad address spoils the request: no permission is made for the good one either.
    let good: SocketAddr = "192.0.2.9:5000".parse().unwrap();
    let bad: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    let answer = ask(&mut w, &mut c, method::CREATE_PERMISSION, |b| {
        b.xor_address(at::XOR_PEER_ADDRESS, &good)
            .xor_address(at::XOR_PEER_ADDRESS, &bad);
    });
    assert_eq!(code(&answer), Some(403));
    assert!(w.server.allocations(w.now)[0].permissions.is_empty());
    // Connect, on a TCP relay.
    let mut t = tcp_client("198.51.100.7:40001", "alice", "alice pass");
    allocate_tcp(&mut w, &mut t);
    let answer = ask(&mut w, &mut t, method::CONNECT, |b| {
        b.xor_address(at::XOR_PEER_ADDRESS, &bad);
    });
    assert_eq!(code(&answer), Some(403));
    assert!(w.relays.connecting.is_empty());

    // A relay on loopback (a server deployed there) may reach loopback peers.
    let mut w = world(Config {
        relay_v4: Some("127.0.0.1".parse().unwrap()),
        ..config()
    });
    let mut c = client("127.0.0.1:40000", "alice", "alice pass");
    allocate(&mut w, &mut c);
    let answer = ask(&mut w, &mut c, method::CREATE_PERMISSION, |b| {
        b.xor_address(at::XOR_PEER_ADDRESS, &bad);
    });
    assert_eq!(code(&answer), None);
}
