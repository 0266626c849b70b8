#!/bin/bash
# rpc-dynamic-filtered: THE classic "RPC server is unavailable". A firewall
# in the server namespace drops TCP to 49152-65535 (135 stays open). The
# client's ept_map is answered (SAMR -> dynamic port), then its SYNs to the
# dynamic port go unanswered until impacket's 10 s connect timeout.
# Captured on BOTH sides at once: rpc-dynamic-filtered.pcap (client eth0)
# and rpc-dynamic-filtered-server.pcap (server eth0; the SYNs arrive there,
# the filter drops them after capture, nothing is sent back).
. "$(dirname "$0")/_common.sh"
rpc_init rpc-dynamic-filtered 28
rpc_two_hosts dc
rpc_warmup
rpc_server_firewall drop
capture_start "$CLI" eth0 "$(rpc_pcap)"
capture_start "$SRV" eth0 "$(rpc_pcap server)"
rpc_client map-then-call --expect-fail --timeout 10
rpc_finish "server drops TCP 49152-65535: ept_map answered on 135, SYNs to the mapped dynamic port unanswered for 10 s (client timeout); same session captured client side (rpc-dynamic-filtered.pcap) and server side (rpc-dynamic-filtered-server.pcap)"
