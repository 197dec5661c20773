//! TURN load generator: pushes a TURN server over UDP as hard as it will go, to compare
//! servers by throughput rather than by what a paced client offers them.
//!
//!     turn-load --server 127.0.0.1:3478 --user U --password P [--clients 100] [--seconds 5]
//!               [--length 160] [--phase allocate|relay|both] [--window 64] [--batch 32]
//!               [--rate PPS] [--server-pid PID] [--peer-ip 127.0.0.1] [--cpus 0,1]
//!               [--avoid-ports 40000-41999]
//!
//! allocate  `--window` sockets each allocate, delete the allocation (Refresh, LIFETIME 0) and
//!           allocate again, from another socket, for `--seconds`: allocations per second,
//!           each also deleted.
//! relay     `--clients` sockets each allocate, permit and bind a channel to a peer socket of
//!           the generator's own (on `--peer-ip`); then for `--seconds` the clients send
//!           ChannelData of `--length` bytes as fast as they can (or `--rate` packets/s in
//!           all), `--batch` datagrams per sendmmsg, counted at the peer (to-peer); then the
//!           peer sends to every relay address the same way, counted at the clients
//!           (to-client).
//!
//! Credentials are long-term (the realm and nonce come from the server's 401 or 438).
//! `--server-pid` adds the server's CPU time from /proc to each measurement; `--cpus` pins
//! the generator's threads; `--avoid-ports` keeps its sockets off the server's relay range.
//! Output is one line per measurement, starting `allocate:`, `setup:`, `to-peer:` or
//! `to-client:`; loss is split by where the kernel dropped the datagrams (the server's
//! port, its relay sockets, the generator's own sockets). Exit status 1 when the server
//! never answered or no allocation succeeded, 2 on a usage error.

use causeway_stun::{
    attr_type, kind, long_term_key, method, Builder, ChannelData, Class, Kind, Message,
    TransactionId, CHANNEL_MIN,
};
use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq)]
enum PhaseChoice {
    Allocate,
    Relay,
    Both,
}

struct Args {
    server: SocketAddr,
    user: String,
    password: String,
    clients: usize,
    seconds: f64,
    length: usize,
    phase: PhaseChoice,
    window: usize,
    batch: usize,
    rate: Option<f64>,
    server_pid: Option<u32>,
    peer_ip: IpAddr,
    cpus: Option<Vec<usize>>,
    avoid: Option<(u16, u16)>,
}

fn usage(code: i32) -> ! {
    // The module comment is the manual.
    let doc: String = include_str!("turn_load.rs")
        .lines()
        .take_while(|l| l.starts_with("//!"))
        .map(|l| l.trim_start_matches("//!").strip_prefix(' ').unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    if code == 0 {
        println!("{doc}");
    } else {
        eprintln!("{doc}");
    }
    std::process::exit(code);
}

fn args() -> Args {
    let mut a = Args {
        server: "127.0.0.1:3478".parse().expect("default address"),
        user: String::new(),
        password: String::new(),
        clients: 100,
        seconds: 5.0,
        length: 160,
        phase: PhaseChoice::Both,
        window: 64,
        batch: 32,
        rate: None,
        server_pid: None,
        peer_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        cpus: None,
        avoid: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            usage(0);
        }
        let Some(value) = it.next() else {
            eprintln!("turn-load: {flag} needs a value");
            usage(2);
        };
        let bad = |what: &str| -> ! {
            eprintln!("turn-load: {flag} {value}: expected {what}");
            usage(2);
        };
        match flag.as_str() {
            "--server" => a.server = value.parse().unwrap_or_else(|_| bad("HOST:PORT")),
            "--user" => a.user = value.clone(),
            "--password" => a.password = value.clone(),
            "--clients" => a.clients = value.parse().unwrap_or_else(|_| bad("a count")),
            "--seconds" => a.seconds = value.parse().unwrap_or_else(|_| bad("seconds")),
            "--length" => a.length = value.parse().unwrap_or_else(|_| bad("bytes")),
            "--window" => a.window = value.parse().unwrap_or_else(|_| bad("a count")),
            "--batch" => a.batch = value.parse().unwrap_or_else(|_| bad("a count")),
            "--rate" => a.rate = Some(value.parse().unwrap_or_else(|_| bad("packets/s"))),
            "--server-pid" => a.server_pid = Some(value.parse().unwrap_or_else(|_| bad("a pid"))),
            "--peer-ip" => a.peer_ip = value.parse().unwrap_or_else(|_| bad("an address")),
            "--cpus" => {
                let list: Result<Vec<usize>, _> = value.split(',').map(str::parse).collect();
                a.cpus = Some(list.unwrap_or_else(|_| bad("a list like 0,1")));
            }
            "--avoid-ports" => {
                let range = value
                    .split_once('-')
                    .and_then(|(lo, hi)| Some((lo.parse().ok()?, hi.parse().ok()?)));
                a.avoid = Some(range.unwrap_or_else(|| bad("a range like 40000-41999")));
            }
            "--phase" => {
                a.phase = match value.as_str() {
                    "allocate" => PhaseChoice::Allocate,
                    "relay" => PhaseChoice::Relay,
                    "both" => PhaseChoice::Both,
                    _ => bad("allocate, relay or both"),
                }
            }
            _ => {
                eprintln!("turn-load: unknown option {flag}");
                usage(2);
            }
        }
    }
    if a.user.is_empty() {
        eprintln!("turn-load: --user is needed");
        usage(2);
    }
    // A ChannelData frame must fit one receive slot.
    if a.length + 4 > SLOT || a.clients == 0 || a.window == 0 || a.batch == 0 || a.seconds <= 0.0 {
        eprintln!("turn-load: --length up to {}, counts above zero", SLOT - 4);
        usage(2);
    }
    a.batch = a.batch.min(MAX_BATCH);
    a
}

// ---------------------------------------------------------------------------------------------
// Sockets and system calls.

/// Room for one datagram in a receive batch.
const SLOT: usize = 2048;
const MAX_BATCH: usize = 256;
/// The generator's sockets get buffers this large so that a loss is the server's, not ours.
const CLIENT_BUFFER: i32 = 2 << 20;
const PEER_BUFFER: i32 = 32 << 20;

