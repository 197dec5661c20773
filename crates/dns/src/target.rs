//! What a SIP lookup starts from (the URI's host part and the DNS zone's settings) and what it
//! ends with (an ordered list of places to try).

use std::net::{IpAddr, SocketAddr};

use crate::model::{Query, Transport, TransportSet};

/// The parts of a SIP or SIPS URI that RFC 3263 looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipTarget {
    /// A domain name or an IP literal (IPv6 with or without brackets).
    pub host: String,
    pub port: Option<u16>,
    /// The URI's `transport=` parameter.
    pub transport: Option<Transport>,
    /// A `sips:` URI, which may only be reached over TLS.
    pub secure: bool,
}

impl SipTarget {
    pub fn new(host: &str) -> SipTarget {
        SipTarget {
            host: host.to_string(),
            port: None,
            transport: None,
            secure: false,
        }
    }

    pub fn with_port(mut self, port: u16) -> SipTarget {
        self.port = Some(port);
        self
    }

    pub fn with_transport(mut self, transport: Transport) -> SipTarget {
        self.transport = Some(transport);
        self
    }

    pub fn sips(mut self) -> SipTarget {
        self.secure = true;
        self
    }

    /// The host as an address when it is an IP literal, which needs no lookup.
    pub fn ip(&self) -> Option<IpAddr> {
        let bare = self
            .host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(&self.host);
        bare.parse().ok()
    }
}

/// Which address families to look up (`IPProtocol: IPv4/IPv6/Both`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpFamilies {
    pub ipv4: bool,
    pub ipv6: bool,
}

impl Default for IpFamilies {
    fn default() -> Self {
        IpFamilies {
            ipv4: true,
            ipv6: true,
        }
    }
}

/// The settings of the DNS zone being searched, plus the node's own transport switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZoneDns {
    /// `Zones Zone [n] DNS IncludeAddressRecord`: fall back to the domain's A/AAAA records when
    /// it publishes no usable NAPTR or SRV record.
    pub include_address_record: bool,
    /// `Zones Zone [n] DNS SIP Default Transport`: used where neither the URI nor a NAPTR
    /// record names the transport.
    pub default_transport: Transport,
    /// Transports this node has switched on; destinations over any other are dropped.
    pub transports: TransportSet,
    pub families: IpFamilies,
}

impl Default for ZoneDns {
    /// The reference's defaults: IncludeAddressRecord Off, Default Transport UDP.
    fn default() -> Self {
        ZoneDns {
            include_address_record: false,
            default_transport: Transport::Udp,
            transports: TransportSet::ALL,
            families: IpFamilies::default(),
        }
    }
}

/// The NAPTR record a destination was reached through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NaptrOrigin {
    pub order: u16,
    pub preference: u16,
    pub service: String,
}

/// The record that produced a destination, for the search history and for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The URI's host was an IP address.
    Numeric,
    /// An A/AAAA record of the URI's host: the URI named a port, or IncludeAddressRecord is On
    /// and the domain has no usable NAPTR or SRV record.
    Address { host: String },
    /// An A/AAAA record of an SRV target.
    Srv {
        naptr: Option<NaptrOrigin>,
        /// The SRV owner name, such as `_sip._tcp.example.com`.
        service: String,
        priority: u16,
        weight: u16,
        target: String,
    },
}

/// One place to send the request to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub transport: Transport,
    pub addr: SocketAddr,
    pub origin: Origin,
}

/// The outcome of a lookup: destinations in the order to try them (empty means the domain was
/// not found through this zone, so lower-priority search rules carry on) and the questions that
/// failed on the way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    pub destinations: Vec<Destination>,
    pub errors: Vec<(Query, String)>,
}

impl Resolved {
    pub fn is_found(&self) -> bool {
        !self.destinations.is_empty()
    }
}
