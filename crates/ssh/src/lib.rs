//! The SSH command line: `ssh admin@node 'xStatus SystemUnit'` and interactive sessions.
//!
//! Every line an operator types runs through the xAPI [`Engine`] as the principal the
//! [`Authenticator`] logged them in as, exactly as on the other surfaces. The settings that
//! govern this listener are read from the configuration as they are needed, not at start:
//! `Administration SSH Mode` on every new connection (Off refuses new connections and leaves
//! open sessions alone) and `Management Session InactivityTimeout` while a shell waits for input.
//!
//! The protocol is russh's; the host key is an Ed25519 key kept at [`Options::host_key`].

mod connection;
pub mod editor;
pub mod hostkey;
pub mod lines;
mod session;

use anyhow::Context as _;
use causeway_xapi::auth::Authenticator;
use causeway_xapi::Engine;
use connection::{Connection, Shared};
use russh::server::Handle;
use russh::{Disconnect, SshId};
use std::borrow::Cow;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use connection::MAX_FAILURES;

/// Where to listen and which host key to use.
pub struct Options {
    /// The listening address (port 0 picks a free port; see [`Running::local_addr`]).
    pub listen: SocketAddr,
    /// The host key file: an OpenSSH private key, made (Ed25519, mode 0600) when missing.
    pub host_key: PathBuf,
    /// Counts the logged-in connections open now, for the overview's session count.
    pub sessions: Arc<std::sync::atomic::AtomicUsize>,
}

/// Time from connecting to logging in, after which the connection is dropped.
const LOGIN_GRACE: Duration = Duration::from_secs(120);

/// Connections that have not logged in yet, at most. Beyond it new connections are closed at
/// once, so that a flood of half-open logins cannot starve real operators of memory or of the
/// password-hashing threads for long.
const MAX_UNAUTHENTICATED: usize = 32;

/// How long shutdown waits for connections to close after telling them to.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// A running SSH server. Dropping it stops the listener and disconnects every session; call
/// [`Running::shutdown`] to wait until they are gone.
pub struct Running {
    addr: SocketAddr,
    fingerprint: String,
    stop: watch::Sender<bool>,
    accept: Option<JoinHandle<()>>,
    /// Closes (answers `None`) once every connection task has ended.
    connections: mpsc::Receiver<()>,
}

