#!/bin/bash
# net-connect-unanswered: the server namespace silently drops SYNs to port 7000 (nft drop);
# the client's bounded connect (7 s) sends a SYN and its retransmissions, nothing comes back.
# Expected diagnosis: tcp.connect_unanswered.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
net_init net-connect-unanswered
topo_pair 1
nsx srv nft -f - <<NFT
table inet lab {
    chain input {
        type filter hook input priority 0; policy accept;
        tcp dport 7000 drop
    }
}
NFT
cap cli c0 0
nsx cli "$PY" "$NET_DIR/peers.py" connect --host "$SRV_IP" --port 7000 --timeout 7
cap_end
expect tcp.connect_unanswered "SYN to a port dropped by a firewall (nft drop) in the server namespace; client gives up after 7 s" \
    --stats syn_times=frame.time_relative@"tcp.flags.syn==1 && tcp.flags.ack==0" \
    --count from_server="ip.src==$SRV_IP"
check 'tcp_syn>=3' 'tcp_syn_retransmission>=2' 'tcp_synack==0' 'tcp_rst==0' 'from_server==0'
net_done
