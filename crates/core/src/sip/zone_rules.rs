//! The advanced zone settings (the Custom zone profile and the preconfigured profiles) and what
//! they do to SIP messages passing to and from a neighbor or DNS zone.
//!
//! [`effective`] turns a zone's configuration into the settings that apply: a preconfigured
//! profile's values (notes 04 §2.14), or with `ZoneProfile: Custom` the zone's own elements
//! (§2.13). The rewrites are pure functions over messages; the `Service` methods at the end
//! are the hooks the proxy calls where a message leaves for a zone or arrives from one.

use super::proxy::Hop;
use super::util;
use super::Service;
use crate::transport::Flow;
use causeway_config::Snapshot;
use causeway_routing::Target;
use causeway_sip::header::Via;
use causeway_sip::retain::RetainMode;
use causeway_sip::transaction::Key;
use causeway_sip::{Headers, Method, Request, Response};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::OnceLock;

/// The Via parameter that marks requests sent to a zone in poison mode.
pub const POISON_PARAM: &str = "cw-poison";
/// The parameter of the Path entries the proxy adds (the proxy's own `PATH_MARK`).
const PATH_PARAM: &str = "cw-path";
/// The option tag the Nortel CS1000 profile strips from Proxy-Require.
pub const NORTEL_FIREWALL: &str = "com.nortelnetworks.firewall";

/// `Zones Zone [n] Neighbor ZoneProfile` / `DNS ZoneProfile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// The factory defaults (the matrix's Default column); also what an unset profile means.
    Default,
    /// Every advanced setting from the zone's own elements.
    Custom,
    /// `CiscoUnifiedCommunicationsManager`: Unified CM 9.x or later.
    UnifiedCm,
    /// `CiscoUnifiedCommunicationsManagerBFCP`: Unified CM 8.6 and below (UDP/BFCP filtered).
    UnifiedCmBfcp,
    /// `NortelCS1000`: Nortel Communication Server 1000.
    NortelCs1000,
    /// `NonRegisteringDevice`: the guide's "Infrastructure device" (an MCU, say).
    InfrastructureDevice,
    /// `LocalB2BUAService`: not in the guide's matrix; it takes the Default column.
    LocalB2buaService,
}

impl Profile {
    /// The profile a configured value names; unset or unknown is Default.
    pub fn from_config(v: Option<&str>) -> Profile {
        match v.unwrap_or("").to_ascii_lowercase().as_str() {
            "custom" => Profile::Custom,
            "ciscounifiedcommunicationsmanager" => Profile::UnifiedCm,
            "ciscounifiedcommunicationsmanagerbfcp" => Profile::UnifiedCmBfcp,
            "nortelcs1000" => Profile::NortelCs1000,
            "nonregisteringdevice" => Profile::InfrastructureDevice,
            "localb2buaservice" => Profile::LocalB2buaService,
            _ => Profile::Default,
        }
    }
}

/// Zone types that have advanced settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneKind {
    Neighbor,
    Dns,
}

/// `Call signaling routed mode` (`Neighbor SignalingRouting Mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalingRouting {
    Auto,
    Always,
}

/// `SIP encryption mode` (`Neighbor SIP Encryption Mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SipEncryption {
    Auto,
    Microsoft,
    Off,
}

/// `SIP REFER mode` (`Neighbor SIP B2BUA Refer Mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferMode {
    Forward,
    Terminate,
}

/// `Interworking SIP search strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchStrategy {
    Options,
    Info,
}

/// `SIP record route address type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordRouteAddress {
    Ip,
    Hostname,
}

/// The advanced settings that apply to one zone. Settings the guide gives only to the other
/// zone type keep their factory value. Interworking, B2BUA and H.323 settings are computed
/// for completeness; the SIP proxy acts on the ones documented in `docs/decisions.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneSettings {
    pub kind: ZoneKind,
    pub profile: Profile,
    /// Include address record (DNS zones).
    pub include_address_record: bool,
    /// Monitor peer status (neighbor zones).
    pub monitor: bool,
    pub signaling: SignalingRouting,
    pub h323_auto_respond: bool,
    pub sip_auto_respond: bool,
    pub empty_invite: bool,
    pub parameter_preservation: bool,
    pub poison: bool,
    pub encryption: SipEncryption,
    pub refer: ReferMode,
    pub meeting_server_load_balancing: bool,
    pub mime_strip: bool,
    pub update_strip: bool,
    pub search_strategy: SearchStrategy,
    pub bfcp_filter: bool,
    pub ix_filter: bool,
    pub record_route: RecordRouteAddress,
    /// Option tags removed from Proxy-Require of requests received from the zone.
    pub proxy_require_strip: Vec<String>,
    /// `Neighbor SIP RFC3327 Enabled` (CLI only, outside the profiles): Path on REGISTERs.
    pub rfc3327: bool,
    /// `Neighbor RetainConnectionOnParseErrorMode` (CLI only, outside the profiles).
    pub retain: RetainMode,
}

impl ZoneSettings {
    /// The factory values (the advanced-settings table's Default column, §2.13).
    fn factory(kind: ZoneKind, profile: Profile) -> ZoneSettings {
        ZoneSettings {
            kind,
            profile,
            include_address_record: false,
            monitor: true,
            signaling: SignalingRouting::Auto,
            h323_auto_respond: false,
            sip_auto_respond: false,
            empty_invite: true,
            parameter_preservation: false,
            poison: false,
            encryption: SipEncryption::Auto,
            refer: ReferMode::Forward,
            meeting_server_load_balancing: false,
            mime_strip: false,
            update_strip: false,
            search_strategy: SearchStrategy::Options,
            bfcp_filter: false,
            ix_filter: false,
            record_route: RecordRouteAddress::Ip,
            proxy_require_strip: Vec::new(),
            rfc3327: true,
            retain: RetainMode::DropAll,
        }
    }

    /// A preconfigured profile's values (the matrix at guide line 11297, notes 04 §2.14).
    pub fn preset(kind: ZoneKind, profile: Profile) -> ZoneSettings {
        let mut s = ZoneSettings::factory(kind, profile);
        match profile {
            Profile::Default | Profile::LocalB2buaService | Profile::Custom => {
                // The matrix alone turns Meeting Server load balancing on for Default.
                s.meeting_server_load_balancing = profile != Profile::Custom;
            }
            Profile::UnifiedCm => s.signaling = SignalingRouting::Always,
            Profile::UnifiedCmBfcp => {
                s.signaling = SignalingRouting::Always;
                s.bfcp_filter = true;
                s.ix_filter = true;
            }
            Profile::NortelCs1000 => {
                s.update_strip = true;
                s.ix_filter = true;
                s.proxy_require_strip = vec![NORTEL_FIREWALL.to_string()];
            }
            Profile::InfrastructureDevice => {
                s.monitor = false;
                s.signaling = SignalingRouting::Always;
                s.h323_auto_respond = true;
                s.sip_auto_respond = true;
                s.ix_filter = true;
            }
        }
        s
    }

