#!/usr/bin/python3
"""tracehound lab client for rpc-retry-auth (helper H2): a refused call retried
successfully with authentication, as clients do (e.g. an NSPI bind refused, then
retried with NTLM).

Usage: retry_auth.py --user NAME --pwfile FILE ADDR

1. ept_map(drsuapi) at ADDR:135, connect to the port handed out, bind anonymously,
   IDL_DRSBind -> fault (status 5, access denied: Samba refuses anonymous DRSBind);
2. a new connection to the same port, bind with NTLM (packet privacy), the same
   IDL_DRSBind -> success.
Prints one JSON line per step (never the password). Exit 0 when both steps behaved.
"""
import argparse
import json
import sys

from impacket.dcerpc.v5 import drsuapi, epm, rpcrt, transport
from impacket.dcerpc.v5.rpcrt import DCERPCException


def out(step, **kw):
    print(json.dumps({'step': step, **kw}, default=str), flush=True)


def connect(host, port, user=None, pw=None, timeout=10):
    t = transport.DCERPCTransportFactory('ncacn_ip_tcp:%s[%d]' % (host, port))
    t.set_connect_timeout(timeout)
    if user:
        t.set_credentials(user, pw, '')
    dce = t.get_dce_rpc()
    if user:
        dce.set_auth_type(rpcrt.RPC_C_AUTHN_WINNT)
        dce.set_auth_level(rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY)
    dce.connect()
    t.get_socket().settimeout(timeout)
    return dce


def drs_bind(dce):
    """IDL_DRSBind (opnum 0) with the client extensions a replication client sends."""
    req = drsuapi.DRSBind()
    req['puuidClientDsa'] = drsuapi.NTDSAPI_CLIENT_GUID
    ext = drsuapi.DRS_EXTENSIONS_INT()
    ext['cb'] = len(ext)
    ext['dwFlags'] = (drsuapi.DRS_EXT_GETCHGREQ_V6 | drsuapi.DRS_EXT_GETCHGREPLY_V6
                      | drsuapi.DRS_EXT_GETCHGREQ_V8 | drsuapi.DRS_EXT_STRONG_ENCRYPTION)
    ext['SiteObjGuid'] = drsuapi.NULLGUID
    ext['Pid'] = 0
    ext['dwReplEpoch'] = 0
    ext['dwFlagsExt'] = 0
    ext['ConfigObjGUID'] = drsuapi.NULLGUID
    ext['dwExtCaps'] = 0xffffffff
    req['pextClient']['cb'] = len(ext.getData())
    req['pextClient']['rgb'] = list(ext.getData())
    return dce.request(req)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--user', required=True)
    ap.add_argument('--pwfile', required=True)
    ap.add_argument('addr')
    a = ap.parse_args()
    with open(a.pwfile) as f:
        pw = f.read().strip()
    binding = epm.hept_map(a.addr, drsuapi.MSRPC_UUID_DRSUAPI, protocol='ncacn_ip_tcp')
    port = int(binding.split('[')[1].rstrip(']'))
    out('ept_map', binding=binding)
    ok = True
    dce = connect(a.addr, port)
    dce.bind(drsuapi.MSRPC_UUID_DRSUAPI)
    try:
        drs_bind(dce)
        out('IDL_DRSBind', auth='none', result='success')
        ok = False
    except DCERPCException as e:
        out('IDL_DRSBind', auth='none', result=str(e))
    dce.disconnect()
    dce = connect(a.addr, port, a.user, pw)
    dce.bind(drsuapi.MSRPC_UUID_DRSUAPI)
    try:
        drs_bind(dce)
        out('IDL_DRSBind', auth='ntlm', result='success')
    except DCERPCException as e:
        out('IDL_DRSBind', auth='ntlm', result=str(e))
        ok = False
    dce.disconnect()
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
