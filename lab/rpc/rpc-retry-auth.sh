#!/bin/bash
# rpc-retry-auth: a refused call retried successfully with authentication
# (like an NSPI bind refused, then retried with NTLM). An anonymous IDL_DRSBind
# (drsuapi over ncacn_ip_tcp, port from ept_map) is answered by a fault
# (status 5, access denied); the client reconnects to the same port, binds with
# NTLM (packet privacy) and the same IDL_DRSBind succeeds.
# Expected: rpc.refused for IDL_DRSBind at severity info ("retried and
# succeeded"), nothing worse. Client-side capture.
#
# Own addresses and names (helper H2 of this session): 10.87.11.0/24,
# namespaces th-h2-<PID>-*. Run as root: lab/rpc/rpc-retry-auth.sh
set -eu -o pipefail
RPC_DIR=$(cd "$(dirname "$0")" && pwd)
LAB_DIR=$(dirname "$RPC_DIR")
REPO_DIR=$(dirname "$LAB_DIR")
FIXTURES=${FIXTURES:-$REPO_DIR/tests/fixtures/lab}
NAME=rpc-retry-auth
TH_PREFIX=th-h2-$$
# shellcheck source=../lib/netns.sh
. "$LAB_DIR/lib/netns.sh"

netns_init
mkdir -p "$TH_TMP/out"
CLI=$(ns_create cli)
SRV=$(ns_create srv)
CLI_ADDR=10.87.11.10 SRV_ADDR=10.87.11.20
ns_link "$CLI" eth0 "$CLI_ADDR/24" "$SRV" eth0 "$SRV_ADDR/24"
SAMBA_DIR=$TH_TMP/samba
th_on_cleanup "'$LAB_DIR/samba-dc.sh' stop '$SAMBA_DIR' || true"
th_run "$LAB_DIR/samba-dc.sh" start "$SRV" "$SRV_ADDR" "$SAMBA_DIR" dc >/dev/null
th_run "$LAB_DIR/samba-dc.sh" adduser "$SAMBA_DIR" thretry
wait_connect "$CLI" "$SRV_ADDR" 135 30 || th_die "135 not reachable"

client() {
    th_run timeout -k 5 60 ip netns exec "$CLI" /usr/bin/python3 "$RPC_DIR/retry_auth.py" \
        --user thretry --pwfile "$SAMBA_DIR/users/thretry.pw" "$SRV_ADDR"
}
# Warm-up (ARP, dynamic endpoints registered), not captured; bounded retries.
for i in 1 2 3 4 5; do
    client >"$TH_TMP/warmup.log" 2>&1 && break
    [ "$i" -lt 5 ] || { cat "$TH_TMP/warmup.log" >&2; th_die "warm-up failed"; }
    sleep 1
done
PCAP=$TH_TMP/out/$NAME.pcap
capture_start "$CLI" eth0 "$PCAP"
client >&2 || th_die "client did not behave as expected"
capture_stop || th_die "capture problem"
timeout 120 /usr/bin/python3 "$RPC_DIR/_expect.py" "$PCAP" "$TH_TMP/out/$NAME.expect.json" "$NAME" \
    "anonymous IDL_DRSBind -> fault 0x5 (access denied); same call with NTLM (privacy) on a new connection -> success"
for f in "$TH_TMP"/out/*; do
    chmod 0644 "$f"
    mv -f "$f" "$FIXTURES/"
    th_log "wrote $FIXTURES/$(basename "$f")"
done
