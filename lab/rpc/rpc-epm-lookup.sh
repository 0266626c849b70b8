#!/bin/bash
# rpc-epm-lookup: full endpoint-mapper enumeration (ept_lookup loop, as
# rpcdump does) against a Samba AD DC. Samba returns every entry (~50) in the
# first response with status 0 and a context handle, then answers the next
# call with EPT_S_NOT_REGISTERED (0x16c9a0d6) and a null handle: the normal
# end of the list, not an error. Captured on the client side.
. "$(dirname "$0")/_common.sh"
rpc_init rpc-epm-lookup 22
rpc_two_hosts dc
rpc_warmup
capture_start "$CLI" eth0 "$(rpc_pcap)"
rpc_client lookup
rpc_finish "ept_lookup loop: first response carries all entries (status 0), second ends the list with 0x16c9a0d6 (normal end-of-list)"
