//! Calls between registered sipp agents through the proxy: answer, reject, cancel, fork.

mod common;
use common::{free_port, sip_node, Node};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const HEAD: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="s">"#;

/// Registers `user` with a Contact at `contact_port` (where a callee agent listens).
fn register(port: u16, transport: &str, user: &str, contact_port: u16) {
    let t = transport.to_ascii_lowercase();
    let s = format!(
        r#"{HEAD}
  <send retrans="500"><![CDATA[
      REGISTER sip:example.com SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{user}@example.com>;tag=r[pid]
      To: <sip:{user}@example.com>
      Call-ID: [call_id]
      CSeq: 1 REGISTER
      Contact: <sip:{user}@127.0.0.1:{contact_port};transport={t}>
      Expires: 60
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv response="200"/>
</scenario>
"#
    );
    sipp(port, transport, &s, None).succeeds("registration");
}

fn answer(code: u16, phrase: &str) -> String {
    format!(
        r#"
  <send><![CDATA[
      SIP/2.0 {code} {phrase}
      [last_Via:]
      [last_From:]
      [last_To:];tag=u[pid]
      [last_Call-ID:]
      [last_CSeq:]
      [last_Record-Route:]
      Contact: <sip:callee@[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

  ]]></send>"#
    )
}

fn ok_to_last() -> &'static str {
    r#"
  <send><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

  ]]></send>"#
}

/// The callee: registers `user`, answers one INVITE with 180 then `final_code`.
fn uas(user: &str, final_code: u16) -> String {
    let _ = user;
    let mut s = format!(
        "{HEAD}\n  <recv request=\"INVITE\"/>{}",
        answer(180, "Ringing")
    );
    match final_code {
        200 => {
            s += &answer(200, "OK");
            s += "\n  <recv request=\"ACK\"/>\n  <recv request=\"BYE\"/>";
            s += ok_to_last();
        }
        487 => {
            // Rings until the proxy cancels.
            s += "\n  <recv request=\"CANCEL\"/>";
            s += ok_to_last();
            s += r#"
  <send><![CDATA[
      SIP/2.0 487 Request Terminated
      Via: [$via]
      [last_From:]
      [last_To:];tag=u[pid]
      [last_Call-ID:]
      CSeq: [$cseq] INVITE
      Content-Length: 0

  ]]></send>
  <recv request="ACK"/>"#;
            // Keep the INVITE's Via and CSeq for the 487.
            s = s.replacen(
                "<recv request=\"INVITE\"/>",
                r#"<recv request="INVITE"><action>
      <ereg regexp="Via: ([^[:cntrl:]]*)" search_in="msg" check_it="true" assign_to="vialine,via"/>
      <ereg regexp="CSeq: ([0-9]+) INVITE" search_in="msg" check_it="true" assign_to="cseqline,cseq"/>
    </action></recv>"#,
                1,
            );
            s = s.replace("</scenario>", "");
            s += "\n  <Reference variables=\"vialine,cseqline\"/>";
        }
        code => {
            s += &answer(code, "Busy Here");
            s += "\n  <recv request=\"ACK\"/>";
        }
    }
    s + "\n</scenario>\n"
}

