#!/usr/bin/python3
"""tracehound lab RPC client: real DCE/RPC calls made with impacket (Debian
python3-impacket 0.10, run with /usr/bin/python3).

Usage: rpcclient.py [--timeout S] [--user NAME --pwfile FILE --domain D] ACTION ADDR [args]

Actions (each prints one JSON line per step to stdout; never prints secrets):
  map-then-call ADDR     ept_map(SAMR, ncacn_ip_tcp) on ADDR:135, connect to the
                         returned port (at ADDR, or at the tower's IP with
                         --use-tower-ip), SamrConnect + SamrEnumerateDomainsInSamServer
  lookup ADDR            full ept_lookup enumeration (loop until end-of-list)
  fault ADDR             LsarOpenPolicy2 over ncacn_ip_tcp (expect fault),
                         SamrCreateUser2InDomain (expect STATUS_ACCESS_DENIED)
  smb-pipe ADDR          SAMR and LSA over SMB2 named pipes (needs --user)
  smb1-pipe ADDR         the same over SMB1 (NT LM 0.12; the server must allow it)
  not-registered ADDR    ept_map for an unregistered interface UUID
  context-rejected ADDR  bind an unknown interface on a dynamic port and on 135
  healthy-mixed ADDR     EPM + SAMR/LSA over TCP and SAMR/LSA over SMB pipes
Exit status 0 when every step behaved as the scenario expects, 1 otherwise.
"""
import argparse
import json
import socket
import sys
import uuid
from struct import unpack

from impacket.dcerpc.v5 import epm, transport, samr, lsad, lsat, rpcrt
from impacket.dcerpc.v5.dtypes import NULL, MAXIMUM_ALLOWED
from impacket.dcerpc.v5.rpcrt import DCERPCException
from impacket.uuid import uuidtup_to_bin

SAMR_IF = samr.MSRPC_UUID_SAMR
LSA_IF = lsad.MSRPC_UUID_LSAD
# A UUID nobody registers (random, fixed so fixtures are reproducible).
UNKNOWN_IF = uuidtup_to_bin(('7d0ef8a6-3b1c-4f4e-9b57-1a2b3c4d5e6f', '1.0'))

ARGS = None
OK = True


def fault_code(e):
    """impacket raises faults as DCERPCException('rpc_s_...') without a code:
    map the name back through rpcrt.rpc_status_codes."""
    code = getattr(e, 'error_code', None)
    if code:
        return code
    for k, v in rpcrt.rpc_status_codes.items():
        if str(e) == v or str(e).startswith(v + ' '):
            return k
    return None


def out(step, **kw):
    kw = {'step': step, **kw}
    print(json.dumps(kw, default=str), flush=True)


def expect(cond, what):
    global OK
    if not cond:
        OK = False
        out('unexpected', what=what)


def tcp_dce(host, port, auth=False, level=None):
    t = transport.DCERPCTransportFactory('ncacn_ip_tcp:%s[%d]' % (host, port))
    t.set_connect_timeout(ARGS.timeout)
    if auth:
        t.set_credentials(ARGS.user, read_pw(), ARGS.domain)
    dce = t.get_dce_rpc()
    if auth:
        dce.set_auth_type(rpcrt.RPC_C_AUTHN_WINNT)
        dce.set_auth_level(level or rpcrt.RPC_C_AUTHN_LEVEL_PKT_INTEGRITY)
    dce.connect()
    sock = t.get_socket()
    sock.settimeout(ARGS.timeout)
    return dce


