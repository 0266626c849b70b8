#!/bin/sh
# Seeds fuzz/corpus/rpc_pdu/ from the DCE/RPC captures in /work/shared/captures/dcerpc
# (provenance: its SOURCES.md): each DCE/RPC PDU as a raw file, and each TCP conversation's
# payloads as one stream-layer record file ([mode][len][flags][bytes]...). The lab's SMB2
# and SMB1 named-pipe captures are added with mode 1 (port 445).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
shared="$here/../../shared/captures/dcerpc"
[ -d "$shared" ] || { echo "seed_rpc_pdu.sh: $shared missing" >&2; exit 1; }
dst="$here/corpus/rpc_pdu"
mkdir -p "$dst"
for f in "$shared"/* "$here"/../tests/fixtures/lab/rpc-smb*-pipe.pcap; do
    b=$(basename "$f")
    case "$b" in rpc-smb*) mode=1 ;; *) mode=0 ;; esac
    tshark -r "$f" -Y "tcp.len>0 || udp" -T fields -e tcp.stream -e tcp.srcport -e tcp.payload -e udp.payload 2>/dev/null \
    | python3 -c '
import sys
name, dst, mode = sys.argv[1], sys.argv[2], int(sys.argv[3])
streams = {}
n = 0
for line in sys.stdin:
    parts = (line.rstrip("\n").split("\t") + ["", "", "", ""])[:4]
    st, sport, tp, up = parts
    hexs = tp or up
    if not hexs:
        continue
    data = bytes.fromhex(hexs.replace(":", ""))
    if data[:1] in (b"\x05", b"\x04") and n < 40:
        open(f"{dst}/{name}.pdu{n}", "wb").write(data[:4096]); n += 1
    key = st or "udp"
    first = streams.setdefault(key, [sport, bytearray([mode])])
    flags = (0 if sport == first[0] else 1) | (4 if up else 0)
    for i in range(0, len(data), 255):
        c = data[i:i+255]
        first[1] += bytes([len(c), flags]) + c
for k, (_, rec) in streams.items():
    if len(rec) > 1:
        open(f"{dst}/{name}.stream{k}", "wb").write(bytes(rec[:65536]))
' "$b" "$dst" "$mode"
done
echo "seeded $(ls "$dst" | wc -l) files into $dst"
