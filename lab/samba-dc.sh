#!/bin/bash
# lab/samba-dc.sh - run a real Samba RPC server inside a network namespace.
#
# Usage (root):
#   lab/samba-dc.sh start NS ADDR DIR [dc|standalone]
#       Provision into DIR (must be empty or absent) and start Samba inside
#       network namespace NS, listening on ADDR (which must already be
#       configured in NS). Prints the server PID on stdout (last line) and
#       returns once TCP 135 (+389/445 for dc, 445 for standalone) and at least
#       one dynamic RPC port (49152-65535) listen on ADDR (bounded:
#       SAMBA_LAB_START_TIMEOUT, default 90 s; SAMBA_LAB_GLOBAL adds one [global] line). Fails (exit 1) otherwise, after
#       stopping what it started.
#         dc          Samba AD DC (realm LAB.TRACEHOUND.TEST, domain LAB,
#                     host DC1): `samba -i`. Towers carry 0.0.0.0.
#         standalone  smbd + samba-dcerpcd (server role = standalone,
#                     bind interfaces only): towers carry ADDR.
#   lab/samba-dc.sh stop DIR|PID
#       SIGTERM the server's process group and descendants, wait (bounded,
#       SAMBA_LAB_STOP_GRACE=5 s), then SIGKILL what is left.
#   lab/samba-dc.sh adduser DIR NAME
#       (dc mode) create a normal domain user; its generated password is
#       stored only in DIR/users/NAME.pw (mode 0600), never printed.
#   lab/samba-dc.sh info DIR
#       print mode, realm, domain, address, pid (no secrets).
#
# Files in DIR: etc/smb.conf, private/, state/, run/ (bind-mounted on
# /run/samba in the server's private mount namespace, so the host's
# /run/samba is never touched), log/, samba.out (server stdout/stderr),
# admin.pw (Administrator password, 0600), users/*.pw (0600), lab.pid,
# lab.env (mode/addr/ns).
#
# Provisioning takes 5-15 s here: the first dc start builds a template under
# /tmp/tracehound-samba-template-<samba version> and later starts copy it
# (see ensure_template); SAMBA_LAB_NO_CACHE=1 provisions afresh.
#
# Settings that matter for captures: server smb encrypt = off (readable
# DCE/RPC in SMB2; signing stays), disable netbios = yes (no NBNS/browser
# broadcasts), no dnsupdate (no DNS traffic to the host's resolver).

set -u
REALM=LAB.TRACEHOUND.TEST
DOMAIN=LAB
HOST=DC1
START_TIMEOUT=${SAMBA_LAB_START_TIMEOUT:-90}

log() { printf '[samba-dc] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

genpw() {
    # complexity: upper, lower, digit, symbol; 24 random chars
    printf 'Aa1-%s' "$(head -c 18 /dev/urandom | base64 | tr -d '/+=\n')"
}

# listening NS ADDR PORT: a TCP listener on ADDR:PORT or wildcard in NS?
listening() {
    ip netns exec "$1" ss -Hltn "sport = :$3" 2>/dev/null |
        awk -v a="$2" '{ h=$4; sub(/:[0-9]+$/, "", h);
            if (h == a || h == "0.0.0.0" || h == "*" || h == "[::]") f=1 } END { exit !f }'
}
dynamic_listening() {
    ip netns exec "$1" ss -Hltn 2>/dev/null |
        awk -v a="$2" '{ n=split($4, p, ":"); port=p[n]+0; h=$4; sub(/:[0-9]+$/, "", h);
            if (port >= 49152 && (h == a || h == "0.0.0.0" || h == "*" || h == "[::]")) f=1 } END { exit !f }'
}

