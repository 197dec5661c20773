//! Web Call Policy rules: their CPL form, its recognition on re-upload,
//! and agreement with the rules' own semantics.

use proptest::prelude::*;

use super::*;

fn zone(name: &str, destination: &str, action: RuleAction) -> WebRule {
    WebRule {
        source: RuleSource::Zone(name.into()),
        destination: destination.into(),
        action,
    }
}

fn from(authenticated: bool, pattern: &str, destination: &str, action: RuleAction) -> WebRule {
    WebRule {
        source: RuleSource::From {
            authenticated,
            pattern: pattern.into(),
        },
        destination: destination.into(),
        action,
    }
}

/// The rules page's meaning, written out directly (independent of CPL):
/// the first rule whose source and destination match decides; no match
/// allows.
fn reference(rules: &[WebRule], ctx: &CallContext) -> RuleAction {
    let full = |pattern: &str, value: &str| {
        let p = crate::Pattern::compile(
            crate::PatternType::Regex,
            pattern,
            &crate::Variables::default(),
        )
        .unwrap();
        p.matches(super::super::alias::strip_scheme(value).0)
    };
    for rule in rules {
        let source = match &rule.source {
            RuleSource::Zone(z) => ctx.originating_zone.to_lowercase() == z.to_lowercase(),
            RuleSource::From {
                authenticated,
                pattern,
            } => {
                let pattern = if pattern.is_empty() { ".*" } else { pattern };
                (!authenticated || ctx.authenticated)
                    && ctx
                        .source_aliases
                        .iter()
                        .filter(|s| !s.is_empty())
                        .any(|s| full(pattern, s))
            }
        };
        let destination = ctx
            .destination_aliases
            .iter()
            .filter(|d| !d.is_empty())
            .any(|d| full(&rule.destination, d));
        if source && destination {
            return rule.action;
        }
    }
    RuleAction::Allow
}

fn cpl_action(rules: &[WebRule], ctx: &CallContext) -> RuleAction {
    let ev = policy(&rules_to_cpl(rules)).evaluate(ctx);
    match ev.decision {
        Decision::Allow(o) if o == ProxyOptions::default() => RuleAction::Allow,
        Decision::Reject {
            status: 403,
            reason: Some(r),
        } if r == "Denied by policy" => RuleAction::Reject,
        other => panic!("web rules gave {other:?}"),
    }
}

fn sample_rules() -> Vec<WebRule> {
    vec![
        zone("TraversalZone", "9.*", RuleAction::Reject),
        zone("Zone (1) <a&b> \"q\" 50%", ".*", RuleAction::Reject),
        from(true, "", "ceo@example\\.com", RuleAction::Allow),
        from(
            false,
            "vp(sales|marketing)@example\\.com",
            "ceo@example\\.com",
            RuleAction::Allow,
        ),
        from(false, "", "ceo@example\\.com", RuleAction::Reject),
        from(true, "[^@]+@partner\\.com", "(?!9).*", RuleAction::Allow),
    ]
}

#[test]
fn rules_round_trip() {
    let rules = sample_rules();
    let text = rules_to_cpl(&rules);
    // The rendered document is an ordinary, valid policy.
    policy(&text);
    assert_eq!(cpl_to_rules(&text), Some(rules.clone()));
    for n in 0..rules.len() {
        assert_eq!(
            cpl_to_rules(&rules_to_cpl(&rules[..n])),
            Some(rules[..n].to_vec())
        );
    }
}

#[test]
fn no_rules_render_an_allow_all_document() {
    let text = rules_to_cpl(&[]);
    assert!(text.contains("<taa:routed>"), "{text}");
    assert_allowed(&policy(&text), &call("anyone", "anything"));
    assert_eq!(cpl_to_rules(&text), Some(vec![]));
    assert_eq!(cpl_to_rules(&doc("")), Some(vec![]));
}

#[test]
fn recognition_ignores_formatting() {
    let rules = sample_rules();
    let text = rules_to_cpl(&rules);
    let squeezed: String = text
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .replace("<taa:routed>", "<taa:routed><!-- edited by hand -->");
    assert_eq!(cpl_to_rules(&squeezed), Some(rules));
}

#[test]
fn other_documents_are_not_rules() {
    let base = rules_to_cpl(&[from(false, "a", "b", RuleAction::Reject)]);
    for edited in [
        base.replace("Denied by policy", "Go away"),
        base.replace("status=\"403\"", "status=\"404\""),
        base.replace("destination=\"b\"", "destination=\"b\" message-regex=\"x\""),
        base.replace("unauthenticated-origin", "origin"),
        base.replace("unauthenticated-origin", "registered-origin"),
        base.replace(
            "<reject status=\"403\" reason=\"Denied by policy\"/>",
            "<proxy timeout=\"5\"/>",
        ),
        rules_to_cpl(&[zone("z", "b", RuleAction::Allow)]).replace("\"z\"", "\"z.*\""),
        "<reject status='403'/>".to_owned(),
        "not even xml".to_owned(),
        base.replace("<taa:rule-switch>", "<taa:rule-switch><time-switch/>"),
    ] {
        assert_eq!(cpl_to_rules(&edited), None, "{edited}");
    }
}

