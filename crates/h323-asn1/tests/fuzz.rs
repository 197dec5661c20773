//! Fuzz target for the three decoders that face the network: a RAS datagram, the
//! H323-UserInformation of a Q.931 User-user element, and an H.245 message. Decoding must give
//! a value or an error, never a panic, and a value that decodes must encode again and decode to
//! the same value.
//!
//! Under `cargo test` it replays the encodings of every sample message, then a bounded run of
//! generated inputs; `cargo bolero test parse_anything` (nightly, libFuzzer) runs it for as long
//! as asked. `no_panic.rs` adds deterministic garbling of the samples.

use causeway_h323_asn1::{
    decode_h245, decode_ras, decode_user_information, encode_h245, encode_ras,
    encode_user_information, samples,
};

fn check<T: PartialEq + std::fmt::Debug, D, E: std::fmt::Display>(
    bytes: &[u8],
    decode: fn(&[u8]) -> Result<T, D>,
    encode: fn(&T) -> Result<Vec<u8>, E>,
) {
    let Ok(value) = decode(bytes) else {
        return;
    };
    let again =
        encode(&value).unwrap_or_else(|e| panic!("{value:?} decoded but does not encode: {e}"));
    let back = decode(&again).unwrap_or_else(|_| panic!("{value:?} re-encoded does not decode"));
    assert_eq!(back, value);
}

fn exercise(bytes: &[u8]) {
    check(bytes, decode_ras, encode_ras);
    check(bytes, decode_user_information, encode_user_information);
    check(bytes, decode_h245, encode_h245);
}

#[test]
fn parse_anything() {
    for s in samples::all() {
        exercise(&s.value.encode().unwrap());
    }
    bolero::check!().for_each(exercise);
}
