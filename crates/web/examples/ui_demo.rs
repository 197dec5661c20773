//! The web interface over a stand-in server, for looking at the pages: a temporary
//! configuration store, three accounts (`admin`, `rob` read-only, `audrey` auditor, each with
//! the password `Demo-pass-1`), a few registrations and calls that can be removed, and one
//! alarm.
//!
//!     cargo run -p causeway-web --example ui_demo -- 127.0.0.1:8443
//!
//! The certificate is self-signed for `localhost`.

use causeway_config::Config;
use causeway_observe::{Alarms, EventLog, LogKind};
use causeway_web::{serve_with, Options, UiOptions};
use causeway_xapi::auth::LocalAccounts;
use causeway_xapi::system::{AlarmStatus, ResourceUsage, SystemUnit};
use causeway_xapi::{Engine, Field, Principal, Selector, Services, StatusSource};
use std::sync::{Arc, Mutex};
use std::time::Instant;

const PASSWORD: &str = "Demo-pass-1";

/// Registrations and calls that exist only in memory.
#[derive(Default)]
struct Fake {
    registrations: Mutex<Vec<(u32, String, String)>>,
    calls: Mutex<Vec<(u32, String, String)>>,
}

struct FakeServices(Arc<Fake>);

impl Services for FakeServices {
    fn restart(&self, _reason: &str) -> Result<(), String> {
        Ok(())
    }
    fn remove_registration(&self, which: &Selector) -> Result<Vec<(String, Field)>, String> {
        let Selector::Number(n) = which else {
            return Err("by number only here".into());
        };
        let mut r = self.0.registrations.lock().unwrap();
        let before = r.len();
        r.retain(|(k, _, _)| k != n);
        if r.len() == before {
            return Err("no such registration".into());
        }
        Ok(vec![("Registration".into(), Field::bare(n))])
    }
    fn disconnect_call(&self, which: &Selector) -> Result<Vec<(String, Field)>, String> {
        let Selector::Number(n) = which else {
            return Err("by number only here".into());
        };
        let mut c = self.0.calls.lock().unwrap();
        let before = c.len();
        c.retain(|(k, _, _)| k != n);
        if c.len() == before {
            return Err("no such call".into());
        }
        Ok(vec![("Call".into(), Field::bare(n))])
    }
}

struct Registrations(Arc<Fake>);

impl StatusSource for Registrations {
    fn group(&self) -> &'static str {
        "Registrations"
    }
    fn collect(&self) -> Vec<(String, Field)> {
        let r = self.0.registrations.lock().unwrap();
        let mut v = Vec::new();
        for (n, aor, contact) in r.iter() {
            let p = format!("Registration {n} ");
            v.push((format!("{p}Name"), Field::str(aor.as_str())));
            v.push((format!("{p}Protocol"), Field::bare("SIP")));
            v.push((format!("{p}Type"), Field::str("SIP UA")));
            v.push((format!("{p}Address"), Field::str(contact.as_str())));
            v.push((
                format!("{p}CreationTime"),
                Field::str("2026-11-24 14:00:00 UTC"),
            ));
            v.push((format!("{p}Expires"), Field::bare(3600)));
        }
        v.push(("Count".into(), Field::bare(r.len())));
        v
    }
}

struct Calls(Arc<Fake>);

impl StatusSource for Calls {
    fn group(&self) -> &'static str {
        "Calls"
    }
    fn collect(&self) -> Vec<(String, Field)> {
        let c = self.0.calls.lock().unwrap();
        let mut v = Vec::new();
        for (n, a, b) in c.iter() {
            let p = format!("Call {n} ");
            v.push((format!("{p}State"), Field::bare("Connected")));
            v.push((format!("{p}Protocol"), Field::bare("SIP")));
            v.push((format!("{p}SourceAlias"), Field::str(a.as_str())));
            v.push((format!("{p}DestinationAlias"), Field::str(b.as_str())));
            v.push((
                format!("{p}StartTime"),
                Field::str("2026-11-24 14:05:00 UTC"),
            ));
        }
        v.push(("Count".into(), Field::bare(c.len())));
        v
    }
}

