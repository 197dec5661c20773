//! The management listeners: HTTPS (web interface and REST API) with its plain-HTTP redirect.

use crate::serve::HttpsAt;
use causeway_observe::EventLog;
use causeway_xapi::auth::Authenticator;
use causeway_xapi::Engine;
use std::net::SocketAddr;
use std::sync::Arc;

/// Where HTTPS should listen now.
fn https_addr(engine: &Engine, at: HttpsAt) -> SocketAddr {
    match at {
        HttpsAt::Fixed(a) => a,
        HttpsAt::Configured(ip) => {
            let port = engine
                .config
                .snapshot()
                .int("Management Interface Port")
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or(443);
            SocketAddr::new(ip, port)
        }
    }
}

/// Serves HTTPS at `at` and the redirect listener on `http`, moving HTTPS when the port setting
/// it follows changes. A port that cannot be bound is reported
/// and retried at the next change; the rest of the server runs on regardless.
pub async fn run_web(
    engine: Arc<Engine>,
    auth: Arc<dyn Authenticator>,
    tls: Arc<rustls::ServerConfig>,
    at: HttpsAt,
    http: Option<SocketAddr>,
    (logs, events, configlog): (std::path::PathBuf, Arc<EventLog>, Arc<EventLog>),
    ssh_sessions: Arc<std::sync::atomic::AtomicUsize>,
) {
    // A web session's end goes to both logs, as its start does.
    let session_end: causeway_web::SessionHook =
        Arc::new(move |user: &str, src: &str, why: &str| {
            let f = [
                ("Detail", why),
                ("User", user),
                ("Src", src),
                ("Type", "web"),
            ];
            events.event(1, "tvcs", "Admin Session Finish", &f);
            configlog.event(1, "tvcs", "Admin Session Finish", &f);
        });
    // One store for every listener this loop starts, so that moving the port logs nobody out.
    let store = causeway_web::SessionStore::default();
    let mut changes = engine.config.subscribe();
    loop {
        let addr = https_addr(&engine, at);
        let opts = causeway_web::Options {
            https: addr,
            http,
            tls: tls.clone(),
        };
        let ui = causeway_web::UiOptions {
            logs: Some(logs.clone()),
            on_session_end: Some(session_end.clone()),
            store: Some(store.clone()),
            other_sessions: vec![("SSH", ssh_sessions.clone())],
        };
        let running = match causeway_web::serve_with(engine.clone(), auth.clone(), opts, ui).await {
            Ok(r) => {
                say!(
                    "causeway: web interface and REST API on https://{}",
                    r.https_addr()
                );
                Some(r)
            }
            Err(e) => {
                say!("causeway: web interface and REST API not started: {e:#}");
                None
            }
        };
        loop {
            match changes.recv().await {
                Ok(_) if https_addr(&engine, at) != addr => break,
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    if https_addr(&engine, at) != addr {
                        break;
                    }
                }
                Err(_) => return,
            }
        }
        if let Some(r) = running {
            r.shutdown().await;
        }
    }
}
