#!/bin/bash
# tls-client-rejects-untrusted13: TLS 1.3. openssl s_server presents a self-signed
# certificate for www.lab.test (not issued by the CA the client trusts). The client
# (reject_client.py) completes the handshake, checks the chain afterwards, refuses it: it
# sends an alert (TLS 1.3 encrypts it: outer content type 23, 19 bytes) and resets the
# connection (SO_LINGER 0), without application data. Captured at the client, full packets.
# Expected diagnosis: tls.client_refused (a problem: the client refused the server).
# Addresses 10.88.4.0/24, namespaces th-h3-<pid>-*.
set -euo pipefail
export TH_PREFIX=th-h3-$$
. "$(dirname "$0")/../net/lib.sh"
net_need openssl
net_init tls-client-rejects-untrusted13
ns_create cli >/dev/null; ns_create srv >/dev/null
ns_link "$(ns cli)" c0 10.88.4.1/24 "$(ns srv)" s0 10.88.4.2/24
CLI_IP=10.88.4.1; SRV_IP=10.88.4.2
offload_off cli c0; offload_off srv s0
make_ca
(umask 077; openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/self.key" -out "$TMP/self.pem" \
    -subj "/CN=www.lab.test" -addext "subjectAltName=DNS:www.lab.test" -days 30 2>/dev/null)
install -m 0644 "$TMP/self.pem" "$TMP/out/certs/$SCEN-self.pem"
# stdin kept open (sleep |): s_server closes the connection itself when its stdin ends
bg srv timeout 15 bash -c 'sleep 12 | exec openssl s_server "$@"' s_server -quiet -naccept 1 -accept 4433 -tls1_3 \
    -cert "$TMP/self.pem" -key "$TMP/self.key"
listening srv 4433
cap cli c0 0
nsx cli "$PY" "$(dirname "$0")/reject_client.py" --host "$SRV_IP" --port 4433 --tls 1.3 \
    --sni www.lab.test --cafile "$TMP/ca/ca.pem" --abort || true
cap_end
expect tls.client_refused "TLS 1.3: self-signed certificate the client does not trust; handshake completes, then the client sends an encrypted alert and resets, without application data" \
    --count client_records="ip.src==$CLI_IP && tls.record" \
    --count app_data_records="tls.record.content_type==23"
check 'tls_server_hello==1' 'tcp_rst>=1'
net_done
