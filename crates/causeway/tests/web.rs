//! The REST API of a running server, driven with curl: logins against the accounts in the
//! configuration, changes seen by `causeway cli`, the plain-HTTP redirect, the login events, and
//! HTTPS following `Management Interface Port`, and directory (LDAP) users against slapd.

mod common;
#[path = "../../ldap/tests/support/slapd.rs"]
mod slapd;
use common::{free_port, Node};
use std::process::Command;

/// (status, body) of a curl request; `-k` because the node's certificate is self-signed (the
/// web crate's own tests pin it).
fn curl(args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-sS", "-k", "--max-time", "20", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl (Debian package curl)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

fn web_node() -> (Node, u16, u16, String) {
    web_node_with(|_| {})
}

/// As [`web_node`], with `prepare` run on the data directory before the server starts.
fn web_node_with(prepare: impl FnOnce(&Node)) -> (Node, u16, u16, String) {
    let (https, http) = (free_port(), free_port());
    let mut node = Node::new();
    node.ok("xConfiguration SystemUnit Name: \"web\"");
    prepare(&node);
    node.serve_args = vec![
        "--https-listen".into(),
        format!("127.0.0.1:{https}"),
        "--http-listen".into(),
        format!("127.0.0.1:{http}"),
        "--ssh-listen".into(),
        "off".into(),
    ];
    node.start();
    let password = std::fs::read_to_string(node.dir.join("initial-admin-password")).unwrap();
    wait_for(&format!("https://127.0.0.1:{https}/api/openapi.json"));
    (node, https, http, password.trim().to_string())
}

/// Waits until HTTPS answers at `url` (the listener starts just after the control socket).
fn wait_for(url: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while curl(&[url]).0 != 200 {
        assert!(std::time::Instant::now() < deadline, "no answer at {url}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn api_logins_use_the_accounts_and_changes_reach_the_cli() {
    let (node, https, http, pw) = web_node();
    let base = format!("https://127.0.0.1:{https}/api");
    let admin = format!("admin:{pw}");
    let mode = format!("{base}/configuration/SIP/Mode");

    let (code, _) = curl(&[&mode]);
    assert_eq!(code, 401);
    let (code, _) = curl(&["-u", "admin:wrong", &mode]);
    assert_eq!(code, 401);
    let (code, body) = curl(&["-u", &admin, &mode]);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"SIP Mode\""), "{body}");

    let put = |user: &str, url: &str, body: &str| {
        curl(&[
            "-u",
            user,
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
            url,
        ])
    };
    let (code, body) = put(&admin, &mode, r#"{"value": "On"}"#);
    assert_eq!(code, 200, "{body}");
    assert_eq!(node.value("SIP Mode"), "On");
    let (code, body) = put(
        &admin,
        &format!("{base}/configuration/SIP/UDP/Port"),
        r#"{"value": 70000}"#,
    );
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("<1024..65534>"), "{body}");
    assert_eq!(node.value("SIP UDP Port"), "5060");

    // Accounts made with the CLI log in with their own level and flags.
    node.ok(
        "xCommand AdminAccountAdd Name: \"viewer\" Password: \"viewer pass\" AccessLevel: ReadOnly",
    );
    node.ok("xCommand AdminAccountAdd Name: \"noapi\" Password: \"noapi pass\" AccessAPI: Off");
    let (code, _) = curl(&["-u", "viewer:viewer pass", &mode]);
    assert_eq!(code, 200);
    let (code, body) = put("viewer:viewer pass", &mode, r#"{"value": "Off"}"#);
    assert_eq!(code, 403, "{body}");
    assert_eq!(node.value("SIP Mode"), "On");
    let (code, _) = curl(&["-u", "noapi:noapi pass", &mode]);
    assert_eq!(code, 403);

    // One xAPI line, answered with the text the CLI prints.
    let (code, body) = curl(&[
        "-u",
        &admin,
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"command": "xConfiguration SIP Mode"}"#,
        &format!("{base}/xapi"),
    ]);
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["text"].as_str(),
        Some(node.ok("xConfiguration SIP Mode").as_str())
    );

    // Plain HTTP sends browsers on to HTTPS.
    let (code, _) = curl(&[
        "-o",
        "/dev/null",
        "-D",
        "-",
        &format!("http://127.0.0.1:{http}/api/status?x=1"),
    ]);
    assert_eq!(code, 301);
    let out = Command::new("curl")
        .args(["-sS", "-D", "-", "-o", "/dev/null"])
        .arg(format!("http://127.0.0.1:{http}/api/status?x=1"))
        .output()
        .unwrap();
    let headers = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    assert!(
        headers.contains(&format!(
            "location: https://127.0.0.1:{https}/api/status?x=1"
        )),
        "{headers}"
    );

    // Every login shows in the event log; the password never does.
    let log = node.event_log(Some("Admin Session"));
    assert!(
        log.contains("Event=\"Admin Session Start\"") && log.contains("User=\"admin\""),
        "{log}"
    );
    assert!(
        log.contains("Event=\"Admin Session Login Failure\""),
        "{log}"
    );
    assert!(log.contains("User=\"noapi\""), "{log}");
    assert!(!log.contains(&pw) && !log.contains("viewer pass"), "{log}");
}

