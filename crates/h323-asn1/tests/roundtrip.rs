//! Round trips of the sample messages and of hand-built values, and fixed vectors.

use causeway_h323_asn1::samples::{self, SampleValue};
use causeway_h323_asn1::{decode_aligned_per, encode_aligned_per, h225, h245, h460_18, h460_19};
use rasn::types::{ObjectIdentifier, OctetString};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn every_sample_round_trips() {
    for sample in samples::all() {
        let bytes = sample
            .value
            .encode()
            .unwrap_or_else(|e| panic!("{}: encode: {e}", sample.name));
        let back = sample
            .value
            .decode_same_type(&bytes)
            .unwrap_or_else(|e| panic!("{}: decode {}: {e}", sample.name, hex(&bytes)));
        assert_eq!(back, sample.value, "{}", sample.name);
        assert_eq!(
            back.encode().unwrap(),
            bytes,
            "{}: re-encoding",
            sample.name
        );
    }
}

/// The samples cover every RAS message, every H.225.0 UUIE and the H.245 messages a
/// gatekeeper routes.
#[test]
fn samples_cover_every_message_type() {
    let mut ras = std::collections::BTreeSet::new();
    let mut uuie = std::collections::BTreeSet::new();
    let mut h245 = std::collections::BTreeSet::new();
    for sample in samples::all() {
        // The alternative's name is the first word of the Debug form.
        let alt = |d: String| d.split('(').next().unwrap().to_string();
        match &sample.value {
            SampleValue::Ras(m) => {
                ras.insert(alt(format!("{m:?}")));
            }
            SampleValue::UserInformation(u) => {
                uuie.insert(alt(format!("{:?}", u.h323_uu_pdu.h323_message_body)));
            }
            SampleValue::H245(m) => {
                let inner = format!("{m:?}");
                let inner = inner.split_once('(').unwrap().1;
                h245.insert(alt(inner.to_string()));
            }
            _ => {}
        }
    }
    let all_ras = [
        "gatekeeperRequest",
        "gatekeeperConfirm",
        "gatekeeperReject",
        "registrationRequest",
        "registrationConfirm",
        "registrationReject",
        "unregistrationRequest",
        "unregistrationConfirm",
        "unregistrationReject",
        "admissionRequest",
        "admissionConfirm",
        "admissionReject",
        "bandwidthRequest",
        "bandwidthConfirm",
        "bandwidthReject",
        "disengageRequest",
        "disengageConfirm",
        "disengageReject",
        "locationRequest",
        "locationConfirm",
        "locationReject",
        "infoRequest",
        "infoRequestResponse",
        "nonStandardMessage",
        "unknownMessageResponse",
        "requestInProgress",
        "resourcesAvailableIndicate",
        "resourcesAvailableConfirm",
        "infoRequestAck",
        "infoRequestNak",
        "serviceControlIndication",
        "serviceControlResponse",
        "admissionConfirmSequence",
    ];
    for name in all_ras {
        assert!(ras.contains(name), "no sample of RasMessage.{name}");
    }
    let all_uuie = [
        "setup",
        "callProceeding",
        "connect",
        "alerting",
        "information",
        "releaseComplete",
        "facility",
        "progress",
        "empty",
        "status",
        "statusInquiry",
        "setupAcknowledge",
        "notify",
    ];
    for name in all_uuie {
        assert!(uuie.contains(name), "no sample of the {name} UUIE");
    }
    for name in [
        "terminalCapabilitySet",
        "terminalCapabilitySetAck",
        "masterSlaveDetermination",
        "masterSlaveDeterminationAck",
        "openLogicalChannel",
        "openLogicalChannelAck",
        "closeLogicalChannel",
        "closeLogicalChannelAck",
        "endSessionCommand",
        "requestChannelClose",
        "roundTripDelayRequest",
        "miscellaneousCommand",
        "userInput",
    ] {
        assert!(h245.contains(name), "no sample of H.245 {name}");
    }
}

fn ipv4(a: [u8; 4], port: u16) -> h225::TransportAddress {
    h225::TransportAddress::ipAddress(h225::TransportAddressIpAddress::new(
        OctetString::from(a.to_vec()),
        port,
    ))
}

fn oid(arcs: &[u32]) -> ObjectIdentifier {
    ObjectIdentifier::new(arcs.to_vec()).unwrap()
}

fn terminal() -> h225::EndpointType {
    h225::EndpointType::new(None, None, None, None, None, None, false, false, None, None)
}

fn vendor() -> h225::VendorIdentifier {
    h225::VendorIdentifier::new(h225::H221NonStandard::new(181, 0, 21324), None, None, None)
}

/// An RRQ built field by field, as a gatekeeper's tests would.
fn rrq(protocol: &[u32], time_to_live: Option<u32>, keep_alive: Option<bool>) -> h225::RasMessage {
    let mut rrq = h225::RegistrationRequest::new(
        h225::RequestSeqNum(1),
        h225::ProtocolIdentifier(oid(protocol)),
        None,
        false,
        vec![ipv4([192, 168, 1, 10], 1720)],
        vec![ipv4([192, 168, 1, 10], 1719)],
        terminal(),
        None,
        None,
        vendor(),
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    );
    rrq.time_to_live = time_to_live.map(h225::TimeToLive);
    rrq.keep_alive = keep_alive;
    if keep_alive.is_some() {
        rrq.will_supply_uuies = Some(false);
        rrq.maintain_connection = Some(false);
    }
    h225::RasMessage::registrationRequest(rrq)
}

