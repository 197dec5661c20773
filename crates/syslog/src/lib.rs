//! Remote syslog: log messages written as RFC 3164 ("BSD") or RFC 5424 ("IETF") syslog and
//! forwarded to up to four remote servers over UDP, TCP or TLS, each with its own severity and
//! keyword filter (`xConfiguration Remote Syslog [1..4] …`).
//!
//! The pure parts ([`format()`], [`passes`], [`frame`]) build the bytes; [`Forwarder`] owns one
//! queue and one sender task per target so that a slow or dead server never holds up the caller.

mod filter;
mod format;
mod forward;
mod frame;
mod sender;
mod tls;

use std::fmt;
use std::str::FromStr;

pub use filter::{parse_keywords, passes};
pub use format::format;
pub use forward::{Forwarder, TargetStats, QUEUE_CAPACITY};
pub use frame::{frame, udp_limit};
pub use tls::client_config;

/// Syslog severities (RFC 5424 §6.2.1); the smaller the number, the more severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Emergency = 0,
    Alert = 1,
    Critical = 2,
    Error = 3,
    Warning = 4,
    Notice = 5,
    Informational = 6,
    Debug = 7,
}

impl Severity {
    pub const ALL: [Severity; 8] = [
        Severity::Emergency,
        Severity::Alert,
        Severity::Critical,
        Severity::Error,
        Severity::Warning,
        Severity::Notice,
        Severity::Informational,
        Severity::Debug,
    ];

    /// The name used by `Remote Syslog [n] Loglevel`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Emergency => "emergency",
            Severity::Alert => "alert",
            Severity::Critical => "critical",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Notice => "notice",
            Severity::Informational => "informational",
            Severity::Debug => "debug",
        }
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<Severity> {
        Severity::ALL.get(usize::from(code)).copied()
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value that is not one of a setting's names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub what: &'static str,
    pub value: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown syslog {}: {:?}", self.what, self.value)
    }
}

impl std::error::Error for ParseError {}

fn parse_name<T: Copy>(what: &'static str, s: &str, table: &[(&str, T)]) -> Result<T, ParseError> {
    let s = s.trim();
    table
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(s))
        .map(|(_, v)| *v)
        .ok_or_else(|| ParseError {
            what,
            value: s.to_string(),
        })
}

impl FromStr for Severity {
    type Err = ParseError;

    /// Takes the configuration's names (`informational`, …) in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let table = Severity::ALL.map(|sev| (sev.as_str(), sev));
        parse_name("severity", s, &table)
    }
}

/// The message layout: RFC 3164 (the configuration's `bsd`) or RFC 5424 (`ietf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Bsd,
    Ietf,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Bsd => "bsd",
            Format::Ietf => "ietf",
        }
    }
}

impl FromStr for Format {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_name("format", s, &[("bsd", Format::Bsd), ("ietf", Format::Ietf)])
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }
}

impl FromStr for Transport {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_name(
            "transport",
            s,
            &[
                ("udp", Transport::Udp),
                ("tcp", Transport::Tcp),
                ("tls", Transport::Tls),
            ],
        )
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One remote syslog server and what it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// IP address (an IPv6 one with or without brackets) or host name. For TLS this is also the
    /// name the server's certificate must carry.
    pub address: String,
    pub port: u16,
    pub transport: Transport,
    pub format: Format,
    /// The least severe severity sent: this one and everything more severe pass.
    pub max_severity: Severity,
    /// Only messages whose text contains one of these (ignoring case) are sent; none means all.
    pub keywords: Vec<String>,
    /// TLS only: check the server certificate against revocation lists (see
    /// [`Forwarder::set_tls`]).
    pub crl_check: bool,
    /// The DNS servers that resolve a host name (`DNS Server [1..5]`); none means the host's
    /// own resolver.
    pub dns_servers: Vec<std::net::IpAddr>,
}

/// One log message, before it is written in either format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub at: chrono::DateTime<chrono::Utc>,
    /// The sending node's name (`System Name`/host name); spaces and other characters a
    /// syslog header cannot carry are replaced.
    pub host: String,
    /// The program name, e.g. `tvcs`: RFC 3164 TAG, RFC 5424 APP-NAME.
    pub app: String,
    /// 0..=23; anything larger is sent as 1 (user-level).
    pub facility: u8,
    pub severity: Severity,
    /// RFC 5424 MSGID, e.g. the event name without spaces; the BSD format has no place for it.
    pub msgid: Option<String>,
    pub text: String,
}
