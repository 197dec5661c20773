//! Routed H.323 call signalling on `CallSignaling TCP Port`: one task per call, holding the
//! caller's connection and ours to the callee, around the sans-IO [`RoutedCall`]. H.245 on
//! separate connections goes through relays of ours, so that it is routed too.

use crate::calls::Calls;
use causeway_h323::q931::CauseValue;
use causeway_h323::signalling::{release_complete, Leg, RoutedCall, SetupInfo, Signal, Step};
use causeway_h323::tpkt::{self, Deframer};
use causeway_h323_asn1::h225::ReleaseCompleteReason;
use causeway_observe::EventLog;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;

/// How long a new connection may take to send its Setup.
const SETUP_WAIT: Duration = Duration::from_secs(10);
/// How long connecting to the callee (or to an H.245 peer) may take.
const CONNECT_WAIT: Duration = Duration::from_secs(10);
/// How long an H.245 relay waits for the side it was offered to.
const H245_WAIT: Duration = Duration::from_secs(60);

/// What the calls share: the registrations to route by, the call table, the event log.
pub struct Ctx {
    pub shared: Arc<super::state::Shared>,
    pub calls: Arc<Mutex<Calls>>,
    pub log: Arc<EventLog>,
    /// `CallSignaling PortRange Start/End`: our side of outgoing connections and relays.
    pub range: Mutex<(u16, u16)>,
    next_port: AtomicU32,
}

impl Ctx {
    pub fn new(
        shared: Arc<super::state::Shared>,
        calls: Arc<Mutex<Calls>>,
        log: Arc<EventLog>,
    ) -> Ctx {
        Ctx {
            shared,
            calls,
            log,
            range: Mutex::new((15000, 19999)),
            next_port: AtomicU32::new(0),
        }
    }

    /// The ports of the range to try for one socket, taking turns between sockets: at most
    /// 64, so that a full range gives up quickly (the caller then takes any port).
    fn ports(&self) -> impl Iterator<Item = u16> + '_ {
        let (start, end) = *self.range.lock().unwrap();
        let span = u32::from(end.saturating_sub(start)) + 1;
        (0..span.min(64))
            .map(move |_| start + (self.next_port.fetch_add(1, Ordering::Relaxed) % span) as u16)
    }
}

/// Something an operator or RAS decided about a running call.
#[derive(Debug)]
pub enum CallNotice {
    Clear(String),
}

/// The running calls' notice channels, by call identifier.
#[derive(Default)]
pub struct Active(Mutex<HashMap<[u8; 16], mpsc::UnboundedSender<CallNotice>>>);

impl Active {
    pub fn tell(&self, call_id: &[u8; 16], notice: CallNotice) -> bool {
        self.0
            .lock()
            .unwrap()
            .get(call_id)
            .is_some_and(|tx| tx.send(notice).is_ok())
    }
}

/// Accepts callers until the task is aborted.
pub async fn serve(listener: TcpListener, ctx: Arc<Ctx>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let ctx = ctx.clone();
        tokio::spawn(async move { call(stream, peer, ctx).await });
    }
}

fn hex(id: &[u8; 16]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads the next call-signalling message: `None` when the connection closed or broke.
async fn read_signal(
    rd: &mut OwnedReadHalf,
    frames: &mut Deframer,
) -> Option<Result<Signal, String>> {
    let mut buf = [0u8; 8192];
    loop {
        match frames.pop() {
            Ok(Some(payload)) if payload.is_empty() => continue, // a TPKT keep-alive
            Ok(Some(payload)) => {
                return Some(Signal::decode(&payload).map_err(|e| e.to_string()));
            }
            Ok(None) => {}
            // Framing is lost for good: the connection is as good as closed.
            Err(_) => return None,
        }
        match rd.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => frames.push(&buf[..n]),
        }
    }
}

async fn write_signal(wr: &mut OwnedWriteHalf, s: &Signal) -> std::io::Result<()> {
    let framed = tpkt::frame(&s.encode()).map_err(std::io::Error::other)?;
    wr.write_all(&framed).await
}

/// Connects from a port of the range (any port when none is free).
async fn connect_from_range(
    ctx: &Ctx,
    local: IpAddr,
    to: SocketAddr,
) -> std::io::Result<TcpStream> {
    for port in ctx.ports() {
        let s = if to.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        if s.bind(SocketAddr::new(local, port)).is_ok() {
            return tokio::time::timeout(CONNECT_WAIT, s.connect(to))
                .await
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?;
        }
    }
    tokio::time::timeout(CONNECT_WAIT, TcpStream::connect(to))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
}

