//! What the loader accepts and what it refuses (the upload's schema check).

use super::*;

#[test]
fn unsupported_rfc_elements_are_named_with_their_line() {
    for element in [
        "time-switch",
        "string-switch",
        "language-switch",
        "priority-switch",
        "redirect",
        "mail",
        "log",
        "subaction",
        "lookup",
        "remove-location",
    ] {
        let text = doc(&format!("    <{element}/>"));
        let e = refused(&text);
        assert!(
            matches!(&e, CplError::Unsupported { element: el, line: 7 } if el == element),
            "{element}: {e:?}"
        );
        assert!(e.to_string().contains(element), "{e}");
        assert!(e.to_string().contains("line 7"), "{e}");
        assert_eq!(e.element(), Some(element));
    }
}

#[test]
fn time_switch_deep_inside_is_refused() {
    let text = doc(r#"    <address-switch field="destination">
      <address is="ceo">
        <time-switch tzid="Europe/Oslo">
          <time dtstart="20240101T090000"><proxy/></time>
        </time-switch>
      </address>
    </address-switch>"#);
    let e = refused(&text);
    assert_eq!(e.element(), Some("time-switch"));
    assert_eq!(e.line(), 9);
}

#[test]
fn mail_inside_not_present_is_refused() {
    let text = doc(r#"    <address-switch field="origin">
      <not-present><mail url="mailto:admin@example.com"/></not-present>
    </address-switch>"#);
    let e = refused(&text);
    assert!(matches!(e, CplError::Unsupported { ref element, .. } if element == "mail"));
}

#[test]
fn incoming_and_outgoing_sections_are_refused() {
    for section in ["incoming", "outgoing"] {
        let text = format!(
            r#"<cpl xmlns="urn:ietf:params:xml:ns:cpl"><{section}><proxy/></{section}></cpl>"#
        );
        assert_eq!(refused(&text).element(), Some(section));
    }
}

#[test]
fn unknown_elements_are_refused() {
    let e = refused(&doc("    <forward/>"));
    assert!(matches!(e, CplError::Unknown { ref element, line: 7 } if element == "forward"));
    let e = refused(&doc("    <taa:bogus/>"));
    assert!(matches!(e, CplError::Unknown { ref element, .. } if element == "taa:bogus"));
    // A CPL name in a foreign namespace is not CPL.
    let e = refused(&doc(r#"    <x:proxy xmlns:x="urn:example"/>"#));
    assert!(matches!(e, CplError::Unknown { ref element, .. } if element == "x:proxy"));
    // Extension elements are not valid in the CPL namespace.
    let e = refused(r#"<cpl xmlns="urn:ietf:params:xml:ns:cpl"><routed/></cpl>"#);
    assert!(matches!(e, CplError::Unknown { .. }), "{e:?}");
    let e = refused(&doc(
        "    <address-switch field=\"destination\"><foo/></address-switch>",
    ));
    assert_eq!(e.element(), Some("foo"));
}

#[test]
fn malformed_xml_is_refused() {
    for text in [
        "",
        "not xml",
        "<cpl>",
        "<reject status='403'>",
        "<reject status='403' reason='a'/><reject status='403'/>",
        "<reject status=403/>",
        &doc("    <proxy>"),
        // DTDs are never read (entity expansion).
        r#"<!DOCTYPE cpl [<!ENTITY a "aaaa">]><reject status="403" reason="&a;"/>"#,
        // An undeclared prefix.
        "<taa:routed><proxy/></taa:routed>",
    ] {
        let e = refused(text);
        assert!(matches!(e, CplError::Xml { .. }), "{text:?}: {e:?}");
        assert!(e.to_string().contains("XML"), "{e}");
    }
}

#[test]
fn misplaced_elements_are_refused() {
    for (body, element, parent) in [
        ("    <otherwise><proxy/></otherwise>", "otherwise", "routed"),
        (
            "    <taa:rule-switch><address is=\"a\"/></taa:rule-switch>",
            "address",
            "rule-switch",
        ),
        (
            "    <address-switch field=\"destination\"><proxy/></address-switch>",
            "proxy",
            "address-switch",
        ),
        (
            "    <proxy><reject status=\"403\"/></proxy>",
            "reject",
            "proxy",
        ),
        (
            "    <reject status=\"403\"><proxy/></reject>",
            "proxy",
            "reject",
        ),
        ("    <busy/>", "busy", "routed"),
    ] {
        let e = refused(&doc(body));
        assert!(
            matches!(&e, CplError::Misplaced { element: el, parent: pa, .. } if el == element && pa == parent),
            "{body}: {e:?}"
        );
    }
    // The top of a fragment must be an action or a routed section.
    let e = refused(r#"<address is="a"><proxy/></address>"#);
    assert!(matches!(e, CplError::Misplaced { ref parent, .. } if parent == "document"));
}

#[test]
fn structure_errors_are_refused() {
    for body in [
        // Two actions in one output.
        "    <proxy/><proxy/>",
        r#"    <address-switch field="destination">
      <address is="a"><reject status="403"/><proxy/></address>
    </address-switch>"#,
        // An address after otherwise, two otherwise, two not-present.
        r#"    <address-switch field="destination">
      <otherwise><proxy/></otherwise><address is="a"><proxy/></address>
    </address-switch>"#,
        r#"    <address-switch field="destination">
      <otherwise/><otherwise/>
    </address-switch>"#,
        r#"    <address-switch field="destination">
      <not-present/><not-present/>
    </address-switch>"#,
        // Two busy results.
        "    <proxy><busy/><busy/></proxy>",
        // Text where only elements belong.
        "    <proxy>now</proxy>",
        "    allow",
        // Address without a test, with two tests.
        r#"    <address-switch field="destination"><address><proxy/></address></address-switch>"#,
        r#"    <address-switch field="destination"><address is="a" regex="b"/></address-switch>"#,
        // Rules need exactly one origin selector.
        r#"    <taa:rule-switch><taa:rule destination="a"/></taa:rule-switch>"#,
        r#"    <taa:rule-switch><taa:rule origin="a" originating-zone="z" destination="a"/></taa:rule-switch>"#,
    ] {
        let e = refused(&doc(body));
        assert!(matches!(e, CplError::Structure { .. }), "{body}: {e:?}");
    }
    let e = refused(
        r#"<cpl xmlns="urn:ietf:params:xml:ns:cpl" xmlns:taa="http://www.tandberg.net/cpl-extensions">
<taa:routed/><taa:routed/></cpl>"#,
    );
    assert!(matches!(e, CplError::Structure { ref element, .. } if element == "cpl"));
}

#[test]
fn bad_attribute_values_are_refused() {
    for (body, element, attribute) in [
        (r#"<reject status="200"/>"#, "reject", "status"),
        (r#"<reject status="700" reason="x"/>"#, "reject", "status"),
        (r#"<reject status="399"/>"#, "reject", "status"),
        (r#"<reject status="4030"/>"#, "reject", "status"),
        (r#"<reject status="forbidden"/>"#, "reject", "status"),
        (r#"<reject status=" 403"/>"#, "reject", "status"),
        (r#"<reject reason="no status"/>"#, "reject", "status"),
        (
            r#"<reject status="403" reason="a&#13;&#10;Via: x"/>"#,
            "reject",
            "reason",
        ),
        (r#"<proxy timeout="0"/>"#, "proxy", "timeout"),
        (r#"<proxy timeout="86401"/>"#, "proxy", "timeout"),
        (r#"<proxy timeout="ten"/>"#, "proxy", "timeout"),
        (r#"<proxy timeout="-5"/>"#, "proxy", "timeout"),
        (r#"<proxy stop-on-busy="true"/>"#, "proxy", "stop-on-busy"),
        (r#"<proxy recurse="yes"/>"#, "proxy", "recurse"),
        (r#"<proxy ordering="parallel"/>"#, "proxy", "ordering"),
        (
            r#"<taa:location url="a" priority="1.5"/>"#,
            "location",
            "priority",
        ),
        (
            r#"<taa:location url="a" priority="-0.1"/>"#,
            "location",
            "priority",
        ),
        (
            r#"<taa:location url="a" priority="high"/>"#,
            "location",
            "priority",
        ),
        (
            r#"<taa:location url="a" priority="NaN"/>"#,
            "location",
            "priority",
        ),
        (r#"<taa:location priority="0.5"/>"#, "location", "priority"),
        (
            r#"<taa:location url="a" clear="true"/>"#,
            "location",
            "clear",
        ),
        (r#"<taa:location url=""/>"#, "location", "url"),
        (r#"<taa:location regex="(.*)"/>"#, "location", "replace"),
        (r#"<taa:location replace="x"/>"#, "location", "regex"),
        (
            r#"<taa:location source-url-for-message-regex="(.*)"/>"#,
            "location",
            "source-url-for-message-replace",
        ),
        (
            r#"<address-switch field="from"/>"#,
            "address-switch",
            "field",
        ),
        (r#"<address-switch/>"#, "address-switch", "field"),
        (
            r#"<address-switch field="origin" subfield="display"/>"#,
            "address-switch",
            "subfield",
        ),
        (
            r#"<address-switch field="destination"><address is=""/></address-switch>"#,
            "address",
            "is",
        ),
        (
            r#"<address-switch field="destination"><address matches="a"/></address-switch>"#,
            "address",
            "matches",
        ),
        (
            r#"<taa:rule-switch><taa:rule origin="a"/></taa:rule-switch>"#,
            "rule",
            "destination",
        ),
        (
            r#"<taa:rule-switch><taa:rule origin="a" destination="b" priority="1"/></taa:rule-switch>"#,
            "rule",
            "priority",
        ),
        (
            r#"<proxy x:timeout="5" xmlns:x="urn:example"/>"#,
            "proxy",
            "timeout",
        ),
    ] {
        let e = refused(&doc(&format!("    {body}")));
        assert!(
            matches!(&e, CplError::Attribute { element: el, attribute: at, .. } if el == element && at == attribute),
            "{body}: {e:?}"
        );
        assert!(e.to_string().contains(element), "{e}");
    }
}

#[test]
fn containers_take_no_attributes() {
    let e = refused(&doc("").replace("<taa:routed>", "<taa:routed x=\"1\">"));
    assert!(
        matches!(e, CplError::Attribute { ref element, ref attribute, .. }
        if element == "routed" && attribute == "x")
    );
    let e = refused(&doc(
        r#"    <address-switch field="origin"><not-present reason="x"/></address-switch>"#,
    ));
    assert!(matches!(e, CplError::Attribute { ref element, .. } if element == "not-present"));
}

#[test]
fn bad_regular_expressions_are_refused() {
    for (body, element, attribute) in [
        (
            r#"<address-switch field="destination"><address regex="(9"/></address-switch>"#,
            "address",
            "regex",
        ),
        (
            r#"<taa:rule-switch><taa:rule origin="[a" destination=".*"/></taa:rule-switch>"#,
            "rule",
            "origin",
        ),
        (
            r#"<taa:rule-switch><taa:rule origin=".*" destination="a)"/></taa:rule-switch>"#,
            "rule",
            "destination",
        ),
        (
            r#"<taa:rule-switch><taa:rule origin=".*" destination=".*" message-regex="(?&lt;"/></taa:rule-switch>"#,
            "rule",
            "message-regex",
        ),
        (
            r#"<taa:location regex="(.*)" replace="\2"/>"#,
            "location",
            "regex",
        ),
    ] {
        let e = refused(&doc(&format!("    {body}")));
        assert!(
            matches!(&e, CplError::Pattern { element: el, attribute: at, .. } if el == element && at == attribute),
            "{body}: {e:?}"
        );
    }
}

#[test]
fn status_words_map_to_codes() {
    for (word, code) in [
        ("busy", 486),
        ("notfound", 404),
        ("reject", 603),
        ("error", 500),
        ("699", 699),
        ("400", 400),
    ] {
        let ev = policy(&format!("<reject status='{word}'/>")).evaluate(&call("a", "b"));
        assert_eq!(rejection(&ev), Some((code, None)), "{word}");
    }
}

#[test]
fn accepted_shapes() {
    // Empty document and empty routed section: allow everything.
    for text in [
        r#"<cpl xmlns="urn:ietf:params:xml:ns:cpl"/>"#,
        r#"<cpl xmlns="urn:ietf:params:xml:ns:cpl" xmlns:taa="http://www.tandberg.net/cpl-extensions"><taa:routed/></cpl>"#,
        &doc(""),
        &doc("    <!-- nothing yet -->"),
        "<cpl><routed/></cpl>",
    ] {
        let p = policy(text);
        assert!(p.is_empty(), "{text}");
    }
    // Fragments a policy service might send, with or without namespaces.
    for text in [
        "<proxy/>",
        "<location url='alice@example.com'><proxy/></location>",
        r#"<taa:location xmlns:taa="http://www.tandberg.net/cpl-extensions" url="a"/>"#,
        "<routed><address-switch field='destination'><address is='a'><proxy/></address></address-switch></routed>",
        "<rule-switch><rule origin='.*' destination='.*'><proxy/></rule>\n</rule-switch>",
        "<?xml version='1.0'?>\n<!-- a comment --><reject status='403'/>",
    ] {
        policy(text);
    }
    // Every documented attribute together.
    policy(&doc(
        r#"    <taa:location clear="yes" url="a@example.com" priority="0.5"
        regex="(.*)@example.com" replace="\1@example.org"
        source-url-for-message="front@example.com"
        source-url-for-message-regex="(.*)" source-url-for-message-replace="\1">
      <proxy timeout="86400" stop-on-busy="yes">
        <failure/><busy/><noanswer/><redirection/><default><reject status="486"/></default>
      </proxy>
    </taa:location>"#,
    ));
}

#[test]
fn every_field_and_subfield_name_is_accepted() {
    for field in Field::ALL {
        for sub in std::iter::once(None).chain(Subfield::ALL.map(Some)) {
            let sub = sub
                .map(|s| format!(r#" subfield="{s}""#))
                .unwrap_or_default();
            policy(&doc(&format!(
                r#"    <address-switch field="{field}"{sub}><otherwise/></address-switch>"#
            )));
        }
    }
    for field in Field::RULE_ORIGINS {
        policy(&doc(&format!(
            r#"    <taa:rule-switch><taa:rule {field}=".*" destination=".*"/></taa:rule-switch>"#
        )));
    }
}

#[test]
fn nesting_is_bounded() {
    let depth = 500;
    let body = format!(
        "{}<proxy/>{}",
        "<location url='a'>".repeat(depth),
        "</location>".repeat(depth)
    );
    let e = refused(&body);
    assert!(matches!(e, CplError::Structure { .. }), "{e:?}");
    // A reasonable depth is fine.
    policy(&format!(
        "{}<proxy/>{}",
        "<location url='a'>".repeat(40),
        "</location>".repeat(40)
    ));
}
