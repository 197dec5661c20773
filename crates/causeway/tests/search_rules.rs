//! Calls routed by the dial plan: search rules in priority groups towards neighbor zones whose
//! peers are hand-written SIP agents, with Stop and Continue, zone transforms and hop counts.

mod common;
use common::{registered, request, sip_node, status, Node, Peer};
use status as status_of;
use std::net::SocketAddr;
use std::time::Duration;

/// A neighbor zone at row `row` whose one peer is `peer`, over UDP.
fn neighbor(node: &Node, row: u32, name: &str, peer: &Peer, hops: u8) {
    let t = node.ok(&format!(
        "xCommand ZoneAdd ZoneName: \"{name}\" Type: Neighbor"
    ));
    assert!(t.contains(&format!("ZoneId: {row}")), "{t}");
    let z = format!("xConfiguration Zones Zone {row}");
    for line in [
        format!("{z} HopCount: {hops}"),
        format!("{z} Neighbor Peer 1 Address: \"127.0.0.1\""),
        format!("{z} Neighbor SIP Port: {}", peer.addr().port()),
        format!("{z} Neighbor SIP Transport: UDP"),
    ] {
        node.ok(&line);
    }
}

/// A search rule at `row` (row 1 is the factory rule for the Local Zone).
fn rule(node: &Node, row: u32, fields: &[(&str, &str)]) {
    let get = |k: &str| {
        fields
            .iter()
            .find(|(f, _)| *f == k)
            .map(|(_, v)| v.to_string())
    };
    let name = get("Name").unwrap_or(format!("rule {row}"));
    let zone = get("Target Name").expect("a target");
    let t = node.ok(&format!(
        "xCommand SearchRuleAdd Name: \"{name}\" ZoneName: \"{zone}\""
    ));
    assert!(t.contains(&format!("SearchRuleId: {row}")), "{t}");
    for (k, v) in fields {
        node.ok(&format!(
            "xConfiguration Zones Policy SearchRules Rule {row} {k}: \"{v}\""
        ));
    }
}

/// The next request a neighbor peer receives, and where it came from.
fn incoming(p: &Peer) -> (String, SocketAddr) {
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, from) = p.sock.recv_from(&mut buf).expect("a request in time");
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        if !text.starts_with("SIP/2.0 ") && !text.starts_with("ACK ") {
            return (text, from);
        }
    }
}

fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .map(str::trim)
}

/// Answers a request as its callee would.
fn answer(p: &Peer, req: &str, from: SocketAddr, code: u16) {
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
    r += &format!(
        "Contact: <sip:callee@{}>\r\nContent-Length: 0\r\n\r\n",
        p.addr()
    );
    p.sock.send_to(r.as_bytes(), from).unwrap();
}

fn request_line(msg: &str) -> &str {
    msg.lines().next().unwrap_or("")
}

/// Notes 05 §5.1: a priority group is asked at once; a Stop rule whose zone does not know the
/// alias does not keep the other rule of its group from finding it; the next priority is never
/// asked. The neighbor gets the zone's hop count as Max-Forwards.
#[test]
fn a_priority_group_is_asked_together_and_the_finder_wins() {
    let (node, port) = sip_node();
    let (z1, z2, z3) = (Peer::new(port), Peer::new(port), Peer::new(port));
    neighbor(&node, 1, "Z1", &z1, 15);
    neighbor(&node, 2, "Z2", &z2, 5);
    neighbor(&node, 3, "Z3", &z3, 15);
    rule(
        &node,
        2,
        &[
            ("Name", "A"),
            ("Priority", "10"),
            ("Progress", "Stop"),
            ("Target Name", "Z1"),
        ],
    );
    rule(
        &node,
        3,
        &[("Name", "B"), ("Priority", "10"), ("Target Name", "Z2")],
    );
    rule(
        &node,
        4,
        &[("Name", "C"), ("Priority", "20"), ("Target Name", "Z3")],
    );
    std::thread::sleep(Duration::from_millis(300));
    let caller = Peer::new(port);
    caller.send(&request(
        "INVITE",
        "sip:carol@partner.example",
        &caller,
        "pg",
        "",
    ));
    let (r1, f1) = incoming(&z1);
    let (r2, f2) = incoming(&z2);
    assert_eq!(
        request_line(&r1),
        "INVITE sip:carol@partner.example SIP/2.0"
    );
    assert_eq!(header(&r2, "Max-Forwards"), Some("5"), "{r2}");
    assert_eq!(header(&r1, "Max-Forwards"), Some("15"), "{r1}");
    answer(&z1, &r1, f1, 404);
    answer(&z2, &r2, f2, 200);
    let r = caller.recv();
    assert_eq!(status(&r), 200, "{r}");
    assert!(z3.silent(), "the next priority was asked");
    // The search history keeps the search with its trace; the event log has its start and end.
    let h = node.ok("xStatus SearchHistory");
    assert!(h.contains("Status: Found"), "{h}");
    assert!(
        h.contains("found by zone Z2 as carol@partner.example"),
        "{h}"
    );
    assert!(h.contains("ask zone Z1 for carol@partner.example"), "{h}");
    assert!(h.contains("Count: 1"), "{h}");
    let log = node.event_log(Some("Search"));
    assert!(log.contains("Event=\"Search Attempted\""), "{log}");
    assert!(
        log.contains("Event=\"Search Completed\"") && log.contains("Found=\"True\""),
        "{log}"
    );
}

