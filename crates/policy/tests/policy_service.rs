//! The policy client against live local servers.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use causeway_policy::{
    CallFacts, HttpMethod, MessageKind, Params, PolicyService, Protocol, RegFacts, ServerState,
    ServiceConfig, SignalProtocol,
};
use common::{dead_address, Answer, TestCa, TestServer};

const CPL: &str = "<cpl xmlns='urn:ietf:params:xml:ns:cpl'><taa:routed><proxy/></taa:routed></cpl>";
const FALLBACK: &str = "<reject status='504' reason='test fallback'/>";

fn config(protocol: Protocol, servers: Vec<String>) -> ServiceConfig {
    ServiceConfig {
        protocol,
        method: HttpMethod::Post,
        servers,
        path: "policy/svc".into(),
        status_path: "health".into(),
        username: String::new(),
        password: String::new(),
        tls_verify: true,
        crl_check: false,
        default_cpl: FALLBACK.into(),
    }
}

fn call() -> CallFacts {
    CallFacts {
        protocol: Some(SignalProtocol::Sip),
        method: Some(MessageKind::Invite),
        source_aliases: vec!["sip:alice smith@example.com".into(), "+4412345".into()],
        authenticated: true,
        authentication_user_name: Some("alice&co".into()),
        destination_alias: Some("sip:bob@example.com".into()),
        source_ip: Some("192.0.2.10".parse().unwrap()),
        source_port: Some(5060),
        zone_name: Some("DefaultSubZone".into()),
        cluster_name: Some("east=1".into()),
        ..CallFacts::default()
    }
}

fn decode(form: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(form.as_bytes())
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect()
}

fn value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Waits up to five seconds for the named server to reach `state`.
async fn wait_for(svc: &PolicyService, address: &str, state: ServerState) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = svc.status();
        if now.iter().any(|s| s.address == address && s.state == state) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{address} never became {state:?}: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn posts_named_form_parameters_with_basic_auth() {
    let server = TestServer::http(|_| Answer::ok(CPL)).await;
    let mut cfg = config(Protocol::Http, vec![server.address("127.0.0.1")]);
    cfg.username = "causeway".into();
    cfg.password = "s3cret:with colon".into();
    let svc = PolicyService::new(cfg);

    let params = Params::call_policy(&call());
    let reply = svc.query(&params).await;
    assert_eq!(reply.cpl, CPL);
    assert_eq!(
        reply.server.as_deref(),
        Some(server.address("127.0.0.1").as_str())
    );
    assert!(!reply.default_used);
    assert_eq!(reply.error, None);

    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.target, "/policy/svc");
    assert_eq!(
        r.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    // base64("causeway:s3cret:with colon")
    assert_eq!(
        r.header("authorization"),
        Some("Basic Y2F1c2V3YXk6czNjcmV0OndpdGggY29sb24=")
    );
    assert_eq!(r.header("host"), Some(server.address("127.0.0.1").as_str()));

    let pairs = decode(&r.body);
    assert_eq!(value(&pairs, "POLICY_TYPE"), Some("ADMIN"));
    assert_eq!(value(&pairs, "AUTHENTICATED"), Some("TRUE"));
    assert_eq!(
        value(&pairs, "UNAUTHENTICATED_SOURCE_ALIAS"),
        Some("sip:alice smith@example.com,+4412345")
    );
    assert_eq!(
        value(&pairs, "AUTHENTICATED_SOURCE_ALIAS"),
        Some("sip:alice smith@example.com,+4412345")
    );
    assert_eq!(value(&pairs, "AUTHENTICATION_USER_NAME"), Some("alice&co"));
    assert_eq!(
        value(&pairs, "DESTINATION_ALIAS"),
        Some("sip:bob@example.com")
    );
    assert_eq!(value(&pairs, "SOURCE_IP"), Some("192.0.2.10"));
    assert_eq!(value(&pairs, "SOURCE_PORT"), Some("5060"));
    assert_eq!(value(&pairs, "NETWORK_TYPE"), Some("IPV4"));
    assert_eq!(value(&pairs, "PROTOCOL"), Some("SIP"));
    assert_eq!(value(&pairs, "METHOD"), Some("INVITE"));
    assert_eq!(value(&pairs, "ZONE_NAME"), Some("DefaultSubZone"));
    assert_eq!(value(&pairs, "CLUSTER_NAME"), Some("east=1"));
    // Reserved characters really were escaped on the wire, not merely decodable.
    assert!(r.body.contains("CLUSTER_NAME=east%3D1"), "{}", r.body);
    assert!(r.body.contains("AUTHENTICATION_USER_NAME=alice%26co"));
    assert!(r
        .body
        .contains("sip%3Aalice+smith%40example.com%2C%2B4412345"));
    let sent: Vec<(String, String)> = params
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    assert_eq!(pairs, sent);
}

