#!/usr/bin/env python3
"""Benchmark: tracehound against tshark on the same large capture, in the same run.

Builds bench/out/{1000,4000}MB.pcap from real captures (../shared/captures and the lab
fixtures; addresses and times rewritten so flows stay distinct, checksums updated to match,
see bench/src/main.rs), then
times, on the same file:
  tracehound conversations --json   (the foundation pass)
  tracehound rpc --json             (plus DCE/RPC analysis)
  tracehound analyze --json         (everything, plus the findings)
  tracehound analyze --json --jobs 1  (the same on one thread)
  tshark -n -q -z conv,tcp          (the reference)
and prints the median wall time of interleaved rounds, CPU time, MB/s, packets/s, peak RSS
and ratios. `conversations` runs on one thread; `rpc` and `analyze` run their protocol
analyzers on further threads (the CPU column shows the work over all threads), except with
`--jobs 1`.

Usage: bench/run.py [--sizes 1000,4000] [--rounds 5] [--no-tshark]
(env TRACEHOUND_BIN, MKCAPTURE: binaries to use instead of target/release/, no build)
"""
import argparse, glob, os, resource, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
# TRACEHOUND_BIN / MKCAPTURE: measure a copy of the binaries (e.g. while the tree is rebuilt).
BIN = os.environ.get("TRACEHOUND_BIN", os.path.join(ROOT, "target", "release", "tracehound"))
MK = os.environ.get("MKCAPTURE", os.path.join(ROOT, "target", "release", "mkcapture"))
FLOOD_FIXTURES = {"net-nmap-scan.pcap", "net-syn-flood.pcap"}


def measure(cmd):
    """Run cmd once: (wall seconds, CPU seconds user+system, peak RSS in MB) from wait4."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read().decode()
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 4):
        sys.exit(f"{' '.join(cmd)} failed ({code}): {err[-500:]}")
    return dt, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def frames_of(path):
    out = subprocess.run([BIN, "conversations", "--top", "1", path], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if " frames, " in line:
            return int(line.split(";")[1].split("frames")[0].strip())
    return 0


def build():
    """The release build the figures use (skipped when TRACEHOUND_BIN names another binary)."""
    if "TRACEHOUND_BIN" not in os.environ:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "tracehound-cli", "-p", "tracehound-bench"], cwd=ROOT, check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,4000")
    ap.add_argument("--no-tshark", action="store_true")
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    build()
    os.makedirs(OUT, exist_ok=True)
    inputs = sorted(glob.glob(os.path.join(ROOT, "..", "shared", "captures", "*", "*.pcap*")))
    inputs += sorted(glob.glob(os.path.join(ROOT, "tests", "fixtures", "lab", "*.pcap")))
    # The scan and flood fixtures are thousands of one-packet flows: repeated to fill a
    # gigabyte they would turn this everyday-traffic benchmark into a flood benchmark
    # (bench/synflood.py measures floods on their own).
    inputs = [p for p in inputs if os.path.basename(p) not in FLOOD_FIXTURES]
    rows = []
    for size in [int(s) for s in a.sizes.split(",")]:
        path = os.path.join(OUT, f"{size}MB.pcap")
        if not os.path.exists(path):
            subprocess.run([MK, path, str(size)] + inputs, check=True)
        mb = os.path.getsize(path) / 1e6
        pk = frames_of(path)
        cmds = [
            ("conversations", [BIN, "conversations", "--json", path]),
            ("rpc", [BIN, "rpc", "--json", path]),
            ("analyze", [BIN, "analyze", "--json", path]),
            # one thread in all: the protocol analyzers on the reading thread
            ("analyze --jobs 1", [BIN, "analyze", "--json", "--jobs", "1", path]),
        ]
        # Interleaved rounds, so that a slow spell of the machine hits every command alike;
        # the median of the rounds is reported.
        runs = {name: [] for name, _ in cmds}
        measure(cmds[0][1])  # warm the page cache
        for _ in range(a.rounds):
            for name, cmd in cmds:
                runs[name].append(measure(cmd))
        if not a.no_tshark and size <= 1000:
            runs["tshark"] = [measure(["tshark", "-n", "-q", "-z", "conv,tcp", "-r", path])]
        res = {}
        for name, rs in runs.items():
            dt, cpu, rss = median([r[0] for r in rs]), median([r[1] for r in rs]), max(r[2] for r in rs)
            res[name] = dt
            rows.append((size, name, dt, min(r[0] for r in rs), cpu, mb / dt, pk / dt, rss))
        conv = res["conversations"]
        line = (f"{size} MB: rpc is {res['rpc'] / conv:.2f}x, analyze {res['analyze'] / conv:.2f}x"
                f" and analyze --jobs 1 {res['analyze --jobs 1'] / conv:.2f}x the time of conversations")
        if "tshark" in res:
            line += f"; conversations is {res['tshark'] / conv:.1f}x faster than tshark"
        print(line)
    print()
    print(f"median of {a.rounds} interleaved rounds (tshark: one run); CPU = user + system over all threads")
    print()
    print("| capture | command | seconds (median) | fastest | CPU seconds | MB/s | packets/s | peak RSS (MB) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for size, name, dt, best, cpu, mbs, pps, rss in rows:
        print(f"| {size} MB | {name} | {dt:.2f} | {best:.2f} | {cpu:.2f} | {mbs:.0f} | {pps/1e6:.2f} M | {rss:.1f} |")


if __name__ == "__main__":
    main()
