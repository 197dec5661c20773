//! Fuzz target for everything that reads bytes from the network: the datagram parser, the stream
//! framer, serialization of what parsed, typed header views and validation. Under `cargo test`
//! it replays the RFC 4475 and RFC 5118 messages and then a bounded run of generated inputs;
//! under `cargo bolero test parse_anything` (nightly, libFuzzer) it runs as long as asked.

use causeway_sip::validate::{validate_request, ValidateOptions};
use causeway_sip::{frame, parse_message, Message};

fn exercise(input: &[u8]) {
    let _ = frame(input);
    let Ok(msg) = parse_message(input) else {
        return;
    };
    // What parsed must serialize to something that parses again.
    let again = parse_message(&msg.to_bytes());
    assert!(
        again.is_ok(),
        "serialized form of a parsed message does not parse"
    );
    let h = msg.headers();
    let _ = h.top_via();
    let _ = h.from_addr();
    let _ = h.to_addr();
    let _ = h.cseq();
    let _ = h.contacts().count();
    if let Message::Request(r) = &msg {
        let _ = validate_request(r, &ValidateOptions::default());
    }
}

#[test]
fn parse_anything() {
    for case in sipx_testkit::rfc4475::CASES {
        exercise(case.bytes);
    }
    for case in sipx_testkit::rfc5118::CASES {
        exercise(case.bytes);
    }
    bolero::check!().for_each(exercise);
}
