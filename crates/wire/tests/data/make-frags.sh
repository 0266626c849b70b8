#!/bin/sh
# Regenerates frags.pcap: real IPv4 and IPv6 fragments (3000-byte ICMP echo requests, as
# `ping -s 3000` sends, from a raw socket so no ping binary is needed, their echo replies,
# and a 4000-byte UDP datagram each way to a closed port, over a 1500-MTU veth pair) captured inside two network namespaces this script creates and always removes.
# Addresses exist only inside the namespaces: 10.91.0.1/24 <-> 10.91.0.2/24,
# fd00:91::1/64 <-> fd00:91::2/64. Run as root from anywhere.
set -eu
OUT="$(cd "$(dirname "$0")" && pwd)/frags.pcap"
A=th-frag-a-$$
B=th-frag-b-$$
TCPDUMP_PID=""
cleanup() {
    [ -n "$TCPDUMP_PID" ] && kill "$TCPDUMP_PID" 2>/dev/null || true
    ip netns del "$A" 2>/dev/null || true
    ip netns del "$B" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
ip netns add "$A"
ip netns add "$B"
ip -n "$A" link add veth0 type veth peer name veth1 netns "$B"
ip -n "$A" addr add 10.91.0.1/24 dev veth0
ip -n "$B" addr add 10.91.0.2/24 dev veth1
ip -n "$A" -6 addr add fd00:91::1/64 dev veth0 nodad
ip -n "$B" -6 addr add fd00:91::2/64 dev veth1 nodad
for ns in "$A" "$B"; do ip -n "$ns" link set lo up; done
ip -n "$A" link set veth0 up mtu 1500
ip -n "$B" link set veth1 up mtu 1500
ip netns exec "$A" tcpdump -i veth0 -s 0 -U -w "$OUT" 'ip or ip6' 2>/dev/null &
TCPDUMP_PID=$!
sleep 1
ip netns exec "$A" timeout 10 python3 -c '
import socket, struct, time
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
data = bytes(range(256)) * 11 + bytes(184)          # 3000 bytes, like ping -s 3000
for seq in (1, 2):
    # ICMP echo request (type 8), kernel adds the IP header and fragments it
    h = struct.pack("!BBHHH", 8, 0, 0, 0x4242, seq)
    h = struct.pack("!BBHHH", 8, 0, csum(h + data), 0x4242, seq)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.sendto(h + data, ("10.91.0.2", 0))
    # ICMPv6 echo request (type 128); the kernel fills in the checksum
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s6.sendto(struct.pack("!BBHHH", 128, 0, 0, 0x4242, seq) + data, ("fd00:91::2", 0))
    time.sleep(0.2)
# one UDP datagram with a 4000-byte payload to a closed port, each family
u = bytes(range(256)) * 15 + bytes(160)
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(u, ("10.91.0.2", 9))
socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).sendto(u, ("fd00:91::2", 9))
time.sleep(0.3)
'
sleep 1
kill "$TCPDUMP_PID"
wait "$TCPDUMP_PID" 2>/dev/null || true
TCPDUMP_PID=""
echo "wrote $OUT"
