"""A small Q.931 (H.225.0 call signalling) codec and TPKT framing.

Only what an H.323 endpoint needs: the message header (protocol discriminator 0x08, a
2-octet call reference whose top bit is the flag, the message type), variable-length
information elements (one length octet, or two for User-user 0x7E) and single-octet
elements (top bit set, no length). The User-user element carries protocol discriminator
0x05 followed by the aligned-PER H323-UserInformation, which this module leaves to the
caller as bytes.

TPKT (RFC 1006): version 3, a reserved octet, then the length of the whole packet
(header included) on two octets.
"""

import struct

PROTOCOL_DISCRIMINATOR = 0x08
USER_USER_DISCRIMINATOR = 0x05  # X.208/X.209 coded user information: H.225.0

# Message types, named after the H323-UU-PDU bodies that go with them.
MESSAGE_TYPES = {
    'alerting': 0x01,
    'callProceeding': 0x02,
    'progress': 0x03,
    'setup': 0x05,
    'connect': 0x07,
    'setupAcknowledge': 0x0D,
    'connectAcknowledge': 0x0F,
    'releaseComplete': 0x5A,
    'facility': 0x62,
    'notify': 0x6E,
    'statusInquiry': 0x75,  # Q.931 "status enquiry"
    'information': 0x7B,
    'status': 0x7D,
}
MESSAGE_NAMES = {v: k for k, v in MESSAGE_TYPES.items()}

# Information element identifiers.
IE_BEARER_CAPABILITY = 0x04
IE_CAUSE = 0x08
IE_CALL_STATE = 0x14
IE_FACILITY = 0x1C
IE_PROGRESS_INDICATOR = 0x1E
IE_NOTIFICATION_INDICATOR = 0x27
IE_DISPLAY = 0x28
IE_KEYPAD = 0x2C
IE_SIGNAL = 0x34
IE_CALLING_PARTY_NUMBER = 0x6C
IE_CALLED_PARTY_NUMBER = 0x70
IE_USER_USER = 0x7E

IE_NAMES = {
    IE_BEARER_CAPABILITY: 'bearerCapability', IE_CAUSE: 'cause', IE_CALL_STATE: 'callState',
    IE_FACILITY: 'facility', IE_PROGRESS_INDICATOR: 'progressIndicator',
    IE_NOTIFICATION_INDICATOR: 'notificationIndicator', IE_DISPLAY: 'display',
    IE_KEYPAD: 'keypad', IE_SIGNAL: 'signal', IE_CALLING_PARTY_NUMBER: 'callingPartyNumber',
    IE_CALLED_PARTY_NUMBER: 'calledPartyNumber', IE_USER_USER: 'userUser',
}

# Speech, circuit mode 64 kbit/s, layer 1 G.711 mu-law: the usual H.323 bearer.
BEARER_SPEECH = bytes([0x80, 0x90, 0xA5])
# Unrestricted digital information, circuit mode 64 kbit/s (used for video calls).
BEARER_DIGITAL = bytes([0x88, 0x90])


class Q931Error(ValueError):
    pass


