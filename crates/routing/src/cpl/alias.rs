//! How an alias is split into the parts an `address-switch` can compare.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

use super::ast::{AddressTest, Subfield};
use super::eval::Protocol;

/// The alias types an endpoint can present, inferred from the alias text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AliasKind {
    Uri,
    H323Id,
    E164,
    Ip,
}

impl AliasKind {
    /// H.225.0 names of the alias types, which is what `alias-type`
    /// compares against.
    fn type_name(self) -> &'static str {
        match self {
            AliasKind::Uri => "url-ID",
            AliasKind::H323Id => "h323-ID",
            AliasKind::E164 => "dialedDigits",
            AliasKind::Ip => "transportID",
        }
    }
}

/// Schemes that say how an alias was carried rather than who it names;
/// scripts are written against the bare alias.
const SCHEMES: [&str; 4] = ["sip:", "sips:", "h323:", "tel:"];

/// The alias without a leading scheme, and whether one was there.
pub(crate) fn strip_scheme(alias: &str) -> (&str, bool) {
    for scheme in SCHEMES {
        if alias.len() >= scheme.len()
            && alias.as_bytes()[..scheme.len()].eq_ignore_ascii_case(scheme.as_bytes())
        {
            return (&alias[scheme.len()..], true);
        }
    }
    (alias, false)
}

/// Digits with an optional leading `+`; `*` and `#` are dialable too.
pub(crate) fn is_numeric(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or(s);
    !digits.is_empty()
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
}

fn parse_ip(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    s.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|r| r.parse::<IpAddr>().ok())
}

pub(crate) fn classify(alias: &str) -> AliasKind {
    let (bare, had_scheme) = strip_scheme(alias);
    if is_numeric(bare) {
        AliasKind::E164
    } else if parse_ip(bare).is_some() {
        AliasKind::Ip
    } else if had_scheme || bare.contains('@') {
        AliasKind::Uri
    } else {
        AliasKind::H323Id
    }
}

/// The domain of a URI's host part, without port, parameters or brackets.
fn uri_host(rest: &str) -> &str {
    let end = rest.find([';', '?']).unwrap_or(rest.len());
    let host = &rest[..end];
    if let Some(inner) = host.strip_prefix('[') {
        return inner.split(']').next().unwrap_or(inner);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// The value an `address-switch` compares for one alias, or `None` when the
/// subfield means nothing for this kind of alias.
pub(crate) fn part<'a>(
    alias: &'a str,
    subfield: Option<Subfield>,
    protocol: Protocol,
) -> Option<Cow<'a, str>> {
    let (bare, _) = strip_scheme(alias);
    let Some(sub) = subfield else {
        return Some(Cow::Borrowed(bare));
    };
    let kind = classify(alias);
    let value = match (sub, kind) {
        (Subfield::AddressType, _) => protocol.address_type(),
        (Subfield::AliasType, k) => k.type_name(),
        (Subfield::User, AliasKind::Uri) => bare.split_once('@')?.0,
        (Subfield::User, AliasKind::H323Id | AliasKind::E164) => bare,
        (Subfield::Host, AliasKind::Uri) => {
            uri_host(bare.split_once('@').map_or(bare, |(_, host)| host))
        }
        (Subfield::Host, AliasKind::Ip) => return parse_ip(bare).map(|ip| ip.to_string().into()),
        (Subfield::Tel, AliasKind::E164) => bare,
        _ => return None,
    };
    Some(Cow::Borrowed(value))
}

impl AddressTest {
    /// Whether one value passes the test (all tests ignore case).
    pub(crate) fn matches(&self, value: &str) -> bool {
        match self {
            AddressTest::Is(want) => value.to_lowercase() == *want,
            AddressTest::Contains(want) => value.to_lowercase().contains(want.as_str()),
            AddressTest::SubdomainOf(want) => subdomain_of(&value.to_lowercase(), want),
            AddressTest::Regex(p) => p.matches(value),
        }
    }
}

/// Numbers match by prefix; names match the domain itself or anything below
/// it. An `@` counts as a label boundary so that a whole URI can be tested
/// without a `host` subfield.
fn subdomain_of(value: &str, domain: &str) -> bool {
    if is_numeric(value) {
        return value.starts_with(domain);
    }
    if value == domain {
        return true;
    }
    value.len() > domain.len()
        && value.ends_with(domain)
        && matches!(
            value.as_bytes()[value.len() - domain.len() - 1],
            b'.' | b'@'
        )
}
