//! Administrator accounts through the command layer and the login check every surface uses.

use causeway_config::Config;
use causeway_xapi::auth::{Authenticator, LocalAccounts, LoginError, Surface};
use causeway_xapi::{Access, Engine, Principal};
use std::sync::Arc;

fn engine() -> (tempfile::TempDir, Engine, LocalAccounts) {
    let dir = tempfile::tempdir().unwrap();
    let config = Arc::new(Config::open(&dir.path().join("config.db")).unwrap());
    let auth = LocalAccounts {
        config: config.clone(),
    };
    (dir, Engine::offline(config), auth)
}

fn root() -> Principal {
    Principal::local_root("test")
}

fn ok(e: &Engine, line: &str) -> String {
    let r = e.execute(line, &root());
    assert!(r.ok, "{line}: {}", r.text);
    r.text
}

fn err(e: &Engine, line: &str) -> String {
    let r = e.execute(line, &root());
    assert!(!r.ok, "{line}: {}", r.text);
    r.text
}

#[test]
fn accounts_are_added_listed_and_deleted_by_name() {
    let (_d, e, _) = engine();
    let t = ok(
        &e,
        "xCommand AdminAccountAdd Name: \"ops\" Password: \"s3cret pass\" AccessLevel: ReadOnly AccessAPI: Off",
    );
    assert!(t.contains("Row: 2"), "{t}");
    let t = ok(&e, "xConfiguration Authentication Account Admin Account 2");
    assert!(t.contains("Account 2 Name: \"ops\""), "{t}");
    assert!(t.contains("Account 2 AccessLevel: ReadOnly"), "{t}");
    assert!(t.contains("Account 2 AccessAPI: Off"), "{t}");
    // The password prints masked, never as itself nor as its hash.
    assert!(t.contains("Account 2 Password: \"***\""), "{t}");
    assert!(!t.contains("s3cret") && !t.contains("argon2"), "{t}");
    let t = err(&e, "xCommand AdminAccountAdd Name: \"ops\" Password: \"x\"");
    assert!(t.contains("already exists"), "{t}");
    let t = err(&e, "xCommand AdminAccountDelete Name: \"admin\"");
    assert!(t.contains("cannot be deleted"), "{t}");
    let t = err(&e, "xCommand AdminAccountDelete Name: \"OPS\"");
    assert!(t.contains("no account is named"), "{t}");
    ok(&e, "xCommand AdminAccountDelete Name: \"ops\"");
    let t = ok(
        &e,
        "xCommand AdminGroupAdd Name: \"Region A\" AccessLevel: None",
    );
    assert!(t.contains("Row: 1"), "{t}");
    let t = err(&e, "xCommand AdminGroupAdd Name: \"region a\"");
    assert!(t.contains("already exists"), "{t}");
    let t = err(&e, "xCommand AdminGroupAdd Name: \"a=b\"");
    assert!(t.contains("may not contain '='"), "{t}");
    ok(&e, "xCommand AdminGroupDelete Name: \"REGION A\"");
}

#[test]
fn logins_check_the_password_state_level_and_surface() {
    let (_d, e, auth) = engine();
    ok(
        &e,
        "xConfiguration Authentication Account Admin Account 1 Password: \"admin pass\"",
    );
    ok(
        &e,
        "xCommand AdminAccountAdd Name: \"viewer\" Password: \"viewer pass\" AccessLevel: ReadOnly AccessWeb: Off",
    );
    ok(
        &e,
        "xCommand AdminAccountAdd Name: \"audit\" Password: \"audit pass\" AccessLevel: Auditor Enabled: Off",
    );
    let login = |u: &str, p: &str, s: Surface| auth.login(u, p, s, "192.0.2.1");
    let l = login("admin", "admin pass", Surface::Ssh).unwrap();
    assert_eq!(l.principal.access, Access::ReadWrite);
    assert_eq!(l.principal.source, "192.0.2.1");
    assert!(!l.must_change_password);
    assert_eq!(
        login("admin", "Admin pass", Surface::Web),
        Err(LoginError::BadCredentials)
    );
    assert_eq!(
        login("Admin", "admin pass", Surface::Web),
        Err(LoginError::BadCredentials),
        "names are case-sensitive"
    );
    assert_eq!(
        login("nobody", "x", Surface::Api),
        Err(LoginError::BadCredentials)
    );
    let l = login("viewer", "viewer pass", Surface::Api).unwrap();
    assert_eq!(l.principal.access, Access::ReadOnly);
    assert_eq!(
        login("viewer", "viewer pass", Surface::Web),
        Err(LoginError::NoAccess(Surface::Web))
    );
    assert_eq!(
        login("viewer", "viewer pass", Surface::Ssh),
        Err(LoginError::NoAccess(Surface::Ssh)),
        "only admin has the shell"
    );
    assert_eq!(
        login("audit", "audit pass", Surface::Web),
        Err(LoginError::Disabled)
    );
    ok(
        &e,
        "xConfiguration Authentication Account Admin Account 3 Enabled: On",
    );
    assert_eq!(
        login("audit", "audit pass", Surface::Web)
            .unwrap()
            .principal
            .access,
        Access::Auditor
    );
    ok(
        &e,
        "xConfiguration Authentication Account Admin Account 2 ForcePasswordReset: On",
    );
    assert!(
        login("viewer", "viewer pass", Surface::Api)
            .unwrap()
            .must_change_password
    );
    // Remote only: local accounts are refused (the directory is asked instead), except the
    // emergency account.
    ok(&e, "xConfiguration Login Source Admin: RemoteOnly");
    assert!(matches!(
        login("admin", "admin pass", Surface::Web),
        Err(LoginError::Unavailable(_))
    ));
    ok(
        &e,
        "xConfiguration Authentication Account Admin Account 1 Emergency: On",
    );
    assert!(login("admin", "admin pass", Surface::Web).is_ok());
    assert!(matches!(
        login("viewer", "viewer pass", Surface::Api),
        Err(LoginError::Unavailable(_))
    ));
}

