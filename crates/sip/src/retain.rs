//! Whether a TCP or TLS connection survives a malformed message (the zone setting
//! `RetainConnectionOnParseErrorMode`), without I/O.
//!
//! A stream that delivers a broken message may be a broken peer or a broken byte stream. The
//! three modes trade robustness against tolerance: close at once, close only when a header
//! every request needs is broken, or never close for a header. Two faults always close: a
//! message whose end cannot be trusted (Content-Length missing or bad), and a run of more
//! than [`MAX_CONSECUTIVE`] malformed messages in a row.

use crate::parse::{Fault as ParseFault, ParseError};
use crate::validate::Problem;
use std::str::FromStr;

/// The malformed messages in a row that a connection may deliver; the next one closes it.
pub const MAX_CONSECUTIVE: u32 = 10;

/// `RetainConnectionOnParseErrorMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RetainMode {
    /// Close on any malformed message.
    #[default]
    DropAll,
    /// Keep the connection when only headers that a request can do without are malformed.
    RetainSome,
    /// Keep the connection whatever header is malformed.
    RetainAll,
}

impl FromStr for RetainMode {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "DropAll" => Ok(RetainMode::DropAll),
            "RetainSome" => Ok(RetainMode::RetainSome),
            "RetainAll" => Ok(RetainMode::RetainAll),
            _ => Err(()),
        }
    }
}

/// How bad a malformed message is, for the connection that carried it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// Where the message ends is in doubt: nothing after it on the stream can be trusted.
    Framing,
    /// The start line or a header every request needs is broken.
    Mandatory,
    /// Only some other header is broken.
    Optional,
}

/// Headers without which no request can be handled (RFC 3261 §8.1.1), and the one that frames
/// a stream message.
const MANDATORY: [&str; 7] = [
    "Via",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Max-Forwards",
    "Content-Length",
];

impl Damage {
    /// The damage of a message that did not parse.
    pub fn of_parse_error(e: &ParseError) -> Damage {
        match e.fault() {
            ParseFault::Framing => Damage::Framing,
            // A header line without a readable name cannot be shown to be optional.
            ParseFault::StartLine | ParseFault::HeaderSyntax | ParseFault::Limit => {
                Damage::Mandatory
            }
        }
    }

    /// The damage of a request that parsed but failed validation; `None` when the request is
    /// well formed and only refused (an unsupported version or scheme, no hops left).
    pub fn of_problem(p: &Problem) -> Option<Damage> {
        Some(match p {
            Problem::ConflictingContentLength => Damage::Framing,
            Problem::Malformed(e) | Problem::UnusableVia(e) => {
                if MANDATORY.iter().any(|m| m.eq_ignore_ascii_case(e.header)) {
                    Damage::Mandatory
                } else {
                    Damage::Optional
                }
            }
            Problem::NoVia
            | Problem::HeadersInRequestUri
            | Problem::MissingHeader(_)
            | Problem::RepeatedHeader(_)
            | Problem::CSeqMethodMismatch => Damage::Mandatory,
            Problem::InvalidContactStar | Problem::InvalidAddressOfRecord => Damage::Optional,
            Problem::UnsupportedVersion(_)
            | Problem::UnsupportedUriScheme(_)
            | Problem::TooManyHops => return None,
        })
    }
}

/// What to do with the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    Close,
}

/// The malformed-message count of one connection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tolerance {
    consecutive: u32,
}

impl Tolerance {
    /// A good message ends the run of malformed ones.
    pub fn good(&mut self) {
        self.consecutive = 0;
    }

    /// A malformed message arrived; its error response (if any) goes out before a close.
    pub fn malformed(&mut self, mode: RetainMode, damage: Damage) -> Verdict {
        self.consecutive += 1;
        if self.consecutive > MAX_CONSECUTIVE {
            return Verdict::Close;
        }
        match (mode, damage) {
            (_, Damage::Framing) | (RetainMode::DropAll, _) => Verdict::Close,
            (RetainMode::RetainSome, Damage::Mandatory) => Verdict::Close,
            (RetainMode::RetainSome, Damage::Optional) | (RetainMode::RetainAll, _) => {
                Verdict::Keep
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::HeaderError;

    fn bad(header: &'static str) -> Problem {
        Problem::Malformed(HeaderError::new(header, "bad"))
    }

    #[test]
    fn each_mode_against_each_damage() {
        use Damage::*;
        use RetainMode::*;
        use Verdict::*;
        for (mode, damage, want) in [
            (DropAll, Optional, Close),
            (DropAll, Mandatory, Close),
            (RetainSome, Optional, Keep),
            (RetainSome, Mandatory, Close),
            (RetainAll, Optional, Keep),
            (RetainAll, Mandatory, Keep),
            (RetainAll, Framing, Close),
            (RetainSome, Framing, Close),
        ] {
            assert_eq!(
                Tolerance::default().malformed(mode, damage),
                want,
                "{mode:?} {damage:?}"
            );
        }
    }

    #[test]
    fn the_eleventh_malformed_message_in_a_row_closes() {
        let mut t = Tolerance::default();
        for _ in 0..MAX_CONSECUTIVE {
            assert_eq!(
                t.malformed(RetainMode::RetainAll, Damage::Optional),
                Verdict::Keep
            );
        }
        assert_eq!(
            t.malformed(RetainMode::RetainAll, Damage::Optional),
            Verdict::Close
        );
    }

    #[test]
    fn a_good_message_resets_the_run() {
        let mut t = Tolerance::default();
        for _ in 0..MAX_CONSECUTIVE {
            t.malformed(RetainMode::RetainAll, Damage::Mandatory);
        }
        t.good();
        assert_eq!(
            t.malformed(RetainMode::RetainAll, Damage::Mandatory),
            Verdict::Keep
        );
    }

    #[test]
    fn headers_are_classified() {
        assert_eq!(Damage::of_problem(&bad("CSeq")), Some(Damage::Mandatory));
        assert_eq!(Damage::of_problem(&bad("Expires")), Some(Damage::Optional));
        assert_eq!(Damage::of_problem(&bad("Contact")), Some(Damage::Optional));
        assert_eq!(Damage::of_problem(&Problem::TooManyHops), None);
        assert_eq!(
            Damage::of_problem(&Problem::ConflictingContentLength),
            Some(Damage::Framing)
        );
        assert_eq!(
            Damage::of_parse_error(&ParseError::InvalidContentLength),
            Damage::Framing
        );
        assert_eq!(
            Damage::of_parse_error(&ParseError::HeaderLine("no colon")),
            Damage::Mandatory
        );
    }

    #[test]
    fn modes_parse_from_the_configuration_words() {
        assert_eq!("RetainSome".parse(), Ok(RetainMode::RetainSome));
        assert!("retainsome".parse::<RetainMode>().is_err());
    }
}
