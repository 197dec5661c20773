//! Calls across several running proxies joined by neighbor zones: a chain of three causeway
//! nodes, a loop between two, and Kamailio as a foreign neighbor in both directions.
//!
//! Every node and every Kamailio listens on a loopback address of its own (127.0.0.131 and up;
//! other tests use 127.0.0.1, .2, .77 and .78), so that a node tells its neighbors apart by
//! address, as it does on a network. The SIP agents are hand-written and live on 127.0.0.1.

mod common;
use common::{status, Node};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// Proxies

/// A running causeway node bound to one loopback address.
struct Proxy {
    node: Node,
    addr: SocketAddr,
}

impl Proxy {
    fn ok(&self, line: &str) -> String {
        self.node.ok(line)
    }
}

/// A UDP port nobody holds on any address (so that binding it on `ip` succeeds too).
fn free_udp_port(ip: IpAddr) -> u16 {
    loop {
        let s = UdpSocket::bind((ip, 0)).unwrap();
        let p = s.local_addr().unwrap().port();
        drop(s);
        if (1024..=65534).contains(&p) && UdpSocket::bind(("0.0.0.0", p)).is_ok() {
            return p;
        }
    }
}

/// A causeway node on `ip` with SIP over UDP only, serving `domain`. A port picked as free
/// can be taken by another test before the server binds it, so the node is started again on
/// another port until it answers OPTIONS there.
fn proxy(ip: &str, domain: &str) -> Proxy {
    let ip: IpAddr = ip.parse().unwrap();
    for _ in 0..5 {
        let mut node = Node::new();
        let port = free_udp_port(ip);
        for line in [
            format!("xConfiguration Ethernet 1 IP V4 Address: \"{ip}\""),
            "xConfiguration SIP Mode: On".into(),
            "xConfiguration SIP UDP Mode: On".into(),
            format!("xConfiguration SIP UDP Port: {port}"),
            "xConfiguration SIP TCP Mode: Off".into(),
            "xConfiguration SIP TLS Mode: Off".into(),
            format!("xCommand DomainAdd Name: \"{domain}\""),
        ] {
            node.ok(&line);
        }
        node.start();
        let addr = SocketAddr::new(ip, port);
        if options_status(addr) == Some(200) {
            return Proxy { node, addr };
        }
        node.stop();
    }
    panic!("no causeway node could be started on {ip}");
}

/// The status a SIP server at `to` answers an OPTIONS for itself with, if it answers in time.
fn options_status(to: SocketAddr) -> Option<u16> {
    let ua = Ua::new();
    ua.sock
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let me = ua.addr();
    for i in 0..15 {
        ua.send_to(
            &format!(
                "OPTIONS sip:{to} SIP/2.0\n\
                 Via: SIP/2.0/UDP {me};branch=z9hG4bKprobe{i};rport\n\
                 Max-Forwards: 70\n\
                 From: <sip:probe@{me}>;tag=p\n\
                 To: <sip:{to}>\n\
                 Call-ID: probe-{}\n\
                 CSeq: {} OPTIONS\n\
                 Content-Length: 0\n\n",
                me.port(),
                i + 1
            ),
            to,
        );
        let mut buf = vec![0u8; 65536];
        while let Ok((n, _)) = ua.sock.recv_from(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).to_string();
            if text.starts_with("SIP/2.0 ") && status(&text) >= 200 {
                return Some(status(&text));
            }
        }
    }
    None
}

/// Makes `to` neighbor zone `name` of `p` (it must come out as zone row `row`), over UDP,
/// with `hops` as its hop count.
fn neighbor(p: &Proxy, row: u32, name: &str, to: SocketAddr, hops: u8) {
    let t = p.ok(&format!(
        "xCommand ZoneAdd ZoneName: \"{name}\" Type: Neighbor"
    ));
    assert!(t.contains(&format!("ZoneId: {row}")), "{t}");
    let z = format!("xConfiguration Zones Zone {row}");
    for line in [
        format!("{z} HopCount: {hops}"),
        format!("{z} Neighbor Peer 1 Address: \"{}\"", to.ip()),
        format!("{z} Neighbor SIP Port: {}", to.port()),
        format!("{z} Neighbor SIP Transport: UDP"),
    ] {
        p.ok(&line);
    }
}

