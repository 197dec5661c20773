//! The gatekeeper's RAS against an independent H.323 endpoint: pycrate's aligned-PER codec
//! driven by `tests/h323/endpoint.py`. Every answer is decoded by pycrate, and the wire
//! traffic of one test is dissected by tshark as well.

mod common;
use common::h323::{expect, h323_node, Capture, Endpoint};
use serde_json::{json, Value};
use std::time::Duration;

fn registered_aliases(node: &common::Node) -> String {
    node.ok("xStatus Registrations")
}

/// The port of a TransportAddress as the endpoint renders it (`"addr": "ip:port"`).
fn addr_of(v: &Value) -> String {
    v["addr"]
        .as_str()
        .or_else(|| v["value"]["addr"].as_str())
        .unwrap_or_else(|| panic!("no address in {v}"))
        .to_string()
}

#[test]
fn discovery_answers_only_with_auto_discovery_on() {
    let (node, ras, _) = h323_node(&[]);
    let mut ep = Endpoint::start(ras, "127.0.0.1");
    let gcf = ep.ras(json!({"op": "grq"}));
    let v = expect(&gcf, "gatekeeperConfirm");
    assert_eq!(v["gatekeeperIdentifier"], "cw-gk", "{v}");
    assert_eq!(addr_of(&v["rasAddress"]), format!("127.0.0.1:{ras}"));
    // A GRQ naming another gatekeeper is turned away.
    let grj = ep.ras(json!({"op": "grq", "gatekeeper_id": "someone-else"}));
    assert_eq!(
        expect(&grj, "gatekeeperReject")["rejectReason"]["type"],
        "terminalExcluded"
    );
    node.ok("xConfiguration H323 Gatekeeper AutoDiscovery Mode: Off");
    assert!(ep.ras(json!({"op": "grq"})).is_null());
}

#[test]
fn registration_refresh_and_unregistration() {
    let (node, ras, cs) = h323_node(&[]);
    let capture = Capture::start(&[ras]);
    let mut ep = Endpoint::start(ras, "127.0.0.1");
    ep.ras(json!({"op": "grq"}));
    let rcf = ep.ras(json!({"op": "rrq", "aliases": [{"h323": "alice"}, {"e164": "1001"}]}));
    let v = expect(&rcf, "registrationConfirm");
    assert_eq!(v["timeToLive"], 1800, "{v}");
    assert_eq!(v["willRespondToIRR"], true, "{v}");
    assert_eq!(v["gatekeeperIdentifier"], "cw-gk");
    let first = v["endpointIdentifier"].as_str().unwrap().to_string();
    assert!(!first.is_empty());
    // The gatekeeper routes call signalling: the RCF names its own address.
    assert_eq!(
        addr_of(&v["callSignalAddress"][0]),
        format!("127.0.0.1:{cs}")
    );

    let status = registered_aliases(&node);
    assert!(status.contains("Protocol: H323"), "{status}");
    assert!(status.contains("Value: \"alice\""), "{status}");
    assert!(status.contains("Value: \"1001\""), "{status}");
    assert!(
        status.contains(&format!("EndpointIdentifier: \"{first}\"")),
        "{status}"
    );
    assert!(status.contains("*s Registrations Count: 1"), "{status}");
    let found = node.ok("xCommand FindRegistration Alias: \"1001\"");
    assert!(found.contains("alice"), "{found}");

    // A lightweight refresh keeps the identifier.
    let rcf = ep.ras(json!({"op": "rrq", "keep_alive": true}));
    assert_eq!(
        expect(&rcf, "registrationConfirm")["endpointIdentifier"],
        first.as_str()
    );
    // A requested time to live shorter than the configured one is granted.
    let rcf =
        ep.ras(json!({"op": "rrq", "aliases": [{"h323": "alice"}, {"e164": "1001"}], "ttl": 300}));
    let v = expect(&rcf, "registrationConfirm");
    assert_eq!(v["timeToLive"], 300);
    assert_eq!(
        v["endpointIdentifier"],
        first.as_str(),
        "same address, same registration"
    );

    let ucf = ep.ras(json!({"op": "urq"}));
    expect(&ucf, "unregistrationConfirm");
    assert!(registered_aliases(&node).contains("*s Registrations Count: 0"));
    let urj = ep.ras(json!({"op": "urq"}));
    assert_eq!(
        expect(&urj, "unregistrationReject")["rejectReason"]["type"],
        "notCurrentlyRegistered"
    );
    // A keep-alive for a registration that is gone needs a full registration.
    let rrj = ep.ras(json!({"op": "rrq", "keep_alive": true}));
    assert_eq!(
        expect(&rrj, "registrationReject")["rejectReason"]["type"],
        "fullRegistrationRequired"
    );
    let log = node.event_log(Some("Registration"));
    assert!(log.contains("Registration Accepted"), "{log}");
    assert!(log.contains("Registration Removed"), "{log}");

    let problems = capture.problems(&[ras], &[]);
    assert!(problems.is_empty(), "tshark: {problems:#?}");
}

