//! Device authentication against the local authentication database: sipp answers digest
//! challenges the way endpoints do; hand-written requests check the refusals.

mod common;
use common::{registered, request, sip_node, status, Node, Peer};
use std::process::Command;

/// Runs a sipp scenario once against `port`; returns whether it ran to its end.
fn sipp(port: u16, scenario: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.xml");
    std::fs::write(&file, scenario).unwrap();
    let out = Command::new("sipp")
        .arg(format!("127.0.0.1:{port}"))
        .args([
            "-sf",
            file.to_str().unwrap(),
            "-m",
            "1",
            "-nostdin",
            "-trace_msg",
        ])
        .args(["-t", "u1", "-i", "127.0.0.1", "-p", "0"])
        .args(["-timeout", "10s", "-timeout_error", "-recv_timeout", "5000"])
        .arg("-message_file")
        .arg(dir.path().join("msg.log"))
        .current_dir(dir.path())
        .output()
        .expect("sipp is installed (scripts/test installs sip-tester)");
    let log = std::fs::read_to_string(dir.path().join("msg.log")).unwrap_or_default();
    (out.status.success(), log)
}

/// A REGISTER for alice, challenged once and answered with `password`; `last` is the final
/// response expected.
fn register_scenario(password: &str, last: u16) -> String {
    let reg = |cseq: u32, auth: &str| {
        format!(
            r#"
  <send retrans="500"><![CDATA[
      REGISTER sip:example.com SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:alice@example.com>;tag=[pid]
      To: <sip:alice@example.com>
      Call-ID: [call_id]
      CSeq: {cseq} REGISTER
      Contact: <sip:alice@[local_ip]:[local_port]>
      {auth}
      Max-Forwards: 70
      Expires: 60
      Content-Length: 0

  ]]></send>"#
        )
    };
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="auth">{}
  <recv response="401" auth="true"/>{}
  <recv response="{last}"/>
</scenario>
"#,
        reg(1, ""),
        reg(
            2,
            &format!("[authentication username=alice password={password}]")
        )
    )
}

fn check_credentials(node: &Node) {
    node.ok("xCommand CredentialAdd Name: \"alice\" Password: \"abcXYZ_123\"");
    node.ok("xConfiguration Zones LocalZone DefaultSubZone Authentication Mode: CheckCredentials");
    std::thread::sleep(std::time::Duration::from_millis(300));
}

#[test]
fn registrations_are_challenged_and_accepted_with_the_right_password() {
    let (node, port) = sip_node();
    check_credentials(&node);
    let (ok, log) = sipp(port, &register_scenario("abcXYZ_123", 200));
    assert!(ok, "{log}");
    assert!(
        log.contains("WWW-Authenticate: Digest realm=\"example.com\""),
        "{log}"
    );
    assert!(node.ok("xStatus Registrations").contains("Count: 1"));
}

