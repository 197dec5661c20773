//! Neighbor zones whose peers are named by host name, RFC 3263 failover between the places a
//! request may go (a DNS zone's SRV targets, a neighbor zone's peers), and outgoing TLS to a
//! neighbor that verifies the server's certificate.
//!
//! dnsmasq serves the test's records on a loopback address of its own (127.0.0.91 to .94),
//! and the peers that must be told apart by address listen on 127.0.0.95 to .98 (other tests
//! use 127.0.0.1, .2, .61–.68, .77, .78 and .131 up).

mod common;
use common::{answers_options, dnsmasq, free_port, request, sip_node, status, Node, Peer};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// Helpers

/// A SIP agent on UDP that answers the node's monitoring OPTIONS by itself and hands every
/// other request to the test.
struct Agent {
    sock: UdpSocket,
    requests: Receiver<(String, SocketAddr)>,
    /// Responses to what the test sent from the agent's socket.
    responses: Receiver<String>,
    stop: Arc<AtomicBool>,
    /// The branches of the requests handed out, so that retransmissions are not.
    seen: Mutex<Vec<String>>,
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .map(str::trim)
}

/// A response to `req` with `code`, and `extra` header lines.
fn response(req: &str, code: u16, extra: &str, contact: SocketAddr) -> String {
    let mut r = format!("SIP/2.0 {code} Whatever\r\n");
    for l in req.lines() {
        if l.starts_with("Via: ")
            || l.starts_with("From: ")
            || l.starts_with("Call-ID: ")
            || l.starts_with("CSeq: ")
        {
            r += l.trim_end();
            r += "\r\n";
        }
        if l.starts_with("To: ") {
            r += &format!("{};tag=callee\r\n", l.trim_end());
        }
    }
    r += extra;
    r += &format!("Contact: <sip:callee@{contact}>\r\nContent-Length: 0\r\n\r\n");
    r
}

impl Agent {
    fn bind(addr: SocketAddr) -> std::io::Result<Agent> {
        let sock = UdpSocket::bind(addr)?;
        sock.set_read_timeout(Some(Duration::from_millis(100)))?;
        let rx_sock = sock.try_clone()?;
        let (tx, requests) = channel();
        let (rtx, responses) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let done = stop.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while !done.load(Ordering::Relaxed) {
                let Ok((n, from)) = rx_sock.recv_from(&mut buf) else {
                    continue;
                };
                let text = String::from_utf8_lossy(&buf[..n]).to_string();
                if text.starts_with("SIP/2.0 ") {
                    if !text.starts_with("SIP/2.0 100 ") {
                        let _ = rtx.send(text);
                    }
                    continue;
                }
                if text.starts_with("OPTIONS ") && text.contains("z9hG4bKcwmon") {
                    let me = rx_sock.local_addr().unwrap();
                    let _ = rx_sock.send_to(response(&text, 200, "", me).as_bytes(), from);
                    continue;
                }
                if tx.send((text, from)).is_err() {
                    return;
                }
            }
        });
        Ok(Agent {
            sock,
            requests,
            responses,
            stop,
            seen: Mutex::new(Vec::new()),
        })
    }

    fn addr(&self) -> SocketAddr {
        self.sock.local_addr().unwrap()
    }

    /// The next request (not an ACK, not a retransmission) within `wait`.
    fn next_within(&self, wait: Duration) -> Option<(String, SocketAddr)> {
        let until = Instant::now() + wait;
        loop {
            let left = until.checked_duration_since(Instant::now())?;
            let (text, from) = self.requests.recv_timeout(left).ok()?;
            let via = header(&text, "Via").unwrap_or("").to_string();
            let mut seen = self.seen.lock().unwrap();
            if !text.starts_with("ACK ") && !seen.contains(&via) {
                seen.push(via);
                return Some((text, from));
            }
        }
    }

    fn next(&self) -> (String, SocketAddr) {
        self.next_within(Duration::from_secs(10))
            .expect("a request in time")
    }

    fn answer(&self, req: &str, from: SocketAddr, code: u16, extra: &str) {
        let r = response(req, code, extra, self.addr());
        self.sock.send_to(r.as_bytes(), from).unwrap();
    }
}

