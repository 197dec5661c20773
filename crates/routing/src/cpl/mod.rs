//! Call Processing Language: the engine behind Call Policy.
//!
//! A policy is written in CPL (RFC 3880) with the TANDBERG extensions
//! (`taa:` namespace). The accepted subset is deliberately narrow: anything
//! outside it is refused when the script is loaded, so the caller can keep
//! the policy it already has instead of running half of a script it does
//! not understand.
//!
//! * [`Policy::parse`] reads a whole document (`<cpl>` holding one
//!   `<taa:routed>`) or a bare fragment such as a Default CPL
//!   `<reject status='403' reason='Service Unavailable'/>`.
//! * [`Policy::evaluate`] runs it against a [`CallContext`] and returns an
//!   [`Evaluation`]: a [`Decision`] (allow, redirect, reject), rewritten
//!   source aliases if the script asked for that, and a trace for search
//!   history.
//! * When a proxy node has result branches (`busy`, `noanswer`, ...), the
//!   decision carries a [`Resume`] token; [`Policy::resume`] continues the
//!   script once the caller knows how the forwarded call ended. The engine
//!   never waits for anything itself.
//! * [`WebRule`] is a Call Policy rule from the web page; [`rules_to_cpl`]
//!   renders a rule list as a document and [`cpl_to_rules`] recognises such
//!   a document again.
//!
//! Matching (design decision 4.2): every comparison ignores case, and
//! `regex=` values and `taa:rule` patterns must match the whole value.
//! A leading `sip:`, `sips:` or `h323:` scheme on an alias is not part of
//! the value compared.
//!
//! ```
//! use causeway_routing::cpl::{CallContext, Decision, Policy};
//!
//! let policy = Policy::parse(
//!     r#"<cpl xmlns="urn:ietf:params:xml:ns:cpl"
//!             xmlns:taa="http://www.tandberg.net/cpl-extensions">
//!          <taa:routed>
//!            <address-switch field="authenticated-origin">
//!              <not-present><reject status="403" reason="Denied by policy"/></not-present>
//!            </address-switch>
//!          </taa:routed>
//!        </cpl>"#,
//! ).unwrap();
//! let call = CallContext::new("alice@example.com", "bob@example.com");
//! let result = policy.evaluate(&call);
//! assert!(matches!(result.decision, Decision::Reject { status: 403, .. }));
//! ```

mod alias;
mod ast;
mod error;
mod eval;
mod parse;
mod patterns;
mod rules;

#[cfg(test)]
mod tests;

pub use ast::{Field, Policy, Priority, Subfield};
pub use error::CplError;
pub use eval::{
    CallContext, Decision, Evaluation, Protocol, ProxyOptions, ProxyOutcome, Resume, SourceAlias,
    Target, DEFAULT_SUBZONE, DEFAULT_ZONE,
};
pub use rules::{cpl_to_rules, rules_to_cpl, RuleAction, RuleSource, WebRule};

/// Namespace of RFC 3880 elements.
pub const CPL_NAMESPACE: &str = "urn:ietf:params:xml:ns:cpl";

/// Namespace of the TANDBERG extensions (`taa:routed`, `taa:rule-switch`,
/// `taa:rule`, `taa:location`).
pub const TAA_NAMESPACE: &str = "http://www.tandberg.net/cpl-extensions";

/// Status used when a web rule rejects a call.
pub const RULE_REJECT_STATUS: u16 = 403;

/// Reason phrase used when a web rule rejects a call.
pub const RULE_REJECT_REASON: &str = "Denied by policy";
