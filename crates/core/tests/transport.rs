//! Transports on loopback with a stand-in framer (header block, then Content-Length bytes).

use bytes::Bytes;
use causeway_core::listen::{Listener, Transport};
use causeway_core::transport::{Event, Frame, Limits, Transports};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

fn framer(buf: &[u8]) -> Frame {
    let crlf = buf
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count();
    if crlf > 0 {
        return Frame::KeepAlive(crlf);
    }
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Frame::Incomplete;
    };
    let head = std::str::from_utf8(&buf[..end]).unwrap_or("");
    let Some(len) = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|v| v.trim().parse::<usize>().ok())
    else {
        return Frame::Invalid;
    };
    if buf.len() >= end + 4 + len {
        Frame::Complete(end + 4 + len)
    } else {
        Frame::Incomplete
    }
}

fn msg(body: &str) -> String {
    format!(
        "OPTIONS sip:x SIP/2.0\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

async fn next(rx: &mut mpsc::Receiver<Event>) -> Event {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("event in time")
        .expect("channel open")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn listener(t: Transport, port: u16) -> Listener {
    Listener {
        transport: t,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
    }
}

#[tokio::test]
async fn udp_datagrams_arrive_with_their_flow_and_replies_go_back() {
    let (tx, mut rx) = mpsc::channel(16);
    let mut t = Transports::new(framer, tx, None);
    let l = listener(Transport::Udp, free_port());
    assert!(t.apply(&[l]).await.is_empty());
    let peer = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    peer.send_to(msg("hi").as_bytes(), l.addr).await.unwrap();
    let Event::Message { flow, bytes, .. } = next(&mut rx).await else {
        panic!()
    };
    assert_eq!(bytes, Bytes::from(msg("hi")));
    assert_eq!(flow.remote, peer.local_addr().unwrap());
    t.send(&flow, Bytes::from_static(b"reply")).await.unwrap();
    let mut buf = [0u8; 100];
    let (n, from) = peer.recv_from(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"reply");
    assert_eq!(from, l.addr);
    // Oversized datagrams are reported, not delivered.
    t.set_limits(Limits {
        max_message: 100,
        ..Limits::default()
    });
    peer.send_to(msg(&"x".repeat(200)).as_bytes(), l.addr)
        .await
        .unwrap();
    assert!(matches!(next(&mut rx).await, Event::TooLarge { .. }));
}

#[tokio::test]
async fn tcp_streams_are_framed_across_reads_and_connections_reused() {
    let (tx, mut rx) = mpsc::channel(16);
    let mut t = Transports::new(framer, tx, None);
    let l = listener(Transport::Tcp, free_port());
    assert!(t.apply(&[l]).await.is_empty());
    let mut c = tokio::net::TcpStream::connect(l.addr).await.unwrap();
    let two = format!("{}{}", msg("one"), msg("two"));
    let (a, b) = two.as_bytes().split_at(10);
    c.write_all(a).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    c.write_all(b).await.unwrap();
    let Event::Message { flow, bytes, .. } = next(&mut rx).await else {
        panic!()
    };
    assert_eq!(bytes, Bytes::from(msg("one")));
    let Event::Message { bytes, .. } = next(&mut rx).await else {
        panic!()
    };
    assert_eq!(bytes, Bytes::from(msg("two")));
    // A double-CRLF ping is answered with a single CRLF.
    c.write_all(b"\r\n\r\n").await.unwrap();
    let mut pong = [0u8; 2];
    c.read_exact(&mut pong).await.unwrap();
    assert_eq!(&pong, b"\r\n");
    // Sending to the client's address reuses its connection.
    let again = t
        .send_to(Transport::Tcp, flow.remote, Bytes::from_static(b"back"))
        .await
        .unwrap();
    assert_eq!(again.conn, flow.conn);
    let mut back = [0u8; 4];
    c.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"back");
    drop(c);
    assert!(matches!(next(&mut rx).await, Event::Closed { .. }));
    assert!(t.connections().is_empty());
}

#[tokio::test]
async fn oversized_and_unframeable_streams_are_reported_and_closed() {
    let (tx, mut rx) = mpsc::channel(16);
    let mut t = Transports::new(framer, tx, None);
    t.set_limits(Limits {
        max_message: 200,
        ..Limits::default()
    });
    let l = listener(Transport::Tcp, free_port());
    t.apply(&[l]).await;
    let mut c = tokio::net::TcpStream::connect(l.addr).await.unwrap();
    c.write_all(msg(&"y".repeat(500)).as_bytes()).await.unwrap();
    let Event::TooLarge { flow, .. } = next(&mut rx).await else {
        panic!()
    };
    t.send(
        &flow,
        Bytes::from_static(b"SIP/2.0 513 Message Too Large\r\n\r\n"),
    )
    .await
    .unwrap();
    t.close(&flow).await;
    let mut got = Vec::new();
    c.read_to_end(&mut got).await.unwrap();
    assert!(got.starts_with(b"SIP/2.0 513"));

    let mut c = tokio::net::TcpStream::connect(l.addr).await.unwrap();
    c.write_all(b"GARBAGE WITHOUT LENGTH\r\n\r\n")
        .await
        .unwrap();
    loop {
        match next(&mut rx).await {
            Event::Garbage { .. } => break,
            Event::Closed { .. } => continue,
            other => panic!("{other:?}"),
        }
    }
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty(), "closed");
}

#[tokio::test]
async fn outgoing_tcp_uses_the_outbound_port_range() {
    let (tx, _rx) = mpsc::channel(16);
    let t = Transports::new(framer, tx, None);
    let base = free_port().saturating_add(100).max(20000);
    t.set_limits(Limits {
        outbound_ports: (base, base + 5),
        ..Limits::default()
    });
    let server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr().unwrap();
    let flow = t
        .send_to(Transport::Tcp, addr, Bytes::from(msg("out")))
        .await
        .unwrap();
    assert!((base..=base + 5).contains(&flow.local.port()), "{flow:?}");
    let (mut s, from) = server.accept().await.unwrap();
    assert_eq!(from.port(), flow.local.port());
    let mut buf = vec![0u8; msg("out").len()];
    s.read_exact(&mut buf).await.unwrap();
    assert_eq!(buf, msg("out").as_bytes());
}

#[tokio::test]
async fn listeners_start_and_stop_with_the_configuration() {
    let (tx, _rx) = mpsc::channel(16);
    let mut t = Transports::new(framer, tx, None);
    let udp = listener(Transport::Udp, free_port());
    let tcp = listener(Transport::Tcp, free_port());
    t.apply(&[udp, tcp]).await;
    assert_eq!(t.active(), vec![udp, tcp]);
    t.apply(&[tcp]).await;
    assert_eq!(t.active(), vec![tcp]);
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The UDP port is free again.
    std::net::UdpSocket::bind(udp.addr).unwrap();
    // TLS without an identity fails to start, and says so.
    let tls = listener(Transport::Tls, free_port());
    let failed = t.apply(&[tcp, tls]).await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, tls);
}

#[tokio::test]
async fn a_peer_that_does_not_read_is_dropped_instead_of_stalling_the_sender() {
    let (tx, mut rx) = mpsc::channel(16);
    let mut t = Transports::new(framer, tx, None);
    let l = listener(Transport::Tcp, free_port());
    t.apply(&[l]).await;
    let mut c = tokio::net::TcpStream::connect(l.addr).await.unwrap();
    c.write_all(msg("hello").as_bytes()).await.unwrap();
    let Event::Message { flow, .. } = next(&mut rx).await else {
        panic!()
    };
    // The client never reads. Each send returns at once; once the kernel buffers and the
    // connection's queue are full, sending fails and the connection is dropped.
    let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
    let outcome = tokio::time::timeout(Duration::from_secs(20), async {
        for i in 0..100_000 {
            if t.send(&flow, chunk.clone()).await.is_err() {
                return i;
            }
        }
        panic!("the sender never noticed the stuck peer");
    })
    .await
    .expect("sending never blocks on a stuck peer");
    assert!(outcome > 10, "{outcome}");
    assert!(t.connections().iter().all(|f| f.conn != flow.conn));
}
