#!/bin/bash
# Seeds fuzz/corpus/probe_replies/ for the probe_replies target with REAL server replies:
#
# 1. A lab (two namespaces, 10.77.231.0/24, lab/lib/netns.sh, torn down on exit) with a
#    Samba AD DC (lab/samba-dc.sh: DNS, Kerberos, LDAP/CLDAP, LDAPS/GC-TLS, SMB2, EPM and
#    its dynamic RPC ports), snmpd, coturn (STUN/TURN), nmbd (NetBIOS node status), xrdp
#    and python3 http.server. `tracehound portqry` queries them while tcpdump records the
#    client side; every server->client UDP datagram is one seed, every server->client TCP
#    stream (payload concatenated in order) another, prefixed with the selector byte of
#    the parser that port's query uses (tracehound_probe::fuzzing::Parser).
# 2. One SQL Browser reply built from [MC-SQLR] (no SQL Server in the lab).
# 3. The server flights and certificates of /work/shared/captures/tls/*.pcap (provenance:
#    its SOURCES.md): TLS selector for the server->client payload of each TCP stream,
#    Certificate selector for each DER certificate tshark finds.
#
# Usage (root): fuzz/seed_probe_replies.sh    (env TRACEHOUND: the binary, default
# target/release/tracehound, built if missing). Bounded: every wait has a timeout.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
DST=$HERE/corpus/probe_replies
. "$ROOT/lab/lib/netns.sh"
netns_init
mkdir -p "$DST"

TH=${TRACEHOUND:-$ROOT/target/release/tracehound}
[ -x "$TH" ] || (cd "$ROOT" && cargo build --release -q -p tracehound-cli)

# Selector bytes (order of tracehound_probe::fuzzing::PARSERS).
declare -A SEL=([dns]=0 [dns_tcp]=1 [ldap]=2 [krb]=3 [krb_tcp]=4 [smb]=5 [nbstat]=6 [snmp]=7
    [sql]=8 [stun]=9 [http]=10 [tls]=11 [rdp]=12 [epm]=13 [epm_map]=14 [cert]=15)

C=$(ns_create seedc); S=$(ns_create seeds)
CIP=10.77.231.1; SIP=10.77.231.2
ns_link "$C" eth0 $CIP/24 "$S" eth0 $SIP/24
D=$TH_TMP

# --- servers -------------------------------------------------------------------------
"$ROOT/lab/samba-dc.sh" start "$S" $SIP "$D/dc" dc >"$D/dc.pid"
th_on_cleanup "'$ROOT/lab/samba-dc.sh' stop '$D/dc'"
printf 'rocommunity public 10.77.231.0/24\nsysDescr tracehound-seed\n' >"$D/snmpd.conf"
th_bg "$S" snmpd -f -Lf "$D/snmpd.log" -C -c "$D/snmpd.conf" -p "$D/snmpd.pid" udp:$SIP:161
th_bg "$S" turnserver -n --listening-ip=$SIP --realm=lab.tracehound.test --lt-cred-mech \
    --user=probe:unused --no-tls --no-dtls --no-cli --log-file="$D/turn.log" --pidfile="$D/turn.pid"
mkdir -p "$D/nb"/{lock,state,cache,private,run,log} "$D/www"
cat >"$D/nb/smb.conf" <<CONF
[global]
 netbios name = SEEDNB
 workgroup = LABGROUP
 interfaces = $SIP/24
 bind interfaces only = yes
 lock directory = $D/nb/lock
 state directory = $D/nb/state
 cache directory = $D/nb/cache
 private dir = $D/nb/private
 pid directory = $D/nb/run
 ncalrpc dir = $D/nb/run/ncalrpc
 log file = $D/nb/log/log.%m
 local master = no
CONF
th_bg "$S" nmbd -F --no-process-group -s "$D/nb/smb.conf"
th_bg "$S" xrdp --nodaemon --port 3389
echo hello >"$D/www/index.html"
th_bg "$S" /usr/bin/python3 -m http.server --bind $SIP --directory "$D/www" 80
wait_port "$S" $SIP 80 20
wait_port "$S" $SIP 3389 20 || th_log "xrdp did not start; no RDP seed"
sleep 2  # nmbd registers its names a moment after binding

# --- queries under capture ----------------------------------------------------------
PCAP=$D/seed.pcap
capture_start "$C" eth0 "$PCAP"
q() { ns_exec "$C" timeout 120 "$TH" portqry -n $SIP -nr "$@" >/dev/null 2>&1 || true; }
q --preset domain
q -p udp -e 53
q -e 53
q -p both -e 88 --realm LAB.TRACEHOUND.TEST
q -p udp -e 161
q -p both -e 3478
q -p udp -e 137
q -e 80
q -e 3389
q -e 135 --map e1af8308-5d1f-11c9-91a4-08002b14a0fa
q -e 135 --map 12345778-1234-abcd-ef00-0123456789ac
capture_stop "$PCAP"


