//! Accept loops and connection serving.
//!
//! Each connection lives in its own task: the TLS handshake, too, so that a client that stalls
//! or sends garbage costs one task until its timeout and never holds up the accept loop or
//! anyone else's connection.

use axum::body::Body;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio_rustls::TlsAcceptor;

/// A client has this long to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// And this long to send a request's header once it started one.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// On shutdown, requests in progress get this long to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// Open connections per listener. An administration interface has few users; the cap keeps a
/// flood of idle connections from exhausting file descriptors the call services need.
const MAX_CONNECTIONS: usize = 512;

pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = Response<Body>> + Send>>;

/// Answers one request that arrived from `peer`.
pub(crate) trait Handler: Send + Sync + 'static {
    fn handle(self: Arc<Self>, req: Request<Body>, peer: SocketAddr) -> BoxFuture;
}

pub(crate) async fn accept_tls<H: Handler>(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    handler: Arc<H>,
    stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    accept(listener, stop, alive, move |tcp, peer, mut stop| {
        let acceptor = acceptor.clone();
        let handler = handler.clone();
        async move {
            let tls = tokio::select! {
                r = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)) => match r {
                    Ok(Ok(tls)) => tls,
                    // A failed or stalled handshake concerns only this client.
                    _ => return,
                },
                // Nothing is in progress yet: a shutdown need not wait for this client.
                _ = stopping(&mut stop) => return,
            };
            serve_connection(tls, peer, handler, stop).await;
        }
    })
    .await
}

pub(crate) async fn accept_plain<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    accept(listener, stop, alive, move |tcp, peer, stop| {
        serve_connection(tcp, peer, handler.clone(), stop)
    })
    .await
}

async fn accept<F, Fut>(
    listener: TcpListener,
    mut stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
    conn: F,
) where
    F: Fn(tokio::net::TcpStream, SocketAddr, watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(_) => {
                    // Out of descriptors or an aborted connection: pause briefly rather than
                    // spin, and keep serving.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stopping(&mut stop) => return,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let task = conn(tcp, peer, stop.clone());
        let alive = alive.clone();
        tokio::spawn(async move {
            task.await;
            drop(slot);
            drop(alive);
        });
    }
}

/// Resolves when the server is asked to stop (or its owner is gone).
async fn stopping(stop: &mut watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

async fn serve_connection<I, H>(
    io: I,
    peer: SocketAddr,
    handler: Arc<H>,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Handler,
{
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let fut = handler.clone().handle(req.map(Body::new), peer);
        async move { Ok::<_, Infallible>(fut.await) }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stopping(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(DRAIN_TIMEOUT, conn).await;
        }
    }
}