fn os_error<T>() -> io::Result<T> {
    Err(io::Error::last_os_error())
}

fn setsockopt_int(fd: RawFd, name: libc::c_int, value: i32) -> io::Result<()> {
    // SAFETY: the option value is an int on the stack, its size passed along.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if r < 0 {
        os_error()
    } else {
        Ok(())
    }
}

/// Sets both buffers; the FORCE variants pass net.core.rmem_max when running as root, the
/// plain ones are the fallback (capped by the kernel at the sysctl).
fn grow_buffers(sock: &UdpSocket, bytes: i32) {
    let fd = sock.as_raw_fd();
    if setsockopt_int(fd, libc::SO_RCVBUFFORCE, bytes).is_err() {
        let _ = setsockopt_int(fd, libc::SO_RCVBUF, bytes);
    }
    if setsockopt_int(fd, libc::SO_SNDBUFFORCE, bytes).is_err() {
        let _ = setsockopt_int(fd, libc::SO_SNDBUF, bytes);
    }
}

fn unspecified_like(addr: &SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    }
}

/// A non-blocking socket with large buffers. With port 0 in `at`, the kernel's pick is kept
/// out of `avoid` (the server's relay range, which the ephemeral range usually overlaps:
/// a relay port taken by the generator would make the server look for another).
fn open_socket(at: SocketAddr, buffer: i32, avoid: Option<(u16, u16)>) -> io::Result<UdpSocket> {
    let mut held = Vec::new();
    let s = loop {
        let s = UdpSocket::bind(at)?;
        let port = s.local_addr()?.port();
        match avoid {
            Some((lo, hi)) if at.port() == 0 && (lo..=hi).contains(&port) && held.len() < 64 => {
                held.push(s)
            }
            _ => break s,
        }
    };
    s.set_nonblocking(true)?;
    grow_buffers(&s, buffer);
    Ok(s)
}

/// Many client sockets need many descriptors; the soft limit is often 1024.
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain struct out-parameter.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Threads inherit the mask, so pinning the main thread first pins all of them.
fn pin(cpus: &[usize]) {
    // SAFETY: cpu_set_t is plain data, filled by the libc macros' equivalents.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &c in cpus {
            libc::CPU_SET(c, &mut set);
        }
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            eprintln!(
                "turn-load: could not pin to {cpus:?}: {}",
                io::Error::last_os_error()
            );
        }
    }
}

