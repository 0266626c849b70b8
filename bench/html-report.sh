#!/usr/bin/env bash
# What `analyze --html` adds to `analyze`: both on the same capture, interleaved rounds,
# wall and CPU seconds (user + system) per run, and the page size. The capture is the 1 GB
# benchmark capture made by bench/run.py (bench/out/1000MB.pcap) unless one is given.
#   bench/html-report.sh [CAPTURE] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
cap=${1:-bench/out/1000MB.pcap}
rounds=${2:-3}
bin=${BIN:-target/release/tracehound}
[ -x "$bin" ] || { echo "build first: cargo build --release -p tracehound-cli" >&2; exit 2; }
[ -f "$cap" ] || { echo "$cap missing: python3 bench/run.py makes it" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
run() { # label, command...
  local label=$1; shift
  # analyze exits 4 when part of a capture was not analysed: not a failure here.
  /usr/bin/time -f "$label %e %U %S" "$@" > /dev/null 2>> "$out/times" || true
}
for i in $(seq "$rounds"); do
  run text "$bin" analyze "$cap"
  run html "$bin" analyze --html "$out/report.html" "$cap"
done
echo "capture: $cap ($(stat -c %s "$cap") bytes), $rounds rounds, page $(stat -c %s "$out/report.html") bytes"
python3 - "$out/times" <<'PY'
import sys, statistics
rows = {}
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) == 4 and p[0] in ("text", "html"):
        rows.setdefault(p[0], []).append((float(p[1]), float(p[2]) + float(p[3])))
for k in ("text", "html"):
    w = statistics.median(r[0] for r in rows[k]); c = statistics.median(r[1] for r in rows[k])
    print(f"{k:5} wall {w:7.2f} s (median)  cpu {c:7.2f} s (median)")
wt = statistics.median(r[0] for r in rows["text"]); wh = statistics.median(r[0] for r in rows["html"])
ct = statistics.median(r[1] for r in rows["text"]); ch = statistics.median(r[1] for r in rows["html"])
print(f"--html adds {100*(wh/wt-1):+.1f} % wall, {100*(ch/ct-1):+.1f} % cpu")
PY
