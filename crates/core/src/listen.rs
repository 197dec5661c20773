//! Which SIP listeners the configuration asks for.

use causeway_config::Snapshot;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }

    /// From a transport name as SIP writes it (Via, `transport=`), any case; anything not TCP
    /// or TLS is UDP.
    pub fn from_name(name: &str) -> Transport {
        if name.eq_ignore_ascii_case("tcp") {
            Transport::Tcp
        } else if name.eq_ignore_ascii_case("tls") {
            Transport::Tls
        } else {
            Transport::Udp
        }
    }

    pub fn reliable(self) -> bool {
        self != Transport::Udp
    }
}

/// One socket to listen on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Listener {
    pub transport: Transport,
    pub addr: SocketAddr,
}

/// The address SIP listens on: LAN 1's IPv4 address when configured, otherwise every address.
pub fn bind_address(snap: &Snapshot) -> IpAddr {
    snap.get("Ethernet 1 IP V4 Address")
        .and_then(|a| a.parse().ok())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// The listeners for this configuration: none while `SIP Mode` is Off, otherwise one per
/// transport whose mode is On, on its port.
pub fn listeners(snap: &Snapshot) -> Vec<Listener> {
    if snap.get("SIP Mode") != Some("On") {
        return Vec::new();
    }
    let ip = bind_address(snap);
    let mut out: Vec<Listener> = [Transport::Udp, Transport::Tcp, Transport::Tls]
        .into_iter()
        .filter(|t| snap.get(&format!("SIP {} Mode", t.name())) == Some("On"))
        .filter_map(|t| {
            let port = snap.int(&format!("SIP {} Port", t.name()))?;
            Some(Listener {
                transport: t,
                addr: SocketAddr::new(ip, port as u16),
            })
        })
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use causeway_config::{Change, Config, Origin};

    #[test]
    fn listeners_follow_modes_and_ports() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = Config::open(&dir.path().join("c.db")).unwrap();
        assert!(
            listeners(&cfg.snapshot()).is_empty(),
            "SIP is off by default"
        );
        let o = Origin {
            user: "t".into(),
            source: "t".into(),
        };
        let set = |p: &str, v: &str| Change::Set {
            path: p.into(),
            value: v.into(),
        };
        cfg.commit(&o, vec![set("SIP Mode", "On")]).unwrap();
        // Factory settings: TLS on 5061, UDP and TCP off.
        let l = listeners(&cfg.snapshot());
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].transport, Transport::Tls);
        assert_eq!(l[0].addr.port(), 5061);
        cfg.commit(
            &o,
            vec![
                set("SIP UDP Mode", "On"),
                set("SIP UDP Port", "15060"),
                set("SIP TCP Mode", "On"),
                set("Ethernet 1 IP V4 Address", "127.0.0.1"),
            ],
        )
        .unwrap();
        let got = |cfg: &Config| -> Vec<(Transport, String)> {
            listeners(&cfg.snapshot())
                .iter()
                .map(|l| (l.transport, l.addr.to_string()))
                .collect()
        };
        // Ports and modes apply at once; the interface address only after a restart.
        assert_eq!(
            got(&cfg),
            vec![
                (Transport::Udp, "0.0.0.0:15060".to_string()),
                (Transport::Tcp, "0.0.0.0:5060".to_string()),
                (Transport::Tls, "0.0.0.0:5061".to_string())
            ]
        );
        drop(cfg);
        let cfg = Config::open(&dir.path().join("c.db")).unwrap();
        assert_eq!(
            got(&cfg),
            vec![
                (Transport::Udp, "127.0.0.1:15060".to_string()),
                (Transport::Tcp, "127.0.0.1:5060".to_string()),
                (Transport::Tls, "127.0.0.1:5061".to_string())
            ]
        );
    }
}
