//! The HTTPS server end to end: a real TLS listener on 127.0.0.1, a real HTTP client, an
//! offline engine over a temporary configuration store, and a fake authenticator.

use causeway_config::Config;
use causeway_web::{serve, Options, Running};
use causeway_xapi::auth::{Authenticator, Login, LoginError, Surface};
use causeway_xapi::{Access, Engine, Field, Principal, StatusSource};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Three accounts: read-write, read-only, and one refused on the API. Counts its calls.
#[derive(Default)]
struct FakeAuth {
    calls: AtomicUsize,
}

impl Authenticator for FakeAuth {
    fn login(
        &self,
        user: &str,
        password: &str,
        surface: Surface,
        source: &str,
    ) -> Result<Login, LoginError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        assert_eq!(surface, Surface::Api);
        // As slow as a real password check, so that concurrent requests overlap it.
        std::thread::sleep(Duration::from_millis(50));
        let access = match (user, password) {
            ("alice", "alice-pw") => Access::ReadWrite,
            ("rob", "rob-pw") => Access::ReadOnly,
            ("nina", "nina-pw") => return Err(LoginError::NoAccess(surface)),
            _ => return Err(LoginError::BadCredentials),
        };
        Ok(Login {
            principal: Principal {
                user: user.into(),
                source: source.into(),
                access,
            },
            must_change_password: false,
        })
    }
}

struct Uptime;

impl StatusSource for Uptime {
    fn group(&self) -> &'static str {
        "SystemUnit"
    }
    fn collect(&self) -> Vec<(String, Field)> {
        vec![("Uptime".into(), Field::bare(42))]
    }
}

struct Server {
    root: reqwest::Certificate,
    _dir: tempfile::TempDir,
    engine: Arc<Engine>,
    auth: Arc<FakeAuth>,
    running: Running,
    client: reqwest::Client,
}

fn tls_pair() -> (Arc<rustls::ServerConfig>, reqwest::Certificate) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![leaf.der().clone()], key)
    .unwrap();
    (
        Arc::new(cfg),
        reqwest::Certificate::from_der(ca_cert.der()).unwrap(),
    )
}

fn client(root: reqwest::Certificate, https: SocketAddr) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(root)
        .resolve("localhost", https)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
}

async fn start() -> Server {
    start_with(true).await
}

