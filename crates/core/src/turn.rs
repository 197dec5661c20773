//! The TURN service: sockets around the sans-IO server of `causeway_turn`.
//!
//! The service runs on a thread of its own with a single-threaded runtime. One task reads the
//! UDP listener, one per TCP connection reads its stream, one per relay socket reads what
//! peers send (or, for a TCP relay, accepts their connections), and one runs the timers. A TCP
//! relay's data connection, once bound to its peer connection, is copied by its own task
//! without the server. They share the server behind a mutex that is never
//! held across an await: each batch of datagrams is handled and answered (non-blocking) under
//! one short lock, which only the status ever contends for. The service follows the
//! configuration: it runs while `Traversal Server TURN Mode` is On on an Edge node, and any
//! change to its settings restarts it (the reference applies TURN settings when the service
//! restarts).

use causeway_config::{Config, Snapshot};
use causeway_observe::{Alarms, EventLog};
use causeway_stun::{method, ChannelData};
use causeway_turn::{timers as turn_timers, Event, FiveTuple, Output, Relays, Server, Transport};
use causeway_xapi::{Field, StatusSource};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};
use tokio::sync::{oneshot, Notify};

mod batch;
use batch::{RecvBatch, SendBatch};
use tokio::task::JoinHandle;

/// The alarm raised while every relay the server may hand out is in use.
const CAPACITY_ALARM: u32 = 30024;
/// The warning raised while nine tenths of them are.
const NEAR_CAPACITY_ALARM: u32 = 30005;
/// Allocations at most on one node (the reference's figure for small and medium systems).
const MAX_ALLOCATIONS: usize = 1800;
/// Bytes queued for one TCP client before more are dropped.
const TCP_QUEUE: usize = 256 * 1024;

/// What the running service is and shows.
#[derive(Default)]
pub struct Shared {
    /// The configuration revision the service last applied.
    pub applied: AtomicU64,
    running: Mutex<Option<Running>>,
    /// Why the service is not running, when it is not.
    stopped_because: Mutex<String>,
}

struct Running {
    settings: Settings,
    core: Arc<Mutex<Core>>,
    /// Ends the service's thread, and with it every task and socket of the service.
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let mut core = lock(&self.core);
        let Core { server, relays, .. } = &mut *core;
        server.clear(relays);
    }
}

fn lock(core: &Mutex<Core>) -> std::sync::MutexGuard<'_, Core> {
    core.lock().unwrap_or_else(|p| p.into_inner())
}

/// The settings the service runs with; a change to any of them restarts it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Settings {
    listen: SocketAddr,
    udp: bool,
    tcp: bool,
    realm: String,
    authenticate: bool,
    relay_ip: IpAddr,
    /// LAN 1's IPv6 address, for IPv6 relays (RFC 6156).
    relay_v6: Option<Ipv6Addr>,
    /// LAN 1's public address when it is behind a static NAT: what clients are told.
    relay_nat: Option<Ipv4Addr>,
    ports: (u16, u16),
    /// The DSCP of what the service sends: relayed media is of no type the node can tell, so
    /// it is marked as video, as the reference marks media it cannot identify.
    dscp: u8,
}

impl Settings {
    /// The settings, or why the service does not run.
    fn of(snap: &Snapshot) -> Result<Settings, String> {
        if snap.get("Traversal Server TURN Mode") != Some("On") {
            return Err("Traversal Server TURN Mode is Off".into());
        }
        if snap.get("SystemUnit Type") != Some("Edge") {
            return Err("the TURN server runs on an Edge node only (SystemUnit Type)".into());
        }
        let get = |leaf: &str| {
            snap.get(&format!("Traversal Server TURN {leaf}"))
                .unwrap_or("")
        };
        let port = |leaf: &str, default: u16| get(leaf).parse().unwrap_or(default);
        let ip = crate::listen::bind_address(snap);
        let mode = get("ProtocolMode");
        Ok(Settings {
            listen: SocketAddr::new(ip, port("Port", 3478)),
            udp: mode != "TCP",
            tcp: mode != "UDP",
            realm: get("Authentication Realm").to_string(),
            authenticate: get("Authentication Mode") != "Off",
            relay_ip: ip,
            relay_v6: snap
                .get("Ethernet 1 IP V6 Address")
                .and_then(|a| a.trim().parse::<Ipv6Addr>().ok()),
            relay_nat: (snap.get("Ethernet 1 IP V4 StaticNAT Mode") == Some("On"))
                .then(|| snap.get("Ethernet 1 IP V4 StaticNAT Address"))
                .flatten()
                .and_then(|a| a.trim().parse::<Ipv4Addr>().ok()),
            ports: (
                port("Media Port Start", 60000),
                port("Media Port End", 61799),
            ),
            dscp: snap
                .get("QoS Video")
                .and_then(|v| v.parse().ok())
                .unwrap_or(34),
        })
    }

    fn capacity(&self) -> usize {
        let ports = usize::from(self.ports.1.saturating_sub(self.ports.0)) + 1;
        ports.min(MAX_ALLOCATIONS)
    }
}