fn invite(target: &str) -> String {
    format!(
        r#"
  <send retrans="500"><![CDATA[
      INVITE sip:{target}@example.com SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:caller@example.com>;tag=c[pid]
      To: <sip:{target}@example.com>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:caller@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv response="100" optional="true"/>"#
    )
}

/// The caller: calls `target`; expects 200 (then ACK and BYE), or `code`.
fn uac(target: &str, code: u16, cancel: bool) -> String {
    // Each fork that rings sends its own 180.
    let mut s = format!("{HEAD}{}\n  <recv response=\"180\"/>", invite(target));
    if !cancel {
        s += "\n  <recv response=\"180\" optional=\"true\"/>";
    }
    if cancel {
        s += r#"
  <send><![CDATA[
      CANCEL sip:[service]@example.com SIP/2.0
      [last_Via:]
      From: <sip:caller@example.com>;tag=c[pid]
      To: <sip:[service]@example.com>
      Call-ID: [call_id]
      CSeq: 1 CANCEL
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv response="200"/>"#;
    }
    if code == 200 {
        s += r#"
  <recv response="200" rrs="true"/>
  <send><![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:caller@example.com>;tag=c[pid]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      [routes]
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <pause milliseconds="100"/>
  <send retrans="500"><![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:caller@example.com>;tag=c[pid]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 2 BYE
      [routes]
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv response="200"/>"#;
    } else {
        s += &format!(
            r#"
  <recv response="{code}"/>
  <send><![CDATA[
      ACK sip:[service]@example.com SIP/2.0
      [last_Via:]
      From: <sip:caller@example.com>;tag=c[pid]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>"#
        );
    }
    s.replace("[service]", target) + "\n</scenario>\n"
}

struct Agent {
    child: Child,
    dir: tempfile::TempDir,
    limit: Duration,
}

/// Runs sipp with a scenario; `listen` makes it a callee on that local port.
fn sipp(port: u16, transport: &str, scenario: &str, listen: Option<u16>) -> Agent {
    sipp_for(port, transport, scenario, listen, 20)
}

/// [`sipp`] with a run time limit of `limit` seconds.
fn sipp_for(port: u16, transport: &str, scenario: &str, listen: Option<u16>, limit: u64) -> Agent {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.xml");
    std::fs::write(&file, scenario).unwrap();
    let child = Command::new("sipp")
        .arg(format!("127.0.0.1:{port}"))
        .args([
            "-sf",
            file.to_str().unwrap(),
            "-m",
            "1",
            "-nostdin",
            "-i",
            "127.0.0.1",
        ])
        .args(["-p", &listen.unwrap_or(0).to_string()])
        .args(["-t", if transport == "TCP" { "t1" } else { "u1" }])
        .args([
            "-timeout",
            &format!("{limit}s"),
            "-timeout_error",
            "-trace_msg",
            "-trace_err",
        ])
        .arg("-message_file")
        .arg(dir.path().join("msg.log"))
        .arg("-error_file")
        .arg(dir.path().join("err.log"))
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sipp is installed (scripts/test installs sip-tester)");
    Agent {
        child,
        dir,
        limit: Duration::from_secs(limit + 20),
    }
}

impl Agent {
    fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    fn succeeds(mut self, what: &str) {
        let status = common::wait_exit(&mut self.child, self.limit);
        if !status.success() {
            let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
            panic!(
                "{what} failed\n--- errors\n{}\n--- messages\n{}",
                read(&self.path().join("err.log")),
                read(&self.path().join("msg.log"))
            );
        }
    }
}

fn wait_registered(node: &Node, n: usize) {
    for _ in 0..200 {
        let t = node.ok("xStatus Registrations Count");
        if t.contains(&format!("Count: {n}\n")) {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("registrations did not reach {n}");
}

fn call(transport: &str) {
    let (node, port) = sip_node();
    let bob = free_port();
    let callee = sipp(port, transport, &uas("bob", 200), Some(bob));
    register(port, transport, "bob", bob);
    wait_registered(&node, 1);
    let caller = sipp(port, transport, &uac("bob", 200, false), None);
    caller.succeeds("caller");
    callee.succeeds("callee");
    let t = node.ok("xStatus Calls");
    assert!(
        t.contains("*s Calls Count: 0") && t.contains("History Count: 1"),
        "{t}"
    );
    let log = node.event_log(Some("Call"));
    for ev in ["Call Attempted", "Call Connected", "Call Disconnected"] {
        assert!(log.contains(&format!("Event=\"{ev}\"")), "{ev} in {log}");
    }
    // The overview's figures: the call is over, the registration stays; one of each at most.
    let t = node.ok("xStatus ResourceUsage");
    for line in [
        "Registrations Current: 1\n",
        "Registrations Peak: 1\n",
        "Calls Current: 0\n",
        "Calls Peak: 1\n",
    ] {
        assert!(t.contains(line), "{line} in {t}");
    }
}

#[test]
fn invite_200_ack_bye_over_udp() {
    call("UDP");
}

#[test]
fn invite_200_ack_bye_over_tcp() {
    call("TCP");
}

#[test]
fn a_busy_callee_is_reported_to_the_caller() {
    let (node, port) = sip_node();
    let bob = free_port();
    let callee = sipp(port, "UDP", &uas("bob", 486), Some(bob));
    register(port, "UDP", "bob", bob);
    wait_registered(&node, 1);
    sipp(port, "UDP", &uac("bob", 486, false), None).succeeds("caller");
    callee.succeeds("callee");
}

#[test]
fn unregistered_targets_are_not_found() {
    let (_node, port) = sip_node();
    let s = format!(
        "{HEAD}{}\n  <recv response=\"404\"/>\n</scenario>\n",
        invite("nobody")
    )
    .replace(
        "\n  <recv response=\"100\" optional=\"true\"/>",
        "\n  <recv response=\"100\" optional=\"true\"/>",
    );
    let s = s.replacen("</scenario>", "", 1)
        + r#"
  <send><![CDATA[
      ACK sip:nobody@example.com SIP/2.0
      [last_Via:]
      From: <sip:caller@example.com>;tag=c[pid]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
</scenario>
"#;
    sipp(port, "UDP", &s, None).succeeds("caller");
}

#[test]
fn cancel_reaches_the_ringing_callee() {
    let (node, port) = sip_node();
    let bob = free_port();
    let callee = sipp(port, "UDP", &uas("bob", 487), Some(bob));
    register(port, "UDP", "bob", bob);
    wait_registered(&node, 1);
    let caller = sipp(port, "UDP", &uac("bob", 487, true), None);
    callee.succeeds("callee");
    caller.succeeds("caller");
}

#[test]
fn forking_to_two_contacts_where_one_answers() {
    let (node, port) = sip_node();
    let (p1, p2) = (free_port(), free_port());
    let answering = sipp(
        port,
        "UDP",
        &uas("bob", 200).replacen(
            "\n  <send><![CDATA[\n      SIP/2.0 200 OK",
            "\n  <pause milliseconds=\"300\"/>\n  <send><![CDATA[\n      SIP/2.0 200 OK",
            1,
        ),
        Some(p1),
    );
    let ringing = sipp(port, "UDP", &uas("bob", 487), Some(p2));
    register(port, "UDP", "bob", p1);
    register(port, "UDP", "bob", p2);
    wait_registered(&node, 2);
    sipp(port, "UDP", &uac("bob", 200, false), None).succeeds("caller");
    answering.succeeds("answering callee");
    ringing.succeeds("cancelled callee");
}

#[test]
fn a_branch_that_rings_past_timer_c_is_cancelled() {
    // Timer C is a little over three minutes (RFC 3261 §16.6 step 11): this test waits it out.
    let (node, port) = sip_node();
    let bob = free_port();
    let callee = sipp_for(port, "UDP", &uas("bob", 487), Some(bob), 240);
    register(port, "UDP", "bob", bob);
    wait_registered(&node, 1);
    let started = std::time::Instant::now();
    let caller = sipp_for(port, "UDP", &uac("bob", 487, false), None, 240);
    callee.succeeds("callee");
    caller.succeeds("caller");
    assert!(
        started.elapsed() >= Duration::from_secs(180),
        "the proxy gave up on a ringing branch after {:?}",
        started.elapsed()
    );
    let log = node.event_log(Some("Call Rejected"));
    assert!(log.contains("Response-code=\"487\""), "{log}");
}

/// The call detail records stored in the data directory, as JSON.
fn cdrs(node: &Node) -> Vec<serde_json::Value> {
    let Ok(db) = rusqlite::Connection::open(node.path().join("cdr.db")) else {
        return vec![];
    };
    let Ok(mut st) = db.prepare("SELECT record FROM cdr ORDER BY start_unix") else {
        return vec![];
    };
    st.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|j| serde_json::from_str(&j.unwrap()).unwrap())
        .collect()
}

#[test]
fn ended_calls_leave_a_detail_record_while_the_service_is_on() {
    let (node, port) = sip_node();
    let bob = free_port();
    let callee = sipp(port, "UDP", &uas("bob", 200), Some(bob));
    register(port, "UDP", "bob", bob);
    wait_registered(&node, 1);
    // Off (the default): nothing is kept.
    sipp(port, "UDP", &uac("bob", 200, false), None).succeeds("first caller");
    callee.succeeds("first callee");
    std::thread::sleep(Duration::from_millis(300));
    assert!(cdrs(&node).is_empty());
    node.ok("xConfiguration Log CDR Service: serviceandlogging");
    let callee = sipp(port, "UDP", &uas("bob", 200), Some(bob));
    sipp(port, "UDP", &uac("bob", 200, false), None).succeeds("second caller");
    callee.succeeds("second callee");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let records = loop {
        let r = cdrs(&node);
        if !r.is_empty() || std::time::Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(records.len(), 1, "{records:?}");
    let r = &records[0];
    assert_eq!(r["protocol"], "SIP <-> SIP");
    assert_eq!(r["active"], "false");
    assert_eq!(r["disconnect_reason"], "BYE");
    assert_eq!(r["non_traversal_license_tokens"], 2);
    assert!(
        r["destination_alias"].as_str().unwrap().contains("bob"),
        "{r}"
    );
    let details: serde_json::Value = serde_json::from_str(r["details"].as_str().unwrap()).unwrap();
    assert_eq!(details["Call"]["SerialNumber"], r["uuid"]);
    // With logging, the record is also an event.
    let log = node.event_log(Some("Call Detail Record"));
    assert!(
        log.contains(&format!("Uuid=\"{}\"", r["uuid"].as_str().unwrap())),
        "{log}"
    );
}