fn tls() -> Arc<rustls::ServerConfig> {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap(),
    )
}

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8443".into());
    let dir = tempfile::tempdir().unwrap();
    let config = Arc::new(Config::open(&dir.path().join("config.db")).unwrap());
    let logs = dir.path().join("log");
    let events = Arc::new(EventLog::open(&logs, LogKind::Event).unwrap());
    let configlog = Arc::new(EventLog::open(&logs, LogKind::Config).unwrap());
    {
        let (e, c) = (events.clone(), configlog.clone());
        config.on_commit(move |rec| {
            for ch in &rec.changes {
                let shown = |v: &Option<String>| match (ch.secret, v) {
                    (true, _) => "***".to_string(),
                    (_, Some(v)) => v.clone(),
                    (_, None) => String::new(),
                };
                let detail = format!("{} {} -> {}", ch.path, shown(&ch.old), shown(&ch.new));
                let fields = [
                    ("Detail", detail.as_str()),
                    ("User", rec.origin.user.as_str()),
                ];
                e.event(1, "tvcs", "System Configuration Changed", &fields);
                c.event(1, "tvcs", "System Configuration Changed", &fields);
            }
        });
    }
    let alarms = Arc::new(Alarms::new(Some(events.clone())));
    let fake = Arc::new(Fake::default());
    *fake.registrations.lock().unwrap() = vec![
        (
            1,
            "alice@example.com".into(),
            "sip:alice@192.0.2.10:5060".into(),
        ),
        (
            2,
            "bob@example.com".into(),
            "sip:bob@192.0.2.11:5060".into(),
        ),
    ];
    *fake.calls.lock().unwrap() = vec![(1, "alice@example.com".into(), "bob@example.com".into())];
    let mut engine = Engine::new(
        config.clone(),
        alarms.clone(),
        Arc::new(FakeServices(fake.clone())),
    );
    engine.add_status(Arc::new(SystemUnit {
        started: Instant::now(),
        config: config.clone(),
    }));
    engine.add_status(Arc::new(ResourceUsage {
        data_dir: dir.path().to_path_buf(),
        counters: None,
    }));
    engine.add_status(Arc::new(AlarmStatus {
        alarms: alarms.clone(),
    }));
    engine.add_status(Arc::new(Registrations(fake.clone())));
    engine.add_status(Arc::new(Calls(fake.clone())));
    let engine = Arc::new(engine);
    let root = Principal::local_root("demo");
    for line in [
        format!("xConfiguration Authentication Account Admin Account 1 Password: \"{PASSWORD}\""),
        format!("xCommand AdminAccountAdd Name: \"rob\" Password: \"{PASSWORD}\" AccessLevel: ReadOnly"),
        format!("xCommand AdminAccountAdd Name: \"audrey\" Password: \"{PASSWORD}\" AccessLevel: Auditor"),
        "xConfiguration SystemUnit Name: \"demo-vcs\"".into(),
        "xCommand DomainAdd Name: \"example.com\"".into(),
        "xCommand ZoneAdd ZoneName: \"Neighbour1\" Type: Neighbor".into(),
        "xCommand SearchRuleAdd Name: \"Local\" ZoneName: \"LocalZone\"".into(),
        "xCommand SearchRuleAdd Name: \"To neighbour\" ZoneName: \"Neighbour1\"".into(),
    ] {
        let r = engine.execute(&line, &root);
        assert!(r.ok, "{line}: {}", r.text);
    }
    alarms.raise(20007, "SIP TLS DhKeySize");
    events.event(1, "tvcs", "System Start", &[("Detail", "demo")]);
    let auth = Arc::new(LocalAccounts {
        config: config.clone(),
    });
    let hook_log = events.clone();
    let running = serve_with(
        engine,
        auth,
        Options {
            https: addr.parse().unwrap(),
            http: None,
            tls: tls(),
        },
        UiOptions {
            logs: Some(logs),
            on_session_end: Some(Arc::new(move |user: &str, src: &str, why: &str| {
                hook_log.event(
                    1,
                    "tvcs",
                    "Admin Session Finish",
                    &[("User", user), ("Src", src), ("Detail", why)],
                );
            })),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    println!(
        "https://{}/ (admin, rob, audrey / {PASSWORD})",
        running.https_addr()
    );
    tokio::signal::ctrl_c().await.unwrap();
}
