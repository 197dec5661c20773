//! Call policy on real calls: web rules in order, an uploaded script whose reject reaches the
//! caller, a refused upload that keeps the old policy, and an unreachable policy service whose
//! Default CPL decides.

mod common;
use common::{policy_server, registered, sip_node, status, Node, Peer};

/// Sends an INVITE from `from@example.com` to `to` and returns the first answer that is not
/// 100 Trying.
fn call(caller: &Peer, from: &str, to: &str, id: &str) -> String {
    let me = caller.addr();
    caller.send(&format!(
        "INVITE sip:{to} SIP/2.0\n\
         Via: SIP/2.0/UDP {me};branch=z9hG4bK{id}\n\
         Max-Forwards: 70\n\
         From: <sip:{from}@example.com>;tag=f{id}\n\
         To: <sip:{to}>\n\
         Call-ID: {id}\n\
         CSeq: 1 INVITE\n\
         Contact: <sip:{from}@{me}>\n\
         Content-Length: 0\n\n"
    ));
    caller.recv()
}

fn reason(resp: &str) -> &str {
    resp.lines()
        .next()
        .unwrap_or("")
        .splitn(3, ' ')
        .nth(2)
        .unwrap_or("")
        .trim()
}

/// The callee got the INVITE (and answers it 486, so that the call ends).
fn rings(callee: &Peer) -> bool {
    let mut buf = vec![0u8; 65536];
    callee
        .sock
        .set_read_timeout(Some(std::time::Duration::from_secs(3)))
        .unwrap();
    matches!(callee.sock.recv_from(&mut buf), Ok((n, _)) if buf[..n].starts_with(b"INVITE "))
}

fn set(node: &Node, lines: &[String]) {
    for l in lines {
        node.ok(l);
    }
}

/// Notes 05 §5.10: rules are tried from the top, the first match decides, and a call that
/// matches none is allowed.
#[test]
fn web_rules_decide_in_order() {
    let (node, port) = sip_node();
    let vip = registered(port, "vip");
    let r = "xConfiguration Policy AdministratorPolicy Rules Rule";
    set(
        &node,
        &[
            "xConfiguration Policy AdministratorPolicy Mode: LocalCPL".to_string(),
            format!("{r} 1 DestinationPattern: \"vip@example.com\""),
            format!("{r} 1 SourcePattern: \"boss@example.com\""),
            format!("{r} 1 Action: Allow"),
            format!("{r} 2 DestinationPattern: \"vip@.*\""),
            format!("{r} 2 Action: Reject"),
        ],
    );
    let caller = Peer::new(port);
    let resp = call(&caller, "intern", "vip@example.com", "cp-intern");
    assert_eq!(status(&resp), 403, "{resp}");
    assert!(!rings(&vip), "a rejected call reached the callee");

    let caller = Peer::new(port);
    call_reaches(&caller, "boss", "vip", &vip, "cp-boss");

    // A destination no rule names is allowed.
    let other = registered(port, "other");
    let caller = Peer::new(port);
    call_reaches(&caller, "intern", "other", &other, "cp-other");

    // Without policy the intern gets through too: the rules were what stopped it.
    node.ok("xConfiguration Policy AdministratorPolicy Mode: Off");
    let caller = Peer::new(port);
    call_reaches(&caller, "intern", "vip", &vip, "cp-off");
}

/// Places a call from `from@example.com` to `user@example.com` (registered at `callee`) and
/// checks it rings there.
fn call_reaches(caller: &Peer, from: &str, user: &str, callee: &Peer, id: &str) {
    let me = caller.addr();
    caller.send(&format!(
        "INVITE sip:{user}@example.com SIP/2.0\n\
         Via: SIP/2.0/UDP {me};branch=z9hG4bK{id}\n\
         Max-Forwards: 70\n\
         From: <sip:{from}@example.com>;tag=f{id}\n\
         To: <sip:{user}@example.com>\n\
         Call-ID: {id}\n\
         CSeq: 1 INVITE\n\
         Contact: <sip:{from}@{me}>\n\
         Content-Length: 0\n\n"
    ));
    assert!(rings(callee), "{from} → {user} did not ring");
}

