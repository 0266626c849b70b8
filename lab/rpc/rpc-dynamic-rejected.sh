#!/bin/bash
# rpc-dynamic-rejected: like rpc-dynamic-filtered, but the server-side
# firewall answers SYNs to 49152-65535 with a TCP RST (nft "reject with tcp
# reset"): ept_map is answered, the connect to the dynamic port is refused
# at once. Client side.
. "$(dirname "$0")/_common.sh"
rpc_init rpc-dynamic-rejected 29
rpc_two_hosts dc
rpc_warmup
rpc_server_firewall "reject with tcp reset"
capture_start "$CLI" eth0 "$(rpc_pcap)"
rpc_client map-then-call --expect-fail --timeout 10
rpc_finish "server rejects TCP 49152-65535 with RST: ept_map answered on 135, SYN to the mapped dynamic port answered by RST/ACK (connection refused)"
