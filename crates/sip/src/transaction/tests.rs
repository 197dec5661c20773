//! Every timer of the four machines, on virtual time.

use super::*;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Msg {
    status: Option<u16>,
    what: &'static str,
}

impl TxMessage for Msg {
    fn status(&self) -> Option<u16> {
        self.status
    }
    fn ack_for(_: &Self, _: &Self) -> Self {
        req("ACK")
    }
}

fn req(what: &'static str) -> Msg {
    Msg { status: None, what }
}

fn resp(code: u16) -> Msg {
    Msg {
        status: Some(code),
        what: "response",
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Drives any machine: what it emitted, with the time since `t0` at which it did.
trait Machine {
    fn timeout(&self) -> Option<Instant>;
    fn fire(&mut self, now: Instant);
    fn next(&mut self) -> Option<Output<Msg>>;
}

macro_rules! machine {
    ($t:ty) => {
        impl Machine for $t {
            fn timeout(&self) -> Option<Instant> {
                self.poll_timeout()
            }
            fn fire(&mut self, now: Instant) {
                self.handle_timeout(now)
            }
            fn next(&mut self) -> Option<Output<Msg>> {
                self.poll_output()
            }
        }
    };
}
machine!(ClientInvite<Msg>);
machine!(ClientNonInvite<Msg>);
machine!(ServerInvite<Msg>);
machine!(ServerNonInvite<Msg>);

type Log = Vec<(Duration, Output<Msg>)>;

fn drain(m: &mut dyn Machine, t0: Instant, now: Instant, log: &mut Log) {
    while let Some(o) = m.next() {
        log.push((now - t0, o));
    }
}

/// Runs timers until `until` (after `t0`).
fn run(m: &mut dyn Machine, t0: Instant, until: Duration) -> Log {
    let mut log = Vec::new();
    drain(m, t0, t0, &mut log);
    while let Some(t) = m.timeout() {
        if t - t0 > until {
            break;
        }
        m.fire(t);
        drain(m, t0, t, &mut log);
    }
    log
}

fn transmit_times(log: &Log) -> Vec<u64> {
    log.iter()
        .filter(|(_, o)| matches!(o, Output::Transmit(_)))
        .map(|(t, _)| t.as_millis() as u64)
        .collect()
}

fn ends_with_timeout_at(log: &Log, at: u64) {
    let n = log.len();
    assert!(n >= 2, "{log:?}");
    assert_eq!(log[n - 2], (ms(at), Output::Timeout));
    assert_eq!(log[n - 1], (ms(at), Output::Terminated));
}

#[test]
fn invite_over_udp_retransmits_with_timer_a_until_timer_b() {
    let t0 = Instant::now();
    let mut tx = ClientInvite::new(
        req("INVITE"),
        Reliability::Unreliable,
        Timers::default(),
        t0,
    );
    let log = run(&mut tx, t0, Duration::from_secs(60));
    assert_eq!(
        transmit_times(&log),
        vec![0, 500, 1500, 3500, 7500, 15500, 31500]
    );
    ends_with_timeout_at(&log, 32000);
    assert_eq!(tx.state(), State::Terminated);
}

#[test]
fn invite_over_tcp_sends_once_and_times_out_with_timer_b() {
    let t0 = Instant::now();
    let mut tx = ClientInvite::new(req("INVITE"), Reliability::Reliable, Timers::default(), t0);
    let log = run(&mut tx, t0, Duration::from_secs(60));
    assert_eq!(transmit_times(&log), vec![0]);
    ends_with_timeout_at(&log, 32000);
}

#[test]
fn a_provisional_response_stops_invite_retransmission_and_timer_b() {
    let t0 = Instant::now();
    let mut tx = ClientInvite::new(
        req("INVITE"),
        Reliability::Unreliable,
        Timers::default(),
        t0,
    );
    let mut log = run(&mut tx, t0, ms(600));
    tx.on_response(resp(180), t0 + ms(700));
    log.extend(run(&mut tx, t0, Duration::from_secs(120)));
    assert_eq!(transmit_times(&log), vec![0, 500]);
    assert!(log.iter().any(|(_, o)| *o == Output::ToTu(resp(180))));
    assert_eq!(tx.state(), State::Proceeding);
    assert_eq!(tx.poll_timeout(), None);
}

#[test]
fn a_failure_response_is_acked_and_absorbed_until_timer_d() {
    let t0 = Instant::now();
    let mut tx = ClientInvite::new(
        req("INVITE"),
        Reliability::Unreliable,
        Timers::default(),
        t0,
    );
    let _ = run(&mut tx, t0, ms(100));
    tx.on_response(resp(486), t0 + ms(200));
    assert_eq!(tx.poll_output(), Some(Output::Transmit(req("ACK"))));
    assert_eq!(tx.poll_output(), Some(Output::ToTu(resp(486))));
    assert_eq!(tx.state(), State::Completed);
    // The 486 again: the ACK was lost. It is re-sent; the TU hears nothing.
    tx.on_response(resp(486), t0 + ms(300));
    assert_eq!(tx.poll_output(), Some(Output::Transmit(req("ACK"))));
    assert_eq!(tx.poll_output(), None);
    assert_eq!(
        tx.poll_timeout(),
        Some(t0 + ms(200) + Duration::from_secs(32))
    );
    let log = run(&mut tx, t0, Duration::from_secs(60));
    assert_eq!(log, vec![(ms(32200), Output::Terminated)]);

    // Over TCP there is nothing to absorb: done at once.
    let mut tx = ClientInvite::new(req("INVITE"), Reliability::Reliable, Timers::default(), t0);
    tx.on_response(resp(603), t0);
    let log = run(&mut tx, t0, Duration::from_secs(1));
    assert_eq!(log.last().unwrap().1, Output::Terminated);
}

#[test]
fn every_2xx_reaches_the_tu_until_timer_m() {
    let t0 = Instant::now();
    let mut tx = ClientInvite::new(
        req("INVITE"),
        Reliability::Unreliable,
        Timers::default(),
        t0,
    );
    tx.on_response(resp(200), t0 + ms(100));
    tx.on_response(resp(200), t0 + ms(150));
    tx.on_response(resp(486), t0 + ms(160));
    let log = run(&mut tx, t0, Duration::from_secs(60));
    let to_tu: Vec<_> = log
        .iter()
        .filter(|(_, o)| matches!(o, Output::ToTu(_)))
        .collect();
    assert_eq!(to_tu.len(), 2);
    assert_eq!(tx.state(), State::Terminated);
    assert_eq!(log.last().unwrap(), &(ms(32100), Output::Terminated));
}

#[test]
fn non_invite_over_udp_backs_off_to_t2_until_timer_f() {
    let t0 = Instant::now();
    let mut tx = ClientNonInvite::new(
        req("OPTIONS"),
        Reliability::Unreliable,
        Timers::default(),
        t0,
    );
    let log = run(&mut tx, t0, Duration::from_secs(60));
    assert_eq!(
        transmit_times(&log),
        vec![0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
    );
    ends_with_timeout_at(&log, 32000);
}

#[test]
fn non_invite_in_proceeding_retransmits_every_t2() {
    let t0 = Instant::now();
    let mut tx = ClientNonInvite::new(
        req("REGISTER"),
        Reliability::Unreliable,
        Timers::default(),
        t0,
    );
    let mut log = run(&mut tx, t0, ms(600));
    tx.on_response(resp(100), t0 + ms(700));
    assert_eq!(tx.state(), State::Proceeding);
    log.extend(run(&mut tx, t0, ms(10000)));
    assert_eq!(transmit_times(&log), vec![0, 500, 1500, 5500, 9500]);
    tx.on_response(resp(200), t0 + ms(10000));
    assert_eq!(tx.state(), State::Completed);
    let log = run(&mut tx, t0, Duration::from_secs(60));
    assert_eq!(
        log,
        vec![
            (ms(0), Output::ToTu(resp(200))),
            (ms(15000), Output::Terminated)
        ]
    );
}

#[test]
fn non_invite_over_tcp_ends_with_the_final_response() {
    let t0 = Instant::now();
    let mut tx = ClientNonInvite::new(req("BYE"), Reliability::Reliable, Timers::default(), t0);
    let _ = tx.poll_output();
    tx.on_response(resp(200), t0 + ms(5));
    tx.on_response(resp(200), t0 + ms(6));
    assert_eq!(tx.poll_output(), Some(Output::ToTu(resp(200))));
    assert_eq!(tx.poll_output(), Some(Output::Terminated));
    assert_eq!(tx.poll_output(), None);
}

#[test]
fn server_invite_failure_retransmits_with_g_until_ack_or_h() {
    let t0 = Instant::now();
    let mut tx = ServerInvite::new(req("INVITE"), Reliability::Unreliable, Timers::default());
    assert_eq!(tx.poll_output(), Some(Output::ToTu(req("INVITE"))));
    tx.send_response(resp(100), t0);
    // A retransmitted INVITE gets the latest provisional.
    tx.on_request(req("INVITE"), false, t0 + ms(10));
    tx.send_response(resp(486), t0 + ms(20));
    let mut log = Vec::new();
    drain(&mut tx, t0, t0, &mut log);
    assert_eq!(
        log,
        vec![
            (ms(0), Output::Transmit(resp(100))),
            (ms(0), Output::Transmit(resp(100))),
            (ms(0), Output::Transmit(resp(486)))
        ]
    );
    let log = run(&mut tx, t0, Duration::from_secs(60));
    assert_eq!(
        transmit_times(&log),
        vec![520, 1520, 3520, 7520, 11520, 15520, 19520, 23520, 27520, 31520]
    );
    ends_with_timeout_at(&log, 32020);
}

#[test]
fn server_invite_ack_confirms_and_timer_i_ends_it() {
    let t0 = Instant::now();
    let mut tx = ServerInvite::new(req("INVITE"), Reliability::Unreliable, Timers::default());
    tx.send_response(resp(404), t0);
    tx.on_request(req("INVITE"), false, t0 + ms(100));
    tx.on_request(req("ACK"), true, t0 + ms(200));
    assert_eq!(tx.state(), State::Confirmed);
    tx.on_request(req("ACK"), true, t0 + ms(300));
    let log = run(&mut tx, t0, Duration::from_secs(60));
    assert_eq!(
        log,
        vec![
            (ms(0), Output::ToTu(req("INVITE"))),
            (ms(0), Output::Transmit(resp(404))),
            (ms(0), Output::Transmit(resp(404))),
            (ms(5200), Output::Terminated)
        ]
    );
    // Over TCP the ACK ends it at once.
    let mut tx = ServerInvite::new(req("INVITE"), Reliability::Reliable, Timers::default());
    tx.send_response(resp(404), t0);
    assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_secs(32)));
    tx.on_request(req("ACK"), true, t0 + ms(1));
    assert_eq!(tx.state(), State::Terminated);
}

#[test]
fn server_invite_2xx_is_accepted_and_retransmitted_invites_absorbed_until_l() {
    let t0 = Instant::now();
    let mut tx = ServerInvite::new(req("INVITE"), Reliability::Unreliable, Timers::default());
    tx.send_response(resp(200), t0);
    assert_eq!(tx.state(), State::Accepted);
    tx.on_request(req("INVITE"), false, t0 + ms(500));
    tx.send_response(resp(200), t0 + ms(500)); // the TU's own retransmission
    let log = run(&mut tx, t0, Duration::from_secs(60));
    assert_eq!(transmit_times(&log), vec![0, 0]);
    assert_eq!(log.last().unwrap(), &(ms(32000), Output::Terminated));
}

#[test]
fn server_non_invite_answers_retransmissions_until_timer_j() {
    let t0 = Instant::now();
    let mut tx = ServerNonInvite::new(req("REGISTER"), Reliability::Unreliable, Timers::default());
    tx.on_request(req("REGISTER")); // Trying: absorbed
    tx.send_response(resp(100), t0);
    tx.on_request(req("REGISTER")); // Proceeding: the provisional again
    tx.send_response(resp(200), t0 + ms(10));
    tx.on_request(req("REGISTER")); // Completed: the final again
    tx.send_response(resp(500), t0 + ms(20)); // too late: ignored
    let log = run(&mut tx, t0, Duration::from_secs(60));
    let sent: Vec<_> = log
        .iter()
        .filter_map(|(_, o)| match o {
            Output::Transmit(m) => m.status,
            _ => None,
        })
        .collect();
    assert_eq!(sent, vec![100, 100, 200, 200]);
    assert_eq!(log.last().unwrap(), &(ms(32010), Output::Terminated));

    let mut tx = ServerNonInvite::new(req("OPTIONS"), Reliability::Reliable, Timers::default());
    tx.send_response(resp(200), t0);
    assert_eq!(tx.state(), State::Terminated);
}

#[test]
fn transport_errors_end_every_machine() {
    let t0 = Instant::now();
    let mut a = ClientInvite::new(req("INVITE"), Reliability::Reliable, Timers::default(), t0);
    a.transport_error();
    let mut b = ClientNonInvite::new(req("BYE"), Reliability::Reliable, Timers::default(), t0);
    b.transport_error();
    let mut c = ServerInvite::new(req("INVITE"), Reliability::Reliable, Timers::default());
    c.transport_error();
    let mut d = ServerNonInvite::new(req("BYE"), Reliability::Reliable, Timers::default());
    d.transport_error();
    for m in [&mut a as &mut dyn Machine, &mut b, &mut c, &mut d] {
        let mut log = Vec::new();
        drain(m, t0, t0, &mut log);
        let tail: Vec<_> = log.iter().rev().take(2).map(|(_, o)| o.clone()).collect();
        assert_eq!(tail, vec![Output::Terminated, Output::TransportError]);
        assert_eq!(m.timeout(), None);
    }
}

#[test]
fn timers_follow_configured_bases() {
    let t0 = Instant::now();
    let timers = Timers {
        t1: ms(100),
        t2: ms(400),
        t4: ms(1000),
    };
    let mut tx = ClientNonInvite::new(req("OPTIONS"), Reliability::Unreliable, timers, t0);
    let log = run(&mut tx, t0, Duration::from_secs(60));
    assert_eq!(
        transmit_times(&log),
        vec![
            0, 100, 300, 700, 1100, 1500, 1900, 2300, 2700, 3100, 3500, 3900, 4300, 4700, 5100,
            5500, 5900, 6300
        ]
    );
    ends_with_timeout_at(&log, 6400);
    // Timer D is never below 32 s over UDP, whatever T1 is.
    assert_eq!(timers.d(), Duration::from_secs(32));
}
