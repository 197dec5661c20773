"""Writes src/samples/values.rs: the cases of values.py as Rust literals of the generated types.

    python3 crates/h323-asn1/tests/pycrate/make_samples.py   (needs pycrate 0.8.1 and rustfmt)

The Rust side is built from the generated Rust type definitions (struct fields, CHOICE
alternatives, delegate types), not from pycrate's model: the translation only spells the same
value in Rust. If the two type models disagree, the cross-check test fails.
"""

import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CRATE = os.path.normpath(os.path.join(HERE, '..', '..'))
GENERATED = os.path.join(CRATE, 'src', 'generated')
OUT = os.path.join(CRATE, 'src', 'samples', 'values.rs')
sys.path.insert(0, HERE)

import values  # noqa: E402

TOP = {'RasMessage': ('Ras', 'RasMessage'),
       'H323-UserInformation': ('UserInformation', 'H323UserInformation'),
       'MultimediaSystemControlMessage': ('H245', 'MultimediaSystemControlMessage'),
       'IncomingCallIndication': ('IncomingCallIndication', 'IncomingCallIndication'),
       'LRQKeepAliveData': ('LrqKeepAliveData', 'LRQKeepAliveData'),
       'TraversalParameters': ('TraversalParameters', 'TraversalParameters')}


# Generated module -> the crate's public name for it.
MODULES = {'h323_messages': 'h225', 'h235_security_messages': 'h235',
           'multimedia_system_control': 'h245', 'signalling_traversal': 'h460_18',
           'media_traversal': 'h460_19'}
PATHS = {}


def string_lit(s):
    out = '"'
    for c in s:
        if c in '"\\':
            out += '\\' + c
        elif 32 <= ord(c) < 127:
            out += c
        else:
            out += '\\u{%x}' % ord(c)
    return out + '"'


def logical_lines(body):
    """The attributes and members of a struct or enum body, each joined onto one line."""
    buf = ''
    for line in body.split('\n'):
        buf += line.strip()
        if not buf:
            continue
        if buf.startswith('#['):
            if buf.count('[') == buf.count(']') and buf.count('(') == buf.count(')'):
                yield buf
                buf = ''
        elif buf.endswith(','):
            yield buf
            buf = ''
    assert not buf, buf


def parse_generated():
    """name -> ('struct', [(asn_name, rust_name, type)]) | ('delegate', type)
    | ('choice', {asn_name: (rust_name, type)}) | ('enumerated', {asn_name: rust_name})"""
    types = {}
    for file in sorted(os.listdir(GENERATED)):
        if not file.endswith('.rs') or file == 'mod.rs':
            continue
        text = open(os.path.join(GENERATED, file)).read()
        module = MODULES[file[:-3]]
        for m in re.finditer(r'\npub struct (\w+)\(\s*pub ([^;]+?),?\s*\);', text):
            types[m.group(1)] = ('delegate', m.group(2).strip())
            assert m.group(1) not in PATHS, 'two generated types named ' + m.group(1)
            PATHS[m.group(1)] = module + '::' + m.group(1)
        for m in re.finditer(r'\npub struct (\w+) \{\}', text):
            assert m.group(1) not in PATHS, 'two generated types named ' + m.group(1)
            PATHS[m.group(1)] = module + '::' + m.group(1)
            types[m.group(1)] = ('struct', [])
        for m in re.finditer(r'\npub (struct|enum) (\w+) \{\n(.*?)\n\}', text, re.S):
            kind, name, body = m.groups()
            attrs = ''
            members = []
            for s in logical_lines(body):
                if s.startswith('#['):
                    attrs += s
                    continue
                ident = re.search(r'identifier = "([^"]+)"', attrs)
                if kind == 'struct':
                    f = re.match(r'pub (\w+): ?(.*),$', s)
                    assert f, (name, s)
                    members.append((ident.group(1) if ident else f.group(1), f.group(1),
                                    f.group(2)))
                else:
                    v = re.match(r'(\w+)(?:\((.*)\))?(?: = \d+)?,$', s)
                    members.append((ident.group(1) if ident else v.group(1), v.group(1),
                                    v.group(2)))
                attrs = ''
            assert name not in PATHS, 'two generated types named ' + name
            PATHS[name] = module + '::' + name
            if kind == 'struct':
                types[name] = ('struct', members)
            elif '#[rasn(enumerated)]' in text[max(0, m.start() - 200):m.start() + 1]:
                types[name] = ('enumerated', {a: r for a, r, _ in members})
            else:
                types[name] = ('choice', {a: (r, t) for a, r, t in members})
    return types


