//! The generated tree against the spec it came from, and the write path.

use causeway_config::schema::{Valuespace, Word, ELEMENTS, SPEC_ELEMENT_COUNT};
use causeway_config::{Change, Config, ConfigError, Origin};

fn origin() -> Origin {
    Origin {
        user: "test".into(),
        source: "test".into(),
    }
}

fn open() -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::open(&dir.path().join("config.db")).unwrap();
    (dir, cfg)
}

/// A concrete path for an element: each index at its lowest value.
fn concrete(e: &causeway_config::schema::Element) -> String {
    e.words
        .iter()
        .map(|w| match w {
            Word::Lit(s) => s.to_string(),
            Word::Index { min, .. } => min.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn every_spec_element_is_generated() {
    // 592 in the reference, less the two group headings that carry no value.
    assert_eq!(SPEC_ELEMENT_COUNT, 590);
    // SystemUnit Type, six per call policy rule and the uploaded call policy script.
    assert_eq!(ELEMENTS.iter().filter(|e| e.ours).count(), 14);
    causeway_config::rules::check_all(&Default::default())
        .expect("factory defaults obey the rules");
    assert!(causeway_config::rules::range_pairs().len() >= 8);
    for e in ELEMENTS {
        if let Some(d) = e.default {
            assert_eq!(
                e.valuespace.canonical(d).as_deref(),
                Ok(d),
                "default of {} fits its valuespace",
                e.path
            );
        }
    }
}

/// A value inside and one outside each element's valuespace, written in an odd case.
fn samples(vs: &Valuespace, seed: usize) -> (String, String, Option<String>) {
    match *vs {
        Valuespace::Int { min, max } => {
            let span = (max - min) as usize + 1;
            let good = min + (seed % span) as i64;
            let bad = if seed.is_multiple_of(2) {
                max + 1
            } else {
                min - 1
            };
            (good.to_string(), good.to_string(), Some(bad.to_string()))
        }
        Valuespace::Str { min, max, .. } => {
            let len = min + seed % (max.min(40) - min + 1).max(1);
            let good: String = "xY7".chars().cycle().take(len).collect();
            let bad = if seed.is_multiple_of(3) && min > 0 {
                "a".repeat(min - 1)
            } else if seed % 3 == 1 {
                "bad\nline".to_string()
            } else {
                "z".repeat(max + 1)
            };
            (good.clone(), good, Some(bad))
        }
        Valuespace::Enum { values, .. } => {
            let v = values[seed % values.len()];
            let odd: String = v
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if i % 2 == 0 {
                        c.to_ascii_lowercase()
                    } else {
                        c.to_ascii_uppercase()
                    }
                })
                .collect();
            (odd, v.to_string(), Some(format!("{v}x")))
        }
    }
}

#[test]
fn writes_are_checked_against_the_valuespace() {
    let (_dir, cfg) = open();
    let mut refused = 0;
    let mut stored = 0;
    for (i, e) in ELEMENTS.iter().enumerate() {
        let path = concrete(e);
        // Rows of tables with required elements are tested in their own test below.
        if causeway_config::rules::table_prefixes().any(|t| path.starts_with(&format!("{t} "))) {
            continue;
        }
        let (typed, canonical, bad) = samples(&e.valuespace, i);
        let before = cfg.snapshot().configured(&path).map(str::to_owned);
        if let Some(bad) = bad {
            let err = cfg
                .commit(
                    &origin(),
                    vec![Change::Set {
                        path: path.to_lowercase(),
                        value: bad.clone(),
                    }],
                )
                .unwrap_err();
            match &err {
                ConfigError::Value {
                    path: p,
                    valuespace,
                    ..
                } => {
                    assert_eq!(p, &path);
                    assert_eq!(valuespace, &e.valuespace.notation());
                }
                other => panic!("{path} = {bad:?}: unexpected {other:?}"),
            }
            assert_eq!(
                cfg.snapshot().configured(&path).map(str::to_owned),
                before,
                "{path} kept its value"
            );
            refused += 1;
        }
        match cfg.commit(
            &origin(),
            vec![Change::Set {
                path: path.clone(),
                value: typed.clone(),
            }],
        ) {
            Ok(_) => {
                let snap = cfg.snapshot();
                // Secrets are stored sealed or hashed; what they hold is the value written.
                if causeway_config::accounts::is_hashed(&path) {
                    let hash = snap.configured(&path).unwrap();
                    assert!(
                        causeway_config::accounts::verify(hash, &canonical),
                        "{path}"
                    );
                } else if causeway_config::secrets::is_sealed(&path) {
                    assert_eq!(
                        snap.secret(&path).as_deref(),
                        Some(canonical.as_str()),
                        "{path}"
                    );
                } else {
                    assert_eq!(snap.configured(&path), Some(canonical.as_str()));
                }
                stored += 1;
            }
            // A value inside the valuespace may still break a range rule with its sibling.
            Err(ConfigError::Rule(_)) => {}
            Err(other) => panic!("{path} = {typed:?}: {other}"),
        }
    }
    assert!(
        refused > 400 && stored > 400,
        "{refused} refused, {stored} stored"
    );
}

#[test]
fn a_failed_commit_changes_nothing() {
    let (_dir, cfg) = open();
    let rev = cfg.snapshot().revision;
    let err = cfg
        .commit(
            &origin(),
            vec![
                Change::Set {
                    path: "SIP Mode".into(),
                    value: "On".into(),
                },
                Change::Set {
                    path: "SIP UDP Port".into(),
                    value: "80".into(),
                },
            ],
        )
        .unwrap_err();
    assert!(err.to_string().contains("SIP UDP Port"), "{err}");
    assert!(err.to_string().contains("<1024..65534>"), "{err}");
    let snap = cfg.snapshot();
    assert_eq!(snap.revision, rev);
    assert_eq!(snap.get("SIP Mode"), Some("Off"));
}

#[test]
fn range_rules_are_checked_at_commit() {
    let (_dir, cfg) = open();
    let err = cfg
        .commit(
            &origin(),
            vec![Change::Set {
                path: "SIP Registration Standard Refresh Minimum".into(),
                value: "3000".into(),
            }],
        )
        .unwrap_err();
    assert!(matches!(err, ConfigError::Rule(_)), "{err:?}");
    // Moving both ends in one commit is fine.
    cfg.commit(
        &origin(),
        vec![
            Change::Set {
                path: "SIP Registration Standard Refresh Maximum".into(),
                value: "3600".into(),
            },
            Change::Set {
                path: "SIP Registration Standard Refresh Minimum".into(),
                value: "3000".into(),
            },
        ],
    )
    .unwrap();
    let err = cfg
        .commit(
            &origin(),
            vec![Change::Set {
                path: "Traversal Media Port Start".into(),
                value: cfg
                    .snapshot()
                    .get("Traversal Media Port End")
                    .unwrap()
                    .into(),
            }],
        )
        .unwrap_err();
    assert!(err.to_string().contains("below"), "{err}");
}

#[test]
fn the_turn_server_is_for_edge_nodes_only() {
    let (_dir, cfg) = open();
    let set = |path: &str, value: &str| Change::Set {
        path: path.into(),
        value: value.into(),
    };
    let err = cfg
        .commit(&origin(), vec![set("Traversal Server TURN Mode", "On")])
        .unwrap_err();
    assert!(err.to_string().contains("Edge"), "{err}");
    assert_eq!(
        cfg.snapshot().get("Traversal Server TURN Mode"),
        Some("Off")
    );
    cfg.commit(
        &origin(),
        vec![
            set("SystemUnit Type", "Edge"),
            set("Traversal Server TURN Mode", "On"),
        ],
    )
    .unwrap();
    // Back to Core while the TURN server is on: refused, nothing changes.
    let err = cfg
        .commit(&origin(), vec![set("SystemUnit Type", "Core")])
        .unwrap_err();
    assert!(matches!(err, ConfigError::Rule(_)), "{err:?}");
}

#[test]
fn table_rows_need_their_key_and_unique_names() {
    let (_dir, cfg) = open();
    let err = cfg
        .commit(
            &origin(),
            vec![Change::Set {
                path: "Zones Zone 4 HopCount".into(),
                value: "3".into(),
            }],
        )
        .unwrap_err();
    assert!(err.to_string().contains("Name"), "{err}");
    let zone = |n: u32, name: &str| {
        vec![
            Change::Set {
                path: format!("Zones Zone {n} Name"),
                value: name.into(),
            },
            Change::Set {
                path: format!("Zones Zone {n} Type"),
                value: "neighbor".into(),
            },
        ]
    };
    cfg.commit(&origin(), zone(1, "Alpha")).unwrap();
    assert_eq!(cfg.snapshot().get("Zones Zone 1 Type"), Some("Neighbor"));
    let err = cfg.commit(&origin(), zone(2, "ALPHA")).unwrap_err();
    assert!(err.to_string().contains("already used"), "{err}");
    assert_eq!(cfg.snapshot().rows("Zones Zone"), vec![1]);
}

#[test]
fn restart_flagged_elements_wait_for_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("config.db");
    {
        let cfg = Config::open(&db).unwrap();
        let mut events = cfg.subscribe();
        cfg.commit(
            &origin(),
            vec![
                Change::Set {
                    path: "IP QoS Mode".into(),
                    value: "diffserv".into(),
                },
                Change::Set {
                    path: "SIP Mode".into(),
                    value: "on".into(),
                },
            ],
        )
        .unwrap();
        let snap = cfg.snapshot();
        assert_eq!(snap.configured("IP QoS Mode"), Some("DiffServ"));
        assert_eq!(snap.get("IP QoS Mode"), Some("None"));
        assert_eq!(snap.get("SIP Mode"), Some("On"));
        assert_eq!(snap.pending_restart, vec!["IP QoS Mode"]);
        let ev = events.try_recv().unwrap();
        assert_eq!(ev.record.changes.len(), 2);
        // Changing it back clears the pending restart.
        cfg.commit(
            &origin(),
            vec![Change::Set {
                path: "IP QoS Mode".into(),
                value: "None".into(),
            }],
        )
        .unwrap();
        assert!(cfg.snapshot().pending_restart.is_empty());
        cfg.commit(
            &origin(),
            vec![Change::Set {
                path: "IP QoS Mode".into(),
                value: "DiffServ".into(),
            }],
        )
        .unwrap();
    }
    let cfg = Config::open(&db).unwrap();
    let snap = cfg.snapshot();
    assert_eq!(snap.get("IP QoS Mode"), Some("DiffServ"));
    assert!(snap.pending_restart.is_empty());
    // The factory rows, then two commits.
    assert_eq!(snap.revision, 4);
}

