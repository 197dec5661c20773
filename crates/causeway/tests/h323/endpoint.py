#!/usr/bin/env python3
"""A scriptable H.323 endpoint for the causeway end-to-end tests (pycrate 0.8.1, Python 3.11).

    python3 endpoint.py --gk HOST:PORT [--bind 127.0.0.1] [--ras-port 0] [--cs-port 0]
                        [--h225-version 7] [--name NAME]

It binds a UDP RAS socket and a TCP call-signalling listener on --bind, prints one line
    {"ready": true, "ras": "IP:PORT", "cs": "IP:PORT"}
then reads one JSON command per line on stdin and answers each with exactly one JSON line
on stdout: {"ok": true, ...} or {"ok": false, "error": "..."} (blank lines are ignored; stdin
closing ends the process). Logs go to stderr.

Aliases (any command): a list (or a single one) of {"h323": "alice"}, {"e164": "1234"},
{"url": "h323:bob@example.com"}, {"email": "a@b"}, {"transport": "1.2.3.4:1720"},
{"party": "1234"} (partyNumber e164Number) or a bare string (all digits -> e164, else h323).
Addresses are "host:port". call_id / conference_id are 32 hex digits (random if absent).
"call" names a call record N (made by arq, call or an incoming connection); where it may be
left out, the default is the most recently created record.

Every RAS command also takes: "seq" (requestSeqNum; default: a counter from a random start),
"timeout" (seconds to wait for the answer, default 2), "to" ("host:port", default --gk),
"extra" (object: components put into the message body, in the JSON notation below; replaces
the default ones) and "omit" (list of component names removed from the body).
RAS replies: {"ok": true, "seq": N, "sent": MSG, "msg": MSG or null, "progress": [RIP...]}
where MSG = {"type": <RasMessage choice>, "value": {...}, "from": "ip:port"}. A
RequestInProgress extends the wait by its delay and is listed in "progress".

RAS commands (defaults in brackets):
  grq   gatekeeper_id [none], aliases [none], auth_capability (bool: pwdHash + MD5 OID) [false]
        GCF: remembers gatekeeperIdentifier.
  rrq   aliases [the last registered ones], keep_alive [false] (lightweight: keepAlive TRUE,
        endpointIdentifier + gatekeeperIdentifier from the last RCF, aliases only if given),
        ttl [absent], terminal_type "terminal"|"gateway"|"mcu" [terminal], prefixes (E.164
        prefixes, put in terminalType.gateway/mcu.protocol voice supportedPrefixes),
        gatekeeper_id [the known one; null to leave it out], discovery_complete [true after a
        GCF], ras_address / cs_address (claimed addresses) [own sockets],
        user + password: an H.235 token, "token": "clear" [default] | "md5":
          clear: tokens = [ClearToken {tokenOID token_oid [0.0.8.235.0.2.5], timeStamp,
                 password, generalID user}]
          md5:   cryptoTokens = [cryptoEPPwdHash {alias h323-ID user, timeStamp, token {
                 algorithmOID 1.2.840.113549.2.5, paramS {}, hash}}] where hash is the MD5 of
                 the aligned-PER ClearToken {tokenOID 0.0, timeStamp, password, generalID
                 user} (the scheme of OpenH323/GnuGk "simple MD5", what gatekeepers check).
        timestamp [now]. RCF: remembers endpointIdentifier, gatekeeperIdentifier, aliases.
  urq   aliases [registered ones], reason (UnregRequestReason name) [none].
  arq   dest (aliases), dest_address, answer_call [false], bandwidth [1280], call_model
        "direct"|"gatekeeperRouted" [direct], source (aliases) [registered ones], call (N:
        use that call's ids, e.g. an incoming call with answer_call), call_id, conference_id.
        Creates a call record (reply has "call": N, "call_id", "conference_id"); an ACF's
        destCallSignalAddress becomes that call's default "to".
  drq   call [the last one], reason (DisengageReason) [normalDrop], answered_call [callee?].
  brq   call [the last one], bandwidth [2560].
  lrq   dest, hop_count [absent], source [registered], gatekeeper_id [none].
  irr   unsolicited IRR with perCallInfo for all active calls; need_response [true]: waits for
        IACK/INAK (else "msg" is null at once).
  ras_raw  hex: sends these octets as a RAS datagram; no wait.

Gatekeeper-initiated RAS:
  recv       timeout [2]: {"ok": true, "msg": MSG or null}: the next message the auto rules
             did not consume (also late or unexpected answers).
  auto       irr / ucf / dcf / h245 (bools, all default true): IRQ -> IRR (perCallInfo for the
             call the IRQ names by callIdentifier or callReferenceValue, all active calls when
             both are zero; irrStatus invalidCall if unknown; sent to replyAddress), URQ -> UCF,
             DRQ -> DCF, h245 = automatic H.245 answers (below). Reply: the settings.
  log        {"ok": true, "log": [entries]}: everything received: {"proto": "ras", "from",
             "type", "value", "auto"?} / {"proto": "q931", "call", ...CS message...} /
             {"proto": "h245", "call", "via", "type", "value", "name"}.  clear_log empties it.
  status     {"ok": true, "registered", "endpoint_id", "gatekeeper_id", "ras", "cs", "aliases",
             "terminal_type"}.

Call signalling (Q.931 over TPKT, q931.py):
  call    to [the ACF address of "call"], dest, source [registered aliases], call (N from
          arq), fast_start [true] (G.711 mu-law pair; video [false] adds an H.264 pair),
          h245 "tunnel"|"separate"|"none" [tunnel], offer_h245 (separate: put an
          h245Address in the Setup and listen) [false], display ["causeway test"],
          bearer "speech"|"digital" [speech], extra (Setup-UUIE components), setup_h245
          (list of "tcs"/"msd" tunnelled in the Setup) [none], timeout (TCP connect) [3].
          The TCP connection is made from --bind. Setup: conferenceID, callIdentifier,
          sourceAddress, destinationAddress, destCallSignalAddress, sourceCallSignalAddress,
          endpointIdentifier (when registered), fastStart, h245Tunnelling; Q.931 bearer
          capability, display, called/calling party number (first E.164 alias of each side).
          -> {"ok": true, "call": N, "call_id", "conference_id", "crv"}
  cs_recv call, timeout [2] -> {"ok": true, "msg": CS or null, "closed": bool}, CS =
          {"type": Q.931 message (setup, callProceeding, alerting, connect, releaseComplete,
          facility, progress, information, notify, status, statusInquiry, ...), "crv",
          "from_destination", "cause", "display", "called", "calling", "ies": [{"id", "name",
          "hex"}], "uuie": {"type", "value"} (the h323-message-body), "uu_pdu" (the whole
          h323-uu-pdu), "h245_tunnelling", "h245": [tunnelled MSCM], "fast_start": [OLC]}.
  incoming timeout [2] -> {"ok": true, "call": N or null, "msg": the Setup (CS)}
  answer_mode mode "connect"|"alerting"|"busy"|"reject"|"ignore" [connect], h245
          "tunnel"|"separate"|"none" [tunnel], fast_start (accept proposals) [true], arq
          (ARQ answerCall before answering; ARJ -> ReleaseComplete cause 21) [false],
          ring_time (seconds between Alerting and Connect) [0]. connect: CallProceeding,
          Alerting (fastStart), Connect (fastStart, h245Address when separate). busy:
          ReleaseComplete cause 17 reason inConf. reject: cause 21 destinationRejection.
          A caller that does not tunnel gets no tunnelling back: the callee connects to the
          caller's h245Address, or offers one in Connect. StatusInquiry is always answered
          with Status (cause 30, call state 10). Reply: the settings.
  connect call: sends Connect on an incoming call left alerting. -> {"ok": true, "call": N}
  release call [last], cause [16], reason (ReleaseCompleteReason name) [none]: sends
          ReleaseComplete (Cause IE, callIdentifier) and half-closes the connection.
          -> {"ok": true, "call": N}
  cs_send call, type (Q.931 message name), body (UUIE body components, JSON notation),
          cause, display, h245 (list of "tcs"/"msd"/... tunnelled in it): any other message.
  calls   {"ok": true, "calls": [{call, direction ("out"|"in"), state (idle, admission,
          admitted, setup_sent, connected_tcp, setup_received, proceeding, alerting,
          connected, released), call_id, conference_id, crv, peer, h245_mode (in effect),
          h245_connected, h245_address (the one we offered), h245_local, h245_remote,
          peer_tunnelling, cause, disengaged, dest, source}]}
H.245:
  h245 call, send "tcs"|"msd"|"rtd"|"uii"|"end_session", digit ["5"], uii_mode
          "alphanumeric"|"signal" [alphanumeric], via "tunnel"|"separate" [separate when that
          connection is up, else the call's mode] -> {"ok": true, "via", "sent": MSCM}
  h245_log call -> {"ok": true, "log": [{"via", "type", "value", "name"}]}
  h245_recv call, timeout [2] -> {"ok": true, "msg": entry or null}: next unread H.245.
  Automatic answers: TCS -> TCSAck, MSD -> MSDAck (terminal type, then the 24-bit numbers
  as H.245 says) or MSDReject identicalNumbers, MSDAck to our MSD -> MSDAck back, RTD request
  -> response, OLC -> OLCAck, CLC -> CLCAck, RequestChannelClose -> ack, endSession ->
  endSession. Separate H.245: connects to an h245Address the peer gives (also when it
  refused tunnelling), or accepts on the one it offered.
  quit    {"ok": true}, then exits.

JSON rendering of decoded values: SEQUENCE -> object, CHOICE -> {"type": name, "value": v}
(plus "addr": "a.b.c.d:port" / "[v6]:port" for IP transport addresses, H.225.0 and H.245),
OCTET STRING -> lowercase hex, BIT STRING -> {"bits": int, "len": n, "hex": the bits as
zero-padded octets}, OID -> dotted string, NULL -> 0, ENUMERATED -> its name, strings, ints
and bools as is; open types and unknown extensions (pycrate keys "_ext_N") by the Python type.
The same notation is accepted in "extra" (a transport address may be {"addr": "h:p"}).

pycrate 0.8.1 limits: it refuses to encode a value lacking a mandatory root component (so
"omit" works for OPTIONAL and extension components only; use ras_raw for broken messages),
and its aligned-PER encoder mis-pads extension additions in some SEQUENCEs; this module
patches that (see _fix_pycrate_extension_padding) and warns on stderr when one of its own
messages lacks a mandatory extension addition (pycrate does not check those).
"""

