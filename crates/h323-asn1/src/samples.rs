//! Sample H.225.0 and H.245 messages (feature `samples`), for tests here and in other crates.
//!
//! `values.rs` is written by `tests/pycrate/make_samples.py` from `tests/pycrate/values.py`, the
//! same descriptions the pycrate cross-check encodes, so both codecs see the same values.

use crate::{h225, h235, h245, h460_18, h460_19, DecodeError, EncodeError};
use rasn::types::{
    Any, BitString, FixedOctetString, Integer, ObjectIdentifier, OctetString, SetOf,
};

mod values;
pub use values::all;

/// A named sample message.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: &'static str,
    pub value: SampleValue,
}

/// A sample of one of the top-level message types (boxed: they differ much in size).
#[derive(Debug, Clone, PartialEq)]
pub enum SampleValue {
    Ras(Box<h225::RasMessage>),
    UserInformation(Box<h225::H323UserInformation>),
    H245(Box<h245::MultimediaSystemControlMessage>),
    IncomingCallIndication(Box<h460_18::IncomingCallIndication>),
    LrqKeepAliveData(Box<h460_18::LRQKeepAliveData>),
    TraversalParameters(Box<h460_19::TraversalParameters>),
}

impl SampleValue {
    /// The ASN.1 name of the top-level type.
    pub fn type_name(&self) -> &'static str {
        match self {
            SampleValue::Ras(_) => "RasMessage",
            SampleValue::UserInformation(_) => "H323-UserInformation",
            SampleValue::H245(_) => "MultimediaSystemControlMessage",
            SampleValue::IncomingCallIndication(_) => "IncomingCallIndication",
            SampleValue::LrqKeepAliveData(_) => "LRQKeepAliveData",
            SampleValue::TraversalParameters(_) => "TraversalParameters",
        }
    }

    /// Encodes the message in aligned PER.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        match self {
            SampleValue::Ras(v) => crate::encode_ras(v),
            SampleValue::UserInformation(v) => crate::encode_user_information(v),
            SampleValue::H245(v) => crate::encode_h245(v),
            SampleValue::IncomingCallIndication(v) => crate::encode_aligned_per(&**v),
            SampleValue::LrqKeepAliveData(v) => crate::encode_aligned_per(&**v),
            SampleValue::TraversalParameters(v) => crate::encode_aligned_per(&**v),
        }
    }

    /// Decodes `bytes` as a message of the same top-level type as `self`.
    pub fn decode_same_type(&self, bytes: &[u8]) -> Result<SampleValue, DecodeError> {
        use crate::decode_aligned_per as d;
        Ok(match self {
            SampleValue::Ras(_) => SampleValue::Ras(Box::new(crate::decode_ras(bytes)?)),
            SampleValue::UserInformation(_) => {
                SampleValue::UserInformation(Box::new(crate::decode_user_information(bytes)?))
            }
            SampleValue::H245(_) => SampleValue::H245(Box::new(crate::decode_h245(bytes)?)),
            SampleValue::IncomingCallIndication(_) => {
                SampleValue::IncomingCallIndication(Box::new(d(bytes)?))
            }
            SampleValue::LrqKeepAliveData(_) => SampleValue::LrqKeepAliveData(Box::new(d(bytes)?)),
            SampleValue::TraversalParameters(_) => {
                SampleValue::TraversalParameters(Box::new(d(bytes)?))
            }
        })
    }
}

/// The first `len` bits of `bytes`.
fn bits(bytes: &[u8], len: usize) -> BitString {
    let mut b = BitString::from_slice(bytes);
    b.truncate(len);
    b
}

fn bmp(s: &str) -> rasn::types::BmpString {
    crate::bmp_string(s).expect("sample text is in the BMP")
}

/// A restricted character string (the sample texts are all valid).
fn string<T: TryFrom<String>>(s: &str) -> T
where
    T::Error: core::fmt::Debug,
{
    T::try_from(s.to_string()).expect("sample string fits its type")
}

fn oid(arcs: &[u32]) -> ObjectIdentifier {
    ObjectIdentifier::new(arcs.to_vec()).expect("valid object identifier")
}