class Message:
    """A Q.931 message.

    call_ref: the 15-bit call reference value; from_destination: the flag bit (set in the
    messages sent by the side that did not originate the call); ies: list of
    (identifier, bytes) in wire order (bytes is None for single-octet elements, whose
    whole octet is the identifier); user_user: the PER H323-UserInformation or None.
    """

    def __init__(self, msg_type, call_ref, from_destination=False, ies=None, user_user=None):
        self.msg_type = msg_type
        self.call_ref = call_ref
        self.from_destination = from_destination
        self.ies = list(ies or [])
        self.user_user = user_user

    @property
    def name(self):
        return MESSAGE_NAMES.get(self.msg_type, 'unknown_0x%02x' % self.msg_type)

    def ie(self, ident):
        for i, data in self.ies:
            if i == ident:
                return data
        return None

    # Convenience readers -------------------------------------------------------------------

    def cause(self):
        """The cause value (7 bits) of the Cause element, or None."""
        data = self.ie(IE_CAUSE)
        if not data:
            return None
        # Octet 3 (coding standard, location) may be followed by 3a when its top bit is 0.
        pos = 1 if data[0] & 0x80 else 2
        if pos >= len(data):
            return None
        return data[pos] & 0x7F

    def number(self, ident):
        """The digits of a Called/Calling party number element, or None."""
        data = self.ie(ident)
        if data is None or not data:
            return None
        pos = 0
        while pos < len(data) and not data[pos] & 0x80:  # octets 3, 3a... end with top bit 1
            pos += 1
        return data[pos + 1:].decode('ascii', 'replace')

    def display(self):
        data = self.ie(IE_DISPLAY)
        if data is None:
            return None
        # Some stacks put a charset octet (top bit set) first.
        if data and data[0] & 0x80:
            data = data[1:]
        return data.rstrip(b'\x00').decode('latin-1')

    # Encoding ------------------------------------------------------------------------------

    def encode(self):
        ref = self.call_ref & 0x7FFF
        if self.from_destination:
            ref |= 0x8000
        out = bytearray([PROTOCOL_DISCRIMINATOR, 2])
        out += struct.pack('>H', ref)
        out.append(self.msg_type)
        ies = list(self.ies)
        if self.user_user is not None:
            ies.append((IE_USER_USER, bytes([USER_USER_DISCRIMINATOR]) + self.user_user))
        # Elements go in ascending order of identifier (single-octet ones keep their place).
        for ident, data in sorted(ies, key=lambda x: x[0] if x[1] is not None else -1):
            if data is None:
                out.append(ident)
            elif ident == IE_USER_USER:
                out.append(ident)
                out += struct.pack('>H', len(data))
                out += data
            else:
                if len(data) > 255:
                    raise Q931Error('information element 0x%02x too long' % ident)
                out.append(ident)
                out.append(len(data))
                out += data
        return bytes(out)

    @classmethod
    def decode(cls, buf):
        if len(buf) < 3 or buf[0] != PROTOCOL_DISCRIMINATOR:
            raise Q931Error('not a Q.931 message')
        ref_len = buf[1] & 0x0F
        pos = 2
        if len(buf) < pos + ref_len + 1:
            raise Q931Error('truncated header')
        ref = int.from_bytes(buf[pos:pos + ref_len], 'big') if ref_len else 0
        flag = False
        if ref_len:
            flag = bool(buf[pos] & 0x80)
            ref &= (1 << (8 * ref_len - 1)) - 1
        pos += ref_len
        msg_type = buf[pos]
        pos += 1
        ies = []
        user_user = None
        while pos < len(buf):
            ident = buf[pos]
            pos += 1
            if ident & 0x80:
                ies.append((ident, None))
                continue
            if ident == IE_USER_USER:
                if pos + 2 > len(buf):
                    raise Q931Error('truncated User-user length')
                length = struct.unpack('>H', buf[pos:pos + 2])[0]
                pos += 2
            else:
                if pos >= len(buf):
                    raise Q931Error('truncated element length')
                length = buf[pos]
                pos += 1
            data = bytes(buf[pos:pos + length])
            if len(data) != length:
                raise Q931Error('truncated element 0x%02x' % ident)
            pos += length
            if ident == IE_USER_USER:
                if data and data[0] == USER_USER_DISCRIMINATOR:
                    user_user = data[1:]
                else:
                    ies.append((ident, data))
            else:
                ies.append((ident, data))
        return cls(msg_type, ref, flag, ies, user_user)


# Element builders ---------------------------------------------------------------------------

def cause_ie(cause, location=0):
    """Cause element content: ITU-T coding, the location (0 = user), the cause value."""
    return bytes([0x80 | (location & 0x0F), 0x80 | (cause & 0x7F)])


def number_ie(digits, number_type=0, plan=1):
    """Called/Calling party number content: type of number, plan (1 = E.164), IA5 digits."""
    return bytes([0x80 | ((number_type & 7) << 4) | (plan & 0x0F)]) + digits.encode('ascii')


def display_ie(text):
    return text.encode('latin-1', 'replace')[:80]


def call_state_ie(state):
    return bytes([state & 0x3F])


# TPKT ---------------------------------------------------------------------------------------

def tpkt(payload):
    return struct.pack('>BBH', 3, 0, len(payload) + 4) + payload


def read_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def read_tpkt(sock):
    """The payload of the next TPKT packet, or None when the connection ends."""
    while True:
        head = read_exact(sock, 4)
        if head is None:
            return None
        if head[0] != 3:
            raise Q931Error('not a TPKT header: %s' % head.hex())
        length = struct.unpack('>H', head[2:4])[0]
        if length < 4:
            raise Q931Error('bad TPKT length %d' % length)
        if length == 4:  # an empty TPKT (some stacks use it as a keep-alive)
            continue
        body = read_exact(sock, length - 4)
        if body is None:
            return None
        return body
