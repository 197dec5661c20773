//! The name/value pairs sent to a policy service.
//!
//! The names and which request carries which come from the guide's "External Policy Request
//! Parameters" table; [`PARAMETERS`] holds that table and the builders consult it, so a
//! parameter can only reach a service whose request type the guide lists it for.

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

/// Which kind of request a parameter set is for; the `POLICY_TYPE` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyType {
    Registration,
    Search,
    Admin,
}

impl PolicyType {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::Registration => "REGISTRATION",
            PolicyType::Search => "SEARCH",
            PolicyType::Admin => "ADMIN",
        }
    }
}

/// One row of the guide's parameter table: the name and whether registration policy,
/// search rules and call policy send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParameterUse {
    pub name: &'static str,
    pub registration: bool,
    pub search: bool,
    pub call: bool,
}

impl ParameterUse {
    pub fn used_by(&self, kind: PolicyType) -> bool {
        match kind {
            PolicyType::Registration => self.registration,
            PolicyType::Search => self.search,
            PolicyType::Admin => self.call,
        }
    }
}

const fn row(name: &'static str, registration: bool, search: bool, call: bool) -> ParameterUse {
    ParameterUse {
        name,
        registration,
        search,
        call,
    }
}

/// The guide's table, in its order. `GLOBAL_CALL-SERIAL_NUMBER` really has a hyphen.
pub const PARAMETERS: &[ParameterUse] = &[
    row("ALIAS", true, false, false),
    row("ALLOW_INTERWORKING", false, true, true),
    row("AUTHENTICATED", true, true, true),
    row("AUTHENTICATED_SOURCE_ALIAS", false, true, true),
    row("AUTHENTICATION_USER_NAME", false, true, true),
    row("CLUSTER_NAME", true, true, true),
    row("DESTINATION_ALIAS", false, true, true),
    row("DESTINATION_ALIAS_PARAMS", false, true, true),
    row("GLOBAL_CALL-SERIAL_NUMBER", false, true, true),
    row("LOCAL_CALL_SERIAL_NUMBER", false, true, true),
    row("METHOD", true, true, true),
    row("NETWORK_TYPE", false, true, true),
    row("POLICY_TYPE", true, true, true),
    row("PROTOCOL", true, true, true),
    row("REGISTERED_ALIAS", false, true, true),
    row("SOURCE_ADDRESS", true, true, true),
    row("SOURCE_IP", true, true, true),
    row("SOURCE_PORT", true, true, true),
    row("TRAVERSAL_TYPE", false, true, true),
    row("UNAUTHENTICATED_SOURCE_ALIAS", false, true, true),
    row("UTCTIME", true, true, true),
    row("ZONE_NAME", false, true, true),
];

/// Signalling protocol of the request; the `PROTOCOL` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalProtocol {
    Sip,
    H323,
}

impl SignalProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            SignalProtocol::Sip => "SIP",
            SignalProtocol::H323 => "H323",
        }
    }
}

/// The message that prompted the request; the `METHOD` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Invite,
    Arq,
    Lrq,
    Options,
    Setup,
    Register,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Invite => "INVITE",
            MessageKind::Arq => "ARQ",
            MessageKind::Lrq => "LRQ",
            MessageKind::Options => "OPTIONS",
            MessageKind::Setup => "SETUP",
            MessageKind::Register => "REGISTER",
        }
    }
}

/// How the call reached us through a firewall, if it did; the `TRAVERSAL_TYPE` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraversalType {
    Undefined,
    AssentServer,
    AssentClient,
    H460Server,
    H460Client,
    TurnServer,
    TurnClient,
    Ice,
}

impl TraversalType {
    pub fn as_str(self) -> &'static str {
        match self {
            TraversalType::Undefined => "TYPE_UNDEF",
            TraversalType::AssentServer => "TYPE_ASSENTSERVER",
            TraversalType::AssentClient => "TYPE_ASSENTCLIENT",
            TraversalType::H460Server => "TYPE_H460SERVER",
            TraversalType::H460Client => "TYPE_H460CLIENT",
            TraversalType::TurnServer => "TYPE_TURNSERVER",
            TraversalType::TurnClient => "TYPE_TURNCLIENT",
            TraversalType::Ice => "TYPE_ICE",
        }
    }
}

