#!/usr/bin/env bash
# lab/tls-decrypt/make.sh - real TLS sessions for `tracehound decrypt` (issue 9).
#
# Two namespaces (th-h6-<pid>-cli 10.91.0.2, th-h6-<pid>-srv 10.91.0.1, a veth pair, no link to
# the host). openssl s_server -www answers HTTP GETs; curl and openssl s_client are the
# clients, writing NSS key logs (SSLKEYLOGFILE / -keylogfile). Makes, in OUT (default
# tests/fixtures/decrypt):
#   keys/   server key in every format (PEM PKCS#1, PKCS#8, encrypted PKCS#8, legacy encrypted
#           PEM, DER PKCS#1, DER PKCS#8, .pfx legacy RC2/3DES SHA1-MAC, .pfx modern AES-256
#           SHA256-MAC, .pfx without password), the certificate, a key matching nothing, and
#           password.txt (lab password, not a real secret)
#   rsa-gcm.pcap        TLS 1.2 RSA kx AES128-GCM-SHA256, curl with SNI, 2 GETs on 2
#                       connections (the second resumes by session id)
#   rsa-cbc.pcap        TLS 1.2 RSA kx AES256-SHA256 (encrypt-then-MAC), s_client, 2 connections;
#                       the server keeps no session cache, so the second resumes by ticket
#   tls10-cbc.pcap      TLS 1.0 RSA kx AES128-SHA (implicit IV), s_client
#   ecdhe.pcap          TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256, curl (+ ecdhe.keylog)
#   tls13.pcap          TLS 1.3 AES-128-GCM, curl (+ tls13.keylog)
#   tls13-dsb.pcapng    the same with the key log injected (editcap --inject-secrets)
#   chacha.pcap         TLS 1.3 CHACHA20-POLY1305 with a KeyUpdate, s_client (+ chacha.keylog)
#   reneg.pcap          TLS 1.2 RSA kx GCM, the server renegotiates between two client lines
#   rsa-gcm-lost.pcap   rsa-gcm.pcap with frame 10 (a client request segment) removed
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/../../tests/fixtures/decrypt}
mkdir -p "$OUT/keys"
OUT=$(cd "$OUT" && pwd)
export TH_PREFIX="th-h6-$$"
. "$HERE/../lib/netns.sh"
netns_init
PW=tracehound-lab
K=$OUT/keys

