//! Server transactions (RFC 3261 §17.2, RFC 6026 §8.5–8.7).

use super::timers::{due, earliest};
use super::{next_output, Output, Reliability, State, Timers, TxMessage};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Receives an INVITE and carries the TU's responses back.
#[derive(Debug)]
pub struct ServerInvite<M> {
    state: State,
    reliability: Reliability,
    timers: Timers,
    /// The latest response sent: retransmitted when the INVITE is.
    last: Option<M>,
    interval: Duration,
    /// Retransmit a non-2xx final (unreliable transports only).
    timer_g: Option<Instant>,
    /// Give up waiting for the ACK.
    timer_h: Option<Instant>,
    /// Keep absorbing ACK retransmissions.
    timer_i: Option<Instant>,
    /// Keep absorbing INVITE retransmissions after a 2xx (RFC 6026).
    timer_l: Option<Instant>,
    out: VecDeque<Output<M>>,
}

impl<M: TxMessage> ServerInvite<M> {
    /// A new INVITE arrived: it goes to the TU.
    pub fn new(request: M, reliability: Reliability, timers: Timers) -> Self {
        let mut out = VecDeque::new();
        out.push_back(Output::ToTu(request));
        ServerInvite {
            state: State::Proceeding,
            reliability,
            timers,
            last: None,
            interval: timers.t1,
            timer_g: None,
            timer_h: None,
            timer_i: None,
            timer_l: None,
            out,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// A request that matched this transaction: a retransmitted INVITE, or an ACK.
    pub fn on_request(&mut self, request: M, is_ack: bool, now: Instant) {
        match (self.state, is_ack) {
            (State::Proceeding, false) | (State::Completed, false) => {
                if let Some(r) = &self.last {
                    self.out.push_back(Output::Transmit(r.clone()));
                }
            }
            (State::Completed, true) => {
                self.timer_g = None;
                self.timer_h = None;
                match self.reliability {
                    Reliability::Unreliable => {
                        self.state = State::Confirmed;
                        self.timer_i = Some(now + self.timers.t4);
                    }
                    Reliability::Reliable => self.terminate(),
                }
            }
            // An ACK matching the transaction after a 2xx can only come from an RFC 2543
            // element; it belongs to the dialog, so the TU gets it.
            (State::Accepted, true) => self.out.push_back(Output::ToTu(request)),
            _ => {}
        }
    }

    /// A response from the TU.
    pub fn send_response(&mut self, response: M, now: Instant) {
        let Some(code) = response.status() else {
            return;
        };
        match self.state {
            State::Proceeding => {
                self.out.push_back(Output::Transmit(response.clone()));
                self.last = Some(response);
                match code {
                    100..=199 => {}
                    200..=299 => {
                        self.state = State::Accepted;
                        self.timer_l = Some(now + self.timers.long());
                    }
                    _ => {
                        self.state = State::Completed;
                        if self.reliability == Reliability::Unreliable {
                            self.timer_g = Some(now + self.timers.t1);
                        }
                        self.timer_h = Some(now + self.timers.long());
                    }
                }
            }
            // The TU retransmits its 2xx itself; they pass through.
            State::Accepted if (200..300).contains(&code) => {
                self.out.push_back(Output::Transmit(response))
            }
            _ => {}
        }
    }

    fn terminate(&mut self) {
        self.state = State::Terminated;
        self.timer_g = None;
        self.timer_h = None;
        self.timer_i = None;
        self.timer_l = None;
        self.out.push_back(Output::Terminated);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == State::Completed && due(self.timer_g, now) {
            if let Some(r) = &self.last {
                self.out.push_back(Output::Transmit(r.clone()));
            }
            self.interval = Timers::backoff(self.interval, Some(self.timers.t2));
            self.timer_g = Some(now + self.interval);
        }
        if self.state == State::Completed && due(self.timer_h, now) {
            self.out.push_back(Output::Timeout);
            self.terminate();
        }
        if (self.state == State::Confirmed && due(self.timer_i, now))
            || (self.state == State::Accepted && due(self.timer_l, now))
        {
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
        earliest(&[self.timer_g, self.timer_h, self.timer_i, self.timer_l])
    }

    pub fn poll_output(&mut self) -> Option<Output<M>> {
        next_output(&mut self.out)
    }
}

/// Receives a request other than INVITE or ACK and carries the TU's responses back.
#[derive(Debug)]
pub struct ServerNonInvite<M> {
    state: State,
    reliability: Reliability,
    timers: Timers,
    last: Option<M>,
    /// Keep answering retransmissions with the final response.
    timer_j: Option<Instant>,
    out: VecDeque<Output<M>>,
}

impl<M: TxMessage> ServerNonInvite<M> {
    pub fn new(request: M, reliability: Reliability, timers: Timers) -> Self {
        let mut out = VecDeque::new();
        out.push_back(Output::ToTu(request));
        ServerNonInvite {
            state: State::Trying,
            reliability,
            timers,
            last: None,
            timer_j: None,
            out,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// A retransmission of the request.
    pub fn on_request(&mut self, _request: M) {
        if matches!(self.state, State::Proceeding | State::Completed) {
            if let Some(r) = &self.last {
                self.out.push_back(Output::Transmit(r.clone()));
            }
        }
    }

    pub fn send_response(&mut self, response: M, now: Instant) {
        let Some(code) = response.status() else {
            return;
        };
        if !matches!(self.state, State::Trying | State::Proceeding) {
            return;
        }
        self.out.push_back(Output::Transmit(response.clone()));
        self.last = Some(response);
        if code < 200 {
            self.state = State::Proceeding;
            return;
        }
        match self.reliability {
            Reliability::Unreliable => {
                self.state = State::Completed;
                self.timer_j = Some(now + self.timers.long());
            }
            Reliability::Reliable => self.terminate(),
        }
    }

    fn terminate(&mut self) {
        self.state = State::Terminated;
        self.timer_j = None;
        self.out.push_back(Output::Terminated);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == State::Completed && due(self.timer_j, now) {
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
        self.timer_j
    }

    pub fn poll_output(&mut self) -> Option<Output<M>> {
        next_output(&mut self.out)
    }
}
