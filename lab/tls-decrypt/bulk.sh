#!/usr/bin/env bash
# lab/tls-decrypt/bulk.sh OUT.pcap [MB] [CONNS] - a large capture of real TLS for the decrypt
# benchmark: openssl s_server -WWW (RSA key exchange, AES128-GCM-SHA256, TLS 1.2) serves a
# file of MB/CONNS MiB of random bytes; curl fetches it CONNS times, one connection each.
# Namespaces th-h6-<pid>-{cli,srv}, 10.91.1.0/24, no link to the host. The key is the lab key
# of tests/fixtures/decrypt/keys (run make.sh first).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(readlink -f "$1")
MB=${2:-1100}
CONNS=${3:-4}
K=$HERE/../../tests/fixtures/decrypt/keys
[ -f "$K/cert.pem" ] || { echo "run lab/tls-decrypt/make.sh first" >&2; exit 1; }
export TH_PREFIX="th-h6-$$"
. "$HERE/../lib/netns.sh"
netns_init
CLI=$(ns_create cli)
SRV=$(ns_create srv)
ns_link "$CLI" eth0 10.91.1.2/24 "$SRV" eth0 10.91.1.1/24
S=10.91.1.1
WWW=$TH_TMP/www
mkdir -p "$WWW"
head -c $((MB * 1024 * 1024 / CONNS)) /dev/urandom > "$WWW/blob"
K=$(cd "$K" && pwd)
cd "$WWW"   # s_server -WWW serves files from its working directory
th_bg "$SRV" openssl s_server -accept 443 -WWW -key "$K/key-pkcs8.pem" -cert "$K/cert.pem" \
    -cipher AES128-GCM-SHA256 -tls1_2 -quiet
cd /
wait_port "$SRV" "$S" 443 20
capture_start "$CLI" eth0 "$OUT" tcp port 443
sleep 0.5
for i in $(seq 1 "$CONNS"); do
    th_run timeout 300 ip netns exec "$CLI" curl -sk --tls-max 1.2 --ciphers AES128-GCM-SHA256 \
        --limit-rate ${RATE:-40M} "https://$S/blob" -o /dev/null
done
sleep 0.5
capture_stop "$OUT"
ls -l "$OUT" >&2