/// A search rule sending aliases that match the regular expression `regex` (left as they
/// are) to `zone`, with more `fields`. Returns its row.
fn rule(p: &Proxy, name: &str, regex: &str, zone: &str, fields: &[(&str, &str)]) -> u32 {
    let t = p.ok(&format!(
        "xCommand SearchRuleAdd Name: \"{name}\" ZoneName: \"{zone}\""
    ));
    let row: u32 = t
        .lines()
        .find_map(|l| l.split("SearchRuleId: ").nth(1))
        .unwrap_or_else(|| panic!("no rule id in {t}"))
        .trim()
        .parse()
        .unwrap();
    let mut all = vec![
        ("Mode", "AliasPatternMatch"),
        ("Pattern Type", "Regex"),
        ("Pattern String", regex),
        ("Pattern Behavior", "Leave"),
    ];
    all.extend_from_slice(fields);
    for (k, v) in all {
        p.ok(&format!(
            "xConfiguration Zones Policy SearchRules Rule {row} {k}: \"{v}\""
        ));
    }
    row
}

/// How many searches `xStatus SearchHistory` lists for the call `call_id`.
fn searches_for(p: &Proxy, call_id: &str) -> usize {
    let h = p.ok("xStatus SearchHistory");
    h.lines()
        .filter(|l| l.ends_with(&format!("CallId: \"{call_id}\"")))
        .count()
}

// ---------------------------------------------------------------------------------------
// A SIP user agent written by hand

struct Ua {
    sock: UdpSocket,
}

impl Ua {
    fn new() -> Ua {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(25)))
            .unwrap();
        Ua { sock }
    }

    fn addr(&self) -> SocketAddr {
        self.sock.local_addr().unwrap()
    }

    fn send_to(&self, msg: &str, to: SocketAddr) {
        let msg = msg.replace('\n', "\r\n").replace("\r\r\n", "\r\n");
        self.sock.send_to(msg.as_bytes(), to).unwrap();
    }

    /// The next message and where it came from, if one comes in time.
    fn next(&self) -> Option<(String, SocketAddr)> {
        let mut buf = vec![0u8; 65536];
        let (n, from) = self.sock.recv_from(&mut buf).ok()?;
        Some((String::from_utf8_lossy(&buf[..n]).to_string(), from))
    }

    /// The next final response (provisional ones are skipped).
    fn final_response(&self, what: &str) -> String {
        loop {
            let (m, _) = self
                .next()
                .unwrap_or_else(|| panic!("no final response to {what} in time"));
            if m.starts_with("SIP/2.0 ") && status(&m) >= 200 {
                return m;
            }
        }
    }

    /// The next request of `method`, and where it came from; other messages are skipped.
    fn request(&self, method: &str) -> (String, SocketAddr) {
        loop {
            let (m, from) = self
                .next()
                .unwrap_or_else(|| panic!("no {method} arrived in time"));
            if m.starts_with(&format!("{method} ")) {
                return (m, from);
            }
        }
    }

    /// Whether nothing but provisional responses comes within a second.
    fn silent(&self) -> bool {
        self.sock
            .set_read_timeout(Some(Duration::from_secs(1)))
            .unwrap();
        let quiet = loop {
            match self.next() {
                Some((m, _)) if m.starts_with("SIP/2.0 1") => continue,
                Some(_) => break false,
                None => break true,
            }
        };
        self.sock
            .set_read_timeout(Some(Duration::from_secs(25)))
            .unwrap();
        quiet
    }

    /// Registers `user@domain` at the registrar `at`, with this agent as contact.
    fn register(&self, at: SocketAddr, user: &str, domain: &str) {
        let me = self.addr();
        self.send_to(
            &format!(
                "REGISTER sip:{domain} SIP/2.0\n\
                 Via: SIP/2.0/UDP {me};branch=z9hG4bKreg{user}{};rport\n\
                 Max-Forwards: 70\n\
                 From: <sip:{user}@{domain}>;tag=r{user}\n\
                 To: <sip:{user}@{domain}>\n\
                 Call-ID: reg-{user}-{}\n\
                 CSeq: 1 REGISTER\n\
                 Contact: <sip:{user}@{me}>\n\
                 Expires: 300\n\
                 Content-Length: 0\n\n",
                me.port(),
                me.port()
            ),
            at,
        );
        let r = self.final_response("REGISTER");
        assert_eq!(status(&r), 200, "REGISTER {user}@{domain} at {at}:\n{r}");
    }

    /// Answers `req` (from `from`) with `code`, as its callee: the Vias and the Record-Route
    /// set are echoed, the To gets a tag.
    fn answer(&self, req: &str, from: SocketAddr, code: u16) {
        let mut r = format!("SIP/2.0 {code} Answer\n");
        for l in req.lines() {
            let name = l.split(':').next().unwrap_or("").trim();
            if [
                "via",
                "v",
                "record-route",
                "from",
                "f",
                "call-id",
                "i",
                "cseq",
            ]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h))
            {
                r += l.trim_end();
                r += "\n";
            }
            if name.eq_ignore_ascii_case("to") || name.eq_ignore_ascii_case("t") {
                if l.contains(";tag=") {
                    r += l.trim_end();
                } else {
                    r += &format!("{};tag=callee{}", l.trim_end(), self.addr().port());
                }
                r += "\n";
            }
        }
        r += &format!(
            "Contact: <sip:callee@{}>\nContent-Length: 0\n\n",
            self.addr()
        );
        self.send_to(&r, from);
    }
}

