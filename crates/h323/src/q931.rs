//! Q.931 messages as H.225.0 profiles them for H.323 call signalling.
//!
//! Only the Q.931 envelope is handled here: protocol discriminator, call reference, message
//! type and the list of information elements (IEs). The H323-UserInformation carried in the
//! User-user IE is ASN.1 PER and stays opaque bytes; decoding it belongs to another crate.
//!
//! # Losslessness
//!
//! [`Message::decode`] keeps everything it reads: the call reference length as received, every
//! IE in order (known or not, repeated or not, in any codeset), and unknown message types as
//! [`MessageType::Other`]. [`Message::encode`] writes exactly that back, so
//! `encode(decode(x)) == x` for every `x` that decodes. No normalisation happens on the wire
//! path; the typed views ([`Cause`], [`PartyNumber`], ...) are read-only interpretations of IE
//! contents and never rewrite the stored bytes unless a setter is called.
//!
//! Two in-memory values encode identically without comparing equal, and both are documented
//! where they arise: [`MessageType::Other`] holding a known code, and typed IE structs whose
//! fields exceed their bit widths. Decoding only produces the canonical form.
//!
//! # Decisions
//!
//! - Call reference lengths 0 (dummy), 1 and 2 are accepted on decode and preserved; H.225.0
//!   mandates 2, which is what every constructor here produces. Longer call references are
//!   refused: nothing in H.323 uses them and the value would not fit the 15-bit model.
//! - The User-user IE has a two-octet length, as H.225.0 requires, but only in codeset 0;
//!   shift IEs are tracked so that an identifier 0x7E in another codeset keeps the ordinary
//!   one-octet length.
//! - Typed getters and setters address codeset 0, the only codeset H.225.0 defines IEs in.
//! - Malformed input yields [`Error`](enum@Error); nothing panics, and allocation is bounded
//!   by the input length.

use std::fmt;

use thiserror::Error;

/// Protocol discriminator of Q.931 user-network call control messages.
pub const PROTOCOL_DISCRIMINATOR: u8 = 0x08;

/// Why a message or IE could not be decoded or built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// The message ended inside its fixed header.
    #[error("Q.931 message truncated: missing {0}")]
    TruncatedHeader(&'static str),
    /// The first octet does not identify Q.931 call control.
    #[error("protocol discriminator {0:#04x} is not Q.931 (expected 0x08)")]
    BadProtocolDiscriminator(u8),
    /// The call reference length octet is outside what H.225.0 call signalling can carry.
    #[error("call reference length octet {0:#04x} is unsupported (only 0, 1 or 2 octets)")]
    BadCallReferenceLength(u8),
    /// The message ended inside an IE's length field.
    #[error("information element {id:#04x} truncated: its length field is incomplete")]
    IeLengthTruncated {
        /// Identifier of the IE.
        id: u8,
    },
    /// An IE's length runs past the end of the message.
    #[error(
        "information element {id:#04x} declares {declared} octets but only {available} remain"
    )]
    IeOverrun {
        /// Identifier of the IE.
        id: u8,
        /// Length announced by the IE.
        declared: usize,
        /// Octets actually left in the message.
        available: usize,
    },
    /// Contents too long for the IE's length field.
    #[error("information element {id:#04x} cannot carry {len} content octets (at most {max})")]
    IeTooLong {
        /// Identifier of the IE.
        id: u8,
        /// Length that was attempted.
        len: usize,
        /// Largest length the field allows.
        max: usize,
    },
    /// Single-octet IEs are the identifier alone; they have nowhere to put contents.
    #[error("single-octet information element {0:#04x} cannot carry contents")]
    SingleOctetIeWithContents(u8),
    /// A variable-length identifier was used where a single-octet IE was asked for.
    #[error("{0:#04x} is not a single-octet information element identifier (high bit clear)")]
    NotSingleOctetIe(u8),
    /// The IE is present but its contents do not match its definition.
    #[error("information element {id:#04x} is malformed: {reason}")]
    MalformedIe {
        /// Identifier of the IE.
        id: u8,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Text IEs (display, keypad, digits) only carry 7-bit IA5 characters.
    #[error("information element {id:#04x} must contain only IA5 (7-bit) characters")]
    NotIa5 {
        /// Identifier of the IE.
        id: u8,
    },
}

// ---------------------------------------------------------------------------------------------
// Call reference

/// Identifies the call a message belongs to on this signalling channel.
///
/// The value is chosen by the side that originated the call; the flag tells the receiver which
/// side that was, so both ends can allocate values independently without clashing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallReference {
    value: u16,
    from_originator: bool,
    octets: u8,
}

impl CallReference {
    /// Largest value of a two-octet call reference.
    pub const MAX_VALUE: u16 = 0x7FFF;

    /// A two-octet call reference, the only form H.225.0 allows. The value is masked to
    /// 15 bits because the top bit of the first octet is the flag.
    pub const fn new(value: u16, from_originator: bool) -> Self {
        Self {
            value: value & Self::MAX_VALUE,
            from_originator,
            octets: 2,
        }
    }

    /// A one-octet call reference (value masked to 7 bits), as used on ISDN basic access.
    /// Provided so such messages can be represented; H.323 endpoints should not send it.
    pub const fn one_octet(value: u8, from_originator: bool) -> Self {
        Self {
            value: (value & 0x7F) as u16,
            from_originator,
            octets: 1,
        }
    }

    /// The dummy (zero-length) call reference. It has no flag; it reports `from_originator`.
    pub const fn dummy() -> Self {
        Self {
            value: 0,
            from_originator: true,
            octets: 0,
        }
    }

    /// The call reference value without the flag.
    pub const fn value(self) -> u16 {
        self.value
    }

    /// True when the flag bit is 0, i.e. the sender is the side that allocated the value.
    pub const fn from_originator(self) -> bool {
        self.from_originator
    }

    /// Number of octets the value occupies on the wire (0, 1 or 2).
    pub const fn octet_len(self) -> usize {
        self.octets as usize
    }

    /// True for the zero-length dummy call reference.
    pub const fn is_dummy(self) -> bool {
        self.octets == 0
    }

    /// True for the global call reference (value 0), which addresses all calls on the channel.
    pub const fn is_global(self) -> bool {
        self.octets > 0 && self.value == 0
    }

    /// The same call as seen from the other end: identical value, flag inverted. This is the
    /// call reference to put in a reply.
    pub const fn reversed(self) -> Self {
        if self.octets == 0 {
            return self;
        }
        Self {
            from_originator: !self.from_originator,
            ..self
        }
    }

    fn decode(bytes: &[u8]) -> Result<(Self, &[u8]), Error> {
        let (&len, rest) = bytes
            .split_first()
            .ok_or(Error::TruncatedHeader("call reference length"))?;
        if len > 2 {
            return Err(Error::BadCallReferenceLength(len));
        }
        let n = usize::from(len);
        if rest.len() < n {
            return Err(Error::TruncatedHeader("call reference value"));
        }
        let (raw, rest) = rest.split_at(n);
        let cr = match *raw {
            [] => Self::dummy(),
            [a] => Self::one_octet(a, a & 0x80 == 0),
            [a, b] => Self::new(u16::from_be_bytes([a, b]), a & 0x80 == 0),
            _ => return Err(Error::BadCallReferenceLength(len)),
        };
        Ok((cr, rest))
    }

