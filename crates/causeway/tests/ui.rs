//! The web interface in a real browser: headless Chromium (Debian `chromium`) driven by
//! playwright-core (npm, pinned in tests/ui/package.json) against a running server. Each test
//! runs one scenario script from tests/ui/ and then checks with `causeway cli` and the logs
//! that the browser really changed the server. Screenshots of the pages go to
//! `target/ui-artifacts/` in the workspace.

mod common;
use common::{free_port, registered, Node};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const USER_PASSWORD: &str = "Browser-test-pass-7";

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui")
}

fn artifacts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ui-artifacts")
}

/// Fails (never skips) when a tool the browser tests need is missing, naming what to install.
fn require_tools() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install the Debian package chromium (apt-get install chromium)"
    );
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "node is missing: install the Debian package nodejs"
    );
    assert!(
        scripts().join("node_modules/playwright-core/package.json").exists(),
        "playwright-core is missing: run `npm ci` in crates/causeway/tests/ui (npm package playwright-core)"
    );
}

/// A node with SIP on UDP (domain example.com), HTTPS on a free loopback port, and two more
/// accounts: `rob` (read-only) and `audrey` (auditor).
struct Web {
    node: Node,
    https: u16,
    sip: u16,
    admin_password: String,
}

fn web_node() -> Web {
    require_tools();
    for _ in 0..5 {
        let (https, sip) = (free_port(), free_port());
        let mut node = Node::new();
        node.serve_args = vec![
            "--https-listen".into(),
            format!("127.0.0.1:{https}"),
            "--http-listen".into(),
            "off".into(),
        ];
        for line in [
            "xConfiguration SIP Mode: On".to_string(),
            "xConfiguration SIP UDP Mode: On".into(),
            format!("xConfiguration SIP UDP Port: {sip}"),
            "xConfiguration SIP TCP Mode: Off".into(),
            format!("xConfiguration SIP TLS Port: {}", free_port()),
            "xCommand DomainAdd Name: \"example.com\"".into(),
            format!("xCommand AdminAccountAdd Name: \"rob\" Password: \"{USER_PASSWORD}\" AccessLevel: ReadOnly"),
            format!("xCommand AdminAccountAdd Name: \"audrey\" Password: \"{USER_PASSWORD}\" AccessLevel: Auditor"),
        ] {
            node.ok(&line);
        }
        node.start();
        if !common::answers_options(sip) || !https_answers(https) {
            node.stop();
            continue;
        }
        let admin_password = std::fs::read_to_string(node.dir.join("initial-admin-password"))
            .unwrap()
            .trim()
            .to_string();
        return Web {
            node,
            https,
            sip,
            admin_password,
        };
    }
    panic!("no node with a web interface could be started");
}

/// Whether the login page answers over HTTPS within a few seconds.
fn https_answers(port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let out = Command::new("curl")
            .args([
                "-sk",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--max-time",
                "5",
            ])
            .arg(format!("https://127.0.0.1:{port}/login"))
            .output()
            .expect("curl (Debian package curl)");
        if out.stdout == b"200" {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

impl Web {
    /// Runs one scenario; panics with everything it printed when it fails.
    fn scenario(&self, script: &str) {
        let out = Command::new("node")
            .arg(scripts().join(script))
            .current_dir(scripts())
            .env("UI_BASE", format!("https://127.0.0.1:{}", self.https))
            .env("UI_ARTIFACTS", artifacts())
            .env("UI_CHROMIUM", CHROMIUM)
            .env("UI_ADMIN_PASSWORD", &self.admin_password)
            .env("UI_USER_PASSWORD", USER_PASSWORD)
            .env("UI_SIP_PORT", self.sip.to_string())
            .output()
            .expect("node");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{script} failed:\n{text}");
        assert!(text.contains("scenario passed"), "{text}");
    }

    fn config_log(&self, grep: &str) -> String {
        let out = self
            .node
            .cmd()
            .args(["log", "--config", "--grep", grep, "--data-dir"])
            .arg(&self.node.dir)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }
}

#[test]
fn an_administrator_changes_settings_meets_field_errors_and_edits_search_rules() {
    let web = web_node();
    assert_eq!(
        web.node.value("SIP Registration Standard Refresh Maximum"),
        "60"
    );
    web.scenario("admin.js");
    // The change made in the browser is what the command line reads.
    assert_eq!(
        web.node.value("SIP Registration Standard Refresh Maximum"),
        "120"
    );
    // The refused value was not stored.
    assert_eq!(web.node.value("SIP UDP Port"), web.sip.to_string());
    // The rule was added and deleted again, by admin from this address.
    let log = web.config_log("Browser rule");
    assert!(log.contains("admin"), "{log}");
    assert!(log.lines().count() >= 2, "{log}");
    assert!(!web
        .node
        .ok("xConfiguration Zones Policy SearchRules")
        .contains("Browser rule"));
    // Logging in and out is in the event log.
    let events = web.node.event_log(Some("Admin Session"));
    assert!(events.contains("Admin Session Start"), "{events}");
}

#[test]
fn registrations_are_unregistered_calls_disconnected_and_alarms_acknowledged_in_the_browser() {
    let web = web_node();
    let _alice = registered(web.sip, "alice");
    // A call in progress (alice's phone calls bob, who answers) for the calls page.
    let (_caller, _callee) = common::connected_call(web.sip, "ui-call");
    // The deny list is the policy, so that registrations can be blocked (it starts empty).
    web.node
        .ok("xConfiguration Registration RestrictionPolicy Mode: DenyList");
    assert!(web.node.ok("xStatus Calls").contains("Calls Count: 1"));
    // A setting that needs a restart raises "Restart required".
    web.node
        .ok("xConfiguration SIP Advanced SipTlsDhKeySize: 2048");
    let alarm = web.node.ok("xStatus Alarm");
    assert!(alarm.contains("20007") && alarm.contains("New"), "{alarm}");
    web.scenario("status.js");
    let regs = web.node.ok("xStatus Registrations");
    assert!(!regs.contains("alice@example.com"), "{regs}");
    assert!(regs.contains("carol@example.com"), "{regs}");
    let alarm = web.node.ok("xStatus Alarm");
    assert!(alarm.contains("Acknowledged"), "{alarm}");
    let deny = web.node.ok("xConfiguration Registration DenyList");
    assert!(deny.contains("\"dave@example.com\""), "{deny}");
    let calls = web.node.ok("xStatus Calls");
    assert!(calls.contains("Calls Count: 0"), "{calls}");
    let log = web.node.event_log(Some("Call Disconnected"));
    assert!(log.contains("Operator disconnect"), "{log}");
}

#[test]
fn read_only_users_cannot_save_and_auditors_see_only_their_pages() {
    let web = web_node();
    web.scenario("access.js");
    assert_eq!(web.node.value("SIP UDP Port"), web.sip.to_string());
}

#[test]
fn a_backup_is_downloaded_and_restored_from_an_upload_in_the_browser() {
    let web = web_node();
    web.scenario("backup.js");
    assert_eq!(web.node.value("SystemUnit Name"), "\"kept-in-backup\"");
    let log = web.node.event_log(Some("Restart Requested"));
    assert_eq!(log.lines().count(), 1, "{log}");
}
