# shellcheck shell=bash
# Shared helpers for lab/net/*.sh, on top of lab/lib/netns.sh (namespaces, veths, captures,
# cleanup traps). Source this from a scenario script after `set -euo pipefail`, then call
# `net_init NAME`. Everything a run creates (namespaces, background PIDs, temp dir) is torn
# down by netns.sh's EXIT trap, also on failure or interrupt. All addresses are 10.77.x.x and
# exist only inside the namespaces created here; no namespace is linked to the host.

NET_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$NET_DIR/../.." && pwd)
FIX_DIR="$REPO_ROOT/tests/fixtures/lab"
PY=/usr/bin/python3          # Debian's python; peers use the standard library only
SCEN=""
T0=$(date +%s%N)
# shellcheck source=../lib/netns.sh
. "$REPO_ROOT/lab/lib/netns.sh"

net_need() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || th_die "missing tool: $c"
    done
}

net_init() {
    SCEN=$1
    net_need ip tcpdump tshark capinfos nft ethtool "$PY"
    netns_init
    TMP=$TH_TMP
    chmod 0700 "$TMP"
    mkdir -p "$FIX_DIR"
    # written in the temp dir, moved into tests/fixtures/lab/ only when the run succeeded:
    # a failed run leaves the previous fixtures in place
    mkdir -p "$TMP/out" "$TMP/out/certs"
    PCAP="$TMP/out/$SCEN.pcap"
    EXPECT="$TMP/out/$SCEN.expect.json"
    th_on_cleanup 'net_on_exit'
}

net_on_exit() {
    # runs from netns_cleanup's hooks
    [ -n "${NET_OK:-}" ] || th_log "$SCEN: FAILED, fixtures in $FIX_DIR left unchanged"
}

# nsx NAME CMD... : run CMD inside our namespace NAME (short name: cli, srv, rtr)
nsx() { local n="$TH_PREFIX-$1"; shift; ip netns exec "$n" "$@"; }
# bg NAME CMD... : background CMD in namespace NAME; PID in $BG_PID (tracked for cleanup)
bg() { local n="$TH_PREFIX-$1"; shift; th_bg "$n" "$@"; BG_PID=$TH_LAST_PID; }
ns() { echo "$TH_PREFIX-$1"; }
# bgl NAME LOG CMD... : like bg, output to LOG
bgl() {
    local n="$TH_PREFIX-$1" log=$2; shift 2
    ip netns exec "$n" "$@" >"$log" 2>&1 &
    BG_PID=$!
    th_track "$BG_PID"
}

# offload_off NS IF : no TSO/GSO/GRO and no checksum offload, so the wire shows real segments
offload_off() {
    nsx "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1 ||
        nsx "$1" ethtool -K "$2" tso off gso off gro off >/dev/null
}

# topo_pair [S]: client 10.77.S.1 (c0) <-> server 10.77.S.2 (s0)
topo_pair() {
    local s=${1:-1}
    ns_create cli >/dev/null; ns_create srv >/dev/null
    ns_link "$(ns cli)" c0 "10.77.$s.1/24" "$(ns srv)" s0 "10.77.$s.2/24"
    CLI_IP=10.77.$s.1; SRV_IP=10.77.$s.2
    offload_off cli c0; offload_off srv s0
}

# topo_router [S T]: client 10.77.S.1 (c0) <-> r0 10.77.S.254 [rtr] r1 10.77.T.254 <-> server 10.77.T.1 (s0)
topo_router() {
    local s=${1:-1} t=${2:-2}
    ns_create cli >/dev/null; ns_create rtr >/dev/null; ns_create srv >/dev/null
    ns_link "$(ns cli)" c0 "10.77.$s.1/24" "$(ns rtr)" r0 "10.77.$s.254/24"
    ns_link "$(ns rtr)" r1 "10.77.$t.254/24" "$(ns srv)" s0 "10.77.$t.1/24"
    ns_router "$(ns rtr)"
    ns_route "$(ns cli)" default "10.77.$s.254"
    ns_route "$(ns srv)" default "10.77.$t.254"
    CLI_IP=10.77.$s.1; SRV_IP=10.77.$t.1
    offload_off cli c0; offload_off rtr r0; offload_off rtr r1; offload_off srv s0
}

# listening NS PORT : wait (bounded, 10 s) for a TCP listener on PORT in namespace NS
listening() { wait_port "$(ns "$1")" 0.0.0.0 "$2" 10; }
# listening_udp NS PORT : same for a UDP socket
listening_udp() {
    local i
    for ((i = 0; i < 100; i++)); do
        nsx "$1" ss -Hlun "sport = :$2" | grep -q . && return 0
        sleep 0.1
    done
    th_die "no UDP socket on port $2 in $1"
}

# cap NS IF SNAPLEN [FILTER...] / cap_end : capture into the fixture path
cap() { local n; n=$(ns "$1"); TH_SNAPLEN=$3 capture_start "$n" "$2" "$PCAP" "${@:4}"; sleep 0.2; }
cap_end() { capture_stop "$PCAP" || th_die "capture incomplete"; }

# http_gets THINK : an HTTP/1.1 server (peers.py) that thinks THINK seconds per request, and
# 10 GETs from the client on one keep-alive connection, captured at the client (full packets)
http_gets() {
    bg srv "$PY" "$NET_DIR/peers.py" http-server --port 8080 --delay "$1" --life 25
    listening srv 8080
    cap cli c0 0
    nsx cli "$PY" "$NET_DIR/peers.py" http-client --host "$SRV_IP" --port 8080 --count 10 --timeout 10
    cap_end
}

