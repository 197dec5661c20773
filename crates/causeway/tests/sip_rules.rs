//! Protocol rules of the SIP service, driven with hand-written messages over real sockets.

mod common;
use common::{connected_call, register_contact, request, sip_node, status, Node, Peer};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn register(node: &Node, port: u16, user: &str, contact: &str) {
    let _ = node;
    register_contact(port, user, contact, 1, 60);
}

#[test]
fn options_to_the_server_is_answered() {
    let (_node, port) = sip_node();
    let p = Peer::new(port);
    for uri in ["sip:example.com", "sip:127.0.0.1"] {
        p.send(&request(
            "OPTIONS",
            uri,
            &p,
            &format!("opt{}", uri.len()),
            "",
        ));
        let r = p.recv();
        assert_eq!(status(&r), 200, "{r}");
        assert!(r.contains("Allow: INVITE"), "{r}");
    }
}

#[test]
fn hop_limits_session_timers_and_loops() {
    let (node, port) = sip_node();
    // A fresh peer for each case: the server retransmits its unacknowledged final responses.
    let p = Peer::new(port);
    // Max-Forwards exhausted.
    p.send(
        &request("INVITE", "sip:bob@example.com", &p, "mf0", "")
            .replace("Max-Forwards: 70", "Max-Forwards: 0"),
    );
    let r = p.recv();
    assert_eq!(status(&r), 483, "{r}");
    // A session interval below the minimum.
    let p = Peer::new(port);
    p.send(&request(
        "INVITE",
        "sip:bob@example.com",
        &p,
        "se",
        "Session-Expires: 100\n",
    ));
    let r = p.recv();
    assert_eq!(status(&r), 422, "{r}");
    assert!(r.contains("Min-SE: 500"), "{r}");
    // A contact that points back at the proxy: the forwarded request comes back and is a loop.
    register(&node, port, "loop", &format!("sip:loop@127.0.0.1:{port}"));
    let p = Peer::new(port);
    p.send(&request("OPTIONS", "sip:loop@example.com", &p, "loop1", ""));
    let r = p.recv();
    assert!(matches!(status(&r), 482 | 483), "{r}");
    // A contact that needs DNS cannot be reached yet.
    register(&node, port, "named", "sip:named@phone.example.net");
    let p = Peer::new(port);
    p.send(&request(
        "OPTIONS",
        "sip:named@example.com",
        &p,
        "named",
        "",
    ));
    assert_eq!(status(&p.recv()), 480);
    // Not registered.
    let p = Peer::new(port);
    p.send(&request("INVITE", "sip:nobody@example.com", &p, "nf", ""));
    let r = p.recv();
    assert_eq!(status(&r), 404, "{r}");
}