#[test]
fn reset_levels_keep_what_they_should() {
    let (_dir, cfg) = open();
    let set = |p: &str, v: &str| Change::Set {
        path: p.into(),
        value: v.into(),
    };
    cfg.commit(
        &origin(),
        vec![
            set("SIP Mode", "On"),
            set("Login Remote Protocol", "LDAP"),
            set("IP Gateway", "192.0.2.1"),
        ],
    )
    .unwrap();
    cfg.commit(&origin(), vec![Change::ResetToDefaults { level: 1 }])
        .unwrap();
    let s = cfg.snapshot();
    assert_eq!(s.get("SIP Mode"), Some("Off"));
    assert!(s.is_stored("Login Remote Protocol") && s.is_stored("IP Gateway"));
    cfg.commit(&origin(), vec![Change::ResetToDefaults { level: 2 }])
        .unwrap();
    let s = cfg.snapshot();
    assert!(!s.is_stored("Login Remote Protocol") && s.is_stored("IP Gateway"));
    cfg.commit(&origin(), vec![Change::ResetToDefaults { level: 3 }])
        .unwrap();
    let left: Vec<(String, String)> = cfg
        .snapshot()
        .stored()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let factory: Vec<(String, String)> = causeway_config::factory::ROWS
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect::<std::collections::BTreeMap<_, _>>()
        .into_iter()
        .collect();
    assert_eq!(left, factory, "only the factory rows are left");
}