struct Core {
    server: Server,
    relays: RelaySockets,
    udp: Option<Arc<UdpSocket>>,
    /// Where to write to each TCP client.
    tcp: HashMap<SocketAddr, Arc<TcpOut>>,
    /// What this batch sends to UDP clients (from the listener) and to peers (from relays).
    to_clients: SendBatch,
    to_peers: SendBatch,
    /// Wakes the task that sends what relay readers queued for clients (see [`flush_later`]).
    flusher: Arc<Notify>,
    log: Arc<EventLog>,
    alarms: Option<Arc<Alarms>>,
    credential_generation: u64,
}

/// What is waiting to be written to one TCP client: one buffer that frames are appended to,
/// swapped with the writer's so that neither side allocates per frame.
#[derive(Default)]
struct TcpOut {
    queue: Mutex<Vec<u8>>,
    ready: Notify,
    /// No more is coming: the writer stops once the queue is written.
    closed: std::sync::atomic::AtomicBool,
}

impl TcpOut {
    /// Queues `bytes`, or drops them when the client is too far behind.
    fn push(&self, bytes: &[u8]) {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if q.len() + bytes.len() <= TCP_QUEUE {
            q.extend_from_slice(bytes);
            self.ready.notify_one();
        }
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.ready.notify_one();
    }

    /// Writes what is queued until closed; the stream back when all went out.
    async fn write(
        self: Arc<TcpOut>,
        mut wr: tokio::net::tcp::OwnedWriteHalf,
    ) -> Option<tokio::net::tcp::OwnedWriteHalf> {
        let mut spare = Vec::with_capacity(4096);
        loop {
            std::mem::swap(
                &mut *self.queue.lock().unwrap_or_else(|p| p.into_inner()),
                &mut spare,
            );
            if spare.is_empty() {
                if self.closed.load(Ordering::Acquire) {
                    return Some(wr);
                }
                // A notification sent since the swap is kept for this wait.
                self.ready.notified().await;
                continue;
            }
            wr.write_all(&spare).await.ok()?;
            spare.clear();
        }
    }
}

impl Core {
    /// Sends what the batch produced, then logs what the server reported.
    fn finish(&mut self) {
        let Core {
            udp,
            relays,
            to_clients,
            to_peers,
            ..
        } = self;
        if !to_clients.is_empty() {
            to_clients.flush(|_| udp.as_deref());
        }
        if !to_peers.is_empty() {
            to_peers.flush(|via| match relays.sockets.get(via) {
                Some(Relay::Udp(sock, _)) => Some(&**sock),
                _ => None,
            });
        }
        self.drain_events();
    }

    /// Logs what the server reported, and raises or lowers the capacity alarm.
    fn drain_events(&mut self) {
        let events: Vec<Event> = self.server.events().collect();
        for e in events {
            match e {
                Event::Allocated {
                    tuple,
                    relay,
                    username,
                } => self.relay_event("Relay Allocated", &tuple, &relay, &username),
                Event::Deleted {
                    tuple,
                    relay,
                    username,
                } => self.relay_event("Relay Deleted", &tuple, &relay, &username),
                Event::Expired {
                    tuple,
                    relay,
                    username,
                } => self.relay_event("Relay Expired", &tuple, &relay, &username),
                Event::Success { tuple, method } => self.response_event(&tuple, method, None),
                Event::Error {
                    tuple,
                    method,
                    code,
                } => self.response_event(&tuple, method, Some(code)),
                Event::CapacityReached => {
                    if let Some(a) = &self.alarms {
                        a.raise(
                            CAPACITY_ALARM,
                            "every TURN relay is in use; new allocations are refused",
                        );
                    }
                }
                Event::CapacityAvailable => {
                    if let Some(a) = &self.alarms {
                        a.lower(CAPACITY_ALARM);
                    }
                }
                Event::CapacityNear => {
                    if let Some(a) = &self.alarms {
                        a.raise(
                            NEAR_CAPACITY_ALARM,
                            &format!(
                                "TURN relays in use have reached {}% of what this node can hold",
                                causeway_turn::NEAR_CAPACITY
                            ),
                        );
                    }
                }
                Event::CapacityNotNear => {
                    if let Some(a) = &self.alarms {
                        a.lower(NEAR_CAPACITY_ALARM);
                    }
                }
            }
        }
    }

    /// A level-3 event for an answer: a success, or an error with its code.
    fn response_event(&self, tuple: &FiveTuple, method: u16, code: Option<u16>) {
        // Formatting costs more than the check: most nodes log below level 3.
        if !self.log.enabled(3) {
            return;
        }
        let (ip, port) = (
            tuple.client.ip().to_string(),
            tuple.client.port().to_string(),
        );
        let code = code.map(|c| c.to_string());
        let mut fields = vec![
            ("Protocol", tuple.transport.name()),
            ("Dst-ip", ip.as_str()),
            ("Dst-port", port.as_str()),
            ("Method", method_name(method)),
        ];
        let event = match &code {
            Some(c) => {
                fields.push(("Response-code", c.as_str()));
                "Error Response Sent"
            }
            None => "Success Response Sent",
        };
        self.log.event(3, "tvcs", event, &fields);
    }