    /// Settings the guide does not give to this zone type go back to their factory value.
    fn for_kind(mut self) -> ZoneSettings {
        let f = ZoneSettings::factory(self.kind, self.profile);
        match self.kind {
            ZoneKind::Neighbor => self.include_address_record = f.include_address_record,
            ZoneKind::Dns => {
                self.monitor = f.monitor;
                self.signaling = f.signaling;
                self.h323_auto_respond = f.h323_auto_respond;
                self.encryption = f.encryption;
                self.refer = f.refer;
                self.meeting_server_load_balancing = f.meeting_server_load_balancing;
                self.mime_strip = f.mime_strip;
                self.update_strip = f.update_strip;
                self.search_strategy = f.search_strategy;
                self.proxy_require_strip = f.proxy_require_strip;
                self.rfc3327 = f.rfc3327;
                self.retain = f.retain;
            }
        }
        self
    }
}

/// The settings that apply to zone `row` (neighbor and DNS zones; `None` for other types).
pub fn effective(snap: &Snapshot, row: u32) -> Option<ZoneSettings> {
    let g = |k: &str| snap.get(&format!("Zones Zone {row} {k}")).unwrap_or("");
    let (kind, p) = match g("Type") {
        "Neighbor" => (ZoneKind::Neighbor, "Neighbor"),
        "DNS" => (ZoneKind::Dns, "DNS"),
        _ => return None,
    };
    let e = |k: &str| g(&format!("{p} {k}"));
    let on = |k: &str| e(k).eq_ignore_ascii_case("On");
    let profile = Profile::from_config(Some(e("ZoneProfile")));
    let mut s = if profile == Profile::Custom {
        let mut s = ZoneSettings::factory(kind, profile);
        s.sip_auto_respond = on("SIP SearchAutoResponse");
        s.empty_invite = !e("Interworking SIP EmptyInviteAllowed").eq_ignore_ascii_case("Off");
        s.poison = on("SIP Poison Mode");
        s.bfcp_filter = on("SIP UDP BFCP Filter Mode");
        s.record_route = if e("SIP Record Route Address Type").eq_ignore_ascii_case("Hostname") {
            RecordRouteAddress::Hostname
        } else {
            RecordRouteAddress::Ip
        };
        match kind {
            ZoneKind::Dns => s.include_address_record = on("IncludeAddressRecord"),
            ZoneKind::Neighbor => {
                s.monitor = !e("Monitor").eq_ignore_ascii_case("No");
                if e("SignalingRouting Mode").eq_ignore_ascii_case("Always") {
                    s.signaling = SignalingRouting::Always;
                }
                s.h323_auto_respond = on("H323 SearchAutoResponse");
                s.encryption = match e("SIP Encryption Mode").to_ascii_lowercase().as_str() {
                    "microsoft" => SipEncryption::Microsoft,
                    "off" => SipEncryption::Off,
                    _ => SipEncryption::Auto,
                };
                if e("SIP B2BUA Refer Mode").eq_ignore_ascii_case("Terminate") {
                    s.refer = ReferMode::Terminate;
                }
                s.mime_strip = on("SIP MIME Strip Mode");
                s.update_strip = on("SIP UPDATE Strip Mode");
                if e("Interworking SIP Search Strategy").eq_ignore_ascii_case("Info") {
                    s.search_strategy = SearchStrategy::Info;
                }
                s.ix_filter = on("SIP UDP IX Filter Mode");
                s.proxy_require_strip = e("SIP ProxyRequire Strip List")
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect();
            }
        }
        s
    } else {
        ZoneSettings::preset(kind, profile)
    };
    if kind == ZoneKind::Neighbor {
        s.rfc3327 = !e("SIP RFC3327 Enabled").eq_ignore_ascii_case("No");
        s.retain = e("RetainConnectionOnParseErrorMode")
            .parse()
            .unwrap_or_default();
    }
    Some(s.for_kind())
}

/// Every zone's settings. Which zone a peer's address belongs to is the search's business
/// (`search::ZonePeers`, which knows the addresses peer names resolve to).
#[derive(Debug, Default)]
pub struct Rules {
    /// By lower-case zone name.
    zones: HashMap<String, ZoneSettings>,
    /// The system host name with its domain, for Record-Route and Path by host name.
    host: Option<String>,
    /// Some neighbor zone changes what arrives from its peers or sets a connection policy
    /// of its own: only then are arriving messages matched against the zones.
    inbound: bool,
}

impl Rules {
    pub fn from_snapshot(snap: &Snapshot) -> Rules {
        let mut r = Rules::default();
        for row in snap.rows("Zones Zone") {
            let g = |k: &str| snap.get(&format!("Zones Zone {row} {k}")).unwrap_or("");
            let name = g("Name").to_ascii_lowercase();
            if name.is_empty() {
                continue;
            }
            let Some(s) = effective(snap, row) else {
                continue;
            };
            r.inbound |= s.update_strip
                || s.mime_strip
                || !s.proxy_require_strip.is_empty()
                || s.retain != RetainMode::DropAll;
            r.zones.insert(name, s);
        }
        let host = snap.get("IP DNS Hostname").unwrap_or("").trim();
        let domain = snap.get("IP DNS Domain Name").unwrap_or("").trim();
        r.host = match (host.is_empty(), domain.is_empty()) {
            (true, _) => None,
            (false, true) => Some(host.to_string()),
            (false, false) => Some(format!("{host}.{domain}")),
        };
        r
    }

    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// A zone's settings by its name.
    pub fn zone(&self, name: &str) -> Option<&ZoneSettings> {
        self.zones.get(&name.to_ascii_lowercase())
    }

    /// Whether messages arriving from neighbor peers can be affected at all.
    pub fn inbound(&self) -> bool {
        self.inbound
    }

    /// The system host name (with domain) used by `Record Route Address Type: Hostname`.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }
}