#[test]
fn device_credentials_follow_the_strict_policy_while_it_is_on() {
    let (_d, e, _) = engine();
    ok(
        &e,
        "xCommand CredentialAdd Name: \"dev1\" Password: \"short\"",
    );
    ok(
        &e,
        "xConfiguration Authentication StrictPassword Enabled: On",
    );
    let t = err(
        &e,
        "xCommand CredentialAdd Name: \"dev2\" Password: \"short\"",
    );
    assert!(
        t.contains("password refused: it must be at least 15"),
        "{t}"
    );
    assert!(!t.contains("\"short\""), "{t}");
    assert_eq!(e.config.credential_password("dev2"), None);
    ok(
        &e,
        "xCommand CredentialAdd Name: \"dev2\" Password: \"Qz7#Lm4!Rv9@Kw2$\"",
    );
    assert_eq!(
        e.config.credential_password("dev2").as_deref(),
        Some("Qz7#Lm4!Rv9@Kw2$")
    );
}

#[test]
fn public_keys_log_in_the_account_they_belong_to() {
    let (_d, e, auth) = engine();
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx0aGlzIGlzIG5vdCBhIHJlYWwga2V5IGF0IGFsbA";
    ok(
        &e,
        &format!(
            "xConfiguration Authentication Account Admin Account 1 PublicKey: \"{key} ops@laptop\""
        ),
    );
    let t = err(
        &e,
        "xConfiguration Authentication Account Admin Account 1 PublicKey: \"not a key\"",
    );
    assert!(t.contains("OpenSSH public key"), "{t}");
    // The comment does not matter; the type and key do.
    let l = auth
        .login_key("admin", key, Surface::Ssh, "192.0.2.7")
        .unwrap();
    assert_eq!(l.principal.user, "admin");
    let other = key.replace("AAAAIHx0", "AAAAIHx1");
    assert_eq!(
        auth.login_key("admin", &other, Surface::Ssh, "x"),
        Err(LoginError::BadCredentials)
    );
    assert_eq!(
        auth.login_key("nobody", key, Surface::Ssh, "x"),
        Err(LoginError::BadCredentials)
    );
}

#[test]
fn every_level_changes_its_own_password_with_the_current_one() {
    let (_d, e, auth) = engine();
    ok(
        &e,
        "xCommand AdminAccountAdd Name: \"audit\" Password: \"old pass\" AccessLevel: Auditor",
    );
    ok(
        &e,
        "xConfiguration Authentication Account Admin Account 2 ForcePasswordReset: On",
    );
    let me = auth
        .login("audit", "old pass", Surface::Web, "x")
        .unwrap()
        .principal;
    let r = e.execute(
        "xCommand PasswordChange CurrentPassword: \"wrong\" NewPassword: \"new pass\"",
        &me,
    );
    assert!(!r.ok && r.text.contains("not correct"), "{}", r.text);
    let r = e.execute(
        "xCommand PasswordChange CurrentPassword: \"old pass\" NewPassword: \"new pass\"",
        &me,
    );
    assert!(r.ok, "{}", r.text);
    let l = auth.login("audit", "new pass", Surface::Web, "x").unwrap();
    assert!(!l.must_change_password, "the forced reset is done");
    assert_eq!(
        auth.login("audit", "old pass", Surface::Web, "x"),
        Err(LoginError::BadCredentials)
    );
    // It touches only the caller's own account, and other commands stay closed to auditors.
    let r = e.execute("xCommand AlarmAcknowledge Id: 20007", &me);
    assert!(!r.ok && r.text.contains("auditor access"), "{}", r.text);
}

