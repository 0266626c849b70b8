#!/bin/bash
# rpc-netlogon-retry: a member computer setting up its Netlogon secure channel
# with a stale machine password (NetrServerAuthenticate3 -> STATUS_ACCESS_DENIED),
# then with the current one (-> STATUS_SUCCESS), each after NetrServerReqChallenge
# on an unauthenticated bind (as MS-NRPC requires), credentials computed with AES.
# Expected: rpc.refused for NetrServerAuthenticate3 at severity info ("retried and
# succeeded") with secure-channel advice (never "raise the authentication level"),
# and no rpc.zerologon (the credentials are genuine). Client-side capture.
#
# Own addresses (kept from when it was written): 10.87.12.0/24.
# Run as root: lab/rpc/rpc-netlogon-retry.sh
. "$(dirname "$0")/_common.sh"
rpc_init rpc-netlogon-retry 12 10.87
rpc_two_hosts dc
# A computer account WS1$ with a known password (current) and another one (stale).
genpw() { head -c 18 /dev/urandom | base64 | tr -d '/+='; }
( umask 077; printf 'Aa1%s\n' "$(genpw)" >"$SAMBA_DIR/ws1.pw"; printf 'Aa1%s\n' "$(genpw)" >"$SAMBA_DIR/ws1-stale.pw" )
samba_tool() {
    timeout 60 samba-tool "$@" -H "$SAMBA_DIR/private/sam.ldb" -s "$SAMBA_DIR/etc/smb.conf" \
        >>"$TH_TMP/computer.log" 2>&1 || { tail -n 5 "$TH_TMP/computer.log" >&2; th_die "samba-tool $1 $2"; }
}
samba_tool computer create WS1
samba_tool user setpassword 'WS1$' --newpassword="$(cat "$SAMBA_DIR/ws1.pw")"
wait_connect "$CLI" "$SRV_ADDR" 135 30 || th_die "135 not reachable"

client() {
    th_run timeout -k 5 60 ip netns exec "$CLI" "$PY" "$RPC_DIR/netlogon_auth.py" \
        --account 'WS1$' --pwfile "$SAMBA_DIR/ws1.pw" --wrong-pwfile "$SAMBA_DIR/ws1-stale.pw" "$SRV_ADDR"
}
rpc_warmup_cmd client
capture_start "$CLI" eth0 "$(rpc_pcap)"
client >&2 || th_die "client did not behave as expected"
rpc_finish "NetrServerAuthenticate3 with a stale machine password -> STATUS_ACCESS_DENIED; with the current one -> STATUS_SUCCESS"
