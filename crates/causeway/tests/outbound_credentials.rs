//! Outbound connection credentials: a neighbor that challenges a forwarded INVITE gets it
//! again with a digest answer made from `Authentication UserName` / `Password`; without
//! credentials, or when the answer is refused, the challenge reaches the caller.

mod common;
use common::{request, sip_node, status, Node, Peer};
use md5::{Digest, Md5};
use std::net::SocketAddr;

fn md5_hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .map(str::trim)
}

/// A digest parameter's value from an Authorization-style header.
fn param<'a>(h: &'a str, name: &str) -> Option<&'a str> {
    h.split(',').find_map(|p| {
        let p = p.trim().trim_start_matches("Digest ").trim();
        let (k, v) = p.split_once('=')?;
        (k.trim() == name).then(|| v.trim().trim_matches('"'))
    })
}

/// The next INVITE the neighbor receives (ACKs and retransmissions of `skip` are passed over).
fn next_invite(p: &Peer, skip: &[String]) -> (String, SocketAddr) {
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, from) = p.sock.recv_from(&mut buf).expect("an INVITE in time");
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        let via = header(&text, "Via").unwrap_or("").to_string();
        if text.starts_with("INVITE ") && !skip.contains(&via) {
            return (text, from);
        }
    }
}

/// Answers `req` with `code`, adding `extra` header lines.
fn answer(p: &Peer, req: &str, from: SocketAddr, code: u16, extra: &str) {
    let mut r = format!("SIP/2.0 {code} Whatever\r\n");
    for l in req.lines() {
        if ["Via: ", "From: ", "Call-ID: ", "CSeq: "]
            .iter()
            .any(|h| l.starts_with(h))
        {
            r += l.trim_end();
            r += "\r\n";
        }
        if l.starts_with("To: ") {
            r += &format!("{};tag=partner\r\n", l.trim_end());
        }
    }
    r += extra;
    r += "Content-Length: 0\r\n\r\n";
    p.sock.send_to(r.as_bytes(), from).unwrap();
}

const CHALLENGE: &str =
    "Proxy-Authenticate: Digest realm=\"partner\", nonce=\"n0nce\", qop=\"auth\", algorithm=MD5\r\n";

fn setup() -> (Node, u16, Peer) {
    let (node, port) = sip_node();
    let partner = Peer::new(port);
    let t = node.ok("xCommand ZoneAdd ZoneName: \"Partner\" Type: Neighbor");
    assert!(t.contains("ZoneId: 1"), "{t}");
    for line in [
        "xConfiguration Zones Zone 1 Neighbor Peer 1 Address: \"127.0.0.1\"".to_string(),
        format!(
            "xConfiguration Zones Zone 1 Neighbor SIP Port: {}",
            partner.addr().port()
        ),
        "xConfiguration Zones Zone 1 Neighbor SIP Transport: UDP".to_string(),
        "xCommand SearchRuleAdd Name: \"partner\" ZoneName: \"Partner\"".to_string(),
    ] {
        node.ok(&line);
    }
    for (k, v) in [
        ("Priority", "10"),
        ("Mode", "AliasPatternMatch"),
        ("Pattern Type", "Suffix"),
        ("Pattern String", "@partner.example"),
        ("Pattern Behavior", "Leave"),
    ] {
        node.ok(&format!(
            "xConfiguration Zones Policy SearchRules Rule 2 {k}: \"{v}\""
        ));
    }
    (node, port, partner)
}

/// The caller's final answer to `call`.
fn final_answer(caller: &Peer, call: &str) -> String {
    loop {
        let r = caller.recv();
        if r.contains(&format!("Call-ID: {call}")) && status(&r) >= 200 {
            return r;
        }
    }
}

#[test]
fn a_neighbor_s_challenge_is_answered_with_the_outbound_credentials() {
    let (node, port, partner) = setup();
    node.ok("xConfiguration Authentication UserName: \"causeway\"");
    node.ok("xConfiguration Authentication Password: \"s3cret\"");
    let caller = Peer::new(port);
    caller.send(&request(
        "INVITE",
        "sip:bob@partner.example",
        &caller,
        "ob-1",
        "",
    ));

    let (first, from) = next_invite(&partner, &[]);
    assert!(header(&first, "Proxy-Authorization").is_none(), "{first}");
    answer(&partner, &first, from, 407, CHALLENGE);
    let via1 = header(&first, "Via").unwrap().to_string();
    let (second, from) = next_invite(&partner, &[via1]);
    let auth = header(&second, "Proxy-Authorization").expect("answered");
    assert_eq!(param(auth, "username"), Some("causeway"), "{auth}");
    assert_eq!(param(auth, "realm"), Some("partner"));
    assert_eq!(param(auth, "nonce"), Some("n0nce"));
    let uri = param(auth, "uri").unwrap();
    let (nc, cnonce) = (param(auth, "nc").unwrap(), param(auth, "cnonce").unwrap());
    let ha1 = md5_hex("causeway:partner:s3cret");
    let ha2 = md5_hex(&format!("INVITE:{uri}"));
    let want = md5_hex(&format!("{ha1}:n0nce:{nc}:{cnonce}:auth:{ha2}"));
    assert_eq!(param(auth, "response"), Some(want.as_str()), "{auth}");
    // The call goes on with the answered attempt; the caller never sees the challenge.
    answer(&partner, &second, from, 486, "");
    let r = final_answer(&caller, "ob-1");
    assert_eq!(status(&r), 486, "{r}");
}

#[test]
fn without_credentials_or_when_refused_the_challenge_reaches_the_caller() {
    let (node, port, partner) = setup();
    let caller = Peer::new(port);
    caller.send(&request(
        "INVITE",
        "sip:bob@partner.example",
        &caller,
        "ob-2",
        "",
    ));
    let (first, from) = next_invite(&partner, &[]);
    answer(&partner, &first, from, 407, CHALLENGE);
    let r = final_answer(&caller, "ob-2");
    assert_eq!(status(&r), 407, "{r}");

    // With credentials the neighbor refuses: the second challenge is not answered again.
    node.ok("xConfiguration Authentication UserName: \"causeway\"");
    node.ok("xConfiguration Authentication Password: \"wrong\"");
    caller.send(&request(
        "INVITE",
        "sip:bob@partner.example",
        &caller,
        "ob-3",
        "",
    ));
    let (first, from) = next_invite(&partner, &[]);
    answer(&partner, &first, from, 407, CHALLENGE);
    let via1 = header(&first, "Via").unwrap().to_string();
    let (second, from) = next_invite(&partner, &[via1]);
    answer(&partner, &second, from, 407, CHALLENGE);
    let r = final_answer(&caller, "ob-3");
    assert_eq!(status(&r), 407, "{r}");
}
