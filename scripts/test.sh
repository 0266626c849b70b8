#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine: installs what the tests need, then runs
# every test of the workspace. Run as root (the lab and probe tests build network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use: tshark to cross-check our readings, tcpdump/iproute2/
# nftables/iptables for namespace labs, Samba + winbind + impacket for real DCE/RPC peers,
# nmap to cross-check port states, openssl for TLS peers, dnsutils for DNS clients.
pkgs=(tshark tcpdump iproute2 nftables iptables samba winbind python3-impacket nmap openssl
      dnsutils ldap-utils krb5-user smbclient ethtool netcat-openbsd python3)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cargo test --workspace --locked 2>&1
