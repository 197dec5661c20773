//! Evaluation semantics: fields, subfields, matching, locations, rules,
//! proxy results.

use super::*;

/// A destination switch with one address test that rejects, else proxy.
fn screen(field: &str, subfield: Option<&str>, test: &str) -> Policy {
    let sub = subfield
        .map(|s| format!(r#" subfield="{s}""#))
        .unwrap_or_default();
    policy(&doc(&format!(
        r#"    <address-switch field="{field}"{sub}>
      <address {test}><reject status="403" reason="hit"/></address>
      <not-present><reject status="404" reason="absent"/></not-present>
      <otherwise><proxy/></otherwise>
    </address-switch>"#
    )))
}

/// "hit", "absent" or "other" for the policy from [`screen`].
fn verdict(p: &Policy, ctx: &CallContext) -> &'static str {
    match rejection(&p.evaluate(ctx)) {
        Some((403, _)) => "hit",
        Some((404, _)) => "absent",
        None => "other",
        Some(other) => panic!("{other:?}"),
    }
}

fn to(dest: &str) -> CallContext {
    call("caller@example.com", dest)
}

#[test]
fn empty_policy_allows() {
    for p in [
        Policy::allow_all(),
        Policy::default(),
        policy(&doc("")),
        policy(&rules_to_cpl(&[])),
    ] {
        let ev = p.evaluate(&call("anyone", "anything"));
        assert_eq!(ev.decision, Decision::Allow(ProxyOptions::default()));
        assert_eq!(ev.source, None);
        assert!(!ev.trace.is_empty());
    }
}

#[test]
fn address_tests_ignore_case() {
    assert_eq!(
        verdict(&screen("destination", None, r#"is="Fred""#), &to("fred")),
        "hit"
    );
    assert_eq!(
        verdict(&screen("destination", None, r#"is="Fred""#), &to("freD")),
        "hit"
    );
    assert_eq!(
        verdict(&screen("destination", None, r#"is="Fred""#), &to("freda")),
        "other"
    );
    let contains = screen("destination", None, r#"contains="SALES""#);
    assert_eq!(verdict(&contains, &to("east.sales@example.com")), "hit");
    assert_eq!(verdict(&contains, &to("support@example.com")), "other");
    let re = screen("destination", None, r#"regex="[a-c]+@EXAMPLE\.com""#);
    assert_eq!(verdict(&re, &to("ABBA@example.com")), "hit");
    assert_eq!(verdict(&re, &to("abd@example.com")), "other");
}

#[test]
fn regex_must_match_the_whole_value() {
    let p = screen("destination", None, r#"regex="9""#);
    assert_eq!(verdict(&p, &to("9")), "hit");
    assert_eq!(verdict(&p, &to("912")), "other");
    assert_eq!(verdict(&p, &to("19")), "other");
    // Look-around works as in transforms.
    let p = screen("destination", None, r#"regex="(?!9).*""#);
    assert_eq!(verdict(&p, &to("812")), "hit");
    assert_eq!(verdict(&p, &to("912")), "other");
}

#[test]
fn percent_is_literal_in_scripts() {
    // `%ip%` is a transform variable, not something a script expands.
    let p = screen("destination", None, r#"regex="%ip%""#);
    assert_eq!(verdict(&p, &to("%ip%")), "hit");
    assert_eq!(verdict(&p, &to("192.0.2.1")), "other");
    let p = screen("destination", None, r#"regex="100\%|50%""#);
    assert_eq!(verdict(&p, &to("100%")), "hit");
    assert_eq!(verdict(&p, &to("50%")), "hit");
}

#[test]
fn subdomain_of_numbers_and_names() {
    let p = screen("destination", None, r#"subdomain-of="555""#);
    assert_eq!(verdict(&p, &to("5556734")), "hit");
    assert_eq!(verdict(&p, &to("555")), "hit");
    assert_eq!(verdict(&p, &to("4555")), "other");
    let p = screen("destination", Some("tel"), r#"subdomain-of="555""#);
    assert_eq!(verdict(&p, &to("5556734")), "hit");
    let p = screen("destination", Some("host"), r#"subdomain-of="company.com""#);
    assert_eq!(verdict(&p, &to("a@nodeA.company.com")), "hit");
    assert_eq!(verdict(&p, &to("a@company.com")), "hit");
    assert_eq!(verdict(&p, &to("a@COMPANY.COM")), "hit");
    assert_eq!(verdict(&p, &to("a@othercompany.com")), "other");
    // Without a subfield, the domain after `@` counts too.
    let p = screen("destination", None, r#"subdomain-of="company.com""#);
    assert_eq!(verdict(&p, &to("a@nodeA.company.com")), "hit");
    assert_eq!(verdict(&p, &to("a@badcompany.com")), "other");
}

#[test]
fn subfields_by_alias_type() {
    let cases: &[(&str, &str, &str)] = &[
        // (subfield, alias, expected value or "" for not present)
        ("user", "alice@example.com", "alice"),
        ("user", "sip:alice@example.com", "alice"),
        ("user", "Alice Smith", "Alice Smith"),
        ("user", "5551234", "5551234"),
        ("user", "192.0.2.7", ""),
        ("host", "alice@example.com", "example.com"),
        (
            "host",
            "sips:alice@Example.com:5061;transport=tls",
            "Example.com",
        ),
        ("host", "alice@[2001:db8::1]:5060", "2001:db8::1"),
        ("host", "192.0.2.7", "192.0.2.7"),
        ("host", "192.0.2.7:1720", "192.0.2.7"),
        ("host", "Alice Smith", ""),
        ("host", "5551234", ""),
        ("tel", "5551234", "5551234"),
        ("tel", "+4723456789", "+4723456789"),
        ("tel", "alice@example.com", ""),
        ("tel", "1234@example.com", ""),
        ("alias-type", "alice@example.com", "url-ID"),
        ("alias-type", "sip:example.com", "url-ID"),
        ("alias-type", "Alice Smith", "h323-ID"),
        ("alias-type", "5551234", "dialedDigits"),
        ("alias-type", "192.0.2.7", "transportID"),
        ("address-type", "alice@example.com", "sip"),
    ];
    for &(sub, alias, want) in cases {
        let p = screen("destination", Some(sub), &format!(r#"is="{want}x""#));
        // Build a test that matches exactly `want`: compare through regex so
        // that the expected text is not lower-cased by `is`.
        let exact = if want.is_empty() {
            ".*".to_owned()
        } else {
            regex_syntax::escape(want)
        };
        let p2 = screen("destination", Some(sub), &format!(r#"regex="{exact}""#));
        let ctx = to(alias);
        if want.is_empty() {
            assert_eq!(verdict(&p2, &ctx), "absent", "{sub} of {alias}");
        } else {
            assert_eq!(verdict(&p2, &ctx), "hit", "{sub} of {alias}");
            assert_eq!(verdict(&p, &ctx), "other", "{sub} of {alias}");
        }
    }
    let mut h323 = to("1234");
    h323.protocol = Protocol::H323;
    let p = screen("destination", Some("address-type"), r#"is="h323""#);
    assert_eq!(verdict(&p, &h323), "hit");
    assert_eq!(verdict(&p, &to("1234")), "other");
}

#[test]
fn any_alias_of_the_field_matches() {
    let p = screen("destination", Some("tel"), r#"is="1001""#);
    let mut ctx = to("alice@example.com");
    ctx.destination_aliases.push("1001".into());
    assert_eq!(verdict(&p, &ctx), "hit");
    // Only aliases that have the subfield take part; none here.
    let mut ctx = to("alice@example.com");
    ctx.destination_aliases.push("bob@example.com".into());
    assert_eq!(verdict(&p, &ctx), "absent");
    // Address nodes are tried in order, each against every alias.
    let p = policy(&doc(r#"    <address-switch field="destination">
      <address is="second"><reject status="401"/></address>
      <address is="first"><reject status="402"/></address>
    </address-switch>"#));
    let mut ctx = to("first");
    ctx.destination_aliases.push("second".into());
    assert_eq!(rejection(&p.evaluate(&ctx)), Some((401, None)));
}

#[test]
fn origin_fields() {
    let origin = screen("origin", None, r#"is="alice@example.com""#);
    let authenticated = screen("authenticated-origin", None, r#"is="alice@example.com""#);
    let unauthenticated = screen("unauthenticated-origin", None, r#"is="alice@example.com""#);
    let anon = call("alice@example.com", "bob");
    let auth = authed("alice@example.com", "bob");
    assert_eq!(verdict(&origin, &anon), "absent");
    assert_eq!(verdict(&authenticated, &anon), "absent");
    assert_eq!(verdict(&unauthenticated, &anon), "hit");
    assert_eq!(verdict(&origin, &auth), "hit");
    assert_eq!(verdict(&authenticated, &auth), "hit");
    assert_eq!(verdict(&unauthenticated, &auth), "hit");
    // SIP From and Reply-To are both source aliases.
    let mut two = anon.clone();
    two.source_aliases = vec!["x@example.com".into(), "alice@example.com".into()];
    assert_eq!(verdict(&unauthenticated, &two), "hit");
    let mut none = anon.clone();
    none.source_aliases.clear();
    assert_eq!(verdict(&unauthenticated, &none), "absent");
}

#[test]
fn user_zone_registration_and_original_destination() {
    let user = screen("originating-user", None, r#"is="alice""#);
    let mut ctx = authed("alice@example.com", "bob");
    assert_eq!(verdict(&user, &ctx), "absent");
    ctx.auth_username = Some("Alice".into());
    assert_eq!(verdict(&user, &ctx), "hit");

    let zone = screen("originating-zone", None, r#"is="DMZ""#);
    ctx.originating_zone = "dmz".into();
    assert_eq!(verdict(&zone, &ctx), "hit");
    ctx.originating_zone = DEFAULT_ZONE.into();
    assert_eq!(verdict(&zone, &ctx), "other");

    let reg = screen("registered-origin", None, r#"is="1001""#);
    assert_eq!(verdict(&reg, &ctx), "absent");
    ctx.registered_aliases = Some(vec!["alice@example.com".into(), "1001".into()]);
    assert_eq!(verdict(&reg, &ctx), "hit");
    ctx.registered_aliases = Some(vec![]);
    assert_eq!(verdict(&reg, &ctx), "absent");

    let orig = screen("original-destination", None, r#"is="bob""#);
    let dest = screen("destination", None, r#"is="bob""#);
    assert_eq!(verdict(&orig, &ctx), "hit");
    ctx.destination_aliases = vec!["bob@example.com".into()];
    ctx.original_destination_aliases = Some(vec!["bob".into()]);
    assert_eq!(verdict(&orig, &ctx), "hit");
    assert_eq!(verdict(&dest, &ctx), "other");
}

#[test]
fn scheme_is_not_part_of_the_value() {
    let p = screen("destination", None, r#"is="reception@example.com""#);
    assert_eq!(verdict(&p, &to("sip:Reception@example.com")), "hit");
    assert_eq!(verdict(&p, &to("h323:reception@example.com")), "hit");
}

#[test]
fn locations_build_a_redirect() {
    let p = policy(&doc(r#"    <taa:location url="alice@example.com">
      <taa:location url="alice-mobile@example.com" priority="0.5">
        <taa:location url="alice@example.com"><proxy stop-on-busy="yes"/></taa:location>
      </taa:location>
    </taa:location>"#));
    let ev = p.evaluate(&to("alice"));
    let Decision::Redirect { targets, options } = &ev.decision else {
        panic!("{:?}", ev.decision)
    };
    // Appended after the original destination; the repeat is dropped.
    assert_eq!(
        aliases(targets),
        ["alice", "alice@example.com", "alice-mobile@example.com"]
    );
    assert_eq!(targets[0].priority, Priority::Value(1.0));
    assert_eq!(targets[2].priority, Priority::Value(0.5));
    assert!(options.stop_on_busy);
    assert_eq!(options.resume, None);
}

#[test]
fn clear_replaces_the_location_set() {
    let p = policy(&doc(
        r#"    <taa:location clear="yes" url="operator" priority="random"><proxy timeout="30"/></taa:location>"#,
    ));
    let ev = p.evaluate(&to("alice"));
    let Decision::Redirect { targets, options } = &ev.decision else {
        panic!("{:?}", ev.decision)
    };
    assert_eq!(aliases(targets), ["operator"]);
    assert_eq!(targets[0].priority, Priority::Random);
    assert_eq!(options.timeout, Some(30));

    // Clearing and proxying to nothing goes to the original destination.
    let p = policy(&doc(
        r#"    <taa:location clear="yes"><proxy/></taa:location>"#,
    ));
    assert_allowed(&p, &to("alice"));
    // So does a location that names the destination itself.
    let p = policy(&doc(
        r#"    <taa:location url="ALICE"><proxy/></taa:location>"#,
    ));
    assert_allowed(&p, &to("alice"));
    // A location without a proxy still forwards when the script ends.
    let p = policy(&doc(r#"    <taa:location clear="yes" url="bob"/>"#));
    let ev = p.evaluate(&to("alice"));
    assert!(
        matches!(&ev.decision, Decision::Redirect { targets, .. } if aliases(targets) == ["bob"])
    );
}

#[test]
fn location_regex_rewrites_entries() {
    let p = policy(&doc(
        r#"    <taa:location regex="(.*)@old\.example\.com" replace="\1@new.example.com"><proxy/></taa:location>"#,
    ));
    let mut ctx = to("alice@old.example.com");
    ctx.destination_aliases.push("1001".into());
    let ev = p.evaluate(&ctx);
    let Decision::Redirect { targets, .. } = &ev.decision else {
        panic!("{:?}", ev.decision)
    };
    assert_eq!(aliases(targets), ["alice@new.example.com", "1001"]);
    // No entry matches: nothing changes, so the call is simply allowed.
    assert_allowed(&p, &to("bob@example.com"));

    // With clear, entries that do not match are dropped.
    let p = policy(&doc(
        r#"    <taa:location clear="yes" regex="(\d+)" replace="\1@gw.example.com"><proxy/></taa:location>"#,
    ));
    let ev = p.evaluate(&ctx);
    let Decision::Redirect { targets, .. } = &ev.decision else {
        panic!("{:?}", ev.decision)
    };
    assert_eq!(aliases(targets), ["1001@gw.example.com"]);
}

#[test]
fn source_rewrites() {
    let p = policy(&doc(
        r#"    <taa:location source-url-for-message="reception@example.com"><proxy/></taa:location>"#,
    ));
    let ev = p.evaluate(&to("bob"));
    assert!(ev.decision.is_allow());
    assert_eq!(
        ev.source,
        Some(vec![SourceAlias {
            alias: "reception@example.com".into(),
            display_name: "reception".into(),
        }])
    );

    let p = policy(&doc(
        r#"    <taa:location source-url-for-message-regex="(.*)@internal\.example\.com" source-url-for-message-replace="\1@example.com"><proxy/></taa:location>"#,
    ));
    let mut ctx = to("bob");
    ctx.protocol = Protocol::H323;
    ctx.source_aliases = vec!["alice@internal.example.com".into(), "1001".into()];
    let ev = p.evaluate(&ctx);
    let source = ev.source.expect("rewritten");
    assert_eq!(source[0].alias, "alice@example.com");
    assert_eq!(source[0].display_name, "alice");
    // Sources that do not match stay.
    assert_eq!(source[1].alias, "1001");
    // Nothing matched: nothing to report.
    assert_eq!(p.evaluate(&call("carol@example.com", "bob")).source, None);
}

#[test]
fn first_matching_rule_wins() {
    let reject_first = policy(&doc(r#"    <taa:rule-switch>
      <taa:rule unauthenticated-origin=".*" destination="ceo"><reject status="403" reason="first"/></taa:rule>
      <taa:rule unauthenticated-origin="boss" destination="ceo"><proxy/></taa:rule>
    </taa:rule-switch>"#));
    let allow_first = policy(&doc(r#"    <taa:rule-switch>
      <taa:rule unauthenticated-origin="boss" destination="ceo"><proxy/></taa:rule>
      <taa:rule unauthenticated-origin=".*" destination="ceo"><reject status="403" reason="second"/></taa:rule>
    </taa:rule-switch>"#));
    let boss = call("boss", "ceo");
    assert_eq!(
        rejection(&reject_first.evaluate(&boss)),
        Some((403, Some("first")))
    );
    assert_allowed(&allow_first, &boss);
    assert_eq!(
        rejection(&allow_first.evaluate(&call("intern", "ceo"))),
        Some((403, Some("second")))
    );
    // No rule matches: the call goes on.
    assert_allowed(&allow_first, &call("intern", "reception"));
}

#[test]
fn rules_need_every_part_to_match() {
    let p = policy(&doc(r#"    <taa:rule-switch>
      <taa:rule authenticated-origin="alice@.*" destination="9\d+"><reject status="403"/></taa:rule>
    </taa:rule-switch>"#));
    assert!(p
        .evaluate(&authed("alice@example.com", "9123"))
        .decision
        .is_reject());
    assert!(p
        .evaluate(&authed("sip:ALICE@example.com", "sip:9123"))
        .decision
        .is_reject());
    assert!(p
        .evaluate(&call("alice@example.com", "9123"))
        .decision
        .is_allow());
    assert!(p
        .evaluate(&authed("bob@example.com", "9123"))
        .decision
        .is_allow());
    assert!(p
        .evaluate(&authed("alice@example.com", "19123"))
        .decision
        .is_allow());
}

#[test]
fn message_regex_only_matches_sip() {
    let p = policy(&doc(r#"    <taa:rule-switch>
      <taa:rule origin=".*" destination=".*" message-regex="^User-Agent: BadPhone.*$"><reject status="403"/></taa:rule>
    </taa:rule-switch>"#));
    let message = "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.1\r\nuser-agent: badphone 1.0\r\n\r\n";
    let mut ctx = authed("alice@example.com", "bob@example.com");
    assert!(p.evaluate(&ctx).decision.is_allow(), "no message given");
    ctx.message = Some(message.into());
    assert!(p.evaluate(&ctx).decision.is_reject());
    ctx.message = Some(message.replace("badphone", "goodphone"));
    assert!(p.evaluate(&ctx).decision.is_allow());
    ctx.message = Some(message.into());
    ctx.protocol = Protocol::H323;
    assert!(p.evaluate(&ctx).decision.is_allow(), "never for H.323");
}

#[test]
fn proxy_results_resume_the_script() {
    let p = policy(&doc(r#"    <proxy timeout="20">
      <noanswer><taa:location clear="yes" url="voicemail"><proxy/></taa:location></noanswer>
      <redirection><proxy/></redirection>
      <default><reject status="480" reason="Unavailable"/></default>
    </proxy>"#));
    let ctx = to("alice");
    let ev = p.evaluate(&ctx);
    let Decision::Allow(ProxyOptions {
        timeout: Some(20),
        resume: Some(token),
        ..
    }) = &ev.decision
    else {
        panic!("{:?}", ev.decision)
    };
    let next = |o| p.resume(&ctx, token, o).map(|e| e.decision);
    assert!(matches!(next(ProxyOutcome::NoAnswer),
        Some(Decision::Redirect { ref targets, .. }) if aliases(targets) == ["voicemail"]));
    // No busy or failure branch: default decides.
    for o in [ProxyOutcome::Busy, ProxyOutcome::Failure] {
        assert_eq!(
            next(o),
            Some(Decision::Reject {
                status: 480,
                reason: Some("Unavailable".into())
            })
        );
    }
    // A redirection's contacts become the location set.
    assert!(matches!(
        next(ProxyOutcome::Redirection(vec!["alice@home.example.com".into()])),
        Some(Decision::Redirect { ref targets, .. }) if aliases(targets) == ["alice@home.example.com"]
    ));
    // A proxy without results gives no token.
    let plain = policy("<proxy/>").evaluate(&ctx);
    assert_eq!(plain.decision, Decision::Allow(ProxyOptions::default()));
}

#[test]
fn empty_result_branch_passes_the_outcome_back() {
    let p = policy("<proxy><busy/><default><proxy/></default></proxy>");
    let ctx = to("alice");
    let Decision::Allow(o) = p.evaluate(&ctx).decision else {
        panic!()
    };
    let token = o.resume.unwrap();
    assert_eq!(p.resume(&ctx, &token, ProxyOutcome::Busy), None);
    // An empty location set after a proxy means the original destination.
    let again = p.resume(&ctx, &token, ProxyOutcome::Failure).unwrap();
    assert!(again.decision.is_allow());
    // A token means nothing to another policy.
    assert_eq!(
        policy("<reject status='403'/>").resume(&ctx, &token, ProxyOutcome::Busy),
        None
    );
}

#[test]
fn source_rewrite_survives_resume() {
    let p = policy(
        r#"<location source-url-for-message="front@example.com">
             <proxy><failure><location clear="yes" url="backup"/></failure></proxy>
           </location>"#,
    );
    let ctx = to("alice");
    let ev = p.evaluate(&ctx);
    assert!(ev.source.is_some());
    let Decision::Allow(o) = ev.decision else {
        panic!()
    };
    let after = p
        .resume(&ctx, o.resume.as_ref().unwrap(), ProxyOutcome::Failure)
        .unwrap();
    assert_eq!(after.source.unwrap()[0].alias, "front@example.com");
    assert!(matches!(after.decision, Decision::Redirect { .. }));
}

#[test]
fn trace_explains_the_decision() {
    let p = policy(&doc(r#"    <address-switch field="destination">
      <address is="ceo">
        <reject status="403" reason="Denied by policy"/>
      </address>
    </address-switch>"#));
    let ev = p.evaluate(&to("CEO"));
    assert_eq!(ev.trace.len(), 2, "{:#?}", ev.trace);
    assert!(ev.trace[0].contains("line 8") && ev.trace[0].contains("\"CEO\""));
    assert!(ev.trace[1].contains("line 9") && ev.trace[1].contains("403"));
    let ev = p.evaluate(&to("bob"));
    assert!(ev.trace.iter().any(|t| t.contains("matches no address")));
}