class SmbPipe:
    """DCE/RPC over an SMB2 named pipe, with an orderly teardown.

    impacket's own SMBTransport.disconnect() leaves the pipe open (no SMB2
    CLOSE) and logs off twice (the second LOGOFF gets
    STATUS_USER_SESSION_DELETED); here we own the SMB connection and do:
    CLOSE(pipe), TREE_DISCONNECT, one LOGOFF, TCP close."""

    def __init__(self, host, pipe, dialect=None):
        from impacket.smbconnection import SMBConnection
        self.conn = SMBConnection(host, host, sess_port=445, timeout=ARGS.timeout,
                                  preferredDialect=dialect)
        self.conn.login(ARGS.user, read_pw(), ARGS.domain)
        self.t = transport.SMBTransport(host, 445, pipe, smb_connection=self.conn)
        self.dce = self.t.get_dce_rpc()
        self.dce.connect()

    def close(self):
        try:
            self.conn.closeFile(self.t._SMBTransport__tid, self.t._SMBTransport__handle)
        except Exception as e:
            out('smb_close_pipe_failed', error=str(e))
        self.dce.disconnect()  # existing connection: only TREE_DISCONNECT
        self.conn.close()      # one LOGOFF + TCP close


def read_pw():
    with open(ARGS.pwfile) as f:
        return f.read().strip()


def ept_map(dce, ifbin, proto='tcp'):
    """Raw ept_map; returns (status, [towers]) with each tower decoded to a dict."""
    tower = epm.EPMTower()
    itf = epm.EPMRPCInterface()
    itf['InterfaceUUID'] = ifbin[:16]
    itf['MajorVersion'] = unpack('<H', ifbin[16:18])[0]
    itf['MinorVersion'] = unpack('<H', ifbin[18:20])[0]
    ndr = uuidtup_to_bin(('8a885d04-1ceb-11c9-9fe8-08002b104860', '2.0'))
    dr = epm.EPMRPCDataRepresentation()
    dr['DataRepUuid'] = ndr[:16]
    dr['MajorVersion'] = 2
    dr['MinorVersion'] = 0
    pid = epm.EPMProtocolIdentifier()
    pid['ProtIdentifier'] = epm.FLOOR_RPCV5_IDENTIFIER
    pa = epm.EPMPortAddr()
    pa['IpPort'] = 0
    ha = epm.EPMHostAddr()
    ha['Ip4addr'] = socket.inet_aton('0.0.0.0')
    tower['NumberOfFloors'] = 5
    tower['Floors'] = itf.getData() + dr.getData() + pid.getData() + pa.getData() + ha.getData()
    req = epm.ept_map()
    req['max_towers'] = 4
    req['map_tower']['tower_length'] = len(tower)
    req['map_tower']['tower_octet_string'] = tower.getData()
    req.fields['obj'].fields['ReferentID'] = 1
    req.fields['map_tower'].fields['ReferentID'] = 2
    try:
        resp = dce.request(req)
    except DCERPCException as e:
        code = getattr(e, 'error_code', None)
        if code is not None:
            return code, []
        raise
    towers = []
    for i in range(resp['num_towers']):
        tw = epm.EPMTower(b''.join(resp['ITowers'][i]['Data']['tower_octet_string']))
        towers.append(decode_tower(tw))
    return resp['status'], towers


def decode_tower(tw):
    d = {}
    floors = tw['Floors']
    for f in floors[3:]:
        p = f['ProtocolData']
        if p == b'\x07':
            d['port'] = unpack('!H', f['RelatedData'])[0]
        elif p == b'\x09':
            d['ip'] = socket.inet_ntoa(f['RelatedData'])
        elif p == b'\x0f':
            d['pipe'] = f['RelatedData'].rstrip(b'\x00').decode()
    return d


def epm_map_samr(host):
    dce = tcp_dce(host, 135)
    dce.bind(epm.MSRPC_UUID_PORTMAP)
    st, towers = ept_map(dce, SAMR_IF)
    dce.disconnect()
    out('ept_map', interface='samr', status=hex(st), towers=towers)
    expect(st == 0 and towers, 'samr mapped')
    return towers[0] if towers else None


def samr_enum(dce):
    r = samr.hSamrConnect(dce)
    h = r['ServerHandle']
    r = samr.hSamrEnumerateDomainsInSamServer(dce, h)
    names = [d['Name'] for d in r['Buffer']['Buffer']]
    out('SamrEnumerateDomainsInSamServer', status=hex(r['ErrorCode']), domains=names)
    return h, names