/// Two agents on one port at two addresses (a neighbor zone has one port for all peers).
fn agent_pair(a: &str, b: &str) -> (Agent, Agent) {
    for _ in 0..50 {
        let first = Agent::bind(format!("{a}:0").parse().unwrap()).unwrap();
        let port = first.addr().port();
        if let Ok(second) = Agent::bind(format!("{b}:{port}").parse().unwrap()) {
            return (first, second);
        }
    }
    panic!("no port free on both {a} and {b}");
}

/// A search rule at `row` sending aliases in `domain` to `zone`.
fn rule_to(node: &Node, row: u32, domain: &str, zone: &str) {
    let t = node.ok(&format!(
        "xCommand SearchRuleAdd Name: \"to {zone}\" ZoneName: \"{zone}\""
    ));
    assert!(t.contains(&format!("SearchRuleId: {row}")), "{t}");
    let regex = format!(".*@(.*\\\\.)?{}", domain.replace('.', "\\\\."));
    for (k, v) in [
        ("Priority", "10"),
        ("Mode", "AliasPatternMatch"),
        ("Pattern Type", "Regex"),
        ("Pattern String", regex.as_str()),
        ("Pattern Behavior", "Leave"),
    ] {
        node.ok(&format!(
            "xConfiguration Zones Policy SearchRules Rule {row} {k}: \"{v}\""
        ));
    }
}

/// Neighbor zone `name` (it must come out as row `row`) with `fields` under `Neighbor`.
fn neighbor_zone(node: &Node, row: u32, name: &str, fields: &[(&str, String)]) {
    let t = node.ok(&format!(
        "xCommand ZoneAdd ZoneName: \"{name}\" Type: Neighbor"
    ));
    assert!(t.contains(&format!("ZoneId: {row}")), "{t}");
    for (k, v) in fields {
        node.ok(&format!(
            "xConfiguration Zones Zone {row} Neighbor {k}: \"{v}\""
        ));
    }
}

fn request_line(msg: &str) -> &str {
    msg.lines().next().unwrap_or("")
}

