//! SIP transports: UDP sockets, TCP and TLS listeners and connections.
//!
//! The transport layer moves whole messages. Streams are cut into messages by a framer supplied
//! from the SIP core; datagrams are messages as they come. Every message arrives with the flow
//! it came on, so that responses and later requests to a registered contact can reuse the same
//! connection (RFC 3261 §18.2.2, RFC 5626).

use crate::listen::{Listener, Transport};
use crate::tls::TlsTarget;
use bytes::{Bytes, BytesMut};
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Where one message ends in a stream buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A message of this many bytes is at the front.
    Complete(usize),
    /// This many bytes of CRLF keep-alive are at the front.
    KeepAlive(usize),
    Incomplete,
    /// The stream cannot be framed any more (for example a bad Content-Length).
    Invalid,
}

/// Finds the first message in a stream buffer.
pub type Framer = fn(&[u8]) -> Frame;

/// The path a message took: transport, both ends, and the connection for streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flow {
    pub transport: Transport,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// Connection number for TCP and TLS; 0 for UDP.
    pub conn: u64,
}

// Messages are nearly every event: boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Event {
    /// A message, already parsed on the receiving task (so that parsing runs beside the service
    /// loop, not in it).
    Message {
        flow: Flow,
        bytes: Bytes,
        parsed: Result<causeway_sip::Message, causeway_sip::ParseError>,
    },
    /// A stream message grew past the size limit. `head` holds what was read; the connection
    /// reads no more and should be closed once an error response has been sent.
    TooLarge {
        flow: Flow,
        head: Bytes,
    },
    /// The stream could not be framed; the connection is closed.
    Garbage {
        flow: Flow,
        bytes: Bytes,
    },
    Closed {
        flow: Flow,
    },
    /// A message sent with [`Transports::send_to_detached`] could not be delivered.
    Unreachable {
        transport: Transport,
        remote: SocketAddr,
    },
}

/// Limits that apply to every transport.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_message: usize,
    pub connect_timeout: Duration,
    /// Local ports for outgoing TCP and TLS connections.
    pub outbound_ports: (u16, u16),
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message: 32768,
            connect_timeout: Duration::from_secs(10),
            outbound_ports: (25000, 29999),
        }
    }
}

struct Conn {
    flow: Flow,
    tx: mpsc::Sender<Command>,
}

enum Command {
    Send(Bytes),
    Close,
}

struct Shared {
    events: mpsc::Sender<Event>,
    conns: Mutex<HashMap<u64, Conn>>,
    /// The newest connection to each remote address, per transport.
    by_remote: Mutex<HashMap<(Transport, SocketAddr), u64>>,
    next_conn: AtomicU64,
    next_port: AtomicU64,
    limits: Mutex<Limits>,
    framer: Framer,
    /// Outgoing TLS connections by remote address and [`TlsTarget::id`]: open ones, and those
    /// still connecting with the messages waiting for them.
    tls_out: Mutex<HashMap<(SocketAddr, String), TlsOut>>,
}

enum TlsOut {
    Open(u64),
    Connecting(Vec<Bytes>),
}

/// The running transports.
pub struct Transports {
    shared: Arc<Shared>,
    /// Each UDP socket with its bound address (asking the socket costs a system call per send).
    udp: HashMap<Listener, (Arc<UdpSocket>, SocketAddr, JoinHandle<()>)>,
    streams: HashMap<Listener, JoinHandle<()>>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    /// For outgoing TLS connections.
    client_tls: Option<Arc<crate::tls::ClientTls>>,
}