# alive PID: exists and is not a zombie (orphans are reaped by init late).
alive() {
    local st
    st=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

descendants() {
    local c
    for c in $(pgrep -P "$1" 2>/dev/null); do
        printf '%s\n' "$c"
        descendants "$c"
    done
}

# stop_pid PID: stop the server PID, its process group (setsid made it the
# leader) and every descendant (smbd forked by samba makes its own process
# group). TERM, wait up to SAMBA_LAB_STOP_GRACE s (default 5), then KILL
# what is left (a lab server has no state worth a slow shutdown).
stop_pid() {
    local pid=$1 i kids k
    alive "$pid" || return 0
    kids=$(descendants "$pid")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for k in $kids; do kill -TERM "$k" 2>/dev/null; done
    for ((i = 0; i < ${SAMBA_LAB_STOP_GRACE:-5} * 10; i++)); do
        alive "$pid" || break
        sleep 0.1
    done
    if alive "$pid"; then
        log "pid $pid still alive after ${SAMBA_LAB_STOP_GRACE:-5} s, SIGKILL"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    fi
    # children may outlive the leader briefly
    for ((i = 0; i < 50; i++)); do
        local alive=0
        for k in $kids; do alive "$k" && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for k in $kids; do kill -KILL "$k" 2>/dev/null; done
    pkill -KILL -g "$pid" 2>/dev/null || true  # only our own process group
    return 0
}

# provision_dc NS|"" ADDR DIR: fresh AD DC provision into DIR (inside NS if given).
provision_dc() {
    local ns=$1 addr=$2 dir=$3 pw nsexec=()
    [ -z "$ns" ] || nsexec=(ip netns exec "$ns")
    pw=$(genpw)
    ( umask 077; printf '%s\n' "$pw" >"$dir/admin.pw" )
    if ! timeout 180 "${nsexec[@]}" samba-tool domain provision \
        --server-role=dc --dns-backend=SAMBA_INTERNAL --use-rfc2307 \
        --targetdir="$dir" --realm="$REALM" --domain="$DOMAIN" --host-name="$HOST" \
        --host-ip="$addr" --adminpass="$pw" \
        --option="interfaces=lo" --option="bind interfaces only=yes" \
        >"$dir/provision.log" 2>&1; then
        tail -n 20 "$dir/provision.log" >&2
        die "provision failed (log: $dir/provision.log)"
    fi
    # drop lines pointing outside DIR, add lab settings
    sed -i -e '/^\s*dns forwarder\s*=/d' -e '/^\s*log file\s*=/d' \
        -e '/^\s*panic action\s*=/d' -e '/^\s*logging\s*=/d' "$dir/etc/smb.conf"
    sed -i "/^\[global\]/a\\
\tserver smb encrypt = off\\
\tdisable netbios = yes\\
\tserver services = -dnsupdate -nbt -wrepl\\
\tdns update command = /bin/false\\
\tlog file = $dir/log/log.%m\\
\tpid directory = $dir/run\\
\tncalrpc dir = $dir/run/ncalrpc\\
\twinbindd socket directory = $dir/run/winbindd\\
\tpanic action = /bin/false" "$dir/etc/smb.conf"
}

# set_interfaces DIR ADDR: listen on lo + ADDR only.
set_interfaces() {
    sed -i "s|^\s*interfaces\s*=.*|\tinterfaces = lo $2|" "$1/etc/smb.conf"
}

# Template cache: provisioning costs 5-15 s of CPU on this shared machine, so
# the first run provisions a template under $TEMPLATE (atomically, under a
# lock) and later runs copy it (cp -a keeps the sysvol NT ACL xattrs), rewrite
# the template path in smb.conf (the only file that holds it), set the
# interfaces and give Administrator a NEW random password. The domain SID and
# the host-ip DNS record (10.77.0.2) are shared by all copies.
# SAMBA_LAB_NO_CACHE=1 provisions afresh every time.
TEMPLATE=/tmp/tracehound-samba-template-$(samba --version 2>/dev/null | awk '{print $2}')

ensure_template() {
    [ -f "$TEMPLATE/.complete" ] && return 0
    exec 9>"$TEMPLATE.lock"
    flock -w 300 9 || die "template lock timeout"
    if [ ! -f "$TEMPLATE/.complete" ]; then
        local tmp
        tmp=$(mktemp -d "$TEMPLATE.new.XXXXXX")
        chmod 0700 "$tmp"
        mkdir -p "$tmp/run" "$tmp/log" "$tmp/users"
        log "building template $TEMPLATE (once)"
        provision_dc "" 10.77.0.2 "$tmp"
        rm -f "$tmp/admin.pw"
        printf '%s\n' "$tmp" >"$tmp/.template-path"
        touch "$tmp/.complete"
        rm -rf "$TEMPLATE"
        mv "$tmp" "$TEMPLATE"
    fi
    exec 9>&-
}

copy_template() {
    local dir=$1 addr=$2 orig pw
    cp -a "$TEMPLATE/." "$dir/"
    orig=$(cat "$dir/.template-path")
    rm -f "$dir/.complete" "$dir/.template-path"
    sed -i "s|$orig|$dir|g" "$dir/etc/smb.conf"
    set_interfaces "$dir" "$addr"
    pw=$(genpw)
    ( umask 077; printf '%s\n' "$pw" >"$dir/admin.pw" )
    timeout 60 samba-tool user setpassword Administrator --newpassword="$pw" \
        -H "$dir/private/sam.ldb" -s "$dir/etc/smb.conf" >"$dir/log/setpassword.log" 2>&1 ||
        { tail -n 5 "$dir/log/setpassword.log" >&2; die "admin password reset failed"; }
}

provision_standalone() {
    local ns=$1 addr=$2 dir=$3
    mkdir -p "$dir/etc" "$dir/private" "$dir/state" "$dir/cache" "$dir/share"
    cat >"$dir/etc/smb.conf" <<CONF
[global]
	server role = standalone server
	workgroup = $DOMAIN
	netbios name = SRV1
	interfaces = lo $addr
	bind interfaces only = yes
	disable netbios = yes
	smb ports = 445
	server smb encrypt = off
	rpc start on demand helpers = false
	map to guest = Bad User
	lock directory = $dir
	state directory = $dir/state
	cache directory = $dir/cache
	private dir = $dir/private
	pid directory = $dir/run
	ncalrpc dir = $dir/run/ncalrpc
	log file = $dir/log/log.%m
	panic action = /bin/false
	load printers = no
	printing = bsd
	printcap name = /dev/null
	disable spoolss = yes

[share]
	path = $dir/share
	read only = yes
	guest ok = yes
CONF
}

# run_in_ns NS DIR CMD...: start CMD (exec'd, same PID) in NS inside a private
# mount namespace with DIR/run on /run/samba; in the background, new session.
run_in_ns() {
    local ns=$1 dir=$2 out=$3; shift 3
    setsid ip netns exec "$ns" unshare -m --propagation private \
        sh -c 'set -e; d=$1; shift
               if [ -d /run/samba ]; then mount --bind "$d/run" /run/samba
               else mount -t tmpfs lab-run /run && mkdir -p /run/samba && mount --bind "$d/run" /run/samba; fi
               exec "$@"' sh "$dir" "$@" >>"$out" 2>&1 </dev/null &
    echo $!
}

cmd_start() {
    [ $# -ge 3 ] || die "usage: start NS ADDR DIR [dc|standalone]"
    local ns=$1 addr=$2 dir=$3 mode=${4:-dc} pid pid2= end ports
    [ "$(id -u)" = 0 ] || die "must be root"
    ip netns list | awk '{print $1}' | grep -qx "$ns" || die "no namespace $ns"
    ip -n "$ns" -4 addr show | grep -q "inet $addr/" || die "$addr not configured in $ns"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
    chmod 0700 "$dir"
    mkdir -p "$dir/run" "$dir/log" "$dir/users"
    local t0=$SECONDS
    case $mode in
    dc)
        if [ -n "${SAMBA_LAB_NO_CACHE:-}" ]; then
            provision_dc "$ns" "$addr" "$dir"
        else
            ensure_template
            copy_template "$dir" "$addr"
        fi
        set_interfaces "$dir" "$addr"
        ports="135 389 445" ;;
    standalone) provision_standalone "$ns" "$addr" "$dir"; ports="135 445" ;;
    *) die "unknown mode $mode" ;;
    esac
    # One more [global] setting for a scenario, e.g. SAMBA_LAB_GLOBAL="server min protocol = NT1"
    if [ -n "${SAMBA_LAB_GLOBAL:-}" ]; then
        sed -i "/^\[global\]/a\\\t${SAMBA_LAB_GLOBAL}" "$dir/etc/smb.conf"
    fi
    printf 'MODE=%s\nNS=%s\nADDR=%s\n' "$mode" "$ns" "$addr" >"$dir/lab.env"
    log "provisioned $mode in $((SECONDS - t0)) s"
    case $mode in
    dc) pid=$(run_in_ns "$ns" "$dir" "$dir/samba.out" samba -i -s "$dir/etc/smb.conf") ;;
    standalone)
        pid=$(run_in_ns "$ns" "$dir" "$dir/samba.out" /usr/libexec/samba/samba-dcerpcd \
            --libexec-rpcds -F --debug-stdout -s "$dir/etc/smb.conf")
        pid2=$(run_in_ns "$ns" "$dir" "$dir/smbd.out" smbd -F --debug-stdout --no-process-group -s "$dir/etc/smb.conf")
        ;;
    esac
    printf '%s\n' "$pid" >"$dir/lab.pid"
    [ -z "$pid2" ] || printf '%s\n' "$pid2" >>"$dir/lab.pid"
    end=$((SECONDS + START_TIMEOUT))
    local ok p
    while :; do
        for p in $pid $pid2; do
            kill -0 "$p" 2>/dev/null || { tail -n 30 "$dir/samba.out" >&2; cmd_stop "$dir"; die "server exited during start"; }
        done
        ok=1
        for p in $ports; do listening "$ns" "$addr" "$p" || ok=0; done
        dynamic_listening "$ns" "$addr" || ok=0
        [ $ok = 1 ] && break
        if ((SECONDS >= end)); then
            tail -n 30 "$dir/samba.out" >&2
            cmd_stop "$dir"
            die "not listening on $ports + dynamic after ${START_TIMEOUT}s"
        fi
        sleep 0.5
    done
    log "$mode up on $addr in $((SECONDS - t0)) s (pid $pid)"
    printf '%s\n' "$pid"
}

