#!/bin/bash
# rpc-nat-mismatch: the server sits behind a router doing destination NAT.
# Clients reach it at a virtual IP 10.77.31.100 (DNAT of TCP 135, 445 and
# 49152-65535 to the real server 10.77.32.20). The server is a standalone
# Samba (samba-dcerpcd, bind interfaces only) which -- unlike the AD DC that
# writes 0.0.0.0 -- puts its REAL address 10.77.32.20 into the IP floor of
# the ept_map tower. The client follows the tower (rpcclient.py
# --use-tower-ip) and connects to 10.77.32.20:<port>; the router does not
# forward un-NATed traffic to the server subnet (drop), so those SYNs go
# unanswered until the 10 s client timeout. Captured on the client side
# (client <-> router link): ept_map to the VIP answered, tower IP != VIP,
# SYNs to the tower IP unanswered.
. "$(dirname "$0")/_common.sh"
rpc_init rpc-nat-mismatch 31
VIP=10.77.31.100
CLI=$(ns_create cli); RTR=$(ns_create rtr); SRV=$(ns_create srv)
CLI_ADDR=10.77.31.10 SRV_ADDR=10.77.32.20
ns_link "$CLI" eth0 "$CLI_ADDR/24" "$RTR" eth0 10.77.31.1/24
ns_addr "$RTR" eth0 "$VIP/32"
ns_link "$RTR" eth1 10.77.32.1/24 "$SRV" eth0 "$SRV_ADDR/24"
ns_router "$RTR"
ns_route "$CLI" default 10.77.31.1
ns_route "$SRV" default 10.77.32.1
ns_exec "$RTR" nft -f - <<NFT
table ip thlab {
    chain nat_pre {
        type nat hook prerouting priority dstnat; policy accept;
        ip daddr $VIP tcp dport { 135, 445, 49152-65535 } dnat to $SRV_ADDR
    }
    chain filter_forward {
        type filter hook forward priority 0; policy accept;
        ct state established,related accept
        ct status dnat accept
        ip daddr 10.77.32.0/24 drop
    }
}
NFT
rpc_start_samba "$SRV" "$SRV_ADDR" standalone
RPC_TARGET=$VIP
rpc_warmup   # through the VIP (the client uses the VIP for both steps): works
capture_start "$CLI" eth0 "$(rpc_pcap)"
rpc_client map-then-call --use-tower-ip --expect-fail --timeout 10
rpc_finish "DNAT VIP $VIP -> $SRV_ADDR; standalone Samba puts its real address $SRV_ADDR in the tower IP floor; client follows the tower, SYNs to $SRV_ADDR:<dynamic> unanswered (router drops un-NATed traffic)"
