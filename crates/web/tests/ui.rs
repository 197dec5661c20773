//! The web interface over HTTPS with a real TLS listener, an offline engine over a temporary
//! configuration store, and the local accounts: sessions, form tokens, access levels, generated
//! configuration pages and list pages, as a browser without scripts would use them.

use base64::Engine as _;
use causeway_config::Config;
use causeway_observe::{EventLog, LogKind};
use causeway_web::{serve_with, Options, Running, UiOptions};
use causeway_xapi::auth::LocalAccounts;
use causeway_xapi::{Engine, Principal};
use reqwest::{header, StatusCode};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PW: &str = "Web-test-pass-1";

struct Ui {
    _dir: tempfile::TempDir,
    engine: Arc<Engine>,
    events: Arc<EventLog>,
    ended: Arc<Mutex<Vec<String>>>,
    running: Running,
    client: reqwest::Client,
}

/// A logged-in browser: its cookie and its form token.
struct Browser {
    cookie: String,
    csrf: String,
}

fn tls() -> (Arc<rustls::ServerConfig>, reqwest::Certificate) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .unwrap();
    (
        Arc::new(cfg),
        reqwest::Certificate::from_der(cert.cert.der()).unwrap(),
    )
}

async fn start() -> Ui {
    let dir = tempfile::tempdir().unwrap();
    let config = Arc::new(Config::open(&dir.path().join("config.db")).unwrap());
    let logs = dir.path().join("log");
    let events = Arc::new(EventLog::open(&logs, LogKind::Event).unwrap());
    let engine = Arc::new(Engine::offline(config.clone()));
    let root = Principal::local_root("test");
    for line in [
        format!("xConfiguration Authentication Account Admin Account 1 Password: \"{PW}\""),
        format!("xCommand AdminAccountAdd Name: \"rob\" Password: \"{PW}\" AccessLevel: ReadOnly"),
        format!(
            "xCommand AdminAccountAdd Name: \"audrey\" Password: \"{PW}\" AccessLevel: Auditor"
        ),
        format!("xCommand AdminAccountAdd Name: \"fresh\" Password: \"{PW}\""),
    ] {
        let r = engine.execute(&line, &root);
        assert!(r.ok, "{line}: {}", r.text);
    }
    let snap = config.snapshot();
    let fresh = causeway_config::accounts::find(snap.stored(), "fresh")
        .unwrap()
        .row;
    let r = engine.execute(
        &format!(
            "xConfiguration Authentication Account Admin Account {fresh} ForcePasswordReset: On"
        ),
        &root,
    );
    assert!(r.ok, "{}", r.text);
    let ended = Arc::new(Mutex::new(Vec::new()));
    let e2 = ended.clone();
    let (tls, root_cert) = tls();
    let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let running = serve_with(
        engine.clone(),
        Arc::new(LocalAccounts { config }),
        Options {
            https: local,
            http: None,
            tls,
        },
        UiOptions {
            logs: Some(logs),
            on_session_end: Some(Arc::new(move |u: &str, s: &str, why: &str| {
                e2.lock().unwrap().push(format!("{u} {s} {why}"));
            })),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(root_cert)
        .resolve("localhost", running.https_addr())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    Ui {
        _dir: dir,
        engine,
        events,
        ended,
        running,
        client,
    }
}

fn token_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no form token in {page}"));
    let rest = &page[at + 19..];
    rest[..rest.find('"').unwrap()].to_string()
}

impl Ui {
    fn url(&self, path: &str) -> String {
        format!(
            "https://localhost:{}{path}",
            self.running.https_addr().port()
        )
    }

    async fn login_raw(&self, user: &str, pw: &str) -> reqwest::Response {
        self.client
            .post(self.url("/login"))
            .form(&[("user", user), ("password", pw)])
            .send()
            .await
            .unwrap()
    }

    async fn login(&self, user: &str) -> Browser {
        let r = self.login_raw(user, PW).await;
        assert_eq!(
            r.status(),
            StatusCode::SEE_OTHER,
            "{}",
            r.text().await.unwrap()
        );
        let set = r.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .to_string();
        let cookie = set.split(';').next().unwrap().to_string();
        let mut b = Browser {
            cookie,
            csrf: String::new(),
        };
        let (_, page) = self.get(&b, "/password").await;
        b.csrf = token_of(&page);
        b
    }

    async fn get(&self, b: &Browser, path: &str) -> (StatusCode, String) {
        let r = self
            .client
            .get(self.url(path))
            .header(header::COOKIE, &b.cookie)
            .send()
            .await
            .unwrap();
        let s = r.status();
        let loc = r
            .headers()
            .get(header::LOCATION)
            .map(|l| l.to_str().unwrap().to_string());
        let body = r.text().await.unwrap();
        (s, loc.unwrap_or(body))
    }

    /// Posts a form with the browser's token; returns the status and the redirect target or
    /// the page.
    async fn post(&self, b: &Browser, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let mut f: Vec<(&str, &str)> = vec![("csrf", b.csrf.as_str())];
        f.extend_from_slice(form);
        let r = self
            .client
            .post(self.url(path))
            .header(header::COOKIE, &b.cookie)
            .form(&f)
            .send()
            .await
            .unwrap();
        let s = r.status();
        let loc = r
            .headers()
            .get(header::LOCATION)
            .map(|l| l.to_str().unwrap().to_string());
        let body = r.text().await.unwrap();
        (s, loc.unwrap_or(body))
    }

    fn value(&self, path: &str) -> String {
        self.engine
            .config
            .snapshot()
            .configured(path)
            .unwrap_or("")
            .to_string()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn login_sets_a_strict_cookie_and_logout_ends_the_session() {
    let ui = start().await;
    let r = ui.client.get(ui.url("/status/calls")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()[header::LOCATION],
        "/login?next=%2Fstatus%2Fcalls"
    );

    let r = ui.login_raw("admin", "wrong").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Wrong user name or password"));

    let r = ui.login_raw("admin", PW).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let set = r.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(set.starts_with("__Host-causeway_session="), "{set}");
    for attr in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(set.contains(attr), "{set}");
    }
    let b = ui.login("admin").await;
    let (s, page) = ui.get(&b, "/").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("<h1>Overview</h1>"), "{page}");
    assert!(page.contains("id=\"footer-user\">admin<"));
    assert!(page.contains("read-write"));
    // Every menu of the reference is there.
    for m in [
        "Status",
        "System",
        "Configuration",
        "Applications",
        "Users",
        "Maintenance",
    ] {
        assert!(page.contains(&format!(">{m}</a>")), "{m}");
    }

    // A logout without the form token is refused, with it the session ends.
    let r = ui
        .client
        .post(ui.url("/logout"))
        .header(header::COOKIE, &b.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (s, to) = ui.post(&b, "/logout", &[]).await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/login"));
    let (s, to) = ui.get(&b, "/").await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/login"));
    assert!(ui
        .ended
        .lock()
        .unwrap()
        .iter()
        .any(|e| e.starts_with("admin 127.0.0.1 logout")));
}

#[tokio::test(flavor = "multi_thread")]
async fn forms_need_the_sessions_token_and_this_origin() {
    let ui = start().await;
    let b = ui.login("admin").await;
    let r = ui
        .client
        .post(ui.url("/config/sip"))
        .header(header::COOKIE, &b.cookie)
        .form(&[("csrf", "forged"), ("SIP Mode", "On")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = ui
        .client
        .post(ui.url("/config/sip"))
        .header(header::COOKIE, &b.cookie)
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf", b.csrf.as_str()), ("SIP Mode", "On")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(ui.value("SIP Mode"), "Off");
    // The token also works as a header (htmx sends it so).
    let r = ui
        .client
        .post(ui.url("/config/sip"))
        .header(header::COOKIE, &b.cookie)
        .header("x-csrf-token", &b.csrf)
        .form(&[("SIP Mode", "On")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(ui.value("SIP Mode"), "On");
}

#[tokio::test(flavor = "multi_thread")]
async fn configuration_pages_save_changes_and_show_errors_at_the_field() {
    let ui = start().await;
    let b = ui.login("admin").await;
    let (s, page) = ui.get(&b, "/config/sip").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("name=\"SIP UDP Port\""), "{page}");
    assert!(page.contains("min=\"1024\" max=\"65534\""));
    assert!(page.contains("Default: 5060"));

    let (s, to) = ui
        .post(
            &b,
            "/config/sip",
            &[("SIP Mode", "On"), ("SIP UDP Port", "5062")],
        )
        .await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/config/sip"));
    assert_eq!(ui.value("SIP Mode"), "On");
    assert_eq!(ui.value("SIP UDP Port"), "5062");
    let (_, page) = ui.get(&b, "/config/sip").await;
    assert!(
        page.contains("class=\"bar\" role=\"status\">Saved.<"),
        "{page}"
    );

    // Out of range: nothing is saved, the message stands at the field, the typed value stays.
    let (s, page) = ui
        .post(
            &b,
            "/config/sip",
            &[("SIP TCP Mode", "On"), ("SIP UDP Port", "70000")],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let field = page.find("id=\"f-SIP-UDP-Port\"").unwrap();
    let error = page.find("class=\"field-error\"").unwrap();
    assert!(error > field && error - field < 600, "{page}");
    assert!(page[error..].contains("70000"));
    assert!(page.contains("value=\"70000\""));
    assert_eq!(ui.value("SIP TCP Mode"), "Off");

    // A restart-only setting says so in the information bar.
    let (s, _) = ui
        .post(
            &b,
            "/config/sip",
            &[("SIP Advanced SipTlsDhKeySize", "2048")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, page) = ui.get(&b, "/config/sip").await;
    assert!(page.contains("Restart required"), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_accounts_see_everything_and_save_nothing() {
    let ui = start().await;
    let b = ui.login("rob").await;
    let (s, page) = ui.get(&b, "/config/sip").await;
    assert_eq!(s, StatusCode::OK);
    assert!(!page.contains(">Save</button>"), "{page}");
    assert!(page.contains("read-only"));
    let (s, page) = ui.get(&b, "/table/search-rules").await;
    assert_eq!(s, StatusCode::OK);
    assert!(!page.contains("Add search rule"));
    let (s, _) = ui.post(&b, "/config/sip", &[("SIP Mode", "On")]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(ui.value("SIP Mode"), "Off");
    let (s, _) = ui
        .post(&b, "/table/search-rules/new", &[("row", "1")])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread")]
async fn auditors_see_the_overview_alarms_and_logs_only() {
    let ui = start().await;
    let b = ui.login("audrey").await;
    let (s, page) = ui.get(&b, "/").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("auditor"));
    for shown in [
        "/status/alarms",
        "/status/logs/event",
        "/status/logs/config",
    ] {
        assert!(page.contains(&format!("href=\"{shown}\"")), "{shown}");
        let (s, _) = ui.get(&b, shown).await;
        assert_eq!(s, StatusCode::OK, "{shown}");
    }
    for hidden in [
        "/config/sip",
        "/table/search-rules",
        "/status/registrations",
        "/users/sessions",
        "/tools/locate",
    ] {
        assert!(!page.contains(&format!("href=\"{hidden}\"")), "{hidden}");
        let (s, _) = ui.get(&b, hidden).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{hidden}");
    }
    // Their own password they may change.
    let (s, to) = ui
        .post(
            &b,
            "/password",
            &[
                ("current", PW),
                ("new", "An-other-pass-2"),
                ("confirm", "An-other-pass-2"),
            ],
        )
        .await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_that_must_change_its_password_does_that_first() {
    let ui = start().await;
    let r = ui.login_raw("fresh", PW).await;
    assert_eq!(r.headers()[header::LOCATION], "/password");
    let b = ui.login("fresh").await;
    let (s, to) = ui.get(&b, "/status/alarms").await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/password"));
    let (s, page) = ui
        .post(
            &b,
            "/password",
            &[
                ("current", "nope"),
                ("new", "Brand-new-pass-3"),
                ("confirm", "Brand-new-pass-3"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("current password is not correct"), "{page}");
    let (s, to) = ui
        .post(
            &b,
            "/password",
            &[
                ("current", PW),
                ("new", "Brand-new-pass-3"),
                ("confirm", "Brand-new-pass-3"),
            ],
        )
        .await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/"));
    let (s, _) = ui.get(&b, "/status/alarms").await;
    assert_eq!(s, StatusCode::OK);
    let r = ui.login_raw("fresh", "Brand-new-pass-3").await;
    assert_eq!(r.headers()[header::LOCATION], "/");
}

#[tokio::test(flavor = "multi_thread")]
async fn five_failures_from_an_address_block_it_for_a_minute() {
    let ui = start().await;
    for _ in 0..5 {
        let r = ui.login_raw("admin", "bad").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = ui.login_raw("admin", PW).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.text().await.unwrap().contains("Wait"));
}

#[tokio::test(flavor = "multi_thread")]
async fn session_limits_are_read_from_the_configuration() {
    let ui = start().await;
    let admin = ui.login("admin").await;
    let (s, _) = ui
        .post(
            &admin,
            "/config/administration",
            &[("Management Session MaxConcurrentSessionsUser", "1")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let r = ui.login_raw("admin", PW).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("most web sessions"));
    let _rob = ui.login("rob").await;
    let (s, _) = ui
        .post(
            &admin,
            "/config/administration",
            &[("Management Session MaxConcurrentSessionsTotal", "2")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let r = ui.login_raw("audrey", PW).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // The active sessions page lists both and ends one.
    let (_, page) = ui.get(&admin, "/users/sessions").await;
    assert!(
        page.contains("<td>rob</td>") || page.contains("<td>rob "),
        "{page}"
    );
    let handle = {
        let row = page.find("<td>rob").unwrap();
        let at = row + page[row..].find("name=\"session\" value=\"").unwrap() + 22;
        page[at..at + page[at..].find('"').unwrap()].to_string()
    };
    let (s, _) = ui
        .post(&admin, "/users/sessions/terminate", &[("session", &handle)])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(ui
        .ended
        .lock()
        .unwrap()
        .iter()
        .any(|e| e == "rob 127.0.0.1 terminated by admin"));
    let _audrey = ui.login("audrey").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn search_rules_are_added_edited_switched_and_deleted() {
    let ui = start().await;
    let b = ui.login("admin").await;
    let before = ui
        .engine
        .config
        .snapshot()
        .rows("Zones Policy SearchRules Rule");
    let (s, page) = ui.get(&b, "/table/search-rules/new").await;
    assert_eq!(s, StatusCode::OK);
    let row = token_after(&page, "name=\"row\" value=\"");
    let p = |k: &str| format!("Zones Policy SearchRules Rule {row} {k}");
    assert!(page.contains(&format!("name=\"{}\"", p("Name"))), "{page}");
    let (s, to) = ui
        .post(
            &b,
            "/table/search-rules/new",
            &[
                ("row", row.as_str()),
                (&p("Name"), "To the lab"),
                (&p("Priority"), "40"),
                (&p("Pattern String"), "lab"),
            ],
        )
        .await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/table/search-rules")
    );
    assert_eq!(ui.value(&p("Name")), "To the lab");
    let (_, page) = ui.get(&b, "/table/search-rules?q=lab").await;
    assert!(page.contains(">To the lab<"), "{page}");
    let (_, page) = ui.get(&b, "/table/search-rules?q=nothing-like-it").await;
    assert!(page.contains("Nothing matches the filter"));

    // A second rule with the same name is refused at the name.
    let (_, page) = ui.get(&b, "/table/search-rules/new").await;
    let next = token_after(&page, "name=\"row\" value=\"");
    let name = format!("Zones Policy SearchRules Rule {next} Name");
    let (s, page) = ui
        .post(
            &b,
            "/table/search-rules/new",
            &[("row", next.as_str()), (&name, "to the LAB")],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let field = page.find(&format!("name=\"{name}\"")).unwrap();
    assert!(page[field..].contains("field-error"), "{page}");

    let (s, _) = ui
        .post(&b, &format!("/table/search-rules/{row}/toggle"), &[])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(ui.value(&p("State")), "Disabled");
    let (s, _) = ui
        .post(
            &b,
            &format!("/table/search-rules/{row}"),
            &[(&p("Priority"), "41")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(ui.value(&p("Priority")), "41");
    let (s, _) = ui
        .post(&b, "/table/search-rules/delete", &[("row", row.as_str())])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        ui.engine
            .config
            .snapshot()
            .rows("Zones Policy SearchRules Rule"),
        before
    );
    let (_, page) = ui.get(&b, "/table/search-rules").await;
    assert!(page.contains("Deleted Search rule To the lab."), "{page}");
}

fn token_after(page: &str, marker: &str) -> String {
    let at = page
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {page}"))
        + marker.len();
    page[at..at + page[at..].find('"').unwrap()].to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn accounts_added_on_the_page_can_log_in() {
    let ui = start().await;
    let b = ui.login("admin").await;
    let (_, page) = ui.get(&b, "/table/accounts/new").await;
    let row = token_after(&page, "name=\"row\" value=\"");
    let p = |k: &str| format!("Authentication Account Admin Account {row} {k}");
    assert!(
        page.contains(&format!("name=\"{}\" type=\"password\"", p("Password"))),
        "{page}"
    );
    let (s, _) = ui
        .post(
            &b,
            "/table/accounts/new",
            &[
                ("row", row.as_str()),
                (&p("Name"), "newbie"),
                (&p("Password"), PW),
                (&p("AccessLevel"), "ReadOnly"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    // Stored as a hash, never as typed.
    assert_ne!(ui.value(&p("Password")), PW);
    let n = ui.login("newbie").await;
    let (_, page) = ui.get(&n, "/").await;
    assert!(page.contains("read-only"));
    // The admin account cannot be deleted: the refusal is shown.
    let (s, _) = ui.post(&b, "/table/accounts/delete", &[("row", "1")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, page) = ui.get(&b, "/table/accounts").await;
    assert!(page.contains("bar bar-error"), "{page}");
    assert_eq!(
        ui.value("Authentication Account Admin Account 1 Name"),
        "admin"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tool_values_cannot_smuggle_a_second_line() {
    let ui = start().await;
    let b = ui.login("admin").await;
    let (s, page) = ui
        .get(
            &b,
            "/tools/check-pattern?alias=a%0AxCommand+Restart&type=Prefix&pattern=a&behavior=Leave",
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("may not contain line breaks"), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn zones_show_the_settings_of_their_type() {
    let ui = start().await;
    let b = ui.login("admin").await;
    let (s, to) = ui
        .post(
            &b,
            "/table/zones/new",
            &[
                ("row", "1"),
                ("Zones Zone 1 Name", "Lab"),
                ("Zones Zone 1 Type", "Neighbor"),
            ],
        )
        .await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/table/zones/1"));
    let (_, page) = ui.get(&b, "/table/zones/1").await;
    assert!(
        page.contains("Zones Zone 1 Neighbor Peer 1 Address"),
        "{page}"
    );
    assert!(!page.contains("Zones Zone 1 DNS "));
}

#[tokio::test(flavor = "multi_thread")]
async fn alarms_are_acknowledged_and_the_indicator_follows() {
    let ui = start().await;
    ui.engine.alarms.raise(20007, "SIP TLS DhKeySize");
    let b = ui.login("admin").await;
    let (_, page) = ui.get(&b, "/status/calls").await;
    assert!(page.contains("class=\"alarm on\""), "{page}");
    let (_, page) = ui.get(&b, "/status/alarms").await;
    assert!(page.contains("Restart required"));
    let (s, _) = ui
        .post(&b, "/status/alarms/acknowledge", &[("id", "20007")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, page) = ui.get(&b, "/status/alarms").await;
    assert!(page.contains("Acknowledged"), "{page}");
    let (_, frag) = ui.get(&b, "/fragment/alarm-indicator").await;
    assert!(frag.contains("class=\"alarm\""), "{frag}");
    // Read-only users see alarms but cannot acknowledge them.
    let rob = ui.login("rob").await;
    let (_, page) = ui.get(&rob, "/status/alarms").await;
    assert!(!page.contains(">Acknowledge<"));
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_read_newest_first_and_filter() {
    let ui = start().await;
    for n in ["first", "second", "third"] {
        ui.events.event(1, "tvcs", "Test Event", &[("Detail", n)]);
    }
    let b = ui.login("audrey").await;
    let (s, page) = ui.get(&b, "/status/logs/event").await;
    assert_eq!(s, StatusCode::OK);
    let (third, first) = (page.find(">third<").unwrap(), page.find(">first<").unwrap());
    assert!(third < first, "newest first");
    let (_, page) = ui.get(&b, "/status/logs/event?q=second").await;
    assert!(
        page.contains(">second<") && !page.contains(">first<"),
        "{page}"
    );
    let (_, page) = ui
        .get(&b, "/status/logs/event?q=first+third&mode=any")
        .await;
    assert!(page.contains(">first<") && page.contains(">third<"));
    let (s, _) = ui.get(&b, "/status/logs/config").await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn device_credentials_are_added_and_deleted_without_showing_passwords() {
    let ui = start().await;
    let b = ui.login("admin").await;
    let (s, _) = ui
        .post(
            &b,
            "/credentials",
            &[("name", "room1"), ("password", "s3cret-Room")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, page) = ui.get(&b, "/credentials").await;
    assert!(page.contains("<td>room1</td>"), "{page}");
    assert!(!page.contains("s3cret-Room"));
    let (s, _) = ui
        .post(&b, "/credentials/delete", &[("name", "room1")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(ui.engine.config.credential_names().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_are_never_cached_and_assets_always_are() {
    let ui = start().await;
    let b = ui.login("admin").await;
    let r = ui
        .client
        .get(ui.url("/"))
        .header(header::COOKIE, &b.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(
        r.headers()[header::CONTENT_SECURITY_POLICY],
        "default-src 'self'; frame-ancestors 'none'"
    );
    let page = r.text().await.unwrap();
    let js = token_after(&page, "<script src=\"");
    assert!(js.starts_with("/static/htmx-"), "{js}");
    let r = ui.client.get(ui.url(&js)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()[header::CACHE_CONTROL]
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert!(page.contains("\"includeIndicatorStyles\":false"));
    let r = ui.client.head(ui.url("/login")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.unwrap().is_empty());
    // No inline script or style anywhere: the CSP would block them.
    assert!(!page.contains("<script>") && !page.contains("style=\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn htmx_requests_without_a_session_are_sent_to_the_login_page() {
    let ui = start().await;
    let r = ui
        .client
        .get(ui.url("/status/calls?part=rows"))
        .header("hx-request", "true")
        .header("hx-current-url", ui.url("/status/calls?q=alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["hx-redirect"],
        "/login?next=%2Fstatus%2Fcalls%3Fq%3Dalice"
    );
    let r = ui
        .client
        .get(ui.url("/fragment/alive"))
        .header("hx-request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["hx-redirect"], "/login");
}

#[tokio::test(flavor = "multi_thread")]
async fn backups_are_downloaded_and_restored_from_the_server_or_an_upload() {
    let ui = start().await;
    let b = ui.login("admin").await;
    let (s, page) = ui.get(&b, "/tools/backup").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("No backups are kept"), "{page}");
    let (s, to) = ui
        .post(
            &b,
            "/tools/backup/create",
            &[("password", "bk pw"), ("confirm", "other")],
        )
        .await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/tools/backup"));
    // The download is the encrypted file itself.
    let mut f: Vec<(&str, &str)> = vec![("csrf", b.csrf.as_str())];
    f.extend_from_slice(&[("password", "bk pw"), ("confirm", "bk pw")]);
    let r = ui
        .client
        .post(ui.url("/tools/backup/create"))
        .header(header::COOKIE, &b.cookie)
        .form(&f)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let disposition = r.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_string();
    assert!(disposition.contains("_backup.tar.gz.enc"), "{disposition}");
    let file = r.bytes().await.unwrap();
    assert!(file.starts_with(b"causeway-backup-1\n"));
    let (_, page) = ui.get(&b, "/tools/backup").await;
    let name = disposition.split('"').nth(1).unwrap().to_string();
    assert!(page.contains(&name), "{page}");

    // Changed afterwards, then restored from the kept file: the change is gone.
    let root = Principal::local_root("test");
    assert!(ui.engine.execute("xConfiguration SIP Mode: On", &root).ok);
    let (s, to) = ui
        .post(
            &b,
            "/tools/backup/restore",
            &[("name", &name), ("password", "wrong")],
        )
        .await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/tools/backup"));
    assert_eq!(
        ui.value("SIP Mode"),
        "On",
        "a wrong password changes nothing"
    );
    let (s, page) = ui
        .post(
            &b,
            "/tools/backup/restore",
            &[("name", &name), ("password", "bk pw")],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"restored\""), "{page}");
    assert_eq!(ui.value("SIP Mode"), "Off");
    // Names outside the backups directory are not taken.
    let (s, _) = ui
        .post(
            &b,
            "/tools/backup/restore",
            &[("name", "../config.db"), ("password", "bk pw")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);

    // The same file uploaded from the browser (the page's script sends it base64-encoded).
    assert!(ui.engine.execute("xConfiguration H323 Mode: On", &root).ok);
    let upload = base64::engine::general_purpose::STANDARD.encode(&file);
    let b = ui.login("admin").await;
    let (s, page) = ui
        .post(
            &b,
            "/tools/backup/restore",
            &[("upload", &upload), ("password", "bk pw")],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(ui.value("H323 Mode"), "Off");

    // Read-only accounts may look but not act.
    let r = ui.login("rob").await;
    let (s, _) = ui
        .post(
            &r,
            "/tools/backup/create",
            &[("password", "x"), ("confirm", "x")],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
