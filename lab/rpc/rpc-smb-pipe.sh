#!/bin/bash
# rpc-smb-pipe: DCE/RPC over SMB2 named pipes (ncacn_np) with an
# authenticated domain user (NTLMSSP, password generated per run, never
# printed): \pipe\samr (Connect, EnumDomains, LookupDomain, OpenDomain,
# EnumUsers, Close) and \pipe\lsarpc (OpenPolicy2, QueryInfoPolicy2,
# LookupNames, Close). SMB2 is signed but not encrypted (server smb encrypt =
# off), so the RPC PDUs are readable. Client side.
. "$(dirname "$0")/_common.sh"
rpc_init rpc-smb-pipe 24
rpc_two_hosts dc labuser
rpc_warmup
capture_start "$CLI" eth0 "$(rpc_pcap)"
rpc_client smb-pipe
rpc_finish "SAMR and LSARPC over SMB2 named pipes, authenticated user, SMB2 unencrypted, all calls status 0"
