#!/bin/bash
# net-healthy: a healthy traffic mix for negative tests, captured at the client with full
# packets: DNS queries answered NOERROR; 5 HTTP/1.1 requests on one keep-alive connection
# answered at once; a 60 kB bulk transfer with no loss; a TLS 1.3 and a TLS 1.2 session
# (openssl s_server/s_client) with a valid certificate (lab CA) whose name matches the SNI,
# verified by the client; every connection closed with FINs.
# Expected diagnosis: none.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
net_need openssl dig
net_init net-healthy
topo_pair 1
make_ca
make_cert server server.lab.test
bg srv "$PY" "$NET_DIR/peers.py" dns-server --port 53 --life 30
bg srv "$PY" "$NET_DIR/peers.py" http-server --port 8080 --life 30
bg srv "$PY" "$NET_DIR/peers.py" bulk-server --port 7080 --bytes 60000 --life 30
bg srv timeout 25 openssl s_server -quiet -naccept 2 -accept 4433 -cert "$TMP/server.pem" -key "$TMP/server.key"
listening_udp srv 53; listening srv 8080; listening srv 7080; listening srv 4433
cap cli c0 0
for name in ok www server; do
    nsx cli dig +tries=2 +time=1 +short @"$SRV_IP" "$name.lab.test" A
done
nsx cli "$PY" "$NET_DIR/peers.py" http-client --host "$SRV_IP" --port 8080 --count 5 --timeout 5 | tail -1
nsx cli "$PY" "$NET_DIR/peers.py" recv-client --host "$SRV_IP" --port 7080 --timeout 10
for v in -tls1_3 -tls1_2; do
    nsx cli timeout 5 openssl s_client -connect "$SRV_IP:4433" $v -servername server.lab.test \
        -verify_hostname server.lab.test -CAfile "$TMP/ca/ca.pem" -verify_return_error </dev/null 2>&1 |
        grep -E '^(Verify return code|New, )' || true
    sleep 0.3
done
cap_end
expect none "healthy mix: DNS NOERROR, HTTP keep-alive with fast answers, 60 kB bulk without loss, TLS 1.3 and TLS 1.2 with a valid certificate matching SNI, FIN closes" \
    "${TLS_VALUES[@]}" \
    --stats http_response_time=http.time@http.response \
    --note "the TLS alerts counted are the encrypted close_notify of the TLS 1.2 session's orderly close (description not readable); TLS 1.3 hides its alerts inside application_data records"
check 'tcp_retransmission==0' 'tcp_rst==0' 'tcp_zero_window==0' 'tls_server_hello==2' 'dns_response==3' 'dns_unanswered_query==0' 'http_response==5' 'tcp_fin==8'
net_done