impl Transports {
    /// Transports that deliver events on `events`; `tls` serves the TLS listeners.
    pub fn new(
        framer: Framer,
        events: mpsc::Sender<Event>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Transports {
        Transports {
            shared: Arc::new(Shared {
                events,
                conns: Mutex::new(HashMap::new()),
                by_remote: Mutex::new(HashMap::new()),
                next_conn: AtomicU64::new(1),
                next_port: AtomicU64::new(0),
                limits: Mutex::new(Limits::default()),
                framer,
                tls_out: Mutex::new(HashMap::new()),
            }),
            udp: HashMap::new(),
            streams: HashMap::new(),
            tls: tls.map(tokio_rustls::TlsAcceptor::from),
            client_tls: None,
        }
    }

    /// Transports that can open TLS connections with `client` (none without it).
    pub fn with_client_tls(mut self, client: Option<Arc<crate::tls::ClientTls>>) -> Transports {
        self.client_tls = client;
        self
    }

    /// What outgoing TLS connections are made with.
    pub fn client_tls(&self) -> Option<&Arc<crate::tls::ClientTls>> {
        self.client_tls.as_ref()
    }

    pub fn set_limits(&self, limits: Limits) {
        *self.shared.limits.lock().unwrap() = limits;
    }

    /// The listeners that run now.
    pub fn active(&self) -> Vec<Listener> {
        let mut v: Vec<Listener> = self
            .udp
            .keys()
            .chain(self.streams.keys())
            .copied()
            .collect();
        v.sort();
        v
    }

    /// Starts the listeners in `wanted` that do not run and stops those that are not wanted.
    /// Returns the ones that could not start.
    pub async fn apply(&mut self, wanted: &[Listener]) -> Vec<(Listener, io::Error)> {
        self.udp.retain(|l, (_, _, task)| {
            let keep = wanted.contains(l);
            if !keep {
                task.abort();
            }
            keep
        });
        self.streams.retain(|l, task| {
            let keep = wanted.contains(l);
            if !keep {
                task.abort();
            }
            keep
        });
        let mut failed = Vec::new();
        for l in wanted {
            if self.udp.contains_key(l) || self.streams.contains_key(l) {
                continue;
            }
            let started = match l.transport {
                Transport::Udp => self.start_udp(*l).await,
                Transport::Tcp | Transport::Tls => self.start_stream(*l).await,
            };
            if let Err(e) = started {
                failed.push((*l, e));
            }
        }
        failed
    }

    async fn start_udp(&mut self, l: Listener) -> io::Result<()> {
        let sock = Arc::new(udp_socket(l.addr)?);
        let local = sock.local_addr()?;
        let shared = self.shared.clone();
        let rx = sock.clone();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            loop {
                let Ok((n, remote)) = rx.recv_from(&mut buf).await else {
                    continue;
                };
                let flow = Flow {
                    transport: Transport::Udp,
                    local,
                    remote,
                    conn: 0,
                };
                let data = &buf[..n];
                // A datagram of only whitespace is a keep-alive (RFC 5626 §3.5.1 STUN aside).
                if data.iter().all(|b| matches!(b, b'\r' | b'\n' | b' ')) {
                    continue;
                }
                let max = shared.limits.lock().unwrap().max_message;
                let event = if n > max {
                    Event::TooLarge {
                        flow,
                        head: Bytes::copy_from_slice(data),
                    }
                } else {
                    let bytes = Bytes::copy_from_slice(data);
                    let parsed = causeway_sip::Parser::default().parse_datagram(bytes.clone());
                    Event::Message {
                        flow,
                        bytes,
                        parsed,
                    }
                };
                if shared.events.send(event).await.is_err() {
                    break;
                }
            }
        });
        self.udp.insert(l, (sock, local, task));
        Ok(())
    }

    async fn start_stream(&mut self, l: Listener) -> io::Result<()> {
        let acceptor = match l.transport {
            Transport::Tls => Some(
                self.tls
                    .clone()
                    .ok_or_else(|| io::Error::other("no TLS identity is loaded"))?,
            ),
            _ => None,
        };
        let listener = TcpListener::bind(l.addr).await?;
        let local = listener.local_addr()?;
        let shared = self.shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, remote)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    match acceptor {
                        None => run_conn(shared, stream, l.transport, local, remote).await,
                        Some(a) => {
                            let Ok(Ok(tls)) =
                                tokio::time::timeout(Duration::from_secs(5), a.accept(stream))
                                    .await
                            else {
                                return;
                            };
                            run_conn(shared, tls, l.transport, local, remote).await
                        }
                    }
                });
            }
        });
        self.streams.insert(l, task);
        Ok(())
    }

    /// Sends on an existing flow (the connection a request came on, or the UDP socket).
    pub async fn send(&self, flow: &Flow, bytes: Bytes) -> io::Result<()> {
        match flow.transport {
            Transport::Udp => {
                let sock = self
                    .udp_socket(flow.local)
                    .ok_or_else(|| io::Error::other("no UDP socket for that address"))?;
                // The socket's buffer almost always has room: try the send at once, and only
                // wait for writability when it does not.
                match sock.try_send_to(&bytes, flow.remote) {
                    Ok(_) => Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        sock.send_to(&bytes, flow.remote).await.map(|_| ())
                    }
                    Err(e) => Err(e),
                }
            }
            _ => {
                let tx = {
                    let conns = self.shared.conns.lock().unwrap();
                    conns.get(&flow.conn).map(|c| c.tx.clone())
                };
                match tx {
                    // Never wait for a peer that does not read: its queue full means it is
                    // hopelessly behind, and the connection is dropped rather than the service
                    // stalled.
                    Some(tx) => match tx.try_send(Command::Send(bytes)) {
                        Ok(()) => Ok(()),
                        Err(mpsc::error::TrySendError::Full(_)) => {
                            let _ = tx.try_send(Command::Close);
                            self.shared.conns.lock().unwrap().remove(&flow.conn);
                            Err(io::Error::new(
                                io::ErrorKind::WouldBlock,
                                "the peer is not reading; connection dropped",
                            ))
                        }
                        Err(mpsc::error::TrySendError::Closed(_)) => {
                            Err(io::Error::other("connection closed"))
                        }
                    },
                    None => Err(io::Error::new(
                        io::ErrorKind::NotConnected,
                        "connection closed",
                    )),
                }
            }
        }
    }

    /// Sends to an address: over UDP from the listening socket, over TCP on the newest
    /// connection to it or a new one from the outbound port range. TLS only over an open
    /// connection: new ones need to know how to check the server
    /// ([`Transports::send_tls_detached`]).
    pub async fn send_to(
        &self,
        transport: Transport,
        remote: SocketAddr,
        bytes: Bytes,
    ) -> io::Result<Flow> {
        match transport {
            Transport::Udp => {
                let (sock, local) = self
                    .udp
                    .values()
                    .find(|(_, a, _)| a.is_ipv4() == remote.is_ipv4())
                    .map(|(s, a, _)| (s, *a))
                    .ok_or_else(|| io::Error::other("UDP is not enabled"))?;
                sock.send_to(&bytes, remote).await?;
                Ok(Flow {
                    transport,
                    local,
                    remote,
                    conn: 0,
                })
            }
            _ => {
                let existing = self
                    .shared
                    .by_remote
                    .lock()
                    .unwrap()
                    .get(&(transport, remote))
                    .copied();
                let flow = match existing.and_then(|c| self.flow_of(c)) {
                    Some(f) => f,
                    None if transport == Transport::Tcp => self.connect(remote).await?,
                    None => {
                        return Err(io::Error::new(
                            io::ErrorKind::NotConnected,
                            "no TLS connection to that address",
                        ))
                    }
                };
                self.send(&flow, bytes).await?;
                Ok(flow)
            }
        }
    }

    fn flow_of(&self, conn: u64) -> Option<Flow> {
        self.shared.conns.lock().unwrap().get(&conn).map(|c| c.flow)
    }

    fn udp_socket(&self, local: SocketAddr) -> Option<Arc<UdpSocket>> {
        self.udp
            .values()
            .find(|(_, a, _)| *a == local)
            .or_else(|| self.udp.values().next())
            .map(|(s, _, _)| s.clone())
    }

    /// Connects over TCP from a port of the outbound range.
    async fn connect(&self, remote: SocketAddr) -> io::Result<Flow> {
        connect(self.shared.clone(), remote).await
    }

    /// Like [`Transports::send_to`], but never waits for a TCP connection to be set up: when one
    /// is needed, connecting and sending happen on a task of their own, and a failure comes back
    /// as [`Event::Unreachable`]. The SIP service uses this so that one dead contact cannot hold
    /// up every other message for the connect timeout.
    pub async fn send_to_detached(
        &self,
        transport: Transport,
        remote: SocketAddr,
        bytes: Bytes,
    ) -> io::Result<()> {
        let connected = self.connected(transport, remote);
        if transport != Transport::Tcp || connected {
            return self.send_to(transport, remote, bytes).await.map(|_| ());
        }
        let shared = self.shared.clone();
        tokio::spawn(async move {
            let sent = match connect(shared.clone(), remote).await {
                Ok(flow) => {
                    let tx = shared
                        .conns
                        .lock()
                        .unwrap()
                        .get(&flow.conn)
                        .map(|c| c.tx.clone());
                    match tx {
                        Some(tx) => tx.send(Command::Send(bytes)).await.is_ok(),
                        None => false,
                    }
                }
                Err(_) => false,
            };
            if !sent {
                let _ = shared
                    .events
                    .send(Event::Unreachable { transport, remote })
                    .await;
            }
        });
        Ok(())
    }
}