/// What is known about a call or search when call policy or a search rule asks a service.
///
/// Aliases are written as described under [`Params`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallFacts {
    pub protocol: Option<SignalProtocol>,
    pub method: Option<MessageKind>,
    /// The caller's aliases as claimed (SIP From, H.323 source aliases). They are sent as
    /// `UNAUTHENTICATED_SOURCE_ALIAS` always and also as `AUTHENTICATED_SOURCE_ALIAS` when
    /// `authenticated` is set, mirroring CPL's `unauthenticated-origin` and
    /// `authenticated-origin`.
    pub source_aliases: Vec<String>,
    /// Whether the request authenticated (or came through a zone that treats requests as
    /// authenticated).
    pub authenticated: bool,
    /// The name the caller authenticated with.
    pub authentication_user_name: Option<String>,
    /// Everything the calling endpoint has registered, when it is registered here.
    pub registered_aliases: Vec<String>,
    pub destination_alias: Option<String>,
    /// URI parameters of the destination, as they appeared after the alias.
    pub destination_alias_params: Option<String>,
    /// The caller's signalling address as the signalling stated it (e.g. a Contact host).
    pub source_address: Option<String>,
    pub source_ip: Option<IpAddr>,
    pub source_port: Option<u16>,
    /// The zone, or subzone, the call arrived from.
    pub zone_name: Option<String>,
    pub traversal_type: Option<TraversalType>,
    pub allow_interworking: Option<bool>,
    /// This node's serial number for the call.
    pub local_call_serial_number: Option<String>,
    /// The serial number shared by every node the call crosses.
    pub global_call_serial_number: Option<String>,
    pub cluster_name: Option<String>,
    /// When the request was made; `None` means now.
    pub utc_time: Option<SystemTime>,
}

/// What is known about a registration when registration policy asks a service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegFacts {
    pub protocol: Option<SignalProtocol>,
    /// `REGISTER` for SIP. The guide lists no value for an H.323 RRQ, so leave it `None` there.
    pub method: Option<MessageKind>,
    /// The aliases asking to be registered, sent as `ALIAS`.
    pub aliases: Vec<String>,
    pub authenticated: bool,
    pub source_address: Option<String>,
    pub source_ip: Option<IpAddr>,
    pub source_port: Option<u16>,
    pub cluster_name: Option<String>,
    /// When the request was made; `None` means now.
    pub utc_time: Option<SystemTime>,
}

/// An ordered list of request parameters.
///
/// # How values are written
///
/// * Flags are `TRUE` or `FALSE`.
/// * The guide does not spell out how aliases are written, so an alias is sent as the
///   signalling carried it, in the forms the CPL engine also reads:
///   a SIP URI with its scheme (`sip:alice@example.com`), an H.323 URL ID as
///   `h323:alice@example.com` or bare `alice@example.com`, an H.323 ID as plain text
///   (`alice`), and an E.164 number as its digits, optionally with a leading `+`
///   (`441189876432`). Nothing is added or stripped here, so a service that echoes an alias
///   back in a `taa:location url=` gets something routable.
/// * When a field holds several aliases (an H.323 endpoint usually has more than one), they
///   go in one parameter joined by commas, in the order given.
/// * `SOURCE_IP` is the address without port or brackets; `SOURCE_PORT` is decimal.
/// * `UTCTIME` is `YYYY-MM-DD HH:MM:SS` in UTC. The guide names the parameter but not its
///   format.
/// * Serial numbers are passed through as the caller formats them (GUIDs).
///
/// A parameter whose value is unknown (an `Option` that is `None`, an empty alias list) is
/// left out rather than sent empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

fn flag(b: bool) -> &'static str {
    if b {
        "TRUE"
    } else {
        "FALSE"
    }
}

impl Params {
    pub fn new() -> Params {
        Params::default()
    }

