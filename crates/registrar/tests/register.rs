use causeway_registrar::expiry::Strategy;
use causeway_registrar::table::RemovalReason;
use causeway_registrar::*;
use rand::SeedableRng;
use std::time::{Duration, Instant, SystemTime};

fn settings() -> Settings {
    Settings {
        standard: Expiry {
            strategy: Strategy::Maximum,
            minimum: 45,
            maximum: 60,
        },
        outbound: Expiry {
            strategy: Strategy::Maximum,
            minimum: 300,
            maximum: 3600,
        },
        flow_timer: 0,
        default_expires: 3600,
        gruu: true,
    }
}

fn contact(uri: &str, expires: Option<u32>) -> ContactReq {
    ContactReq {
        uri: uri.into(),
        key: uri.to_ascii_lowercase(),
        expires,
        q: None,
        instance: None,
        reg_id: None,
    }
}

fn req(aor: &str, contacts: Option<Vec<ContactReq>>, expires: Option<u32>, cseq: u32) -> Request {
    Request {
        aor: aor.into(),
        aliases: vec![aor.into()],
        contacts,
        expires,
        call_id: "call-1".into(),
        cseq,
        source: "192.0.2.10:5060".parse().unwrap(),
        transport: "UDP".into(),
        outbound: false,
        gruu: false,
        path: vec![],
        user_agent: "test".into(),
    }
}

struct World {
    reg: Registrar,
    now: Instant,
    rng: rand::rngs::StdRng,
}

impl World {
    fn new() -> World {
        World {
            reg: Registrar::new(),
            now: Instant::now(),
            rng: rand::rngs::StdRng::seed_from_u64(3),
        }
    }
    fn register(&mut self, r: &Request) -> Result<Decision, Refusal> {
        self.reg.register(
            r,
            &settings(),
            &Restriction::None,
            self.now,
            SystemTime::now(),
            &mut self.rng,
        )
    }
}

#[test]
fn grants_are_capped_and_short_requests_get_423() {
    let mut w = World::new();
    let d = w
        .register(&req(
            "alice@example.com",
            Some(vec![contact("sip:alice@192.0.2.10", None)]),
            Some(3600),
            1,
        ))
        .unwrap();
    assert_eq!(d.bindings.len(), 1);
    assert_eq!(d.bindings[0].granted, 60);
    let err = w
        .register(&req(
            "bob@example.com",
            Some(vec![contact("sip:bob@192.0.2.11", Some(30))]),
            None,
            1,
        ))
        .unwrap_err();
    assert_eq!(err, Refusal::TooBrief { min_expires: 45 });
    assert!(w.reg.lookup("bob@example.com").is_empty());
    // The contact's own expires wins over the header.
    let d = w
        .register(&req(
            "carol@example.com",
            Some(vec![contact("sip:c@192.0.2.12", Some(50))]),
            Some(3600),
            1,
        ))
        .unwrap();
    assert_eq!(d.bindings[0].granted, 50);
}

#[test]
fn refresh_unregister_and_star() {
    let mut w = World::new();
    let a = "alice@example.com";
    w.register(&req(
        a,
        Some(vec![contact("sip:a@h1", None), contact("sip:a@h2", None)]),
        Some(60),
        1,
    ))
    .unwrap();
    assert_eq!(w.reg.lookup(a).len(), 2);
    // A query lists the bindings and changes nothing.
    let d = w.register(&req(a, Some(vec![]), None, 2)).unwrap();
    assert_eq!(d.bindings.len(), 2);
    // Refresh one: same serial, new expiry.
    let before = w
        .reg
        .lookup(a)
        .iter()
        .find(|b| b.key == "sip:a@h1")
        .unwrap()
        .serial;
    w.now += Duration::from_secs(30);
    let d = w
        .register(&req(a, Some(vec![contact("sip:A@h1", None)]), Some(60), 3))
        .unwrap();
    assert_eq!(d.refreshed, vec![before]);
    assert!(d.added.is_empty());
    // Old CSeq on the same Call-ID is refused and changes nothing.
    assert_eq!(
        w.register(&req(a, Some(vec![contact("sip:a@h1", Some(0))]), None, 3)),
        Err(Refusal::OutOfOrder)
    );
    assert_eq!(w.reg.lookup(a).len(), 2);
    // Unregister one.
    let d = w
        .register(&req(a, Some(vec![contact("sip:a@h2", Some(0))]), None, 4))
        .unwrap();
    assert_eq!(d.removed.len(), 1);
    assert_eq!(d.removed[0].reason, RemovalReason::Unregistered);
    assert_eq!(d.bindings.len(), 1);
    // * without Expires: 0 is a bad request; with it, everything goes.
    assert!(matches!(
        w.register(&req(a, None, Some(60), 5)),
        Err(Refusal::BadRequest(_))
    ));
    let d = w.register(&req(a, None, Some(0), 6)).unwrap();
    assert_eq!(d.removed.len(), 1);
    assert!(w.reg.is_empty());
}

