//! The gatekeeper's decisions, message by message. End-to-end tests with an independent
//! endpoint (pycrate) are in the causeway crate.

use super::*;
use crate::alias::transport;
use causeway_h323_asn1::bmp_string;

struct Ctx {
    deny: Vec<&'static str>,
    policy: AuthPolicy,
    numbers: std::cell::Cell<u32>,
}

impl Context for Ctx {
    fn may_register(&self, _: IpAddr, aliases: &[&str]) -> Result<(), String> {
        match aliases.iter().find(|a| self.deny.contains(a)) {
            Some(a) => Err(format!("{a} is denied")),
            None => Ok(()),
        }
    }
    fn auth_policy(&self, _: IpAddr, _: &[&str]) -> AuthPolicy {
        self.policy
    }
    fn password(&self, user: &str) -> Option<String> {
        (user == "alice").then(|| "secret".into())
    }
    fn unix_time(&self) -> u64 {
        1_700_000_000
    }
    fn take_number(&self) -> u32 {
        self.numbers.set(self.numbers.get() + 1);
        self.numbers.get()
    }
}

const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 100));

fn ctx() -> Ctx {
    Ctx {
        deny: vec![],
        policy: AuthPolicy::DoNotCheckCredentials,
        numbers: Default::default(),
    }
}

fn settings() -> Settings {
    Settings {
        gatekeeper_id: "cw".into(),
        ras_port: 1719,
        call_signal_port: 1720,
        ttl: 1800,
        call_ttl: 120,
        auto_discovery: true,
        conflict: ConflictMode::Reject,
        rip_all: false,
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn terminal() -> EndpointType {
    EndpointType::new(
        None,
        None,
        None,
        None,
        None,
        Some(TerminalInfo::new(None)),
        false,
        false,
        None,
        None,
    )
}

fn rrq(seq: u16, host: &str, aliases: &[Alias]) -> RegistrationRequest {
    let cs = addr(&format!("{host}:1720"));
    let ras = addr(&format!("{host}:1719"));
    match build::client::rrq(seq, aliases, ras, cs, None) {
        RasMessage::registrationRequest(m) => m,
        other => unreachable!("{other:?}"),
    }
}

fn sent(out: &[Output]) -> Vec<&RasMessage> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send(_, m) => Some(&**m),
            _ => None,
        })
        .collect()
}

fn register(gk: &mut Gatekeeper, host: &str, alias: &str, now: Instant) -> String {
    let out = gk.handle(
        addr(&format!("{host}:1719")),
        LOCAL,
        RasMessage::registrationRequest(rrq(1, host, &[Alias::guess(alias)])),
        now,
        &ctx(),
    );
    match sent(&out)[..] {
        [RasMessage::registrationConfirm(c)] => bmp_text(&c.endpoint_identifier.0),
        ref other => panic!("{other:?}"),
    }
}

#[test]
fn grq_is_answered_only_with_auto_discovery_on() {
    let grq = || {
        RasMessage::gatekeeperRequest(GatekeeperRequest::new(
            RequestSeqNum(7),
            build::protocol(),
            None,
            transport(addr("192.0.2.1:5000")),
            terminal(),
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
        ))
    };
    let mut gk = Gatekeeper::new(settings(), 1);
    let now = Instant::now();
    let out = gk.handle(addr("192.0.2.1:1719"), LOCAL, grq(), now, &ctx());
    match &out[..] {
        // The confirm goes to the RAS address the GRQ gave.
        [Output::Send(to, m)] => {
            let RasMessage::gatekeeperConfirm(c) = &**m else {
                panic!("{m:?}")
            };
            assert_eq!(*to, addr("192.0.2.1:5000"));
            assert_eq!(c.request_seq_num.0, 7);
            assert_eq!(bmp_text(&c.gatekeeper_identifier.as_ref().unwrap().0), "cw");
        }
        other => panic!("{other:?}"),
    }
    gk.set_settings(Settings {
        auto_discovery: false,
        ..settings()
    });
    let out = gk.handle(addr("192.0.2.1:1719"), LOCAL, grq(), now, &ctx());
    assert!(sent(&out).is_empty());
}