// ---------------------------------------------------------------------------------------
// Rewrites

/// Rewrites every field called `name` as one field (where the first was) without the values
/// `drop` picks, or removes the header when none is left. Whether anything was dropped.
fn filter_list(h: &mut Headers, name: &str, drop: impl Fn(&str) -> bool) -> bool {
    let values: Vec<String> = util::values(h, name).map(str::to_owned).collect();
    if !values.iter().any(|v| drop(v)) {
        return false;
    }
    let at = h.iter().position(|f| f.is(name)).unwrap_or(h.len());
    h.remove(name);
    let kept: Vec<&str> = values
        .iter()
        .map(String::as_str)
        .filter(|v| !drop(v))
        .collect();
    if !kept.is_empty() {
        let _ = h.insert(at, name, kept.join(", "));
    }
    true
}

/// SIP UPDATE strip mode: UPDATE leaves the Allow header.
pub fn strip_update(h: &mut Headers) -> bool {
    filter_list(h, "Allow", |m| m.eq_ignore_ascii_case("UPDATE"))
}

/// SIP Proxy-Require header strip list: the listed option tags leave Proxy-Require.
pub fn strip_proxy_require(h: &mut Headers, tags: &[String]) -> bool {
    if tags.is_empty() {
        return false;
    }
    filter_list(h, "Proxy-Require", |t| {
        tags.iter().any(|x| x.eq_ignore_ascii_case(t))
    })
}

/// The media type of a Content-Type value, in lower case, and the text of its parameters.
fn media_type(ct: &str) -> (String, &str) {
    let (mt, params) = ct.split_once(';').unwrap_or((ct, ""));
    (mt.trim().to_ascii_lowercase(), params)
}

/// A parameter of a Content-Type value, unquoted.
fn media_param<'a>(params: &'a str, name: &str) -> Option<&'a str> {
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"'))
    })
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// A body part's header section and content.
fn split_part(part: &[u8]) -> (&[u8], &[u8]) {
    if let Some(rest) = part.strip_prefix(b"\r\n") {
        return (&[], rest);
    }
    if let Some(rest) = part.strip_prefix(b"\n") {
        return (&[], rest);
    }
    if let Some(p) = find(part, b"\r\n\r\n", 0) {
        return (&part[..p], &part[p + 4..]);
    }
    match find(part, b"\n\n", 0) {
        Some(p) => (&part[..p], &part[p + 2..]),
        None => (part, &[]),
    }
}

/// A header of a body part's header section.
fn part_header<'a>(headers: &'a [u8], name: &str) -> Option<&'a str> {
    std::str::from_utf8(headers).ok()?.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The first application/sdp part of a multipart body with this Content-Type, looking into
/// nested multiparts too (RFC 2046 §5.1: the CRLF before a delimiter belongs to it).
pub fn sdp_part<'a>(content_type: &str, body: &'a [u8]) -> Option<&'a [u8]> {
    let (mt, params) = media_type(content_type);
    if !mt.starts_with("multipart/") {
        return None;
    }
    let delim = format!("--{}", media_param(params, "boundary")?);
    let delim = delim.as_bytes();
    let mut starts = Vec::new();
    let mut at = 0;
    while let Some(p) = find(body, delim, at) {
        if p == 0 || body[p - 1] == b'\n' {
            starts.push(p);
        }
        at = p + delim.len();
    }
    for w in starts.windows(2) {
        let (start, next) = (w[0] + delim.len(), w[1]);
        if body[start..].starts_with(b"--") {
            break;
        }
        // The rest of the delimiter line is transport padding.
        let Some(content) = find(body, b"\n", start).map(|p| p + 1) else {
            break;
        };
        let mut end = next;
        if end > content && body[end - 1] == b'\n' {
            end -= 1;
            if end > content && body[end - 1] == b'\r' {
                end -= 1;
            }
        }
        let (headers, part) = split_part(&body[content..end.max(content)]);
        let ct = part_header(headers, "Content-Type").unwrap_or("text/plain");
        let (pmt, _) = media_type(ct);
        if pmt == "application/sdp" {
            return Some(part);
        }
        if let Some(sdp) = sdp_part(ct, part) {
            return Some(sdp);
        }
    }
    None
}

/// SIP multipart MIME strip mode: a multipart body with an SDP part becomes that SDP alone.
pub fn strip_multipart(req: &mut Request) -> bool {
    let Some(ct) = req.headers.get_str("Content-Type").map(str::to_owned) else {
        return false;
    };
    let Some(sdp) = sdp_part(&ct, &req.body) else {
        return false;
    };
    let sdp = req.body.slice_ref(sdp);
    req.set_body(sdp, Some("application/sdp"));
    true
}

/// SIP UDP/BFCP and UDP/IX filter modes: media lines over UDP/BFCP become TCP/BFCP, and over
/// UDP/UDT/IX or UDP/DTLS/UDT/IX become RTP/AVP, disabled (port 0). `None` when nothing
/// changes.
pub fn filter_sdp(sdp: &[u8], bfcp: bool, ix: bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(sdp.len());
    let mut changed = false;
    for line in sdp.split_inclusive(|&b| b == b'\n') {
        let text = std::str::from_utf8(line)
            .ok()
            .filter(|t| t.starts_with("m="));
        let Some(text) = text else {
            out.extend_from_slice(line);
            continue;
        };
        let body = text.trim_end_matches(['\r', '\n']);
        let eol = &text[body.len()..];
        let fields: Vec<&str> = body[2..].split(' ').collect();
        let proto = fields.get(2).copied().unwrap_or("");
        let to = if bfcp && proto.eq_ignore_ascii_case("UDP/BFCP") {
            Some("TCP/BFCP")
        } else if ix
            && (proto.eq_ignore_ascii_case("UDP/UDT/IX")
                || proto.eq_ignore_ascii_case("UDP/DTLS/UDT/IX"))
        {
            Some("RTP/AVP")
        } else {
            None
        };
        match to {
            Some(to) => {
                changed = true;
                let mut m = format!("m={} 0 {to}", fields[0]);
                for f in &fields[3..] {
                    m.push(' ');
                    m.push_str(f);
                }
                out.extend_from_slice(m.as_bytes());
                out.extend_from_slice(eol.as_bytes());
            }
            None => out.extend_from_slice(line),
        }
    }
    changed.then_some(out)
}