const SCRIPT: &str = "<cpl xmlns='urn:ietf:params:xml:ns:cpl' \
    xmlns:taa='http://www.tandberg.net/cpl-extensions'><taa:routed>\
    <address-switch field='destination'><address regex='blocked@.*'>\
    <reject status='488' reason='Not here'/></address></address-switch>\
    </taa:routed></cpl>";

/// Notes 05 §5.10: an uploaded script runs instead of the rules and its status and reason
/// reach the caller; a script with an element outside the supported subset is refused, naming
/// the element, and the old script stays in force.
#[test]
fn an_uploaded_script_decides_and_a_bad_one_is_refused() {
    let (node, port) = sip_node();
    let blocked = registered(port, "blocked");
    let file = "xConfiguration Policy AdministratorPolicy LocalCPL File";
    node.ok("xConfiguration Policy AdministratorPolicy Mode: LocalCPL");
    node.ok(&format!("{file}: \"{SCRIPT}\""));

    let caller = Peer::new(port);
    let resp = call(&caller, "alice", "blocked@example.com", "cpl-1");
    assert_eq!(status(&resp), 488, "{resp}");
    assert_eq!(reason(&resp), "Not here");
    assert!(!rings(&blocked));
    // Changing the policy is announced.
    let log = node.event_log(Some("Policy Change"));
    assert!(log.contains("call policy now LocalCPL"), "{log}");

    let bad = "<cpl xmlns='urn:ietf:params:xml:ns:cpl'><taa:routed \
        xmlns:taa='http://www.tandberg.net/cpl-extensions'><time-switch/></taa:routed></cpl>";
    let text = node.err(&format!("{file}: \"{bad}\""));
    assert!(
        text.contains("Policy AdministratorPolicy LocalCPL File"),
        "{text}"
    );
    assert!(text.contains("time-switch"), "{text}");
    assert_eq!(
        node.value("Policy AdministratorPolicy LocalCPL File"),
        format!("\"{SCRIPT}\""),
        "the refused script replaced the old one"
    );
    let caller = Peer::new(port);
    let resp = call(&caller, "alice", "blocked@example.com", "cpl-2");
    assert_eq!(status(&resp), 488, "{resp}");

    // Removing the script lets the call through.
    node.ok(&format!("{file}: \"\""));
    let caller = Peer::new(port);
    call_reaches(&caller, "alice", "blocked", &blocked, "cpl-3");
}

/// Notes 05 §5.11: with the policy service unreachable, its Default CPL decides: the factory
/// one refuses with 403 "Service Unavailable", and an edited one is used as soon as it is
/// stored.
#[test]
fn an_unreachable_policy_service_runs_the_default_cpl() {
    let (node, port) = sip_node();
    let _bob = registered(port, "bob");
    let closed = common::free_port();
    let svc = "xConfiguration Policy AdministratorPolicy Service";
    set(
        &node,
        &[
            format!("{svc} Protocol: HTTP"),
            format!("{svc} Server 1 Address: \"127.0.0.1:{closed}\""),
            format!("{svc} Path: \"policy\""),
            "xConfiguration Policy AdministratorPolicy Mode: PolicyService".to_string(),
        ],
    );
    let caller = Peer::new(port);
    let resp = call(&caller, "alice", "bob@example.com", "svc-1");
    assert_eq!(status(&resp), 403, "{resp}");
    assert_eq!(reason(&resp), "Service Unavailable");
    let shown = node.ok("xStatus Policy");
    assert!(shown.contains("Status: Failed"), "{shown}");

    node.ok(&format!(
        "{svc} DefaultCPL: \"<reject status='503' reason='Policy offline'/>\""
    ));
    let caller = Peer::new(port);
    let resp = call(&caller, "alice", "bob@example.com", "svc-2");
    assert_eq!(status(&resp), 503, "{resp}");
    assert_eq!(reason(&resp), "Policy offline");
}

/// The next request that asks for a decision (status polls are skipped).
fn decision_request(asked: &std::sync::mpsc::Receiver<String>) -> String {
    loop {
        let r = asked
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("the service was asked");
        if !r.starts_with("GET /status ") {
            return r;
        }
    }
}

const SEND_TO_DESK: &str = "<cpl xmlns='urn:ietf:params:xml:ns:cpl' \
    xmlns:taa='http://www.tandberg.net/cpl-extensions'><taa:routed>\
    <location clear='yes' url='desk@example.com'><proxy/></location>\
    </taa:routed></cpl>";

