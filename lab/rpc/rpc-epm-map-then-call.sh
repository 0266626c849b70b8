#!/bin/bash
# rpc-epm-map-then-call: healthy two-step RPC. The client asks the endpoint
# mapper (TCP 135) for SAMR over ncacn_ip_tcp (ept_map), connects to the
# dynamic port it is given and calls SamrConnect +
# SamrEnumerateDomainsInSamServer (anonymous). Captured on the client side.
. "$(dirname "$0")/_common.sh"
rpc_init rpc-epm-map-then-call 21
rpc_two_hosts dc
rpc_warmup
capture_start "$CLI" eth0 "$(rpc_pcap)"
rpc_client map-then-call
rpc_finish "ept_map(SAMR) on 135 -> dynamic port -> SamrConnect + SamrEnumerateDomainsInSamServer, all healthy"
