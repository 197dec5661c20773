//! The H.323 test endpoint (`tests/h323/endpoint.py`, on pycrate's aligned-PER codec) driven
//! from Rust, and a causeway node with its gatekeeper on free ports.

use super::{free_port, Node};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

pub fn script(name: &str) -> String {
    format!("{}/tests/h323/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// One endpoint process. Commands and answers are JSON lines.
pub struct Endpoint {
    child: Child,
    stdin: ChildStdin,
    out: BufReader<ChildStdout>,
    /// Its RAS and call signalling addresses, `ip:port`.
    pub ras: String,
    pub cs: String,
}

impl Endpoint {
    /// An endpoint on `bind` (a loopback address) whose gatekeeper is at 127.0.0.1:`gk_port`.
    pub fn start(gk_port: u16, bind: &str) -> Endpoint {
        Endpoint::spawn(None, &format!("127.0.0.1:{gk_port}"), bind)
    }

    /// An endpoint inside network namespace `netns`, with its gatekeeper at `gk`.
    pub fn start_in(netns: &str, gk: &str, bind: &str) -> Endpoint {
        Endpoint::spawn(Some(netns), gk, bind)
    }

    fn spawn(netns: Option<&str>, gk: &str, bind: &str) -> Endpoint {
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, "python3"]);
                c
            }
            None => Command::new("python3"),
        };
        let mut child = cmd
            .arg(script("endpoint.py"))
            .args(["--gk", gk, "--bind", bind])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs the H.323 test endpoint");
        let stdin = child.stdin.take().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let ready: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("endpoint did not start ({e}): {line:?}"));
        assert_eq!(ready["ready"], true, "{ready}");
        Endpoint {
            ras: ready["ras"].as_str().unwrap().to_string(),
            cs: ready["cs"].as_str().unwrap().to_string(),
            child,
            stdin,
            out,
        }
    }

    /// Sends one command; the answer must be `ok`.
    pub fn cmd(&mut self, command: Value) -> Value {
        let v = self.try_cmd(command.clone());
        assert_eq!(v["ok"], true, "{command} -> {v}");
        v
    }

    pub fn try_cmd(&mut self, command: Value) -> Value {
        writeln!(self.stdin, "{command}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{command} -> {line:?}: {e}"))
    }

    /// The answer message of a RAS command (`null` when none came).
    pub fn ras(&mut self, command: Value) -> Value {
        self.cmd(command)["msg"].clone()
    }

    /// The next message the gatekeeper sent on its own, within `secs`.
    pub fn recv(&mut self, secs: f64) -> Value {
        self.cmd(json!({"op": "recv", "timeout": secs}))["msg"].clone()
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A message's type and value, checked: `msg` must be of type `kind`.
pub fn expect<'a>(msg: &'a Value, kind: &str) -> &'a Value {
    assert_eq!(msg["type"], kind, "{msg}");
    &msg["value"]
}

/// A node with H.323 on: the gatekeeper's RAS and call signalling ports are free ports,
/// and the system name is `cw-gk`. Extra configuration lines run before the start.
pub fn h323_node(extra: &[&str]) -> (Node, u16, u16) {
    for _ in 0..5 {
        let mut node = Node::new();
        let ras = free_port();
        let cs = free_port();
        for line in [
            "xConfiguration SystemUnit Name: \"cw-gk\"".to_string(),
            "xConfiguration H323 Mode: On".into(),
            format!("xConfiguration H323 Gatekeeper Registration UDP Port: {ras}"),
            format!("xConfiguration H323 Gatekeeper CallSignaling TCP Port: {cs}"),
        ]
        .iter()
        .map(String::as_str)
        .chain(extra.iter().copied())
        {
            node.ok(line);
        }
        node.start();
        if answers_grq(ras) {
            return (node, ras, cs);
        }
        node.stop();
    }
    panic!("no H.323 node could be started");
}

/// Whether a UDP socket is bound to `port` within a few seconds (the gatekeeper binds it once
/// the server runs). Read from the kernel's socket table: probing by binding the port
/// ourselves could take it from the server.
fn answers_grq(port: u16) -> bool {
    let needle = format!(":{port:04X} ");
    for _ in 0..100 {
        let bound = ["/proc/net/udp", "/proc/net/udp6"].iter().any(|f| {
            std::fs::read_to_string(f).is_ok_and(|t| {
                t.lines()
                    .filter_map(|l| l.split_whitespace().nth(1))
                    .any(|local| format!("{local} ").ends_with(&needle))
            })
        });
        if bound {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A capture of loopback traffic on some ports, dissected with tshark afterwards.
pub struct Capture {
    child: Child,
    file: tempfile::NamedTempFile,
}

impl Capture {
    /// Starts capturing UDP and TCP traffic on `ports`.
    pub fn start(ports: &[u16]) -> Capture {
        let file = tempfile::Builder::new().suffix(".pcap").tempfile().unwrap();
        let filter = ports
            .iter()
            .map(|p| format!("port {p}"))
            .collect::<Vec<_>>()
            .join(" or ");
        let child = Command::new("dumpcap")
            .args(["-q", "-i", "lo", "-f", &filter, "-w"])
            .arg(file.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dumpcap (from tshark) captures on loopback");
        // dumpcap writes the file header once the capture is running.
        for _ in 0..100 {
            if std::fs::metadata(file.path()).map_or(0, |m| m.len()) > 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(200));
        Capture { child, file }
    }

    /// Stops the capture and returns what tshark's H.323 dissectors found wrong (nothing is
    /// good) in the RAS traffic on `ras` and the call signalling on `q931`.
    pub fn problems(mut self, ras: &[u16], q931: &[u16]) -> Vec<String> {
        std::thread::sleep(Duration::from_millis(300));
        super::signal(&self.child, 2);
        let _ = self.child.wait();
        let list = |v: &[u16]| v.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
        let mut args = vec![
            script("tshark_check.py"),
            self.file.path().to_str().unwrap().to_string(),
            format!("ras={}", list(ras)),
        ];
        if !q931.is_empty() {
            args.push(format!("q931={}", list(q931)));
        }
        let out = Command::new("python3").args(&args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        let mut problems: Vec<String> = if out.status.success() {
            Vec::new()
        } else {
            text.lines().map(str::to_string).collect()
        };
        // A capture that caught nothing would pass the check: count the RAS frames too.
        let mut count = Command::new("tshark");
        count.arg("-r").arg(self.file.path());
        for p in ras {
            count.args(["-d", &format!("udp.port=={p},h225")]);
        }
        let frames = count.args(["-Y", "h225"]).output().unwrap();
        if String::from_utf8_lossy(&frames.stdout).lines().count() == 0 {
            problems.push("the capture holds no H.225.0 frame".into());
        }
        problems
    }
}