/// Notes 05 §5.11: the call policy service is asked about every call, with the guide's
/// parameters, and its script decides: here it sends the call elsewhere.
#[test]
fn the_call_policy_service_redirects_a_call() {
    let (node, port) = sip_node();
    let desk = registered(port, "desk");
    let (http, asked) = policy_server(SEND_TO_DESK);
    let svc = "xConfiguration Policy AdministratorPolicy Service";
    set(
        &node,
        &[
            format!("{svc} Protocol: HTTP"),
            format!("{svc} Server 1 Address: \"127.0.0.1:{http}\""),
            format!("{svc} Path: \"decide\""),
            "xConfiguration Policy AdministratorPolicy Mode: PolicyService".to_string(),
        ],
    );
    let caller = Peer::new(port);
    call_reaches(&caller, "alice", "reception", &desk, "svc-redirect");
    let request = decision_request(&asked);
    assert!(request.starts_with("POST /decide "), "{request}");
    for param in [
        "DESTINATION_ALIAS=sip%3Areception%40example.com",
        "AUTHENTICATED=FALSE",
        "UNAUTHENTICATED_SOURCE_ALIAS=sip%3Aalice%40example.com",
    ] {
        assert!(request.contains(param), "{param} missing: {request}");
    }
    // The status shows the service, the server it asks and when it was last used.
    let status = node.ok("xStatus Policy");
    assert!(
        status.contains("Service 1 Name: \"Call Policy\""),
        "{status}"
    );
    assert!(
        status.contains(&format!("URL: \"http://127.0.0.1:{http}/decide\"")),
        "{status}"
    );
    assert!(!status.contains("LastUsed: \"\""), "{status}");
}

const SEND_TO_BOB: &str = "<cpl xmlns='urn:ietf:params:xml:ns:cpl' \
    xmlns:taa='http://www.tandberg.net/cpl-extensions'><taa:routed>\
    <location clear='yes' url='bob@example.com'><proxy/></location>\
    </taa:routed></cpl>";

/// Notes 05 SE10: a search rule can hand an alias to a policy service; the alias it answers
/// with is searched from the start. With the service gone, its Default CPL (504) reaches the
/// caller.
#[test]
fn a_search_rule_asks_a_policy_service() {
    let (node, port) = sip_node();
    let bob = registered(port, "bob");
    let (http, asked) = policy_server(SEND_TO_BOB);
    let s = "xConfiguration Policy Services Service 1";
    set(
        &node,
        &[
            format!("{s} Name: \"Router\""),
            format!("{s} Protocol: HTTP"),
            format!("{s} Server 1 Address: \"127.0.0.1:{http}\""),
            format!("{s} Path: \"route\""),
        ],
    );
    node.ok("xCommand SearchRuleAdd Name: \"meetings\" ZoneName: \"LocalZone\"");
    let r = "xConfiguration Zones Policy SearchRules Rule 2";
    set(
        &node,
        &[
            format!("{r} Priority: 10"),
            format!("{r} Mode: AliasPatternMatch"),
            format!("{r} Pattern Type: Suffix"),
            format!("{r} Pattern String: \"@meet.example\""),
            format!("{r} Pattern Behavior: Leave"),
            format!("{r} Target Type: PolicyService"),
            format!("{r} Target Name: \"Router\""),
        ],
    );
    let caller = Peer::new(port);
    let me = caller.addr();
    caller.send(&format!(
        "INVITE sip:room1@meet.example SIP/2.0\n\
         Via: SIP/2.0/UDP {me};branch=z9hG4bKrule-svc\n\
         Max-Forwards: 70\n\
         From: <sip:alice@example.com>;tag=frule\n\
         To: <sip:room1@meet.example>\n\
         Call-ID: rule-svc\n\
         CSeq: 1 INVITE\n\
         Contact: <sip:alice@{me}>\n\
         Content-Length: 0\n\n"
    ));
    assert!(rings(&bob), "the service's answer was searched");
    let request = decision_request(&asked);
    assert!(request.starts_with("POST /route "), "{request}");
    assert!(
        request.contains("DESTINATION_ALIAS=sip%3Aroom1%40meet.example"),
        "{request}"
    );

    // The service goes away: nobody listens at its address any more.
    let closed = common::free_port();
    node.ok(&format!("{s} Server 1 Address: \"127.0.0.1:{closed}\""));
    let caller = Peer::new(port);
    let resp = call(&caller, "alice", "room2@meet.example", "rule-svc-down");
    assert_eq!(status(&resp), 504, "{resp}");
    assert_eq!(reason(&resp), "Policy Service Unavailable");
}

