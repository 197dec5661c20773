//! Helpers shared by the network tests; each test binary uses a different part.
#![allow(dead_code)]

use std::time::Duration;

use causeway_syslog::{Format, Message, Severity, Target, Transport};
use chrono::{TimeZone, Utc};

/// How long a test waits for something that should happen within milliseconds, before it
/// declares failure. Never an assertion on speed: only a bound on a hung test.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Polls `done` until it holds, failing the test with `what` after [`PATIENCE`].
pub async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn message(severity: Severity, text: &str) -> Message {
    Message {
        at: Utc.with_ymd_and_hms(2024, 3, 5, 7, 8, 9).unwrap(),
        host: "node-a".into(),
        app: "tvcs".into(),
        facility: 16,
        severity,
        msgid: None,
        text: text.into(),
    }
}

pub fn target(address: &str, port: u16, transport: Transport, format: Format) -> Target {
    Target {
        address: address.into(),
        port,
        transport,
        format,
        max_severity: Severity::Debug,
        keywords: Vec::new(),
        crl_check: false,
        dns_servers: Vec::new(),
    }
}

/// A TCP port nothing listens on (for now).
pub fn free_tcp_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

pub fn free_udp_port() -> u16 {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.local_addr().unwrap().port()
}

/// Splits a stream of octet-counted frames (`LEN SP MSG`…), failing on anything else. A frame
/// not yet complete at the end is left out.
pub fn octet_frames(mut buf: &[u8]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    while !buf.is_empty() {
        let sp = buf
            .iter()
            .position(|&b| b == b' ')
            .expect("a length and a space");
        let len: usize = std::str::from_utf8(&buf[..sp])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad frame length in {:?}", String::from_utf8_lossy(buf)));
        if buf.len() < sp + 1 + len {
            break;
        }
        frames.push(buf[sp + 1..sp + 1 + len].to_vec());
        buf = &buf[sp + 1 + len..];
    }
    frames
}