import argparse
import hashlib
import ipaddress
import json
import os
import queue
import random
import re
import socket
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import q931  # noqa: E402

from pycrate_asn1dir import H225  # noqa: E402
from pycrate_asn1rt.utils import (TYPE_BIT_STR, TYPE_CHOICE, TYPE_NULL,  # noqa: E402
                                  TYPE_OCT_STR, TYPE_OID, TYPE_REL_OID, TYPE_SEQ,
                                  TYPE_SEQ_OF, TYPE_SET, TYPE_SET_OF)

MSG = H225.H323_MESSAGES
H245 = H225.MULTIMEDIA_SYSTEM_CONTROL
H235 = H225.H235_SECURITY_MESSAGES

RAS = MSG.RasMessage
UUI = getattr(MSG, 'H323_UserInformation')
MSCM = H245.MultimediaSystemControlMessage
OLC = H245.OpenLogicalChannel
CLEAR_TOKEN = H235.ClearToken

# pycrate's type objects keep the value being coded: one thread at a time.
_CODEC_LOCK = threading.RLock()


def _fix_pycrate_extension_padding():
    """Works around a pycrate 0.8.1 aligned-PER encoder bug.

    A SEQUENCE encodes its extension additions (each an open type) before it writes the
    extension bitmap, while its bit offset still points at the end of the root components.
    Each open type then pads to that wrong offset, so when the root ends off an octet boundary
    the additions can start one octet late (pycrate's own decoder rejects the result; the
    h323-asn1 cross-check lists such samples). After the bitmap everything is octet aligned,
    so the additions need no padding at all: encode them from an aligned offset and account
    their bits afterwards. Other callers of the same codec function are left alone.
    """
    from pycrate_asn1rt import asnobj_construct
    from pycrate_asn1rt.codecs import ASN1CodecPER
    if getattr(ASN1CodecPER, '_causeway_fixed', False):
        return
    seq_to_per = asnobj_construct._CONSTRUCT._to_per.__code__
    original = ASN1CodecPER.encode_unconst_open.__func__

    def encode_unconst_open(cla, wrapped):
        if FIX_PADDING and cla.ALIGNED and sys._getframe(1).f_code is seq_to_per:
            saved = cla._off[-1]
            cla._off[-1] = 0
            try:
                return original(cla, wrapped)
            finally:
                cla._off[-1] += saved
        return original(cla, wrapped)

    ASN1CodecPER.encode_unconst_open = classmethod(encode_unconst_open)
    ASN1CodecPER._causeway_fixed = True


# Set to False only to reproduce pycrate's faulty encodings (selftest.py does, as a control).
FIX_PADDING = True
_fix_pycrate_extension_padding()


def encode(obj, value):
    with _CODEC_LOCK:
        obj.set_val(value)
        return obj.to_aper()


def decode(obj, data):
    with _CODEC_LOCK:
        obj.from_aper(data)
        return obj.get_val()


# --- addresses -------------------------------------------------------------------------------

def split_hostport(text):
    """'1.2.3.4:1720' or '[::1]:1720' -> (host, port)."""
    text = text.strip()
    if text.startswith('['):
        host, _, rest = text[1:].partition(']')
        return host, int(rest.lstrip(':'))
    host, _, port = text.rpartition(':')
    return host, int(port)


def transport(addr):
    """An H.225.0 TransportAddress from 'host:port' or (host, port)."""
    host, port = split_hostport(addr) if isinstance(addr, str) else addr
    ip = ipaddress.ip_address(socket.gethostbyname(host) if ':' not in host else host)
    if ip.version == 4:
        return ('ipAddress', {'ip': ip.packed, 'port': port})
    return ('ip6Address', {'ip': ip.packed, 'port': port})


def h245_unicast(addr):
    """An H.245 TransportAddress (unicastAddress) from 'host:port' or (host, port)."""
    host, port = split_hostport(addr) if isinstance(addr, str) else addr
    ip = ipaddress.ip_address(host)
    if ip.version == 4:
        return ('unicastAddress', ('iPAddress', {'network': ip.packed, 'tsapIdentifier': port}))
    return ('unicastAddress', ('iP6Address', {'network': ip.packed, 'tsapIdentifier': port}))


def address_text(name, value):
    """'a.b.c.d:port' for an IP transport address choice, else None."""
    if not isinstance(value, dict):
        return None
    if name in ('ipAddress', 'ip6Address'):
        ip, port = value.get('ip'), value.get('port')
    elif name in ('iPAddress', 'iP6Address'):
        ip, port = value.get('network'), value.get('tsapIdentifier')
    else:
        return None
    if not isinstance(ip, bytes) or not isinstance(port, int):
        return None
    if len(ip) == 4:
        return '%s:%d' % (socket.inet_ntoa(ip), port)
    if len(ip) == 16:
        return '[%s]:%d' % (ipaddress.IPv6Address(ip), port)
    return None


def transport_to_tuple(value):
    """(host, port) of an H.225.0 or H.245 transport address value, or None."""
    if not isinstance(value, tuple):
        return None
    if value[0] == 'unicastAddress':
        value = value[1]
    text = address_text(value[0], value[1])
    return split_hostport(text) if text else None


# --- JSON ------------------------------------------------------------------------------------

def _component(obj, name):
    if obj is None:
        return None
    cont = getattr(obj, '_cont', None)
    if cont is None:
        return None
    try:
        return cont[name]
    except (KeyError, TypeError):
        return None


def untyped_to_json(val):
    if isinstance(val, (bytes, bytearray)):
        return bytes(val).hex()
    if isinstance(val, dict):
        return {k: untyped_to_json(v) for k, v in val.items()}
    if isinstance(val, list):
        return [untyped_to_json(v) for v in val]
    if isinstance(val, tuple):
        if len(val) == 2 and isinstance(val[0], str):
            res = {'type': val[0], 'value': untyped_to_json(val[1])}
            addr = address_text(val[0], val[1])
            if addr:
                res['addr'] = addr
            return res
        if all(isinstance(x, int) for x in val):
            return '.'.join(str(x) for x in val)
        return [untyped_to_json(v) for v in val]
    return val


def bit_string_json(val):
    """{"bits": value, "len": n, "hex": the bits as octets, first bit first, zero-padded}.
    "hex" is there because "bits" of a long string (a 128-bit hash) exceeds what many JSON
    readers keep exact."""
    bits, n = val
    nbytes = (n + 7) // 8
    data = (bits << (8 * nbytes - n)).to_bytes(nbytes, 'big') if n else b''
    return {'bits': bits, 'len': n, 'hex': data.hex()}


def to_json(obj, val):
    kind = getattr(obj, 'TYPE', None)
    if kind in (TYPE_SEQ, TYPE_SET) and isinstance(val, dict):
        return {k: to_json(_component(obj, k), v) for k, v in val.items()}
    if kind == TYPE_CHOICE and isinstance(val, tuple) and len(val) == 2:
        name, inner = val
        res = {'type': name, 'value': to_json(_component(obj, name), inner)}
        addr = address_text(name, inner)
        if addr:
            res['addr'] = addr
        return res
    if kind in (TYPE_SEQ_OF, TYPE_SET_OF) and isinstance(val, list):
        return [to_json(obj._cont, v) for v in val]
    if kind == TYPE_BIT_STR and isinstance(val, tuple):
        return bit_string_json(val)
    if kind in (TYPE_OID, TYPE_REL_OID) and isinstance(val, tuple):
        return '.'.join(str(x) for x in val)
    return untyped_to_json(val)