#[test]
fn oversized_messages_get_513_and_the_connection_closes() {
    let (node, port) = sip_node();
    node.ok("xConfiguration SIP Advanced SipMaxSize: 2000");
    std::thread::sleep(Duration::from_millis(200));
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let me = tcp.local_addr().unwrap();
    let body = "v=0\r\n".repeat(600);
    let msg = format!(
        "MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP {me};branch=z9hG4bKbig\r\nMax-Forwards: 70\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: big\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(msg.as_bytes()).unwrap();
    let mut got = String::new();
    let _ = tcp.read_to_string(&mut got);
    assert!(got.starts_with("SIP/2.0 513"), "{got}");
    // The server goes on serving.
    let p = Peer::new(port);
    p.send(&request("OPTIONS", "sip:example.com", &p, "after", ""));
    assert_eq!(status(&p.recv()), 200);
}

/// Reads one response with an empty body from a stream; `None` when the peer closed first.
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

/// Endpoints are in the Default Zone, which closes a TCP connection after a malformed message
/// (DropAll); a request that is well formed but refused keeps it open.
#[test]
fn a_malformed_message_closes_its_tcp_connection() {
    let (_node, port) = sip_node();
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let me = tcp.local_addr().unwrap();
    let msg = |method: &str, uri: &str, n: u32, extra: &str| {
        format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/TCP {me};branch=z9hG4bKmal{n}\r\nMax-Forwards: 70\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: mal{n}\r\nCSeq: {n} {method}\r\n{extra}Content-Length: 0\r\n\r\n"
        )
    };
    tcp.write_all(msg("OPTIONS", "sip:example.com", 1, "").as_bytes())
        .unwrap();
    assert_eq!(status(&read_one(&mut tcp).unwrap()), 200);
    // An unsupported scheme is refused, not malformed.
    tcp.write_all(msg("OPTIONS", "xmpp:a@example.com", 2, "").as_bytes())
        .unwrap();
    assert_eq!(status(&read_one(&mut tcp).unwrap()), 416);
    // A Contact that cannot be read is malformed: 400, then the connection ends.
    tcp.write_all(msg("REGISTER", "sip:example.com", 3, "Contact: <sip:a@[bad\r\n").as_bytes())
        .unwrap();
    let r = read_one(&mut tcp).unwrap();
    assert_eq!(status(&r), 400, "{r}");
    let mut rest = Vec::new();
    // A read timeout (an error) means the server left the connection open.
    let closed = tcp.read_to_end(&mut rest).is_ok();
    assert!(closed && rest.is_empty(), "connection still open: {rest:?}");
    // The server goes on serving new connections.
    let mut again = TcpStream::connect(("127.0.0.1", port)).unwrap();
    again
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let me = again.local_addr().unwrap();
    let m = msg("OPTIONS", "sip:example.com", 4, "")
        .replace(&tcp.local_addr().unwrap().to_string(), &me.to_string());
    again.write_all(m.as_bytes()).unwrap();
    assert_eq!(status(&read_one(&mut again).unwrap()), 200);
}

#[test]
fn disconnect_call_releases_it_and_later_requests_get_481() {
    let (node, port) = sip_node();
    let (caller, _callee) = connected_call(port, "dc");
    let t = node.ok("xStatus Calls");
    assert!(t.contains("*s Calls Call 1 State: Connected"), "{t}");
    node.ok("xCommand DisconnectCall Call: 1");
    assert!(node.ok("xStatus Calls").contains("*s Calls Count: 0"));
    let h = node.ok("xStatus Calls History");
    assert!(
        h.contains("*s Calls History Call 1 Reason: \"Operator disconnect\"")
            && h.contains("*s Calls History Call 1 DestinationAlias: \"sip:bob@example.com\""),
        "{h}"
    );
    node.err("xCommand DisconnectCall Call: 1");
    // The caller's BYE in that dialog is refused.
    let bye = request("BYE", "sip:bob@example.com", &caller, "dc", "")
        .replace(
            "To: <sip:bob@example.com>",
            "To: <sip:bob@example.com>;tag=callee",
        )
        .replace("CSeq: 1 BYE", "CSeq: 2 BYE")
        .replace("branch=z9hG4bKdcBYE", "branch=z9hG4bKdcBYE2");
    caller.send(&bye);
    let r = caller.recv();
    assert_eq!(status(&r), 481, "{r}");
}

/// RFC 4475's torture messages sent to the running server: each gets an answer or is dropped,
/// and the server goes on serving.
#[test]
fn torture_messages_do_not_stop_the_server() {
    let (_node, port) = sip_node();
    let p = Peer::new(port);
    let mut answered = 0;
    for case in sipx_testkit::rfc4475::CASES {
        p.sock.send_to(case.bytes, p.server).unwrap();
        // Drain whatever comes back (a response, a forwarded copy's failure, or nothing).
        p.sock
            .set_read_timeout(Some(Duration::from_millis(150)))
            .unwrap();
        let mut buf = vec![0u8; 65536];
        while let Ok((n, _)) = p.sock.recv_from(&mut buf) {
            if buf[..n].starts_with(b"SIP/2.0 ") {
                answered += 1;
            }
        }
    }
    p.sock
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert!(answered > 10, "{answered} answers");
    p.send(&request("OPTIONS", "sip:example.com", &p, "alive", ""));
    assert_eq!(status(&p.recv()), 200);
}