/// Polls `xStatus Zones` until it contains `want`.
fn wait_status(node: &Node, want: &str, limit: Duration) -> String {
    let until = Instant::now() + limit;
    loop {
        let t = node.ok("xStatus Zones");
        if t.contains(want) || Instant::now() > until {
            return t;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

// ---------------------------------------------------------------------------------------
// Host names

/// A neighbor peer given by host name is resolved with the configured DNS server: searches
/// reach it at its address, the monitor asks it there (and `xStatus Zones` shows it), and
/// requests from that address come from the zone (its authentication policy applies, not
/// the Default Zone's).
#[test]
fn a_neighbor_peer_named_by_host_name_is_reached_monitored_and_recognised() {
    let (node, port) = sip_node();
    let peer = Agent::bind("127.0.0.95:0".parse().unwrap()).unwrap();
    let _dns = dnsmasq(
        91,
        "hosts.example",
        &["--host-record=peer.hosts.example,127.0.0.95".into()],
    );
    node.ok("xConfiguration DNS Server 1 Address: \"127.0.0.91\"");
    neighbor_zone(
        &node,
        1,
        "Named",
        &[
            ("Peer 1 Address", "peer.hosts.example".into()),
            ("SIP Port", peer.addr().port().to_string()),
            ("SIP Transport", "UDP".into()),
        ],
    );
    rule_to(&node, 2, "named.example", "Named");

    // Reached by name.
    let caller = Peer::new(port);
    caller.send(&request(
        "MESSAGE",
        "sip:carol@named.example",
        &caller,
        "named1",
        "",
    ));
    let (m, from) = peer.next();
    assert_eq!(request_line(&m), "MESSAGE sip:carol@named.example SIP/2.0");
    assert_eq!(from.port(), port, "from the node");
    peer.answer(&m, from, 200, "");
    assert_eq!(status(&caller.recv()), 200);

    // Monitored at the address the name resolved to.
    let want = format!("Peer 1 Address: \"{}\"", peer.addr());
    let t = wait_status(&node, "Peer 1 Status: Active", Duration::from_secs(25));
    assert!(t.contains(&want), "{t}");
    assert!(t.contains("Peer 1 Status: Active"), "{t}");

    // The peer's own requests belong to the zone: not challenged, although the Default
    // Zone checks credentials (an unknown caller from our domain is).
    node.ok("xConfiguration Zones DefaultZone Authentication Mode: CheckCredentials");
    let stranger = Peer::new(port);
    stranger.send(&request(
        "MESSAGE",
        "sip:nobody@example.com",
        &stranger,
        "named2",
        "",
    ));
    assert_eq!(status(&stranger.recv()), 407);
    let me = peer.addr();
    let msg = request("MESSAGE", "sip:nobody@example.com", &stranger, "named3", "")
        .replace(&stranger.addr().to_string(), &me.to_string())
        .replace('\n', "\r\n");
    peer.sock
        .send_to(msg.as_bytes(), ("127.0.0.1", port))
        .unwrap();
    let r = peer
        .responses
        .recv_timeout(Duration::from_secs(10))
        .expect("an answer to the peer");
    assert_eq!(status(&r), 404, "searched for, not challenged: {r}");
}

// ---------------------------------------------------------------------------------------
// Failover

/// RFC 3263 §4.3 for a DNS zone: the first SRV target accepts no connection (TCP, nothing
/// listening), so the request goes to the next one; where the first target answers 503, the
/// second gets the request after it.
#[test]
fn a_dns_zone_fails_over_to_the_next_srv_target() {
    let (node, port) = sip_node();
    let live = Agent::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let busy = Agent::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let spare = Agent::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let _dns = dnsmasq(
        92,
        "srv.example",
        &[
            format!("--srv-host=_sip._tcp.dead.srv.example,pbx.srv.example,{dead},10,5"),
            format!(
                "--srv-host=_sip._udp.dead.srv.example,pbx.srv.example,{},10,5",
                live.addr().port()
            ),
            format!(
                "--srv-host=_sip._udp.busy.srv.example,pbx.srv.example,{},10,5",
                busy.addr().port()
            ),
            format!(
                "--srv-host=_sip._udp.busy.srv.example,pbx.srv.example,{},20,5",
                spare.addr().port()
            ),
            "--host-record=pbx.srv.example,127.0.0.1".into(),
        ],
    );
    node.ok("xConfiguration DNS Server 1 Address: \"127.0.0.92\"");
    let t = node.ok("xCommand ZoneAdd ZoneName: \"Internet\" Type: DNS");
    assert!(t.contains("ZoneId: 1"), "{t}");
    rule_to(&node, 2, "srv.example", "Internet");
    std::thread::sleep(Duration::from_millis(300));

    // The TCP target refuses the connection: the UDP one gets the request.
    let caller = Peer::new(port);
    caller.send(&request(
        "MESSAGE",
        "sip:carol@dead.srv.example",
        &caller,
        "srv1",
        "",
    ));
    let (m, from) = live.next();
    assert_eq!(
        request_line(&m),
        "MESSAGE sip:carol@dead.srv.example SIP/2.0"
    );
    live.answer(&m, from, 200, "");
    assert_eq!(status(&caller.recv()), 200);

    // Priority 10 answers 503: priority 20 gets the INVITE only then, and answers it.
    let caller = Peer::new(port);
    caller.send(&request(
        "INVITE",
        "sip:dave@busy.srv.example",
        &caller,
        "srv2",
        "",
    ));
    let (i1, f1) = busy.next();
    assert!(request_line(&i1).starts_with("INVITE "), "{i1}");
    assert!(spare.next_within(Duration::from_millis(500)).is_none());
    busy.answer(&i1, f1, 503, "");
    let (i2, f2) = spare.next();
    assert_eq!(
        request_line(&i2),
        "INVITE sip:dave@busy.srv.example SIP/2.0"
    );
    assert_ne!(
        header(&i1, "Via").unwrap(),
        header(&i2, "Via").unwrap(),
        "a new transaction"
    );
    spare.answer(&i2, f2, 200, "");
    let r = caller.recv();
    assert_eq!(status(&r), 200, "{r}");
}

/// A neighbor zone with two peers: the one tried first answers 503, and the other gets the
/// INVITE after it (not at once: peers are tried in turn, and take turns being first). A 503
/// with Retry-After keeps a peer out of the next calls for that long.
#[test]
fn a_neighbor_zone_fails_over_from_a_peer_that_answers_503() {
    let (node, port) = sip_node();
    let (first, second) = agent_pair("127.0.0.96", "127.0.0.97");
    neighbor_zone(
        &node,
        1,
        "Pair",
        &[
            ("Peer 1 Address", "127.0.0.96".into()),
            ("Peer 2 Address", "127.0.0.97".into()),
            ("SIP Port", first.addr().port().to_string()),
            ("SIP Transport", "UDP".into()),
            ("Monitor", "No".into()),
        ],
    );
    rule_to(&node, 2, "pair.example", "Pair");
    std::thread::sleep(Duration::from_millis(300));

    // `by` is tried first and answers 503 (with `extra`), then `then` gets the call; without
    // a 503 the call goes straight to `then`.
    let call = |id: &str, by: Option<(&Agent, &str)>, then: &Agent| {
        let caller = Peer::new(port);
        caller.send(&request("INVITE", "sip:dave@pair.example", &caller, id, ""));
        if let Some((peer, extra)) = by {
            let (i1, f1) = peer.next();
            assert!(request_line(&i1).starts_with("INVITE "), "{i1}");
            assert!(
                then.next_within(Duration::from_millis(500)).is_none(),
                "the other peer waits for the first"
            );
            peer.answer(&i1, f1, 503, extra);
        }
        let (i2, f2) = then.next();
        assert_eq!(request_line(&i2), "INVITE sip:dave@pair.example SIP/2.0");
        then.answer(&i2, f2, 200, "");
        let r = caller.recv();
        assert_eq!(status(&r), 200, "{r}");
        assert_eq!(header(&r, "Call-ID"), Some(id));
    };
    // The peers take turns being tried first; each fails over to the other on 503.
    call("pair1", Some((&first, "")), &second);
    let history = node.ok("xStatus SearchHistory");
    assert!(
        history.contains(&format!(
            "{} answered 503; trying {}",
            first.addr(),
            second.addr()
        )),
        "the failover is in the trace: {history}"
    );
    call("pair2", Some((&second, "Retry-After: 60\r\n")), &first);
    // The second peer asked to be left alone for a minute: the next call goes to the first
    // alone, though it is the second's turn.
    call("pair3", None, &first);
    call("pair4", None, &first);
    assert!(second.next_within(Duration::from_millis(500)).is_none());
}

/// A neighbor peer given as an SRV name (`_sip._udp.<domain>`): each target of its records
/// is a peer, in priority order, on the record's port and the name's transport (not the
/// zone's TLS and 5061); a 503 from the first moves on to the second.
#[test]
fn a_neighbor_peer_given_as_an_srv_name_lists_its_targets() {
    let (node, port) = sip_node();
    let (first, second) = (
        Agent::bind("127.0.0.1:0".parse().unwrap()).unwrap(),
        Agent::bind("127.0.0.1:0".parse().unwrap()).unwrap(),
    );
    let _dns = dnsmasq(
        94,
        "peers.example",
        &[
            format!(
                "--srv-host=_sip._udp.peers.example,a.peers.example,{},10,5",
                first.addr().port()
            ),
            format!(
                "--srv-host=_sip._udp.peers.example,b.peers.example,{},20,5",
                second.addr().port()
            ),
            "--host-record=a.peers.example,127.0.0.1".into(),
            "--host-record=b.peers.example,127.0.0.1".into(),
        ],
    );
    node.ok("xConfiguration DNS Server 1 Address: \"127.0.0.94\"");
    neighbor_zone(
        &node,
        1,
        "Served",
        &[
            ("Peer 1 Address", "_sip._udp.peers.example".into()),
            ("Monitor", "No".into()),
        ],
    );
    rule_to(&node, 2, "served.example", "Served");
    let caller = Peer::new(port);
    caller.send(&request(
        "MESSAGE",
        "sip:frank@served.example",
        &caller,
        "srvpeer1",
        "",
    ));
    let (m1, f1) = first.next();
    assert_eq!(
        request_line(&m1),
        "MESSAGE sip:frank@served.example SIP/2.0"
    );
    assert!(
        header(&m1, "Via").unwrap().starts_with("SIP/2.0/UDP "),
        "{m1}"
    );
    first.answer(&m1, f1, 503, "");
    let (m2, f2) = second.next();
    assert_eq!(
        request_line(&m2),
        "MESSAGE sip:frank@served.example SIP/2.0"
    );
    second.answer(&m2, f2, 200, "");
    assert_eq!(status(&caller.recv()), 200);
    let t = node.ok("xStatus Zones");
    assert!(
        t.contains(&format!("Peer 1 Address: \"{}\"", first.addr()))
            && t.contains(&format!("Peer 2 Address: \"{}\"", second.addr())),
        "{t}"
    );
}

// ---------------------------------------------------------------------------------------
// TLS

/// A test authority and the certificates it signs.
struct Authority {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    pem: String,
}

impl Authority {
    fn new() -> Authority {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "causeway test authority");
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).unwrap();
        Authority {
            pem: cert.pem(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// A server configuration with a certificate for `name` signed by this authority.
    fn server(&self, name: &str) -> Arc<rustls::ServerConfig> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        Arc::new(config)
    }
}

/// What the TLS peer saw.
#[derive(Debug)]
enum Seen {
    HandshakeFailed(String),
    Request(String),
}

/// A SIP server over TLS on `addr` presenting whatever certificate `config` holds at the
/// time; it answers every request 200.
fn tls_peer(
    addr: &str,
    config: Arc<Mutex<Arc<rustls::ServerConfig>>>,
) -> (SocketAddr, Receiver<Seen>) {
    let listener = TcpListener::bind(addr).unwrap();
    let local = listener.local_addr().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let cfg = config.lock().unwrap().clone();
            let tx = tx.clone();
            std::thread::spawn(move || {
                use std::io::{Read, Write};
                let mut conn = rustls::ServerConnection::new(cfg).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(20)))
                    .unwrap();
                while conn.is_handshaking() {
                    if let Err(e) = conn.complete_io(&mut stream) {
                        let _ = tx.send(Seen::HandshakeFailed(e.to_string()));
                        return;
                    }
                }
                let mut tls = rustls::Stream::new(&mut conn, &mut stream);
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = match tls.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    buf.extend_from_slice(&chunk[..n]);
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let msg = String::from_utf8_lossy(&buf[..end + 4]).to_string();
                        buf.drain(..end + 4);
                        if msg.starts_with("SIP/2.0 ") || msg.starts_with("ACK ") {
                            continue;
                        }
                        let me: SocketAddr = "127.0.0.98:5061".parse().unwrap();
                        let r = response(&msg, 200, "", me);
                        if tls.write_all(r.as_bytes()).is_err() {
                            return;
                        }
                        let _ = tx.send(Seen::Request(msg));
                    }
                }
            });
        }
    });
    (local, rx)
}

