//! Two baresip clients register over TLS (verifying the node's certificate) and call each other
//! through the proxy. baresip needs a non-loopback address for its media, so everything runs in
//! a network namespace of this test's own, whose only other interface is a veth pair with an
//! address that exists nowhere else.

mod common;
use common::{free_port, Netns, Node};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Five seconds of 8 kHz mono silence as a WAV file: the clients' microphone.
fn silence(path: &std::path::Path) {
    let samples = 8000 * 5;
    let data_len = samples * 2;
    let mut w = Vec::new();
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + data_len as u32).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes()); // PCM
    w.extend_from_slice(&1u16.to_le_bytes()); // mono
    w.extend_from_slice(&8000u32.to_le_bytes());
    w.extend_from_slice(&16000u32.to_le_bytes());
    w.extend_from_slice(&2u16.to_le_bytes());
    w.extend_from_slice(&16u16.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&(data_len as u32).to_le_bytes());
    w.resize(w.len() + data_len, 0);
    std::fs::write(path, w).unwrap();
}

fn client(dir: &std::path::Path, user: &str, ca: &std::path::Path, tls_port: u16, extra: &str) {
    let d = dir.join(user);
    std::fs::create_dir_all(&d).unwrap();
    let wav = dir.join("silence.wav");
    std::fs::write(
        d.join("config"),
        format!(
            "sip_listen 127.0.0.1:0\nsip_cafile {}\nmodule_path /usr/lib/baresip/modules\n\
             module stdio.so\nmodule g711.so\nmodule aufile.so\nmodule account.so\nmodule menu.so\n\
             audio_player aufile,{}\naudio_source aufile,{}\naudio_alert aufile,{}\n",
            ca.display(),
            d.join("heard.wav").display(),
            wav.display(),
            d.join("alert.wav").display()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("accounts"),
        format!(
            "<sip:{user}@example.com;transport=tls>;outbound=\"sip:127.0.0.1:{tls_port};transport=tls\";regint=60{extra}\n"
        ),
    )
    .unwrap();
}

#[test]
fn baresip_clients_register_and_call_over_tls() {
    let ns = Netns::new();
    let mut node = Node::new();
    node.netns = Some(ns.0.clone());
    let port = free_port();
    let tls_port = free_port();
    for line in [
        "xConfiguration SIP Mode: On".to_string(),
        "xConfiguration SIP UDP Mode: On".into(),
        format!("xConfiguration SIP UDP Port: {port}"),
        format!("xConfiguration SIP TCP Port: {port}"),
        format!("xConfiguration SIP TLS Port: {tls_port}"),
        "xCommand DomainAdd Name: \"example.com\"".into(),
    ] {
        node.ok(&line);
    }
    node.start();
    let dir = tempfile::tempdir().unwrap();
    silence(&dir.path().join("silence.wav"));
    let ca = node.dir.join("tls/server-cert.pem");
    client(dir.path(), "bob", &ca, tls_port, ";answermode=auto");
    client(dir.path(), "alice", &ca, tls_port, "");
    let baresip = |user: &str, secs: &str, dial: bool| {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &ns.0, "baresip", "-f"])
            .arg(dir.path().join(user))
            .args(["-t", secs]);
        if dial {
            c.args(["-e", "/dial sip:bob@example.com"]);
        }
        c.stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.path().join(format!("{user}.log"))).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("baresip is installed (scripts/test installs it)")
    };
    let mut bob = baresip("bob", "16", false);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !node
        .ok("xStatus Registrations Count")
        .contains("Count: 1\n")
    {
        assert!(Instant::now() < deadline, "bob did not register over TLS");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut alice = baresip("alice", "9", true);
    common::wait_exit(&mut alice, Duration::from_secs(30));
    let _ = bob.kill();
    let _ = bob.wait();
    let alice_log = std::fs::read_to_string(dir.path().join("alice.log")).unwrap();
    let bob_log = std::fs::read_to_string(dir.path().join("bob.log")).unwrap();
    assert!(
        alice_log.contains("Call established: sip:bob@example.com"),
        "alice:\n{alice_log}\nbob:\n{bob_log}"
    );
    assert!(
        bob_log.contains("Call established: sip:alice@example.com"),
        "{bob_log}"
    );
    let t = node.ok("xStatus Registrations");
    assert!(!t.contains("Transport: UDP"), "{t}");
    let log = node.event_log(Some("Call"));
    assert!(log.contains("Event=\"Call Connected\""), "{log}");
    assert!(
        log.contains("Event=\"Call Disconnected\""),
        "the BYE went through: {log}"
    );
    assert!(node.ok("xStatus Calls").contains("*s Calls Count: 0"));
}
