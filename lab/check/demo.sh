#!/bin/sh
# `tracehound check` demo against the lab servers (namespaces th-h10-dc / th-h10-ds,
# 10.92.30.0/24): prints the table and one JSON record; the output in
# docs/readme-check.md comes from this script. Usage: lab/check/demo.sh [BIN]
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$root/target/debug/tracehound}
c=th-h10-dc; s=th-h10-ds; ip=10.92.30.2
dir=$(mktemp -d /tmp/th-h10-demo.XXXXXX)
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  ip netns del $c 2>/dev/null || true
  ip netns del $s 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM
ip netns add $c; ip netns add $s
ip link add h10dc netns $c type veth peer name h10ds netns $s
ip -n $c addr add 10.92.30.1/24 dev h10dc; ip -n $s addr add $ip/24 dev h10ds
for n in $c $s; do ip -n $n link set lo up; done
ip -n $c link set h10dc up; ip -n $s link set h10ds up
sh "$root/lab/check/certs.sh" "$dir/pki" >/dev/null
k=$dir/pki
srv() { ip netns exec $s "$@" >/dev/null 2>&1 & pids="$pids $!"; }
srv openssl s_server -quiet -accept 8441 -cert $k/good.pem -key $k/leaf.key -cert_chain $k/int.pem
srv openssl s_server -quiet -accept 8442 -cert $k/expired.pem -key $k/leaf.key -cert_chain $k/int.pem
srv openssl s_server -quiet -accept 8443 -cert $k/wrongname.pem -key $k/leaf.key -cert_chain $k/int.pem
srv openssl s_server -quiet -accept 8444 -cert $k/good.pem -key $k/leaf.key
srv openssl s_server -quiet -accept 8445 -cert $k/self.pem -key $k/leaf.key
srv openssl s_server -quiet -accept 8451 -cert $k/rsa1024.pem -key $k/rsa1024.key -cert_chain $k/int.pem -tls1 -cipher DEFAULT@SECLEVEL=0
srv python3 "$root/lab/check/servers.py" web 8446 $k/good-chain.pem $k/leaf.key
srv python3 "$root/lab/check/servers.py" hostile 8447 endless
srv python3 "$root/lab/check/servers.py" dns 53 $ip
ip netns exec $s nft add table inet th_h10
ip netns exec $s nft add chain inet th_h10 input '{ type filter hook input priority 0; }'
ip netns exec $s nft add rule inet th_h10 input tcp dport 4444 drop
for port in 8441 8442 8443 8444 8445 8446 8447 8451; do
  for i in $(seq 1 50); do ip netns exec $s ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.1; done
done
cat > "$dir/targets.txt" <<T
# lab targets
ldaps://good.lab:8441
ldaps://good.lab:8442
ldaps://good.lab:8443
ldaps://good.lab:8444
ldaps://good.lab:8445
ldaps://good.lab:8451
https://www.lab:8446/
https://good.lab:8446/loop
https://good.lab:8446/auth
http://good.lab:8447/
good.lab:4444
good.lab:4445
nx.lab:443
T
run() { ip netns exec $c "$bin" check "$@" || true; }
echo "\$ tracehound check @targets.txt --dns $ip --ca root.pem --timeout 2"
run "@$dir/targets.txt" --dns $ip --ca $k/root.pem --timeout 2
echo
echo "\$ tracehound check --json https://good.lab:8446/auth --dns $ip --ca root.pem"
run --json https://good.lab:8446/auth --dns $ip --ca $k/root.pem
echo
echo "\$ tracehound check --tls-versions --json ldaps://good.lab:8451 --dns $ip --ca root.pem"
run --tls-versions --json ldaps://good.lab:8451 --dns $ip --ca $k/root.pem
echo
echo "\$ tracehound check --json ldaps://good.lab:8444 --resolve good.lab:$ip --ca root.pem"
run --json ldaps://good.lab:8444 --resolve good.lab:$ip --ca $k/root.pem