const NO_MALLORY: &str = "<cpl xmlns='urn:ietf:params:xml:ns:cpl' \
    xmlns:taa='http://www.tandberg.net/cpl-extensions'><taa:routed>\
    <address-switch field='destination'><address regex='mallory@.*'>\
    <reject status='403' reason='Not allowed here'/></address></address-switch>\
    </taa:routed></cpl>";

/// Notes 03 §2.18: with the restriction policy set to a policy service, every registration
/// is put to the service, and its script's reject refuses it; the others register. With the
/// service gone, its Default CPL (504) refuses everyone.
#[test]
fn the_registration_policy_service_decides_who_registers() {
    let (node, port) = sip_node();
    let (http, asked) = policy_server(NO_MALLORY);
    let svc = "xConfiguration Registration RestrictionPolicy Service";
    set(
        &node,
        &[
            format!("{svc} Protocol: HTTP"),
            format!("{svc} Server 1 Address: \"127.0.0.1:{http}\""),
            format!("{svc} Path: \"register\""),
            "xConfiguration Registration RestrictionPolicy Mode: PolicyService".to_string(),
        ],
    );
    let register = |user: &str, id: &str| {
        let p = Peer::new(port);
        let me = p.addr();
        p.send(&format!(
            "REGISTER sip:example.com SIP/2.0\n\
             Via: SIP/2.0/UDP {me};branch=z9hG4bK{id}\n\
             Max-Forwards: 70\n\
             From: <sip:{user}@example.com>;tag=r\n\
             To: <sip:{user}@example.com>\n\
             Call-ID: {id}\n\
             CSeq: 1 REGISTER\n\
             Contact: <sip:{user}@{me}>\n\
             Expires: 60\n\
             Content-Length: 0\n\n"
        ));
        p.recv()
    };
    let resp = register("mallory", "reg-mallory");
    assert_eq!(status(&resp), 403, "{resp}");
    assert_eq!(reason(&resp), "Not allowed here");
    let request = decision_request(&asked);
    assert!(request.starts_with("POST /register "), "{request}");
    assert!(
        request.contains("ALIAS=sip%3Amallory%40example.com"),
        "{request}"
    );

    let resp = register("alice", "reg-alice");
    assert_eq!(status(&resp), 200, "{resp}");
    let found = node.ok("xCommand FindRegistration Alias: \"alice@example.com\"");
    assert!(found.contains("alice"), "{found}");

    let closed = common::free_port();
    node.ok(&format!("{svc} Server 1 Address: \"127.0.0.1:{closed}\""));
    let resp = register("bob", "reg-bob");
    assert_eq!(status(&resp), 504, "{resp}");
}

/// A script whose `proxy` has a `failure` branch: when the callee is nowhere to be found the
/// call goes where the branch says (voicemail here).
#[test]
fn a_script_s_failure_branch_catches_a_call_nobody_takes() {
    let (node, port) = sip_node();
    let voicemail = registered(port, "voicemail");
    let script = "<cpl xmlns='urn:ietf:params:xml:ns:cpl' \
        xmlns:taa='http://www.tandberg.net/cpl-extensions'><taa:routed>\
        <address-switch field='destination'><address is='bob@example.com'>\
        <proxy><failure><location clear='yes' url='voicemail@example.com'><proxy/></location>\
        </failure></proxy></address></address-switch></taa:routed></cpl>";
    node.ok("xConfiguration Policy AdministratorPolicy Mode: LocalCPL");
    node.ok(&format!(
        "xConfiguration Policy AdministratorPolicy LocalCPL File: \"{script}\""
    ));
    let caller = Peer::new(port);
    call_reaches(&caller, "alice", "bob", &voicemail, "cpl-failure");
}