/// `host:port` with the host of `me` (`ip:port` or `[v6]:port`) replaced by `host`.
pub fn rehost(me: &str, host: &str) -> String {
    match me.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() && (!h.contains(':') || h.ends_with(']')) => {
            format!("{host}:{p}")
        }
        _ => host.to_string(),
    }
}

/// Puts `host` in place of `me` in the first value of `name` when that value is ours
/// (`<sip:me;...>`), keeping its parameters.
fn rehost_top(h: &mut Headers, name: &str, me: &str, host: &str) -> bool {
    let Some(first) = util::values(h, name).next().map(str::to_owned) else {
        return false;
    };
    let ours = format!("<sip:{me};");
    if !first.starts_with(&ours) {
        return false;
    }
    let new = format!("<sip:{};{}", rehost(me, host), &first[ours.len()..]);
    h.remove_first_value(name);
    h.insert_top(name, new).is_ok()
}

/// This process's poison mark: requests carrying it in a Via were sent by us.
pub fn poison_mark() -> &'static str {
    static MARK: OnceLock<String> = OnceLock::new();
    MARK.get_or_init(|| format!("{:016x}", rand::random::<u64>()))
}

/// SIP poison mode: the top Via (ours) gets the mark.
pub fn poison(h: &mut Headers, mark: &str) -> bool {
    let Some(top) = util::values(h, "Via").next().map(str::to_owned) else {
        return false;
    };
    h.remove_first_value("Via");
    h.insert_top("Via", format!("{top};{POISON_PARAM}={mark}"))
        .is_ok()
}

/// Whether a request carries `mark` in any Via: one we sent to a poisoned zone, back again.
pub fn poisoned(h: &Headers, mark: &str) -> bool {
    util::values(h, "Via")
        .filter_map(|v| Via::parse_lenient(v).ok())
        .any(|v| v.param(POISON_PARAM) == Some(Some(mark)))
}

/// What a zone's settings do to a request on its way to the zone, after the proxy added its
/// Via, Record-Route and Path naming `me`. `host` is the system host name, if any.
pub fn apply_outgoing(
    z: &ZoneSettings,
    host: Option<&str>,
    me: &str,
    mark: &str,
    out: &mut Request,
) {
    if z.update_strip {
        strip_update(&mut out.headers);
    }
    if out.method == Method::Invite && (z.bfcp_filter || z.ix_filter) {
        let sdp = out
            .headers
            .get_str("Content-Type")
            .is_some_and(|ct| media_type(ct).0 == "application/sdp");
        if sdp {
            if let Some(b) = filter_sdp(&out.body, z.bfcp_filter, z.ix_filter) {
                out.set_body(b.into(), None);
            }
        }
    }
    if out.method == Method::Register && !z.rfc3327 {
        let ours = util::values(&out.headers, "Path")
            .next()
            .is_some_and(|p| p.starts_with(&format!("<sip:{me};")) && p.contains(PATH_PARAM));
        if ours {
            out.headers.remove_first_value("Path");
            // Without Path the registrar must reach the contact through us some other way:
            // the contact itself points here and carries the real one.
            rewrite_contacts(&mut out.headers, |uri| {
                let user = uri
                    .strip_prefix("sip:")
                    .and_then(|r| r.split_once('@'))
                    .map_or(String::new(), |(u, _)| format!("{u}@"));
                format!("sip:{user}{me};{CONTACT_PARAM}={}", to_hex(uri))
            });
        }
    }
    if let (RecordRouteAddress::Hostname, Some(host)) = (z.record_route, host) {
        rehost_top(&mut out.headers, "Record-Route", me, host);
        if out.method == Method::Register {
            rehost_top(&mut out.headers, "Path", me, host);
        }
    }
    if z.poison {
        poison(&mut out.headers, mark);
    }
}

/// Marks a Contact we rewrote for a registrar without Path support; its value is the real
/// contact, in hex.
pub const CONTACT_PARAM: &str = "cw-contact";

fn to_hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// The real contact a rewritten contact URI stands for.
pub fn real_contact(uri: &str) -> Option<String> {
    let at = uri.find(&format!(";{CONTACT_PARAM}="))?;
    let rest = &uri[at + CONTACT_PARAM.len() + 2..];
    let value = rest.split([';', '>', '?']).next()?;
    from_hex(value)
}

/// Rewrites the URI of every Contact value (not `*`), keeping the header parameters.
fn rewrite_contacts(headers: &mut Headers, f: impl Fn(&str) -> String) {
    let values: Vec<String> = util::values(headers, "Contact")
        .map(str::to_owned)
        .collect();
    if values.is_empty() {
        return;
    }
    let rewritten: Vec<String> = values
        .iter()
        .map(|v| {
            let (Some(open), Some(close)) = (v.find('<'), v.find('>')) else {
                return v.clone();
            };
            format!(
                "{}<{}>{}",
                &v[..open],
                f(&v[open + 1..close]),
                &v[close + 1..]
            )
        })
        .collect();
    headers.remove("Contact");
    for v in rewritten {
        let _ = headers.push("Contact", v);
    }
}

/// A REGISTER's answer from a registrar we rewrote contacts for: the registrant sees its own.
pub fn restore_contacts(headers: &mut Headers) {
    let ours = util::values(headers, "Contact").any(|v| v.contains(CONTACT_PARAM));
    if ours {
        rewrite_contacts(headers, |uri| {
            real_contact(uri).unwrap_or_else(|| uri.to_string())
        });
    }
}

/// What a zone's settings do to a request received from it.
pub fn apply_incoming(z: &ZoneSettings, req: &mut Request) {
    if z.update_strip {
        strip_update(&mut req.headers);
    }
    strip_proxy_require(&mut req.headers, &z.proxy_require_strip);
    if z.mime_strip {
        strip_multipart(req);
    }
}

// ---------------------------------------------------------------------------------------
// Hooks

impl Service {
    /// The settings of the neighbor zone with a peer at `ip` (configured, or a name that
    /// resolved there), as the search finds a request's source zone.
    fn peer_zone(&self, ip: IpAddr) -> Option<&ZoneSettings> {
        let z = self
            .derived
            .zones
            .values()
            .find(|z| z.addrs.contains(&ip))?;
        self.derived.zone_rules.zone(&z.name)
    }

    /// How a TCP or TLS connection from `ip` treats malformed messages: its neighbor zone's
    /// mode, DropAll for everyone else (the Default Zone has no setting).
    pub(super) fn zone_retain_mode(&self, ip: IpAddr) -> RetainMode {
        if !self.derived.zone_rules.inbound() {
            return RetainMode::DropAll;
        }
        self.peer_zone(ip).map_or(RetainMode::DropAll, |z| z.retain)
    }

