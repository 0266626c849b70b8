#!/usr/bin/python3
"""Write tests/fixtures/lab/<name>.expect.json: facts read from a capture by
tshark (independently of tracehound). Usage: _expect.py PCAP OUT.json NAME [NOTE]

Facts: frame count; TCP streams with SYN/SYN-ACK/RST counts (and streams whose
SYNs were never answered); ICMP errors; every DCE/RPC bind and its result
(bind_ack with per-context result/reason, or bind_nak); every DCE/RPC call
(interface as tshark names it, opnum, outcome response/fault/no-response,
NT status or EPM return code, fault status); ept_map results (status, towers
with port and IP floor); ept_lookup results (status, entry count); SMB2
dialect / encryption / tree names.
"""
import json
import subprocess
import sys
from collections import OrderedDict

FIELDS = [
    'frame.number', 'frame.time_relative', 'tcp.stream', 'ip.src', 'ip.dst', 'tcp.srcport', 'tcp.dstport',
    'tcp.flags.syn', 'tcp.flags.ack', 'tcp.flags.reset', 'tcp.flags.fin', 'icmp.type', 'icmp.code',
    'dcerpc.pkt_type', 'dcerpc.cn_call_id', 'dcerpc.cn_flags.last_frag', 'dcerpc.opnum', 'dcerpc.cn_status',
    'dcerpc.cn_ack_result', 'dcerpc.cn_ack_reason', 'dcerpc.cn_reject_reason', 'dcerpc.cn_bind_to_uuid',
    'epm.rc', 'epm.num_towers', 'epm.proto.tcp_port', 'epm.proto.ip', 'epm.num_ents',
    'samr.status', 'lsarpc.status', '_ws.col.Protocol',
    'smb2.cmd', 'smb2.flags.response', 'smb2.dialect', 'smb2.protocol_id', 'smb2.tree', 'smb2.filename',
    'smb2.nt_status', 'dcerpc.auth_level', 'dcerpc.auth_type',
    'smb.cmd', 'smb.flags.response', 'smb.file', 'smb.path',
    'udp.dstport',
]
PKT = {0: 'request', 2: 'response', 3: 'fault', 11: 'bind', 12: 'bind_ack', 13: 'bind_nak',
       14: 'alter_context', 15: 'alter_context_resp'}
UUIDS = {
    'e1af8308-5d1f-11c9-91a4-08002b14a0fa': 'epm',
    '12345778-1234-abcd-ef00-0123456789ac': 'samr',
    '12345778-1234-abcd-ef00-0123456789ab': 'lsarpc',
}


def run_tshark(pcap):
    cmd = ['tshark', '-n', '-r', pcap, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a',
           '-E', 'aggregator=,']
    for f in FIELDS:
        cmd += ['-e', f]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        sys.exit('tshark failed: ' + res.stderr.strip())
    rows = []
    for line in res.stdout.splitlines():
        vals = line.split('\t')
        vals += [''] * (len(FIELDS) - len(vals))
        rows.append(dict(zip(FIELDS, vals)))
    return rows


def first(v):
    return v.split(',')[0] if v else ''


def ints(v, base=10):
    out = []
    for x in v.split(',') if v else []:
        try:
            out.append(int(x, 0) if base == 0 else int(x))
        except ValueError:
            pass
    return out


def hexs(v):
    return ['0x%08x' % int(x, 16) for x in v.split(',')] if v else []