impl Transports {
    /// Sends over an outgoing TLS connection that checks its server as `target` says: the
    /// open one made for the same target, or a new one from the outbound port range, set up
    /// on a task of its own. A connection or handshake that fails (a certificate that does not
    /// verify, say) comes back as [`Event::Unreachable`], once for every message that waited.
    pub fn send_tls_detached(&self, remote: SocketAddr, target: &TlsTarget, bytes: Bytes) {
        let k = (remote, target.id.clone());
        let open = {
            let mut out = self.shared.tls_out.lock().unwrap();
            match out.get_mut(&k) {
                Some(TlsOut::Open(c)) => match self.flow_of(*c) {
                    Some(flow) => Some(flow),
                    None => {
                        out.insert(k.clone(), TlsOut::Connecting(vec![bytes.clone()]));
                        None
                    }
                },
                Some(TlsOut::Connecting(waiting)) => {
                    waiting.push(bytes);
                    return;
                }
                None => {
                    out.insert(k.clone(), TlsOut::Connecting(vec![bytes.clone()]));
                    None
                }
            }
        };
        if let Some(flow) = open {
            let tx = self
                .shared
                .conns
                .lock()
                .unwrap()
                .get(&flow.conn)
                .map(|c| c.tx.clone());
            if tx.is_some_and(|tx| tx.try_send(Command::Send(bytes)).is_ok()) {
                return;
            }
            let shared = self.shared.clone();
            tokio::spawn(async move {
                let _ = shared
                    .events
                    .send(Event::Unreachable {
                        transport: Transport::Tls,
                        remote,
                    })
                    .await;
            });
            return;
        }
        let shared = self.shared.clone();
        let target = target.clone();
        tokio::spawn(async move {
            let flow = connect_tls(shared.clone(), remote, &target).await;
            let waiting = {
                let mut out = shared.tls_out.lock().unwrap();
                let waiting = match out.remove(&k) {
                    Some(TlsOut::Connecting(w)) => w,
                    _ => Vec::new(),
                };
                if let Ok(flow) = &flow {
                    out.insert(k, TlsOut::Open(flow.conn));
                }
                waiting
            };
            let tx = flow.as_ref().ok().and_then(|f| {
                shared
                    .conns
                    .lock()
                    .unwrap()
                    .get(&f.conn)
                    .map(|c| c.tx.clone())
            });
            for bytes in waiting {
                let sent = match &tx {
                    Some(tx) => tx.send(Command::Send(bytes)).await.is_ok(),
                    None => false,
                };
                if !sent {
                    let _ = shared
                        .events
                        .send(Event::Unreachable {
                            transport: Transport::Tls,
                            remote,
                        })
                        .await;
                }
            }
        });
    }
}

