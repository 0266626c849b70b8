#!/bin/bash
# net-icmp-port-unreachable: (1) TCP port 7003 rejected in the server namespace with
# `iptables -j REJECT --reject-with icmp-port-unreachable`: SYN -> ICMP type 3 code 3;
# (2) UDP datagrams to port 7004 where nothing listens: the server's kernel answers ICMP
# port unreachable (no firewall involved). Expected diagnosis: tcp.connect_unanswered (TCP
# flow: no TCP answer, ICMP instead) and udp.port_unreachable (UDP flow).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
net_need iptables
net_init net-icmp-port-unreachable
topo_pair 1
nsx srv iptables -A INPUT -p tcp --dport 7003 -j REJECT --reject-with icmp-port-unreachable
cap cli c0 0
nsx cli "$PY" "$NET_DIR/peers.py" connect --host "$SRV_IP" --port 7003 --timeout 3 --tries 3 --gap 1.1
nsx cli "$PY" "$NET_DIR/peers.py" udp-probe --host "$SRV_IP" --port 7004 --timeout 1 --tries 3 --gap 1.1
cap_end
expect tcp.connect_unanswered,udp.port_unreachable "TCP SYN rejected with ICMP port unreachable (iptables REJECT), 3 attempts; then 3 UDP datagrams to a closed UDP port, each answered by ICMP port unreachable from the kernel" \
    --count icmp_for_tcp="icmp.type==3 && icmp.code==3 && ip.proto==6" \
    --count icmp_for_udp="icmp.type==3 && icmp.code==3 && udp" \
    --count udp_to_server="udp && !icmp && ip.dst==$SRV_IP"
check 'icmp_for_tcp==3' 'icmp_for_udp==3' 'tcp_synack==0'
net_done