#[test]
fn a_quiet_peer_gets_no_answer_to_garbage() {
    let (_node, port) = sip_node();
    let p = Peer::new(port);
    p.sock
        .send_to(b"this is not SIP at all\r\n\r\n", p.server)
        .unwrap();
    assert!(p.silent());
    p.send(&request("OPTIONS", "sip:example.com", &p, "ok", ""));
    assert_eq!(status(&p.recv()), 200);
}

/// REGISTER over TLS, verifying the node's certificate (created on first start) as a client
/// that trusts it would.
#[test]
fn tls_registration_with_the_first_start_certificate() {
    use rustls_pki_types::pem::PemObject;
    let (node, port) = sip_node();
    let tls_port = common::free_port();
    node.ok(&format!("xConfiguration SIP TLS Port: {tls_port}"));
    node.ok("xConfiguration SIP TLS Mode: On");
    std::thread::sleep(Duration::from_millis(300));
    let _ = port;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pki_types::CertificateDer::pem_file_iter(node.dir.join("tls/server-cert.pem"))
        .unwrap()
    {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", tls_port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let me = tcp.local_addr().unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let reg = format!(
        "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/TLS {me};branch=z9hG4bKtls1\r\nMax-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=t\r\nTo: <sip:alice@example.com>\r\nCall-ID: tls1\r\nCSeq: 1 REGISTER\r\nContact: <sip:alice@{me};transport=tls>\r\nExpires: 60\r\nContent-Length: 0\r\n\r\n"
    );
    tls.write_all(reg.as_bytes()).unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tls.read(&mut buf).unwrap();
    let resp = String::from_utf8_lossy(&buf[..n]);
    assert!(resp.starts_with("SIP/2.0 200 OK"), "{resp}");
    let t = node.ok("xStatus Registrations");
    assert!(t.contains("Transport: TLS"), "{t}");
}

#[test]
fn an_unreachable_tcp_contact_fails_its_branch_and_nothing_else() {
    let (node, port) = sip_node();
    // A port nobody listens on.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    register(
        &node,
        port,
        "gone",
        &format!("sip:gone@127.0.0.1:{dead};transport=tcp"),
    );
    let p = Peer::new(port);
    p.send(&request("INVITE", "sip:gone@example.com", &p, "gone", ""));
    let r = p.recv();
    // RFC 3261 §16.7: a 503 made for the branch goes up as 500.
    assert_eq!(status(&r), 500, "{r}");
    let q = Peer::new(port);
    q.send(&request("OPTIONS", "sip:example.com", &q, "still", ""));
    assert_eq!(status(&q.recv()), 200);
}

#[test]
fn calls_end_with_their_registration_only_when_configured() {
    let (node, port) = sip_node();
    // Default (No): the call outlives the registration.
    let (_caller, callee) = connected_call(port, "keep");
    register_contact(port, "bob", &format!("sip:bob@{}", callee.addr()), 2, 0);
    assert!(node.ok("xStatus Calls").contains("*s Calls Count: 1"));
    // Yes: unregistering ends the call here, and the dialog is gone.
    node.ok("xConfiguration SIP Registration Call Remove: Yes");
    std::thread::sleep(Duration::from_millis(200));
    let (caller, callee) = connected_call(port, "drop");
    assert!(node.ok("xStatus Calls").contains("*s Calls Count: 2"));
    register_contact(port, "bob", &format!("sip:bob@{}", callee.addr()), 2, 0);
    let t = node.ok("xStatus Calls");
    assert!(t.contains("*s Calls Count: 1"), "{t}");
    let bye = request("BYE", "sip:bob@example.com", &caller, "drop", "")
        .replace(
            "To: <sip:bob@example.com>",
            "To: <sip:bob@example.com>;tag=callee",
        )
        .replace("CSeq: 1 BYE", "CSeq: 2 BYE");
    caller.send(&bye);
    assert_eq!(status(&caller.recv()), 481);
    // An operator's removal ends the calls too.
    let (_caller, _callee) = connected_call(port, "operator");
    assert!(node.ok("xStatus Calls").contains("*s Calls Count: 2"));
    let n = node.first_registration();
    node.ok(&format!("xCommand RemoveRegistration Registration: {n}"));
    std::thread::sleep(Duration::from_millis(200));
    assert!(node.ok("xStatus Calls").contains("*s Calls Count: 1"));
}
