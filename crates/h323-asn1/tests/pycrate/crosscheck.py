"""pycrate side of the cross-check (run by tests/pycrate_crosscheck.rs).

Reads lines `NAME HEX` (the Rust codec's aligned-PER encoding of the case NAME of values.py)
and writes one line per case:

    NAME PYCRATE_HEX SELF_OK OURS_OK DETAIL

PYCRATE_HEX   pycrate's own aligned-PER encoding of the value ('-' if it cannot encode it)
SELF_OK       1 if pycrate decodes PYCRATE_HEX back to the value
OURS_OK       1 if pycrate decodes the Rust encoding to the value
DETAIL        the first error, or '-'

With --reencode it reads lines `TYPE HEX` (any value of a top-level type of values.py) and
writes `OK PYCRATE_HEX SELF_OK` (pycrate decoded HEX, re-encoded it as PYCRATE_HEX, and
SELF_OK says whether it decodes that again) or `ERR message` per line.

Exit status 3 with a message when pycrate is not installed.
"""

import sys

try:
    from importlib.metadata import version
    import pycrate_asn1dir  # noqa: F401
    PYCRATE_VERSION = version('pycrate')
except Exception as err:  # ImportError or a broken install
    sys.stderr.write('pycrate is not importable (%s): run scripts/test, which installs '
                     'pycrate==0.8.1, or `python3 -m pip install pycrate==0.8.1`\n' % err)
    sys.exit(3)

import os

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import values  # noqa: E402


def decode(obj, buf, expected):
    obj.from_aper(buf)
    got = obj.get_val()
    if got != expected:
        return 'decoded to a different value: %r' % (got,)
    return None


def reencode():
    print('pycrate', PYCRATE_VERSION)
    for line in sys.stdin:
        if not line.strip():
            continue
        ty, ours = line.split()
        obj = values.TOP_TYPES[ty]
        try:
            obj.from_aper(bytes.fromhex(ours))
            val = obj.get_val()
        except Exception as err:
            print('ERR', repr(err).replace('\n', ' '))
            continue
        obj.set_val(val)
        theirs = obj.to_aper()
        try:
            self_ok = 1 if decode(obj, theirs, val) is None else 0
        except Exception:
            self_ok = 0
        print('OK', theirs.hex(), self_ok)
    sys.stdout.flush()


def main():
    if sys.argv[1:] == ['--reencode']:
        return reencode()
    cases = {name: (ty, val) for name, ty, val in values.CASES}
    print('pycrate', PYCRATE_VERSION)
    for line in sys.stdin:
        if not line.strip():
            continue
        name, ours = line.split()
        ty, val = cases[name]
        obj = values.TOP_TYPES[ty]
        detail = []
        try:
            obj.set_val(val)
            theirs = obj.to_aper()
        except Exception as err:
            theirs = None
            detail.append('pycrate cannot encode: %r' % err)
        self_ok = 0
        if theirs is not None:
            try:
                err = decode(obj, theirs, val)
                self_ok = 1 if err is None else 0
                if err:
                    detail.append('own encoding ' + err)
            except Exception as err:
                detail.append('cannot decode its own encoding: %r' % err)
        try:
            err = decode(obj, bytes.fromhex(ours), val)
            ours_ok = 1 if err is None else 0
            if err:
                detail.append('our encoding ' + err)
        except Exception as err:
            ours_ok = 0
            detail.append('cannot decode our encoding: %r' % err)
        print(name, theirs.hex() if theirs is not None else '-', self_ok, ours_ok,
              ' | '.join(detail).replace('\n', ' ') or '-')
    sys.stdout.flush()


if __name__ == '__main__':
    main()