#[test]
fn rule_order_decides() {
    let reject_all = from(false, "", ".*", RuleAction::Reject);
    let allow_boss = from(false, "boss", ".*", RuleAction::Allow);
    let boss = call("boss", "anyone");
    assert_eq!(
        cpl_action(&[reject_all.clone(), allow_boss.clone()], &boss),
        RuleAction::Reject
    );
    assert_eq!(
        cpl_action(&[allow_boss, reject_all.clone()], &boss),
        RuleAction::Allow
    );
    assert_eq!(cpl_action(&[], &boss), RuleAction::Allow);
    assert_eq!(cpl_action(&[reject_all], &boss), RuleAction::Reject);
}

#[test]
fn zone_rules_compare_the_name_literally() {
    let rules = [zone("Zone (1).x", ".*", RuleAction::Reject)];
    let mut ctx = call("a", "b");
    ctx.originating_zone = "zone (1).X".into();
    assert_eq!(cpl_action(&rules, &ctx), RuleAction::Reject);
    ctx.originating_zone = "Zone 1-x".into();
    assert_eq!(cpl_action(&rules, &ctx), RuleAction::Allow);
}

#[test]
fn authenticated_rules_skip_unauthenticated_callers() {
    let rules = [from(true, "", ".*", RuleAction::Reject)];
    assert_eq!(cpl_action(&rules, &call("a", "b")), RuleAction::Allow);
    assert_eq!(cpl_action(&rules, &authed("a", "b")), RuleAction::Reject);
    // Unauthenticated-caller rules look at everyone's claimed alias.
    let rules = [from(false, "a", ".*", RuleAction::Reject)];
    assert_eq!(cpl_action(&rules, &call("a", "b")), RuleAction::Reject);
    assert_eq!(cpl_action(&rules, &authed("a", "b")), RuleAction::Reject);
}

#[test]
fn check_validates_patterns() {
    assert!(from(false, "", "ok", RuleAction::Allow).check().is_ok());
    assert!(from(false, "(", "ok", RuleAction::Allow).check().is_err());
    assert!(from(false, "", "[", RuleAction::Allow).check().is_err());
    assert!(from(false, "", "", RuleAction::Allow).check().is_err());
    assert!(zone("(", "ok", RuleAction::Allow).check().is_ok());
}

fn arb_rule() -> impl Strategy<Value = WebRule> {
    let pattern = prop::sample::select(vec!["", "a.*", "b", "(a|b)@x", ".*@y", "1\\d*"]);
    let dest = prop::sample::select(vec![".*", "a", "b@x", "1.*", "(?!1).*"]);
    let zone_name = prop::sample::select(vec!["Z1", "z2", "DefaultZone", "Z(3)"]);
    let action = prop::sample::select(vec![RuleAction::Allow, RuleAction::Reject]);
    prop_oneof![
        (zone_name, dest.clone(), action.clone()).prop_map(|(z, d, a)| zone(z, d, a)),
        (any::<bool>(), pattern, dest, action).prop_map(|(au, p, d, a)| from(au, p, d, a)),
    ]
}

fn arb_call() -> impl Strategy<Value = CallContext> {
    let alias = prop::sample::select(vec!["a", "b", "a@x", "b@x", "A@Y", "123", "sip:b@x", ""]);
    let zone_name = prop::sample::select(vec!["Z1", "Z2", "DefaultZone", "z(3)"]);
    (
        prop::collection::vec(alias.clone(), 0..3),
        prop::collection::vec(alias, 1..3),
        zone_name,
        any::<bool>(),
    )
        .prop_map(|(src, dst, zone, authenticated)| CallContext {
            source_aliases: src.into_iter().map(String::from).collect(),
            destination_aliases: dst.into_iter().map(String::from).collect(),
            originating_zone: zone.into(),
            authenticated,
            ..CallContext::new("", "")
        })
}

proptest! {
    #[test]
    fn cpl_form_evaluates_like_the_rules(
        rules in prop::collection::vec(arb_rule(), 0..5),
        calls in prop::collection::vec(arb_call(), 1..8),
    ) {
        let text = rules_to_cpl(&rules);
        prop_assert_eq!(cpl_to_rules(&text), Some(rules.clone()));
        let p = policy(&text);
        for ctx in &calls {
            let ev = p.evaluate(ctx);
            let got = if ev.decision.is_reject() { RuleAction::Reject } else { RuleAction::Allow };
            prop_assert_eq!(got, reference(&rules, ctx), "{:?}", ctx);
        }
    }
}
