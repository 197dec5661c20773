"""The sample messages, in pycrate's value notation.

One list, CASES, of (name, top-level type, value). The cross-check (crosscheck.py) encodes
them with pycrate; make_samples.py writes the same values as Rust literals into
src/samples/values.rs, which the Rust tests encode with the generated codec. Add a case here,
run make_samples.py, and both sides have it.

Notation (pycrate): SEQUENCE = dict without the absent components, CHOICE = (name, value),
SEQUENCE OF = list, OCTET STRING = bytes, BIT STRING = (int, number of bits), NULL = 0,
OBJECT IDENTIFIER = tuple, ENUMERATED = name.
"""

import importlib.util
import os
import tempfile

from pycrate_asn1dir import H225


def compile_modules():
    """pycrate's compiler on the five module texts of asn1/ (pycrate_asn1dir has no H.460.18
    or H.460.19 module). Takes about a second."""
    from pycrate_asn1c.asnproc import compile_text, generate_modules, PycrateGenerator
    here = os.path.dirname(os.path.abspath(__file__))
    asn1 = os.path.join(here, '..', '..', 'asn1')
    texts = []
    for name in ('H235-SECURITY-MESSAGES', 'MULTIMEDIA-SYSTEM-CONTROL', 'H323-MESSAGES',
                 'SIGNALLING-TRAVERSAL', 'MEDIA-TRAVERSAL'):
        with open(os.path.join(asn1, name + '.asn'), encoding='utf-8') as f:
            texts.append(f.read())
    compile_text(texts)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'h323_modules.py')
        generate_modules(PycrateGenerator, path)
        spec = importlib.util.spec_from_file_location('h323_modules', path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


COMPILED = compile_modules()
H460_18_MOD = COMPILED.SIGNALLING_TRAVERSAL
H460_19_MOD = COMPILED.MEDIA_TRAVERSAL

M = H225.H323_MESSAGES
H235 = H225.H235_SECURITY_MESSAGES
H245 = H225.MULTIMEDIA_SYSTEM_CONTROL

H225_V7 = (0, 0, 8, 2250, 0, 7)
H245_V15 = (0, 0, 8, 245, 0, 15)
H460_18 = 18  # GenericIdentifier standard numbers (H.460.x feature numbers)
H460_19 = 19


def ip(a, b, c, d, port):
    return ('ipAddress', {'ip': bytes([a, b, c, d]), 'port': port})


def ip6(port):
    return ('ip6Address', {'ip': bytes.fromhex('20010db8000000000000000000000001'), 'port': port})


def h323_id(name):
    return ('h323-ID', name)


def e164(digits):
    return ('dialledDigits', digits)


def url(u):
    return ('url-ID', u)


CALL_ID = {'guid': bytes.fromhex('00112233445566778899aabbccddeeff')}
CONF_ID = bytes.fromhex('0f1e2d3c4b5a69788796a5b4c3d2e1f0')
GK_ID = 'causeway-gk'
EP_ID = '1234567890abcdef'
VENDOR = {'vendor': {'t35CountryCode': 181, 't35Extension': 0, 'manufacturerCode': 21324},
          'productId': b'causeway', 'versionId': b'0.1.0'}
TERMINAL = {'terminal': {}, 'mc': False, 'undefinedNode': False}
GATEWAY = {'gateway': {'protocol': [('voice', {'supportedPrefixes': [{'prefix': e164('9')}]}),
                                    ('h323', {'supportedPrefixes': []})]},
           'vendor': VENDOR, 'mc': False, 'undefinedNode': False}
NON_STANDARD = {'nonStandardIdentifier': ('h221NonStandard',
                                          {'t35CountryCode': 181, 't35Extension': 0,
                                           'manufacturerCode': 18}),
                'data': b'\x01\x02\x03'}

# H.235.0 tokens.
CLEAR_TOKEN = {'tokenOID': (0, 0, 8, 235, 0, 2, 5), 'timeStamp': 1700000000,
               'random': 42, 'generalID': GK_ID, 'sendersID': 'alice'}
HASHED = {'algorithmOID': (1, 2, 840, 113549, 2, 5), 'paramS': {},
          'hash': (0x0123456789abcdef0123456789abcdef, 128)}
PWD_HASH = ('cryptoEPPwdHash', {'alias': h323_id('alice'), 'timeStamp': 1700000000,
                                'token': HASHED})
NESTED_HASH = ('nestedcryptoToken', ('cryptoHashedToken', {
    'tokenOID': (0, 0, 8, 235, 0, 2, 1),
    'hashedVals': {'tokenOID': (0, 0, 8, 235, 0, 2, 5), 'timeStamp': 1700000000,
                   'random': 7, 'generalID': GK_ID, 'sendersID': EP_ID},
    'token': {'algorithmOID': (0, 0, 8, 235, 0, 2, 6), 'paramS': {'ranInt': -5},
              'hash': (0xabc, 12)}}))


def encoded(obj, value):
    """The aligned-PER encoding of value as obj: the content of an open type."""
    obj.set_val(value)
    return obj.to_aper()


# An open type (TYPE-IDENTIFIER.&Type(PwdCertToken)) carried as its encoded octets.
SIGNED_CERT = ('cryptoEPCert', {
    'toBeSigned': ('_unk_004', encoded(H235.ClearToken, {'tokenOID': (0, 0, 8, 235, 0, 2, 5),
                                                          'timeStamp': 1700000001,
                                                          'generalID': 'alice'})),
    'algorithmOID': (1, 2, 840, 113549, 1, 1, 11),
    'paramS': {'iv8': b'\x00\x01\x02\x03\x04\x05\x06\x07', 'iv16': bytes(range(16)),
               'clearSalt': b'salt'},
    'signature': (0x5a5a5a5a, 32)})

# H.460.18 / H.460.19 feature advertisement (GenericData / FeatureDescriptor).
TRAVERSAL_FEATURES = {'replacementFeatureSet': False,
                      'supportedFeatures': [{'id': ('standard', H460_18)},
                                            {'id': ('standard', H460_19),
                                             'parameters': [{'id': ('standard', 2)}]}]}
# A feature number that no Recommendation uses, so that tshark does not read the contents as
# H.460.x parameters.
UNASSIGNED_FEATURE = 1000
GENERIC_DATA = [{'id': ('standard', UNASSIGNED_FEATURE),
                 'parameters': [{'id': ('nonStandard', bytes(range(16))),
                                 'content': ('raw', b'\x80\x01')},
                                {'id': ('standard', 2), 'content': ('number32', 300)},
                                {'id': ('oid', (1, 3, 6, 1, 4, 1, 9, 1)),
                                 'content': ('text', 'hello')},
                                {'id': ('nonStandard', CALL_ID['guid']),
                                 'content': ('compound', [{'id': ('standard', 3),
                                                           'content': ('bool', True)}])},
                                {'id': ('standard', 4), 'content': ('transport', ip(10, 0, 0, 1, 1720))},
                                {'id': ('standard', 5), 'content': ('alias', h323_id('bob'))},
                                {'id': ('standard', 6), 'content': ('unicode', 'x\u00e9')},
                                {'id': ('standard', 7), 'content': ('number8', 255)},
                                {'id': ('standard', 8), 'content': ('number16', 65535)},
                                {'id': ('standard', 9), 'content': ('id', ('standard', 100))},
                                {'id': ('standard', 10), 'content': ('nested', [
                                    {'id': ('standard', 1)}])}]}]


# H.460.18 and H.460.19 structures (carried as encoded octets in GenericData and H.245
# genericInformation).
INCOMING_CALL = {'callSignallingAddress': ('ipAddress', {'ip': bytes([203, 0, 113, 5]),
                                                         'port': 1720}),
                 'callID': CALL_ID}
LRQ_KEEP_ALIVE = {'lrqKeepAliveInterval': 30}
TRAVERSAL_PARAMETERS = {
    'multiplexedMediaChannel': ('unicastAddress', ('iPAddress', {
        'network': bytes([203, 0, 113, 5]), 'tsapIdentifier': 50000})),
    'multiplexedMediaControlChannel': ('unicastAddress', ('iPAddress', {
        'network': bytes([203, 0, 113, 5]), 'tsapIdentifier': 50001})),
    'multiplexID': 0x12345678,
    'keepAliveChannel': ('unicastAddress', ('iPAddress', {
        'network': bytes([203, 0, 113, 5]), 'tsapIdentifier': 50002})),
    'keepAlivePayloadType': 127,
    'keepAliveInterval': 20}


def rrq_base(seq):
    return {'requestSeqNum': seq, 'protocolIdentifier': H225_V7, 'discoveryComplete': False,
            'callSignalAddress': [ip(192, 168, 1, 10, 1720)],
            'rasAddress': [ip(192, 168, 1, 10, 1719)],
            'terminalType': TERMINAL, 'endpointVendor': VENDOR}


RRQ_FULL = dict(rrq_base(2), **{
    'terminalAlias': [h323_id('alice'), e164('1001'), url('h323:alice@example.com'),
                      ('email-ID', 'alice@example.com'),
                      ('transportID', ip(192, 168, 1, 10, 1720))],
    'gatekeeperIdentifier': GK_ID,
    'timeToLive': 300,
    'tokens': [CLEAR_TOKEN],
    'cryptoTokens': [PWD_HASH, NESTED_HASH],
    'keepAlive': False,
    'willSupplyUUIEs': False,
    'maintainConnection': False,
    'supportsAltGK': 0,
    'multipleCalls': False,
    'featureSet': TRAVERSAL_FEATURES,
    'genericData': GENERIC_DATA,
    'supportsAssignedGK': False,
    'language': ['en', 'fr'],
})

RRQ_KEEPALIVE = dict(rrq_base(3), **{
    'terminalAlias': [h323_id('alice')],
    'timeToLive': 60,
    'keepAlive': True,
    'endpointIdentifier': EP_ID,
    'gatekeeperIdentifier': GK_ID,
    'willSupplyUUIEs': False,
    'maintainConnection': True,
})

# An H.225.0 version 2 RRQ: no extension additions at all (keepAlive and the other mandatory
# additions are absent).
RRQ_V2 = dict(rrq_base(4), protocolIdentifier=(0, 0, 8, 2250, 0, 2))

ARQ = {'requestSeqNum': 20, 'callType': ('pointToPoint', 0), 'callModel': ('gatekeeperRouted', 0),
       'endpointIdentifier': EP_ID,
       'destinationInfo': [e164('2002'), h323_id('bob')],
       'srcInfo': [h323_id('alice'), e164('1001')],
       'srcCallSignalAddress': ip(192, 168, 1, 10, 1720),
       'bandWidth': 3840, 'callReferenceValue': 17, 'conferenceID': CONF_ID,
       'activeMC': False, 'answerCall': False,
       'canMapAlias': True, 'callIdentifier': CALL_ID, 'gatekeeperIdentifier': GK_ID,
       'cryptoTokens': [SIGNED_CERT],
       'willSupplyUUIEs': False, 'canMapSrcAlias': False}

UUIES_REQUESTED = {'setup': False, 'callProceeding': False, 'connect': True, 'alerting': False,
                   'information': False, 'releaseComplete': True, 'facility': False,
                   'progress': False, 'empty': False, 'status': False, 'statusInquiry': False,
                   'setupAcknowledge': False, 'notify': False}

RAS = [
    ('grq', ('gatekeeperRequest', {
        'requestSeqNum': 1, 'protocolIdentifier': H225_V7,
        'rasAddress': ip(192, 168, 1, 10, 1719), 'endpointType': TERMINAL,
        'endpointAlias': [h323_id('alice')],
        'authenticationCapability': [('pwdHash', 0), ('keyExch', (0, 0, 8, 235, 0, 3, 24))],
        'algorithmOIDs': [(1, 2, 840, 113549, 2, 5)],
        'supportsAltGK': 0, 'featureSet': TRAVERSAL_FEATURES, 'supportsAssignedGK': False})),
    ('gcf', ('gatekeeperConfirm', {
        'requestSeqNum': 1, 'protocolIdentifier': H225_V7, 'gatekeeperIdentifier': GK_ID,
        'rasAddress': ip(192, 168, 1, 1, 1719),
        'alternateGatekeeper': [{'rasAddress': ip(192, 168, 1, 2, 1719),
                                 'gatekeeperIdentifier': 'causeway-gk2',
                                 'needToRegister': True, 'priority': 1}],
        'authenticationMode': ('pwdHash', 0), 'algorithmOID': (1, 2, 840, 113549, 2, 5),
        'featureSet': TRAVERSAL_FEATURES, 'rehomingModel': ('gatekeeperBased', 0)})),
    ('grj', ('gatekeeperReject', {
        'requestSeqNum': 1, 'protocolIdentifier': H225_V7, 'gatekeeperIdentifier': GK_ID,
        'rejectReason': ('securityDenial', 0)})),
    ('rrq', ('registrationRequest', RRQ_FULL)),
    ('rrq_keepalive', ('registrationRequest', RRQ_KEEPALIVE)),
    ('rrq_v2', ('registrationRequest', RRQ_V2)),
    ('rcf', ('registrationConfirm', {
        'requestSeqNum': 2, 'protocolIdentifier': H225_V7,
        'callSignalAddress': [ip(192, 168, 1, 1, 1720)],
        'terminalAlias': [h323_id('alice'), e164('1001')],
        'gatekeeperIdentifier': GK_ID, 'endpointIdentifier': EP_ID,
        'timeToLive': 300, 'willRespondToIRR': False,
        'preGrantedARQ': {'makeCall': True, 'useGKCallSignalAddressToMakeCall': True,
                          'answerCall': True, 'useGKCallSignalAddressToAnswer': True,
                          'irrFrequencyInCall': 120, 'totalBandwidthRestriction': 100000,
                          'alternateTransportAddresses': {'annexE': [ip(192, 168, 1, 1, 2517)]},
                          'useSpecifiedTransport': ('tcp', 0)},
        'maintainConnection': False, 'supportsAdditiveRegistration': 0,
        'featureSet': TRAVERSAL_FEATURES, 'genericData': GENERIC_DATA})),
    ('rcf_plain', ('registrationConfirm', {
        'requestSeqNum': 3, 'protocolIdentifier': H225_V7,
        'callSignalAddress': [ip(192, 168, 1, 1, 1720)], 'gatekeeperIdentifier': GK_ID,
        'endpointIdentifier': EP_ID, 'timeToLive': 60, 'willRespondToIRR': False,
        'maintainConnection': True})),
    ('rrj', ('registrationReject', {
        'requestSeqNum': 2, 'protocolIdentifier': H225_V7, 'gatekeeperIdentifier': GK_ID,
        'rejectReason': ('duplicateAlias', [h323_id('alice')])})),
    ('rrj_security', ('registrationReject', {
        'requestSeqNum': 5, 'protocolIdentifier': H225_V7,
        'rejectReason': ('securityError', ('securityWrongGeneralID', 0))})),
    ('rrj_full_registration', ('registrationReject', {
        'requestSeqNum': 6, 'protocolIdentifier': H225_V7,
        'rejectReason': ('fullRegistrationRequired', 0),
        'altGKInfo': {'alternateGatekeeper': [{'rasAddress': ip6(1719), 'needToRegister': True,
                                               'priority': 0}],
                      'altGKisPermanent': False}})),
    ('rrj_invalid_aliases', ('registrationReject', {
        'requestSeqNum': 7, 'protocolIdentifier': H225_V7,
        'rejectReason': ('invalidTerminalAliases', {
            'terminalAlias': [h323_id('mallory')],
            'terminalAliasPattern': [('range', {'startOfRange': ('e164Number', {
                'publicTypeOfNumber': ('internationalNumber', 0), 'publicNumberDigits': '4420'}),
                'endOfRange': ('e164Number', {'publicTypeOfNumber': ('internationalNumber', 0),
                                              'publicNumberDigits': '4429'})})],
            'supportedPrefixes': [{'prefix': e164('0')}]})})),
    ('urq', ('unregistrationRequest', {
        'requestSeqNum': 8, 'callSignalAddress': [ip(192, 168, 1, 10, 1720)],
        'endpointAlias': [h323_id('alice')], 'endpointIdentifier': EP_ID,
        'gatekeeperIdentifier': GK_ID, 'reason': ('ttlExpired', 0)})),
    ('ucf', ('unregistrationConfirm', {'requestSeqNum': 8})),
    ('urj', ('unregistrationReject', {'requestSeqNum': 8,
                                      'rejectReason': ('notCurrentlyRegistered', 0)})),
    ('arq', ('admissionRequest', ARQ)),
    ('acf', ('admissionConfirm', {
        'requestSeqNum': 20, 'bandWidth': 3840, 'callModel': ('gatekeeperRouted', 0),
        'destCallSignalAddress': ip(192, 168, 1, 1, 1720), 'irrFrequency': 30,
        'destinationInfo': [e164('2002')], 'destinationType': GATEWAY,
        'willRespondToIRR': False, 'uuiesRequested': UUIES_REQUESTED,
        'language': ['en'], 'useSpecifiedTransport': ('annexE', 0),
        'supportedProtocols': [('h323', {})], 'multipleCalls': False,
        'modifiedSrcInfo': [e164('14155550100')]})),
    # ARQ and DRQ from a version 1 endpoint (no extension additions).
    ('arq_v1', ('admissionRequest', {k: v for k, v in ARQ.items()
                                     if k in M.AdmissionRequest._root})),
    ('acf_plain', ('admissionConfirm', {
        'requestSeqNum': 20, 'bandWidth': 3840, 'callModel': ('gatekeeperRouted', 0),
        'destCallSignalAddress': ip(192, 168, 1, 1, 1720), 'irrFrequency': 30,
        'destinationInfo': [e164('2002')], 'destinationType': TERMINAL,
        'willRespondToIRR': False})),
    ('arj', ('admissionReject', {'requestSeqNum': 20,
                                 'rejectReason': ('calledPartyNotRegistered', 0)})),
    ('arj_incomplete', ('admissionReject', {
        'requestSeqNum': 21, 'rejectReason': ('incompleteAddress', 0),
        'callSignalAddress': [ip(192, 168, 1, 1, 1720)],
        'serviceControl': [{'sessionId': 1,
                            'contents': ('url', 'http://gk.example.com/pin'),
                            'reason': ('open', 0)}]})),
    ('brq', ('bandwidthRequest', {
        'requestSeqNum': 30, 'endpointIdentifier': EP_ID, 'conferenceID': CONF_ID,
        'callReferenceValue': 17, 'callType': ('pointToPoint', 0), 'bandWidth': 7680,
        'callIdentifier': CALL_ID, 'gatekeeperIdentifier': GK_ID, 'answeredCall': False,
        'usageInformation': {'nonStandardUsageFields': [], 'alertingTime': 1700000000,
                             'connectTime': 1700000002}})),
    ('bcf', ('bandwidthConfirm', {'requestSeqNum': 30, 'bandWidth': 7680})),
    ('brj', ('bandwidthReject', {'requestSeqNum': 30, 'rejectReason': ('insufficientResources', 0),
                                 'allowedBandWidth': 3840})),
    ('drq', ('disengageRequest', {
        'requestSeqNum': 40, 'endpointIdentifier': EP_ID, 'conferenceID': CONF_ID,
        'callReferenceValue': 17, 'disengageReason': ('normalDrop', 0),
        'callIdentifier': CALL_ID, 'gatekeeperIdentifier': GK_ID, 'answeredCall': False,
        'usageInformation': {'nonStandardUsageFields': [], 'connectTime': 1700000002,
                             'endTime': 1700000100},
        'terminationCause': ('releaseCompleteReason', ('undefinedReason', 0))})),
    ('drq_v1', ('disengageRequest', {
        'requestSeqNum': 41, 'endpointIdentifier': EP_ID, 'conferenceID': CONF_ID,
        'callReferenceValue': 18, 'disengageReason': ('forcedDrop', 0)})),
    ('dcf', ('disengageConfirm', {'requestSeqNum': 40})),
    ('drj', ('disengageReject', {'requestSeqNum': 40, 'rejectReason': ('requestToDropOther', 0)})),
    ('lrq', ('locationRequest', {
        'requestSeqNum': 50, 'destinationInfo': [h323_id('bob@example.com'), e164('2002')],
        'replyAddress': ip(10, 0, 0, 1, 1719), 'sourceInfo': [h323_id('alice')],
        'canMapAlias': True, 'gatekeeperIdentifier': 'neighbour', 'hopCount': 15,
        'callIdentifier': CALL_ID, 'bandWidth': 3840, 'canMapSrcAlias': False,
        'genericData': [{'id': ('standard', H460_18), 'parameters': [
            {'id': ('standard', 2),
             'content': ('raw', encoded(H460_18_MOD.LRQKeepAliveData, LRQ_KEEP_ALIVE))}]}]})),
    ('lcf', ('locationConfirm', {
        'requestSeqNum': 50, 'callSignalAddress': ip(10, 0, 0, 2, 1720),
        'rasAddress': ip(10, 0, 0, 2, 1719), 'destinationInfo': [h323_id('bob@example.com')],
        'destinationType': TERMINAL, 'multipleCalls': False, 'bandWidth': 3840})),
    ('lrj', ('locationReject', {'requestSeqNum': 50, 'rejectReason': ('requestDenied', 0)})),
    ('lrj_hop_count', ('locationReject', {'requestSeqNum': 51,
                                          'rejectReason': ('hopCountExceeded', 0)})),
    ('irq', ('infoRequest', {
        'requestSeqNum': 60, 'callReferenceValue': 0, 'replyAddress': ip(192, 168, 1, 1, 1719),
        'callIdentifier': {'guid': bytes(16)}, 'uuiesRequested': UUIES_REQUESTED,
        'segmentedResponseSupported': 0, 'capacityInfoRequested': 0})),
    ('irq_plain', ('infoRequest', {
        'requestSeqNum': 61, 'callReferenceValue': 17, 'replyAddress': ip(192, 168, 1, 1, 1719),
        'callIdentifier': CALL_ID})),
    ('irr', ('infoRequestResponse', {
        'requestSeqNum': 60, 'endpointType': TERMINAL, 'endpointIdentifier': EP_ID,
        'rasAddress': ip(192, 168, 1, 10, 1719),
        'callSignalAddress': [ip(192, 168, 1, 10, 1720)],
        'endpointAlias': [h323_id('alice')],
        'perCallInfo': [{'callReferenceValue': 17, 'conferenceID': CONF_ID, 'originator': True,
                         'audio': [{'rtpAddress': {'recvAddress': ip(192, 168, 1, 10, 5004),
                                                   'sendAddress': ip(192, 168, 1, 1, 6000)},
                                    'rtcpAddress': {'recvAddress': ip(192, 168, 1, 10, 5005),
                                                    'sendAddress': ip(192, 168, 1, 1, 6001)},
                                    'cname': 'alice.host', 'ssrc': 0xdeadbeef,
                                    'sessionId': 1, 'associatedSessionIds': [2]}],
                         'h245': {'recvAddress': ip(192, 168, 1, 10, 30000)},
                         'callSignalling': {'recvAddress': ip(192, 168, 1, 10, 1720)},
                         'callType': ('pointToPoint', 0), 'bandWidth': 3840,
                         'callModel': ('gatekeeperRouted', 0), 'callIdentifier': CALL_ID,
                         'substituteConfIDs': [], 'pdu': [
                             {'h323pdu': {'h323-message-body': ('empty', 0)}, 'sent': True}]}],
        'needResponse': True, 'irrStatus': ('complete', 0), 'unsolicited': False})),
    ('non_standard_message', ('nonStandardMessage', {'requestSeqNum': 70,
                                                     'nonStandardData': NON_STANDARD})),
    ('unknown_message_response', ('unknownMessageResponse', {
        'requestSeqNum': 71, 'messageNotUnderstood': b'\xff\x00\x01'})),
    ('rip', ('requestInProgress', {'requestSeqNum': 20, 'delay': 5000})),
    ('rai', ('resourcesAvailableIndicate', {
        'requestSeqNum': 80, 'protocolIdentifier': H225_V7, 'endpointIdentifier': EP_ID,
        'protocols': [('voice', {'supportedPrefixes': [{'prefix': e164('9')}]})],
        'almostOutOfResources': True,
        'capacity': {'maximumCallCapacity': {'voiceGwCallsAvailable': [{'calls': 30}]}}})),
    ('rai_plain', ('resourcesAvailableIndicate', {
        'requestSeqNum': 81, 'protocolIdentifier': H225_V7, 'endpointIdentifier': EP_ID,
        'protocols': [('h323', {})], 'almostOutOfResources': False})),
    ('rac', ('resourcesAvailableConfirm', {'requestSeqNum': 80, 'protocolIdentifier': H225_V7})),
    ('iack', ('infoRequestAck', {'requestSeqNum': 60})),
    ('inak', ('infoRequestNak', {'requestSeqNum': 60, 'nakReason': ('notRegistered', 0)})),
    ('sci', ('serviceControlIndication', {
        'requestSeqNum': 90, 'serviceControl': [{'sessionId': 2,
                                                 'contents': ('callCreditServiceControl', {
                                                     'amountString': 'EUR 5',
                                                     'billingMode': ('debit', 0),
                                                     'callDurationLimit': 600,
                                                     'enforceCallDurationLimit': True}),
                                                 'reason': ('refresh', 0)}],
        'endpointIdentifier': EP_ID,
        'callSpecific': {'callIdentifier': CALL_ID, 'conferenceID': CONF_ID,
                         'answeredCall': True}})),
    # H.460.18: the gatekeeper asks a traversal endpoint to open a call-signalling connection.
    ('sci_h460_18', ('serviceControlIndication', {
        'requestSeqNum': 91, 'serviceControl': [],
        'genericData': [{'id': ('standard', H460_18), 'parameters': [
            {'id': ('standard', 1),
             'content': ('raw', encoded(H460_18_MOD.IncomingCallIndication, INCOMING_CALL))}]}]})),
    ('scr', ('serviceControlResponse', {'requestSeqNum': 90, 'result': ('started', 0)})),
    ('acf_sequence', ('admissionConfirmSequence', [
        {'requestSeqNum': 22, 'bandWidth': 640, 'callModel': ('direct', 0),
         'destCallSignalAddress': ip(10, 0, 0, 3, 1720)},
        {'requestSeqNum': 22, 'bandWidth': 640, 'callModel': ('direct', 0),
         'destCallSignalAddress': ip6(1720)}])),
]

# --- H.245 (also what travels in fastStart and h245Control) -----------------------------------

H2250_CAPABILITY = {
    'maximumAudioDelayJitter': 250,
    'receiveMultipointCapability': {'multicastCapability': False, 'multiUniCastConference': False,
                                    'mediaDistributionCapability': [{
                                        'centralizedControl': False, 'distributedControl': False,
                                        'centralizedAudio': False, 'distributedAudio': False,
                                        'centralizedVideo': False, 'distributedVideo': False}]},
    'transmitMultipointCapability': {'multicastCapability': False,
                                     'multiUniCastConference': False,
                                     'mediaDistributionCapability': [{
                                         'centralizedControl': False, 'distributedControl': False,
                                         'centralizedAudio': False, 'distributedAudio': False,
                                         'centralizedVideo': False, 'distributedVideo': False}]},
    'receiveAndTransmitMultipointCapability': {'multicastCapability': False,
                                               'multiUniCastConference': False,
                                               'mediaDistributionCapability': [{
                                                   'centralizedControl': False,
                                                   'distributedControl': False,
                                                   'centralizedAudio': False,
                                                   'distributedAudio': False,
                                                   'centralizedVideo': False,
                                                   'distributedVideo': False}]},
    'mcCapability': {'centralizedConferenceMC': False, 'decentralizedConferenceMC': False},
    'rtcpVideoControlCapability': True,
    'mediaPacketizationCapability': {'h261aVideoPacketization': False,
                                     'rtpPayloadType': [{'payloadDescriptor': ('rfc-number', 3984),
                                                         'payloadType': 97}]},
    'logicalChannelSwitchingCapability': False,
    't120DynamicPortCapability': False,
}

H264_CAPABILITY = {'capabilityIdentifier': ('standard', (0, 0, 8, 241, 0, 0, 1)),
                   'maxBitRate': 19200,
                   'collapsing': [{'parameterIdentifier': ('standard', 41),
                                   'parameterValue': ('booleanArray', 64)},
                                  {'parameterIdentifier': ('standard', 42),
                                   'parameterValue': ('unsignedMin', 71)},
                                  {'parameterIdentifier': ('standard', 3),
                                   'parameterValue': ('unsigned32Max', 1200)}]}

TCS = {'sequenceNumber': 1, 'protocolIdentifier': H245_V15,
       'multiplexCapability': ('h2250Capability', H2250_CAPABILITY),
       'capabilityTable': [
           {'capabilityTableEntryNumber': 1,
            'capability': ('receiveAudioCapability', ('g711Ulaw64k', 60))},
           {'capabilityTableEntryNumber': 2,
            'capability': ('receiveAudioCapability', ('g711Alaw64k', 60))},
           {'capabilityTableEntryNumber': 3,
            'capability': ('receiveAudioCapability', ('g7231', {'maxAl-sduAudioFrames': 1,
                                                                'silenceSuppression': False}))},
           {'capabilityTableEntryNumber': 4,
            'capability': ('receiveVideoCapability', ('genericVideoCapability', H264_CAPABILITY))},
           {'capabilityTableEntryNumber': 5,
            'capability': ('receiveVideoCapability', ('h263VideoCapability', {
                'cifMPI': 1, 'qcifMPI': 1, 'maxBitRate': 3840, 'unrestrictedVector': False,
                'arithmeticCoding': False, 'advancedPrediction': False, 'pbFrames': False,
                'temporalSpatialTradeOffCapability': False, 'errorCompensation': False}))},
           {'capabilityTableEntryNumber': 6,
            'capability': ('receiveRTPAudioTelephonyEventCapability',
                           {'dynamicRTPPayloadType': 101, 'audioTelephoneEvent': '0-16'})},
           {'capabilityTableEntryNumber': 7,
            'capability': ('receiveAndTransmitUserInputCapability', ('dtmf', 0))},
           {'capabilityTableEntryNumber': 8,
            'capability': ('receiveVideoCapability', ('extendedVideoCapability', {
                'videoCapability': [('genericVideoCapability', H264_CAPABILITY)],
                'videoCapabilityExtension': [{'capabilityIdentifier': ('standard',
                                                                       (0, 0, 8, 239, 1, 1))}]}))},
           {'capabilityTableEntryNumber': 9,
            'capability': ('genericControlCapability', {
                'capabilityIdentifier': ('standard', (0, 0, 8, 239, 1, 2))})},
           {'capabilityTableEntryNumber': 10},
       ],
       'capabilityDescriptors': [{'capabilityDescriptorNumber': 0,
                                  'simultaneousCapabilities': [[1, 2, 3], [4, 5], [6], [7],
                                                               [8], [9]]}]}

OLC_AUDIO = {
    'forwardLogicalChannelNumber': 101,
    'forwardLogicalChannelParameters': {
        'dataType': ('audioData', ('g711Ulaw64k', 20)),
        'multiplexParameters': ('h2250LogicalChannelParameters', {
            'sessionID': 1,
            'mediaControlChannel': ('unicastAddress', ('iPAddress', {
                'network': bytes([192, 168, 1, 10]), 'tsapIdentifier': 5005})),
            'silenceSuppression': False})}}

OLC_VIDEO = {
    'forwardLogicalChannelNumber': 102,
    'forwardLogicalChannelParameters': {
        'dataType': ('videoData', ('genericVideoCapability', H264_CAPABILITY)),
        'multiplexParameters': ('h2250LogicalChannelParameters', {
            'sessionID': 2,
            'mediaChannel': ('unicastAddress', ('iPAddress', {
                'network': bytes([192, 168, 1, 10]), 'tsapIdentifier': 5006})),
            'mediaControlChannel': ('unicastAddress', ('iPAddress', {
                'network': bytes([192, 168, 1, 10]), 'tsapIdentifier': 5007})),
            'dynamicRTPPayloadType': 97,
            'mediaPacketization': ('rtpPayloadType', {'payloadDescriptor': ('rfc-number', 3984),
                                                      'payloadType': 97})}),
        'forwardLogicalChannelDependency': 101, 'replacementFor': 103},
    'reverseLogicalChannelParameters': {
        'dataType': ('videoData', ('h263VideoCapability', {
            'cifMPI': 1, 'maxBitRate': 3840, 'unrestrictedVector': False,
            'arithmeticCoding': False, 'advancedPrediction': False, 'pbFrames': False,
            'temporalSpatialTradeOffCapability': False})),
        'multiplexParameters': ('h2250LogicalChannelParameters', {'sessionID': 2}),
        'reverseLogicalChannelDependency': 101},
    # H.460.19: the multiplexed media channel, as encoded TraversalParameters.
    'genericInformation': [{'messageIdentifier': ('standard', (0, 0, 8, 460, 19, 0, 1)),
                            'messageContent': [{
                                'parameterIdentifier': ('standard', 1),
                                'parameterValue': ('octetString', encoded(
                                    H460_19_MOD.TraversalParameters,
                                    TRAVERSAL_PARAMETERS))}]}]}


OLC_ACK = {
    'forwardLogicalChannelNumber': 101,
    'forwardMultiplexAckParameters': ('h2250LogicalChannelAckParameters', {
        'sessionID': 1,
        'mediaChannel': ('unicastAddress', ('iPAddress', {'network': bytes([192, 168, 1, 1]),
                                                          'tsapIdentifier': 6000})),
        'mediaControlChannel': ('unicastAddress', ('iPAddress', {
            'network': bytes([192, 168, 1, 1]), 'tsapIdentifier': 6001})),
        'flowControlToZero': False, 'portNumber': 6000})}

H245_CASES = [
    ('tcs', ('request', ('terminalCapabilitySet', TCS))),
    ('tcs_ack', ('response', ('terminalCapabilitySetAck', {'sequenceNumber': 1}))),
    ('tcs_reject', ('response', ('terminalCapabilitySetReject', {
        'sequenceNumber': 1, 'cause': ('tableEntryCapacityExceeded', ('highestEntryNumberProcessed', 5))}))),
    ('tcs_release', ('indication', ('terminalCapabilitySetRelease', {}))),
    ('msd', ('request', ('masterSlaveDetermination', {'terminalType': 190,
                                                      'statusDeterminationNumber': 8388607}))),
    ('msd_ack', ('response', ('masterSlaveDeterminationAck', {'decision': ('slave', 0)}))),
    ('msd_reject', ('response', ('masterSlaveDeterminationReject', {
        'cause': ('identicalNumbers', 0)}))),
    ('msd_release', ('indication', ('masterSlaveDeterminationRelease', {}))),
    ('olc_audio', ('request', ('openLogicalChannel', OLC_AUDIO))),
    ('olc_video', ('request', ('openLogicalChannel', OLC_VIDEO))),
    ('olc_ack', ('response', ('openLogicalChannelAck', OLC_ACK))),
    ('olc_reject', ('response', ('openLogicalChannelReject', {
        'forwardLogicalChannelNumber': 102, 'cause': ('dataTypeNotSupported', 0)}))),
    ('olc_confirm', ('indication', ('openLogicalChannelConfirm', {
        'forwardLogicalChannelNumber': 102}))),
    ('clc', ('request', ('closeLogicalChannel', {'forwardLogicalChannelNumber': 101,
                                                 'source': ('user', 0),
                                                 'reason': ('reopen', 0)}))),
    ('clc_ack', ('response', ('closeLogicalChannelAck', {'forwardLogicalChannelNumber': 101}))),
    ('request_channel_close', ('request', ('requestChannelClose', {
        'forwardLogicalChannelNumber': 102, 'reason': ('normal', 0)}))),
    ('request_channel_close_ack', ('response', ('requestChannelCloseAck', {
        'forwardLogicalChannelNumber': 102}))),
    ('round_trip_delay_request', ('request', ('roundTripDelayRequest', {'sequenceNumber': 9}))),
    ('round_trip_delay_response', ('response', ('roundTripDelayResponse', {'sequenceNumber': 9}))),
    ('end_session', ('command', ('endSessionCommand', ('disconnect', 0)))),
    ('video_fast_update', ('command', ('miscellaneousCommand', {
        'logicalChannelNumber': 102, 'type': ('videoFastUpdatePicture', 0)}))),
    ('flow_control', ('command', ('flowControlCommand', {
        'scope': ('logicalChannelNumber', 102), 'restriction': ('maximumBitRate', 2048)}))),
    ('user_input_alphanumeric', ('indication', ('userInput', ('alphanumeric', '5')))),
    ('user_input_signal', ('indication', ('userInput', ('signal', {
        'signalType': '#', 'duration': 100, 'rtp': {'logicalChannelNumber': 101}})))),
    ('generic_indication', ('indication', ('genericIndication', {
        'messageIdentifier': ('standard', (0, 0, 8, 239, 2)), 'subMessageIdentifier': 5,
        'messageContent': [{'parameterIdentifier': ('standard', 44),
                            'parameterValue': ('unsignedMin', 1)},
                           {'parameterIdentifier': ('standard', 42),
                            'parameterValue': ('octetString', b'\x00\x01')}]}))),
    ('function_not_understood', ('indication', ('functionNotUnderstood', (
        'request', ('roundTripDelayRequest', {'sequenceNumber': 3}))))),
]


def encoded_h245(value):
    return encoded(H245.MultimediaSystemControlMessage, value)


def encoded_olc(olc):
    return encoded(H245.OpenLogicalChannel, olc)


# --- H.225.0 call signalling (H323-UserInformation) -------------------------------------------

def uu(body, **extra):
    pdu = {'h323-message-body': body}
    pdu.update(extra)
    return {'h323-uu-pdu': pdu}


SETUP = {'protocolIdentifier': H225_V7,
         'h245Address': ip(192, 168, 1, 10, 30000),
         'sourceAddress': [h323_id('alice'), e164('1001')],
         'sourceInfo': TERMINAL,
         'destinationAddress': [h323_id('bob'), e164('2002')],
         'destCallSignalAddress': ip(192, 168, 1, 20, 1720),
         'activeMC': False, 'conferenceID': CONF_ID, 'conferenceGoal': ('create', 0),
         'callType': ('pointToPoint', 0),
         'sourceCallSignalAddress': ip(192, 168, 1, 10, 1720),
         'callIdentifier': CALL_ID,
         'fastStart': [encoded_olc(OLC_AUDIO), encoded_olc(OLC_VIDEO)],
         'mediaWaitForConnect': False, 'canOverlapSend': False,
         'endpointIdentifier': EP_ID,
         'multipleCalls': False, 'maintainConnection': False,
         'presentationIndicator': ('presentationAllowed', 0),
         'screeningIndicator': 'networkProvided',
         'supportedFeatures': [{'id': ('standard', H460_18)}],
         'hopCount': 31,
         'displayName': [{'language': 'en', 'name': 'Alice'}]}

UUIE = [
    ('setup', uu(('setup', SETUP), h245Tunnelling=True,
                 h245Control=[encoded_h245(('request', ('terminalCapabilitySet', TCS)))])),
    ('call_proceeding', uu(('callProceeding', {
        'protocolIdentifier': H225_V7, 'destinationInfo': GATEWAY, 'callIdentifier': CALL_ID,
        'multipleCalls': False, 'maintainConnection': False, 'fastConnectRefused': 0}),
        h245Tunnelling=False)),
    ('call_proceeding_plain', uu(('callProceeding', {
        'protocolIdentifier': H225_V7, 'destinationInfo': TERMINAL, 'callIdentifier': CALL_ID,
        'multipleCalls': False, 'maintainConnection': False}), h245Tunnelling=False)),
    ('alerting', uu(('alerting', {
        'protocolIdentifier': H225_V7, 'destinationInfo': TERMINAL,
        'h245Address': ip(192, 168, 1, 20, 30001), 'callIdentifier': CALL_ID,
        'fastStart': [encoded_olc(OLC_AUDIO)], 'multipleCalls': False,
        'maintainConnection': False, 'alertingAddress': [h323_id('bob')],
        'displayName': [{'name': 'Bob'}]}), h245Tunnelling=True)),
    ('connect', uu(('connect', {
        'protocolIdentifier': H225_V7, 'h245Address': ip(192, 168, 1, 20, 30001),
        'destinationInfo': TERMINAL, 'conferenceID': CONF_ID, 'callIdentifier': CALL_ID,
        'fastStart': [encoded_olc(OLC_AUDIO)], 'multipleCalls': False,
        'maintainConnection': False, 'language': ['en'],
        'connectedAddress': [h323_id('bob'), e164('2002')],
        'presentationIndicator': ('presentationRestricted', 0),
        'screeningIndicator': 'userProvidedVerifiedAndPassed'}),
        h245Tunnelling=True,
        h245Control=[encoded_h245(('request', ('masterSlaveDetermination', {
            'terminalType': 60, 'statusDeterminationNumber': 12345})))])),
    ('information', uu(('information', {'protocolIdentifier': H225_V7,
                                        'callIdentifier': CALL_ID}))),
    ('release_complete', uu(('releaseComplete', {
        'protocolIdentifier': H225_V7, 'reason': ('destinationRejection', 0),
        'callIdentifier': CALL_ID, 'busyAddress': [e164('2002')],
        'displayName': [{'name': 'Bob'}]}), h245Tunnelling=False)),
    ('release_complete_ext_reason', uu(('releaseComplete', {
        'protocolIdentifier': H225_V7, 'reason': ('hopCountExceeded', 0),
        'callIdentifier': CALL_ID}))),
    ('facility', uu(('facility', {
        'protocolIdentifier': H225_V7, 'alternativeAddress': ip(10, 0, 0, 9, 1720),
        'alternativeAliasAddress': [h323_id('carol')], 'reason': ('callForwarded', 0),
        'callIdentifier': CALL_ID, 'h245Address': ip(192, 168, 1, 1, 30002),
        'multipleCalls': False, 'maintainConnection': False}),
        h245Tunnelling=False)),
    ('facility_undefined', uu(('facility', {
        'protocolIdentifier': H225_V7, 'reason': ('undefinedReason', 0),
        'callIdentifier': CALL_ID,
        'featureSet': {'replacementFeatureSet': False,
                       'supportedFeatures': [{'id': ('standard', H460_18)}]}}),
        # H.460.18: the endpoint's Facility on the connection it opened for an incoming call.
        genericData=[{'id': ('standard', H460_18), 'parameters': [
            {'id': ('standard', 1),
             'content': ('raw', encoded(H460_18_MOD.IncomingCallIndication, INCOMING_CALL))}]}])),
    ('progress', uu(('progress', {
        'protocolIdentifier': H225_V7, 'destinationInfo': GATEWAY,
        'h245Address': ip(192, 168, 1, 20, 30001), 'callIdentifier': CALL_ID,
        'fastStart': [encoded_olc(OLC_AUDIO)], 'multipleCalls': False,
        'maintainConnection': False}))),
    ('progress_plain', uu(('progress', {
        'protocolIdentifier': H225_V7, 'destinationInfo': TERMINAL,
        'h245Address': ip(192, 168, 1, 20, 30001), 'callIdentifier': CALL_ID,
        'fastStart': [encoded_olc(OLC_AUDIO)], 'multipleCalls': False,
        'maintainConnection': False}))),
    ('empty', uu(('empty', 0), h245Tunnelling=True,
                 h245Control=[encoded_h245(('command', ('endSessionCommand',
                                                         ('disconnect', 0))))])),
    ('status', uu(('status', {'protocolIdentifier': H225_V7, 'callIdentifier': CALL_ID}))),
    ('status_inquiry', uu(('statusInquiry', {'protocolIdentifier': H225_V7,
                                             'callIdentifier': CALL_ID}))),
    ('setup_acknowledge', uu(('setupAcknowledge', {'protocolIdentifier': H225_V7,
                                                   'callIdentifier': CALL_ID}))),
    ('notify', uu(('notify', {'protocolIdentifier': H225_V7, 'callIdentifier': CALL_ID,
                              'connectedAddress': [e164('3003')],
                              'displayName': [{'name': 'Carol'}]}))),
    ('user_data', {'h323-uu-pdu': {'h323-message-body': ('empty', 0), 'h245Tunnelling': False},
                   'user-data': {'protocol-discriminator': 5, 'user-information': b'hello'}}),
]

H460 = [
    ('incoming_call_indication', 'IncomingCallIndication', INCOMING_CALL),
    ('lrq_keep_alive', 'LRQKeepAliveData', LRQ_KEEP_ALIVE),
    ('traversal_parameters', 'TraversalParameters', TRAVERSAL_PARAMETERS),
    ('traversal_parameters_keep_alive', 'TraversalParameters', {
        'keepAliveChannel': TRAVERSAL_PARAMETERS['keepAliveChannel'],
        'keepAlivePayloadType': 127, 'keepAliveInterval': 19}),
]

# (name, top-level type, value)
CASES = (
    [('ras_' + name, 'RasMessage', value) for name, value in RAS]
    + [('uu_' + name, 'H323-UserInformation', value) for name, value in UUIE]
    + [('h245_' + name, 'MultimediaSystemControlMessage', value) for name, value in H245_CASES]
    + [('h460_' + name, ty, value) for name, ty, value in H460]
)

TOP_TYPES = {
    'RasMessage': M.RasMessage,
    'H323-UserInformation': getattr(M, 'H323_UserInformation'),
    'MultimediaSystemControlMessage': H245.MultimediaSystemControlMessage,
    'IncomingCallIndication': H460_18_MOD.IncomingCallIndication,
    'LRQKeepAliveData': H460_18_MOD.LRQKeepAliveData,
    'TraversalParameters': H460_19_MOD.TraversalParameters,
}