def from_json(obj, j):
    kind = getattr(obj, 'TYPE', None)
    if kind in (TYPE_SEQ, TYPE_SET):
        return {k: from_json(_component(obj, k), v) for k, v in j.items()}
    if kind == TYPE_CHOICE:
        if isinstance(j, dict) and 'type' not in j and 'addr' in j:
            return transport(j['addr'])
        if isinstance(j, (list, tuple)) and len(j) == 2:
            name, inner = j
        else:
            name, inner = j['type'], j.get('value', 0)
        return (name, from_json(_component(obj, name), inner))
    if kind in (TYPE_SEQ_OF, TYPE_SET_OF):
        return [from_json(obj._cont, v) for v in j]
    if kind == TYPE_BIT_STR:
        if isinstance(j, dict) and 'bits' not in j:
            n = j['len']
            return (int.from_bytes(bytes.fromhex(j['hex']), 'big') >> (8 * ((n + 7) // 8) - n),
                    n)
        if isinstance(j, dict):
            return (j['bits'], j['len'])
        return tuple(j)
    if kind in (TYPE_OID, TYPE_REL_OID):
        if isinstance(j, str):
            return tuple(int(x) for x in j.split('.'))
        return tuple(j)
    if kind == TYPE_OCT_STR and isinstance(j, str):
        return bytes.fromhex(j)
    if kind == TYPE_NULL:
        return 0
    return j


def missing_mandatory(obj, val, path=''):
    """Paths of the mandatory SEQUENCE components absent from val (recursively)."""
    out = []
    kind = getattr(obj, 'TYPE', None)
    if kind in (TYPE_SEQ, TYPE_SET) and isinstance(val, dict):
        for name in obj._cont.keys():
            comp = obj._cont[name]
            if name not in val:
                if not comp._opt and comp._def is None:
                    out.append(path + '.' + name)
            else:
                out += missing_mandatory(comp, val[name], path + '.' + name)
    elif kind == TYPE_CHOICE and isinstance(val, tuple) and len(val) == 2:
        comp = _component(obj, val[0])
        if comp is not None:
            out += missing_mandatory(comp, val[1], path + '.' + val[0])
    elif kind in (TYPE_SEQ_OF, TYPE_SET_OF) and isinstance(val, list):
        for i, v in enumerate(val):
            out += missing_mandatory(obj._cont, v, '%s[%d]' % (path, i))
    return out


# --- constants and small builders ------------------------------------------------------------

H245_PROTOCOL = (0, 0, 8, 245, 0, 13)
MD5_OID = (1, 2, 840, 113549, 2, 5)
CLEAR_TOKEN_OID = (0, 0, 8, 235, 0, 2, 5)
VENDOR = {'vendor': {'t35CountryCode': 181, 't35Extension': 0, 'manufacturerCode': 21324},
          'productId': b'causeway-test-endpoint', 'versionId': b'1'}
# H.245 terminal types used in master/slave determination (H.323 table 1).
H245_TERMINAL_TYPE = {'terminal': 50, 'gateway': 60, 'mcu': 190}

RAS_ANSWERS = {
    'gatekeeperConfirm', 'gatekeeperReject', 'registrationConfirm', 'registrationReject',
    'unregistrationConfirm', 'unregistrationReject', 'admissionConfirm', 'admissionReject',
    'bandwidthConfirm', 'bandwidthReject', 'disengageConfirm', 'disengageReject',
    'locationConfirm', 'locationReject', 'infoRequestAck', 'infoRequestNak',
    'requestInProgress', 'resourcesAvailableConfirm', 'serviceControlResponse',
    'unknownMessageResponse', 'admissionConfirmSequence',
}

H264_CAPABILITY = {'capabilityIdentifier': ('standard', (0, 0, 8, 241, 0, 0, 1)),
                   'maxBitRate': 19200,
                   'collapsing': [{'parameterIdentifier': ('standard', 41),
                                   'parameterValue': ('booleanArray', 64)},
                                  {'parameterIdentifier': ('standard', 42),
                                   'parameterValue': ('unsignedMin', 71)}]}

MEDIA_DISTRIBUTION = {'centralizedControl': False, 'distributedControl': False,
                      'centralizedAudio': False, 'distributedAudio': False,
                      'centralizedVideo': False, 'distributedVideo': False}
MULTIPOINT = {'multicastCapability': False, 'multiUniCastConference': False,
              'mediaDistributionCapability': [MEDIA_DISTRIBUTION]}
H2250_CAPABILITY = {
    'maximumAudioDelayJitter': 250,
    'receiveMultipointCapability': MULTIPOINT,
    'transmitMultipointCapability': MULTIPOINT,
    'receiveAndTransmitMultipointCapability': MULTIPOINT,
    'mcCapability': {'centralizedConferenceMC': False, 'decentralizedConferenceMC': False},
    'rtcpVideoControlCapability': False,
    'mediaPacketizationCapability': {'h261aVideoPacketization': False},
    'logicalChannelSwitchingCapability': False,
    't120DynamicPortCapability': False,
}


def log(*parts):
    sys.stderr.write('[endpoint %s] %s\n' % (NAME, ' '.join(str(p) for p in parts)))
    sys.stderr.flush()


NAME = '-'


def alias(a):
    if isinstance(a, str):
        if re.fullmatch(r'[0-9*#,]+', a):
            return ('dialledDigits', a)
        return ('h323-ID', a)
    if isinstance(a, (list, tuple)) and len(a) == 2:
        return (a[0], a[1])
    if not isinstance(a, dict) or len(a) != 1:
        raise ValueError('bad alias %r' % (a,))
    kind, val = next(iter(a.items()))
    if kind in ('h323', 'h323-ID', 'h323_id'):
        return ('h323-ID', val)
    if kind in ('e164', 'dialledDigits'):
        return ('dialledDigits', val)
    if kind in ('url', 'url-ID'):
        return ('url-ID', val)
    if kind in ('email', 'email-ID'):
        return ('email-ID', val)
    if kind in ('transport', 'transportID'):
        return ('transportID', transport(val))
    if kind in ('party', 'partyNumber'):
        return ('partyNumber', ('e164Number', {'publicTypeOfNumber': ('unknown', 0),
                                               'publicNumberDigits': val}))
    raise ValueError('unknown alias kind %r' % kind)


def aliases(lst):
    if lst is None:
        return None
    if not isinstance(lst, list):
        lst = [lst]
    return [alias(a) for a in lst]


def guid(text):
    if text is None:
        return os.urandom(16)
    data = bytes.fromhex(text.replace('-', ''))
    if len(data) != 16:
        raise ValueError('a call/conference identifier has 16 octets')
    return data


def endpoint_type(kind, prefixes=None):
    et = {'vendor': VENDOR, 'mc': kind == 'mcu', 'undefinedNode': False}
    protocols = None
    if prefixes:
        protocols = [('voice', {'supportedPrefixes': [{'prefix': ('dialledDigits', p)}
                                                      for p in prefixes]})]
    if kind == 'gateway':
        et['gateway'] = {'protocol': protocols} if protocols else {}
    elif kind == 'mcu':
        et['mcu'] = {'protocol': protocols} if protocols else {}
    elif kind == 'terminal':
        et['terminal'] = {}
    else:
        raise ValueError('terminal_type is terminal, gateway or mcu')
    return et


def md5_pwd_hash(user, password, timestamp):
    """The MD5 of the PER ClearToken {0.0, timeStamp, password, generalID}."""
    clear = {'tokenOID': (0, 0), 'timeStamp': timestamp, 'password': password,
             'generalID': user}
    digest = hashlib.md5(encode(CLEAR_TOKEN, clear)).digest()
    return int.from_bytes(digest, 'big')


def olc_params(data_type, session, media=None, control=None, payload_type=None):
    params = {'sessionID': session}
    if media:
        params['mediaChannel'] = h245_unicast(media)
    if control:
        params['mediaControlChannel'] = h245_unicast(control)
    if payload_type is not None:
        params['dynamicRTPPayloadType'] = payload_type
    return {'dataType': data_type,
            'multiplexParameters': ('h2250LogicalChannelParameters', params)}


AUDIO = ('audioData', ('g711Ulaw64k', 20))
VIDEO = ('videoData', ('genericVideoCapability', H264_CAPABILITY))


def h245_name(msg):
    """'terminalCapabilitySet' for ('request', ('terminalCapabilitySet', {...}))."""
    try:
        return msg[1][0]
    except (TypeError, IndexError):
        return None


class Media:
    """One RTP session: two bound UDP sockets (RTP, RTCP) nobody reads."""

    def __init__(self, host, session):
        self.session = session
        self.socks = []
        for _ in range(2):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((host, 0))
            self.socks.append(s)
        self.rtp = s_addr(self.socks[0])
        self.rtcp = s_addr(self.socks[1])
        self.remote_rtp = None

    def close(self):
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass


def s_addr(sock):
    host, port = sock.getsockname()[:2]
    return '%s:%d' % (host, port)


def sock_text(sock, peer=False):
    if sock is None:
        return None
    try:
        host, port = (sock.getpeername() if peer else sock.getsockname())[:2]
    except OSError:
        return None
    return '%s:%d' % (host, port)


class Call:
    def __init__(self, n, direction):
        self.n = n
        self.direction = direction  # 'out' or 'in'
        self.call_id = os.urandom(16)
        self.conf_id = os.urandom(16)
        self.crv = random.randint(1, 0x7FFF)
        self.state = 'idle'
        self.sock = None
        self.peer = None
        self.lock = threading.Lock()        # Q.931 writes
        self.h245_lock = threading.Lock()   # separate H.245 writes
        self.queue = queue.Queue()          # received CS messages
        self.closed = False
        self.h245_mode = 'tunnel'
        self.h245_sock = None
        self.h245_listener = None
        self.h245_address = None            # the address we offered
        self.h245_up = threading.Event()
        self.h245_log = []
        self.h245_queue = queue.Queue()
        self.peer_tunnelling = None
        self.msd_number = random.randint(0, 0xFFFFFF)
        self.msd_outstanding = False
        self.end_session_sent = False
        self.tcs_seq = 0
        self.rtd_seq = 0
        self.dest = []
        self.source = []
        self.acf = None
        self.acf_dest = None
        self.bandwidth = 1280
        self.call_model = 'direct'
        self.disengaged = False
        self.cause = None
        self.media = []
        self.fast_start_proposals = []
        self.setup = None
        self.lcn = 100

    @property
    def active(self):
        return not self.disengaged and self.state not in ('released', 'idle')

    def info(self):
        return {'call': self.n, 'direction': self.direction, 'state': self.state,
                'call_id': self.call_id.hex(), 'conference_id': self.conf_id.hex(),
                'crv': self.crv, 'peer': self.peer, 'h245_mode': self.h245_mode,
                'h245_connected': self.h245_sock is not None,
                'h245_address': self.h245_address, 'h245_local': sock_text(self.h245_sock),
                'h245_remote': sock_text(self.h245_sock, peer=True),
                'peer_tunnelling': self.peer_tunnelling, 'cause': self.cause,
                'disengaged': self.disengaged,
                'dest': untyped_to_json(self.dest),
                'source': untyped_to_json(self.source)}


# --- the endpoint ----------------------------------------------------------------------------

class Endpoint:
    def __init__(self, args):
        self.bind = args.bind
        self.gk = split_hostport(args.gk) if args.gk else None
        self.protocol = (0, 0, 8, 2250, 0, args.h225_version)
        self.ras = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.ras.bind((args.bind, args.ras_port))
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((args.bind, args.cs_port))
        self.listener.listen(16)
        self.ras_addr = s_addr(self.ras)
        self.cs_addr = s_addr(self.listener)

        self.lock = threading.RLock()
        self.seq = random.randint(1, 30000)
        self.pending = {}
        self.ras_queue = queue.Queue()
        self.received = []
        self.auto = {'irr': True, 'ucf': True, 'dcf': True, 'h245': True}
        self.endpoint_id = None
        self.gatekeeper_id = None
        self.registered = False
        self.discovered = False
        self.aliases = []
        self.kind = 'terminal'
        self.prefixes = None
        self.calls = {}
        self.next_call = 1
        self.last_call = None
        self.incoming = queue.Queue()
        self.answer = {'mode': 'connect', 'h245': 'tunnel', 'fast_start': True, 'arq': False,
                       'ring_time': 0}

        for target in (self.ras_loop, self.accept_loop):
            threading.Thread(target=target, daemon=True).start()

    # -- helpers ----------------------------------------------------------------------------

    def next_seq(self, cmd):
        if cmd.get('seq') is not None:
            return int(cmd['seq'])
        with self.lock:
            self.seq = self.seq % 65535 + 1
            return self.seq

    def record(self, entry):
        with self.lock:
            entry['time'] = round(time.time(), 3)
            self.received.append(entry)

    def new_call(self, direction):
        with self.lock:
            call = Call(self.next_call, direction)
            self.next_call += 1
            self.calls[call.n] = call
            self.last_call = call
            return call

    def get_call(self, cmd, default_last=True):
        n = cmd.get('call')
        with self.lock:
            if n is None:
                if default_last and self.last_call is not None:
                    return self.last_call
                raise ValueError('no call given and no last call')
            if n not in self.calls:
                raise ValueError('no call %r' % n)
            return self.calls[n]

    def my_type(self):
        return endpoint_type(self.kind, self.prefixes)

    def check(self, obj, value, what):
        missing = missing_mandatory(obj, value)
        if missing:
            log('WARNING missing mandatory components in %s: %s' % (what, ', '.join(missing)))

    @staticmethod
    def overrides(obj, name, body, cmd):
        comp = obj._cont[name]
        for k, v in (cmd.get('extra') or {}).items():
            body[k] = from_json(comp._cont[k], v)
        for k in cmd.get('omit') or []:
            body.pop(k, None)
        return body

    # -- RAS --------------------------------------------------------------------------------

    def ras_send(self, name, body, to):
        value = (name, body)
        self.check(RAS, value, name)
        data = encode(RAS, value)
        self.ras.sendto(data, to)
        log('RAS -> %s:%s %s seq %s' % (to[0], to[1], name, body.get('requestSeqNum')
                                         if isinstance(body, dict) else ''))
        return data

    def ras_transaction(self, cmd, name, body, wait=True):
        body = self.overrides(RAS, name, body, cmd)
        seq = body['requestSeqNum']
        to = split_hostport(cmd['to']) if cmd.get('to') else self.gk
        if to is None:
            raise ValueError('no gatekeeper address (--gk or "to")')
        waiter = queue.Queue()
        with self.lock:
            self.pending[seq] = waiter
        progress = []
        answer = None
        try:
            self.ras_send(name, body, to)
            timeout = float(cmd.get('timeout', 2))
            deadline = time.time() + timeout
            while wait:
                left = deadline - time.time()
                if left <= 0:
                    break
                try:
                    msg = waiter.get(timeout=left)
                except queue.Empty:
                    break
                if msg['type'] == 'requestInProgress':
                    progress.append(msg)
                    delay = msg['value'].get('delay', 0) / 1000.0
                    deadline = max(deadline, time.time() + delay + timeout)
                    continue
                answer = msg
                break
        finally:
            with self.lock:
                self.pending.pop(seq, None)
        return {'ok': True, 'seq': seq, 'sent': to_json(RAS, (name, body)), 'msg': answer,
                'progress': progress}

    def ras_loop(self):
        while True:
            try:
                data, src = self.ras.recvfrom(65535)
            except OSError:
                return
            frm = '%s:%d' % src[:2]
            try:
                name, val = decode(RAS, data)
            except Exception as err:  # noqa: BLE001
                entry = {'proto': 'ras', 'from': frm, 'type': 'undecodable',
                         'value': data.hex(), 'error': str(err)}
                self.record(entry)
                self.ras_queue.put({'type': 'undecodable', 'value': data.hex(), 'from': frm})
                continue
            msg = {'type': name, 'value': to_json(RAS, (name, val))['value'], 'from': frm}
            log('RAS <- %s %s seq %s' % (frm, name, val.get('requestSeqNum')
                                         if isinstance(val, dict) else ''))
            entry = dict(msg, proto='ras')
            try:
                self.handle_ras(name, val, msg, entry, src)
            except Exception:  # noqa: BLE001
                log('error handling', name, traceback.format_exc())

    def handle_ras(self, name, val, msg, entry, src):
        """Routes one received RAS message. The log entry is recorded before anything is sent
        or anyone is woken, so that the log is complete whenever a reply reaches a test."""
        if name in RAS_ANSWERS:
            seq = val[0]['requestSeqNum'] if isinstance(val, list) else val.get('requestSeqNum')
            with self.lock:
                waiter = self.pending.get(seq)
            self.record(entry)
            if waiter is not None:
                self.note_answer(name, val)
                waiter.put(msg)
            else:
                self.ras_queue.put(msg)
            return
        seq = val.get('requestSeqNum')
        action = None
        if name == 'infoRequest' and self.auto['irr']:
            action = 'infoRequestResponse'
        elif name == 'unregistrationRequest' and self.auto['ucf']:
            action = 'unregistrationConfirm'
        elif name == 'disengageRequest' and self.auto['dcf']:
            action = 'disengageConfirm'
        if action:
            entry['auto'] = action
        self.record(entry)
        if action is None:
            self.ras_queue.put(msg)
        elif name == 'infoRequest':
            self.answer_irq(val, src)
        elif name == 'unregistrationRequest':
            with self.lock:
                self.registered = False
            self.ras_send('unregistrationConfirm', {'requestSeqNum': seq}, src)
        else:
            cid = val.get('callIdentifier', {}).get('guid')
            with self.lock:
                for call in self.calls.values():
                    if call.call_id == cid:
                        call.disengaged = True
            self.ras_send('disengageConfirm', {'requestSeqNum': seq}, src)

    def note_answer(self, name, val):
        with self.lock:
            if name == 'gatekeeperConfirm':
                self.discovered = True
                if val.get('gatekeeperIdentifier'):
                    self.gatekeeper_id = val['gatekeeperIdentifier']
            elif name == 'registrationConfirm':
                self.registered = True
                self.endpoint_id = val.get('endpointIdentifier')
                if val.get('gatekeeperIdentifier'):
                    self.gatekeeper_id = val['gatekeeperIdentifier']
            elif name == 'unregistrationConfirm':
                self.registered = False

    def per_call_info(self, call):
        sig = {'recvAddress': transport(self.cs_addr)}
        if call.peer:
            sig['sendAddress'] = transport(call.peer)
        info = {'callReferenceValue': call.crv, 'conferenceID': call.conf_id,
                'originator': call.direction == 'out',
                'h245': {'recvAddress': transport(call.h245_address or self.cs_addr)},
                'callSignalling': sig,
                'callType': ('pointToPoint', 0), 'bandWidth': call.bandwidth,
                'callModel': (call.call_model, 0),
                'callIdentifier': {'guid': call.call_id}, 'substituteConfIDs': []}
        audio = [m for m in call.media if m.session == 1]
        if audio:
            m = audio[0]
            info['audio'] = [{'rtpAddress': {'recvAddress': transport(m.rtp)},
                              'rtcpAddress': {'recvAddress': transport(m.rtcp)},
                              'cname': 'call%d.causeway-test' % call.n,
                              'ssrc': 0x10000 + call.n, 'sessionId': 1,
                              'associatedSessionIds': []}]
        return info

    def irr_body(self, seq, calls, unsolicited, need_response, status=None):
        body = {'requestSeqNum': seq, 'endpointType': self.my_type(),
                'endpointIdentifier': self.endpoint_id or 'unregistered',
                'rasAddress': transport(self.ras_addr),
                'callSignalAddress': [transport(self.cs_addr)],
                'needResponse': need_response, 'unsolicited': unsolicited}
        if self.aliases:
            body['endpointAlias'] = self.aliases
        if calls:
            body['perCallInfo'] = [self.per_call_info(c) for c in calls]
        if status:
            body['irrStatus'] = status
        return body

    def answer_irq(self, irq, src):
        cid = irq.get('callIdentifier', {}).get('guid', bytes(16))
        crv = irq.get('callReferenceValue', 0)
        with self.lock:
            active = [c for c in self.calls.values() if c.active]
        status = ('complete', 0)
        if cid != bytes(16):
            calls = [c for c in active if c.call_id == cid]
        elif crv:
            calls = [c for c in active if c.crv == crv]
        else:
            calls = active
        if (cid != bytes(16) or crv) and not calls:
            status = ('invalidCall', 0)
        body = self.irr_body(irq['requestSeqNum'], calls, False, False, status)
        dest = src
        reply = transport_to_tuple(irq.get('replyAddress')) if irq.get('replyAddress') else None
        if reply and reply[0] not in ('0.0.0.0', '::') and reply[1]:
            dest = reply
        self.ras_send('infoRequestResponse', body, dest)

    # RAS commands -----------------------------------------------------------------------

    def op_grq(self, cmd):
        body = {'requestSeqNum': self.next_seq(cmd), 'protocolIdentifier': self.protocol,
                'rasAddress': transport(cmd.get('ras_address') or self.ras_addr),
                'endpointType': endpoint_type(cmd.get('terminal_type', self.kind),
                                              cmd.get('prefixes', self.prefixes)),
                'supportsAssignedGK': False}
        if cmd.get('gatekeeper_id'):
            body['gatekeeperIdentifier'] = cmd['gatekeeper_id']
        if cmd.get('aliases'):
            body['endpointAlias'] = aliases(cmd['aliases'])
        if cmd.get('auth_capability'):
            body['authenticationCapability'] = [('pwdHash', 0)]
            body['algorithmOIDs'] = [MD5_OID]
        return self.ras_transaction(cmd, 'gatekeeperRequest', body)

    def security(self, cmd, body):
        if cmd.get('password') is None:
            return
        user = cmd.get('user') or next((a[1] for a in (self.aliases or [])
                                        if a[0] == 'h323-ID'), 'user')
        stamp = int(cmd.get('timestamp', time.time()))
        kind = cmd.get('token', 'clear')
        if kind == 'clear':
            oid = cmd.get('token_oid')
            oid = tuple(int(x) for x in oid.split('.')) if oid else CLEAR_TOKEN_OID
            body['tokens'] = [{'tokenOID': oid, 'timeStamp': stamp,
                               'password': cmd['password'], 'generalID': user}]
        elif kind == 'md5':
            body['cryptoTokens'] = [('cryptoEPPwdHash', {
                'alias': ('h323-ID', user), 'timeStamp': stamp,
                'token': {'algorithmOID': MD5_OID, 'paramS': {},
                          'hash': (md5_pwd_hash(user, cmd['password'], stamp), 128)}})]
        else:
            raise ValueError('token is "clear" or "md5"')

    def op_rrq(self, cmd):
        keep_alive = bool(cmd.get('keep_alive', False))
        kind = cmd.get('terminal_type', self.kind)
        prefixes = cmd.get('prefixes', self.prefixes if kind == self.kind else None)
        als = aliases(cmd.get('aliases'))
        if als is None and not keep_alive:
            als = self.aliases
        body = {'requestSeqNum': self.next_seq(cmd), 'protocolIdentifier': self.protocol,
                'discoveryComplete': bool(cmd.get('discovery_complete', self.discovered)),
                'callSignalAddress': [transport(cmd.get('cs_address') or self.cs_addr)],
                'rasAddress': [transport(cmd.get('ras_address') or self.ras_addr)],
                'terminalType': endpoint_type(kind, prefixes),
                'endpointVendor': VENDOR,
                'keepAlive': keep_alive, 'willSupplyUUIEs': False,
                'maintainConnection': False, 'supportsAssignedGK': False}
        if als:
            body['terminalAlias'] = als
        gk_id = cmd['gatekeeper_id'] if 'gatekeeper_id' in cmd else self.gatekeeper_id
        if gk_id:
            body['gatekeeperIdentifier'] = gk_id
        if cmd.get('ttl') is not None:
            body['timeToLive'] = int(cmd['ttl'])
        if keep_alive or cmd.get('endpoint_id'):
            eid = cmd.get('endpoint_id') or self.endpoint_id
            if eid:
                body['endpointIdentifier'] = eid
        if not keep_alive:
            self.aliases = als or []
            self.kind = kind
            self.prefixes = prefixes
        self.security(cmd, body)
        return self.ras_transaction(cmd, 'registrationRequest', body)

    def op_urq(self, cmd):
        body = {'requestSeqNum': self.next_seq(cmd),
                'callSignalAddress': [transport(cmd.get('cs_address') or self.cs_addr)]}
        als = aliases(cmd.get('aliases')) or self.aliases
        if als:
            body['endpointAlias'] = als
        if self.endpoint_id:
            body['endpointIdentifier'] = self.endpoint_id
        if self.gatekeeper_id:
            body['gatekeeperIdentifier'] = self.gatekeeper_id
        if cmd.get('reason'):
            body['reason'] = (cmd['reason'], 0)
        self.security(cmd, body)
        return self.ras_transaction(cmd, 'unregistrationRequest', body)

    def op_arq(self, cmd):
        if cmd.get('call') is not None:
            call = self.get_call(cmd)
        else:
            call = self.new_call('out')
            call.state = 'admission'
        if cmd.get('call_id'):
            call.call_id = guid(cmd['call_id'])
        if cmd.get('conference_id'):
            call.conf_id = guid(cmd['conference_id'])
        answer = bool(cmd.get('answer_call', call.direction == 'in'))
        call.bandwidth = int(cmd.get('bandwidth', call.bandwidth))
        call.call_model = cmd.get('call_model', call.call_model)
        if answer:
            dest = aliases(cmd.get('dest')) or self.aliases
            src = aliases(cmd.get('source')) or call.source or self.aliases
        else:
            dest = aliases(cmd.get('dest')) or call.dest
            src = aliases(cmd.get('source')) or self.aliases
            call.dest = dest
            call.source = src
        body = {'requestSeqNum': self.next_seq(cmd), 'callType': ('pointToPoint', 0),
                'callModel': (call.call_model, 0),
                'endpointIdentifier': self.endpoint_id or 'unregistered',
                'srcInfo': src or [('h323-ID', 'anonymous')],
                'bandWidth': call.bandwidth, 'callReferenceValue': call.crv,
                'conferenceID': call.conf_id, 'activeMC': False, 'answerCall': answer,
                'canMapAlias': True, 'callIdentifier': {'guid': call.call_id},
                'willSupplyUUIEs': False, 'canMapSrcAlias': False}
        if dest:
            body['destinationInfo'] = dest
        if cmd.get('dest_address'):
            body['destCallSignalAddress'] = transport(cmd['dest_address'])
        elif answer:
            body['destCallSignalAddress'] = transport(self.cs_addr)
        if not answer:
            body['srcCallSignalAddress'] = transport(self.cs_addr)
        if self.gatekeeper_id:
            body['gatekeeperIdentifier'] = self.gatekeeper_id
        self.security(cmd, body)
        res = self.ras_transaction(cmd, 'admissionRequest', body)
        msg = res['msg']
        if msg and msg['type'] == 'admissionConfirm':
            call.acf = msg['value']
            call.acf_dest = msg['value'].get('destCallSignalAddress', {}).get('addr')
            call.bandwidth = msg['value'].get('bandWidth', call.bandwidth)
            if call.state == 'admission':
                call.state = 'admitted'
        elif call.state == 'admission':
            call.state = 'idle'
        res.update(call=call.n, call_id=call.call_id.hex(), conference_id=call.conf_id.hex())
        return res

    def op_drq(self, cmd):
        call = self.get_call(cmd)
        body = {'requestSeqNum': self.next_seq(cmd),
                'endpointIdentifier': self.endpoint_id or 'unregistered',
                'conferenceID': call.conf_id, 'callReferenceValue': call.crv,
                'disengageReason': (cmd.get('reason', 'normalDrop'), 0),
                'callIdentifier': {'guid': call.call_id},
                'answeredCall': bool(cmd.get('answered_call', call.direction == 'in'))}
        if self.gatekeeper_id:
            body['gatekeeperIdentifier'] = self.gatekeeper_id
        if call.cause is not None and 'terminationCause' not in (cmd.get('extra') or {}):
            body['terminationCause'] = ('releaseCompleteCauseIE', bytes([0x80, 0x80 | call.cause]))
        self.security(cmd, body)
        res = self.ras_transaction(cmd, 'disengageRequest', body)
        if res['msg'] and res['msg']['type'] == 'disengageConfirm':
            call.disengaged = True
        res['call'] = call.n
        return res

    def op_brq(self, cmd):
        call = self.get_call(cmd)
        body = {'requestSeqNum': self.next_seq(cmd),
                'endpointIdentifier': self.endpoint_id or 'unregistered',
                'conferenceID': call.conf_id, 'callReferenceValue': call.crv,
                'callType': ('pointToPoint', 0), 'bandWidth': int(cmd.get('bandwidth', 2560)),
                'callIdentifier': {'guid': call.call_id},
                'answeredCall': bool(cmd.get('answered_call', call.direction == 'in'))}
        if self.gatekeeper_id:
            body['gatekeeperIdentifier'] = self.gatekeeper_id
        self.security(cmd, body)
        res = self.ras_transaction(cmd, 'bandwidthRequest', body)
        if res['msg'] and res['msg']['type'] == 'bandwidthConfirm':
            call.bandwidth = res['msg']['value'].get('bandWidth', call.bandwidth)
        res['call'] = call.n
        return res

    def op_lrq(self, cmd):
        body = {'requestSeqNum': self.next_seq(cmd),
                'destinationInfo': aliases(cmd.get('dest')) or [],
                'replyAddress': transport(cmd.get('ras_address') or self.ras_addr),
                'canMapAlias': True, 'canMapSrcAlias': False}
        if self.endpoint_id:
            body['endpointIdentifier'] = self.endpoint_id
        src = aliases(cmd.get('source')) or self.aliases
        if src:
            body['sourceInfo'] = src
        if cmd.get('gatekeeper_id'):
            body['gatekeeperIdentifier'] = cmd['gatekeeper_id']
        if cmd.get('hop_count') is not None:
            body['hopCount'] = int(cmd['hop_count'])
        if cmd.get('call_id'):
            body['callIdentifier'] = {'guid': guid(cmd['call_id'])}
        self.security(cmd, body)
        return self.ras_transaction(cmd, 'locationRequest', body)

    def op_irr(self, cmd):
        need = bool(cmd.get('need_response', True))
        with self.lock:
            calls = [c for c in self.calls.values() if c.active]
        body = self.irr_body(self.next_seq(cmd), calls, True, need)
        return self.ras_transaction(cmd, 'infoRequestResponse', body, wait=need)

    def op_ras_raw(self, cmd):
        to = split_hostport(cmd['to']) if cmd.get('to') else self.gk
        self.ras.sendto(bytes.fromhex(cmd['hex']), to)
        return {'ok': True}

    def op_recv(self, cmd):
        try:
            return {'ok': True, 'msg': self.ras_queue.get(timeout=float(cmd.get('timeout', 2)))}
        except queue.Empty:
            return {'ok': True, 'msg': None}

    def op_auto(self, cmd):
        for k in self.auto:
            if k in cmd:
                self.auto[k] = bool(cmd[k])
        return {'ok': True, 'auto': dict(self.auto)}

    def op_log(self, cmd):
        with self.lock:
            return {'ok': True, 'log': list(self.received)}

    def op_clear_log(self, cmd):
        with self.lock:
            self.received.clear()
        return {'ok': True}

    def op_status(self, cmd):
        return {'ok': True, 'registered': self.registered, 'endpoint_id': self.endpoint_id,
                'gatekeeper_id': self.gatekeeper_id, 'ras': self.ras_addr, 'cs': self.cs_addr,
                'aliases': untyped_to_json(self.aliases), 'terminal_type': self.kind}

    # -- call signalling --------------------------------------------------------------------

    def uu_body_base(self, call):
        return {'protocolIdentifier': self.protocol, 'callIdentifier': {'guid': call.call_id}}

    def send_q931(self, call, msg_type, body=None, ies=(), h245=None, tunnelling=None,
                  uu_extra=None):
        """Sends one Q.931 message; body is the h323-message-body value (or None)."""
        uu = None
        if body is not None:
            pdu = {'h323-message-body': body}
            if tunnelling is None:
                tunnelling = call.h245_mode == 'tunnel'
            pdu['h245Tunnelling'] = tunnelling
            if h245:
                pdu['h245Control'] = [encode(MSCM, m) for m in h245]
            if uu_extra:
                pdu.update(uu_extra)
            value = {'h323-uu-pdu': pdu}
            self.check(UUI, value, msg_type)
            uu = encode(UUI, value)
        msg = q931.Message(q931.MESSAGE_TYPES[msg_type], call.crv,
                           from_destination=call.direction == 'in', ies=ies, user_user=uu)
        data = q931.tpkt(msg.encode())
        with call.lock:
            if call.sock is None:
                raise ValueError('call %d has no signalling connection' % call.n)
            call.sock.sendall(data)
        log('call %d Q.931 -> %s%s' % (call.n, msg_type, ' +H.245 %s' % ','.join(
            str(h245_name(m)) for m in h245) if h245 else ''))

    def fast_start_proposals(self, call, video):
        props = []
        sessions = [(1, AUDIO, None)] + ([(2, VIDEO, 97)] if video else [])
        for session, dtype, pt in sessions:
            media = Media(self.bind, session)
            call.media.append(media)
            call.lcn += 1
            props.append({'forwardLogicalChannelNumber': call.lcn,
                          'forwardLogicalChannelParameters': olc_params(
                              dtype, session, control=media.rtcp, payload_type=pt)})
            call.lcn += 1
            props.append({'forwardLogicalChannelNumber': call.lcn,
                          'forwardLogicalChannelParameters': {
                              'dataType': ('nullData', 0), 'multiplexParameters': ('none', 0)},
                          'reverseLogicalChannelParameters': olc_params(
                              dtype, session, media=media.rtp, control=media.rtcp,
                              payload_type=pt)})
        return props

    def accept_fast_start(self, call):
        """The first proposal of each direction of each session, with our addresses."""
        chosen = {}
        out = []
        for raw in call.fast_start_proposals:
            try:
                olc = decode(OLC, raw)
            except Exception:  # noqa: BLE001
                continue
            fwd = olc['forwardLogicalChannelParameters']
            rev = olc.get('reverseLogicalChannelParameters')
            caller_sends = fwd['dataType'][0] != 'nullData'
            params = (fwd if caller_sends else rev or {}).get('multiplexParameters')
            if not params or params[0] != 'h2250LogicalChannelParameters':
                continue
            session = params[1]['sessionID']
            key = (session, caller_sends)
            if key in chosen:
                continue
            media = next((m for m in call.media if m.session == session), None)
            if media is None:
                media = Media(self.bind, session)
                call.media.append(media)
            chosen[key] = True
            p = dict(params[1])
            if caller_sends:
                p['mediaChannel'] = h245_unicast(media.rtp)
                p['mediaControlChannel'] = h245_unicast(media.rtcp)
                fwd = dict(fwd, multiplexParameters=('h2250LogicalChannelParameters', p))
                olc = dict(olc, forwardLogicalChannelParameters=fwd)
            else:
                if 'mediaChannel' in p:
                    media.remote_rtp = transport_to_tuple(p['mediaChannel'])
                p['mediaControlChannel'] = h245_unicast(media.rtcp)
                rev = dict(rev, multiplexParameters=('h2250LogicalChannelParameters', p))
                call.lcn += 1
                olc = dict(olc, forwardLogicalChannelNumber=1000 + call.lcn,
                           reverseLogicalChannelParameters=rev)
            out.append(encode(OLC, olc))
        return out

    def h245_message(self, call, what, cmd=None):
        cmd = cmd or {}
        if what == 'tcs':
            call.tcs_seq = call.tcs_seq % 255 + 1
            table = [
                {'capabilityTableEntryNumber': 1,
                 'capability': ('receiveAudioCapability', ('g711Ulaw64k', 60))},
                {'capabilityTableEntryNumber': 2,
                 'capability': ('receiveAudioCapability', ('g711Alaw64k', 60))},
                {'capabilityTableEntryNumber': 3,
                 'capability': ('receiveVideoCapability',
                                ('genericVideoCapability', H264_CAPABILITY))},
                {'capabilityTableEntryNumber': 4,
                 'capability': ('receiveAndTransmitUserInputCapability', ('basicString', 0))},
                {'capabilityTableEntryNumber': 5,
                 'capability': ('receiveAndTransmitUserInputCapability', ('dtmf', 0))},
            ]
            return ('request', ('terminalCapabilitySet', {
                'sequenceNumber': call.tcs_seq, 'protocolIdentifier': H245_PROTOCOL,
                'multiplexCapability': ('h2250Capability', H2250_CAPABILITY),
                'capabilityTable': table,
                'capabilityDescriptors': [{'capabilityDescriptorNumber': 0,
                                           'simultaneousCapabilities': [[1, 2], [3], [4, 5]]}]}))
        if what == 'msd':
            call.msd_outstanding = True
            return ('request', ('masterSlaveDetermination', {
                'terminalType': int(cmd.get('terminal_type', H245_TERMINAL_TYPE[self.kind])),
                'statusDeterminationNumber': int(cmd.get('number', call.msd_number))}))
        if what == 'rtd':
            call.rtd_seq = call.rtd_seq % 255 + 1
            return ('request', ('roundTripDelayRequest', {'sequenceNumber': call.rtd_seq}))
        if what == 'uii':
            digit = str(cmd.get('digit', '5'))
            if cmd.get('uii_mode', 'alphanumeric') == 'signal':
                return ('indication', ('userInput', ('signal', {
                    'signalType': digit, 'duration': int(cmd.get('duration', 100))})))
            return ('indication', ('userInput', ('alphanumeric', digit)))
        if what == 'end_session':
            call.end_session_sent = True
            return ('command', ('endSessionCommand', ('disconnect', 0)))
        raise ValueError('unknown H.245 message %r' % what)

    def send_h245(self, call, msg, via=None):
        if via is None:
            if call.h245_sock is not None:
                via = 'separate'
            elif call.h245_mode == 'tunnel' and call.peer_tunnelling is not False:
                via = 'tunnel'
            elif call.h245_mode == 'none':
                raise ValueError('call %d has no H.245 (h245 "none")' % call.n)
            else:
                via = 'separate'
        if via == 'tunnel':
            self.send_q931(call, 'facility', ('empty', 0), h245=[msg], tunnelling=True)
            return via
        if not call.h245_up.wait(3) or call.h245_sock is None:
            raise ValueError('call %d: the H.245 connection is not up' % call.n)
        data = q931.tpkt(encode(MSCM, msg))
        with call.h245_lock:
            call.h245_sock.sendall(data)
        log('call %d H.245 -> %s (separate)' % (call.n, h245_name(msg)))
        return via

    def h245_received(self, call, data, via):
        try:
            msg = decode(MSCM, data)
        except Exception as err:  # noqa: BLE001
            entry = {'via': via, 'type': 'undecodable', 'value': data.hex(), 'error': str(err)}
            msg = None
        else:
            j = to_json(MSCM, msg)
            entry = {'via': via, 'type': j['type'], 'value': j['value'],
                     'name': h245_name(msg)}
        log('call %d H.245 <- %s (%s)' % (call.n, entry.get('name') or entry['type'], via))
        call.h245_log.append(entry)
        call.h245_queue.put(entry)
        self.record(dict(entry, proto='h245', call=call.n))
        if msg is not None and self.auto['h245']:
            try:
                self.h245_auto(call, msg, via)
            except Exception:  # noqa: BLE001
                log('H.245 auto answer failed', traceback.format_exc())
        return entry

    def h245_auto(self, call, msg, via):
        kind, (name, val) = msg
        reply = None
        if kind == 'request':
            if name == 'terminalCapabilitySet':
                reply = ('response', ('terminalCapabilitySetAck',
                                      {'sequenceNumber': val['sequenceNumber']}))
            elif name == 'masterSlaveDetermination':
                reply = self.msd_answer(call, val)
            elif name == 'roundTripDelayRequest':
                reply = ('response', ('roundTripDelayResponse',
                                      {'sequenceNumber': val['sequenceNumber']}))
            elif name == 'openLogicalChannel':
                media = Media(self.bind, 0)
                call.media.append(media)
                params = val['forwardLogicalChannelParameters']['multiplexParameters']
                session = params[1].get('sessionID', 0) if isinstance(params, tuple) else 0
                reply = ('response', ('openLogicalChannelAck', {
                    'forwardLogicalChannelNumber': val['forwardLogicalChannelNumber'],
                    'forwardMultiplexAckParameters': ('h2250LogicalChannelAckParameters', {
                        'sessionID': session or 1,
                        'mediaChannel': h245_unicast(media.rtp),
                        'mediaControlChannel': h245_unicast(media.rtcp)})}))
            elif name == 'closeLogicalChannel':
                reply = ('response', ('closeLogicalChannelAck', {
                    'forwardLogicalChannelNumber': val['forwardLogicalChannelNumber']}))
            elif name == 'requestChannelClose':
                reply = ('response', ('requestChannelCloseAck', {
                    'forwardLogicalChannelNumber': val['forwardLogicalChannelNumber']}))
        elif kind == 'response' and name == 'masterSlaveDeterminationAck':
            if call.msd_outstanding:
                call.msd_outstanding = False
                other = 'slave' if val['decision'][0] == 'master' else 'master'
                reply = ('response', ('masterSlaveDeterminationAck', {'decision': (other, 0)}))
        elif kind == 'command' and name == 'endSessionCommand' and not call.end_session_sent:
            call.end_session_sent = True
            reply = ('command', ('endSessionCommand', ('disconnect', 0)))
        if reply is not None:
            self.send_h245(call, reply, via)

    def msd_answer(self, call, val):
        """MSDAck telling the peer its role (or MSDReject when undecidable)."""
        ours = H245_TERMINAL_TYPE[self.kind]
        theirs = val['terminalType']
        if theirs != ours:
            we_master = ours > theirs
        else:
            diff = (val['statusDeterminationNumber'] - call.msd_number) & 0xFFFFFF
            if diff in (0, 0x800000):
                return ('response', ('masterSlaveDeterminationReject',
                                     {'cause': ('identicalNumbers', 0)}))
            we_master = diff < 0x800000
        # We answered their request: their ack to ours (if any) ends the procedure.
        call.msd_outstanding = False
        return ('response', ('masterSlaveDeterminationAck',
                             {'decision': ('slave' if we_master else 'master', 0)}))

    def h245_reader(self, call, sock):
        try:
            while True:
                data = q931.read_tpkt(sock)
                if data is None:
                    break
                self.h245_received(call, data, 'separate')
        except (OSError, q931.Q931Error) as err:
            log('call %d H.245 connection: %s' % (call.n, err))
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def h245_attach(self, call, sock):
        call.h245_sock = sock
        call.h245_up.set()
        threading.Thread(target=self.h245_reader, args=(call, sock), daemon=True).start()

    def h245_listen(self, call):
        lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lst.bind((self.bind, 0))
        lst.listen(1)
        call.h245_listener = lst
        call.h245_address = s_addr(lst)

        def accept():
            try:
                conn, _ = lst.accept()
            except OSError:
                return
            if call.h245_sock is None:
                self.h245_attach(call, conn)
            else:
                conn.close()
            lst.close()
        threading.Thread(target=accept, daemon=True).start()
        return call.h245_address

    def h245_connect(self, call, addr):
        if call.h245_sock is not None or call.h245_mode == 'none':
            return
        try:
            sock = socket.create_connection(addr, timeout=3, source_address=(self.bind, 0))
            sock.settimeout(None)
        except OSError as err:
            log('call %d: H.245 connect to %s failed: %s' % (call.n, addr, err))
            return
        if call.h245_listener is not None:
            try:
                call.h245_listener.close()
            except OSError:
                pass
        self.h245_attach(call, sock)

    # incoming connections -------------------------------------------------------------------

    def accept_loop(self):
        while True:
            try:
                conn, peer = self.listener.accept()
            except OSError:
                return
            call = self.new_call('in')
            call.sock = conn
            call.peer = '%s:%d' % peer[:2]
            call.state = 'connected_tcp'
            call.h245_mode = self.answer['h245']
            threading.Thread(target=self.cs_reader, args=(call,), daemon=True).start()

    def cs_reader(self, call):
        sock = call.sock
        try:
            while True:
                data = q931.read_tpkt(sock)
                if data is None:
                    break
                try:
                    self.cs_received(call, data)
                except Exception:  # noqa: BLE001
                    log('call %d: bad message %s\n%s' % (call.n, data.hex(),
                                                          traceback.format_exc()))
                    entry = {'type': 'undecodable', 'hex': data.hex()}
                    call.queue.put(entry)
                    self.record(dict(entry, proto='q931', call=call.n))
        except (OSError, q931.Q931Error) as err:
            log('call %d signalling connection: %s' % (call.n, err))
        finally:
            call.closed = True
            if call.state not in ('released',):
                call.state = 'released' if call.state != 'idle' else call.state
            self.close_call(call)

    def close_call(self, call):
        for s in (call.sock, call.h245_sock, call.h245_listener):
            if s is None:
                continue
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass
        for m in call.media:
            m.close()

    def cs_received(self, call, data):
        msg = q931.Message.decode(data)
        log('call %d Q.931 <- %s' % (call.n, msg.name))
        entry = {'type': msg.name, 'crv': msg.call_ref, 'from_destination': msg.from_destination,
                 'cause': msg.cause(), 'display': msg.display(),
                 'called': msg.number(q931.IE_CALLED_PARTY_NUMBER),
                 'calling': msg.number(q931.IE_CALLING_PARTY_NUMBER),
                 'ies': [{'id': ident, 'name': q931.IE_NAMES.get(ident, 'ie_0x%02x' % ident),
                          'hex': d.hex() if d is not None else None} for ident, d in msg.ies],
                 'uuie': None, 'uu_pdu': None, 'h245_tunnelling': None, 'h245': [],
                 'fast_start': []}
        body = None
        pdu = {}
        if msg.user_user is not None:
            uu = decode(UUI, msg.user_user)
            pdu = uu['h323-uu-pdu']
            body = pdu['h323-message-body']
            pj = to_json(UUI, uu)['h323-uu-pdu']
            entry['uu_pdu'] = pj
            entry['uuie'] = pj['h323-message-body']
            entry['h245_tunnelling'] = pdu.get('h245Tunnelling')
            if isinstance(body[1], dict):
                for raw in body[1].get('fastStart', []):
                    try:
                        entry['fast_start'].append(to_json(OLC, decode(OLC, raw)))
                    except Exception:  # noqa: BLE001
                        entry['fast_start'].append({'undecodable': raw.hex()})
        tunnelled = pdu.get('h245Control', [])
        first_setup = msg.name == 'setup' and call.direction == 'in' and call.setup is None
        if first_setup:
            self.take_setup(call, msg, body[1] if body else {}, pdu)
        elif body is not None and msg.name in ('callProceeding', 'alerting', 'connect',
                                               'progress'):
            call.peer_tunnelling = bool(pdu.get('h245Tunnelling', False))
            if not call.peer_tunnelling and call.h245_mode == 'tunnel':
                call.h245_mode = 'separate'  # tunnelling refused: fall back
        state = {'callProceeding': 'proceeding', 'alerting': 'alerting', 'connect': 'connected',
                 'progress': 'progress'}.get(msg.name)
        if state and call.direction == 'out' and call.state not in ('released',):
            call.state = state
        # Decode tunnelled H.245 first so that the CS entry carries it.
        entries = []
        for raw in tunnelled:
            try:
                j = to_json(MSCM, decode(MSCM, raw))
                entries.append({'type': j['type'], 'value': j['value'],
                                'name': j['value'].get('type') if isinstance(j['value'], dict)
                                else None})
            except Exception:  # noqa: BLE001
                entries.append({'type': 'undecodable', 'value': raw.hex()})
        entry['h245'] = entries
        # Logged and queued before any reaction, so that a test sees it first.
        self.record(dict(entry, proto='q931', call=call.n))
        call.queue.put(entry)
        if first_setup:
            self.incoming.put(call.n)
        try:
            self.cs_react(call, msg, body, pdu, tunnelled, first_setup)
        except Exception:  # noqa: BLE001
            log('call %d: reacting to %s failed\n%s' % (call.n, msg.name,
                                                       traceback.format_exc()))

    def cs_react(self, call, msg, body, pdu, tunnelled, first_setup):
        if first_setup:
            self.answer_setup(call)
        for raw in tunnelled:
            self.h245_received(call, raw, 'tunnel')
        if body is not None and isinstance(body[1], dict) and body[1].get('h245Address'):
            addr = transport_to_tuple(body[1]['h245Address'])
            if addr and call.h245_mode == 'separate' and call.h245_sock is None:
                threading.Thread(target=self.h245_connect, args=(call, addr),
                                 daemon=True).start()
        if msg.name == 'statusInquiry':
            self.send_q931(call, 'status', ('status', self.uu_body_base(call)),
                           ies=[(q931.IE_CAUSE, q931.cause_ie(30)),
                                (q931.IE_CALL_STATE, q931.call_state_ie(10))])
        if msg.name == 'releaseComplete':
            call.state = 'released'
            call.cause = msg.cause()
            try:
                call.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def take_setup(self, call, msg, setup, pdu):
        call.setup = setup
        if setup.get('callIdentifier'):
            call.call_id = setup['callIdentifier']['guid']
        if setup.get('conferenceID'):
            call.conf_id = setup['conferenceID']
        call.crv = msg.call_ref
        call.source = setup.get('sourceAddress', [])
        call.dest = setup.get('destinationAddress', [])
        call.fast_start_proposals = setup.get('fastStart', [])
        call.peer_tunnelling = bool(pdu.get('h245Tunnelling', False))
        if call.h245_mode == 'tunnel' and not call.peer_tunnelling:
            call.h245_mode = 'separate'  # the caller does not tunnel: neither do we
        call.state = 'setup_received'

    def answer_setup(self, call):
        mode = self.answer['mode']
        if mode == 'ignore':
            return
        if mode == 'busy':
            self.release(call, 17, 'inConf')
            return
        if mode == 'reject':
            self.release(call, 21, 'destinationRejection')
            return
        self.send_q931(call, 'callProceeding', ('callProceeding', self.reply_body(call)))
        call.state = 'proceeding'
        if self.answer['arq']:
            res = self.op_arq({'call': call.n, 'answer_call': True})
            if not res['msg'] or res['msg']['type'] != 'admissionConfirm':
                self.release(call, 21, 'destinationRejection')
                return
        fast = []
        if self.answer['fast_start'] and call.fast_start_proposals:
            fast = self.accept_fast_start(call)
        call.accepted_fast_start = fast
        body = self.reply_body(call)
        if fast:
            body['fastStart'] = fast
        self.send_q931(call, 'alerting', ('alerting', body))
        call.state = 'alerting'
        if mode != 'connect':
            return
        ring = float(self.answer.get('ring_time') or 0)
        if ring > 0:
            threading.Timer(ring, self.safe_connect, args=(call,)).start()
        else:
            self.connect(call)

    def safe_connect(self, call):
        try:
            if call.state == 'alerting':
                self.connect(call)
        except Exception:  # noqa: BLE001
            log('connect failed', traceback.format_exc())

    def reply_body(self, call):
        body = self.uu_body_base(call)
        body.update({'destinationInfo': self.my_type(), 'multipleCalls': False,
                     'maintainConnection': False})
        return body

    def connect(self, call):
        body = self.reply_body(call)
        body['conferenceID'] = call.conf_id
        fast = getattr(call, 'accepted_fast_start', None)
        if fast:
            body['fastStart'] = fast
        if self.aliases:
            body['connectedAddress'] = self.aliases
        if call.h245_mode == 'separate':
            offered = (call.setup or {}).get('h245Address')
            if offered and call.h245_sock is None:
                # The caller listens: we connect (cs_received started that) and offer none.
                pass
            else:
                body['h245Address'] = transport(call.h245_address or self.h245_listen(call))
        self.send_q931(call, 'connect', ('connect', body))
        call.state = 'connected'

    def release(self, call, cause=16, reason=None):
        body = self.uu_body_base(call)
        if reason:
            body['reason'] = (reason, 0)
        self.send_q931(call, 'releaseComplete', ('releaseComplete', body),
                       ies=[(q931.IE_CAUSE, q931.cause_ie(cause))])
        call.state = 'released'
        call.cause = cause
        try:
            call.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    # CS commands --------------------------------------------------------------------------

    def op_call(self, cmd):
        call = self.get_call(cmd, default_last=False) if cmd.get('call') is not None \
            else self.new_call('out')
        if call.sock is not None:
            raise ValueError('call %d already has a signalling connection' % call.n)
        if cmd.get('call_id'):
            call.call_id = guid(cmd['call_id'])
        if cmd.get('conference_id'):
            call.conf_id = guid(cmd['conference_id'])
        to = cmd.get('to') or call.acf_dest
        if not to:
            raise ValueError('no "to" and no ACF address for call %d' % call.n)
        dest = aliases(cmd.get('dest')) if cmd.get('dest') is not None else call.dest
        src = aliases(cmd.get('source')) if cmd.get('source') is not None else \
            (call.source or self.aliases)
        call.dest, call.source = dest, src
        mode = cmd.get('h245', 'tunnel')
        if mode not in ('tunnel', 'separate', 'none'):
            raise ValueError('h245 is tunnel, separate or none')
        call.h245_mode = mode
        host, port = split_hostport(to)
        call.sock = socket.create_connection((host, port), timeout=float(cmd.get('timeout', 3)),
                                             source_address=(self.bind, 0))
        call.sock.settimeout(None)
        call.peer = '%s:%d' % (host, port)
        setup = {'protocolIdentifier': self.protocol, 'sourceInfo': self.my_type(),
                 'activeMC': False, 'conferenceID': call.conf_id,
                 'conferenceGoal': ('create', 0), 'callType': ('pointToPoint', 0),
                 'sourceCallSignalAddress': transport(self.cs_addr),
                 'destCallSignalAddress': transport((host, port)),
                 'callIdentifier': {'guid': call.call_id},
                 'mediaWaitForConnect': False, 'canOverlapSend': False,
                 'multipleCalls': False, 'maintainConnection': False}
        if src:
            setup['sourceAddress'] = src
        if dest:
            setup['destinationAddress'] = dest
        if self.endpoint_id:
            setup['endpointIdentifier'] = self.endpoint_id
        if mode == 'separate' and cmd.get('offer_h245'):
            setup['h245Address'] = transport(self.h245_listen(call))
        if cmd.get('fast_start', True):
            call.fast_start_proposals = [encode(OLC, p) for p in
                                         self.fast_start_proposals(call, cmd.get('video'))]
            setup['fastStart'] = call.fast_start_proposals
        for k, v in (cmd.get('extra') or {}).items():
            setup[k] = from_json(MSG.Setup_UUIE._cont[k], v)
        bearer = q931.BEARER_DIGITAL if cmd.get('bearer') == 'digital' else q931.BEARER_SPEECH
        ies = [(q931.IE_BEARER_CAPABILITY, bearer)]
        display = cmd.get('display', 'causeway test')
        if display:
            ies.append((q931.IE_DISPLAY, q931.display_ie(display)))
        e164 = next((a[1] for a in dest or [] if a[0] == 'dialledDigits'), None)
        if e164:
            ies.append((q931.IE_CALLED_PARTY_NUMBER, q931.number_ie(e164)))
        e164 = next((a[1] for a in src or [] if a[0] == 'dialledDigits'), None)
        if e164:
            ies.append((q931.IE_CALLING_PARTY_NUMBER, q931.number_ie(e164)))
        h245 = [self.h245_message(call, w, cmd) for w in cmd.get('setup_h245') or []]
        call.state = 'setup_sent'
        threading.Thread(target=self.cs_reader, args=(call,), daemon=True).start()
        self.send_q931(call, 'setup', ('setup', setup), ies=ies, h245=h245 or None)
        return {'ok': True, 'call': call.n, 'call_id': call.call_id.hex(),
                'conference_id': call.conf_id.hex(), 'crv': call.crv}

    def op_cs_recv(self, cmd):
        call = self.get_call(cmd)
        try:
            msg = call.queue.get(timeout=float(cmd.get('timeout', 2)))
        except queue.Empty:
            msg = None
        return {'ok': True, 'msg': msg, 'closed': call.closed and call.queue.empty()}

    def op_incoming(self, cmd):
        try:
            n = self.incoming.get(timeout=float(cmd.get('timeout', 2)))
        except queue.Empty:
            return {'ok': True, 'call': None, 'msg': None}
        with self.lock:
            setup = next((e for e in self.received
                          if e.get('proto') == 'q931' and e.get('call') == n
                          and e['type'] == 'setup'), None)
        return {'ok': True, 'call': n, 'msg': setup}

    def op_answer_mode(self, cmd):
        if cmd.get('mode', self.answer['mode']) not in ('connect', 'alerting', 'busy', 'reject',
                                                        'ignore'):
            raise ValueError('bad mode')
        if cmd.get('h245', self.answer['h245']) not in ('tunnel', 'separate', 'none'):
            raise ValueError('bad h245 mode')
        for k in ('mode', 'h245', 'fast_start', 'arq', 'ring_time'):
            if k in cmd:
                self.answer[k] = cmd[k]
        return {'ok': True, 'answer': dict(self.answer)}

    def op_connect(self, cmd):
        call = self.get_call(cmd)
        self.connect(call)
        return {'ok': True, 'call': call.n}

    def op_release(self, cmd):
        call = self.get_call(cmd)
        self.release(call, int(cmd.get('cause', 16)), cmd.get('reason'))
        return {'ok': True, 'call': call.n}

    def op_cs_send(self, cmd):
        call = self.get_call(cmd)
        kind = cmd['type']
        body_type = UUI._cont['h323-uu-pdu']._cont['h323-message-body']
        if kind in body_type._cont and body_type._cont[kind].TYPE == TYPE_NULL:
            body = (kind, 0)
        elif kind in body_type._cont:
            val = self.uu_body_base(call)
            if kind == 'facility':
                val.update({'reason': ('undefinedReason', 0), 'multipleCalls': False,
                            'maintainConnection': False})
            if kind in ('callProceeding', 'alerting', 'progress'):
                val.update(self.reply_body(call))
            comp = body_type._cont[kind]
            for k, v in (cmd.get('body') or {}).items():
                val[k] = from_json(comp._cont[k], v)
            body = (kind, val)
        else:
            body = None
        ies = []
        if cmd.get('cause') is not None:
            ies.append((q931.IE_CAUSE, q931.cause_ie(int(cmd['cause']))))
        if cmd.get('display'):
            ies.append((q931.IE_DISPLAY, q931.display_ie(cmd['display'])))
        h245 = [self.h245_message(call, w, cmd) for w in cmd.get('h245') or []]
        self.send_q931(call, kind, body, ies=ies, h245=h245 or None)
        return {'ok': True, 'call': call.n}

    def op_calls(self, cmd):
        with self.lock:
            return {'ok': True, 'calls': [c.info() for c in self.calls.values()]}

    def op_h245(self, cmd):
        call = self.get_call(cmd)
        msg = self.h245_message(call, cmd.get('send', 'tcs'), cmd)
        via = self.send_h245(call, msg, cmd.get('via'))
        return {'ok': True, 'call': call.n, 'via': via, 'sent': to_json(MSCM, msg)}

    def op_h245_log(self, cmd):
        call = self.get_call(cmd)
        return {'ok': True, 'call': call.n, 'log': list(call.h245_log)}

    def op_h245_recv(self, cmd):
        call = self.get_call(cmd)
        try:
            msg = call.h245_queue.get(timeout=float(cmd.get('timeout', 2)))
        except queue.Empty:
            msg = None
        return {'ok': True, 'call': call.n, 'msg': msg}

    def op_quit(self, cmd):
        return {'ok': True}

    # -- driver -----------------------------------------------------------------------------

    def handle(self, cmd):
        op = cmd.get('op')
        fn = getattr(self, 'op_' + str(op), None)
        if fn is None:
            return {'ok': False, 'error': 'unknown op %r' % op}
        return fn(cmd)


def main():
    global NAME
    parser = argparse.ArgumentParser(description='scriptable H.323 test endpoint')
    parser.add_argument('--gk', help='gatekeeper RAS address HOST:PORT')
    parser.add_argument('--bind', default='127.0.0.1')
    parser.add_argument('--ras-port', type=int, default=0)
    parser.add_argument('--cs-port', type=int, default=0)
    parser.add_argument('--h225-version', type=int, default=7)
    parser.add_argument('--name', default=None, help='a label for the stderr log')
    args = parser.parse_args()
    ep = Endpoint(args)
    NAME = args.name or ep.cs_addr
    out = sys.stdout
    out.write(json.dumps({'ready': True, 'ras': ep.ras_addr, 'cs': ep.cs_addr}) + '\n')
    out.flush()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
            reply = ep.handle(cmd)
        except Exception as err:  # noqa: BLE001
            log('command failed:', line, traceback.format_exc())
            reply = {'ok': False, 'error': ('%s: %s' % (type(err).__name__, err))[:600]}
            cmd = {}
        out.write(json.dumps(reply) + '\n')
        out.flush()
        if cmd.get('op') == 'quit':
            break
    with ep.lock:
        calls = list(ep.calls.values())
    for call in calls:
        ep.close_call(call)
    os._exit(0)


if __name__ == '__main__':
    main()
