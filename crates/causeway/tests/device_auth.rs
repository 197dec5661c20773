//! Device authentication against the local authentication database: sipp answers digest
//! challenges the way endpoints do; hand-written requests check the refusals.

mod common;
use common::{request, sip_node, status, Node, Peer};
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