    /// The zone a branch goes to: the zone its search query asked, or else the neighbor zone
    /// with a peer at its next hop.
    fn branch_zone(&self, server: &Key, query: Option<usize>, hop: Hop) -> Option<&ZoneSettings> {
        let rules = &self.derived.zone_rules;
        if rules.is_empty() {
            return None;
        }
        let asked = query
            .and_then(|q| self.proxy.contexts.get(server)?.queries.get(q))
            .and_then(|q| match &q.target {
                Target::Zone(z) => rules.zone(z),
                _ => None,
            });
        let Hop::Addr(_, addr) = hop;
        asked.or_else(|| self.peer_zone(addr.ip()))
    }

    /// A request about to leave on a branch of `server`'s request.
    pub(super) fn outgoing_to_zone(
        &self,
        server: &Key,
        query: Option<usize>,
        hop: Hop,
        me: &str,
        out: &mut Request,
    ) {
        if let Some(z) = self.branch_zone(server, query, hop) {
            apply_outgoing(z, self.derived.zone_rules.host(), me, poison_mark(), out);
        }
    }

    /// A request that arrived on `flow`, as it will be forwarded.
    pub(super) fn incoming_from_zone(&self, fwd: &mut Request, flow: &Flow) {
        if !self.derived.zone_rules.inbound() {
            return;
        }
        if let Some(z) = self.peer_zone(flow.remote.ip()) {
            apply_incoming(z, fwd);
        }
    }

    /// A response that came back on branch `branch` (sent to `hop`) of `server`'s request.
    pub(super) fn response_from_zone(
        &self,
        server: &Key,
        branch: usize,
        hop: Hop,
        resp: &mut Response,
    ) {
        let query = self
            .proxy
            .contexts
            .get(server)
            .and_then(|c| c.branch_query.get(branch).copied().flatten());
        let zone = self.branch_zone(server, query, hop);
        if zone.is_some_and(|z| !z.rfc3327) {
            restore_contacts(&mut resp.headers);
        }
        if zone.is_some_and(|z| z.update_strip) {
            strip_update(&mut resp.headers);
        }
    }

    /// A response about to go back through server transaction `key`.
    pub(super) fn response_to_zone(&self, key: &Key, resp: &mut Response) {
        if !self.derived.zone_rules.inbound() {
            return;
        }
        let to = self.server.get(key).map(|t| t.flow.remote.ip());
        if to
            .and_then(|ip| self.peer_zone(ip))
            .is_some_and(|z| z.update_strip)
        {
            strip_update(&mut resp.headers);
        }
    }

