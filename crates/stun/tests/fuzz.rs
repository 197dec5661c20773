//! Fuzz target for what the TURN server reads from the network: STUN messages, their
//! attributes and integrity, and ChannelData. Under `cargo test` a bounded run of generated
//! inputs; under `cargo bolero test read_anything` (nightly, libFuzzer) as long as asked.

use causeway_stun::{attr_type as at, frame_len, kind, ChannelData, Kind, Message};

fn exercise(input: &[u8]) {
    let _ = frame_len(input);
    let _ = ChannelData::frame_len(input);
    if let Some(first) = input.first() {
        let _ = kind(*first);
    }
    if let Some(cd) = ChannelData::parse(input) {
        assert!(cd.data.len() <= input.len() - 4);
    }
    let Ok(m) = Message::parse(input) else {
        return;
    };
    for a in m.attrs() {
        assert!(a.offset + 4 + a.value.len() <= input.len());
    }
    let _ = m.username();
    let _ = m.realm();
    let _ = m.nonce();
    let _ = m.lifetime();
    let _ = m.requested_transport();
    let _ = m.requested_family();
    let _ = m.channel_number();
    let _ = m.xor_address(at::XOR_PEER_ADDRESS);
    let _ = m.xor_peer_addresses().count();
    let _ = m.error_code();
    let _ = m.data();
    let _ = m.unknown_required(|_| false);
    let _ = m.integrity();
    let _ = m.check_integrity(b"key");
    let _ = m.check_fingerprint();
    assert!(matches!(kind(input[0]), Kind::Stun));
}

#[test]
fn read_anything() {
    bolero::check!().for_each(exercise);
}