def act_map_then_call(host):
    tw = epm_map_samr(host)
    if not tw:
        return
    target = tw.get('ip') if ARGS.use_tower_ip else host
    if ARGS.use_tower_ip and target in (None, '0.0.0.0'):
        target = host
    out('connect', host=target, port=tw['port'])
    try:
        dce = tcp_dce(target, tw['port'])
    except Exception as e:  # the failure is the observation
        out('connect_failed', host=target, port=tw['port'], error=type(e).__name__, detail=str(e))
        expect(ARGS.expect_fail, 'connect succeeded')
        return
    expect(not ARGS.expect_fail, 'connect should have failed')
    dce.bind(SAMR_IF)
    h, names = samr_enum(dce)
    samr.hSamrCloseHandle(dce, h)
    dce.disconnect()


def act_lookup(host):
    dce = tcp_dce(host, 135)
    dce.bind(epm.MSRPC_UUID_PORTMAP)
    handle = epm.ept_lookup_handle_t()
    total = 0
    calls = 0
    for _ in range(50):  # bounded
        req = epm.ept_lookup()
        req['inquiry_type'] = epm.RPC_C_EP_ALL_ELTS
        req['object'] = NULL
        req['Ifid'] = NULL
        req['vers_option'] = epm.RPC_C_VERS_ALL
        req['entry_handle'] = handle
        req['max_ents'] = 500
        calls += 1
        try:
            resp = dce.request(req)
        except DCERPCException as e:
            code = getattr(e, 'error_code', None)
            out('ept_lookup', call=calls, status=hex(code) if code is not None else str(e), entries=0)
            break
        n = resp['num_ents']
        total += n
        ports = sorted({decode_tower(epm.EPMTower(b''.join(resp['entries'][i]['tower']['tower_octet_string']))).get('port')
                        for i in range(n)} - {None})
        out('ept_lookup', call=calls, status=hex(resp['status']), entries=n, tcp_ports=ports)
        handle = resp['entry_handle']
        if resp['status'] != 0 or handle.isNull():
            break
    out('lookup_done', calls=calls, entries=total)
    expect(total > 0, 'entries returned')
    dce.disconnect()


def lsa_open_tcp(host):
    dce = tcp_dce(host, 135)
    dce.bind(epm.MSRPC_UUID_PORTMAP)
    st, towers = ept_map(dce, LSA_IF)
    dce.disconnect()
    out('ept_map', interface='lsarpc', status=hex(st), towers=towers)
    dce = tcp_dce(host, towers[0]['port'])
    dce.bind(LSA_IF)
    try:
        r = lsad.hLsarOpenPolicy2(dce, MAXIMUM_ALLOWED | lsat.POLICY_LOOKUP_NAMES)
        out('LsarOpenPolicy2', status=hex(r['ErrorCode']))
        return dce, r['PolicyHandle'], None
    except DCERPCException as e:
        out('LsarOpenPolicy2', fault=str(e), code=hex(fault_code(e) or 0))
        return dce, None, e


def samr_create_user(dce, host):
    h, names = samr_enum(dce)
    dom = [n for n in names if n.lower() != 'builtin'][0]
    r = samr.hSamrLookupDomainInSamServer(dce, h, dom)
    sid = r['DomainId']
    try:
        r = samr.hSamrOpenDomain(dce, h, samr.DOMAIN_LOOKUP | samr.DOMAIN_CREATE_USER, sid)
        dh = r['DomainHandle']
        out('SamrOpenDomain', status=hex(r['ErrorCode']), access='LOOKUP|CREATE_USER')
    except DCERPCException as e:
        out('SamrOpenDomain', error=str(e), code=hex(getattr(e, 'error_code', 0) or 0))
        r = samr.hSamrOpenDomain(dce, h, samr.DOMAIN_LOOKUP, sid)
        dh = r['DomainHandle']
        out('SamrOpenDomain', status=hex(r['ErrorCode']), access='LOOKUP')
    try:
        r = samr.hSamrCreateUser2InDomain(dce, dh, 'thlab%04d' % (uuid.uuid4().int % 10000),
                                          samr.USER_NORMAL_ACCOUNT, samr.USER_ALL_ACCESS)
        out('SamrCreateUser2InDomain', status=hex(r['ErrorCode']))
        expect(False, 'create user should be denied')
    except DCERPCException as e:
        code = getattr(e, 'error_code', None)
        out('SamrCreateUser2InDomain', error=str(e), code=hex(code or 0))
        expect(code == 0xc0000022, 'STATUS_ACCESS_DENIED')


