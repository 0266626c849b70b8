#!/bin/sh
# Seeds fuzz/corpus/wintrace_netmon and fuzz/corpus/wintrace_etl with real files: the two
# ETL files Windows wrote (/work/shared/captures/etl, provenance in SOURCES.md there), NetMon
# 2.0 files editcap writes from shared captures, and the synthetic files of
# tests/fixtures/wintrace (NDIS-PacketCapture compressed and not, PktMon, NetMon 2.3 with a
# process table; made by crates/wintrace/tests/etl_synthetic.rs, regenerate_fixtures).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
shared="$here/../../shared/captures"
fixtures="$here/../tests/fixtures/wintrace"
[ -d "$shared" ] || { echo "seed_wintrace.sh: $shared missing" >&2; exit 1; }
etl="$here/corpus/wintrace_etl"
nm="$here/corpus/wintrace_netmon"
mkdir -p "$etl" "$nm"
cp "$shared"/etl/*.etl "$etl/"
cp "$fixtures"/*.etl "$etl/"
cp "$fixtures"/*.cap "$nm/"
for f in tcp/zeek__syn.pcap tcp/zeek__options.pcap dcerpc/dcerpc__dcerpc-bind-no-frag-flag__input.pcap; do
    TZ=UTC editcap -F netmon2 "$shared/$f" "$nm/$(basename "$f" .pcap).cap"
done
echo "seeded $(ls "$etl" | wc -l) ETL and $(ls "$nm" | wc -l) NetMon files"
