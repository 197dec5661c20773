//! Lines from a byte stream without a terminal: piped shell input and exec requests.
//!
//! No echo and no editing, but the same rules as the editor for what ends a line (CR, LF or
//! CRLF) and for lines that are too long, so a script behaves as if it had been typed.

use crate::editor::MAX_LINE;

/// A finished piece of input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Line(String),
    /// A line longer than [`MAX_LINE`] bytes; its text was thrown away.
    TooLong,
}

#[derive(Debug, Default)]
pub struct Lines {
    buf: Vec<u8>,
    after_cr: bool,
    overflow: bool,
}

impl Lines {
    pub fn new() -> Lines {
        Lines::default()
    }

    /// Reads `input` up to the first line end; returns the bytes used and the line, if one
    /// ended. Call again with the rest.
    pub fn feed(&mut self, input: &[u8]) -> (usize, Option<Piece>) {
        for (i, &b) in input.iter().enumerate() {
            let after_cr = std::mem::replace(&mut self.after_cr, false);
            match b {
                b'\n' if after_cr => {}
                b'\r' | b'\n' => {
                    self.after_cr = b == b'\r';
                    return (i + 1, Some(self.take()));
                }
                _ if self.buf.len() >= MAX_LINE => self.overflow = true,
                _ => self.buf.push(b),
            }
        }
        (input.len(), None)
    }

    /// The last line, when the input ends without a line end.
    pub fn finish(&mut self) -> Option<Piece> {
        if self.buf.is_empty() && !self.overflow {
            return None;
        }
        Some(self.take())
    }

    fn take(&mut self) -> Piece {
        let bytes = std::mem::take(&mut self.buf);
        if std::mem::replace(&mut self.overflow, false) {
            return Piece::TooLong;
        }
        Piece::Line(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// Every line of a finished text (an exec request), in order.
pub fn split(text: &[u8]) -> Vec<Piece> {
    let mut lines = Lines::new();
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (n, piece) = lines.feed(rest);
        rest = &rest[n..];
        out.extend(piece);
    }
    out.extend(lines.finish());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: &str) -> Piece {
        Piece::Line(s.into())
    }

    #[test]
    fn every_kind_of_line_end_counts_once() {
        assert_eq!(
            split(b"a\nb\r\nc\rd"),
            vec![line("a"), line("b"), line("c"), line("d")]
        );
        assert_eq!(split(b"a\n\nb\n"), vec![line("a"), line(""), line("b")]);
        assert_eq!(split(b""), vec![]);
    }

    #[test]
    fn crlf_split_between_reads_is_one_line_end() {
        let mut l = Lines::new();
        assert_eq!(l.feed(b"x\r"), (2, Some(line("x"))));
        assert_eq!(l.feed(b"\ny\n"), (3, Some(line("y"))));
    }

    #[test]
    fn long_lines_are_refused_and_the_next_line_is_read() {
        let mut text = vec![b'z'; MAX_LINE + 1];
        text.extend_from_slice(b"\nafter");
        assert_eq!(split(&text), vec![Piece::TooLong, line("after")]);
        let exact = vec![b'z'; MAX_LINE];
        assert_eq!(split(&exact), vec![line(&"z".repeat(MAX_LINE))]);
        assert_eq!(split(&[b'z'; MAX_LINE + 5]), vec![Piece::TooLong]);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        assert_eq!(split(b"a\xffb\n"), vec![line("a\u{fffd}b")]);
    }
}