#[test]
fn a_new_store_has_the_factory_search_rule_and_a_reset_restores_it() {
    let (_dir, cfg) = open();
    let s = cfg.snapshot();
    assert_eq!(s.revision, 1);
    let rule = "Zones Policy SearchRules Rule 1";
    assert_eq!(s.get(&format!("{rule} Name")), Some("LocalZoneMatch"));
    assert_eq!(s.get(&format!("{rule} Target Name")), Some("LocalZone"));
    cfg.commit(
        &origin(),
        vec![Change::DeleteRow {
            row: rule.to_string(),
        }],
    )
    .unwrap();
    assert!(!cfg.snapshot().is_stored(&format!("{rule} Name")));
    cfg.commit(&origin(), vec![Change::ResetToDefaults { level: 1 }])
        .unwrap();
    assert_eq!(
        cfg.snapshot().get(&format!("{rule} Mode")),
        Some("AnyAlias")
    );
}

#[test]
fn commits_from_two_handles_on_one_store_both_land() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("config.db");
    let a = Config::open(&db).unwrap();
    let b = Config::open(&db).unwrap();
    a.commit(
        &origin(),
        vec![Change::Set {
            path: "SIP Mode".into(),
            value: "On".into(),
        }],
    )
    .unwrap();
    b.commit(
        &origin(),
        vec![Change::Set {
            path: "H323 Mode".into(),
            value: "On".into(),
        }],
    )
    .unwrap();
    let s = b.snapshot();
    assert_eq!(s.get("SIP Mode"), Some("On"));
    assert_eq!(s.get("H323 Mode"), Some("On"));
    // The first handle wrote the factory rows as revision 1.
    assert_eq!(s.revision, 3);
}