#[test]
fn rcf_gives_the_configured_time_to_live_or_less() {
    let mut gk = Gatekeeper::new(settings(), 1);
    let now = Instant::now();
    let out = gk.handle(
        addr("192.0.2.1:1719"),
        LOCAL,
        RasMessage::registrationRequest(rrq(1, "192.0.2.1", &[Alias::guess("alice")])),
        now,
        &ctx(),
    );
    let RasMessage::registrationConfirm(c) = sent(&out)[0] else {
        panic!("{out:?}")
    };
    assert_eq!(c.time_to_live, Some(TimeToLive(1800)));
    assert_eq!(c.will_respond_to_irr, Some(true));
    let mut short = rrq(2, "192.0.2.2", &[Alias::guess("bob")]);
    short.time_to_live = Some(TimeToLive(300));
    let out = gk.handle(
        addr("192.0.2.2:1719"),
        LOCAL,
        RasMessage::registrationRequest(short),
        now,
        &ctx(),
    );
    let RasMessage::registrationConfirm(c) = sent(&out)[0] else {
        panic!("{out:?}")
    };
    assert_eq!(c.time_to_live, Some(TimeToLive(300)));
    assert_eq!(gk.registrations().len(), 2);
}

#[test]
fn conflicting_alias_is_rejected_or_overwrites() {
    let now = Instant::now();
    let mut gk = Gatekeeper::new(settings(), 1);
    let first = register(&mut gk, "192.0.2.1", "alice", now);
    // From the same address: a re-registration, same endpoint.
    assert_eq!(register(&mut gk, "192.0.2.1", "alice", now), first);
    let out = gk.handle(
        addr("192.0.2.9:1719"),
        LOCAL,
        RasMessage::registrationRequest(rrq(3, "192.0.2.9", &[Alias::guess("alice")])),
        now,
        &ctx(),
    );
    match sent(&out)[..] {
        [RasMessage::registrationReject(r)] => {
            assert!(matches!(
                &r.reject_reason,
                RegistrationRejectReason::duplicateAlias(a) if a.len() == 1
            ));
        }
        ref other => panic!("{other:?}"),
    }
    assert_eq!(
        gk.registrations().holder("alice").unwrap().endpoint_id,
        first
    );

    gk.set_settings(Settings {
        conflict: ConflictMode::Overwrite,
        ..settings()
    });
    let out = gk.handle(
        addr("192.0.2.9:1719"),
        LOCAL,
        RasMessage::registrationRequest(rrq(4, "192.0.2.9", &[Alias::guess("alice")])),
        now,
        &ctx(),
    );
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Removed(r, Removal::Overwritten) if r.endpoint_id == first)));
    // The old endpoint is told, the new one confirmed.
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Send(to, m) if *to == addr("192.0.2.1:1719")
            && matches!(**m, RasMessage::unregistrationRequest(_))
    )));
    assert_eq!(
        gk.registrations().holder("alice").unwrap().source,
        addr("192.0.2.9:1719")
    );
}

