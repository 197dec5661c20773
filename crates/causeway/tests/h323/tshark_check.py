"""Dissect a capture with tshark and list what it finds wrong in the H.323 traffic.

    from tshark_check import tshark_check
    problems = tshark_check('run.pcap', {'ras': [1719], 'q931': [1720, 41000], 'h245': [42000]})

ports: {'ras': UDP ports carrying RAS, 'q931': TCP ports carrying Q.931/H.225.0 over TPKT,
'h245': TCP ports carrying separate H.245 over TPKT}; each an int or a list of ints. A plain
list of ints is taken as RAS ports. RAS and H.245 ports get "decode as" (udp.port==P,h225 and
tcp.port==P,h245). Q.931 has no "decode as" entry for TCP in tshark 4.0 (tcp.port==P,tpkt
hands the payload to COTP), so it relies on tshark's q931-over-TPKT heuristic, which is on
by default; the check below then makes sure it did fire on those ports.

Returns a list of strings (empty = clean):
  - tshark missing or failing,
  - every frame with _ws.malformed, or an expert item of severity error, or a warning raised
    by one of the H.323 dissectors (h225, h245, q931, tpkt, per, h235),
  - a port given that carried payload no frame of which was dissected as the protocol
    expected (h225 for RAS and Q.931, h245 for H.245).

Command line: python3 tshark_check.py PCAP ras=1719,1718 q931=1720 h245=30000
(exit 1 when there are problems, printing them).
"""

import shutil
import subprocess
import sys

EXPERT_ERROR = 0x00800000
EXPERT_WARN = 0x00600000
H323_PROTOCOLS = {'h225', 'h245', 'q931', 'tpkt', 'per', 'h235', 'h450'}


def _ports(ports):
    if isinstance(ports, (list, tuple)):
        ports = {'ras': list(ports)}
    out = {}
    for kind in ('ras', 'q931', 'h245'):
        val = ports.get(kind, [])
        out[kind] = [val] if isinstance(val, int) else [int(p) for p in val]
    return out


def decode_as_args(ports):
    ports = _ports(ports)
    args = []
    for p in ports['ras']:
        args += ['-d', 'udp.port==%d,h225' % p]
    for p in ports['h245']:
        args += ['-d', 'tcp.port==%d,h245' % p]
    # Q.931 over TPKT has no "decode as" entry for TCP (tpkt would hand it to COTP): the q931
    # heuristic on TCP (enabled by default) finds it on any port, and the check below makes
    # sure it did on the ports given.
    return args


def tshark_check(pcap, ports, tshark='tshark'):
    if shutil.which(tshark) is None:
        return ['tshark is not installed']
    ports = _ports(ports)
    fields = ['frame.number', 'frame.protocols', 'udp.srcport', 'udp.dstport', 'tcp.srcport',
              'tcp.dstport', 'tcp.len', 'udp.length', '_ws.malformed', '_ws.expert.severity',
              '_ws.expert.message', '_ws.expert.group', '_ws.expert', '_ws.col.Info']
    cmd = [tshark, '-n', '-r', pcap] + decode_as_args(ports) + ['-T', 'fields', '-E',
                                                                  'separator=\t', '-E',
                                                                  'occurrence=a', '-E',
                                                                  'aggregator=|']
    for f in fields:
        cmd += ['-e', f]
    # Reassembly of TPKT across TCP segments.
    cmd += ['-o', 'tcp.desegment_tcp_streams:TRUE', '-o', 'tpkt.desegment:TRUE']
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as err:
        return ['tshark failed: %s' % err]
    if res.returncode != 0:
        return ['tshark exited %d: %s' % (res.returncode, res.stderr.strip()[-500:])]
    problems = []
    seen = {('ras', p): False for p in ports['ras']}
    seen.update({('q931', p): False for p in ports['q931']})
    seen.update({('h245', p): False for p in ports['h245']})
    carried = dict.fromkeys(seen, False)
    for line in res.stdout.splitlines():
        cols = line.split('\t')
        cols += [''] * (len(fields) - len(cols))
        row = dict(zip(fields, cols))
        protos = row['frame.protocols'].split(':')
        num = row['frame.number']
        info = row['_ws.col.Info']
        if row['_ws.malformed'] or 'malformed' in protos or '_ws.malformed' in protos:
            problems.append('frame %s malformed: %s' % (num, info))
        sevs = [s for s in row['_ws.expert.severity'].split('|') if s]
        msgs = row['_ws.expert.message'].split('|')
        for i, sev in enumerate(sevs):
            try:
                level = int(sev, 0)
            except ValueError:
                continue
            text = msgs[i] if i < len(msgs) else ''
            h323_frame = bool(H323_PROTOCOLS & set(protos))
            if level >= EXPERT_ERROR or (level >= EXPERT_WARN and h323_frame
                                         and not text.lower().startswith(('connection reset',
                                                                          'previous segment'))):
                problems.append('frame %s expert %s: %s (%s)' % (num, hex(level), text, info))
        udp = {row['udp.srcport'], row['udp.dstport']} - {''}
        tcp = {row['tcp.srcport'], row['tcp.dstport']} - {''}
        has_tcp_payload = row['tcp.len'] not in ('', '0')
        for (kind, port) in seen:
            if kind == 'ras' and str(port) in udp:
                carried[(kind, port)] = True
                if 'h225' in protos:
                    seen[(kind, port)] = True
            elif kind != 'ras' and str(port) in tcp and has_tcp_payload:
                carried[(kind, port)] = True
                want = 'h245' if kind == 'h245' else 'h225'
                if want in protos:
                    seen[(kind, port)] = True
    for key, ok in seen.items():
        if carried[key] and not ok:
            problems.append('%s port %d: payload, but no frame dissected as expected'
                            % key)
        elif not carried[key]:
            problems.append('%s port %d: no traffic in the capture' % key)
    return problems


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    ports = {}
    for arg in argv[2:]:
        kind, _, vals = arg.partition('=')
        ports[kind] = [int(v) for v in vals.split(',') if v]
    problems = tshark_check(argv[1], ports)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
