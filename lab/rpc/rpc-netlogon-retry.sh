#!/bin/bash
# rpc-netlogon-retry: a member computer setting up its Netlogon secure channel
# with a stale machine password (NetrServerAuthenticate3 -> STATUS_ACCESS_DENIED),
# then with the current one (-> STATUS_SUCCESS), each after NetrServerReqChallenge
# on an unauthenticated bind (as MS-NRPC requires), credentials computed with AES.
# Expected: rpc.refused for NetrServerAuthenticate3 at severity info ("retried and
# succeeded") with secure-channel advice (never "raise the authentication level"),
# and no rpc.zerologon (the credentials are genuine). Client-side capture.
#
# Own addresses and names (helper H2 of this session): 10.87.12.0/24,
# namespaces th-h2-<PID>-*. Run as root: lab/rpc/rpc-netlogon-retry.sh
set -eu -o pipefail
RPC_DIR=$(cd "$(dirname "$0")" && pwd)
LAB_DIR=$(dirname "$RPC_DIR")
REPO_DIR=$(dirname "$LAB_DIR")
FIXTURES=${FIXTURES:-$REPO_DIR/tests/fixtures/lab}
NAME=rpc-netlogon-retry
TH_PREFIX=th-h2-$$
# shellcheck source=../lib/netns.sh
. "$LAB_DIR/lib/netns.sh"

netns_init
mkdir -p "$TH_TMP/out"
CLI=$(ns_create cli)
SRV=$(ns_create srv)
CLI_ADDR=10.87.12.10 SRV_ADDR=10.87.12.20
ns_link "$CLI" eth0 "$CLI_ADDR/24" "$SRV" eth0 "$SRV_ADDR/24"
SAMBA_DIR=$TH_TMP/samba
th_on_cleanup "'$LAB_DIR/samba-dc.sh' stop '$SAMBA_DIR' || true"
th_run "$LAB_DIR/samba-dc.sh" start "$SRV" "$SRV_ADDR" "$SAMBA_DIR" dc >/dev/null
# A computer account WS1$ with a known password (current) and another one (stale).
genpw() { head -c 18 /dev/urandom | base64 | tr -d '/+='; }
( umask 077; printf 'Aa1%s\n' "$(genpw)" >"$SAMBA_DIR/ws1.pw"; printf 'Aa1%s\n' "$(genpw)" >"$SAMBA_DIR/ws1-stale.pw" )
timeout 60 samba-tool computer create WS1 -H "$SAMBA_DIR/private/sam.ldb" -s "$SAMBA_DIR/etc/smb.conf" \
    >"$TH_TMP/computer.log" 2>&1 || { cat "$TH_TMP/computer.log" >&2; th_die "computer create"; }
timeout 60 samba-tool user setpassword 'WS1$' --newpassword="$(cat "$SAMBA_DIR/ws1.pw")" \
    -H "$SAMBA_DIR/private/sam.ldb" -s "$SAMBA_DIR/etc/smb.conf" >>"$TH_TMP/computer.log" 2>&1 \
    || { tail -n 5 "$TH_TMP/computer.log" >&2; th_die "setpassword"; }
wait_connect "$CLI" "$SRV_ADDR" 135 30 || th_die "135 not reachable"

client() {
    th_run timeout -k 5 60 ip netns exec "$CLI" /usr/bin/python3 "$RPC_DIR/netlogon_auth.py" \
        --account 'WS1$' --pwfile "$SAMBA_DIR/ws1.pw" --wrong-pwfile "$SAMBA_DIR/ws1-stale.pw" "$SRV_ADDR"
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
    "NetrServerAuthenticate3 with a stale machine password -> STATUS_ACCESS_DENIED; with the current one -> STATUS_SUCCESS"
for f in "$TH_TMP"/out/*; do
    chmod 0644 "$f"
    mv -f "$f" "$FIXTURES/"
    th_log "wrote $FIXTURES/$(basename "$f")"
done
