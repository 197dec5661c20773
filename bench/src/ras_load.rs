//! RAS load generator: many H.323 endpoints registering, refreshing, asking admission and
//! disengaging, over UDP against a gatekeeper, with a fixed number of requests in flight.
//! Prints transactions per second and latency percentiles for each phase.
//!
//!     ras-load --gk 127.0.0.1:1719 [--endpoints 2000] [--window 32] [--rounds 5]
//!
//! Messages are built and read with causeway's PER codec; every answer is checked to be the
//! confirm the phase expects.

use causeway_h323::alias::Alias;
use causeway_h323::ras::build::client;
use causeway_h323_asn1::h225::RasMessage;
use causeway_h323_asn1::{bmp_text, decode_ras, encode_ras};
use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

struct Args {
    gk: SocketAddr,
    endpoints: usize,
    window: usize,
    rounds: usize,
}

fn args() -> Args {
    let mut a = Args {
        gk: "127.0.0.1:1719".parse().unwrap(),
        endpoints: 2000,
        window: 32,
        rounds: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--gk" => a.gk = value.parse().expect("--gk HOST:PORT"),
            "--endpoints" => a.endpoints = value.parse().expect("--endpoints N"),
            "--window" => a.window = value.parse().expect("--window N"),
            "--rounds" => a.rounds = value.parse().expect("--rounds N"),
            _ => panic!("unknown option {flag}"),
        }
    }
    a
}

/// What a phase measured.
struct Phase {
    name: &'static str,
    done: usize,
    lost: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Phase {
    fn print(&mut self) {
        self.latencies.sort();
        let pct = |p: f64| {
            self.latencies
                .get(
                    ((self.latencies.len() as f64 * p) as usize)
                        .min(self.latencies.len().saturating_sub(1)),
                )
                .map_or(0, |d| d.as_micros())
        };
        println!(
            "{:<22} {:>8} transactions {:>9.0}/s  p50 {:>6} us  p99 {:>6} us  lost {}",
            self.name,
            self.done,
            self.done as f64 / self.elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.99),
            self.lost
        );
    }
}

/// Runs `total` transactions with at most `window` in flight. `make(i, seq)` builds request i;
/// `check(i, answer)` says whether the answer is the expected confirm.
fn run(
    name: &'static str,
    sock: &UdpSocket,
    gk: SocketAddr,
    window: usize,
    total: usize,
    mut make: impl FnMut(usize, u16) -> RasMessage,
    mut check: impl FnMut(usize, &RasMessage) -> bool,
) -> Phase {
    let mut in_flight: HashMap<u16, (usize, Instant)> = HashMap::new();
    let mut next = 0usize;
    let mut seq: u16 = 1;
    let mut latencies = Vec::with_capacity(total);
    let mut lost = 0;
    let mut buf = vec![0u8; 4096];
    let start = Instant::now();
    while latencies.len() + lost < total {
        while in_flight.len() < window && next < total {
            seq = seq.wrapping_add(1).max(1);
            let bytes = encode_ras(&make(next, seq)).expect("requests encode");
            sock.send_to(&bytes, gk).expect("send");
            in_flight.insert(seq, (next, Instant::now()));
            next += 1;
        }
        match sock.recv_from(&mut buf) {
            Ok((n, _)) => {
                let msg = decode_ras(&buf[..n]).expect("answers decode");
                let Some(s) = seq_of(&msg) else { continue };
                if let Some((i, sent)) = in_flight.remove(&s) {
                    assert!(check(i, &msg), "{name}: unexpected answer {msg:?}");
                    latencies.push(sent.elapsed());
                }
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                // A second without answers: whatever is in flight is lost.
                lost += in_flight.len();
                in_flight.clear();
            }
            Err(e) => panic!("recv: {e}"),
        }
    }
    Phase {
        name,
        done: latencies.len(),
        lost,
        elapsed: start.elapsed(),
        latencies,
    }
}

fn seq_of(m: &RasMessage) -> Option<u16> {
    Some(match m {
        RasMessage::registrationConfirm(x) => x.request_seq_num.0,
        RasMessage::registrationReject(x) => x.request_seq_num.0,
        RasMessage::admissionConfirm(x) => x.request_seq_num.0,
        RasMessage::admissionReject(x) => x.request_seq_num.0,
        RasMessage::disengageConfirm(x) => x.request_seq_num.0,
        RasMessage::disengageReject(x) => x.request_seq_num.0,
        RasMessage::unregistrationConfirm(x) => x.request_seq_num.0,
        RasMessage::unregistrationReject(x) => x.request_seq_num.0,
        _ => return None,
    })
}

fn main() {
    let a = args();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let me = sock.local_addr().unwrap();
    let cs: SocketAddr = SocketAddr::new(me.ip(), 1720);
    let aliases: Vec<Vec<Alias>> = (0..a.endpoints)
        .map(|i| {
            vec![
                Alias::H323Id(format!("bench-{i}")),
                Alias::E164(format!("7{i:06}")),
            ]
        })
        .collect();
    let mut ids: Vec<String> = vec![String::new(); a.endpoints];

    let mut phase = run(
        "RRQ/RCF (full)",
        &sock,
        a.gk,
        a.window,
        a.endpoints,
        |i, seq| client::rrq(seq, &aliases[i], me, cs, None),
        |i, m| match m {
            RasMessage::registrationConfirm(c) => {
                ids[i] = bmp_text(&c.endpoint_identifier.0);
                true
            }
            _ => false,
        },
    );
    phase.print();
    let n = a.endpoints;
    let mut phase = run(
        "RRQ/RCF (keep-alive)",
        &sock,
        a.gk,
        a.window,
        n * a.rounds,
        |i, seq| client::rrq(seq, &[], me, cs, Some(&ids[i % n])),
        |_, m| matches!(m, RasMessage::registrationConfirm(_)),
    );
    phase.print();
    let call = |i: usize| -> [u8; 16] {
        let mut g = [0u8; 16];
        g[..8].copy_from_slice(&(i as u64).to_be_bytes());
        g[8] = 0xca;
        g
    };
    let mut phase = run(
        "ARQ/ACF",
        &sock,
        a.gk,
        a.window,
        n * a.rounds,
        |i, seq| {
            let from = i % n;
            let to = (i + 1) % n;
            client::arq(
                seq,
                &ids[from],
                &aliases[from],
                &aliases[to],
                call(i),
                (i % 65535) as u16 + 1,
            )
        },
        |_, m| matches!(m, RasMessage::admissionConfirm(_)),
    );
    phase.print();
    let mut phase = run(
        "DRQ/DCF",
        &sock,
        a.gk,
        a.window,
        n * a.rounds,
        |i, seq| client::drq(seq, &ids[i % n], call(i), (i % 65535) as u16 + 1),
        |_, m| matches!(m, RasMessage::disengageConfirm(_)),
    );
    phase.print();
    let mut phase = run(
        "URQ/UCF",
        &sock,
        a.gk,
        a.window,
        n,
        |i, seq| client::urq(seq, &ids[i], cs),
        |_, m| matches!(m, RasMessage::unregistrationConfirm(_)),
    );
    phase.print();
}
