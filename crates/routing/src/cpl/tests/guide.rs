//! The guide's CPL reference examples (shared/seed/000_3250a511d42af94b.txt
//! lines 21470–22043) and the Default CPL values (line 35450), each run on
//! calls that exercise every branch. The scripts are the guide's, with our
//! own comments.

use super::*;

/// L21489: the namespace example.
const NAMESPACES: &str = r#"<?xml version="1.0" encoding="UTF-8" ?>
 <cpl xmlns="urn:ietf:params:xml:ns:cpl"
   xmlns:taa="http://www.tandberg.net/cpl-extensions"
   xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
   xsi:schemaLocation="urn:ietf:params:xml:ns:cpl cpl.xsd">
   <taa:routed>
     <address-switch field="destination">
       <address is="reception@example.com">
         <proxy/>
       </address>
     </address-switch>
   </taa:routed>
 </cpl> "#;

/// L21835: only authenticated callers.
const AUTHENTICATED_ONLY: &str = r#"<?xml version="1.0" encoding="UTF-8" ?>
 <cpl xmlns="urn:ietf:params:xml:ns:cpl"
   xmlns:taa="http://www.tandberg.net/cpl-extensions"
   xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
   xsi:schemaLocation="urn:ietf:params:xml:ns:cpl cpl.xsd">
   <taa:routed>
     <address-switch field="authenticated-origin">
       <not-present>
         <!-- caller did not authenticate -->
         <reject status="403" reason="Denied by policy"/>
       </not-present>
     </address-switch>
   </taa:routed>
 </cpl> "#;

/// L21862: ceo takes calls only from three named colleagues.
const SCREEN_BY_ALIAS: &str = r#"<?xml version="1.0" encoding="UTF-8" ?>
 <cpl xmlns="urn:ietf:params:xml:ns:cpl"
   xmlns:taa="http://www.tandberg.net/cpl-extensions"
   xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xsi:schemaLocation="urn:ietf:params:xml:ns:cpl cpl.xsd">
   <taa:routed>
     <address-switch field="destination">
       <address is="ceo">
         <address-switch field="authenticated-origin">
           <address regex="vpsales|vpmarketing|vpengineering">
             <!-- one of the three: let it through -->
             <proxy/>
           </address>
           <not-present>
             <!-- caller did not authenticate -->
             <reject status="403" reason="Denied by policy"/>
           </not-present>
           <otherwise>
             <!-- anybody else -->
             <reject status="403" reason="Denied by policy"/>
           </otherwise>
         </address-switch>
       </address>
     </address-switch>
   </taa:routed>
 </cpl> "#;

/// L21903: fred refuses annoying.com and unauthenticated callers.
const SCREEN_BY_DOMAIN: &str = r#"<?xml version="1.0" encoding="UTF-8" ?>
 <cpl xmlns="urn:ietf:params:xml:ns:cpl"
   xmlns:taa="http://www.tandberg.net/cpl-extensions"
   xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
   xsi:schemaLocation="urn:ietf:params:xml:ns:cpl cpl.xsd">
   <taa:routed>
     <address-switch field="destination">
       <address is="fred">
         <address-switch field="authenticated-origin" subfield="host">
           <address subdomain-of="annoying.com">
             <!-- unwanted domain -->
             <reject status="403" reason="Denied by policy"/>
           </address>
           <not-present>
             <!-- caller did not authenticate -->
             <reject status="403" reason="Denied by policy"/>
           </not-present>
           <otherwise>
             <!-- everyone else -->
             <proxy/>
           </otherwise>
         </address-switch>
       </address>
     </address-switch>
    </taa:routed>
 </cpl> "#;

