# shellcheck shell=bash
# lab/lib/netns.sh - sourceable helpers for tracehound lab scenarios.
#
# Everything lives in network namespaces created here, named "th-<PID>-<name>"
# (unique per run), addressed inside 10.77.0.0/16, never linked to the host.
# Every wait is bounded; cleanup (trap on EXIT INT TERM) kills only the PIDs
# this run started (and processes left inside its own namespaces) and deletes
# its namespaces.
#
# Usage (from a bash script, run as root):
#
#   . "$(dirname "$0")/../lib/netns.sh"
#   netns_init                           # traps, prefix TH_PREFIX=th-$$
#   CLI=$(ns_create cli)                 # -> th-1234-cli (lo up)
#   SRV=$(ns_create srv)
#   ns_link "$CLI" eth0 10.77.1.1/24 "$SRV" eth0 10.77.1.2/24
#   RTR=$(ns_create rtr); ns_router "$RTR"   # ip_forward=1 in RTR
#   ns_route "$CLI" 10.77.2.0/24 10.77.1.254  # or: ns_route NS default GW
#   ns_exec "$CLI" ip -br addr           # run a command in a namespace
#   th_bg "$SRV" some-daemon --foo        # background, PID tracked -> $TH_LAST_PID
#   th_run CMD...                         # foreground, but INT/TERM interrupt it (use for clients)
#   th_track PID                          # track a PID started otherwise
#   wait_port "$SRV" 10.77.1.2 135 30     # listener present (ss, no packets sent)
#   wait_connect "$CLI" 10.77.1.2 135 30  # TCP connect succeeds (sends packets)
#   capture_start "$CLI" eth0 out.pcap [tcpdump filter...]   # env: TH_SNAPLEN (default 0 = full); tcpdump -Z root
#   ... run clients ...
#   capture_stop out.pcap                 # or: capture_stop (all captures)
#   # cleanup runs automatically on exit; or call netns_cleanup yourself.
#
# capture_stop fails (returns 1) when tcpdump reports packets "dropped by
# kernel" other than 0, or when tcpdump does not exit within TH_CAP_STOP_TIMEOUT.
# Log lines go to stderr with prefix "[lab]".

TH_PREFIX=${TH_PREFIX:-th-$$}
TH_NAMESPACES=()
TH_PIDS=()
TH_CLEANUP_HOOKS=()
declare -gA TH_CAP_PID=()
declare -gA TH_CAP_ERR=()
TH_CAP_STOP_TIMEOUT=${TH_CAP_STOP_TIMEOUT:-15}
TH_LAST_PID=
TH_TMP=

th_log() { printf '[lab] %s\n' "$*" >&2; }
th_die() { th_log "ERROR: $*"; exit 1; }

# netns_init: install the cleanup trap, check we are root, make a temp dir.
netns_init() {
    [ "$(id -u)" = 0 ] || th_die "must run as root"
    TH_TMP=$(mktemp -d /tmp/tracehound-lab.XXXXXX)
    trap 'netns_cleanup' EXIT
    trap 'th_log "interrupted"; exit 130' INT
    trap 'th_log "terminated"; exit 143' TERM
}

# th_on_cleanup CMD...: run CMD (as a string, eval'd) at cleanup, before namespaces go.
th_on_cleanup() { TH_CLEANUP_HOOKS+=("$*"); }

# ns_create NAME: create namespace "$TH_PREFIX-NAME" with lo up; prints its name.
ns_create() {
    local ns="$TH_PREFIX-$1"
    ip netns add "$ns" || th_die "ip netns add $ns"
    TH_NAMESPACES+=("$ns")
    if [ -n "$TH_TMP" ]; then printf '%s\n' "$ns" >>"$TH_TMP/namespaces"; fi
    ip -n "$ns" link set lo up
    # No IPv6 autoconf/DAD noise in captures.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 || true
    printf '%s\n' "$ns"
}
# ($(ns_create x) runs in a subshell: the name is also recorded in
# $TH_TMP/namespaces, which netns_cleanup reads.)

# ns_exec NS CMD...: run CMD inside NS.
ns_exec() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# ns_link NS1 IF1 ADDR1/LEN NS2 IF2 ADDR2/LEN: veth pair directly between two
# namespaces (never appears in the host namespace), addresses set, links up.
# ADDR may be "-" for no address.
ns_link() {
    local n1=$1 i1=$2 a1=$3 n2=$4 i2=$5 a2=$6
    ip link add name "$i1" netns "$n1" type veth peer name "$i2" netns "$n2" \
        || th_die "veth $n1:$i1 <-> $n2:$i2"
    [ "$a1" = - ] || ip -n "$n1" addr add "$a1" dev "$i1"
    [ "$a2" = - ] || ip -n "$n2" addr add "$a2" dev "$i2"
    ip -n "$n1" link set "$i1" up
    ip -n "$n2" link set "$i2" up
}

