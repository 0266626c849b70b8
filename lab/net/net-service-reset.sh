#!/bin/bash
# net-service-reset: an established request/reply session (line echo server, one request every
# 0.4 s); 1.3 s in, the server process is killed by its PID (SIGKILL). Its kernel closes the
# socket (FIN); the client's next request is answered with RST (data for a closed socket); two
# new connection attempts then get RST,ACK (nothing listens any more). Captured at the client.
# Expected diagnosis: tcp.service_reset (and tcp.connect_refused for the two new attempts).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
net_init net-service-reset
topo_pair 1
bg srv "$PY" "$NET_DIR/peers.py" echo-server --port 7070 --life 20
srv_pid=$BG_PID
listening srv 7070
cap cli c0 0
bgl cli "$TMP/client.log" "$PY" "$NET_DIR/peers.py" echo-client --host "$SRV_IP" --port 7070 --count 6 --interval 0.4 --timeout 3
cli_pid=$BG_PID
sleep 1.3
{ kill -KILL "$srv_pid"; wait "$srv_pid"; } 2>/dev/null || true
echo "killed server pid $srv_pid"
wait "$cli_pid" || true
cat "$TMP/client.log"
nsx cli "$PY" "$NET_DIR/peers.py" connect --host "$SRV_IP" --port 7070 --timeout 3 --tries 2 --gap 0.3
cap_end
expect tcp.service_reset,tcp.connect_refused "server process killed (SIGKILL by PID) mid-session: FIN from its kernel, RST to the client's next request, then RST,ACK to new SYNs (nothing listening)" \
    --count rst_from_server="ip.src==$SRV_IP && tcp.flags.reset==1" \
    --count rst_to_syn="ip.src==$SRV_IP && tcp.flags.reset==1 && tcp.flags.ack==1 && tcp.seq==1 && tcp.len==0 && tcp.stream>0" \
    --count client_data_stream0="ip.src==$CLI_IP && tcp.len>0 && tcp.stream==0" \
    --count server_replies="ip.src==$SRV_IP && tcp.len>0"
check 'rst_from_server==3' 'rst_to_syn==2' 'server_replies>=2'
net_done