#[test]
fn restriction_policy_refuses_full_but_not_lightweight_rrqs() {
    let now = Instant::now();
    let mut gk = Gatekeeper::new(settings(), 1);
    let id = register(&mut gk, "192.0.2.1", "alice", now);
    let deny = Ctx {
        deny: vec!["alice"],
        policy: AuthPolicy::DoNotCheckCredentials,
        numbers: Default::default(),
    };
    let out = gk.handle(
        addr("192.0.2.1:1719"),
        LOCAL,
        RasMessage::registrationRequest(rrq(2, "192.0.2.1", &[Alias::guess("alice")])),
        now,
        &deny,
    );
    assert!(matches!(
        sent(&out)[..],
        [RasMessage::registrationReject(RegistrationReject {
            reject_reason: RegistrationRejectReason::securityDenial(()),
            ..
        })]
    ));
    let mut light = rrq(3, "192.0.2.1", &[]);
    light.terminal_alias = None;
    light.keep_alive = Some(true);
    light.endpoint_identifier = Some(build::endpoint_id(&id));
    let out = gk.handle(
        addr("192.0.2.1:1719"),
        LOCAL,
        RasMessage::registrationRequest(light.clone()),
        now,
        &deny,
    );
    assert!(matches!(
        sent(&out)[..],
        [RasMessage::registrationConfirm(_)]
    ));
    // A keep-alive naming nobody needs a full registration.
    light.endpoint_identifier = Some(EndpointIdentifier(bmp_string("nobody").unwrap()));
    let out = gk.handle(
        addr("192.0.2.1:1719"),
        LOCAL,
        RasMessage::registrationRequest(light),
        now,
        &deny,
    );
    assert!(matches!(
        sent(&out)[..],
        [RasMessage::registrationReject(RegistrationReject {
            reject_reason: RegistrationRejectReason::fullRegistrationRequired(()),
            ..
        })]
    ));
}

#[test]
fn check_credentials_needs_a_token_that_verifies() {
    let now = Instant::now();
    let mut gk = Gatekeeper::new(settings(), 1);
    let check = Ctx {
        deny: vec![],
        policy: AuthPolicy::CheckCredentials,
        numbers: Default::default(),
    };
    let with_token = |password: Option<&str>| {
        let mut m = rrq(1, "192.0.2.1", &[Alias::guess("alice")]);
        if let Some(pw) = password {
            let ts = 1_700_000_010;
            let digest = h235::md5_digest("alice", pw, ts).unwrap();
            m.crypto_tokens = Some(vec![CryptoH323Token::cryptoEPPwdHash(
                CryptoH323TokenCryptoEPPwdHash::new(
                    Alias::guess("alice").to_asn().unwrap(),
                    causeway_h323_asn1::h235::TimeStamp(ts),
                    CryptoH323TokenCryptoEPPwdHashToken::new(
                        causeway_h323_asn1::rasn::types::ObjectIdentifier::new(
                            h235::MD5_OID.to_vec(),
                        )
                        .unwrap(),
                        CryptoH323TokenCryptoEPPwdHashTokenParamS::new(
                            None, None, None, None, None,
                        ),
                        causeway_h323_asn1::rasn::types::BitString::from_slice(&digest),
                    ),
                ),
            )]);
        }
        RasMessage::registrationRequest(m)
    };
    for (password, ok) in [
        (None, false),
        (Some("wrong"), false),
        (Some("secret"), true),
    ] {
        let out = gk.handle(
            addr("192.0.2.1:1719"),
            LOCAL,
            with_token(password),
            now,
            &check,
        );
        match sent(&out)[..] {
            [RasMessage::registrationConfirm(_)] => assert!(ok, "{password:?}"),
            [RasMessage::registrationReject(r)] => {
                assert!(!ok, "{password:?}");
                assert!(matches!(
                    r.reject_reason,
                    RegistrationRejectReason::securityDenial(())
                ));
            }
            ref other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        gk.registrations()
            .holder("alice")
            .unwrap()
            .authenticated_as
            .as_deref(),
        Some("alice")
    );
}

fn arq(seq: u16, endpoint: &str, call: [u8; 16], answer: bool) -> RasMessage {
    let mut m = build::client::arq(
        seq,
        endpoint,
        &[Alias::guess("alice")],
        &[Alias::guess("bob")],
        call,
        42,
    );
    if let RasMessage::admissionRequest(a) = &mut m {
        a.band_width = BandWidth(7680);
        a.answer_call = answer;
    }
    m
}

#[test]
fn admission_is_routed_and_polled_and_a_silent_endpoint_loses_the_call() {
    let now = Instant::now();
    let mut gk = Gatekeeper::new(settings(), 1);
    let id = register(&mut gk, "192.0.2.1", "alice", now);
    // Not registered: refused.
    let out = gk.handle(
        addr("192.0.2.7:1719"),
        LOCAL,
        arq(1, "nobody", [1; 16], false),
        now,
        &ctx(),
    );
    assert!(matches!(
        sent(&out)[..],
        [RasMessage::admissionReject(AdmissionReject {
            reject_reason: AdmissionRejectReason::callerNotRegistered(()),
            ..
        })]
    ));
    let out = gk.handle(
        addr("192.0.2.1:1719"),
        LOCAL,
        arq(2, &id, [1; 16], false),
        now,
        &ctx(),
    );
    match sent(&out)[..] {
        [RasMessage::admissionConfirm(c)] => {
            assert_eq!(c.call_model, CallModel::gatekeeperRouted(()));
            assert_eq!(
                alias::socket_addr(&c.dest_call_signal_address),
                Some(addr("192.0.2.100:1720"))
            );
            assert_eq!(c.band_width.0, 7680);
        }
        ref other => panic!("{other:?}"),
    }
    // After CallTimeToLive, an IRQ about the call; no answer in two tries clears it.
    let t1 = now + Duration::from_secs(120);
    assert_eq!(gk.poll_timeout(), Some(t1));
    let out = gk.on_timer(t1);
    match sent(&out)[..] {
        [RasMessage::infoRequest(q)] => {
            assert_eq!(q.call_reference_value.0, 42);
            assert_eq!(guid(&q.call_identifier.as_ref().unwrap().guid), [1; 16]);
        }
        ref other => panic!("{other:?}"),
    }
    let out = gk.on_timer(t1 + IRQ_WAIT);
    assert!(matches!(sent(&out)[..], [RasMessage::infoRequest(_)]));
    let out = gk.on_timer(t1 + IRQ_WAIT * 2);
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::ClearCall { call_id, .. } if *call_id == [1; 16])));
    assert_eq!(gk.admissions().count(), 0);
}

