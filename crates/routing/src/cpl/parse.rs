//! From XML text to a validated [`Policy`].
//!
//! Validation is the schema check the upload path promises: anything the
//! engine would not run exactly as written is refused here, never skipped
//! at run time.

use roxmltree::{Document, Node as XmlNode, ParsingOptions};

use super::ast::{
    AddressArm, AddressSwitch, AddressTest, Branch, Field, Location, Node, Policy, Priority, Proxy,
    ProxyResults, Reject, Rule, Subfield,
};
use super::error::CplError;
use super::patterns::{compile_regex, compile_rewrite, MessageRegex};
use super::{CPL_NAMESPACE, TAA_NAMESPACE};
use crate::{Pattern, PatternError, Transform};

/// Deepest element nesting accepted; keeps the recursive conversion (and
/// evaluation) far from the stack limit whatever the input.
pub(crate) const MAX_DEPTH: usize = 100;

/// Cap on XML nodes, so a huge upload fails fast instead of eating memory.
const NODES_LIMIT: u32 = 200_000;

/// Largest proxy `timeout` in seconds (one day).
const MAX_TIMEOUT: u32 = 86_400;

const XSI_NAMESPACE: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// RFC 3880 elements outside the supported subset. Naming them apart from
/// unknown elements tells the author the script is valid CPL that this
/// engine chooses not to run.
const UNSUPPORTED: [&str; 14] = [
    "time-switch",
    "string-switch",
    "language-switch",
    "priority-switch",
    "redirect",
    "mail",
    "log",
    "subaction",
    "sub",
    "lookup",
    "remove-location",
    "incoming",
    "outgoing",
    "ancillary",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Cpl,
    Routed,
    AddressSwitch,
    Address,
    Otherwise,
    NotPresent,
    RuleSwitch,
    Rule,
    Location,
    Proxy,
    Reject,
    Failure,
    Busy,
    NoAnswer,
    Redirection,
    Default,
}

impl Kind {
    /// Elements of the CPL namespace.
    fn cpl(name: &str) -> Option<Kind> {
        Some(match name {
            "cpl" => Kind::Cpl,
            "address-switch" => Kind::AddressSwitch,
            "address" => Kind::Address,
            "otherwise" => Kind::Otherwise,
            "not-present" => Kind::NotPresent,
            // The guide's own proxy example writes it unprefixed.
            "location" => Kind::Location,
            "proxy" => Kind::Proxy,
            "reject" => Kind::Reject,
            "failure" => Kind::Failure,
            "busy" => Kind::Busy,
            "noanswer" => Kind::NoAnswer,
            "redirection" => Kind::Redirection,
            "default" => Kind::Default,
            _ => return None,
        })
    }

    /// Elements of the extension namespace.
    fn taa(name: &str) -> Option<Kind> {
        Some(match name {
            "routed" => Kind::Routed,
            "rule-switch" => Kind::RuleSwitch,
            "rule" => Kind::Rule,
            "location" => Kind::Location,
            _ => return None,
        })
    }

    /// Nodes that act: each output holds at most one of them.
    fn is_action(self) -> bool {
        matches!(
            self,
            Kind::AddressSwitch | Kind::RuleSwitch | Kind::Location | Kind::Proxy | Kind::Reject
        )
    }
}

impl Policy {
    /// Parse and validate a policy.
    ///
    /// Accepts a whole document, a `<cpl>` root (in the CPL namespace)
    /// holding at most one `<taa:routed>`, or a fragment whose root is
    /// `taa:routed` or a single action (`address-switch`,
    /// `taa:rule-switch`, `location`, `proxy`, `reject`): policy services
    /// and Default CPL settings send such fragments, often without any
    /// namespace declaration. Elements without a namespace are read as the
    /// CPL or extension element of that name.
    ///
    /// Anything else is refused: DTDs, elements outside the subset (named
    /// in the error with their line), unknown or badly valued attributes,
    /// regular expressions that do not compile, and outputs holding more
    /// than one action.
    pub fn parse(text: &str) -> Result<Policy, CplError> {
        let options = ParsingOptions {
            allow_dtd: false,
            nodes_limit: NODES_LIMIT,
            ..ParsingOptions::default()
        };
        let doc = Document::parse_with_options(text, options).map_err(|e| CplError::Xml {
            line: e.pos().row,
            reason: e.to_string(),
        })?;
        let mut p = Parser {
            text,
            doc: &doc,
            nodes: Vec::new(),
        };
        let root = doc.root_element();
        let kind = p.identify(root)?;
        let branch = match kind {
            Kind::Cpl => p.cpl(root)?,
            Kind::Routed => p.container(root, 1)?,
            k if k.is_action() => Some(p.action(root, k, 1)?),
            _ => return Err(p.misplaced(root, "document")),
        };
        Ok(Policy {
            nodes: p.nodes,
            root: branch,
        })
    }
}