/// L21936: only locally registered callers.
const REGISTERED_ONLY: &str = r#"<?xml version="1.0" encoding="UTF-8" ?>
 <cpl xmlns="urn:ietf:params:xml:ns:cpl"
   xmlns:taa="http://www.tandberg.net/cpl-extensions"
   xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
   xsi:schemaLocation="urn:ietf:params:xml:ns:cpl cpl.xsd">
   <taa:routed>
     <address-switch field="registered-origin">
       <not-present>
         <reject status="403" reason="Calls through here are for local endpoints only"/>
       </not-present>
     </address-switch>
   </taa:routed>
 </cpl> "#;

/// L21960: registered callers, or callers from a configured zone.
const BLOCK_DEFAULT_ZONES: &str = r#"<?xml version="1.0" encoding="UTF-8" ?>
 <cpl xmlns="urn:ietf:params:xml:ns:cpl"
   xmlns:taa="http://www.tandberg.net/cpl-extensions"
   xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
   xsi:schemaLocation="urn:ietf:params:xml:ns:cpl cpl.xsd">
   <taa:routed>
     <address-switch field="registered-origin">
       <not-present>
         <address-switch field="originating-zone">
           <address is="DefaultZone">
             <!-- unknown network -->
             <reject status="403" reason="Denied by policy"/>
           </address>
           <address is="DefaultSubZone">
             <!-- registrant outside every subzone -->
             <reject status="403" reason="Denied by policy"/>
           </address>
           <otherwise>
             <proxy/>
           </otherwise>
         </address-switch>
       </not-present>
     </address-switch>
   </taa:routed>
 </cpl> "#;

/// L22003: gateway prefix 9 closed to the traversal zone, address-switch.
const GATEWAY_ADDRESS_SWITCH: &str = r#"<?xml version="1.0" encoding="UTF-8" ?>
 <cpl xmlns="urn:ietf:params:xml:ns:cpl"
   xmlns:taa="http://www.tandberg.net/cpl-extensions"
   xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
   xsi:schemaLocation="urn:ietf:params:xml:ns:cpl cpl.xsd">
   <taa:routed>
     <address-switch field="destination">
       <address regex="9(.*)">
         <address-switch field="originating-zone">
           <!-- outside callers may not use the gateway -->
           <address is="TraversalZone">
             <reject status="403" reason="Denied by policy"/>
           </address>
         </address-switch>
       </address>
     </address-switch>
   </taa:routed>
 </cpl> "#;

/// L22025: the same with taa:rule-switch.
const GATEWAY_RULE_SWITCH: &str = r#"<?xml version="1.0" encoding="UTF-8" ?>
 <cpl xmlns="urn:ietf:params:xml:ns:cpl"
   xmlns:taa="http://www.tandberg.net/cpl-extensions"
   xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
   xsi:schemaLocation="urn:ietf:params:xml:ns:cpl cpl.xsd">
   <taa:routed>
     <taa:rule-switch>
       <taa:rule originating-zone="TraversalZone" destination="9(.*)">
         <!-- outside callers may not use the gateway -->
         <reject status="403" reason="Denied by policy"/>
       </taa:rule>
       <taa:rule origin="(.*)" destination="(.*)">
         <!-- everything else -->
         <proxy/>
       </taa:rule>
     </taa:rule-switch>
   </taa:routed>
 </cpl> "#;

/// L21780: proxy with a busy branch (unprefixed `location`, as printed).
const BUSY_TO_RECORDER: &str = r#"<proxy timeout="10">
   <busy>
     <!-- busy: send the caller to the recorder -->
     <location clear="yes" url="recorder">
       <proxy/>
     </location>
   </busy>
 </proxy>"#;

fn from_zone(zone: &str, to: &str) -> CallContext {
    CallContext {
        originating_zone: zone.to_owned(),
        ..call("caller@example.net", to)
    }
}

#[test]
fn namespace_example_proxies_everything() {
    let p = policy(NAMESPACES);
    let ev = p.evaluate(&call("a@example.com", "reception@example.com"));
    assert!(ev.decision.is_allow());
    assert!(
        ev.trace
            .iter()
            .any(|t| t.contains("reception@example.com") && t.contains("line 8")),
        "{:?}",
        ev.trace
    );
    // No address matches: the script ends and the call goes on.
    assert_allowed(&p, &call("a@example.com", "sales@example.com"));
}

