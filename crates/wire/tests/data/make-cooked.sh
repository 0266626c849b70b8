#!/bin/sh
# Regenerates cooked-v1.pcap (LINKTYPE_LINUX_SLL) and cooked-v2.pcap (LINKTYPE_LINUX_SLL2):
# `tcpdump -i any` capturing loopback traffic only: a curl of a local python http.server
# on 127.0.0.1:18473 and on [::1]:18474, and a UDP datagram to a closed port on 127.0.0.1
# (answered by ICMP port unreachable). Run as root.
set -eu
DIR="$(cd "$(dirname "$0")" && pwd)"
WORK=$(mktemp -d)
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
cd "$WORK"
echo "hello from tracehound wire tests" > index.html
python3 -m http.server 18473 --bind 127.0.0.1 >/dev/null 2>&1 &
PIDS="$PIDS $!"
python3 -m http.server 18474 --bind ::1 >/dev/null 2>&1 &
PIDS="$PIDS $!"
FILTER='(host 127.0.0.1 or host ::1) and (tcp port 18473 or tcp port 18474 or udp port 18475 or icmp)'
tcpdump -i any -y LINUX_SLL -s 0 -U -w "$DIR/cooked-v1.pcap" "$FILTER" 2>/dev/null &
T1=$!
PIDS="$PIDS $T1"
tcpdump -i any -y LINUX_SLL2 -s 0 -U -w "$DIR/cooked-v2.pcap" "$FILTER" 2>/dev/null &
T2=$!
PIDS="$PIDS $T2"
sleep 1.5
curl -s -m 5 http://127.0.0.1:18473/index.html >/dev/null
curl -s -m 5 'http://[::1]:18474/index.html' >/dev/null
python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"probe", ("127.0.0.1", 18475))'
sleep 1
kill "$T1" "$T2"
wait "$T1" 2>/dev/null || true
wait "$T2" 2>/dev/null || true
echo "wrote $DIR/cooked-v1.pcap $DIR/cooked-v2.pcap"
