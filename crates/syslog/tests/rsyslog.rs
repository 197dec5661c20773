//! Delivery to a real rsyslog (Debian packages `rsyslog`, `rsyslog-gnutls`) over UDP, TCP and TLS,
//! checking what it parsed out of each format.

mod common;

use std::io::Write as _;
use std::net::{TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use causeway_syslog::{format, Format, Forwarder, Severity, Transport};
use common::{eventually, free_tcp_port, free_udp_port, message, target, PATIENCE};

/// What rsyslog made of one message, as the test template writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    pri: u32,
    facility: u32,
    severity: u32,
    host: String,
    app: String,
    msgid: String,
    procid: String,
    msg: String,
}

const TEMPLATE: &str =
    "%pri%|%syslogfacility%|%syslogseverity%|%hostname%|%app-name%|%msgid%|%procid%|%msg%\\n";

/// App name of the messages that check rsyslog is listening; left out of [`Rsyslog::records`].
const PROBE_APP: &str = "probe";

fn rsyslogd() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push("/usr/sbin".into());
    dirs.push("/sbin".into());
    dirs.into_iter()
        .map(|d| d.join("rsyslogd"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("rsyslogd not found: install the Debian package `rsyslog` (apt-get install rsyslog)")
        })
}

/// An rsyslogd of our own: UDP and TCP inputs on loopback, every message written to one file.
struct Rsyslog {
    child: Child,
    dir: tempfile::TempDir,
    udp: u16,
    tcp: u16,
    /// The RFC 5425 input (GnuTLS, Debian package `rsyslog-gnutls`), when asked for.
    tls: Option<u16>,
}

impl Rsyslog {
    async fn start() -> Rsyslog {
        Rsyslog::start_on(free_udp_port(), free_tcp_port()).await
    }

    async fn start_on(udp: u16, tcp: u16) -> Rsyslog {
        Rsyslog::launch(udp, tcp, None).await
    }

    /// As [`Rsyslog::start`], with a TLS input too, whose certificate and key (PEM) are given.
    async fn start_tls(cert: &str, key: &str) -> Rsyslog {
        Rsyslog::launch(free_udp_port(), free_tcp_port(), Some((cert, key))).await
    }

