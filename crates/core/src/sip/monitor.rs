//! Neighbor zone monitoring: every peer of a neighbor zone with `Neighbor Monitor: Yes` gets an
//! OPTIONS now and then; any answer (even an error) shows it alive. `xStatus Zones` shows the
//! result per peer and per zone.

use super::{Service, TimerRef};
use crate::listen::Transport;
use causeway_xapi::{Field, StatusSource};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often peers are asked, and how long an answer may take.
pub(super) const INTERVAL: Duration = Duration::from_secs(10);

/// Branches of our OPTIONS start with this (after the magic cookie and our own mark).
pub(super) const MARK: &str = "z9hG4bKcwmon";

/// What is known of one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerState {
    /// Not answered yet, but not overdue either.
    Checking,
    Active,
    Failed,
}

impl PeerState {
    fn name(self) -> &'static str {
        match self {
            PeerState::Checking => "Checking",
            PeerState::Active => "Active",
            PeerState::Failed => "Failed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct PeerView {
    pub addr: SocketAddr,
    pub transport: Transport,
    pub state: PeerState,
    sent: Option<Instant>,
    heard: Option<Instant>,
}

/// One zone as `xStatus Zones` shows it.
#[derive(Debug, Clone)]
pub struct ZoneView {
    pub name: String,
    pub kind: String,
    /// SIP on for the zone; monitored peers (neighbors only).
    pub sip: bool,
    pub monitored: bool,
    pub peers: Vec<PeerView>,
}

impl ZoneView {
    /// The zone's SIP status: Off, On (no connections to watch), or from its peers.
    fn sip_status(&self) -> String {
        if !self.sip {
            return "Off".into();
        }
        if !self.monitored || self.peers.is_empty() {
            return "On".into();
        }
        let active = self
            .peers
            .iter()
            .filter(|p| p.state == PeerState::Active)
            .count();
        if active == self.peers.len() {
            "Active".into()
        } else if active > 0 {
            format!("Active ({active} of {})", self.peers.len())
        } else if self.peers.iter().any(|p| p.state == PeerState::Checking) {
            "Checking".into()
        } else {
            "Failed".into()
        }
    }
}

/// The zones to show, rebuilt from the configuration and kept up to date by the monitor.
pub(super) fn zone_views(snap: &causeway_config::Snapshot, old: &[ZoneView]) -> Vec<ZoneView> {
    let mut out = Vec::new();
    for r in snap.rows("Zones Zone") {
        let g = |k: &str| snap.get(&format!("Zones Zone {r} {k}")).unwrap_or("");
        let name = g("Name").to_string();
        if name.is_empty() {
            continue;
        }
        let kind = g("Type").to_string();
        let neighbor = kind == "Neighbor";
        let transport = Transport::from_name(g("Neighbor SIP Transport"));
        let port = snap
            .int(&format!("Zones Zone {r} Neighbor SIP Port"))
            .unwrap_or(5061) as u16;
        let previous = old.iter().find(|z| z.name == name);
        let mut peers: Vec<PeerView> = if neighbor {
            (1..=6)
                .filter_map(|p| g(&format!("Neighbor Peer {p} Address")).trim().parse().ok())
                .map(|ip| {
                    let addr = SocketAddr::new(ip, port);
                    // A peer that was already being watched keeps what is known of it.
                    previous
                        .and_then(|z| {
                            z.peers
                                .iter()
                                .find(|p| p.addr == addr && p.transport == transport)
                        })
                        .cloned()
                        .unwrap_or(PeerView {
                            addr,
                            transport,
                            state: PeerState::Checking,
                            sent: None,
                            heard: None,
                        })
                })
                .collect()
        } else {
            Vec::new()
        };
        // Peers found through DNS stay with what is known of them until the service has
        // matched them against the new settings (`Service::sync_monitored_peers`).
        if let Some(z) = previous.filter(|_| neighbor) {
            for p in &z.peers {
                if !peers
                    .iter()
                    .any(|q| q.addr == p.addr && q.transport == p.transport)
                {
                    peers.push(p.clone());
                }
            }
        }
        out.push(ZoneView {
            name,
            kind,
            sip: g("SIP Mode") != "Off",
            // The zone profile decides (Monitor peer status), see zone_rules.
            monitored: neighbor && super::zone_rules::effective(snap, r).is_none_or(|z| z.monitor),
            peers,
        });
    }
    out
}

impl Service {
    /// Makes each neighbor zone's peers those it has now (configured addresses and what their
    /// names resolved to), keeping what is known of the peers it had.
    pub(super) fn sync_monitored_peers(&self) {
        let mut zones = self.shared.zones.lock().unwrap();
        for z in zones.iter_mut().filter(|z| z.kind == "Neighbor") {
            let Some(d) = self.derived.zones.get(&z.name.to_ascii_lowercase()) else {
                continue;
            };
            let old = std::mem::take(&mut z.peers);
            z.peers = d
                .dests
                .iter()
                .map(|dest| {
                    old.iter()
                        .find(|p| p.addr == dest.addr && p.transport == dest.transport)
                        .cloned()
                        .unwrap_or(PeerView {
                            addr: dest.addr,
                            transport: dest.transport,
                            state: PeerState::Checking,
                            sent: None,
                            heard: None,
                        })
                })
                .collect();
        }
    }

