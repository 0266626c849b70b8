# shellcheck shell=bash
# lab/rpc/_common.sh - shared setup for lab/rpc/<scenario>.sh (sourced).
#
#   . "$(dirname "$0")/_common.sh"
#   rpc_init NAME NET [PREFIX] # NET: third octet, PREFIX.NET.0/24 (PREFIX: 10.77)
#   rpc_two_hosts [dc|standalone] [USER]   # cli PREFIX.NET.10 <-> srv PREFIX.NET.20, Samba on srv
#   rpc_warmup_cmd CMD...      # run CMD (a client function) until it succeeds (5 tries)
#   rpc_warmup                 # ept_map + SAMR call before capturing (endpoints ready, ARP filled)
#   capture_start "$CLI" eth0 "$(rpc_pcap)"
#   rpc_client ACTION [rpcclient args]   # bounded by RPC_CLIENT_TIMEOUT (60 s)
#   rpc_finish "note for the expect file"  # stop captures, write fixtures
#
# Fixtures are written to a temp dir first and moved into tests/fixtures/lab/
# only when the scenario succeeded (a failed run leaves the old ones alone).

set -eu -o pipefail
RPC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_DIR=$(dirname "$RPC_DIR")
REPO_DIR=$(dirname "$LAB_DIR")
FIXTURES=${FIXTURES:-$REPO_DIR/tests/fixtures/lab}
PY=/usr/bin/python3
RPC_CLIENT_TIMEOUT=${RPC_CLIENT_TIMEOUT:-60}
MAX_PCAP_BYTES=${MAX_PCAP_BYTES:-307200}
# shellcheck source=../lib/netns.sh
. "$LAB_DIR/lib/netns.sh"

RPC_NAME=
RPC_NET=
RPC_PREFIX=10.77
RPC_EXTRA_PCAPS=()
CLI= SRV= CLI_ADDR= SRV_ADDR= SAMBA_DIR= RPC_USER= RPC_PWFILE=

rpc_init() {
    RPC_NAME=$1 RPC_NET=$2 RPC_PREFIX=${3:-10.77}
    netns_init
    RPC_T0=$SECONDS
    mkdir -p "$FIXTURES" "$TH_TMP/out"
    th_log "scenario $RPC_NAME ($RPC_PREFIX.$RPC_NET.0/24)"
}

# rpc_pcap [SUFFIX]: temp path of this scenario's capture (NAME[-SUFFIX].pcap)
rpc_pcap() { printf '%s/out/%s%s.pcap\n' "$TH_TMP" "$RPC_NAME" "${1:+-$1}"; }

# rpc_start_samba NS ADDR MODE: start Samba, register its stop for cleanup.
rpc_start_samba() {
    SAMBA_DIR=$TH_TMP/samba
    th_on_cleanup "'$LAB_DIR/samba-dc.sh' stop '$SAMBA_DIR' || true"
    th_run "$LAB_DIR/samba-dc.sh" start "$1" "$2" "$SAMBA_DIR" "$3" >/dev/null
}

rpc_two_hosts() {
    local mode=${1:-dc} user=${2:-}
    CLI=$(ns_create cli)
    SRV=$(ns_create srv)
    CLI_ADDR=$RPC_PREFIX.$RPC_NET.10 SRV_ADDR=$RPC_PREFIX.$RPC_NET.20
    ns_link "$CLI" eth0 "$CLI_ADDR/24" "$SRV" eth0 "$SRV_ADDR/24"
    rpc_start_samba "$SRV" "$SRV_ADDR" "$mode"
    if [ -n "$user" ]; then
        th_run "$LAB_DIR/samba-dc.sh" adduser "$SAMBA_DIR" "$user"
        RPC_USER=$user RPC_PWFILE=$SAMBA_DIR/users/$user.pw
    fi
}

# rpc_client ACTION [ARGS...] (runs in $CLI against $SRV_ADDR unless RPC_TARGET set)
rpc_client() {
    local action=$1 rc=0; shift
    local cred=()
    [ -z "$RPC_USER" ] || cred=(--user "$RPC_USER" --pwfile "$RPC_PWFILE")
    th_run timeout -k 5 "$RPC_CLIENT_TIMEOUT" ip netns exec "$CLI" "$PY" "$RPC_DIR/rpcclient.py" \
        "${cred[@]}" "$@" "$action" "${RPC_TARGET:-$SRV_ADDR}" >"$TH_TMP/client-$action.log" 2>&1 || rc=$?
    sed 's/^/[client] /' "$TH_TMP/client-$action.log" >&2
    return $rc
}

# rpc_warmup: make sure the endpoint mapper answers and SAMR is registered,
# before any capture starts.
rpc_warmup() {
    wait_connect "$CLI" "${RPC_TARGET:-$SRV_ADDR}" 135 30 || th_die "135 not reachable"
    local i
    for i in 1 2 3 4 5; do
        rpc_client map-then-call >/dev/null 2>&1 && return 0
        sleep 1
    done
    th_die "warm-up map-then-call failed"
}

# rpc_warmup_cmd CMD...: run CMD (not captured: ARP, dynamic endpoints registered) until
# it succeeds, at most 5 times, a second apart.
rpc_warmup_cmd() {
    local i
    for i in 1 2 3 4 5; do
        "$@" >"$TH_TMP/warmup.log" 2>&1 && return 0
        sleep 1
    done
    cat "$TH_TMP/warmup.log" >&2
    th_die "warm-up failed: $*"
}

# rpc_finish [NOTE]: stop all captures, write pcap(s) + expect.json into $FIXTURES.
rpc_finish() {
    local note=${1:-} f base
    capture_stop || th_die "capture problem (drops or tcpdump did not stop)"
    for f in "$TH_TMP"/out/*.pcap; do
        base=$(basename "$f" .pcap)
        local size
        size=$(stat -c %s "$f")
        [ "$size" -le "$MAX_PCAP_BYTES" ] || th_die "$base.pcap is $size bytes (> $MAX_PCAP_BYTES)"
        timeout 120 "$PY" "$RPC_DIR/_expect.py" "$f" "$TH_TMP/out/$base.expect.json" "$base" "$note"
    done
    for f in "$TH_TMP"/out/*; do
        chmod 0644 "$f"
        mv -f "$f" "$FIXTURES/"
        th_log "wrote $FIXTURES/$(basename "$f") ($(stat -c %s "$FIXTURES/$(basename "$f")") bytes)"
    done
    th_log "scenario $RPC_NAME done in $((SECONDS - RPC_T0)) s"
}

# rpc_server_firewall VERDICT: in the SERVER namespace, apply VERDICT (an nft
# verdict, e.g. "drop", "reject with tcp reset",
# "reject with icmp type admin-prohibited") to incoming TCP to 49152-65535;
# TCP 135 and 445 stay open.
rpc_server_firewall() {
    ns_exec "$SRV" nft -f - <<NFT
table ip thlab {
    chain input {
        type filter hook input priority 0; policy accept;
        tcp dport 49152-65535 $1
    }
}
NFT
    th_log "server firewall: tcp dport 49152-65535 $1"
}
