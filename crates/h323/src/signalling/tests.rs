use super::*;
use crate::q931::{CallReference, PartyNumber};
use causeway_h323_asn1::samples::{self, SampleValue};

fn uu(name: &str) -> H323UserInformation {
    match samples::all()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no sample {name}"))
        .value
    {
        SampleValue::UserInformation(u) => *u,
        other => panic!("{name} is {}", other.type_name()),
    }
}

fn signal(kind: MessageType, crv: u16, from_originator: bool, body: &str) -> Signal {
    let uu = uu(body);
    let q931 = Message::new(kind, crv, from_originator)
        .with_user_user(encode_user_information(&uu).unwrap())
        .unwrap();
    Signal { q931, uu: Some(uu) }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn forwarded(steps: &[Step]) -> Vec<(Leg, &Signal)> {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::Forward(leg, sig) => Some((*leg, &**sig)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_signal_survives_decode_and_encode() {
    let s = signal(MessageType::Setup, 77, false, "uu_setup");
    let again = Signal::decode(&s.encode()).unwrap();
    assert_eq!(again, s);
    let info = SetupInfo::of(&s).unwrap();
    assert_eq!(
        info.destination,
        vec![Alias::H323Id("bob".into()), Alias::E164("2002".into())]
    );
    assert_eq!(info.source[0], Alias::H323Id("alice".into()));
    assert!(info.fast_start && info.tunnelling);
    assert_eq!(info.call_id[..2], [0x00, 0x11]);
}

#[test]
fn a_called_party_number_is_a_destination_too() {
    let mut s = signal(MessageType::Setup, 77, false, "uu_setup");
    s.q931 = s
        .q931
        .clone()
        .with_called_number(&PartyNumber::e164("5551234"))
        .unwrap();
    let info = SetupInfo::of(&s).unwrap();
    assert!(info.destination.contains(&Alias::E164("5551234".into())));
}

#[test]
fn setup_goes_on_with_our_call_reference_and_addresses() {
    let setup = signal(MessageType::Setup, 77, false, "uu_setup");
    let callee = addr("192.0.2.20:1720");
    let us = addr("192.0.2.1:15000");
    let (call, out) = RoutedCall::start(&setup, callee, us, 4242).unwrap();
    assert_eq!(out.q931.call_reference, CallReference::new(4242, true));
    let H323UUPDUH323MessageBody::setup(s) = out.body().unwrap() else {
        panic!()
    };
    assert_eq!(
        s.dest_call_signal_address
            .as_ref()
            .and_then(alias::socket_addr),
        Some(callee)
    );
    assert_eq!(
        s.source_call_signal_address
            .as_ref()
            .and_then(alias::socket_addr),
        Some(us)
    );
    assert!(s.endpoint_identifier.is_none());
    // Fast start and tunnelled H.245 go through untouched.
    let H323UUPDUH323MessageBody::setup(orig) = setup.body().unwrap() else {
        panic!()
    };
    assert_eq!(s.fast_start, orig.fast_start);
    assert_eq!(
        out.uu.as_ref().unwrap().h323_uu_pdu.h245_control,
        setup.uu.as_ref().unwrap().h323_uu_pdu.h245_control
    );
    assert_eq!(call.phase, Phase::Setup);
}

#[test]
fn answers_travel_back_on_the_callers_call_reference() {
    let setup = signal(MessageType::Setup, 77, false, "uu_setup");
    let (mut call, _) =
        RoutedCall::start(&setup, addr("192.0.2.20:1720"), addr("192.0.2.1:15000"), 9).unwrap();
    let steps = call.on_message(
        Leg::Callee,
        signal(MessageType::Alerting, 9, true, "uu_alerting"),
    );
    let f = forwarded(&steps);
    assert_eq!(f[0].0, Leg::Caller);
    assert_eq!(f[0].1.q931.call_reference, CallReference::new(77, false));
    assert_eq!(call.phase, Phase::Alerting);
    let steps = call.on_message(
        Leg::Callee,
        signal(MessageType::Connect, 9, true, "uu_connect"),
    );
    assert!(steps.contains(&Step::Connected));
    assert_eq!(call.phase, Phase::Connected);
    // A message from the caller goes to the callee on ours.
    let steps = call.on_message(
        Leg::Caller,
        signal(MessageType::Information, 77, false, "uu_information"),
    );
    let f = forwarded(&steps);
    assert_eq!(
        (f[0].0, f[0].1.q931.call_reference),
        (Leg::Callee, CallReference::new(9, true))
    );
    // ReleaseComplete from the caller ends it.
    let rc = release_complete(77, false, CauseValue::NORMAL_CALL_CLEARING, None, None);
    let steps = call.on_message(Leg::Caller, rc);
    assert!(matches!(
        steps.last(),
        Some(Step::Ended {
            cause: Some(16),
            by: Leg::Caller
        })
    ));
    assert_eq!(call.phase, Phase::Released);
    assert!(call
        .on_message(
            Leg::Callee,
            signal(MessageType::Connect, 9, true, "uu_connect")
        )
        .is_empty());
}

#[test]
fn a_lost_connection_or_an_operator_releases_the_other_leg() {
    let setup = signal(MessageType::Setup, 5, false, "uu_setup");
    let (mut call, _) =
        RoutedCall::start(&setup, addr("192.0.2.20:1720"), addr("192.0.2.1:15000"), 6).unwrap();
    let steps = call.on_closed(Leg::Callee);
    let f = forwarded(&steps);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].0, Leg::Caller);
    assert_eq!(f[0].1.q931.message_type, MessageType::ReleaseComplete);
    assert_eq!(f[0].1.q931.call_reference, CallReference::new(5, false));

    let (mut call, _) =
        RoutedCall::start(&setup, addr("192.0.2.20:1720"), addr("192.0.2.1:15000"), 6).unwrap();
    let steps = call.clear(CauseValue::NORMAL_CALL_CLEARING);
    let legs: Vec<Leg> = forwarded(&steps).iter().map(|f| f.0).collect();
    assert_eq!(legs, vec![Leg::Caller, Leg::Callee]);
    assert!(call.clear(CauseValue::NORMAL_CALL_CLEARING).is_empty());
}

#[test]
fn h245_addresses_are_found_and_replaced() {
    let mut s = signal(MessageType::Connect, 9, true, "uu_connect");
    assert_eq!(s.h245_address(), Some(addr("192.168.1.20:30001")));
    s.set_h245_address(addr("192.0.2.1:15002"));
    let again = Signal::decode(&s.encode()).unwrap();
    assert_eq!(again.h245_address(), Some(addr("192.0.2.1:15002")));
}

#[test]
fn release_complete_carries_cause_and_reason() {
    let rc = release_complete(
        12,
        false,
        CauseValue::UNALLOCATED_NUMBER,
        Some(ReleaseCompleteReason::calledPartyNotRegistered(())),
        Some([7; 16]),
    );
    let again = Signal::decode(&rc.encode()).unwrap();
    assert_eq!(
        again.q931.cause().unwrap().unwrap().value,
        CauseValue::UNALLOCATED_NUMBER
    );
    let Some(H323UUPDUH323MessageBody::releaseComplete(r)) = again.body() else {
        panic!()
    };
    assert_eq!(
        r.reason,
        Some(ReleaseCompleteReason::calledPartyNotRegistered(()))
    );
}

#[test]
fn a_changed_destination_replaces_the_aliases_and_the_called_number() {
    let mut setup = signal(MessageType::Setup, 77, false, "uu_setup");
    setup.q931 = setup
        .q931
        .clone()
        .with_called_number(&PartyNumber::e164("92002"))
        .unwrap();
    let dest = Alias::E164("2002".into());
    let (_, out) = RoutedCall::start_to(
        &setup,
        addr("192.0.2.20:1720"),
        addr("192.0.2.1:15000"),
        9,
        Some(&dest),
        Some(30),
    )
    .unwrap();
    let again = Signal::decode(&out.encode()).unwrap();
    let info = SetupInfo::of(&again).unwrap();
    assert_eq!(info.destination, vec![dest]);
    assert_eq!(again.q931.called_number().unwrap().unwrap().digits, "2002");
    assert_eq!(info.hop_count, Some(30));
    // A new destination that is not a number takes the called number away.
    let (_, out) = RoutedCall::start_to(
        &setup,
        addr("192.0.2.20:1720"),
        addr("192.0.2.1:15000"),
        9,
        Some(&Alias::H323Id("bob".into())),
        None,
    )
    .unwrap();
    assert!(out.q931.called_number().unwrap().is_none());
}
