#!/bin/bash
# net-slow-network: the same HTTP/1.1 exchange as net-slow-responder, but the server answers
# at once and the path is long: the router holds every packet for 150 ms in each direction
# (lab/net/delay.py, a TUN delay line; this kernel has no tc netem), so every round trip,
# the TCP handshake included, takes about 300 ms. The client makes 10 GET requests on one
# keep-alive connection. Captured at the client, full packets.
# Expected diagnosis: app.slow_responder naming the network, not the server (the wait equals
# the handshake round trip; think time is near zero).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
net_init net-slow-network
topo_router 1 2
RTR=$(ns rtr)
# Steer everything the router forwards into tun0; what delay.py writes back comes in on tun0
# and is routed by destination as usual.
ip -n "$RTR" tuntap add dev tun0 mode tun
ip -n "$RTR" link set tun0 up
ip -n "$RTR" route add default dev tun0 table 100
ip -n "$RTR" rule add iif r0 lookup 100 pref 100
ip -n "$RTR" rule add iif r1 lookup 100 pref 101
nsx rtr sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.tun0.rp_filter=0 \
    net.ipv4.conf.r0.rp_filter=0 net.ipv4.conf.r1.rp_filter=0
bgl rtr "$TMP/delay.log" "$PY" "$NET_DIR/delay.py" --dev tun0 --delay 0.15 --life 30
sleep 0.3
http_gets 0
expect app.slow_responder "HTTP server answering at once over a path with 150 ms delay each way (TUN delay line in the router); 10 GETs on one keep-alive connection; the handshake takes as long as each request" \
    --stats http_response_time=http.time@http.response \
    --stats handshake_rtt="tcp.analysis.ack_rtt@tcp.flags.syn==1 && tcp.flags.ack==1"
check 'http_response==10' 'http_request==10'
net_done
