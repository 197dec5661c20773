//! Sans-IO SIP core (RFC 3261): messages, URIs and headers; transaction state machines with time
//! passed in; digest authentication helpers. No sockets, clocks or threads in here.

pub mod dialog;
pub mod digest;
pub mod fork;
pub mod transaction;

pub mod header;
pub mod message;
pub mod parse;
pub mod retain;
pub mod serialize;
mod text;
pub mod uri;
pub mod validate;

pub use message::{Headers, KnownHeader, Message, Method, Request, Response, Version};
pub use parse::{frame, parse_message, Framing, ParseError, Parser};
pub use text::{pct_decode, ByteStr};
pub use uri::{uri_equal, Uri};