/// A relay for H.245 offered at `target`: a listener of ours on `local` (the address the other
/// side reaches us on) that connects the first caller through to `target`. Returns the
/// listener's address, which replaces `target` in the message.
async fn h245_relay(ctx: &Ctx, local: IpAddr, target: SocketAddr) -> Option<SocketAddr> {
    let mut listener = None;
    for port in ctx.ports() {
        if let Ok(l) = TcpListener::bind(SocketAddr::new(local, port)).await {
            listener = Some(l);
            break;
        }
    }
    let listener = match listener {
        Some(l) => l,
        None => TcpListener::bind(SocketAddr::new(local, 0)).await.ok()?,
    };
    let addr = listener.local_addr().ok()?;
    tokio::spawn(async move {
        let Ok(Ok((mut inbound, _))) = tokio::time::timeout(H245_WAIT, listener.accept()).await
        else {
            return;
        };
        drop(listener);
        let Ok(Ok(mut outbound)) =
            tokio::time::timeout(CONNECT_WAIT, TcpStream::connect(target)).await
        else {
            return;
        };
        // H.245 is TPKT-framed on both sides; the relay copies it as it comes.
        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
    });
    Some(addr)
}

/// One call, from the caller's connection.
async fn call(stream: TcpStream, peer: SocketAddr, ctx: Arc<Ctx>) {
    let _ = stream.set_nodelay(true);
    let a_local = match stream.local_addr() {
        Ok(a) => a,
        Err(_) => return,
    };
    let (mut a_rd, mut a_wr) = stream.into_split();
    let mut a_frames = Deframer::new();
    let setup = match tokio::time::timeout(SETUP_WAIT, read_signal(&mut a_rd, &mut a_frames)).await
    {
        Ok(Some(Ok(s))) => s,
        Ok(Some(Err(e))) => {
            log(
                &ctx,
                2,
                "Bad Call Signalling",
                peer,
                &format!("not a Q.931 message: {e}"),
            );
            return;
        }
        _ => return,
    };
    let crv = setup.q931.call_reference.value();
    let Some(info) = SetupInfo::of(&setup) else {
        // Not a Setup with H.225.0 content: nothing to route.
        let rc = release_complete(crv, false, CauseValue(95), None, None);
        let _ = write_signal(&mut a_wr, &rc).await;
        return;
    };
    let source = info
        .source
        .first()
        .map_or_else(|| peer.ip().to_string(), |a| a.text().to_string());
    let dest_text = info
        .destination
        .first()
        .map_or(String::new(), |a| a.text().to_string());
    let routing = ctx.shared.routing.lock().unwrap().clone();
    let from = super::routing::source_of(&routing, &ctx.shared, peer.ip(), &info.source);
    let shared = ctx.shared.clone();
    let locator = move |req| shared.locate(req);
    let mut trace = Vec::new();
    let routed = super::routing::route(
        &routing,
        &ctx.shared,
        &locator,
        super::routing::Wanted {
            source: from,
            destinations: &info.destination,
            caller_aliases: &info.source,
            hop_count: info.hop_count,
            method: causeway_policy::MessageKind::Setup,
            caller_address: Some(peer),
        },
        &mut trace,
    )
    .await;
    let (found, outcome) = match &routed {
        super::routing::Routed::To(at, alias, _) => (true, format!("{alias} found at {at}")),
        super::routing::Routed::NotFound(why) => (false, format!("{why:?}")),
    };
    let detail = format!("{outcome}: {}", trace.join("; "));
    let found_text = if found { "True" } else { "False" };
    super::search_completed(&ctx.log, peer, &dest_text, found_text, &detail);
    ctx.shared
        .record_search(crate::search_history::SearchRecord {
            id: ctx.shared.search_id(),
            started: SystemTime::now(),
            kind: "Setup".into(),
            source: source.clone(),
            destination: dest_text.clone(),
            found,
            outcome,
            call_id: hex(&info.call_id),
            trace,
        });
    let (callee, routed_alias, hops) = match routed {
        super::routing::Routed::To(at, alias, hops) => (at, alias, hops),
        super::routing::Routed::NotFound(why) => {
            let (cause, reason) = refusal_cause(&why);
            let rc = release_complete(crv, false, cause, Some(reason), Some(info.call_id));
            let _ = write_signal(&mut a_wr, &rc).await;
            call_event(&ctx, "Call Rejected", &source, &dest_text, peer, &detail);
            return;
        }
    };
    // When a transform changed the alias, the callee is asked for the alias the search found.
    let changed = info
        .destination
        .iter()
        .all(|d| !d.text().eq_ignore_ascii_case(&routed_alias));
    let destination = changed.then(|| causeway_h323::alias::Alias::guess(&routed_alias));
    // The search's hop count (the zone's, or what the caller's allowed, less one) goes on with
    // the Setup, so that a routing loop between gatekeepers ends.
    let hop_count = Some(hops.max(1));

    let number = ctx.calls.lock().unwrap().start(
        "H323",
        &source,
        &dest_text,
        &hex(&info.call_id),
        None,
        SystemTime::now(),
    );
    call_event(&ctx, "Call Attempted", &source, &dest_text, peer, "");
    let (tx, mut notices) = mpsc::unbounded_channel();
    ctx.shared.active.0.lock().unwrap().insert(info.call_id, tx);
    let leg = Leg2 {
        callee,
        destination,
        hop_count,
    };
    let reason = run(
        &ctx,
        setup,
        leg,
        a_local,
        a_rd,
        a_wr,
        a_frames,
        &mut notices,
        number,
    )
    .await;
    ctx.shared.active.0.lock().unwrap().remove(&info.call_id);
    ctx.shared.with_gatekeeper(|gk| gk.call_ended(info.call_id));
    ctx.calls
        .lock()
        .unwrap()
        .end(number, &reason, SystemTime::now());
    call_event(
        &ctx,
        "Call Disconnected",
        &source,
        &dest_text,
        peer,
        &reason,
    );
}

