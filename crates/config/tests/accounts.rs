//! Administrator accounts and groups as rows of the tree: hashing, the `admin` invariants, the
//! emergency account, names, and the strict password policy.

use causeway_config::accounts::{self, find, Level};
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

fn set(path: &str, value: &str) -> Change {
    Change::Set {
        path: path.into(),
        value: value.into(),
    }
}

const A: &str = "Authentication Account Admin Account";

fn commit(cfg: &Config, changes: Vec<Change>) -> Result<(), ConfigError> {
    cfg.commit(&origin(), changes).map(|_| ())
}

/// The refusal's text, which must never contain `secret`.
fn refused(cfg: &Config, changes: Vec<Change>, secret: &str) -> String {
    let before = cfg.snapshot().stored().clone();
    let e = commit(cfg, changes).expect_err("refused");
    let text = format!("{e} {e:?}");
    assert!(!text.contains(secret), "{text}");
    assert_eq!(
        cfg.snapshot().stored(),
        &before,
        "a refused commit changes nothing"
    );
    text
}

#[test]
fn a_new_store_has_the_admin_account_without_a_password() {
    let (_d, cfg) = open();
    let a = find(cfg.snapshot().stored(), "admin").expect("admin row");
    assert_eq!((a.row, a.level, a.enabled), (1, Level::ReadWrite, true));
    assert!(a.web && a.api && !a.emergency);
    assert_eq!(a.hash, "");
}

#[test]
fn passwords_are_stored_as_argon2id_hashes() {
    let (dir, cfg) = open();
    commit(&cfg, vec![set(&format!("{A} 1 Password"), "first secret")]).unwrap();
    let stored = cfg
        .snapshot()
        .get(&format!("{A} 1 Password"))
        .unwrap()
        .to_string();
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert!(accounts::verify(&stored, "first secret"));
    assert!(!accounts::verify(&stored, "First secret"));
    // Neither the store nor its journal holds the password.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(12).any(|w| w == b"first secret"));
    }
    let text = refused(&cfg, vec![set(&format!("{A} 1 Password"), "")], "xx");
    assert!(text.contains("cannot be empty"), "{text}");
}

#[test]
fn admin_cannot_be_deleted_renamed_disabled_or_demoted() {
    let (_d, cfg) = open();
    let t = refused(
        &cfg,
        vec![Change::DeleteRow {
            row: format!("{A} 1"),
        }],
        "\u{0}",
    );
    assert!(t.contains("cannot be deleted or renamed"), "{t}");
    let t = refused(&cfg, vec![set(&format!("{A} 1 Name"), "boss")], "\u{0}");
    assert!(t.contains("cannot be deleted or renamed"), "{t}");
    let t = refused(&cfg, vec![set(&format!("{A} 1 Enabled"), "Off")], "\u{0}");
    assert!(t.contains("cannot be disabled"), "{t}");
    let t = refused(
        &cfg,
        vec![set(&format!("{A} 1 AccessLevel"), "ReadOnly")],
        "\u{0}",
    );
    assert!(t.contains("always has ReadWrite"), "{t}");
    // Its web and API access may be switched off.
    commit(
        &cfg,
        vec![
            set(&format!("{A} 1 AccessWeb"), "Off"),
            set(&format!("{A} 1 AccessAPI"), "Off"),
        ],
    )
    .unwrap();
    // Other accounts come and go.
    commit(&cfg, vec![set(&format!("{A} 2 Name"), "ops")]).unwrap();
    commit(
        &cfg,
        vec![Change::DeleteRow {
            row: format!("{A} 2"),
        }],
    )
    .unwrap();
}

#[test]
fn names_are_unique_and_not_reserved() {
    let (_d, cfg) = open();
    let t = refused(&cfg, vec![set(&format!("{A} 2 Name"), "Admin")], "\u{0}");
    assert!(t.contains("already used"), "{t}");
    let t = refused(&cfg, vec![set(&format!("{A} 2 Name"), "root")], "\u{0}");
    assert!(t.contains("reserved"), "{t}");
    let t = refused(&cfg, vec![set(&format!("{A} 2 Name"), "a:b")], "\u{0}");
    assert!(t.contains("colon"), "{t}");
    let t = refused(
        &cfg,
        vec![set(&format!("{A} 2 AccessLevel"), "Auditor")],
        "\u{0}",
    );
    assert!(t.contains("needs a value for Name"), "{t}");
    let g = "Authentication Account Admin Group";
    let t = refused(&cfg, vec![set(&format!("{g} 1 Name"), "ops;drop")], "\u{0}");
    assert!(t.contains("may not contain ';'"), "{t}");
    commit(
        &cfg,
        vec![
            set(&format!("{g} 1 Name"), "Region A"),
            set(&format!("{g} 1 AccessLevel"), "None"),
        ],
    )
    .unwrap();
}