#[test]
fn rules_see_every_row_a_commit_touches() {
    let (_dir, cfg) = open();
    let set = |p: String, v: &str| Change::Set {
        path: p,
        value: v.into(),
    };
    let zone = |n: u32, name: &str| {
        vec![
            set(format!("Zones Zone {n} Name"), name),
            set(format!("Zones Zone {n} Type"), "DNS"),
        ]
    };
    // Two new rows with one name in a single commit.
    let mut both = zone(7, "twin");
    both.extend(zone(9, "TWIN"));
    let err = cfg.commit(&origin(), both).unwrap_err();
    assert!(err.to_string().contains("already used"), "{err}");
    assert!(cfg.snapshot().rows("Zones Zone").is_empty());
    // Renaming an existing row onto another's name.
    cfg.commit(&origin(), zone(1, "one")).unwrap();
    cfg.commit(&origin(), zone(2, "two")).unwrap();
    let err = cfg
        .commit(&origin(), vec![set("Zones Zone 1 Name".into(), "Two")])
        .unwrap_err();
    assert!(err.to_string().contains("Zones Zone 2"), "{err}");
    // Emptying a required element of an existing row.
    let err = cfg
        .commit(
            &origin(),
            vec![Change::Unset {
                path: "Zones Zone 2 Type".into(),
            }],
        )
        .unwrap_err();
    assert!(err.to_string().contains("Type"), "{err}");
    // Removing the whole row is fine, and frees the name.
    cfg.commit(
        &origin(),
        vec![Change::DeleteRow {
            row: "Zones Zone 2".into(),
        }],
    )
    .unwrap();
    cfg.commit(&origin(), vec![set("Zones Zone 1 Name".into(), "two")])
        .unwrap();
    causeway_config::rules::check_all(cfg.snapshot().stored()).unwrap();
}

#[test]
fn domain_names_follow_the_naming_rules() {
    use causeway_config::rules::valid_domain_name;
    for good in ["example.com", "100.example-name.com", "a", "x1.y2.z"] {
        assert!(valid_domain_name(good), "{good}");
    }
    for bad in [
        "-a.com",
        "a-.com",
        "example.123",
        "a..b",
        "",
        "a_b.com",
        "exa mple.com",
    ] {
        assert!(!valid_domain_name(bad), "{bad}");
    }
    let (_dir, cfg) = open();
    let err = cfg
        .commit(
            &origin(),
            vec![Change::Set {
                path: "SIP Domain 1 Name".into(),
                value: "example.123".into(),
            }],
        )
        .unwrap_err();
    assert!(err.to_string().contains("not a valid domain name"), "{err}");
}
