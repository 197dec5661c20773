//! Subzones on the wire: membership rules place registrants, a subzone that refuses
//! registrations answers 403, a subzone's authentication policy challenges, and search rules
//! can name a subzone as the source.

mod common;
use common::{sip_node, status, Node, Peer};

/// A REGISTER in a transaction of its own (a repeated branch would get the cached answer).
fn register(p: &Peer, user: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let me = p.addr();
    p.send(&format!(
        "REGISTER sip:example.com SIP/2.0\n\
         Via: SIP/2.0/UDP {me};branch=z9hG4bKsz{user}{n}x{}\n\
         Max-Forwards: 70\n\
         From: <sip:{user}@example.com>;tag=r\n\
         To: <sip:{user}@example.com>\n\
         Call-ID: sz-{user}-{n}-{}\n\
         CSeq: 1 REGISTER\n\
         Contact: <sip:{user}@{me}>\n\
         Expires: 60\n\
         Content-Length: 0\n\n",
        me.port(),
        me.port()
    ));
    p.recv()
}

/// Subzone `Lab` (row 1) with a membership rule for `subnet` and the given settings.
fn lab(node: &Node, subnet: &str, prefix: u8, settings: &[&str]) {
    let z = "xConfiguration Zones LocalZone SubZones SubZone 1";
    let r = "xConfiguration Zones LocalZone SubZones MembershipRules Rule 1";
    node.ok(&format!("{z} Name: \"Lab\""));
    for s in settings {
        node.ok(&format!("{z} {s}"));
    }
    for line in [
        format!("{r} Name: \"lab hosts\""),
        format!("{r} Type: Subnet"),
        format!("{r} Subnet Address: \"{subnet}\""),
        format!("{r} Subnet PrefixLength: {prefix}"),
        format!("{r} SubZoneName: \"Lab\""),
        format!("{r} State: Enabled"),
    ] {
        node.ok(&line);
    }
}

/// A registrant inside a subzone that refuses registrations gets 403; once the rule no longer
/// covers its address it lands in the Default Subzone and registers.
#[test]
fn a_subzone_that_refuses_registrations() {
    let (node, port) = sip_node();
    lab(&node, "127.0.0.0", 8, &["Registrations: Deny"]);
    let p = Peer::new(port);
    let resp = register(&p, "alice");
    assert_eq!(status(&resp), 403, "{resp}");
    node.ok("xConfiguration Zones LocalZone SubZones MembershipRules Rule 1 Subnet Address: \"10.0.0.0\"");
    let resp = register(&p, "alice");
    assert_eq!(status(&resp), 200, "{resp}");
}

/// The registrant's subzone, not the Default Subzone, decides whether it is challenged.
#[test]
fn a_subzone_s_authentication_policy_applies() {
    let (node, port) = sip_node();
    lab(
        &node,
        "127.0.0.1",
        32,
        &["Authentication Mode: CheckCredentials"],
    );
    node.ok(
        "xConfiguration Zones LocalZone DefaultSubZone Authentication Mode: DoNotCheckCredentials",
    );
    let p = Peer::new(port);
    let resp = register(&p, "bob");
    assert_eq!(status(&resp), 401, "{resp}");
    // Outside the subnet (the rule now names another host), no challenge.
    node.ok("xConfiguration Zones LocalZone SubZones MembershipRules Rule 1 Subnet Address: \"127.0.0.2\"");
    let resp = register(&p, "bob");
    assert_eq!(status(&resp), 200, "{resp}");
}

/// A search rule whose source is a subzone applies only to callers registered in it.
#[test]
fn search_rules_can_name_a_subzone_as_source() {
    let (node, port) = sip_node();
    lab(&node, "127.0.0.1", 32, &[]);
    // Only Lab members may reach the Local Zone through rule 2; the factory rule is off.
    node.ok("xConfiguration Zones Policy SearchRules Rule 1 State: Disabled");
    node.ok("xCommand SearchRuleAdd Name: \"from lab\" ZoneName: \"LocalZone\"");
    node.ok("xConfiguration Zones Policy SearchRules Rule 2 Source Mode: Named");
    node.ok("xConfiguration Zones Policy SearchRules Rule 2 Source Name: \"Lab\"");

    let callee = Peer::new(port);
    assert_eq!(status(&register(&callee, "callee")), 200);
    let caller = Peer::new(port);
    assert_eq!(status(&register(&caller, "member")), 200);
    let invite = |from: &str, id: &str| {
        let me = caller.addr();
        caller.send(&format!(
            "INVITE sip:callee@example.com SIP/2.0\n\
             Via: SIP/2.0/UDP {me};branch=z9hG4bK{id}\n\
             Max-Forwards: 70\n\
             From: <sip:{from}@example.com>;tag=f{id}\n\
             To: <sip:callee@example.com>\n\
             Call-ID: {id}\n\
             CSeq: 1 INVITE\n\
             Contact: <sip:{from}@{me}>\n\
             Content-Length: 0\n\n"
        ));
    };
    // A registered Lab member is found...
    invite("member", "sz-call-1");
    let mut buf = vec![0u8; 65536];
    let (n, _) = callee
        .sock
        .recv_from(&mut buf)
        .expect("the member's call rings");
    assert!(buf[..n].starts_with(b"INVITE "));
    // ...an unregistered caller from the same address is from the Default Zone: not found.
    invite("stranger", "sz-call-2");
    loop {
        let r = caller.recv();
        if r.contains("Call-ID: sz-call-2") {
            assert_eq!(status(&r), 404, "{r}");
            break;
        }
    }
}
