#!/usr/bin/python3
"""tracehound lab client for rpc-netlogon-retry (helper H2): a Netlogon secure
channel set up the way a member computer does it (MS-NRPC 3.1.4.1), first with a
stale machine password, then with the current one.

Usage: netlogon_auth.py --account NAME --pwfile FILE --wrong-pwfile FILE ADDR

ept_map(netlogon) at ADDR:135, then on the port handed out (unauthenticated bind,
as MS-NRPC requires for these calls): NetrServerReqChallenge +
NetrServerAuthenticate3 with the credential computed (AES, MS-NRPC 3.1.4.4.1)
from the wrong password -> STATUS_ACCESS_DENIED; on a new connection the same with
the right password -> STATUS_SUCCESS. Prints one JSON line per step, never a
password or key. Exit 0 when both behaved so.
"""
import argparse
import json
import os
import sys

from impacket.dcerpc.v5 import epm, nrpc, transport
from impacket.dcerpc.v5.dtypes import NULL
from impacket.dcerpc.v5.rpcrt import DCERPCException
from impacket.ntlm import compute_nthash

FLAGS = 0x212fffff  # what Windows members send, AES included


def out(step, **kw):
    print(json.dumps({'step': step, **kw}, default=str), flush=True)


def authenticate(host, port, account, password):
    dce = transport.DCERPCTransportFactory('ncacn_ip_tcp:%s[%d]' % (host, port)).get_dce_rpc()
    dce.connect()
    dce.bind(nrpc.MSRPC_UUID_NRPC)
    computer = account.rstrip('$')
    client_challenge = os.urandom(8)
    r = nrpc.hNetrServerReqChallenge(dce, NULL, computer + '\x00', client_challenge)
    key = nrpc.ComputeSessionKeyAES(None, client_challenge, r['ServerChallenge'],
                                    compute_nthash(password))
    cred = nrpc.ComputeNetlogonCredentialAES(client_challenge, key)
    try:
        r = nrpc.hNetrServerAuthenticate3(
            dce, NULL, account + '\x00',
            nrpc.NETLOGON_SECURE_CHANNEL_TYPE.WorkstationSecureChannel,
            computer + '\x00', cred, FLAGS)
        status = r['ErrorCode']
    except DCERPCException as e:
        status = getattr(e, 'error_code', None) or str(e)
    dce.disconnect()
    return status


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--account', required=True)
    ap.add_argument('--pwfile', required=True)
    ap.add_argument('--wrong-pwfile', required=True)
    ap.add_argument('addr')
    a = ap.parse_args()
    with open(a.pwfile) as f:
        right = f.read().strip()
    with open(a.wrong_pwfile) as f:
        wrong = f.read().strip()
    binding = epm.hept_map(a.addr, nrpc.MSRPC_UUID_NRPC, protocol='ncacn_ip_tcp')
    port = int(binding.split('[')[1].rstrip(']'))
    out('ept_map', binding=binding)
    s1 = authenticate(a.addr, port, a.account, wrong)
    out('NetrServerAuthenticate3', password='stale', status=hex(s1) if isinstance(s1, int) else s1)
    s2 = authenticate(a.addr, port, a.account, right)
    out('NetrServerAuthenticate3', password='current', status=hex(s2) if isinstance(s2, int) else s2)
    return 0 if s1 == 0xc0000022 and s2 == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
