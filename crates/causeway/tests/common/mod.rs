//! Drives the real `causeway` binary in a temporary data directory.

#![allow(dead_code)]

pub mod h323;

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_causeway")
}

pub struct Node {
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub server: Option<Child>,
    /// Run the server inside this network namespace.
    pub netns: Option<String>,
    /// Arguments after `serve --data-dir DIR`: by default no management listeners, which tests
    /// running side by side would otherwise fight over (ports 443, 80 and 22).
    pub serve_args: Vec<String>,
}

impl Node {
    pub fn new() -> Node {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        Node {
            _tmp: tmp,
            dir,
            server: None,
            netns: None,
            serve_args: [
                "--https-listen",
                "off",
                "--http-listen",
                "off",
                "--ssh-listen",
                "off",
            ]
            .map(String::from)
            .to_vec(),
        }
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin());
        c.env_remove("CAUSEWAY_DATA_DIR");
        c.env("RUST_BACKTRACE", "0");
        c
    }

    /// Runs one line; returns (exit success, stdout).
    pub fn cli(&self, line: &str) -> (bool, String) {
        let out = self
            .cmd()
            .arg("cli")
            .arg("--data-dir")
            .arg(&self.dir)
            .arg(line)
            .output()
            .unwrap();
        assert!(
            out.stderr.is_empty(),
            "stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), String::from_utf8(out.stdout).unwrap())
    }

    /// Runs one line that must succeed.
    pub fn ok(&self, line: &str) -> String {
        let (ok, text) = self.cli(line);
        assert!(ok, "{line}\n{text}");
        assert!(text.ends_with("OK\n"), "{line}\n{text}");
        text
    }

    /// Runs one line that must fail.
    pub fn err(&self, line: &str) -> String {
        let (ok, text) = self.cli(line);
        assert!(!ok, "{line} should fail\n{text}");
        assert!(text.contains("(status=Error)"), "{text}");
        text
    }

    /// Feeds lines on standard input; returns (exit success, responses one per line).
    pub fn script(&self, lines: &[String]) -> (bool, Vec<String>) {
        let mut child = self
            .cmd()
            .arg("cli")
            .arg("--data-dir")
            .arg(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let input = lines.join("\n") + "\n";
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let out: Output = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        assert!(
            out.stderr.is_empty(),
            "stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let responses = split_responses(&text);
        assert_eq!(
            responses.len(),
            lines.len(),
            "one response per line:\n{text}"
        );
        (out.status.success(), responses)
    }

    /// The value printed for one element (`*c xConfiguration PATH: VALUE`).
    pub fn value(&self, path: &str) -> String {
        let text = self.ok(&format!("xConfiguration {path}"));
        printed_value(&text, path)
    }

    pub fn start(&mut self) -> String {
        assert!(self.server.is_none());
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, bin()]);
                c.env_remove("CAUSEWAY_DATA_DIR").env("RUST_BACKTRACE", "0");
                c
            }
            None => self.cmd(),
        };
        let mut child = cmd
            .arg("serve")
            .arg("--data-dir")
            .arg(&self.dir)
            .args(&self.serve_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let sock = self.dir.join("control.sock");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::os::unix::net::UnixStream::connect(&sock).is_err() {
            assert!(Instant::now() < deadline, "server did not start");
            if let Some(status) = child.try_wait().unwrap() {
                panic!("server exited: {status}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let stdout = child.stdout.take();
        self.server = Some(child);
        // What the server printed before it listened (the first-start banner), without blocking.
        let _ = stdout;
        String::new()
    }

    /// SIGTERM and wait; returns whether it exited successfully.
    pub fn stop(&mut self) -> bool {
        let mut child = self.server.take().expect("server running");
        signal(&child, libc_sigterm());
        wait_exit(&mut child, Duration::from_secs(20)).success()
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        let mut child = self.server.take().expect("server running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The event log (`causeway log`), filtered by `grep` when given.
    pub fn event_log(&self, grep: Option<&str>) -> String {
        let mut c = self.cmd();
        c.arg("log");
        if let Some(g) = grep {
            c.args(["--grep", g]);
        }
        let out = c.arg("--data-dir").arg(&self.dir).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    /// The number of the first registration `xStatus Registrations` lists.
    pub fn first_registration(&self) -> u32 {
        let t = self.ok("xStatus Registrations");
        t.lines()
            .find_map(|l| {
                l.strip_prefix("*s Registrations Registration ")
                    .and_then(|r| r.split(' ').next())
            })
            .unwrap_or_else(|| panic!("no registration in {t}"))
            .parse()
            .unwrap()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut c) = self.server.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn libc_sigterm() -> i32 {
    15
}

pub fn signal(child: &Child, sig: i32) {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

pub fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(Instant::now() < deadline, "process did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Splits concatenated responses: each ends with `OK`, or with the `*r/end` of an error record.
pub fn split_responses(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_error = false;
    for line in text.lines() {
        cur.push_str(line);
        cur.push('\n');
        if line.starts_with("*r ") && line.ends_with("(status=Error):") {
            in_error = true;
        }
        if line == "OK" || (in_error && line == "*r/end") {
            out.push(std::mem::take(&mut cur));
            in_error = false;
        }
    }
    assert!(cur.is_empty(), "unterminated response: {cur}");
    out
}

/// The value in a `*c xConfiguration PATH: VALUE` line.
pub fn printed_value(text: &str, path: &str) -> String {
    let prefix = format!("*c xConfiguration {path}:");
    let line = text
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no line for {path} in\n{text}"));
    line[prefix.len()..].trim_start().to_string()
}

/// The reference's elements, read straight from the spec file (not from the generated table).
pub fn spec() -> Vec<serde_json::Value> {
    let text = include_str!("../../../config/spec/xconfiguration.json");
    serde_json::from_str(text).unwrap()
}

/// A concrete path for a spec element, with each index at its lowest value.
pub fn concrete(e: &serde_json::Value) -> String {
    let path = e["path"].as_str().unwrap();
    let mut idx = e["indices"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter();
    path.split(' ')
        .map(|w| {
            if w.starts_with('[') || w == "<index>" {
                let i = idx.next().unwrap();
                i["min"].as_u64().unwrap_or(1).to_string()
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A port free for both UDP and TCP on loopback, in the range SIP ports accept.
pub fn free_port() -> u16 {
    loop {
        let t = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = t.local_addr().unwrap().port();
        if (1024..=65534).contains(&p) && std::net::UdpSocket::bind(("127.0.0.1", p)).is_ok() {
            return p;
        }
    }
}

/// A running node with SIP on a free UDP/TCP port and `example.com` as its domain. A port picked
/// as free can be taken by another test before the server binds it, so the node is started
/// again on other ports until it answers OPTIONS.
pub fn sip_node() -> (Node, u16) {
    sip_node_for("example.com")
}

/// [`sip_node`] with another SIP domain.
pub fn sip_node_for(domain: &str) -> (Node, u16) {
    for _ in 0..5 {
        let mut node = Node::new();
        let port = free_port();
        for line in [
            "xConfiguration SIP Mode: On".to_string(),
            "xConfiguration SIP UDP Mode: On".into(),
            format!("xConfiguration SIP UDP Port: {port}"),
            "xConfiguration SIP TCP Mode: On".into(),
            format!("xConfiguration SIP TCP Port: {port}"),
            format!("xConfiguration SIP TLS Port: {}", free_port()),
            format!("xCommand DomainAdd Name: \"{domain}\""),
        ] {
            node.ok(&line);
        }
        node.start();
        if answers_options(port) && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (node, port);
        }
        node.stop();
    }
    panic!("no SIP node could be started");
}

/// Whether a SIP server answers OPTIONS on UDP `port` within a few seconds.
pub fn answers_options(port: u16) -> bool {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let me = sock.local_addr().unwrap();
    let msg = format!(
        "OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKprobe{}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:probe@example.com>;tag=p\r\nTo: <sip:example.com>\r\n\
         Call-ID: probe-{}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        me.port(),
        me.port()
    );
    let mut buf = [0u8; 4096];
    for _ in 0..15 {
        let _ = sock.send_to(msg.as_bytes(), ("127.0.0.1", port));
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            return buf[..n].starts_with(b"SIP/2.0 200");
        }
    }
    false
}

/// A UDP peer that writes SIP by hand.
pub struct Peer {
    pub sock: UdpSocket,
    pub server: SocketAddr,
}

impl Peer {
    pub fn new(port: u16) -> Peer {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Peer {
            sock,
            server: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.sock.local_addr().unwrap()
    }

    pub fn send(&self, msg: &str) {
        let msg = msg.replace("\n", "\r\n").replace("\r\r\n", "\r\n");
        self.sock.send_to(msg.as_bytes(), self.server).unwrap();
    }

    /// The next message, skipping 100 Trying.
    pub fn recv(&self) -> String {
        let mut buf = vec![0u8; 65536];
        loop {
            let (n, _) = self.sock.recv_from(&mut buf).expect("a message in time");
            let text = String::from_utf8_lossy(&buf[..n]).to_string();
            if !text.starts_with("SIP/2.0 100 ") {
                return text;
            }
        }
    }

    pub fn silent(&self) -> bool {
        self.sock
            .set_read_timeout(Some(Duration::from_millis(700)))
            .unwrap();
        let mut buf = vec![0u8; 65536];
        let quiet = loop {
            match self.sock.recv_from(&mut buf) {
                Ok((n, _)) if buf[..n].starts_with(b"SIP/2.0 100 ") => continue,
                Ok(_) => break false,
                Err(_) => break true,
            }
        };
        self.sock
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        quiet
    }
}

pub fn status(resp: &str) -> u16 {
    resp.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

pub fn request(method: &str, uri: &str, peer: &Peer, call: &str, extra: &str) -> String {
    let me = peer.addr();
    format!(
        "{method} {uri} SIP/2.0\n\
         Via: SIP/2.0/UDP {me};branch=z9hG4bK{call}{method}\n\
         Max-Forwards: 70\n\
         From: <sip:caller@example.com>;tag=f{call}\n\
         To: <{uri}>\n\
         Call-ID: {call}\n\
         CSeq: 1 {method}\n\
         Contact: <sip:caller@{me}>\n\
         {extra}Content-Length: 0\n\n"
    )
    .replace("\n\n\n", "\n\n")
    .replace("{extra}", "")
}

/// A peer registered as `user@example.com` at its own address.
pub fn registered(port: u16, user: &str) -> Peer {
    let p = Peer::new(port);
    let me = p.addr();
    p.send(&format!(
        "REGISTER sip:example.com SIP/2.0\n\
         Via: SIP/2.0/UDP {me};branch=z9hG4bKreg{user}\n\
         Max-Forwards: 70\n\
         From: <sip:{user}@example.com>;tag=r\n\
         To: <sip:{user}@example.com>\n\
         Call-ID: reg-{user}\n\
         CSeq: 1 REGISTER\n\
         Contact: <sip:{user}@{me}>\n\
         Expires: 60\n\
         Content-Length: 0\n\n"
    ));
    assert_eq!(status(&p.recv()), 200);
    p
}

/// A network namespace that is removed when dropped.
pub struct Netns(pub String);

impl Netns {
    /// A namespace with loopback up and a veth pair, `v0` addressed 10.254.0.1/24.
    pub fn new() -> Netns {
        let name = format!("cw-{}-{}", std::process::id(), free_port());
        let run = |args: &[&str]| {
            let st = Command::new("ip")
                .args(args)
                .status()
                .expect("ip (iproute2) is installed");
            assert!(st.success(), "ip {args:?} (the tests run as root)");
        };
        run(&["netns", "add", &name]);
        let ns = Netns(name.clone());
        let inside = |args: &[&str]| {
            let mut a = vec!["netns", "exec", name.as_str(), "ip"];
            a.extend_from_slice(args);
            run(&a);
        };
        inside(&["link", "set", "lo", "up"]);
        inside(&["link", "add", "v0", "type", "veth", "peer", "name", "v1"]);
        inside(&["addr", "add", "10.254.0.1/24", "dev", "v0"]);
        inside(&["link", "set", "v0", "up"]);
        inside(&["link", "set", "v1", "up"]);
        ns
    }

    /// Runs `ip ARGS` inside the namespace.
    pub fn ip(&self, args: &[&str]) {
        let st = Command::new("ip")
            .args(["netns", "exec", &self.0, "ip"])
            .args(args)
            .status()
            .unwrap();
        assert!(st.success(), "ip {args:?} in {}", self.0);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// dnsmasq answering for `domain` with `records` on 127.0.0.`last`:53; killed when dropped.
pub struct Dns(std::process::Child);

impl Drop for Dns {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn dnsmasq(last: u8, domain: &str, records: &[String]) -> Dns {
    let bin = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .expect("dnsmasq is installed (scripts/test installs dnsmasq-base)");
    let child = std::process::Command::new(bin)
        .args([
            "--no-daemon",
            "--port=53",
            &format!("--listen-address=127.0.0.{last}"),
            "--bind-interfaces",
            "--no-resolv",
            "--no-hosts",
            "--conf-file=/dev/null",
            "--pid-file=",
            &format!("--local=/{domain}/"),
        ])
        .args(records)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("dnsmasq starts");
    for _ in 0..100 {
        if UdpSocket::bind(format!("127.0.0.{last}:53")).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Dns(child)
}

/// A policy server: answers every request with `cpl` and hands each request (head and body)
/// to the test.
pub fn policy_server(cpl: &'static str) -> (u16, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                head += &line;
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let _ = tx.send(format!("{head}\n{}", String::from_utf8_lossy(&body)));
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{cpl}",
                cpl.len()
            );
        }
    });
    (port, rx)
}

/// Registers `user@example.com` at `contact`, from a socket of its own, and waits for the 200.
pub fn register_contact(port: u16, user: &str, contact: &str, cseq: u32, expires: u32) {
    let p = Peer::new(port);
    let me = p.addr();
    p.send(&format!(
        "REGISTER sip:example.com SIP/2.0\n\
         Via: SIP/2.0/UDP {me};branch=z9hG4bKreg{user}\n\
         Max-Forwards: 70\n\
         From: <sip:{user}@example.com>;tag=r\n\
         To: <sip:{user}@example.com>\n\
         Call-ID: reg-{user}\n\
         CSeq: {cseq} REGISTER\n\
         Contact: <{contact}>\n\
         Expires: {expires}\n\
         Content-Length: 0\n\n"
    ));
    assert_eq!(status(&p.recv()), 200);
}

/// Bob registers at a peer of his own; the caller calls him and he answers 200.
pub fn connected_call(port: u16, call: &str) -> (Peer, Peer) {
    let callee = Peer::new(port);
    register_contact(port, "bob", &format!("sip:bob@{}", callee.addr()), 1, 60);
    let caller = Peer::new(port);
    caller.send(&request("INVITE", "sip:bob@example.com", &caller, call, ""));
    // The callee answers 200 with its tag; the proxy passes it back.
    let inv = callee.recv();
    assert!(inv.starts_with("INVITE "), "{inv}");
    let mut ok = String::from("SIP/2.0 200 OK\r\n");
    for l in inv.lines().filter(|l| {
        ["Via:", "From:", "To:", "Call-ID:", "CSeq:", "Record-Route:"]
            .iter()
            .any(|h| l.starts_with(h))
    }) {
        if l.starts_with("To:") {
            ok.push_str(&format!("{l};tag=callee\r\n"));
        } else {
            ok.push_str(l);
            ok.push_str("\r\n");
        }
    }
    ok.push_str(&format!(
        "Contact: <sip:bob@{}>\r\nContent-Length: 0\r\n\r\n",
        callee.addr()
    ));
    callee
        .sock
        .send_to(ok.as_bytes(), ("127.0.0.1", port))
        .unwrap();
    let r = caller.recv();
    assert_eq!(status(&r), 200, "{r}");
    (caller, callee)
}