/// Connects over TLS from a port of the outbound range; the handshake must end within the
/// connect timeout.
async fn connect_tls(
    shared: Arc<Shared>,
    remote: SocketAddr,
    target: &TlsTarget,
) -> io::Result<Flow> {
    let limit = shared.limits.lock().unwrap().connect_timeout;
    let stream = tcp_stream(&shared, remote).await?;
    let local = stream.local_addr()?;
    let connector = tokio_rustls::TlsConnector::from(target.config.clone());
    let tls =
        match tokio::time::timeout(limit, connector.connect(target.name.clone(), stream)).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "TLS handshake timed out",
                ))
            }
        };
    let (flow, ready) = register_conn(&shared, Transport::Tls, local, remote);
    tokio::spawn(drive_conn(shared.clone(), tls, flow, ready));
    Ok(flow)
}

/// Connects over TCP from a port of the outbound range.
async fn connect(shared: Arc<Shared>, remote: SocketAddr) -> io::Result<Flow> {
    let stream = tcp_stream(&shared, remote).await?;
    let local = stream.local_addr()?;
    let (flow, ready) = register_conn(&shared, Transport::Tcp, local, remote);
    tokio::spawn(drive_conn(shared.clone(), stream, flow, ready));
    Ok(flow)
}

/// A TCP connection to `remote` from a port of the outbound range.
async fn tcp_stream(shared: &Arc<Shared>, remote: SocketAddr) -> io::Result<tokio::net::TcpStream> {
    {
        let limits = *shared.limits.lock().unwrap();
        let (lo, hi) = limits.outbound_ports;
        let span = u64::from(hi.saturating_sub(lo)) + 1;
        let mut last = io::Error::other("no free port in the outbound range");
        for _ in 0..span.min(64) {
            let port = lo + (shared.next_port.fetch_add(1, Ordering::Relaxed) % span) as u16;
            let sock = if remote.is_ipv4() {
                tokio::net::TcpSocket::new_v4()?
            } else {
                tokio::net::TcpSocket::new_v6()?
            };
            let local: SocketAddr = if remote.is_ipv4() {
                ([0, 0, 0, 0], port).into()
            } else {
                (std::net::Ipv6Addr::UNSPECIFIED, port).into()
            };
            if let Err(e) = sock.bind(local) {
                last = e;
                continue;
            }
            let stream =
                match tokio::time::timeout(limits.connect_timeout, sock.connect(remote)).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => return Err(e),
                    Err(_) => {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "connection timed out",
                        ))
                    }
                };
            let _ = stream.set_nodelay(true);
            return Ok(stream);
        }
        Err(last)
    }
}