#[test]
fn an_expired_registration_is_polled_then_dropped() {
    let now = Instant::now();
    let mut gk = Gatekeeper::new(
        Settings {
            ttl: 60,
            ..settings()
        },
        1,
    );
    let id = register(&mut gk, "192.0.2.1", "alice", now);
    let t1 = now + Duration::from_secs(60);
    let out = gk.on_timer(t1);
    match sent(&out)[..] {
        [RasMessage::infoRequest(q)] => assert_eq!(q.call_reference_value.0, 0),
        ref other => panic!("{other:?}"),
    };
    gk.on_timer(t1 + IRQ_WAIT);
    let out = gk.on_timer(t1 + IRQ_WAIT * 2);
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Removed(r, Removal::Expired) if r.endpoint_id == id)));
    assert!(gk.registrations().is_empty());
}

#[test]
fn urq_removes_the_registration_and_an_unknown_one_is_refused() {
    let now = Instant::now();
    let mut gk = Gatekeeper::new(settings(), 1);
    let id = register(&mut gk, "192.0.2.1", "alice", now);
    let urq = |id: &str| {
        RasMessage::unregistrationRequest(UnregistrationRequest::new(
            RequestSeqNum(9),
            vec![transport(addr("192.0.2.1:1720"))],
            None,
            None,
            Some(build::endpoint_id(id)),
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
        ))
    };
    let out = gk.handle(addr("192.0.2.1:1719"), LOCAL, urq(&id), now, &ctx());
    assert!(matches!(
        sent(&out)[..],
        [RasMessage::unregistrationConfirm(_)]
    ));
    let out = gk.handle(addr("192.0.2.1:1719"), LOCAL, urq(&id), now, &ctx());
    assert!(matches!(
        sent(&out)[..],
        [RasMessage::unregistrationReject(UnregistrationReject {
            reject_reason: UnregRejectReason::notCurrentlyRegistered(()),
            ..
        })]
    ));
}

