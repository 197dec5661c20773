//! TPKT framing (RFC 1006) for the TCP channels of H.323.
//!
//! TCP is a byte stream, so H.225.0 call signalling wraps every Q.931 message in a TPKT header:
//! version 3, a reserved octet, and a 16-bit big-endian length that counts the header itself.
//! The H.245 control channel, when it runs on its own TCP connection, is framed the same way,
//! so this module serves both.
//!
//! Decisions worth knowing:
//! - A header-only frame (length 4, empty payload) is accepted and framed. H.323 endpoints
//!   may send it as a keep-alive on otherwise idle signalling connections; rejecting it would
//!   tear down healthy calls. [`Deframer::pop`] yields it as an empty payload; callers that
//!   only want messages can skip empty payloads.
//! - The reserved octet is ignored on receipt (and written as 0): it carries no meaning and
//!   rejecting stray values would only hurt interoperability.
//! - Any other malformation (version other than 3, length below 4, length above the configured
//!   cap) means the stream has lost sync. There is no way to resynchronise a TPKT stream, so the
//!   [`Deframer`] becomes permanently failed and the connection should be closed.

use thiserror::Error;

/// The only TPKT version in use.
pub const VERSION: u8 = 3;
/// Octets in a TPKT header.
pub const HEADER_LEN: usize = 4;
/// Largest frame the 16-bit length field can describe, header included.
pub const MAX_FRAME_LEN: usize = u16::MAX as usize;
/// Largest payload that fits in one frame.
pub const MAX_PAYLOAD_LEN: usize = MAX_FRAME_LEN - HEADER_LEN;
/// A header-only frame, used as a keep-alive.
pub const KEEP_ALIVE: [u8; HEADER_LEN] = [VERSION, 0, 0, HEADER_LEN as u8];

/// Why a TPKT stream or payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// The first header octet was not 3: the peer is not speaking TPKT or the stream lost sync.
    #[error("TPKT version {0} received where 3 was expected (stream not TPKT or out of sync)")]
    BadVersion(u8),
    /// The length field cannot even cover the header it belongs to.
    #[error("TPKT length {0} is smaller than the 4-octet header it must include")]
    LengthTooShort(u16),
    /// The length field exceeds the cap configured on the [`Deframer`].
    #[error("TPKT length {length} exceeds this connection's limit of {limit} octets")]
    LengthTooLong {
        /// Length announced by the header.
        length: u16,
        /// Configured maximum frame length.
        limit: usize,
    },
    /// The payload handed to [`frame`] cannot be described by a 16-bit length.
    #[error("payload of {0} octets does not fit in one TPKT frame (at most 65531)")]
    PayloadTooLong(usize),
}

/// Wraps `payload` in a TPKT header.
pub fn frame(payload: &[u8]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    frame_into(payload, &mut out)?;
    Ok(out)
}

/// Appends the framed `payload` to `out`, letting a writer batch frames in one buffer.
/// On error `out` is left untouched.
pub fn frame_into(payload: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
    let total = payload
        .len()
        .checked_add(HEADER_LEN)
        .filter(|&n| n <= MAX_FRAME_LEN)
        .ok_or(Error::PayloadTooLong(payload.len()))?;
    let [hi, lo] = u16::try_from(total)
        .map_err(|_| Error::PayloadTooLong(payload.len()))?
        .to_be_bytes();
    out.reserve(total);
    out.extend_from_slice(&[VERSION, 0, hi, lo]);
    out.extend_from_slice(payload);
    Ok(())
}

/// Reassembles TPKT payloads from arbitrarily split reads of a TCP stream.
///
/// Memory stays bounded by what the caller pushed since its last [`Deframer::pop`] loop plus
/// at most one partial frame: consumed bytes are discarded on the next push, and once the
/// stream has failed further input is dropped rather than buffered.
#[derive(Debug, Clone)]
pub struct Deframer {
    buf: Vec<u8>,
    /// Offset of the first unconsumed byte; compaction is deferred to `push` so that popping
    /// many small frames out of one large read stays linear.
    start: usize,
    max_frame_len: usize,
    failed: Option<Error>,
}

impl Default for Deframer {
    fn default() -> Self {
        Self::new()
    }
}

impl Deframer {
    /// A deframer accepting any frame the length field can describe.
    pub fn new() -> Self {
        Self::with_max_frame_len(MAX_FRAME_LEN)
    }