/// The values of header `name` (full name, any case), comma-separated lists split.
fn headers(msg: &str, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for l in msg.lines() {
        let Some((n, v)) = l.split_once(':') else {
            continue;
        };
        if !n.trim().eq_ignore_ascii_case(name) {
            continue;
        }
        // Split at commas outside <...>.
        let (mut depth, mut cur) = (0i32, String::new());
        for c in v.chars() {
            match c {
                '<' => depth += 1,
                '>' => depth -= 1,
                ',' if depth == 0 => {
                    out.push(cur.trim().to_string());
                    cur.clear();
                    continue;
                }
                _ => {}
            }
            cur.push(c);
        }
        if !cur.trim().is_empty() {
            out.push(cur.trim().to_string());
        }
    }
    out
}

fn header(msg: &str, name: &str) -> String {
    headers(msg, name)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no {name} in\n{msg}"))
}

/// The URI inside `<...>` (or the whole value).
fn uri_of(value: &str) -> String {
    match (value.find('<'), value.find('>')) {
        (Some(a), Some(b)) if a < b => value[a + 1..b].to_string(),
        _ => value.split(';').next().unwrap_or(value).trim().to_string(),
    }
}

/// Where a SIP URI's host and port point (numeric hosts only; port 5060 when absent).
fn hop_of(uri: &str) -> SocketAddr {
    let rest = uri.strip_prefix("sip:").unwrap_or(uri);
    let hostport = rest.rsplit('@').next().unwrap();
    let hostport = hostport.split(';').next().unwrap();
    match hostport.parse::<SocketAddr>() {
        Ok(a) => a,
        Err(_) => SocketAddr::new(hostport.parse().expect("a numeric host"), 5060),
    }
}

/// What the two ends saw of one call.
struct Call {
    /// The INVITE as the callee got it.
    invite: String,
    /// The 200 OK as the caller got it.
    ok: String,
}

