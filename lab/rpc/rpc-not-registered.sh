#!/bin/bash
# rpc-not-registered: ept_map for an interface UUID nobody registered
# (7d0ef8a6-3b1c-4f4e-9b57-1a2b3c4d5e6f v1.0): the endpoint mapper answers
# with status EPT_S_NOT_REGISTERED (0x16c9a0d6) and zero towers. Client side.
. "$(dirname "$0")/_common.sh"
rpc_init rpc-not-registered 25
rpc_two_hosts dc
rpc_warmup
capture_start "$CLI" eth0 "$(rpc_pcap)"
rpc_client not-registered
rpc_finish "ept_map for unregistered interface 7d0ef8a6-3b1c-4f4e-9b57-1a2b3c4d5e6f -> status 0x16c9a0d6, 0 towers"
