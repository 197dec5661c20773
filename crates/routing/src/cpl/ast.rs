//! The parsed form of a policy.
//!
//! Nodes live in one arena and refer to each other by index, so that a
//! [`crate::cpl::Resume`] token can name the proxy node a call is waiting
//! on without borrowing the policy.

use std::fmt;

use crate::Pattern;

pub(crate) type NodeId = usize;

/// What runs next: `None` is an empty output, where the script ends.
pub(crate) type Branch = Option<NodeId>;

/// A parsed, validated policy: build with [`Policy::parse`], run with
/// [`Policy::evaluate`]. Cheap to share behind an `Arc`; evaluation never
/// mutates it.
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) nodes: Vec<Node>,
    pub(crate) root: Branch,
}

impl Policy {
    /// The policy that lets every call through: what Local CPL runs when
    /// neither rules nor a script are configured.
    pub fn allow_all() -> Self {
        Policy {
            nodes: Vec::new(),
            root: None,
        }
    }

    /// Whether the policy has no actions at all (and so allows every call).
    pub fn is_empty(&self) -> bool {
        self.root.is_none()
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::allow_all()
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    AddressSwitch(AddressSwitch),
    RuleSwitch { line: u32, rules: Vec<Rule> },
    Location(Box<Location>),
    Proxy(Proxy),
    Reject(Reject),
}

#[derive(Debug, Clone)]
pub(crate) struct AddressSwitch {
    pub line: u32,
    pub field: Field,
    pub subfield: Option<Subfield>,
    pub arms: Vec<AddressArm>,
    /// `Some(branch)` when the output exists, even if it is empty.
    pub not_present: Option<Branch>,
    pub otherwise: Option<Branch>,
}

#[derive(Debug, Clone)]
pub(crate) struct AddressArm {
    pub line: u32,
    pub test: AddressTest,
    pub next: Branch,
}

#[derive(Debug, Clone)]
pub(crate) enum AddressTest {
    /// Held in lower case.
    Is(String),
    /// Held in lower case.
    Contains(String),
    /// Held in lower case.
    SubdomainOf(String),
    Regex(Pattern),
}

impl fmt::Display for AddressTest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressTest::Is(v) => write!(f, "is={v:?}"),
            AddressTest::Contains(v) => write!(f, "contains={v:?}"),
            AddressTest::SubdomainOf(v) => write!(f, "subdomain-of={v:?}"),
            AddressTest::Regex(p) => write!(f, "regex={:?}", p.as_str()),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub line: u32,
    pub origin_field: Field,
    pub origin: Pattern,
    pub destination: Pattern,
    pub message: Option<super::patterns::MessageRegex>,
    pub next: Branch,
}

#[derive(Debug, Clone)]
pub(crate) struct Location {
    pub line: u32,
    pub clear: bool,
    pub url: Option<String>,
    pub priority: Priority,
    /// `regex` + `replace`: rewrites entries already in the location set.
    pub rewrite: Option<crate::Transform>,
    pub source_url: Option<String>,
    /// `source-url-for-message-regex` + `-replace`.
    pub source_rewrite: Option<crate::Transform>,
    pub next: Branch,
}

#[derive(Debug, Clone)]
pub(crate) struct Proxy {
    pub line: u32,
    pub timeout: Option<u32>,
    pub stop_on_busy: bool,
    pub results: ProxyResults,
}

/// Each output is `Some(branch)` when present in the script.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProxyResults {
    pub failure: Option<Branch>,
    pub busy: Option<Branch>,
    pub noanswer: Option<Branch>,
    pub redirection: Option<Branch>,
    pub default: Option<Branch>,
}

