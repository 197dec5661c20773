//! Routed H.323 calls between two independent endpoints (pycrate, `tests/h323/endpoint.py`)
//! registered at causeway: call signalling through the gatekeeper, fast start and H.245 both
//! tunnelled and on separate connections, releases from either side and from an operator.

mod common;
use common::h323::{expect, h323_node, Capture, Endpoint};
use serde_json::{json, Value};

/// Makes the gatekeeper on loopback whose RAS port is `ras` neighbor zone 1 of `node`.
fn neighbor(node: &common::Node, name: &str, ras: u16) {
    node.ok(&format!(
        "xCommand ZoneAdd ZoneName: \"{name}\" Type: Neighbor"
    ));
    node.ok("xConfiguration Zones Zone 1 Neighbor Peer 1 Address: \"127.0.0.1\"");
    node.ok(&format!(
        "xConfiguration Zones Zone 1 Neighbor H323 Port: {ras}"
    ));
}

/// A search rule of `node` that sends aliases matching the regular expression `regex`, left
/// as they are, to `zone`.
fn search_rule(node: &common::Node, name: &str, zone: &str, regex: &str) {
    let t = node.ok(&format!(
        "xCommand SearchRuleAdd Name: \"{name}\" ZoneName: \"{zone}\""
    ));
    let row = t
        .lines()
        .find_map(|l| l.split("SearchRuleId: ").nth(1))
        .unwrap_or_else(|| panic!("no rule id in {t}"))
        .trim()
        .to_string();
    for (k, v) in [
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

/// Registers `alias` and returns the endpoint.
fn registered(ras: u16, bind: &str, alias: &str) -> Endpoint {
    let mut ep = Endpoint::start(ras, bind);
    expect(
        &ep.ras(json!({"op": "rrq", "aliases": [{"h323": alias}]})),
        "registrationConfirm",
    );
    ep
}

/// The call-signalling messages of `call` up to one of type `until` (within a few seconds).
fn until(ep: &mut Endpoint, call: &Value, kind: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    for _ in 0..10 {
        let r = ep.cmd(json!({"op": "cs_recv", "call": call, "timeout": 3}));
        let msg = r["msg"].clone();
        if msg.is_null() {
            break;
        }
        let done = msg["type"] == kind;
        seen.push(msg);
        if done {
            return seen;
        }
    }
    panic!("no {kind} on call {call}: {seen:#?}");
}

/// The H.245 messages one side has received on a call, by name.
fn h245_names(ep: &mut Endpoint, call: &Value) -> Vec<String> {
    let log = ep.cmd(json!({"op": "h245_log", "call": call}));
    log["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap_or("").to_string())
        .collect()
}

fn wait_for(mut check: impl FnMut() -> bool, what: &str) {
    for _ in 0..50 {
        if check() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

/// Dials `dest` from `a`: ARQ, then a Setup to the address the ACF gave.
fn dial(a: &mut Endpoint, dest: &str, h245: &str) -> Value {
    let r = a.cmd(json!({"op": "arq", "dest": [{"h323": dest}]}));
    expect(&r["msg"], "admissionConfirm");
    let call = r["call"].clone();
    a.cmd(json!({"op": "call", "call": call, "dest": [{"h323": dest}], "fast_start": true, "h245": h245}))["call"]
        .clone()
}

#[test]
fn a_call_is_routed_through_the_gatekeeper_with_tunnelled_h245() {
    let (node, ras, cs) = h323_node(&[]);
    let capture = Capture::start(&[ras, cs]);
    let mut a = registered(ras, "127.0.0.1", "alice");
    let mut b = registered(ras, "127.0.0.2", "bob");
    b.cmd(json!({"op": "answer_mode", "mode": "connect", "h245": "tunnel"}));
    let call = dial(&mut a, "bob", "tunnel");
    let msgs = until(&mut a, &call, "connect");
    let connect = msgs.last().unwrap();
    // Fast start came back accepted through the gatekeeper.
    assert!(
        !connect["fast_start"].as_array().unwrap().is_empty(),
        "{connect}"
    );

    // The callee saw a Setup from the gatekeeper, not from the caller.
    let incoming = b.cmd(json!({"op": "calls"}))["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["direction"] == "in")
        .cloned()
        .expect("the callee has the call");
    // It came from a port of the CallSignaling port range.
    let peer = incoming["peer"].as_str().unwrap();
    assert!(peer.starts_with("127.0.0.1:"), "{incoming}");
    let from_port: u16 = peer.rsplit(':').next().unwrap().parse().unwrap();
    assert!((15000..=19999).contains(&from_port), "{incoming}");
    let status = node.ok("xStatus Calls");
    assert!(status.contains("Protocol: H323"), "{status}");
    assert!(status.contains("State: Connected"), "{status}");
    assert!(status.contains("SourceAlias: \"alice\""), "{status}");
    assert!(status.contains("DestinationAlias: \"bob\""), "{status}");

    // Tunnelled H.245 crosses in both directions.
    a.cmd(json!({"op": "h245", "call": call, "send": "tcs"}));
    let b_call = incoming["call"].clone();
    wait_for(
        || {
            h245_names(&mut b, &b_call)
                .iter()
                .any(|n| n.contains("terminalCapabilitySet"))
        },
        "the callee to get the caller's capabilities",
    );
    wait_for(
        || {
            h245_names(&mut a, &call)
                .iter()
                .any(|n| n.contains("terminalCapabilitySetAck"))
        },
        "the caller to get the acknowledgement",
    );

    a.cmd(json!({"op": "release", "call": call, "cause": 16}));
    let rc = until(&mut b, &b_call, "releaseComplete");
    assert_eq!(rc.last().unwrap()["cause"], 16, "{rc:#?}");
    wait_for(
        || node.ok("xStatus Calls").contains("*s Calls Count: 0"),
        "the call to leave the table",
    );
    let log = node.event_log(Some("Call"));
    assert!(log.contains("Call Attempted"), "{log}");
    assert!(log.contains("Call Connected"), "{log}");
    assert!(log.contains("Call Disconnected"), "{log}");

    let problems = capture.problems(&[ras], &[cs]);
    assert!(problems.is_empty(), "tshark: {problems:#?}");
}

#[test]
fn h245_on_separate_connections_goes_through_a_relay() {
    let (_node, ras, cs) = h323_node(&[]);
    let mut a = registered(ras, "127.0.0.1", "carol");
    let mut b = registered(ras, "127.0.0.2", "dave");
    b.cmd(json!({"op": "answer_mode", "mode": "connect", "h245": "separate", "fast_start": false}));
    let call = dial(&mut a, "dave", "separate");
    let msgs = until(&mut a, &call, "connect");
    let offered = msgs
        .iter()
        .find_map(|m| m["uuie"]["value"]["h245Address"]["addr"].as_str())
        .expect("the callee's H.245 address reaches the caller")
        .to_string();
    // The caller is given the gatekeeper's relay, never the callee's own address.
    assert!(offered.starts_with("127.0.0.1:"), "{offered}");
    let port: u16 = offered.rsplit(':').next().unwrap().parse().unwrap();
    assert!((15000..=19999).contains(&port), "{offered}");
    assert_ne!(port, cs);

    a.cmd(json!({"op": "h245", "call": call, "send": "msd"}));
    let b_call = b.cmd(json!({"op": "calls"}))["calls"][0]["call"].clone();
    wait_for(
        || {
            h245_names(&mut b, &b_call)
                .iter()
                .any(|n| n.contains("masterSlaveDetermination"))
        },
        "the callee to get the caller's master/slave determination over the relay",
    );
    wait_for(
        || {
            h245_names(&mut a, &call)
                .iter()
                .any(|n| n.contains("masterSlaveDeterminationAck"))
        },
        "the caller to get the answer over the relay",
    );
    let calls = a.cmd(json!({"op": "calls"}));
    assert_eq!(calls["calls"][0]["h245_mode"], "separate", "{calls}");
    a.cmd(json!({"op": "release", "call": call}));
    until(&mut b, &b_call, "releaseComplete");
}

#[test]
fn unknown_and_busy_destinations_are_released_with_their_cause() {
    let (node, ras, _) = h323_node(&[]);
    let mut a = registered(ras, "127.0.0.1", "erin");
    let mut b = registered(ras, "127.0.0.2", "frank");
    // Nobody holds this alias.
    let call = dial(&mut a, "nobody", "tunnel");
    let rc = until(&mut a, &call, "releaseComplete");
    let rc = rc.last().unwrap();
    assert_eq!(rc["cause"], 1, "{rc}");
    assert_eq!(
        rc["uuie"]["value"]["reason"]["type"], "calledPartyNotRegistered",
        "{rc}"
    );
    let log = node.event_log(Some("Call Rejected"));
    assert!(log.contains("nobody"), "{log}");
    // The search is in the history, with what it tried.
    let history = node.ok("xStatus SearchHistory");
    assert!(history.contains("Destination: \"nobody\""), "{history}");
    assert!(history.contains("Status: NotFound"), "{history}");
    assert!(history.contains("Type: Setup"), "{history}");

    b.cmd(json!({"op": "answer_mode", "mode": "busy"}));
    let call = dial(&mut a, "frank", "tunnel");
    let rc = until(&mut a, &call, "releaseComplete");
    assert_eq!(rc.last().unwrap()["cause"], 17, "{rc:#?}");
    wait_for(
        || node.ok("xStatus Calls").contains("*s Calls Count: 0"),
        "the busy call to leave the table",
    );
}

#[test]
fn an_operator_disconnect_releases_both_sides() {
    let (node, ras, _) = h323_node(&[]);
    let mut a = registered(ras, "127.0.0.1", "gina");
    let mut b = registered(ras, "127.0.0.2", "hank");
    b.cmd(json!({"op": "answer_mode", "mode": "connect"}));
    let call = dial(&mut a, "hank", "tunnel");
    until(&mut a, &call, "connect");
    let status = node.ok("xStatus Calls");
    let number = status
        .lines()
        .find_map(|l| {
            l.strip_prefix("*s Calls Call ")
                .and_then(|r| r.split(' ').next())
        })
        .unwrap_or_else(|| panic!("{status}"))
        .to_string();
    node.ok(&format!("xCommand DisconnectCall Call: {number}"));
    until(&mut a, &call, "releaseComplete");
    let b_call = b.cmd(json!({"op": "calls"}))["calls"][0]["call"].clone();
    until(&mut b, &b_call, "releaseComplete");
    wait_for(
        || node.ok("xStatus Calls").contains("*s Calls Count: 0"),
        "the call to leave the table",
    );
}

/// A call crosses two causeway gatekeepers: the first one's pre-search transform strips a
/// leading 9, its search rule sends the number to a neighbor zone, the neighbor confirms the
/// LRQ, and the Setup goes to it for the transformed number, which it routes to its own
/// registration.
#[test]
fn a_call_follows_the_dial_plan_to_a_neighbor_gatekeeper() {
    let (far, far_ras, _) = h323_node(&[]);
    let mut b = Endpoint::start(far_ras, "127.0.0.2");
    expect(
        &b.ras(json!({"op": "rrq", "aliases": [{"h323": "bob"}, {"e164": "2002"}]})),
        "registrationConfirm",
    );
    b.cmd(json!({"op": "answer_mode", "mode": "connect"}));

    let (near, ras, _) = h323_node(&[
        "xCommand TransformAdd Pattern: \"9(2.*)\" Type: Regex Behavior: Replace Replace: \"\\1\"",
    ]);
    neighbor(&near, "far", far_ras);
    search_rule(&near, "to far", "far", "2.*");
    let mut a = registered(ras, "127.0.0.1", "alice");
    let r = a.cmd(json!({"op": "arq", "dest": [{"e164": "92002"}]}));
    expect(&r["msg"], "admissionConfirm");
    let call = a.cmd(json!({"op": "call", "call": r["call"], "dest": [{"e164": "92002"}]}))["call"]
        .clone();
    until(&mut a, &call, "connect");

    // The far side was asked for the number without the 9, by the near gatekeeper.
    let calls = b.cmd(json!({"op": "calls"}));
    assert_eq!(calls["calls"][0]["direction"], "in", "{calls}");
    let seen = b.cmd(json!({"op": "log"}))["log"].to_string();
    assert!(seen.contains("2002"), "{seen}");
    assert!(
        !seen.contains("92002"),
        "the transform did not apply: {seen}"
    );
    for node in [&near, &far] {
        let status = node.ok("xStatus Calls");
        assert!(status.contains("State: Connected"), "{status}");
    }
    // Locate makes the same search, LRQ included, without a call.
    let found = near.ok("xCommand Locate Alias: \"92002\" HopCount: 15 Protocol: H323");
    assert!(found.contains("Found: True"), "{found}");
    assert!(found.contains("2002 found at 127.0.0.1:"), "{found}");
    let missing = near.ok("xCommand Locate Alias: \"93999\" HopCount: 15 Protocol: H323");
    assert!(missing.contains("Found: False"), "{missing}");
    let history = far.ok("xStatus SearchHistory");
    assert!(
        history.contains("Type: LRQ"),
        "the far side keeps the LRQ searches: {history}"
    );
    a.cmd(json!({"op": "release", "call": call}));
    wait_for(
        || far.ok("xStatus Calls").contains("*s Calls Count: 0"),
        "the far gatekeeper to end the call",
    );
}

/// A DNS zone finds another domain's gatekeeper: by its location service (`_h323ls._udp`,
/// asked with an LRQ) for one domain, by its call signalling service (`_h323cs._tcp`, called
/// directly) for another. dnsmasq serves both.
#[test]
fn a_dns_zone_finds_the_gatekeeper_of_a_domain() {
    let (far, far_ras, far_cs) = h323_node(&[]);
    let mut b = Endpoint::start(far_ras, "127.0.0.2");
    expect(
        &b.ras(json!({"op": "rrq", "aliases": [{"url": "h323:bob@cs.example"}, {"url": "h323:bob@ls.example"}]})),
        "registrationConfirm",
    );
    b.cmd(json!({"op": "answer_mode", "mode": "connect"}));
    let _dns = common::dnsmasq(
        95,
        "example",
        &[
            "--host-record=gk.far.example,127.0.0.1".to_string(),
            format!("--srv-host=_h323cs._tcp.cs.example,gk.far.example,{far_cs},10,5"),
            format!("--srv-host=_h323ls._udp.ls.example,gk.far.example,{far_ras},10,5"),
        ],
    );
    let (near, ras, _) = h323_node(&[
        "xConfiguration DNS Server 1 Address: \"127.0.0.95\"",
        "xCommand ZoneAdd ZoneName: \"Internet\" Type: DNS",
    ]);
    search_rule(&near, "by DNS", "Internet", ".*@.*\\.example");
    let mut a = registered(ras, "127.0.0.1", "alice");
    for domain in ["cs.example", "ls.example"] {
        let dest = json!([{"url": format!("h323:bob@{domain}")}]);
        let r = a.cmd(json!({"op": "arq", "dest": dest}));
        expect(&r["msg"], "admissionConfirm");
        let call = a.cmd(json!({"op": "call", "call": r["call"], "dest": dest}))["call"].clone();
        let msgs = until(&mut a, &call, "connect");
        assert_eq!(msgs.last().unwrap()["type"], "connect", "{domain}");
        a.cmd(json!({"op": "release", "call": call}));
        wait_for(
            || far.ok("xStatus Calls").contains("*s Calls Count: 0"),
            "the far gatekeeper to end the call",
        );
    }
    // Each domain publishes one service only, so each call went the way its record says.
    let far_log = far.event_log(Some("Call Attempted"));
    assert_eq!(far_log.matches("Call Attempted").count(), 2, "{far_log}");
}

/// An LRQ from a neighbor is answered by a search, not from the registrations alone: the far
/// gatekeeper's pre-search transform turns the number it is asked for into one of its
/// registrations, for the LRQ and again for the Setup that follows.
#[test]
fn an_lrq_from_a_neighbor_is_answered_by_a_search() {
    let (far, far_ras, _) = h323_node(&[
        "xCommand TransformAdd Pattern: \"9(2.*)\" Type: Regex Behavior: Replace Replace: \"\\1\"",
    ]);
    let mut b = Endpoint::start(far_ras, "127.0.0.2");
    expect(
        &b.ras(json!({"op": "rrq", "aliases": [{"e164": "2003"}]})),
        "registrationConfirm",
    );
    b.cmd(json!({"op": "answer_mode", "mode": "connect"}));
    let (near, ras, _) = h323_node(&[]);
    neighbor(&near, "far", far_ras);
    search_rule(&near, "to far", "far", "9.*");
    let mut a = registered(ras, "127.0.0.1", "alice");
    let dest = json!([{"e164": "92003"}]);
    let r = a.cmd(json!({"op": "arq", "dest": dest}));
    expect(&r["msg"], "admissionConfirm");
    let call = a.cmd(json!({"op": "call", "call": r["call"], "dest": dest}))["call"].clone();
    until(&mut a, &call, "connect");
    let log = far.event_log(Some("Search Completed"));
    assert!(log.contains("LRQ: 2003 found"), "{log}");
    a.cmd(json!({"op": "release", "call": call}));
}

/// A gateway registers a prefix; a number starting with it reaches the gateway.
#[test]
fn a_gateway_prefix_takes_the_numbers_that_start_with_it() {
    let (node, ras, _) = h323_node(&[]);
    let mut gw = Endpoint::start(ras, "127.0.0.2");
    expect(
        &gw.ras(json!({"op": "rrq", "aliases": [{"h323": "isdn-gw"}], "terminal_type": "gateway", "prefixes": ["55"]})),
        "registrationConfirm",
    );
    gw.cmd(json!({"op": "answer_mode", "mode": "connect"}));
    let status = node.ok("xStatus Registrations");
    assert!(status.contains("Type: \"H323 Gateway\""), "{status}");
    assert!(status.contains("Prefixes Prefix 1: \"55\""), "{status}");
    let mut a = registered(ras, "127.0.0.1", "alice");
    let call = dial(&mut a, "5512345", "tunnel");
    until(&mut a, &call, "connect");
    a.cmd(json!({"op": "release", "call": call}));
}

/// Messages other than the call's set-up travel too: a Facility, Progress, Information and
/// Notify from the callee reach the caller, and a StatusEnquiry from the caller is answered
/// by the callee's Status.
#[test]
fn mid_call_messages_travel_both_ways() {
    let (_node, ras, _) = h323_node(&[]);
    let mut a = registered(ras, "127.0.0.1", "ann");
    let mut b = registered(ras, "127.0.0.2", "ben");
    b.cmd(json!({"op": "answer_mode", "mode": "connect"}));
    let call = dial(&mut a, "ben", "tunnel");
    until(&mut a, &call, "connect");
    let b_call = b.cmd(json!({"op": "calls"}))["calls"][0]["call"].clone();
    for kind in ["facility", "progress", "information", "notify"] {
        b.cmd(json!({"op": "cs_send", "call": b_call, "type": kind, "display": "mid-call"}));
        let got = until(&mut a, &call, kind);
        assert_eq!(
            got.last().unwrap()["display"],
            "mid-call",
            "{kind}: {got:#?}"
        );
    }
    a.cmd(json!({"op": "cs_send", "call": call, "type": "statusInquiry"}));
    let got = until(&mut a, &call, "status");
    assert!(got.last().unwrap()["cause"].is_number(), "{got:#?}");
    a.cmd(json!({"op": "release", "call": call}));
}

/// With `CallTimeToLive` at its minimum, the endpoint that asked admission is polled with IRQs
/// during the call; when it stays silent, the call is released on both sides.
#[test]
fn a_call_whose_endpoint_stops_answering_polls_is_released() {
    let (node, ras, _) = h323_node(&["xConfiguration H323 Gatekeeper CallTimeToLive: 60"]);
    let mut a = registered(ras, "127.0.0.1", "cleo");
    let mut b = registered(ras, "127.0.0.2", "dan");
    a.cmd(json!({"op": "auto", "irr": false}));
    b.cmd(json!({"op": "answer_mode", "mode": "connect"}));
    let call = dial(&mut a, "dan", "tunnel");
    until(&mut a, &call, "connect");
    let irq = a.recv(65.0);
    let v = expect(&irq, "infoRequest");
    assert_ne!(
        v["callReferenceValue"], 0,
        "an in-call poll names the call: {v}"
    );
    // Two unanswered IRQs, 5 s apart, end it.
    let rc = until_within(&mut a, &call, "releaseComplete", 15);
    assert_eq!(rc["type"], "releaseComplete");
    let b_call = b.cmd(json!({"op": "calls"}))["calls"][0]["call"].clone();
    until(&mut b, &b_call, "releaseComplete");
    wait_for(
        || node.ok("xStatus Calls").contains("*s Calls Count: 0"),
        "the call to leave the table",
    );
}

/// The next message of `kind` on `call` within `secs` seconds.
fn until_within(ep: &mut Endpoint, call: &Value, kind: &str, secs: u64) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        let r = ep.cmd(json!({"op": "cs_recv", "call": call, "timeout": 1}));
        if r["msg"]["type"] == kind {
            return r["msg"].clone();
        }
    }
    panic!("no {kind} on call {call} within {secs} s");
}

/// Two gatekeepers whose search rules send an alias to each other: the hop count ends the
/// ping-pong of LRQs, the caller is released, and only a bounded number of searches ran.
#[test]
fn a_search_loop_between_gatekeepers_ends() {
    let (one, one_ras, _) = h323_node(&[]);
    let (two, two_ras, _) = h323_node(&[]);
    neighbor(&one, "two", two_ras);
    neighbor(&two, "one", one_ras);
    search_rule(&one, "to two", "two", "loop.*");
    search_rule(&two, "to one", "one", "loop.*");
    let mut a = registered(one_ras, "127.0.0.1", "alice");
    let call = dial(&mut a, "loopy", "tunnel");
    let rc = until_within(&mut a, &call, "releaseComplete", 20);
    assert_eq!(rc["type"], "releaseComplete");
    std::thread::sleep(std::time::Duration::from_secs(6));
    let searches = |n: &common::Node| n.ok("xStatus SearchHistory").matches("Type: LRQ").count();
    let (s1, s2) = (searches(&one), searches(&two));
    // One LRQ per hop at most: the zones' hop count is 15.
    assert!(s1 + s2 <= 16, "{s1} + {s2} LRQ searches");
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(
        (searches(&one), searches(&two)),
        (s1, s2),
        "the searches went on"
    );
}

/// With call policy given to a policy service, H.323 calls are put to it too: its redirect
/// sends a call for one alias to another registration, and the service hears the search as
/// an H.323 Setup.
#[test]
fn a_call_policy_service_decides_h323_calls() {
    const SEND_TO_DESK: &str = "<cpl xmlns='urn:ietf:params:xml:ns:cpl' \
        xmlns:taa='http://www.tandberg.net/cpl-extensions'><taa:routed>\
        <location clear='yes' url='desk'><proxy/></location>\
        </taa:routed></cpl>";
    let (http, asked) = common::policy_server(SEND_TO_DESK);
    let svc = "xConfiguration Policy AdministratorPolicy Service";
    let lines = [
        format!("{svc} Protocol: HTTP"),
        format!("{svc} Server 1 Address: \"127.0.0.1:{http}\""),
        format!("{svc} Path: \"policy\""),
        "xConfiguration Policy AdministratorPolicy Mode: PolicyService".to_string(),
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (_node, ras, _) = h323_node(&refs);
    let mut a = registered(ras, "127.0.0.1", "eve");
    let mut desk = registered(ras, "127.0.0.2", "desk");
    desk.cmd(json!({"op": "answer_mode", "mode": "connect"}));
    let call = dial(&mut a, "frank", "tunnel");
    until(&mut a, &call, "connect");
    let request = loop {
        let r = asked
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("the service was asked");
        if !r.starts_with("GET /status ") {
            break r;
        }
    };
    assert!(request.starts_with("POST /policy "), "{request}");
    assert!(request.contains("PROTOCOL=H323"), "{request}");
    assert!(request.contains("METHOD=SETUP"), "{request}");
    assert!(request.contains("DESTINATION_ALIAS=frank"), "{request}");
    a.cmd(json!({"op": "release", "call": call}));
}
