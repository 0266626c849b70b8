#!/bin/bash
# net-tls-expired: openssl s_server presents a certificate for server.lab.test whose validity
# ended 30 days ago (notBefore -60 d, notAfter -30 d, set with `openssl ca -startdate
# -enddate`). Two connections: (1) a verifying client (-verify_return_error) aborts with the
# fatal alert certificate_expired (45); (2) a client that does not abort completes the
# handshake. SNI matches the certificate. TLS 1.2 so the certificate is visible. Captured at
# the client, full packets.
# Expected diagnosis: tls.certificate_expired (and tls.handshake_failure: the verifying client aborts).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
net_need openssl
net_init net-tls-expired
topo_pair 1
make_ca
make_cert server server.lab.test "$(date -u -d '-60 days' +%Y%m%d%H%M%SZ)" "$(date -u -d '-30 days' +%Y%m%d%H%M%SZ)"
bg srv timeout 15 openssl s_server -quiet -naccept 2 -accept 4433 -tls1_2 \
    -cert "$TMP/server.pem" -key "$TMP/server.key"
listening srv 4433
cap cli c0 0
for v in -verify_return_error ""; do
    nsx cli timeout 5 openssl s_client -connect "$SRV_IP:4433" -tls1_2 -servername server.lab.test \
        -verify_hostname server.lab.test -CAfile "$TMP/ca/ca.pem" $v </dev/null 2>&1 |
        grep -E '^(Verify return code|verify error)|alert' | head -3 || true
    sleep 0.3
done
cap_end
expect tls.certificate_expired,tls.handshake_failure "server certificate expired 30 days before the capture: a verifying client aborts with alert certificate_expired (45); a non-verifying client completes" \
    "${TLS_VALUES[@]}" \
    --count alert_certificate_expired="tls.alert_message.desc==45" \
    --values "capture_time=frame.time_epoch@frame.number==1" \
    --note "certificate notAfter is 30 days before the capture time (frame.time_epoch of frame 1)"
check 'alert_certificate_expired==1' 'tls_certificate==2'
net_done