/// A socket address in the form the kernel takes for sendmmsg.
fn raw_addr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data big enough for either family.
    let mut st: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_in fits in sockaddr_storage.
            unsafe { std::ptr::write((&mut st as *mut libc::sockaddr_storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_in6 fits in sockaddr_storage.
            unsafe { std::ptr::write((&mut st as *mut libc::sockaddr_storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (st, len as libc::socklen_t)
}

/// One sendmmsg batch. The headers point at caller-owned payloads and addresses and are
/// rewritten before each call; the struct is built once per sending thread.
struct SendBatch {
    hdrs: Vec<libc::mmsghdr>,
    iovs: Vec<libc::iovec>,
}

impl SendBatch {
    fn new(n: usize) -> SendBatch {
        // SAFETY: mmsghdr and iovec are plain data; null pointers until filled.
        let hdrs = (0..n).map(|_| unsafe { std::mem::zeroed() }).collect();
        let iovs = (0..n)
            .map(|_| libc::iovec {
                iov_base: std::ptr::null_mut(),
                iov_len: 0,
            })
            .collect();
        SendBatch { hdrs, iovs }
    }

    /// Message `i` of the next call: `payload` to `to`. Both must outlive the call to `send`.
    fn set(&mut self, i: usize, payload: &[u8], to: &(libc::sockaddr_storage, libc::socklen_t)) {
        self.iovs[i] = libc::iovec {
            iov_base: payload.as_ptr() as *mut libc::c_void,
            iov_len: payload.len(),
        };
        let h = &mut self.hdrs[i].msg_hdr;
        h.msg_iov = &mut self.iovs[i];
        h.msg_iovlen = 1;
        h.msg_name = (&to.0 as *const libc::sockaddr_storage) as *mut libc::c_void;
        h.msg_namelen = to.1;
    }

    /// Sends the first `n` messages set: how many the kernel took (it stops at the first
    /// that fails, and says why only when that is the first of the batch).
    fn send(&mut self, fd: RawFd, n: usize) -> io::Result<usize> {
        // SAFETY: every header up to n was filled by `set` with pointers the caller keeps alive.
        let r = unsafe { libc::sendmmsg(fd, self.hdrs.as_mut_ptr(), n as u32, libc::MSG_DONTWAIT) };
        if r < 0 {
            os_error()
        } else {
            Ok(r as usize)
        }
    }
}

/// One recvmmsg batch into fixed slots; senders' addresses are not asked for.
struct RecvBatch {
    bufs: Vec<u8>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
}

impl RecvBatch {
    fn new(n: usize) -> RecvBatch {
        let mut bufs = vec![0u8; n * SLOT];
        let iovs: Vec<libc::iovec> = bufs
            .chunks_mut(SLOT)
            .map(|c| libc::iovec {
                iov_base: c.as_mut_ptr().cast(),
                iov_len: SLOT,
            })
            .collect();
        let mut b = RecvBatch {
            bufs,
            iovs,
            // SAFETY: plain data, filled below.
            hdrs: (0..n).map(|_| unsafe { std::mem::zeroed() }).collect(),
        };
        for (h, iov) in b.hdrs.iter_mut().zip(b.iovs.iter_mut()) {
            h.msg_hdr.msg_iov = iov;
            h.msg_hdr.msg_iovlen = 1;
        }
        b
    }

    /// Reads what is waiting, without blocking: how many datagrams (0 when none).
    fn recv(&mut self, fd: RawFd) -> usize {
        // SAFETY: the headers point at this struct's own iovecs and buffers, which live as long
        // as it does (their heap storage does not move with the struct).
        let r = unsafe {
            libc::recvmmsg(
                fd,
                self.hdrs.as_mut_ptr(),
                self.hdrs.len() as u32,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        r.max(0) as usize
    }

    fn datagram(&self, i: usize) -> &[u8] {
        let len = (self.hdrs[i].msg_len as usize).min(SLOT);
        &self.bufs[i * SLOT..i * SLOT + len]
    }
}

/// Waits for one descriptor to become readable (or the timeout).
fn wait_readable(fd: RawFd, timeout_ms: i32) {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one pollfd on the stack.
    unsafe { libc::poll(&mut p, 1, timeout_ms) };
}

/// Level-triggered epoll over many sockets, each registered with a number of the caller's.
struct Epoll {
    fd: RawFd,
    events: Vec<libc::epoll_event>,
}

impl Epoll {
    fn new() -> io::Result<Epoll> {
        // SAFETY: no pointers.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return os_error();
        }
        Ok(Epoll {
            fd,
            events: vec![libc::epoll_event { events: 0, u64: 0 }; 256],
        })
    }

    fn add(&self, fd: RawFd, key: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: key,
        };
        // SAFETY: one event struct on the stack.
        if unsafe { libc::epoll_ctl(self.fd, libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 {
            return os_error();
        }
        Ok(())
    }

    fn remove(&self, fd: RawFd) {
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: as in `add`; kernels before 2.6.9 wanted an event pointer even here.
        unsafe { libc::epoll_ctl(self.fd, libc::EPOLL_CTL_DEL, fd, &mut ev) };
    }

    /// The keys of the sockets that are readable.
    fn wait(&mut self, timeout: Duration, ready: &mut Vec<u64>) {
        ready.clear();
        let ms = timeout.as_millis().min(1000) as i32;
        // SAFETY: the kernel writes at most events.len() entries.
        let n = unsafe {
            libc::epoll_wait(
                self.fd,
                self.events.as_mut_ptr(),
                self.events.len() as i32,
                ms,
            )
        };
        for e in self.events.iter().take(n.max(0) as usize) {
            ready.push(e.u64);
        }
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: our own descriptor, closed once.
        unsafe { libc::close(self.fd) };
    }
}

// ---------------------------------------------------------------------------------------------
// CPU and drop accounting from /proc.

fn clock_ticks() -> f64 {
    // SAFETY: no pointers.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// utime + stime of a /proc stat file, and the thread's or process's name.
fn stat_ticks(path: &str) -> Option<(u64, String)> {
    let s = std::fs::read_to_string(path).ok()?;
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    let name = s[open + 1..close].to_string();
    let fields: Vec<&str> = s[close + 2..].split_whitespace().collect();
    // Fields 14 and 15 of the file; the slice starts at field 3.
    let u: u64 = fields.get(11)?.parse().ok()?;
    let st: u64 = fields.get(12)?.parse().ok()?;
    Some((u + st, name))
}

/// A process's CPU time, in all and per thread.
struct CpuSnapshot {
    total: u64,
    threads: HashMap<u32, (u64, String)>,
}

fn cpu_snapshot(pid: &str) -> Option<CpuSnapshot> {
    let (total, _) = stat_ticks(&format!("/proc/{pid}/stat"))?;
    let mut threads = HashMap::new();
    if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for e in dir.flatten() {
            let tid = e.file_name().to_string_lossy().to_string();
            if let (Ok(t), Some(v)) = (
                tid.parse::<u32>(),
                stat_ticks(&format!("/proc/{pid}/task/{tid}/stat")),
            ) {
                threads.insert(t, v);
            }
        }
    }
    Some(CpuSnapshot { total, threads })
}

/// CPU used between two snapshots, as fractions of a core over `wall`: the whole process and
/// its busiest thread (with its name).
struct CpuUse {
    total: f64,
    busiest: f64,
    busiest_name: String,
    seconds: f64,
}

fn cpu_use(before: &CpuSnapshot, after: &CpuSnapshot, wall: f64) -> CpuUse {
    let hz = clock_ticks();
    let mut busiest = (0u64, String::new());
    for (tid, (t, name)) in &after.threads {
        let was = before.threads.get(tid).map_or(0, |(b, _)| *b);
        let d = t.saturating_sub(was);
        if d > busiest.0 {
            busiest = (d, name.clone());
        }
    }
    let seconds = after.total.saturating_sub(before.total) as f64 / hz;
    CpuUse {
        total: seconds / wall,
        busiest: busiest.0 as f64 / hz / wall,
        busiest_name: busiest.1,
        seconds,
    }
}

/// Busy time of the whole machine, in clock ticks (/proc/stat: all but idle and iowait).
fn machine_ticks() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/stat").ok()?;
    let f: Vec<u64> = s
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is within user already).
    let total: u64 = f.iter().take(8).sum();
    Some(total - f.get(3)? - f.get(4)?)
}

/// Drops counted by the kernel on UDP sockets, by local port (/proc/net/udp and udp6, last
/// column).
fn udp_drops() -> HashMap<u16, u64> {
    let mut by_port = HashMap::new();
    for file in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(s) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in s.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(drops)) = (f.get(1), f.last()) else {
                continue;
            };
            let Some(port) = local
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok())
            else {
                continue;
            };
            if let Ok(d) = drops.parse::<u64>() {
                *by_port.entry(port).or_insert(0) += d;
            }
        }
    }
    by_port
}

/// What the generator and the server spent over one measurement.
struct Meter {
    server_pid: Option<String>,
    start: Instant,
    me: Option<CpuSnapshot>,
    server: Option<CpuSnapshot>,
    machine: Option<u64>,
    drops: HashMap<u16, u64>,
}

impl Meter {
    fn start(server_pid: Option<u32>) -> Meter {
        let server_pid = server_pid.map(|p| p.to_string());
        // The drop table first: with thousands of sockets open, reading it is work of our own
        // that should not count against the measurement.
        let drops = udp_drops();
        Meter {
            server: server_pid.as_deref().and_then(cpu_snapshot),
            me: cpu_snapshot("self"),
            machine: machine_ticks(),
            drops,
            server_pid,
            start: Instant::now(),
        }
    }

    /// "server CPU …, <per> us per <unit>; generator CPU …" for `count` units of work, the
    /// shares of a core over `busy` seconds (by default, since the start).
    fn report(&self, count: u64, unit: &str, busy: Option<f64>) -> String {
        let wall = busy
            .unwrap_or_else(|| self.start.elapsed().as_secs_f64())
            .max(1e-6);
        let hz = clock_ticks();
        let mut out = Vec::new();
        // Whatever else ran meanwhile, so that a run disturbed by other work can be told apart.
        let mut other = match (self.machine, machine_ticks()) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / hz),
            _ => None,
        };
        let mut take = |secs: f64| other = other.map(|o| o - secs);
        if let (Some(pid), Some(before)) = (&self.server_pid, &self.server) {
            if let Some(after) = cpu_snapshot(pid) {
                let u = cpu_use(before, &after, wall);
                take(u.seconds);
                let per = if count > 0 {
                    format!("{:.2}", u.seconds / count as f64 * 1e6)
                } else {
                    "-".into()
                };
                out.push(format!(
                    "server CPU {:.0}% busiest thread {:.0}% ({}), {per} us per {unit}",
                    u.total * 100.0,
                    u.busiest * 100.0,
                    u.busiest_name
                ));
            }
        }
        if let (Some(before), Some(after)) = (&self.me, cpu_snapshot("self")) {
            let u = cpu_use(before, &after, wall);
            take(u.seconds);
            out.push(format!(
                "generator CPU {:.0}% busiest thread {:.0}%",
                u.total * 100.0,
                u.busiest * 100.0
            ));
        }
        if let (Some(o), Some(_)) = (other, &self.server_pid) {
            out.push(format!("other CPU {:.0}%", o.max(0.0) / wall * 100.0));
        }
        out.join("; ")
    }

    /// Kernel drops between the start and `now` (a reading of [`udp_drops`]) on the sockets
    /// of the given ports.
    fn drops_at(&self, now: &HashMap<u16, u64>, ports: &HashSet<u16>) -> u64 {
        ports
            .iter()
            .map(|p| {
                now.get(p)
                    .copied()
                    .unwrap_or(0)
                    .saturating_sub(self.drops.get(p).copied().unwrap_or(0))
            })
            .sum()
    }
}