/// A whole call: `caller` sends an INVITE for `uri` to the proxy `first`, `callee` answers
/// 200, the caller acknowledges and hangs up along the route set the 200 brought (RFC 3261
/// §12.1.2), and the callee gets the ACK and answers the BYE.
fn call(caller: &Ua, from: &str, first: SocketAddr, uri: &str, callee: &Ua, id: &str) -> Call {
    let me = caller.addr();
    let msg = |method: &str, cseq: u32, to_tag: &str, routes: &[String], target: &str| {
        let mut m = format!(
            "{method} {target} SIP/2.0\n\
             Via: SIP/2.0/UDP {me};branch=z9hG4bK{id}{method};rport\n"
        );
        for r in routes {
            m += &format!("Route: {r}\n");
        }
        m += &format!(
            "Max-Forwards: 70\n\
             From: <sip:{from}>;tag=f{id}\n\
             To: <{uri}>{to_tag}\n\
             Call-ID: {id}\n\
             CSeq: {cseq} {method}\n\
             Contact: <sip:caller@{me}>\n\
             Content-Length: 0\n\n"
        );
        m
    };
    caller.send_to(&msg("INVITE", 1, "", &[], uri), first);
    let (invite, inv_from) = callee.request("INVITE");
    callee.answer(&invite, inv_from, 200);
    let ok = caller.final_response("INVITE");
    assert_eq!(status(&ok), 200, "{ok}");
    // The route set is the 200's Record-Route in reverse; the remote target its Contact.
    let mut routes = headers(&ok, "Record-Route");
    routes.reverse();
    let target = uri_of(&header(&ok, "Contact"));
    let to = header(&ok, "To");
    let tag = to
        .split(";tag=")
        .nth(1)
        .unwrap_or_else(|| panic!("no To tag in\n{ok}"));
    let to_tag = format!(";tag={tag}");
    let next = routes
        .first()
        .map(|r| hop_of(&uri_of(r)))
        .unwrap_or_else(|| hop_of(&target));
    caller.send_to(&msg("ACK", 1, &to_tag, &routes, &target), next);
    let (ack, _) = callee.request("ACK");
    assert_eq!(header(&ack, "Call-ID"), id, "{ack}");
    caller.send_to(&msg("BYE", 2, &to_tag, &routes, &target), next);
    let (bye, bye_from) = callee.request("BYE");
    assert_eq!(header(&bye, "Call-ID"), id, "{bye}");
    callee.answer(&bye, bye_from, 200);
    let r = caller.final_response("BYE");
    assert_eq!(status(&r), 200, "BYE: {r}");
    assert!(r.contains("CSeq: 2 BYE"), "{r}");
    Call { invite, ok }
}

fn max_forwards(msg: &str) -> u32 {
    header(msg, "Max-Forwards").parse().unwrap()
}

// ---------------------------------------------------------------------------------------
// Kamailio