/// Notes 05 §5.2: a Stop rule ends the search when its group finds nothing; with Continue the
/// next priority is asked and its answer reaches the caller.
#[test]
fn stop_and_continue() {
    let (node, port) = sip_node();
    let (z1, z3) = (Peer::new(port), Peer::new(port));
    neighbor(&node, 1, "Z1", &z1, 15);
    neighbor(&node, 2, "Z3", &z3, 15);
    rule(
        &node,
        2,
        &[
            ("Priority", "10"),
            ("Progress", "Stop"),
            ("Target Name", "Z1"),
        ],
    );
    rule(&node, 3, &[("Priority", "20"), ("Target Name", "Z3")]);
    std::thread::sleep(Duration::from_millis(300));
    let caller = Peer::new(port);
    caller.send(&request(
        "INVITE",
        "sip:carol@partner.example",
        &caller,
        "stop",
        "",
    ));
    let (r1, f1) = incoming(&z1);
    answer(&z1, &r1, f1, 404);
    assert_eq!(status(&caller.recv()), 404);
    assert!(z3.silent(), "Stop let the search go on");
    let h = node.ok("xStatus SearchHistory");
    assert!(
        h.contains("Status: NotFound") && h.contains("Stopped"),
        "{h}"
    );

    node.ok("xConfiguration Zones Policy SearchRules Rule 2 Progress: Continue");
    std::thread::sleep(Duration::from_millis(300));
    let caller = Peer::new(port);
    caller.send(&request(
        "INVITE",
        "sip:carol@partner.example",
        &caller,
        "cont",
        "",
    ));
    let (r1, f1) = incoming(&z1);
    answer(&z1, &r1, f1, 404);
    let (r3, f3) = incoming(&z3);
    answer(&z3, &r3, f3, 486);
    assert_eq!(status(&caller.recv()), 486);
}

