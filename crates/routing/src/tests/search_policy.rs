//! Call policy inside the search (notes 05 §2.1 R2 and §2.6): it sees the alias after the
//! pre-search transform, its new aliases start the whole process again, a reject ends the
//! call, and an external service's script is asked for before the rules run.

use crate::cpl::Policy;
use crate::dialplan::{Dialplan, Protocol};
use crate::search::*;
use causeway_config::{Snapshot, Values};
use std::sync::Arc;

fn dialplan(values: &[(&str, &str)]) -> Arc<Dialplan> {
    let mut v = Values::new();
    v.insert("SIP Domain 1 Name".into(), "example.com".into());
    v.insert(
        "Zones Policy SearchRules Rule 1 Name".into(),
        "local".into(),
    );
    v.insert(
        "Zones Policy SearchRules Rule 1 Target Name".into(),
        "LocalZone".into(),
    );
    for (k, val) in values {
        v.insert((*k).to_string(), (*val).to_string());
    }
    let dp = Dialplan::from_snapshot(&Snapshot::from_values(v));
    assert!(dp.problems.is_empty(), "{:?}", dp.problems);
    Arc::new(dp)
}

fn call(alias: &str, from: &str) -> SearchRequest {
    let mut r = SearchRequest::new(alias, Protocol::Sip);
    r.caller.source_aliases = vec![format!("sip:{from}")];
    r
}

fn asked(step: &Step) -> Vec<String> {
    match step {
        Step::Ask(qs) => qs.iter().map(|q| q.alias.clone()).collect(),
        other => panic!("expected queries, got {other:?}"),
    }
}

