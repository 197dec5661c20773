//! The forwarder's queues, connections and target changes, against plain sockets of the test's
//! own.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use causeway_syslog::{Format, Forwarder, Severity, Transport, QUEUE_CAPACITY};
use common::{eventually, free_tcp_port, message, octet_frames, target};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, UdpSocket};

/// A TCP receiver that records what each connection sent.
struct Sink {
    port: u16,
    /// Bytes per accepted connection, in order of acceptance.
    connections: Arc<Mutex<Vec<Vec<u8>>>>,
    /// Connections the other side has closed.
    closed: Arc<AtomicUsize>,
}

impl Sink {
    /// `hang_up_after`: close each connection after this many bytes (none: keep it open).
    async fn start(hang_up_after: Option<usize>) -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sink = Sink {
            port: listener.local_addr().unwrap().port(),
            connections: Arc::default(),
            closed: Arc::default(),
        };
        let (connections, closed) = (sink.connections.clone(), sink.closed.clone());
        tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                let index = {
                    let mut c = connections.lock().unwrap();
                    c.push(Vec::new());
                    c.len() - 1
                };
                let (connections, closed) = (connections.clone(), closed.clone());
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    loop {
                        match tcp.read(&mut buf).await {
                            Ok(n @ 1..) => {
                                let mut c = connections.lock().unwrap();
                                c[index].extend_from_slice(&buf[..n]);
                                if hang_up_after.is_some_and(|limit| c[index].len() >= limit) {
                                    return;
                                }
                            }
                            _ => {
                                closed.fetch_add(1, Ordering::SeqCst);
                                return;
                            }
                        }
                    }
                });
            }
        });
        sink
    }

    /// The texts of the octet-counted messages each connection carried.
    fn texts(&self) -> Vec<Vec<String>> {
        self.connections
            .lock()
            .unwrap()
            .iter()
            .map(|bytes| {
                octet_frames(bytes)
                    .into_iter()
                    .map(|f| {
                        let f = String::from_utf8(f).unwrap();
                        // `<PRI>1 TS HOST APP PROCID MSGID - TEXT`
                        f.splitn(8, ' ').nth(7).unwrap_or("").to_string()
                    })
                    .collect()
            })
            .collect()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn send_never_waits_and_counts_what_it_drops() {
    // On this single-threaded runtime no sender task can run while the test does not yield:
    // whatever `send` does, it does without the network.
    let fwd = Forwarder::start(None);
    fwd.set_targets(vec![
        target("127.0.0.1", free_tcp_port(), Transport::Tcp, Format::Ietf),
        target("no-such-host.invalid", 514, Transport::Udp, Format::Bsd),
        target("192.0.2.1", 6514, Transport::Tls, Format::Ietf),
    ]);
    for i in 0..QUEUE_CAPACITY + 100 {
        fwd.send(message(Severity::Error, &format!("message {i}")));
    }
    for s in fwd.stats() {
        assert_eq!(
            (s.queued, s.dropped, s.sent),
            (QUEUE_CAPACITY, 100, 0),
            "{s:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_server_does_not_hold_up_the_others() {
    let sink = Sink::start(None).await;
    let fwd = Forwarder::start(None);
    fwd.set_targets(vec![
        // TEST-NET-1: nothing answers, a connect hangs until it times out.
        target("192.0.2.1", 601, Transport::Tcp, Format::Ietf),
        target("127.0.0.1", free_tcp_port(), Transport::Tcp, Format::Ietf),
        target("127.0.0.1", sink.port, Transport::Tcp, Format::Ietf),
    ]);
    let texts: Vec<String> = (0..100).map(|i| format!("message {i}")).collect();
    for t in &texts {
        fwd.send(message(Severity::Notice, t));
    }
    eventually("all 100 messages", || {
        sink.texts().first().is_some_and(|c| c.len() == 100)
    })
    .await;
    assert_eq!(sink.texts(), [texts]);
    let stats = fwd.stats();
    assert_eq!(stats[0].sent + stats[1].sent, 0);
    assert_eq!(stats[1].queued, 100);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_filter_keeps_the_connection() {
    let sink = Sink::start(None).await;
    let fwd = Forwarder::start(None);
    let mut t = target("127.0.0.1", sink.port, Transport::Tcp, Format::Ietf);
    fwd.set_targets(vec![t.clone()]);
    fwd.send(message(Severity::Debug, "before"));
    eventually("the first message", || sink.texts() == [vec!["before"]]).await;

    t.max_severity = Severity::Warning;
    t.keywords = vec!["keep".into()];
    fwd.set_targets(vec![t.clone()]);
    fwd.send(message(Severity::Debug, "keep: too mild now"));
    fwd.send(message(Severity::Error, "no keyword"));
    fwd.send(message(Severity::Error, "keep this"));
    eventually("the last message", || sink.texts()[0].len() == 2).await;
    assert_eq!(sink.texts(), [vec!["before", "keep this"]]);
    // The counters carry over.
    eventually("the counters", || fwd.stats()[0].sent == 2).await;
    assert_eq!(fwd.stats()[0].target, t);

    // Another port is another server: a new connection, and the old one is closed.
    let other = Sink::start(None).await;
    t.port = other.port;
    fwd.set_targets(vec![t]);
    fwd.send(message(Severity::Error, "keep moving"));
    eventually("the message at the new server", || {
        other.texts() == [vec!["keep moving"]]
    })
    .await;
    eventually("the old connection to close", || {
        sink.closed.load(Ordering::SeqCst) == 1
    })
    .await;
    eventually("fresh counters", || fwd.stats()[0].sent == 1).await;

    fwd.set_targets(Vec::new());
    assert!(fwd.stats().is_empty());
    eventually("the last connection to close", || {
        other.closed.load(Ordering::SeqCst) == 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reconnects_when_the_server_hangs_up() {
    let first = message(Severity::Error, "first");
    let frame_len = causeway_syslog::frame(
        &causeway_syslog::format(&first, Format::Ietf),
        Transport::Tcp,
        Format::Ietf,
    )
    .len();
    // The server closes each connection as soon as one message has arrived.
    let sink = Sink::start(Some(frame_len)).await;
    let fwd = Forwarder::start(None);
    fwd.set_targets(vec![target(
        "127.0.0.1",
        sink.port,
        Transport::Tcp,
        Format::Ietf,
    )]);
    fwd.send(first);
    eventually("the first message", || sink.texts() == [vec!["first"]]).await;
    eventually("the hang-up to be noticed", || {
        fwd.stats()[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("closed"))
    })
    .await;
    fwd.send(message(Severity::Error, "second"));
    eventually("the second message on a new connection", || {
        sink.texts() == [vec!["first"], vec!["second"]]
    })
    .await;
    eventually("the counters", || fwd.stats()[0].sent == 2).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn udp_sends_one_datagram_per_message() {
    let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = server.local_addr().unwrap().port();
    let fwd = Forwarder::start(None);
    fwd.set_targets(vec![target("127.0.0.1", port, Transport::Udp, Format::Bsd)]);
    let long = "y".repeat(3000);
    fwd.send(message(Severity::Error, "short"));
    fwd.send(message(Severity::Error, &long));
    let mut buf = [0u8; 8192];
    let n = server.recv(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"<131>Mar  5 07:08:09 node-a tvcs: short");
    let n = server.recv(&mut buf).await.unwrap();
    assert_eq!(n, 1024);
    eventually("the counters", || fwd.stats()[0].sent == 2).await;
    assert!(fwd.stats()[0].connected);
}

#[tokio::test(flavor = "multi_thread")]
async fn media_statistics_skip_the_severity_filter_only() {
    let sink = Sink::start(None).await;
    let fwd = Forwarder::start(None);
    let mut t = target("127.0.0.1", sink.port, Transport::Tcp, Format::Ietf);
    t.max_severity = Severity::Error;
    t.keywords = vec!["media".into()];
    fwd.set_targets(vec![t]);
    let stats = |text: &str| {
        let mut m = message(Severity::Informational, text);
        m.facility = 18;
        m
    };
    fwd.send_regardless_of_severity(stats("media stats: jitter 3 ms"));
    fwd.send_regardless_of_severity(stats("no keyword"));
    fwd.send(stats("media, but filtered by severity"));
    fwd.send(message(Severity::Error, "media end"));
    eventually("the last message", || {
        sink.texts().first().is_some_and(|c| c.len() == 2)
    })
    .await;
    assert_eq!(
        sink.texts(),
        [vec!["media stats: jitter 3 ms", "media end"]]
    );
}
