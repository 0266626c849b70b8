#!/bin/sh
# Benchmark (issue 10): reading the same packets as pcap, as NDIS-PacketCapture ETL (plain
# and LZXpress-compressed buffers) and as NetMon 2.3, at >= 1 GB.
#   bench/wintrace_bench.sh [SIZE_MB] [ROUNDS]
# Builds bench/out/<SIZE>MB.pcap with mkcapture (real frames, see bench/src/main.rs) if
# missing, converts it with crates/wintrace/examples/pcap2win.rs, then times, per file:
#   tracehound convert F -w /dev/null     (read every packet, write a pcapng to /dev/null)
#   tracehound conversations --json F     (the foundation pass)
# and prints the median wall time and the median CPU time (user + sys) of interleaved rounds
# and their ratios to the pcap (CPU time is the steadier figure on a loaded machine).
# Environment: COMMANDS (default "convert conversations"), FORMATS (default "pcap etl etlz
# netmon"), BEFORE=path/to/an/older/tracehound: each command also run with it, interleaved in
# the same rounds (before/after figures of a change).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root="$here/.."
size=${1:-1000}
rounds=${2:-3}
out="$here/out"
mkdir -p "$out"
cd "$root"
cargo build --release -q -p tracehound-cli -p tracehound-bench
cargo build --release -q -p tracehound-wintrace --example pcap2win
pcap="$out/${size}MB.pcap"
if [ ! -f "$pcap" ]; then
    ./target/release/mkcapture "$pcap" "$size" ../shared/captures/dcerpc/*.pcap ../shared/captures/tcp/*.pcap
fi
for k in etl etlz netmon; do
    [ -f "$out/${size}MB.$k" ] || ./target/release/examples/pcap2win "$pcap" "$out/${size}MB.$k" "$k"
done
python3 - "$out" "$size" "$rounds" <<'PY'
import os, resource, subprocess, sys, time, statistics
out, size, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
bins = {"": os.path.join(os.path.dirname(out), "..", "target", "release", "tracehound")}
if os.environ.get("BEFORE"):
    bins["before "] = os.environ["BEFORE"]
kinds = os.environ.get("FORMATS", "pcap etl etlz netmon").split()
files = {k: os.path.join(out, f"{size}MB.{k}") for k in kinds}
allc = {"convert": lambda b, f: [b, "convert", f, "-w", "/dev/null"],
        "conversations": lambda b, f: [b, "conversations", "--json", f]}
cmds = {c: allc[c] for c in os.environ.get("COMMANDS", "convert conversations").split()}
res = {}
for r in range(rounds):
    for c, mk in cmds.items():
        for k, f in files.items():
            for tag, b in bins.items():
                t = time.perf_counter()
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                subprocess.run(mk(b, f), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
                res.setdefault((c, k, tag), []).append((time.perf_counter() - t, cpu))
for c in cmds:
    for tag in bins:
        med = lambda k, i: statistics.median(x[i] for x in res[(c, k, tag)])
        base = (med("pcap", 0), med("pcap", 1)) if "pcap" in files else None
        for k, f in files.items():
            m, cpu = med(k, 0), med(k, 1)
            mb = os.path.getsize(f) / 1e6
            ratio = f"x{m / base[0]:4.2f} / x{cpu / base[1]:4.2f} vs pcap" if base else ""
            print(f"{tag}{c:14} {k:7} {mb:8.0f} MB  wall {m:7.2f} s  cpu {cpu:7.2f} s  {mb / m:6.0f} MB/s  {ratio}")
PY
