#!/bin/bash
# rpc-retry-auth: a refused call retried successfully with authentication
# (like an NSPI bind refused, then retried with NTLM). An anonymous IDL_DRSBind
# (drsuapi over ncacn_ip_tcp, port from ept_map) is answered by a fault
# (status 5, access denied); the client reconnects to the same port, binds with
# NTLM (packet privacy) and the same IDL_DRSBind succeeds.
# Expected: rpc.refused for IDL_DRSBind at severity info ("retried and
# succeeded"), nothing worse. Client-side capture.
#
# Own addresses (kept from when it was written): 10.87.11.0/24.
# Run as root: lab/rpc/rpc-retry-auth.sh
. "$(dirname "$0")/_common.sh"
rpc_init rpc-retry-auth 11 10.87
rpc_two_hosts dc thretry
wait_connect "$CLI" "$SRV_ADDR" 135 30 || th_die "135 not reachable"

client() {
    th_run timeout -k 5 60 ip netns exec "$CLI" "$PY" "$RPC_DIR/retry_auth.py" \
        --user "$RPC_USER" --pwfile "$RPC_PWFILE" "$SRV_ADDR"
}
rpc_warmup_cmd client
capture_start "$CLI" eth0 "$(rpc_pcap)"
client >&2 || th_die "client did not behave as expected"
rpc_finish "anonymous IDL_DRSBind -> fault 0x5 (access denied); same call with NTLM (privacy) on a new connection -> success"