def act_fault(host):
    dce, ph, err = lsa_open_tcp(host)
    expect(err is not None and fault_code(err) == 5, 'nca_s_fault_access_denied')
    dce.disconnect()
    tw = epm_map_samr(host)
    auth = bool(ARGS.user)
    dce = tcp_dce(host, tw['port'], auth=auth)
    dce.bind(SAMR_IF)
    samr_create_user(dce, host)
    dce.disconnect()


def act_not_registered(host):
    dce = tcp_dce(host, 135)
    dce.bind(epm.MSRPC_UUID_PORTMAP)
    st, towers = ept_map(dce, UNKNOWN_IF)
    out('ept_map', interface=str(uuid.UUID(bytes_le=UNKNOWN_IF[:16])), status=hex(st), towers=towers)
    expect(st == 0x16c9a0d6 and not towers, 'EPT_S_NOT_REGISTERED')
    dce.disconnect()


def try_bind(host, port, ifbin, label):
    dce = tcp_dce(host, port)
    try:
        resp = dce.bind(ifbin)
        out('bind', target=label, port=port, result='accepted')
        ok = False
    except DCERPCException as e:
        out('bind', target=label, port=port, result='rejected', detail=str(e))
        ok = True
    try:
        dce.disconnect()
    except Exception:
        pass
    return ok


def act_context_rejected(host):
    tw = epm_map_samr(host)
    r1 = try_bind(host, tw['port'], UNKNOWN_IF, 'dynamic')
    r2 = try_bind(host, 135, UNKNOWN_IF, 'epm')
    expect(r1 and r2, 'both binds rejected')


def act_smb_pipe(host, dialect=None):
    p = SmbPipe(host, 'samr', dialect)
    dce = p.dce
    dce.bind(SAMR_IF)
    h, names = samr_enum(dce)
    dom = [n for n in names if n.lower() != 'builtin'][0]
    r = samr.hSamrLookupDomainInSamServer(dce, h, dom)
    r = samr.hSamrOpenDomain(dce, h, samr.DOMAIN_LOOKUP | samr.DOMAIN_LIST_ACCOUNTS, r['DomainId'])
    dh = r['DomainHandle']
    r = samr.hSamrEnumerateUsersInDomain(dce, dh)
    users = [u['Name'] for u in r['Buffer']['Buffer']]
    out('SamrEnumerateUsersInDomain', status=hex(r['ErrorCode']), users=len(users))
    samr.hSamrCloseHandle(dce, dh)
    samr.hSamrCloseHandle(dce, h)
    p.close()
    p = SmbPipe(host, 'lsarpc', dialect)
    dce = p.dce
    dce.bind(LSA_IF)
    r = lsad.hLsarOpenPolicy2(dce, MAXIMUM_ALLOWED | lsat.POLICY_LOOKUP_NAMES)
    ph = r['PolicyHandle']
    out('LsarOpenPolicy2', status=hex(r['ErrorCode']))
    r = lsad.hLsarQueryInformationPolicy2(dce, ph, lsad.POLICY_INFORMATION_CLASS.PolicyPrimaryDomainInformation)
    out('LsarQueryInformationPolicy2', status=hex(r['ErrorCode']))
    r = lsat.hLsarLookupNames(dce, ph, ['Administrator', ARGS.user])
    out('LsarLookupNames', status=hex(r['ErrorCode']), count=r['MappedCount'])
    lsad.hLsarClose(dce, ph)
    p.close()


