//! The server's logs copied to remote syslog servers, as `Remote Syslog [1..4]` configures them:
//! format, facility, severity filter and keyword filter, seen by a UDP receiver.

mod common;
use common::Node;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

/// Datagrams received until `until` is satisfied (or 20 s have passed).
fn receive(sock: &UdpSocket, until: impl Fn(&[String]) -> bool) -> Vec<String> {
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline && !until(&got) {
        if let Ok(n) = sock.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).to_string());
        }
    }
    got
}

/// Discards what has arrived so far.
fn drain(sock: &UdpSocket) {
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buf = [0u8; 4096];
    while sock.recv(&mut buf).is_ok() {}
}

#[test]
fn log_entries_reach_the_configured_servers_filtered_by_severity_and_keywords() {
    let ietf = UdpSocket::bind("127.0.0.1:0").unwrap();
    let bsd = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut node = Node::new();
    node.ok("xConfiguration SystemUnit Name: \"edge1\"");
    node.ok(&format!(
        "xCommand RemoteSyslogAdd Address: \"127.0.0.1\" Mode: user_defined Transport: udp Port: {} Format: ietf Loglevel: notice",
        ietf.local_addr().unwrap().port()
    ));
    node.ok(&format!(
        "xCommand RemoteSyslogAdd Address: \"127.0.0.1\" Mode: user_defined Transport: udp Port: {} Format: bsd Loglevel: warning",
        bsd.local_addr().unwrap().port()
    ));
    node.start();

    // A configuration change: a notice, in the event log (daemon) and the configuration log
    // (local1).
    node.ok("xConfiguration SIP Mode: On");
    let got = receive(&ietf, |g| {
        g.iter().filter(|m| m.contains("SIP Mode changed")).count() >= 2
    });
    let daemon = got
        .iter()
        .find(|m| m.starts_with("<29>1 ") && m.contains("SIP Mode changed"))
        .unwrap_or_else(|| panic!("event log copy (daemon.notice): {got:?}"));
    assert!(
        daemon.contains(" edge1 tvcs ")
            && daemon
                .contains(" System_Configuration_Changed - Event=\"System Configuration Changed\""),
        "{daemon}"
    );
    assert!(
        got.iter()
            .any(|m| m.starts_with("<141>1 ") && m.contains("SIP Mode changed")),
        "configuration log copy (local1.notice): {got:?}"
    );
    // The BSD server takes warnings and worse only: a restart-required alarm, not the change.
    node.ok("xConfiguration IP QoS Mode: DiffServ");
    let got = receive(&bsd, |g| g.iter().any(|m| m.contains("Alarm Raised")));
    let alarm = got
        .iter()
        .find(|m| m.contains("Alarm Raised"))
        .unwrap_or_else(|| panic!("no alarm: {got:?}"));
    assert!(alarm.starts_with("<28>"), "daemon.warning: {alarm}");
    assert!(
        alarm.contains(" edge1 tvcs: Event=\"Alarm Raised\""),
        "{alarm}"
    );
    assert!(
        !got.iter().any(|m| m.contains("changed from")),
        "notices are filtered out: {got:?}"
    );

    // Keywords: only entries that mention one of them.
    node.ok("xConfiguration Remote Syslog 1 Keywords: \"H323 Mode, nothing else\"");
    // The forwarder takes the new filter from the change event, just after the command answers.
    std::thread::sleep(Duration::from_millis(300));
    drain(&ietf);
    node.ok("xConfiguration SIP Mode: Off");
    node.ok("xConfiguration H323 Mode: On");
    let got = receive(&ietf, |g| g.iter().any(|m| m.contains("H323 Mode changed")));
    assert!(
        got.iter().any(|m| m.contains("H323 Mode changed")),
        "{got:?}"
    );
    assert!(
        !got.iter().any(|m| m.contains("SIP Mode changed")),
        "filtered by keyword: {got:?}"
    );
    assert!(node.stop());
}

/// A server named by an unqualified host name: the node's domain completes it and the
/// configured DNS server (dnsmasq) resolves it.
#[test]
fn server_names_are_completed_with_the_domain_and_resolved_by_the_configured_dns() {
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    let _dns = common::dnsmasq(
        62,
        "example.com",
        &["--host-record=logger.example.com,127.0.0.1".to_string()],
    );
    let mut node = Node::new();
    node.ok("xConfiguration DNS Server 1 Address: \"127.0.0.62\"");
    node.ok("xConfiguration IP DNS Domain Name: \"example.com\"");
    node.ok(&format!(
        "xCommand RemoteSyslogAdd Address: \"logger\" Mode: user_defined Transport: udp Port: {} Format: ietf Loglevel: notice",
        receiver.local_addr().unwrap().port()
    ));
    node.start();
    node.ok("xConfiguration SIP Mode: On");
    let got = receive(&receiver, |g| {
        g.iter().any(|m| m.contains("SIP Mode changed"))
    });
    assert!(
        got.iter().any(|m| m.contains("SIP Mode changed")),
        "{got:?}"
    );
    assert!(node.stop());
}