// ---------------------------------------------------------------------------------------------
// Transactions: requests with long-term credentials, retransmitted until answered.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Step {
    Allocate,
    Permission,
    ChannelBind,
    Delete,
}

/// How long an answer may take before the request is sent again, and how often it is.
const RTO: Duration = Duration::from_millis(400);
const TRIES: u8 = 5;
/// 401 and 438 answers one transaction may take (each gives a fresh nonce) before giving up.
const AUTH_RETRIES: u8 = 3;
/// How long a socket rests between allocations, and how many may rest at once (each holds a
/// descriptor and an ephemeral port).
const REST: Duration = Duration::from_secs(3);
const RESTING_MAX: usize = 12_000;
/// How often the retransmission timers are looked at.
const SCAN: Duration = Duration::from_millis(10);

struct Pending {
    step: Step,
    tid: TransactionId,
    bytes: Vec<u8>,
    started: Instant,
    sent: Instant,
    tries: u8,
    auths: u8,
}

/// One client 5-tuple.
struct Slot {
    sock: UdpSocket,
    /// The nonce this 5-tuple was last given. Servers may keep one per client address
    /// (causeway) or one per session (coturn), so the latest one seen anywhere is only a guess.
    nonce: Option<String>,
    relay: Option<SocketAddr>,
    channel: u16,
    pending: Option<Pending>,
}

/// Why a transaction failed: an error code, no answer, or an Allocate success without a
/// relay address one could send to.
type Failure = u16;
const TIMEOUT: Failure = 0;
const NO_RELAY: Failure = 1;

struct Completion {
    slot: usize,
    step: Step,
    outcome: Result<(), Failure>,
    latency: Duration,
}

#[derive(Default)]
struct TxStats {
    requests: u64,
    retransmits: u64,
    challenged: u64,
    stale: u64,
    answered: bool,
}

struct Engine {
    server: SocketAddr,
    user: String,
    password: String,
    realm: Option<String>,
    key: [u8; 16],
    nonce: Option<String>,
    peer: SocketAddr,
    avoid: Option<(u16, u16)>,
    slots: Vec<Slot>,
    /// Sockets between two allocations, oldest first, with when they were set aside.
    resting: VecDeque<(Instant, UdpSocket)>,
    epoll: Epoll,
    next_tid: u64,
    stats: TxStats,
    done: Vec<Completion>,
    last_scan: Instant,
    ready: Vec<u64>,
}

impl Engine {
    fn new(
        server: SocketAddr,
        user: &str,
        password: &str,
        avoid: Option<(u16, u16)>,
    ) -> io::Result<Engine> {
        Ok(Engine {
            server,
            user: user.to_string(),
            password: password.to_string(),
            realm: None,
            key: [0; 16],
            nonce: None,
            peer: unspecified_like(&server),
            avoid,
            slots: Vec::new(),
            resting: VecDeque::new(),
            epoll: Epoll::new()?,
            next_tid: 0,
            stats: TxStats::default(),
            done: Vec::new(),
            last_scan: Instant::now(),
            ready: Vec::new(),
        })
    }

    fn new_socket(&self, key: usize) -> io::Result<UdpSocket> {
        let s = open_socket(unspecified_like(&self.server), CLIENT_BUFFER, self.avoid)?;
        self.epoll.add(s.as_raw_fd(), key as u64)?;
        Ok(s)
    }

    fn add_slot(&mut self) -> io::Result<usize> {
        let i = self.slots.len();
        let sock = self.new_socket(i)?;
        self.slots.push(Slot {
            sock,
            nonce: None,
            relay: None,
            channel: CHANNEL_MIN + (i % 0x1000) as u16,
            pending: None,
        });
        Ok(i)
    }