    /// Appends a pair as it is; names outside the guide's table are allowed here so a caller
    /// can add site-specific ones.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.pairs.push((name.into(), value.into()));
    }

    /// The first value given for `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The `application/x-www-form-urlencoded` form of the list, used both as a POST body and
    /// as a GET query string.
    pub fn to_form(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.iter())
            .finish()
    }

    /// The request call policy (`POLICY_TYPE=ADMIN`) sends.
    pub fn call_policy(facts: &CallFacts) -> Params {
        Params::for_call(PolicyType::Admin, facts)
    }

    /// The request a search rule targeting a policy service sends (`POLICY_TYPE=SEARCH`).
    pub fn search_rule(facts: &CallFacts) -> Params {
        Params::for_call(PolicyType::Search, facts)
    }

    /// The request registration policy sends (`POLICY_TYPE=REGISTRATION`).
    pub fn registration(facts: &RegFacts) -> Params {
        let time = utc_time(facts.utc_time.unwrap_or_else(SystemTime::now));
        Params::from_table(PolicyType::Registration, |name| match name {
            "ALIAS" => joined(&facts.aliases),
            "AUTHENTICATED" => Some(flag(facts.authenticated).to_string()),
            "CLUSTER_NAME" => facts.cluster_name.clone(),
            "METHOD" => facts.method.map(|m| m.as_str().to_string()),
            "PROTOCOL" => facts.protocol.map(|p| p.as_str().to_string()),
            "SOURCE_ADDRESS" => facts.source_address.clone(),
            "SOURCE_IP" => facts.source_ip.map(|ip| ip.to_string()),
            "SOURCE_PORT" => facts.source_port.map(|p| p.to_string()),
            "UTCTIME" => Some(time.clone()),
            _ => None,
        })
    }

    fn for_call(kind: PolicyType, facts: &CallFacts) -> Params {
        let time = utc_time(facts.utc_time.unwrap_or_else(SystemTime::now));
        Params::from_table(kind, |name| match name {
            "ALLOW_INTERWORKING" => facts.allow_interworking.map(|b| flag(b).to_string()),
            "AUTHENTICATED" => Some(flag(facts.authenticated).to_string()),
            "AUTHENTICATED_SOURCE_ALIAS" if facts.authenticated => joined(&facts.source_aliases),
            "AUTHENTICATION_USER_NAME" => facts.authentication_user_name.clone(),
            "CLUSTER_NAME" => facts.cluster_name.clone(),
            "DESTINATION_ALIAS" => facts.destination_alias.clone(),
            "DESTINATION_ALIAS_PARAMS" => facts.destination_alias_params.clone(),
            "GLOBAL_CALL-SERIAL_NUMBER" => facts.global_call_serial_number.clone(),
            "LOCAL_CALL_SERIAL_NUMBER" => facts.local_call_serial_number.clone(),
            "METHOD" => facts.method.map(|m| m.as_str().to_string()),
            "NETWORK_TYPE" => facts
                .source_ip
                .map(|ip| if ip.is_ipv4() { "IPV4" } else { "IPV6" }.to_string()),
            "PROTOCOL" => facts.protocol.map(|p| p.as_str().to_string()),
            "REGISTERED_ALIAS" => joined(&facts.registered_aliases),
            "SOURCE_ADDRESS" => facts.source_address.clone(),
            "SOURCE_IP" => facts.source_ip.map(|ip| ip.to_string()),
            "SOURCE_PORT" => facts.source_port.map(|p| p.to_string()),
            "TRAVERSAL_TYPE" => facts.traversal_type.map(|t| t.as_str().to_string()),
            "UNAUTHENTICATED_SOURCE_ALIAS" => joined(&facts.source_aliases),
            "UTCTIME" => Some(time.clone()),
            "ZONE_NAME" => facts.zone_name.clone(),
            _ => None,
        })
    }

    // Walking the table rather than the facts keeps a parameter from reaching a request type
    // the guide does not list it for, and keeps the guide's order.
    fn from_table(kind: PolicyType, value: impl Fn(&str) -> Option<String>) -> Params {
        let mut params = Params::new();
        for p in PARAMETERS.iter().filter(|p| p.used_by(kind)) {
            let v = if p.name == "POLICY_TYPE" {
                Some(kind.as_str().to_string())
            } else {
                value(p.name)
            };
            if let Some(v) = v {
                params.push(p.name, v);
            }
        }
        params
    }
}

impl<'a> IntoIterator for &'a Params {
    type Item = (&'a str, &'a str);
    type IntoIter = Box<dyn Iterator<Item = (&'a str, &'a str)> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

fn joined(aliases: &[String]) -> Option<String> {
    let nonblank: Vec<&str> = aliases
        .iter()
        .map(|a| a.trim())
        .filter(|a| !a.is_empty())
        .collect();
    (!nonblank.is_empty()).then(|| nonblank.join(","))
}

/// `YYYY-MM-DD HH:MM:SS`, UTC.
pub(crate) fn utc_time(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

// Howard Hinnant's days-to-civil conversion for the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn names(p: &Params) -> Vec<&str> {
        p.iter().map(|(n, _)| n).collect()
    }

    fn full_call() -> CallFacts {
        CallFacts {
            protocol: Some(SignalProtocol::Sip),
            method: Some(MessageKind::Invite),
            source_aliases: vec!["sip:alice@example.com".into(), "alice".into()],
            authenticated: true,
            authentication_user_name: Some("alice".into()),
            registered_aliases: vec!["sip:alice@example.com".into()],
            destination_alias: Some("sip:bob@example.com".into()),
            destination_alias_params: Some("transport=tls".into()),
            source_address: Some("192.0.2.7:5061".into()),
            source_ip: Some("2001:db8::7".parse().unwrap()),
            source_port: Some(5061),
            zone_name: Some("DefaultSubZone".into()),
            traversal_type: Some(TraversalType::Undefined),
            allow_interworking: Some(false),
            local_call_serial_number: Some("c0ffee00-0000-0000-0000-000000000001".into()),
            global_call_serial_number: Some("c0ffee00-0000-0000-0000-000000000002".into()),
            cluster_name: Some("cluster1".into()),
            utc_time: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
        }
    }