#[test]
fn https_moves_when_the_management_port_changes() {
    let (first, second) = (free_port(), free_port());
    let mut node = Node::new();
    node.ok(&format!(
        "xConfiguration Management Interface Port: {first}"
    ));
    node.serve_args = [
        "--https-listen",
        "127.0.0.1",
        "--http-listen",
        "off",
        "--ssh-listen",
        "off",
    ]
    .map(String::from)
    .to_vec();
    node.start();
    wait_for(&format!("https://127.0.0.1:{first}/api/openapi.json"));
    node.ok(&format!(
        "xConfiguration Management Interface Port: {second}"
    ));
    wait_for(&format!("https://127.0.0.1:{second}/api/openapi.json"));
    let (code, _) = curl(&[&format!("https://127.0.0.1:{first}/api/openapi.json")]);
    assert_eq!(code, 0, "the old port is closed");
}

/// Logs in to the web interface as `user` and follows the redirect: (status, page). A page
/// after a successful login names the user's access level in its footer.
fn web_login(https: u16, user: &str, password: &str) -> (u16, String) {
    web_page(https, user, password, "/")
}

/// Logs in as `user` and opens `path` on the way: (status, page).
fn web_page(https: u16, user: &str, password: &str, path: &str) -> (u16, String) {
    let jar = tempfile::NamedTempFile::new().unwrap();
    let jar = jar.path().to_str().unwrap();
    curl(&[
        "-L",
        "-c",
        jar,
        "-b",
        jar,
        "--data-urlencode",
        &format!("user={user}"),
        "--data-urlencode",
        &format!("password={password}"),
        "--data-urlencode",
        &format!("next={path}"),
        &format!("https://127.0.0.1:{https}/login"),
    ])
}

/// The access level in a page's footer.
fn footer_level(page: &str) -> &str {
    let tag = "id=\"footer-level\">";
    let at = page.find(tag).map(|i| i + tag.len()).unwrap_or(page.len());
    page[at..].split('<').next().unwrap_or("")
}

/// The settings that point the node at the test directory: its address and port, the
/// encryption, the service account and both base DNs.
fn directory_settings(port: u16, encryption: &str) -> Vec<String> {
    let base = slapd::BASE;
    vec![
        "xConfiguration Login Remote LDAP Server Address: \"127.0.0.1\"".to_string(),
        format!("xConfiguration Login Remote LDAP Server Port: {port}"),
        format!("xConfiguration Login Remote LDAP Encryption: {encryption}"),
        format!("xConfiguration Login Remote LDAP VCS BindDN: \"cn=admin,{base}\""),
        "xConfiguration Login Remote LDAP VCS BindPassword: \"service-secret\"".into(),
        format!("xConfiguration Login Remote LDAP BaseDN Accounts: \"ou=people,{base}\""),
        format!("xConfiguration Login Remote LDAP BaseDN Groups: \"ou=groups,{base}\""),
    ]
}

