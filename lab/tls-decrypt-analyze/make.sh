#!/usr/bin/env bash
# lab/tls-decrypt-analyze/make.sh - HTTP errors and slow answers inside TLS, for
# `tracehound analyze --key` (issue 9 item 5).
#
# Two namespaces (th-h14-<pid>-cli 10.114.0.2, th-h14-<pid>-srv 10.114.0.1, a veth pair, no
# link to the host). A Python HTTPS server (server.py: TLS 1.2, RSA key exchange,
# AES128-GCM-SHA256, the lab key of lab/tls-decrypt) answers curl on one keep-alive
# connection: /ok 200, /missing 404, /error 500, then /slow three times (0.4 s each).
# Then a minimal LDAPS peer (ldaps.py, same TLS settings, port 636) refuses ldapsearch's
# simple bind with invalidCredentials (AD's "data 52e").
# Last, DCE/RPC inside TLS 1.3 on port 49700 (rpctls.py, both peers: a bind to srvsvc, one
# call answered, one refused with a fault access denied), with the client's key log.
# Makes OUT/https-errors.pcap, OUT/ldaps-bind.pcap, OUT/rpc-tls13.pcap + .keylog (default
# tests/fixtures/decrypt-analyze). The key is tests/fixtures/decrypt/keys/key-pkcs8.pem (made
# by lab/tls-decrypt/make.sh).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/../../tests/fixtures/decrypt-analyze}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
K=$HERE/../../tests/fixtures/decrypt/keys
[ -f "$K/key-pkcs8.pem" ] || { echo "run lab/tls-decrypt/make.sh first" >&2; exit 1; }
export TH_PREFIX="th-h14-$$"
. "$HERE/../lib/netns.sh"
netns_init

CLI=$(ns_create cli)
SRV=$(ns_create srv)
ns_link "$CLI" eth0 10.114.0.2/24 "$SRV" eth0 10.114.0.1/24
S=10.114.0.1

th_bg "$SRV" python3 "$HERE/server.py" "$S" "$K/cert.pem" "$K/key-pkcs8.pem"
SRV_PID=$TH_LAST_PID
wait_port "$SRV" "$S" 443 20
capture_start "$CLI" eth0 "$OUT/https-errors.pcap" tcp port 443
sleep 0.5
u="https://lab.tracehound.test"
th_run timeout 20 ip netns exec "$CLI" curl -sk --tls-max 1.2 --ciphers AES128-GCM-SHA256 \
    --resolve lab.tracehound.test:443:$S "$u/ok" "$u/missing" "$u/error" "$u/slow" "$u/slow" "$u/slow" \
    -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null
sleep 0.5
capture_stop "$OUT/https-errors.pcap"
th_kill "$SRV_PID" || true

th_bg "$SRV" python3 "$HERE/ldaps.py" "$S" "$K/cert.pem" "$K/key-pkcs8.pem"
SRV_PID=$TH_LAST_PID
wait_port "$SRV" "$S" 636 20
capture_start "$CLI" eth0 "$OUT/ldaps-bind.pcap" tcp port 636
sleep 0.5
th_run timeout 20 ip netns exec "$CLI" env LDAPTLS_REQCERT=never ldapsearch -x -H "ldaps://$S" \
    -D "CN=alice,CN=Users,DC=lab,DC=test" -w not-her-password -b "DC=lab,DC=test" "(cn=alice)" \
    >/dev/null 2>&1 || true
sleep 0.5
capture_stop "$OUT/ldaps-bind.pcap"
th_kill "$SRV_PID" || true
th_bg "$SRV" python3 "$HERE/rpctls.py" server "$S" 49700 "$K/cert.pem" "$K/key-pkcs8.pem"
SRV_PID=$TH_LAST_PID
wait_port "$SRV" "$S" 49700 20
capture_start "$CLI" eth0 "$OUT/rpc-tls13.pcap" tcp port 49700
sleep 0.5
rm -f "$OUT/rpc-tls13.keylog"
th_run timeout 20 ip netns exec "$CLI" python3 "$HERE/rpctls.py" client "$S" 49700 "$OUT/rpc-tls13.keylog"
sleep 0.5
capture_stop "$OUT/rpc-tls13.pcap"
th_kill "$SRV_PID" || true
chmod 0644 "$OUT"/*.pcap "$OUT"/*.keylog
th_log "done: $(ls "$OUT" | tr '\n' ' ')"
