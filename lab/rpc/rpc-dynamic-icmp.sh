#!/bin/bash
# rpc-dynamic-icmp: like rpc-dynamic-filtered, but the server-side firewall
# answers SYNs to 49152-65535 with ICMP destination unreachable, code 13
# (communication administratively prohibited). ept_map is answered; the
# connect to the dynamic port fails (EHOSTUNREACH). Client side.
. "$(dirname "$0")/_common.sh"
rpc_init rpc-dynamic-icmp 30
rpc_two_hosts dc
rpc_warmup
rpc_server_firewall "reject with icmp type admin-prohibited"
capture_start "$CLI" eth0 "$(rpc_pcap)"
rpc_client map-then-call --expect-fail --timeout 10
rpc_finish "server rejects TCP 49152-65535 with ICMP type 3 code 13 (admin prohibited): ept_map answered on 135, SYN to the mapped dynamic port answered by ICMP"