/// A Kamailio in its own process group, stopped (the whole group) when dropped.
struct Kamailio {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Kamailio {
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("kamailio.log")).unwrap_or_default()
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-TERM", "--", &group])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Its workers are in the same group; none may outlive the test.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

/// The configuration: a registrar for `domain` keeping its location table in memory, a
/// stateful proxy with record-routing for its own users, and everything else (and every
/// request for other domains) forwarded to `causeway`. OPTIONS for the server itself (what
/// neighbor monitoring sends) are answered 200 at once.
fn kamailio_cfg(domain: &str, causeway: SocketAddr) -> String {
    format!(
        r#"#!KAMAILIO
debug=2
children=2
auto_aliases=no
alias="{domain}"

loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"

modparam("rr", "enable_full_lr", 0)
modparam("rr", "append_fromtag", 0)
modparam("usrloc", "db_mode", 0)
modparam("usrloc", "use_domain", 0)
modparam("registrar", "max_expires", 3600)

request_route {{
    force_rport();
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    if (is_method("OPTIONS") && uri == myself && $rU == $null) {{
        sl_send_reply("200", "OK");
        exit;
    }}
    if (is_method("CANCEL")) {{
        if (t_check_trans()) {{
            t_relay();
        }}
        exit;
    }}
    if (!is_method("ACK")) {{
        if (t_precheck_trans()) {{
            t_check_trans();
            exit;
        }}
        t_check_trans();
    }}
    if (has_totag()) {{
        if (loose_route()) {{
            t_relay();
            exit;
        }}
        if (is_method("ACK")) {{
            if (t_check_trans()) {{
                t_relay();
            }}
            exit;
        }}
        sl_send_reply("404", "Not here");
        exit;
    }}
    remove_hf("Route");
    if (is_method("INVITE|SUBSCRIBE")) {{
        record_route();
    }}
    if (is_method("REGISTER")) {{
        if (!save("location")) {{
            sl_reply_error();
        }}
        exit;
    }}
    if (uri == myself) {{
        if (!lookup("location")) {{
            sl_send_reply("404", "Not Found");
            exit;
        }}
        t_relay();
        exit;
    }}
    # Not ours: the causeway neighbor.
    $du = "sip:{causeway}";
    if (!t_relay()) {{
        sl_reply_error();
    }}
    exit;
}}
"#
    )
}

/// A Kamailio on `ip` serving `domain` and forwarding the rest to `causeway`.
fn kamailio(ip: &str, domain: &str, causeway: SocketAddr) -> Kamailio {
    let bin = [
        "/usr/sbin/kamailio",
        "/usr/local/sbin/kamailio",
        "/usr/bin/kamailio",
    ]
    .into_iter()
    .find(|p| Path::new(p).is_file())
    .expect("kamailio is installed (scripts/test installs it)");
    let ip: IpAddr = ip.parse().unwrap();
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("kamailio.cfg");
        std::fs::write(&cfg, kamailio_cfg(domain, causeway)).unwrap();
        std::fs::create_dir(dir.path().join("run")).unwrap();
        let port = free_udp_port(ip);
        let log = std::fs::File::create(dir.path().join("kamailio.log")).unwrap();
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new(bin)
                .arg("-f")
                .arg(&cfg)
                .args(["-DD", "-E", "-m", "32", "-M", "8"])
                .arg("-l")
                .arg(format!("udp:{ip}:{port}"))
                .arg("-P")
                .arg(dir.path().join("run/kamailio.pid"))
                .arg("-Y")
                .arg(dir.path().join("run"))
                .arg("-w")
                .arg(dir.path())
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .process_group(0)
                .spawn()
                .expect("kamailio starts")
        };
        let k = Kamailio {
            child,
            addr: SocketAddr::new(ip, port),
            dir,
        };
        if options_status(k.addr) == Some(200) {
            return k;
        }
        let mut k = k;
        if let Ok(Some(exit)) = k.child.try_wait() {
            // A bad configuration or a missing module: trying again will not help.
            if !k.log().contains("Address already in use") {
                panic!("kamailio exited ({exit}):\n{}", k.log());
            }
        }
        eprintln!("kamailio on {} did not answer:\n{}", k.addr, k.log());
    }
    panic!("no kamailio could be started on {ip}");
}

// ---------------------------------------------------------------------------------------
// Tests

