//! RFC 3261 §17 transactions, as amended by RFC 6026 (the `Accepted` states), sans-IO.
//!
//! Each state machine is driven by three kinds of input — a message from the transport, a
//! message from the transaction user (TU), and the passage of time — and produces outputs that
//! the caller drains with `poll_output`: messages to transmit, messages and events for the TU.
//! `poll_timeout` says when the machine next needs `handle_timeout`. Nothing here reads a clock
//! or touches a socket, so tests drive whole timer schedules in microseconds.

mod client;
mod key;
mod message_impl;
mod server;
mod timers;

pub use client::{ClientInvite, ClientNonInvite};
pub use key::{Key, MAGIC_COOKIE};
pub use server::{ServerInvite, ServerNonInvite};
pub use timers::Timers;

/// What a transaction needs to know about the messages it carries. Implemented by the message
/// type of this crate; tests use a stand-in.
pub trait TxMessage: Clone {
    /// The status code of a response; `None` for a request.
    fn status(&self) -> Option<u16>;
    /// The ACK a client INVITE transaction sends for a non-2xx final response (RFC 3261
    /// §17.1.1.3): same Request-URI, Call-ID, From, CSeq number and top Via as the INVITE, the
    /// To of the response, and its Route headers.
    fn ack_for(invite: &Self, response: &Self) -> Self;
}

/// Whether the transport retransmits for us (TCP, TLS, SCTP) or not (UDP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reliability {
    Reliable,
    Unreliable,
}

/// The next queued output. A transaction outlives its last output by up to 64·T1, so a
/// drained queue gives its room back rather than hold it that long.
fn next_output<M>(out: &mut std::collections::VecDeque<Output<M>>) -> Option<Output<M>> {
    let o = out.pop_front();
    if o.is_none() && out.capacity() > 0 {
        *out = std::collections::VecDeque::new();
    }
    o
}

/// What a transaction asks of its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output<M> {
    /// Send this message to the transaction's peer (first sending or a retransmission).
    Transmit(M),
    /// Hand this message to the TU (a response to a client transaction; a request, or the ACK
    /// of a 2xx-less INVITE, never: server transactions pass only the first request).
    ToTu(M),
    /// The transaction gave up waiting (Timer B, F or H): the TU treats it as a 408 or as a
    /// failed delivery.
    Timeout,
    /// The transport reported that the message could not be sent.
    TransportError,
    /// The transaction is over; its state can be dropped.
    Terminated,
}

/// The states of all four machines, for inspection and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Calling,
    Trying,
    Proceeding,
    Accepted,
    Completed,
    Confirmed,
    Terminated,
}

#[cfg(test)]
mod tests;
