#!/usr/bin/env bash
# lab/bulk/bulk.sh OUT.pcap [MB] [on|off] - a real bulk-traffic capture for the benchmark set
# (bench/bulk.py): large segments, few packets per megabyte.
#
# One client and one server namespace joined by a veth pair, captured in full (tcpdump -s 0)
# on the client's side. Offloads "on" (the default) as on a real server: tcpdump sees the
# segments TSO/GSO/GRO hand it, up to 64 KiB each; "off" (ethtool -K ... off on both ends):
# frames of at most 1514 bytes, as a SPAN port or a tap sees them. Transfers, one TCP
# connection each, of a file of MB MiB (default 40) of random bytes:
#   1. HTTP download:  python3 -m http.server, curl
#   2. TLS download:   openssl s_server -WWW (TLS 1.3, self-signed lab certificate), curl -k
#   3. SMB file copy:  Samba's smbd (lab/samba-dc.sh standalone, SMB3, signing, no encryption),
#                      smbclient get
#   4. SMB file copy again, SMB2.1 (smbclient -m SMB2_10)
# Namespaces th-h4-<pid>-{cli,srv}, addresses 10.134.1.0/24, no link to the host; every wait
# bounded; namespaces, servers and tcpdump torn down on exit (trap), only our own PIDs killed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(readlink -f "$1")
MB=${2:-40}
OFFLOAD=${3:-on}
export TH_PREFIX="th-h4-$$"
. "$HERE/../lib/netns.sh"
netns_init
CLI=$(ns_create cli)
SRV=$(ns_create srv)
ns_link "$CLI" eth0 10.134.1.2/24 "$SRV" eth0 10.134.1.1/24
S=10.134.1.1
if [ "$OFFLOAD" = off ]; then
    for ns in "$CLI" "$SRV"; do
        ip netns exec "$ns" ethtool -K eth0 tso off gso off gro off >/dev/null 2>&1 ||
            th_die "ethtool -K eth0 off in $ns"
    done
fi
WWW=$TH_TMP/www
mkdir -p "$WWW"
head -c $((MB * 1024 * 1024)) /dev/urandom >"$WWW/blob"

# the servers
th_bg "$SRV" python3 -m http.server 80 --bind "$S" --directory "$WWW"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=bulk.lab.test \
    -keyout "$TH_TMP/key.pem" -out "$TH_TMP/cert.pem" 2>/dev/null
chmod 0600 "$TH_TMP/key.pem"
cd "$WWW" # s_server -WWW serves files from its working directory
th_bg "$SRV" openssl s_server -accept 443 -WWW -key "$TH_TMP/key.pem" -cert "$TH_TMP/cert.pem" \
    -quiet -naccept 4
cd /
SDIR=$TH_TMP/samba
SAMBA=$HERE/../samba-dc.sh
th_on_cleanup "'$SAMBA' stop '$SDIR' 2>/dev/null"
"$SAMBA" start "$SRV" "$S" "$SDIR" standalone >/dev/null
cp "$WWW/blob" "$SDIR/share/blob"
# the guest account (nobody) reaches the share through our temp dirs: traverse only
chmod 0711 "$TH_TMP" "$SDIR"
chmod 0755 "$SDIR/share"
chmod 0644 "$SDIR/share/blob"
wait_port "$SRV" "$S" 80 20
wait_port "$SRV" "$S" 443 20
wait_port "$SRV" "$S" 445 20

# capture_start with a kernel buffer large enough for the whole transfer set (this 2-core
# machine is shared: a 16 MiB buffer drops packets under bulk load); capture_stop checks
# "0 packets dropped by kernel".
rm -f "$OUT"
ip netns exec "$CLI" tcpdump -i eth0 --immediate-mode -B $((MB * 4 * 1024 + 65536)) -U -Z root \
    -s 0 -n -w "$OUT" 2>"$TH_TMP/tcpdump.err" &
TH_CAP_PID[$OUT]=$!
TH_CAP_ERR[$OUT]=$TH_TMP/tcpdump.err
th_track "${TH_CAP_PID[$OUT]}"
for ((i = 0; i < 100; i++)); do
    grep -q 'listening on' "$TH_TMP/tcpdump.err" 2>/dev/null && break
    sleep 0.1
done
grep -q 'listening on' "$TH_TMP/tcpdump.err" || th_die "tcpdump did not start"
sleep 0.5
get() { th_run timeout 120 ip netns exec "$CLI" "$@"; }
get curl -sS "http://$S/blob" -o /dev/null
get curl -sSk "https://$S/blob" -o /dev/null
smb() {
    get smbclient "//$S/share" -N -m "$1" -c 'get blob /dev/null' >"$TH_TMP/smb.log" 2>&1 ||
        { cat "$TH_TMP/smb.log" >&2; th_die "smbclient -m $1 failed"; }
}
smb SMB3
smb SMB2_10
sleep 0.5
capture_stop "$OUT"
ls -l "$OUT" >&2
