#!/bin/bash
# net-dup-capture: a capture taken with `tcpdump -i any` inside the router namespace of a
# client -> router -> server path: every forwarded packet is captured twice, once arriving on
# r0/r1 and once leaving on r1/r0 (Linux cooked capture, interface recorded per packet, IP TTL
# one lower on the second copy). 5 HTTP requests on a keep-alive connection plus a DNS query.
# The duplicates come from the capture setup, not from the network.
# Expected diagnosis: capture.artifact (duplicated packets), NOT tcp.loss/retransmissions.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
net_need dig
net_init net-dup-capture
topo_router 1 2
bg srv "$PY" "$NET_DIR/peers.py" http-server --port 8080 --life 20
bg srv "$PY" "$NET_DIR/peers.py" dns-server --port 53 --life 20
listening srv 8080; listening_udp srv 53
cap rtr any 0
nsx cli dig +tries=2 +time=1 +short @"$SRV_IP" ok.lab.test A
nsx cli "$PY" "$NET_DIR/peers.py" http-client --host "$SRV_IP" --port 8080 --count 5 --timeout 5 | tail -1
cap_end
expect capture.artifact "tcpdump -i any in a router namespace: every forwarded packet appears twice (in on one interface, out on the other); duplicates are a capture artifact" \
    --count ip_packets="ip" \
    --values "interface_by_direction=sll.ifindex,ip.src,ip.ttl@ip" \
    --note "each IP packet appears twice with the same ip.id and payload; the copy on the outgoing interface has TTL one lower" \
    --note "tshark 4.0 marks the second copy of TCP segments as retransmissions/dup ACKs; a correct analyzer should recognise the duplicates"
check 'tcp_retransmission>=5' 'http_response>=5'
net_done
