//! CPL engine tests: the guide's examples, refusals, evaluation semantics
//! and the web rules' CPL form.

use super::*;

mod eval;
mod guide;
mod parse;
mod rules;

/// Wrap `body` in the document header the guide's examples use.
pub(super) fn doc(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" ?>
<cpl xmlns="urn:ietf:params:xml:ns:cpl"
  xmlns:taa="http://www.tandberg.net/cpl-extensions"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="urn:ietf:params:xml:ns:cpl cpl.xsd">
  <taa:routed>
{body}
  </taa:routed>
</cpl>"#
    )
}

pub(super) fn policy(text: &str) -> Policy {
    Policy::parse(text).unwrap_or_else(|e| panic!("policy refused: {e}\n{text}"))
}

pub(super) fn refused(text: &str) -> CplError {
    match Policy::parse(text) {
        Ok(_) => panic!("policy accepted but should be refused:\n{text}"),
        Err(e) => e,
    }
}

/// A SIP call that did not authenticate, from the Default Zone.
pub(super) fn call(from: &str, to: &str) -> CallContext {
    CallContext::new(from, to)
}

/// A SIP call that authenticated.
pub(super) fn authed(from: &str, to: &str) -> CallContext {
    CallContext {
        authenticated: true,
        ..CallContext::new(from, to)
    }
}

/// The rejection, if the policy rejected.
pub(super) fn rejection(ev: &Evaluation) -> Option<(u16, Option<&str>)> {
    match &ev.decision {
        Decision::Reject { status, reason } => Some((*status, reason.as_deref())),
        _ => None,
    }
}

/// Assert the call is refused with 403 "Denied by policy".
#[track_caller]
pub(super) fn assert_denied(p: &Policy, ctx: &CallContext) {
    let ev = p.evaluate(ctx);
    assert_eq!(
        rejection(&ev),
        Some((403, Some("Denied by policy"))),
        "call {ctx:?}\ntrace: {:#?}",
        ev.trace
    );
}

/// Assert the call proceeds to its destination unchanged.
#[track_caller]
pub(super) fn assert_allowed(p: &Policy, ctx: &CallContext) {
    let ev = p.evaluate(ctx);
    assert!(
        ev.decision.is_allow(),
        "call {ctx:?}: {:?}\ntrace: {:#?}",
        ev.decision,
        ev.trace
    );
}

pub(super) fn aliases(targets: &[Target]) -> Vec<&str> {
    targets.iter().map(|t| t.alias.as_str()).collect()
}

/// A parsed policy is shared between call threads behind an `Arc`.
#[test]
fn policy_is_shareable() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Policy>();
    shareable::<Evaluation>();
}