    /// Gives a slot another 5-tuple: for when the old one may still hold an allocation the
    /// server will not let go of, and for each new allocation, since a server may keep a
    /// deleted allocation's 5-tuple a while (coturn answers 437 to an Allocate on it for a
    /// second or two). So the old socket rests before it is used again, rather than being
    /// closed: the kernel would soon hand its port to a new socket.
    fn renew(&mut self, i: usize) {
        let rested = match self.resting.front() {
            Some((t, _)) if t.elapsed() >= REST || self.resting.len() >= RESTING_MAX => {
                self.resting.pop_front().map(|(_, s)| s)
            }
            _ => None,
        };
        let sock = match rested {
            Some(s) => {
                // Late answers to its last transactions mean nothing now.
                let mut buf = [0u8; SLOT];
                while s.recv(&mut buf).is_ok() {}
                s
            }
            None => match open_socket(unspecified_like(&self.server), CLIENT_BUFFER, self.avoid) {
                Ok(s) => s,
                Err(_) => return,
            },
        };
        if self.epoll.add(sock.as_raw_fd(), i as u64).is_err() {
            return;
        }
        let slot = &mut self.slots[i];
        let old = std::mem::replace(&mut slot.sock, sock);
        slot.nonce = None;
        slot.relay = None;
        self.epoll.remove(old.as_raw_fd());
        self.resting.push_back((Instant::now(), old));
    }

    fn in_flight(&self) -> usize {
        self.slots.iter().filter(|s| s.pending.is_some()).count()
    }

    fn build(&mut self, i: usize, step: Step) -> (TransactionId, Vec<u8>) {
        self.next_tid += 1;
        let mut tid = [0u8; 12];
        tid[..4].copy_from_slice(&(i as u32).to_be_bytes());
        tid[4..].copy_from_slice(&self.next_tid.to_be_bytes());
        let slot = &self.slots[i];
        let meth = match step {
            Step::Allocate => method::ALLOCATE,
            Step::Permission => method::CREATE_PERMISSION,
            Step::ChannelBind => method::CHANNEL_BIND,
            Step::Delete => method::REFRESH,
        };
        let mut buf = Vec::with_capacity(256);
        let mut b = Builder::new(&mut buf, meth, Class::Request, &tid);
        match step {
            Step::Allocate => {
                b.requested_transport(17);
            }
            Step::Permission => {
                b.xor_address(attr_type::XOR_PEER_ADDRESS, &self.peer);
            }
            Step::ChannelBind => {
                b.channel_number(slot.channel)
                    .xor_address(attr_type::XOR_PEER_ADDRESS, &self.peer);
            }
            Step::Delete => {
                b.u32(attr_type::LIFETIME, 0);
            }
        }
        // Credentials as soon as there is a realm and a nonce to use; before that the first
        // request goes without and the 401 brings them.
        if let (Some(realm), Some(nonce)) =
            (&self.realm, slot.nonce.as_ref().or(self.nonce.as_ref()))
        {
            b.text(attr_type::USERNAME, &self.user)
                .text(attr_type::REALM, realm)
                .text(attr_type::NONCE, nonce)
                .integrity(&self.key);
        }
        b.fingerprint();
        (tid, buf)
    }

    fn start(&mut self, i: usize, step: Step) {
        let now = Instant::now();
        let (tid, bytes) = self.build(i, step);
        let _ = self.slots[i].sock.send_to(&bytes, self.server);
        self.stats.requests += 1;
        self.slots[i].pending = Some(Pending {
            step,
            tid,
            bytes,
            started: now,
            sent: now,
            tries: 1,
            auths: 0,
        });
    }

    fn complete(&mut self, i: usize, outcome: Result<(), Failure>) {
        if let Some(p) = self.slots[i].pending.take() {
            self.done.push(Completion {
                slot: i,
                step: p.step,
                outcome,
                latency: p.started.elapsed(),
            });
        }
    }

    fn answer(&mut self, i: usize, data: &[u8]) {
        let Ok(m) = Message::parse(data) else {
            return;
        };
        let Some(p) = &self.slots[i].pending else {
            return;
        };
        if m.transaction_id() != &p.tid {
            return;
        }
        let (step, auths) = (p.step, p.auths);
        self.stats.answered = true;
        match m.class() {
            Class::Success => {
                match step {
                    Step::Allocate => {
                        let relay = m
                            .xor_address(attr_type::XOR_RELAYED_ADDRESS)
                            .filter(|r| r.port() != 0 && !r.ip().is_unspecified());
                        // coturn 4.6.1 now and then answers success with 0.0.0.0:0. The
                        // allocation it made, if any, is left to expire with its 5-tuple.
                        if relay.is_none() {
                            self.complete(i, Err(NO_RELAY));
                            self.renew(i);
                            return;
                        }
                        self.slots[i].relay = relay;
                    }
                    Step::Delete => self.slots[i].relay = None,
                    _ => {}
                }
                self.complete(i, Ok(()));
            }
            Class::Error => {
                let code = m.error_code().map_or(500, |e| e.code);
                match code {
                    401 | 438 if auths < AUTH_RETRIES => {
                        if code == 401 {
                            self.stats.challenged += 1;
                        } else {
                            self.stats.stale += 1;
                        }
                        if let Some(r) = m.realm() {
                            if self.realm.as_deref() != Some(r) {
                                self.key = long_term_key(&self.user, r, &self.password);
                                self.realm = Some(r.to_string());
                            }
                        }
                        if let Some(n) = m.nonce() {
                            self.slots[i].nonce = Some(n.to_string());
                            self.nonce = Some(n.to_string());
                        }
                        // A new transaction with the credentials, still timed from the first.
                        let (tid, bytes) = self.build(i, step);
                        let _ = self.slots[i].sock.send_to(&bytes, self.server);
                        self.stats.requests += 1;
                        if let Some(p) = &mut self.slots[i].pending {
                            p.tid = tid;
                            p.bytes = bytes;
                            p.sent = Instant::now();
                            p.tries = 1;
                            p.auths += 1;
                        }
                    }
                    // The allocation is gone already: a retransmitted delete.
                    437 if step == Step::Delete => {
                        self.slots[i].relay = None;
                        self.complete(i, Ok(()));
                    }
                    437 => {
                        self.complete(i, Err(code));
                        self.renew(i);
                    }
                    _ => self.complete(i, Err(code)),
                }
            }
            _ => {}
        }
    }

    fn retransmit(&mut self, now: Instant) {
        for i in 0..self.slots.len() {
            let slot = &mut self.slots[i];
            let Some(p) = &mut slot.pending else {
                continue;
            };
            if now.duration_since(p.sent) < RTO {
                continue;
            }
            if p.tries < TRIES {
                p.tries += 1;
                p.sent = now;
                let _ = slot.sock.send_to(&p.bytes, self.server);
                self.stats.retransmits += 1;
                self.stats.requests += 1;
                continue;
            }
            let step = p.step;
            self.complete(i, Err(TIMEOUT));
            // The server may hold an allocation for this 5-tuple that we never heard of.
            if step == Step::Allocate {
                self.renew(i);
            }
        }
    }

