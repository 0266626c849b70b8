#!/bin/bash
# net-connect-refused: nothing listens on port 7001 in the server namespace; each of three
# connect attempts gets SYN -> RST,ACK from the server's kernel.
# Expected diagnosis: tcp.connect_refused.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
net_init net-connect-refused
topo_pair 1
cap cli c0 0
nsx cli "$PY" "$NET_DIR/peers.py" connect --host "$SRV_IP" --port 7001 --timeout 3 --tries 3
cap_end
expect tcp.connect_refused "SYN to a closed port (no listener): the server's kernel answers RST,ACK; 3 attempts" \
    --count rst_from_server="tcp.flags.reset==1 && ip.src==$SRV_IP"
check 'tcp_syn==3' 'rst_from_server==3' 'tcp_synack==0'
net_done