# Extract: UDP datagrams one by one, TCP streams concatenated (server -> client only).
extract() {  # pcap server-ip tag
    tshark -r "$1" -Y "ip.src==$2 && (udp || tcp.len>0) && !icmp" -T fields -E separator=/t \
        -e frame.number -e udp.srcport -e tcp.srcport -e tcp.stream -e udp.payload -e tcp.payload 2>/dev/null |
    /usr/bin/python3 -c '
import sys, collections
dst, tag = sys.argv[1], sys.argv[2]
sels = dict(a.split("=") for a in sys.argv[3:])
streams = collections.OrderedDict()
n = 0
# The query each server port gets (tracehound_probe::query::for_port).
TABLE = {("udp", 53): "dns", ("tcp", 53): "dns_tcp", ("udp", 88): "krb", ("tcp", 88): "krb_tcp",
         ("udp", 389): "ldap", ("tcp", 389): "ldap", ("tcp", 3268): "ldap", ("tcp", 445): "smb",
         ("udp", 137): "nbstat", ("udp", 161): "snmp", ("udp", 1434): "sql", ("udp", 3478): "stun",
         ("tcp", 3478): "stun", ("tcp", 80): "http", ("tcp", 636): "tls", ("tcp", 3269): "tls",
         ("tcp", 3389): "rdp", ("tcp", 135): "epm"}
def sel(proto, port):
    port = int(port)
    name = TABLE.get((proto, port)) or ("epm" if proto == "tcp" and port >= 49152 else None)
    return sels.get(name) if name else None
for line in sys.stdin:
    f = line.rstrip("\n").split("\t")
    if len(f) < 6: continue
    fr, usp, tsp, st, up, tp = f[:6]
    if usp and up:
        s = sel("udp", usp)
        if s is None: continue
        open("%s/%s-udp%s-f%s" % (dst, tag, usp, fr), "wb").write(bytes([int(s)]) + bytes.fromhex(up.replace(":", "")))
        n += 1
    elif tsp and tp:
        streams.setdefault((st, tsp), bytearray()).extend(bytes.fromhex(tp.replace(":", "")))
for (st, port), data in streams.items():
    s = sel("tcp", port)
    if s is None: continue
    open("%s/%s-tcp%s-s%s" % (dst, tag, port, st), "wb").write(bytes([int(s)]) + bytes(data[:200000]))
    n += 1
print("%s: %d seeds" % (tag, n))
' "$DST" "$3" $(for k in "${!SEL[@]}"; do printf '%s=%s ' "$k" "${SEL[$k]}"; done)
}
extract "$PCAP" $SIP lab

# EPM map replies parsed as ept_map: the same streams, ept_map selector (the query with
# --map sends opnum 3; the lookup streams just give the parser more shapes).
for f in "$DST"/lab-tcp135-*; do
    [ -f "$f" ] || continue
    { printf "\\x$(printf %02x "${SEL[epm_map]}")"; tail -c +2 "$f"; } >"${f/lab-/lab-map-}"
done

# Shared TLS captures: server flights (any server port) and the certificates in them.
for p in /work/shared/captures/tls/*.pcap; do
    b=$(basename "$p" .pcap)
    tshark -r "$p" -Y 'tls.handshake.type == 2' -T fields -e ip.src 2>/dev/null | sort -u | while read -r sip; do
        [ -n "$sip" ] || continue
        tshark -r "$p" -Y "ip.src==$sip && tcp.len>0" -T fields -e tcp.stream -e tcp.payload 2>/dev/null |
        /usr/bin/python3 -c '
import sys, collections
dst, tag, sel = sys.argv[1], sys.argv[2], int(sys.argv[3])
st = collections.OrderedDict()
for line in sys.stdin:
    f = line.split()
    if len(f) == 2: st.setdefault(f[0], bytearray()).extend(bytes.fromhex(f[1].replace(":", "")))
for k, v in list(st.items())[:4]:
    open("%s/shared-%s-s%s" % (dst, tag, k), "wb").write(bytes([sel]) + bytes(v[:65536]))
' "$DST" "$b" "${SEL[tls]}"
    done
    tshark -r "$p" -Y tls.handshake.certificate -T fields -e tls.handshake.certificate 2>/dev/null |
        tr ',' '\n' | sort -u | head -n 8 | /usr/bin/python3 -c '
import sys, hashlib
dst, tag, sel = sys.argv[1], sys.argv[2], int(sys.argv[3])
for line in sys.stdin:
    h = line.strip().replace(":", "")
    if not h: continue
    der = bytes.fromhex(h)
    open("%s/shared-cert-%s-%s" % (dst, tag, hashlib.sha1(der).hexdigest()[:10]), "wb").write(bytes([sel]) + der)
' "$DST" "$b" "${SEL[cert]}"
done
# No SQL Server here: one SQL Browser SVR_RESP built from [MC-SQLR] 2.2.5 (0x05, u16 LE
# length, the instance list), marked as spec-built in its name.
/usr/bin/python3 - "$DST" "${SEL[sql]}" <<'PY'
import sys, struct
text = b"ServerName;DB1;InstanceName;MSSQLSERVER;IsClustered;No;Version;15.0.2000.5;tcp;1433;np;\\\\DB1\\pipe\\sql\\query;;" \
       b"ServerName;DB1;InstanceName;SQLEXPRESS;IsClustered;No;Version;16.0.1000.6;tcp;49721;;"
open(sys.argv[1] + "/spec-mc-sqlr-svr-resp", "wb").write(bytes([int(sys.argv[2]), 5]) + struct.pack("<H", len(text)) + text)
PY
echo "seeds in $DST: $(ls "$DST" | wc -l) files"