def act_smb1_pipe(host):
    from impacket.smb import SMB_DIALECT
    act_smb_pipe(host, SMB_DIALECT)
    # One more pipe driven with TRANSACTION/TransactNmPipe (as Windows clients do), PDUs
    # built by hand: bind to srvsvc, then NetrServerGetInfo level 101.
    from impacket.smbconnection import SMBConnection
    from impacket.dcerpc.v5 import srvs
    conn = SMBConnection(host, host, sess_port=445, timeout=ARGS.timeout, preferredDialect=SMB_DIALECT)
    conn.login(ARGS.user, read_pw(), ARGS.domain)
    tid = conn.connectTree('IPC$')
    fid = conn.openFile(tid, '\\srvsvc')
    item = rpcrt.CtxItem()
    item['AbstractSyntax'] = srvs.MSRPC_UUID_SRVS
    item['TransferSyntax'] = uuidtup_to_bin(('8a885d04-1ceb-11c9-9fe8-08002b104860', '2.0'))
    item['ContextID'] = 0
    item['TransItems'] = 1
    bind = rpcrt.MSRPCBind()
    bind['max_tfrag'] = bind['max_rfrag'] = 4280
    bind.addCtxItem(item)
    pkt = rpcrt.MSRPCHeader()
    pkt['type'] = rpcrt.MSRPC_BIND
    pkt['call_id'] = 1
    pkt['flags'] = rpcrt.PFC_FIRST_FRAG | rpcrt.PFC_LAST_FRAG
    pkt['pduData'] = bind.getData()
    ack = rpcrt.MSRPCHeader(conn.transactNamedPipe(tid, fid, pkt.getData()))
    out('transact_bind', ack_type=ack['type'])
    call = srvs.NetrServerGetInfo()
    call['ServerName'] = '\x00'
    call['Level'] = 101
    stub = call.getData()
    req = rpcrt.MSRPCRequestHeader()
    req['type'] = rpcrt.MSRPC_REQUEST
    req['call_id'] = 2
    req['flags'] = rpcrt.PFC_FIRST_FRAG | rpcrt.PFC_LAST_FRAG
    req['ctx_id'] = 0
    req['op_num'] = call.opnum
    req['alloc_hint'] = len(stub)
    req['pduData'] = stub
    resp = rpcrt.MSRPCRespHeader(conn.transactNamedPipe(tid, fid, req.getData()))
    out('transact_NetrServerGetInfo', resp_type=resp['type'])
    expect(ack['type'] == rpcrt.MSRPC_BINDACK and resp['type'] == rpcrt.MSRPC_RESPONSE, 'TransactNmPipe answers')
    conn.closeFile(tid, fid)
    conn.disconnectTree(tid)
    conn.close()


def act_healthy_mixed(host):
    dce = tcp_dce(host, 135)
    dce.bind(epm.MSRPC_UUID_PORTMAP)
    st, tw = ept_map(dce, SAMR_IF)
    out('ept_map', interface='samr', status=hex(st), towers=tw)
    st2, tw2 = ept_map(dce, LSA_IF)
    out('ept_map', interface='lsarpc', status=hex(st2), towers=tw2)
    dce.disconnect()
    dce = tcp_dce(host, tw[0]['port'])
    dce.bind(SAMR_IF)
    h, names = samr_enum(dce)
    dom = [n for n in names if n.lower() != 'builtin'][0]
    r = samr.hSamrLookupDomainInSamServer(dce, h, dom)
    out('SamrLookupDomainInSamServer', status=hex(r['ErrorCode']))
    samr.hSamrCloseHandle(dce, h)
    dce.disconnect()
    act_smb_pipe(host)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument('--timeout', type=float, default=10)
    ap.add_argument('--user')
    ap.add_argument('--pwfile')
    ap.add_argument('--domain', default='LAB')
    ap.add_argument('--use-tower-ip', action='store_true')
    ap.add_argument('--expect-fail', action='store_true', help='connect to the mapped port should fail')
    ap.add_argument('action')
    ap.add_argument('addr')
    ARGS = ap.parse_args()
    socket.setdefaulttimeout(ARGS.timeout)
    fn = globals()['act_' + ARGS.action.replace('-', '_')]
    try:
        fn(ARGS.addr)
    except Exception as e:
        out('error', error=type(e).__name__, detail=str(e))
        return 1
    return 0 if OK else 1


if __name__ == '__main__':
    sys.exit(main())