impl Transports {
    /// Closes a stream connection (after an error response, for example).
    pub async fn close(&self, flow: &Flow) {
        let tx = self
            .shared
            .conns
            .lock()
            .unwrap()
            .get(&flow.conn)
            .map(|c| c.tx.clone());
        if let Some(tx) = tx {
            let _ = tx.send(Command::Close).await;
        }
    }

    /// Whether a connection to `remote` over `transport` is open.
    pub fn connected(&self, transport: Transport, remote: SocketAddr) -> bool {
        self.shared
            .by_remote
            .lock()
            .unwrap()
            .contains_key(&(transport, remote))
    }

    /// Open stream connections.
    pub fn connections(&self) -> Vec<Flow> {
        self.shared
            .conns
            .lock()
            .unwrap()
            .values()
            .map(|c| c.flow)
            .collect()
    }
}

/// A UDP socket with large buffers: a burst of requests (a registration storm after an outage)
/// must queue in the kernel rather than be dropped while the service catches up.
fn udp_socket(addr: SocketAddr) -> io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let sock = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    for size in [8 << 20, 4 << 20, 1 << 20] {
        if sock.set_recv_buffer_size(size).is_ok() {
            break;
        }
    }
    let _ = sock.set_send_buffer_size(4 << 20);
    sock.set_nonblocking(true)?;
    sock.bind(&addr.into())?;
    UdpSocket::from_std(sock.into())
}

