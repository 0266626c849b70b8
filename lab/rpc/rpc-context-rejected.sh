#!/bin/bash
# rpc-context-rejected: bind to an unknown interface UUID
# (7d0ef8a6-3b1c-4f4e-9b57-1a2b3c4d5e6f) on a dynamic RPC port (the SAMR
# port from ept_map) and on TCP 135. Samba answers with a bind_ack whose
# only context is rejected: result provider_rejection (2), reason
# abstract_syntax_not_supported (1) -- not a bind_nak. Client side.
. "$(dirname "$0")/_common.sh"
rpc_init rpc-context-rejected 26
rpc_two_hosts dc
rpc_warmup
capture_start "$CLI" eth0 "$(rpc_pcap)"
rpc_client context-rejected
rpc_finish "bind of unknown interface on dynamic port and on 135: Samba sends bind_ack with context result 2 (provider_rejection), reason 1 (abstract_syntax_not_supported), no bind_nak"
