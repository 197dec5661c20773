//! The HTTPS server: the web interface, the REST API under `/api/` and, when asked for, a
//! plain-HTTP listener that only sends browsers on to HTTPS.
//!
//! Everything a request does goes through the xAPI [`Engine`], as the principal the
//! [`Authenticator`] answered with, so access levels are enforced in one place for every surface.
//! The management settings (`Administration HTTP Mode`, `Administration HTTPS Mode`,
//! `Management Interface HstsMode`) are read from the current configuration on every request:
//! a change applies to the next request, without a restart.

mod api;
mod auth;
mod callusage;
mod front;
mod headers;
mod openapi;
mod redirect;
mod reply;
mod tls;
mod ui;

use anyhow::Context as _;
use causeway_xapi::auth::Authenticator;
use causeway_xapi::Engine;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use openapi::document as openapi_document;

/// Called when a web session ends, with the user, the source address and why it ended.
pub type SessionHook = Arc<dyn Fn(&str, &str, &str) + Send + Sync>;

/// Where to listen and with which certificate.
pub struct Options {
    /// The HTTPS listener (port 0 picks a free port; see [`Running::https_addr`]).
    pub https: SocketAddr,
    /// The plain-HTTP listener that redirects to HTTPS; `None` for none at all.
    pub http: Option<SocketAddr>,
    /// Certificate and protocol versions, made by the caller. ALPN is filled in here
    /// (`h2`, `http/1.1`) when the caller left it empty.
    pub tls: Arc<rustls::ServerConfig>,
}

/// What the web interface needs beyond the listeners; every field has a working default.
#[derive(Default, Clone)]
pub struct UiOptions {
    /// The directory of the event and configuration logs (`<data dir>/log`); by default the
    /// `log` directory beside the configuration store.
    pub logs: Option<PathBuf>,
    /// Called when a web session ends (logout, inactivity timeout, terminated by an
    /// administrator, account changed) with the user, the source address and the reason, so
    /// that the caller can log `Admin Session Finish`.
    pub on_session_end: Option<SessionHook>,
    /// The web sessions and the failed-login counts. Give the same store to each
    /// [`serve_with`] that replaces an earlier one (a port change), so that people stay logged
    /// in; by default every server has its own.
    pub store: Option<SessionStore>,
    /// Other administrator sessions to count on the overview, by surface (`SSH`).
    pub other_sessions: Vec<(&'static str, Arc<std::sync::atomic::AtomicUsize>)>,
}

/// Web sessions and login throttling, kept across restarts of the listeners.
#[derive(Clone, Default)]
pub struct SessionStore {
    sessions: Arc<ui::Sessions>,
    throttle: Arc<ui::Throttle>,
}

/// What every request handler shares.
pub(crate) struct Shared {
    pub engine: Arc<Engine>,
    pub auth: Arc<dyn Authenticator>,
    pub logins: auth::LoginCache,
    /// The port HTTPS really listens on, for redirects.
    pub https_port: u16,
    pub sessions: Arc<ui::Sessions>,
    pub throttle: Arc<ui::Throttle>,
    pub on_session_end: Option<SessionHook>,
    pub other_sessions: Vec<(&'static str, Arc<std::sync::atomic::AtomicUsize>)>,
    pub logs: PathBuf,
    /// Rows are added one at a time, so that two administrators adding at once do not pick the
    /// same free row.
    pub add_row: tokio::sync::Mutex<()>,
}

/// A running server. Dropping it stops the listeners and closes open connections; call
/// [`Running::shutdown`] to wait for requests in progress to finish first.
pub struct Running {
    https: SocketAddr,
    http: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    listeners: Vec<JoinHandle<()>>,
    /// Closes (returns `None`) once every connection task has ended.
    connections: mpsc::Receiver<()>,
}

impl Running {
    /// The address the HTTPS listener is bound to.
    pub fn https_addr(&self) -> SocketAddr {
        self.https
    }

    /// The address the plain-HTTP listener is bound to, if there is one.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http
    }

    /// Stops accepting connections, lets requests in progress finish (for up to 10 s), then
    /// returns.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for l in self.listeners.drain(..) {
            let _ = l.await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), self.connections.recv()).await;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Binds the listeners and starts serving, with the web interface's defaults. Returns once both
/// listeners are bound.
pub async fn serve(
    engine: Arc<Engine>,
    auth: Arc<dyn Authenticator>,
    opts: Options,
) -> anyhow::Result<Running> {
    serve_with(engine, auth, opts, UiOptions::default()).await
}

/// [`serve`] with the web interface's options.
pub async fn serve_with(
    engine: Arc<Engine>,
    auth: Arc<dyn Authenticator>,
    opts: Options,
    ui_opts: UiOptions,
) -> anyhow::Result<Running> {
    let https = TcpListener::bind(opts.https)
        .await
        .with_context(|| format!("cannot listen for HTTPS on {}", opts.https))?;
    let https_addr = https.local_addr()?;
    let http = match opts.http {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen for HTTP on {addr}"))?,
        ),
        None => None,
    };
    let http_addr = match &http {
        Some(l) => Some(l.local_addr()?),
        None => None,
    };

    let mut tls = (*opts.tls).clone();
    if tls.alpn_protocols.is_empty() {
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    }

    let logs = ui_opts
        .logs
        .unwrap_or_else(|| engine.config.data_dir().join("log"));
    let store = ui_opts.store.unwrap_or_default();
    let shared = Arc::new(Shared {
        engine,
        auth,
        logins: auth::LoginCache::new(),
        https_port: https_addr.port(),
        sessions: store.sessions,
        throttle: store.throttle,
        on_session_end: ui_opts.on_session_end,
        other_sessions: ui_opts.other_sessions,
        logs,
        add_row: tokio::sync::Mutex::new(()),
    });
    ui::spawn_sweeper(Arc::downgrade(&shared));
    let (stop, stopped) = watch::channel(false);
    let (alive, connections) = mpsc::channel(1);

    let mut listeners = Vec::new();
    let app = front::App::new(shared.clone());
    listeners.push(tokio::spawn(tls::accept_tls(
        https,
        tokio_rustls::TlsAcceptor::from(Arc::new(tls)),
        app,
        stopped.clone(),
        alive.clone(),
    )));
    if let Some(http) = http {
        listeners.push(tokio::spawn(tls::accept_plain(
            http,
            redirect::Redirect::new(shared),
            stopped,
            alive,
        )));
    }

    Ok(Running {
        https: https_addr,
        http: http_addr,
        stop,
        listeners,
        connections,
    })
}
