//! The advanced zone settings of neighbor zones (the Custom profile and the preconfigured
//! profiles, notes 04 §2.13–2.14) on a running node: what they do to requests and responses
//! passing to and from the zone, to monitoring, to Path, and to TCP connections after a
//! malformed message.
//!
//! Each neighbor's peer is a hand-written agent on a loopback address of its own
//! (127.0.0.61 to .69; other tests use .1, .2, .77, .78 and .131 up), so that the node tells
//! it apart from the callers and callees on 127.0.0.1.

mod common;
use common::{answers_options, free_port, sip_node, sip_node_for, status, Node};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// Agents and messages

/// A SIP agent on UDP that writes messages by hand, bound to a loopback address.
struct Agent {
    sock: UdpSocket,
    server: SocketAddr,
}

impl Agent {
    fn on(ip: &str, server_port: u16) -> Agent {
        let sock = UdpSocket::bind((ip, 0)).unwrap();
        Agent {
            sock,
            server: SocketAddr::from(([127, 0, 0, 1], server_port)),
        }
    }

    fn addr(&self) -> SocketAddr {
        self.sock.local_addr().unwrap()
    }

    fn send(&self, msg: &str) {
        self.sock.send_to(msg.as_bytes(), self.server).unwrap();
    }

    /// The next message `want` accepts within `limit`, and where it came from; the node's
    /// monitoring OPTIONS and anything else are skipped.
    fn wait_for(
        &self,
        limit: Duration,
        want: impl Fn(&str) -> bool,
    ) -> Option<(String, SocketAddr)> {
        let end = Instant::now() + limit;
        let mut buf = vec![0u8; 65536];
        loop {
            let left = end.checked_duration_since(Instant::now())?;
            self.sock
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            let Ok((n, from)) = self.sock.recv_from(&mut buf) else {
                return None;
            };
            let text = String::from_utf8_lossy(&buf[..n]).to_string();
            if want(&text) {
                return Some((text, from));
            }
        }
    }

    /// The next `method` request of call `call`.
    fn request(&self, method: &str, call: &str) -> (String, SocketAddr) {
        self.wait_for(Duration::from_secs(5), |m| {
            m.starts_with(&format!("{method} ")) && call_id(m) == Some(call)
        })
        .unwrap_or_else(|| panic!("no {method} of {call} reached {}", self.addr()))
    }

    /// Whether no `method` request of call `call` arrives for a while.
    fn no_request(&self, method: &str, call: &str) -> bool {
        self.wait_for(Duration::from_millis(1500), |m| {
            m.starts_with(&format!("{method} ")) && call_id(m) == Some(call)
        })
        .is_none()
    }

    /// The next final response of call `call`.
    fn final_response(&self, call: &str) -> String {
        self.wait_for(Duration::from_secs(5), |m| {
            m.starts_with("SIP/2.0 ") && status(m) >= 200 && call_id(m) == Some(call)
        })
        .unwrap_or_else(|| panic!("no final response of {call} reached {}", self.addr()))
        .0
    }
}

/// A message: start line, header lines and a body with its Content-Length.
fn sip(start: &str, headers: &[String], body: &str) -> String {
    let mut m = format!("{start}\r\n");
    for h in headers {
        m += h;
        m += "\r\n";
    }
    m + &format!("Content-Length: {}\r\n\r\n{body}", body.len())
}

/// Every value of the fields called `name`, in order, one entry per field.
fn headers<'a>(msg: &'a str, name: &str) -> Vec<&'a str> {
    let head = msg.split("\r\n\r\n").next().unwrap_or("");
    head.lines()
        .filter_map(|l| l.strip_prefix(&format!("{name}: ")))
        .map(str::trim)
        .collect()
}

fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    headers(msg, name).into_iter().next()
}

fn call_id(msg: &str) -> Option<&str> {
    header(msg, "Call-ID")
}