/// The RRQ of shared/asn1/README.md, as pycrate 0.8.1 encodes it.
#[test]
fn rrq_matches_the_pycrate_vector() {
    let bytes = encode_aligned_per(&rrq(&[0, 0, 8, 2250, 0, 7], None, None)).unwrap();
    assert_eq!(
        hex(&bytes),
        "0c000000060008914a0007000100c0a8010a06b80100c0a8010a06b70000b500534c"
    );
}

/// timeToLive is INTEGER (1..4294967295) inside an extension addition: a constrained whole
/// number in 2 octets after a 2-bit length (module-text fix 3), not an unconstrained INTEGER.
#[test]
fn time_to_live_is_encoded_as_constrained() {
    let msg = rrq(&[0, 0, 8, 2250, 0, 7], Some(300), Some(true));
    let bytes = encode_aligned_per(&msg).unwrap();
    // Open type of length 3: 0x40 (2-bit length "01" = 2 octets), then 300 - 1 = 0x012b.
    assert!(hex(&bytes).contains("0340012b"), "{}", hex(&bytes));
    assert_eq!(decode_aligned_per::<h225::RasMessage>(&bytes).unwrap(), msg);
}

/// An H.225.0 version 2 endpoint sends no extension additions, so keepAlive & co. are absent
/// (module-text fix 2).
#[test]
fn rrq_without_mandatory_extension_additions_decodes() {
    let bytes = unhex("0c000000060008914a0002000100c0a8010a06b80100c0a8010a06b70000b500534c");
    let msg: h225::RasMessage = decode_aligned_per(&bytes).unwrap();
    let h225::RasMessage::registrationRequest(rrq) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(rrq.keep_alive, None);
    assert_eq!(rrq.will_supply_uuies, None);
    assert_eq!(msg, self::rrq(&[0, 0, 8, 2250, 0, 2], None, None));
}

#[test]
fn bmp_strings_hold_text() {
    let s = causeway_h323_asn1::bmp_string("alice\u{e9}").unwrap();
    assert_eq!(s.to_bytes(), b"\0a\0l\0i\0c\0e\0\xe9");
    assert_eq!(causeway_h323_asn1::bmp_text(&s), "alice\u{e9}");
    assert!(causeway_h323_asn1::bmp_string("\u{1f600}").is_none());
}

#[test]
fn trailing_octets_are_rejected() {
    let mut bytes = encode_aligned_per(&rrq(&[0, 0, 8, 2250, 0, 7], None, None)).unwrap();
    bytes.push(0);
    assert!(decode_aligned_per::<h225::RasMessage>(&bytes).is_err());
}

fn call_id() -> h225::CallIdentifier {
    h225::CallIdentifier::new(h225::GloballyUniqueID([7u8; 16].into()))
}

/// H.460.18 and H.460.19 structures, which travel PER-encoded inside GenericData.
#[test]
fn traversal_structures_round_trip() {
    let ici = h460_18::IncomingCallIndication::new(ipv4([203, 0, 113, 5], 1720), call_id());
    let bytes = encode_aligned_per(&ici).unwrap();
    assert_eq!(
        decode_aligned_per::<h460_18::IncomingCallIndication>(&bytes).unwrap(),
        ici
    );

    let keep_alive = h460_18::LRQKeepAliveData::new(h225::TimeToLive(30));
    let bytes = encode_aligned_per(&keep_alive).unwrap();
    // Extension bit 0, 2-bit length "00" (1 octet), padding, then 30 - 1.
    assert_eq!(hex(&bytes), "001d");
    assert_eq!(
        decode_aligned_per::<h460_18::LRQKeepAliveData>(&bytes).unwrap(),
        keep_alive
    );

    let unicast = |port| {
        h245::H245TransportAddress::unicastAddress(h245::UnicastAddress::iPAddress(
            h245::UnicastAddressIPAddress::new(OctetString::from(vec![203, 0, 113, 5]), port),
        ))
    };
    let params = h460_19::TraversalParameters::new(
        Some(unicast(50000)),
        Some(unicast(50001)),
        Some(0x1234_5678),
        Some(unicast(50002)),
        Some(127),
        Some(h225::TimeToLive(20)),
    );
    let bytes = encode_aligned_per(&params).unwrap();
    assert_eq!(
        decode_aligned_per::<h460_19::TraversalParameters>(&bytes).unwrap(),
        params
    );
}

/// An RRQ from a newer endpoint: one extension addition after the 27 that H.225.0 v7 knows
/// (written by pycrate). It decodes; the unknown addition is dropped.
#[test]
fn unknown_extension_additions_are_skipped() {
    let known = unhex(
        "0e000008060008914a0007000100c0a8010a06b80100c0a8010a06b7020cb500534c07636175736577617904\
         302e312e30348b00000002003b018001000100",
    );
    let newer = unhex(
        "0e000008060008914a0007000100c0a8010a06b80100c0a8010a06b7020cb500534c07636175736577617904\
         302e312e30388b00001002003b018001000100012a",
    );
    let a: h225::RasMessage = decode_aligned_per(&known).unwrap();
    let b: h225::RasMessage = decode_aligned_per(&newer).unwrap();
    assert_eq!(a, b);
    assert_eq!(encode_aligned_per(&b).unwrap(), known);
}
