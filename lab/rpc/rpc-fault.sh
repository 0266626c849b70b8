#!/bin/bash
# rpc-fault: RPC-level failures on healthy transport. LsarOpenPolicy2 over
# ncacn_ip_tcp is answered by a FAULT PDU, status nca_s_fault_access_denied
# (0x00000005); then anonymous SAMR: SamrConnect, EnumerateDomains,
# LookupDomain, OpenDomain succeed, SamrCreateUser2InDomain returns a normal
# response with NTSTATUS STATUS_ACCESS_DENIED (0xc0000022). Client side.
. "$(dirname "$0")/_common.sh"
rpc_init rpc-fault 23
rpc_two_hosts dc
rpc_warmup
capture_start "$CLI" eth0 "$(rpc_pcap)"
rpc_client fault
rpc_finish "LsarOpenPolicy2 over TCP -> fault 0x5 (nca_s_fault_access_denied); anonymous SamrCreateUser2InDomain -> response with STATUS_ACCESS_DENIED 0xc0000022"
