//! Many datagrams per system call on the service's UDP sockets: `recvmmsg` to read what is
//! waiting, `sendmmsg` to send what a batch produced. Relaying is mostly system calls; one per
//! batch instead of one per packet is where the time goes.

use socket2::SockAddr;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Datagrams read in one call.
pub(super) const BATCH: usize = 32;
/// Room for one datagram. Media and TURN messages are far smaller; a larger datagram arrives
/// cut short, fails to parse and is dropped.
const SLOT: usize = 4096;
/// Datagrams sent in one call at most (the kernel's UIO_MAXIOV is far above).
const SEND_CHUNK: usize = 64;

/// Buffers for one batch of received datagrams. Every reading task of the service's thread
/// shares one (they take turns between awaits), so a thousand relays do not each hold one.
pub(super) struct RecvBatch {
    buf: Vec<u8>,
    addrs: Vec<libc::sockaddr_storage>,
    lens: [(usize, libc::socklen_t); BATCH],
    n: usize,
}

impl RecvBatch {
    pub(super) fn new() -> RecvBatch {
        RecvBatch {
            buf: vec![0u8; BATCH * SLOT],
            // SAFETY: an all-zero sockaddr_storage is a valid (AF_UNSPEC) value.
            addrs: vec![unsafe { std::mem::zeroed() }; BATCH],
            lens: [(0, 0); BATCH],
            n: 0,
        }
    }

    /// Reads what is waiting on `sock`, up to [`BATCH`] datagrams; `WouldBlock` when nothing
    /// is.
    pub(super) fn recv(&mut self, sock: &UdpSocket) -> io::Result<usize> {
        self.n = 0;
        let fd = sock.as_raw_fd();
        let n = sock.try_io(Interest::READABLE, || {
            let mut iovs: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
            let mut hdrs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
            for i in 0..BATCH {
                iovs[i] = libc::iovec {
                    iov_base: self.buf[i * SLOT..].as_mut_ptr().cast(),
                    iov_len: SLOT,
                };
                hdrs[i].msg_hdr.msg_name =
                    (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
                hdrs[i].msg_hdr.msg_namelen =
                    std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
                hdrs[i].msg_hdr.msg_iov = &mut iovs[i];
                hdrs[i].msg_hdr.msg_iovlen = 1;
            }
            // SAFETY: every header points at a live buffer of the length it names, and at an
            // address slot of its own; the kernel writes no further.
            let r = unsafe {
                libc::recvmmsg(
                    fd,
                    hdrs.as_mut_ptr(),
                    BATCH as libc::c_uint,
                    libc::MSG_DONTWAIT,
                    std::ptr::null_mut(),
                )
            };
            if r < 0 {
                return Err(io::Error::last_os_error());
            }
            let r = r as usize;
            for (i, h) in hdrs.iter().take(r).enumerate() {
                self.lens[i] = (h.msg_len as usize, h.msg_hdr.msg_namelen);
            }
            Ok(r)
        })?;
        self.n = n;
        Ok(n)
    }

    /// The datagrams read, with their sources.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&[u8], SocketAddr)> + '_ {
        (0..self.n).filter_map(move |i| {
            let (len, namelen) = self.lens[i];
            // SAFETY: the kernel filled this slot with an address of `namelen` bytes.
            let from = unsafe { SockAddr::new(self.addrs[i], namelen) }.as_socket()?;
            Some((&self.buf[i * SLOT..i * SLOT + len.min(SLOT)], from))
        })
    }
}

/// Datagrams waiting to be sent, each to its address and by way of a socket named by `via`
/// (a relay address; unused for the listener's batch). Their bytes share one buffer, kept
/// from batch to batch.
#[derive(Default)]
pub(super) struct SendBatch {
    buf: Vec<u8>,
    msgs: Vec<(SocketAddr, usize, usize, SocketAddr)>,
    /// The destinations of one call in the kernel's form, kept so that a call allocates
    /// nothing.
    addrs: Vec<SockAddr>,
}

impl SendBatch {
    pub(super) fn push(&mut self, via: SocketAddr, bytes: &[u8], to: SocketAddr) {
        let start = self.buf.len();
        self.buf.extend_from_slice(bytes);
        self.msgs.push((via, start, bytes.len(), to));
    }

    pub(super) fn is_empty(&self) -> bool {
        self.msgs.is_empty()
    }