#[test]
fn rip_comes_before_the_answer_when_asked_for() {
    let now = Instant::now();
    let mut gk = Gatekeeper::new(
        Settings {
            rip_all: true,
            ..settings()
        },
        1,
    );
    let out = gk.handle(
        addr("192.0.2.1:1719"),
        LOCAL,
        RasMessage::registrationRequest(rrq(5, "192.0.2.1", &[Alias::guess("alice")])),
        now,
        &ctx(),
    );
    match sent(&out)[..] {
        [RasMessage::requestInProgress(r), RasMessage::registrationConfirm(c)] => {
            assert_eq!(r.request_seq_num.0, 5);
            assert_eq!(c.request_seq_num.0, 5);
        }
        ref other => panic!("{other:?}"),
    }
}

#[test]
fn every_message_the_gatekeeper_builds_encodes() {
    let now = Instant::now();
    let mut gk = Gatekeeper::new(settings(), 1);
    let id = register(&mut gk, "192.0.2.1", "alice", now);
    let mut all: Vec<RasMessage> = vec![
        build::gcf(1, "cw", addr("192.0.2.100:1719")),
        build::grj(1, "cw", GatekeeperRejectReason::terminalExcluded(())),
        build::rrj(1, "cw", build::duplicate_alias(&[Alias::guess("a")])),
        build::rip(1, 5000),
        build::urq(
            1,
            "cw",
            &id,
            &[addr("192.0.2.1:1720")],
            UnregRequestReason::maintenance(()),
        ),
        build::ucf(1),
        build::urj(1, UnregRejectReason::notCurrentlyRegistered(())),
        build::acf(1, 384, addr("192.0.2.100:1720")),
        build::arj(1, AdmissionRejectReason::callerNotRegistered(())),
        build::dcf(1),
        build::drj(1, DisengageRejectReason::notRegistered(())),
        build::bcf(1, 384),
        build::brj(1, BandRejectReason::notBound(()), 0),
        build::irq(1, Some((5, [3; 16])), addr("192.0.2.100:1719")),
        build::iack(1),
        build::lrj(1, LocationRejectReason::requestDenied(())),
        build::xrs(1, Some(b"?")),
    ];
    all.push(build::rcf(build::Rcf {
        seq: 1,
        gk: "cw",
        endpoint_id: &id,
        call_signal: addr("192.0.2.100:1720"),
        aliases: &[Alias::guess("alice"), Alias::guess("1234")],
        ttl: 1800,
    }));
    all.push(build::lcf(build::Lcf {
        seq: 1,
        call_signal: addr("192.0.2.100:1720"),
        ras: addr("192.0.2.100:1719"),
        destination: &[Alias::guess("alice")],
    }));
    for m in all {
        let bytes = causeway_h323_asn1::encode_ras(&m).unwrap();
        assert_eq!(causeway_h323_asn1::decode_ras(&bytes).unwrap(), m);
    }
}

#[test]
fn an_irr_answering_the_registration_poll_keeps_the_endpoint() {
    let now = Instant::now();
    let mut gk = Gatekeeper::new(
        Settings {
            ttl: 60,
            ..settings()
        },
        1,
    );
    let id = register(&mut gk, "192.0.2.1", "alice", now);
    let t1 = now + Duration::from_secs(60);
    let out = gk.on_timer(t1);
    let seq = match sent(&out)[..] {
        [RasMessage::infoRequest(q)] => q.request_seq_num.0,
        ref other => panic!("{other:?}"),
    };
    let irr = RasMessage::infoRequestResponse(InfoRequestResponse::new(
        None,
        RequestSeqNum(seq),
        terminal(),
        build::endpoint_id(&id),
        transport(addr("192.0.2.1:1719")),
        vec![transport(addr("192.0.2.1:1720"))],
        None,
        None,
        None,
        None,
        None,
        Some(false),
        None,
        None,
        Some(false),
        None,
    ));
    let out = gk.handle(
        addr("192.0.2.1:1719"),
        LOCAL,
        irr,
        t1 + Duration::from_secs(1),
        &ctx(),
    );
    assert!(sent(&out).is_empty(), "no IACK unless asked: {out:?}");
    // No second IRQ, no removal: the registration runs for another time to live.
    let out = gk.on_timer(t1 + IRQ_WAIT * 3);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(
        gk.registrations()
            .get(&id)
            .unwrap()
            .remaining(t1 + Duration::from_secs(1)),
        60
    );
}

