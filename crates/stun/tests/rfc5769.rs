//! The test vectors of RFC 5769: each sample message parses, its attributes read back, its
//! MESSAGE-INTEGRITY checks with the sample credentials and fails with others, its FINGERPRINT
//! checks; and messages written by `Builder` check the same way.

use causeway_stun::{attr_type as at, long_term_key, method, Builder, Class, Integrity, Message};
use std::net::SocketAddr;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// RFC 5769 §2.1: a Binding request with ICE attributes and short-term credentials.
fn sample_request() -> Vec<u8> {
    hex("0001 0058 2112a442 b7e7a701 bc34d686 fa87dfae
         8022 0010 5354554e 20746573 7420636c 69656e74
         0024 0004 6e0001ff
         8029 0008 932ff9b1 51263b36
         0006 0009 6576746a 3a683676 59202020
         0008 0014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
         8028 0004 e57a3bcf")
}

/// RFC 5769 §2.2: the IPv4 Binding success response.
fn sample_response_v4() -> Vec<u8> {
    hex("0101 003c 2112a442 b7e7a701 bc34d686 fa87dfae
         8022 000b 74657374 20766563 746f7220
         0020 0008 0001a147 e112a643
         0008 0014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7
         8028 0004 c07d4c96")
}

/// RFC 5769 §2.3: the IPv6 Binding success response.
fn sample_response_v6() -> Vec<u8> {
    hex("0101 0048 2112a442 b7e7a701 bc34d686 fa87dfae
         8022 000b 74657374 20766563 746f7220
         0020 0014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9
         0008 0014 a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41
         8028 0004 c8fb0b4c")
}

/// RFC 5769 §2.4: a request with long-term credentials (user マトリックス, realm example.org).
fn sample_long_term() -> Vec<u8> {
    hex("0001 0060 2112a442 78ad3433 c6ad72c0 29da412e
         0006 0012 e3839ee3 8388e383 aae38383 e382afe3 82b90000
         0015 001c 662f2f34 39396b39 35346436 4f4c3334 6f4c3946 53547679 36347341
         0014 000b 6578616d 706c652e 6f726700
         0008 0014 f6702465 6dd64a3e 02b8e071 2e85c9a2 8ca89666")
}

const SHORT_TERM_PASSWORD: &str = "VOkJxbRl1RmTxUk/WvJxBt";

#[test]
fn sample_request_reads_and_checks() {
    let bytes = sample_request();
    let m = Message::parse(&bytes).unwrap();
    assert_eq!((m.method(), m.class()), (method::BINDING, Class::Request));
    assert_eq!(m.software(), Some("STUN test client"));
    assert_eq!(m.username(), Some("evtj:h6vY"));
    assert_eq!(m.get(at::PRIORITY), Some(&[0x6e, 0x00, 0x01, 0xff][..]));
    assert_eq!(m.integrity(), Integrity::Sha1);
    // Short-term credentials: the key is the password itself.
    assert!(m.check_integrity(SHORT_TERM_PASSWORD.as_bytes()));
    assert!(!m.check_integrity(b"VOkJxbRl1RmTxUk/WvJxBu"));
    assert_eq!(m.check_fingerprint(), Some(true));
}

#[test]
fn sample_responses_give_the_mapped_address() {
    for (bytes, addr) in [
        (sample_response_v4(), "192.0.2.1:32853"),
        (
            sample_response_v6(),
            "[2001:db8:1234:5678:11:2233:4455:6677]:32853",
        ),
    ] {
        let m = Message::parse(&bytes).unwrap();
        assert_eq!((m.method(), m.class()), (method::BINDING, Class::Success));
        assert_eq!(m.software(), Some("test vector"));
        assert_eq!(
            m.xor_address(at::XOR_MAPPED_ADDRESS),
            Some(addr.parse::<SocketAddr>().unwrap())
        );
        assert!(m.check_integrity(SHORT_TERM_PASSWORD.as_bytes()));
        assert_eq!(m.check_fingerprint(), Some(true));
    }
}

#[test]
fn sample_long_term_request_checks_with_the_md5_key() {
    let bytes = sample_long_term();
    let m = Message::parse(&bytes).unwrap();
    let user = "\u{30DE}\u{30C8}\u{30EA}\u{30C3}\u{30AF}\u{30B9}";
    assert_eq!(m.username(), Some(user));
    assert_eq!(m.nonce(), Some("f//499k954d6OL34oL9FSTvy64sA"));
    assert_eq!(m.realm(), Some("example.org"));
    // The password after SASLprep ("The<U+00AD>M<U+00AA>trIX" becomes "TheMatrIX").
    assert!(m.check_integrity(&long_term_key(user, "example.org", "TheMatrIX")));
    assert!(!m.check_integrity(&long_term_key(user, "example.net", "TheMatrIX")));
    assert_eq!(m.check_fingerprint(), None);
}

#[test]
fn a_changed_byte_breaks_integrity_and_fingerprint() {
    let mut bytes = sample_request();
    // The last byte of the username's padding is covered by both.
    bytes[74] ^= 1;
    let m = Message::parse(&bytes).unwrap();
    assert!(!m.check_integrity(SHORT_TERM_PASSWORD.as_bytes()));
    assert_eq!(m.check_fingerprint(), Some(false));
}

#[test]
fn written_messages_check_like_the_samples() {
    let tid = [7u8; 12];
    let key = long_term_key("alice", "causeway", "secret");
    let peer: SocketAddr = "[2001:db8::7]:40000".parse().unwrap();
    let mut buf = Vec::new();
    let mut b = Builder::new(&mut buf, method::ALLOCATE, Class::Success, &tid);
    b.xor_address(
        at::XOR_RELAYED_ADDRESS,
        &"203.0.113.5:49152".parse().unwrap(),
    )
    .xor_address(at::XOR_MAPPED_ADDRESS, &peer)
    .u32(at::LIFETIME, 600)
    .text(at::SOFTWARE, "causeway")
    .integrity(&key)
    .fingerprint();
    let m = Message::parse(&buf).unwrap();
    assert_eq!((m.method(), m.class()), (method::ALLOCATE, Class::Success));
    assert_eq!(m.transaction_id(), &tid);
    assert_eq!(
        m.xor_address(at::XOR_RELAYED_ADDRESS),
        Some("203.0.113.5:49152".parse().unwrap())
    );
    assert_eq!(m.xor_address(at::XOR_MAPPED_ADDRESS), Some(peer));
    assert_eq!(m.lifetime(), Some(600));
    assert!(m.check_integrity(&key));
    assert_eq!(m.check_fingerprint(), Some(true));

    // An error answer with the SHA-256 integrity of RFC 8489.
    let mut b = Builder::new(&mut buf, method::ALLOCATE, Class::Error, &tid);
    b.error(437, "Allocation Mismatch").integrity_sha256(&key);
    let m = Message::parse(&buf).unwrap();
    let e = m.error_code().unwrap();
    assert_eq!((e.code, e.reason), (437, "Allocation Mismatch"));
    assert_eq!(m.integrity(), Integrity::Sha256);
    assert!(m.check_integrity(&key));
    assert!(!m.check_integrity(&long_term_key("alice", "causeway", "other")));
}

#[test]
fn the_rfc_5769_request_is_rebuilt_byte_for_byte_apart_from_padding() {
    // The sample pads USERNAME with spaces; RFC 8489 allows any padding and the MAC covers it,
    // so the rebuilt message differs only there and in what the MAC and CRC say.
    let sample = sample_request();
    let tid: [u8; 12] = sample[8..20].try_into().unwrap();
    let mut buf = Vec::new();
    let mut b = Builder::new(&mut buf, method::BINDING, Class::Request, &tid);
    b.text(at::SOFTWARE, "STUN test client")
        .attr(at::PRIORITY, &[0x6e, 0x00, 0x01, 0xff])
        .attr(at::ICE_CONTROLLED, &sample[52..60])
        .text(at::USERNAME, "evtj:h6vY")
        .integrity(SHORT_TERM_PASSWORD.as_bytes())
        .fingerprint();
    assert_eq!(buf.len(), sample.len());
    assert_eq!(buf[..73], sample[..73]);
    assert_eq!(&buf[73..76], &[0, 0, 0]);
    let m = Message::parse(&buf).unwrap();
    assert!(m.check_integrity(SHORT_TERM_PASSWORD.as_bytes()));
    assert_eq!(m.check_fingerprint(), Some(true));
}

#[test]
fn malformed_messages_are_refused() {
    use causeway_stun::ParseError;
    let good = sample_response_v4();
    assert_eq!(
        Message::parse(&good[..19]).unwrap_err(),
        ParseError::TooShort
    );
    assert_eq!(
        Message::parse(&good[..40]).unwrap_err(),
        ParseError::TooShort
    );
    let mut extra = good.clone();
    extra.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(Message::parse(&extra).unwrap_err(), ParseError::BadLength);
    let mut cookie = good.clone();
    cookie[4] = 0;
    assert_eq!(Message::parse(&cookie).unwrap_err(), ParseError::BadCookie);
    let mut rtp = good.clone();
    rtp[0] = 0x80;
    assert_eq!(Message::parse(&rtp).unwrap_err(), ParseError::NotStun);
    // SOFTWARE claims more bytes than the message holds.
    let mut long_attr = good.clone();
    long_attr[23] = 0xF0;
    assert_eq!(
        Message::parse(&long_attr).unwrap_err(),
        ParseError::BadAttribute
    );
}