    /// Sends everything through `socket(via)`, one call per run of datagrams for the same
    /// socket, and empties the batch. What a full socket will not take is dropped, as a router
    /// would; so is what has no socket.
    pub(super) fn flush<'a>(
        &mut self,
        mut socket: impl FnMut(&SocketAddr) -> Option<&'a UdpSocket>,
    ) {
        // Runs of one socket: relayed media arrives in bursts from one client at a time.
        self.msgs.sort_by_key(|m| m.0);
        let mut i = 0;
        while i < self.msgs.len() {
            let via = self.msgs[i].0;
            let end = i + self.msgs[i..].iter().take_while(|m| m.0 == via).count();
            if let Some(sock) = socket(&via) {
                for chunk in self.msgs[i..end].chunks(SEND_CHUNK) {
                    self.addrs.clear();
                    self.addrs.extend(chunk.iter().map(|m| SockAddr::from(m.3)));
                    send_chunk(sock, &self.buf, chunk, &self.addrs);
                }
            }
            i = end;
        }
        self.msgs.clear();
        self.buf.clear();
    }
}

/// Sends `msgs` (their bytes in `buf`, their destinations in `addrs`) in as few calls as the
/// kernel allows.
fn send_chunk(
    sock: &UdpSocket,
    buf: &[u8],
    msgs: &[(SocketAddr, usize, usize, SocketAddr)],
    addrs: &[SockAddr],
) {
    let mut iovs: [libc::iovec; SEND_CHUNK] = unsafe { std::mem::zeroed() };
    let mut hdrs: [libc::mmsghdr; SEND_CHUNK] = unsafe { std::mem::zeroed() };
    for (i, m) in msgs.iter().enumerate() {
        iovs[i] = libc::iovec {
            iov_base: buf[m.1..].as_ptr() as *mut libc::c_void,
            iov_len: m.2,
        };
        hdrs[i].msg_hdr.msg_name = addrs[i].as_ptr() as *mut libc::c_void;
        hdrs[i].msg_hdr.msg_namelen = addrs[i].len();
        hdrs[i].msg_hdr.msg_iov = &mut iovs[i];
        hdrs[i].msg_hdr.msg_iovlen = 1;
    }
    let fd = sock.as_raw_fd();
    let mut sent = 0;
    while sent < msgs.len() {
        // SAFETY: the headers point at live buffers and addresses of the lengths they name;
        // the kernel only reads them.
        let r = unsafe {
            libc::sendmmsg(
                fd,
                hdrs[sent..].as_mut_ptr(),
                (msgs.len() - sent) as libc::c_uint,
                libc::MSG_DONTWAIT,
            )
        };
        if r <= 0 {
            // A full socket buffer, or a datagram refused (an unreachable peer's ICMP, say):
            // skip the one at the head and go on with the rest.
            if io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock {
                return;
            }
            sent += 1;
            continue;
        }
        sent += r as usize;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn socket() -> UdpSocket {
        UdpSocket::bind("127.0.0.1:0").await.unwrap()
    }

    #[tokio::test]
    async fn a_batch_reads_many_datagrams_with_their_sources_and_sends_them_on() {
        let (a, b, sink) = (socket().await, socket().await, socket().await);
        let (aa, ba) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        let to = sink.local_addr().unwrap();
        // 40 from one, 2 from the other: more than a batch holds.
        let mut out = SendBatch::default();
        for i in 0..40u8 {
            out.push(aa, &[i; 3], to);
        }
        out.push(ba, b"from b", to);
        out.push(ba, b"again b", to);
        out.flush(|via| {
            [&a, &b]
                .into_iter()
                .find(|s| s.local_addr().unwrap() == *via)
        });
        assert!(out.is_empty());

        let mut batch = RecvBatch::new();
        let mut got = Vec::new();
        while got.len() < 42 {
            sink.readable().await.unwrap();
            match batch.recv(&sink) {
                Ok(n) => assert!(n <= BATCH),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => panic!("{e}"),
            }
            got.extend(batch.iter().map(|(d, from)| (d.to_vec(), from)));
        }
        let from_a: Vec<Vec<u8>> = got
            .iter()
            .filter(|(_, f)| *f == aa)
            .map(|(d, _)| d.clone())
            .collect();
        let want: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 3]).collect();
        assert_eq!(from_a, want, "in order, each whole, each from its socket");
        let from_b: Vec<&[u8]> = got
            .iter()
            .filter(|(_, f)| *f == ba)
            .map(|(d, _)| d.as_slice())
            .collect();
        assert_eq!(from_b, vec![&b"from b"[..], b"again b"]);
    }

    #[tokio::test]
    async fn a_datagram_without_a_socket_or_refused_does_not_stop_the_rest() {
        let (a, sink) = (socket().await, socket().await);
        let aa = a.local_addr().unwrap();
        let to = sink.local_addr().unwrap();
        let nowhere: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let mut out = SendBatch::default();
        out.push(nowhere, b"lost", to);
        // An IPv6 destination from an IPv4 socket fails at once; the next still goes.
        out.push(aa, b"bad", "[::1]:9".parse().unwrap());
        out.push(aa, b"good", to);
        out.flush(|via| (*via == aa).then_some(&a));
        let mut buf = [0u8; 16];
        let (n, from) = sink.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"good"[..], aa));
    }
}
