#!/usr/bin/env bash
# lab/tls-decrypt/early-data.sh - TLS 1.3 0-RTT (early data) for `tracehound decrypt` (issue 9).
#
# openssl s_server -early_data and s_client in two namespaces (th-h2-<pid>-cli 10.102.1.2,
# th-h2-<pid>-srv 10.102.1.1, a veth pair, no link to the host); s_client writes the key log
# (-keylogfile, with CLIENT_EARLY_TRAFFIC_SECRET for 0-RTT connections). Makes, in OUT
# (default tests/fixtures/decrypt), early.pcap + early.keylog with three connections:
#   1. full handshake, the client saves the session (-sess_out);
#   2. resumption with 0-RTT early data (-sess_in -early_data FILE): accepted (the server's
#      EncryptedExtensions carry early_data; EndOfEarlyData follows);
#   3. the same ticket again with early data: OpenSSL's anti-replay protection (single-use
#      tickets for 0-RTT) refuses it: a full handshake, the early data rejected (skipped by
#      the server).
# The clients close cleanly (no -quiet, so EOF on stdin ends them): a session whose
# connection was cut is dropped from the server's cache and could not be resumed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/../../tests/fixtures/decrypt}
OUT=$(cd "$OUT" && pwd)
export TH_PREFIX="th-h2-$$"
. "$HERE/../lib/netns.sh"
netns_init
K=$OUT/keys
[ -f "$K/cert.pem" ] || th_die "run lab/tls-decrypt/make.sh first (it makes the lab key)"

CLI=$(ns_create cli)
SRV=$(ns_create srv)
ns_link "$CLI" eth0 10.102.1.2/24 "$SRV" eth0 10.102.1.1/24
S=10.102.1.1

serve() {
    # -early_data excludes -www: the server sends a line every 0.7 s from its stdin instead.
    th_bg "$SRV" sh -c "for i in \$(seq 1 80); do sleep 0.7; printf 'server line %s\\n' \$i; done | \
        timeout 120 openssl s_server -accept 443 -key '$K/key-pkcs8.pem' -cert '$K/cert.pem' \
        -tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256 -early_data -quiet"
    SRV_PID=$TH_LAST_PID
    wait_port "$SRV" "$S" 443 20
}
# client N [s_client args...]: one connection, the request after the handshake.
client() {
    local n=$1; shift
    { sleep 1; printf 'GET /after-handshake-%s HTTP/1.0\r\n\r\n' "$n"; sleep 1.5; } | \
        timeout 20 ip netns exec "$CLI" openssl s_client -connect "$S:443" -tls1_3 \
        -ciphersuites TLS_AES_128_GCM_SHA256 -keylogfile "$OUT/early.keylog" "$@" \
        >/dev/null 2>&1 || true
}

rm -f "$OUT/early.keylog"
printf 'GET /early-data HTTP/1.0\r\n\r\n' > "$TH_TMP/early.txt"
serve
capture_start "$CLI" eth0 "$OUT/early.pcap" tcp port 443
sleep 0.5
client 1 -sess_out "$TH_TMP/sess"
client 2 -sess_in "$TH_TMP/sess" -early_data "$TH_TMP/early.txt"
client 3 -sess_in "$TH_TMP/sess" -early_data "$TH_TMP/early.txt"
sleep 0.5
capture_stop "$OUT/early.pcap"
th_kill "$SRV_PID" || true
chmod 0644 "$OUT/early.pcap" "$OUT/early.keylog"
th_log "done: $OUT/early.pcap $OUT/early.keylog"
