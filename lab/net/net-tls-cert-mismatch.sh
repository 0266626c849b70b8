#!/bin/bash
# net-tls-cert-mismatch: openssl s_server presents a certificate for server.lab.test (CN and
# subjectAltName, signed by a throw-away lab CA); openssl s_client asks for other.lab.test
# (SNI) and, not being told to abort on verification errors, completes the handshake: the
# name requested (SNI) and the names in the certificate differ. TLS 1.2 so the certificate is
# visible in the capture (TLS 1.3 encrypts it). Captured at the client, full packets.
# Expected diagnosis: tls.certificate_mismatch.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
net_need openssl
net_init net-tls-cert-mismatch
topo_pair 1
make_ca
make_cert server server.lab.test
bg srv timeout 15 openssl s_server -quiet -naccept 1 -accept 4433 -tls1_2 \
    -cert "$TMP/server.pem" -key "$TMP/server.key"
listening srv 4433
cap cli c0 0
nsx cli timeout 5 openssl s_client -connect "$SRV_IP:4433" -tls1_2 -servername other.lab.test \
    -verify_hostname other.lab.test -CAfile "$TMP/ca/ca.pem" </dev/null 2>&1 |
    grep -E '^(Verify return code|verify error)' | head -3 || true
cap_end
expect tls.certificate_mismatch "SNI other.lab.test, server certificate for server.lab.test (CN and SAN); handshake completes (client does not abort)" \
    "${TLS_VALUES[@]}" \
    --count change_cipher_spec="tls.record.content_type==20" \
    --count app_or_close="tls.record.content_type==23 || tls.alert_message" \
    --note "the 2 TLS alerts are the encrypted close_notify of the orderly close, not errors"
check 'tls_server_hello==1' 'tls_certificate==1' 'change_cipher_spec==2'
net_done