/// The guide's group examples, end to end: slapd holds the people and their groups, the node
/// holds the administrator groups, and the web interface and REST API grant what the merge
/// says.
#[test]
fn directory_users_get_the_merged_rights_of_their_groups_on_web_and_api() {
    let directory = slapd::start();
    let (node, https, _, pw) = web_node();
    for line in directory_settings(directory.port, "Off")
        .into_iter()
        .chain([
            "xCommand AdminGroupAdd Name: \"Administrators\" AccessWeb: Off AccessAPI: Off".into(),
            "xCommand AdminGroupAdd Name: \"Region A\" AccessLevel: ReadOnly AccessAPI: Off".into(),
            "xCommand AdminGroupAdd Name: \"Region B\" AccessLevel: ReadOnly AccessWeb: Off".into(),
            "xCommand AdminGroupAdd Name: \"Region C\" AccessLevel: ReadOnly".into(),
            "xCommand AdminGroupAdd Name: \"Retired\" Enabled: Off".into(),
        ])
    {
        node.ok(&line);
    }
    let api = format!("https://127.0.0.1:{https}/api/configuration/SIP/Mode");
    let get = |user: &str| curl(&["-u", user, &api]).0;
    let put = |user: &str| {
        curl(&[
            "-u",
            user,
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/json",
            "-d",
            r#"{"value": "On"}"#,
            &api,
        ])
        .0
    };

    // Local only (the default): the directory is never asked.
    assert_eq!(get("u3:u3 pass"), 401);
    node.ok("xConfiguration Login Source Admin: Both");

    // Administrators + Region A: read-write on the web, no API.
    let (code, page) = web_login(https, "u1", "u1 pass");
    assert_eq!((code, footer_level(&page)), (200, "read-write"), "{page}");
    assert_eq!(get("u1:u1 pass"), 403);
    // Administrators + Region B: read-write on the API, no web.
    assert_eq!(web_login(https, "u2", "u2 pass").0, 403);
    assert_eq!(put("u2:u2 pass"), 200);
    assert_eq!(node.value("SIP Mode"), "On");
    // Administrators + Region C: read-write on both.
    let (code, page) = web_login(https, "u3", "u3 pass");
    assert_eq!((code, footer_level(&page)), (200, "read-write"), "{page}");
    assert_eq!(put("u3:u3 pass"), 200);
    // Region A alone: read-only on the web, no API.
    let (code, page) = web_login(https, "u4", "u4 pass");
    assert_eq!((code, footer_level(&page)), (200, "read-only"), "{page}");
    assert_eq!(get("u4:u4 pass"), 403);
    // Region C + a disabled read-write group: the disabled one counts for nothing.
    let (code, page) = web_login(https, "u6", "u6 pass");
    assert_eq!((code, footer_level(&page)), (200, "read-only"), "{page}");
    assert_eq!(get("u6:u6 pass"), 200);
    assert_eq!(put("u6:u6 pass"), 403);
    // No administrator group at all: refused, and logged as an authorization failure.
    assert_eq!(web_login(https, "u5", "u5 pass").0, 403);
    let log = node.event_log(Some("Authorization Failure"));
    assert!(log.contains("User=\"u5\""), "{log}");
    assert_eq!(get("u1:u2 pass"), 401);

    // Remote only: local accounts stop working, directory users go on.
    node.ok("xConfiguration Login Source Admin: RemoteOnly");
    assert_eq!(get(&format!("admin:{pw}")), 401);
    assert_eq!(web_login(https, "u4", "u4 pass").0, 200);

    // A directory that cannot be reached is told apart from a wrong password.
    drop(directory);
    assert_eq!(web_login(https, "u4", "u4 pass").0, 503);
}

/// The directory server found by an SRV record, and by an unqualified host name completed with
/// the node's domain, both through the configured DNS server (dnsmasq).
#[test]
fn the_directory_is_found_through_srv_records_and_the_domain_name() {
    let directory = slapd::start();
    let _dns = common::dnsmasq(
        61,
        "example.com",
        &[
            format!(
                "--srv-host=_ldap._tcp.example.com,dir1.example.com,{},10,100",
                directory.port
            ),
            "--host-record=dir1.example.com,127.0.0.1".into(),
            "--host-record=ldapserver.example.com,127.0.0.1".into(),
        ],
    );
    let (node, https, _, _) = web_node();
    let base = slapd::BASE;
    for line in [
        "xConfiguration DNS Server 1 Address: \"127.0.0.61\"".to_string(),
        "xConfiguration Login Remote LDAP Server Address: \"example.com\"".into(),
        "xConfiguration Login Remote LDAP Server FQDNResolution: SRVRecord".into(),
        // Not where the directory listens: the SRV record's port is the one used.
        "xConfiguration Login Remote LDAP Server Port: 389".into(),
        "xConfiguration Login Remote LDAP Encryption: Off".into(),
        format!("xConfiguration Login Remote LDAP VCS BindDN: \"cn=admin,{base}\""),
        "xConfiguration Login Remote LDAP VCS BindPassword: \"service-secret\"".into(),
        format!("xConfiguration Login Remote LDAP BaseDN Accounts: \"ou=people,{base}\""),
        format!("xConfiguration Login Remote LDAP BaseDN Groups: \"ou=groups,{base}\""),
        "xCommand AdminGroupAdd Name: \"Region A\" AccessLevel: ReadOnly".into(),
        "xConfiguration Login Source Admin: Both".into(),
    ] {
        node.ok(&line);
    }
    let (code, page) = web_login(https, "u4", "u4 pass");
    assert_eq!((code, footer_level(&page)), (200, "read-only"), "{page}");

    // An address record for a name the node's domain completes.
    node.ok("xConfiguration Login Remote LDAP Server FQDNResolution: AddressRecord");
    node.ok("xConfiguration Login Remote LDAP Server Address: \"ldapserver\"");
    node.ok(&format!(
        "xConfiguration Login Remote LDAP Server Port: {}",
        directory.port
    ));
    // Without the domain, "ldapserver" is not a name the DNS knows.
    assert_eq!(web_login(https, "u4", "u4 pass").0, 503);
    node.ok("xConfiguration IP DNS Domain Name: \"example.com\"");
    assert_eq!(web_login(https, "u4", "u4 pass").0, 200);

    // A name the DNS does not know leaves the directory unavailable, not the password wrong.
    node.ok("xConfiguration Login Remote LDAP Server Address: \"nosuchhost\"");
    assert_eq!(web_login(https, "u4", "u4 pass").0, 503);
}