#[test]
fn one_emergency_account_enabled_read_write_with_web_access() {
    let (_d, cfg) = open();
    commit(
        &cfg,
        vec![
            set(&format!("{A} 2 Name"), "break-glass"),
            set(&format!("{A} 2 Emergency"), "On"),
        ],
    )
    .unwrap();
    let t = refused(&cfg, vec![set(&format!("{A} 2 AccessWeb"), "Off")], "\u{0}");
    assert!(t.contains("emergency account"), "{t}");
    let t = refused(
        &cfg,
        vec![set(&format!("{A} 2 AccessLevel"), "ReadOnly")],
        "\u{0}",
    );
    assert!(t.contains("emergency account"), "{t}");
    let t = refused(
        &cfg,
        vec![
            set(&format!("{A} 3 Name"), "second"),
            set(&format!("{A} 3 Emergency"), "On"),
        ],
        "\u{0}",
    );
    assert!(t.contains("only one"), "{t}");
}

#[test]
fn the_strict_policy_judges_passwords_set_while_it_is_on() {
    let (_d, cfg) = open();
    // Off: anything but empty.
    commit(&cfg, vec![set(&format!("{A} 1 Password"), "weak")]).unwrap();
    commit(
        &cfg,
        vec![set("Authentication StrictPassword Enabled", "On")],
    )
    .unwrap();
    let t = refused(
        &cfg,
        vec![set(&format!("{A} 1 Password"), "weak-but-longer")],
        "weak-but-longer",
    );
    assert!(t.contains("password refused"), "{t}");
    assert!(t.contains(&format!("{A} 1 Password")), "{t}");
    // Turning the policy on in the same commit as the password counts.
    let (_d2, cfg2) = open();
    let t = refused(
        &cfg2,
        vec![
            set("Authentication StrictPassword Enabled", "On"),
            set(&format!("{A} 1 Password"), "weak"),
        ],
        "weak",
    );
    assert!(t.contains("at least 15"), "{t}");
    commit(
        &cfg,
        vec![set(&format!("{A} 1 Password"), "Qz7#Lm4!Rv9@Kw2$")],
    )
    .unwrap();
    // A password longer than the element allows is refused without being echoed.
    let long = "Z".repeat(1025);
    let t = refused(&cfg, vec![set(&format!("{A} 1 Password"), &long)], &long);
    assert!(t.contains("outside 0..1024"), "{t}");
}

#[test]
fn resets_keep_accounts_below_level_three_and_the_admin_row_always() {
    let (_d, cfg) = open();
    let g = "Authentication Account Admin Group";
    commit(
        &cfg,
        vec![
            set(&format!("{A} 1 Password"), "pw one"),
            set(&format!("{A} 2 Name"), "ops"),
            set(&format!("{g} 1 Name"), "Region A"),
        ],
    )
    .unwrap();
    commit(&cfg, vec![Change::ResetToDefaults { level: 1 }]).unwrap();
    let snap = cfg.snapshot();
    assert!(find(snap.stored(), "ops").is_some());
    assert!(accounts::verify(
        &find(snap.stored(), "admin").unwrap().hash,
        "pw one"
    ));
    assert_eq!(accounts::groups(snap.stored()).len(), 1);
    commit(&cfg, vec![Change::ResetToDefaults { level: 2 }]).unwrap();
    assert!(accounts::groups(cfg.snapshot().stored()).is_empty());
    assert!(find(cfg.snapshot().stored(), "ops").is_some());
    commit(&cfg, vec![Change::ResetToDefaults { level: 3 }]).unwrap();
    let snap = cfg.snapshot();
    assert!(find(snap.stored(), "ops").is_none());
    assert_eq!(find(snap.stored(), "admin").unwrap().hash, "");
}

#[test]
fn other_secrets_are_sealed_and_open_only_here_for_their_element() {
    let (dir, cfg) = open();
    let p = "Zones Zone 1 TraversalClient Authentication Password";
    commit(
        &cfg,
        vec![
            set("Zones Zone 1 Name", "edge"),
            set("Zones Zone 1 Type", "TraversalClient"),
            set(p, "zone secret"),
        ],
    )
    .unwrap();
    let snap = cfg.snapshot();
    let stored = snap.get(p).unwrap().to_string();
    assert!(stored.starts_with("{cipher}"), "{stored}");
    assert_eq!(snap.secret(p).as_deref(), Some("zone secret"));
    assert_eq!(snap.secret("Zones Zone 1 Name").as_deref(), Some("edge"));
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(11).any(|w| w == b"zone secret"));
    }
    // The sealed form is accepted back unchanged; on another element, or from another node,
    // it is refused.
    commit(&cfg, vec![set(p, &stored)]).unwrap();
    assert_eq!(cfg.snapshot().get(p), Some(stored.as_str()));
    let t = refused(
        &cfg,
        vec![set("Authentication Password", &stored)],
        "zone secret",
    );
    assert!(t.contains("not sealed by this node"), "{t}");
    let (_d2, other) = open();
    let t = refused(&other, vec![set(p, &stored)], "zone secret");
    assert!(t.contains("not sealed by this node"), "{t}");
    // Too long (the limit counts the plain value) is refused without repeating it.
    let long = "q".repeat(216);
    let t = refused(&cfg, vec![set("Authentication Password", &long)], &long);
    assert!(t.contains("outside 0..215"), "{t}");
    // Empty stays empty.
    commit(&cfg, vec![set(p, "")]).unwrap();
    assert_eq!(cfg.snapshot().get(p), Some(""));
}