/// A node that trusts `ca` (PEM) for outgoing TLS, with SIP on UDP for the test's callers.
fn node_trusting(ca: &str) -> (Node, u16) {
    for _ in 0..5 {
        let mut node = Node::new();
        let port = free_port();
        for line in [
            "xConfiguration SIP Mode: On".to_string(),
            "xConfiguration SIP UDP Mode: On".into(),
            format!("xConfiguration SIP UDP Port: {port}"),
            format!("xConfiguration SIP TCP Port: {port}"),
            format!("xConfiguration SIP TLS Port: {}", free_port()),
            "xCommand DomainAdd Name: \"example.com\"".into(),
        ] {
            node.ok(&line);
        }
        std::fs::create_dir_all(node.dir.join("tls")).unwrap();
        std::fs::write(node.dir.join("tls/trusted-ca.pem"), ca).unwrap();
        node.start();
        if answers_options(port) {
            return (node, port);
        }
        node.stop();
    }
    panic!("no SIP node could be started");
}

/// Outgoing TLS to a neighbor named by host name: with `TLS Verify Mode: Off` any
/// certificate does; with On, a certificate from a trusted authority for another name is
/// refused (the request goes nowhere), and one for the peer's name is accepted.
#[test]
fn a_tls_neighbor_with_verify_on_checks_the_certificate() {
    let ca = Authority::new();
    let (node, port) = node_trusting(&ca.pem);
    let config = Arc::new(Mutex::new(ca.server("someone-else.example")));
    let (peer, seen) = tls_peer("127.0.0.98:0", config.clone());
    let _dns = dnsmasq(
        93,
        "tls.example",
        &["--host-record=peer.tls.example,127.0.0.98".into()],
    );
    node.ok("xConfiguration DNS Server 1 Address: \"127.0.0.93\"");
    neighbor_zone(
        &node,
        1,
        "Secure",
        &[
            ("Peer 1 Address", "peer.tls.example".into()),
            ("SIP Port", peer.port().to_string()),
            ("SIP Transport", "TLS".into()),
            ("SIP TLS Verify Mode", "Off".into()),
            ("Monitor", "No".into()),
        ],
    );
    rule_to(&node, 2, "tls.example", "Secure");
    std::thread::sleep(Duration::from_millis(300));
    let send = |id: &str| {
        let caller = Peer::new(port);
        caller.send(&request("MESSAGE", "sip:erin@tls.example", &caller, id, ""));
        let mut r = caller.recv();
        while status(&r) < 200 {
            r = caller.recv();
        }
        r
    };
    let next_seen = || {
        seen.recv_timeout(Duration::from_secs(10))
            .expect("the TLS peer saw something")
    };

    // Verify Off: the wrong name does not matter.
    let r = send("tls1");
    assert_eq!(status(&r), 200, "{r}");
    match next_seen() {
        Seen::Request(m) => assert!(m.starts_with("MESSAGE sip:erin@tls.example"), "{m}"),
        other => panic!("{other:?}"),
    }

    // Verify On: the certificate names someone else, so the handshake is refused and the
    // request goes nowhere.
    node.ok("xConfiguration Zones Zone 1 Neighbor SIP TLS Verify Mode: On");
    std::thread::sleep(Duration::from_millis(300));
    let r = send("tls2");
    assert_ne!(status(&r), 200, "{r}");
    match next_seen() {
        // The node sends an alert about the certificate and goes.
        Seen::HandshakeFailed(e) => assert!(e.contains("Certificate"), "{e}"),
        other => panic!("the handshake should fail: {other:?}"),
    }

    // The right certificate: accepted.
    *config.lock().unwrap() = ca.server("peer.tls.example");
    let r = send("tls3");
    assert_eq!(status(&r), 200, "{r}");
    match next_seen() {
        Seen::Request(m) => assert!(m.starts_with("MESSAGE sip:erin@tls.example"), "{m}"),
        other => panic!("{other:?}"),
    }
}