/// Bob answers the call with `status` (and `extra` header lines); the script's branch for
/// that outcome sends it to voicemail, and the caller never sees bob's answer.
fn branch_catches(branch: &str, status_line: &str, extra: &str, id: &str) {
    let (node, port) = sip_node();
    let bob = registered(port, "bob");
    let voicemail = registered(port, "voicemail");
    let script = format!(
        "<cpl xmlns='urn:ietf:params:xml:ns:cpl' \
         xmlns:taa='http://www.tandberg.net/cpl-extensions'><taa:routed>\
         <address-switch field='destination'><address is='bob@example.com'>\
         <proxy><{branch}>{inner}</{branch}></proxy></address></address-switch>\
         </taa:routed></cpl>",
        inner = if branch == "redirection" {
            "<proxy/>".to_string()
        } else {
            "<location clear='yes' url='voicemail@example.com'><proxy/></location>".to_string()
        }
    );
    node.ok("xConfiguration Policy AdministratorPolicy Mode: LocalCPL");
    node.ok(&format!(
        "xConfiguration Policy AdministratorPolicy LocalCPL File: \"{script}\""
    ));
    let caller = Peer::new(port);
    let me = caller.addr();
    caller.send(&format!(
        "INVITE sip:bob@example.com SIP/2.0\n\
         Via: SIP/2.0/UDP {me};branch=z9hG4bK{id}\n\
         Max-Forwards: 70\n\
         From: <sip:alice@example.com>;tag=f{id}\n\
         To: <sip:bob@example.com>\n\
         Call-ID: {id}\n\
         CSeq: 1 INVITE\n\
         Contact: <sip:alice@{me}>\n\
         Content-Length: 0\n\n"
    ));
    let mut buf = vec![0u8; 65536];
    let (n, from) = bob.sock.recv_from(&mut buf).expect("bob is called");
    let invite = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(invite.starts_with("INVITE "), "{invite}");
    let mut answer = format!("SIP/2.0 {status_line}\r\n");
    for l in invite.lines() {
        if ["Via: ", "From: ", "Call-ID: ", "CSeq: "]
            .iter()
            .any(|h| l.starts_with(h))
        {
            answer += l.trim_end();
            answer += "\r\n";
        }
        if l.starts_with("To: ") {
            answer += &format!("{};tag=bob\r\n", l.trim_end());
        }
    }
    answer += extra;
    answer += "Content-Length: 0\r\n\r\n";
    bob.sock.send_to(answer.as_bytes(), from).unwrap();
    assert!(
        rings(&voicemail),
        "the {branch} branch sends the call to voicemail"
    );
    // The caller has seen nothing final yet.
    caller
        .sock
        .set_read_timeout(Some(std::time::Duration::from_millis(500)))
        .unwrap();
    let code = &status_line[..3];
    while let Ok((n, _)) = caller.sock.recv_from(&mut buf) {
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(
            !text.starts_with(&format!("SIP/2.0 {code}")),
            "bob's answer reached the caller"
        );
    }
}

/// A script's `busy` branch: a callee that answers 486 does not end the call.
#[test]
fn a_script_s_busy_branch_catches_a_busy_callee() {
    branch_catches("busy", "486 Busy Here", "", "cpl-busy");
}

/// A script's `redirection` branch: the contacts of a callee's 302 are where the call goes.
#[test]
fn a_script_s_redirection_branch_follows_a_redirect() {
    branch_catches(
        "redirection",
        "302 Moved Temporarily",
        "Contact: <sip:voicemail@example.com>\r\n",
        "cpl-redirect",
    );
}