    /// Waits up to `wait` for answers; what finished since the last call.
    fn poll(&mut self, wait: Duration) -> Vec<Completion> {
        let mut ready = std::mem::take(&mut self.ready);
        let wait = wait.min(SCAN.saturating_sub(self.last_scan.elapsed()));
        self.epoll.wait(wait, &mut ready);
        let mut buf = [0u8; SLOT];
        for &key in &ready {
            let i = key as usize;
            if i >= self.slots.len() {
                continue;
            }
            while let Ok(n) = self.slots[i].sock.recv(&mut buf) {
                self.answer(i, &buf[..n]);
            }
        }
        self.ready = ready;
        let now = Instant::now();
        if now.duration_since(self.last_scan) >= SCAN {
            self.last_scan = now;
            self.retransmit(now);
        }
        std::mem::take(&mut self.done)
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p) as usize).min(sorted.len() - 1);
    sorted[i].as_secs_f64() * 1e3
}

fn failures(f: &HashMap<Failure, u64>) -> String {
    let mut v: Vec<_> = f.iter().collect();
    v.sort();
    v.iter()
        .map(|(code, n)| match **code {
            TIMEOUT => format!("timeout {n}"),
            NO_RELAY => format!("no relay address {n}"),
            _ => format!("{code} {n}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------------
// The allocate phase.

/// Returns the number of allocations made.
fn allocate_phase(eng: &mut Engine, a: &Args) -> u64 {
    eng.slots.clear();
    for _ in 0..a.window {
        if let Err(e) = eng.add_slot() {
            eprintln!("turn-load: socket: {e}");
            break;
        }
    }
    let before = (
        eng.stats.requests,
        eng.stats.challenged,
        eng.stats.stale,
        eng.stats.retransmits,
    );
    let meter = Meter::start(a.server_pid);
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(a.seconds);
    // Outstanding transactions get this long to finish after the deadline.
    let hard = deadline + Duration::from_secs(3);
    let mut allocated = 0u64;
    let mut deleted = 0u64;
    let mut errors: HashMap<Failure, u64> = HashMap::new();
    let mut latencies = Vec::new();
    // Slots that failed wait a moment before trying again, so that a server at its quota is
    // not hammered with requests it must refuse.
    let mut later: VecDeque<(Instant, usize)> = VecDeque::new();
    for i in 0..eng.slots.len() {
        eng.start(i, Step::Allocate);
    }
    loop {
        let now = Instant::now();
        if now >= hard || (now >= deadline && eng.in_flight() == 0) {
            break;
        }
        for c in eng.poll(Duration::from_millis(5)) {
            let now = Instant::now();
            let in_time = now < deadline;
            match (c.step, c.outcome) {
                (Step::Allocate, Ok(())) => {
                    if in_time {
                        allocated += 1;
                        latencies.push(c.latency);
                    }
                    eng.start(c.slot, Step::Delete);
                }
                (Step::Delete, Ok(())) => {
                    deleted += 1;
                    if in_time {
                        eng.renew(c.slot);
                        eng.start(c.slot, Step::Allocate);
                    }
                }
                (_, Err(code)) => {
                    *errors.entry(code).or_insert(0) += 1;
                    if in_time {
                        later.push_back((now + Duration::from_millis(20), c.slot));
                    }
                }
                _ => {}
            }
        }
        let now = Instant::now();
        while let Some(&(t, i)) = later.front() {
            if t > now {
                break;
            }
            later.pop_front();
            if now < deadline {
                // A refused Allocate may still have left the server something on the 5-tuple.
                eng.renew(i);
                eng.start(i, Step::Allocate);
            }
        }
    }
    let elapsed = a.seconds;
    latencies.sort();
    let n_err: u64 = errors.values().sum();
    let requests = eng.stats.requests - before.0;
    println!(
        "allocate: {:.0} allocations/s (errors {n_err}) {} allocated and deleted in {:.1} s, \
         {} deletes, {:.2} requests per allocation ({} 401, {} 438, {} retransmitted), \
         p50 {:.2} ms p99 {:.2} ms{}; {}",
        allocated as f64 / elapsed,
        allocated,
        elapsed,
        deleted,
        requests as f64 / allocated.max(1) as f64,
        eng.stats.challenged - before.1,
        eng.stats.stale - before.2,
        eng.stats.retransmits - before.3,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        if n_err > 0 {
            format!(", failures: {}", failures(&errors))
        } else {
            String::new()
        },
        meter.report(allocated, "allocation", None),
    );
    allocated
}

// ---------------------------------------------------------------------------------------------
// The relay phase.

/// Attempts per client and step in the relay phase's set-up and tear-down.
const ATTEMPTS: u8 = 5;
/// The pause before another attempt: long enough for a server to free what it was short of.
const AGAIN_AFTER: Duration = Duration::from_millis(300);

/// Runs `step` for each of `which` with at most `window` in flight, trying each up to
/// [`ATTEMPTS`] times; the ones that succeeded, and how many attempts failed.
fn each(eng: &mut Engine, which: &[usize], step: Step, window: usize) -> (Vec<usize>, u64) {
    let mut queue: VecDeque<(Instant, usize, u8)> =
        which.iter().map(|&i| (Instant::now(), i, 1)).collect();
    let mut attempt: HashMap<usize, u8> = HashMap::new();
    let mut ok = Vec::new();
    let mut errors = 0;
    let mut gave_up: HashMap<Failure, u64> = HashMap::new();
    loop {
        while attempt.len() < window {
            match queue.front() {
                Some(&(t, i, n)) if t <= Instant::now() => {
                    queue.pop_front();
                    eng.start(i, step);
                    attempt.insert(i, n);
                }
                _ => break,
            }
        }
        if attempt.is_empty() && queue.is_empty() {
            break;
        }
        for c in eng.poll(Duration::from_millis(5)) {
            let n = attempt.remove(&c.slot).unwrap_or(ATTEMPTS);
            match c.outcome {
                Ok(()) => ok.push(c.slot),
                Err(code) => {
                    errors += 1;
                    // A 437, a timeout or a missing relay address renewed the 5-tuple, so
                    // an Allocate may go again; a later step needs the allocation the slot
                    // may just have lost.
                    let again = step == Step::Allocate || eng.slots[c.slot].relay.is_some();
                    if n < ATTEMPTS && again {
                        queue.push_back((Instant::now() + AGAIN_AFTER, c.slot, n + 1));
                    } else {
                        *gave_up.entry(code).or_insert(0) += 1;
                    }
                }
            }
        }
    }
    if !gave_up.is_empty() {
        eprintln!(
            "turn-load: {step:?} failed for {} clients, last answers: {}",
            gave_up.values().sum::<u64>(),
            failures(&gave_up)
        );
    }
    ok.sort();
    (ok, errors)
}

/// A send that failed only because the socket's buffer was full, to be tried again.
fn full(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::ENOBUFS)
}

struct Flow {
    sent: u64,
    received: u64,
    /// Datagrams the kernel refused for a reason other than a full buffer, and the last reason.
    send_errors: u64,
    last_error: Option<io::Error>,
    /// From the first send to the last arrival (or the end of sending): the CPU shares are
    /// over this, not over the quiet tail that ends the count.
    secs: f64,
}

/// Paces a sender: how many to send now (a whole batch, or none yet), sleeping meanwhile.
fn due(rate: Option<f64>, start: Instant, sent: u64, batch: usize) -> usize {
    let Some(r) = rate else {
        return batch;
    };
    let next = (sent + batch as u64) as f64 / r;
    let el = start.elapsed().as_secs_f64();
    if el < next {
        std::thread::sleep(Duration::from_secs_f64((next - el).min(0.002)));
        return 0;
    }
    batch
}

/// Counts datagrams arriving at one socket until `stop`, and then until it has been quiet;
/// also when the last one came.
fn count_at(sock: &UdpSocket, length: usize, stop: &AtomicBool) -> (u64, Instant) {
    let mut rb = RecvBatch::new(64);
    let fd = sock.as_raw_fd();
    let mut got = 0u64;
    let mut last = Instant::now();
    loop {
        let n = rb.recv(fd);
        if n > 0 {
            got += (0..n).filter(|&i| rb.datagram(i).len() == length).count() as u64;
            last = Instant::now();
            continue;
        }
        // Once the sender has stopped, a tenth of a second without anything ends the count.
        let stopping = stop.load(Ordering::Relaxed);
        wait_readable(fd, if stopping { 100 } else { 50 });
        if stopping {
            let n = rb.recv(fd);
            if n == 0 {
                return (got, last);
            }
            got += (0..n).filter(|&i| rb.datagram(i).len() == length).count() as u64;
            last = Instant::now();
        }
    }
}

/// Counts ChannelData arriving at any client socket, as `count_at` does.
fn count_at_clients(socks: &[&UdpSocket], length: usize, stop: &AtomicBool) -> (u64, Instant) {
    let mut last = Instant::now();
    let Ok(mut ep) = Epoll::new() else {
        return (0, last);
    };
    for (k, s) in socks.iter().enumerate() {
        let _ = ep.add(s.as_raw_fd(), k as u64);
    }
    let mut rb = RecvBatch::new(64);
    let mut ready = Vec::new();
    let mut got = 0u64;
    loop {
        ep.wait(Duration::from_millis(50), &mut ready);
        for &k in &ready {
            let fd = socks[k as usize].as_raw_fd();
            loop {
                let n = rb.recv(fd);
                if n == 0 {
                    break;
                }
                last = Instant::now();
                got += (0..n)
                    .filter(|&i| {
                        let d = rb.datagram(i);
                        d.len() == length + 4 && kind(d[0]) == Kind::ChannelData
                    })
                    .count() as u64;
                if n < 64 {
                    break;
                }
            }
        }
        if stop.load(Ordering::Relaxed) && last.elapsed() > Duration::from_millis(100) {
            return (got, last);
        }
    }
}

/// Sends for `--seconds` at `--rate` (or as fast as the kernel takes), one batch at a time,
/// while `count` counts arrivals on its own thread until told to stop. `send` fills the batch
/// with `n` datagrams and sends them; what it returns is what the kernel took, or why not.
fn blast(
    a: &Args,
    count: impl FnOnce(&AtomicBool) -> (u64, Instant) + Send,
    mut send: impl FnMut(&mut SendBatch, usize) -> io::Result<usize>,
) -> Flow {
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let counter = s.spawn(|| count(&stop));
        let mut batch = SendBatch::new(a.batch);
        let mut sent = 0u64;
        let (mut send_errors, mut last_error) = (0u64, None);
        let start = Instant::now();
        let dur = Duration::from_secs_f64(a.seconds);
        let sending = start + dur;
        while start.elapsed() < dur {
            let n = due(a.rate, start, sent, a.batch);
            if n == 0 {
                continue;
            }
            match send(&mut batch, n) {
                Ok(took) => sent += took as u64,
                Err(e) if full(&e) => {}
                Err(e) => {
                    send_errors += 1;
                    last_error = Some(e);
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        let (received, last) = counter.join().unwrap_or((0, start));
        let secs = last.max(sending).duration_since(start).as_secs_f64();
        Flow {
            sent,
            received,
            secs,
            send_errors,
            last_error,
        }
    })
}

/// Each client in turn sends a batch of ChannelData to the server; counted at the peer.
fn to_peer(eng: &Engine, ready: &[usize], peer: &UdpSocket, a: &Args) -> Flow {
    let frames: Vec<Vec<u8>> = ready
        .iter()
        .map(|&i| {
            let mut f = ChannelData::header(eng.slots[i].channel, a.length).to_vec();
            f.resize(4 + a.length, 0x5a);
            f
        })
        .collect();
    let fds: Vec<RawFd> = ready
        .iter()
        .map(|&i| eng.slots[i].sock.as_raw_fd())
        .collect();
    let server = raw_addr(&eng.server);
    let mut k = 0;
    blast(
        a,
        |stop| count_at(peer, a.length, stop),
        |batch, n| {
            let c = k % fds.len();
            k += 1;
            for j in 0..n {
                batch.set(j, &frames[c], &server);
            }
            batch.send(fds[c], n)
        },
    )
}

/// The peer sends to every relay in turn; counted at the clients.
fn to_client(eng: &Engine, ready: &[usize], peer: &UdpSocket, a: &Args) -> Flow {
    let relays: Vec<(libc::sockaddr_storage, libc::socklen_t)> = ready
        .iter()
        .filter_map(|&i| eng.slots[i].relay.as_ref().map(raw_addr))
        .collect();
    let socks: Vec<&UdpSocket> = ready.iter().map(|&i| &eng.slots[i].sock).collect();
    let payload = vec![0xa5u8; a.length];
    let fd = peer.as_raw_fd();
    let mut k = 0;
    blast(
        a,
        |stop| count_at_clients(&socks, a.length, stop),
        |batch, n| {
            for j in 0..n {
                batch.set(j, &payload, &relays[(k + j) % relays.len()]);
            }
            let r = batch.send(fd, n);
            k = match &r {
                Ok(took) => (k + took) % relays.len(),
                Err(e) if full(e) => k,
                // Skips the relay the kernel will not send to, rather than trying it forever.
                Err(_) => (k + 1) % relays.len(),
            };
            r
        },
    )
}

/// The line for one direction. `places` name the sockets whose kernel drops are shown.
fn flow_line(
    name: &str,
    f: &Flow,
    a: &Args,
    meter: &Meter,
    places: &[(&str, &HashSet<u16>)],
) -> String {
    // CPU first, then the drop table (see `Meter::start`).
    let cpu = meter.report(f.received, "packet", Some(f.secs));
    let now = udp_drops();
    let drops: Vec<String> = places
        .iter()
        .map(|(w, ports)| format!("{w} {}", meter.drops_at(&now, ports)))
        .collect();
    let loss = if f.sent > 0 {
        100.0 * (1.0 - f.received as f64 / f.sent as f64)
    } else {
        0.0
    };
    let refused = match &f.last_error {
        Some(e) => format!("; send errors {} (last: {e})", f.send_errors),
        None => String::new(),
    };
    format!(
        "{name}: offered {:.0}/s delivered {:.0}/s loss {:.1}% ({} sent, {} delivered; \
         kernel drops: {}{refused}; {})",
        f.sent as f64 / a.seconds,
        f.received as f64 / a.seconds,
        loss.max(0.0),
        f.sent,
        f.received,
        drops.join(", "),
        cpu,
    )
}

/// Returns whether any client got as far as relaying.
fn relay_phase(eng: &mut Engine, a: &Args) -> bool {
    let peer = match open_socket(SocketAddr::new(a.peer_ip, 0), PEER_BUFFER, a.avoid) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("turn-load: peer socket: {e}");
            return false;
        }
    };
    eng.peer = peer.local_addr().expect("bound socket");
    eng.slots.clear();
    for _ in 0..a.clients {
        if let Err(e) = eng.add_slot() {
            eprintln!("turn-load: socket: {e}");
            break;
        }
    }
    let all: Vec<usize> = (0..eng.slots.len()).collect();
    let t0 = Instant::now();
    let (allocated, e1) = each(eng, &all, Step::Allocate, a.window);
    let (permitted, e2) = each(eng, &allocated, Step::Permission, a.window);
    let (bound, e3) = each(eng, &permitted, Step::ChannelBind, a.window);
    println!(
        "setup: {} of {} clients allocated, permitted and bound in {:.2} s (errors {})",
        bound.len(),
        all.len(),
        t0.elapsed().as_secs_f64(),
        e1 + e2 + e3
    );
    if bound.is_empty() {
        return false;
    }
    let server_ports: HashSet<u16> = [eng.server.port()].into();
    let relay_ports: HashSet<u16> = bound
        .iter()
        .filter_map(|&i| eng.slots[i].relay.map(|r| r.port()))
        .collect();
    let mut own_ports: HashSet<u16> = bound
        .iter()
        .filter_map(|&i| eng.slots[i].sock.local_addr().ok().map(|l| l.port()))
        .collect();
    own_ports.insert(eng.peer.port());
    let places = [
        ("server port", &server_ports),
        ("relays", &relay_ports),
        ("generator", &own_ports),
    ];

    let meter = Meter::start(a.server_pid);
    let f = to_peer(eng, &bound, &peer, a);
    println!("{}", flow_line("to-peer", &f, a, &meter, &places));

    // Let the server finish what it had queued before the other direction starts.
    std::thread::sleep(Duration::from_millis(200));
    let meter = Meter::start(a.server_pid);
    let f = to_client(eng, &bound, &peer, a);
    println!("{}", flow_line("to-client", &f, a, &meter, &places));

    let holding: Vec<usize> = all
        .iter()
        .copied()
        .filter(|&i| eng.slots[i].relay.is_some())
        .collect();
    let (_, e) = each(eng, &holding, Step::Delete, a.window);
    if e > 0 {
        eprintln!("turn-load: {e} allocations could not be deleted");
    }
    true
}

fn main() {
    let a = args();
    raise_fd_limit();
    if let Some(cpus) = &a.cpus {
        pin(cpus);
    }
    let mut eng = match Engine::new(a.server, &a.user, &a.password, a.avoid) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("turn-load: {e}");
            std::process::exit(1);
        }
    };
    let silent = |eng: &Engine| {
        if !eng.stats.answered {
            eprintln!("turn-load: the server at {} never answered", a.server);
            std::process::exit(1);
        }
    };
    let mut ok = true;
    if a.phase != PhaseChoice::Relay {
        ok &= allocate_phase(&mut eng, &a) > 0;
        silent(&eng);
    }
    if a.phase == PhaseChoice::Both {
        // Servers free a deleted allocation's relay port late: coturn after about a second,
        // causeway once its listener has caught up. The relay phase should not pay for that.
        std::thread::sleep(Duration::from_secs(2));
    }
    if a.phase != PhaseChoice::Allocate {
        ok &= relay_phase(&mut eng, &a);
        silent(&eng);
    }
    if !ok {
        eprintln!("turn-load: no allocation succeeded");
        std::process::exit(1);
    }
}
