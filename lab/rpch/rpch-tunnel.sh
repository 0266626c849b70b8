#!/bin/bash
# lab/rpch/rpch-tunnel.sh - DCE/RPC over HTTP v2 (ncacn_http, MS-RPCH) captures (issue 9).
#
# Namespaces th-h1-<pid>-cli (10.101.1.10) and th-h1-<pid>-srv (10.101.1.20), one veth pair,
# no link to the host. In srv: a real Samba AD DC (lab/samba-dc.sh; endpoint mapper on 135)
# and lab/rpch/rpch_proxy.py, a small RPC over HTTP proxy (there is no IIS rpcproxy.dll
# here) speaking HTTP/1.1 with TLS on 443 (openssl-made certificate, key log written by
# Python's ssl keylog_filename) and plain on 80; it answers CONN/A1 + CONN/B1 with
# CONN/A3 + CONN/C2 and relays the DCE/RPC PDUs to Samba's endpoint mapper (Samba 4.17's
# endpoint mapper lists ncacn_http:[593] but nothing listens there: the peer falls back to
# ncacn_ip_tcp 135, so the proxy-to-server leg is not RPC over HTTP here). In cli:
# impacket's ncacn_http client (lab/rpch/rpch_client.py): HTTP Basic after a 401, then
# two virtual connections: ept_lookup to the end of the list and one opnum EPM lacks
# (a fault), then ept_map SAMR.
#
# Writes into tests/fixtures/lab/:
#   rpch-https.pcap + rpch-https.keylog   the tunnel over TLS (analyze --keylog)
#   rpch-http.pcap                         the same over plain HTTP (port 80)
#   rpch-denied.pcap                       the proxy refuses the target: CONN/A1 answered
#                                          "503 RPC Error: 6ba", no CONN/A3
set -eu -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
FIXTURES=${FIXTURES:-$REPO/tests/fixtures/lab}
PY=/usr/bin/python3
export TH_PREFIX="th-h1-$$"
. "$HERE/../lib/netns.sh"
netns_init
mkdir -p "$TH_TMP/out" "$FIXTURES"

CLI=$(ns_create cli)
SRV=$(ns_create srv)
C=10.101.1.10 S=10.101.1.20
ns_link "$CLI" eth0 "$C/24" "$SRV" eth0 "$S/24"

SAMBA_DIR=$TH_TMP/samba
th_on_cleanup "'$HERE/../samba-dc.sh' stop '$SAMBA_DIR' || true"
th_run "$HERE/../samba-dc.sh" start "$SRV" "$S" "$SAMBA_DIR" dc >/dev/null

# TLS certificate for the proxy (made fresh; only the public part matters to the tests).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TH_TMP/key.pem" -out "$TH_TMP/cert.pem" \
    -days 3650 -subj "/CN=rpcproxy.lab.tracehound.test" 2>/dev/null
head -c 18 /dev/urandom | base64 | tr -d '/+=\n' >"$TH_TMP/pw"
chmod 0600 "$TH_TMP/pw" "$TH_TMP/key.pem"

# proxy [ARGS...]: start the RPC proxy peer in srv; sets PROXY_PID.
proxy() {
    th_bg "$SRV" "$PY" "$HERE/rpch_proxy.py" --addr "$S" --cert "$TH_TMP/cert.pem" \
        --key "$TH_TMP/key.pem" --user labuser --pwfile "$TH_TMP/pw" --max-seconds 90 "$@"
    PROXY_PID=$TH_LAST_PID
    wait_port "$SRV" "$S" 443 20 && wait_port "$SRV" "$S" 80 20
}

# client PROXYADDR [ARGS...]
client() {
    local p=$1; shift
    th_run timeout -k 5 60 ip netns exec "$CLI" "$PY" "$HERE/rpch_client.py" --proxy "$p" \
        --target "$S" --user labuser --pwfile "$TH_TMP/pw" "$@" >"$TH_TMP/client.log" 2>&1 || {
        sed 's/^/[client] /' "$TH_TMP/client.log" >&2
        return 1
    }
    sed 's/^/[client] /' "$TH_TMP/client.log" >&2
}

# run NAME PROXYADDR [client args]: one capture on the client's interface.
run() {
    local name=$1; shift
    capture_start "$CLI" eth0 "$TH_TMP/out/$name.pcap" tcp
    client "$@"
    sleep 0.5
    capture_stop "$TH_TMP/out/$name.pcap" || th_die "capture problem"
}

wait_connect "$CLI" "$S" 135 30 || th_die "Samba's 135 not reachable"
proxy --keylog "$TH_TMP/out/rpch-https.keylog"
run rpch-https "$S:443"
run rpch-http "$S:80"
th_kill "$PROXY_PID" 5
proxy --deny-target
run rpch-denied "$S:80" --expect-fail
th_kill "$PROXY_PID" 5

for f in "$TH_TMP"/out/*; do
    chmod 0644 "$f"
    mv -f "$f" "$FIXTURES/"
    th_log "wrote $FIXTURES/$(basename "$f") ($(stat -c %s "$FIXTURES/$(basename "$f")") bytes)"
done
