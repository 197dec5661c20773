//! xConfiguration through `causeway cli` against a stopped server's data directory.

mod common;
use common::{concrete, printed_value, spec, Node};

/// How the spec's default should print: strings (and quoted enums) in quotes, others bare.
fn expected(e: &serde_json::Value) -> String {
    let vs = &e["valuespace"];
    let default = e["default"].as_str();
    let quoted =
        vs["type"] == "string" || vs["quoted"] == true || vs.is_null() && default.is_none();
    match (quoted, default) {
        (true, d) => format!("\"{}\"", d.unwrap_or("")),
        (false, Some(d)) => d.to_string(),
        (false, None) => String::new(),
    }
}

#[test]
fn every_default_prints_as_the_reference_gives_it() {
    let node = Node::new();
    // The factory search rule occupies row 1; without it every row prints its defaults. The
    // factory admin account holds row 1 of the accounts, so their defaults are read from row 2.
    node.ok("xCommand SearchRuleDelete SearchRuleId: 1");
    let concrete =
        |e: &serde_json::Value| concrete(e).replace("Admin Account 1 ", "Admin Account 2 ");
    let elements: Vec<_> = spec()
        .into_iter()
        // Two entries of the reference are group headings without a value of their own.
        .filter(|e| !(e["valuespace"].is_null() && e.get("header_form").is_some()))
        .collect();
    assert_eq!(elements.len(), 590);
    let lines: Vec<String> = elements
        .iter()
        .map(|e| format!("xConfiguration {}", concrete(e)))
        .collect();
    let (ok, responses) = node.script(&lines);
    assert!(ok);
    for (e, text) in elements.iter().zip(&responses) {
        let path = concrete(e);
        assert_eq!(printed_value(text, &path), expected(e), "default of {path}");
    }
}

#[test]
fn the_whole_tree_prints_and_lists_small_tables_in_full() {
    let node = Node::new();
    let text = node.ok("xConfiguration");
    assert!(text.contains("*c xConfiguration SIP Mode: Off\n"));
    assert!(text.contains("*c xConfiguration H323 Mode: Off\n"));
    assert!(text.contains("*c xConfiguration Ethernet 2 Speed: Auto\n"));
    // Large tables show only rows that exist.
    assert!(!text.contains("Zones Zone 1 "));
    node.ok("xCommand ZoneAdd ZoneName: \"Peer\" Type: Neighbor");
    let text = node.ok("xConfiguration Zones");
    assert!(
        text.contains("*c xConfiguration Zones Zone 1 Name: \"Peer\"\n"),
        "{text}"
    );
    assert!(
        text.contains("*c xConfiguration Zones Zone 1 HopCount: 15\n"),
        "{text}"
    );
    assert!(!text.contains("Zones Zone 2 "));
}

#[test]
fn the_issue_examples_set_and_print() {
    let node = Node::new();
    node.ok("xConfiguration SIP Registration Standard Refresh Minimum: 45");
    node.ok("xConfiguration SIP Domain 1 Name: \"example.com\"");
    node.ok("xconfiguration sip mode: on");
    assert_eq!(node.value("SIP Domain 1 Name"), "\"example.com\"");
    assert_eq!(node.value("SIP Mode"), "On");
    let text = node.ok("xConfiguration SIP Registration Standard Refresh");
    assert!(text.contains("*c xConfiguration SIP Registration Standard Refresh Minimum: 45\n"));
}