    /// The answer to a request that carries our poison mark, if it does.
    pub(super) fn poison_answer(&self, req: &Request) -> Option<Response> {
        poisoned(&req.headers, poison_mark())
            .then(|| Response::for_request(req, 482, "Loop Detected (poisoned request)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use causeway_config::Values;

    fn snap(pairs: &[(&str, &str)]) -> Snapshot {
        let mut v = Values::new();
        for (k, val) in pairs {
            v.insert(k.to_string(), val.to_string());
        }
        Snapshot::from_values(v)
    }

    fn neighbor(extra: &[(&str, &str)]) -> ZoneSettings {
        let mut pairs = vec![
            ("Zones Zone 1 Name", "Z"),
            ("Zones Zone 1 Type", "Neighbor"),
        ];
        let keys: Vec<(String, &str)> = extra
            .iter()
            .map(|(k, v)| (format!("Zones Zone 1 Neighbor {k}"), *v))
            .collect();
        pairs.extend(keys.iter().map(|(k, v)| (k.as_str(), *v)));
        effective(&snap(&pairs), 1).unwrap()
    }

    fn parse(text: &str) -> Request {
        let text = text.replace('\n', "\r\n");
        match causeway_sip::parse::parse_message(text.as_bytes()) {
            Ok(causeway_sip::Message::Request(r)) => r,
            other => panic!("not a request: {other:?}"),
        }
    }

    /// The profile matrix of the guide (line 11297), column by column, for each of the
    /// settings the matrix lists. Columns: UCM 9.x+, UCM ≤8.6, Nortel, Infrastructure, Default.
    #[test]
    fn the_preconfigured_profiles_follow_the_matrix() {
        let cols = [
            "CiscoUnifiedCommunicationsManager",
            "CiscoUnifiedCommunicationsManagerBFCP",
            "NortelCS1000",
            "NonRegisteringDevice",
            "Default",
        ];
        let z: Vec<ZoneSettings> = cols
            .iter()
            .map(|p| neighbor(&[("ZoneProfile", p)]))
            .collect();
        let row =
            |f: &dyn Fn(&ZoneSettings) -> String| -> Vec<String> { z.iter().map(f).collect() };
        let b = |v: bool| if v { "On" } else { "Off" }.to_string();
        assert_eq!(
            row(&|s| if s.monitor { "Yes" } else { "No" }.into()),
            ["Yes", "Yes", "Yes", "No", "Yes"]
        );
        assert_eq!(
            row(&|s| format!("{:?}", s.signaling)),
            ["Always", "Always", "Auto", "Always", "Auto"]
        );
        assert_eq!(
            row(&|s| b(s.h323_auto_respond)),
            ["Off", "Off", "Off", "On", "Off"]
        );
        assert_eq!(
            row(&|s| b(s.sip_auto_respond)),
            ["Off", "Off", "Off", "On", "Off"]
        );
        assert!(z.iter().all(|s| s.empty_invite));
        assert!(z.iter().all(|s| !s.parameter_preservation && !s.poison));
        assert!(z.iter().all(|s| s.encryption == SipEncryption::Auto));
        assert!(z.iter().all(|s| s.refer == ReferMode::Forward));
        assert_eq!(
            row(&|s| b(s.meeting_server_load_balancing)),
            ["Off", "Off", "Off", "Off", "On"]
        );
        assert!(z.iter().all(|s| !s.mime_strip));
        assert_eq!(
            row(&|s| b(s.update_strip)),
            ["Off", "Off", "On", "Off", "Off"]
        );
        assert!(z
            .iter()
            .all(|s| s.search_strategy == SearchStrategy::Options));
        assert_eq!(
            row(&|s| b(s.bfcp_filter)),
            ["Off", "On", "Off", "Off", "Off"]
        );
        assert_eq!(row(&|s| b(s.ix_filter)), ["Off", "On", "On", "On", "Off"]);
        assert!(z.iter().all(|s| s.record_route == RecordRouteAddress::Ip));
        assert_eq!(
            row(&|s| s.proxy_require_strip.join(",")),
            ["", "", NORTEL_FIREWALL, "", ""]
        );
    }

    #[test]
    fn a_preset_ignores_the_zones_own_elements_and_custom_reads_them() {
        let own = [
            ("Monitor", "No"),
            ("SIP UPDATE Strip Mode", "On"),
            ("SIP MIME Strip Mode", "On"),
            ("SIP Poison Mode", "On"),
            ("SIP UDP BFCP Filter Mode", "On"),
            ("SIP UDP IX Filter Mode", "On"),
            ("SIP Record Route Address Type", "Hostname"),
            ("SIP ProxyRequire Strip List", " a.b , c.d ,"),
            ("SignalingRouting Mode", "Always"),
            ("SIP B2BUA Refer Mode", "Terminate"),
            ("SIP Encryption Mode", "Microsoft"),
            ("Interworking SIP Search Strategy", "Info"),
        ];
        // Unset and Default both mean the Default column.
        let d = ZoneSettings::preset(ZoneKind::Neighbor, Profile::Default);
        assert_eq!(neighbor(&own), d);
        let mut with_default = own.to_vec();
        with_default.push(("ZoneProfile", "Default"));
        assert_eq!(neighbor(&with_default), d);
        let mut custom = own.to_vec();
        custom.push(("ZoneProfile", "Custom"));
        let c = neighbor(&custom);
        assert_eq!(c.profile, Profile::Custom);
        assert!(!c.monitor && c.update_strip && c.mime_strip && c.poison);
        assert!(c.bfcp_filter && c.ix_filter);
        assert_eq!(c.record_route, RecordRouteAddress::Hostname);
        assert_eq!(c.proxy_require_strip, ["a.b", "c.d"]);
        assert_eq!(c.signaling, SignalingRouting::Always);
        assert_eq!(c.refer, ReferMode::Terminate);
        assert_eq!(c.encryption, SipEncryption::Microsoft);
        assert_eq!(c.search_strategy, SearchStrategy::Info);
        // Custom with nothing set is the factory table, where Meeting Server load balancing
        // is Off.
        let bare = neighbor(&[("ZoneProfile", "Custom")]);
        assert!(bare.monitor && !bare.update_strip && !bare.meeting_server_load_balancing);
        assert!(bare.proxy_require_strip.is_empty());
    }

    #[test]
    fn cli_only_knobs_apply_whatever_the_profile() {
        let z = neighbor(&[
            ("ZoneProfile", "NortelCS1000"),
            ("SIP RFC3327 Enabled", "No"),
            ("RetainConnectionOnParseErrorMode", "RetainSome"),
        ]);
        assert!(!z.rfc3327);
        assert_eq!(z.retain, RetainMode::RetainSome);
        let d = neighbor(&[]);
        assert!(d.rfc3327);
        assert_eq!(d.retain, RetainMode::DropAll);
    }

    #[test]
    fn dns_zones_take_only_their_own_settings() {
        let s = |extra: &[(&str, &str)]| {
            let mut pairs = vec![("Zones Zone 4 Name", "D"), ("Zones Zone 4 Type", "DNS")];
            pairs.extend_from_slice(extra);
            effective(&snap(&pairs), 4).unwrap()
        };
        let nortel = s(&[("Zones Zone 4 DNS ZoneProfile", "NortelCS1000")]);
        assert_eq!(nortel.kind, ZoneKind::Dns);
        // UPDATE strip and the Proxy-Require list are neighbor settings; the IX filter is not.
        assert!(!nortel.update_strip && nortel.proxy_require_strip.is_empty());
        assert!(nortel.ix_filter);
        let custom = s(&[
            ("Zones Zone 4 DNS ZoneProfile", "Custom"),
            ("Zones Zone 4 DNS SIP Poison Mode", "On"),
            ("Zones Zone 4 DNS SIP UDP BFCP Filter Mode", "On"),
            ("Zones Zone 4 DNS SIP Record Route Address Type", "Hostname"),
            ("Zones Zone 4 DNS IncludeAddressRecord", "On"),
        ]);
        assert!(custom.poison && custom.bfcp_filter && custom.include_address_record);
        assert!(!custom.ix_filter, "DNS zones have no IX element");
        assert_eq!(custom.record_route, RecordRouteAddress::Hostname);
        assert!(effective(&snap(&[("Zones Zone 2 Type", "ENUM")]), 2).is_none());
    }

    #[test]
    fn rules_find_zones_by_name() {
        let r = Rules::from_snapshot(&snap(&[
            ("Zones Zone 1 Name", "Nortel"),
            ("Zones Zone 1 Type", "Neighbor"),
            ("Zones Zone 1 Neighbor ZoneProfile", "NortelCS1000"),
            ("Zones Zone 1 Neighbor Peer 2 Address", "192.0.2.7"),
            (
                "Zones Zone 1 Neighbor RetainConnectionOnParseErrorMode",
                "RetainAll",
            ),
            ("Zones Zone 2 Name", "Other"),
            ("Zones Zone 2 Type", "Neighbor"),
            ("Zones Zone 2 Neighbor Peer 1 Address", "192.0.2.7"),
            ("IP DNS Hostname", "cw1"),
            ("IP DNS Domain Name", "example.net"),
        ]));
        assert!(r.zone("NORTEL").unwrap().update_strip);
        assert_eq!(r.zone("nortel").unwrap().retain, RetainMode::RetainAll);
        assert!(!r.zone("Other").unwrap().update_strip);
        assert!(r.inbound());
        assert_eq!(r.host(), Some("cw1.example.net"));
        let bare = Rules::from_snapshot(&snap(&[("IP DNS Domain Name", "example.net")]));
        assert!(bare.is_empty() && bare.host().is_none() && !bare.inbound());
        // Settings that only touch what leaves for a zone do not make arrivals look.
        let out = Rules::from_snapshot(&snap(&[
            ("Zones Zone 1 Name", "Out"),
            ("Zones Zone 1 Type", "Neighbor"),
            (
                "Zones Zone 1 Neighbor ZoneProfile",
                "CiscoUnifiedCommunicationsManagerBFCP",
            ),
        ]));
        assert!(!out.is_empty() && !out.inbound());
    }

    #[test]
    fn update_leaves_allow_and_the_rest_stays() {
        let mut r = parse(
            "INVITE sip:b@x SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nAllow: INVITE, update\n\
             Max-Forwards: 70\nAllow: ACK,UPDATE, BYE\n\n",
        );
        assert!(strip_update(&mut r.headers));
        let allow: Vec<_> = r.headers.get_all("Allow").collect();
        assert_eq!(allow, [&b"INVITE, ACK, BYE"[..]]);
        // In the first Allow's place.
        assert!(r.headers.at(1).unwrap().is("Allow"));
        assert!(!strip_update(&mut r.headers));
        let mut only = parse("OPTIONS sip:b@x SIP/2.0\nAllow: UPDATE\n\n");
        assert!(strip_update(&mut only.headers));
        assert!(!only.headers.contains("Allow"));
    }

    #[test]
    fn listed_tags_leave_proxy_require() {
        let tags = vec![NORTEL_FIREWALL.to_string(), "x.y".to_string()];
        let mut r = parse(&format!(
            "INVITE sip:b@x SIP/2.0\nProxy-Require: {}, sec-agree\nProxy-Require: X.Y\n\n",
            NORTEL_FIREWALL.to_ascii_uppercase()
        ));
        assert!(strip_proxy_require(&mut r.headers, &tags));
        assert_eq!(r.headers.get_str("Proxy-Require"), Some("sec-agree"));
        let mut all = parse(&format!(
            "INVITE sip:b@x SIP/2.0\nProxy-Require: {NORTEL_FIREWALL}\n\n"
        ));
        assert!(strip_proxy_require(&mut all.headers, &tags));
        assert!(!all.headers.contains("Proxy-Require"));
        assert!(!strip_proxy_require(&mut all.headers, &[]));
    }

    const SDP: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
                       m=audio 49170 RTP/AVP 0\r\n";

    fn multipart(boundary: &str, sdp: &str) -> String {
        format!(
            "preamble\r\n--{boundary}\r\nContent-Type: application/pidf+xml\r\n\r\n<presence/>\r\n\
             --{boundary}  \r\nContent-Type: application/sdp\r\nContent-Disposition: session\r\n\r\n\
             {sdp}\r\n--{boundary}\r\nContent-Type: application/isup;version=itu-t92+\r\n\r\n\
             \x01\x02\r\n--{boundary}--\r\nepilogue",
        )
    }

    #[test]
    fn the_sdp_part_of_a_multipart_body_is_found() {
        let body = multipart("b1", SDP);
        assert_eq!(
            sdp_part("multipart/mixed; boundary=b1", body.as_bytes()),
            Some(SDP.as_bytes())
        );
        assert_eq!(
            sdp_part("Multipart/Alternative;boundary=\"b1\"", body.as_bytes()),
            Some(SDP.as_bytes())
        );
        assert_eq!(sdp_part("application/sdp", SDP.as_bytes()), None);
        assert_eq!(sdp_part("multipart/mixed", body.as_bytes()), None);
        // Nested: the SDP sits in a multipart/alternative inside multipart/mixed.
        let inner = multipart("in", SDP);
        let outer = format!(
            "--out\r\nContent-Type: text/plain\r\n\r\nhi\r\n--out\r\n\
             Content-Type: multipart/alternative; boundary=in\r\n\r\n{inner}\r\n--out--\r\n"
        );
        assert_eq!(
            sdp_part("multipart/mixed;boundary=out", outer.as_bytes()),
            Some(SDP.as_bytes())
        );
        // Without an SDP part nothing is found.
        let none = "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n";
        assert_eq!(
            sdp_part("multipart/mixed;boundary=b", none.as_bytes()),
            None
        );
    }

    #[test]
    fn multipart_becomes_its_sdp() {
        let body = multipart("xyz", SDP);
        let mut r = parse("INVITE sip:b@x SIP/2.0\nContent-Type: multipart/mixed;boundary=xyz\n\n");
        r.set_body(body.into_bytes().into(), None);
        assert!(strip_multipart(&mut r));
        assert_eq!(r.headers.get_str("Content-Type"), Some("application/sdp"));
        assert_eq!(
            r.headers.get_str("Content-Length"),
            Some(SDP.len().to_string().as_str())
        );
        assert_eq!(&r.body[..], SDP.as_bytes());
        assert!(!strip_multipart(&mut r), "plain SDP stays");
    }

    #[test]
    fn bfcp_and_ix_lines_are_disabled() {
        let sdp = "v=0\r\nm=audio 5000 RTP/AVP 0\r\nm=application 5070 UDP/BFCP *\r\n\
                   a=floorctrl:c-s\r\nm=application 5072/2 udp/udt/ix *\r\n\
                   m=application 5074 UDP/DTLS/UDT/IX *\r\nm=application 5076 TCP/BFCP *\r\n";
        let both = String::from_utf8(filter_sdp(sdp.as_bytes(), true, true).unwrap()).unwrap();
        assert_eq!(
            both,
            "v=0\r\nm=audio 5000 RTP/AVP 0\r\nm=application 0 TCP/BFCP *\r\n\
             a=floorctrl:c-s\r\nm=application 0 RTP/AVP *\r\n\
             m=application 0 RTP/AVP *\r\nm=application 5076 TCP/BFCP *\r\n"
        );
        let bfcp = String::from_utf8(filter_sdp(sdp.as_bytes(), true, false).unwrap()).unwrap();
        assert!(bfcp.contains("m=application 0 TCP/BFCP *\r\n"));
        assert!(bfcp.contains("m=application 5072/2 udp/udt/ix *"));
        let ix = String::from_utf8(filter_sdp(sdp.as_bytes(), false, true).unwrap()).unwrap();
        assert!(ix.contains("m=application 5070 UDP/BFCP *"));
        assert!(!ix.contains("UDT/IX"));
        assert_eq!(filter_sdp(SDP.as_bytes(), true, true), None);
        // Bare line feeds stay bare.
        let lf = filter_sdp(b"v=0\nm=application 9 UDP/BFCP *\n", true, false).unwrap();
        assert_eq!(lf, b"v=0\nm=application 0 TCP/BFCP *\n");
    }

    #[test]
    fn poison_marks_our_via_and_is_recognised() {
        let mut r = parse(
            "INVITE sip:b@x SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKcw1;rport, \
             SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKa\n\n",
        );
        assert!(!poisoned(&r.headers, "m1"));
        assert!(poison(&mut r.headers, "m1"));
        let vias: Vec<_> = util::values(&r.headers, "Via").collect();
        assert_eq!(
            vias,
            [
                "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKcw1;rport;cw-poison=m1",
                "SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKa"
            ]
        );
        // Back again under someone else's Via.
        let _ = r
            .headers
            .insert_top("Via", "SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKn");
        assert!(poisoned(&r.headers, "m1"));
        assert!(!poisoned(&r.headers, "m2"), "another node's mark");
        assert_eq!(poison_mark(), poison_mark());
        assert_eq!(poison_mark().len(), 16);
    }

    #[test]
    fn rehosting_keeps_port_and_parameters() {
        assert_eq!(rehost("192.0.2.1:5060", "cw.example"), "cw.example:5060");
        assert_eq!(
            rehost("[2001:db8::1]:5061", "cw.example"),
            "cw.example:5061"
        );
        assert_eq!(rehost("2001:db8::1", "cw.example"), "cw.example");
        let mut r = parse(
            "REGISTER sip:x SIP/2.0\nPath: <sip:192.0.2.1:5060;transport=udp;lr;cw-path>\n\
             Record-Route: <sip:192.0.2.9;lr>\n\n",
        );
        assert!(rehost_top(
            &mut r.headers,
            "Path",
            "192.0.2.1:5060",
            "cw.example"
        ));
        assert_eq!(
            r.headers.get_str("Path"),
            Some("<sip:cw.example:5060;transport=udp;lr;cw-path>")
        );
        assert!(!rehost_top(
            &mut r.headers,
            "Record-Route",
            "192.0.2.1:5060",
            "cw.example"
        ));
    }

    fn outgoing(z: &ZoneSettings, host: Option<&str>, method: &str, body: &str) -> Request {
        let me = "192.0.2.1:5060";
        let mut r = parse(&format!(
            "{method} sip:b@x SIP/2.0\n\
             Via: SIP/2.0/UDP {me};branch=z9hG4bKcw1;rport\n\
             Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKa\n\
             Record-Route: <sip:{me};transport=udp;lr>\n\
             Path: <sip:{me};transport=udp;lr;cw-path>\n\
             Allow: INVITE, UPDATE\nContent-Type: application/sdp\n\n"
        ));
        r.set_body(body.as_bytes().to_vec().into(), None);
        apply_outgoing(z, host, me, "mk", &mut r);
        r
    }

    #[test]
    fn outgoing_requests_follow_the_zone() {
        let sdp = "v=0\r\nm=application 5070 UDP/BFCP *\r\n";
        let plain = outgoing(&neighbor(&[]), Some("cw.example"), "INVITE", sdp);
        assert_eq!(plain.headers.get_str("Allow"), Some("INVITE, UPDATE"));
        assert_eq!(&plain.body[..], sdp.as_bytes());
        assert!(plain
            .headers
            .get_str("Record-Route")
            .unwrap()
            .starts_with("<sip:192.0.2.1:5060;"));
        assert!(!poisoned(&plain.headers, "mk"));

        let z = neighbor(&[
            ("ZoneProfile", "Custom"),
            ("SIP UPDATE Strip Mode", "On"),
            ("SIP UDP BFCP Filter Mode", "On"),
            ("SIP Record Route Address Type", "Hostname"),
            ("SIP Poison Mode", "On"),
            ("SIP RFC3327 Enabled", "No"),
        ]);
        let inv = outgoing(&z, Some("cw.example"), "INVITE", sdp);
        assert_eq!(inv.headers.get_str("Allow"), Some("INVITE"));
        assert_eq!(&inv.body[..], b"v=0\r\nm=application 0 TCP/BFCP *\r\n");
        assert_eq!(
            inv.headers.get_str("Content-Length"),
            Some(inv.body.len().to_string().as_str())
        );
        assert_eq!(
            inv.headers.get_str("Record-Route"),
            Some("<sip:cw.example:5060;transport=udp;lr>")
        );
        assert!(poisoned(&inv.headers, "mk"));
        // An INVITE keeps any Path (ours only go on REGISTERs); a REGISTER loses ours.
        assert!(inv.headers.contains("Path"));
        let reg = outgoing(&z, Some("cw.example"), "REGISTER", "");
        assert!(!reg.headers.contains("Path"));
        // Hostname without a configured host name stays the IP; Path keeps its mark.
        let mut with_path = z.clone();
        with_path.rfc3327 = true;
        let reg = outgoing(&with_path, None, "REGISTER", "");
        assert_eq!(
            reg.headers.get_str("Path"),
            Some("<sip:192.0.2.1:5060;transport=udp;lr;cw-path>")
        );
        let reg = outgoing(&with_path, Some("cw.example"), "REGISTER", "");
        assert_eq!(
            reg.headers.get_str("Path"),
            Some("<sip:cw.example:5060;transport=udp;lr;cw-path>")
        );
        // The SDP filters touch INVITEs only.
        let msg = outgoing(&z, None, "MESSAGE", sdp);
        assert_eq!(&msg.body[..], sdp.as_bytes());
    }

    #[test]
    fn incoming_requests_follow_the_zone() {
        let body = multipart("q", SDP);
        let req = || {
            let mut r = parse(&format!(
                "INVITE sip:b@x SIP/2.0\nAllow: INVITE, UPDATE\n\
                 Proxy-Require: {NORTEL_FIREWALL}, keep.me\n\
                 Content-Type: multipart/mixed;boundary=q\n\n"
            ));
            r.set_body(body.clone().into_bytes().into(), None);
            r
        };
        let mut d = req();
        apply_incoming(&neighbor(&[]), &mut d);
        assert_eq!(d, req());
        let mut n = req();
        apply_incoming(&neighbor(&[("ZoneProfile", "NortelCS1000")]), &mut n);
        assert_eq!(n.headers.get_str("Allow"), Some("INVITE"));
        assert_eq!(n.headers.get_str("Proxy-Require"), Some("keep.me"));
        assert_eq!(&n.body[..], body.as_bytes(), "Nortel does not strip MIME");
        let mut c = req();
        apply_incoming(
            &neighbor(&[("ZoneProfile", "Custom"), ("SIP MIME Strip Mode", "On")]),
            &mut c,
        );
        assert_eq!(&c.body[..], SDP.as_bytes());
        assert_eq!(c.headers.get_str("Content-Type"), Some("application/sdp"));
    }
}