fn body(msg: &str) -> &str {
    msg.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

/// Answers `req` (sent from `from`) with `code`, with `extra` header lines.
fn answer(a: &Agent, req: &str, from: SocketAddr, code: u16, extra: &[&str]) {
    let mut r = format!("SIP/2.0 {code} Whatever\r\n");
    for l in req.split("\r\n\r\n").next().unwrap_or("").lines() {
        if ["Via: ", "From: ", "Call-ID: ", "CSeq: ", "Record-Route: "]
            .iter()
            .any(|p| l.starts_with(p))
        {
            r += l.trim_end();
            r += "\r\n";
        }
        if l.starts_with("To: ") {
            r += &format!("{};tag=answered\r\n", l.trim_end());
        }
    }
    for e in extra {
        r += e;
        r += "\r\n";
    }
    r += &format!(
        "Contact: <sip:callee@{}>\r\nContent-Length: 0\r\n\r\n",
        a.addr()
    );
    a.sock.send_to(r.as_bytes(), from).unwrap();
}

/// An agent on 127.0.0.1 registered as `user@example.com`.
fn registered(port: u16, user: &str) -> Agent {
    let a = Agent::on("127.0.0.1", port);
    let me = a.addr();
    a.send(&sip(
        "REGISTER sip:example.com SIP/2.0",
        &[
            format!("Via: SIP/2.0/UDP {me};branch=z9hG4bKreg{user}"),
            "Max-Forwards: 70".into(),
            format!("From: <sip:{user}@example.com>;tag=r"),
            format!("To: <sip:{user}@example.com>"),
            format!("Call-ID: reg-{user}"),
            "CSeq: 1 REGISTER".into(),
            format!("Contact: <sip:{user}@{me}>"),
            "Expires: 60".into(),
        ],
        "",
    ));
    assert_eq!(status(&a.final_response(&format!("reg-{user}"))), 200);
    a
}

// ---------------------------------------------------------------------------------------
// Configuration

/// Neighbor zone `name` at row `row` whose one peer is `peer`, over UDP.
fn neighbor(node: &Node, row: u32, name: &str, peer: SocketAddr) {
    let t = node.ok(&format!(
        "xCommand ZoneAdd ZoneName: \"{name}\" Type: Neighbor"
    ));
    assert!(t.contains(&format!("ZoneId: {row}")), "{t}");
    for line in zone_lines(row, peer, "UDP") {
        node.ok(&line);
    }
}

fn zone_lines(row: u32, peer: SocketAddr, transport: &str) -> Vec<String> {
    let z = format!("xConfiguration Zones Zone {row}");
    vec![
        format!("{z} Neighbor Peer 1 Address: \"{}\"", peer.ip()),
        format!("{z} Neighbor SIP Port: {}", peer.port()),
        format!("{z} Neighbor SIP Transport: {transport}"),
    ]
}

/// Sets elements of zone `row`'s Neighbor branch, then lets the node take them up.
fn set(node: &Node, row: u32, pairs: &[(&str, &str)]) {
    for (k, v) in pairs {
        node.ok(&format!(
            "xConfiguration Zones Zone {row} Neighbor {k}: \"{v}\""
        ));
    }
    std::thread::sleep(Duration::from_millis(300));
}

/// A search rule sending aliases that match `regex` (left as they are) to `zone`.
fn rule(node: &Node, zone: &str, regex: &str) {
    let t = node.ok(&format!(
        "xCommand SearchRuleAdd Name: \"to {zone}\" ZoneName: \"{zone}\""
    ));
    let row: u32 = t
        .lines()
        .find_map(|l| l.split("SearchRuleId: ").nth(1))
        .unwrap_or_else(|| panic!("no rule id in {t}"))
        .trim()
        .parse()
        .unwrap();
    for (k, v) in [
        ("Priority", "10"),
        ("Mode", "AliasPatternMatch"),
        ("Pattern Type", "Regex"),
        ("Pattern String", regex),
        ("Pattern Behavior", "Leave"),
    ] {
        node.ok(&format!(
            "xConfiguration Zones Policy SearchRules Rule {row} {k}: \"{v}\""
        ));
    }
}

const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                   m=audio 49170 RTP/AVP 0\r\n";

const FIREWALL: &str = "com.nortelnetworks.firewall";

// ---------------------------------------------------------------------------------------
// Tests

/// Requests from a neighbor lose their multipart MIME (MIME strip mode) and the option tags
/// of the Proxy-Require strip list only when the zone says so; the Nortel CS1000 profile
/// strips its firewall tag and UPDATE from Allow, in the responses sent to the zone as well.
#[test]
fn requests_from_a_neighbor_are_stripped_as_its_zone_says() {
    let (node, port) = sip_node();
    let z = Agent::on("127.0.0.61", port);
    neighbor(&node, 1, "Nortel", z.addr());
    let bob = registered(port, "bob");
    std::thread::sleep(Duration::from_millis(300));
    let multipart = format!(
        "--b7\r\nContent-Type: application/sdp\r\n\r\n{SDP}\r\n--b7\r\n\
         Content-Type: application/x-private\r\n\r\nopaque\r\n--b7--\r\n"
    );
    let invite = |call: &str| {
        let me = z.addr();
        z.send(&sip(
            "INVITE sip:bob@example.com SIP/2.0",
            &[
                format!("Via: SIP/2.0/UDP {me};branch=z9hG4bK{call};rport"),
                "Max-Forwards: 70".into(),
                format!("From: <sip:pbx@partner.example>;tag=f{call}"),
                "To: <sip:bob@example.com>".into(),
                format!("Call-ID: {call}"),
                "CSeq: 1 INVITE".into(),
                format!("Contact: <sip:pbx@{me}>"),
                "Allow: INVITE, ACK, BYE, CANCEL, UPDATE".into(),
                format!("Proxy-Require: {FIREWALL}, x.keep"),
                "Content-Type: multipart/mixed;boundary=b7".into(),
            ],
            &multipart,
        ));
        let (got, from) = bob.request("INVITE", call);
        answer(&bob, &got, from, 200, &["Allow: INVITE, ACK, BYE, UPDATE"]);
        (got, z.final_response(call))
    };

    // Default profile: everything passes as sent.
    let (got, ok) = invite("zs-default");
    assert_eq!(
        header(&got, "Proxy-Require"),
        Some(format!("{FIREWALL}, x.keep").as_str()),
        "{got}"
    );
    assert_eq!(
        header(&got, "Content-Type"),
        Some("multipart/mixed;boundary=b7")
    );
    assert_eq!(body(&got), multipart);
    assert_eq!(
        header(&ok, "Allow"),
        Some("INVITE, ACK, BYE, UPDATE"),
        "{ok}"
    );

    // Custom: MIME strip on and a strip list of one tag; UPDATE strip stays off.
    set(
        &node,
        1,
        &[
            ("ZoneProfile", "Custom"),
            ("SIP MIME Strip Mode", "On"),
            ("SIP ProxyRequire Strip List", FIREWALL),
        ],
    );
    let (got, ok) = invite("zs-custom");
    assert_eq!(header(&got, "Proxy-Require"), Some("x.keep"), "{got}");
    assert_eq!(header(&got, "Content-Type"), Some("application/sdp"));
    assert_eq!(body(&got), SDP);
    assert_eq!(
        header(&got, "Content-Length"),
        Some(SDP.len().to_string().as_str())
    );
    assert!(header(&got, "Allow").unwrap().contains("UPDATE"), "{got}");
    assert!(header(&ok, "Allow").unwrap().contains("UPDATE"), "{ok}");

    // Nortel CS1000: its tag and UPDATE go (both ways), the multipart body stays.
    set(&node, 1, &[("ZoneProfile", "NortelCS1000")]);
    let (got, ok) = invite("zs-nortel");
    assert_eq!(header(&got, "Proxy-Require"), Some("x.keep"), "{got}");
    assert_eq!(body(&got), multipart);
    assert_eq!(header(&got, "Allow"), Some("INVITE, ACK, BYE, CANCEL"));
    assert_eq!(header(&ok, "Allow"), Some("INVITE, ACK, BYE"), "{ok}");
}

/// INVITEs sent to a neighbor: UPDATE strip mode takes UPDATE out of Allow (and out of the
/// zone's responses), the UDP/BFCP and UDP/IX filters disable those media lines, and the
/// record route address type Hostname puts the system host name in Record-Route.
#[test]
fn invites_to_a_neighbor_follow_its_settings() {
    let (node, port) = sip_node();
    let z = Agent::on("127.0.0.62", port);
    neighbor(&node, 1, "Partner", z.addr());
    rule(&node, "Partner", r".*@partner\.example");
    node.ok("xConfiguration IP DNS Hostname: \"cw1\"");
    node.ok("xConfiguration IP DNS Domain Name: \"example.net\"");
    std::thread::sleep(Duration::from_millis(300));
    let caller = Agent::on("127.0.0.1", port);
    let offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                 m=audio 49170 RTP/AVP 0\r\nm=application 5070 UDP/BFCP *\r\n\
                 a=floorctrl:c-only\r\nm=application 5072 UDP/UDT/IX *\r\n";
    let call = |id: &str| {
        let me = caller.addr();
        caller.send(&sip(
            "INVITE sip:carol@partner.example SIP/2.0",
            &[
                format!("Via: SIP/2.0/UDP {me};branch=z9hG4bK{id};rport"),
                "Max-Forwards: 70".into(),
                format!("From: <sip:alice@example.com>;tag=f{id}"),
                "To: <sip:carol@partner.example>".into(),
                format!("Call-ID: {id}"),
                "CSeq: 1 INVITE".into(),
                format!("Contact: <sip:alice@{me}>"),
                "Allow: INVITE, ACK, BYE, CANCEL, UPDATE".into(),
                "Content-Type: application/sdp".into(),
            ],
            offer,
        ));
        let (got, from) = z.request("INVITE", id);
        answer(&z, &got, from, 200, &["Allow: INVITE, UPDATE, BYE"]);
        (got, caller.final_response(id))
    };

    let (got, ok) = call("zs-out-default");
    assert_eq!(
        header(&got, "Allow"),
        Some("INVITE, ACK, BYE, CANCEL, UPDATE")
    );
    assert_eq!(body(&got), offer);
    let rr = header(&got, "Record-Route").unwrap();
    assert!(rr.starts_with("<sip:127."), "{rr}");
    assert_eq!(header(&ok, "Allow"), Some("INVITE, UPDATE, BYE"), "{ok}");

    set(
        &node,
        1,
        &[
            ("ZoneProfile", "Custom"),
            ("SIP UPDATE Strip Mode", "On"),
            ("SIP UDP BFCP Filter Mode", "On"),
            ("SIP UDP IX Filter Mode", "On"),
            ("SIP Record Route Address Type", "Hostname"),
        ],
    );
    let (got, ok) = call("zs-out-custom");
    assert_eq!(header(&got, "Allow"), Some("INVITE, ACK, BYE, CANCEL"));
    let filtered = offer
        .replace("m=application 5070 UDP/BFCP", "m=application 0 TCP/BFCP")
        .replace("m=application 5072 UDP/UDT/IX", "m=application 0 RTP/AVP");
    assert_eq!(body(&got), filtered);
    assert_eq!(
        header(&got, "Content-Length"),
        Some(filtered.len().to_string().as_str())
    );
    assert_eq!(
        header(&got, "Record-Route"),
        Some(format!("<sip:cw1.example.net:{port};transport=udp;lr>").as_str()),
        "{got}"
    );
    assert_eq!(header(&ok, "Allow"), Some("INVITE, BYE"), "{ok}");
}

/// SIP poison mode: a request the node sent to the zone that comes back (here retargeted by
/// the neighbor, so that ordinary loop detection does not see it) is processed normally with
/// the mode Off, and refused with 482 with it On.
#[test]
fn poison_mode_refuses_our_requests_coming_back() {
    let (node, port) = sip_node();
    let z = Agent::on("127.0.0.63", port);
    neighbor(&node, 1, "Loopy", z.addr());
    rule(&node, "Loopy", r".*@partner\.example");
    let bob = registered(port, "bob");
    std::thread::sleep(Duration::from_millis(300));
    let caller = Agent::on("127.0.0.1", port);
    // The caller calls carol at the neighbor, which sends the INVITE back for bob.
    let bounce = |id: &str| -> String {
        let me = caller.addr();
        caller.send(&sip(
            "INVITE sip:carol@partner.example SIP/2.0",
            &[
                format!("Via: SIP/2.0/UDP {me};branch=z9hG4bK{id};rport"),
                "Max-Forwards: 70".into(),
                format!("From: <sip:alice@example.com>;tag=f{id}"),
                "To: <sip:carol@partner.example>".into(),
                format!("Call-ID: {id}"),
                "CSeq: 1 INVITE".into(),
                format!("Contact: <sip:alice@{me}>"),
            ],
            "",
        ));
        let (got, _) = z.request("INVITE", id);
        // As a proxy would: its own Via on top, one hop less, a new Request-URI.
        let zme = z.addr();
        let (_, rest) = got.split_once("\r\n").unwrap();
        let hops = format!("Max-Forwards: {}", header(&got, "Max-Forwards").unwrap());
        z.send(&format!(
            "INVITE sip:bob@example.com SIP/2.0\r\n\
             Via: SIP/2.0/UDP {zme};branch=z9hG4bKback{id};rport\r\n{}",
            rest.replacen(&hops, "Max-Forwards: 60", 1)
        ));
        got
    };

    let sent = bounce("zs-poison-off");
    assert!(!sent.contains("cw-poison"), "{sent}");
    let (got, from) = bob.request("INVITE", "zs-poison-off");
    answer(&bob, &got, from, 486, &[]);

    set(
        &node,
        1,
        &[("ZoneProfile", "Custom"), ("SIP Poison Mode", "On")],
    );
    let sent = bounce("zs-poison-on");
    assert!(sent.contains(";cw-poison="), "{sent}");
    let refused = z.final_response("zs-poison-on");
    assert_eq!(status(&refused), 482, "{refused}");
    assert!(
        header(&refused, "Via")
            .unwrap()
            .contains("branch=z9hG4bKbackzs-poison-on"),
        "{refused}"
    );
    assert!(bob.no_request("INVITE", "zs-poison-on"));
}

/// Monitor peer status: the Infrastructure device profile and Custom with Monitor No leave
/// the zone's peers alone, and `xStatus Zones` shows them On rather than Checking or Active;
/// with the Default profile the zone's own `Monitor: No` is not what applies.
#[test]
fn unmonitored_neighbors_get_no_options() {
    let quiet = Agent::on("127.0.0.64", 9);
    let custom = Agent::on("127.0.0.65", 9);
    let watched = Agent::on("127.0.0.66", 9);
    let mut node = Node::new();
    let port = free_port();
    let mut lines = vec![
        "xConfiguration SIP Mode: On".to_string(),
        "xConfiguration SIP UDP Mode: On".into(),
        format!("xConfiguration SIP UDP Port: {port}"),
        "xConfiguration SIP TCP Mode: Off".into(),
        "xConfiguration SIP TLS Mode: Off".into(),
        "xCommand DomainAdd Name: \"example.com\"".into(),
    ];
    for (row, name, agent, extra) in [
        (
            1,
            "Quiet",
            &quiet,
            vec!["ZoneProfile: NonRegisteringDevice"],
        ),
        (
            2,
            "Custom",
            &custom,
            vec!["ZoneProfile: Custom", "Monitor: No"],
        ),
        (3, "Watched", &watched, vec!["Monitor: No"]),
    ] {
        lines.push(format!(
            "xCommand ZoneAdd ZoneName: \"{name}\" Type: Neighbor"
        ));
        lines.extend(zone_lines(row, agent.addr(), "UDP"));
        for e in extra {
            lines.push(format!("xConfiguration Zones Zone {row} Neighbor {e}"));
        }
    }
    for l in &lines {
        node.ok(l);
    }
    // A port picked as free can be taken by another test before the node binds it: start again
    // on another one, as `sip_node` does.
    let mut port = port;
    for attempt in 0.. {
        node.start();
        if answers_options(port) {
            break;
        }
        assert!(attempt < 4, "the node did not start");
        node.stop();
        port = free_port();
        node.ok(&format!("xConfiguration SIP UDP Port: {port}"));
    }
    let options = |m: &str| m.starts_with("OPTIONS ") && m.contains("branch=z9hG4bKcwmon");
    assert!(
        watched.wait_for(Duration::from_secs(12), options).is_some(),
        "the Default profile monitors"
    );
    // The peers of one round are asked together.
    assert!(quiet
        .wait_for(Duration::from_millis(1500), options)
        .is_none());
    assert!(custom
        .wait_for(Duration::from_millis(10), options)
        .is_none());
    let s = node.ok("xStatus Zones");
    let line = |zone: u32, what: &str| {
        s.lines()
            .find(|l| l.contains(&format!("Zone {zone} {what}:")))
            .unwrap_or_else(|| panic!("no Zone {zone} {what} in {s}"))
            .to_string()
    };
    for z in [1, 2] {
        assert!(line(z, "SIP Status").ends_with(": \"On\""), "{s}");
        assert!(line(z, "Peer 1 Status").ends_with(": On"), "{s}");
    }
    assert!(!line(3, "Peer 1 Status").ends_with(": On"), "{s}");
}

/// Connects to the node over TCP from `ip`.
fn tcp_from(ip: &str, port: u16) -> TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local: SocketAddr = format!("{ip}:0").parse().unwrap();
    let s = rt.block_on(async {
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        s.bind(local).unwrap();
        s.connect(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .unwrap()
            .into_std()
            .unwrap()
    });
    s.set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// Reads one response with an empty body; `None` when the peer closed first.
fn read_one(tcp: &mut TcpStream) -> Option<String> {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        match tcp.read(&mut byte) {
            Ok(1) => got.push(byte[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&got).into_owned())
}

/// A neighbor's RetainConnectionOnParseErrorMode applies to TCP connections from its peers:
/// DropAll (the default) closes after a malformed optional header, RetainSome keeps the
/// connection open.
#[test]
fn a_neighbors_retain_mode_governs_its_connections() {
    let (node, port) = sip_node();
    let t = node.ok("xCommand ZoneAdd ZoneName: \"Tcp\" Type: Neighbor");
    assert!(t.contains("ZoneId: 1"), "{t}");
    for l in zone_lines(1, "127.0.0.67:5060".parse().unwrap(), "TCP") {
        node.ok(&l);
    }
    std::thread::sleep(Duration::from_millis(300));
    let exchange = |tcp: &mut TcpStream, n: u32| -> (Option<String>, Option<String>) {
        let me = tcp.local_addr().unwrap();
        let msg = |method: &str, n: u32, extra: &str| {
            format!(
                "{method} sip:example.com SIP/2.0\r\nVia: SIP/2.0/TCP {me};branch=z9hG4bKret{n}\r\n\
                 Max-Forwards: 70\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\n\
                 Call-ID: ret{n}\r\nCSeq: {n} {method}\r\n{extra}Content-Length: 0\r\n\r\n"
            )
        };
        tcp.write_all(msg("REGISTER", n, "Contact: <sip:a@[bad\r\n").as_bytes())
            .unwrap();
        let bad = read_one(tcp);
        let _ = tcp.write_all(msg("OPTIONS", n + 1, "").as_bytes());
        (bad, read_one(tcp))
    };
    let mut tcp = tcp_from("127.0.0.67", port);
    let (bad, next) = exchange(&mut tcp, 1);
    assert_eq!(status(&bad.unwrap()), 400);
    assert!(next.is_none(), "DropAll keeps the connection: {next:?}");

    set(
        &node,
        1,
        &[("RetainConnectionOnParseErrorMode", "RetainSome")],
    );
    let mut tcp = tcp_from("127.0.0.67", port);
    let (bad, next) = exchange(&mut tcp, 3);
    assert_eq!(status(&bad.unwrap()), 400);
    assert_eq!(status(&next.expect("the connection stays open")), 200);
}

/// A REGISTER proxied to a neighbor carries our Path (with its mark), by host name when the
/// zone's record route address type says so, and none at all with `SIP RFC3327 Enabled: No`.
#[test]
fn registrations_to_a_neighbor_carry_path_as_the_zone_says() {
    let (node, port) = sip_node_for("a.example");
    let z = Agent::on("127.0.0.68", port);
    neighbor(&node, 1, "Registrar", z.addr());
    rule(&node, "Registrar", r".*@example\.com");
    node.ok("xConfiguration SIP Registration Proxy Mode: ProxyToKnownOnly");
    node.ok("xConfiguration IP DNS Hostname: \"cw1\"");
    node.ok("xConfiguration IP DNS Domain Name: \"example.net\"");
    std::thread::sleep(Duration::from_millis(300));
    let endpoint = Agent::on("127.0.0.1", port);
    let register = |id: &str| -> Vec<String> {
        let me = endpoint.addr();
        endpoint.send(&sip(
            "REGISTER sip:example.com SIP/2.0",
            &[
                format!("Via: SIP/2.0/UDP {me};branch=z9hG4bK{id}"),
                "Max-Forwards: 70".into(),
                "From: <sip:alice@example.com>;tag=r".into(),
                "To: <sip:alice@example.com>".into(),
                format!("Call-ID: {id}"),
                "CSeq: 1 REGISTER".into(),
                format!("Contact: <sip:alice@{me}>"),
                "Expires: 60".into(),
            ],
            "",
        ));
        let (got, from) = z.request("REGISTER", id);
        answer(&z, &got, from, 200, &[]);
        assert_eq!(status(&endpoint.final_response(id)), 200);
        headers(&got, "Path")
            .into_iter()
            .map(str::to_string)
            .collect()
    };

    let path = register("zs-path-ip");
    assert_eq!(path.len(), 1, "{path:?}");
    assert!(
        path[0].starts_with("<sip:127.") && path[0].ends_with(";transport=udp;lr;cw-path>"),
        "{path:?}"
    );

    set(
        &node,
        1,
        &[
            ("ZoneProfile", "Custom"),
            ("SIP Record Route Address Type", "Hostname"),
        ],
    );
    let path = register("zs-path-host");
    assert_eq!(
        path,
        [format!(
            "<sip:cw1.example.net:{port};transport=udp;lr;cw-path>"
        )]
    );

    set(&node, 1, &[("SIP RFC3327 Enabled", "No")]);
    assert!(register("zs-path-none").is_empty());
}