/// Notes 05 §5.4: two rules of one priority, one sending the alias as it is and one with its
/// domain stripped, ask the same zone twice; a busy callee ends the search for both.
#[test]
fn zone_transforms_ask_for_each_form_of_the_alias() {
    let (node, port) = sip_node();
    let z = Peer::new(port);
    neighbor(&node, 1, "Z", &z, 15);
    rule(
        &node,
        2,
        &[
            ("Priority", "10"),
            ("Mode", "AnyAlias"),
            ("Target Name", "Z"),
        ],
    );
    rule(
        &node,
        3,
        &[
            ("Priority", "10"),
            ("Mode", "AliasPatternMatch"),
            ("Pattern Type", "Suffix"),
            ("Pattern String", "@partner.example"),
            ("Pattern Behavior", "Strip"),
            ("Target Name", "Z"),
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    let caller = Peer::new(port);
    caller.send(&request(
        "INVITE",
        "sip:carol@partner.example",
        &caller,
        "zt",
        "",
    ));
    let (a, fa) = incoming(&z);
    let (b, fb) = incoming(&z);
    let mut lines = [request_line(&a).to_string(), request_line(&b).to_string()];
    lines.sort();
    assert_eq!(
        lines,
        [
            "INVITE sip:carol@127.0.0.1 SIP/2.0".to_string(),
            "INVITE sip:carol@partner.example SIP/2.0".to_string()
        ]
    );
    answer(&z, &a, fa, 404);
    answer(&z, &b, fb, 404);
    assert_eq!(status(&caller.recv()), 404);
}

/// Requests between local registrations go through the factory rule; with it deleted, the
/// Local Zone is not searched and the callee is not found.
#[test]
fn local_registrations_are_found_through_the_factory_rule() {
    let (node, port) = sip_node();
    let bob = registered(port, "bob");
    let caller = Peer::new(port);
    caller.send(&request(
        "MESSAGE",
        "sip:bob@example.com",
        &caller,
        "m1",
        "",
    ));
    let (m, from) = incoming(&bob);
    assert!(request_line(&m).starts_with("MESSAGE sip:bob@"), "{m}");
    answer(&bob, &m, from, 200);
    assert_eq!(status(&caller.recv()), 200);

    node.ok("xCommand SearchRuleDelete SearchRuleId: 1");
    std::thread::sleep(Duration::from_millis(300));
    let caller = Peer::new(port);
    caller.send(&request(
        "MESSAGE",
        "sip:bob@example.com",
        &caller,
        "m2",
        "",
    ));
    assert_eq!(status(&caller.recv()), 404);
    assert!(bob.silent());
}

/// Notes 05 §5.8: a request that arrives with Max-Forwards 3 leaves with 2, below the zone's
/// hop count.
#[test]
fn the_lower_of_the_received_and_the_zone_hop_count_is_sent() {
    let (node, port) = sip_node();
    let z = Peer::new(port);
    neighbor(&node, 1, "Z", &z, 5);
    rule(&node, 2, &[("Priority", "10"), ("Target Name", "Z")]);
    std::thread::sleep(Duration::from_millis(300));
    let caller = Peer::new(port);
    caller.send(
        &request("OPTIONS", "sip:carol@partner.example", &caller, "mf", "")
            .replace("Max-Forwards: 70", "Max-Forwards: 3"),
    );
    let (r, f) = incoming(&z);
    assert_eq!(header(&r, "Max-Forwards"), Some("2"), "{r}");
    answer(&z, &r, f, 200);
    assert_eq!(status(&caller.recv()), 200);
}

/// dnsmasq serving `records` on 127.0.0.`last`:53 (a loopback address of the test's own,
/// since the product asks DNS servers on port 53 only); killed when dropped.
struct Dns(std::process::Child);

impl Drop for Dns {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn dnsmasq(last: u8, records: &[String]) -> Dns {
    let bin = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .expect("dnsmasq is installed (scripts/test installs dnsmasq-base)");
    let child = std::process::Command::new(bin)
        .args([
            "--no-daemon",
            "--port=53",
            &format!("--listen-address=127.0.0.{last}"),
            "--bind-interfaces",
            "--no-resolv",
            "--no-hosts",
            "--conf-file=/dev/null",
            "--pid-file=",
            "--local=/partner.example/",
        ])
        .args(records)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("dnsmasq starts");
    // Wait until it answers on its port.
    for _ in 0..100 {
        if std::net::UdpSocket::bind(format!("127.0.0.{last}:53")).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Dns(child)
}

/// URI dialing through a DNS zone: the SRV record of the dialled domain leads to its server;
/// a domain with only an address record is not found while IncludeAddressRecord is Off, but a
/// URI with an explicit port goes to the host's address.
#[test]
fn dns_zones_find_the_domain_s_server() {
    let (node, port) = sip_node();
    let pbx = Peer::new(port);
    let other = Peer::new(port);
    let _dns = dnsmasq(
        77,
        &[
            format!(
                "--srv-host=_sip._udp.partner.example,pbx.partner.example,{},0,5",
                pbx.addr().port()
            ),
            "--host-record=pbx.partner.example,127.0.0.1".into(),
            "--host-record=plain.partner.example,127.0.0.1".into(),
        ],
    );
    node.ok("xConfiguration DNS Server 1 Address: \"127.0.0.77\"");
    let t = node.ok("xCommand ZoneAdd ZoneName: \"Internet\" Type: DNS");
    assert!(t.contains("ZoneId: 1"), "{t}");
    rule(
        &node,
        2,
        &[
            ("Priority", "10"),
            ("Mode", "AliasPatternMatch"),
            ("Pattern Type", "Regex"),
            ("Pattern String", ".*@.*partner\\.example(:[0-9]+)?"),
            ("Pattern Behavior", "Leave"),
            ("Target Name", "Internet"),
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    let caller = Peer::new(port);
    caller.send(&request(
        "INVITE",
        "sip:carol@partner.example",
        &caller,
        "dns1",
        "",
    ));
    let (r, f) = incoming(&pbx);
    assert_eq!(request_line(&r), "INVITE sip:carol@partner.example SIP/2.0");
    answer(&pbx, &r, f, 200);
    assert_eq!(status(&caller.recv()), 200);

    // Only an A record: not found with IncludeAddressRecord Off.
    let caller = Peer::new(port);
    caller.send(&request(
        "OPTIONS",
        "sip:dave@plain.partner.example",
        &caller,
        "dns2",
        "",
    ));
    assert_eq!(status(&caller.recv()), 404);
    let h = node.ok("xStatus SearchHistory");
    assert!(
        h.contains("zone Internet does not know dave@plain.partner.example"),
        "{h}"
    );
    assert!(other.silent());

    let caller = Peer::new(port);
    let uri = format!("sip:dave@plain.partner.example:{}", other.addr().port());
    caller.send(&request("OPTIONS", &uri, &caller, "dns3", ""));
    let (r, f) = incoming(&other);
    assert_eq!(request_line(&r), format!("OPTIONS {uri} SIP/2.0"));
    answer(&other, &r, f, 200);
    assert_eq!(status(&caller.recv()), 200);
}

/// Notes 05 §5.12: an ENUM zone turns a dialled number into the URI its NAPTR record gives,
/// and that URI is searched from the start: here it is a local registration.
#[test]
fn enum_zones_turn_numbers_into_uris() {
    let (node, port) = sip_node();
    let callee = registered(port, "44123456789");
    let _dns = dnsmasq(
        78,
        &[
            "--local=/e164.arpa/".into(),
            "--naptr-record=9.8.7.6.5.4.3.2.1.4.4.e164.arpa,100,10,u,E2U+sip,!^(.*)$!sip:\\1@example.com!".into(),
        ],
    );
    node.ok("xConfiguration DNS Server 1 Address: \"127.0.0.78\"");
    let t = node.ok("xCommand ZoneAdd ZoneName: \"Numbers\" Type: ENUM");
    assert!(t.contains("ZoneId: 1"), "{t}");
    node.ok("xConfiguration Zones Zone 1 ENUM DNSSuffix: \"e164.arpa\"");
    rule(
        &node,
        2,
        &[
            ("Priority", "10"),
            ("Mode", "AliasPatternMatch"),
            ("Pattern Type", "Regex"),
            ("Pattern String", "([0-9]+)@enum\\.example"),
            ("Pattern Behavior", "Replace"),
            ("Pattern Replace", "\\1"),
            ("Target Name", "Numbers"),
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    let caller = Peer::new(port);
    caller.send(&request(
        "MESSAGE",
        "sip:44123456789@enum.example",
        &caller,
        "enum1",
        "",
    ));
    let (m, from) = incoming(&callee);
    assert!(
        request_line(&m).starts_with("MESSAGE sip:44123456789@"),
        "{m}"
    );
    answer(&callee, &m, from, 200);
    assert_eq!(status(&caller.recv()), 200);
    let h = node.ok("xStatus SearchHistory");
    assert!(
        h.contains("zone Numbers answers 44123456789 with sip:44123456789@example.com"),
        "{h}"
    );
}

/// Neighbor monitoring: each peer is asked with OPTIONS; one that answers is Active, one that
/// stays silent turns Failed, and the zone shows how many of its peers are up. Searches then
/// leave the failed peer out.
#[test]
fn neighbor_peers_are_monitored() {
    let (node, port) = sip_node();
    let alive = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let peer_port = alive.local_addr().unwrap().port();
    let silent = std::net::UdpSocket::bind(("127.0.0.2", peer_port)).unwrap();
    alive
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let (seen_tx, seen) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        let until = std::time::Instant::now() + Duration::from_secs(40);
        let mut buf = vec![0u8; 65536];
        while std::time::Instant::now() < until {
            let Ok((n, from)) = alive.recv_from(&mut buf) else {
                continue;
            };
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            if !req.starts_with("OPTIONS ") {
                // Anything else is the test's business: answer it as its callee, and tell.
                if !req.starts_with("ACK ") {
                    let mut r = String::from("SIP/2.0 200 OK\r\n");
                    for l in req.lines() {
                        if ["Via:", "From:", "Call-ID:", "CSeq:"]
                            .iter()
                            .any(|h| l.starts_with(h))
                        {
                            r += l.trim_end();
                            r += "\r\n";
                        }
                        if l.starts_with("To:") {
                            r += &format!("{};tag=t\r\n", l.trim_end());
                        }
                    }
                    r += "Content-Length: 0\r\n\r\n";
                    alive.send_to(r.as_bytes(), from).unwrap();
                }
                if seen_tx.send(req).is_err() {
                    return;
                }
                continue;
            }
            let mut r = String::from("SIP/2.0 200 OK\r\n");
            for l in req.lines() {
                if ["Via:", "From:", "To:", "Call-ID:", "CSeq:"]
                    .iter()
                    .any(|h| l.starts_with(h))
                {
                    r += l.trim_end();
                    r += "\r\n";
                }
            }
            r += "Content-Length: 0\r\n\r\n";
            alive.send_to(r.as_bytes(), from).unwrap();
        }
    });
    node.ok("xCommand ZoneAdd ZoneName: \"Pair\" Type: Neighbor");
    for line in [
        "xConfiguration Zones Zone 1 Neighbor Peer 1 Address: \"127.0.0.1\"".to_string(),
        "xConfiguration Zones Zone 1 Neighbor Peer 2 Address: \"127.0.0.2\"".to_string(),
        format!("xConfiguration Zones Zone 1 Neighbor SIP Port: {peer_port}"),
        "xConfiguration Zones Zone 1 Neighbor SIP Transport: UDP".to_string(),
    ] {
        node.ok(&line);
    }
    // One round of asking, and the next round, which finds the silent peer overdue.
    let mut status = String::new();
    for _ in 0..60 {
        std::thread::sleep(Duration::from_millis(500));
        status = node.ok("xStatus Zones");
        if status.contains("Peer 2 Status: Failed") {
            break;
        }
    }
    assert!(status.contains("Zone 1 Name: \"Pair\""), "{status}");
    assert!(status.contains("Peer 1 Status: Active"), "{status}");
    assert!(status.contains("Peer 2 Status: Failed"), "{status}");
    assert!(
        status.contains("SIP Status: \"Active (1 of 2)\""),
        "{status}"
    );

    rule(&node, 2, &[("Priority", "10"), ("Target Name", "Pair")]);
    std::thread::sleep(Duration::from_millis(300));
    let caller = Peer::new(port);
    caller.send(&request(
        "MESSAGE",
        "sip:carol@partner.example",
        &caller,
        "mon",
        "",
    ));
    assert_eq!(status_of(&caller.recv()), 200);
    let got = seen
        .recv_timeout(Duration::from_secs(5))
        .expect("the live peer got the request");
    assert!(got.starts_with("MESSAGE "), "{got}");
    // The failed peer was not asked: it only ever sees the monitor's OPTIONS.
    silent
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = vec![0u8; 65536];
    while let Ok((n, _)) = silent.recv_from(&mut buf) {
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        assert!(text.starts_with("OPTIONS "), "{text}");
    }
}

/// RFC 3261 §16.3 step 4: a request that comes back to the node unchanged (here through a
/// neighbor zone that is the node itself) is a loop, answered 482 at once rather than
/// forwarded until the hop count runs out.
#[test]
fn a_request_that_comes_back_is_a_loop() {
    let (node, port) = sip_node();
    let t = node.ok("xCommand ZoneAdd ZoneName: \"Myself\" Type: Neighbor");
    assert!(t.contains("ZoneId: 1"), "{t}");
    let z = "xConfiguration Zones Zone 1";
    for line in [
        format!("{z} Neighbor Peer 1 Address: \"127.0.0.1\""),
        format!("{z} Neighbor SIP Port: {port}"),
        format!("{z} Neighbor SIP Transport: UDP"),
    ] {
        node.ok(&line);
    }
    rule(
        &node,
        2,
        &[
            ("Name", "round"),
            ("Priority", "10"),
            ("Mode", "AliasPatternMatch"),
            ("Pattern Type", "Suffix"),
            ("Pattern String", "@loop.example"),
            ("Pattern Behavior", "Leave"),
            ("Target Name", "Myself"),
        ],
    );
    let caller = Peer::new(port);
    caller.send(&request(
        "INVITE",
        "sip:x@loop.example",
        &caller,
        "self-loop",
        "",
    ));
    let resp = caller.recv();
    assert_eq!(status_of(&resp), 482, "{resp}");
    // One trip round: the node's own search history holds the first search and the looped
    // request refused before any search, not a search per hop.
    let history = node.ok("xStatus SearchHistory");
    let searches = history.matches("Destination:").count();
    assert!(searches <= 2, "{searches} searches:\n{history}");
}

/// `xCommand Locate` runs the search a request would, from the zone named, and shows where
/// it ended with each decision: a local registration found without ringing it, a neighbor
/// asked by OPTIONS, a hop count of 0 refused, an unknown source zone refused.
#[test]
fn locate_shows_the_search() {
    let (node, port) = sip_node();
    let alice = registered(port, "alice");
    let out = node.ok(
        "xCommand Locate Alias: \"alice@example.com\" HopCount: 15 Protocol: SIP SourceZone: LocalZone",
    );
    assert!(out.contains("Found: True"), "{out}");
    assert!(out.contains("Trace 1:"), "{out}");
    assert!(
        out.contains("LocalZoneMatch"),
        "the factory rule shows in the trace: {out}"
    );
    assert!(alice.silent(), "locating a registration does not ring it");

    let z = Peer::new(port);
    neighbor(&node, 1, "Partner", &z, 15);
    rule(
        &node,
        2,
        &[
            ("Name", "partner"),
            ("Priority", "60"),
            ("Mode", "AliasPatternMatch"),
            ("Pattern Type", "Suffix"),
            ("Pattern String", "@partner.example"),
            ("Pattern Behavior", "Leave"),
            ("Target Name", "Partner"),
        ],
    );
    // The neighbor answers the search; the command waits for it.
    let asker = std::thread::spawn(move || {
        let (req, from) = incoming(&z);
        assert!(
            request_line(&req).starts_with("OPTIONS sip:bob@partner.example"),
            "{req}"
        );
        answer(&z, &req, from, 200);
        z
    });
    let out = node.ok(
        "xCommand Locate Alias: \"bob@partner.example\" HopCount: 5 Protocol: SIP SourceZone: DefaultZone",
    );
    let _z = asker.join().unwrap();
    assert!(out.contains("Found: True"), "{out}");
    assert!(out.contains("zone Partner"), "{out}");

    let out = node.ok(
        "xCommand Locate Alias: \"alice@example.com\" HopCount: 0 Protocol: SIP SourceZone: LocalZone",
    );
    assert!(out.contains("Found: False"), "{out}");
    assert!(out.contains("hop count"), "{out}");

    let out = node.err(
        "xCommand Locate Alias: \"alice@example.com\" HopCount: 5 Protocol: SIP SourceZone: Nowhere",
    );
    assert!(out.contains("Nowhere"), "{out}");
}

/// Call Loop Detection Mode: a neighbor that starts the call afresh (a new Call-ID, as a
/// back-to-back agent does) but keeps its call tag brings it back from the same zone for the
/// same alias while the first search still runs: that search is a loop and is refused with
/// 482, which the RFC 3261 check alone would not see. With detection off it goes out again.
#[test]
fn a_call_that_comes_back_with_its_tag_is_a_loop() {
    let (node, port) = sip_node();
    // Loop events are level 2.
    node.ok("xConfiguration Log Level: 2");
    let b2b = Peer::new(port);
    neighbor(&node, 1, "Partner", &b2b, 15);
    rule(
        &node,
        2,
        &[
            ("Name", "partner"),
            ("Priority", "10"),
            ("Mode", "AliasPatternMatch"),
            ("Pattern Type", "Suffix"),
            ("Pattern String", "@partner.example"),
            ("Pattern Behavior", "Leave"),
            ("Target Name", "Partner"),
        ],
    );
    // The caller is not the neighbor: it calls from another address.
    let caller = elsewhere(port);
    caller.send(&request(
        "INVITE",
        "sip:x@partner.example",
        &caller,
        "tag-loop",
        "",
    ));
    // The neighbor re-originates whatever it gets, keeping only the call tag.
    let reoriginate = |req: &str, n: u32| {
        let tag = header(req, "X-Cw-Call-Tag").expect("the call tag is carried");
        b2b.send(&format!(
            "INVITE sip:x@partner.example SIP/2.0\n\
             Via: SIP/2.0/UDP {me};branch=z9hG4bKb2b{n}\n\
             Max-Forwards: 70\n\
             From: <sip:b2b@partner.example>;tag=b{n}\n\
             To: <sip:x@partner.example>\n\
             Call-ID: b2b-{n}\n\
             CSeq: 1 INVITE\n\
             X-Cw-Call-Tag: {tag}\n\
             Content-Length: 0\n\n",
            me = b2b.addr()
        ));
    };
    let first = incoming_call(&b2b, "tag-loop");
    reoriginate(&first, 1);
    let second = incoming_call(&b2b, "b2b-1");
    reoriginate(&second, 2);
    // The third search is the second again: refused, not forwarded.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let answer = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "no answer to the looped call"
        );
        let m = b2b.recv();
        if m.starts_with("SIP/2.0 ") && m.contains("Call-ID: b2b-2") {
            break m;
        }
        assert!(!m.contains("Call-ID: b2b-2"), "forwarded: {m}");
    };
    assert_eq!(status_of(&answer), 482, "{answer}");
    let log = node.event_log(Some("Search Loop detected"));
    assert!(log.contains("Level=\"2\""), "{log}");

    node.ok("xConfiguration Call Loop Detection Mode: Off");
    let caller = elsewhere(port);
    caller.send(&request(
        "INVITE",
        "sip:x@partner.example",
        &caller,
        "tag-loop-off",
        "",
    ));
    let first = incoming_call(&b2b, "tag-loop-off");
    reoriginate(&first, 3);
    let second = incoming_call(&b2b, "b2b-3");
    reoriginate(&second, 4);
    incoming_call(&b2b, "b2b-4");
}

/// The next request of the call `call_id` a peer receives (retransmissions of others and
/// responses are skipped).
fn incoming_call(p: &Peer, call_id: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while std::time::Instant::now() < deadline {
        let (req, _) = incoming(p);
        if header(&req, "Call-ID") == Some(call_id) {
            return req;
        }
    }
    panic!("no request of call {call_id}");
}

/// A peer on another loopback address than the neighbor zone's peers.
fn elsewhere(port: u16) -> Peer {
    let sock = std::net::UdpSocket::bind("127.0.0.5:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    Peer {
        sock,
        server: SocketAddr::from(([127, 0, 0, 1], port)),
    }
}

/// A UDP agent on its own loopback address, which nothing here knows.
fn stranger(port: u16, ip: [u8; 4]) -> Peer {
    let sock = std::net::UdpSocket::bind(SocketAddr::from((ip, 0))).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    Peer {
        sock,
        server: SocketAddr::from(([127, 0, 0, 1], port)),
    }
}

/// Notes 05 §5.3 and §5.14: a call to an IP address nobody registered from. Off refuses it;
/// Direct sends it to the address; Indirect searches the rules, where only an AnyIPAddress
/// rule (not AnyAlias) takes it, and that rule takes no ordinary alias.
#[test]
fn calls_to_unknown_ip_addresses() {
    let (node, port) = sip_node();
    let target = stranger(port, [127, 0, 0, 9]);
    let gateway = Peer::new(port);
    neighbor(&node, 1, "Gateway", &gateway, 15);
    let uri = format!("sip:{}", target.addr());
    let caller = Peer::new(port);
    let call = |id: &str, uri: &str| {
        caller.send(&request("INVITE", uri, &caller, id, ""));
    };
    let final_answer = |id: &str| loop {
        let r = caller.recv();
        if r.contains(&format!("Call-ID: {id}")) && status_of(&r) >= 200 {
            return r;
        }
    };

    node.ok("xConfiguration Call Services CallsToUnknownIPAddresses: Off");
    call("ip-off", &uri);
    let r = final_answer("ip-off");
    assert!(status_of(&r) >= 400, "{r}");
    assert!(
        !receives(&target, "ip-off") && !receives(&gateway, "ip-off"),
        "Off sends nothing anywhere"
    );

    node.ok("xConfiguration Call Services CallsToUnknownIPAddresses: Direct");
    call("ip-direct", &uri);
    let (req, _) = incoming(&target);
    assert!(
        request_line(&req).starts_with(&format!("INVITE {uri}")),
        "{req}"
    );

    // Indirect: the factory AnyAlias rule does not take an address...
    node.ok("xConfiguration Call Services CallsToUnknownIPAddresses: Indirect");
    call("ip-indirect-1", &uri);
    let r = final_answer("ip-indirect-1");
    assert_eq!(status_of(&r), 404, "{r}");
    // ...an AnyIPAddress rule does, and it takes nothing else.
    rule(
        &node,
        2,
        &[
            ("Name", "addresses"),
            ("Priority", "10"),
            ("Mode", "AnyIPAddress"),
            ("Target Name", "Gateway"),
        ],
    );
    call("ip-indirect-2", &uri);
    let (req, _) = incoming(&gateway);
    assert!(req.contains("Call-ID: ip-indirect-2"), "{req}");
    call("alias-not-ip", "sip:nobody@example.com");
    let r = final_answer("alias-not-ip");
    assert_eq!(status_of(&r), 404, "{r}");
    assert!(
        !receives(&gateway, "alias-not-ip"),
        "an alias is not an IP address"
    );
}

/// Notes 05 §5.15: a call addressed to the node itself goes to the fallback alias; without
/// one it is refused.
#[test]
fn calls_to_the_node_itself_use_the_fallback_alias() {
    let (node, port) = sip_node();
    let reception = registered(port, "reception");
    let caller = Peer::new(port);
    let own = format!("sip:127.0.0.1:{port}");
    caller.send(&request("INVITE", &own, &caller, "to-node-1", ""));
    let r = loop {
        let r = caller.recv();
        if status_of(&r) >= 200 {
            break r;
        }
    };
    assert_eq!(status_of(&r), 404, "{r}");
    assert!(reception.silent());

    node.ok("xConfiguration Call Services Fallback Alias: \"reception@example.com\"");
    caller.send(&request("INVITE", &own, &caller, "to-node-2", ""));
    let (req, _) = incoming(&reception);
    assert!(req.contains("Call-ID: to-node-2"), "{req}");
}

/// Whether a request of the call `call_id` reaches the peer within a second.
fn receives(p: &Peer, call_id: &str) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    let mut buf = vec![0u8; 65536];
    p.sock
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut seen = false;
    while std::time::Instant::now() < deadline {
        if let Ok((n, _)) = p.sock.recv_from(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]);
            seen |= !text.starts_with("SIP/2.0 ") && header(&text, "Call-ID") == Some(call_id);
        }
    }
    p.sock
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    seen
}

/// A neighbor zone with several peers sends each call to one of them, taking turns (the
/// guide's round-robin for peers that give no load figures); the others stand by for failover.
#[test]
fn calls_take_turns_among_a_zone_s_peers() {
    let (node, port) = sip_node();
    // Both peers listen on one port number, each on its own address.
    let a = stranger(port, [127, 0, 0, 21]);
    let b = stranger_at(port, [127, 0, 0, 22], a.addr().port()).expect("the same port is free");
    let t = node.ok("xCommand ZoneAdd ZoneName: \"Pair\" Type: Neighbor");
    assert!(t.contains("ZoneId: 1"), "{t}");
    let z = "xConfiguration Zones Zone 1";
    for line in [
        format!("{z} Neighbor Peer 1 Address: \"127.0.0.21\""),
        format!("{z} Neighbor Peer 2 Address: \"127.0.0.22\""),
        format!("{z} Neighbor SIP Port: {}", a.addr().port()),
        format!("{z} Neighbor SIP Transport: UDP"),
    ] {
        node.ok(&line);
    }
    rule(
        &node,
        2,
        &[
            ("Name", "pair"),
            ("Priority", "10"),
            ("Mode", "AliasPatternMatch"),
            ("Pattern Type", "Suffix"),
            ("Pattern String", "@pair.example"),
            ("Pattern Behavior", "Leave"),
            ("Target Name", "Pair"),
        ],
    );
    let caller = Peer::new(port);
    caller.send(&request(
        "INVITE",
        "sip:x@pair.example",
        &caller,
        "rr-1",
        "",
    ));
    caller.send(&request(
        "INVITE",
        "sip:y@pair.example",
        &caller,
        "rr-2",
        "",
    ));
    let (at_a, at_b) = (calls_seen(&a), calls_seen(&b));
    assert_eq!(at_a.len(), 1, "{at_a:?} {at_b:?}");
    assert_eq!(at_b.len(), 1, "{at_a:?} {at_b:?}");
    assert_ne!(at_a, at_b, "the peers take turns");
}

/// The Call-IDs of the requests a peer receives within a second and a half.
fn calls_seen(p: &Peer) -> std::collections::BTreeSet<String> {
    let deadline = std::time::Instant::now() + Duration::from_millis(1500);
    let mut buf = vec![0u8; 65536];
    p.sock
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut seen = std::collections::BTreeSet::new();
    while std::time::Instant::now() < deadline {
        if let Ok((n, _)) = p.sock.recv_from(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]);
            if text.starts_with("INVITE ") {
                if let Some(id) = header(&text, "Call-ID") {
                    seen.insert(id.to_string());
                }
            }
        }
    }
    seen
}

/// A UDP agent bound to `ip:port`, if that port is free there.
fn stranger_at(port: u16, ip: [u8; 4], at: u16) -> Option<Peer> {
    let sock = std::net::UdpSocket::bind(SocketAddr::from((ip, at))).ok()?;
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    Some(Peer {
        sock,
        server: SocketAddr::from(([127, 0, 0, 1], port)),
    })
}