    fn relay_event(&self, event: &str, tuple: &FiveTuple, relay: &SocketAddr, user: &str) {
        self.log.event(
            2,
            "tvcs",
            event,
            &[
                ("Protocol", tuple.transport.name()),
                ("Src-ip", &tuple.client.ip().to_string()),
                ("Src-port", &tuple.client.port().to_string()),
                ("Relay", &relay.to_string()),
                ("User", user),
            ],
        );
    }
}

fn method_name(m: u16) -> &'static str {
    match m {
        method::BINDING => "Binding",
        method::ALLOCATE => "Allocate",
        method::REFRESH => "Refresh",
        method::CREATE_PERMISSION => "CreatePermission",
        method::CHANNEL_BIND => "ChannelBind",
        method::CONNECT => "Connect",
        method::CONNECTION_BIND => "ConnectionBind",
        _ => "Unknown",
    }
}

/// The relay sockets: UDP sockets on ports of the relay range, each with a task that reads
/// what peers send to it, and TCP relays (RFC 6062) with their peer connections.
struct RelaySockets {
    range: (u16, u16),
    /// Where the search for a free port starts next, so that ports are reused last.
    next: u16,
    /// A port is used by one relay at most, UDP or TCP, so that a relay address names one.
    sockets: HashMap<SocketAddr, Relay>,
    connections: HashMap<u32, PeerConnection>,
    /// Data connections just bound by a ConnectionBind (client address → connection), for
    /// their reading task to pick up.
    binds: HashMap<SocketAddr, u32>,
    /// The DSCP relays mark what they send with.
    dscp: u8,
    core: Weak<Mutex<Core>>,
}

enum Relay {
    /// The socket, and the task that reads it.
    Udp(Arc<UdpSocket>, JoinHandle<()>),
    /// The task that accepts peers' connections on the listening socket.
    Tcp(JoinHandle<()>),
}

impl Drop for Relay {
    fn drop(&mut self) {
        match self {
            Relay::Udp(_, task) | Relay::Tcp(task) => task.abort(),
        }
    }
}

/// A TCP relay's connection to a peer.
enum PeerConnection {
    /// Being made for a Connect; aborted if the core closes it first.
    Connecting(JoinHandle<()>),
    /// Made, and waiting for the client's data connection.
    Ready(TcpStream),
    /// Being copied to and from the client's data connection, until this is dropped.
    Bound { _stop: oneshot::Sender<()> },
}

/// The address a relay of `like`'s family should have for `client`: the one this host sends
/// from towards the client, or, for a client of the other family, towards the wider world.
fn relay_address(like: &SocketAddr, client: &SocketAddr) -> Option<IpAddr> {
    if like.is_ipv4() == client.is_ipv4() {
        return route_to(client);
    }
    // No packet is sent: these only pick the interface of the default route.
    let world: SocketAddr = if like.is_ipv4() {
        ([198, 51, 100, 1], 9).into()
    } else {
        (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), 9).into()
    };
    route_to(&world)
}

/// `like`'s address, or when that is unspecified, the one [`relay_address`] finds.
fn relay_ip(like: &SocketAddr, client: &SocketAddr) -> Option<IpAddr> {
    if like.ip().is_unspecified() {
        relay_address(like, client)
    } else {
        Some(like.ip())
    }
}

