//! The decoders must reject malformed input with an error, never panic. A few thousand random
//! and garbled inputs per run (deterministic, so a failure reproduces); `fuzz.rs` has the
//! coverage-guided targets for longer runs.

use causeway_h323_asn1::{
    decode_h245, decode_ras, decode_user_information, encode_h245, encode_ras,
    encode_user_information, samples,
};

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Decodes `bytes`; what decodes must encode again and decode to the same value.
fn check<T: PartialEq + std::fmt::Debug, D, E>(
    bytes: &[u8],
    decode: fn(&[u8]) -> Result<T, D>,
    encode: fn(&T) -> Result<Vec<u8>, E>,
) where
    D: std::fmt::Display,
    E: std::fmt::Display,
{
    if let Ok(value) = decode(bytes) {
        let again =
            encode(&value).unwrap_or_else(|e| panic!("{value:?} decoded but does not encode: {e}"));
        let back =
            decode(&again).unwrap_or_else(|e| panic!("{value:?} re-encoded does not decode: {e}"));
        assert_eq!(back, value);
    }
}

fn decode_all(bytes: &[u8]) {
    check(bytes, decode_ras, encode_ras);
    check(bytes, decode_user_information, encode_user_information);
    check(bytes, decode_h245, encode_h245);
}

#[test]
fn random_bytes_do_not_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..3000 {
        let len = rng.below(300);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        decode_all(&bytes);
    }
}

#[test]
fn garbled_messages_do_not_panic() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let encodings: Vec<Vec<u8>> = samples::all()
        .iter()
        .map(|s| s.value.encode().unwrap())
        .collect();
    let mut count = 0;
    for original in &encodings {
        // Every truncation.
        for cut in 0..original.len() {
            decode_all(&original[..cut]);
            count += 1;
        }
        for _ in 0..40 {
            let mut bytes = original.clone();
            match rng.below(4) {
                0 => {
                    for _ in 0..1 + rng.below(4) {
                        let i = rng.below(bytes.len());
                        bytes[i] ^= 1 << rng.below(8);
                    }
                }
                1 => {
                    let i = rng.below(bytes.len());
                    bytes[i] = rng.next() as u8;
                }
                2 => {
                    let i = rng.below(bytes.len() + 1);
                    bytes.insert(i, rng.next() as u8);
                }
                _ => {
                    let i = rng.below(bytes.len());
                    bytes.remove(i);
                }
            }
            decode_all(&bytes);
            count += 1;
        }
    }
    assert!(count > 3000, "{count}");
}
