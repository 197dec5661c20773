//! The registrar core, free of I/O: which registrations to accept, for how long, and the table
//! of bindings from addresses-of-record to contacts. Time and randomness are inputs.
//!
//! Protocol front ends (SIP now, H.323 later) turn their messages into a [`Request`], apply the
//! [`Decision`], and turn it back into a response.

pub mod expiry;
pub mod numbers;
pub mod policy;
pub mod table;

pub use expiry::{Expiry, Strategy};
pub use numbers::Numbers;
pub use policy::{Domains, Restriction};
pub use table::{Binding, ContactReq, Decision, Refusal, Registrar, Removed, Request, Settings};