    /// A deframer refusing frames longer than `limit` octets (header included), for peers
    /// that should never send large messages. The limit is clamped to `4..=65535`.
    pub fn with_max_frame_len(limit: usize) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            max_frame_len: limit.clamp(HEADER_LEN, MAX_FRAME_LEN),
            failed: None,
        }
    }

    /// Appends bytes read from the connection. Ignored once the stream has failed.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Returns the next complete payload, `Ok(None)` if more bytes are needed, or the error
    /// that broke the stream (repeated on every later call).
    ///
    /// Header errors are reported as soon as the offending octets arrive, without waiting
    /// for the rest of the frame.
    pub fn pop(&mut self) -> Result<Option<Vec<u8>>, Error> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        match self.next_frame_len() {
            Ok(Some(len)) => {
                let payload = self.buf[self.start + HEADER_LEN..self.start + len].to_vec();
                self.start += len;
                if self.start == self.buf.len() {
                    self.buf.clear();
                    self.start = 0;
                }
                Ok(Some(payload))
            }
            Ok(None) => Ok(None),
            Err(err) => {
                self.failed = Some(err.clone());
                self.buf = Vec::new();
                self.start = 0;
                Err(err)
            }
        }
    }

    /// Bytes held that have not yet been returned as a payload.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The error that broke the stream, if any.
    pub fn error(&self) -> Option<&Error> {
        self.failed.as_ref()
    }

    /// Length of the complete frame at the head of the buffer, if it has fully arrived.
    fn next_frame_len(&self) -> Result<Option<usize>, Error> {
        let pending = &self.buf[self.start..];
        match pending.first() {
            None => return Ok(None),
            Some(&v) if v != VERSION => return Err(Error::BadVersion(v)),
            Some(_) => {}
        }
        let Some(&[_, _, hi, lo]) = pending.get(..HEADER_LEN) else {
            return Ok(None);
        };
        let length = u16::from_be_bytes([hi, lo]);
        let len = usize::from(length);
        if len < HEADER_LEN {
            return Err(Error::LengthTooShort(length));
        }
        if len > self.max_frame_len {
            return Err(Error::LengthTooLong {
                length,
                limit: self.max_frame_len,
            });
        }
        Ok((pending.len() >= len).then_some(len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn drain(d: &mut Deframer) -> Result<Vec<Vec<u8>>, Error> {
        let mut out = Vec::new();
        while let Some(p) = d.pop()? {
            out.push(p);
        }
        Ok(out)
    }

    #[test]
    fn frames_with_header_length() {
        assert_eq!(frame(&[0x08, 0x02]).unwrap(), vec![3, 0, 0, 6, 0x08, 0x02]);
        assert_eq!(frame(&[]).unwrap(), KEEP_ALIVE.to_vec());
    }

    #[test]
    fn frame_size_limits() {
        let max = vec![0u8; MAX_PAYLOAD_LEN];
        let framed = frame(&max).unwrap();
        assert_eq!(&framed[..4], &[3, 0, 0xFF, 0xFF]);
        assert_eq!(framed.len(), MAX_FRAME_LEN);
        let too_long = vec![0u8; MAX_PAYLOAD_LEN + 1];
        assert_eq!(frame(&too_long), Err(Error::PayloadTooLong(65532)));
        let mut out = vec![9];
        assert!(frame_into(&too_long, &mut out).is_err());
        assert_eq!(out, vec![9]);
    }

    #[test]
    fn deframes_split_and_coalesced_input() {
        let mut d = Deframer::new();
        d.push(&[3, 0]);
        assert_eq!(d.pop(), Ok(None));
        d.push(&[0, 7, 0xAA]);
        assert_eq!(d.pop(), Ok(None));
        d.push(&[0xBB, 0xCC, 3, 0, 0, 4, 3, 0, 0, 5, 0x01, 3]);
        assert_eq!(d.pop(), Ok(Some(vec![0xAA, 0xBB, 0xCC])));
        assert_eq!(
            d.pop(),
            Ok(Some(vec![])),
            "keep-alive is surfaced as empty payload"
        );
        assert_eq!(d.pop(), Ok(Some(vec![0x01])));
        assert_eq!(d.pop(), Ok(None));
        assert_eq!(d.buffered(), 1);
    }

    #[test]
    fn bad_version_fails_immediately_and_sticks() {
        let mut d = Deframer::new();
        d.push(&[0x08]);
        assert_eq!(d.pop(), Err(Error::BadVersion(8)));
        d.push(&[3, 0, 0, 5, 1]);
        assert_eq!(d.pop(), Err(Error::BadVersion(8)));
        assert_eq!(d.buffered(), 0, "nothing is buffered after failure");
        assert_eq!(d.error(), Some(&Error::BadVersion(8)));
    }

    #[test]
    fn short_and_oversized_lengths_are_rejected() {
        for len in 0..4u8 {
            let mut d = Deframer::new();
            d.push(&[3, 0, 0, len]);
            assert_eq!(d.pop(), Err(Error::LengthTooShort(len.into())));
        }
        let mut d = Deframer::with_max_frame_len(100);
        d.push(&[3, 0, 0, 101]);
        assert_eq!(
            d.pop(),
            Err(Error::LengthTooLong {
                length: 101,
                limit: 100
            })
        );
        let mut d = Deframer::with_max_frame_len(100);
        d.push(&[3, 0, 0, 100]);
        assert_eq!(d.pop(), Ok(None), "exactly at the cap waits for the body");
    }

    #[test]
    fn reserved_octet_is_ignored() {
        let mut d = Deframer::new();
        d.push(&[3, 0x5A, 0, 5, 0x42]);
        assert_eq!(d.pop(), Ok(Some(vec![0x42])));
    }

    #[test]
    fn cap_is_clamped() {
        let mut d = Deframer::with_max_frame_len(0);
        d.push(&KEEP_ALIVE);
        assert_eq!(d.pop(), Ok(Some(vec![])));
        let mut d = Deframer::with_max_frame_len(usize::MAX);
        d.push(&[3, 0, 0xFF, 0xFF]);
        assert_eq!(d.pop(), Ok(None));
    }

    proptest! {
        #[test]
        fn any_split_yields_the_framed_payloads(
            payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..8),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
        ) {
            let mut stream = Vec::new();
            for p in &payloads {
                frame_into(p, &mut stream).unwrap();
            }
            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
            points.push(0);
            points.push(stream.len());
            points.sort_unstable();
            let mut d = Deframer::new();
            let mut got = Vec::new();
            for w in points.windows(2) {
                d.push(&stream[w[0]..w[1]]);
                got.extend(drain(&mut d).unwrap());
                prop_assert!(d.buffered() < HEADER_LEN + 300);
            }
            prop_assert_eq!(got, payloads);
            prop_assert_eq!(d.buffered(), 0);
        }
    }
}