/// The address this host sends from towards `to` (no packet is sent).
fn route_to(to: &SocketAddr) -> Option<IpAddr> {
    let any: SocketAddr = match to {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let s = std::net::UdpSocket::bind(any).ok()?;
    s.connect(to).ok()?;
    Some(s.local_addr().ok()?.ip())
}

impl RelaySockets {
    /// Tries the ports of the range from where the last search ended, each not used by a relay
    /// already (and even when `even`), until `bind` opens one at `ip`.
    fn scan(
        &mut self,
        ip: IpAddr,
        even: bool,
        mut bind: impl FnMut(SocketAddr) -> Option<Relay>,
    ) -> Option<SocketAddr> {
        let (lo, hi) = self.range;
        let count = u32::from(hi.saturating_sub(lo)) + 1;
        for i in 0..count {
            let port = lo + ((u32::from(self.next.saturating_sub(lo)) + i) % count) as u16;
            let addr = SocketAddr::new(ip, port);
            if (even && !port.is_multiple_of(2)) || self.sockets.contains_key(&addr) {
                continue;
            }
            if let Some(relay) = bind(addr) {
                self.next = if port == hi { lo } else { port + 1 };
                self.sockets.insert(addr, relay);
                return Some(addr);
            }
        }
        None
    }
}

/// Socket buffers of the TURN port and of each relay: media comes in bursts, and the kernel's
/// default (about 200 KiB) drops them before the thread comes round. The kernel holds them to
/// its own maximum (`net.core.rmem_max`), and uses what is queued, not what is allowed.
const LISTENER_BUFFER: usize = 4 << 20;
const RELAY_BUFFER: usize = 1 << 20;

fn set_buffers(sock: &impl std::os::fd::AsFd, size: usize) {
    let s = socket2::SockRef::from(sock);
    let _ = s.set_recv_buffer_size(size);
    let _ = s.set_send_buffer_size(size);
}

/// Marks what `sock` sends with `dscp` (in the IPv4 type of service or the IPv6 traffic
/// class, whose upper six bits it is).
fn mark(sock: &impl std::os::fd::AsFd, v6: bool, dscp: u8) {
    use std::os::fd::AsRawFd;
    let value = libc::c_int::from(dscp) << 2;
    let (level, name) = if v6 {
        (libc::IPPROTO_IPV6, libc::IPV6_TCLASS)
    } else {
        (libc::IPPROTO_IP, libc::IP_TOS)
    };
    // SAFETY: an int option, passed with its size, on a socket the caller owns.
    unsafe {
        libc::setsockopt(
            sock.as_fd().as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// A UDP relay socket at `addr` with its reading task.
fn udp_relay(addr: SocketAddr, core: &Weak<Mutex<Core>>, dscp: u8) -> Option<Relay> {
    let std_sock = std::net::UdpSocket::bind(addr).ok()?;
    std_sock.set_nonblocking(true).ok()?;
    set_buffers(&std_sock, RELAY_BUFFER);
    mark(&std_sock, addr.is_ipv6(), dscp);
    let sock = Arc::new(UdpSocket::from_std(std_sock).ok()?);
    let task = tokio::spawn(read_relay(sock.clone(), addr, core.clone()));
    Some(Relay::Udp(sock, task))
}

/// A TCP socket at `addr` that other sockets of the relay may share: the relay listens on it,
/// and its connections to peers leave from it (RFC 6062 §5.2).
fn shared_tcp_socket(addr: SocketAddr, dscp: u8) -> std::io::Result<TcpSocket> {
    let sock = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // Connections accepted on it take its marking with them.
    mark(&sock, addr.is_ipv6(), dscp);
    sock.set_reuseaddr(true)?;
    sock.set_reuseport(true)?;
    sock.bind(addr)?;
    Ok(sock)
}

/// A listening TCP relay at `addr` with its accepting task.
fn tcp_relay(addr: SocketAddr, core: &Weak<Mutex<Core>>, dscp: u8) -> Option<Relay> {
    let listener = shared_tcp_socket(addr, dscp).ok()?.listen(64).ok()?;
    Some(Relay::Tcp(tokio::spawn(accept_peers(
        listener,
        addr,
        core.clone(),
    ))))
}

impl Relays for RelaySockets {
    fn open(&mut self, like: &SocketAddr, client: &SocketAddr, even: bool) -> Option<SocketAddr> {
        let ip = relay_ip(like, client)?;
        let (core, dscp) = (self.core.clone(), self.dscp);
        self.scan(ip, even, |addr| udp_relay(addr, &core, dscp))
    }

    fn open_at(&mut self, addr: SocketAddr) -> bool {
        let (lo, hi) = self.range;
        if !(lo..=hi).contains(&addr.port()) || self.sockets.contains_key(&addr) {
            return false;
        }
        match udp_relay(addr, &self.core, self.dscp) {
            Some(relay) => {
                self.sockets.insert(addr, relay);
                true
            }
            None => false,
        }
    }

    fn close(&mut self, relay: SocketAddr) {
        self.sockets.remove(&relay);
    }

    fn open_tcp(&mut self, like: &SocketAddr, client: &SocketAddr) -> Option<SocketAddr> {
        let ip = relay_ip(like, client)?;
        let (core, dscp) = (self.core.clone(), self.dscp);
        self.scan(ip, false, |addr| tcp_relay(addr, &core, dscp))
    }

    fn connect(&mut self, id: u32, relay: SocketAddr, peer: SocketAddr) {
        let task = tokio::spawn(connect_peer(id, relay, peer, self.dscp, self.core.clone()));
        self.connections
            .insert(id, PeerConnection::Connecting(task));
    }

    fn bind(&mut self, id: u32, data: FiveTuple) {
        self.binds.insert(data.client, id);
    }

    fn close_connection(&mut self, id: u32) {
        if let Some(PeerConnection::Connecting(task)) = self.connections.remove(&id) {
            task.abort();
        }
    }
}

/// Makes connection `id` from TCP relay `relay` to `peer` for a Connect, and tells the server
/// how it went; a peer silent for as long as a connection may wait for its bind has failed.
async fn connect_peer(
    id: u32,
    relay: SocketAddr,
    peer: SocketAddr,
    dscp: u8,
    core: Weak<Mutex<Core>>,
) {
    let attempt = async { shared_tcp_socket(relay, dscp)?.connect(peer).await };
    let stream = tokio::time::timeout(turn_timers::CONNECTION_BIND, attempt)
        .await
        .ok()
        .and_then(Result::ok);
    let Some(core) = core.upgrade() else {
        return;
    };
    let mut guard = lock(&core);
    let c = &mut *guard;
    let ok = stream.is_some();
    // Closed by the core meanwhile: its entry is gone, and the stream goes with this task.
    if !matches!(
        c.relays.connections.get(&id),
        Some(PeerConnection::Connecting(_))
    ) {
        return;
    }
    match stream {
        Some(s) => {
            let _ = s.set_nodelay(true);
            c.relays.connections.insert(id, PeerConnection::Ready(s));
        }
        None => {
            c.relays.connections.remove(&id);
        }
    }
    if let Some(Output::ToClient { tuple, bytes }) =
        c.server.handle_connected(Instant::now(), id, ok)
    {
        send_to_client(&mut c.to_clients, &c.tcp, &tuple, bytes);
    }
    c.finish();
}

/// Accepts peers' connections to a TCP relay: each is offered to the client, or closed when
/// the relay has no permission for the peer.
async fn accept_peers(listener: TcpListener, relay: SocketAddr, core: Weak<Mutex<Core>>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let Some(core) = core.upgrade() else {
            return;
        };
        let mut guard = lock(&core);
        let c = &mut *guard;
        if let Some((id, Output::ToClient { tuple, bytes })) =
            c.server.handle_peer_connection(Instant::now(), relay, peer)
        {
            send_to_client(&mut c.to_clients, &c.tcp, &tuple, bytes);
            let _ = stream.set_nodelay(true);
            c.relays
                .connections
                .insert(id, PeerConnection::Ready(stream));
        }
        c.finish();
    }
}

thread_local! {
    /// The receive buffers every reading task of the service's thread takes turns with.
    static RECEIVED: std::cell::RefCell<RecvBatch> = std::cell::RefCell::new(RecvBatch::new());
}

/// Reads one relay socket: each datagram from a peer goes to the client that owns the relay.
async fn read_relay(sock: Arc<UdpSocket>, relay: SocketAddr, core: Weak<Mutex<Core>>) {
    loop {
        if sock.readable().await.is_err() {
            continue;
        }
        let Some(core) = core.upgrade() else {
            return;
        };
        RECEIVED.with_borrow_mut(|batch| {
            if batch.recv(&sock).is_err() {
                return;
            }
            let mut guard = lock(&core);
            let c = &mut *guard;
            let now = Instant::now();
            for (data, peer) in batch.iter() {
                if let Some((tuple, bytes)) = c.server.handle_peer(now, relay, peer, data) {
                    send_to_client(&mut c.to_clients, &c.tcp, &tuple, bytes);
                }
            }
            c.flusher.notify_one();
        });
        // Readiness and non-blocking reads cost nothing of tokio's task budget, so a socket
        // that never runs dry would keep the thread: give the others their turn.
        tokio::task::yield_now().await;
    }
}

/// Sends what the relay readers queued for clients. Each relay socket has its reader, and
/// media arrives on many at once; the readers woken together all run before this task, which
/// they wake, so their packets leave the listener in one call rather than one each.
async fn flush_later(core: Arc<Mutex<Core>>, flusher: Arc<Notify>) {
    loop {
        flusher.notified().await;
        lock(&core).finish();
    }
}

/// Queues a message for a client: UDP ones go out with the batch, TCP ones to the client's
/// writer. Nothing waits: a full socket or queue drops the packet, as a router would.
fn send_to_client(
    to_clients: &mut SendBatch,
    tcp: &HashMap<SocketAddr, Arc<TcpOut>>,
    tuple: &FiveTuple,
    bytes: &[u8],
) {
    match tuple.transport {
        Transport::Udp => to_clients.push(tuple.server, bytes, tuple.client),
        Transport::Tcp | Transport::Tls => {
            if let Some(out) = tcp.get(&tuple.client) {
                out.push(bytes);
            }
        }
    }
}

/// What one message from a client leads to: an answer for the client, or data for a peer.
fn client_message(c: &mut Core, now: Instant, tuple: FiveTuple, bytes: &[u8]) {
    let out = c.server.handle_client(now, tuple, bytes, &mut c.relays);
    match out {
        Some(Output::ToClient { tuple, bytes }) => {
            send_to_client(&mut c.to_clients, &c.tcp, &tuple, bytes)
        }
        Some(Output::ToPeer { relay, peer, data }) => c.to_peers.push(relay, data, peer),
        None => {}
    }
}

async fn read_udp(sock: Arc<UdpSocket>, core: Arc<Mutex<Core>>) {
    let local = sock
        .local_addr()
        .unwrap_or_else(|_| ([0, 0, 0, 0], 0).into());
    loop {
        if sock.readable().await.is_err() {
            continue;
        }
        RECEIVED.with_borrow_mut(|batch| {
            if batch.recv(&sock).is_err() {
                return;
            }
            let mut guard = lock(&core);
            let now = Instant::now();
            for (data, from) in batch.iter() {
                let tuple = FiveTuple {
                    client: from,
                    server: local,
                    transport: Transport::Udp,
                };
                client_message(&mut guard, now, tuple, data);
            }
            guard.finish();
        });
        // As for the relays: a busy TURN port must not starve them, nor hold back the
        // closing of the relays its clients let go (aborted tasks are dropped when they run).
        tokio::task::yield_now().await;
    }
}

async fn accept_tcp(listener: TcpListener, core: Arc<Mutex<Core>>) {
    loop {
        let Ok((stream, from)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(tcp_client(stream, from, core.clone()));
    }
}

/// How long the message at the head of a stream is: a STUN message or ChannelData; `None`
/// until its header has arrived, `Some(0)` for bytes that are neither.
fn stream_frame(buf: &[u8]) -> Option<usize> {
    match causeway_stun::kind(*buf.first()?) {
        causeway_stun::Kind::Stun => causeway_stun::frame_len(buf),
        causeway_stun::Kind::ChannelData => ChannelData::frame_len(buf),
        causeway_stun::Kind::Other => Some(0),
    }
}

/// One TCP client: frames in, answers and relayed data out, and its allocation released when
/// the connection ends. A connection that a ConnectionBind makes a data connection leaves the
/// server and is copied to its peer connection.
async fn tcp_client(stream: TcpStream, from: SocketAddr, core: Arc<Mutex<Core>>) {
    let local = stream
        .local_addr()
        .unwrap_or_else(|_| ([0, 0, 0, 0], 0).into());
    let tuple = FiveTuple {
        client: from,
        server: local,
        transport: Transport::Tcp,
    };
    let (mut rd, wr) = stream.into_split();
    let out = Arc::new(TcpOut::default());
    lock(&core).tcp.insert(from, out.clone());
    let writer = tokio::spawn(out.clone().write(wr));
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 65536];
    let mut bound = None;
    'read: loop {
        match rd.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        loop {
            match stream_frame(&buf) {
                None => break,
                // Neither STUN nor ChannelData: the stream cannot be followed any more.
                Some(0) => break 'read,
                Some(len) if buf.len() >= len => {
                    let mut guard = lock(&core);
                    let c = &mut *guard;
                    client_message(c, Instant::now(), tuple, &buf[..len]);
                    c.finish();
                    buf.drain(..len);
                    if let Some(id) = c.relays.binds.remove(&from) {
                        let (stop, stopped) = oneshot::channel();
                        let peer = match c
                            .relays
                            .connections
                            .insert(id, PeerConnection::Bound { _stop: stop })
                        {
                            Some(PeerConnection::Ready(p)) => Some(p),
                            _ => None,
                        };
                        c.tcp.remove(&from);
                        out.close();
                        bound = Some((id, peer, stopped));
                        break 'read;
                    }
                }
                Some(_) => break,
            }
        }
    }
    if let Some((id, peer, stopped)) = bound {
        // The ConnectionBind's answer is written before the first byte of data.
        if let (Ok(Some(wr)), Some(peer)) = (writer.await, peer) {
            if let Ok(client) = rd.reunite(wr) {
                let (to_peer, to_client) = copy_pair(client, peer, buf, stopped).await;
                let mut guard = lock(&core);
                let c = &mut *guard;
                c.relays.connections.remove(&id);
                c.server.connection_closed(id, to_peer, to_client);
                return;
            }
        }
        let mut guard = lock(&core);
        guard.relays.connections.remove(&id);
        guard.server.connection_closed(id, 0, 0);
        return;
    }
    writer.abort();
    let mut guard = lock(&core);
    let c = &mut *guard;
    c.tcp.remove(&from);
    c.server.release(&tuple, &mut c.relays);
    c.finish();
}

/// Copies between a client's data connection and its peer connection until either closes or
/// `stop` says the relay is gone; the bytes each way (to the peer, to the client). `early` is
/// what the client sent right behind its ConnectionBind.
async fn copy_pair(
    mut client: TcpStream,
    mut peer: TcpStream,
    early: Vec<u8>,
    stop: oneshot::Receiver<()>,
) -> (u64, u64) {
    let copy = async {
        peer.write_all(&early).await?;
        tokio::io::copy_bidirectional(&mut client, &mut peer).await
    };
    tokio::select! {
        r = copy => r.map(|(up, down)| (up + early.len() as u64, down)).unwrap_or((0, 0)),
        _ = stop => (0, 0),
    }
}

/// Expires allocations on time, and follows changes to the credential database.
async fn timers(core: Arc<Mutex<Core>>, config: Arc<Config>) {
    loop {
        let wait = {
            let c = lock(&core);
            c.server
                .poll_timeout()
                .map(|t| t.saturating_duration_since(Instant::now()))
                .unwrap_or(Duration::from_secs(1))
                .min(Duration::from_secs(1))
        };
        tokio::time::sleep(wait).await;
        let generation = config.credential_generation();
        let stale = lock(&core).credential_generation != generation;
        if stale {
            let creds = credentials(&config);
            let mut c = lock(&core);
            c.server
                .set_credentials(creds.iter().map(|(u, p)| (u.as_str(), p.as_str())));
            c.credential_generation = generation;
        }
        let mut guard = lock(&core);
        let c = &mut *guard;
        c.server.handle_timeout(Instant::now(), &mut c.relays);
        c.finish();
    }
}

/// The local authentication database, read off the server's lock.
fn credentials(config: &Config) -> Vec<(String, String)> {
    config
        .credential_names()
        .into_iter()
        .filter_map(|n| config.credential_password(&n).map(|p| (n, p)))
        .collect()
}

fn random_secret() -> [u8; 32] {
    use ring::rand::SecureRandom;
    let mut s = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut s)
        .expect("the system random number generator works");
    s
}

/// Starts the sockets for `settings`; what went wrong when they cannot be opened.
async fn start(
    settings: &Settings,
    config: &Arc<Config>,
    log: &Arc<EventLog>,
    alarms: &Option<Arc<Alarms>>,
) -> Result<Running, String> {
    let now = Instant::now();
    let relay_v4 = settings.relay_ip.is_ipv4().then_some(settings.relay_ip);
    // IPv6 relays at LAN 1's IPv6 address, or where the host's IPv6 route leads.
    let relay_v6 = Some(IpAddr::V6(
        settings.relay_v6.unwrap_or(Ipv6Addr::UNSPECIFIED),
    ));
    let mut server = Server::new(
        causeway_turn::Config {
            realm: settings.realm.clone(),
            authenticate: settings.authenticate,
            capacity: settings.capacity(),
            relay_v4: relay_v4.or(Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED))),
            relay_v6,
            relay_nat_v4: settings.relay_nat.map(IpAddr::V4),
            software: Some(format!("causeway {}", env!("CARGO_PKG_VERSION"))),
        },
        &random_secret(),
        now,
    );
    let creds = credentials(config);
    server.set_credentials(creds.iter().map(|(u, p)| (u.as_str(), p.as_str())));
    // The sockets are bound here, so that a port in use is reported at once, then handed to
    // the service's own runtime.
    let udp = if settings.udp {
        let s = std::net::UdpSocket::bind(settings.listen)
            .and_then(|s| s.set_nonblocking(true).map(|_| s))
            .map_err(|e| format!("cannot listen for TURN on UDP {}: {e}", settings.listen))?;
        set_buffers(&s, LISTENER_BUFFER);
        mark(&s, settings.listen.is_ipv6(), settings.dscp);
        Some(s)
    } else {
        None
    };
    let tcp = if settings.tcp {
        let l = std::net::TcpListener::bind(settings.listen)
            .and_then(|l| l.set_nonblocking(true).map(|_| l))
            .map_err(|e| format!("cannot listen for TURN on TCP {}: {e}", settings.listen))?;
        mark(&l, settings.listen.is_ipv6(), settings.dscp);
        Some(l)
    } else {
        None
    };
    // One thread of its own: every packet is handled where it was read, without waking another
    // thread or waiting for a lock held elsewhere.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the TURN service: {e}"))?;
    let (udp, tcp) = {
        let _in_rt = rt.enter();
        let udp = match udp {
            Some(s) => Some(Arc::new(UdpSocket::from_std(s).map_err(|e| e.to_string())?)),
            None => None,
        };
        let tcp = match tcp {
            Some(l) => Some(TcpListener::from_std(l).map_err(|e| e.to_string())?),
            None => None,
        };
        (udp, tcp)
    };
    let flusher = Arc::new(Notify::new());
    let core = Arc::new_cyclic(|weak: &Weak<Mutex<Core>>| {
        Mutex::new(Core {
            server,
            relays: RelaySockets {
                range: settings.ports,
                next: settings.ports.0,
                sockets: HashMap::new(),
                connections: HashMap::new(),
                binds: HashMap::new(),
                dscp: settings.dscp,
                core: weak.clone(),
            },
            udp: udp.clone(),
            tcp: HashMap::new(),
            to_clients: SendBatch::default(),
            to_peers: SendBatch::default(),
            flusher: flusher.clone(),
            log: log.clone(),
            alarms: alarms.clone(),
            credential_generation: config.credential_generation(),
        })
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = {
        let (core, config) = (core.clone(), config.clone());
        std::thread::Builder::new()
            .name("turn".into())
            .spawn(move || {
                rt.block_on(async move {
                    tokio::spawn(timers(core.clone(), config));
                    tokio::spawn(flush_later(core.clone(), flusher));
                    if let Some(u) = udp {
                        tokio::spawn(read_udp(u, core.clone()));
                    }
                    if let Some(l) = tcp {
                        tokio::spawn(accept_tcp(l, core.clone()));
                    }
                    let _ = stopped.await;
                });
                // Dropping the runtime here ends every task of the service, relay readers
                // included, and closes their sockets.
            })
            .map_err(|e| format!("cannot start the TURN service: {e}"))?
    };
    Ok(Running {
        settings: settings.clone(),
        core,
        stop: Some(stop),
        thread: Some(thread),
    })
}

/// Runs the service for as long as the returned task lives, following the configuration.
pub fn spawn(
    config: Arc<Config>,
    shared: Arc<Shared>,
    log: Arc<EventLog>,
    alarms: Option<Arc<Alarms>>,
) -> JoinHandle<()> {
    let mut changes = config.subscribe();
    tokio::spawn(async move {
        loop {
            let snap = config.snapshot();
            let wanted = Settings::of(&snap);
            let same = {
                let running = shared.running.lock().unwrap();
                match (&wanted, running.as_ref()) {
                    (Ok(w), Some(r)) => *w == r.settings,
                    (Err(_), None) => true,
                    _ => false,
                }
            };
            if !same {
                // Stop first: a restart on the same port needs it free.
                let old = shared.running.lock().unwrap().take();
                if let Some(old) = old {
                    drop(old);
                    log.event(1, "tvcs", "TURN Server Stopped", &[]);
                }
                match &wanted {
                    Ok(settings) => match start(settings, &config, &log, &alarms).await {
                        Ok(r) => {
                            log.event(
                                1,
                                "tvcs",
                                "TURN Server Started",
                                &[("Listen", &settings.listen.to_string())],
                            );
                            *shared.running.lock().unwrap() = Some(r);
                            shared.stopped_because.lock().unwrap().clear();
                        }
                        Err(why) => {
                            log.event(1, "tvcs", "TURN Server Failed", &[("Detail", &why)]);
                            *shared.stopped_because.lock().unwrap() = why;
                        }
                    },
                    Err(why) => *shared.stopped_because.lock().unwrap() = why.clone(),
                }
            }
            shared.applied.store(snap.revision, Ordering::Release);
            match changes.recv().await {
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => break,
            }
        }
        shared.running.lock().unwrap().take();
    })
}

impl Shared {
    /// Waits (a little) until the service has taken in configuration `revision`.
    pub fn settle(&self, revision: u64) {
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.applied.load(Ordering::Acquire) < revision && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// `xStatus TURN`: whether the server runs, where, and every relay with its permissions,
/// channels and counters.
pub struct TurnStatus(pub Arc<Shared>);

impl StatusSource for TurnStatus {
    fn group(&self) -> &'static str {
        "TURN"
    }

    fn collect(&self) -> Vec<(String, Field)> {
        let running = self.0.running.lock().unwrap();
        let Some(r) = running.as_ref() else {
            return vec![
                ("Status".into(), Field::bare("Inactive")),
                (
                    "Detail".into(),
                    Field::str(self.0.stopped_because.lock().unwrap().as_str()),
                ),
                ("Relays Active".into(), Field::bare(0)),
            ];
        };
        let s = &r.settings;
        let now = Instant::now();
        let c = lock(&r.core);
        let views = c.server.allocations(now);
        let mut v = vec![
            ("Status".into(), Field::bare("Active")),
            ("Port".into(), Field::bare(s.listen.port())),
            (
                "Protocols".into(),
                Field::bare(match (s.udp, s.tcp) {
                    (true, true) => "UDP TCP",
                    (true, false) => "UDP",
                    _ => "TCP",
                }),
            ),
            ("Realm".into(), Field::str(s.realm.as_str())),
            ("Relays Active".into(), Field::bare(views.len())),
            ("Relays Capacity".into(), Field::bare(s.capacity())),
        ];
        for (i, a) in views.iter().enumerate() {
            let p = format!("Relay {} ", i + 1);
            v.push((format!("{p}Client"), Field::str(a.tuple.client.to_string())));
            v.push((
                format!("{p}Protocol"),
                Field::bare(a.tuple.transport.name()),
            ));
            v.push((format!("{p}Address"), Field::str(a.relay.to_string())));
            v.push((
                format!("{p}RelayProtocol"),
                Field::bare(if a.tcp { "TCP" } else { "UDP" }),
            ));
            v.push((format!("{p}Username"), Field::str(a.username.as_str())));
            v.push((format!("{p}Lifetime"), Field::bare(a.remaining_secs)));
            v.push((format!("{p}Age"), Field::bare(a.age_secs)));
            for (k, (ip, left)) in a.permissions.iter().enumerate() {
                let q = format!("{p}Permission {} ", k + 1);
                v.push((format!("{q}Address"), Field::str(ip.to_string())));
                v.push((format!("{q}Lifetime"), Field::bare(*left)));
            }
            for (k, (n, peer, left)) in a.channels.iter().enumerate() {
                let q = format!("{p}Channel {} ", k + 1);
                v.push((format!("{q}Number"), Field::bare(format!("{n:#06x}"))));
                v.push((format!("{q}Peer"), Field::str(peer.to_string())));
                v.push((format!("{q}Lifetime"), Field::bare(*left)));
            }
            for (k, conn) in a.connections.iter().enumerate() {
                let q = format!("{p}Connection {} ", k + 1);
                v.push((format!("{q}Id"), Field::bare(conn.id)));
                v.push((format!("{q}Peer"), Field::str(conn.peer.to_string())));
                v.push((format!("{q}State"), Field::bare(conn.state)));
            }
            let n = &a.counters;
            for (name, value) in [
                ("Requests", n.requests),
                ("SuccessResponses", n.successes),
                ("ErrorResponses", n.errors),
                ("PacketsToPeers", n.to_peers),
                ("BytesToPeers", n.bytes_to_peers),
                ("PacketsToClient", n.to_client),
                ("BytesToClient", n.bytes_to_client),
            ] {
                v.push((format!("{p}Counters {name}"), Field::bare(value)));
            }
        }
        v
    }
}
