//! The SIP registrar against sipp, the real SIP test tool, over UDP and TCP.

mod common;
use common::{sip_node, Node};
use std::process::Command;

/// One REGISTER with the given headers, expecting `status`; returns the response as sipp saw it.
fn register(
    port: u16,
    transport: &str,
    user: &str,
    domain: &str,
    extra: &str,
    status: u16,
) -> String {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("register.xml");
    std::fs::write(
        &scenario,
        format!(
            r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register">
  <send retrans="500">
    <![CDATA[
      REGISTER sip:{domain} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{user}@{domain}>;tag=[call_number]
      To: <sip:{user}@{domain}>
      Call-ID: [call_id]
      CSeq: 1 REGISTER
      Max-Forwards: 70
{extra}
      Content-Length: 0

    ]]>
  </send>
  <recv response="{status}"/>
</scenario>
"#
        ),
    )
    .unwrap();
    let out = Command::new("sipp")
        .arg(format!("127.0.0.1:{port}"))
        .args([
            "-sf",
            scenario.to_str().unwrap(),
            "-m",
            "1",
            "-nostdin",
            "-trace_msg",
        ])
        .args([
            "-t",
            if transport == "TCP" { "t1" } else { "u1" },
            "-p",
            // sipp over TCP does not take 0 for "any port" and falls back to 5060, which a
            // test running beside this one may hold: a free port of its own instead.
            &common::free_port().to_string(),
        ])
        .args(["-timeout", "10s", "-timeout_error", "-recv_timeout", "5000"])
        .arg("-message_file")
        .arg(dir.path().join("msg.log"))
        .arg("-i")
        .arg("127.0.0.1")
        .current_dir(dir.path())
        .output()
        .expect("sipp is installed (scripts/test installs sip-tester)");
    let log = std::fs::read_to_string(dir.path().join("msg.log")).unwrap_or_default();
    assert!(
        out.status.success(),
        "sipp expected {status}\nstdout: {}\nstderr: {}\n{log}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    log.split("message received")
        .last()
        .unwrap_or("")
        .to_string()
}

fn contact(port_hint: &str) -> String {
    // A fixed contact address, not sipp's own port: parallel tests' sipp runs may take port 5060,
    // and a user's later REGISTER must name the same contact to refresh or remove it.
    format!("      Contact: <sip:[service]@127.0.0.1:15999{port_hint}>")
}

/// The `expires` granted in the newest Contact of a 200. (Another test's sipp may have held
/// port 5060, so two runs of one user can register two contacts; the newest comes last.)
fn granted(resp: &str) -> u32 {
    let c = resp
        .lines()
        .rfind(|l| l.starts_with("Contact:"))
        .expect("a Contact in the 200");
    c.split("expires=")
        .nth(1)
        .unwrap()
        .split(|ch: char| !ch.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn count(node: &Node) -> usize {
    let t = node.ok("xStatus Registrations Count");
    t.lines()
        .find_map(|l| l.strip_prefix("*s Registrations Count: "))
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn expiry_rules_maximum_variable_and_423() {
    let (node, port) = sip_node();
    let c = contact("");
    let r = register(
        port,
        "UDP",
        "alice",
        "example.com",
        &format!("{c}\n      Expires: 3600"),
        200,
    );
    assert_eq!(granted(&r), 60, "capped at the maximum: {r}");
    let r = register(
        port,
        "UDP",
        "alice",
        "example.com",
        &format!("{c};expires=50"),
        200,
    );
    assert_eq!(granted(&r), 50, "{r}");
    let r = register(
        port,
        "UDP",
        "bob",
        "example.com",
        &format!("{c}\n      Expires: 30"),
        423,
    );
    assert!(r.contains("Min-Expires: 45"), "{r}");
    node.ok("xConfiguration SIP Registration Standard Refresh Strategy: Variable");
    node.ok("xConfiguration SIP Registration Standard Refresh Maximum: 3600");
    node.ok("xConfiguration SIP Registration Standard Refresh Minimum: 300");
    let mut seen = std::collections::HashSet::new();
    for i in 0..6 {
        let r = register(
            port,
            "UDP",
            &format!("v{i}"),
            "example.com",
            &format!("{c}\n      Expires: 1000"),
            200,
        );
        let g = granted(&r);
        assert!((300..=1000).contains(&g), "{g}");
        seen.insert(g);
    }
    assert!(seen.len() > 1, "the variable strategy varies: {seen:?}");
    register(
        port,
        "TCP",
        "carol",
        "example.com",
        &format!("{c}\n      Expires: 299"),
        423,
    );
}

#[test]
fn non_local_domains_are_refused_and_events_logged() {
    let (node, port) = sip_node();
    let c = contact("");
    register(
        port,
        "UDP",
        "eve",
        "elsewhere.org",
        &format!("{c}\n      Expires: 60"),
        403,
    );
    register(
        port,
        "TCP",
        "alice",
        "EXAMPLE.com",
        &format!("{c}\n      Expires: 60"),
        200,
    );
    assert_eq!(count(&node), 1);
    let log = node.event_log(Some("Registration"));
    assert!(log.contains("Event=\"Registration Rejected\""), "{log}");
    assert!(log.contains("Event=\"Registration Accepted\""), "{log}");
    assert!(log.contains("AOR=\"alice@example.com\""), "{log}");
}

#[test]
fn allow_and_deny_lists_with_each_pattern_type() {
    let (node, port) = sip_node();
    let c = format!("{}\n      Expires: 60", contact(""));
    node.ok("xConfiguration Registration RestrictionPolicy Mode: AllowList");
    // An empty allow list lets nobody in.
    register(port, "UDP", "alice", "example.com", &c, 403);
    node.ok("xCommand AllowListAdd PatternString: \"alice@example.com\" PatternType: Exact");
    node.ok("xCommand AllowListAdd PatternString: \"room\" PatternType: Prefix");
    node.ok("xCommand AllowListAdd PatternString: \"-mcu@example.com\" PatternType: Suffix");
    node.ok("xCommand AllowListAdd PatternString: \"\\d{4}@example.com\" PatternType: Regex");
    for ok in ["alice", "room12", "east-mcu", "1234"] {
        register(port, "UDP", ok, "example.com", &c, 200);
    }
    for no in ["bob", "12345", "mcu-east"] {
        register(port, "UDP", no, "example.com", &c, 403);
    }
    node.ok("xConfiguration Registration RestrictionPolicy Mode: DenyList");
    node.ok("xCommand DenyListAdd PatternString: \"mallory@example.com\" PatternType: Exact");
    node.ok("xCommand DenyListAdd PatternString: \"guest\" PatternType: Prefix");
    node.ok("xCommand DenyListAdd PatternString: \"(.*)\\.temp@example.com\" PatternType: Regex");
    node.ok("xCommand DenyListAdd PatternString: \"-lab@example.com\" PatternType: Suffix");
    for no in ["mallory", "guest7", "x.temp", "b-lab"] {
        register(port, "UDP", no, "example.com", &c, 403);
    }
    for ok in ["bob", "alice"] {
        register(port, "TCP", ok, "example.com", &c, 200);
    }
}

#[test]
fn unregister_remove_and_find() {
    let (node, port) = sip_node();
    let c = contact("");
    register(
        port,
        "UDP",
        "alice",
        "example.com",
        &format!("{c}\n      Expires: 60"),
        200,
    );
    register(
        port,
        "UDP",
        "bob",
        "example.com",
        &format!("{c}\n      Expires: 60"),
        200,
    );
    register(
        port,
        "UDP",
        "carol",
        "example.com",
        &format!("{c}\n      Expires: 60"),
        200,
    );
    assert_eq!(count(&node), 3);
    let t = node.ok("xCommand FindRegistration Alias: \"sip:bob@example.com\"");
    assert!(t.contains("Name: \"bob@example.com\""), "{t}");
    // Expires 0 removes a binding, `*` all of an AOR's.
    register(
        port,
        "UDP",
        "alice",
        "example.com",
        &format!("{c}\n      Expires: 0"),
        200,
    );
    register(
        port,
        "UDP",
        "bob",
        "example.com",
        "      Contact: *\n      Expires: 0",
        200,
    );
    register(
        port,
        "UDP",
        "carol",
        "example.com",
        "      Contact: *\n      Expires: 60",
        400,
    );
    assert_eq!(count(&node), 1);
    // Operator removal by number, then the number is unknown.
    let n = node.first_registration();
    let t = node.ok(&format!("xCommand RemoveRegistration Registration: {n}"));
    assert!(t.contains("carol@example.com"), "{t}");
    assert_eq!(count(&node), 0);
    node.err(&format!("xCommand RemoveRegistration Registration: {n}"));
    node.err("xCommand RemoveRegistration");
    let log = node.event_log(Some("Operator forced removal"));
    assert_eq!(log.lines().count(), 1, "{log}");

    // The three that ended are in the history, oldest first, each with its reason; the plain
    // listing only counts them.
    let plain = node.ok("xStatus Registrations");
    assert!(
        plain.contains("*s Registrations History Count: 3"),
        "{plain}"
    );
    assert!(!plain.contains("History Registration"), "{plain}");
    let h = node.ok("xStatus Registrations History");
    for (n, name, reason) in [
        (1, "alice", "Unregistered by the endpoint"),
        (2, "bob", "Unregistered by the endpoint"),
        (3, "carol", "Operator forced removal"),
    ] {
        let p = format!("*s Registrations History Registration {n} ");
        assert!(
            h.contains(&format!("{p}Name: \"{name}@example.com\"")),
            "{h}"
        );
        assert!(h.contains(&format!("{p}Reason: \"{reason}\"")), "{h}");
        assert!(h.contains(&format!("{p}Protocol: SIP")), "{h}");
    }
}

#[test]
fn sip_starts_and_stops_with_its_mode() {
    let (node, port) = sip_node();
    let c = format!("{}\n      Expires: 60", contact(""));
    register(port, "UDP", "alice", "example.com", &c, 200);
    node.ok("xConfiguration SIP Mode: Off");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        std::net::UdpSocket::bind(("0.0.0.0", port)).is_ok(),
        "the port is released"
    );
    node.ok("xConfiguration SIP Mode: On");
    std::thread::sleep(std::time::Duration::from_millis(300));
    register(port, "TCP", "bob", "example.com", &c, 200);
}

#[test]
fn a_retransmitted_register_gets_the_same_response_without_a_second_decision() {
    let (node, port) = sip_node();
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(3)))
        .unwrap();
    let me = sock.local_addr().unwrap();
    let send = |branch: &str| {
        let msg = format!(
            "REGISTER sip:example.com SIP/2.0\r\n\
             Via: SIP/2.0/UDP {me};branch={branch};rport\r\n\
             Max-Forwards: 70\r\nFrom: <sip:dave@example.com>;tag=d1\r\n\
             To: <sip:dave@example.com>\r\nCall-ID: retrans-{}\r\nCSeq: 7 REGISTER\r\n\
             Contact: <sip:dave@{me}>\r\nExpires: 60\r\nContent-Length: 0\r\n\r\n",
            me.port()
        );
        sock.send_to(msg.as_bytes(), ("127.0.0.1", port)).unwrap();
        let mut buf = [0u8; 4096];
        let (n, _) = sock.recv_from(&mut buf).expect("an answer");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let first = send("z9hG4bKretrans1");
    assert!(first.starts_with("SIP/2.0 200 "), "{first}");
    // Within Timer J the transaction answers with its response, byte for byte (the To tag is
    // random per decision, so a second decision could not match it).
    assert_eq!(send("z9hG4bKretrans1"), first);
    assert_eq!(send("z9hG4bKretrans1"), first);
    // The same request in a new transaction is decided again: the CSeq is not higher.
    let again = send("z9hG4bKretrans2");
    assert!(again.starts_with("SIP/2.0 500 "), "{again}");
    assert_eq!(count(&node), 1);
}