#[test]
fn raised_alarms_are_acknowledged_by_id() {
    let (_d, e, _) = engine();
    e.alarms.raise(20007, "test");
    let t = err(&e, "xCommand AlarmAcknowledge Id: 20008");
    assert!(t.contains("not raised"), "{t}");
    ok(&e, "xCommand AlarmAcknowledge Id: 20007");
    let a = e.alarms.list();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].state, causeway_observe::AlarmState::Acknowledged);
}

/// A directory that knows fixed users and their groups.
struct FakeDirectory;

impl causeway_xapi::auth::Directory for FakeDirectory {
    fn groups(
        &self,
        user: &str,
        password: &str,
    ) -> Result<std::collections::BTreeSet<String>, LoginError> {
        let groups: &[&str] = match (user, password) {
            ("u1", "pw") => &["Administrators", "Region A"],
            ("u2", "pw") => &["Administrators", "Region B"],
            ("u3", "pw") => &["Administrators", "Region C"],
            ("u4", "pw") => &["Region A"],
            ("u5", "pw") => &["Elsewhere"],
            _ => return Err(LoginError::BadCredentials),
        };
        Ok(groups.iter().map(|s| s.to_string()).collect())
    }
}

/// The guide's four examples, end to end through the login check.
#[test]
fn directory_users_get_the_merged_rights_of_their_groups() {
    let (_d, e, local) = engine();
    let logins = causeway_xapi::auth::Logins {
        local,
        directory: Arc::new(FakeDirectory),
    };
    ok(
        &e,
        "xConfiguration Authentication Account Admin Account 1 Password: \"admin pass\"",
    );
    ok(
        &e,
        "xCommand AdminGroupAdd Name: \"Administrators\" AccessWeb: Off AccessAPI: Off",
    );
    ok(
        &e,
        "xCommand AdminGroupAdd Name: \"Region A\" AccessLevel: ReadOnly AccessAPI: Off",
    );
    ok(
        &e,
        "xCommand AdminGroupAdd Name: \"Region B\" AccessLevel: ReadOnly AccessWeb: Off",
    );
    ok(
        &e,
        "xCommand AdminGroupAdd Name: \"Region C\" AccessLevel: ReadOnly",
    );
    let login = |u: &str, s: Surface| logins.login(u, "pw", s, "x").map(|l| l.principal.access);
    // Local only: the directory is never asked.
    assert_eq!(login("u1", Surface::Web), Err(LoginError::BadCredentials));
    ok(&e, "xConfiguration Login Source Admin: Both");
    assert_eq!(login("u1", Surface::Web), Ok(Access::ReadWrite));
    assert_eq!(
        login("u1", Surface::Api),
        Err(LoginError::NoAccess(Surface::Api))
    );
    assert_eq!(login("u2", Surface::Api), Ok(Access::ReadWrite));
    assert_eq!(
        login("u2", Surface::Web),
        Err(LoginError::NoAccess(Surface::Web))
    );
    assert_eq!(login("u3", Surface::Web), Ok(Access::ReadWrite));
    assert_eq!(login("u3", Surface::Api), Ok(Access::ReadWrite));
    assert_eq!(login("u4", Surface::Web), Ok(Access::ReadOnly));
    assert_eq!(
        login("u4", Surface::Api),
        Err(LoginError::NoAccess(Surface::Api))
    );
    assert_eq!(login("u5", Surface::Web), Err(LoginError::Unauthorized));
    assert_eq!(
        login("u1", Surface::Ssh),
        Err(LoginError::NoAccess(Surface::Ssh))
    );
    assert_eq!(
        logins.login("u1", "wrong", Surface::Web, "x").map(|_| ()),
        Err(LoginError::BadCredentials)
    );
    // A disabled group counts for nothing.
    ok(
        &e,
        "xConfiguration Authentication Account Admin Group 1 Enabled: Off",
    );
    assert_eq!(login("u1", Surface::Web), Ok(Access::ReadOnly));
    // Both: a local account is checked locally, never in the directory.
    assert_eq!(
        logins
            .login("admin", "admin pass", Surface::Web, "x")
            .map(|l| l.principal.access),
        Ok(Access::ReadWrite)
    );
}