#[test]
fn authenticated_only() {
    let p = policy(AUTHENTICATED_ONLY);
    assert_denied(&p, &call("alice@example.com", "bob@example.com"));
    assert_allowed(&p, &authed("alice@example.com", "bob@example.com"));
    // A caller with no source alias at all is not authenticated either.
    let mut anonymous = authed("", "bob@example.com");
    anonymous.source_aliases.clear();
    assert_denied(&p, &anonymous);
}

#[test]
fn screening_by_alias() {
    let p = policy(SCREEN_BY_ALIAS);
    assert_allowed(&p, &authed("vpsales", "ceo"));
    assert_allowed(&p, &authed("VPEngineering", "CEO"));
    assert_denied(&p, &authed("intern", "ceo"));
    assert_denied(&p, &call("vpsales", "ceo"));
    // The regex must match the whole alias.
    assert_denied(&p, &authed("vpsales@example.com", "ceo"));
    assert_denied(&p, &authed("xvpsales", "ceo"));
    // Calls to anyone else are not screened.
    assert_allowed(&p, &call("intern", "reception"));
    assert_allowed(&p, &call("intern", "ceo@example.com"));
}

#[test]
fn screening_by_domain() {
    let p = policy(SCREEN_BY_DOMAIN);
    assert_denied(&p, &authed("pest@annoying.com", "fred"));
    assert_denied(&p, &authed("pest@nodeA.Annoying.COM", "fred"));
    assert_denied(&p, &call("alice@example.com", "fred"));
    assert_allowed(&p, &authed("alice@example.com", "fred"));
    assert_allowed(&p, &authed("alice@notannoying.com", "fred"));
    assert_allowed(
        &p,
        &authed("sip:alice@example.com:5061;transport=tls", "fred"),
    );
    // An H.323 ID has no host part: the subfield is not present.
    assert_denied(&p, &authed("alice", "fred"));
    // Calls to others are not screened.
    assert_allowed(&p, &call("pest@annoying.com", "wilma"));
}

#[test]
fn locally_registered_only() {
    let p = policy(REGISTERED_ONLY);
    let mut registered = call("alice@example.com", "bob@example.com");
    registered.registered_aliases = Some(vec!["alice@example.com".into(), "1001".into()]);
    assert_allowed(&p, &registered);
    let ev = p.evaluate(&call("alice@example.com", "bob@example.com"));
    assert_eq!(
        rejection(&ev),
        Some((403, Some("Calls through here are for local endpoints only")))
    );
}

#[test]
fn block_default_zone_and_subzone() {
    let p = policy(BLOCK_DEFAULT_ZONES);
    assert_denied(&p, &from_zone(DEFAULT_ZONE, "bob@example.com"));
    assert_denied(&p, &from_zone(DEFAULT_SUBZONE, "bob@example.com"));
    assert_allowed(&p, &from_zone("NeighbourZone", "bob@example.com"));
    let mut registered = from_zone(DEFAULT_SUBZONE, "bob@example.com");
    registered.registered_aliases = Some(vec!["caller@example.net".into()]);
    assert_allowed(&p, &registered);
}

#[test]
fn gateway_closed_to_traversal_zone() {
    for (name, text) in [
        ("address-switch", GATEWAY_ADDRESS_SWITCH),
        ("rule-switch", GATEWAY_RULE_SWITCH),
    ] {
        let p = policy(text);
        for (zone, to, denied) in [
            ("TraversalZone", "901234", true),
            ("traversalzone", "9", true),
            ("TraversalZone", "1234", false),
            ("TraversalZone", "89", false),
            ("LocalZone", "901234", false),
            (DEFAULT_ZONE, "901234", false),
        ] {
            let ctx = from_zone(zone, to);
            let ev = p.evaluate(&ctx);
            assert_eq!(ev.decision.is_reject(), denied, "{name}: {zone} -> {to}");
            if !denied {
                assert!(ev.decision.is_allow(), "{name}: {zone} -> {to}");
            }
        }
    }
}