/// `source-url-for-message`: the script presents the caller as someone else; the callee sees
/// the new identity in From (the tag kept, so the dialog is still the caller's).
#[test]
fn a_script_can_present_the_caller_as_someone_else() {
    let (node, port) = sip_node();
    let bob = registered(port, "bob");
    let script = "<cpl xmlns='urn:ietf:params:xml:ns:cpl' \
        xmlns:taa='http://www.tandberg.net/cpl-extensions'><taa:routed>\
        <taa:location source-url-for-message='reception@example.com'><proxy/></taa:location>\
        </taa:routed></cpl>";
    node.ok("xConfiguration Policy AdministratorPolicy Mode: LocalCPL");
    node.ok(&format!(
        "xConfiguration Policy AdministratorPolicy LocalCPL File: \"{script}\""
    ));
    let caller = Peer::new(port);
    let me = caller.addr();
    caller.send(&format!(
        "INVITE sip:bob@example.com SIP/2.0\n\
         Via: SIP/2.0/UDP {me};branch=z9hG4bKsrc1\n\
         Max-Forwards: 70\n\
         From: \"Alice\" <sip:alice@example.com>;tag=falice\n\
         To: <sip:bob@example.com>\n\
         Call-ID: cpl-source\n\
         CSeq: 1 INVITE\n\
         Contact: <sip:alice@{me}>\n\
         Content-Length: 0\n\n"
    ));
    let mut buf = vec![0u8; 65536];
    let (n, _) = bob.sock.recv_from(&mut buf).expect("bob is called");
    let invite = String::from_utf8_lossy(&buf[..n]).to_string();
    let from = invite
        .lines()
        .find(|l| l.starts_with("From: "))
        .unwrap_or("")
        .to_string();
    assert!(from.contains("<sip:reception@example.com>"), "{from}");
    assert!(from.contains("tag=falice"), "{from}");
}

/// A `proxy` node's `timeout` and its `noanswer` branch: a callee that only rings is
/// cancelled when the timeout passes, and the call goes where the branch says.
#[test]
fn a_script_s_timeout_sends_an_unanswered_call_on() {
    let (node, port) = sip_node();
    let bob = registered(port, "bob");
    let voicemail = registered(port, "voicemail");
    let script = "<cpl xmlns='urn:ietf:params:xml:ns:cpl' \
        xmlns:taa='http://www.tandberg.net/cpl-extensions'><taa:routed>\
        <address-switch field='destination'><address is='bob@example.com'>\
        <proxy timeout='2'><noanswer><location clear='yes' url='voicemail@example.com'>\
        <proxy/></location></noanswer></proxy></address></address-switch></taa:routed></cpl>";
    node.ok("xConfiguration Policy AdministratorPolicy Mode: LocalCPL");
    node.ok(&format!(
        "xConfiguration Policy AdministratorPolicy LocalCPL File: \"{script}\""
    ));
    let caller = Peer::new(port);
    let me = caller.addr();
    caller.send(&format!(
        "INVITE sip:bob@example.com SIP/2.0\n\
         Via: SIP/2.0/UDP {me};branch=z9hG4bKring1\n\
         Max-Forwards: 70\n\
         From: <sip:alice@example.com>;tag=fring\n\
         To: <sip:bob@example.com>\n\
         Call-ID: cpl-timeout\n\
         CSeq: 1 INVITE\n\
         Contact: <sip:alice@{me}>\n\
         Content-Length: 0\n\n"
    ));
    // Bob rings and never answers; when cancelled he says so.
    let reply = |req: &str, line: &str| {
        let mut r = format!("SIP/2.0 {line}\r\n");
        for l in req.lines() {
            if ["Via: ", "From: ", "Call-ID: ", "CSeq: "]
                .iter()
                .any(|h| l.starts_with(h))
            {
                r += l.trim_end();
                r += "\r\n";
            }
            if l.starts_with("To: ") {
                r += &format!("{};tag=bob\r\n", l.trim_end());
            }
        }
        r + "Content-Length: 0\r\n\r\n"
    };
    let mut buf = vec![0u8; 65536];
    let (n, from) = bob.sock.recv_from(&mut buf).expect("bob is called");
    let invite = String::from_utf8_lossy(&buf[..n]).to_string();
    bob.sock
        .send_to(reply(&invite, "180 Ringing").as_bytes(), from)
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        let (n, from) = bob
            .sock
            .recv_from(&mut buf)
            .expect("a CANCEL after the timeout");
        let msg = String::from_utf8_lossy(&buf[..n]).to_string();
        if msg.starts_with("CANCEL ") {
            bob.sock
                .send_to(reply(&msg, "200 OK").as_bytes(), from)
                .unwrap();
            bob.sock
                .send_to(reply(&invite, "487 Request Terminated").as_bytes(), from)
                .unwrap();
            break;
        }
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "cancelled by the script's timeout, not Timer C"
    );
    let rang = rings(&voicemail);
    assert!(
        rang,
        "the noanswer branch sends the call to voicemail: {}",
        node.ok("xStatus SearchHistory")
    );
}