# ns_addr NS IF ADDR/LEN: add another address.
ns_addr() { ip -n "$1" addr add "$3" dev "$2"; }

# ns_route NS DEST GW: add a route (DEST may be "default").
ns_route() { ip -n "$1" route add "$2" via "$3"; }

# ns_router NS: enable IPv4 forwarding in NS.
ns_router() { ip netns exec "$1" sysctl -qw net.ipv4.ip_forward=1; }

# th_track PID: remember a PID to kill at cleanup. Its start time is recorded
# too, so a PID that exited and was reused by someone else is never killed.
th_track() {
    local st
    st=$(_th_starttime "$1")
    TH_PIDS+=("$1:$st")
    if [ -n "$TH_TMP" ]; then printf '%s\n' "$1:$st" >>"$TH_TMP/pids"; fi
}
_th_starttime() { awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# _th_kill_tracked PID:STARTTIME: th_kill only if it is still the same process.
_th_kill_tracked() {
    local pid=${1%%:*} st=${1#*:}
    [ -n "$pid" ] || return 0
    [ "$(_th_starttime "$pid")" = "$st" ] || return 0
    th_kill "$pid" "${2:-5}"
}

# th_bg NS CMD...: start CMD in NS in the background (stdout/stderr to
# $TH_TMP/bg-<n>.log); sets TH_LAST_PID (do not call in $(...)).
th_bg() {
    local ns=$1; shift
    local log="$TH_TMP/bg-${#TH_PIDS[@]}.log"
    ip netns exec "$ns" "$@" >"$log" 2>&1 &
    TH_LAST_PID=$!
    th_track "$TH_LAST_PID"
}

# th_alive PID: process exists and is not a zombie.
th_alive() {
    local st
    st=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

# th_run CMD...: run CMD in the foreground but interruptibly: it runs as a
# tracked background job and the script waits for it with `wait`, so SIGINT /
# SIGTERM to the script act at once (bash defers traps while a foreground
# child runs) and cleanup kills CMD. Returns CMD's exit status. stdin is
# /dev/null.
th_run() {
    local pid rc=0
    "$@" </dev/null &
    pid=$!
    th_track "$pid"
    wait "$pid" || rc=$?
    return $rc
}

# th_kill PID [TIMEOUT]: SIGTERM, wait up to TIMEOUT s (default 10), then SIGKILL.
th_kill() {
    local pid=$1 t=${2:-10} i
    th_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < t * 10; i++)); do
        th_alive "$pid" || return 0
        sleep 0.1
    done
    th_log "pid $pid ignored SIGTERM for ${t}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
    return 0
}

# wait_port NS ADDR PORT TIMEOUT: wait until a TCP listener on ADDR:PORT (or a
# wildcard address) exists in NS. Uses `ss`, sends no packets (safe before or
# during a capture). Returns 1 on timeout.
wait_port() {
    local ns=$1 addr=$2 port=$3 t=${4:-30} end
    end=$((SECONDS + t))
    while ((SECONDS < end)); do
        if ip netns exec "$ns" ss -Hltn "sport = :$port" 2>/dev/null |
            awk -v a="$addr" '{ split($4, p, ":"); h=$4; sub(/:[0-9]+$/, "", h);
                 if (h == a || h == "0.0.0.0" || h == "*" || h == "[::]" || h == "[::ffff:" a "]") f=1 } END { exit !f }'; then
            return 0
        fi
        sleep 0.3
    done
    th_log "timeout (${t}s) waiting for listener $addr:$port in $ns"
    return 1
}

# wait_connect NS ADDR PORT TIMEOUT: wait until a TCP connect from NS to
# ADDR:PORT succeeds (sends packets; do it before capturing). Returns 1 on timeout.
wait_connect() {
    local ns=$1 addr=$2 port=$3 t=${4:-30} end
    end=$((SECONDS + t))
    while ((SECONDS < end)); do
        if ip netns exec "$ns" timeout 2 bash -c "exec 3<>/dev/tcp/$addr/$port" 2>/dev/null; then
            return 0
        fi
        sleep 0.5
    done
    th_log "timeout (${t}s) connecting to $addr:$port from $ns"
    return 1
}

