#!/bin/bash
# net-nagle-delayed-ack (and, with NODELAY=1 / as net-nagle-nodelay.sh, its control): a
# request/reply protocol whose client writes each 200-byte request as two small writes
# (write-write-read, lab/net/nagle.py), 20 exchanges on one connection. With Nagle on, the
# second write waits for the ACK of the first, which the server delays ~40 ms (Linux delayed
# ACK): every exchange stalls ~40 ms although the RTT is microseconds.
# Expected diagnosis: tcp.nagle_delayed_ack (control net-nagle-nodelay: none).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
if [ "${NODELAY:-0}" = 1 ]; then name=net-nagle-nodelay; flag=--nodelay; else name=net-nagle-delayed-ack; flag=; fi
net_init "$name"
topo_pair 1
bg srv "$PY" "$NET_DIR/nagle.py" server --port 7050 --life 20
listening srv 7050
cap cli c0 0
result=$(nsx cli "$PY" "$NET_DIR/nagle.py" client --host "$SRV_IP" --port 7050 --count 20 $flag --timeout 10)
echo "$result"
cap_end
args=(--count "client_data=ip.src==$CLI_IP && tcp.len>0"
      --count "server_data=ip.src==$SRV_IP && tcp.len>0"
      --count "server_pure_ack=ip.src==$SRV_IP && tcp.len==0 && tcp.flags.syn==0 && tcp.flags.fin==0"
      --stats "server_ack_rtt=tcp.analysis.ack_rtt@ip.src==$SRV_IP"
      --count "server_ack_after_30ms=ip.src==$SRV_IP && tcp.analysis.ack_rtt > 0.030"
      --stats "server_delayed_ack_rtt=tcp.analysis.ack_rtt@ip.src==$SRV_IP && tcp.analysis.ack_rtt > 0.030"
      --note "client: $result")
if [ -z "$flag" ]; then
    expect tcp.nagle_delayed_ack "client writes each request in two small writes with Nagle on; the server delays its ACK of the first (~40 ms), holding the second; 20 exchanges" "${args[@]}" \
        --note "Linux starts a connection in quick-ACK mode, so the first exchanges may not stall"
    check 'server_ack_after_30ms>=10' 'client_data==40'
else
    expect none "control for net-nagle-delayed-ack: same two-write requests with TCP_NODELAY; no stall" "${args[@]}"
    check 'server_ack_after_30ms==0' 'client_data==40'
fi
net_done
