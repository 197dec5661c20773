//! Client transactions (RFC 3261 §17.1, RFC 6026 §8.4).

use super::timers::{due, earliest};
use super::{next_output, Output, Reliability, State, Timers, TxMessage};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Sends an INVITE and follows it to a final response.
#[derive(Debug)]
pub struct ClientInvite<M> {
    state: State,
    reliability: Reliability,
    timers: Timers,
    request: M,
    ack: Option<M>,
    interval: Duration,
    /// Retransmit the INVITE (unreliable transports only).
    timer_a: Option<Instant>,
    /// Give up waiting for any response.
    timer_b: Option<Instant>,
    /// Keep absorbing retransmitted non-2xx finals.
    timer_d: Option<Instant>,
    /// Keep passing retransmitted 2xx to the TU (RFC 6026).
    timer_m: Option<Instant>,
    out: VecDeque<Output<M>>,
}

impl<M: TxMessage> ClientInvite<M> {
    /// Starts the transaction: the INVITE is queued for transmission.
    pub fn new(request: M, reliability: Reliability, timers: Timers, now: Instant) -> Self {
        let mut out = VecDeque::new();
        out.push_back(Output::Transmit(request.clone()));
        let unreliable = reliability == Reliability::Unreliable;
        ClientInvite {
            state: State::Calling,
            reliability,
            timers,
            request,
            ack: None,
            interval: timers.t1,
            timer_a: unreliable.then(|| now + timers.t1),
            timer_b: Some(now + timers.long()),
            timer_d: None,
            timer_m: None,
            out,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn request(&self) -> &M {
        &self.request
    }

    /// A response that matched this transaction.
    pub fn on_response(&mut self, response: M, now: Instant) {
        let Some(code) = response.status() else {
            return;
        };
        match self.state {
            State::Calling | State::Proceeding => {
                self.timer_a = None;
                self.timer_b = None;
                match code {
                    100..=199 => {
                        self.state = State::Proceeding;
                        self.out.push_back(Output::ToTu(response));
                    }
                    200..=299 => {
                        self.state = State::Accepted;
                        self.timer_m = Some(now + self.timers.long());
                        self.out.push_back(Output::ToTu(response));
                    }
                    _ => {
                        let ack = M::ack_for(&self.request, &response);
                        self.out.push_back(Output::Transmit(ack.clone()));
                        self.ack = Some(ack);
                        self.out.push_back(Output::ToTu(response));
                        self.complete(now);
                    }
                }
            }
            // Further 2xx (from other forks, or retransmitted) go to the TU, which ACKs them.
            State::Accepted if (200..300).contains(&code) => {
                self.out.push_back(Output::ToTu(response))
            }
            // A retransmitted final: the ACK was lost.
            State::Completed if code >= 300 => {
                if let Some(ack) = &self.ack {
                    self.out.push_back(Output::Transmit(ack.clone()));
                }
            }
            _ => {}
        }
    }

    fn complete(&mut self, now: Instant) {
        match self.reliability {
            Reliability::Unreliable => {
                self.state = State::Completed;
                self.timer_d = Some(now + self.timers.d());
            }
            Reliability::Reliable => self.terminate(),
        }
    }

    fn terminate(&mut self) {
        self.state = State::Terminated;
        self.timer_a = None;
        self.timer_b = None;
        self.timer_d = None;
        self.timer_m = None;
        self.out.push_back(Output::Terminated);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == State::Calling && due(self.timer_a, now) {
            self.out.push_back(Output::Transmit(self.request.clone()));
            self.interval = Timers::backoff(self.interval, None);
            self.timer_a = Some(now + self.interval);
        }
        if self.state == State::Calling && due(self.timer_b, now) {
            self.out.push_back(Output::Timeout);
            self.terminate();
        }
        if (self.state == State::Completed && due(self.timer_d, now))
            || (self.state == State::Accepted && due(self.timer_m, now))
        {
            self.terminate();
        }
    }

    /// The transport could not send the request.
    pub fn transport_error(&mut self) {
        if self.state != State::Terminated {
            self.out.push_back(Output::TransportError);
            self.terminate();
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        earliest(&[self.timer_a, self.timer_b, self.timer_d, self.timer_m])
    }

    pub fn poll_output(&mut self) -> Option<Output<M>> {
        next_output(&mut self.out)
    }
}

/// Sends a request other than INVITE or ACK and follows it to a final response.
#[derive(Debug)]
pub struct ClientNonInvite<M> {
    state: State,
    reliability: Reliability,
    timers: Timers,
    request: M,
    interval: Duration,
    /// Retransmit the request (unreliable transports only).
    timer_e: Option<Instant>,
    /// Give up.
    timer_f: Option<Instant>,
    /// Keep absorbing retransmitted finals.
    timer_k: Option<Instant>,
    out: VecDeque<Output<M>>,
}

impl<M: TxMessage> ClientNonInvite<M> {
    pub fn new(request: M, reliability: Reliability, timers: Timers, now: Instant) -> Self {
        let mut out = VecDeque::new();
        out.push_back(Output::Transmit(request.clone()));
        let unreliable = reliability == Reliability::Unreliable;
        ClientNonInvite {
            state: State::Trying,
            reliability,
            timers,
            request,
            interval: timers.t1,
            timer_e: unreliable.then(|| now + timers.t1),
            timer_f: Some(now + timers.long()),
            timer_k: None,
            out,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn request(&self) -> &M {
        &self.request
    }

    pub fn on_response(&mut self, response: M, now: Instant) {
        let Some(code) = response.status() else {
            return;
        };
        if !matches!(self.state, State::Trying | State::Proceeding) {
            return; // Completed absorbs retransmissions.
        }
        self.out.push_back(Output::ToTu(response));
        if code < 200 {
            self.state = State::Proceeding;
            return;
        }
        self.timer_e = None;
        self.timer_f = None;
        match self.reliability {
            Reliability::Unreliable => {
                self.state = State::Completed;
                self.timer_k = Some(now + self.timers.t4);
            }
            Reliability::Reliable => self.terminate(),
        }
    }

    fn terminate(&mut self) {
        self.state = State::Terminated;
        self.timer_e = None;
        self.timer_f = None;
        self.timer_k = None;
        self.out.push_back(Output::Terminated);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let active = matches!(self.state, State::Trying | State::Proceeding);
        if active && due(self.timer_e, now) {
            self.out.push_back(Output::Transmit(self.request.clone()));
            // Once a provisional response arrived the peer is alive: retransmit every T2.
            self.interval = if self.state == State::Proceeding {
                self.timers.t2
            } else {
                Timers::backoff(self.interval, Some(self.timers.t2))
            };
            self.timer_e = Some(now + self.interval);
        }
        if active && due(self.timer_f, now) {
            self.out.push_back(Output::Timeout);
            self.terminate();
        }
        if self.state == State::Completed && due(self.timer_k, now) {
            self.terminate();
        }
    }

    pub fn transport_error(&mut self) {
        if self.state != State::Terminated {
            self.out.push_back(Output::TransportError);
            self.terminate();
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        earliest(&[self.timer_e, self.timer_f, self.timer_k])
    }

    pub fn poll_output(&mut self) -> Option<Output<M>> {
        next_output(&mut self.out)
    }
}
