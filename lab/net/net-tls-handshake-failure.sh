#!/bin/bash
# net-tls-handshake-failure: openssl s_server accepts TLS 1.2 only with a single cipher suite
# (AES128-GCM-SHA256, RSA key exchange); openssl s_client offers TLS 1.2 with only
# ECDHE-ECDSA-AES256-GCM-SHA384. No suite in common: the server answers the ClientHello with a
# fatal alert handshake_failure (40). Captured at the client, full packets.
# Expected diagnosis: tls.handshake_failure.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
net_need openssl
net_init net-tls-handshake-failure
topo_pair 1
make_ca
make_cert server server.lab.test
bg srv timeout 15 openssl s_server -quiet -naccept 1 -accept 4433 -tls1_2 -cipher AES128-GCM-SHA256 \
    -cert "$TMP/server.pem" -key "$TMP/server.key"
listening srv 4433
cap cli c0 0
nsx cli timeout 5 openssl s_client -connect "$SRV_IP:4433" -tls1_2 -cipher ECDHE-ECDSA-AES256-GCM-SHA384 \
    -servername server.lab.test </dev/null 2>&1 | grep -iE 'alert|error' | head -3 || true
cap_end
expect tls.handshake_failure "TLS 1.2 client and server with no cipher suite in common: ClientHello answered by fatal alert handshake_failure (40) from the server" \
    --count alert_handshake_failure="tls.alert_message.desc==40" \
    --count alert_from_server="tls.alert_message && ip.src==$SRV_IP" \
    --values "client_cipher_suites=tls.handshake.ciphersuite@tls.handshake.type==1"
check 'alert_handshake_failure==1' 'tls_server_hello==0'
net_done