fn register_conn(
    shared: &Arc<Shared>,
    transport: Transport,
    local: SocketAddr,
    remote: SocketAddr,
) -> (Flow, mpsc::Receiver<Command>) {
    let conn = shared.next_conn.fetch_add(1, Ordering::Relaxed);
    let flow = Flow {
        transport,
        local,
        remote,
        conn,
    };
    let (tx, rx) = mpsc::channel(1024);
    shared.conns.lock().unwrap().insert(conn, Conn { flow, tx });
    shared
        .by_remote
        .lock()
        .unwrap()
        .insert((transport, remote), conn);
    (flow, rx)
}

async fn run_conn<S>(
    shared: Arc<Shared>,
    stream: S,
    transport: Transport,
    local: SocketAddr,
    remote: SocketAddr,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (flow, rx) = register_conn(&shared, transport, local, remote);
    drive_conn(shared, stream, flow, rx).await
}

/// Reads messages off a connection and writes what is queued for it, until either side ends.
async fn drive_conn<S>(shared: Arc<Shared>, stream: S, flow: Flow, mut rx: mpsc::Receiver<Command>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let writer = tokio::spawn(async move {
        while let Some(cmd) = rx.recv().await {
            match cmd {
                Command::Send(b) => {
                    if wr.write_all(&b).await.is_err() {
                        break;
                    }
                }
                Command::Close => break,
            }
        }
        let _ = wr.shutdown().await;
    });
    let mut buf = BytesMut::with_capacity(8192);
    let reader_shared = shared.clone();
    let mut writer = writer;
    'read: loop {
        tokio::select! {
            _ = &mut writer => break 'read,
            n = rd.read_buf(&mut buf) => {
                match n {
                    Ok(0) | Err(_) => break 'read,
                    Ok(_) => {}
                }
            }
        }
        loop {
            match (reader_shared.framer)(&buf) {
                Frame::Complete(n) => {
                    let bytes = buf.split_to(n).freeze();
                    let max = reader_shared.limits.lock().unwrap().max_message;
                    if n > max {
                        let _ = reader_shared
                            .events
                            .send(Event::TooLarge { flow, head: bytes })
                            .await;
                        let _ = tokio::time::timeout(Duration::from_secs(5), &mut writer).await;
                        break 'read;
                    }
                    let parsed = causeway_sip::Parser::default().parse_framed(bytes.clone());
                    if reader_shared
                        .events
                        .send(Event::Message {
                            flow,
                            bytes,
                            parsed,
                        })
                        .await
                        .is_err()
                    {
                        break 'read;
                    }
                }
                Frame::KeepAlive(n) => {
                    // A double-CRLF ping gets a single-CRLF pong (RFC 5626 §4.4.1).
                    let ping = buf[..n].windows(4).any(|w| w == b"\r\n\r\n");
                    let _ = buf.split_to(n);
                    if ping {
                        let tx = reader_shared
                            .conns
                            .lock()
                            .unwrap()
                            .get(&flow.conn)
                            .map(|c| c.tx.clone());
                        if let Some(tx) = tx {
                            let _ = tx.send(Command::Send(Bytes::from_static(b"\r\n"))).await;
                        }
                    }
                }
                Frame::Incomplete => {
                    let max = reader_shared.limits.lock().unwrap().max_message;
                    if buf.len() > max {
                        let head = buf.split().freeze();
                        let _ = reader_shared
                            .events
                            .send(Event::TooLarge { flow, head })
                            .await;
                        // Read no more; wait for the close that follows the error response.
                        let _ = tokio::time::timeout(Duration::from_secs(5), &mut writer).await;
                        break 'read;
                    }
                    break;
                }
                Frame::Invalid => {
                    let bytes = buf.split().freeze();
                    let _ = reader_shared
                        .events
                        .send(Event::Garbage { flow, bytes })
                        .await;
                    let _ = tokio::time::timeout(Duration::from_secs(1), &mut writer).await;
                    break 'read;
                }
            }
        }
    }
    writer.abort();
    shared.conns.lock().unwrap().remove(&flow.conn);
    {
        let mut by_remote = shared.by_remote.lock().unwrap();
        if by_remote.get(&(flow.transport, flow.remote)) == Some(&flow.conn) {
            by_remote.remove(&(flow.transport, flow.remote));
        }
    }
    let _ = shared.events.send(Event::Closed { flow }).await;
}