fn locate_req(id: u64, peers: &[&str]) -> LocateRequest {
    LocateRequest {
        id,
        alias: Alias::guess("remote"),
        source: vec![Alias::guess("alice")],
        peers: peers.iter().map(|p| addr(p)).collect(),
        hop_count: Some(15),
        local: LOCAL,
        wait: Duration::from_secs(2),
    }
}

fn lrq_seqs(out: &[Output]) -> Vec<(SocketAddr, u16)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send(to, m) => match &**m {
                RasMessage::locationRequest(l) => {
                    assert_eq!(l.hop_count, Some(15));
                    assert_eq!(
                        alias::socket_addr(&l.reply_address),
                        Some(addr("192.0.2.100:1719"))
                    );
                    Some((*to, l.request_seq_num.0))
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn lcf(seq: u16, cs: &str) -> RasMessage {
    build::lcf(build::Lcf {
        seq,
        call_signal: addr(cs),
        ras: addr("198.51.100.1:1719"),
        destination: &[],
    })
}

#[test]
fn locate_asks_every_peer_and_the_first_confirm_wins() {
    let now = Instant::now();
    let mut gk = Gatekeeper::new(settings(), 1);
    let out = gk.locate(
        locate_req(7, &["198.51.100.1:1719", "198.51.100.2:1719"]),
        now,
    );
    let seqs = lrq_seqs(&out);
    assert_eq!(seqs.len(), 2);
    // One refuses: still waiting for the other.
    let rej = build::lrj(seqs[0].1, LocationRejectReason::requestDenied(()));
    let out = gk.handle(seqs[0].0, LOCAL, rej, now, &ctx());
    assert!(out.is_empty(), "{out:?}");
    let out = gk.handle(
        seqs[1].0,
        LOCAL,
        lcf(seqs[1].1, "198.51.100.2:1720"),
        now,
        &ctx(),
    );
    match &out[..] {
        [Output::Located {
            id: 7,
            found: Some(l),
        }] => {
            assert_eq!(l.call_signal, addr("198.51.100.2:1720"));
            assert_eq!(l.peer, seqs[1].0);
        }
        other => panic!("{other:?}"),
    }
    // Nothing is left waiting.
    assert_eq!(gk.poll_timeout(), None);
}

#[test]
fn locate_ends_empty_when_all_refuse_or_nobody_answers() {
    let now = Instant::now();
    let mut gk = Gatekeeper::new(settings(), 1);
    let out = gk.locate(locate_req(1, &["198.51.100.1:1719"]), now);
    let seqs = lrq_seqs(&out);
    let rej = build::lrj(seqs[0].1, LocationRejectReason::requestDenied(()));
    let out = gk.handle(seqs[0].0, LOCAL, rej, now, &ctx());
    assert!(matches!(&out[..], [Output::Located { id: 1, found: None }]));

    gk.locate(locate_req(2, &["198.51.100.1:1719"]), now);
    // A RequestInProgress buys time.
    let seq = gk.lrq_of.keys().copied().next().unwrap();
    let rip = build::rip(seq, 5000);
    gk.handle(addr("198.51.100.1:1719"), LOCAL, rip, now, &ctx());
    assert!(gk.on_timer(now + Duration::from_secs(3)).is_empty());
    let out = gk.on_timer(now + Duration::from_secs(6));
    assert!(matches!(&out[..], [Output::Located { id: 2, found: None }]));
    // An answer after the end is ignored.
    let out = gk.handle(
        addr("198.51.100.1:1719"),
        LOCAL,
        lcf(seq, "198.51.100.1:1720"),
        now,
        &ctx(),
    );
    assert!(out.is_empty());
    // No peers at all: an empty answer at once.
    let out = gk.locate(locate_req(3, &[]), now);
    assert!(matches!(&out[..], [Output::Located { id: 3, found: None }]));
}