/// `CRLCheck` on a StartTLS directory: the server's certificate is checked against the
/// revocation lists in the data directory (`tls/crl.pem`), and a check asked for without lists
/// fails closed.
#[test]
fn directory_certificates_are_checked_against_the_revocation_lists() {
    let ca = slapd::Authority::new();
    let (cert, key) = ca.leaf(7);
    let directory = slapd::start_with(Some((&cert, &key)));
    let tls = |node: &Node| node.dir.join("tls");
    let (mut node, https, _, _) = web_node_with(|node| {
        std::fs::create_dir_all(tls(node)).unwrap();
        std::fs::write(tls(node).join("trusted-ca.pem"), &ca.pem).unwrap();
        std::fs::write(tls(node).join("crl.pem"), ca.crl(&[7])).unwrap();
    });
    for line in directory_settings(directory.port, "TLS")
        .into_iter()
        .chain([
            "xCommand AdminGroupAdd Name: \"Region A\" AccessLevel: ReadOnly".into(),
            "xConfiguration Login Source Admin: Both".into(),
            "xConfiguration Login Remote LDAP CRLCheck: None".into(),
        ])
    {
        node.ok(&line);
    }
    let login = || web_login(https, "u4", "u4 pass").0;
    // The directory's certificate is revoked, but nothing asks.
    assert_eq!(login(), 200);
    node.ok("xConfiguration Login Remote LDAP CRLCheck: Peer");
    assert_eq!(login(), 503);
    node.ok("xConfiguration Login Remote LDAP CRLCheck: All");
    assert_eq!(login(), 503);

    // A list that revokes another certificate: the directory passes, the whole chain checked.
    let restart = |node: &mut Node| {
        assert!(node.stop());
        node.start();
        wait_for(&format!("https://127.0.0.1:{https}/api/openapi.json"));
    };
    std::fs::write(tls(&node).join("crl.pem"), ca.crl(&[8])).unwrap();
    restart(&mut node);
    assert_eq!(login(), 200);

    // The list may also sit in the trust store, after the authority (without it, the check
    // below would fail closed).
    std::fs::remove_file(tls(&node).join("crl.pem")).unwrap();
    std::fs::write(
        tls(&node).join("trusted-ca.pem"),
        format!("{}{}", ca.pem, ca.crl(&[8])),
    )
    .unwrap();
    restart(&mut node);
    assert_eq!(login(), 200);

    // Checks asked for with no lists at all: closed.
    std::fs::write(tls(&node).join("trusted-ca.pem"), &ca.pem).unwrap();
    restart(&mut node);
    assert_eq!(login(), 503);
    node.ok("xConfiguration Login Remote LDAP CRLCheck: None");
    assert_eq!(login(), 200);
}

