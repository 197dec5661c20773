//! Call Policy rules from the web page, and their CPL form.
//!
//! The rules are stored as rules, but run as the CPL document
//! [`rules_to_cpl`] renders, so one engine decides every call. That
//! document is also what "Show Call Policy file" offers; uploading it again
//! unchanged must give the rules back, which [`cpl_to_rules`] does by
//! recognising exactly the shape [`rules_to_cpl`] writes.

use roxmltree::{Document, Node as XmlNode};

use super::patterns::compile_regex;
use super::{Policy, CPL_NAMESPACE, RULE_REJECT_REASON, RULE_REJECT_STATUS, TAA_NAMESPACE};
use crate::PatternError;

/// Which calls a rule looks at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RuleSource {
    /// Calls arriving from this zone (by name, ignoring case).
    Zone(String),
    /// Calls whose source alias matches a regular expression.
    From {
        /// `true`: only callers that authenticated (their source alias is
        /// trusted); `false`: every caller, by the source alias it claims.
        authenticated: bool,
        /// Whole-alias regular expression; blank (or `.*`) matches any
        /// caller of that kind.
        pattern: String,
    },
}

/// What a matching rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleAction {
    /// Let the call continue.
    Allow,
    /// Refuse the call (403).
    Reject,
}

/// One row of the Call Policy rules page. Rules are tried from the top;
/// the first whose source and destination both match decides, and a call
/// that matches none is allowed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WebRule {
    /// Who the rule applies to.
    pub source: RuleSource,
    /// Whole-alias regular expression for the destination; required.
    pub destination: String,
    /// Allow or Reject.
    pub action: RuleAction,
}

impl WebRule {
    /// Check the rule before storing it: the destination is required and
    /// both patterns must compile.
    pub fn check(&self) -> Result<(), PatternError> {
        if self.destination.is_empty() {
            return Err(PatternError::InvalidRegex {
                pattern: String::new(),
                reason: "a destination pattern is required".to_owned(),
            });
        }
        compile_regex(&self.destination)?;
        if let RuleSource::From { pattern, .. } = &self.source {
            if !pattern.is_empty() {
                compile_regex(pattern)?;
            }
        }
        Ok(())
    }

    /// The origin selector attribute and its value in the CPL form.
    fn origin(&self) -> (&'static str, String) {
        match &self.source {
            RuleSource::Zone(zone) => ("originating-zone", regex_syntax::escape(zone)),
            RuleSource::From {
                authenticated,
                pattern,
            } => {
                let field = if *authenticated {
                    "authenticated-origin"
                } else {
                    "unauthenticated-origin"
                };
                let value = if pattern.is_empty() { ANY } else { pattern };
                (field, value.to_owned())
            }
        }
    }
}

/// Stands for a blank source pattern.
const ANY: &str = ".*";

/// Render rules as the CPL document that runs them. With no rules the
/// document allows every call.
pub fn rules_to_cpl(rules: &[WebRule]) -> String {
    let mut out = String::from(concat!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
        "<cpl xmlns=\"urn:ietf:params:xml:ns:cpl\"\n",
        "     xmlns:taa=\"http://www.tandberg.net/cpl-extensions\"\n",
        "     xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"\n",
        "     xsi:schemaLocation=\"urn:ietf:params:xml:ns:cpl cpl.xsd\">\n",
        "  <taa:routed>\n",
    ));
    if rules.is_empty() {
        out.push_str("    <proxy/>\n");
    } else {
        out.push_str("    <taa:rule-switch>\n");
        for rule in rules {
            let (field, origin) = rule.origin();
            out.push_str(&format!(
                "      <taa:rule {field}=\"{}\" destination=\"{}\">\n",
                xml_escape(&origin),
                xml_escape(&rule.destination)
            ));
            match rule.action {
                RuleAction::Allow => out.push_str("        <proxy/>\n"),
                RuleAction::Reject => out.push_str(&format!(
                    "        <reject status=\"{RULE_REJECT_STATUS}\" reason=\"{RULE_REJECT_REASON}\"/>\n"
                )),
            }
            out.push_str("      </taa:rule>\n");
        }
        out.push_str("    </taa:rule-switch>\n");
    }
    out.push_str("  </taa:routed>\n</cpl>\n");
    out
}

