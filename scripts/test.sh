#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine: installs what the tests need, then runs
# every test of the workspace. Run as root (the lab and probe tests build network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use: tshark to cross-check our readings, tcpdump/iproute2/
# nftables/iptables for namespace labs, Samba + winbind + impacket for real DCE/RPC peers,
# nmap to cross-check port states, openssl for TLS peers, dnsutils for DNS clients.
# snmpd, coturn and xrdp are real peers for the live-probe tests (SNMP, STUN/TURN, RDP);
# chromium renders the HTML reports in the report tests; faketime skews a lab client's clock.
pkgs=(tshark tcpdump iproute2 nftables iptables samba samba-common-bin winbind python3-impacket
      nmap openssl dnsutils ldap-utils krb5-user smbclient ethtool netcat-openbsd python3
      gzip snmpd coturn xrdp chromium faketime)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Keep the packages' daemons (samba, snmpd, coturn, xrdp) from starting on this host: the
  # tests start their own copies inside network namespaces.
  policy=/usr/sbin/policy-rc.d
  had_policy=0; [ -e "$policy" ] && had_policy=1
  [ "$had_policy" = 1 ] || { printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; }
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
  [ "$had_policy" = 1 ] || rm -f "$policy"
fi
# DuckDB (Python) reads the Parquet output in the export tests (crates/cli/tests/export.rs).
python3 -c 'import duckdb' 2>/dev/null || pip install --quiet duckdb \
  || pip install --quiet --break-system-packages duckdb

# Gates before the tests: formatting, and clippy with every warning an error (the parser
# crates also deny unwrap/expect/panic/indexing: see [workspace.lints] in Cargo.toml).
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings 2>&1

cargo test --workspace --locked 2>&1
