#!/bin/bash
# net-tls-reset-after-hello: a server that reads the ClientHello and closes with SO_LINGER 0
# (lab/net/peers.py rst-server): the client's TLS handshake ends with a TCP RST right after
# its ClientHello, no ServerHello. Typical of a TLS-inspecting middlebox or a server refusing
# the SNI/version. Captured at the client, full packets.
# Expected diagnosis: tls.handshake_failure (reset during the handshake).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
net_need openssl
net_init net-tls-reset-after-hello
topo_pair 1
bg srv "$PY" "$NET_DIR/peers.py" rst-server --port 4433 --life 15
listening srv 4433
cap cli c0 0
nsx cli timeout 5 openssl s_client -connect "$SRV_IP:4433" -servername server.lab.test </dev/null 2>&1 |
    grep -iE 'errno|error' | head -2 || true
cap_end
expect tls.handshake_failure "server resets the TCP connection (RST) right after reading the ClientHello; no ServerHello" \
    --count rst_from_server="tcp.flags.reset==1 && ip.src==$SRV_IP"
check 'tls_client_hello==1' 'rst_from_server==1' 'tls_server_hello==0'
net_done