    async fn launch(udp: u16, tcp: u16, tls: Option<(&str, &str)>) -> Rsyslog {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let (tls_port, tls_conf) = match tls {
            None => (None, String::new()),
            Some((cert, key)) => {
                std::fs::write(dir.path().join("cert.pem"), cert).unwrap();
                std::fs::write(dir.path().join("key.pem"), key).unwrap();
                let port = free_tcp_port();
                // Anonymous on the server side: the client checks the server, not the reverse.
                (
                    Some(port),
                    format!(
                        r#"global(DefaultNetstreamDriverCertFile="{d}/cert.pem" DefaultNetstreamDriverKeyFile="{d}/key.pem" DefaultNetstreamDriverCAFile="{d}/cert.pem")
input(type="imtcp" address="127.0.0.1" port="{port}" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
"#
                    ),
                )
            }
        };
        // Only the two network inputs: no local socket, no journal, no kernel log, so the
        // file holds what the tests sent and rsyslog's own messages at most.
        let conf = format!(
            r#"global(workDirectory="{d}" maxMessageSize="64k")
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="127.0.0.1" port="{udp}")
input(type="imtcp" address="127.0.0.1" port="{tcp}")
{tls_conf}template(name="fields" type="string" string="{TEMPLATE}")
action(type="omfile" file="{d}/received.log" template="fields")
"#
        );
        std::fs::write(dir.path().join("rsyslog.conf"), conf).unwrap();
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
        let child = Command::new(rsyslogd())
            .arg("-n")
            .arg("-f")
            .arg(dir.path().join("rsyslog.conf"))
            .arg("-i")
            .arg(dir.path().join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("starting rsyslogd (Debian package `rsyslog`)");
        let mut r = Rsyslog {
            child,
            dir,
            udp,
            tcp,
            tls: tls_port,
        };
        r.wait_until_listening().await;
        r
    }

    /// Sends probes on both inputs until rsyslog has written one from each.
    async fn wait_until_listening(&mut self) {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut tcp_sent = false;
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "rsyslogd exited ({status}): {}",
                    std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
                );
            }
            let _ = udp.send_to(
                format!("<14>1 - - {PROBE_APP} - - - udp").as_bytes(),
                ("127.0.0.1", self.udp),
            );
            if !tcp_sent {
                if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.tcp)) {
                    let _ = s.write_all(format!("<14>1 - - {PROBE_APP} - - - tcp\n").as_bytes());
                    tcp_sent = true;
                }
            }
            let probes: Vec<String> = self
                .all_records()
                .into_iter()
                .filter(|r| r.app == PROBE_APP)
                .map(|r| r.msg)
                .collect();
            if probes.iter().any(|m| m == "udp") && probes.iter().any(|m| m == "tcp") {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "rsyslogd did not start listening"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn all_records(&self) -> Vec<Record> {
        read_records(&self.dir.path().join("received.log"))
    }

    /// What arrived from the forwarder, in order.
    fn records(&self) -> Vec<Record> {
        self.all_records()
            .into_iter()
            .filter(|r| r.app != PROBE_APP && r.app != "rsyslogd")
            .collect()
    }

    /// Waits for a record whose text is `text`, and returns every record up to then.
    async fn until(&self, text: &str) -> Vec<Record> {
        let mut got = Vec::new();
        eventually(&format!("rsyslog to receive {text:?}"), || {
            got = self.records();
            got.iter().any(|r| r.msg == text)
        })
        .await;
        got
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_records(path: &Path) -> Vec<Record> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.splitn(8, '|').collect();
            assert_eq!(f.len(), 8, "unexpected line {line:?}");
            let app = f[4].to_string();
            // rsyslog keeps the space after a BSD message's `TAG:` in its text.
            let msg = f[7].strip_prefix(' ').unwrap_or(f[7]).to_string();
            Record {
                pri: f[0].parse().unwrap(),
                facility: f[1].parse().unwrap(),
                severity: f[2].parse().unwrap(),
                host: f[3].to_string(),
                app,
                msgid: f[5].to_string(),
                procid: f[6].to_string(),
                msg,
            }
        })
        .collect()
}

