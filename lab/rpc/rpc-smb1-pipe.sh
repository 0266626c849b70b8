#!/bin/bash
# rpc-smb1-pipe: DCE/RPC over SMB1 named pipes: the calls of rpc-smb-pipe (SAMR Connect,
# EnumDomains, LookupDomain, OpenDomain, EnumUsers, Close; LSA OpenPolicy2,
# QueryInfoPolicy2, LookupNames, Close) with the client held to the NT LM 0.12 dialect
# (impacket preferredDialect) and the Samba AD DC allowing it (server min protocol = NT1).
# Authenticated domain user (NTLMSSP, password generated per run, never printed); SMB1 is
# not encrypted, so the PDUs travel in NT_CREATE_ANDX'd pipes through
# TRANSACTION/TransactNmPipe, WRITE_ANDX and READ_ANDX. Client side.
. "$(dirname "$0")/_common.sh"
export SAMBA_LAB_GLOBAL="server min protocol = NT1"
rpc_init rpc-smb1-pipe 38
rpc_two_hosts dc labuser
rpc_warmup
capture_start "$CLI" eth0 "$(rpc_pcap)"
rpc_client smb1-pipe
rpc_finish "SAMR and LSARPC over SMB1 named pipes (NT LM 0.12), authenticated user, all calls status 0"
