//! Why a script was refused.

use crate::PatternError;

/// Why [`crate::cpl::Policy::parse`] refused a script. Every variant except
/// [`CplError::Xml`] names the offending element; lines count from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CplError {
    /// The text is not well-formed XML (or uses a DTD, which is never
    /// accepted).
    #[error("line {line}: the policy is not well-formed XML: {reason}")]
    Xml {
        /// Line of the fault.
        line: u32,
        /// What the XML reader objected to.
        reason: String,
    },
    /// An RFC 3880 element this engine does not run (`time-switch`,
    /// `mail`, `incoming`, ...).
    #[error("line {line}: <{element}> is valid CPL but not supported by this policy engine")]
    Unsupported {
        /// The element's local name.
        element: String,
        /// Line of its start tag.
        line: u32,
    },
    /// An element that is not CPL at all, or sits in a foreign namespace.
    #[error("line {line}: <{element}> is not a CPL element")]
    Unknown {
        /// The element's name as written (with its prefix, if any).
        element: String,
        /// Line of its start tag.
        line: u32,
    },
    /// A known element in a place the language does not allow it.
    #[error("line {line}: <{element}> cannot appear inside <{parent}>")]
    Misplaced {
        /// The element's local name.
        element: String,
        /// Its parent's local name (`document` at the top).
        parent: String,
        /// Line of its start tag.
        line: u32,
    },
    /// A missing, unknown or badly valued attribute.
    #[error("line {line}: <{element}> attribute {attribute:?}: {reason}")]
    Attribute {
        /// The element's local name.
        element: String,
        /// The attribute.
        attribute: String,
        /// Line of the element's start tag.
        line: u32,
        /// What is wrong.
        reason: String,
    },
    /// An element whose content breaks the language's structure (two
    /// actions where one is allowed, a second `otherwise`, stray text).
    #[error("line {line}: <{element}>: {reason}")]
    Structure {
        /// The element's local name.
        element: String,
        /// Line of its start tag.
        line: u32,
        /// What is wrong.
        reason: String,
    },
    /// A regular expression or replace string that does not compile.
    #[error("line {line}: <{element}> attribute {attribute:?}: {source}")]
    Pattern {
        /// The element's local name.
        element: String,
        /// The attribute holding the expression.
        attribute: String,
        /// Line of the element's start tag.
        line: u32,
        /// The pattern engine's explanation.
        source: PatternError,
    },
}

impl CplError {
    /// The element the error is about; `None` for XML syntax errors.
    pub fn element(&self) -> Option<&str> {
        match self {
            CplError::Xml { .. } => None,
            CplError::Unsupported { element, .. }
            | CplError::Unknown { element, .. }
            | CplError::Misplaced { element, .. }
            | CplError::Attribute { element, .. }
            | CplError::Structure { element, .. }
            | CplError::Pattern { element, .. } => Some(element),
        }
    }

    /// The line the error points at.
    pub fn line(&self) -> u32 {
        match self {
            CplError::Xml { line, .. }
            | CplError::Unsupported { line, .. }
            | CplError::Unknown { line, .. }
            | CplError::Misplaced { line, .. }
            | CplError::Attribute { line, .. }
            | CplError::Structure { line, .. }
            | CplError::Pattern { line, .. } => *line,
        }
    }
}
