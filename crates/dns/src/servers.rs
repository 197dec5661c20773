//! Where the node's own servers are: a directory, a syslog collector and the like, named in the
//! configuration by address, host name or (for SRV) domain.

use std::net::IpAddr;

use futures_util::future::join;

use crate::model::{Answer, Query, RecordKind};
use crate::resolver::DnsResolver;
use crate::srv::{order_srv, Random};

/// One server to try: the name it is known by (what a TLS certificate must show), the port, and
/// its addresses in the order to try them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddress {
    pub host: String,
    pub port: u16,
    pub addrs: Vec<IpAddr>,
}

/// Appends the node's `IP DNS Domain Name` to a name with no dot in it (`ldapserver` →
/// `ldapserver.example.com`). Addresses, qualified names and an empty domain leave the name as
/// it is.
pub fn qualify(name: &str, domain: &str) -> String {
    let name = name.trim();
    let domain = domain.trim().trim_matches('.');
    if domain.is_empty()
        || name.is_empty()
        || name.contains('.')
        || name.contains(':')
        || name.parse::<IpAddr>().is_ok()
    {
        return name.to_string();
    }
    format!("{name}.{domain}")
}

/// An IP literal, with or without the brackets an IPv6 one may be written with.
pub fn ip_literal(name: &str) -> Option<IpAddr> {
    let n = name.trim();
    n.strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(n)
        .parse()
        .ok()
}

impl DnsResolver {
    /// The A and AAAA records of `name`, IPv4 first. An error says why none were found.
    pub async fn addresses(&self, name: &str) -> Result<Vec<IpAddr>, String> {
        if let Some(ip) = ip_literal(name) {
            return Ok(vec![ip]);
        }
        let (a, aaaa) = join(
            self.lookup(&Query::new(name, RecordKind::A)),
            self.lookup(&Query::new(name, RecordKind::Aaaa)),
        )
        .await;
        let mut out = Vec::new();
        let mut failures = Vec::new();
        for answer in [a, aaaa] {
            match answer {
                Answer::Addresses(ips) => out.extend(ips),
                Answer::Failed(why) => failures.push(why),
                _ => {}
            }
        }
        match (out.is_empty(), failures.first()) {
            (false, _) => Ok(out),
            (true, Some(why)) => Err(format!("looking up {name}: {why}")),
            (true, None) => Err(format!("{name} has no address in DNS")),
        }
    }

    /// The servers an SRV name (`_ldap._tcp.example.com`) points to, in RFC 2782 order, each
    /// with its addresses. Targets without an address are left out; none at all is an error.
    pub async fn srv_servers(
        &self,
        name: &str,
        rng: &mut dyn Random,
    ) -> Result<Vec<ServerAddress>, String> {
        let records = match self.lookup(&Query::new(name, RecordKind::Srv)).await {
            Answer::Srv(records) => records,
            Answer::Failed(why) => return Err(format!("looking up SRV {name}: {why}")),
            _ => return Err(format!("{name} has no SRV records")),
        };
        let mut out = Vec::new();
        let mut last_error = None;
        for srv in order_srv(&records, rng) {
            match self.addresses(&srv.target).await {
                Ok(addrs) => out.push(ServerAddress {
                    host: srv.target,
                    port: srv.port,
                    addrs,
                }),
                Err(e) => last_error = Some(e),
            }
        }
        if out.is_empty() {
            return Err(last_error.unwrap_or_else(|| format!("{name} names no usable server")));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unqualified_names_get_the_domain() {
        assert_eq!(
            qualify("ldapserver", "example.com"),
            "ldapserver.example.com"
        );
        assert_eq!(
            qualify("ldapserver", ".example.com."),
            "ldapserver.example.com"
        );
        assert_eq!(qualify("ldap.other.org", "example.com"), "ldap.other.org");
        assert_eq!(qualify("192.0.2.1", "example.com"), "192.0.2.1");
        assert_eq!(qualify("2001:db8::1", "example.com"), "2001:db8::1");
        assert_eq!(qualify("ldapserver", ""), "ldapserver");
        assert_eq!(qualify("", "example.com"), "");
    }

    #[test]
    fn ip_literals_may_carry_brackets() {
        assert_eq!(ip_literal("[2001:db8::1]"), "2001:db8::1".parse().ok());
        assert_eq!(ip_literal(" 192.0.2.7 "), "192.0.2.7".parse().ok());
        assert_eq!(ip_literal("host"), None);
    }
}