    #[test]
    fn a_fully_known_call_sends_every_call_parameter() {
        let p = Params::call_policy(&full_call());
        let expected: Vec<&str> = PARAMETERS
            .iter()
            .filter(|r| r.call)
            .map(|r| r.name)
            .collect();
        assert_eq!(names(&p), expected);
        assert_eq!(p.get("POLICY_TYPE"), Some("ADMIN"));
        assert_eq!(p.get("AUTHENTICATED"), Some("TRUE"));
        assert_eq!(
            p.get("AUTHENTICATED_SOURCE_ALIAS"),
            Some("sip:alice@example.com,alice")
        );
        assert_eq!(p.get("NETWORK_TYPE"), Some("IPV6"));
        assert_eq!(p.get("SOURCE_IP"), Some("2001:db8::7"));
        assert_eq!(p.get("ALLOW_INTERWORKING"), Some("FALSE"));
        assert_eq!(p.get("TRAVERSAL_TYPE"), Some("TYPE_UNDEF"));
        assert_eq!(p.get("UTCTIME"), Some("2023-11-14 22:13:20"));
        assert_eq!(
            Params::search_rule(&full_call()).get("POLICY_TYPE"),
            Some("SEARCH")
        );
    }

    #[test]
    fn unknown_values_and_the_authenticated_alias_of_an_unauthenticated_caller_are_left_out() {
        let facts = CallFacts {
            source_aliases: vec!["sip:mallory@example.com".into()],
            destination_alias: Some("sip:bob@example.com".into()),
            utc_time: Some(UNIX_EPOCH),
            ..CallFacts::default()
        };
        let p = Params::search_rule(&facts);
        assert_eq!(
            names(&p),
            [
                "AUTHENTICATED",
                "DESTINATION_ALIAS",
                "POLICY_TYPE",
                "UNAUTHENTICATED_SOURCE_ALIAS",
                "UTCTIME"
            ]
        );
        assert_eq!(p.get("AUTHENTICATED"), Some("FALSE"));
        assert_eq!(p.get("UTCTIME"), Some("1970-01-01 00:00:00"));
    }

    #[test]
    fn registration_sends_only_registration_parameters() {
        let facts = RegFacts {
            protocol: Some(SignalProtocol::H323),
            method: None,
            aliases: vec!["alice".into(), "4412345".into()],
            authenticated: false,
            source_address: Some("192.0.2.9".into()),
            source_ip: Some("192.0.2.9".parse().unwrap()),
            source_port: Some(1719),
            cluster_name: Some("c".into()),
            utc_time: None,
        };
        let p = Params::registration(&facts);
        for (name, _) in p.iter() {
            let row = PARAMETERS.iter().find(|r| r.name == name).unwrap();
            assert!(row.registration, "{name} is not a registration parameter");
        }
        assert_eq!(p.get("ALIAS"), Some("alice,4412345"));
        assert_eq!(p.get("POLICY_TYPE"), Some("REGISTRATION"));
        assert_eq!(p.get("PROTOCOL"), Some("H323"));
        assert_eq!(p.get("METHOD"), None);
        assert!(p.get("UTCTIME").is_some());
    }

    #[test]
    fn form_encoding_escapes_reserved_characters() {
        let mut p = Params::new();
        p.push("DESTINATION_ALIAS", "sip:bob smith@example.com");
        p.push("X", "a&b=c+d");
        assert_eq!(
            p.to_form(),
            "DESTINATION_ALIAS=sip%3Abob+smith%40example.com&X=a%26b%3Dc%2Bd"
        );
    }

    #[test]
    fn civil_dates_cross_leap_years() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    // The table above is a transcription; check it against the reference's parameter list,
    // kept beside the crate.
    #[test]
    fn table_matches_the_reference() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/spec/external_policy_params.json"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let spec: serde_json::Value = serde_json::from_str(&text).unwrap();
        let rows = spec.as_array().unwrap();
        assert_eq!(rows.len(), PARAMETERS.len());
        for r in rows {
            let name = r["name"].as_str().unwrap();
            let ours = PARAMETERS
                .iter()
                .find(|p| p.name == name)
                .unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(
                (ours.registration, ours.search, ours.call),
                (
                    r["registration_policy"].as_bool().unwrap(),
                    r["search_rules"].as_bool().unwrap(),
                    r["call_policy"].as_bool().unwrap()
                ),
                "{name}"
            );
        }
    }
}
