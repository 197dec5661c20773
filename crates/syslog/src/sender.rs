//! The task that drains one target's queue onto the network.
//!
//! A message leaves the queue only when the task can send it: while the server cannot be
//! resolved or reached, messages wait (and the queue's bound drops the overflow), and a TCP or
//! TLS batch whose write failed is written again on the next connection. That can repeat a
//! few messages the old connection had already taken, which a log reader copes with better
//! than a gap.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep, timeout, Instant};
use tokio_rustls::TlsConnector;

use crate::forward::{Counters, TlsConfigs};
use crate::{format, frame, Message, Target, Transport};

const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A blackholed address would otherwise hold a connect for minutes.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A server that accepts but stops reading is as good as gone.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// How much a TCP or TLS write gathers from the queue at once.
const BATCH_BYTES: usize = 64 * 1024;
/// A UDP target's name is looked up again this often, so a changed DNS record is followed even
/// when sending never fails.
const UDP_REFRESH: Duration = Duration::from_secs(300);

pub(crate) struct Job {
    pub(crate) target: Target,
    pub(crate) rx: mpsc::Receiver<Arc<Message>>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) tls: watch::Receiver<TlsConfigs>,
}

pub(crate) async fn run(job: Job) {
    match job.target.transport {
        Transport::Udp => udp(job).await,
        Transport::Tcp | Transport::Tls => stream(job).await,
    }
}

/// 1 s, doubling up to 30 s, back to 1 s once something got through.
struct Backoff(Duration);

impl Backoff {
    fn new() -> Backoff {
        Backoff(FIRST_BACKOFF)
    }

    fn step(&mut self) -> Duration {
        let d = self.0;
        self.0 = (d * 2).min(MAX_BACKOFF);
        d
    }

    fn reset(&mut self) {
        self.0 = FIRST_BACKOFF;
    }
}

fn encode(m: &Message, t: &Target) -> Vec<u8> {
    frame(&format(m, t.format), t.transport, t.format)
}

async fn udp(mut job: Job) {
    let c = job.counters.clone();
    let mut socket: Option<(UdpSocket, Instant)> = None;
    let mut backoff = Backoff::new();
    while let Some(m) = job.rx.recv().await {
        let datagram = encode(&m, &job.target);
        let mut failures = 0;
        loop {
            if socket
                .as_ref()
                .is_some_and(|(_, made)| made.elapsed() > UDP_REFRESH)
            {
                socket = None;
            }
            if socket.is_none() {
                match udp_socket(&job.target).await {
                    Ok(s) => {
                        socket = Some((s, Instant::now()));
                        c.connected.store(true, Ordering::Relaxed);
                    }
                    Err(e) => {
                        c.error(e);
                        sleep(backoff.step()).await;
                        continue;
                    }
                }
            }
            let Some((s, _)) = &socket else { continue };
            match s.send(&datagram).await {
                Ok(_) => {
                    Counters::add(&c.sent, 1);
                    backoff.reset();
                    break;
                }
                Err(e) => {
                    // Often an ICMP error left over from an earlier datagram (connection
                    // refused): this one was not sent. Look the name up again and retry once.
                    c.error(format!("sending to {}: {e}", job.target.address));
                    socket = None;
                    failures += 1;
                    if failures >= 2 {
                        Counters::add(&c.failed, 1);
                        break;
                    }
                }
            }
        }
    }
}

async fn udp_socket(t: &Target) -> Result<UdpSocket, String> {
    let mut last = String::new();
    for addr in resolve(t).await? {
        let local = match addr {
            SocketAddr::V4(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
            SocketAddr::V6(_) => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
        };
        let made = async {
            let s = UdpSocket::bind(local).await?;
            // Connected, so that the kernel reports a refusing server and the status shows it.
            s.connect(addr).await?;
            Ok::<_, std::io::Error>(s)
        };
        match made.await {
            Ok(s) => return Ok(s),
            Err(e) => last = format!("UDP socket to {addr}: {e}"),
        }
    }
    Err(last)
}

/// The address without the brackets an IPv6 literal may be written with.
fn host(t: &Target) -> &str {
    let a = t.address.trim();
    a.strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(a)
}

async fn resolve(t: &Target) -> Result<Vec<SocketAddr>, String> {
    let host = host(t);
    if host.is_empty() {
        return Err("no address".into());
    }
    if let Some(ip) = causeway_dns::ip_literal(host) {
        return Ok(vec![SocketAddr::new(ip, t.port)]);
    }
    if !t.dns_servers.is_empty() {
        let resolver =
            causeway_dns::DnsResolver::new(&causeway_dns::DnsConfig::from_ips(&t.dns_servers))
                .map_err(|e| e.to_string())?;
        let ips = resolver.addresses(host).await?;
        return Ok(ips
            .into_iter()
            .map(|ip| SocketAddr::new(ip, t.port))
            .collect());
    }
    match tokio::net::lookup_host((host, t.port)).await {
        Ok(addrs) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                Err(format!("{host} has no address"))
            } else {
                Ok(addrs)
            }
        }
        Err(e) => Err(format!("resolving {host}: {e}")),
    }
}