#[test]
fn gateway_forms_agree_for_authenticated_callers() {
    let a = policy(GATEWAY_ADDRESS_SWITCH);
    let b = policy(GATEWAY_RULE_SWITCH);
    for zone in ["TraversalZone", "LocalZone", DEFAULT_ZONE] {
        for to in ["9", "91", "19", "alice@example.com"] {
            let ctx = CallContext {
                authenticated: true,
                ..from_zone(zone, to)
            };
            assert_eq!(
                a.evaluate(&ctx).decision,
                b.evaluate(&ctx).decision,
                "{zone} {to}"
            );
        }
    }
}

#[test]
fn busy_branch_goes_to_recorder() {
    let p = policy(BUSY_TO_RECORDER);
    let ctx = call("alice@example.com", "bob@example.com");
    let ev = p.evaluate(&ctx);
    let Decision::Allow(options) = &ev.decision else {
        panic!("{:?}", ev.decision);
    };
    assert_eq!(options.timeout, Some(10));
    assert!(!options.stop_on_busy);
    let token = options
        .resume
        .clone()
        .expect("busy branch needs a resume token");

    let busy = p
        .resume(&ctx, &token, ProxyOutcome::Busy)
        .expect("busy branch");
    let Decision::Redirect { targets, .. } = &busy.decision else {
        panic!("{:?}", busy.decision);
    };
    assert_eq!(aliases(targets), ["recorder"]);
    // No other outcome has a branch: the failure goes back to the caller.
    assert_eq!(p.resume(&ctx, &token, ProxyOutcome::NoAnswer), None);
    assert_eq!(p.resume(&ctx, &token, ProxyOutcome::Failure), None);
}

#[test]
fn busy_branch_in_a_document_with_prefixed_location() {
    let text = doc(&BUSY_TO_RECORDER
        .replace("<location", "<taa:location")
        .replace("</location>", "</taa:location>"));
    let p = policy(&text);
    let ctx = call("a", "b");
    let Decision::Allow(o) = p.evaluate(&ctx).decision else {
        panic!()
    };
    let again = p.resume(&ctx, o.resume.as_ref().unwrap(), ProxyOutcome::Busy);
    assert!(matches!(
        again.map(|e| e.decision),
        Some(Decision::Redirect { .. })
    ));
}

#[test]
fn default_cpl_fragments_reject() {
    for (text, status, reason) in [
        (
            "<reject status='403' reason='Service Unavailable'/>",
            403,
            "Service Unavailable",
        ),
        (
            "<reject status='504' reason='Policy Service Unavailable'/>",
            504,
            "Policy Service Unavailable",
        ),
    ] {
        let p = policy(text);
        let ev = p.evaluate(&authed("alice@example.com", "bob@example.com"));
        assert_eq!(rejection(&ev), Some((status, Some(reason))), "{text}");
    }
    let ev = policy("<reject status='403'/>").evaluate(&call("a", "b"));
    assert_eq!(rejection(&ev), Some((403, None)));
}

#[test]
fn every_guide_example_parses() {
    for text in [
        NAMESPACES,
        AUTHENTICATED_ONLY,
        SCREEN_BY_ALIAS,
        SCREEN_BY_DOMAIN,
        REGISTERED_ONLY,
        BLOCK_DEFAULT_ZONES,
        GATEWAY_ADDRESS_SWITCH,
        GATEWAY_RULE_SWITCH,
        BUSY_TO_RECORDER,
    ] {
        let p = policy(text);
        assert!(!p.is_empty());
        // None of them is a web-rules document.
        assert_eq!(cpl_to_rules(text), None);
    }
}
