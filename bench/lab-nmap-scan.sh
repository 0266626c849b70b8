#!/bin/bash
# A real SYN scan for the tcp.scan tests: `nmap -sS` of a namespace host, captured with
# tcpdump on the scanner's side. Writes tests/fixtures/lab/net-nmap-scan.pcap.
#
#   scanner 10.89.1.1 (th-h4-scan) --veth-- target 10.89.1.2 (th-h4-target)
#   target: listeners on TCP 22 and 1080; TCP 1500-1999 dropped by nftables (filtered);
#   every other port closed (the kernel answers RST).
#   nmap -sS -n -Pn -p 1-2000 --max-retries 1 10.89.1.2
#
# Everything stays in two namespaces this script creates (no link to the host network); all
# waits are bounded; namespaces and processes are removed on exit, also on failure.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "must run as root" >&2; exit 1; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/tests/fixtures/lab/net-nmap-scan.pcap"
S=th-h4-scan
T=th-h4-target
TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do timeout 5 tail --pid="$p" -f /dev/null 2>/dev/null || true; done
    ip netns del "$S" 2>/dev/null || true
    ip netns del "$T" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

ip netns add "$S"
ip netns add "$T"
ip link add th-h4-s0 netns "$S" type veth peer name th-h4-t0 netns "$T"
ip -n "$S" addr add 10.89.1.1/24 dev th-h4-s0
ip -n "$T" addr add 10.89.1.2/24 dev th-h4-t0
for n in "$S" "$T"; do
    ip -n "$n" link set lo up
done
ip -n "$S" link set th-h4-s0 up
ip -n "$T" link set th-h4-t0 up
ip netns exec "$T" nft -f - <<'EOF'
table inet h4 {
    chain input { type filter hook input priority 0; tcp dport 1500-1999 drop; }
}
EOF

listen() {
    ip netns exec "$T" timeout 120 /usr/bin/python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.89.1.2", int(sys.argv[1]))); s.listen(64)
s.settimeout(110)
try:
    while True: s.accept()[0].close()
except OSError: pass
' "$1" &
    PIDS+=($!)
}
listen 22
listen 1080
for _ in $(seq 50); do
    ip netns exec "$T" ss -ltn | grep -q ':1080 ' && ip netns exec "$T" ss -ltn | grep -q ':22 ' && break
    sleep 0.1
done

ip netns exec "$S" timeout 120 tcpdump -i th-h4-s0 -n -s 0 -B 16384 --immediate-mode -U \
    -w "$TMP/scan.pcap" tcp 2>"$TMP/tcpdump.err" &
TD=$!
PIDS+=("$TD")
sleep 1
ip netns exec "$S" timeout 100 nmap -sS -n -Pn -p 1-2000 --max-retries 1 -T4 10.89.1.2 \
    >"$TMP/nmap.txt"
sleep 1
kill -INT "$TD"
timeout 10 tail --pid="$TD" -f /dev/null || true
grep -q "^0 packets dropped by kernel" "$TMP/tcpdump.err" || { cat "$TMP/tcpdump.err" >&2; exit 1; }
cat "$TMP/nmap.txt"
mv "$TMP/scan.pcap" "$OUT"
echo "wrote $OUT: $(tshark -r "$OUT" -Y 'tcp.flags == 0x002' 2>/dev/null | wc -l) SYNs"
