//! Which messages a target is sent: its severity filter, then its keyword filter.

use crate::{Message, Severity, Target};

/// Whether `m` goes to `t`: its severity is `t.max_severity` or more severe, and, when the
/// target has keywords, its text contains at least one of them, ignoring case. Blank keywords
/// are ignored, so a list of only blanks lets everything through.
pub fn passes(m: &Message, t: &Target) -> bool {
    Filter::new(t).passes(m, true, &mut LowerText::default())
}

/// Splits the keyword setting as the operator writes it: comma-separated phrases (a phrase may
/// contain spaces), trimmed, blanks left out.
pub fn parse_keywords(setting: &str) -> Vec<String> {
    setting
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect()
}

/// A target's filter with its keywords lower-cased once, for the send path.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    max: Severity,
    keywords: Vec<String>,
}

impl Filter {
    pub(crate) fn new(t: &Target) -> Filter {
        Filter {
            max: t.max_severity,
            keywords: t
                .keywords
                .iter()
                .map(|k| k.trim())
                .filter(|k| !k.is_empty())
                .map(str::to_lowercase)
                .collect(),
        }
    }

    pub(crate) fn passes(&self, m: &Message, by_severity: bool, lower: &mut LowerText) -> bool {
        if by_severity && m.severity > self.max {
            return false;
        }
        if self.keywords.is_empty() {
            return true;
        }
        let text = lower.get(&m.text);
        self.keywords.iter().any(|k| text.contains(k.as_str()))
    }
}

/// The message text lower-cased at most once, however many targets look at it.
#[derive(Debug, Default)]
pub(crate) struct LowerText(Option<String>);

impl LowerText {
    fn get(&mut self, text: &str) -> &str {
        self.0.get_or_insert_with(|| text.to_lowercase())
    }
}