    fn encode(self, out: &mut Vec<u8>) {
        let flag: u8 = if self.from_originator { 0 } else { 0x80 };
        out.push(self.octets);
        match self.octets {
            0 => {}
            1 => out.push(flag | (self.value as u8 & 0x7F)),
            _ => {
                let [hi, lo] = self.value.to_be_bytes();
                out.extend_from_slice(&[flag | (hi & 0x7F), lo]);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Message type

macro_rules! message_types {
    ($($(#[$doc:meta])* $name:ident = $code:literal,)*) => {
        /// The message type octet. Codes without a name here are kept as [`MessageType::Other`].
        ///
        /// `Other` holding a named code (e.g. `Other(0x05)`) encodes like the named variant but
        /// does not compare equal to it; use `MessageType::from(u8)` to get the canonical form,
        /// which is what decoding produces.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum MessageType {
            $($(#[$doc])* $name,)*
            /// Any other code, kept verbatim (including the national escape 0x00).
            Other(u8),
        }

        impl From<u8> for MessageType {
            fn from(code: u8) -> Self {
                match code {
                    $($code => Self::$name,)*
                    other => Self::Other(other),
                }
            }
        }

        impl From<MessageType> for u8 {
            fn from(t: MessageType) -> u8 {
                match t {
                    $(MessageType::$name => $code,)*
                    MessageType::Other(code) => code,
                }
            }
        }
    };
}

message_types! {
    /// The called side is being alerted.
    Alerting = 0x01,
    /// The call is accepted for processing; no more setup information is needed.
    CallProceeding = 0x02,
    /// Interworking or in-band progress report.
    Progress = 0x03,
    /// Call establishment request.
    Setup = 0x05,
    /// The called side answered.
    Connect = 0x07,
    /// More setup information (overlap sending) is wanted.
    SetupAcknowledge = 0x0D,
    /// Acknowledges Connect (not used by H.225.0 but seen from gateways).
    ConnectAcknowledge = 0x0F,
    /// Clearing request (H.225.0 clears with Release Complete; seen from gateways).
    Disconnect = 0x45,
    /// Clearing step (H.225.0 clears with Release Complete; seen from gateways).
    Release = 0x4D,
    /// The call is cleared and its call reference freed.
    ReleaseComplete = 0x5A,
    /// Carries supplementary-service and H.225.0 facility requests (e.g. redirection).
    Facility = 0x62,
    /// Notification about the call, e.g. suspension.
    Notify = 0x6E,
    /// Asks the peer for its call state.
    StatusEnquiry = 0x75,
    /// Additional call information, e.g. overlap digits or keypad.
    Information = 0x7B,
    /// Reports call state or an error in a received message.
    Status = 0x7D,
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Other(code) => write!(f, "message type {code:#04x}"),
            named => fmt::Debug::fmt(named, f),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Information elements

/// One information element exactly as carried: its identifier octet and its contents.
///
/// Single-octet IEs (identifier high bit set, e.g. shift or sending complete) have no contents.
/// The fields are private so an `Ie` always fits its length field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ie {
    id: u8,
    contents: Vec<u8>,
}

impl Ie {
    /// Bearer capability: requested transfer capability and rate.
    pub const BEARER_CAPABILITY: u8 = 0x04;
    /// Cause: why a call is being cleared or an error reported.
    pub const CAUSE: u8 = 0x08;
    /// Call state, in Status messages.
    pub const CALL_STATE: u8 = 0x14;
    /// Channel identification (ISDN channels; appears from gateways).
    pub const CHANNEL_IDENTIFICATION: u8 = 0x18;
    /// Facility (Q.932 supplementary services).
    pub const FACILITY: u8 = 0x1C;
    /// Progress indicator: interworking and in-band information.
    pub const PROGRESS_INDICATOR: u8 = 0x1E;
    /// Notification indicator.
    pub const NOTIFICATION_INDICATOR: u8 = 0x27;
    /// Display: IA5 text for the user's screen.
    pub const DISPLAY: u8 = 0x28;
    /// Date/time.
    pub const DATE_TIME: u8 = 0x29;
    /// Keypad facility: IA5 characters typed by the user.
    pub const KEYPAD_FACILITY: u8 = 0x2C;
    /// Signal: tones or alerting patterns to apply.
    pub const SIGNAL: u8 = 0x34;
    /// Connected number.
    pub const CONNECTED_NUMBER: u8 = 0x4C;
    /// Calling party number.
    pub const CALLING_PARTY_NUMBER: u8 = 0x6C;
    /// Calling party subaddress.
    pub const CALLING_PARTY_SUBADDRESS: u8 = 0x6D;
    /// Called party number.
    pub const CALLED_PARTY_NUMBER: u8 = 0x70;
    /// Called party subaddress.
    pub const CALLED_PARTY_SUBADDRESS: u8 = 0x71;
    /// Redirecting number.
    pub const REDIRECTING_NUMBER: u8 = 0x74;
    /// Low layer compatibility.
    pub const LOW_LAYER_COMPATIBILITY: u8 = 0x7C;
    /// High layer compatibility.
    pub const HIGH_LAYER_COMPATIBILITY: u8 = 0x7D;
    /// User-user: carries the H323-UserInformation. Two-octet length in codeset 0.
    pub const USER_USER: u8 = 0x7E;
    /// More data (single octet).
    pub const MORE_DATA: u8 = 0xA0;
    /// Sending complete (single octet): the called number is complete.
    pub const SENDING_COMPLETE: u8 = 0xA1;
    /// Locking shift to codeset 0..7 is `SHIFT | codeset`; non-locking adds `SHIFT_NON_LOCKING`.
    pub const SHIFT: u8 = 0x90;
    /// Bit that turns a shift into a non-locking (next IE only) shift.
    pub const SHIFT_NON_LOCKING: u8 = 0x08;

    /// Longest contents of an IE with a one-octet length.
    pub const MAX_CONTENTS: usize = u8::MAX as usize;
    /// Longest contents of the User-user IE in codeset 0 (two-octet length).
    pub const MAX_USER_USER_CONTENTS: usize = u16::MAX as usize;

    /// A variable-length IE as it would sit in codeset 0 (so User-user may exceed 255
    /// octets), or a single-octet IE when `id` has its high bit set and `contents` is empty.
    pub fn new(id: u8, contents: Vec<u8>) -> Result<Self, Error> {
        if is_single_octet(id) {
            if !contents.is_empty() {
                return Err(Error::SingleOctetIeWithContents(id));
            }
        } else {
            check_len(id, contents.len(), max_contents(0, id))?;
        }
        Ok(Self { id, contents })
    }

    /// A single-octet IE (shift, sending complete, congestion level, repeat indicator, ...).
    pub fn single_octet(octet: u8) -> Result<Self, Error> {
        if !is_single_octet(octet) {
            return Err(Error::NotSingleOctetIe(octet));
        }
        Ok(Self {
            id: octet,
            contents: Vec::new(),
        })
    }

    /// A locking (`locking == true`) or non-locking shift to `codeset` (masked to 0..=7).
    pub fn shift(codeset: u8, locking: bool) -> Self {
        let kind = if locking { 0 } else { Self::SHIFT_NON_LOCKING };
        Self {
            id: Self::SHIFT | kind | (codeset & 0x07),
            contents: Vec::new(),
        }
    }

    /// The identifier octet (the whole octet for single-octet IEs).
    pub fn id(&self) -> u8 {
        self.id
    }

    /// The contents octets, without identifier and length.
    pub fn contents(&self) -> &[u8] {
        &self.contents
    }

    /// Consumes the IE, returning its contents.
    pub fn into_contents(self) -> Vec<u8> {
        self.contents
    }

    /// True for IEs that are a single identifier octet.
    pub fn is_single_octet(&self) -> bool {
        is_single_octet(self.id)
    }

    /// True for a locking or non-locking shift.
    pub fn is_shift(&self) -> bool {
        is_shift(self.id)
    }
}

fn is_single_octet(id: u8) -> bool {
    id & 0x80 != 0
}

fn is_shift(id: u8) -> bool {
    id & 0xF0 == Ie::SHIFT
}

/// Only the User-user IE of codeset 0 gets H.225.0's two-octet length.
fn has_long_length(codeset: u8, id: u8) -> bool {
    codeset == 0 && id == Ie::USER_USER
}

fn max_contents(codeset: u8, id: u8) -> usize {
    if has_long_length(codeset, id) {
        Ie::MAX_USER_USER_CONTENTS
    } else {
        Ie::MAX_CONTENTS
    }
}

fn check_len(id: u8, len: usize, max: usize) -> Result<(), Error> {
    if len > max {
        return Err(Error::IeTooLong { id, len, max });
    }
    Ok(())
}

/// Follows shift IEs to know which codeset each IE belongs to. Decoding, encoding and lookups
/// all walk the IE list with this one tracker, so they always agree on framing.
#[derive(Debug, Default, Clone, Copy)]
struct CodesetTracker {
    locked: u8,
    next_only: Option<u8>,
}

impl CodesetTracker {
    /// Codeset of the IE with identifier `id`, advancing the shift state past it.
    fn advance(&mut self, id: u8) -> u8 {
        let current = self.next_only.take().unwrap_or(self.locked);
        if is_shift(id) {
            let target = id & 0x07;
            if id & Ie::SHIFT_NON_LOCKING != 0 {
                self.next_only = Some(target);
            } else {
                self.locked = target;
            }
        }
        current
    }
}

/// Typed interpretation of an IE's contents.
///
/// Decoding ignores spare bits and extension bits that announce nothing; encoding sets them to
/// their defined values. Fields wider than their bit width are masked on encode.
pub trait IeContents: Sized {
    /// Interprets `contents`; `id` only labels errors.
    fn decode(id: u8, contents: &[u8]) -> Result<Self, Error>;
    /// Appends the contents octets to `out`.
    fn encode(&self, out: &mut Vec<u8>);
}

fn malformed(id: u8, reason: &'static str) -> Error {
    Error::MalformedIe { id, reason }
}

fn ia5(id: u8, bytes: &[u8]) -> Result<&str, Error> {
    if !bytes.is_ascii() {
        return Err(Error::NotIa5 { id });
    }
    std::str::from_utf8(bytes).map_err(|_| Error::NotIa5 { id })
}

/// Octet holding a 2-bit coding standard in bits 7-6 under a set extension bit.
fn ext_cs(coding_standard: u8, low: u8) -> u8 {
    0x80 | ((coding_standard & 0x03) << 5) | low
}

fn coding_standard(octet: u8) -> u8 {
    (octet >> 5) & 0x03
}

// --- Bearer capability -----------------------------------------------------------------------

/// Bearer capability (octets 3 and 4, the optional rate multiplier, then the layer octets raw).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BearerCapability {
    /// Coding standard (2 bits; 0 = ITU-T).
    pub coding_standard: u8,
    /// Information transfer capability (5 bits), e.g. [`Self::UNRESTRICTED_DIGITAL`].
    pub transfer_capability: u8,
    /// Transfer mode (2 bits; 0 = circuit mode).
    pub transfer_mode: u8,
    /// Information transfer rate (5 bits), e.g. [`Self::RATE_64K`].
    pub transfer_rate: u8,
    /// Rate multiplier (7 bits). Present exactly when `transfer_rate` is
    /// [`Self::RATE_MULTIRATE`]; encoding writes it (defaulting to 1) only in that case.
    pub rate_multiplier: Option<u8>,
    /// Layer 1/2/3 protocol octets (octet 5 onwards), kept raw because H.225.0 only cares
    /// about the layer 1 protocol, see [`Self::layer1_protocol`].
    pub layers: Vec<u8>,
}

impl BearerCapability {
    /// Speech.
    pub const SPEECH: u8 = 0x00;
    /// Unrestricted digital information (what H.323 video calls usually request).
    pub const UNRESTRICTED_DIGITAL: u8 = 0x08;
    /// Restricted digital information.
    pub const RESTRICTED_DIGITAL: u8 = 0x09;
    /// 3.1 kHz audio.
    pub const AUDIO_3_1KHZ: u8 = 0x10;
    /// Video.
    pub const VIDEO: u8 = 0x18;
    /// 64 kbit/s.
    pub const RATE_64K: u8 = 0x10;
    /// 2 x 64 kbit/s.
    pub const RATE_128K: u8 = 0x11;
    /// 384 kbit/s.
    pub const RATE_384K: u8 = 0x13;
    /// 1536 kbit/s.
    pub const RATE_1536K: u8 = 0x15;
    /// 1920 kbit/s.
    pub const RATE_1920K: u8 = 0x17;
    /// Multirate: n x 64 kbit/s with n in the rate multiplier.
    pub const RATE_MULTIRATE: u8 = 0x18;
    /// Layer 1 protocol: G.711 mu-law.
    pub const LAYER1_G711_ULAW: u8 = 0x02;
    /// Layer 1 protocol: G.711 A-law.
    pub const LAYER1_G711_ALAW: u8 = 0x03;
    /// Layer 1 protocol: H.221 and H.242.
    pub const LAYER1_H221: u8 = 0x05;

    /// A circuit-mode ITU-T bearer with the given capability and rate and H.221 as layer 1,
    /// the shape H.323 endpoints normally send.
    pub fn h323(transfer_capability: u8, transfer_rate: u8) -> Self {
        Self {
            coding_standard: 0,
            transfer_capability,
            transfer_mode: 0,
            transfer_rate,
            rate_multiplier: (transfer_rate == Self::RATE_MULTIRATE).then_some(1),
            layers: vec![0x80 | (1 << 5) | Self::LAYER1_H221],
        }
    }

    /// The user information layer 1 protocol, if the first layer octet identifies layer 1.
    pub fn layer1_protocol(&self) -> Option<u8> {
        let &octet = self.layers.first()?;
        ((octet >> 5) & 0x03 == 1).then_some(octet & 0x1F)
    }
}

impl IeContents for BearerCapability {
    fn decode(id: u8, c: &[u8]) -> Result<Self, Error> {
        let [o3, o4, rest @ ..] = c else {
            return Err(malformed(id, "bearer capability needs at least 2 octets"));
        };
        let transfer_rate = o4 & 0x1F;
        let (rate_multiplier, layers) = if transfer_rate == Self::RATE_MULTIRATE {
            let (&m, rest) = rest
                .split_first()
                .ok_or(malformed(id, "multirate bearer without rate multiplier"))?;
            (Some(m & 0x7F), rest)
        } else {
            (None, rest)
        };
        Ok(Self {
            coding_standard: coding_standard(*o3),
            transfer_capability: o3 & 0x1F,
            transfer_mode: (o4 >> 5) & 0x03,
            transfer_rate,
            rate_multiplier,
            layers: layers.to_vec(),
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.push(ext_cs(
            self.coding_standard,
            self.transfer_capability & 0x1F,
        ));
        out.push(ext_cs(self.transfer_mode, self.transfer_rate & 0x1F));
        if self.transfer_rate & 0x1F == Self::RATE_MULTIRATE {
            out.push(0x80 | (self.rate_multiplier.unwrap_or(1) & 0x7F));
        }
        out.extend_from_slice(&self.layers);
    }
}

// --- Cause -----------------------------------------------------------------------------------

/// A cause value (7 bits). The constants are the ones a gatekeeper sends or must understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CauseValue(pub u8);

macro_rules! cause_values {
    ($($(#[$doc:meta])* $name:ident = $code:literal, $text:literal;)*) => {
        impl CauseValue {
            $($(#[$doc])* pub const $name: CauseValue = CauseValue($code);)*

            /// Human-readable name for the values this module knows.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($code => Some($text),)*
                    _ => None,
                }
            }
        }
    };
}

cause_values! {
    /// The dialled number is not assigned to anyone.
    UNALLOCATED_NUMBER = 1, "unallocated number";
    /// No route to the destination is known.
    NO_ROUTE_TO_DESTINATION = 3, "no route to destination";
    /// Ordinary hang-up.
    NORMAL_CALL_CLEARING = 16, "normal call clearing";
    /// The called party is busy.
    USER_BUSY = 17, "user busy";
    /// The called endpoint did not respond in time.
    NO_USER_RESPONDING = 18, "no user responding";
    /// The called party was alerted but did not answer.
    NO_ANSWER = 19, "no answer from user";
    /// The called party or the gatekeeper refused the call.
    CALL_REJECTED = 21, "call rejected";
    /// The dialled number is no longer in use.
    NUMBER_CHANGED = 22, "number changed";
    /// The destination cannot be reached (e.g. endpoint unregistered).
    DESTINATION_OUT_OF_ORDER = 27, "destination out of order";
    /// The dialled number is malformed or incomplete.
    INVALID_NUMBER_FORMAT = 28, "invalid number format";
    /// Clearing for a normal reason not covered elsewhere.
    NORMAL_UNSPECIFIED = 31, "normal, unspecified";
    /// No channel (or bandwidth) is available.
    NO_CIRCUIT_AVAILABLE = 34, "no circuit/channel available";
    /// The network is not functioning.
    NETWORK_OUT_OF_ORDER = 38, "network out of order";
    /// A transient failure; retrying may succeed.
    TEMPORARY_FAILURE = 41, "temporary failure";
    /// Resources (e.g. bandwidth, call capacity) are exhausted.
    RESOURCES_UNAVAILABLE = 47, "resource unavailable, unspecified";
    /// The destination cannot handle the requested call type.
    INCOMPATIBLE_DESTINATION = 88, "incompatible destination";
    /// A received message was invalid.
    INVALID_MESSAGE = 95, "invalid message, unspecified";
    /// A received message lacked a mandatory IE.
    MANDATORY_IE_MISSING = 96, "mandatory information element is missing";
    /// A received message had an unknown or unimplemented type.
    MESSAGE_TYPE_NON_EXISTENT = 97, "message type non-existent or not implemented";
    /// Protocol error not covered elsewhere.
    PROTOCOL_ERROR = 111, "protocol error, unspecified";
    /// Interworking with another network prevents a better explanation.
    INTERWORKING = 127, "interworking, unspecified";
}

impl fmt::Display for CauseValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "cause {} ({name})", self.0),
            None => write!(f, "cause {}", self.0),
        }
    }
}

/// Cause IE: why a call is being cleared.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cause {
    /// Coding standard (2 bits; 0 = ITU-T).
    pub coding_standard: u8,
    /// Where the cause arose (4 bits), e.g. [`Cause::LOCATION_USER`].
    pub location: u8,
    /// Optional recommendation octet (7 bits), rarely sent.
    pub recommendation: Option<u8>,
    /// The cause value.
    pub value: CauseValue,
    /// Diagnostics, kept raw: their format depends on the cause value.
    pub diagnostics: Vec<u8>,
}

impl Cause {
    /// Generated by the user (endpoint).
    pub const LOCATION_USER: u8 = 0;
    /// Private network serving the local user.
    pub const LOCATION_PRIVATE_LOCAL: u8 = 1;
    /// Public network serving the local user.
    pub const LOCATION_PUBLIC_LOCAL: u8 = 2;
    /// Transit network.
    pub const LOCATION_TRANSIT: u8 = 3;
    /// Public network serving the remote user.
    pub const LOCATION_PUBLIC_REMOTE: u8 = 4;
    /// Private network serving the remote user.
    pub const LOCATION_PRIVATE_REMOTE: u8 = 5;
    /// International network.
    pub const LOCATION_INTERNATIONAL: u8 = 7;
    /// Network beyond an interworking point.
    pub const LOCATION_BEYOND_INTERWORKING: u8 = 10;

    /// An ITU-T cause without diagnostics, located at the user: the form H.323 endpoints
    /// and common stacks use (octets `0x80`, `0x80 | value`), so peers display it as usual.
    pub fn new(value: CauseValue) -> Self {
        Self {
            coding_standard: 0,
            location: Self::LOCATION_USER,
            recommendation: None,
            value,
            diagnostics: Vec::new(),
        }
    }
}

impl IeContents for Cause {
    fn decode(id: u8, c: &[u8]) -> Result<Self, Error> {
        let (&o3, rest) = c.split_first().ok_or(malformed(id, "cause is empty"))?;
        let (recommendation, rest) = if o3 & 0x80 == 0 {
            let (&o3a, rest) = rest
                .split_first()
                .ok_or(malformed(id, "cause announces octet 3a but ends"))?;
            (Some(o3a & 0x7F), rest)
        } else {
            (None, rest)
        };
        let (&o4, diagnostics) = rest
            .split_first()
            .ok_or(malformed(id, "cause has no cause value octet"))?;
        Ok(Self {
            coding_standard: coding_standard(o3),
            location: o3 & 0x0F,
            recommendation,
            value: CauseValue(o4 & 0x7F),
            diagnostics: diagnostics.to_vec(),
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let o3 = ext_cs(self.coding_standard, self.location & 0x0F);
        match self.recommendation {
            Some(r) => out.extend_from_slice(&[o3 & 0x7F, 0x80 | (r & 0x7F)]),
            None => out.push(o3),
        }
        out.push(0x80 | (self.value.0 & 0x7F));
        out.extend_from_slice(&self.diagnostics);
    }
}

// --- Call state ------------------------------------------------------------------------------

/// Call state IE, reported in Status messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallState {
    /// Coding standard (2 bits; 0 = ITU-T).
    pub coding_standard: u8,
    /// Call state value (6 bits), e.g. [`CallState::ACTIVE`].
    pub value: u8,
}

impl CallState {
    /// No call.
    pub const NULL: u8 = 0;
    /// Setup sent.
    pub const CALL_INITIATED: u8 = 1;
    /// Setup acknowledged, more digits expected.
    pub const OVERLAP_SENDING: u8 = 2;
    /// Call proceeding received.
    pub const OUTGOING_CALL_PROCEEDING: u8 = 3;
    /// Alerting received.
    pub const CALL_DELIVERED: u8 = 4;
    /// Setup received.
    pub const CALL_PRESENT: u8 = 6;
    /// Alerting sent.
    pub const CALL_RECEIVED: u8 = 7;
    /// Connect sent.
    pub const CONNECT_REQUEST: u8 = 8;
    /// Call proceeding sent.
    pub const INCOMING_CALL_PROCEEDING: u8 = 9;
    /// Call established.
    pub const ACTIVE: u8 = 10;

    /// An ITU-T coded call state.
    pub fn new(value: u8) -> Self {
        Self {
            coding_standard: 0,
            value,
        }
    }
}

impl IeContents for CallState {
    fn decode(id: u8, c: &[u8]) -> Result<Self, Error> {
        match *c {
            [o] => Ok(Self {
                coding_standard: (o >> 6) & 0x03,
                value: o & 0x3F,
            }),
            _ => Err(malformed(id, "call state must be exactly 1 octet")),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.push(((self.coding_standard & 0x03) << 6) | (self.value & 0x3F));
    }
}

// --- Progress indicator ----------------------------------------------------------------------

/// Progress indicator IE: tells the caller about interworking and in-band tones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProgressIndicator {
    /// Coding standard (2 bits; 0 = ITU-T).
    pub coding_standard: u8,
    /// Location (4 bits), same codes as [`Cause`] locations.
    pub location: u8,
    /// Progress description (7 bits), e.g. [`ProgressIndicator::IN_BAND_AVAILABLE`].
    pub description: u8,
}

impl ProgressIndicator {
    /// The call is not end-to-end ISDN/H.323; more progress information may be in-band.
    pub const NOT_END_TO_END: u8 = 1;
    /// The destination is not ISDN/H.323.
    pub const DESTINATION_NOT_ISDN: u8 = 2;
    /// The origination is not ISDN/H.323.
    pub const ORIGINATION_NOT_ISDN: u8 = 3;
    /// The call has returned to ISDN/H.323.
    pub const RETURNED_TO_ISDN: u8 = 4;
    /// Interworking changed the telecommunication service.
    pub const INTERWORKING: u8 = 5;
    /// In-band information (tones, announcements) is now available: the caller should open
    /// its media path before Connect.
    pub const IN_BAND_AVAILABLE: u8 = 8;

    /// An ITU-T progress indicator located at the user.
    pub fn new(description: u8) -> Self {
        Self {
            coding_standard: 0,
            location: Cause::LOCATION_USER,
            description,
        }
    }
}

impl IeContents for ProgressIndicator {
    fn decode(id: u8, c: &[u8]) -> Result<Self, Error> {
        match *c {
            [o3, o4] => Ok(Self {
                coding_standard: coding_standard(o3),
                location: o3 & 0x0F,
                description: o4 & 0x7F,
            }),
            _ => Err(malformed(id, "progress indicator must be exactly 2 octets")),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.push(ext_cs(self.coding_standard, self.location & 0x0F));
        out.push(0x80 | (self.description & 0x7F));
    }
}

// --- Notification indicator ------------------------------------------------------------------

/// Notification indicator IE.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NotificationIndicator {
    /// Notification description (7 bits), e.g. [`NotificationIndicator::USER_SUSPENDED`].
    pub description: u8,
    /// Octets after the description (used by supplementary-service extensions), raw.
    pub extension: Vec<u8>,
}

impl NotificationIndicator {
    /// The remote user suspended the call.
    pub const USER_SUSPENDED: u8 = 0x00;
    /// The remote user resumed the call.
    pub const USER_RESUMED: u8 = 0x01;
    /// The bearer service changed.
    pub const BEARER_SERVICE_CHANGE: u8 = 0x02;

    /// A notification without extension octets.
    pub fn new(description: u8) -> Self {
        Self {
            description,
            extension: Vec::new(),
        }
    }
}

impl IeContents for NotificationIndicator {
    fn decode(id: u8, c: &[u8]) -> Result<Self, Error> {
        let (&o3, rest) = c
            .split_first()
            .ok_or(malformed(id, "notification indicator is empty"))?;
        Ok(Self {
            description: o3 & 0x7F,
            extension: rest.to_vec(),
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.push(0x80 | (self.description & 0x7F));
        out.extend_from_slice(&self.extension);
    }
}

// --- Signal ----------------------------------------------------------------------------------

/// Signal IE value: a tone or alerting pattern the receiver should apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signal(pub u8);

impl Signal {
    /// Dial tone on.
    pub const DIAL_TONE_ON: Signal = Signal(0x00);
    /// Ring-back tone on.
    pub const RING_BACK_TONE_ON: Signal = Signal(0x01);
    /// Intercept tone on.
    pub const INTERCEPT_TONE_ON: Signal = Signal(0x02);
    /// Network congestion tone on.
    pub const NETWORK_CONGESTION_TONE_ON: Signal = Signal(0x03);
    /// Busy tone on.
    pub const BUSY_TONE_ON: Signal = Signal(0x04);
    /// Confirm tone on.
    pub const CONFIRM_TONE_ON: Signal = Signal(0x05);
    /// Answer tone on.
    pub const ANSWER_TONE_ON: Signal = Signal(0x06);
    /// Call waiting tone on.
    pub const CALL_WAITING_TONE_ON: Signal = Signal(0x07);
    /// Off-hook warning tone on.
    pub const OFF_HOOK_WARNING_TONE_ON: Signal = Signal(0x08);
    /// All tones off.
    pub const TONES_OFF: Signal = Signal(0x3F);
    /// Alerting (ringing) off.
    pub const ALERTING_OFF: Signal = Signal(0x4F);
}

impl IeContents for Signal {
    fn decode(id: u8, c: &[u8]) -> Result<Self, Error> {
        match *c {
            [o] => Ok(Self(o)),
            _ => Err(malformed(id, "signal must be exactly 1 octet")),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.0);
    }
}

// --- Party numbers ---------------------------------------------------------------------------

/// Presentation and screening (octet 3a of calling party and connected numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Presentation {
    /// Presentation indicator (2 bits), e.g. [`Presentation::RESTRICTED`].
    pub indicator: u8,
    /// Screening indicator (2 bits), e.g. [`Presentation::NETWORK_PROVIDED`].
    pub screening: u8,
}

impl Presentation {
    /// The number may be shown.
    pub const ALLOWED: u8 = 0;
    /// The number must not be shown.
    pub const RESTRICTED: u8 = 1;
    /// The number is not available.
    pub const NOT_AVAILABLE: u8 = 2;
    /// Supplied by the user, not screened.
    pub const USER_NOT_SCREENED: u8 = 0;
    /// Supplied by the user, verified and passed.
    pub const USER_VERIFIED_PASSED: u8 = 1;
    /// Supplied by the user, verified and failed.
    pub const USER_VERIFIED_FAILED: u8 = 2;
    /// Supplied by the network (here: the gatekeeper).
    pub const NETWORK_PROVIDED: u8 = 3;
}

/// Calling party, called party and connected number IEs share this layout.
///
/// Octet 3a (presentation) is written exactly when `presentation` is `Some`. The called party
/// number has no octet 3a, so leave it `None` there.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PartyNumber {
    /// Type of number (3 bits), e.g. [`PartyNumber::TON_INTERNATIONAL`].
    pub type_of_number: u8,
    /// Numbering plan (4 bits), e.g. [`PartyNumber::PLAN_E164`].
    pub numbering_plan: u8,
    /// Presentation and screening, when octet 3a is present.
    pub presentation: Option<Presentation>,
    /// The digits as IA5 characters (`0-9`, `*`, `#`, ...).
    pub digits: String,
}

impl PartyNumber {
    /// Type of number unknown.
    pub const TON_UNKNOWN: u8 = 0;
    /// International number.
    pub const TON_INTERNATIONAL: u8 = 1;
    /// National number.
    pub const TON_NATIONAL: u8 = 2;
    /// Network-specific number.
    pub const TON_NETWORK_SPECIFIC: u8 = 3;
    /// Subscriber number.
    pub const TON_SUBSCRIBER: u8 = 4;
    /// Abbreviated number.
    pub const TON_ABBREVIATED: u8 = 6;
    /// Numbering plan unknown.
    pub const PLAN_UNKNOWN: u8 = 0;
    /// ISDN/telephony numbering plan (E.164).
    pub const PLAN_E164: u8 = 1;
    /// Data numbering plan (X.121).
    pub const PLAN_DATA: u8 = 3;
    /// Telex numbering plan (F.69).
    pub const PLAN_TELEX: u8 = 4;
    /// National standard numbering plan.
    pub const PLAN_NATIONAL: u8 = 8;
    /// Private numbering plan.
    pub const PLAN_PRIVATE: u8 = 9;

    /// A number of unknown type in the E.164 plan without presentation, the common shape
    /// for H.323 dialled digits.
    pub fn e164(digits: impl Into<String>) -> Self {
        Self {
            type_of_number: Self::TON_UNKNOWN,
            numbering_plan: Self::PLAN_E164,
            presentation: None,
            digits: digits.into(),
        }
    }
}

impl IeContents for PartyNumber {
    fn decode(id: u8, c: &[u8]) -> Result<Self, Error> {
        let (&o3, rest) = c
            .split_first()
            .ok_or(malformed(id, "party number is empty"))?;
        let (presentation, digits) = if o3 & 0x80 == 0 {
            let (&o3a, rest) = rest
                .split_first()
                .ok_or(malformed(id, "party number announces octet 3a but ends"))?;
            let p = Presentation {
                indicator: (o3a >> 5) & 0x03,
                screening: o3a & 0x03,
            };
            (Some(p), rest)
        } else {
            (None, rest)
        };
        Ok(Self {
            type_of_number: (o3 >> 4) & 0x07,
            numbering_plan: o3 & 0x0F,
            presentation,
            digits: ia5(id, digits)?.to_owned(),
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let o3 = ((self.type_of_number & 0x07) << 4) | (self.numbering_plan & 0x0F);
        match self.presentation {
            Some(p) => out.extend_from_slice(&[
                o3,
                0x80 | ((p.indicator & 0x03) << 5) | (p.screening & 0x03),
            ]),
            None => out.push(0x80 | o3),
        }
        out.extend_from_slice(self.digits.as_bytes());
    }
}

// --- High layer compatibility ----------------------------------------------------------------

/// High layer compatibility IE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HighLayerCompatibility {
    /// Coding standard (2 bits; 0 = ITU-T).
    pub coding_standard: u8,
    /// Interpretation (3 bits; 4 = first high layer characteristics to be used).
    pub interpretation: u8,
    /// Presentation method (2 bits; 1 = high layer protocol profile).
    pub presentation: u8,
    /// High layer characteristics identification (7 bits).
    pub characteristics: u8,
    /// Extended characteristics (octet 4a, 7 bits), when present.
    pub extended: Option<u8>,
}

impl HighLayerCompatibility {
    /// Telephony.
    pub const TELEPHONY: u8 = 0x01;

    /// ITU-T coded, first characteristics, protocol profile presentation.
    pub fn new(characteristics: u8) -> Self {
        Self {
            coding_standard: 0,
            interpretation: 4,
            presentation: 1,
            characteristics,
            extended: None,
        }
    }
}

impl IeContents for HighLayerCompatibility {
    fn decode(id: u8, c: &[u8]) -> Result<Self, Error> {
        let (o3, o4, extended) =
            match *c {
                [o3, o4] if o4 & 0x80 != 0 => (o3, o4, None),
                [o3, o4, o4a] if o4 & 0x80 == 0 => (o3, o4, Some(o4a & 0x7F)),
                _ => return Err(malformed(
                    id,
                    "high layer compatibility must be 2 octets, or 3 when octet 4a is announced",
                )),
            };
        Ok(Self {
            coding_standard: coding_standard(o3),
            interpretation: (o3 >> 2) & 0x07,
            presentation: o3 & 0x03,
            characteristics: o4 & 0x7F,
            extended,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.push(ext_cs(
            self.coding_standard,
            ((self.interpretation & 0x07) << 2) | (self.presentation & 0x03),
        ));
        match self.extended {
            Some(e) => out.extend_from_slice(&[self.characteristics & 0x7F, 0x80 | (e & 0x7F)]),
            None => out.push(0x80 | (self.characteristics & 0x7F)),
        }
    }
}

// --- User-user -------------------------------------------------------------------------------

/// User-user IE: a protocol discriminator followed by the user information.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserUser {
    /// Protocol discriminator of the user information; H.225.0 uses
    /// [`UserUser::X208_X209`].
    pub protocol_discriminator: u8,
    /// The user information: for H.225.0 the PER-encoded H323-UserInformation.
    pub information: Vec<u8>,
}

impl UserUser {
    /// User information coded per X.208/X.209 (ASN.1), as H.225.0 requires.
    pub const X208_X209: u8 = 0x05;
    /// Longest information that fits beside the discriminator in the two-octet length.
    pub const MAX_INFORMATION: usize = Ie::MAX_USER_USER_CONTENTS - 1;

    /// H323-UserInformation bytes under the X.208/X.209 discriminator.
    pub fn h225(information: Vec<u8>) -> Self {
        Self {
            protocol_discriminator: Self::X208_X209,
            information,
        }
    }
}

impl IeContents for UserUser {
    fn decode(id: u8, c: &[u8]) -> Result<Self, Error> {
        let (&pd, info) = c
            .split_first()
            .ok_or(malformed(id, "user-user lacks its protocol discriminator"))?;
        Ok(Self {
            protocol_discriminator: pd,
            information: info.to_vec(),
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.protocol_discriminator);
        out.extend_from_slice(&self.information);
    }
}

// ---------------------------------------------------------------------------------------------
// Message

/// A Q.931 message: header plus the ordered list of IEs, kept exactly as received.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Message {
    /// The message type.
    pub message_type: MessageType,
    /// The call this message belongs to.
    pub call_reference: CallReference,
    ies: Vec<Ie>,
}

impl Message {
    /// An empty message with a two-octet call reference. `from_originator` is true when the
    /// sender allocated `call_ref` (flag bit 0), false when replying to the allocator.
    pub fn new(kind: MessageType, call_ref: u16, from_originator: bool) -> Self {
        Self::with_call_reference(kind, CallReference::new(call_ref, from_originator))
    }

    /// An empty message with an arbitrary call reference.
    pub fn with_call_reference(kind: MessageType, call_reference: CallReference) -> Self {
        Self {
            message_type: kind,
            call_reference,
            ies: Vec::new(),
        }
    }

    /// Release Complete with an ITU-T cause at location user, the message a gatekeeper sends
    /// to refuse or end a call. The H.225.0 User-user IE (mandatory for H.323 peers) still has
    /// to be added with [`Message::with_user_user`].
    pub fn release_complete(call_ref: u16, from_originator: bool, cause: CauseValue) -> Self {
        Self::new(MessageType::ReleaseComplete, call_ref, from_originator).with_cause(cause)
    }

    /// Parses one message (a TPKT payload). Lossless: see the module documentation.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let (&pd, rest) = bytes
            .split_first()
            .ok_or(Error::TruncatedHeader("protocol discriminator"))?;
        if pd != PROTOCOL_DISCRIMINATOR {
            return Err(Error::BadProtocolDiscriminator(pd));
        }
        let (call_reference, rest) = CallReference::decode(rest)?;
        let (&message_type, mut rest) = rest
            .split_first()
            .ok_or(Error::TruncatedHeader("message type"))?;

        let mut ies = Vec::new();
        let mut tracker = CodesetTracker::default();
        while let Some((&id, after_id)) = rest.split_first() {
            let codeset = tracker.advance(id);
            if is_single_octet(id) {
                ies.push(Ie {
                    id,
                    contents: Vec::new(),
                });
                rest = after_id;
                continue;
            }
            let (len, after_len) = if has_long_length(codeset, id) {
                match *after_id {
                    [hi, lo, ref tail @ ..] => (usize::from(u16::from_be_bytes([hi, lo])), tail),
                    _ => return Err(Error::IeLengthTruncated { id }),
                }
            } else {
                match after_id.split_first() {
                    Some((&len, tail)) => (usize::from(len), tail),
                    None => return Err(Error::IeLengthTruncated { id }),
                }
            };
            if after_len.len() < len {
                return Err(Error::IeOverrun {
                    id,
                    declared: len,
                    available: after_len.len(),
                });
            }
            let (contents, tail) = after_len.split_at(len);
            ies.push(Ie {
                id,
                contents: contents.to_vec(),
            });
            rest = tail;
        }

        Ok(Self {
            message_type: MessageType::from(message_type),
            call_reference,
            ies,
        })
    }

    /// Serialises the message (without TPKT header).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Appends the serialised message to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(
            4 + self
                .ies
                .iter()
                .map(|ie| 3 + ie.contents.len())
                .sum::<usize>(),
        );
        out.push(PROTOCOL_DISCRIMINATOR);
        self.call_reference.encode(out);
        out.push(self.message_type.into());
        for (codeset, ie) in self.ies_with_codeset() {
            out.push(ie.id);
            if ie.is_single_octet() {
                continue;
            }
            // Lengths were checked when the IE entered the list (decode or push/insert),
            // with the codeset it occupies, so these casts cannot truncate.
            let len = ie.contents.len();
            if has_long_length(codeset, ie.id) {
                out.extend_from_slice(&(len as u16).to_be_bytes());
            } else {
                out.push(len as u8);
            }
            out.extend_from_slice(&ie.contents);
        }
    }

    // --- generic IE access -------------------------------------------------------------------

    /// All IEs in wire order.
    pub fn ies(&self) -> &[Ie] {
        &self.ies
    }

    /// All IEs in wire order with the codeset each belongs to.
    pub fn ies_with_codeset(&self) -> impl Iterator<Item = (u8, &Ie)> + '_ {
        let mut tracker = CodesetTracker::default();
        self.ies.iter().map(move |ie| (tracker.advance(ie.id), ie))
    }

    /// The first codeset-0 IE with identifier `id`.
    pub fn ie(&self, id: u8) -> Option<&Ie> {
        self.ies_with_codeset()
            .find(|&(cs, ie)| cs == 0 && ie.id == id)
            .map(|(_, ie)| ie)
    }

    /// Appends an IE at the end, in whatever codeset the preceding shifts leave active.
    /// Fails if a User-user IE would land outside codeset 0 with more than 255 octets.
    pub fn push_ie(&mut self, ie: Ie) -> Result<(), Error> {
        if !ie.is_single_octet() {
            let mut tracker = CodesetTracker::default();
            for existing in &self.ies {
                tracker.advance(existing.id);
            }
            let codeset = tracker.advance(ie.id);
            check_len(ie.id, ie.contents.len(), max_contents(codeset, ie.id))?;
        }
        self.ies.push(ie);
        Ok(())
    }

    /// Replaces the first codeset-0 IE with the same identifier, or inserts the IE among the
    /// leading codeset-0 IEs in ascending identifier order (before any shift), which keeps
    /// the ordering Q.931 asks senders to follow.
    ///
    /// Shift IEs are always appended instead: inserting one earlier would move the IEs after
    /// it into another codeset and change how they are framed.
    pub fn set_ie(&mut self, ie: Ie) {
        if ie.is_shift() {
            self.ies.push(ie);
            return;
        }
        let existing = self
            .ies_with_codeset()
            .position(|(cs, e)| cs == 0 && e.id == ie.id);
        if let Some(i) = existing {
            self.ies[i] = ie;
            return;
        }
        let at = self
            .ies
            .iter()
            .position(|e| e.is_shift() || e.id > ie.id)
            .unwrap_or(self.ies.len());
        self.ies.insert(at, ie);
    }

    /// Removes every IE with identifier `id` that precedes the first shift (where the codeset
    /// is certainly 0 and removal cannot move other IEs between codesets). Returns how many
    /// were removed.
    pub fn remove_ie(&mut self, id: u8) -> usize {
        let leading = self
            .ies
            .iter()
            .position(Ie::is_shift)
            .unwrap_or(self.ies.len());
        let before = self.ies.len();
        let mut index = 0;
        self.ies.retain(|e| {
            let keep = index >= leading || e.id != id;
            index += 1;
            keep
        });
        before - self.ies.len()
    }

    /// Typed view of the first codeset-0 IE `id`: `Ok(None)` if absent, `Err` if malformed.
    pub fn get<T: IeContents>(&self, id: u8) -> Result<Option<T>, Error> {
        self.ie(id)
            .map(|ie| T::decode(id, &ie.contents))
            .transpose()
    }

    /// Encodes `value` as IE `id` and stores it with [`Message::set_ie`].
    pub fn set<T: IeContents>(&mut self, id: u8, value: &T) -> Result<(), Error> {
        let mut contents = Vec::new();
        value.encode(&mut contents);
        self.set_ie(Ie::new(id, contents)?);
        Ok(())
    }

    /// For values whose encoding is a few octets by construction.
    fn set_small<T: IeContents>(&mut self, id: u8, value: &T) {
        let mut contents = Vec::new();
        value.encode(&mut contents);
        self.set_ie(Ie { id, contents });
    }

    fn get_text(&self, id: u8) -> Result<Option<&str>, Error> {
        self.ie(id).map(|ie| ia5(id, &ie.contents)).transpose()
    }

    fn set_text(&mut self, id: u8, text: &str) -> Result<(), Error> {
        ia5(id, text.as_bytes())?;
        self.set_ie(Ie::new(id, text.as_bytes().to_vec())?);
        Ok(())
    }

    // --- typed getters -----------------------------------------------------------------------

    /// Bearer capability.
    pub fn bearer_capability(&self) -> Result<Option<BearerCapability>, Error> {
        self.get(Ie::BEARER_CAPABILITY)
    }

    /// Cause.
    pub fn cause(&self) -> Result<Option<Cause>, Error> {
        self.get(Ie::CAUSE)
    }

    /// Call state.
    pub fn call_state(&self) -> Result<Option<CallState>, Error> {
        self.get(Ie::CALL_STATE)
    }

    /// First progress indicator (a message may carry two; see [`Message::ies`]).
    pub fn progress_indicator(&self) -> Result<Option<ProgressIndicator>, Error> {
        self.get(Ie::PROGRESS_INDICATOR)
    }

    /// Notification indicator.
    pub fn notification_indicator(&self) -> Result<Option<NotificationIndicator>, Error> {
        self.get(Ie::NOTIFICATION_INDICATOR)
    }

    /// Display text; `Err` if it is not IA5 (the raw bytes remain in [`Message::ie`]).
    pub fn display(&self) -> Result<Option<&str>, Error> {
        self.get_text(Ie::DISPLAY)
    }

    /// Keypad facility characters.
    pub fn keypad(&self) -> Result<Option<&str>, Error> {
        self.get_text(Ie::KEYPAD_FACILITY)
    }

    /// Signal.
    pub fn signal(&self) -> Result<Option<Signal>, Error> {
        self.get(Ie::SIGNAL)
    }

    /// Calling party number.
    pub fn calling_number(&self) -> Result<Option<PartyNumber>, Error> {
        self.get(Ie::CALLING_PARTY_NUMBER)
    }

    /// Called party number.
    pub fn called_number(&self) -> Result<Option<PartyNumber>, Error> {
        self.get(Ie::CALLED_PARTY_NUMBER)
    }

    /// Connected number.
    pub fn connected_number(&self) -> Result<Option<PartyNumber>, Error> {
        self.get(Ie::CONNECTED_NUMBER)
    }

    /// High layer compatibility.
    pub fn high_layer_compatibility(&self) -> Result<Option<HighLayerCompatibility>, Error> {
        self.get(Ie::HIGH_LAYER_COMPATIBILITY)
    }

    /// User-user IE, whatever its protocol discriminator.
    pub fn user_user(&self) -> Result<Option<UserUser>, Error> {
        self.get(Ie::USER_USER)
    }

    /// The H323-UserInformation bytes, borrowed: present only when the User-user IE carries
    /// the X.208/X.209 discriminator H.225.0 requires.
    pub fn h323_user_information(&self) -> Option<&[u8]> {
        match self.ie(Ie::USER_USER)?.contents.split_first() {
            Some((&UserUser::X208_X209, info)) => Some(info),
            _ => None,
        }
    }

    /// True if a Sending complete IE is present.
    pub fn sending_complete(&self) -> bool {
        self.ie(Ie::SENDING_COMPLETE).is_some()
    }

    // --- typed setters (replace or insert in codeset 0) --------------------------------------

    /// Sets the bearer capability.
    pub fn set_bearer_capability(&mut self, bc: &BearerCapability) -> Result<(), Error> {
        self.set(Ie::BEARER_CAPABILITY, bc)
    }

    /// Sets the cause (fails only if the diagnostics are too long).
    pub fn set_cause(&mut self, cause: &Cause) -> Result<(), Error> {
        self.set(Ie::CAUSE, cause)
    }

    /// Sets the call state.
    pub fn set_call_state(&mut self, state: CallState) {
        self.set_small(Ie::CALL_STATE, &state);
    }

    /// Sets the (first) progress indicator.
    pub fn set_progress_indicator(&mut self, progress: ProgressIndicator) {
        self.set_small(Ie::PROGRESS_INDICATOR, &progress);
    }

    /// Sets the notification indicator.
    pub fn set_notification_indicator(&mut self, n: &NotificationIndicator) -> Result<(), Error> {
        self.set(Ie::NOTIFICATION_INDICATOR, n)
    }

    /// Sets the display text (IA5 only, at most 255 octets).
    pub fn set_display(&mut self, text: &str) -> Result<(), Error> {
        self.set_text(Ie::DISPLAY, text)
    }

    /// Sets the keypad facility characters (IA5 only).
    pub fn set_keypad(&mut self, keys: &str) -> Result<(), Error> {
        self.set_text(Ie::KEYPAD_FACILITY, keys)
    }

    /// Sets the signal.
    pub fn set_signal(&mut self, signal: Signal) {
        self.set_small(Ie::SIGNAL, &signal);
    }

    /// Sets the calling party number (digits must be IA5).
    pub fn set_calling_number(&mut self, number: &PartyNumber) -> Result<(), Error> {
        self.set_number(Ie::CALLING_PARTY_NUMBER, number)
    }

    /// Sets the called party number (digits must be IA5).
    pub fn set_called_number(&mut self, number: &PartyNumber) -> Result<(), Error> {
        self.set_number(Ie::CALLED_PARTY_NUMBER, number)
    }

    /// Sets the connected number (digits must be IA5).
    pub fn set_connected_number(&mut self, number: &PartyNumber) -> Result<(), Error> {
        self.set_number(Ie::CONNECTED_NUMBER, number)
    }

    fn set_number(&mut self, id: u8, number: &PartyNumber) -> Result<(), Error> {
        ia5(id, number.digits.as_bytes())?;
        self.set(id, number)
    }

    /// Sets the high layer compatibility.
    pub fn set_high_layer_compatibility(&mut self, hlc: HighLayerCompatibility) {
        self.set_small(Ie::HIGH_LAYER_COMPATIBILITY, &hlc);
    }

    /// Sets the User-user IE with an explicit protocol discriminator.
    pub fn set_user_user(&mut self, uu: &UserUser) -> Result<(), Error> {
        self.set(Ie::USER_USER, uu)
    }

    /// Adds Sending complete if absent.
    pub fn set_sending_complete(&mut self) {
        self.set_ie(Ie {
            id: Ie::SENDING_COMPLETE,
            contents: Vec::new(),
        });
    }

    // --- builders ----------------------------------------------------------------------------

    /// Adds an ITU-T cause located at the user, without diagnostics.
    pub fn with_cause(mut self, value: CauseValue) -> Self {
        self.set_small(Ie::CAUSE, &Cause::new(value));
        self
    }

    /// Adds a fully specified cause.
    pub fn with_cause_ie(mut self, cause: &Cause) -> Result<Self, Error> {
        self.set_cause(cause)?;
        Ok(self)
    }

    /// Adds the H323-UserInformation (PER bytes) under the X.208/X.209 discriminator.
    pub fn with_user_user(mut self, h323_user_information: Vec<u8>) -> Result<Self, Error> {
        self.set_user_user(&UserUser::h225(h323_user_information))?;
        Ok(self)
    }

    /// Adds display text (IA5 only).
    pub fn with_display(mut self, text: &str) -> Result<Self, Error> {
        self.set_display(text)?;
        Ok(self)
    }

    /// Adds a called party number.
    pub fn with_called_number(mut self, number: &PartyNumber) -> Result<Self, Error> {
        self.set_called_number(number)?;
        Ok(self)
    }

    /// Adds a calling party number.
    pub fn with_calling_number(mut self, number: &PartyNumber) -> Result<Self, Error> {
        self.set_calling_number(number)?;
        Ok(self)
    }

    /// Adds a connected number.
    pub fn with_connected_number(mut self, number: &PartyNumber) -> Result<Self, Error> {
        self.set_connected_number(number)?;
        Ok(self)
    }

    /// Adds a bearer capability.
    pub fn with_bearer_capability(mut self, bc: &BearerCapability) -> Result<Self, Error> {
        self.set_bearer_capability(bc)?;
        Ok(self)
    }

    /// Adds a call state (for Status).
    pub fn with_call_state(mut self, state: CallState) -> Self {
        self.set_call_state(state);
        self
    }

    /// Adds a progress indicator.
    pub fn with_progress_indicator(mut self, progress: ProgressIndicator) -> Self {
        self.set_progress_indicator(progress);
        self
    }

    /// Adds a signal.
    pub fn with_signal(mut self, signal: Signal) -> Self {
        self.set_signal(signal);
        self
    }

    /// Adds Sending complete.
    pub fn with_sending_complete(mut self) -> Self {
        self.set_sending_complete();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Opaque stand-in for PER-encoded H323-UserInformation; it contains the H.225.0
    /// protocol identifier OID (0.0.8.2250.0.4 = 06 00 08 91 4A 00 04) like real ones do.
    const SETUP_UU: [u8; 12] = [
        0x20, 0xB8, 0x06, 0x00, 0x08, 0x91, 0x4A, 0x00, 0x04, 0x01, 0x40, 0x02,
    ];

    #[rustfmt::skip]
    const SETUP: &[u8] = &[
        0x08,                               // protocol discriminator
        0x02, 0x00, 0x2A,                   // call reference: 2 octets, flag 0, value 42
        0x05,                               // Setup
        0x04, 0x03, 0x88, 0x93, 0xA5,       // bearer: unrestricted digital, 384k, H.221
        0x28, 0x0B, b'A', b'l', b'i', b'c', b'e', b' ', b'S', b'm', b'i', b't', b'h',
        0x6C, 0x06, 0x01, 0x80, b'2', b'0', b'0', b'1', // calling: E.164 + octet 3a
        0x70, 0x05, 0x81, b'1', b'0', b'0', b'1',       // called: unknown/E.164
        0x7E, 0x00, 0x0D, 0x05,             // user-user, 2-octet length, X.208/X.209
        0x20, 0xB8, 0x06, 0x00, 0x08, 0x91, 0x4A, 0x00, 0x04, 0x01, 0x40, 0x02,
    ];

    #[rustfmt::skip]
    const RELEASE_COMPLETE: &[u8] = &[
        0x08, 0x02, 0x80, 0x2A,             // flag 1: sent towards the originator
        0x5A,
        0x08, 0x02, 0x80, 0x90,             // cause: ITU-T, user, normal call clearing
        0x7E, 0x00, 0x0A, 0x05,
        0x25, 0x80, 0x06, 0x00, 0x08, 0x91, 0x4A, 0x00, 0x04,
    ];

    #[rustfmt::skip]
    const FACILITY: &[u8] = &[
        0x08, 0x02, 0x80, 0x2A,
        0x62,
        0x1C, 0x03, 0x91, 0xA1, 0x00,       // Q.932 facility IE: unknown here, kept raw
        0x7E, 0x00, 0x07, 0x05, 0x28, 0x50, 0x06, 0x00, 0x08, 0x91,
    ];

    #[rustfmt::skip]
    const STATUS: &[u8] = &[
        0x08, 0x02, 0x00, 0x07, 0x7D,
        0x08, 0x02, 0x80, 0xE2,             // cause 98
        0x14, 0x01, 0x0A,                   // call state: active
    ];

    #[rustfmt::skip]
    const SHIFTED: &[u8] = &[
        0x08, 0x02, 0x00, 0x01, 0x7B,
        0x28, 0x01, b'A',
        0x96,                               // locking shift to codeset 6
        0x7E, 0x02, 0xAA, 0xBB,             // 0x7E in codeset 6: one-octet length
        0x9D,                               // non-locking shift to codeset 5
        0x7E, 0x01, 0xCC,
        0x98,                               // non-locking shift to codeset 0
        0x7E, 0x00, 0x01, 0x05,             // real User-user: two-octet length
    ];

    fn roundtrip(bytes: &[u8]) -> Message {
        let m = Message::decode(bytes).unwrap();
        assert_eq!(m.encode(), bytes);
        m
    }

    #[test]
    fn setup_from_endpoint() {
        let m = roundtrip(SETUP);
        assert_eq!(m.message_type, MessageType::Setup);
        assert_eq!(m.call_reference, CallReference::new(42, true));
        assert_eq!(m.call_reference.octet_len(), 2);
        let bc = m.bearer_capability().unwrap().unwrap();
        assert_eq!(
            bc,
            BearerCapability::h323(
                BearerCapability::UNRESTRICTED_DIGITAL,
                BearerCapability::RATE_384K
            )
        );
        assert_eq!(bc.layer1_protocol(), Some(BearerCapability::LAYER1_H221));
        assert_eq!(m.display().unwrap(), Some("Alice Smith"));
        let calling = m.calling_number().unwrap().unwrap();
        assert_eq!(calling.digits, "2001");
        assert_eq!(
            calling.presentation,
            Some(Presentation {
                indicator: Presentation::ALLOWED,
                screening: Presentation::USER_NOT_SCREENED
            })
        );
        assert_eq!(m.called_number().unwrap(), Some(PartyNumber::e164("1001")));
        assert_eq!(m.h323_user_information(), Some(&SETUP_UU[..]));
        assert_eq!(
            m.user_user().unwrap(),
            Some(UserUser::h225(SETUP_UU.to_vec()))
        );
        assert_eq!(m.cause().unwrap(), None);
        assert!(!m.sending_complete());
        assert_eq!(m.ies().len(), 5);
    }

    #[test]
    fn setup_builder_matches_endpoint_bytes() {
        // Setters applied out of order still land in ascending identifier order.
        let built = Message::new(MessageType::Setup, 42, true)
            .with_user_user(SETUP_UU.to_vec())
            .unwrap()
            .with_called_number(&PartyNumber::e164("1001"))
            .unwrap()
            .with_display("Alice Smith")
            .unwrap()
            .with_calling_number(&PartyNumber {
                presentation: Some(Presentation {
                    indicator: 0,
                    screening: 0,
                }),
                ..PartyNumber::e164("2001")
            })
            .unwrap()
            .with_bearer_capability(&BearerCapability::h323(
                BearerCapability::UNRESTRICTED_DIGITAL,
                BearerCapability::RATE_384K,
            ))
            .unwrap();
        assert_eq!(built.encode(), SETUP);
    }

    #[test]
    fn release_complete_with_cause() {
        let m = roundtrip(RELEASE_COMPLETE);
        assert_eq!(m.message_type, MessageType::ReleaseComplete);
        assert!(!m.call_reference.from_originator());
        assert_eq!(m.call_reference.value(), 42);
        let cause = m.cause().unwrap().unwrap();
        assert_eq!(cause, Cause::new(CauseValue::NORMAL_CALL_CLEARING));
        assert_eq!(cause.location, Cause::LOCATION_USER);
        assert_eq!(cause.value.to_string(), "cause 16 (normal call clearing)");

        let built = Message::release_complete(42, false, CauseValue::NORMAL_CALL_CLEARING)
            .with_user_user(RELEASE_COMPLETE[13..].to_vec())
            .unwrap();
        assert_eq!(built.encode(), RELEASE_COMPLETE);
    }

    #[test]
    fn gatekeeper_release_complete_bytes() {
        let m = Message::release_complete(0x1234, false, CauseValue::USER_BUSY);
        assert_eq!(
            m.encode(),
            [0x08, 0x02, 0x92, 0x34, 0x5A, 0x08, 0x02, 0x80, 0x91]
        );
    }

    #[test]
    fn facility_keeps_unknown_ie() {
        let m = roundtrip(FACILITY);
        assert_eq!(m.message_type, MessageType::Facility);
        let facility = m.ie(Ie::FACILITY).unwrap();
        assert_eq!(facility.contents(), [0x91, 0xA1, 0x00]);
        assert_eq!(
            m.h323_user_information(),
            Some(&[0x28, 0x50, 0x06, 0x00, 0x08, 0x91][..])
        );
    }

    #[test]
    fn status_with_cause_and_call_state() {
        let m = roundtrip(STATUS);
        assert_eq!(m.message_type, MessageType::Status);
        assert_eq!(m.cause().unwrap().unwrap().value, CauseValue(98));
        assert_eq!(
            m.call_state().unwrap(),
            Some(CallState::new(CallState::ACTIVE))
        );
        let built = Message::new(MessageType::Status, 7, true)
            .with_call_state(CallState::new(CallState::ACTIVE))
            .with_cause(CauseValue(98));
        assert_eq!(built.encode(), STATUS);
    }

    #[test]
    fn shifts_select_user_user_length() {
        let m = roundtrip(SHIFTED);
        let codesets: Vec<(u8, u8)> = m.ies_with_codeset().map(|(cs, ie)| (cs, ie.id())).collect();
        assert_eq!(
            codesets,
            [
                (0, 0x28),
                (0, 0x96),
                (6, 0x7E),
                (6, 0x9D),
                (5, 0x7E),
                (6, 0x98),
                (0, 0x7E)
            ]
        );
        assert_eq!(m.ie(Ie::USER_USER).unwrap().contents(), [0x05]);
        assert_eq!(m.h323_user_information(), Some(&[][..]));
        // Without the codeset tracking the 0x7E in codeset 6 would swallow the rest.
        let mut long = Message::decode(SHIFTED).unwrap();
        assert_eq!(
            long.push_ie(Ie::new(Ie::USER_USER, vec![0; 300]).unwrap()),
            Err(Error::IeTooLong {
                id: 0x7E,
                len: 300,
                max: 255
            })
        );
        // A shift handed to set_ie goes last so earlier IEs keep their codesets.
        long.set_ie(Ie::shift(7, true));
        assert_eq!(long.ies().last().unwrap().id(), 0x97);
        assert_eq!(
            long.remove_ie(Ie::USER_USER),
            0,
            "only leading IEs are removable"
        );
        assert_eq!(long.remove_ie(Ie::DISPLAY), 1);
    }

    #[test]
    fn short_call_references_and_other_types_round_trip() {
        let dummy = roundtrip(&[0x08, 0x00, 0x05]);
        assert!(dummy.call_reference.is_dummy());
        let one = roundtrip(&[0x08, 0x01, 0x85, 0x5A]);
        assert_eq!(one.call_reference, CallReference::one_octet(5, false));
        let global = roundtrip(&[0x08, 0x02, 0x00, 0x00, 0x7D]);
        assert!(global.call_reference.is_global());
        let other = roundtrip(&[0x08, 0x02, 0x00, 0x01, 0x4E, 0xA1, 0x34, 0x01, 0x40]);
        assert_eq!(other.message_type, MessageType::Other(0x4E));
        assert!(other.sending_complete());
        assert_eq!(other.signal().unwrap(), Some(Signal(0x40)));
        assert_eq!(u8::from(MessageType::from(0x62)), 0x62);
        assert_eq!(MessageType::from(0x05).to_string(), "Setup");
    }

    #[test]
    fn call_reference_helpers() {
        let cr = CallReference::new(0xFFFF, true);
        assert_eq!(cr.value(), 0x7FFF);
        assert_eq!(cr.reversed(), CallReference::new(0x7FFF, false));
        assert_eq!(CallReference::dummy().reversed(), CallReference::dummy());
    }

    #[test]
    fn header_errors() {
        let cases: &[(&[u8], Error)] = &[
            (&[], Error::TruncatedHeader("protocol discriminator")),
            (
                &[0x09, 0x02, 0, 1, 5],
                Error::BadProtocolDiscriminator(0x09),
            ),
            (&[0x08], Error::TruncatedHeader("call reference length")),
            (&[0x08, 0x03, 0, 0, 0, 5], Error::BadCallReferenceLength(3)),
            (&[0x08, 0x12, 0, 5], Error::BadCallReferenceLength(0x12)),
            (
                &[0x08, 0x02, 0x00],
                Error::TruncatedHeader("call reference value"),
            ),
            (
                &[0x08, 0x02, 0x00, 0x01],
                Error::TruncatedHeader("message type"),
            ),
            (
                &[0x08, 0x00, 0x05, 0x28],
                Error::IeLengthTruncated { id: 0x28 },
            ),
            (
                &[0x08, 0x00, 0x05, 0x7E, 0x00],
                Error::IeLengthTruncated { id: 0x7E },
            ),
            (
                &[0x08, 0x00, 0x05, 0x28, 0x05, b'A'],
                Error::IeOverrun {
                    id: 0x28,
                    declared: 5,
                    available: 1,
                },
            ),
            (
                &[0x08, 0x00, 0x05, 0x7E, 0x01, 0x00, 0x05],
                Error::IeOverrun {
                    id: 0x7E,
                    declared: 256,
                    available: 1,
                },
            ),
        ];
        for (bytes, err) in cases {
            assert_eq!(Message::decode(bytes).as_ref(), Err(err), "{bytes:02x?}");
        }
        assert!(Error::BadCallReferenceLength(3)
            .to_string()
            .contains("0x03"));
    }

    #[test]
    fn malformed_typed_ies_decode_but_report() {
        #[rustfmt::skip]
        let bytes = [
            0x08, 0x02, 0x00, 0x01, 0x5A,
            0x04, 0x02, 0x88, 0x98,         // multirate without multiplier
            0x08, 0x01, 0x80,               // cause without value
            0x14, 0x00,
            0x28, 0x01, 0xE9,               // display not IA5
            0x70, 0x02, 0x81, 0xB1,         // digit with bit 8 set
            0x7D, 0x02, 0x91, 0x01,         // octet 4a announced but missing
            0x7E, 0x00, 0x00,               // user-user without discriminator
        ];
        let m = roundtrip(&bytes);
        assert!(matches!(
            m.bearer_capability(),
            Err(Error::MalformedIe { id: 0x04, .. })
        ));
        assert!(matches!(
            m.cause(),
            Err(Error::MalformedIe { id: 0x08, .. })
        ));
        assert!(matches!(
            m.call_state(),
            Err(Error::MalformedIe { id: 0x14, .. })
        ));
        assert_eq!(m.display(), Err(Error::NotIa5 { id: 0x28 }));
        assert_eq!(m.called_number(), Err(Error::NotIa5 { id: 0x70 }));
        assert!(m.high_layer_compatibility().is_err());
        assert!(m.user_user().is_err());
        assert_eq!(m.h323_user_information(), None);
    }

    #[test]
    fn builder_limits() {
        let m = Message::new(MessageType::Facility, 1, false);
        assert_eq!(
            m.clone().with_display("Zoë").unwrap_err(),
            Error::NotIa5 { id: Ie::DISPLAY }
        );
        assert_eq!(
            m.clone().with_display(&"x".repeat(256)).unwrap_err(),
            Error::IeTooLong {
                id: Ie::DISPLAY,
                len: 256,
                max: 255
            }
        );
        assert!(m.clone().with_display(&"x".repeat(255)).is_ok());
        assert!(m
            .clone()
            .with_user_user(vec![0; UserUser::MAX_INFORMATION])
            .is_ok());
        assert_eq!(
            m.clone()
                .with_user_user(vec![0; UserUser::MAX_INFORMATION + 1])
                .unwrap_err(),
            Error::IeTooLong {
                id: Ie::USER_USER,
                len: 65536,
                max: 65535
            }
        );
        assert_eq!(
            Ie::new(0xA1, vec![1]),
            Err(Error::SingleOctetIeWithContents(0xA1))
        );
        assert_eq!(Ie::single_octet(0x28), Err(Error::NotSingleOctetIe(0x28)));
    }

    #[test]
    fn setters_replace_in_place() {
        let mut m = Message::decode(SETUP).unwrap();
        m.set_display("Bob").unwrap();
        assert_eq!(m.display().unwrap(), Some("Bob"));
        assert_eq!(m.ies().len(), 5);
        assert_eq!(m.ies()[1].id(), Ie::DISPLAY);
        m.set_sending_complete();
        m.set_sending_complete();
        assert_eq!(m.ies().len(), 6);
        assert_eq!(m.remove_ie(Ie::DISPLAY), 1);
        assert_eq!(m.display().unwrap(), None);
        let again = roundtrip(&m.encode());
        assert_eq!(again, m);
    }

    #[test]
    fn large_user_user_round_trips() {
        let info: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let m = Message::new(MessageType::Connect, 9, false)
            .with_user_user(info.clone())
            .unwrap();
        let bytes = m.encode();
        assert_eq!(&bytes[5..8], &[0x7E, 0x03, 0xE9]);
        assert_eq!(Message::decode(&bytes).unwrap(), m);
        assert_eq!(m.h323_user_information(), Some(&info[..]));
    }

    // --- property tests ----------------------------------------------------------------------

    fn arb_call_reference() -> impl Strategy<Value = CallReference> {
        prop_oneof![
            Just(CallReference::dummy()),
            (0u8..0x80, any::<bool>()).prop_map(|(v, f)| CallReference::one_octet(v, f)),
            (0u16..0x8000, any::<bool>()).prop_map(|(v, f)| CallReference::new(v, f)),
        ]
    }

    fn arb_bearer() -> impl Strategy<Value = BearerCapability> {
        (
            0u8..4,
            0u8..32,
            0u8..4,
            0u8..32,
            0u8..128,
            prop::collection::vec(any::<u8>(), 0..8),
        )
            .prop_map(|(cs, cap, mode, rate, mult, layers)| BearerCapability {
                coding_standard: cs,
                transfer_capability: cap,
                transfer_mode: mode,
                transfer_rate: rate,
                rate_multiplier: (rate == BearerCapability::RATE_MULTIRATE).then_some(mult),
                layers,
            })
    }

    fn arb_cause() -> impl Strategy<Value = Cause> {
        (
            0u8..4,
            0u8..16,
            prop::option::of(0u8..128),
            0u8..128,
            prop::collection::vec(any::<u8>(), 0..8),
        )
            .prop_map(|(cs, loc, rec, value, diagnostics)| Cause {
                coding_standard: cs,
                location: loc,
                recommendation: rec,
                value: CauseValue(value),
                diagnostics,
            })
    }

    fn arb_number() -> impl Strategy<Value = PartyNumber> {
        (
            0u8..8,
            0u8..16,
            prop::option::of((0u8..4, 0u8..4)),
            "[0-9*#]{0,20}",
        )
            .prop_map(|(ton, plan, p, digits)| PartyNumber {
                type_of_number: ton,
                numbering_plan: plan,
                presentation: p.map(|(indicator, screening)| Presentation {
                    indicator,
                    screening,
                }),
                digits,
            })
    }

    fn arb_hlc() -> impl Strategy<Value = HighLayerCompatibility> {
        (0u8..4, 0u8..8, 0u8..4, 0u8..128, prop::option::of(0u8..128)).prop_map(
            |(cs, interpretation, presentation, characteristics, extended)| {
                HighLayerCompatibility {
                    coding_standard: cs,
                    interpretation,
                    presentation,
                    characteristics,
                    extended,
                }
            },
        )
    }

    #[derive(Debug, Clone)]
    struct Typed {
        kind: MessageType,
        cr: CallReference,
        bearer: Option<BearerCapability>,
        cause: Option<Cause>,
        state: Option<CallState>,
        progress: Option<ProgressIndicator>,
        notification: Option<NotificationIndicator>,
        display: Option<String>,
        keypad: Option<String>,
        signal: Option<Signal>,
        calling: Option<PartyNumber>,
        called: Option<PartyNumber>,
        connected: Option<PartyNumber>,
        hlc: Option<HighLayerCompatibility>,
        uu: Option<UserUser>,
        sending_complete: bool,
    }

    fn arb_typed() -> impl Strategy<Value = Typed> {
        let a = (
            any::<u8>().prop_map(MessageType::from),
            arb_call_reference(),
            prop::option::of(arb_bearer()),
            prop::option::of(arb_cause()),
            prop::option::of((0u8..4, 0u8..64).prop_map(|(c, v)| CallState {
                coding_standard: c,
                value: v,
            })),
            prop::option::of(
                (0u8..4, 0u8..16, 0u8..128).prop_map(|(c, l, d)| ProgressIndicator {
                    coding_standard: c,
                    location: l,
                    description: d,
                }),
            ),
            prop::option::of(
                (0u8..128, prop::collection::vec(any::<u8>(), 0..6)).prop_map(
                    |(description, extension)| NotificationIndicator {
                        description,
                        extension,
                    },
                ),
            ),
            prop::option::of("[ -~]{0,40}"),
        );
        let b = (
            prop::option::of("[0-9*#]{0,12}"),
            prop::option::of(any::<u8>().prop_map(Signal)),
            prop::option::of(arb_number()),
            prop::option::of(arb_number()),
            prop::option::of(arb_number()),
            prop::option::of(arb_hlc()),
            prop::option::of(
                (any::<u8>(), prop::collection::vec(any::<u8>(), 0..600)).prop_map(
                    |(protocol_discriminator, information)| UserUser {
                        protocol_discriminator,
                        information,
                    },
                ),
            ),
            any::<bool>(),
        );
        (a, b).prop_map(
            |(
                (kind, cr, bearer, cause, state, progress, notification, display),
                (keypad, signal, calling, called, connected, hlc, uu, sending_complete),
            )| Typed {
                kind,
                cr,
                bearer,
                cause,
                state,
                progress,
                notification,
                display,
                keypad,
                signal,
                calling,
                called,
                connected,
                hlc,
                uu,
                sending_complete,
            },
        )
    }

    fn build(t: &Typed) -> Message {
        let mut m = Message::with_call_reference(t.kind, t.cr);
        // Reverse identifier order on purpose: insertion must still sort them.
        if let Some(v) = &t.uu {
            m.set_user_user(v).unwrap();
        }
        if let Some(v) = t.hlc {
            m.set_high_layer_compatibility(v);
        }
        if let Some(v) = &t.called {
            m.set_called_number(v).unwrap();
        }
        if let Some(v) = &t.calling {
            m.set_calling_number(v).unwrap();
        }
        if let Some(v) = &t.connected {
            m.set_connected_number(v).unwrap();
        }
        if let Some(v) = t.signal {
            m.set_signal(v);
        }
        if let Some(v) = &t.keypad {
            m.set_keypad(v).unwrap();
        }
        if let Some(v) = &t.display {
            m.set_display(v).unwrap();
        }
        if let Some(v) = &t.notification {
            m.set_notification_indicator(v).unwrap();
        }
        if let Some(v) = t.progress {
            m.set_progress_indicator(v);
        }
        if let Some(v) = t.state {
            m.set_call_state(v);
        }
        if let Some(v) = &t.cause {
            m.set_cause(v).unwrap();
        }
        if let Some(v) = &t.bearer {
            m.set_bearer_capability(v).unwrap();
        }
        if t.sending_complete {
            m.set_sending_complete();
        }
        m
    }

    proptest! {
        #[test]
        fn typed_messages_round_trip(t in arb_typed()) {
            let m = build(&t);
            let bytes = m.encode();
            let d = Message::decode(&bytes).unwrap();
            prop_assert_eq!(&d, &m);
            prop_assert_eq!(d.encode(), bytes);
            prop_assert!(d.ies().windows(2).all(|w| w[0].id() < w[1].id()));
            prop_assert_eq!(d.message_type, t.kind);
            prop_assert_eq!(d.call_reference, t.cr);
            prop_assert_eq!(d.bearer_capability().unwrap(), t.bearer);
            prop_assert_eq!(d.cause().unwrap(), t.cause);
            prop_assert_eq!(d.call_state().unwrap(), t.state);
            prop_assert_eq!(d.progress_indicator().unwrap(), t.progress);
            prop_assert_eq!(d.notification_indicator().unwrap(), t.notification);
            prop_assert_eq!(d.display().unwrap(), t.display.as_deref());
            prop_assert_eq!(d.keypad().unwrap(), t.keypad.as_deref());
            prop_assert_eq!(d.signal().unwrap(), t.signal);
            prop_assert_eq!(d.calling_number().unwrap(), t.calling);
            prop_assert_eq!(d.called_number().unwrap(), t.called);
            prop_assert_eq!(d.connected_number().unwrap(), t.connected);
            prop_assert_eq!(d.high_layer_compatibility().unwrap(), t.hlc);
            prop_assert_eq!(d.user_user().unwrap(), t.uu);
            prop_assert_eq!(d.sending_complete(), t.sending_complete);
        }

        #[test]
        fn raw_ie_lists_round_trip(
            kind in any::<u8>(),
            cr in arb_call_reference(),
            ies in prop::collection::vec(
                (any::<u8>(), prop::collection::vec(any::<u8>(), 0..300)), 0..12),
        ) {
            let mut m = Message::with_call_reference(MessageType::from(kind), cr);
            for (id, contents) in ies {
                let ie = if id & 0x80 != 0 { Ie::single_octet(id) } else { Ie::new(id, contents) };
                if let Ok(ie) = ie {
                    let _ = m.push_ie(ie);
                }
            }
            let bytes = m.encode();
            prop_assert_eq!(Message::decode(&bytes).unwrap(), m);
        }

        #[test]
        fn decodable_bytes_re_encode_identically(
            header in prop::sample::select(vec![
                vec![0x08u8, 0x02, 0x00, 0x01, 0x05],
                vec![0x08, 0x01, 0x81, 0x5A],
                vec![0x08, 0x00, 0x62],
            ]),
            body in prop::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut bytes = header;
            bytes.extend(body);
            if let Ok(m) = Message::decode(&bytes) {
                prop_assert_eq!(m.encode(), bytes);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(m) = Message::decode(&bytes) {
                prop_assert_eq!(m.encode(), bytes);
            }
        }
    }
}