#[tokio::test]
async fn get_services_send_the_parameters_as_a_query_string() {
    let server = TestServer::http(|_| Answer::ok(CPL)).await;
    let mut cfg = config(Protocol::Http, vec![server.address("127.0.0.1")]);
    cfg.method = HttpMethod::Get;
    let svc = PolicyService::new(cfg);
    let params = Params::search_rule(&call());
    assert!(!svc.query(&params).await.default_used);

    let r = &server.requests()[0];
    assert_eq!(r.method, "GET");
    assert_eq!(r.path(), "/policy/svc");
    assert_eq!(r.header("authorization"), None);
    let pairs = decode(r.query().unwrap());
    assert_eq!(value(&pairs, "POLICY_TYPE"), Some("SEARCH"));
    assert_eq!(
        value(&pairs, "DESTINATION_ALIAS"),
        Some("sip:bob@example.com")
    );
    assert!(r.body.is_empty());
}

#[tokio::test]
async fn registration_requests_carry_the_registration_parameters() {
    let server = TestServer::http(|_| Answer::ok("<allow/>")).await;
    let svc = PolicyService::new(config(Protocol::Http, vec![server.address("127.0.0.1")]));
    let facts = RegFacts {
        protocol: Some(SignalProtocol::Sip),
        method: Some(MessageKind::Register),
        aliases: vec!["sip:alice@example.com".into()],
        ..RegFacts::default()
    };
    let reply = svc.query(&Params::registration(&facts)).await;
    assert_eq!(reply.cpl, "<allow/>");
    let pairs = decode(&server.requests()[0].body);
    assert_eq!(value(&pairs, "ALIAS"), Some("sip:alice@example.com"));
    assert_eq!(value(&pairs, "POLICY_TYPE"), Some("REGISTRATION"));
    assert_eq!(value(&pairs, "AUTHENTICATED"), Some("FALSE"));
    assert_eq!(value(&pairs, "DESTINATION_ALIAS"), None);
}

#[tokio::test]
async fn first_server_down_second_answers() {
    let up = TestServer::http(|_| Answer::ok(CPL)).await;
    let down = dead_address().await;
    let svc = Arc::new(PolicyService::new(config(
        Protocol::Http,
        vec![down.clone(), up.address("127.0.0.1")],
    )));
    // Run on another task: callers share one service across their own tasks.
    let shared = svc.clone();
    let reply = tokio::spawn(async move { shared.query(&Params::new()).await })
        .await
        .unwrap();
    assert_eq!(reply.cpl, CPL);
    assert_eq!(reply.server, Some(up.address("127.0.0.1")));
    assert!(!reply.default_used);

    let status = svc.status();
    assert_eq!(status[0].address, down);
    assert_eq!(status[0].state, ServerState::Failed);
    assert!(status[0].last_error.is_some());
    assert_eq!(status[1].state, ServerState::Active);
    assert_eq!(status[1].last_error, None);
}

#[tokio::test]
async fn a_failed_server_is_tried_after_the_healthy_ones() {
    let broken = TestServer::http(|_| Answer::status(500)).await;
    let good = TestServer::http(|_| Answer::ok(CPL)).await;
    let svc = PolicyService::new(config(
        Protocol::Http,
        vec![broken.address("127.0.0.1"), good.address("127.0.0.1")],
    ));

    let first = svc.query(&Params::new()).await;
    assert_eq!(first.server, Some(good.address("127.0.0.1")));
    assert_eq!(broken.requests().len(), 1);
    assert!(svc.status()[0]
        .last_error
        .as_deref()
        .unwrap()
        .contains("500"));

    // Server 1 is now known bad, so server 2 is asked first and server 1 not at all.
    let second = svc.query(&Params::new()).await;
    assert_eq!(second.server, Some(good.address("127.0.0.1")));
    assert_eq!(broken.requests().len(), 1);
    assert_eq!(good.requests().len(), 2);

    // Once server 1 recovers and a status check says so, it is first again.
    broken.set_handler(|_| Answer::ok("<from-first/>"));
    svc.check_status().await;
    assert_eq!(svc.status()[0].state, ServerState::Active);
    let third = svc.query(&Params::new()).await;
    assert_eq!(third.cpl, "<from-first/>");
    let asked = |s: &TestServer| {
        s.requests()
            .iter()
            .filter(|r| r.path() == "/policy/svc")
            .count()
    };
    assert_eq!((asked(&broken), asked(&good)), (2, 2));
}