/// A deterministic sample of writes across the tree: values outside each valuespace are refused
/// with the path and valuespace named and the old value kept; values inside are stored in
/// canonical form.
#[test]
fn sampled_writes_respect_the_valuespace() {
    let node = Node::new();
    let mut lines = Vec::new();
    let mut checks = Vec::new(); // (path, expected printed value or None for refusal, notation)
    for (i, e) in spec().iter().enumerate() {
        let vs = &e["valuespace"];
        if vs.is_null() || e["path"].as_str().unwrap().contains('[') {
            continue; // table rows have their own rules (tested elsewhere)
        }
        let path = concrete(e);
        match vs["type"].as_str().unwrap() {
            "int" => {
                let (min, max) = (vs["min"].as_i64().unwrap(), vs["max"].as_i64().unwrap());
                let bad = if i % 2 == 0 { max + 1 } else { min - 1 };
                lines.push(format!("xConfiguration {path}: {bad}"));
                checks.push((path.clone(), None, format!("<{min}..{max}>")));
                let good = min + (i as i64 % (max - min + 1));
                lines.push(format!("xConfiguration {path}: {good}"));
                checks.push((path, Some(good.to_string()), String::new()));
            }
            "enum" => {
                let values: Vec<&str> = vs["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                let v = values[i % values.len()];
                lines.push(format!("xConfiguration {path}: {v}zz"));
                checks.push((path.clone(), None, format!("<{}>", values.join("/"))));
                lines.push(format!("xConfiguration {path}: {}", v.to_uppercase()));
                let shown = if vs["quoted"] == true {
                    format!("\"{v}\"")
                } else {
                    v.to_string()
                };
                checks.push((path, Some(shown), String::new()));
            }
            _ => {
                let Some(max) = vs["max"].as_u64() else {
                    continue;
                };
                let min = vs["min"].as_u64().unwrap_or(0);
                lines.push(format!(
                    "xConfiguration {path}: \"{}\"",
                    "x".repeat(max as usize + 1)
                ));
                checks.push((path.clone(), None, format!("<S: {min}, {max}>")));
                // Passwords read back sealed or masked, never as written.
                if e["valuespace"]["format"] == "password" || path.ends_with("Password") {
                    continue;
                }
                let good = "ab c"
                    .repeat(4)
                    .chars()
                    .take((min as usize).max(3).min(max as usize))
                    .collect::<String>();
                lines.push(format!("xConfiguration {path}: \"{good}\""));
                checks.push((path, Some(format!("\"{good}\"")), String::new()));
            }
        }
    }
    assert!(lines.len() > 400, "{} writes", lines.len());
    // Each refusal is followed by a read that shows the old value kept.
    let mut script = Vec::new();
    for l in &lines {
        script.push(l.clone());
        let path = l["xConfiguration ".len()..]
            .split(':')
            .next()
            .unwrap()
            .to_string();
        script.push(format!("xConfiguration {path}"));
    }
    let (_, responses) = node.script(&script);
    let mut last: std::collections::HashMap<String, String> = Default::default();
    let (mut refused, mut stored) = (0, 0);
    for (k, (path, want, notation)) in checks.iter().enumerate() {
        let (write, read) = (&responses[2 * k], &responses[2 * k + 1]);
        let now = printed_value(read, path);
        match want {
            None => {
                assert!(write.contains("(status=Error)"), "{path}: {write}");
                assert!(write.contains(&format!("Path: \"{path}\"")), "{write}");
                assert!(
                    write.contains(&format!("Valuespace: \"{notation}\"")),
                    "{write}"
                );
                if let Some(before) = last.get(path) {
                    assert_eq!(&now, before, "{path} kept its value");
                }
                refused += 1;
            }
            Some(v) => {
                if write.contains("(status=Error)") {
                    // A range rule with a sibling element may refuse a value inside the
                    // valuespace, and so may a content check (a Default CPL must be CPL) or a
                    // role rule (the TURN server needs an Edge node).
                    assert!(
                        write.contains("must be")
                            || write.contains("not a call policy script")
                            || write.contains("Edge node only"),
                        "{path}: {write}"
                    );
                } else {
                    assert_eq!(&now, v, "{path} stored canonically");
                    stored += 1;
                }
            }
        }
        last.insert(path.clone(), now);
    }
    assert!(
        refused > 200 && stored > 150,
        "{refused} refused, {stored} stored"
    );
}

#[test]
fn unknown_paths_and_bad_syntax_are_errors() {
    let node = Node::new();
    let t = node.err("xConfiguration SIP Nonsense: 1");
    assert!(t.contains("Nonsense"), "{t}");
    let t = node.err("xConfiguration SIP Domain 201 Name: \"x\"");
    assert!(t.contains("1..200"), "{t}");
    let t = node.err("xConfiguration SIP: On");
    assert!(t.contains("group"), "{t}");
    node.err("xConfiguration SystemUnit Name: \"unterminated");
    node.err("xFoo bar");
}

#[test]
fn help_shows_valuespace_and_default() {
    let node = Node::new();
    let t = node.ok("xConfiguration SIP Registration Standard Refresh Minimum ?");
    assert!(
        t.contains("*h xConfiguration SIP Registration Standard Refresh Minimum: <30..3600>\n"),
        "{t}"
    );
    assert!(t.contains("Default: 45"), "{t}");
    let t = node.ok("xConfiguration SIP Domain ??");
    assert!(
        t.contains("*h xConfiguration SIP Domain [1..200] Name: <S: 0, 128>"),
        "{t}"
    );
    let t = node.ok("xConfiguration IP ??");
    assert!(
        t.contains("IP QoS Mode: <None/DiffServ>\n    Default: None\n    Applies: after a restart"),
        "{t}"
    );
    // The management listeners read their switches live.
    let t = node.ok("xConfiguration Administration ??");
    assert!(
        t.contains("Administration SSH Mode: <On/Off>\n    Default: On\n*h"),
        "{t}"
    );
    let t = node.ok("xCommand DomainAdd ?");
    assert!(t.contains("Name(r): <S: 1, 128>"), "{t}");
    assert!(t.contains("Sip: <On/Off>  Default: On"), "{t}");
    let t = node.ok("xCommand ?");
    assert!(t.contains("*h xCommand CheckPattern\n"), "{t}");
    assert!(t.contains("*h xCommand Ping  (not implemented yet)"), "{t}");
}

#[test]
fn commands_change_the_tree() {
    let node = Node::new();
    let t = node.ok("xCommand DomainAdd Name: \"example.com\"");
    assert!(t.contains("DomainId: 1"), "{t}");
    node.ok("xCommand DomainAdd Name: \"example.org\" Sip: Off");
    assert_eq!(node.value("SIP Domain 2 Sip"), "Off");
    let t = node.err("xCommand DomainAdd Name: \"EXAMPLE.com\"");
    assert!(t.contains("already used"), "{t}");
    node.ok("xCommand DomainDelete DomainId: 1");
    assert_eq!(node.value("SIP Domain 1 Name"), "\"\"");
    node.err("xCommand DomainDelete DomainId: 1");

    node.ok("xCommand AllowListAdd PatternString: \"alice@example.com\"");
    assert_eq!(node.value("Registration AllowList 1 Pattern Type"), "Exact");
    node.ok("xCommand DenyListAdd PatternString: \"bad.*\" PatternType: regex Description: \"no\"");
    assert_eq!(node.value("Registration DenyList 1 Pattern Type"), "Regex");
    node.ok("xCommand AllowListDelete AllowListId: 1");
    node.ok("xCommand DenyListDelete DenyListId: 1");

    node.ok("xCommand ZoneAdd ZoneName: \"Peer\" Type: neighbor");
    node.ok("xCommand SearchRuleAdd Name: \"To peer\" ZoneName: \"Peer\"");
    // Row 1 holds the factory rule for the Local Zone.
    assert_eq!(
        node.value("Zones Policy SearchRules Rule 1 Target Name"),
        "\"LocalZone\""
    );
    assert_eq!(
        node.value("Zones Policy SearchRules Rule 2 Target Name"),
        "\"Peer\""
    );
    node.err("xCommand SearchRuleAdd Name: \"Nowhere\" ZoneName: \"Absent\"");
    let t = node.err("xCommand ZoneDelete ZoneId: 1");
    assert!(t.contains("search rule 2"), "{t}");
    node.ok("xCommand SearchRuleDelete SearchRuleId: 2");
    node.ok("xCommand ZoneDelete ZoneId: 1");
    node.err("xCommand ZoneDelete ZoneId: 1");

    // Parameters are checked against the catalogue.
    let t = node.err("xCommand ZoneAdd ZoneName: \"x\"");
    assert!(t.contains("Type is required"), "{t}");
    let t = node.err("xCommand ZoneAdd ZoneName: \"x\" Type: Bogus");
    assert!(
        t.contains("Neighbor/TraversalClient/TraversalServer/ENUM/DNS"),
        "{t}"
    );
    let t = node.err("xCommand ZoneAdd ZoneName: \"x\" Type: DNS Colour: red");
    assert!(t.contains("no parameter Colour"), "{t}");
    let t = node.err("xCommand Ping Hostname: localhost");
    assert!(t.contains("not implemented"), "{t}");
    let t = node.err("xCommand Restart");
    assert!(t.contains("no server is running"), "{t}");
}

#[test]
fn transforms_insert_at_a_priority_and_push_the_rest_down() {
    let node = Node::new();
    node.ok("xCommand TransformAdd Pattern: \"a\" Priority: 5");
    node.ok("xCommand TransformAdd Pattern: \"b\" Priority: 6");
    node.ok("xCommand TransformAdd Pattern: \"c\" Priority: 9");
    node.ok("xCommand TransformAdd Pattern: \"d\" Priority: 5");
    assert_eq!(node.value("Transform 1 Priority"), "6");
    assert_eq!(node.value("Transform 2 Priority"), "7");
    assert_eq!(node.value("Transform 3 Priority"), "10");
    assert_eq!(node.value("Transform 4 Priority"), "5");
    node.ok("xCommand TransformAdd Pattern: \"e\" Priority: 65534");
    let t = node.err("xCommand TransformAdd Pattern: \"f\" Priority: 65534");
    assert!(t.contains("65534"), "{t}");
    let t = node.err("xCommand TransformAdd Pattern: \"(\" Type: Regex");
    assert!(t.contains("regular expression"), "{t}");
    node.ok("xCommand TransformDelete TransformId: 2");
    assert_eq!(node.value("Transform 2 Pattern String"), "\"\"");
}

fn check(node: &Node, args: &str) -> (String, String) {
    let t = node.ok(&format!("xCommand CheckPattern {args}"));
    let field = |k: &str| {
        t.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{k}: ")))
            .unwrap_or_else(|| panic!("{k} in {t}"))
            .to_string()
    };
    (field("Matched"), field("Alias"))
}

/// The worked examples of the dial plan chapters.
#[test]
fn check_pattern_gives_the_guide_results() {
    let node = Node::new();
    node.ok("xCommand DomainAdd Name: \"example.com\"");
    let cases: &[(&str, (&str, &str))] = &[
        (
            r#"Target: "john_smith@example.com" Pattern: "(.).*_(.).*(@example.com)" Type: Regex Behavior: Replace Replace: "\1\2\3""#,
            ("Yes", "\"js@example.com\""),
        ),
        (
            r#"Target: "1234" Pattern: "(\d+)" Type: Regex Behavior: Replace Replace: "\1@example.com""#,
            ("Yes", "\"1234@example.com\""),
        ),
        (
            r#"Target: "1234@example.com" Pattern: "(\d+)@example.com" Type: Regex Behavior: Replace Replace: "\1""#,
            ("Yes", "\"1234\""),
        ),
        (
            r#"Target: "alice@sales.example.com" Pattern: "@sales.example.com" Type: Suffix Behavior: Leave"#,
            ("Yes", "\"alice@sales.example.com\""),
        ),
        (
            r#"Target: "alice@example.com" Pattern: "@example.com" Type: Suffix Behavior: Strip"#,
            ("Yes", "\"alice\""),
        ),
        (
            r#"Target: "bob@example.co.uk" Pattern: ".co.uk" Type: Suffix Behavior: Replace Replace: ".net""#,
            ("Yes", "\"bob@example.net\""),
        ),
        (
            r#"Target: "911" Pattern: "911|(911@%localdomains%)" Type: Regex Behavior: Leave"#,
            ("Yes", "\"911\""),
        ),
        (
            r#"Target: "911@EXAMPLE.COM" Pattern: "911|(911@%localdomains%)" Type: Regex Behavior: Leave"#,
            ("Yes", "\"911@EXAMPLE.COM\""),
        ),
        (
            r#"Target: "00911" Pattern: "00(911|911@%localdomains%)" Type: Regex Behavior: Replace Replace: "\1""#,
            ("Yes", "\"911\""),
        ),
        (
            r#"Target: "bob@other.com" Pattern: "(?!.*@example.com$).*" Type: Regex Behavior: Leave"#,
            ("Yes", "\"bob@other.com\""),
        ),
        (
            r#"Target: "bob@example.com" Pattern: "(?!.*@example.com$).*" Type: Regex Behavior: Leave"#,
            ("No", "\"bob@example.com\""),
        ),
        (
            r#"Target: "1234@example.com" Pattern: "(\d+)" Type: Regex Behavior: Leave"#,
            ("No", "\"1234@example.com\""),
        ),
        (
            r#"Target: "ALICE" Pattern: "alice" Type: Exact Behavior: AddSuffix Replace: "@example.com""#,
            ("Yes", "\"ALICE@example.com\""),
        ),
        (
            r#"Target: "9001" Pattern: "9" Type: Prefix Behavior: AddPrefix Replace: "sip:""#,
            ("Yes", "\"sip:9001\""),
        ),
    ];
    for (args, (matched, alias)) in cases {
        let got = check(&node, args);
        assert_eq!(
            (got.0.as_str(), got.1.as_str()),
            (*matched, *alias),
            "{args}"
        );
    }
    let t =
        node.err(r#"xCommand CheckPattern Target: "x" Pattern: "(" Type: Regex Behavior: Leave"#);
    assert!(t.contains("regular expression"), "{t}");
}

#[test]
fn zone_list_shows_the_search_plan() {
    let node = Node::new();
    node.ok("xCommand ZoneAdd ZoneName: \"Sales\" Type: Neighbor");
    node.ok("xCommand ZoneAdd ZoneName: \"Other\" Type: Neighbor");
    node.ok("xCommand SearchRuleAdd Name: \"sales\" ZoneName: \"Sales\"");
    for (k, v) in [
        ("Priority", "10"),
        ("Mode", "AliasPatternMatch"),
        ("Pattern Type", "Suffix"),
        ("Pattern String", "@sales.example.com"),
        ("Pattern Behavior", "Leave"),
        ("Progress", "Stop"),
    ] {
        node.ok(&format!(
            "xConfiguration Zones Policy SearchRules Rule 2 {k}: \"{v}\""
        ));
    }
    node.ok("xCommand SearchRuleAdd Name: \"rest\" ZoneName: \"Other\"");
    let t = node.ok("xCommand ZoneList Alias: \"bob@sales.example.com\"");
    assert!(t.contains("Search 1 Target: \"Sales\""), "{t}");
    assert!(t.contains("Searches: 1"), "stop ends the plan: {t}");
    // Otherwise the factory rule asks the Local Zone (priority 48), then the catch-all.
    let t = node.ok("xCommand ZoneList Alias: \"bob@example.com\"");
    assert!(t.contains("Search 1 Target: \"LocalZone\""), "{t}");
    assert!(t.contains("Search 2 Target: \"Other\""), "{t}");
    assert!(t.contains("Searches: 2"), "{t}");
}

#[test]
fn reset_to_defaults() {
    let node = Node::new();
    node.ok("xConfiguration SIP Mode: On");
    node.ok("xConfiguration IP Gateway: \"192.0.2.1\"");
    node.ok("xCommand DefaultValuesSet Level: 1");
    assert_eq!(node.value("SIP Mode"), "Off");
    assert_eq!(node.value("IP Gateway"), "\"192.0.2.1\"");
    node.ok("xCommand DefaultValuesSet Level: 3");
    assert_eq!(node.value("IP Gateway"), "\"127.0.0.1\"");
    node.err("xCommand DefaultValuesSet Level: 4");
}

#[test]
fn every_change_is_in_the_configuration_log_with_its_author() {
    let node = Node::new();
    node.ok("xConfiguration SIP Mode: On");
    node.ok("xConfiguration Alarm Notification SMTP Server Password: \"s3cret!\"");
    let out = node
        .cmd()
        .args(["log", "--config", "--data-dir"])
        .arg(node.path())
        .env("USER", "tester")
        .output()
        .unwrap();
    let log = String::from_utf8(out.stdout).unwrap();
    assert!(log.contains("Event=\"System Configuration Changed\" Detail=\"SIP Mode changed from (default) to \\\"On\\\"\""), "{log}");
    assert!(!log.contains("s3cret"), "secrets stay out of logs: {log}");
    let out = node
        .cmd()
        .args(["log", "--config", "--grep", "password", "--data-dir"])
        .arg(node.path())
        .output()
        .unwrap();
    let lines: Vec<_> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("Level=\"1\" UTCTime=\""), "{lines:?}");
    // The stored password never prints either: it reads back sealed, and the sealed form
    // written back leaves it as it is.
    let sealed = node.value("Alarm Notification SMTP Server Password");
    assert!(sealed.starts_with("\"{cipher}"), "{sealed}");
    assert!(!sealed.contains("s3cret"), "{sealed}");
    node.ok(&format!(
        "xConfiguration Alarm Notification SMTP Server Password: {sealed}"
    ));
    assert_eq!(
        node.value("Alarm Notification SMTP Server Password"),
        sealed
    );
    let t = node.err(&format!("xConfiguration Authentication Password: {sealed}"));
    assert!(
        t.contains("not sealed by this node for this element"),
        "{t}"
    );
    let db = std::fs::read(node.path().join("config.db")).unwrap();
    assert!(!db.windows(7).any(|w| w == b"s3cret!"));
}