def main():
    pcap, outp, name = sys.argv[1:4]
    note = sys.argv[4] if len(sys.argv) > 4 else ''
    rows = run_tshark(pcap)
    ver = subprocess.run(['tshark', '--version'], capture_output=True, text=True).stdout.splitlines()[0]

    streams = OrderedDict()
    icmp = OrderedDict()
    binds, calls, epm_map, epm_lookup = [], [], [], []
    pending = {}  # (stream, call_id) -> call
    smb = {'dialects': set(), 'encrypted_frames': 0, 'trees': set(), 'pipes': set()}
    smb1 = {'trees': set(), 'pipes': set()}

    for r in rows:
        fno = int(r['frame.number'])
        st = r['tcp.stream']
        icmp_err = r['icmp.type'] and first(r['icmp.type']) not in ('0', '8')
        if icmp_err:
            # ICMP error: ip/tcp fields also hold the quoted inner headers
            ips = r['ip.src'].split(',')
            dsts = r['ip.dst'].split(',')
            k = (first(r['icmp.type']), first(r['icmp.code']), ips[0],
                 '%s:%s' % (dsts[-1], r['tcp.dstport']) if r['tcp.dstport'] else dsts[-1])
            icmp[k] = icmp.get(k, 0) + 1
            if st in streams:
                streams[st]['icmp_errors'] = streams[st].get('icmp_errors', 0) + 1
            continue
        if st:
            s = streams.setdefault(st, {'stream': int(st), 'client': None, 'server': None, 'syn': 0, 'synack': 0,
                                        'rst': 0, 'fin': 0, 'frames': 0})
            s['frames'] += 1
            syn, ack = r['tcp.flags.syn'] in ('1', 'True'), r['tcp.flags.ack'] in ('1', 'True')
            src = '%s:%s' % (first(r['ip.src']), r['tcp.srcport'])
            dst = '%s:%s' % (first(r['ip.dst']), r['tcp.dstport'])
            if syn and not ack:
                s['syn'] += 1
                s['client'], s['server'] = src, dst
            elif syn and ack:
                s['synack'] += 1
                s['client'], s['server'] = dst, src
            if s['client'] is None:
                s['client'], s['server'] = src, dst
            if r['tcp.flags.reset'] in ('1', 'True'):
                s['rst'] += 1
                s.setdefault('rst_from', src)
            if r['tcp.flags.fin'] in ('1', 'True'):
                s['fin'] += 1
        if r['smb2.protocol_id']:
            if '0xfd534d42' in r['smb2.protocol_id']:
                smb['encrypted_frames'] += 1
            for d in r['smb2.dialect'].split(',') if r['smb2.dialect'] else []:
                if r['smb2.flags.response'].startswith(('1', 'True')):
                    smb['dialects'].add(d)
            for t in r['smb2.tree'].split(',') if r['smb2.tree'] else []:
                smb['trees'].add(t)
            for t in r['smb2.filename'].split(',') if r['smb2.filename'] else []:
                smb['pipes'].add(t)
        if r['smb.cmd'] and not r['smb.flags.response'].startswith(('1', 'True')):
            # SMB1: tree connect paths and NT_CREATE_ANDX file names (requests)
            cmds = r['smb.cmd'].split(',')
            if '0x75' in cmds and r['smb.path']:
                smb1['trees'].update(r['smb.path'].split(','))
            if '0xa2' in cmds and r['smb.file']:
                smb1['pipes'].update(f.lstrip('\\') for f in r['smb.file'].split(','))
        if not r['dcerpc.pkt_type']:
            continue
        transport = 'smb2' if r['smb2.protocol_id'] else 'smb1' if r['smb.cmd'] else 'tcp'
        types = ints(r['dcerpc.pkt_type'])
        cids = ints(r['dcerpc.cn_call_id'])
        for i, pt in enumerate(types):
            cid = cids[i] if i < len(cids) else None
            key = (st, cid)
            if pt in (11, 14):
                u = first(r['dcerpc.cn_bind_to_uuid'])
                binds.append({'frame': fno, 'stream': int(st), 'transport': transport,
                              'dst_port': int(r['tcp.dstport']), 'type': PKT[pt], 'uuid': u,
                              'interface': UUIDS.get(u, 'unknown'), 'reply': None})
            elif pt in (12, 13, 15):
                b = next((b for b in reversed(binds) if b['stream'] == int(st) and b['reply'] is None), None)
                if b is not None:
                    if pt == 13:
                        b['reply'] = 'bind_nak'
                        b['reject_reason'] = ints(r['dcerpc.cn_reject_reason'])[:1]
                        b['accepted'] = False
                    else:
                        res = ints(r['dcerpc.cn_ack_result'])
                        b['reply'] = PKT[pt]
                        b['ack_result'] = res
                        b['ack_reason'] = ints(r['dcerpc.cn_ack_reason'])
                        b['accepted'] = bool(res) and res[0] == 0
                    b['reply_frame'] = fno
            elif pt == 0:
                c = {'req_frame': fno, 'stream': int(st), 'transport': transport,
                     'dst_port': int(r['tcp.dstport']), 'call_id': cid,
                     'interface': r['_ws.col.Protocol'].lower(), 'opnum': (ints(r['dcerpc.opnum']) or [None])[0],
                     'outcome': 'no-response'}
                if r['dcerpc.auth_level']:
                    c['auth_level'] = ints(r['dcerpc.auth_level'])[0]
                calls.append(c)
                pending[key] = c
            elif pt in (2, 3):
                c = pending.get(key)
                if c is None:
                    continue
                last = r['dcerpc.cn_flags.last_frag'].split(',')
                last = last[i] if i < len(last) else last[-1]
                c.setdefault('resp_frame', fno)
                c['resp_fragments'] = c.get('resp_fragments', 0) + 1
                if last not in ('1', 'True'):
                    c['outcome'] = 'partial-response'
                    continue
                pending.pop(key, None)
                c['resp_last_frame'] = fno
                if pt == 3:
                    c['outcome'] = 'fault'
                    c['fault_status'] = (hexs(r['dcerpc.cn_status']) or [None])[0]
                else:
                    c['outcome'] = 'response'
                    for f in ('samr.status', 'lsarpc.status', 'epm.rc'):
                        if r[f]:
                            c['status'] = hexs(r[f])[0]
                    if c['interface'] == 'epm' and c['opnum'] == 3:
                        ports = ints(r['epm.proto.tcp_port'])
                        ips = r['epm.proto.ip'].split(',') if r['epm.proto.ip'] else []
                        epm_map.append({'req_frame': c['req_frame'], 'resp_frame': c['resp_frame'],
                                        'status': c.get('status'),
                                        'num_towers': (ints(r['epm.num_towers']) or [0])[0],
                                        'tcp_ports': ports, 'ips': ips})
                    if c['interface'] == 'epm' and c['opnum'] == 2:
                        epm_lookup.append({'req_frame': c['req_frame'], 'resp_frame': c['resp_frame'],
                                           'status': c.get('status'),
                                           'num_ents': (ints(r['epm.num_ents']) or [0])[0],
                                           'distinct_tcp_ports': sorted(set(ints(r['epm.proto.tcp_port'])))})

    # SYNs that got no answer at all: no SYN-ACK, no RST, no ICMP error
    unanswered = [s for s in streams.values()
                  if s['syn'] > 0 and s['synack'] == 0 and s['rst'] == 0 and not s.get('icmp_errors')]
    out = OrderedDict()
    out['scenario'] = name
    out['pcap'] = pcap.rsplit('/', 1)[-1]
    out['generated_by'] = 'lab/rpc/_expect.py with ' + ver
    if note:
        out['note'] = note
    out['frames'] = len(rows)
    out['tcp_streams'] = list(streams.values())
    out['tcp_unanswered_syn_streams'] = [{'stream': s['stream'], 'server': s['server'], 'syns': s['syn']}
                                         for s in unanswered]
    out['tcp_reset_streams'] = [{'stream': s['stream'], 'server': s['server'], 'rst_from': s.get('rst_from'),
                                 'established': s['synack'] > 0} for s in streams.values() if s['rst']]
    out['icmp_errors'] = [{'type': int(k[0]), 'code': int(k[1]), 'from': k[2], 'quoted_dst': k[3], 'count': v}
                          for k, v in icmp.items()]
    out['dcerpc_binds'] = binds
    out['dcerpc_calls'] = calls
    out['dcerpc_faults'] = [{'req_frame': c['req_frame'], 'interface': c['interface'], 'opnum': c['opnum'],
                             'status': c['fault_status']} for c in calls if c['outcome'] == 'fault']
    out['epm_map'] = epm_map
    out['epm_lookup'] = epm_lookup
    out['smb2'] = {'dialects': sorted(smb['dialects']), 'encrypted_frames': smb['encrypted_frames'],
                   'trees': sorted(smb['trees']), 'files': sorted(smb['pipes'])}
    out['smb1'] = {'trees': sorted(smb1['trees']), 'files': sorted(smb1['pipes'])}
    with open(outp, 'w') as f:
        json.dump(out, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
