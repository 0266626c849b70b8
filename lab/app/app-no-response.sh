#!/bin/bash
# app-no-response: an HTTP server that reads the request, ACKs it, and never answers
# (peers.py http-server with a 30 s think time); the client waits 3 s and gives up, closing
# the connection. Captured at the client, full packets.
# Expected diagnosis: app.no_response (the server ACKed the request and never answered).
# Addresses 10.88.5.0/24, namespaces th-h3-<pid>-*.
set -euo pipefail
export TH_PREFIX=th-h3-$$
. "$(dirname "$0")/../net/lib.sh"
net_init app-no-response
ns_create cli >/dev/null; ns_create srv >/dev/null
ns_link "$(ns cli)" c0 10.88.5.1/24 "$(ns srv)" s0 10.88.5.2/24
CLI_IP=10.88.5.1; SRV_IP=10.88.5.2
offload_off cli c0; offload_off srv s0
bg srv "$PY" "$NET_DIR/peers.py" http-server --port 8080 --delay 30 --life 40
listening srv 8080
cap cli c0 0
nsx cli "$PY" "$NET_DIR/peers.py" http-client --host "$SRV_IP" --port 8080 --count 1 --timeout 3 >/dev/null 2>&1 || true
sleep 0.5
cap_end
expect app.no_response "HTTP GET acknowledged by the server, never answered; the client gives up after 3 s and closes" \
    --count http_requests="http.request" \
    --count http_responses="http.response" \
    --count server_acks="ip.src==$SRV_IP && tcp.len==0 && tcp.flags.ack==1 && tcp.flags.syn==0 && tcp.flags.fin==0"
check 'http_requests==1' 'http_responses==0' 'server_acks>=1'
net_done