cmd_stop() {
    [ $# -ge 1 ] || die "usage: stop DIR|PID"
    local p
    if [ -d "$1" ]; then
        [ -f "$1/lab.pid" ] || return 0
        for p in $(cat "$1/lab.pid"); do stop_pid "$p"; done
        rm -f "$1/lab.pid"
    else
        stop_pid "$1"
    fi
}

cmd_adduser() {
    [ $# -ge 2 ] || die "usage: adduser DIR NAME"
    local dir=$1 name=$2 pw
    grep -q '^MODE=dc' "$dir/lab.env" 2>/dev/null || die "adduser needs a dc DIR"
    pw=$(genpw)
    ( umask 077; printf '%s\n' "$pw" >"$dir/users/$name.pw" )
    timeout 60 samba-tool user create "$name" "$pw" -H "$dir/private/sam.ldb" \
        -s "$dir/etc/smb.conf" >"$dir/log/adduser-$name.log" 2>&1 ||
        { tail -n 5 "$dir/log/adduser-$name.log" >&2; die "user create $name failed"; }
    log "user $name created (password in $dir/users/$name.pw)"
}

cmd_info() {
    local dir=$1
    cat "$dir/lab.env"
    printf 'REALM=%s\nDOMAIN=%s\nPID=%s\n' "$REALM" "$DOMAIN" "$(head -n1 "$dir/lab.pid" 2>/dev/null)"
}

case ${1:-} in
start) shift; cmd_start "$@" ;;
stop) shift; cmd_stop "$@" ;;
adduser) shift; cmd_adduser "$@" ;;
info) shift; cmd_info "$@" ;;
*) sed -n '2,30p' "$0" >&2; exit 2 ;;
esac
