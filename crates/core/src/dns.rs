//! The node's DNS resolver, as `DNS Server [1..5] Address` configures it.

use causeway_config::Snapshot;
use std::net::IpAddr;
use std::sync::Arc;

/// The configured DNS servers (addresses only, as the guide allows), in order.
pub fn servers(snap: &Snapshot) -> Vec<IpAddr> {
    (1..=5)
        .filter_map(|n| snap.get(&format!("DNS Server {n} Address")))
        .filter_map(|a| a.trim().parse().ok())
        .collect()
}

/// A resolver that asks the configured DNS servers, or `None` when there are none.
pub fn resolver(snap: &Snapshot) -> Option<Arc<causeway_dns::DnsResolver>> {
    let ips = servers(snap);
    if ips.is_empty() {
        return None;
    }
    causeway_dns::DnsResolver::new(&causeway_dns::DnsConfig::from_ips(&ips))
        .ok()
        .map(Arc::new)
}