impl Running {
    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The host key's `SHA256:…` fingerprint, as `ssh` shows it on first connection.
    pub fn host_key_fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Stops listening, disconnects every session, and returns once they are closed (or after a
    /// few seconds if a client does not answer).
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(accept) = self.accept.take() {
            let _ = accept.await;
        }
        let _ = tokio::time::timeout(CLOSE_WAIT, self.connections.recv()).await;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Loads (or makes) the host key, binds the listener and starts serving. Returns once the
/// listener is bound.
pub async fn serve(
    engine: Arc<Engine>,
    auth: Arc<dyn Authenticator>,
    opts: Options,
) -> anyhow::Result<Running> {
    let path = opts.host_key.clone();
    let key = tokio::task::spawn_blocking(move || hostkey::load_or_create(&path))
        .await
        .context("host key task failed")??;
    let fingerprint = hostkey::fingerprint(&key);
    let listener = TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("cannot listen for SSH on {}", opts.listen))?;
    let addr = listener.local_addr()?;

    let config = Arc::new(russh::server::Config {
        // No version number: it would only help someone choosing an exploit.
        server_id: SshId::Standard(Cow::Borrowed("SSH-2.0-causeway")),
        methods: connection::methods(),
        // Each failed login answers after a second (russh pads every rejection to this), but
        // the "none" request clients open with is answered at once.
        auth_rejection_time: Duration::from_secs(1),
        auth_rejection_time_initial: Some(Duration::ZERO),
        keys: vec![key],
        // Our own count (MAX_FAILURES) decides; this is only a backstop against clients that
        // keep sending requests the count does not see.
        max_auth_attempts: 10,
        // Shell inactivity is ours (it follows the configuration); before login the grace
        // period applies. Dead peers are found by keepalives.
        inactivity_timeout: None,
        keepalive_interval: Some(Duration::from_secs(60)),
        keepalive_max: 3,
        nodelay: true,
        ..Default::default()
    });

    let shared = Arc::new(Shared {
        engine,
        auth,
        sessions: opts.sessions.clone(),
    });
    let (stop, stopped) = watch::channel(false);
    let (alive, connections) = mpsc::channel(1);
    let accept = tokio::spawn(accept_loop(listener, shared, config, stopped, alive));
    Ok(Running {
        addr,
        fingerprint,
        stop,
        accept: Some(accept),
        connections,
    })
}

/// Whether new connections are allowed now.
fn ssh_enabled(engine: &Engine) -> bool {
    engine.config.snapshot().get("Administration SSH Mode") != Some("Off")
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    config: Arc<russh::server::Config>,
    mut stopped: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    let unauthenticated = Arc::new(Semaphore::new(MAX_UNAUTHENTICATED));
    loop {
        let (sock, peer) = tokio::select! {
            _ = stopping(&mut stopped) => return,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(_) => {
                    // Out of descriptors or a connection reset before accept: pause rather than
                    // spin, then carry on.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // Off: closed before a single byte is sent, so the client learns nothing, not even
        // that this is an SSH server.
        if !ssh_enabled(&shared.engine) {
            drop(sock);
            continue;
        }
        let Ok(permit) = unauthenticated.clone().try_acquire_owned() else {
            drop(sock);
            continue;
        };
        tokio::spawn(connection(
            shared.clone(),
            config.clone(),
            sock,
            peer,
            stopped.clone(),
            alive.clone(),
            permit,
        ));
    }
}

/// Runs one connection to its end: the login grace period, then the session until either side
/// closes it or the server stops.
async fn connection(
    shared: Arc<Shared>,
    config: Arc<russh::server::Config>,
    sock: TcpStream,
    peer: SocketAddr,
    mut stopped: watch::Receiver<bool>,
    _alive: mpsc::Sender<()>,
    permit: OwnedSemaphorePermit,
) {
    let deadline = Instant::now() + LOGIN_GRACE;
    let slot = Arc::new(OnceLock::new());
    let (authenticated, logged_in) = oneshot::channel();
    let handler = Connection::new(shared, peer, slot.clone(), authenticated);

    // A client that connects and never sends its version string would otherwise hold this task
    // for ever: the grace period covers the start of the protocol too.
    let session = tokio::select! {
        r = tokio::time::timeout_at(deadline, russh::server::run_stream(config, sock, handler)) => {
            match r {
                Ok(Ok(session)) => session,
                _ => return,
            }
        }
        _ = stopping(&mut stopped) => return,
    };
    let handle = session.handle();
    let _ = slot.set(handle.clone());
    tokio::pin!(session);

    tokio::select! {
        _ = &mut session => return,
        r = logged_in => {
            // An error here means the handler is gone, so the session is ending anyway.
            if r.is_err() {
                let _ = tokio::time::timeout(CLOSE_WAIT, &mut session).await;
                return;
            }
        }
        _ = tokio::time::sleep_until(deadline) => {
            hang_up(&handle, "Login time exceeded").await;
            let _ = tokio::time::timeout(CLOSE_WAIT, &mut session).await;
            return;
        }
        _ = stopping(&mut stopped) => {
            hang_up(&handle, "Server shutting down").await;
            let _ = tokio::time::timeout(CLOSE_WAIT, &mut session).await;
            return;
        }
    }
    drop(permit);

    tokio::select! {
        _ = &mut session => {}
        _ = stopping(&mut stopped) => {
            hang_up(&handle, "Server shutting down").await;
            let _ = tokio::time::timeout(CLOSE_WAIT, &mut session).await;
        }
    }
}

async fn hang_up(handle: &Handle, why: &str) {
    let _ = handle
        .disconnect(Disconnect::ByApplication, why.into(), String::new())
        .await;
}

/// Resolves once the server is asked to stop (or the [`Running`] is gone).
async fn stopping(stopped: &mut watch::Receiver<bool>) {
    // The guard `wait_for` answers with is not `Send`; it must not live across an await.
    let _ = stopped.wait_for(|s| *s).await.map(|_| ());
}
