#!/usr/bin/env bash
# lab/tls-decrypt/ssl3.sh - real SSL 3.0 sessions for `tracehound decrypt` (issue 9).
#
# The system OpenSSL has no SSL 3.0, so both peers are tlslite-ng (pure Python, `pip install
# tlslite-ng`), lab/tls-decrypt/ssl3_peer.py, in two namespaces (th-h2-<pid>-cli 10.102.0.2,
# th-h2-<pid>-srv 10.102.0.1, a veth pair, no link to the host). The server uses the lab key
# of make.sh (tests/fixtures/decrypt/keys). Makes, in OUT (default tests/fixtures/decrypt):
#   ssl3.pcap     SSL 3.0, RSA key exchange, six connections: AES128-SHA, DES-CBC3-SHA,
#                 RC4-SHA, RC4-MD5, AES256-SHA (an 18000-byte body: records of 16 KiB and
#                 more), then AES256-SHA again resuming the last session by session id.
#                 Each request is written in two records.
#   ssl3.keylog   the client's CLIENT_RANDOM master secrets of those connections (taken from
#                 the tlslite client's session state: tlslite writes no key log itself)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/../../tests/fixtures/decrypt}
OUT=$(cd "$OUT" && pwd)
export TH_PREFIX="th-h2-$$"
. "$HERE/../lib/netns.sh"
netns_init
K=$OUT/keys
[ -f "$K/cert.pem" ] || th_die "run lab/tls-decrypt/make.sh first (it makes the lab key)"
python3 -c 'import tlslite' 2>/dev/null || th_die "pip install tlslite-ng"

CLI=$(ns_create cli)
SRV=$(ns_create srv)
ns_link "$CLI" eth0 10.102.0.2/24 "$SRV" eth0 10.102.0.1/24
S=10.102.0.1

th_bg "$SRV" timeout 120 python3 "$HERE/ssl3_peer.py" server "$S" 443 "$K/cert.pem" "$K/key-pkcs8.pem" 6
SRV_PID=$TH_LAST_PID
wait_port "$SRV" "$S" 443 20
capture_start "$CLI" eth0 "$OUT/ssl3.pcap" tcp port 443
sleep 0.5
th_run timeout 120 ip netns exec "$CLI" python3 "$HERE/ssl3_peer.py" client "$S" 443 "$OUT/ssl3.keylog" \
    aes128:sha:/ssl3-aes128 3des:sha:/ssl3-3des rc4:sha:/ssl3-rc4-sha rc4:md5:/ssl3-rc4-md5 \
    'aes256:sha:/ssl3-aes256?size=18000' resume:/ssl3-resumed
sleep 0.5
capture_stop "$OUT/ssl3.pcap"
th_kill "$SRV_PID" || true
chmod 0644 "$OUT/ssl3.pcap" "$OUT/ssl3.keylog"
th_log "done: $OUT/ssl3.pcap $OUT/ssl3.keylog"