/// Three nodes in a chain, A → B → C, each finding the next through a search rule for
/// `.*@c.example` towards a neighbor zone; the callee is registered at C. The call is
/// answered end to end, ACK and BYE follow the Record-Route set of all three, and
/// Max-Forwards goes down at each hop as the zones' hop counts say: min(received − 1, zone
/// hop count).
#[test]
fn a_call_crosses_a_chain_of_three_nodes() {
    let a = proxy("127.0.0.131", "a.example");
    let b = proxy("127.0.0.132", "b.example");
    let c = proxy("127.0.0.133", "c.example");
    neighbor(&a, 1, "B", b.addr, 12);
    neighbor(&b, 1, "A", a.addr, 15);
    neighbor(&b, 2, "C", c.addr, 30);
    neighbor(&c, 1, "B", b.addr, 15);
    rule(&a, "c via B", ".*@c\\.example", "B", &[]);
    rule(&b, "c via C", ".*@c\\.example", "C", &[]);
    let callee = Ua::new();
    callee.register(c.addr, "callee", "c.example");
    std::thread::sleep(Duration::from_millis(300));

    // 70 from the caller; A sends min(69, 12) = 12; B min(11, 30) = 11; C to its own
    // registration 10 (the Local Zone has no cap).
    let caller = Ua::new();
    let first = call(
        &caller,
        "caller@a.example",
        a.addr,
        "sip:callee@c.example",
        &callee,
        "chain-1",
    );
    assert_eq!(max_forwards(&first.invite), 10, "{}", first.invite);
    // The INVITE passed all three: each put its Via and Record-Route on it.
    let vias = headers(&first.invite, "Via");
    assert_eq!(vias.len(), 4, "{}", first.invite);
    for (via, p) in vias.iter().zip([&c, &b, &a]) {
        assert!(via.contains(&p.addr.to_string()), "{via} is not {}", p.addr);
    }
    let rr = headers(&first.ok, "Record-Route");
    assert_eq!(rr.len(), 3, "{}", first.ok);
    for (r, p) in rr.iter().zip([&c, &b, &a]) {
        assert!(r.contains(&p.addr.to_string()), "{r} is not {}", p.addr);
    }
    // Each node searched once for it, and B's search went to zone C with what A left it.
    assert_eq!(searches_for(&a, "chain-1"), 1);
    assert_eq!(searches_for(&b, "chain-1"), 1);
    assert_eq!(searches_for(&c, "chain-1"), 1);
    let hb = b.ok("xStatus SearchHistory");
    assert!(
        hb.contains("ask zone C for callee@c.example (hop count 11)"),
        "{hb}"
    );

    // Now B's zone is the tighter one: A sends min(69, 40) = 40, B min(39, 5) = 5, C 4.
    a.ok("xConfiguration Zones Zone 1 HopCount: 40");
    b.ok("xConfiguration Zones Zone 2 HopCount: 5");
    std::thread::sleep(Duration::from_millis(300));
    let second = call(
        &caller,
        "caller@a.example",
        a.addr,
        "sip:callee@c.example",
        &callee,
        "chain-2",
    );
    assert_eq!(max_forwards(&second.invite), 4, "{}", second.invite);
}

/// A's rule sends `loop@x.example` to its neighbor B, and B's rule sends it back to A. The
/// caller gets a final error promptly, 482 Loop Detected (RFC 3261 §16.3 step 4) or 483 Too
/// Many Hops (the hop count runs out), the nodes pass the INVITE to each other a bounded
/// number of times, and both stay responsive.
#[test]
fn a_loop_between_two_nodes_ends_promptly() {
    let a = proxy("127.0.0.134", "a.example");
    let b = proxy("127.0.0.135", "b.example");
    neighbor(&a, 1, "B", b.addr, 15);
    neighbor(&b, 1, "A", a.addr, 15);
    rule(&a, "loop to B", "loop@x\\.example", "B", &[]);
    rule(&b, "loop to A", "loop@x\\.example", "A", &[]);
    std::thread::sleep(Duration::from_millis(300));

    let caller = Ua::new();
    let me = caller.addr();
    let invite = |method: &str, to_tag: &str| {
        format!(
            "{method} sip:loop@x.example SIP/2.0\n\
             Via: SIP/2.0/UDP {me};branch=z9hG4bKloop1;rport\n\
             Max-Forwards: 70\n\
             From: <sip:caller@a.example>;tag=floop\n\
             To: <sip:loop@x.example>{to_tag}\n\
             Call-ID: loop-1\n\
             CSeq: 1 {method}\n\
             Contact: <sip:caller@{me}>\n\
             Content-Length: 0\n\n"
        )
    };
    let started = Instant::now();
    caller.send_to(&invite("INVITE", ""), a.addr);
    let r = caller.final_response("the looping INVITE");
    let took = started.elapsed();
    let tag = header(&r, "To")
        .split(";tag=")
        .nth(1)
        .map(|t| format!(";tag={t}"))
        .unwrap_or_default();
    caller.send_to(&invite("ACK", &tag), a.addr);
    let code = status(&r);
    // Let anything still going round come to rest before counting.
    std::thread::sleep(Duration::from_secs(1));
    let (na, nb) = (searches_for(&a, "loop-1"), searches_for(&b, "loop-1"));
    eprintln!(
        "loop: caller got {} after {took:?}; searches: A {na}, B {nb}",
        r.lines().next().unwrap_or("")
    );
    assert!(code == 482 || code == 483, "{r}");
    assert!(took < Duration::from_secs(20), "the loop took {took:?}");
    // Each INVITE a node takes on (all but the one refused for its Max-Forwards of 0) is
    // one search there. With hop counts of 15 the hop count ends it after 16; loop
    // detection ends it sooner. Without either the history would fill up (255 kept).
    assert!(na >= 1 && nb >= 1, "A {na}, B {nb}");
    assert!(
        na + nb <= 2 * 17,
        "A {na}, B {nb}: the INVITE went round too often"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        (searches_for(&a, "loop-1"), searches_for(&b, "loop-1")),
        (na, nb),
        "the INVITE is still going round"
    );

    // Both still answer, and A still registers.
    assert_eq!(options_status(a.addr), Some(200));
    assert_eq!(options_status(b.addr), Some(200));
    let ua = Ua::new();
    ua.register(a.addr, "after", "a.example");
}

