#!/bin/sh
# Seeds fuzz/corpus/decrypt_inputs/ from the lab's TLS fixtures (tests/fixtures/decrypt, made
# by lab/tls-decrypt/make.sh, ssl3.sh, early-data.sh): every key file (mode byte 0), the key
# logs (mode 1), the server side of real TLS 1.2 and 1.3 sessions as record streams (mode 2),
# and whole SSL 3.0 and TLS 1.3 0-RTT connections (mode 3).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
fx="$here/../tests/fixtures/decrypt"
dst="$here/corpus/decrypt_inputs"
mkdir -p "$dst"
for k in "$fx"/keys/*.pem "$fx"/keys/*.der "$fx"/keys/*.pfx; do
    { printf '\000'; cat "$k"; } > "$dst/key-$(basename "$k")"
done
for k in "$fx"/*.keylog; do
    { printf '\001'; cat "$k"; } > "$dst/keylog-$(basename "$k")"
done
# Mode 2: the server's TCP payload of each capture as one op-0x01 chunk per segment.
for c in rsa-gcm rsa-cbc tls13 chacha; do
    tshark -r "$fx/$c.pcap" -Y 'tcp.srcport==443 && tcp.len>0' -T fields -e tcp.payload 2>/dev/null |
        python3 -c '
import sys
out = bytearray(b"\x02")
for line in sys.stdin:
    b = bytes.fromhex(line.strip().replace(":", ""))
    for i in range(0, len(b), 65535):
        part = b[i:i + 65535]
        out += bytes([1]) + len(part).to_bytes(2, "big") + part
sys.stdout.buffer.write(out)' > "$dst/session-$c"
done
# Mode 3: whole connections (both directions, capture order; op bit 0 = from the server) of
# the SSL 3.0 and TLS 1.3 0-RTT captures (lab/tls-decrypt/ssl3.sh, early-data.sh).
for c in ssl3 early; do
    n=$(tshark -r "$fx/$c.pcap" -T fields -e tcp.stream 2>/dev/null | sort -un | tail -1)
    for i in $(seq 0 "$n"); do
        tshark -r "$fx/$c.pcap" -Y "tcp.stream==$i && tcp.len>0" -T fields -e tcp.srcport -e tcp.payload 2>/dev/null |
            python3 -c '
import sys
out = bytearray(b"\x03")
for line in sys.stdin:
    port, payload = line.split("\t")
    b = bytes.fromhex(payload.strip().replace(":", ""))
    for i in range(0, len(b), 65535):
        part = b[i:i + 65535]
        out += bytes([1 if port == "443" else 0]) + len(part).to_bytes(2, "big") + part
sys.stdout.buffer.write(out)' > "$dst/conn-$c-$i"
    done
done
echo "seeded $(ls "$dst" | wc -l) files into $dst"
