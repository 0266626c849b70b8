#!/bin/bash
# net-slow-responder: an HTTP/1.1 server (python http.server subclass, lab/net/peers.py
# http-server) whose handler sleeps 300 ms before answering; the client makes 10 GET requests
# on one keep-alive connection. The network RTT is microseconds (requests are ACKed at once),
# the server think time (~300 ms per request) dominates. Captured at the client, full packets.
# Expected diagnosis: app.slow_responder.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
net_init net-slow-responder
topo_pair 1
http_gets 0.3
expect app.slow_responder "HTTP server with 300 ms think time per request; 10 GETs on one keep-alive connection; network RTT in microseconds" \
    --stats http_response_time=http.time@http.response \
    --stats handshake_rtt="tcp.analysis.ack_rtt@tcp.flags.syn==1 && tcp.flags.ack==1" \
    --stats server_ack_rtt="tcp.analysis.ack_rtt@ip.src==$SRV_IP && tcp.len==0"
check 'http_response==10' 'http_request==10'
net_done