/// causeway → Kamailio: a caller registered at causeway reaches a user registered at
/// Kamailio through a search rule towards the Kamailio neighbor zone; both record-route, so
/// ACK and BYE go through both.
#[test]
fn causeway_reaches_a_user_registered_at_kamailio() {
    let cw = proxy("127.0.0.136", "cw.example");
    let kam = kamailio("127.0.0.137", "kam.example", cw.addr);
    neighbor(&cw, 1, "Kamailio", kam.addr, 15);
    rule(&cw, "to Kamailio", ".*@kam\\.example", "Kamailio", &[]);
    let bob = Ua::new();
    bob.register(kam.addr, "bob", "kam.example");
    let alice = Ua::new();
    alice.register(cw.addr, "alice", "cw.example");
    std::thread::sleep(Duration::from_millis(300));

    let c = call(
        &alice,
        "alice@cw.example",
        cw.addr,
        "sip:bob@kam.example",
        &bob,
        "cw-to-kam",
    );
    let vias = headers(&c.invite, "Via");
    assert_eq!(vias.len(), 3, "{}", c.invite);
    assert!(vias[0].contains(&kam.addr.to_string()), "{}", c.invite);
    assert!(vias[1].contains(&cw.addr.to_string()), "{}", c.invite);
    // causeway sent the zone's hop count (15); Kamailio took one off.
    assert_eq!(max_forwards(&c.invite), 14, "{}", c.invite);
    let rr = headers(&c.ok, "Record-Route");
    assert_eq!(rr.len(), 2, "{}\n{}", c.ok, kam.log());
    let h = cw.ok("xStatus SearchHistory");
    assert!(
        h.contains("found by zone Kamailio as bob@kam.example"),
        "{h}"
    );
    // Someone Kamailio does not know is not found, and the caller hears so.
    let me = alice.addr();
    alice.send_to(
        &format!(
            "INVITE sip:nobody@kam.example SIP/2.0\n\
             Via: SIP/2.0/UDP {me};branch=z9hG4bKnobody;rport\n\
             Max-Forwards: 70\n\
             From: <sip:alice@cw.example>;tag=fnobody\n\
             To: <sip:nobody@kam.example>\n\
             Call-ID: cw-to-kam-nobody\n\
             CSeq: 1 INVITE\n\
             Contact: <sip:alice@{me}>\n\
             Content-Length: 0\n\n"
        ),
        cw.addr,
    );
    let r = alice.final_response("INVITE for nobody");
    assert_eq!(status(&r), 404, "{r}");
    assert!(bob.silent());
}

