#!/bin/bash
# rpc-healthy-mixed: negative control. A healthy session mixing the
# endpoint mapper (ept_map SAMR and LSARPC), SAMR over ncacn_ip_tcp
# (anonymous Connect, EnumDomains, LookupDomain, Close) and SAMR + LSARPC
# over SMB2 named pipes with an authenticated user (lookups). Every call
# succeeds; an analyzer should report no problem here. (LSA over TCP is not
# included: Samba faults LsarOpenPolicy2 over ncacn_ip_tcp for every user.)
. "$(dirname "$0")/_common.sh"
rpc_init rpc-healthy-mixed 27
rpc_two_hosts dc labuser
rpc_warmup
capture_start "$CLI" eth0 "$(rpc_pcap)"
rpc_client healthy-mixed
rpc_finish "healthy: EPM map, SAMR over TCP, SAMR+LSARPC over SMB2 pipes; every call status 0, no faults, no rejected binds"