#[test]
fn a_wrong_password_is_challenged_again_and_refused_after_the_retry_limit() {
    let (node, port) = sip_node();
    check_credentials(&node);
    node.ok("xConfiguration SIP Authentication Retry Limit: 1");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (ok, log) = sipp(port, &register_scenario("wrong", 403));
    assert!(ok, "{log}");
    assert!(node.ok("xStatus Registrations").contains("Count: 0"));
    let events = node.event_log(Some("Registration Rejected"));
    assert!(events.contains("authentication failed"), "{events}");
    // Without the policy nobody is challenged.
    node.ok(
        "xConfiguration Zones LocalZone DefaultSubZone Authentication Mode: DoNotCheckCredentials",
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    let p = Peer::new(port);
    let me = p.addr();
    p.send(&format!(
        "REGISTER sip:example.com SIP/2.0\n\
         Via: SIP/2.0/UDP {me};branch=z9hG4bKnoauth\n\
         Max-Forwards: 70\n\
         From: <sip:alice@example.com>;tag=r\n\
         To: <sip:alice@example.com>\n\
         Call-ID: noauth\n\
         CSeq: 1 REGISTER\n\
         Contact: <sip:alice@{me}>\n\
         Content-Length: 0\n\n"
    ));
    assert_eq!(status(&p.recv()), 200);
}

/// Requests from the Default Zone under Check credentials: one of our domains must prove it
/// (407), anyone else's passes unauthenticated and is routed as such.
#[test]
fn calls_from_the_default_zone_follow_its_policy() {
    let (node, port) = sip_node();
    node.ok("xCommand CredentialAdd Name: \"caller\" Password: \"pw\"");
    node.ok("xConfiguration Zones DefaultZone Authentication Mode: CheckCredentials");
    // Only authenticated requests may search the Local Zone.
    node.ok("xConfiguration Zones Policy SearchRules Rule 1 Authentication: Yes");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let p = Peer::new(port);
    // From one of our domains: challenged.
    p.send(&request("MESSAGE", "sip:bob@example.com", &p, "c1", ""));
    let r = p.recv();
    assert_eq!(status(&r), 407, "{r}");
    assert!(
        r.contains("Proxy-Authenticate: Digest realm=\"example.com\""),
        "{r}"
    );
    // From elsewhere: not challenged, not authenticated, so the rule does not apply: 404.
    let p = Peer::new(port);
    p.send(
        &request("MESSAGE", "sip:bob@example.com", &p, "c2", "")
            .replace("sip:caller@example.com", "sip:someone@elsewhere.example"),
    );
    assert_eq!(status(&p.recv()), 404);
    let h = node.ok("xStatus SearchHistory");
    assert!(h.contains("request not authenticated"), "{h}");
}

/// `CredentialDelete` refuses a name it does not have; the database survives a restart.
#[test]
fn credentials_are_kept_and_deleted() {
    let mut node = Node::new();
    node.ok("xCommand CredentialAdd Name: \"alice\" Password: \"abcXYZ_123\"");
    let t = node.err("xCommand CredentialAdd Name: \"bob\" Password: \"\"");
    assert!(t.contains("password"), "{t}");
    node.start();
    assert!(node.stop());
    node.ok("xCommand CredentialDelete Name: \"alice\"");
    let t = node.err("xCommand CredentialDelete Name: \"alice\"");
    assert!(t.contains("no credential"), "{t}");
    // The password is not stored in the clear.
    let db = std::fs::read(node.dir.join("config.db")).unwrap_or_default();
    assert!(!db.windows(10).any(|w| w == b"abcXYZ_123"));
}

/// The next INVITE a peer receives, if one comes within a few seconds.
fn invite_at(p: &Peer) -> Option<String> {
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

fn pai(msg: &str) -> Option<&str> {
    msg.lines()
        .find_map(|l| l.strip_prefix("P-Asserted-Identity: "))
        .map(str::trim)
}

/// Notes 03 §2.19, SIP table: a neighbor zone that does not check credentials is believed
/// about an asserted identity only when it is trusted. Untrusted, the identity is removed and
/// the call is unauthenticated (a rule for authenticated requests does not match); trusted,
/// the identity passes on and the call counts as authenticated.
#[test]
fn a_trusted_zone_s_asserted_identity_authenticates() {
    let (node, port) = sip_node();
    let callee = registered(port, "callee");
    // The neighbor's peer is this test's own address.
    let t = node.ok("xCommand ZoneAdd ZoneName: \"Partner\" Type: Neighbor");
    assert!(t.contains("ZoneId: 1"), "{t}");
    node.ok("xConfiguration Zones Zone 1 Neighbor Peer 1 Address: \"127.0.0.1\"");
    node.ok("xConfiguration Zones Zone 1 Neighbor Authentication Mode: DoNotCheckCredentials");
    // Only authenticated requests reach local registrations.
    node.ok("xConfiguration Zones Policy SearchRules Rule 1 Authentication: Yes");

    let caller = Peer::new(port);
    let extra = "P-Asserted-Identity: <sip:boss@partner.example>\n";
    let inv = |id: &str| request("INVITE", "sip:callee@example.com", &caller, id, extra);

    caller.send(&inv("pai-untrusted"));
    let resp = caller.recv();
    assert_eq!(status(&resp), 404, "{resp}");
    assert!(invite_at(&callee).is_none());

    node.ok("xConfiguration Zones Zone 1 Neighbor SIP Authentication Trust Mode: On");
    caller.send(&inv("pai-trusted"));
    let got = invite_at(&callee).expect("the trusted call reaches the callee");
    assert_eq!(pai(&got), Some("<sip:boss@partner.example>"), "{got}");

    // Untrusted again, with a rule that needs no authentication: the call goes through, but
    // the identity nobody vouches for is removed.
    node.ok("xConfiguration Zones Zone 1 Neighbor SIP Authentication Trust Mode: Off");
    node.ok("xConfiguration Zones Policy SearchRules Rule 1 Authentication: No");
    caller.send(&inv("pai-stripped"));
    let got = invite_at(&callee).expect("the call reaches the callee");
    assert_eq!(pai(&got), None, "{got}");
}

/// Treat as authenticated, for a caller in one of our domains: the node vouches for the From
/// address itself, replacing whatever identity the request claimed.
#[test]
fn treat_as_authenticated_asserts_the_from_address() {
    let (node, port) = sip_node();
    let callee = registered(port, "callee");
    node.ok("xConfiguration Zones DefaultZone Authentication Mode: TreatAsAuthenticated");
    let caller = Peer::new(port);
    caller.send(&request(
        "INVITE",
        "sip:callee@example.com",
        &caller,
        "treat-pai",
        "P-Asserted-Identity: <sip:someone-else@example.com>\n",
    ));
    let got = invite_at(&callee).expect("the call reaches the callee");
    assert_eq!(pai(&got), Some("<sip:caller@example.com>"), "{got}");
}

fn md5_hex(s: &str) -> String {
    use md5::{Digest, Md5};
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `SIP Authentication Digest Nonce Maximum Use Count`: a nonce authenticates that many
/// requests; the next one using it is challenged again as stale (the client need not ask its
/// user again). `… Length` sets the nonce's length.
#[test]
fn a_nonce_is_good_for_the_maximum_use_count() {
    let (node, port) = sip_node();
    check_credentials(&node);
    node.ok("xConfiguration SIP Authentication Digest Nonce Maximum Use Count: 1");
    node.ok("xConfiguration SIP Authentication Digest Nonce Length: 80");
    let p = Peer::new(port);
    let me = p.addr();
    let register = |n: u32, auth: &str| {
        p.send(&format!(
            "REGISTER sip:example.com SIP/2.0\n\
             Via: SIP/2.0/UDP {me};branch=z9hG4bKnonce{n}\n\
             Max-Forwards: 70\n\
             From: <sip:alice@example.com>;tag=r\n\
             To: <sip:alice@example.com>\n\
             Call-ID: nonce-uses\n\
             CSeq: {n} REGISTER\n\
             Contact: <sip:alice@{me}>\n\
             {auth}Expires: 60\n\
             Content-Length: 0\n\n"
        ));
        p.recv()
    };
    let challenge = register(1, "");
    assert_eq!(status(&challenge), 401, "{challenge}");
    let nonce = challenge
        .lines()
        .find(|l| l.starts_with("WWW-Authenticate:") && l.contains("MD5"))
        .and_then(|l| l.split("nonce=\"").nth(1))
        .and_then(|r| r.split('"').next())
        .expect("a nonce")
        .to_string();
    assert_eq!(nonce.len(), 80, "{nonce}");
    let password = "abcXYZ_123";
    let answer = |nc: &str| {
        let ha1 = md5_hex(&format!("alice:example.com:{password}"));
        let ha2 = md5_hex("REGISTER:sip:example.com");
        let response = md5_hex(&format!("{ha1}:{nonce}:{nc}:c0ffee:auth:{ha2}"));
        format!(
            "Authorization: Digest username=\"alice\", realm=\"example.com\", nonce=\"{nonce}\", \
             uri=\"sip:example.com\", response=\"{response}\", algorithm=MD5, qop=auth, \
             nc={nc}, cnonce=\"c0ffee\"\n"
        )
    };
    let ok = register(2, &answer("00000001"));
    assert_eq!(status(&ok), 200, "{ok}");
    let again = register(3, &answer("00000002"));
    assert_eq!(status(&again), 401, "{again}");
    assert!(again.contains("stale=true"), "{again}");
}
