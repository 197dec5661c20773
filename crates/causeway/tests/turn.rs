//! The TURN server of an Edge node against coturn's test clients (Debian package `coturn`):
//! `turnutils_uclient` allocating and relaying over UDP and TCP, with channels and with Send
//! indications, to `turnutils_peer`, and through TCP relays (RFC 6062) between its clients,
//! on IPv4 and on IPv6 relays; `turnutils_stunclient` for an unauthenticated Binding;
//! and a STUN client of the test's own for what coturn's clients cannot be made to send.

mod common;
use causeway_stun::{attr_type as at, long_term_key, method, Builder, Class, Message};
use common::{free_port, Node};
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const USER: &str = "turnuser";
const PASSWORD: &str = "turn pass 1";

/// An Edge node with the TURN server on a free port, relays on `ports`, and one credential.
fn turn_node(ports: (u16, u16), extra: &[&str]) -> (Node, u16) {
    turn_node_with(ports, extra, None)
}

/// As [`turn_node`], with the web interface on `https` when given.
fn turn_node_with(ports: (u16, u16), extra: &[&str], https: Option<u16>) -> (Node, u16) {
    for _ in 0..5 {
        let port = free_port();
        let mut node = Node::new();
        if let Some(h) = https {
            node.serve_args[1] = format!("127.0.0.1:{h}");
        }
        for line in [
            "xConfiguration SystemUnit Type: Edge".to_string(),
            format!("xConfiguration Traversal Server TURN Port: {port}"),
            format!(
                "xConfiguration Traversal Server TURN Media Port Start: {}",
                ports.0
            ),
            format!(
                "xConfiguration Traversal Server TURN Media Port End: {}",
                ports.1
            ),
            "xConfiguration Traversal Server TURN Mode: On".into(),
            // Relay events are level 2, answers level 3.
            "xConfiguration Log Level: 3".into(),
            format!("xCommand CredentialAdd Name: \"{USER}\" Password: \"{PASSWORD}\""),
        ] {
            node.ok(&line);
        }
        for line in extra {
            node.ok(line);
        }
        node.start();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if node.ok("xStatus TURN").contains("Status: Active") {
                return (node, port);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        node.stop();
    }
    panic!("no TURN server could be started");
}

/// `xStatus TURN` once `done` holds of it, within `secs` seconds; the test fails saying `what`
/// was not seen.
fn turn_status_when(node: &Node, secs: u64, what: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let s = node.ok("xStatus TURN");
        if done(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "{what}:\n{s}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn tool(name: &str) -> Command {
    let mut c = Command::new(name);
    c.stdin(Stdio::null());
    c
}

/// `turnutils_peer` on a free UDP port of 127.0.0.1: it echoes what the relay sends it.
struct Peer {
    child: Child,
    port: u16,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn peer() -> Peer {
    peer_at("127.0.0.1")
}

/// `turnutils_peer` on a free UDP port of `ip`.
fn peer_at(ip: &str) -> Peer {
    let port = free_port();
    let child = tool("turnutils_peer")
        .args(["-L", ip, "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("turnutils_peer (Debian package coturn)");
    // It is listening once its port is taken.
    let deadline = Instant::now() + Duration::from_secs(5);
    while UdpSocket::bind((ip, port)).is_ok() {
        assert!(Instant::now() < deadline, "turnutils_peer did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Peer { child, port }
}

/// Runs `turnutils_uclient` against the node; (success, everything it printed).
fn uclient(port: u16, peer: u16, user: &str, password: &str, flags: &[&str]) -> (bool, String) {
    uclient_to("127.0.0.1", port, peer, user, password, flags)
}

/// As [`uclient`], with the peer at `peer_ip`.
fn uclient_to(
    peer_ip: &str,
    port: u16,
    peer: u16,
    user: &str,
    password: &str,
    flags: &[&str],
) -> (bool, String) {
    let out = tool("timeout")
        .args(["60", "turnutils_uclient"])
        .args(flags)
        .args(["-u", user, "-w", password, "-e", peer_ip])
        .args(["-r", &peer.to_string(), "-p", &port.to_string()])
        .arg("127.0.0.1")
        .output()
        .expect("turnutils_uclient (Debian package coturn)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The totals uclient prints last: (sent, received, lost).
fn totals(out: &str) -> (u64, u64, u64) {
    let num = |line: &str, key: &str| -> u64 {
        let at = line.find(key).map(|i| i + key.len()).unwrap_or(line.len());
        line[at..]
            .trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let sums = out
        .lines()
        .rfind(|l| l.contains("start_mclient: tot_send_msgs="))
        .unwrap_or_else(|| panic!("no totals in:\n{out}"));
    let lost = out
        .lines()
        .rfind(|l| l.contains("Total lost packets"))
        .unwrap_or_else(|| panic!("no loss figure in:\n{out}"));
    (
        num(sums, "tot_send_msgs="),
        num(sums, "tot_recv_msgs="),
        num(lost, "Total lost packets"),
    )
}

#[test]
fn media_is_relayed_over_udp_and_tcp_with_channels_and_send_indications() {
    let (mut node, port) = turn_node((61000, 61099), &[]);
    let peer = peer();
    // Default: channels, an RTP and RTCP pair per client (EVEN-PORT with a reservation).
    for flags in [&[][..], &["-t"], &["-s"], &["-t", "-s"]] {
        let mut all = vec!["-n", "20", "-m", "2"];
        all.extend_from_slice(flags);
        let (ok, out) = uclient(port, peer.port, USER, PASSWORD, &all);
        assert!(ok, "uclient {flags:?} failed:\n{out}");
        let (sent, received, lost) = totals(&out);
        assert!(sent >= 40, "uclient {flags:?} sent {sent}:\n{out}");
        assert_eq!((received, lost), (sent, 0), "uclient {flags:?}:\n{out}");
    }
    // While a client relays, the status shows its relay, permission, channel and counters.
    let mut running = tool("turnutils_uclient")
        .args([
            "-c",
            "-n",
            "1000",
            "-u",
            USER,
            "-w",
            PASSWORD,
            "-e",
            "127.0.0.1",
        ])
        .args([
            "-r",
            &peer.port.to_string(),
            "-p",
            &port.to_string(),
            "127.0.0.1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = turn_status_when(&node, 20, "no relay in use shown", |s| {
        let relaying = s.lines().any(|l| {
            l.split_once("Counters PacketsToPeers: ")
                .is_some_and(|(_, n)| n.trim() != "0")
        });
        s.contains("Permission 1 Address: \"127.0.0.1\"")
            && s.contains("Channel 1 Peer")
            && relaying
    });
    let _ = running.kill();
    let _ = running.wait();
    assert!(
        status.contains(&format!("Username: \"{USER}\"")) && status.contains("Protocol: UDP"),
        "{status}"
    );
    let log = node.event_log(Some("Relay"));
    assert!(log.contains("Event=\"Relay Allocated\""), "{log}");
    assert!(
        log.contains("Event=\"Relay Deleted\"") && log.contains("Protocol=\"TCP\""),
        "{log}"
    );
    assert!(node.stop());
}

#[test]
fn tcp_relays_join_clients_through_connect_and_connection_attempts() {
    let (mut node, port) = turn_node((61400, 61499), &[]);
    // uclient's TCP relay mode pairs its clients: each allocates a TCP relay, one of each pair
    // Connects to the other's relay, whose client is told by a ConnectionAttempt; both bind a
    // data connection, and the stream goes through the two relays and back.
    let (ok, out) = uclient(port, 0, USER, PASSWORD, &["-T", "-n", "50", "-m", "4"]);
    assert!(
        ok,
        "uclient -T failed:
{out}"
    );
    let (sent, received, lost) = totals(&out);
    assert!(
        sent >= 200,
        "sent {sent}:
{out}"
    );
    assert_eq!((received, lost), (sent, 0), "{out}");
    let log = node.event_log(Some("Success Response Sent"));
    for method in ["Connect", "ConnectionBind"] {
        assert!(
            log.contains(&format!("Method=\"{method}\"")),
            "no {method} answered:\n{log}"
        );
    }

    // While a pair streams, the status shows the TCP relays and their bound connections.
    let mut running = tool("turnutils_uclient")
        .args(["-T", "-n", "2000", "-m", "2", "-u", USER, "-w", PASSWORD])
        .args(["-p", &port.to_string(), "127.0.0.1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = turn_status_when(&node, 20, "no bound connection shown", |s| {
        s.contains("Connection 1 State: Bound")
    });
    let _ = running.kill();
    let _ = running.wait();
    assert!(status.contains("RelayProtocol: TCP"), "{status}");
    assert!(
        status.contains("Connection 1 Peer: \"127.0.0.1:614"),
        "the peer is the other client's relay:\n{status}"
    );
    // Killed clients take their control connections with them, and so their relays.
    turn_status_when(&node, 10, "relays left behind", |s| {
        s.contains("Relays Active: 0")
    });
    assert!(node.stop());
}

#[test]
fn ipv4_clients_get_ipv6_relays_at_lan_1s_ipv6_address() {
    // LAN 1's IPv6 address is where IPv6 relays are opened (RFC 6156); loopback keeps the test
    // off the machine's own network.
    let (mut node, port) = turn_node(
        (61500, 61599),
        &["xConfiguration Ethernet 1 IP V6 Address: ::1"],
    );
    let peer = peer_at("::1");
    for flags in [&["-x"][..], &["-x", "-t"], &["-x", "-s"]] {
        let mut all = vec!["-n", "20", "-m", "2"];
        all.extend_from_slice(flags);
        let (ok, out) = uclient_to("::1", port, peer.port, USER, PASSWORD, &all);
        assert!(ok, "uclient {flags:?} failed:\n{out}");
        let (sent, received, lost) = totals(&out);
        assert!(sent >= 40, "uclient {flags:?} sent {sent}:\n{out}");
        assert_eq!((received, lost), (sent, 0), "uclient {flags:?}:\n{out}");
    }
    // TCP relays too, between two clients' IPv6 relays.
    let (ok, out) = uclient(
        port,
        0,
        USER,
        PASSWORD,
        &["-T", "-x", "-n", "20", "-m", "2"],
    );
    assert!(ok, "uclient -T -x failed:\n{out}");
    let (sent, received, lost) = totals(&out);
    assert_eq!((received, lost), (sent, 0), "{out}");
    let log = node.event_log(Some("Relay Allocated"));
    assert!(log.contains("Relay=\"[::1]:615"), "{log}");
    assert!(node.stop());
}

#[test]
fn wrong_credentials_and_unauthenticated_requests_are_refused() {
    let (mut node, port) = turn_node((61100, 61199), &[]);
    let peer = peer();
    let (ok, out) = uclient(port, peer.port, USER, "not the password", &["-n", "2"]);
    assert!(!ok, "{out}");
    assert!(out.contains("Cannot complete Allocation"), "{out}");
    let (ok, out) = uclient(port, peer.port, "nobody", PASSWORD, &["-n", "2"]);
    assert!(!ok, "{out}");

    // An unauthenticated Binding is not answered as a public STUN server would.
    let out = tool("timeout")
        .args([
            "20",
            "turnutils_stunclient",
            "-p",
            &port.to_string(),
            "127.0.0.1",
        ])
        .output()
        .expect("turnutils_stunclient (Debian package coturn)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("error 401"), "{text}");

    // The right password under another realm: the key differs, so the request is refused.
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let ask = |realm: Option<(&str, &str)>, tid: [u8; 12]| -> Vec<u8> {
        let mut buf = Vec::new();
        let mut b = Builder::new(&mut buf, method::ALLOCATE, Class::Request, &tid);
        b.requested_transport(17);
        if let Some((realm, nonce)) = realm {
            b.text(at::USERNAME, USER)
                .text(at::REALM, realm)
                .text(at::NONCE, nonce)
                .integrity(&long_term_key(USER, realm, PASSWORD));
        }
        sock.send_to(&buf, ("127.0.0.1", port)).unwrap();
        let mut answer = vec![0u8; 1500];
        let n = sock.recv(&mut answer).unwrap();
        answer.truncate(n);
        answer
    };
    let first = ask(None, [1; 12]);
    let m = Message::parse(&first).unwrap();
    assert_eq!(m.error_code().unwrap().code, 401);
    assert_eq!(m.realm(), Some("TANDBERG"));
    let nonce = m.nonce().unwrap().to_string();
    let wrong = ask(Some(("elsewhere", &nonce)), [2; 12]);
    assert_eq!(
        Message::parse(&wrong).unwrap().error_code().unwrap().code,
        401
    );
    let right = ask(Some(("TANDBERG", &nonce)), [3; 12]);
    let m = Message::parse(&right).unwrap();
    assert_eq!(m.class(), Class::Success, "{:?}", m.error_code());
    assert!(m.check_integrity(&long_term_key(USER, "TANDBERG", PASSWORD)));
    assert!(node.stop());
}

/// One allocation from a socket of its own, with the test's STUN client: (socket, answer).
/// coturn's client is not used here because it sometimes asks for a port pair (EVEN-PORT with
/// a reservation), which makes how many allocations fit in a few ports vary from run to run.
fn allocate(port: u16) -> (UdpSocket, Vec<u8>) {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let send = |nonce: Option<&str>, tid: [u8; 12]| -> Vec<u8> {
        let mut buf = Vec::new();
        let mut b = Builder::new(&mut buf, method::ALLOCATE, Class::Request, &tid);
        b.requested_transport(17);
        if let Some(n) = nonce {
            b.text(at::USERNAME, USER)
                .text(at::REALM, "TANDBERG")
                .text(at::NONCE, n)
                .integrity(&long_term_key(USER, "TANDBERG", PASSWORD));
        }
        sock.send_to(&buf, ("127.0.0.1", port)).unwrap();
        let mut answer = vec![0u8; 1500];
        let n = sock.recv(&mut answer).unwrap();
        answer.truncate(n);
        answer
    };
    let challenge = send(None, [1; 12]);
    let nonce = Message::parse(&challenge)
        .unwrap()
        .nonce()
        .unwrap()
        .to_string();
    let answer = send(Some(&nonce), [2; 12]);
    (sock, answer)
}

#[test]
fn allocations_beyond_the_relay_ports_get_486_and_raise_the_capacity_alarm() {
    // Three relay ports: three allocations at most, and a warning at nine tenths of that.
    let (mut node, port) = turn_node((61200, 61202), &[]);
    let mut held = Vec::new();
    for i in 0..3 {
        let (sock, answer) = allocate(port);
        let answer = Message::parse(&answer).unwrap();
        assert_eq!(answer.class(), Class::Success, "{:?}", answer.error_code());
        held.push(sock);
        let alarms = node.ok("xStatus Alarm");
        assert_eq!(alarms.contains("Id: 30005"), i == 2, "{i}: {alarms}");
    }
    let (_, refused) = allocate(port);
    let e = Message::parse(&refused).unwrap().error_code().unwrap();
    assert_eq!((e.code, e.reason), (486, "Allocation Quota Reached"));
    let status = node.ok("xStatus TURN");
    assert!(status.contains("*s TURN Relays Active: 3"), "{status}");
    let alarms = node.ok("xStatus Alarm");
    assert!(alarms.contains("Id: 30024"), "{alarms}");
    assert!(node.stop());
}

#[test]
fn behind_a_static_nat_clients_are_told_the_public_relay_address() {
    let (mut node, port) = turn_node(
        (61600, 61609),
        &[
            "xConfiguration Ethernet 1 IP V4 StaticNAT Mode: On",
            "xConfiguration Ethernet 1 IP V4 StaticNAT Address: 192.0.2.200",
        ],
    );
    let (_sock, answer) = allocate(port);
    let m = Message::parse(&answer).unwrap();
    assert_eq!(m.class(), Class::Success, "{:?}", m.error_code());
    let told = m.xor_address(at::XOR_RELAYED_ADDRESS).unwrap();
    assert_eq!(told.ip().to_string(), "192.0.2.200");
    assert!((61600..=61609).contains(&told.port()), "{told}");
    // The socket itself is at the private address, on the port the client was told.
    let status = node.ok("xStatus TURN");
    assert!(
        status.contains(&format!("Address: \"127.0.0.1:{}\"", told.port())),
        "{status}"
    );
    assert!(node.stop());
}

/// Relayed media leaves marked with `QoS Video`'s DSCP (media of no type the node can tell),
/// from the relays towards peers and from the TURN port towards clients; tshark reads the
/// marks off a capture.
#[test]
fn relayed_media_is_marked_with_the_video_dscp() {
    let (mut node, port) = turn_node((61700, 61709), &["xConfiguration QoS Video: 40"]);
    let peer = peer();
    let file = tempfile::Builder::new().suffix(".pcap").tempfile().unwrap();
    let filter = format!("udp and (portrange 61700-61709 or port {port})");
    let dumpcap = tool("dumpcap")
        .args(["-q", "-i", "lo", "-f", &filter, "-w"])
        .arg(file.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dumpcap (Debian package tshark)");
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::metadata(file.path()).map_or(0, |m| m.len()) == 0 {
        assert!(Instant::now() < deadline, "dumpcap did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    let (ok, out) = uclient(port, peer.port, USER, PASSWORD, &["-n", "20", "-c"]);
    assert!(ok, "{out}");
    std::thread::sleep(Duration::from_millis(300));
    common::signal(&dumpcap, 2);
    let mut dumpcap = dumpcap;
    let _ = dumpcap.wait();
    let fields = tool("tshark")
        .arg("-r")
        .arg(file.path())
        .args(["-T", "fields", "-e", "udp.srcport", "-e", "ip.dsfield.dscp"])
        .output()
        .expect("tshark");
    let text = String::from_utf8_lossy(&fields.stdout).to_string();
    let (mut from_relays, mut from_port, mut from_peer) = (0, 0, 0);
    for line in text.lines() {
        let mut f = line.split('\t');
        let (Some(src), Some(dscp)) = (f.next(), f.next()) else {
            continue;
        };
        let src: u16 = src.parse().unwrap_or(0);
        let dscp: u8 = dscp.parse().unwrap_or(255);
        if (61700..=61709).contains(&src) {
            assert_eq!(dscp, 40, "from relay port {src}:\n{text}");
            from_relays += 1;
        } else if src == port {
            assert_eq!(dscp, 40, "from the TURN port:\n{text}");
            from_port += 1;
        } else if src == peer.port {
            // The peer marks nothing: the capture tells marks apart.
            assert_eq!(dscp, 0, "{text}");
            from_peer += 1;
        }
    }
    assert!(
        from_relays >= 20 && from_port >= 20 && from_peer >= 20,
        "relays {from_relays}, TURN port {from_port}, peer {from_peer}:\n{text}"
    );
    assert!(node.stop());
}

/// `ProtocolMode` decides which transports the TURN port takes; a change restarts the service
/// on the new ones.
#[test]
fn protocol_mode_limits_the_transports() {
    let (mut node, port) = turn_node(
        (61710, 61719),
        &["xConfiguration Traversal Server TURN ProtocolMode: UDP"],
    );
    let peer = peer();
    let (ok, out) = uclient(port, peer.port, USER, PASSWORD, &["-n", "5"]);
    assert!(ok, "UDP while UDP only:\n{out}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "TCP taken while UDP only"
    );
    assert!(node.ok("xStatus TURN").contains("Protocols: UDP"));

    node.ok("xConfiguration Traversal Server TURN ProtocolMode: TCP");
    turn_status_when(&node, 10, "the service did not restart on TCP", |s| {
        s.contains("Protocols: TCP")
    });
    let (ok, out) = uclient(port, peer.port, USER, PASSWORD, &["-t", "-n", "5"]);
    assert!(ok, "TCP while TCP only:\n{out}");
    // Nothing answers on UDP any more.
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut req = Vec::new();
    Builder::new(&mut req, method::ALLOCATE, Class::Request, &[7; 12]).requested_transport(17);
    sock.send_to(&req, ("127.0.0.1", port)).unwrap();
    let mut buf = [0u8; 1500];
    assert!(
        sock.recv(&mut buf).is_err(),
        "an answer over UDP while TCP only"
    );
    assert!(node.stop());
}

#[test]
fn a_core_node_does_not_run_the_turn_server() {
    let node = Node::new();
    let t = node.err("xConfiguration Traversal Server TURN Mode: On");
    assert!(t.contains("Edge"), "{t}");
    assert_eq!(node.value("Traversal Server TURN Mode"), "Off");
}

/// The web interface's relay usage page lists what `xStatus TURN` shows.
#[test]
fn the_relay_usage_page_lists_the_relays() {
    let https = free_port();
    let (mut node, port) = turn_node_with((61300, 61309), &[], Some(https));
    let (sock, answer) = allocate(port);
    assert_eq!(Message::parse(&answer).unwrap().class(), Class::Success);
    let client = sock.local_addr().unwrap().to_string();
    let password = std::fs::read_to_string(node.dir.join("initial-admin-password")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let jar = dir.path().join("jar");
    let curl = |args: &[&str]| {
        let out = Command::new("curl")
            .args(["-sk", "--max-time", "20", "-c", jar.to_str().unwrap()])
            .args(["-b", jar.to_str().unwrap()])
            .args(args)
            .output()
            .expect("curl (Debian package curl)");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let base = format!("https://127.0.0.1:{https}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &format!("{base}/login"),
    ])
    .contains("200")
    {
        assert!(Instant::now() < deadline, "no web interface");
        std::thread::sleep(Duration::from_millis(100));
    }
    curl(&[
        "--data-urlencode",
        "user=admin",
        "--data-urlencode",
        &format!("password={}", password.trim()),
        &format!("{base}/login"),
    ]);
    let page = curl(&[&format!("{base}/status/turn")]);
    assert!(page.contains(&client), "{page}");
    assert!(page.contains("1 of 10 relays in use"), "{page}");
    assert!(page.contains(USER), "{page}");
    assert!(node.stop());
}
