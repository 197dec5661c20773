//! The H.323 gatekeeper, free of I/O: RAS (H.225.0 clause 7), H.235 password credentials,
//! the aliases and addresses they carry, and the Q.931/TPKT framing of call signalling. Time is an input; the tokio layer in
//! `causeway-core` owns the sockets.

pub mod alias;
pub mod h235;
pub mod q931;
pub mod ras;
pub mod signalling;
pub mod tpkt;
