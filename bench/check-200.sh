#!/bin/sh
# Benchmark `tracehound check` over 200 targets from a file in network namespaces
# (th-h10-bc client, th-h10-bs server, 10.92.20.0/24): 100 HTTPS (valid chain via --ca),
# 60 plain HTTP, 40 to a port whose SYNs are dropped (each costs one --timeout).
# Prints the wall time, the max RSS and the verdict counts. Usage:
#   bench/check-200.sh [BIN] [PARALLEL] [TIMEOUT]   (default target/debug/tracehound 32 1)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/target/debug/tracehound}
par=${2:-32}
tmo=${3:-1}
c=th-h10-bc; s=th-h10-bs
dir=$(mktemp -d /tmp/th-h10-bench.XXXXXX)
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  ip netns del $c 2>/dev/null || true
  ip netns del $s 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM
ip netns add $c; ip netns add $s
ip link add h10bc netns $c type veth peer name h10bs netns $s
ip -n $c addr add 10.92.20.1/24 dev h10bc; ip -n $s addr add 10.92.20.2/24 dev h10bs
for n in $c $s; do ip -n $n link set lo up; done
ip -n $c link set h10bc up; ip -n $s link set h10bs up
sh "$root/lab/check/certs.sh" "$dir/pki" >/dev/null
ip netns exec $s python3 "$root/lab/check/servers.py" web 8446 "$dir/pki/good-chain.pem" "$dir/pki/leaf.key" 2>/dev/null & pids="$pids $!"
ip netns exec $s python3 "$root/lab/check/servers.py" web 8080 2>/dev/null & pids="$pids $!"
ip netns exec $s nft add table inet th_h10
ip netns exec $s nft add chain inet th_h10 input '{ type filter hook input priority 0; }'
ip netns exec $s nft add rule inet th_h10 input tcp dport 4444 drop
for i in $(seq 1 50); do
  ip netns exec $s ss -Hltn 'sport = :8446' | grep -q . && ip netns exec $s ss -Hltn 'sport = :8080' | grep -q . && break
  sleep 0.1
done
{
  echo "# 200 targets"
  for i in $(seq 1 100); do echo "https://good.lab:8446/?n=$i"; done
  for i in $(seq 1 60); do echo "http://10.92.20.2:8080/?n=$i"; done
  for i in $(seq 1 40); do echo "10.92.20.2:4444"; done
} > "$dir/targets.txt"
start=$(date +%s.%N)
ip netns exec $c /usr/bin/time -f "%M" -o "$dir/rss" "$bin" check "@$dir/targets.txt" --json \
  --parallel "$par" --timeout "$tmo" --resolve good.lab:10.92.20.2 --ca "$dir/pki/root.pem" \
  > "$dir/out.json" || true
end=$(date +%s.%N)
echo "targets: $(wc -l < "$dir/out.json") records, parallel $par, timeout ${tmo}s"
echo "wall: $(echo "$end - $start" | bc) s, max RSS: $(tail -1 "$dir/rss") KiB"
echo "verdicts:"; grep -o '"verdict":"[a-z]*"' "$dir/out.json" | sort | uniq -c
