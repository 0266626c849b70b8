#!/bin/sh
# Seeds fuzz/corpus/epm_stub/ for the epm_stub target: the EPM request and
# response stubs of /work/shared/captures/dcerpc/dcerpc__zerologon__input.pcap
# (provenance: its SOURCES.md), prefixed with [selector][opnum u16 LE], plus
# a ResolveOxid2 / ServerAlive2 stub built here from MS-DCOM 3.1.2.5.1, and
# DCOM activation stubs written by the crate's emitters (epm_hostile test).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
pcap="$here/../../shared/captures/dcerpc/dcerpc__zerologon__input.pcap"
[ -f "$pcap" ] || { echo "seed_epm_stub.sh: $pcap missing" >&2; exit 1; }
dst="$here/corpus/epm_stub"
mkdir -p "$dst"
tshark -r "$pcap" -Y epm -T fields -e frame.number -e tcp.payload 2>/dev/null | python3 -c '
import sys, struct
dst = sys.argv[1]
for line in sys.stdin:
    fr, hexs = line.split()
    pdu = bytes.fromhex(hexs)
    ptype, opnum = pdu[2], struct.unpack_from("<H", pdu, 22)[0] if pdu[2] == 0 else 3
    stub = pdu[24:]
    for be in (0, 1):
        sel = (0 if ptype == 0 else 2) | be
        open(f"{dst}/zerologon-f{fr}-{sel}", "wb").write(bytes([sel]) + struct.pack("<H", opnum) + stub)
    tower = stub[stub.find(b"\x05\x00\x13\x00"):][:75]
    open(f"{dst}/tower-f{fr}", "wb").write(bytes([4, 0, 0]) + tower)
' "$dst"
python3 - "$dst" <<'PY'
import sys, struct
dst = sys.argv[1]
units = [7] + [ord(c) for c in "10.1.2.3[49712]"] + [0, 0]
sec = len(units)
units += [9, 0xffff, 0, 0]
dsa = struct.pack("<IHH", len(units), len(units), sec) + b"".join(struct.pack("<H", u) for u in units)
if len(dsa) % 4: dsa += b"\0" * (4 - len(dsa) % 4)
ro2 = struct.pack("<I", 0x20000) + dsa + b"\x11" * 16 + struct.pack("<IHHI", 4, 5, 7, 0)
sa2 = struct.pack("<HH", 5, 7) + struct.pack("<I", 0x20000) + dsa + struct.pack("<II", 0, 0)
open(f"{dst}/resolveoxid2", "wb").write(bytes([6]) + struct.pack("<H", 4) + ro2)
open(f"{dst}/serveralive2", "wb").write(bytes([6]) + struct.pack("<H", 5) + sa2)
PY
(cd "$here/.." && EPM_STUB_SEED_DIR="$dst" cargo test -q -p tracehound-rpc --test epm_hostile dcom_activation_stubs_and_seeds >/dev/null)
ls "$dst" | wc -l
