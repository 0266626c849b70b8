#!/bin/bash
# tls-client-rejects-name: a TLS 1.2 client that checks the certificate only after the
# handshake (reject_client.py, like Java's HostnameVerifier or a WinHTTP callback) asks for
# www.lab.test (SNI); openssl s_server presents a certificate for server.lab.test signed by
# the lab CA. The handshake completes (both Finished), then the client sends an alert record
# (encrypted close_notify: content type 21 visible) and closes with FIN, without a byte of
# application data. Captured at the client, full packets.
# Expected diagnosis: tls.certificate_mismatch as a problem (the client refused the server).
# Addresses 10.88.3.0/24, namespaces th-h3-<pid>-*.
set -euo pipefail
export TH_PREFIX=th-h3-$$
. "$(dirname "$0")/../net/lib.sh"
net_need openssl
net_init tls-client-rejects-name
ns_create cli >/dev/null; ns_create srv >/dev/null
ns_link "$(ns cli)" c0 10.88.3.1/24 "$(ns srv)" s0 10.88.3.2/24
CLI_IP=10.88.3.1; SRV_IP=10.88.3.2
offload_off cli c0; offload_off srv s0
make_ca
make_cert server server.lab.test
# stdin kept open (sleep |): s_server closes the connection itself when its stdin ends
bg srv timeout 15 bash -c 'sleep 12 | exec openssl s_server "$@"' s_server -quiet -naccept 1 -accept 4433 -tls1_2 \
    -cert "$TMP/server.pem" -key "$TMP/server.key"
listening srv 4433
cap cli c0 0
nsx cli "$PY" "$(dirname "$0")/reject_client.py" --host "$SRV_IP" --port 4433 --tls 1.2 \
    --sni www.lab.test --cafile "$TMP/ca/ca.pem" || true
cap_end
expect tls.certificate_mismatch "TLS 1.2: SNI www.lab.test, certificate for server.lab.test; handshake completes, then the client sends an encrypted alert and closes (FIN) without application data" \
    "${TLS_VALUES[@]}" \
    --count change_cipher_spec="tls.record.content_type==20" \
    --count alert_records="tls.record.content_type==21" \
    --count app_data_records="tls.record.content_type==23"
check 'tls_server_hello==1' 'tls_certificate==1' 'change_cipher_spec==2' 'alert_records>=1' 'app_data_records==0' 'tcp_rst==0'
net_done