#[test]
fn an_alias_held_from_another_address_is_refused_or_taken_over() {
    let (node, ras, _) = h323_node(&[]);
    let mut a = Endpoint::start(ras, "127.0.0.1");
    let mut b = Endpoint::start(ras, "127.0.0.2");
    expect(
        &a.ras(json!({"op": "rrq", "aliases": [{"h323": "room"}]})),
        "registrationConfirm",
    );
    let rrj = b.ras(json!({"op": "rrq", "aliases": [{"h323": "room"}]}));
    let reason = &expect(&rrj, "registrationReject")["rejectReason"];
    assert_eq!(reason["type"], "duplicateAlias", "{reason}");
    assert!(reason.to_string().contains("room"), "{reason}");
    let status = registered_aliases(&node);
    assert!(status.contains("127.0.0.1"), "{status}");

    node.ok("xConfiguration H323 Gatekeeper Registration ConflictMode: Overwrite");
    expect(
        &b.ras(json!({"op": "rrq", "aliases": [{"h323": "room"}]})),
        "registrationConfirm",
    );
    // The endpoint that lost its alias is told so (and confirms).
    let mut told = false;
    for _ in 0..30 {
        let log = a.cmd(json!({"op": "log"}))["log"].clone();
        told = log
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "unregistrationRequest");
        if told {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(told, "no URQ reached the old endpoint");
    let status = registered_aliases(&node);
    assert!(status.contains("127.0.0.2"), "{status}");
    assert!(status.contains("*s Registrations Count: 1"), "{status}");
}

#[test]
fn restriction_policy_refuses_full_registrations_but_not_keep_alives() {
    let (node, ras, _) = h323_node(&[]);
    let mut ep = Endpoint::start(ras, "127.0.0.1");
    expect(
        &ep.ras(json!({"op": "rrq", "aliases": [{"h323": "carol"}]})),
        "registrationConfirm",
    );
    node.ok("xCommand DenyListAdd PatternString: \"carol\" PatternType: Exact");
    node.ok("xConfiguration Registration RestrictionPolicy Mode: DenyList");
    let rrj = ep.ras(json!({"op": "rrq", "aliases": [{"h323": "carol"}]}));
    assert_eq!(
        expect(&rrj, "registrationReject")["rejectReason"]["type"],
        "securityDenial"
    );
    // Lightweight refreshes carry no aliases and are not checked again.
    expect(
        &ep.ras(json!({"op": "rrq", "keep_alive": true})),
        "registrationConfirm",
    );
    let log = node.event_log(Some("Registration Rejected"));
    assert!(log.contains("carol"), "{log}");
}

#[test]
fn credentials_are_checked_when_the_subzone_asks() {
    let (node, ras, _) = h323_node(&[
        "xCommand CredentialAdd Name: \"dave\" Password: \"s3cret-pw\"",
        "xConfiguration Zones LocalZone DefaultSubZone Authentication Mode: CheckCredentials",
    ]);
    let mut ep = Endpoint::start(ras, "127.0.0.1");
    let rrq = |token: &str, password: Option<&str>| {
        let mut c = json!({"op": "rrq", "aliases": [{"h323": "dave"}], "token": token});
        if let Some(p) = password {
            c["user"] = json!("dave");
            c["password"] = json!(p);
        }
        c
    };
    for (token, password, accepted) in [
        ("md5", None, false),
        ("md5", Some("wrong"), false),
        ("clear", Some("wrong"), false),
        ("md5", Some("s3cret-pw"), true),
        ("clear", Some("s3cret-pw"), true),
    ] {
        let answer = ep.ras(rrq(token, password));
        if accepted {
            expect(&answer, "registrationConfirm");
        } else {
            let v = expect(&answer, "registrationReject");
            assert_eq!(
                v["rejectReason"]["type"], "securityDenial",
                "{token} {password:?}"
            );
        }
    }
    let status = registered_aliases(&node);
    assert!(status.contains("AuthenticatedUser: \"dave\""), "{status}");
}

#[test]
fn an_endpoint_past_its_time_to_live_is_polled_and_dropped_when_silent() {
    let (node, ras, _) = h323_node(&[]);
    let mut live = Endpoint::start(ras, "127.0.0.1");
    let mut gone = Endpoint::start(ras, "127.0.0.2");
    gone.cmd(json!({"op": "auto", "irr": false}));
    for (ep, alias) in [(&mut live, "live"), (&mut gone, "gone")] {
        let rcf = ep.ras(json!({"op": "rrq", "aliases": [{"h323": alias}], "ttl": 2}));
        assert_eq!(expect(&rcf, "registrationConfirm")["timeToLive"], 2);
    }
    // The silent one gets an IRQ about its registration (call reference 0) and no second
    // chance after the second one.
    let irq = gone.recv(5.0);
    let v = expect(&irq, "infoRequest");
    assert_eq!(v["callReferenceValue"], 0, "{v}");
    std::thread::sleep(Duration::from_secs(12));
    let status = registered_aliases(&node);
    assert!(!status.contains("\"gone\""), "{status}");
    // The one that answers stays, however many times its time to live ran out.
    assert!(status.contains("\"live\""), "{status}");
    let log = live.cmd(json!({"op": "log"}));
    assert!(log.to_string().contains("infoRequest"), "{log}");
    let events = node.event_log(Some("Registration Removed"));
    assert!(events.contains("Registration expired"), "{events}");
}

#[test]
fn an_operator_removal_sends_the_endpoint_a_urq() {
    let (node, ras, _) = h323_node(&[]);
    let mut ep = Endpoint::start(ras, "127.0.0.1");
    ep.cmd(json!({"op": "auto", "ucf": false}));
    expect(
        &ep.ras(json!({"op": "rrq", "aliases": [{"h323": "erin"}]})),
        "registrationConfirm",
    );
    let n = node.first_registration();
    node.ok(&format!("xCommand RemoveRegistration Registration: {n}"));
    let urq = ep.recv(3.0);
    let v = expect(&urq, "unregistrationRequest");
    assert_eq!(v["reason"]["type"], "maintenance", "{v}");
    assert!(registered_aliases(&node).contains("*s Registrations Count: 0"));
}

#[test]
fn admission_routes_through_the_gatekeeper() {
    let (_node, ras, cs) = h323_node(&[]);
    let mut ep = Endpoint::start(ras, "127.0.0.1");
    // Not registered yet.
    let arj = ep.ras(json!({"op": "arq", "dest": [{"h323": "bob"}]}));
    assert_eq!(
        expect(&arj, "admissionReject")["rejectReason"]["type"],
        "callerNotRegistered"
    );
    expect(
        &ep.ras(json!({"op": "rrq", "aliases": [{"h323": "alice"}]})),
        "registrationConfirm",
    );
    let acf = ep.ras(json!({"op": "arq", "dest": [{"h323": "bob"}], "bandwidth": 3840}));
    let v = expect(&acf, "admissionConfirm");
    assert_eq!(v["callModel"]["type"], "gatekeeperRouted", "{v}");
    assert_eq!(
        addr_of(&v["destCallSignalAddress"]),
        format!("127.0.0.1:{cs}")
    );
    assert_eq!(v["bandWidth"], 3840);
    let bcf = ep.ras(json!({"op": "brq", "bandwidth": 1920}));
    assert_eq!(expect(&bcf, "bandwidthConfirm")["bandWidth"], 1920);
    expect(&ep.ras(json!({"op": "drq"})), "disengageConfirm");
}

#[test]
fn sip_and_h323_registrations_share_one_numbering() {
    // A port of its own: the SIP default may be taken on a busy machine.
    let sip_port = common::free_port();
    let port_line = format!("xConfiguration SIP UDP Port: {sip_port}");
    let (node, ras, _) = h323_node(&[
        "xConfiguration SIP Mode: On",
        "xConfiguration SIP UDP Mode: On",
        &port_line,
        "xCommand DomainAdd Name: \"example.com\"",
    ]);
    let mut ep = Endpoint::start(ras, "127.0.0.1");
    expect(
        &ep.ras(json!({"op": "rrq", "aliases": [{"h323": "frank"}]})),
        "registrationConfirm",
    );
    let _sip = common::registered(sip_port, "grace");
    let status = registered_aliases(&node);
    assert!(
        status.contains("*s Registrations Registration 1 Protocol: H323"),
        "{status}"
    );
    assert!(
        status.contains("*s Registrations Registration 2 Protocol: SIP"),
        "{status}"
    );
    assert!(status.contains("*s Registrations Count: 2"), "{status}");
    node.ok("xCommand RemoveRegistration Registration: 1");
    let status = registered_aliases(&node);
    assert!(status.contains("Registration 2 Protocol: SIP"), "{status}");
    assert!(status.contains("*s Registrations Count: 1"), "{status}");
}

/// The endpoint these tests rely on passes its own checks: against a small gatekeeper written
/// in the script and against a second copy of itself, with its traffic dissected by tshark.
/// A broken test tool would otherwise make the tests above prove nothing.
#[test]
fn the_test_endpoint_passes_its_own_checks() {
    let out = std::process::Command::new("python3")
        .arg(common::h323::script("selftest.py"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A GRQ to the discovery group (224.0.1.41, port 1718) finds the gatekeeper while auto
/// discovery is on. Run in a network namespace of its own, whose multicast route and
/// discovery port nothing else shares.
#[test]
fn multicast_discovery_finds_the_gatekeeper() {
    let ns = common::Netns::new();
    ns.ip(&["route", "add", "224.0.0.0/4", "dev", "v0"]);
    let mut node = common::Node::new();
    node.netns = Some(ns.0.clone());
    let ras = common::free_port();
    for line in [
        "xConfiguration SystemUnit Name: \"cw-gk\"".to_string(),
        "xConfiguration H323 Mode: On".into(),
        format!("xConfiguration H323 Gatekeeper Registration UDP Port: {ras}"),
    ] {
        node.ok(&line);
    }
    node.start();
    let mut ep = Endpoint::start_in(&ns.0, &format!("10.254.0.1:{ras}"), "10.254.0.1");
    let discover = json!({"op": "grq", "to": "224.0.1.41:1718", "timeout": 1});
    let mut gcf = Value::Null;
    for _ in 0..20 {
        gcf = ep.ras(discover.clone());
        if !gcf.is_null() {
            break;
        }
    }
    let v = expect(&gcf, "gatekeeperConfirm");
    assert_eq!(v["gatekeeperIdentifier"], "cw-gk");
    // The confirm names the RAS port, where the endpoint registers next.
    assert_eq!(addr_of(&v["rasAddress"]), format!("10.254.0.1:{ras}"));
    expect(
        &ep.ras(json!({"op": "rrq", "aliases": [{"h323": "ivan"}]})),
        "registrationConfirm",
    );
    node.ok("xConfiguration H323 Gatekeeper AutoDiscovery Mode: Off");
    assert!(ep.ras(discover).is_null());
}

/// With the restriction policy set to a policy service, every full RRQ is put to the
/// service with its H.323 aliases: its reject gets RRJ securityDenial, the others register.
#[test]
fn the_registration_policy_service_decides_h323_registrations() {
    const NO_MALLORY: &str = "<cpl xmlns='urn:ietf:params:xml:ns:cpl' \
        xmlns:taa='http://www.tandberg.net/cpl-extensions'><taa:routed>\
        <address-switch field='destination'><address is='mallory'>\
        <reject status='403' reason='Not here'/></address></address-switch>\
        </taa:routed></cpl>";
    let (http, asked) = common::policy_server(NO_MALLORY);
    let svc = "xConfiguration Registration RestrictionPolicy Service";
    let lines = [
        format!("{svc} Protocol: HTTP"),
        format!("{svc} Server 1 Address: \"127.0.0.1:{http}\""),
        format!("{svc} Path: \"register\""),
        "xConfiguration Registration RestrictionPolicy Mode: PolicyService".to_string(),
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (_node, ras, _) = h323_node(&refs);
    let mut ep = Endpoint::start(ras, "127.0.0.1");
    let rrj = ep.ras(json!({"op": "rrq", "aliases": [{"h323": "mallory"}], "timeout": 5}));
    assert_eq!(
        expect(&rrj, "registrationReject")["rejectReason"]["type"],
        "securityDenial"
    );
    let request = loop {
        let r = asked
            .recv_timeout(Duration::from_secs(5))
            .expect("the service was asked");
        if !r.starts_with("GET /status ") {
            break r;
        }
    };
    assert!(request.starts_with("POST /register "), "{request}");
    assert!(request.contains("ALIAS=mallory"), "{request}");
    assert!(request.contains("PROTOCOL=H323"), "{request}");
    let mut other = Endpoint::start(ras, "127.0.0.2");
    expect(
        &other.ras(json!({"op": "rrq", "aliases": [{"h323": "trent"}], "timeout": 5})),
        "registrationConfirm",
    );
}

/// With `RIPAllRequests: On` every RRQ is first answered with a RequestInProgress, then with
/// the confirm.
#[test]
fn rip_all_requests_announces_the_wait() {
    let (_node, ras, _) =
        h323_node(&["xConfiguration H323 Gatekeeper Registration RIPAllRequests: On"]);
    let mut ep = Endpoint::start(ras, "127.0.0.1");
    let r = ep.cmd(json!({"op": "rrq", "aliases": [{"h323": "gail"}]}));
    expect(&r["msg"], "registrationConfirm");
    let progress = r["progress"].as_array().unwrap();
    assert_eq!(progress.len(), 1, "{r}");
    assert_eq!(progress[0]["type"], "requestInProgress", "{r}");
    assert_eq!(progress[0]["value"]["delay"], 5000, "{r}");
}
