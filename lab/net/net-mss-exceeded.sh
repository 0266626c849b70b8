#!/bin/bash
# net-mss-exceeded: the client offers MSS 536 in its SYN (TCP_MAXSEG on the socket); a router
# (a misbehaving middlebox) rewrites the MSS option of the client's SYN to 1460 on its way to
# the server. The kernel's `tcp option maxseg size set` refuses to raise an MSS, so the rule
# writes the raw header: MSS 536 -> 1460 (+0x039c) and urgent pointer 0 -> 0xfc63 (URG flag
# stays clear, receivers ignore it), which keeps the one's-complement checksum valid without
# recomputing it. The rule only matches a SYN whose first option is MSS 536 with urgent
# pointer 0; the script fails if it did not match exactly once. The server therefore sends
# 1448-byte segments, larger than the 536 bytes the client offered, as seen at the client.
# Real segment sizes: TSO/GSO/GRO off on every veth. Captured at the client, snaplen 200.
# Expected diagnosis: tcp.mss_exceeded.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
net_init net-mss-exceeded
topo_router 1 2
nsx rtr nft -f - <<NFT
table inet lab {
    chain forward {
        type filter hook forward priority 0; policy accept;
        ip saddr $CLI_IP tcp flags syn @th,160,16 0x0204 @th,176,16 536 @th,144,16 0 @th,176,16 set 1460 @th,144,16 set 0xfc63 counter
    }
}
NFT
bg srv "$PY" "$NET_DIR/peers.py" bulk-server --port 7030 --bytes 30000 --life 20
listening srv 7030
cap cli c0 200
nsx cli "$PY" "$NET_DIR/peers.py" recv-client --host "$SRV_IP" --port 7030 --mss 536 --timeout 10
cap_end
hits=$(nsx rtr nft list ruleset | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
[ "$hits" = 1 ] || th_die "MSS rewrite rule matched $hits SYNs, expected 1"
expect tcp.mss_exceeded "client offers MSS 536; a router rewrites it to 1460 in the forwarded SYN; the server sends 1448-byte segments to the client" \
    --count oversize_from_server="ip.src==$SRV_IP && tcp.len>536" \
    --stats server_segment_len="tcp.len@ip.src==$SRV_IP && tcp.len>0" \
    --note "not a capture artifact: TSO/GSO/GRO are off on all interfaces, the capture is at the receiver, and frame.len matches ip.len+14" \
    --note "the MSS the server saw (1460) is not in this capture: the rewrite happens in the router"
check 'oversize_from_server>=5' 'tcp_bad_checksum==0'
net_done
