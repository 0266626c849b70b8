#!/bin/bash
# lab/make-fixtures.sh - regenerate the lab captures in tests/fixtures/lab/.
#
#   sudo lab/make-fixtures.sh            # every scenario of every group
#   sudo lab/make-fixtures.sh rpc        # only lab/rpc/rpc-*.sh
#   sudo lab/make-fixtures.sh net rpc    # several groups
#   sudo lab/make-fixtures.sh rpc-fault  # one scenario by name (any group)
#
# A scenario is any executable lab/<group>/<group>-*.sh (helpers such as
# lab/rpc/_common.sh or lab/net/lib.sh do not match). Scenarios run one after
# another, each bounded by SCENARIO_TIMEOUT seconds (default 300); each writes
# tests/fixtures/lab/<name>.pcap + <name>.expect.json only when it succeeds.
# Exit status: number of failed scenarios (0 = all good).
set -u
LAB=$(cd "$(dirname "$0")" && pwd)
SCENARIO_TIMEOUT=${SCENARIO_TIMEOUT:-300}
[ "$(id -u)" = 0 ] || { echo "must run as root" >&2; exit 1; }

scripts=()
if [ $# -eq 0 ]; then
    for d in "$LAB"/*/; do g=$(basename "$d"); scripts+=("$d$g"-*.sh); done
else
    for a in "$@"; do
        if [ -d "$LAB/$a" ]; then scripts+=("$LAB/$a/$a"-*.sh)
        else
            m=("$LAB"/*/"$a".sh)
            [ -e "${m[0]}" ] || { echo "no group or scenario named $a" >&2; exit 1; }
            scripts+=("${m[@]}")
        fi
    done
fi

fail=0
summary=()
for s in "${scripts[@]}"; do
    [ -x "$s" ] || continue
    name=$(basename "$s" .sh)
    t0=$SECONDS
    echo "=== $name" >&2
    if timeout -k 10 "$SCENARIO_TIMEOUT" "$s"; then r=ok; else r="FAILED ($?)"; fail=$((fail + 1)); fi
    summary+=("$(printf '%-32s %-12s %4d s' "$name" "$r" $((SECONDS - t0)))")
done
printf '%s\n' "--- summary" "${summary[@]}" >&2
exit $fail
