//! Plain data shared by the selection logic and the resolver: transports, DNS questions and the
//! answers fed back for them.

use std::fmt;
use std::net::IpAddr;

/// A SIP transport a destination is reached over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    /// RFC 3261's well-known ports: 5061 for TLS, 5060 otherwise.
    pub fn default_port(self) -> u16 {
        match self {
            Transport::Tls => 5061,
            Transport::Udp | Transport::Tcp => 5060,
        }
    }

    /// The transport a URI's `transport=` parameter names, if it is one we carry. RFC 3261
    /// deprecates `transport=tls` but peers still send it.
    pub fn from_uri_param(value: &str) -> Option<Transport> {
        match value.to_ascii_lowercase().as_str() {
            "udp" => Some(Transport::Udp),
            "tcp" => Some(Transport::Tcp),
            "tls" => Some(Transport::Tls),
            _ => None,
        }
    }

    /// The value of `Zones Zone [n] DNS SIP Default Transport` (`UDP`, `TCP`, `TLS`).
    pub fn from_config(value: &str) -> Option<Transport> {
        Transport::from_uri_param(value)
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        })
    }
}

/// Which transports this node has switched on (`SIP UDP Mode`, `SIP TCP Mode`, `SIP TLS Mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportSet {
    pub udp: bool,
    pub tcp: bool,
    pub tls: bool,
}

impl TransportSet {
    pub const ALL: TransportSet = TransportSet {
        udp: true,
        tcp: true,
        tls: true,
    };

    pub fn contains(self, transport: Transport) -> bool {
        match transport {
            Transport::Udp => self.udp,
            Transport::Tcp => self.tcp,
            Transport::Tls => self.tls,
        }
    }
}

impl Default for TransportSet {
    fn default() -> Self {
        TransportSet::ALL
    }
}

/// The DNS record types the routing needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKind {
    Naptr,
    Srv,
    A,
    Aaaa,
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecordKind::Naptr => "NAPTR",
            RecordKind::Srv => "SRV",
            RecordKind::A => "A",
            RecordKind::Aaaa => "AAAA",
        })
    }
}

/// One DNS question. Names are lower case without the final dot, so the same question asked
/// twice compares equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Query {
    pub name: String,
    pub kind: RecordKind,
}

impl Query {
    pub fn new(name: &str, kind: RecordKind) -> Query {
        Query {
            name: normalize_name(name),
            kind,
        }
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// A NAPTR record (RFC 3403), its text fields as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naptr {
    pub order: u16,
    pub preference: u16,
    pub flags: String,
    pub services: String,
    pub regexp: String,
    /// The replacement domain; empty for the root (`.`), meaning "none".
    pub replacement: String,
}

/// An SRV record (RFC 2782). `target` is empty for `.`, "service decidedly not available".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Srv {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: String,
}

/// What the DNS said to one [`Query`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Naptr(Vec<Naptr>),
    Srv(Vec<Srv>),
    Addresses(Vec<IpAddr>),
    /// NXDOMAIN or no records of the type asked for.
    NotFound,
    /// Timeout, SERVFAIL, REFUSED and the like. Treated as "no records" by the selection, but
    /// reported so that the search history can say why a domain was not reached.
    Failed(String),
}

/// Lower case, without a final dot: DNS names compare case-insensitively (RFC 4343).
pub fn normalize_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}
