#!/bin/bash
# net-loss: bulk transfer (600 kB, server -> client) through a router namespace that drops
# ~3% of the server's packets at random (nftables `numgen random mod 100 < 3 drop`, one
# direction only). Captured on the server's interface (the sender's side), snaplen 200:
# retransmissions, fast retransmissions, duplicate ACKs carrying SACK blocks.
# Expected diagnosis: tcp.loss.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
net_init net-loss
topo_router 1 2
nsx rtr nft -f - <<NFT
table inet lab {
    chain forward {
        type filter hook forward priority 0; policy accept;
        ip saddr $SRV_IP tcp sport 7010 numgen random mod 100 < 3 counter drop
    }
}
NFT
bg srv "$PY" "$NET_DIR/peers.py" bulk-server --port 7010 --bytes 600000 --life 30
listening srv 7010
cap srv s0 200
nsx cli "$PY" "$NET_DIR/peers.py" recv-client --host "$SRV_IP" --port 7010 --timeout 20
cap_end
expect tcp.loss "600 kB server->client through a router dropping ~3% of server->client packets at random (nft numgen); captured at the server" \
    --count data_from_server="ip.src==$SRV_IP && tcp.len>0" \
    --count dup_ack_from_client="ip.src==$CLI_IP && tcp.analysis.duplicate_ack" \
    --note "router nft counter (packets it dropped): $(nsx rtr nft list ruleset | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')" \
    --note "capture point: server (sender) side, before the router: every dropped segment appears once as sent and again as a retransmission"
check 'tcp_retransmission>=3' 'tcp_duplicate_ack>=2' 'tcp_sack>=2' 'tcp_rst==0'
net_done
