#!/bin/bash
# auth-rdp: RDP connection negotiation refused by a real xrdp server that requires TLS
# (security_layer=tls): a client asking for standard RDP security only gets RDP_NEG_FAILURE
# SSL_REQUIRED_BY_SERVER, then comes back asking for TLS and gets RDP_NEG_RSP (TLS).
# Writes tests/fixtures/lab/auth-rdp.pcap. Addresses 10.90.2.10 / 10.90.2.20, namespaces
# th-h5-<pid>-*.
set -eu -o pipefail
AUTH_DIR=$(cd "$(dirname "$0")" && pwd)
LAB_DIR=$(dirname "$AUTH_DIR")
REPO_DIR=$(dirname "$LAB_DIR")
FIXTURES=${FIXTURES:-$REPO_DIR/tests/fixtures/lab}
TH_PREFIX=th-h5-$$
# shellcheck source=../lib/netns.sh
. "$LAB_DIR/lib/netns.sh"
netns_init
mkdir -p "$FIXTURES" "$TH_TMP/out"
CLI=$(ns_create cli)
SRV=$(ns_create rdp)
C=10.90.2.10 S=10.90.2.20
ns_link "$CLI" eth0 "$C/24" "$SRV" eth0 "$S/24"
sed 's/^security_layer=.*/security_layer=tls/' /etc/xrdp/xrdp.ini >"$TH_TMP/xrdp.ini"
th_bg "$SRV" xrdp --nodaemon --port 3389 --config "$TH_TMP/xrdp.ini"
wait_port "$SRV" "$S" 3389 15 || th_die "xrdp did not start"
capture_start "$CLI" eth0 "$TH_TMP/out/auth-rdp.pcap" port 3389
th_run timeout 10 ip netns exec "$CLI" /usr/bin/python3 "$AUTH_DIR/rdpneg.py" "$S" 3389 0 alice >&2
th_run timeout 10 ip netns exec "$CLI" /usr/bin/python3 "$AUTH_DIR/rdpneg.py" "$S" 3389 1 alice >&2
sleep 0.5
capture_stop || th_die "capture problem"
chmod 0644 "$TH_TMP/out/auth-rdp.pcap"
mv -f "$TH_TMP/out/auth-rdp.pcap" "$FIXTURES/"
th_log "wrote $FIXTURES/auth-rdp.pcap"