# --- keys (made once; kept so the fixtures stay consistent) ---
if [ ! -f "$K/cert.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$K/key-pkcs8.pem" -out "$K/cert.pem" \
        -days 3650 -subj "/CN=lab.tracehound.test" 2>/dev/null
    openssl rsa -in "$K/key-pkcs8.pem" -traditional -out "$K/key-pkcs1.pem" 2>/dev/null
    openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$K/key-pkcs8.pem" -out "$K/key-pkcs8-enc.pem" -passout pass:$PW
    openssl rsa -in "$K/key-pkcs8.pem" -traditional -aes128 -out "$K/key-legacy-enc.pem" -passout pass:$PW 2>/dev/null
    openssl rsa -in "$K/key-pkcs8.pem" -traditional -outform DER -out "$K/key-pkcs1.der" 2>/dev/null
    openssl pkcs8 -topk8 -nocrypt -in "$K/key-pkcs8.pem" -outform DER -out "$K/key-pkcs8.der"
    openssl pkcs12 -export -legacy -inkey "$K/key-pkcs8.pem" -in "$K/cert.pem" -out "$K/key-legacy.pfx" -passout pass:$PW
    openssl pkcs12 -export -inkey "$K/key-pkcs8.pem" -in "$K/cert.pem" -out "$K/key-modern.pfx" -passout pass:$PW
    openssl pkcs12 -export -inkey "$K/key-pkcs8.pem" -in "$K/cert.pem" -out "$K/key-nopass.pfx" -passout pass:
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/other-key.pem" 2>/dev/null
    printf '%s\n' "$PW" > "$K/password.txt"
fi

CLI=$(ns_create cli)
SRV=$(ns_create srv)
ns_link "$CLI" eth0 10.91.0.2/24 "$SRV" eth0 10.91.0.1/24
S=10.91.0.1

# serve NAME ARGS...: s_server on 443 with the lab key (HTTP status page for GET).
serve() {
    th_bg "$SRV" openssl s_server -accept 443 -www -key "$K/key-pkcs8.pem" -cert "$K/cert.pem" "$@"
    SRV_PID=$TH_LAST_PID
    wait_port "$SRV" "$S" 443 20
}
stop_server() { th_kill "$SRV_PID" || true; sleep 0.3; }
cap() { capture_start "$CLI" eth0 "$OUT/$1" tcp port 443; sleep 0.5; }
uncap() { sleep 0.5; capture_stop "$OUT/$1"; }

# 1. RSA kx, GCM, two GETs (second connection resumes with the ticket).
serve -cipher AES128-GCM-SHA256 -tls1_2
cap rsa-gcm.pcap
th_run timeout 20 ip netns exec "$CLI" curl -sk --tls-max 1.2 --ciphers AES128-GCM-SHA256 \
    --resolve lab.tracehound.test:443:$S "https://lab.tracehound.test/one" "https://lab.tracehound.test/two" \
    -o /dev/null -o /dev/null
uncap rsa-gcm.pcap; stop_server

# 2. RSA kx, CBC with SHA256 MAC (OpenSSL negotiates encrypt-then-MAC).
serve -cipher AES256-SHA256 -tls1_2 -no_cache
cap rsa-cbc.pcap
for i in 1 2; do
    if [ $i = 1 ]; then sess=(-sess_out "$TH_TMP/sess"); else sess=(-sess_in "$TH_TMP/sess"); fi
    { printf 'GET /cbc-%s HTTP/1.0\r\n\r\n' $i; sleep 1; } | timeout 20 ip netns exec "$CLI" \
        openssl s_client -connect "$S:443" -tls1_2 -cipher AES256-SHA256 -quiet "${sess[@]}" >/dev/null 2>&1 || true
done
uncap rsa-cbc.pcap; stop_server

# 3. TLS 1.0 CBC (implicit IV), no encrypt-then-MAC.
serve -cipher 'AES128-SHA:@SECLEVEL=0' -tls1 -no_etm
cap tls10-cbc.pcap
{ printf 'GET /tls10 HTTP/1.0\r\nHost: lab\r\n\r\n'; sleep 2; } | timeout 20 ip netns exec "$CLI" \
    openssl s_client -connect "$S:443" -tls1 -cipher 'AES128-SHA:@SECLEVEL=0' -quiet >/dev/null 2>&1 || true
uncap tls10-cbc.pcap; stop_server

# 4. ECDHE with only the RSA key (and a key log to prove the point).
serve -cipher ECDHE-RSA-AES128-GCM-SHA256 -tls1_2
cap ecdhe.pcap
rm -f "$OUT/ecdhe.keylog"
th_run timeout 20 ip netns exec "$CLI" env SSLKEYLOGFILE="$OUT/ecdhe.keylog" curl -sk --tls-max 1.2 \
    --ciphers ECDHE-RSA-AES128-GCM-SHA256 "https://$S/ecdhe" -o /dev/null
uncap ecdhe.pcap; stop_server

# 5. TLS 1.3 with a key log, and the DSB pcapng.
serve -tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256
cap tls13.pcap
rm -f "$OUT/tls13.keylog"
th_run timeout 20 ip netns exec "$CLI" env SSLKEYLOGFILE="$OUT/tls13.keylog" curl -sk --tlsv1.3 \
    "https://$S/tls13" -o /dev/null
uncap tls13.pcap; stop_server
editcap --inject-secrets "tls,$OUT/tls13.keylog" "$OUT/tls13.pcap" "$OUT/tls13-dsb.pcapng"

# 6. TLS 1.3 ChaCha20-Poly1305 with a KeyUpdate (s_client's "k" command).
serve -tls1_3 -ciphersuites TLS_CHACHA20_POLY1305_SHA256
cap chacha.pcap
rm -f "$OUT/chacha.keylog"
{ sleep 1; printf 'k\n'; sleep 1; printf 'GET /after-keyupdate HTTP/1.0\r\n\r\n'; sleep 2; } | \
    timeout 20 ip netns exec "$CLI" openssl s_client -connect "$S:443" -tls1_3 \
    -ciphersuites TLS_CHACHA20_POLY1305_SHA256 -keylogfile "$OUT/chacha.keylog" >/dev/null 2>&1 || true
uncap chacha.pcap; stop_server

# 8. Renegotiation (TLS 1.2; the server asks, OpenSSL 3 refuses client-initiated ones):
#    data before and after the second handshake.
th_bg "$SRV" sh -c "{ sleep 2; printf 'r\\n'; sleep 6; } | openssl s_server -accept 443 -key '$K/key-pkcs8.pem' -cert '$K/cert.pem' \
    -cipher AES128-GCM-SHA256 -tls1_2 >/dev/null 2>&1"
SRV_PID=$TH_LAST_PID
wait_port "$SRV" "$S" 443 20
cap reneg.pcap
{ printf 'before renegotiation\n'; sleep 3; printf 'after renegotiation\n'; sleep 1; } | \
    timeout 20 ip netns exec "$CLI" openssl s_client -connect "$S:443" -tls1_2 -cipher AES128-GCM-SHA256 \
    >/dev/null 2>&1 || true
uncap reneg.pcap; stop_server

# 7. A lost segment mid-session: rsa-gcm.pcap without frame 10 (the first HTTP request).
editcap "$OUT/rsa-gcm.pcap" "$OUT/rsa-gcm-lost.pcap" 10

chmod 0644 "$OUT"/*.pcap* "$OUT"/*.keylog
th_log "done: $(ls "$OUT" | tr '\n' ' ')"