/// Recover the rules from a document in the shape [`rules_to_cpl`] writes
/// (formatting, comments and attribute quoting may differ). `None` when the
/// document is anything else, or is not a valid policy; it is then kept as
/// an uploaded script.
pub fn cpl_to_rules(doc: &str) -> Option<Vec<WebRule>> {
    Policy::parse(doc).ok()?;
    let xml = Document::parse(doc).ok()?;
    let root = xml.root_element();
    if !is(root, CPL_NAMESPACE, "cpl") {
        return None;
    }
    let [routed] = elements(root)[..] else {
        return None;
    };
    if !is(routed, TAA_NAMESPACE, "routed") {
        return None;
    }
    match elements(routed)[..] {
        [] => Some(Vec::new()),
        [only] if is_plain_proxy(only) => Some(Vec::new()),
        [switch] if is(switch, TAA_NAMESPACE, "rule-switch") => {
            elements(switch).into_iter().map(rule_of).collect()
        }
        _ => None,
    }
}

fn rule_of(el: XmlNode) -> Option<WebRule> {
    if !is(el, TAA_NAMESPACE, "rule") || el.attributes().len() != 2 {
        return None;
    }
    let destination = el.attribute("destination")?.to_owned();
    let source = if let Some(zone) = el.attribute("originating-zone") {
        RuleSource::Zone(unescape(zone)?)
    } else {
        let (authenticated, pattern) = match (
            el.attribute("authenticated-origin"),
            el.attribute("unauthenticated-origin"),
        ) {
            (Some(p), None) => (true, p),
            (None, Some(p)) => (false, p),
            _ => return None,
        };
        let pattern = if pattern == ANY { "" } else { pattern };
        RuleSource::From {
            authenticated,
            pattern: pattern.to_owned(),
        }
    };
    let [action] = elements(el)[..] else {
        return None;
    };
    let action = if is_plain_proxy(action) {
        RuleAction::Allow
    } else if is(action, CPL_NAMESPACE, "reject")
        && action.attributes().len() == 2
        && action.attribute("status")? == RULE_REJECT_STATUS.to_string()
        && action.attribute("reason")? == RULE_REJECT_REASON
    {
        RuleAction::Reject
    } else {
        return None;
    };
    Some(WebRule {
        source,
        destination,
        action,
    })
}

fn is(el: XmlNode, namespace: &str, name: &str) -> bool {
    el.tag_name().namespace() == Some(namespace) && el.tag_name().name() == name
}

fn elements<'a, 'i>(el: XmlNode<'a, 'i>) -> Vec<XmlNode<'a, 'i>> {
    el.children().filter(|c| c.is_element()).collect()
}

fn is_plain_proxy(el: XmlNode) -> bool {
    is(el, CPL_NAMESPACE, "proxy") && el.attributes().len() == 0 && elements(el).is_empty()
}

/// Undo `regex_syntax::escape`; `None` when the text is a real pattern
/// rather than an escaped name.
fn unescape(re: &str) -> Option<String> {
    let mut out = String::with_capacity(re.len());
    let mut chars = re.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let next = chars.next()?;
                if !regex_syntax::is_meta_character(next) {
                    return None;
                }
                out.push(next);
            }
            c if regex_syntax::is_meta_character(c) => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // Attribute normalisation would turn raw white space controls
            // into spaces; a character reference survives it.
            c if c.is_control() => out.push_str(&format!("&#{};", c as u32)),
            c => out.push(c),
        }
    }
    out
}