#[tokio::test]
async fn all_servers_down_gives_the_default_cpl() {
    let down = dead_address().await;
    let silent = TestServer::http(|_| Answer::hang()).await;
    let empty = TestServer::http(|_| Answer::ok("  \r\n")).await;
    let svc = PolicyService::new(config(
        Protocol::Http,
        vec![
            down.clone(),
            silent.address("127.0.0.1"),
            empty.address("127.0.0.1"),
        ],
    ))
    .with_timeout(Duration::from_millis(300));

    // Without a working per-server timeout the silent server would hold the query forever.
    let reply = tokio::time::timeout(Duration::from_secs(5), svc.query(&Params::new()))
        .await
        .expect("the query outlived every server's timeout");
    assert!(reply.default_used);
    assert_eq!(reply.cpl, FALLBACK);
    assert_eq!(reply.server, None);
    let error = reply.error.unwrap();
    assert!(error.contains(&down), "{error}");
    assert!(
        error.contains(&format!(
            "{}: no answer within",
            silent.address("127.0.0.1")
        )),
        "{error}"
    );
    assert!(error.contains("no CPL"), "{error}");
    assert!(svc.status().iter().all(|s| s.state == ServerState::Failed));
}

#[tokio::test]
async fn status_poller_marks_a_server_failed_then_active_again() {
    let healthy = Arc::new(AtomicBool::new(false));
    let flag = healthy.clone();
    let server = TestServer::http(move |r| {
        if r.path() == "/health" && flag.load(Ordering::SeqCst) {
            Answer::ok("ok")
        } else {
            Answer::status(503)
        }
    })
    .await;
    let address = server.address("127.0.0.1");
    let mut cfg = config(Protocol::Http, vec![address.clone()]);
    cfg.username = "poll".into();
    cfg.password = "pw".into();
    let svc = Arc::new(PolicyService::new(cfg).with_timeout(Duration::from_millis(500)));
    assert_eq!(svc.status()[0].state, ServerState::Unknown);

    let poller = svc.spawn_status_poller(Duration::from_millis(50));
    wait_for(&svc, &address, ServerState::Failed).await;
    assert!(svc.status()[0]
        .last_error
        .as_deref()
        .unwrap()
        .contains("503"));

    healthy.store(true, Ordering::SeqCst);
    wait_for(&svc, &address, ServerState::Active).await;
    assert_eq!(svc.status()[0].last_error, None);
    poller.abort();

    let reqs = server.requests();
    assert!(reqs.len() >= 2);
    assert!(reqs
        .iter()
        .all(|r| r.method == "GET" && r.target == "/health"));
    assert!(reqs
        .iter()
        .all(|r| r.header("authorization") == Some("Basic cG9sbDpwdw==")));
}

#[tokio::test]
async fn the_poller_stops_when_the_service_is_dropped() {
    let server = TestServer::http(|_| Answer::ok("ok")).await;
    let svc = Arc::new(PolicyService::new(config(
        Protocol::Http,
        vec![server.address("127.0.0.1")],
    )));
    let poller = svc.spawn_status_poller(Duration::from_millis(20));
    wait_for(&svc, &server.address("127.0.0.1"), ServerState::Active).await;
    drop(svc);
    tokio::time::timeout(Duration::from_secs(2), poller)
        .await
        .expect("poller kept running")
        .unwrap();
}

#[tokio::test]
async fn https_with_a_trusted_ca_and_matching_name_is_accepted() {
    let ca = TestCa::new();
    let server = TestServer::https(ca.server(&["localhost"], None, 1), |_| Answer::ok(CPL)).await;
    let svc = PolicyService::new(config(Protocol::Https, vec![server.address("localhost")]))
        .with_root_certificates([ca.cert.clone()]);
    let reply = svc.query(&Params::call_policy(&call())).await;
    assert_eq!(reply.error, None);
    assert_eq!(reply.cpl, CPL);
    let pairs = decode(&server.requests()[0].body);
    assert_eq!(value(&pairs, "POLICY_TYPE"), Some("ADMIN"));
}

#[tokio::test]
async fn https_accepts_a_name_found_only_in_the_common_name() {
    let ca = TestCa::new();
    let server = TestServer::https(ca.server(&[], Some("localhost"), 2), |_| Answer::ok(CPL)).await;
    let svc = PolicyService::new(config(Protocol::Https, vec![server.address("localhost")]))
        .with_root_certificates([ca.cert.clone()]);
    let reply = svc.query(&Params::new()).await;
    assert_eq!(reply.error, None);
    assert!(!reply.default_used);
}