/// Kamailio → causeway: a caller at Kamailio calls a user registered at causeway. Kamailio
/// forwards it; causeway takes it as coming from the Kamailio neighbor zone, which the only
/// rule reaching the Local Zone asks for (the factory rule is gone), so the same call sent
/// straight to causeway, from the Default Zone, finds nobody.
#[test]
fn kamailio_reaches_a_user_registered_at_causeway() {
    let cw = proxy("127.0.0.138", "cw.example");
    let kam = kamailio("127.0.0.139", "kam.example", cw.addr);
    neighbor(&cw, 1, "Kamailio", kam.addr, 15);
    cw.ok("xCommand SearchRuleDelete SearchRuleId: 1");
    let row = rule(
        &cw,
        "from Kamailio",
        ".*@cw\\.example",
        "LocalZone",
        &[("Source Mode", "Named"), ("Source Name", "Kamailio")],
    );
    let alice = Ua::new();
    alice.register(cw.addr, "alice", "cw.example");
    std::thread::sleep(Duration::from_millis(300));

    let carol = Ua::new();
    let c = call(
        &carol,
        "carol@kam.example",
        kam.addr,
        "sip:alice@cw.example",
        &alice,
        "kam-to-cw",
    );
    let vias = headers(&c.invite, "Via");
    assert_eq!(vias.len(), 3, "{}", c.invite);
    assert!(vias[0].contains(&cw.addr.to_string()), "{}", c.invite);
    assert!(vias[1].contains(&kam.addr.to_string()), "{}", c.invite);
    let rr = headers(&c.ok, "Record-Route");
    assert_eq!(rr.len(), 2, "{}", c.ok);
    let h = cw.ok("xStatus SearchHistory");
    assert!(
        h.contains(&format!(
            "rule {row} (from Kamailio): ask LocalZone for alice@cw.example"
        )),
        "{h}"
    );
    let log = cw.node.event_log(Some("Search Attempted"));
    assert!(
        log.contains(&format!("Src-ip=\"{}\"", kam.addr.ip())),
        "{log}"
    );

    // The same call straight from the caller: not from the zone, so not found.
    let me = carol.addr();
    carol.send_to(
        &format!(
            "INVITE sip:alice@cw.example SIP/2.0\n\
             Via: SIP/2.0/UDP {me};branch=z9hG4bKdirect;rport\n\
             Max-Forwards: 70\n\
             From: <sip:carol@kam.example>;tag=fdirect\n\
             To: <sip:alice@cw.example>\n\
             Call-ID: kam-to-cw-direct\n\
             CSeq: 1 INVITE\n\
             Contact: <sip:carol@{me}>\n\
             Content-Length: 0\n\n"
        ),
        cw.addr,
    );
    let r = carol.final_response("the direct INVITE");
    assert_eq!(status(&r), 404, "{r}");
    assert!(alice.silent(), "the direct call reached alice");
    let h = cw.ok("xStatus SearchHistory");
    assert!(
        h.contains(&format!("rule {row} (from Kamailio): other source")),
        "{h}"
    );
}

/// causeway's neighbor monitoring asks Kamailio with OPTIONS and shows its zone Active in
/// `xStatus Zones`; a zone whose peer never answers is not.
#[test]
fn kamailio_is_an_active_neighbor() {
    let cw = proxy("127.0.0.140", "cw.example");
    let kam = kamailio("127.0.0.141", "kam.example", cw.addr);
    // A peer that is there but never answers.
    let mute = UdpSocket::bind(("127.0.0.142", 0)).unwrap();
    neighbor(&cw, 1, "Kamailio", kam.addr, 15);
    neighbor(&cw, 2, "Mute", mute.local_addr().unwrap(), 15);
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut z = String::new();
    while Instant::now() < deadline {
        z = cw.ok("xStatus Zones");
        if z.contains("Zone 1 SIP Status: \"Active\"") {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(z.contains("Zone 1 Name: \"Kamailio\""), "{z}");
    assert!(
        z.contains("Zone 1 SIP Status: \"Active\""),
        "{z}\n{}",
        kam.log()
    );
    assert!(z.contains("Zone 1 Peer 1 Status: Active"), "{z}");
    assert!(z.contains("Zone 2 Name: \"Mute\""), "{z}");
    assert!(!z.contains("Zone 2 SIP Status: \"Active"), "{z}");
    // The mute peer did get asked, so its silence, not a lack of asking, is what shows.
    mute.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut buf = vec![0u8; 65536];
    let (n, _) = mute
        .recv_from(&mut buf)
        .expect("the monitor asks every peer");
    assert!(buf[..n].starts_with(b"OPTIONS "));
}