/// What a search refusal becomes on the wire: a Q.931 cause and an H.225.0 reason.
fn refusal_cause(r: &causeway_routing::Refusal) -> (CauseValue, ReleaseCompleteReason) {
    use causeway_routing::Refusal;
    match r {
        Refusal::Rejected { .. } => (
            CauseValue::CALL_REJECTED,
            ReleaseCompleteReason::destinationRejection(()),
        ),
        Refusal::NotFound => (
            CauseValue::UNALLOCATED_NUMBER,
            ReleaseCompleteReason::calledPartyNotRegistered(()),
        ),
        _ => (
            CauseValue::NO_ROUTE_TO_DESTINATION,
            ReleaseCompleteReason::unreachableDestination(()),
        ),
    }
}

/// Where the call's second leg goes.
struct Leg2 {
    callee: SocketAddr,
    /// The alias to ask for there, when the search changed it.
    destination: Option<causeway_h323::alias::Alias>,
    hop_count: Option<u8>,
}

/// Runs an admitted call to its end; returns why it ended.
#[allow(clippy::too_many_arguments)]
async fn run(
    ctx: &Ctx,
    setup: Signal,
    leg: Leg2,
    a_local: SocketAddr,
    mut a_rd: OwnedReadHalf,
    mut a_wr: OwnedWriteHalf,
    mut a_frames: Deframer,
    notices: &mut mpsc::UnboundedReceiver<CallNotice>,
    number: u32,
) -> String {
    let crv = setup.q931.call_reference.value();
    let callee = leg.callee;
    let b = match connect_from_range(ctx, a_local.ip(), callee).await {
        Ok(b) => b,
        Err(e) => {
            let rc = release_complete(
                crv,
                false,
                CauseValue::DESTINATION_OUT_OF_ORDER,
                Some(ReleaseCompleteReason::unreachableDestination(())),
                SetupInfo::of(&setup).map(|i| i.call_id),
            );
            let _ = write_signal(&mut a_wr, &rc).await;
            return format!("the callee at {callee} cannot be reached: {e}");
        }
    };
    let _ = b.set_nodelay(true);
    let b_local = b.local_addr().unwrap_or(a_local);
    let (mut b_rd, mut b_wr) = b.into_split();
    let mut b_frames = Deframer::new();
    let our_crv = (rand::random::<u16>() & 0x7fff).max(1);
    let Some((mut call, mut out)) = RoutedCall::start_to(
        &setup,
        callee,
        b_local,
        our_crv,
        leg.destination.as_ref(),
        leg.hop_count,
    ) else {
        return "the Setup could not be routed".into();
    };
    // The callee reaches H.245 relays on our address towards it, the caller on ours towards it.
    let local_for = |leg: Leg| match leg {
        Leg::Caller => a_local.ip(),
        Leg::Callee => b_local.ip(),
    };
    if let Some(h245) = out.h245_address() {
        if let Some(relay) = h245_relay(ctx, local_for(Leg::Callee), h245).await {
            out.set_h245_address(relay);
        }
    }
    if write_signal(&mut b_wr, &out).await.is_err() {
        return "the Setup could not be sent to the callee".into();
    }
    loop {
        let steps = tokio::select! {
            r = read_signal(&mut a_rd, &mut a_frames) => match r {
                Some(Ok(s)) => call.on_message(Leg::Caller, s),
                Some(Err(e)) => {
                    log_peer(ctx, "caller", &e);
                    continue;
                }
                None => call.on_closed(Leg::Caller),
            },
            r = read_signal(&mut b_rd, &mut b_frames) => match r {
                Some(Ok(s)) => call.on_message(Leg::Callee, s),
                Some(Err(e)) => {
                    log_peer(ctx, "callee", &e);
                    continue;
                }
                None => call.on_closed(Leg::Callee),
            },
            Some(n) = notices.recv() => match n {
                CallNotice::Clear(why) => {
                    let steps = call.clear(CauseValue::NORMAL_CALL_CLEARING);
                    deliver(ctx, steps, &mut a_wr, &mut b_wr, &local_for, number).await;
                    return why;
                }
            },
        };
        if let Some(reason) = deliver(ctx, steps, &mut a_wr, &mut b_wr, &local_for, number).await {
            return reason;
        }
    }
}