TYPES = parse_generated()

STRINGS = {'BmpString', 'Ia5String', 'NumericString', 'PrintableString', 'VisibleString',
           'GeneralString', 'Utf8String'}


def generic(ty):
    m = re.match(r'(\w+)<(.*)>$', ty)
    return (m.group(1), m.group(2).strip()) if m else (None, None)


def bytes_lit(b):
    return 'b"' + ''.join('\\x%02x' % x for x in b) + '"'


def rust(ty, val):
    ty = ty.strip()
    outer, inner = generic(ty)
    if outer == 'Option':
        return 'Some(%s)' % rust(inner, val)
    if outer in ('SequenceOf', 'Vec'):
        return 'vec![%s]' % ', '.join(rust(inner, v) for v in val)
    if outer == 'SetOf':
        return 'SetOf::from_vec(vec![%s])' % ', '.join(rust(inner, v) for v in val)
    if outer == 'FixedOctetString':
        return 'FixedOctetString::from(*%s)' % bytes_lit(val)
    if ty == 'OctetString':
        return 'OctetString::from_static(%s)' % bytes_lit(val)
    if ty == 'BitString':
        number, length = val
        data = number.to_bytes((length + 7) // 8, 'big') if length else b''
        if length % 8:
            data = (number << (8 - length % 8)).to_bytes((length + 7) // 8, 'big')
        return 'bits(%s, %d)' % (bytes_lit(data), length)
    if ty == 'BmpString':
        return 'bmp(%s)' % string_lit(val)
    if ty in STRINGS:
        return 'string(%s)' % string_lit(val)
    if ty == 'ObjectIdentifier':
        return 'oid(&[%s])' % ', '.join(str(x) for x in val)
    if ty == 'bool':
        return 'true' if val else 'false'
    if ty in ('u8', 'u16', 'u32', 'u64', 'i8', 'i16', 'i32', 'i64'):
        return '%d' % val
    if ty == 'Integer':
        return 'Integer::from(%di64)' % val
    if ty == '()':
        return '()'
    if ty == 'Any':
        # pycrate's notation for an open type given as its encoding: (name, bytes)
        return 'Any::new(%s.to_vec())' % bytes_lit(val[1])
    kind = TYPES.get(ty)
    if kind is None:
        raise ValueError('unknown Rust type %s' % ty)
    if kind[0] == 'delegate':
        return '%s(%s)' % (PATHS[ty], rust(kind[1], val))
    if kind[0] == 'struct':
        fields = []
        for asn, name, fty in kind[1]:
            if asn in val:
                fields.append('%s: %s' % (name, rust(fty, val[asn])))
            else:
                assert fty.startswith('Option<'), '%s.%s is missing' % (ty, asn)
                fields.append('%s: None' % name)
        unknown = set(val) - {asn for asn, _, _ in kind[1]}
        assert not unknown, '%s has no %s' % (ty, unknown)
        return '%s { %s }' % (PATHS[ty], ', '.join(fields))
    if kind[0] == 'choice':
        alt, v = val
        name, aty = kind[1][alt]
        return '%s::%s(%s)' % (PATHS[ty], name, rust(aty, v))
    if kind[0] == 'enumerated':
        return '%s::%s' % (PATHS[ty], kind[1][val])
    raise ValueError(ty)


def main():
    out = ['// @generated by tests/pycrate/make_samples.py from tests/pycrate/values.py: do not edit.',
           'use super::*;', '',
           '/// Every sample, in the order of `tests/pycrate/values.py`.',
           'pub fn all() -> Vec<Sample> {', 'vec![']
    for name, top, val in values.CASES:
        variant, ty = TOP[top]
        out.append('Sample { name: %s, value: SampleValue::%s(Box::new(%s)) },'
                   % (string_lit(name), variant, rust(ty, val)))
    out += [']', '}', '']
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        f.write('\n'.join(out))
    subprocess.run(['rustfmt', '--edition', '2021', OUT], check=True)
    print('wrote %d samples to %s' % (len(values.CASES), OUT))


if __name__ == '__main__':
    main()