#[tokio::test]
async fn https_refuses_a_certificate_for_another_name() {
    let ca = TestCa::new();
    let tls = ca.server(&["policy.example.com"], Some("policy.example.com"), 3);
    let server = TestServer::https(tls, |_| Answer::ok(CPL)).await;
    let svc = PolicyService::new(config(Protocol::Https, vec![server.address("localhost")]))
        .with_root_certificates([ca.cert.clone()]);
    let reply = svc.query(&Params::new()).await;
    assert!(reply.default_used);
    assert_eq!(reply.cpl, FALLBACK);
    let error = reply.error.unwrap();
    assert!(error.contains("not valid for name"), "{error}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn https_refuses_a_certificate_from_an_untrusted_ca() {
    let ca = TestCa::new();
    let server = TestServer::https(ca.server(&["localhost"], None, 4), |_| Answer::ok(CPL)).await;
    let svc = PolicyService::new(config(Protocol::Https, vec![server.address("localhost")]));
    let reply = svc.query(&Params::new()).await;
    assert!(reply.default_used);
    let error = reply.error.unwrap();
    assert!(error.contains("UnknownIssuer"), "{error}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn https_without_verification_accepts_any_certificate() {
    let ca = TestCa::new();
    let tls = ca.server(&["policy.example.com"], None, 5);
    let server = TestServer::https(tls, |_| Answer::ok(CPL)).await;
    let mut cfg = config(Protocol::Https, vec![server.address("localhost")]);
    cfg.tls_verify = false;
    // Neither the CA nor the name would pass a check.
    let reply = PolicyService::new(cfg).query(&Params::new()).await;
    assert_eq!(reply.error, None);
    assert_eq!(reply.cpl, CPL);
}

#[tokio::test]
async fn crl_check_refuses_a_revoked_certificate_only_when_on() {
    let ca = TestCa::new();
    let server = TestServer::https(ca.server(&["localhost"], None, 66), |_| Answer::ok(CPL)).await;
    let crl = ca.crl(&[66]);

    let mut cfg = config(Protocol::Https, vec![server.address("localhost")]);
    cfg.crl_check = true;
    let checked = PolicyService::new(cfg.clone())
        .with_root_certificates([ca.cert.clone()])
        .with_crls([crl.clone()]);
    let reply = checked.query(&Params::new()).await;
    assert!(reply.default_used);
    assert!(reply.error.unwrap().to_lowercase().contains("revoked"));

    cfg.crl_check = false;
    let unchecked = PolicyService::new(cfg)
        .with_root_certificates([ca.cert.clone()])
        .with_crls([crl]);
    assert!(!unchecked.query(&Params::new()).await.default_used);
}

#[tokio::test]
async fn http_to_https_redirect_is_followed_with_the_same_request() {
    let ca = TestCa::new();
    let secure = TestServer::https(ca.server(&["localhost"], None, 7), |_| Answer::ok(CPL)).await;
    let target = format!("https://localhost:{}/secure/svc", secure.addr.port());
    let plain = TestServer::http(move |_| Answer::redirect(&target)).await;

    let mut cfg = config(Protocol::Http, vec![plain.address("localhost")]);
    cfg.username = "u".into();
    cfg.password = "p".into();
    let svc = PolicyService::new(cfg).with_root_certificates([ca.cert.clone()]);
    let params = Params::call_policy(&call());
    let reply = svc.query(&params).await;
    assert_eq!(reply.error, None);
    assert_eq!(reply.cpl, CPL);
    assert_eq!(reply.server, Some(plain.address("localhost")));

    assert_eq!(plain.requests().len(), 1);
    let r = &secure.requests()[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.target, "/secure/svc");
    assert_eq!(r.body, params.to_form());
    assert_eq!(r.header("authorization"), Some("Basic dTpw"));
}

#[tokio::test]
async fn a_redirect_from_https_down_to_http_is_refused() {
    let ca = TestCa::new();
    let plain = TestServer::http(|_| Answer::ok(CPL)).await;
    let target = format!("http://localhost:{}/svc", plain.addr.port());
    let secure = TestServer::https(ca.server(&["localhost"], None, 8), move |_| {
        Answer::redirect(&target)
    })
    .await;
    let svc = PolicyService::new(config(Protocol::Https, vec![secure.address("localhost")]))
        .with_root_certificates([ca.cert.clone()]);
    let reply = svc.query(&Params::new()).await;
    assert!(reply.default_used);
    let error = reply.error.unwrap();
    assert!(error.contains("refused redirect from HTTPS"), "{error}");
    assert!(plain.requests().is_empty());
}
