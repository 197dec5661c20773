//! ENUM (RFC 6116, as the guide describes it): a dialled number becomes a domain under the
//! zone's DNS suffix, and that domain's terminal NAPTR records rewrite the number into URIs,
//! each of which starts a new search.

use crate::model::{normalize_name, Naptr};
use crate::subst::Substitution;

/// The ENUM domain of a dialled number: its digits reversed and dot-separated under `suffix`
/// (`4631234`, `e164.arpa` → `4.3.2.1.3.6.4.e164.arpa`). Everything but digits,
/// the leading `+` included, is dropped. None when there are no digits or no suffix, since
/// either would send a question no ENUM tree can answer.
pub fn enum_domain(number: &str, suffix: &str) -> Option<String> {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    let suffix = normalize_name(suffix.trim_start_matches('.'));
    if digits.is_empty() || suffix.is_empty() {
        return None;
    }
    let mut domain = String::with_capacity(digits.len() * 2 + suffix.len());
    for digit in digits.iter().rev() {
        domain.push(*digit);
        domain.push('.');
    }
    domain.push_str(&suffix);
    Some(domain)
}

/// The ENUM services the guide knows: `E2U+sip` and `E2U+h323`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnumService {
    Sip,
    H323,
}

/// Which services to accept: the ENUM zone's `SIP Mode` and `H323 Mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnumServices {
    pub sip: bool,
    pub h323: bool,
}

impl EnumServices {
    pub const SIP: EnumServices = EnumServices {
        sip: true,
        h323: false,
    };
    pub const ALL: EnumServices = EnumServices {
        sip: true,
        h323: true,
    };

    fn wants(self, service: EnumService) -> bool {
        match service {
            EnumService::Sip => self.sip,
            EnumService::H323 => self.h323,
        }
    }
}

/// A URI an ENUM record produced, with the record's ranking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumUri {
    pub uri: String,
    pub service: EnumService,
    pub order: u16,
    pub preference: u16,
}

/// Applies a domain's NAPTR records to the dialled number. Only terminal records (flag `u`)
/// with a wanted service are used; records whose expression is malformed or does not match are
/// skipped. The result is ordered by order, then preference, and every record's URI is kept so
/// that later ones serve as fallbacks.
///
/// The guide applies the expression to the number as dialled (`!^(.*)$!sip:\1@example.com!`
/// turns 44123456789 into `sip:44123456789@example.com`); RFC 6116 applies it to `+` and the
/// digits. The digits are tried first and `+digits` second, so records written either way work.
pub fn enum_uris(number: &str, records: &[Naptr], wanted: EnumServices) -> Vec<EnumUri> {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let plus = format!("+{digits}");
    let mut ranked: Vec<&Naptr> = records
        .iter()
        .filter(|r| r.flags.eq_ignore_ascii_case("u"))
        .collect();
    ranked.sort_by_key(|r| (r.order, r.preference));

    let mut uris: Vec<EnumUri> = Vec::new();
    for record in ranked {
        let Some(service) = enum_services(&record.services)
            .into_iter()
            .find(|s| wanted.wants(*s))
        else {
            continue;
        };
        let Ok(substitution) = Substitution::parse(&record.regexp) else {
            continue;
        };
        let Some(uri) = substitution
            .apply(&digits)
            .or_else(|| substitution.apply(&plus))
        else {
            continue;
        };
        if !uri.is_empty() && !uris.iter().any(|u| u.uri == uri) {
            uris.push(EnumUri {
                uri,
                service,
                order: record.order,
                preference: record.preference,
            });
        }
    }
    uris
}

