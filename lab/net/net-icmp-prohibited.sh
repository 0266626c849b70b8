#!/bin/bash
# net-icmp-prohibited: the server namespace rejects TCP port 7002 with
# `iptables -j REJECT --reject-with icmp-admin-prohibited`; each of three connect attempts is
# a SYN answered by ICMP destination unreachable, code 13 (communication administratively
# prohibited). Expected diagnosis: tcp.connect_unanswered (no TCP answer; ICMP from a firewall).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
net_need iptables
net_init net-icmp-prohibited
topo_pair 1
nsx srv iptables -A INPUT -p tcp --dport 7002 -j REJECT --reject-with icmp-admin-prohibited
cap cli c0 0
nsx cli "$PY" "$NET_DIR/peers.py" connect --host "$SRV_IP" --port 7002 --timeout 3 --tries 3 --gap 1.1
cap_end
expect tcp.connect_unanswered "SYN rejected by a firewall in the server namespace with ICMP type 3 code 13 (admin prohibited); 3 attempts" \
    --note "Linux treats ICMP admin-prohibited to a SYN as a hard error: connect() fails at once with EHOSTUNREACH, no SYN retransmission."
check 'tcp_syn==3' 'icmp_admin_prohibited==3' 'tcp_synack==0'
net_done
