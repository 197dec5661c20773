//! Registration proxying between two nodes (RFC 3327 Path), the receiving zone's "accept
//! proxied registrations", and pre-loaded Route sets under `SIP Registration Proxy Mode`.

mod common;
use common::{request, sip_node, sip_node_for, status, Node, Peer};

fn register(p: &Peer, user: &str, id: &str) -> String {
    let me = p.addr();
    p.send(&format!(
        "REGISTER sip:example.com SIP/2.0\n\
         Via: SIP/2.0/UDP {me};branch=z9hG4bK{id}\n\
         Max-Forwards: 70\n\
         From: <sip:{user}@example.com>;tag=r{id}\n\
         To: <sip:{user}@example.com>\n\
         Call-ID: {id}\n\
         CSeq: 1 REGISTER\n\
         Contact: <sip:{user}@{me}>\n\
         Expires: 60\n\
         Content-Length: 0\n\n"
    ));
    p.recv()
}

/// A neighbor zone at row 1 called `name` whose peer is 127.0.0.1:`port` over UDP.
fn neighbor(node: &Node, name: &str, port: u16) {
    let t = node.ok(&format!(
        "xCommand ZoneAdd ZoneName: \"{name}\" Type: Neighbor"
    ));
    assert!(t.contains("ZoneId: 1"), "{t}");
    let z = "xConfiguration Zones Zone 1";
    node.ok(&format!("{z} Neighbor Peer 1 Address: \"127.0.0.1\""));
    node.ok(&format!("{z} Neighbor SIP Port: {port}"));
    node.ok(&format!("{z} Neighbor SIP Transport: UDP"));
}

fn next_invite(p: &Peer) -> Option<String> {
    let mut buf = vec![0u8; 65536];
    p.sock
        .set_read_timeout(Some(std::time::Duration::from_secs(3)))
        .unwrap();
    while let Ok((n, _)) = p.sock.recv_from(&mut buf) {
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        if text.starts_with("INVITE ") {
            return Some(text);
        }
    }
    None
}

/// Node A serves another domain; with registration proxying on it sends a REGISTER for
/// example.com to its neighbor B, which registers it. B's calls to the registrant then come
/// back through A (the Path A added) and reach the endpoint. With the mode Off, A refuses
/// the REGISTER; with B's zone refusing proxied registrations, B does.
#[test]
fn a_registration_is_proxied_and_calls_follow_its_path() {
    let (b, b_port) = sip_node();
    let (a, a_port) = sip_node_for("a.example");
    neighbor(&a, "B", b_port);
    a.ok("xCommand SearchRuleAdd Name: \"to B\" ZoneName: \"B\"");
    for (k, v) in [
        ("Priority", "10"),
        ("Mode", "AliasPatternMatch"),
        ("Pattern Type", "Suffix"),
        ("Pattern String", "@example.com"),
        ("Pattern Behavior", "Leave"),
    ] {
        a.ok(&format!(
            "xConfiguration Zones Policy SearchRules Rule 2 {k}: \"{v}\""
        ));
    }

    let endpoint = Peer::new(a_port);
    let resp = register(&endpoint, "alice", "rp-off");
    assert_eq!(status(&resp), 403, "Off refuses other domains: {resp}");

    a.ok("xConfiguration SIP Registration Proxy Mode: ProxyToKnownOnly");
    let resp = register(&endpoint, "alice", "rp-known");
    assert_eq!(status(&resp), 200, "{resp}");
    let found = b.ok("xCommand FindRegistration Alias: \"alice@example.com\"");
    assert!(found.contains("alice"), "B holds the registration: {found}");

    // A caller at B reaches alice through A.
    let caller = Peer::new(b_port);
    caller.send(&request(
        "INVITE",
        "sip:alice@example.com",
        &caller,
        "rp-call",
        "",
    ));
    let got = next_invite(&endpoint).expect("the call comes through A");
    let vias = got.lines().filter(|l| l.starts_with("Via: ")).count();
    assert_eq!(vias, 3, "caller, B and A: {got}");

    // B stops accepting registrations proxied in from A's zone.
    neighbor(&b, "A", a_port);
    b.ok("xConfiguration Zones Zone 1 Neighbor Registrations: Deny");
    let resp = register(&endpoint, "alice", "rp-denied");
    assert_eq!(status(&resp), 403, "{resp}");
}

/// A dialog-forming request that arrives with its own Route set skips the dial plan: refused
/// when the mode is Off, sent to the route when it is ProxyToAny.
#[test]
fn a_pre_loaded_route_set_follows_the_mode() {
    let (node, port) = sip_node();
    let next = Peer::new(port);
    let caller = Peer::new(port);
    let route = format!("Route: <sip:{};lr>\n", next.addr());
    caller.send(&request(
        "INVITE",
        "sip:nobody@elsewhere.example",
        &caller,
        "pre-off",
        &route,
    ));
    let resp = caller.recv();
    assert_eq!(status(&resp), 403, "{resp}");
    assert!(next_invite(&next).is_none());

    node.ok("xConfiguration SIP Registration Proxy Mode: ProxyToAny");
    caller.send(&request(
        "INVITE",
        "sip:nobody@elsewhere.example",
        &caller,
        "pre-any",
        &route,
    ));
    let got = next_invite(&next).expect("the INVITE follows its route");
    assert!(
        got.starts_with("INVITE sip:nobody@elsewhere.example "),
        "{got}"
    );
}

/// `Neighbor SIP RFC3327 Enabled: No`: for a registrar without Path support, A sends no Path
/// and rewrites the Contact to point at itself; the registrant still sees its own contact in
/// the answer, and calls from the registrar reach it through A.
#[test]
fn without_path_the_contact_is_rewritten() {
    let (b, b_port) = sip_node();
    let (a, a_port) = sip_node_for("a.example");
    neighbor(&a, "B", b_port);
    a.ok("xConfiguration Zones Zone 1 Neighbor SIP RFC3327 Enabled: No");
    a.ok("xCommand SearchRuleAdd Name: \"to B\" ZoneName: \"B\"");
    for (k, v) in [
        ("Priority", "10"),
        ("Mode", "AliasPatternMatch"),
        ("Pattern Type", "Suffix"),
        ("Pattern String", "@example.com"),
        ("Pattern Behavior", "Leave"),
    ] {
        a.ok(&format!(
            "xConfiguration Zones Policy SearchRules Rule 2 {k}: \"{v}\""
        ));
    }
    a.ok("xConfiguration SIP Registration Proxy Mode: ProxyToKnownOnly");
    let endpoint = Peer::new(a_port);
    let resp = register(&endpoint, "carol", "rp-nopath");
    assert_eq!(status(&resp), 200, "{resp}");
    assert!(
        resp.contains(&format!("<sip:carol@{}>", endpoint.addr())),
        "the registrant sees its own contact: {resp}"
    );
    let regs = b.ok("xStatus Registrations");
    assert!(
        regs.contains("cw-contact="),
        "B holds the rewritten contact: {regs}"
    );
    assert!(!regs.contains(&endpoint.addr().to_string()), "{regs}");

    let caller = Peer::new(b_port);
    caller.send(&request(
        "INVITE",
        "sip:carol@example.com",
        &caller,
        "rp-nopath-call",
        "",
    ));
    let got = next_invite(&endpoint).expect("the call comes through A");
    assert!(
        got.starts_with(&format!("INVITE sip:carol@{} ", endpoint.addr())),
        "A sends it to the real contact: {got}"
    );
}
