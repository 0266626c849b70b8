#!/bin/bash
# bench/portqry-sweep.sh - full TCP sweep (1-65535) of a namespace host:
# `tracehound portqry -r 1:65535 -q` against `nmap -sT -p- --max-retries 1`, same host,
# same rules, same run. Root only; everything lives in two namespaces this script creates
# (10.77.240.0/24, no link to the host network) and is torn down on exit.
#
# Target host: a few listeners (22 80 135 445 3389 8080), nft drop on 1000-1499 and
# 20000-20499 (1000 silently dropped ports), every other port closed (reset).
#
# Usage: bench/portqry-sweep.sh [runs]       (default 3 runs of each tool)
# Env:   TRACEHOUND=path   the tracehound binary (default target/release/tracehound, else the
#                          probe crate's release example `portqry`, built if missing)
#        PORTQRY_BIN=path  a binary taking portqry's switches directly (the example)
#        PORTQRY_ARGS=...  extra portqry switches (e.g. "--concurrency 1000 --rate 0")
set -euo pipefail
RUNS=${1:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
C=thpb-c$$; S=thpb-s$$
CIP=10.77.240.1; SIP=10.77.240.2
PIDS=()

cleanup() {
    local p
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    ip netns del "$C" 2>/dev/null || true
    ip netns del "$S" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

[ "$(id -u)" = 0 ] || { echo "must be root" >&2; exit 1; }
command -v nmap >/dev/null || { echo "nmap missing" >&2; exit 1; }

if [ -n "${PORTQRY_BIN:-}" ]; then
    PQ=("$PORTQRY_BIN")
elif [ -n "${TRACEHOUND:-}" ]; then
    PQ=("$TRACEHOUND" portqry)
elif [ -x "$ROOT/target/release/tracehound" ] && "$ROOT/target/release/tracehound" portqry -? >/dev/null 2>&1; then
    PQ=("$ROOT/target/release/tracehound" portqry)
else
    (cd "$ROOT" && cargo build --release -q -p tracehound-probe --example portqry)
    PQ=("$ROOT/target/release/examples/portqry")
fi

ip netns add "$C"; ip netns add "$S"
ip link add pb$$c netns "$C" type veth peer name pb$$s netns "$S"
ip -n "$C" addr add $CIP/24 dev pb$$c
ip -n "$S" addr add $SIP/24 dev pb$$s
for n in "$C" "$S"; do ip -n "$n" link set lo up; done
ip -n "$C" link set pb$$c up; ip -n "$S" link set pb$$s up
for _ in $(seq 50); do
    ip -n "$C" link show pb$$c | grep -q LOWER_UP && break; sleep 0.1
done

PY=/usr/bin/python3; [ -x $PY ] || PY=python3
ip netns exec "$S" $PY "$ROOT/crates/probe/tests/servers/servers.py" tcp-listen $SIP 22 80 135 445 3389 8080 &
PIDS+=($!)
ip netns exec "$S" nft -f - <<NFT
table inet bench {
    chain in {
        type filter hook input priority 0;
        tcp dport { 1000-1499, 20000-20499 } drop
    }
}
NFT
for _ in $(seq 100); do
    [ "$(ip netns exec "$S" ss -Hltn "sport = :8080" | wc -l)" -ge 1 ] && break; sleep 0.1
done

now() { date +%s.%N; }
declare -a T_PQ T_NM
for i in $(seq "$RUNS"); do
    t0=$(now)
    set +e
    ip netns exec "$C" "${PQ[@]}" -n $SIP -nr -r 1:65535 -q ${PORTQRY_ARGS:-}
    rc=$?
    set -e
    t1=$(now)
    ip netns exec "$C" nmap -sT -p- -n -Pn --max-retries 1 -oG "/tmp/thpb-nmap-$$.txt" -oN "/tmp/thpb-nmapn-$$.txt" $SIP >/dev/null
    t2=$(now)
    T_PQ+=("$(echo "$t1 - $t0" | bc)")
    T_NM+=("$(echo "$t2 - $t1" | bc)")
    printf 'run %d: portqry %6.2f s (exit %d)   nmap -sT %6.2f s\n' "$i" "${T_PQ[-1]}" "$rc" "${T_NM[-1]}"
done

# Correctness check on the last run: the same open ports (portqry exits 1 here: not all
# ports listen, so the pipelines run without -e/pipefail).
set +e +o pipefail
open_nmap=$(grep -o '[0-9]*/open/' "/tmp/thpb-nmap-$$.txt" | cut -d/ -f1 | sort -n | tr '\n' ' ')
# nmap lists the most common state as "Not shown: N closed ..., M filtered ..." when it
# is not shown port by port.
filtered_nmap=$(( $(grep -o '[0-9]*/filtered/' "/tmp/thpb-nmap-$$.txt" | wc -l) + \
    $(grep -o '[0-9]* filtered tcp ports' "/tmp/thpb-nmapn-$$.txt" | awk '{s+=$1} END {print s+0}') ))
rm -f "/tmp/thpb-nmap-$$.txt" "/tmp/thpb-nmapn-$$.txt"
open_pq=$(ip netns exec "$C" "${PQ[@]}" -n $SIP -nr -r 1:65535 --json --no-query ${PORTQRY_ARGS:-} |
    grep '"state":"LISTENING"' | grep -o '"port":[0-9]*' | cut -d: -f2 | sort -n | tr '\n' ' ')
filtered_pq=$(ip netns exec "$C" "${PQ[@]}" -n $SIP -nr -o 1000-1499,20000-20499 --json --no-query ${PORTQRY_ARGS:-} |
    grep -c '"state":"FILTERED"' || true)
echo "open ports: portqry [$open_pq] nmap [$open_nmap]"
echo "filtered:   portqry $filtered_pq of 1000 dropped, nmap reports $filtered_nmap"
set -e -o pipefail

reason_pq=$(ip netns exec "$C" "${PQ[@]}" -n $SIP -nr -o 22,23,1000 --concurrency 1 --json --no-query ${PORTQRY_ARGS:-} |
    grep '"port":1000' | grep -o '"reason":"[^"]*"' || true)
echo "a dropped port: $reason_pq"

med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mp=$(med "${T_PQ[@]}"); mn=$(med "${T_NM[@]}")
printf 'median of %d runs: portqry %.2f s (switches: %s), nmap -sT -p- --max-retries 1 %.2f s, ratio nmap/portqry = %.2f (%s)\n' \
    "$RUNS" "$mp" "${PORTQRY_ARGS:-defaults}" "$mn" "$(echo "$mn / $mp" | bc -l)" \
    "$(if [ "$(echo "$mp <= $mn" | bc)" = 1 ]; then echo "portqry no slower"; else echo "portqry SLOWER"; fi)"