/// Waits until `xStatus Authentication` shows `state`; returns the status text.
fn directory_state(node: &Node, state: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let t = node.ok("xStatus Authentication");
        if t.contains(&format!("LDAP Admin State: {state}")) {
            return t;
        }
        assert!(std::time::Instant::now() < deadline, "never {state}: {t}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The directory's connection is checked when its settings change and shown in the status and
/// on the LDAP page; settings that cannot work raise the guide's alarms.
#[test]
fn the_directory_connection_is_watched_and_its_problems_are_alarmed() {
    let directory = slapd::start();
    let (node, https, _, pw) = web_node();
    directory_state(&node, "Inactive");

    // Remote logins on, nothing configured (and TLS, the default, with an empty trust store).
    node.ok("xConfiguration Login Source Admin: Both");
    let alarms = node.ok("xStatus Alarm");
    assert!(
        alarms.contains("Id: 35004") && alarms.contains("Id: 40029"),
        "{alarms}"
    );
    let t = directory_state(&node, "Failed");
    assert!(t.contains("Server Address"), "{t}");

    for line in directory_settings(directory.port, "Off") {
        node.ok(&line);
    }
    directory_state(&node, "Available");
    let alarms = node.ok("xStatus Alarm");
    assert!(
        !alarms.contains("Id: 35004") && !alarms.contains("Id: 40029"),
        "{alarms}"
    );

    // A wrong service password: the check says which step failed, and the page shows it.
    node.ok("xConfiguration Login Remote LDAP VCS BindPassword: \"wrong\"");
    let t = directory_state(&node, "Failed");
    assert!(t.contains("service account"), "{t}");
    let (code, page) = web_page(https, "admin", &pw, "/config/ldap");
    assert_eq!(code, 200, "{page}");
    let status = &page[page.find("id=\"page-status\"").expect("a status table")..];
    assert!(
        status.contains("Failed") && status.contains("service account"),
        "{status}"
    );

    // Local logins only again: the directory is not watched.
    node.ok("xConfiguration Login Source Admin: LocalOnly");
    directory_state(&node, "Inactive");
}

/// The overview counts the administrators logged in on the web and over SSH, and a web
/// session outlives a move of HTTPS to another port.
#[test]
fn sessions_are_counted_and_survive_a_port_change() {
    let (first, second, ssh_port) = (free_port(), free_port(), free_port());
    let mut node = Node::new();
    node.ok(&format!(
        "xConfiguration Management Interface Port: {first}"
    ));
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id");
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen (Debian package openssh-client)");
    assert!(st.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    node.ok(&format!(
        "xConfiguration Authentication Account Admin Account 1 PublicKey: \"{}\"",
        public.trim()
    ));
    node.serve_args = [
        "--https-listen",
        "127.0.0.1",
        "--http-listen",
        "off",
        "--ssh-listen",
        &format!("127.0.0.1:{ssh_port}"),
    ]
    .map(String::from)
    .to_vec();
    node.start();
    wait_for(&format!("https://127.0.0.1:{first}/api/openapi.json"));
    let pw = std::fs::read_to_string(node.dir.join("initial-admin-password")).unwrap();

    let jar = dir.path().join("cookies");
    let jar = jar.to_str().unwrap();
    let (code, _) = curl(&[
        "-c",
        jar,
        "--data-urlencode",
        "user=admin",
        "--data-urlencode",
        &format!("password={}", pw.trim()),
        &format!("https://127.0.0.1:{first}/login"),
    ]);
    assert_eq!(code, 303);
    let overview = |port: u16| curl(&["-b", jar, &format!("https://127.0.0.1:{port}/")]);
    let until = |port: u16, text: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let (code, page) = overview(port);
            if code == 200 && page.contains(text) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "never {text}: {code} {page}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    until(first, "1 web, 0 SSH");

    // An SSH login held open (no command) counts while it lasts.
    let mut held = Command::new("ssh")
        .args([
            "-N",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-i",
        ])
        .arg(&key)
        .args(["-p", &ssh_port.to_string(), "admin@127.0.0.1"])
        .spawn()
        .expect("ssh (Debian package openssh-client)");
    until(first, "1 web, 1 SSH");
    let _ = held.kill();
    let _ = held.wait();
    until(first, "1 web, 0 SSH");

    // HTTPS moves; the browser's session goes with it.
    node.ok(&format!(
        "xConfiguration Management Interface Port: {second}"
    ));
    wait_for(&format!("https://127.0.0.1:{second}/api/openapi.json"));
    let (code, page) = overview(second);
    assert_eq!(code, 200, "still logged in: {page}");
    assert!(page.contains("id=\"footer-user\">admin<"), "{page}");
    assert!(node.stop());
}