/// The services of an ENUM service field, case-insensitively: `E2U+sip`, `E2U+SIP`, RFC 3761's
/// `E2U+sip+h323` lists, RFC 6116 subtypes (`E2U+sip:x`). RFC 2916's reversed `sip+E2U` is not
/// accepted: the guide names only the `E2U+` forms and RFC 3761 retired the old one.
fn enum_services(field: &str) -> Vec<EnumService> {
    let mut parts = field.split('+');
    if !parts
        .next()
        .is_some_and(|head| head.eq_ignore_ascii_case("E2U"))
    {
        return Vec::new();
    }
    parts
        .filter_map(|part| {
            let kind = part.split(':').next().unwrap_or(part);
            if kind.eq_ignore_ascii_case("sip") {
                Some(EnumService::Sip)
            } else if kind.eq_ignore_ascii_case("h323") {
                Some(EnumService::H323)
            } else {
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naptr(order: u16, preference: u16, flags: &str, services: &str, regexp: &str) -> Naptr {
        Naptr {
            order,
            preference,
            flags: flags.into(),
            services: services.into(),
            regexp: regexp.into(),
            replacement: String::new(),
        }
    }

    fn uris(found: &[EnumUri]) -> Vec<&str> {
        found.iter().map(|u| u.uri.as_str()).collect()
    }

    #[test]
    fn the_guides_enum_domain() {
        assert_eq!(
            enum_domain("44123456789", "e164.arpa").as_deref(),
            Some("9.8.7.6.5.4.3.2.1.4.4.e164.arpa")
        );
    }

    #[test]
    fn non_digits_and_the_plus_are_dropped_before_reversing() {
        assert_eq!(
            enum_domain("+44 (0)12-34", "E164.Arpa.").as_deref(),
            Some("4.3.2.1.0.4.4.e164.arpa")
        );
        assert_eq!(enum_domain("alice@example.com", "e164.arpa"), None);
        assert_eq!(enum_domain("1234", ""), None);
    }

    #[test]
    fn the_guides_sip_record() {
        let records = [naptr(
            10,
            100,
            "u",
            "E2U+SIP",
            r"!^(.*)$!sip:\1@example.com!",
        )];
        let found = enum_uris("44123456789", &records, EnumServices::SIP);
        assert_eq!(
            found,
            [EnumUri {
                uri: "sip:44123456789@example.com".into(),
                service: EnumService::Sip,
                order: 10,
                preference: 100,
            }]
        );
    }

    #[test]
    fn records_are_taken_by_order_then_preference() {
        let records = [
            naptr(20, 10, "u", "E2U+sip", "!^.*$!sip:third@x!"),
            naptr(10, 50, "u", "E2U+sip", "!^.*$!sip:second@x!"),
            naptr(10, 10, "u", "E2U+sip", "!^.*$!sip:first@x!"),
        ];
        let found = enum_uris("1234", &records, EnumServices::SIP);
        assert_eq!(uris(&found), ["sip:first@x", "sip:second@x", "sip:third@x"]);
    }

    #[test]
    fn only_terminal_records_are_used() {
        let records = [
            naptr(1, 1, "", "E2U+sip", "!^.*$!sip:nonterminal@x!"),
            naptr(1, 2, "s", "E2U+sip", "!^.*$!sip:srv@x!"),
            naptr(1, 3, "U", "E2U+sip", "!^.*$!sip:upper@x!"),
            naptr(1, 4, "u", "E2U+sip", "!^.*$!sip:terminal@x!"),
        ];
        let found = enum_uris("1234", &records, EnumServices::SIP);
        assert_eq!(uris(&found), ["sip:upper@x", "sip:terminal@x"]);
    }

    #[test]
    fn services_are_matched_case_insensitively_and_filtered_by_zone_mode() {
        let records = [
            naptr(1, 1, "u", "e2u+sip", "!^.*$!sip:lower@x!"),
            naptr(1, 2, "u", "E2U+h323", r"!^(.*)$!h323:\1@example.com!"),
            naptr(1, 3, "u", "E2U+email:mailto", "!^.*$!mailto:a@x!"),
            naptr(1, 4, "u", "sip+E2U", "!^.*$!sip:rfc2916@x!"),
            naptr(1, 5, "u", "E2U+voice:tel+sip", "!^.*$!sip:listed@x!"),
        ];
        let sip = enum_uris("1234", &records, EnumServices::SIP);
        assert_eq!(uris(&sip), ["sip:lower@x", "sip:listed@x"]);
        let all = enum_uris("1234", &records, EnumServices::ALL);
        assert_eq!(
            uris(&all),
            ["sip:lower@x", "h323:1234@example.com", "sip:listed@x"]
        );
        assert_eq!(all[1].service, EnumService::H323);
    }

    #[test]
    fn rfc_6116_records_that_expect_the_plus_still_match() {
        let records = [naptr(
            1,
            1,
            "u",
            "E2U+sip",
            r"!^\+44(.*)$!sip:\1@uk.example!",
        )];
        let found = enum_uris("44123456789", &records, EnumServices::SIP);
        assert_eq!(uris(&found), ["sip:123456789@uk.example"]);
        let found = enum_uris("+44123456789", &records, EnumServices::SIP);
        assert_eq!(uris(&found), ["sip:123456789@uk.example"]);
    }

    #[test]
    fn broken_or_unmatched_expressions_skip_only_their_record() {
        let records = [
            naptr(1, 1, "u", "E2U+sip", "!^(.*$!sip:broken@x!"),
            naptr(1, 2, "u", "E2U+sip", "!^99(.*)$!sip:other@x!"),
            naptr(1, 3, "u", "E2U+sip", r"!^(.*)$!sip:\1@ok!"),
            naptr(1, 4, "u", "E2U+sip", r"!^(.*)$!sip:\1@ok!"),
        ];
        let found = enum_uris("1234", &records, EnumServices::SIP);
        assert_eq!(uris(&found), ["sip:1234@ok"]);
    }

    #[test]
    fn case_insensitive_flag_on_the_expression() {
        let records = [naptr(1, 1, "u", "E2U+sip", "!^(.*)$!SIP:\\1@X!i")];
        let found = enum_uris("12", &records, EnumServices::SIP);
        assert_eq!(uris(&found), ["SIP:12@X"]);
    }
}