async fn start_with(plain: bool) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let config = Arc::new(Config::open(&dir.path().join("config.db")).unwrap());
    let mut engine = Engine::offline(config);
    engine.add_status(Arc::new(Uptime));
    let engine = Arc::new(engine);
    let auth = Arc::new(FakeAuth::default());
    let (tls, root) = tls_pair();
    let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let running = serve(
        engine.clone(),
        auth.clone(),
        Options {
            https: local,
            http: plain.then_some(local),
            tls,
        },
    )
    .await
    .unwrap();
    let client = client(root.clone(), running.https_addr()).build().unwrap();
    Server {
        root,
        _dir: dir,
        engine,
        auth,
        running,
        client,
    }
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!(
            "https://localhost:{}{path}",
            self.running.https_addr().port()
        )
    }

    fn req(&self, method: Method, path: &str, user: Option<&str>) -> reqwest::RequestBuilder {
        let r = self.client.request(method, self.url(path));
        match user {
            Some(u) => r.basic_auth(u, Some(format!("{u}-pw"))),
            None => r,
        }
    }

    async fn get(&self, path: &str, user: &str) -> (StatusCode, Value) {
        let r = self
            .req(Method::GET, path, Some(user))
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        user: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let r = self
            .req(method, path, Some(user))
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    fn root(&self, line: &str) -> causeway_xapi::Response {
        self.engine.execute(line, &Principal::local_root("test"))
    }

    fn set(&self, line: &str) {
        let r = self.root(line);
        assert!(r.ok, "{line}: {}", r.text);
    }

    fn plain_url(&self, path: &str) -> String {
        format!(
            "http://127.0.0.1:{}{path}",
            self.running.http_addr().unwrap().port()
        )
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_or_wrong_credentials_get_401_with_a_challenge() {
    let s = start().await;
    for r in [
        s.req(Method::GET, "/api/configuration", None),
        s.client
            .get(s.url("/api/configuration"))
            .basic_auth("alice", Some("wrong")),
        s.client
            .get(s.url("/api/configuration"))
            .header("Authorization", "Basic not base64!"),
    ] {
        let r = r.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            r.headers()["www-authenticate"],
            "Basic realm=\"causeway\", charset=\"UTF-8\""
        );
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "Unauthorized");
        assert!(body["message"].is_string());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_without_api_access_gets_403() {
    let s = start().await;
    let (status, body) = s.get("/api/configuration/SIP/Mode", "nina").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "Forbidden");
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_accounts_read_but_cannot_write() {
    let s = start().await;
    let (status, body) = s.get("/api/configuration/SIP/Mode", "rob").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"SIP Mode": "Off"}));
    let (status, body) = s
        .send(
            Method::PUT,
            "/api/configuration/SIP/Mode",
            "rob",
            json!({"value": "On"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "Denied");
    assert_eq!(
        s.engine.config.snapshot().configured("SIP Mode"),
        Some("Off")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_element_is_readable() {
    let s = start().await;
    let (status, body) = s.get("/api/configuration", "rob").await;
    assert_eq!(status, StatusCode::OK);
    let printed = s
        .root("xConfiguration")
        .text
        .lines()
        .filter(|l| l.starts_with("*c "))
        .count();
    let map = body.as_object().unwrap();
    assert!(printed > 400, "{printed}");
    assert_eq!(map.len(), printed);
    // Integers come back as numbers, enums and text as strings.
    assert_eq!(map["SIP TCP Port"], json!(5060));
    assert_eq!(map["SIP Mode"], json!("Off"));

    let (status, body) = s.get("/api/configuration/sip/registration", "rob").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body
        .as_object()
        .unwrap()
        .keys()
        .all(|k| k.starts_with("SIP Registration ")));

    let (status, body) = s.get("/api/configuration/SIP/NoSuchThing", "rob").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "NotFound");
    let (status, _) = s.get("/api/configuration/Zones/Zone/1001", "rob").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s.get("/api/nothing/here", "rob").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_put_is_validated_and_an_out_of_range_value_keeps_the_old_one() {
    let s = start().await;
    let path = "/api/configuration/SIP/TCP/Port";
    let (status, body) = s
        .send(Method::PUT, path, "alice", json!({"value": 70000}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "Refused");
    assert_eq!(body["path"], "SIP TCP Port");
    assert_eq!(body["valuespace"], "<1024..65534>");
    assert!(
        body["message"].as_str().unwrap().contains("70000"),
        "{body}"
    );
    assert_eq!(s.get(path, "alice").await.1, json!({"SIP TCP Port": 5060}));

    let (status, body) = s
        .send(Method::PUT, path, "alice", json!({"value": 5070}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ok"], true);
    assert_eq!(s.get(path, "alice").await.1, json!({"SIP TCP Port": 5070}));
    // Strings work as on the command line; null goes back to the default.
    let (status, _) = s
        .send(Method::PUT, path, "alice", json!({"value": "5080"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.get(path, "alice").await.1, json!({"SIP TCP Port": 5080}));
    let (status, _) = s
        .send(Method::PUT, path, "alice", json!({"value": null}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!s.engine.config.snapshot().is_stored("SIP TCP Port"));

    let (status, _) = s
        .send(
            Method::PUT,
            "/api/configuration/SIP/Bogus",
            "alice",
            json!({"value": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s
        .send(
            Method::PUT,
            "/api/configuration/SIP",
            "alice",
            json!({"value": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s
        .send(Method::PUT, path, "alice", json!({"valeu": 1}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_multi_element_put_is_all_or_nothing() {
    let s = start().await;
    let (status, body) = s
        .send(
            Method::PUT,
            "/api/configuration",
            "alice",
            json!({"SystemUnit Name": "edge-1", "SIP TCP Port": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["path"], "SIP TCP Port");
    let snap = s.engine.config.snapshot();
    assert!(!snap.is_stored("SystemUnit Name"));

    let (status, body) = s
        .send(
            Method::PUT,
            "/api/configuration",
            "alice",
            json!({"SystemUnit Name": "edge \"1\"", "sip tcp port": 5090, "SIP Mode": "on"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let snap = s.engine.config.snapshot();
    assert_eq!(snap.configured("SystemUnit Name"), Some("edge \"1\""));
    assert_eq!(snap.configured("SIP TCP Port"), Some("5090"));
    assert_eq!(snap.configured("SIP Mode"), Some("On"));

    // An unknown path refuses the whole body too.
    let (status, body) = s
        .send(
            Method::PUT,
            "/api/configuration",
            "alice",
            json!({"SIP Mode": "Off", "SIP Nonsense": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["path"], "SIP Nonsense");
    assert_eq!(
        s.engine.config.snapshot().configured("SIP Mode"),
        Some("On")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_adds_a_zone_and_delete_removes_its_row() {
    let s = start().await;
    // A name with quotes and a backslash reaches the command layer unchanged.
    let name = r#"Edge "B" \ 2"#;
    let (status, body) = s
        .send(
            Method::POST,
            "/api/command/zoneadd",
            "alice",
            json!({"ZoneName": name, "Type": "Neighbor"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["results"][0]["fields"]["ZoneId"]
        .as_str()
        .unwrap()
        .to_string();
    let row = format!("/api/configuration/Zones/Zone/{id}");
    let (status, zone) = s.get(&row, "alice").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(zone[format!("Zones Zone {id} Name")], name);

    let r = s
        .req(Method::DELETE, &row, Some("rob"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = s
        .req(Method::DELETE, &row, Some("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let id: u32 = id.parse().unwrap();
    assert!(!s.engine.config.snapshot().rows("Zones Zone").contains(&id));
    let r = s
        .req(Method::DELETE, &row, Some("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = s
        .req(Method::DELETE, &format!("{row}/Name"), Some("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Unknown commands are 404; a missing required parameter is refused by the command layer.
    let (status, _) = s
        .send(
            Method::POST,
            "/api/command/NoSuchCommand",
            "alice",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = s
        .send(
            Method::POST,
            "/api/command/ZoneAdd",
            "alice",
            json!({"Type": "DNS"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "Refused");
    assert_eq!(body["parameter"], "ZoneName");
    let (status, body) = s
        .send(
            Method::POST,
            "/api/command/ZoneAdd",
            "alice",
            json!({"Bad Name": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn xapi_answers_with_the_same_text_as_the_command_layer() {
    let s = start().await;
    for line in [
        "xConfiguration SIP",
        "xConfiguration SIP Mode: Sideways",
        "xCommand CheckPattern Target: \"alice@example.com\" Pattern: \"(.*)@example.com\" Type: Regex Behavior: Replace Replace: \"\\1@example.org\"",
        "xCommand ?",
    ] {
        let (status, body) = s.send(Method::POST, "/api/xapi", "alice", json!({"command": line})).await;
        let direct = s.root(line);
        assert_eq!(body["text"], direct.text, "{line}");
        assert_eq!(body["ok"], direct.ok);
        let expected = if direct.ok { StatusCode::OK } else { StatusCode::BAD_REQUEST };
        assert_eq!(status, expected, "{line}: {body}");
    }
    // Read-only callers cannot write through this door either.
    let (status, body) = s
        .send(
            Method::POST,
            "/api/xapi",
            "rob",
            json!({"command": "xConfiguration SIP Mode: On"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "Denied");
    assert!(body["message"].is_string());
    let (status, _) = s
        .send(
            Method::POST,
            "/api/xapi",
            "alice",
            json!({"command": "xStatus\nxStatus"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread")]
async fn status_reads_answer_found_missing_and_unavailable() {
    let s = start().await;
    let (status, body) = s.get("/api/status/SystemUnit", "rob").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"SystemUnit Uptime": "42"}));
    let (status, _) = s.get("/api/status/SystemUnit/Uptime", "rob").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s.get("/api/status/NoSuchGroup", "rob").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The offline engine cannot report the groups a running server fills.
    let (status, body) = s.get("/api/status", "rob").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "Unavailable");
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_must_be_json_of_reasonable_size() {
    let s = start().await;
    let r = s
        .req(Method::PUT, "/api/configuration", Some("alice"))
        .header("content-type", "application/json")
        .body("{\"SIP Mode\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("not valid JSON"),
        "{body}"
    );

    let r = s
        .req(Method::POST, "/api/xapi", Some("alice"))
        .header("content-type", "text/plain")
        .body("{\"command\": \"xStatus\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let big = format!("{{\"command\": \"{}\"}}", "x".repeat(2 << 20));
    let r = s
        .req(Method::POST, "/api/xapi", Some("alice"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_guides_methods_reach_the_routes() {
    let s = start().await;
    for m in ["TRACE", "PATCH", "PROPFIND", "CONNECT"] {
        let m = Method::from_bytes(m.as_bytes()).unwrap();
        let r = s
            .req(m.clone(), "/api/configuration", Some("alice"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{m}");
        assert!(r.headers().contains_key("allow"), "{m}");
    }
    for m in [Method::PUT, Method::DELETE, Method::OPTIONS, Method::TRACE] {
        let r = s.req(m.clone(), "/", None).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{m}");
        assert_eq!(r.headers()["allow"], "GET, HEAD, POST");
    }
    let r = s
        .req(Method::OPTIONS, "/api/configuration/SIP/Mode", None)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(r.headers()["allow"], "GET, HEAD, PUT, DELETE, OPTIONS");
    let r = s
        .req(Method::OPTIONS, "/api/xapi", None)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["allow"], "POST, OPTIONS");
    // A method the API knows but this path does not take.
    let r = s
        .req(Method::DELETE, "/api/status", Some("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers()["allow"], "GET, HEAD, OPTIONS");
    // HEAD is GET without the body.
    let r = s
        .req(Method::HEAD, "/api/configuration/SIP/Mode", Some("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn every_answer_carries_the_security_headers_and_hsts_follows_its_setting() {
    let s = start().await;
    for path in ["/", "/api/configuration", "/api/openapi.json", "/nowhere"] {
        let r = s.req(Method::GET, path, None).send().await.unwrap();
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(
            h["content-security-policy"],
            "default-src 'self'; frame-ancestors 'none'"
        );
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["strict-transport-security"], "max-age=31536000");
        if path.starts_with("/api") {
            assert_eq!(h["cache-control"], "no-store");
        }
    }
    s.set("xConfiguration Management Interface HstsMode: Off");
    let r = s
        .req(Method::GET, "/api/configuration", Some("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!r.headers().contains_key("strict-transport-security"));
    s.set("xConfiguration Management Interface HstsMode: On");
    let r = s.req(Method::GET, "/", None).send().await.unwrap();
    assert!(r.headers().contains_key("strict-transport-security"));
}

#[tokio::test(flavor = "multi_thread")]
async fn https_mode_off_refuses_everything() {
    let s = start().await;
    s.set("xConfiguration Administration HTTPS Mode: Off");
    for path in ["/", "/api/configuration", "/api/openapi.json"] {
        let r = s
            .req(Method::GET, path, Some("alice"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let r = s.client.get(s.plain_url("/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Nobody logged in: the refusal comes before any password check.
    assert_eq!(s.auth.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_http_redirects_to_https_keeping_host_path_and_query() {
    let s = start().await;
    let port = s.running.https_addr().port();
    let r = s
        .client
        .get(s.plain_url("/api/status?x=1"))
        .header("host", "edge.example.com:8080")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        r.headers()["location"],
        format!("https://edge.example.com:{port}/api/status?x=1").as_str()
    );
    assert!(!r.headers().contains_key("strict-transport-security"));
    assert_eq!(r.headers()["x-frame-options"], "DENY");

    let r = s
        .client
        .put(s.plain_url("/api/configuration"))
        .header("host", "[2001:db8::1]")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        r.headers()["location"],
        format!("https://[2001:db8::1]:{port}/api/configuration").as_str()
    );
    let r = s
        .client
        .request(Method::TRACE, s.plain_url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_http_refuses_when_http_mode_is_off() {
    let s = start().await;
    s.set("xConfiguration Administration HTTP Mode: Off");
    let r = s.client.get(s.plain_url("/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(!r.headers().contains_key("location"));
    assert!(r.text().await.unwrap().contains("HTTP Mode"));

    let none = start_with(false).await;
    assert!(none.running.http_addr().is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_tls_client_does_not_disturb_others() {
    let s = start().await;
    let addr = s.running.https_addr();
    // One client that never says anything, one that speaks plain HTTP to the TLS port, one
    // that sends random bytes and hangs up.
    let _silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut http = tokio::net::TcpStream::connect(addr).await.unwrap();
    http.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let _ = tokio::time::timeout(Duration::from_secs(5), http.read(&mut buf)).await;
    let mut junk = tokio::net::TcpStream::connect(addr).await.unwrap();
    junk.write_all(&[0x16, 0x03, 0x01, 0xff, 0xff, 1, 2, 3, 4])
        .await
        .unwrap();
    drop(junk);

    let started = std::time::Instant::now();
    let (status, _) = s.get("/api/configuration/SIP/Mode", "alice").await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread")]
async fn http_2_and_http_1_1_are_both_served() {
    let s = start().await;
    let r = s
        .req(Method::GET, "/api/configuration/SIP/Mode", Some("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.status(), StatusCode::OK);
    let old = client(s.root.clone(), s.running.https_addr())
        .http1_only()
        .build()
        .unwrap();
    let r = old
        .get(s.url("/api/configuration/SIP/Mode"))
        .basic_auth("alice", Some("alice-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_11);
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"SIP Mode": "Off"}));
}

#[tokio::test(flavor = "multi_thread")]
async fn good_logins_are_remembered_until_the_configuration_changes() {
    let s = start().await;
    let calls = || s.auth.calls.load(Ordering::SeqCst);
    assert_eq!(
        s.get("/api/configuration/SIP/Mode", "alice").await.0,
        StatusCode::OK
    );
    assert_eq!(
        s.get("/api/configuration/SIP/Mode", "alice").await.0,
        StatusCode::OK
    );
    assert_eq!(calls(), 1);
    // A wrong password is checked every time and never served from the cache.
    let wrong = || {
        s.client
            .get(s.url("/api/configuration/SIP/Mode"))
            .basic_auth("alice", Some("nope"))
            .send()
    };
    assert_eq!(wrong().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(calls(), 3);

    s.set("xConfiguration SystemUnit Name: \"renamed\"");
    assert_eq!(
        s.get("/api/configuration/SIP/Mode", "alice").await.0,
        StatusCode::OK
    );
    assert_eq!(calls(), 4);
    assert_eq!(
        s.get("/api/configuration/SIP/Mode", "alice").await.0,
        StatusCode::OK
    );
    assert_eq!(calls(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_read_sealed_or_masked_and_writing_them_back_keeps_them() {
    let s = start().await;
    // A password sent to other systems reads sealed.
    let element = "Alarm Notification SMTP Server Password";
    let path = "/api/configuration/Alarm/Notification/SMTP/Server/Password";
    let (status, body) = s
        .send(Method::PUT, path, "alice", json!({"value": "s3cret"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = s.get(path, "alice").await;
    let sealed = body[element].as_str().unwrap().to_string();
    assert!(sealed.starts_with("{cipher}"), "{sealed}");
    let (status, _) = s
        .send(Method::PUT, "/api/configuration", "alice", body)
        .await;
    assert_eq!(status, StatusCode::OK);
    let snap = s.engine.config.snapshot();
    assert_eq!(snap.configured(element), Some(sealed.as_str()));
    assert_eq!(snap.secret(element).as_deref(), Some("s3cret"));
    // An account password (hashed) reads masked; the mask written back keeps it.
    let element = "Authentication Account Admin Account 1 Password";
    let path = "/api/configuration/Authentication/Account/Admin/Account/1/Password";
    let (status, body) = s
        .send(Method::PUT, path, "alice", json!({"value": "admin pass"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let hash = s.engine.config.snapshot().get(element).unwrap().to_string();
    let (_, body) = s.get(path, "alice").await;
    assert_eq!(body[element], "***");
    let (status, _) = s
        .send(Method::PUT, "/api/configuration", "alice", body)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.engine.config.snapshot().get(element), Some(hash.as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_is_public_and_valid() {
    let s = start().await;
    let r = s
        .req(Method::GET, "/api/openapi.json", None)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.0.3");
    let config = &doc["components"]["schemas"]["Configuration"]["properties"];
    assert_eq!(config["SIP TCP Port"]["minimum"], 1024);
    assert_eq!(config["SIP TCP Port"]["default"], 5060);
    assert_eq!(config["SIP Mode"]["enum"], json!(["On", "Off"]));
    let zone = &doc["components"]["schemas"]["Command.ZoneAdd"];
    assert_eq!(zone["required"], json!(["ZoneName", "Type"]));
    assert!(doc["paths"]["/api/command/ZoneAdd"]["post"].is_object());
    assert_eq!(
        config.as_object().unwrap().len(),
        causeway_config::schema::ELEMENTS.len()
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let out = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named openapi_spec_validator"),
        "the validator is missing: install the pip package openapi-spec-validator \
         (scripts/test does)"
    );
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document:\n{}\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_closes_the_listeners() {
    let s = start().await;
    let addr = s.running.https_addr();
    assert_eq!(
        s.get("/api/configuration/SIP/Mode", "alice").await.0,
        StatusCode::OK
    );
    // A client stuck before its handshake does not hold the shutdown up.
    let _silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = std::time::Instant::now();
    s.running.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(5));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

/// A record as the server would write it, for the call-usage API.
fn cdr(uuid: &str, src: &str, start: &str) -> causeway_cdr::Record {
    serde_json::from_value(json!({
        "uuid": uuid, "service_uuid": causeway_cdr::PROXY_SERVICE, "active": "false",
        "initial_call": "true", "licensed": "true", "licensed_as_traversal": "false",
        "status": "Disconnected", "tag": "t", "box_call_serial_number": uuid,
        "start_time": start, "end_time": start, "source_alias": src,
        "destination_alias": "sip:bob@example.com", "aside_destination_alias": "",
        "bside_destination_alias": "", "aside_request_uri": "", "bside_request_uri": "",
        "protocol": "SIP <-> SIP", "protocol_summary": "", "media_routed": "false",
        "audio": "false", "traversal_license_tokens": 0, "non_traversal_license_tokens": 2,
        "disconnect_reason": "BYE", "details": "{}", "last_updated_timestamp": 0
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn call_usage_gives_the_records_as_json_and_csv() {
    let s = start().await;
    let base = "/api/external/callusage";
    // No store yet: no records.
    let (status, body) = s.get(&format!("{base}/get_all_records"), "alice").await;
    assert_eq!((status, body), (StatusCode::OK, json!([])));
    let store = causeway_cdr::Store::open(&s.engine.config.data_dir().join("cdr.db")).unwrap();
    let now = std::time::SystemTime::now();
    let t = |ago: u64| causeway_cdr::format_time(now - Duration::from_secs(ago));
    let (a, b) = (
        cdr("a", "sip:alice@example.com", &t(7200)),
        cdr("b", "sip:carol@example.com", &t(60)),
    );
    for r in [&a, &b] {
        let at = causeway_cdr::parse_time(&r.start_time).unwrap();
        store.insert(r, at, at).unwrap();
    }
    let (status, body) = s.get(&format!("{base}/get_all_records"), "rob").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.as_array().unwrap().len(), 2);
    assert_eq!(body[0]["uuid"], "a");
    assert_eq!(body[1]["non_traversal_license_tokens"], 2);
    let from = t(600).replace(' ', "%20");
    let to = t(0).replace(' ', "%20");
    let (_, body) = s
        .get(
            &format!("{base}/get_records_for_interval?fromtime={from}&totime={to}"),
            "alice",
        )
        .await;
    assert_eq!(body.as_array().unwrap().len(), 1);
    assert_eq!(body[0]["uuid"], "b");
    let (status, _) = s
        .get(
            &format!("{base}/get_records_for_interval?fromtime={from}"),
            "alice",
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, body) = s
        .get(
            &format!("{base}/get_records_for_filter?src_alias=SIP:ALICE@example.com"),
            "alice",
        )
        .await;
    assert_eq!(body.as_array().unwrap().len(), 1);
    assert_eq!(body[0]["uuid"], "a");
    let (status, _) = s
        .get(&format!("{base}/get_records_for_filter"), "alice")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let r = s
        .req(
            Method::GET,
            &format!("{base}/get_all_csv_records"),
            Some("alice"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = r.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), causeway_cdr::CSV_COLUMNS.join(","));
    assert!(lines.next().unwrap().starts_with("a,"));
    // Logins are needed as for the rest of the API.
    let r = s
        .req(Method::GET, &format!("{base}/get_all_records"), None)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = s
        .req(
            Method::DELETE,
            &format!("{base}/get_all_records"),
            Some("alice"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_requests_with_one_login_checks_it_only_a_few_times() {
    let s = Arc::new(start().await);
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.get("/api/configuration/SIP/Mode", "alice").await.0
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    // At most one check per slot for checks; the others find the first result.
    let calls = s.auth.calls.load(Ordering::SeqCst);
    assert!(calls <= 4, "{calls} password checks for one login");
}