#[test]
fn bindings_expire_on_time() {
    let mut w = World::new();
    w.register(&req(
        "a@x",
        Some(vec![contact("sip:a@h", Some(45))]),
        None,
        1,
    ))
    .unwrap();
    w.register(&req(
        "b@x",
        Some(vec![contact("sip:b@h", Some(60))]),
        None,
        1,
    ))
    .unwrap();
    let t0 = w.now;
    assert_eq!(w.reg.poll_timeout(), Some(t0 + Duration::from_secs(45)));
    assert!(w.reg.expire(t0 + Duration::from_secs(44)).is_empty());
    let gone = w.reg.expire(t0 + Duration::from_secs(45));
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].reason, RemovalReason::Expired);
    assert_eq!(gone[0].binding.aor, "a@x");
    assert_eq!(w.reg.poll_timeout(), Some(t0 + Duration::from_secs(60)));
}

#[test]
fn restriction_policy_applies_to_new_registrations_not_removals() {
    use causeway_routing::{Pattern, PatternType, Variables};
    let mut w = World::new();
    let allow = Restriction::Allow(vec![Pattern::compile(
        PatternType::Suffix,
        "@example.com",
        &Variables::default(),
    )
    .unwrap()]);
    let r = req(
        "eve@evil.com",
        Some(vec![contact("sip:e@h", None)]),
        Some(60),
        1,
    );
    let err = w
        .reg
        .register(
            &r,
            &settings(),
            &allow,
            w.now,
            SystemTime::now(),
            &mut w.rng,
        )
        .unwrap_err();
    assert!(matches!(err, Refusal::Forbidden(_)));
    w.register(&r).unwrap();
    let bye = req(
        "eve@evil.com",
        Some(vec![contact("sip:e@h", Some(0))]),
        None,
        2,
    );
    w.reg
        .register(
            &bye,
            &settings(),
            &allow,
            w.now,
            SystemTime::now(),
            &mut w.rng,
        )
        .unwrap();
    assert!(w.reg.is_empty());
}

#[test]
fn outbound_registrations_use_their_own_expiry_and_match_by_instance() {
    let mut w = World::new();
    let mut s = settings();
    s.flow_timer = 120;
    let mut c = contact("sip:a@10.0.0.1:5060;ob", Some(3600));
    c.instance = Some("<urn:uuid:00000000-0000-1000-8000-000A95A0E128>".into());
    c.reg_id = Some(1);
    let mut r = req("alice@example.com", Some(vec![c.clone()]), None, 1);
    r.outbound = true;
    r.gruu = true;
    let d = w
        .reg
        .register(
            &r,
            &s,
            &Restriction::None,
            w.now,
            SystemTime::now(),
            &mut w.rng,
        )
        .unwrap();
    assert_eq!(d.bindings[0].granted, 3600);
    assert!(d.bindings[0].outbound);
    assert_eq!(d.flow_timer, Some(120));
    assert_eq!(
        d.bindings[0].pub_gruu.as_deref(),
        Some("sip:alice@example.com;gr=urn:uuid:00000000-0000-1000-8000-000A95A0E128")
    );
    // The same instance and reg-id from a new address replaces the flow, it does not add one.
    let mut c2 = c.clone();
    c2.uri = "sip:a@10.0.0.99:5060;ob".into();
    c2.key = c2.uri.clone();
    let mut r2 = req("alice@example.com", Some(vec![c2]), None, 2);
    r2.outbound = true;
    let d = w
        .reg
        .register(
            &r2,
            &s,
            &Restriction::None,
            w.now,
            SystemTime::now(),
            &mut w.rng,
        )
        .unwrap();
    assert_eq!(d.bindings.len(), 1);
    assert_eq!(d.bindings[0].contact, "sip:a@10.0.0.99:5060;ob");
    // Without Supported: outbound the same contact is a standard registration.
    let r3 = req("bob@example.com", Some(vec![c]), None, 1);
    let d = w
        .reg
        .register(
            &r3,
            &s,
            &Restriction::None,
            w.now,
            SystemTime::now(),
            &mut w.rng,
        )
        .unwrap();
    assert_eq!(d.bindings[0].granted, 60);
    assert_eq!(d.flow_timer, None);
}

#[test]
fn numbers_are_the_smallest_free_and_operators_can_remove() {
    let mut w = World::new();
    for i in 1..=4 {
        w.register(&req(
            &format!("u{i}@x"),
            Some(vec![contact(&format!("sip:u{i}@h"), None)]),
            Some(60),
            1,
        ))
        .unwrap();
    }
    let ids: Vec<u32> = w.reg.all().map(|b| b.id).collect();
    assert_eq!(ids, vec![1, 2, 3, 4]);
    let two = w.reg.by_number(2).unwrap().serial;
    let removed = w.reg.remove(&two).unwrap();
    assert_eq!(removed.reason, RemovalReason::Operator);
    let four = w.reg.by_number(4).unwrap().serial;
    w.reg.remove(&four).unwrap();
    w.register(&req(
        "u5@x",
        Some(vec![contact("sip:u5@h", None)]),
        Some(60),
        1,
    ))
    .unwrap();
    w.register(&req(
        "u6@x",
        Some(vec![contact("sip:u6@h", None)]),
        Some(60),
        1,
    ))
    .unwrap();
    let ids: Vec<u32> = w.reg.all().map(|b| b.id).collect();
    assert_eq!(ids, vec![1, 2, 3, 4]);
    assert_eq!(w.reg.by_number(2).unwrap().aor, "u5@x");
}
