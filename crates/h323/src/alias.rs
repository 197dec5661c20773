//! Aliases and transport addresses: between the ASN.1 forms and what the rest of causeway
//! compares and shows.

use causeway_h323_asn1::h225::{
    AliasAddress, PartyNumber, PublicPartyNumber, TransportAddress, TransportAddressIpAddress,
};
use causeway_h323_asn1::rasn::types::{Ia5String, OctetString};
use causeway_h323_asn1::{bmp_string, bmp_text};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// An H.323 alias as the gatekeeper keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Alias {
    /// `h323-ID`.
    H323Id(String),
    /// `dialledDigits`, or a public or private `partyNumber`: an E.164 number.
    E164(String),
    /// `url-ID`, without an `h323:` scheme.
    Url(String),
    /// `email-ID`.
    Email(String),
}

impl Alias {
    /// The string that patterns, search rules and the restriction policy see: every kind is
    /// compared as plain text.
    pub fn text(&self) -> &str {
        match self {
            Alias::H323Id(s) | Alias::E164(s) | Alias::Url(s) | Alias::Email(s) => s,
        }
    }

    /// The name `xStatus` shows for the kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Alias::H323Id(_) => "H323Id",
            Alias::E164(_) => "E164",
            Alias::Url(_) => "Url",
            Alias::Email(_) => "Email",
        }
    }

    /// Reads an alias. Kinds a gatekeeper cannot route by (a transport address, a mobile or
    /// ISUP number) give `None`.
    pub fn from_asn(a: &AliasAddress) -> Option<Alias> {
        Some(match a {
            AliasAddress::dialledDigits(s) => Alias::E164(ia5(s)),
            AliasAddress::h323_ID(s) => Alias::H323Id(bmp_text(s)),
            AliasAddress::url_ID(s) => {
                let s = ia5(s);
                let bare = match s.get(..5) {
                    Some(scheme) if scheme.eq_ignore_ascii_case("h323:") => s[5..].to_string(),
                    _ => s,
                };
                Alias::Url(bare)
            }
            AliasAddress::email_ID(s) => Alias::Email(ia5(s)),
            AliasAddress::partyNumber(p) => Alias::E164(party_digits(p)?),
            _ => return None,
        })
        .filter(|a| !a.text().is_empty())
    }

    /// The alias on the wire. `None` when the text does not fit the kind (for example a
    /// `dialledDigits` with a letter in it).
    pub fn to_asn(&self) -> Option<AliasAddress> {
        Some(match self {
            Alias::H323Id(s) => AliasAddress::h323_ID(bmp_string(s)?),
            Alias::E164(s) => {
                if s.is_empty() || !s.bytes().all(|b| b"0123456789#*,".contains(&b)) {
                    return None;
                }
                AliasAddress::dialledDigits(Ia5String::try_from(s.as_str()).ok()?)
            }
            Alias::Url(s) => {
                AliasAddress::url_ID(Ia5String::try_from(format!("h323:{s}").as_str()).ok()?)
            }
            Alias::Email(s) => AliasAddress::email_ID(Ia5String::try_from(s.as_str()).ok()?),
        })
    }

    /// The alias an operator or a search names: digits only are an E.164 number, `a@b` a URL,
    /// anything else an H.323 ID.
    pub fn guess(text: &str) -> Alias {
        let text = text
            .strip_prefix("h323:")
            .or_else(|| text.strip_prefix("H323:"))
            .unwrap_or(text);
        if !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
        {
            Alias::E164(text.to_string())
        } else if text.contains('@') {
            Alias::Url(text.to_string())
        } else {
            Alias::H323Id(text.to_string())
        }
    }
}

fn ia5(s: &Ia5String) -> String {
    s.to_string()
}

fn party_digits(p: &PartyNumber) -> Option<String> {
    match p {
        PartyNumber::e164Number(PublicPartyNumber {
            public_number_digits,
            ..
        }) => Some(public_number_digits.0.to_string()),
        PartyNumber::dataPartyNumber(d)
        | PartyNumber::telexPartyNumber(d)
        | PartyNumber::nationalStandardPartyNumber(d) => Some(d.0.to_string()),
        PartyNumber::privateNumber(n) => Some(n.private_number_digits.0.to_string()),
        _ => None,
    }
}

/// An IPv4 transport address as a socket address (the gatekeeper serves IPv4 endpoints).
pub fn socket_addr(t: &TransportAddress) -> Option<SocketAddr> {
    match t {
        TransportAddress::ipAddress(TransportAddressIpAddress { ip, port }) => {
            let o: [u8; 4] = ip.as_ref().try_into().ok()?;
            Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(o)), *port))
        }
        TransportAddress::ip6Address(a) => {
            let o: [u8; 16] = a.ip.as_ref().try_into().ok()?;
            Some(SocketAddr::new(IpAddr::from(o), a.port))
        }
        _ => None,
    }
}

/// A socket address on the wire.
pub fn transport(addr: SocketAddr) -> TransportAddress {
    match addr.ip() {
        IpAddr::V4(v4) => TransportAddress::ipAddress(TransportAddressIpAddress {
            ip: OctetString::from(v4.octets().to_vec()),
            port: addr.port(),
        }),
        IpAddr::V6(v6) => {
            TransportAddress::ip6Address(causeway_h323_asn1::h225::TransportAddressIp6Address::new(
                OctetString::from(v6.octets().to_vec()),
                addr.port(),
            ))
        }
    }
}

/// Every routable alias of a list, in order, without repeats.
pub fn aliases(list: Option<&Vec<AliasAddress>>) -> Vec<Alias> {
    let mut out: Vec<Alias> = Vec::new();
    for a in list.into_iter().flatten().filter_map(Alias::from_asn) {
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_and_write_back() {
        for a in [
            Alias::H323Id("Room 1 — Oslo".into()),
            Alias::E164("4401*#".into()),
            Alias::Url("alice@example.com".into()),
            Alias::Email("bob@example.com".into()),
        ] {
            assert_eq!(Alias::from_asn(&a.to_asn().unwrap()), Some(a));
        }
        assert_eq!(Alias::E164("12a".into()).to_asn(), None);
    }

    #[test]
    fn url_scheme_is_dropped_and_guessing_follows_the_text() {
        let url = AliasAddress::url_ID(Ia5String::try_from("H323:carol@example.com").unwrap());
        assert_eq!(
            Alias::from_asn(&url),
            Some(Alias::Url("carol@example.com".into()))
        );
        assert_eq!(Alias::guess("1234"), Alias::E164("1234".into()));
        assert_eq!(Alias::guess("h323:a@b"), Alias::Url("a@b".into()));
        assert_eq!(Alias::guess("room"), Alias::H323Id("room".into()));
    }

    #[test]
    fn addresses_round_trip() {
        for s in ["192.0.2.7:1720", "[2001:db8::1]:1719"] {
            let a: SocketAddr = s.parse().unwrap();
            assert_eq!(socket_addr(&transport(a)), Some(a));
        }
    }
}