fn rejected(step: &Step) -> (u16, String) {
    match step {
        Step::NotFound(Refusal::Rejected { status, reason }) => (*status, reason.clone()),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

const RULE: &str = "Policy AdministratorPolicy Rules Rule";

/// Web rules are tried from the top and the first that matches decides; a call that matches
/// none is allowed.
#[test]
fn the_first_matching_web_rule_decides() {
    let k = |n: u32, f: &str| format!("{RULE} {n} {f}");
    let owned = [
        ("Policy AdministratorPolicy Mode".to_string(), "LocalCPL"),
        (k(1, "SourcePattern"), "boss@example.com"),
        (k(1, "DestinationPattern"), "vip@example.com"),
        (k(1, "Action"), "Allow"),
        (k(2, "DestinationPattern"), "vip@.*"),
        (k(2, "Action"), "Reject"),
    ];
    let pairs: Vec<(&str, &str)> = owned.iter().map(|(a, b)| (a.as_str(), *b)).collect();
    let dp = dialplan(&pairs);

    let mut s = Search::new(dp.clone(), call("vip@example.com", "boss@example.com"));
    assert_eq!(asked(&s.step()), vec!["vip@example.com"]);

    let mut s = Search::new(dp.clone(), call("vip@example.com", "intern@example.com"));
    assert_eq!(rejected(&s.step()).0, 403);
    assert!(
        s.trace().iter().any(|l| l.contains("rejects")),
        "{:?}",
        s.trace()
    );

    let mut s = Search::new(dp, call("anyone@example.com", "intern@example.com"));
    assert_eq!(asked(&s.step()), vec!["anyone@example.com"]);
}

/// Without any rule or script, Local CPL lets every call through.
#[test]
fn an_empty_local_policy_allows_everything() {
    let dp = dialplan(&[("Policy AdministratorPolicy Mode", "LocalCPL")]);
    let mut s = Search::new(dp, call("bob@example.com", "alice@example.com"));
    assert_eq!(asked(&s.step()), vec!["bob@example.com"]);
}

/// An uploaded script wins over the web rules; its status and reason reach the caller.
#[test]
fn an_uploaded_script_replaces_the_web_rules() {
    let script = "<cpl xmlns='urn:ietf:params:xml:ns:cpl' \
        xmlns:taa='http://www.tandberg.net/cpl-extensions'><taa:routed>\
        <address-switch field='destination'><address regex='blocked@.*'>\
        <reject status='488' reason='Not here'/></address></address-switch>\
        </taa:routed></cpl>";
    let dp = dialplan(&[
        ("Policy AdministratorPolicy Mode", "LocalCPL"),
        ("Policy AdministratorPolicy LocalCPL File", script),
        // A web rule that would reject everything: the script makes it inert.
        (
            "Policy AdministratorPolicy Rules Rule 1 DestinationPattern",
            ".*",
        ),
    ]);
    let mut s = Search::new(dp.clone(), call("blocked@example.com", "a@example.com"));
    assert_eq!(rejected(&s.step()), (488, "Not here".to_string()));
    let mut s = Search::new(dp, call("open@example.com", "a@example.com"));
    assert_eq!(asked(&s.step()), vec!["open@example.com"]);
}

/// Policy runs on the transformed alias; the alias it redirects to goes through the
/// pre-search transforms again before the rules see it (guide T4).
#[test]
fn a_redirect_starts_the_process_again() {
    let script = "<cpl xmlns='urn:ietf:params:xml:ns:cpl' \
        xmlns:taa='http://www.tandberg.net/cpl-extensions'><taa:routed>\
        <address-switch field='destination'><address is='reception@example.com'>\
        <location clear='yes' url='desk'><proxy/></location></address></address-switch>\
        </taa:routed></cpl>";
    let dp = dialplan(&[
        ("Policy AdministratorPolicy Mode", "LocalCPL"),
        ("Policy AdministratorPolicy LocalCPL File", script),
        ("Transform 1 Pattern Type", "Regex"),
        ("Transform 1 Pattern String", "([^@]+)"),
        ("Transform 1 Pattern Behavior", "Replace"),
        ("Transform 1 Pattern Replace", r"\1@example.com"),
    ]);
    // Dialled without a domain: the transform adds it, so the policy matches.
    let mut s = Search::new(dp, call("reception", "a@example.com"));
    assert_eq!(asked(&s.step()), vec!["desk@example.com"]);
    assert!(
        s.trace()
            .iter()
            .any(|l| l.contains("call policy sends the call to desk")),
        "{:?}",
        s.trace()
    );
}

/// A policy that sends an alias back to one already being searched is a loop; that branch
/// ends with "policy loop detected".
#[test]
fn a_policy_cycle_is_a_policy_loop() {
    let script = "<cpl xmlns='urn:ietf:params:xml:ns:cpl' \
        xmlns:taa='http://www.tandberg.net/cpl-extensions'><taa:routed>\
        <address-switch field='destination'>\
        <address is='a@example.com'><location clear='yes' url='b@example.com'><proxy/></location></address>\
        <address is='b@example.com'><location clear='yes' url='a@example.com'><proxy/></location></address>\
        </address-switch></taa:routed></cpl>";
    let dp = dialplan(&[
        ("Policy AdministratorPolicy Mode", "LocalCPL"),
        ("Policy AdministratorPolicy LocalCPL File", script),
    ]);
    let mut s = Search::new(dp, call("a@example.com", "x@example.com"));
    assert_eq!(s.step(), Step::NotFound(Refusal::PolicyLoop));
    assert!(s.trace().iter().any(|l| l.contains("policy loop detected")));
}

/// A redirect that keeps the original destination beside a new one searches both, and the
/// kept one is not put to the policy again.
#[test]
fn a_kept_destination_is_searched_beside_the_added_one() {
    let script = "<cpl xmlns='urn:ietf:params:xml:ns:cpl' \
        xmlns:taa='http://www.tandberg.net/cpl-extensions'><taa:routed>\
        <address-switch field='destination'><address is='bob@example.com'>\
        <location url='mobile@example.com' priority='0.5'><proxy/></location>\
        </address></address-switch></taa:routed></cpl>";
    let dp = dialplan(&[
        ("Policy AdministratorPolicy Mode", "LocalCPL"),
        ("Policy AdministratorPolicy LocalCPL File", script),
    ]);
    let mut s = Search::new(dp, call("bob@example.com", "x@example.com"));
    // The original (priority 1.0) first, then the added location.
    assert_eq!(asked(&s.step()), vec!["bob@example.com"]);
    s.answer(&[Answer::NotFound]);
    assert_eq!(asked(&s.step()), vec!["mobile@example.com"]);
    s.answer(&[Answer::NotFound]);
    assert_eq!(s.step(), Step::NotFound(Refusal::NotFound));
}

/// With an external service, the search asks for its script before any rule runs, and acts
/// on what it gets (here the service's default: a reject).
#[test]
fn an_external_policy_is_asked_before_the_rules() {
    let dp = dialplan(&[("Policy AdministratorPolicy Mode", "PolicyService")]);
    let mut s = Search::new(dp.clone(), call("bob@example.com", "x@example.com"));
    let Step::AskPolicy(q) = s.step() else {
        panic!("expected a policy query")
    };
    assert_eq!(q.alias, "bob@example.com");
    // Asking again before the answer gives the same question.
    assert_eq!(s.step(), Step::AskPolicy(q));
    let fallback = Policy::parse("<reject status='403' reason='Service Unavailable'/>").unwrap();
    s.policy_answer(&fallback);
    assert_eq!(
        rejected(&s.step()),
        (403, "Service Unavailable".to_string())
    );

    let mut s = Search::new(dp, call("bob@example.com", "x@example.com"));
    assert!(matches!(s.step(), Step::AskPolicy(_)));
    s.policy_answer(&Policy::allow_all());
    assert_eq!(asked(&s.step()), vec!["bob@example.com"]);
}

/// A policy service target that rejects ends the whole call, not just that rule's search.
#[test]
fn a_policy_service_reject_ends_the_call() {
    let dp = dialplan(&[
        ("Zones Policy SearchRules Rule 1 Priority", "10"),
        (
            "Zones Policy SearchRules Rule 1 Target Type",
            "PolicyService",
        ),
        ("Zones Policy SearchRules Rule 1 Target Name", "Router"),
        ("Zones Policy SearchRules Rule 2 Name", "later"),
        ("Zones Policy SearchRules Rule 2 Priority", "20"),
        ("Zones Policy SearchRules Rule 2 Target Name", "LocalZone"),
    ]);
    let mut s = Search::new(dp, call("bob@example.com", "x@example.com"));
    s.step();
    s.answer(&[Answer::Rejected {
        status: 504,
        reason: "Policy Service Unavailable".into(),
    }]);
    assert_eq!(rejected(&s.step()).0, 504);
}

/// A script whose `proxy` has a `failure` branch goes on when its destination is not found:
/// here the call goes to voicemail, searched from the start.
#[test]
fn a_proxy_failure_branch_runs_when_nothing_is_found() {
    let script = "<cpl xmlns='urn:ietf:params:xml:ns:cpl' \
        xmlns:taa='http://www.tandberg.net/cpl-extensions'><taa:routed>\
        <address-switch field='destination'><address is='bob@example.com'>\
        <proxy><failure><location clear='yes' url='voicemail@example.com'><proxy/></location>\
        </failure></proxy></address></address-switch></taa:routed></cpl>";
    let dp = dialplan(&[
        ("Policy AdministratorPolicy Mode", "LocalCPL"),
        ("Policy AdministratorPolicy LocalCPL File", script),
    ]);
    let mut s = Search::new(dp.clone(), call("bob@example.com", "x@example.com"));
    assert_eq!(asked(&s.step()), vec!["bob@example.com"]);
    s.answer(&[Answer::NotFound]);
    assert_eq!(asked(&s.step()), vec!["voicemail@example.com"]);
    s.answer(&[Answer::Found]);
    assert!(matches!(s.step(), Step::Found(q) if q.alias == "voicemail@example.com"));

    // Found at once: the failure branch never runs.
    let mut s = Search::new(dp, call("bob@example.com", "x@example.com"));
    s.step();
    s.answer(&[Answer::Found]);
    assert!(matches!(s.step(), Step::Found(q) if q.alias == "bob@example.com"));
}

/// A `busy` branch: the caller says the call ended busy, and the script's branch decides;
/// a script without one does not take the outcome.
#[test]
fn a_busy_branch_takes_a_busy_callee() {
    let script = "<cpl xmlns='urn:ietf:params:xml:ns:cpl' \
        xmlns:taa='http://www.tandberg.net/cpl-extensions'><taa:routed>\
        <address-switch field='destination'><address is='bob@example.com'>\
        <proxy><busy><location clear='yes' url='voicemail@example.com'><proxy/></location>\
        </busy></proxy></address></address-switch></taa:routed></cpl>";
    let dp = dialplan(&[
        ("Policy AdministratorPolicy Mode", "LocalCPL"),
        ("Policy AdministratorPolicy LocalCPL File", script),
    ]);
    let mut s = Search::new(dp, call("bob@example.com", "x@example.com"));
    assert_eq!(asked(&s.step()), vec!["bob@example.com"]);
    assert!(s.takes(&crate::cpl::ProxyOutcome::Busy));
    assert!(!s.takes(&crate::cpl::ProxyOutcome::NoAnswer));
    s.outcome(crate::cpl::ProxyOutcome::Busy);
    s.answer(&[Answer::NotFound]);
    assert_eq!(asked(&s.step()), vec!["voicemail@example.com"]);

    let dp = dialplan(&[("Policy AdministratorPolicy Mode", "LocalCPL")]);
    let s = Search::new(dp, call("bob@example.com", "x@example.com"));
    assert!(!s.takes(&crate::cpl::ProxyOutcome::Busy));
}

/// `stop-on-busy`: once a location is busy the script's other locations are not searched;
/// without it they are, before the busy branch runs.
#[test]
fn stop_on_busy_skips_the_other_locations() {
    let script = |stop: &str| {
        format!(
            "<cpl xmlns='urn:ietf:params:xml:ns:cpl' \
             xmlns:taa='http://www.tandberg.net/cpl-extensions'><taa:routed>\
             <address-switch field='destination'><address is='team@example.com'>\
             <location clear='yes' url='ann@example.com' priority='1.0'>\
             <location url='ben@example.com' priority='0.5'>\
             <proxy stop-on-busy='{stop}'><busy><location clear='yes' url='voicemail@example.com'>\
             <proxy/></location></busy></proxy></location></location>\
             </address></address-switch></taa:routed></cpl>"
        )
    };
    for (stop, then) in [("yes", "voicemail@example.com"), ("no", "ben@example.com")] {
        let text = script(stop);
        let dp = dialplan(&[
            ("Policy AdministratorPolicy Mode", "LocalCPL"),
            ("Policy AdministratorPolicy LocalCPL File", &text),
        ]);
        let mut s = Search::new(dp, call("team@example.com", "x@example.com"));
        assert_eq!(asked(&s.step()), vec!["ann@example.com"]);
        s.outcome(crate::cpl::ProxyOutcome::Busy);
        s.answer(&[Answer::NotFound]);
        assert_eq!(asked(&s.step()), vec![then], "stop-on-busy={stop}");
    }
}