fn find<'a>(records: &'a [Record], text: &str) -> &'a Record {
    records
        .iter()
        .find(|r| r.msg == text)
        .unwrap_or_else(|| panic!("no record {text:?} in {records:#?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn udp_bsd() {
    let rs = Rsyslog::start().await;
    let fwd = Forwarder::start(None);
    fwd.set_targets(vec![target(
        "127.0.0.1",
        rs.udp,
        Transport::Udp,
        Format::Bsd,
    )]);
    let mut m = message(Severity::Notice, "hello over UDP in BSD");
    m.facility = 16;
    fwd.send(m);
    let got = rs.until("hello over UDP in BSD").await;
    let r = find(&got, "hello over UDP in BSD");
    assert_eq!(
        (r.pri, r.facility, r.severity),
        (16 * 8 + 5, 16, 5),
        "{r:?}"
    );
    assert_eq!((r.host.as_str(), r.app.as_str()), ("node-a", "tvcs"));
    assert_eq!(fwd.stats()[0].sent, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn udp_ietf() {
    let rs = Rsyslog::start().await;
    let fwd = Forwarder::start(None);
    fwd.set_targets(vec![target(
        "127.0.0.1",
        rs.udp,
        Transport::Udp,
        Format::Ietf,
    )]);
    let mut m = message(Severity::Error, "caf\u{e9} \u{260e} over UDP in IETF");
    m.facility = 22;
    m.msgid = Some("CallAttempt".into());
    fwd.send(m);
    // Non-ASCII text goes with the BOM, which rsyslog keeps at the start of the text.
    let want = "\u{feff}caf\u{e9} \u{260e} over UDP in IETF";
    let got = rs.until(want).await;
    let r = find(&got, want);
    assert_eq!((r.pri, r.facility, r.severity), (22 * 8 + 3, 22, 3));
    assert_eq!((r.host.as_str(), r.app.as_str()), ("node-a", "tvcs"));
    assert_eq!(r.msgid, "CallAttempt");
    assert_eq!(r.procid, std::process::id().to_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn udp_long_messages_are_cut_to_the_datagram_limit() {
    let rs = Rsyslog::start().await;
    let fwd = Forwarder::start(None);
    fwd.set_targets(vec![
        target("127.0.0.1", rs.udp, Transport::Udp, Format::Bsd),
        target("127.0.0.1", rs.udp, Transport::Udp, Format::Ietf),
    ]);
    let long: String = (0..5000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let m = message(Severity::Warning, &long);
    let header_len = |f: Format| format(&m, f).len() - long.len();
    fwd.send(m.clone());
    let mut got = Vec::new();
    eventually("both long messages", || {
        got = rs.records();
        got.len() >= 2
    })
    .await;
    let mut lengths: Vec<usize> = got.iter().map(|r| r.msg.len()).collect();
    lengths.sort();
    // BSD's text loses the space rsyslog keeps after the tag (stripped by `read_records`).
    let mut want = vec![
        1024 - header_len(Format::Bsd),
        2048 - header_len(Format::Ietf),
    ];
    want.sort();
    assert_eq!(lengths, want);
    assert!(got.iter().all(|r| long.starts_with(&r.msg)));
}

#[tokio::test(flavor = "multi_thread")]
async fn tcp_octet_counted_ietf() {
    let rs = Rsyslog::start().await;
    let fwd = Forwarder::start(None);
    // A name rather than an address: looked up on connecting, trying each address it has
    // (rsyslog listens on 127.0.0.1 only, and `localhost` may come first as ::1).
    fwd.set_targets(vec![target(
        "localhost",
        rs.tcp,
        Transport::Tcp,
        Format::Ietf,
    )]);
    let long = "x".repeat(5000);
    for (i, text) in ["first line\nsecond line", &long, "last over TCP"]
        .iter()
        .enumerate()
    {
        let mut m = message(Severity::Informational, text);
        m.msgid = Some(format!("Event{i}"));
        m.facility = 17;
        fwd.send(m);
    }
    let got = rs.until("last over TCP").await;
    assert_eq!(got.len(), 3, "{got:#?}");
    // The line break is escaped before sending, so the message stays whole.
    assert_eq!(got[0].msg, "first line#012second line");
    assert_eq!(got[1].msg, long, "streams are not cut at the UDP limit");
    for (i, r) in got.iter().enumerate() {
        assert_eq!((r.pri, r.facility, r.severity), (17 * 8 + 6, 17, 6));
        assert_eq!(r.msgid, format!("Event{i}"));
        assert_eq!(r.app, "tvcs");
        assert_eq!(r.host, "node-a");
    }
    let s = &fwd.stats()[0];
    assert!(s.connected, "{s:?}");
    assert_eq!(s.sent, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn tcp_lf_framed_bsd() {
    let rs = Rsyslog::start().await;
    let fwd = Forwarder::start(None);
    fwd.set_targets(vec![target(
        "127.0.0.1",
        rs.tcp,
        Transport::Tcp,
        Format::Bsd,
    )]);
    fwd.send(message(Severity::Critical, "one\ntwo"));
    fwd.send(message(Severity::Alert, "bsd over TCP done"));
    let got = rs.until("bsd over TCP done").await;
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[0].msg, "one#012two");
    assert_eq!((got[0].facility, got[0].severity), (16, 2));
    assert_eq!((got[1].facility, got[1].severity), (16, 1));
    assert!(got.iter().all(|r| r.host == "node-a" && r.app == "tvcs"));
}

#[tokio::test(flavor = "multi_thread")]
async fn filtered_messages_never_arrive() {
    let rs = Rsyslog::start().await;
    let fwd = Forwarder::start(None);
    let mut t = target("127.0.0.1", rs.tcp, Transport::Tcp, Format::Ietf);
    t.max_severity = Severity::Warning;
    t.keywords = vec!["alpha".into(), "Gamma Ray".into()];
    let mut udp = target("127.0.0.1", rs.udp, Transport::Udp, Format::Bsd);
    udp.max_severity = Severity::Error;
    fwd.set_targets(vec![t, udp]);
    let sent = [
        (Severity::Error, "ALPHA passes both"),
        (Severity::Notice, "alpha too mild"),
        (Severity::Warning, "beta has no keyword"),
        (Severity::Warning, "a gamma ray passes TCP only"),
        (Severity::Debug, "gamma ray debug"),
        (Severity::Emergency, "alpha end"),
    ];
    for (s, text) in sent {
        fwd.send(message(s, text));
    }
    // The last message passes both targets; each target sends in order.
    let mut got = Vec::new();
    eventually("both copies of the last message", || {
        got = rs.records();
        got.iter().filter(|r| r.msg == "alpha end").count() == 2
    })
    .await;
    let mut texts: Vec<&str> = got.iter().map(|r| r.msg.as_str()).collect();
    texts.sort();
    assert_eq!(
        texts,
        [
            "ALPHA passes both",
            "ALPHA passes both",
            "a gamma ray passes TCP only",
            "alpha end",
            "alpha end",
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn queued_while_the_server_is_down_then_delivered() {
    let (udp, tcp) = (free_udp_port(), free_tcp_port());
    let fwd = Forwarder::start(None);
    fwd.set_targets(vec![target("127.0.0.1", tcp, Transport::Tcp, Format::Ietf)]);
    let texts: Vec<String> = (0..50).map(|i| format!("queued message {i}")).collect();
    for t in &texts {
        fwd.send(message(Severity::Warning, t));
    }
    eventually("the refused connection to show", || {
        fwd.stats()[0].last_error.is_some()
    })
    .await;
    let s = &fwd.stats()[0];
    assert!(!s.connected);
    assert_eq!((s.sent, s.queued, s.dropped), (0, 50, 0), "{s:?}");

    let rs = Rsyslog::start_on(udp, tcp).await;
    let got = rs.until("queued message 49").await;
    let arrived: Vec<&str> = got.iter().map(|r| r.msg.as_str()).collect();
    assert_eq!(arrived, texts, "every queued message, in order");
    eventually("the counters to catch up", || fwd.stats()[0].sent == 50).await;
    assert!(fwd.stats()[0].connected);
}

#[test]
fn records_parse() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("r.log");
    std::fs::write(&p, "165|20|5|h|app|-|-| a|b\n").unwrap();
    let r = read_records(&p);
    assert_eq!(r[0].msg, "a|b");
    assert_eq!(r[0].pri, 165);
}

/// RFC 5425 to rsyslog's GnuTLS input: the forwarder checks rsyslog's certificate against the
/// trust store, and rsyslog reads the octet-counted frames.
#[tokio::test(flavor = "multi_thread")]
async fn tls_to_rsyslog_gnutls() {
    let ca = common::Authority::new("rsyslog test authority");
    let (cert, key) = ca.issue_pem("127.0.0.1", 5);
    let rs = Rsyslog::start_tls(&cert, &key).await;
    let port = rs.tls.unwrap();
    let fwd = Forwarder::start(Some(
        causeway_syslog::client_config(ca.roots(), Vec::new()).unwrap(),
    ));
    fwd.set_targets(vec![target(
        "127.0.0.1",
        port,
        Transport::Tls,
        Format::Ietf,
    )]);
    let mut m = message(Severity::Warning, "over TLS to rsyslog");
    m.msgid = Some("TlsCheck".into());
    fwd.send(m);
    fwd.send(message(Severity::Error, "second over TLS"));
    let got = rs.until("second over TLS").await;
    let first = find(&got, "over TLS to rsyslog");
    assert_eq!(
        (
            first.facility,
            first.severity,
            first.host.as_str(),
            first.app.as_str(),
            first.msgid.as_str()
        ),
        (16, 4, "node-a", "tvcs", "TlsCheck")
    );
    eventually("the counters", || fwd.stats()[0].sent == 2).await;
    assert!(fwd.stats()[0].connected);

    // A forwarder that trusts another authority sends rsyslog nothing.
    let other = common::Authority::new("another authority");
    let fwd = Forwarder::start(Some(
        causeway_syslog::client_config(other.roots(), Vec::new()).unwrap(),
    ));
    fwd.set_targets(vec![target(
        "127.0.0.1",
        port,
        Transport::Tls,
        Format::Ietf,
    )]);
    fwd.send(message(Severity::Warning, "must not arrive"));
    eventually("the refused handshake to show", || {
        fwd.stats()[0].last_error.is_some()
    })
    .await;
    assert!(!rs.records().iter().any(|r| r.msg == "must not arrive"));
}
