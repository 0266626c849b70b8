#!/bin/bash
# Makes two-named-interfaces.pcapng: real TCP traffic captured by dumpcap on two veth
# interfaces at once (one pcapng, one section, two IDBs whose if_name dumpcap writes:
# "th3va0" and "th3va1"). Everything runs inside network namespaces th-h3-a / th-h3-b
# (10.133.x.x, no link to the host network); they are removed on exit, also on failure.
set -euo pipefail
out="$(cd "$(dirname "$0")" && pwd)/two-named-interfaces.pcapng"
A=th-h3-a; B=th-h3-b
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  ip netns del "$A" 2>/dev/null || true
  ip netns del "$B" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$A"; ip netns add "$B"
for i in 0 1; do
  ip link add "th3va$i" type veth peer name "th3vb$i"
  ip link set "th3va$i" netns "$A"; ip link set "th3vb$i" netns "$B"
  ip -n "$A" addr add "10.133.$((i+1)).1/24" dev "th3va$i"
  ip -n "$B" addr add "10.133.$((i+1)).2/24" dev "th3vb$i"
  ip -n "$A" link set "th3va$i" up; ip -n "$B" link set "th3vb$i" up
done
ip -n "$A" link set lo up; ip -n "$B" link set lo up
tmpd=$(mktemp -d)
echo "hello from the lab" > "$tmpd/index.html"
ip netns exec "$B" python3 -m http.server 8080 --bind 0.0.0.0 --directory "$tmpd" >/dev/null 2>&1 &
pids+=($!)
ip netns exec "$A" dumpcap -q -i th3va0 -i th3va1 -w "$out.tmp" -a duration:6 >/dev/null 2>&1 &
cap=$!
sleep 2
for n in 1 2 3; do
  ip netns exec "$A" curl -s -m 2 -o /dev/null "http://10.133.1.2:8080/" || true
  ip netns exec "$A" curl -s -m 2 -o /dev/null "http://10.133.2.2:8080/" || true
  ip netns exec "$A" curl -s -m 2 -o /dev/null "http://10.133.2.2:8080/" || true
done
wait "$cap" || true
mv "$out.tmp" "$out"
rm -rf "$tmpd"
echo "wrote $out"