impl ProxyResults {
    pub fn is_empty(&self) -> bool {
        self.failure.is_none()
            && self.busy.is_none()
            && self.noanswer.is_none()
            && self.redirection.is_none()
            && self.default.is_none()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Reject {
    pub line: u32,
    pub status: u16,
    pub reason: Option<String>,
}

/// The `field` of an `address-switch`, and the origin selector of a
/// `taa:rule`; spelled as in the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// `origin`: the source aliases, present only when the request
    /// authenticated.
    Origin,
    /// `authenticated-origin`: the same as `origin`.
    AuthenticatedOrigin,
    /// `unauthenticated-origin`: the source aliases whether or not the
    /// request authenticated.
    UnauthenticatedOrigin,
    /// `originating-zone`: the zone or subzone the call came from.
    OriginatingZone,
    /// `originating-user`: the username the request authenticated with.
    OriginatingUser,
    /// `registered-origin`: every alias of the calling registrant.
    RegisteredOrigin,
    /// `destination`: the destination aliases being routed.
    Destination,
    /// `original-destination`: the destination aliases as received, before
    /// any transform.
    OriginalDestination,
}

impl Field {
    /// Every field.
    pub const ALL: [Field; 8] = [
        Field::Origin,
        Field::AuthenticatedOrigin,
        Field::UnauthenticatedOrigin,
        Field::OriginatingZone,
        Field::OriginatingUser,
        Field::RegisteredOrigin,
        Field::Destination,
        Field::OriginalDestination,
    ];

    /// The fields a `taa:rule` may use as its origin selector.
    pub const RULE_ORIGINS: [Field; 6] = [
        Field::Origin,
        Field::AuthenticatedOrigin,
        Field::UnauthenticatedOrigin,
        Field::RegisteredOrigin,
        Field::OriginatingUser,
        Field::OriginatingZone,
    ];

    /// The name used in scripts.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Origin => "origin",
            Field::AuthenticatedOrigin => "authenticated-origin",
            Field::UnauthenticatedOrigin => "unauthenticated-origin",
            Field::OriginatingZone => "originating-zone",
            Field::OriginatingUser => "originating-user",
            Field::RegisteredOrigin => "registered-origin",
            Field::Destination => "destination",
            Field::OriginalDestination => "original-destination",
        }
    }

    /// The field named `name` (exact spelling).
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `subfield` of an `address-switch`: which part of each alias is
/// compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subfield {
    /// `address-type`: `sip` or `h323`, the protocol of the calling side.
    AddressType,
    /// `user`: a URI's user part, a whole H.323 ID or a whole E.164 number.
    User,
    /// `host`: a URI's domain, or an IP address alias.
    Host,
    /// `tel`: the digits of an E.164 alias.
    Tel,
    /// `alias-type`: `url-ID`, `h323-ID`, `dialedDigits` or `transportID`.
    AliasType,
}

impl Subfield {
    /// Every subfield.
    pub const ALL: [Subfield; 5] = [
        Subfield::AddressType,
        Subfield::User,
        Subfield::Host,
        Subfield::Tel,
        Subfield::AliasType,
    ];

    /// The name used in scripts.
    pub fn as_str(self) -> &'static str {
        match self {
            Subfield::AddressType => "address-type",
            Subfield::User => "user",
            Subfield::Host => "host",
            Subfield::Tel => "tel",
            Subfield::AliasType => "alias-type",
        }
    }

    /// The subfield named `name` (exact spelling).
    pub fn from_name(name: &str) -> Option<Subfield> {
        Subfield::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for Subfield {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Priority of a location: 1.0 is tried first; locations of equal
/// priority are tried in parallel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Priority {
    /// A fixed value in 0.0..=1.0.
    Value(f32),
    /// `random`: the caller draws a value in 0.0..=1.0 when it orders the
    /// search (the engine has no source of randomness).
    Random,
}

impl Default for Priority {
    /// Locations without a priority, including the original destination,
    /// rank highest, so an added location forks alongside them.
    fn default() -> Self {
        Priority::Value(1.0)
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Priority::Value(v) => write!(f, "{v}"),
            Priority::Random => f.write_str("random"),
        }
    }
}