/// Sends what the call decided; `Some(reason)` once it ended.
async fn deliver(
    ctx: &Ctx,
    steps: Vec<Step>,
    a_wr: &mut OwnedWriteHalf,
    b_wr: &mut OwnedWriteHalf,
    local_for: &impl Fn(Leg) -> IpAddr,
    number: u32,
) -> Option<String> {
    let mut ended = None;
    for step in steps {
        match step {
            Step::Forward(leg, mut s) => {
                if let Some(h245) = s.h245_address() {
                    if let Some(relay) = h245_relay(ctx, local_for(leg), h245).await {
                        s.set_h245_address(relay);
                    }
                }
                let wr = match leg {
                    Leg::Caller => &mut *a_wr,
                    Leg::Callee => &mut *b_wr,
                };
                let _ = write_signal(wr, &s).await;
            }
            Step::Connected => {
                let call = {
                    let mut calls = ctx.calls.lock().unwrap();
                    calls.connected(number, SystemTime::now());
                    calls.get(number).cloned()
                };
                if let Some(c) = call {
                    ctx.log.event(
                        1,
                        "tvcs",
                        "Call Connected",
                        &[
                            ("Protocol", "H323"),
                            ("Src-alias", &c.source),
                            ("Dst-alias", &c.destination),
                            ("Call-serial-number", &c.serial.to_string()),
                        ],
                    );
                }
            }
            Step::Ended { cause, by } => {
                let who = match by {
                    Leg::Caller => "caller",
                    Leg::Callee => "callee",
                };
                ended = Some(
                    match cause.and_then(|c| CauseValue(c).name().map(|n| (c, n))) {
                        Some((c, name)) => format!("released by the {who}: cause {c} ({name})"),
                        None => format!("released by the {who}"),
                    },
                );
            }
        }
    }
    if ended.is_some() {
        let _ = a_wr.shutdown().await;
        let _ = b_wr.shutdown().await;
    }
    ended
}

fn log(ctx: &Ctx, level: u8, event: &str, peer: SocketAddr, detail: &str) {
    ctx.log.event(
        level,
        "tvcs",
        event,
        &[
            ("Protocol", "H323"),
            ("Src-ip", &peer.ip().to_string()),
            ("Src-port", &peer.port().to_string()),
            ("Detail", detail),
        ],
    );
}

fn log_peer(ctx: &Ctx, who: &str, e: &str) {
    ctx.log.event(
        2,
        "tvcs",
        "Bad Call Signalling",
        &[
            ("Protocol", "H323"),
            ("Detail", &format!("from the {who}: {e}")),
        ],
    );
}

fn call_event(ctx: &Ctx, event: &str, src: &str, dst: &str, peer: SocketAddr, detail: &str) {
    let mut fields = vec![("Protocol", "H323"), ("Src-alias", src), ("Dst-alias", dst)];
    let ip = peer.ip().to_string();
    fields.push(("Src-ip", &ip));
    if !detail.is_empty() {
        fields.push(("Detail", detail));
    }
    ctx.log.event(1, "tvcs", event, &fields);
}
