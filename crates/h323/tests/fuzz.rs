//! Fuzz target for the call-signalling framing. Under `cargo test` it replays the corpus and
//! then runs bolero's generated inputs; under `cargo bolero test` it fuzzes for real.
//!
//! Every input is used three ways: as one Q.931 message, as a TPKT byte stream delivered in
//! input-derived chunk splits, and as a payload wrapped in a fresh TPKT frame.

use causeway_h323::q931::Message;
use causeway_h323::tpkt::{self, Deframer};

#[rustfmt::skip]
const CORPUS: &[&[u8]] = &[
    // Setup: bearer, display, calling, called, user-user.
    &[0x08, 0x02, 0x00, 0x2A, 0x05,
      0x04, 0x03, 0x88, 0x93, 0xA5,
      0x28, 0x0B, b'A', b'l', b'i', b'c', b'e', b' ', b'S', b'm', b'i', b't', b'h',
      0x6C, 0x06, 0x01, 0x80, b'2', b'0', b'0', b'1',
      0x70, 0x05, 0x81, b'1', b'0', b'0', b'1',
      0x7E, 0x00, 0x0D, 0x05,
      0x20, 0xB8, 0x06, 0x00, 0x08, 0x91, 0x4A, 0x00, 0x04, 0x01, 0x40, 0x02],
    // Release Complete with cause.
    &[0x08, 0x02, 0x80, 0x2A, 0x5A, 0x08, 0x02, 0x80, 0x90,
      0x7E, 0x00, 0x0A, 0x05, 0x25, 0x80, 0x06, 0x00, 0x08, 0x91, 0x4A, 0x00, 0x04],
    // Facility with an unknown IE.
    &[0x08, 0x02, 0x80, 0x2A, 0x62, 0x1C, 0x03, 0x91, 0xA1, 0x00,
      0x7E, 0x00, 0x07, 0x05, 0x28, 0x50, 0x06, 0x00, 0x08, 0x91],
    // Codeset shifts.
    &[0x08, 0x02, 0x00, 0x01, 0x7B, 0x28, 0x01, b'A', 0x96, 0x7E, 0x02, 0xAA, 0xBB,
      0x9D, 0x7E, 0x01, 0xCC, 0x98, 0x7E, 0x00, 0x01, 0x05],
    // Dummy and one-octet call references.
    &[0x08, 0x00, 0x05],
    &[0x08, 0x01, 0x85, 0x5A],
    // A TPKT stream: Status, keep-alive, Release Complete split across the end.
    &[0x03, 0x00, 0x00, 0x10,
      0x08, 0x02, 0x00, 0x07, 0x7D, 0x08, 0x02, 0x80, 0xE2, 0x14, 0x01, 0x0A,
      0x03, 0x00, 0x00, 0x04,
      0x03, 0x00, 0x00, 0x0D, 0x08, 0x02, 0x80, 0x01, 0x5A],
    // Broken inputs.
    &[],
    &[0x03, 0x00, 0x00, 0x02],
    &[0x08, 0x02, 0x00, 0x01, 0x05, 0x7E, 0xFF, 0xFF, 0x05],
];

#[test]
fn parse_anything() {
    for case in CORPUS {
        exercise(case);
    }
    bolero::check!().for_each(exercise);
}

fn exercise(input: &[u8]) {
    check_message(input);
    check_stream(input);
    check_wrapped(input);
}

/// Whatever decodes must re-encode to the same bytes.
fn check_message(bytes: &[u8]) {
    if let Ok(message) = Message::decode(bytes) {
        assert_eq!(message.encode(), bytes);
    }
}

/// Deframing must not depend on how the stream was split, and each payload must be exactly
/// the bytes the header announced.
fn check_stream(input: &[u8]) {
    let whole = deframe(input, &[input.len()]);
    let chunked = deframe(input, &chunk_sizes(input));
    assert_eq!(whole, chunked);

    let (payloads, error) = whole;
    let mut offset = 0;
    for payload in &payloads {
        let framed = tpkt::frame(payload).unwrap();
        let original = &input[offset..offset + framed.len()];
        assert_eq!(original[0], framed[0]);
        assert_eq!(
            original[2..],
            framed[2..],
            "only the reserved octet may differ"
        );
        offset += framed.len();
        check_message(payload);
    }
    if error.is_none() {
        assert!(input.len() - offset < tpkt::MAX_FRAME_LEN);
    }
}

/// Any input that fits is a valid payload and comes back unchanged.
fn check_wrapped(input: &[u8]) {
    match tpkt::frame(input) {
        Ok(framed) => {
            let (payloads, error) = deframe(&framed, &chunk_sizes(input));
            assert_eq!(error, None);
            assert_eq!(payloads, [input]);
        }
        Err(_) => assert!(input.len() > tpkt::MAX_PAYLOAD_LEN),
    }
}

type Outcome = (Vec<Vec<u8>>, Option<tpkt::Error>);

fn deframe(input: &[u8], chunks: &[usize]) -> Outcome {
    let mut deframer = Deframer::new();
    let mut payloads = Vec::new();
    let mut rest = input;
    let mut sizes = chunks.iter().copied().cycle();
    while !rest.is_empty() {
        let n = sizes.next().unwrap_or(rest.len()).clamp(1, rest.len());
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        deframer.push(chunk);
        loop {
            match deframer.pop() {
                Ok(Some(payload)) => payloads.push(payload),
                Ok(None) => break,
                Err(err) => return (payloads, Some(err)),
            }
        }
        assert!(deframer.buffered() < tpkt::MAX_FRAME_LEN + n);
    }
    (payloads, None)
}

/// Chunk sizes from a small generator seeded by the input, so splits vary between inputs
/// yet replay deterministically.
fn chunk_sizes(input: &[u8]) -> Vec<usize> {
    let mut state = input
        .iter()
        .fold(0x9E37_79B9u32, |h, &b| h.rotate_left(5) ^ u32::from(b))
        | 1;
    (0..16)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state % 9) as usize + 1
        })
        .collect()
}
