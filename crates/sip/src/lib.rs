//! Sans-IO SIP core (RFC 3261): messages, URIs and headers; transaction state machines with time
//! passed in; digest authentication helpers. No sockets, clocks or threads in here.

pub mod digest;
pub mod transaction;
