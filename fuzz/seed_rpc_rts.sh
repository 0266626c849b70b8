#!/bin/sh
# Seeds fuzz/corpus/rpc_rts/ from the RPC over HTTP lab captures
# tests/fixtures/lab/rpch-{http,denied}.pcap (lab/rpch/rpch-tunnel.sh: impacket's ncacn_http
# client, the lab RPC proxy peer, Samba's endpoint mapper): each RTS PDU (a TCP payload
# starting 05 00 14) as a raw file, and each virtual connection's two channels as one record
# file ([mode][len][flags][bytes]...; flags bit 0 = direction, bit 1 = second channel).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dst="$here/corpus/rpc_rts"
mkdir -p "$dst"
for f in "$here"/../tests/fixtures/lab/rpch-http.pcap "$here"/../tests/fixtures/lab/rpch-denied.pcap; do
    [ -f "$f" ] || { echo "seed_rpc_rts.sh: $f missing" >&2; exit 1; }
    b=$(basename "$f" .pcap)
    tshark -r "$f" -Y "tcp.len>0" -T fields -e tcp.stream -e tcp.srcport -e tcp.payload 2>/dev/null \
    | python3 -c '
import sys
name, dst = sys.argv[1], sys.argv[2]
streams, order, n = {}, [], 0
for line in sys.stdin:
    st, sport, hexs = (line.rstrip("\n").split("\t") + ["", "", ""])[:3]
    if not hexs:
        continue
    data = bytes.fromhex(hexs.replace(":", ""))
    if data[:3] == b"\x05\x00\x14" and n < 20:
        open(f"{dst}/{name}.rts{n}", "wb").write(data[:4096]); n += 1
    if st not in streams:
        streams[st] = sport
        order.append(st)
    order.append((st, sport, data))
# Pair streams two by two (IN, OUT) in the order they start.
starts = [s for s in order if isinstance(s, str)]
for k in range(0, len(starts) - 1, 2):
    pair = {starts[k]: 0, starts[k + 1]: 2}
    rec = bytearray([0])
    for item in order:
        if isinstance(item, str) or item[0] not in pair:
            continue
        st, sport, data = item
        flags = pair[st] | (0 if sport == streams[st] else 1)
        for i in range(0, len(data), 255):
            c = data[i:i + 255]
            rec += bytes([len(c), flags]) + c
    open(f"{dst}/{name}.vc{k // 2}", "wb").write(bytes(rec[:65536]))
' "$b" "$dst"
done
echo "seeded $(ls "$dst" | wc -l) files into $dst"
