//! The tokio side: asks the configured DNS servers the questions the sans-IO lookups need.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::future::join_all;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use hickory_resolver::TokioResolver;

use crate::e164::{enum_domain, enum_uris, EnumServices, EnumUri};
use crate::model::{normalize_name, Answer, Naptr, Query, RecordKind, Srv};
use crate::rfc3263::SipLookup;
use crate::srv::{Random, ThreadRandom};
use crate::target::{Resolved, SipTarget, ZoneDns};

/// Where and how patiently to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsConfig {
    /// The `DNS Server [1..5] Address` entries; tests give a port other than 53.
    pub servers: Vec<SocketAddr>,
    /// How long to wait for one answer. Short, because a call setup is waiting on it.
    pub timeout: Duration,
    /// How many times to ask each server before giving up on a question.
    pub attempts: usize,
}

impl DnsConfig {
    pub fn new(servers: Vec<SocketAddr>) -> DnsConfig {
        DnsConfig {
            servers,
            timeout: Duration::from_secs(2),
            attempts: 2,
        }
    }

    /// Servers on the standard port, as the configuration gives them.
    pub fn from_ips(ips: &[IpAddr]) -> DnsConfig {
        DnsConfig::new(ips.iter().map(|ip| SocketAddr::new(*ip, 53)).collect())
    }

    pub fn with_timeout(mut self, timeout: Duration) -> DnsConfig {
        self.timeout = timeout;
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ResolverError {
    #[error("no DNS server is configured (set DNS Server 1 Address)")]
    NoServers,
    #[error("the DNS resolver could not be set up: {0}")]
    Setup(String),
}

/// What an ENUM lookup found: the domain asked, the URIs in the order to search them, and why
/// the question failed if it did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnumResolved {
    pub domain: Option<String>,
    pub uris: Vec<EnumUri>,
    pub error: Option<String>,
}

/// A resolver bound to the configured servers. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct DnsResolver {
    inner: TokioResolver,
}

impl DnsResolver {
    pub fn new(config: &DnsConfig) -> Result<DnsResolver, ResolverError> {
        if config.servers.is_empty() {
            return Err(ResolverError::NoServers);
        }
        let servers = config
            .servers
            .iter()
            .map(|server| {
                let mut udp = ConnectionConfig::udp();
                udp.port = server.port();
                // TCP carries answers too large for UDP, such as long NAPTR sets.
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = server.port();
                NameServerConfig::new(server.ip(), true, vec![udp, tcp])
            })
            .collect();
        let mut options = ResolverOpts::default();
        options.timeout = config.timeout;
        options.attempts = config.attempts.max(1);
        // The guide sends each question to every configured server at once.
        options.num_concurrent_reqs = config.servers.len();
        // Routing must see what the configured servers say, not the node's hosts file.
        options.use_hosts_file = ResolveHosts::Never;
        let inner = TokioResolver::builder_with_config(
            ResolverConfig::from_name_servers(servers),
            TokioRuntimeProvider::default(),
        )
        .with_options(options)
        .build()
        .map_err(|e| ResolverError::Setup(e.to_string()))?;
        Ok(DnsResolver { inner })
    }

    /// One question. NXDOMAIN and an empty answer both come back as [`Answer::NotFound`]:
    /// RFC 3263 treats them alike, and only real failures are worth reporting.
    pub async fn lookup(&self, query: &Query) -> Answer {
        let name = match Name::from_ascii(format!("{}.", query.name)) {
            Ok(name) => name,
            Err(e) => return Answer::Failed(format!("{} is not a DNS name: {e}", query.name)),
        };
        let record_type = match query.kind {
            RecordKind::Naptr => RecordType::NAPTR,
            RecordKind::Srv => RecordType::SRV,
            RecordKind::A => RecordType::A,
            RecordKind::Aaaa => RecordType::AAAA,
        };
        let lookup = match self.inner.lookup(name, record_type).await {
            Ok(lookup) => lookup,
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => return Answer::NotFound,
            Err(e) => return Answer::Failed(e.to_string()),
        };
        let data = lookup.answers().iter().map(|record| &record.data);
        match query.kind {
            RecordKind::Naptr => Answer::Naptr(data.filter_map(naptr).collect()),
            RecordKind::Srv => Answer::Srv(data.filter_map(srv).collect()),
            RecordKind::A | RecordKind::Aaaa => Answer::Addresses(
                data.filter_map(|d| match d {
                    RData::A(a) => Some(IpAddr::V4(a.0)),
                    RData::AAAA(aaaa) => Some(IpAddr::V6(aaaa.0)),
                    _ => None,
                })
                .collect(),
            ),
        }
    }

    /// Answers every question `lookup` asks, each batch concurrently, until it is done.
    pub async fn drive(&self, lookup: &mut SipLookup) {
        while !lookup.is_done() {
            let queries = lookup.queries();
            let answers = join_all(queries.iter().map(|query| self.lookup(query))).await;
            for (query, answer) in queries.iter().zip(answers) {
                lookup.answer(query, answer);
            }
        }
    }

    /// RFC 3263 for one SIP URI through a DNS zone, SRV weights drawn from `rand`.
    pub async fn resolve_sip(&self, target: &SipTarget, zone: &ZoneDns) -> Resolved {
        let mut lookup = SipLookup::new(target, zone);
        self.drive(&mut lookup).await;
        lookup.finish(&mut ThreadRandom)
    }

    /// As [`DnsResolver::resolve_sip`], with the caller's random source.
    pub async fn resolve_sip_with(
        &self,
        target: &SipTarget,
        zone: &ZoneDns,
        rng: &mut (dyn Random + Send),
    ) -> Resolved {
        let mut lookup = SipLookup::new(target, zone);
        self.drive(&mut lookup).await;
        lookup.finish(rng)
    }

    /// ENUM for one dialled number through a zone with DNS suffix `suffix`.
    pub async fn resolve_enum(
        &self,
        number: &str,
        suffix: &str,
        wanted: EnumServices,
    ) -> EnumResolved {
        let Some(domain) = enum_domain(number, suffix) else {
            return EnumResolved::default();
        };
        let answer = self.lookup(&Query::new(&domain, RecordKind::Naptr)).await;
        let (uris, error) = match answer {
            Answer::Naptr(records) => (enum_uris(number, &records, wanted), None),
            Answer::Failed(reason) => (Vec::new(), Some(reason)),
            _ => (Vec::new(), None),
        };
        EnumResolved {
            domain: Some(domain),
            uris,
            error,
        }
    }
}

fn name_text(name: &Name) -> String {
    if name.is_root() {
        String::new()
    } else {
        normalize_name(&name.to_ascii())
    }
}

fn naptr(data: &RData) -> Option<Naptr> {
    let RData::NAPTR(n) = data else {
        return None;
    };
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    Some(Naptr {
        order: n.order,
        preference: n.preference,
        flags: text(&n.flags),
        services: text(&n.services),
        regexp: text(&n.regexp),
        replacement: name_text(&n.replacement),
    })
}

fn srv(data: &RData) -> Option<Srv> {
    let RData::SRV(s) = data else {
        return None;
    };
    Some(Srv {
        priority: s.priority,
        weight: s.weight,
        port: s.port,
        target: name_text(&s.target),
    })
}