# expect DIAG DESCRIPTION [--count N=F ...] : write the expect file from the capture (tshark)
expect() {
    local diag=$1 desc=$2; shift 2
    "$PY" "$NET_DIR/expect.py" --pcap "$PCAP" --out "$EXPECT" --scenario "$SCEN" \
        --diagnosis "$diag" --description "$desc" \
        --client "${CLI_IP:-}" --server "${SRV_IP:-}" "$@"
}

# check COND... : self-check of the expect file, e.g. check 'tcp_rst>=1' 'tcp_retransmission==0'
# (names are keys of "counts"); the run fails (no fixture written) when the capture does not
# show what the scenario is meant to reproduce
check() {
    "$PY" - "$EXPECT" "$@" <<'PYEOF' || th_die "self-check failed: the capture does not show the scenario"
import json, operator, re, sys
counts = json.load(open(sys.argv[1]))["counts"]
ops = {">=": operator.ge, "<=": operator.le, "==": operator.eq}
bad = 0
for cond in sys.argv[2:]:
    m = re.fullmatch(r"(\w+)(>=|<=|==)(\d+)", cond)
    if not m or m.group(1) not in counts:
        sys.exit(f"bad check {cond!r}")
    v = counts[m.group(1)]
    if not ops[m.group(2)](v, int(m.group(3))):
        print(f"check {cond}: got {v}", file=sys.stderr)
        bad += 1
sys.exit(1 if bad else 0)
PYEOF
}

net_done() {
    local sz ms
    sz=$(stat -c %s "$PCAP")
    ms=$(( ($(date +%s%N) - T0) / 1000000 ))
    [ "$sz" -lt 307200 ] || th_die "capture too large ($sz bytes)"
    local frames
    frames=$(capinfos -M -c "$PCAP" | awk '/Number of packets/ {print $NF}')
    if compgen -G "$TMP/out/certs/*.pem" >/dev/null; then
        mkdir -p "$CERT_DIR"
        rm -f "$CERT_DIR/$SCEN"-*.pem
        install -m 0644 "$TMP/out/certs/"*.pem "$CERT_DIR/"
        echo "$SCEN: wrote $CERT_DIR/$SCEN-*.pem (public certificates)"
    fi
    install -m 0644 "$PCAP" "$FIX_DIR/$SCEN.pcap"
    install -m 0644 "$EXPECT" "$FIX_DIR/$SCEN.expect.json"
    NET_OK=1
    echo "$SCEN: wrote $FIX_DIR/$SCEN.pcap ($sz bytes, $frames frames)"
    echo "$SCEN: wrote $FIX_DIR/$SCEN.expect.json"
    echo "$SCEN: runtime $((ms / 1000)).$(( (ms % 1000) / 100 )) s"
}

# --- certificates (TLS scenarios). Keys stay in $TMP (mode 0700) and are never printed; the
# public certificates are copied to tests/fixtures/lab/certs/ for reference.
CERT_DIR="$FIX_DIR/certs"

# make_ca : a throw-away CA in $TMP/ca ($TMP/ca/ca.pem, $TMP/ca/ca.key)
make_ca() {
    local d="$TMP/ca"
    mkdir -p "$d/new"; : >"$d/index.txt"; echo 1000 >"$d/serial"
    cat >"$d/ca.cnf" <<CNF
[ ca ]
default_ca = lab
[ lab ]
dir = $d
database = $d/index.txt
serial = $d/serial
new_certs_dir = $d/new
certificate = $d/ca.pem
private_key = $d/ca.key
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
email_in_dn = no
[ any ]
commonName = supplied
[ srv ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
CNF
    (umask 077; openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.pem" \
        -subj "/CN=tracehound lab CA" -days 30 2>/dev/null)
    install -m 0644 "$d/ca.pem" "$TMP/out/certs/$SCEN-ca.pem"
}

# make_cert NAME DNSNAME [STARTDATE ENDDATE] : $TMP/NAME.pem + $TMP/NAME.key signed by the CA;
# dates as YYYYMMDDHHMMSSZ (default: valid from yesterday for 30 days)
make_cert() {
    local name=$1 dns=$2 start=${3:-} end=${4:-} d="$TMP/ca"
    [ -n "$start" ] || start=$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)
    [ -n "$end" ] || end=$(date -u -d '+30 days' +%Y%m%d%H%M%SZ)
    (umask 077; openssl req -newkey rsa:2048 -nodes -keyout "$TMP/$name.key" -out "$TMP/$name.csr" \
        -subj "/CN=$dns" -addext "subjectAltName=DNS:$dns" 2>/dev/null)
    openssl ca -batch -config "$d/ca.cnf" -extensions srv -startdate "$start" -enddate "$end" \
        -notext -in "$TMP/$name.csr" -out "$TMP/$name.pem" >/dev/null 2>&1 ||
        th_die "openssl ca failed for $name"
    install -m 0644 "$TMP/$name.pem" "$TMP/out/certs/$SCEN-$name.pem"
}

TLS_VALUES=(--values "x509_names=x509ce.dNSName@tls.handshake.type==11"
            --values "x509_utc_times=x509af.utcTime@tls.handshake.type==11")
