//! The SSH command line of a running server, with the OpenSSH client: key and password logins
//! of the admin account, a change made over SSH seen by `causeway cli`, and the login events.

mod common;
use common::{free_port, Node};
use std::process::Command;

fn ssh_node() -> (Node, u16) {
    let port = free_port();
    let mut node = Node::new();
    node.serve_args = [
        "--https-listen",
        "off",
        "--http-listen",
        "off",
        "--ssh-listen",
        &format!("127.0.0.1:{port}"),
    ]
    .map(String::from)
    .to_vec();
    node.start();
    (node, port)
}

fn ssh(port: u16, extra: &[&str], line: &str) -> (bool, String) {
    let out = Command::new("ssh")
        .args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "ConnectTimeout=10",
            "-p",
            &port.to_string(),
        ])
        .args(extra)
        .arg("admin@127.0.0.1")
        .arg(line)
        .output()
        .expect("ssh (Debian package openssh-client)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

#[test]
fn admin_logs_in_with_a_key_or_the_password_and_changes_reach_the_cli() {
    let (node, port) = ssh_node();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id");
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen (Debian package openssh-client)");
    assert!(st.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let key_args = [
        "-i",
        key.to_str().unwrap(),
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
    ];

    // No key configured yet: refused.
    let (ok, _) = ssh(port, &key_args, "xStatus SystemUnit");
    assert!(!ok);
    node.ok(&format!(
        "xConfiguration Authentication Account Admin Account 1 PublicKey: \"{}\"",
        public.trim()
    ));
    let (ok, out) = ssh(port, &key_args, "xConfiguration SIP Mode: On");
    assert!(ok, "{out}");
    assert_eq!(node.value("SIP Mode"), "On");
    let (ok, out) = ssh(port, &key_args, "xConfiguration SIP Nonsense: 1");
    assert!(!ok && out.contains("(status=Error)"), "{out}");

    // The password printed at first start, given through SSH_ASKPASS.
    let password = std::fs::read_to_string(node.dir.join("initial-admin-password")).unwrap();
    let askpass = dir.path().join("askpass");
    std::fs::write(&askpass, format!("#!/bin/sh\necho '{}'\n", password.trim())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&askpass, std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = Command::new("ssh")
        .env("SSH_ASKPASS", &askpass)
        .env("SSH_ASKPASS_REQUIRE", "force")
        .env("DISPLAY", ":0")
        .args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "PubkeyAuthentication=no",
            "-o",
            "NumberOfPasswordPrompts=1",
            "-p",
            &port.to_string(),
            "admin@127.0.0.1",
            "xConfiguration SIP Mode",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("*c xConfiguration SIP Mode: On"), "{text}");

    let log = node.event_log(Some("Admin Session"));
    assert!(
        log.contains("Event=\"Admin Session Start\"") && log.contains("Type=\"ssh\""),
        "{log}"
    );
    assert!(
        log.contains("Event=\"Admin Session Login Failure\""),
        "{log}"
    );
}
