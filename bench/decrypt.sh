#!/usr/bin/env bash
# bench/decrypt.sh [MB] - `tracehound decrypt` against tshark on a large capture of real TLS.
#
# Makes (once) a capture of MB MiB (default 1100) of TLS 1.2 RSA-kx AES128-GCM traffic with
# lab/tls-decrypt/bulk.sh (openssl s_server -WWW, curl, network namespaces), then decrypts
# every session with the same private key:
#   tracehound decrypt --key K --json CAP                (verdicts; plaintext decrypted, not kept)
#   tracehound decrypt --key K -w OUT.pcap CAP           (plus the plaintext capture)
#   tshark -q -o uat:rsa_keys:… -z follow,tls,raw,N …    (reference 1, every stream)
#   tshark -o uat:rsa_keys:… -T fields -e tls.app_data  (reference 2, with BENCH_FIELDS=1:
#                                                         about 4x slower than reference 1)
# and prints wall time, peak RSS and throughput of each. Also runs tracehound on the first
# quarter of the file (editcap -c) to show peak memory does not grow with the file size.
# Needs root (namespaces), tshark, editcap, and a release build (cargo build --release).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MB=${1:-1100}
DIR=${BENCH_DIR:-/tmp/tracehound-bench-decrypt}
CAP=$DIR/tls-$MB.pcap
KEY=$ROOT/tests/fixtures/decrypt/keys/key-pkcs8.pem
TH=${TRACEHOUND:-$ROOT/target/release/tracehound}
mkdir -p "$DIR"
[ -x "$TH" ] || { echo "build first: cargo build --release -p tracehound-cli" >&2; exit 1; }
[ -f "$CAP" ] || "$ROOT/lab/tls-decrypt/bulk.sh" "$CAP" "$MB" 4
SIZE=$(stat -c %s "$CAP")
STREAMS=$(tshark -r "$CAP" -T fields -e tcp.stream 2>/dev/null | sort -u | wc -l)

measure() { # name cmd... : wall seconds, peak RSS, throughput over the capture size
    local name=$1; shift
    /usr/bin/time -f "%e %M" "$@" >/dev/null 2>"$DIR/err" || { cat "$DIR/err" >&2; exit 1; }
    local r; r=$(tail -1 "$DIR/err")
    set -- $r
    printf '%-36s %8.2f s %7d MB %9.1f MB/s\n' "$name" "$1" $(( $2 / 1024 )) "$(echo "$SIZE / 1048576 / $1" | bc -l)"
}

cat "$CAP" >/dev/null   # page cache warm for every contender
echo "capture: $CAP, $((SIZE / 1048576)) MiB, $STREAMS TLS sessions"
FOLLOW=()
for ((i = 0; i < STREAMS; i++)); do FOLLOW+=(-z "follow,tls,raw,$i"); done
measure "tracehound decrypt --json" "$TH" decrypt --key "$KEY" --json "$CAP"
measure "tracehound decrypt -w out.pcap" "$TH" decrypt --key "$KEY" -w "$DIR/out.pcap" "$CAP"
measure "tshark -z follow,tls,raw" tshark -r "$CAP" -q -o "uat:rsa_keys:\"$KEY\",\"\"" "${FOLLOW[@]}"
[ -z "${BENCH_FIELDS:-}" ] || measure "tshark -T fields -e tls.app_data" tshark -r "$CAP" -o "uat:rsa_keys:\"$KEY\",\"\"" -T fields -e tls.app_data
editcap -c $(( $(capinfos -c -M "$CAP" | awk '/Number of packets/ {print $NF}') / 4 )) "$CAP" "$DIR/quarter.pcap" >/dev/null
mv "$DIR"/quarter_00000_*.pcap "$DIR/q.pcap" 2>/dev/null || true
rm -f "$DIR"/quarter_*.pcap
SIZE=$(stat -c %s "$DIR/q.pcap")
measure "tracehound decrypt (first quarter)" "$TH" decrypt --key "$KEY" --json "$DIR/q.pcap"