    /// Asks every monitored peer again; peers silent since the last round have failed.
    /// Peer names that are due are looked up again too.
    pub(super) async fn monitor_tick(&mut self, now: Instant) {
        self.schedule(TimerRef::Monitor, Some(now + INTERVAL));
        self.refresh_peer_names(now);
        // With SIP off there is nothing to send OPTIONS with.
        if self.snap.get("SIP Mode") != Some("On") {
            return;
        }
        let mut sends = Vec::new();
        {
            let mut zones = self.shared.zones.lock().unwrap();
            for (zi, z) in zones.iter_mut().enumerate() {
                if !z.monitored || !z.sip {
                    continue;
                }
                for (pi, p) in z.peers.iter_mut().enumerate() {
                    if let Some(sent) = p.sent {
                        if p.heard.is_none_or(|h| h < sent) && now.duration_since(sent) >= INTERVAL
                        {
                            p.state = PeerState::Failed;
                        }
                    }
                    p.sent = Some(now);
                    sends.push((zi, pi, p.transport, p.addr));
                }
            }
        }
        let zones = self.shared.zones.lock().unwrap().clone();
        for (zi, pi, t, addr) in sends {
            // A TLS peer is checked as the zone's calls check it.
            let tls = zones
                .get(zi)
                .and_then(|z| self.derived.zones.get(&z.name.to_ascii_lowercase()))
                .and_then(|d| d.dests.iter().find(|d| d.addr == addr && d.transport == t))
                .and_then(|d| d.tls.clone());
            let me = self.advertised(t, addr);
            let branch = format!("{MARK}{zi}x{pi}x{:x}", rand::random::<u32>());
            let msg = format!(
                "OPTIONS sip:{addr} SIP/2.0\r\n\
                 Via: SIP/2.0/{} {me};branch={branch};rport\r\n\
                 Max-Forwards: 70\r\n\
                 From: <sip:{me}>;tag={branch}\r\n\
                 To: <sip:{addr}>\r\n\
                 Call-ID: {branch}@{me}\r\n\
                 CSeq: 1 OPTIONS\r\n\
                 Content-Length: 0\r\n\r\n",
                t.name()
            );
            self.send_dest(
                super::proxy::Hop::Addr(t, addr),
                tls.as_ref(),
                bytes::Bytes::from(msg),
            )
            .await;
        }
    }

    /// An answer to one of our OPTIONS: its peer is alive.
    pub(super) fn monitor_answer(&mut self, branch: &str, now: Instant) {
        let Some(rest) = branch.strip_prefix(MARK) else {
            return;
        };
        let mut it = rest.split('x');
        let (Some(zi), Some(pi)) = (
            it.next().and_then(|v| v.parse::<usize>().ok()),
            it.next().and_then(|v| v.parse::<usize>().ok()),
        ) else {
            return;
        };
        let mut zones = self.shared.zones.lock().unwrap();
        if let Some(p) = zones.get_mut(zi).and_then(|z| z.peers.get_mut(pi)) {
            p.state = PeerState::Active;
            p.heard = Some(now);
        }
    }
}

/// `xStatus Zones`.
pub struct ZoneStatus(pub Arc<super::state::Shared>);

impl StatusSource for ZoneStatus {
    fn group(&self) -> &'static str {
        "Zones"
    }

    fn collect(&self) -> Vec<(String, Field)> {
        let zones = self.0.zones.lock().unwrap();
        let mut v = vec![
            ("DefaultZone Name".into(), Field::str("DefaultZone")),
            ("DefaultZone SIP Status".into(), Field::bare("On")),
        ];
        for (i, z) in zones.iter().enumerate() {
            let p = format!("Zone {} ", i + 1);
            v.push((format!("{p}Name"), Field::str(z.name.as_str())));
            v.push((format!("{p}Type"), Field::bare(&z.kind)));
            v.push((format!("{p}SIP Status"), Field::str(z.sip_status())));
            for (j, peer) in z.peers.iter().enumerate() {
                let q = format!("{p}Peer {} ", j + 1);
                v.push((format!("{q}Address"), Field::str(peer.addr.to_string())));
                v.push((
                    format!("{q}Status"),
                    Field::bare(if z.monitored { peer.state.name() } else { "On" }),
                ));
            }
        }
        v.push(("Count".into(), Field::bare(zones.len() + 1)));
        v
    }
}
