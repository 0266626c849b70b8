#!/usr/bin/python3
"""lab/rpch/rpch_client.py - impacket's real ncacn_http (RPC over HTTP v2) client.

  rpch_client.py --proxy ADDR:443|ADDR:80 --target ADDR --user U --pwfile F [--expect-fail]

Connects through the RPC proxy (string binding ncacn_http:TARGET[593,RpcProxy=PROXY]) twice
(two virtual connections): first ept_lookup until the end of the list (hept_lookup binds the
endpoint mapper) and one opnum the endpoint mapper does not have (answered with a fault),
then ept_map for SAMR (hept_map binds).
The password is read from the file and never printed.
"""
import argparse
import sys

from impacket.dcerpc.v5 import epm, samr, transport
from impacket.dcerpc.v5.rpcrt import DCERPCException


def connect(sb, user, password):
    t = transport.DCERPCTransportFactory(sb)
    t.set_credentials(user, password, "")
    dce = t.get_dce_rpc()
    dce.connect()
    return dce


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--pwfile", required=True)
    ap.add_argument("--expect-fail", action="store_true")
    a = ap.parse_args()
    with open(a.pwfile) as f:
        password = f.read().strip()
    sb = f"ncacn_http:{a.target}[593,RpcProxy={a.proxy}]"
    try:
        dce = connect(sb, a.user, password)
    except Exception as e:  # noqa: BLE001 - impacket raises many kinds
        print(f"connect failed: {e}")
        return 0 if a.expect_fail else 1
    if a.expect_fail:
        print("connect unexpectedly worked")
        return 1
    # Virtual connection 1: ept_lookup (hept_lookup binds), then an opnum EPM lacks.
    try:
        entries = epm.hept_lookup(None, dce=dce)
        print(f"ept_lookup: {len(entries)} entries")
    except DCERPCException as e:
        print(f"ept_lookup ended: {e}")
    try:
        dce.call(99, b"\0" * 8)
        dce.recv()
        print("opnum 99 answered")
    except DCERPCException as e:
        print(f"opnum 99: {e}")
    dce.disconnect()
    # Virtual connection 2: ept_map for SAMR (hept_map binds).
    dce = connect(sb, a.user, password)
    b = epm.hept_map(a.target, samr.MSRPC_UUID_SAMR, protocol="ncacn_ip_tcp", dce=dce)
    print(f"ept_map samr: {b}")
    dce.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