trait Conn: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Conn for T {}

async fn stream(mut job: Job) {
    let c = job.counters.clone();
    let is_tls = job.target.transport == Transport::Tls;
    let mut batch: Vec<u8> = Vec::new();
    let mut in_batch: u64 = 0;
    let mut backoff = Backoff::new();
    let mut first = true;
    loop {
        if !first {
            let delay = backoff.step();
            // New trust settings may be what the server was waiting for: try at once.
            tokio::select! {
                _ = sleep(delay) => {}
                _ = tls_changed(&mut job.tls, is_tls) => {}
            }
        }
        first = false;
        let tls = job.tls.borrow_and_update().clone();
        let mut conn = match connect(&job.target, &tls).await {
            Ok(conn) => conn,
            Err(e) => {
                c.error(e);
                continue;
            }
        };
        c.connected.store(true, Ordering::Relaxed);
        let why: String = 'conn: loop {
            if batch.is_empty() {
                let mut scratch = [0u8; 512];
                tokio::select! {
                    m = job.rx.recv() => {
                        let Some(m) = m else { return };
                        batch.extend(encode(&m, &job.target));
                        in_batch = 1;
                        while batch.len() < BATCH_BYTES {
                            let Ok(m) = job.rx.try_recv() else { break };
                            batch.extend(encode(&m, &job.target));
                            in_batch += 1;
                        }
                    }
                    // A syslog server never speaks; reading only notices it hanging up.
                    r = conn.read(&mut scratch) => match r {
                        Ok(0) => break 'conn "connection closed by the server".to_string(),
                        Ok(_) => continue 'conn,
                        Err(e) => break 'conn format!("connection lost: {e}"),
                    },
                    _ = tls_changed(&mut job.tls, is_tls) => {
                        break 'conn "TLS settings changed; reconnecting".to_string();
                    }
                }
            }
            let written = async {
                conn.write_all(&batch).await?;
                conn.flush().await
            };
            match timeout(WRITE_TIMEOUT, written).await {
                Ok(Ok(())) => {
                    Counters::add(&c.sent, in_batch);
                    batch.clear();
                    in_batch = 0;
                    backoff.reset();
                }
                Ok(Err(e)) => break 'conn format!("writing: {e}"),
                Err(_) => break 'conn "writing timed out".to_string(),
            }
        };
        c.error(why);
    }
}

/// Resolves when the TLS configurations change; never, for other transports.
async fn tls_changed(rx: &mut watch::Receiver<TlsConfigs>, watching: bool) {
    if watching && rx.changed().await.is_ok() {
        return;
    }
    std::future::pending::<()>().await
}

async fn connect(t: &Target, tls: &TlsConfigs) -> Result<Box<dyn Conn>, String> {
    let tls = if t.transport == Transport::Tls {
        let config = if t.crl_check {
            tls.crl.clone().ok_or(
                "CRL checking is on but no certificate revocation lists are loaded".to_string(),
            )?
        } else {
            tls.plain
                .clone()
                .ok_or("no TLS client configuration (trusted CAs)".to_string())?
        };
        let name = ServerName::try_from(host(t).to_string())
            .map_err(|e| format!("{:?} cannot be checked in a certificate: {e}", t.address))?;
        Some((TlsConnector::from(config), name))
    } else {
        None
    };
    let mut last = String::new();
    for addr in resolve(t).await? {
        let tcp = match timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                last = format!("connecting to {addr}: {e}");
                continue;
            }
            Err(_) => {
                last = format!("connecting to {addr}: timed out");
                continue;
            }
        };
        // Writes are already batched; do not hold the last one back.
        let _ = tcp.set_nodelay(true);
        let Some((connector, name)) = &tls else {
            return Ok(Box::new(tcp));
        };
        match timeout(CONNECT_TIMEOUT, connector.connect(name.clone(), tcp)).await {
            Ok(Ok(s)) => return Ok(Box::new(s)),
            Ok(Err(e)) => last = format!("TLS with {addr}: {e}"),
            Err(_) => last = format!("TLS with {addr}: handshake timed out"),
        }
    }
    Err(last)
}