struct Parser<'t, 'd> {
    text: &'t str,
    doc: &'d Document<'t>,
    nodes: Vec<Node>,
}

impl<'t> Parser<'t, '_> {
    fn line(&self, el: XmlNode) -> u32 {
        self.doc.text_pos_at(el.range().start).row
    }

    fn local<'a>(el: XmlNode<'a, '_>) -> &'a str {
        el.tag_name().name()
    }

    /// The name as the author wrote it, prefix included.
    fn written_name(&self, el: XmlNode) -> String {
        let start = el.range().start + 1;
        self.text[start..]
            .split(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    fn identify(&self, el: XmlNode) -> Result<Kind, CplError> {
        let name = Self::local(el);
        let kind = match el.tag_name().namespace() {
            None => Kind::cpl(name).or_else(|| Kind::taa(name)),
            Some(CPL_NAMESPACE) => Kind::cpl(name),
            Some(TAA_NAMESPACE) => Kind::taa(name),
            Some(_) => None,
        };
        let foreign = !matches!(
            el.tag_name().namespace(),
            None | Some(CPL_NAMESPACE) | Some(TAA_NAMESPACE)
        );
        match kind {
            Some(k) => Ok(k),
            None if !foreign && UNSUPPORTED.contains(&name) => Err(CplError::Unsupported {
                element: name.to_owned(),
                line: self.line(el),
            }),
            None => Err(CplError::Unknown {
                element: self.written_name(el),
                line: self.line(el),
            }),
        }
    }

    fn misplaced(&self, el: XmlNode, parent: &str) -> CplError {
        CplError::Misplaced {
            element: Self::local(el).to_owned(),
            parent: parent.to_owned(),
            line: self.line(el),
        }
    }

    fn structure(&self, el: XmlNode, reason: impl Into<String>) -> CplError {
        CplError::Structure {
            element: Self::local(el).to_owned(),
            line: self.line(el),
            reason: reason.into(),
        }
    }

    fn attr_error(&self, el: XmlNode, attribute: &str, reason: impl Into<String>) -> CplError {
        CplError::Attribute {
            element: Self::local(el).to_owned(),
            attribute: attribute.to_owned(),
            line: self.line(el),
            reason: reason.into(),
        }
    }

    fn pattern_error(&self, el: XmlNode, attribute: &str, source: PatternError) -> CplError {
        CplError::Pattern {
            element: Self::local(el).to_owned(),
            attribute: attribute.to_owned(),
            line: self.line(el),
            source,
        }
    }

    /// Refuse attributes outside `allowed`. `xsi:` attributes (schema
    /// hints) are harmless and accepted anywhere.
    fn check_attributes(&self, el: XmlNode, allowed: &[&str]) -> Result<(), CplError> {
        for a in el.attributes() {
            match a.namespace() {
                Some(XSI_NAMESPACE) => continue,
                Some(_) => {
                    return Err(self.attr_error(
                        el,
                        a.name(),
                        "attributes in other namespaces are not accepted",
                    ));
                }
                None if allowed.contains(&a.name()) => {}
                None => {
                    return Err(self.attr_error(el, a.name(), "not an attribute of this element"));
                }
            }
        }
        Ok(())
    }

    /// Child elements; text other than white space is refused, comments
    /// and processing instructions are ignored.
    fn children<'a, 'i>(&self, el: XmlNode<'a, 'i>) -> Result<Vec<XmlNode<'a, 'i>>, CplError> {
        let mut out = Vec::new();
        for c in el.children() {
            if c.is_element() {
                out.push(c);
            } else if c.is_text() && !c.text().unwrap_or_default().trim().is_empty() {
                return Err(self.structure(el, "text is not allowed inside this element"));
            }
        }
        Ok(out)
    }

    fn push(&mut self, node: Node) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn cpl(&mut self, el: XmlNode) -> Result<Branch, CplError> {
        self.check_attributes(el, &[])?;
        let mut routed = None;
        for child in self.children(el)? {
            let kind = self.identify(child)?;
            if kind != Kind::Routed {
                return Err(self.misplaced(child, "cpl"));
            }
            if routed.is_some() {
                return Err(self.structure(el, "holds more than one taa:routed section"));
            }
            routed = Some(self.container(child, 1)?);
        }
        Ok(routed.flatten())
    }

    /// An output element without attributes of its own (`taa:routed`,
    /// `otherwise`, `not-present`, proxy results).
    fn container(&mut self, el: XmlNode, depth: usize) -> Result<Branch, CplError> {
        self.check_attributes(el, &[])?;
        self.output(el, depth)
    }

    /// The content of an element that leads to at most one action.
    fn output(&mut self, el: XmlNode, depth: usize) -> Result<Branch, CplError> {
        if depth > MAX_DEPTH {
            return Err(self.structure(el, format!("nesting deeper than {MAX_DEPTH} elements")));
        }
        let mut found = None;
        for child in self.children(el)? {
            let kind = self.identify(child)?;
            if !kind.is_action() {
                return Err(self.misplaced(child, Self::local(el)));
            }
            if found.is_some() {
                return Err(self.structure(
                    el,
                    "holds more than one action; nest them (for example inside a location) instead",
                ));
            }
            found = Some(self.action(child, kind, depth + 1)?);
        }
        Ok(found)
    }

    fn action(&mut self, el: XmlNode, kind: Kind, depth: usize) -> Result<usize, CplError> {
        if depth > MAX_DEPTH {
            return Err(self.structure(el, format!("nesting deeper than {MAX_DEPTH} elements")));
        }
        let node = match kind {
            Kind::AddressSwitch => Node::AddressSwitch(self.address_switch(el, depth)?),
            Kind::RuleSwitch => self.rule_switch(el, depth)?,
            Kind::Location => Node::Location(Box::new(self.location(el, depth)?)),
            Kind::Proxy => Node::Proxy(self.proxy(el, depth)?),
            Kind::Reject => Node::Reject(self.reject(el)?),
            _ => unreachable!("only actions are passed here"),
        };
        Ok(self.push(node))
    }

    fn address_switch(&mut self, el: XmlNode, depth: usize) -> Result<AddressSwitch, CplError> {
        self.check_attributes(el, &["field", "subfield"])?;
        let field = match el.attribute("field") {
            None => return Err(self.attr_error(el, "field", "is required")),
            Some(v) => Field::from_name(v).ok_or_else(|| {
                self.attr_error(
                    el,
                    "field",
                    format!("{v:?} is not one of: {}", names(&Field::ALL)),
                )
            })?,
        };
        let subfield = match el.attribute("subfield") {
            None => None,
            Some(v) => Some(Subfield::from_name(v).ok_or_else(|| {
                self.attr_error(
                    el,
                    "subfield",
                    format!("{v:?} is not one of: {}", names(&Subfield::ALL)),
                )
            })?),
        };
        let mut sw = AddressSwitch {
            line: self.line(el),
            field,
            subfield,
            arms: Vec::new(),
            not_present: None,
            otherwise: None,
        };
        for child in self.children(el)? {
            match self.identify(child)? {
                Kind::Address => {
                    if sw.otherwise.is_some() {
                        return Err(self.structure(el, "an address cannot follow otherwise"));
                    }
                    let test = self.address_test(child)?;
                    let next = self.output(child, depth + 1)?;
                    sw.arms.push(AddressArm {
                        line: self.line(child),
                        test,
                        next,
                    });
                }
                Kind::Otherwise => {
                    if sw.otherwise.is_some() {
                        return Err(self.structure(el, "holds more than one otherwise"));
                    }
                    sw.otherwise = Some(self.container(child, depth + 1)?);
                }
                Kind::NotPresent => {
                    if sw.not_present.is_some() {
                        return Err(self.structure(el, "holds more than one not-present"));
                    }
                    sw.not_present = Some(self.container(child, depth + 1)?);
                }
                _ => return Err(self.misplaced(child, "address-switch")),
            }
        }
        Ok(sw)
    }

    fn address_test(&self, el: XmlNode) -> Result<AddressTest, CplError> {
        const TESTS: [&str; 4] = ["is", "contains", "subdomain-of", "regex"];
        self.check_attributes(el, &TESTS)?;
        let mut given = el.attributes().filter(|a| a.namespace().is_none());
        let (Some(a), None) = (given.next(), given.next()) else {
            return Err(self.structure(
                el,
                "needs exactly one of the attributes is, contains, subdomain-of or regex",
            ));
        };
        let value = a.value();
        if value.is_empty() {
            return Err(self.attr_error(el, a.name(), "must not be empty"));
        }
        Ok(match a.name() {
            "is" => AddressTest::Is(value.to_lowercase()),
            "contains" => AddressTest::Contains(value.to_lowercase()),
            "subdomain-of" => AddressTest::SubdomainOf(value.to_lowercase()),
            _ => AddressTest::Regex(self.regex(el, "regex", value)?),
        })
    }

    fn rule_switch(&mut self, el: XmlNode, depth: usize) -> Result<Node, CplError> {
        self.check_attributes(el, &[])?;
        let mut rules = Vec::new();
        for child in self.children(el)? {
            if self.identify(child)? != Kind::Rule {
                return Err(self.misplaced(child, "rule-switch"));
            }
            rules.push(self.rule(child, depth + 1)?);
        }
        Ok(Node::RuleSwitch {
            line: self.line(el),
            rules,
        })
    }

    fn rule(&mut self, el: XmlNode, depth: usize) -> Result<Rule, CplError> {
        let mut allowed: Vec<&str> = Field::RULE_ORIGINS.iter().map(|f| f.as_str()).collect();
        allowed.extend(["destination", "message-regex"]);
        self.check_attributes(el, &allowed)?;
        let mut origins = Field::RULE_ORIGINS
            .into_iter()
            .filter_map(|f| el.attribute(f.as_str()).map(|v| (f, v)));
        let (Some((origin_field, origin)), None) = (origins.next(), origins.next()) else {
            return Err(self.structure(
                el,
                format!(
                    "needs exactly one origin selector: {}",
                    names(&Field::RULE_ORIGINS)
                ),
            ));
        };
        let Some(destination) = el.attribute("destination") else {
            return Err(self.attr_error(el, "destination", "is required"));
        };
        let message = match el.attribute("message-regex") {
            None => None,
            Some(v) => Some(self.message_regex(el, v)?),
        };
        Ok(Rule {
            line: self.line(el),
            origin_field,
            origin: self.regex(el, origin_field.as_str(), origin)?,
            destination: self.regex(el, "destination", destination)?,
            message,
            next: self.output(el, depth)?,
        })
    }

    fn location(&mut self, el: XmlNode, depth: usize) -> Result<Location, CplError> {
        self.check_attributes(
            el,
            &[
                "clear",
                "url",
                "priority",
                "regex",
                "replace",
                "source-url-for-message",
                "source-url-for-message-regex",
                "source-url-for-message-replace",
            ],
        )?;
        let clear = self.yes_no(el, "clear")?.unwrap_or(false);
        let url = match el.attribute("url") {
            None => None,
            Some(v) => Some(self.alias_value(el, "url", v)?),
        };
        let priority = match el.attribute("priority") {
            None => Priority::default(),
            Some(_) if url.is_none() => {
                return Err(self.attr_error(el, "priority", "only applies together with url"));
            }
            Some("random") => Priority::Random,
            Some(v) => match v.trim().parse::<f32>() {
                Ok(p) if (0.0..=1.0).contains(&p) => Priority::Value(p),
                _ => {
                    return Err(self.attr_error(
                        el,
                        "priority",
                        format!("{v:?} is neither a number from 0.0 to 1.0 nor random"),
                    ));
                }
            },
        };
        let rewrite = self.rewrite(el, "regex", "replace")?;
        let source_url = match el.attribute("source-url-for-message") {
            None => None,
            Some(v) => Some(self.alias_value(el, "source-url-for-message", v)?),
        };
        let source_rewrite = self.rewrite(
            el,
            "source-url-for-message-regex",
            "source-url-for-message-replace",
        )?;
        Ok(Location {
            line: self.line(el),
            clear,
            url,
            priority,
            rewrite,
            source_url,
            source_rewrite,
            next: self.output(el, depth)?,
        })
    }

    fn proxy(&mut self, el: XmlNode, depth: usize) -> Result<Proxy, CplError> {
        self.check_attributes(el, &["timeout", "stop-on-busy"])?;
        let timeout = match el.attribute("timeout") {
            None => None,
            Some(v) => match v.parse::<u32>() {
                Ok(t) if (1..=MAX_TIMEOUT).contains(&t) => Some(t),
                _ => {
                    return Err(self.attr_error(
                        el,
                        "timeout",
                        format!("{v:?} is not a whole number of seconds from 1 to {MAX_TIMEOUT}"),
                    ));
                }
            },
        };
        let stop_on_busy = self.yes_no(el, "stop-on-busy")?.unwrap_or(false);
        let mut results = ProxyResults::default();
        for child in self.children(el)? {
            let kind = self.identify(child)?;
            let Some(slot) = results.slot(kind) else {
                return Err(self.misplaced(child, "proxy"));
            };
            if slot.is_some() {
                return Err(
                    self.structure(el, format!("holds more than one <{}>", Self::local(child)))
                );
            }
            let branch = self.container(child, depth + 1)?;
            if let Some(slot) = results.slot(kind) {
                *slot = Some(branch);
            }
        }
        Ok(Proxy {
            line: self.line(el),
            timeout,
            stop_on_busy,
            results,
        })
    }

    fn reject(&self, el: XmlNode) -> Result<Reject, CplError> {
        self.check_attributes(el, &["status", "reason"])?;
        if let Some(child) = self.children(el)?.first() {
            return Err(self.misplaced(*child, "reject"));
        }
        let status = match el.attribute("status") {
            None => return Err(self.attr_error(el, "status", "is required")),
            Some(v) => reject_status(v).ok_or_else(|| {
                self.attr_error(
                    el,
                    "status",
                    format!(
                        "{v:?} is neither a response code from 400 to 699 nor one of busy, notfound, reject, error"
                    ),
                )
            })?,
        };
        let reason = match el.attribute("reason") {
            None => None,
            Some(v) if v.chars().any(char::is_control) => {
                return Err(self.attr_error(el, "reason", "must not contain control characters"));
            }
            Some(v) => Some(v.to_owned()),
        };
        Ok(Reject {
            line: self.line(el),
            status,
            reason,
        })
    }

    fn yes_no(&self, el: XmlNode, attribute: &str) -> Result<Option<bool>, CplError> {
        match el.attribute(attribute) {
            None => Ok(None),
            Some("yes") => Ok(Some(true)),
            Some("no") => Ok(Some(false)),
            Some(v) => Err(self.attr_error(el, attribute, format!("{v:?} is neither yes nor no"))),
        }
    }

    /// An alias to route to or to present as the caller.
    fn alias_value(&self, el: XmlNode, attribute: &str, v: &str) -> Result<String, CplError> {
        if v.trim().is_empty() {
            return Err(self.attr_error(el, attribute, "must not be empty"));
        }
        if v.chars().any(char::is_control) {
            return Err(self.attr_error(el, attribute, "must not contain control characters"));
        }
        Ok(v.to_owned())
    }

    fn regex(&self, el: XmlNode, attribute: &str, v: &str) -> Result<Pattern, CplError> {
        compile_regex(v).map_err(|e| self.pattern_error(el, attribute, e))
    }

    /// A regex/replace attribute pair; both or neither must be given.
    fn rewrite(&self, el: XmlNode, re: &str, rep: &str) -> Result<Option<Transform>, CplError> {
        match (el.attribute(re), el.attribute(rep)) {
            (None, None) => Ok(None),
            (Some(_), None) => Err(self.attr_error(el, rep, format!("is required with {re}"))),
            (None, Some(_)) => Err(self.attr_error(el, re, format!("is required with {rep}"))),
            (Some(pattern), Some(replace)) => compile_rewrite(pattern, replace)
                .map(Some)
                .map_err(|e| self.pattern_error(el, re, e)),
        }
    }

    fn message_regex(&self, el: XmlNode, v: &str) -> Result<MessageRegex, CplError> {
        MessageRegex::compile(v).map_err(|e| self.pattern_error(el, "message-regex", e))
    }
}

/// RFC 3880 status words map onto the SIP codes the RFC gives them.
fn reject_status(v: &str) -> Option<u16> {
    match v {
        "busy" => Some(486),
        "notfound" => Some(404),
        "reject" => Some(603),
        "error" => Some(500),
        _ if v.len() == 3 && v.bytes().all(|b| b.is_ascii_digit()) => {
            v.parse().ok().filter(|s| (400..=699).contains(s))
        }
        _ => None,
    }
}

impl ProxyResults {
    fn slot(&mut self, kind: Kind) -> Option<&mut Option<Branch>> {
        Some(match kind {
            Kind::Failure => &mut self.failure,
            Kind::Busy => &mut self.busy,
            Kind::NoAnswer => &mut self.noanswer,
            Kind::Redirection => &mut self.redirection,
            Kind::Default => &mut self.default,
            _ => return None,
        })
    }
}

fn names<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