# capture_start NS IFACE FILE [FILTER...]: start tcpdump in NS on IFACE writing
# FILE (pcap). Env TH_SNAPLEN (default 0 = full packets). Waits (bounded, 10 s)
# until tcpdump is listening. Several captures may run at once (keyed by FILE).
capture_start() {
    local ns=$1 ifc=$2 file=$3; shift 3
    local err="$TH_TMP/tcpdump-$(basename "$file").err" i pid
    rm -f "$file"
    ip netns exec "$ns" tcpdump -i "$ifc" --immediate-mode -B 16384 -U -Z root \
        -s "${TH_SNAPLEN:-0}" -n -w "$file" "$@" 2>"$err" &
    pid=$!
    th_track "$pid"
    TH_CAP_PID[$file]=$pid
    TH_CAP_ERR[$file]=$err
    for ((i = 0; i < 100; i++)); do
        grep -q 'listening on' "$err" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || { cat "$err" >&2; th_die "tcpdump failed to start on $ns:$ifc"; }
        sleep 0.1
    done
    th_die "tcpdump did not start within 10s on $ns:$ifc"
}

# capture_stop [FILE]: stop one capture (or all) with SIGINT, wait bounded,
# verify "0 packets dropped by kernel". Returns 1 on drops or timeout.
capture_stop() {
    local files=("$@") f pid err i rc=0 dropped
    [ ${#files[@]} -gt 0 ] || files=("${!TH_CAP_PID[@]}")
    for f in "${files[@]}"; do
        pid=${TH_CAP_PID[$f]:-}
        err=${TH_CAP_ERR[$f]:-}
        [ -n "$pid" ] || { th_log "no capture running for $f"; rc=1; continue; }
        sleep 0.3  # let the last packets reach the ring
        kill -INT "$pid" 2>/dev/null || true
        for ((i = 0; i < TH_CAP_STOP_TIMEOUT * 10; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            th_log "tcpdump ($f) did not stop within ${TH_CAP_STOP_TIMEOUT}s; killing"
            kill -KILL "$pid" 2>/dev/null || true
            rc=1
        fi
        wait "$pid" 2>/dev/null || true
        unset "TH_CAP_PID[$f]"
        dropped=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel.*/\1/p' "$err")
        if [ -z "$dropped" ]; then
            th_log "tcpdump ($f): no 'dropped by kernel' line"; cat "$err" >&2; rc=1
        elif [ "$dropped" != 0 ]; then
            th_log "tcpdump ($f): $dropped packets dropped by kernel"; rc=1
        else
            th_log "capture $f: $(sed -n 's/^\([0-9]*\) packets\{0,1\} captured.*/\1/p' "$err") packets, 0 dropped"
        fi
    done
    return $rc
}

# netns_cleanup: run hooks, stop captures, kill tracked PIDs, kill whatever is
# still running inside our own namespaces, delete the namespaces and temp dir.
netns_cleanup() {
    local rc=$? h pid ns f
    set +e  # cleanup must run to the end
    trap - EXIT INT TERM
    for h in "${TH_CLEANUP_HOOKS[@]}"; do eval "$h" || true; done
    for f in "${!TH_CAP_PID[@]}"; do kill -INT "${TH_CAP_PID[$f]}" 2>/dev/null || true; done
    local pids=("${TH_PIDS[@]}")
    if [ -n "$TH_TMP" ] && [ -f "$TH_TMP/pids" ]; then mapfile -t -O "${#pids[@]}" pids <"$TH_TMP/pids"; fi
    for pid in "${pids[@]}"; do _th_kill_tracked "$pid" 5; done
    local nss=("${TH_NAMESPACES[@]}")
    if [ -n "$TH_TMP" ] && [ -f "$TH_TMP/namespaces" ]; then mapfile -t -O "${#nss[@]}" nss <"$TH_TMP/namespaces"; fi
    for ns in $(printf '%s\n' "${nss[@]}" | sort -u); do
        [ -n "$ns" ] || continue
        ip netns list | awk '{print $1}' | grep -qx "$ns" || continue
        # processes left inside OUR namespace (started by this run)
        for pid in $(ip netns pids "$ns" 2>/dev/null); do th_kill "$pid" 3; done
        ip netns del "$ns" 2>/dev/null || th_log "could not delete $ns"
    done
    if [ -n "$TH_TMP" ]; then rm -rf "$TH_TMP"; fi
    return $rc
}
