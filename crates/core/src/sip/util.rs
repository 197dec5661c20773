//! Small SIP helpers the service needs around the core's message model.

use causeway_sip::header::{CSeq, Via};
use causeway_sip::uri::{SipUri, Uri};
use causeway_sip::{Headers, Request};

pub fn header_str<'a>(h: &'a Headers, name: &str) -> Option<&'a str> {
    h.get_str(name).map(str::trim)
}

/// Every value of a list header (split at top-level commas), as text.
pub fn values<'a>(h: &'a Headers, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    h.values(name)
        .filter_map(|v| std::str::from_utf8(v).ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

pub fn top_via(h: &Headers) -> Option<Via> {
    values(h, "Via")
        .next()
        .and_then(|v| Via::parse_lenient(v).ok())
}

pub fn cseq(h: &Headers) -> Option<CSeq> {
    header_str(h, "CSeq").and_then(|v| CSeq::parse(v).ok())
}

/// Whether a token list header (Supported, Require, …) names `token`.
pub fn lists(h: &Headers, name: &str, token: &str) -> bool {
    values(h, name).any(|v| v.eq_ignore_ascii_case(token))
}

/// `user@host` of a SIP URI, host in lower case; `None` without a user part.
pub fn aor_of(uri: &Uri) -> Option<String> {
    let Uri::Sip(s) = uri else { return None };
    let user = s.user()?;
    Some(format!("{user}@{}", s.host_str().to_ascii_lowercase()))
}

pub fn sip_uri(uri: &Uri) -> Option<&SipUri> {
    match uri {
        Uri::Sip(s) => Some(s),
        _ => None,
    }
}

/// A key under which equal contact URIs compare equal (RFC 3261 §19.1.4, the parts that matter
/// for bindings): scheme, user, host ignoring case, port with its default, transport.
pub fn contact_key(uri: &Uri) -> String {
    match uri {
        Uri::Sip(s) => format!(
            "{}:{}@{}:{};{}",
            if s.is_sips() { "sips" } else { "sip" },
            s.user().unwrap_or(""),
            s.host_str().to_ascii_lowercase(),
            s.port().unwrap_or(if s.is_sips() { 5061 } else { 5060 }),
            s.transport().unwrap_or("").to_ascii_lowercase()
        ),
        other => other.to_string().to_ascii_lowercase(),
    }
}

/// The method and sequence of a request for event logs.
pub fn describe(req: &Request) -> String {
    format!("{} {}", req.method, req.uri)
}
