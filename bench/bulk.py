#!/usr/bin/env python3
"""Benchmark: tracehound against tshark on bulk traffic (large segments, few packets per MB).

The dense benchmark (bench/run.py) is everyday traffic: 2 M conversations per GB. This one is
its opposite: a few long downloads and file copies. lab/bulk/bulk.sh captures real transfers
in network namespaces (HTTP, TLS 1.3, SMB3 and SMB2.1 file copies of 40 MiB each, one TCP
connection each), in two variants:

  on   offloads on, as captured on a server: segments of up to 64 KiB (TSO/GSO/GRO)
  mtu  offloads off, as a SPAN port sees them: frames of at most 1514 bytes

mkcapture (bench/src/main.rs) repeats each capture, addresses and times rewritten, to SIZE MB
(bench/out/bulk-{on,mtu}-SIZEMB.pcap); then, in interleaved rounds on the same file:

  tracehound conversations --json
  tracehound analyze --json
  tshark -n -q -z conv,tcp            (the reference, as in bench/run.py)

and prints medians of wall and CPU time, MB/s, packets/s, peak RSS and the ratios to tshark;
then one `TRACEHOUND_TIMINGS=1 tracehound analyze` for where the time went.

Usage: bench/bulk.py [--size 1000] [--rounds 3] [--tshark-rounds N] [--variants on,mtu] [--no-tshark]
The lab captures need root (network namespaces); made once, kept in bench/out/.
(env TRACEHOUND_BIN, MKCAPTURE as for bench/run.py)
"""
import argparse, os, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (bench/run.py: measure, median, frames_of, build, paths)

LAB = os.path.join(run.ROOT, "lab", "bulk", "bulk.sh")
OFFLOAD = {"on": "on", "mtu": "off"}


def lab_capture(variant):
    path = os.path.join(run.OUT, f"bulk-lab-{variant}.pcap")
    if not os.path.exists(path):
        os.makedirs(run.OUT, exist_ok=True)
        subprocess.run([LAB, path, "40", OFFLOAD[variant]], check=True)
    return path


def timings(path):
    env = dict(os.environ, TRACEHOUND_TIMINGS="1")
    p = subprocess.run([run.BIN, "analyze", "--json", path], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, env=env)
    # the rules take no measurable time on a few dozen conversations: their lines left out
    return [l for l in p.stderr.splitlines() if "dangerous" not in l and "  rule " not in l]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--variants", default="on,mtu")
    ap.add_argument("--tshark-rounds", type=int, help="tshark in the first N rounds only (default: every round)")
    ap.add_argument("--no-tshark", action="store_true")
    a = ap.parse_args()
    run.build()
    rows, ratios, breakdowns = [], [], []
    for variant in a.variants.split(","):
        src = lab_capture(variant)
        path = os.path.join(run.OUT, f"bulk-{variant}-{a.size}MB.pcap")
        if not os.path.exists(path):
            subprocess.run([run.MK, path, str(a.size), src], check=True)
        mb = os.path.getsize(path) / 1e6
        pk = run.frames_of(path)
        cmds = [
            ("conversations", [run.BIN, "conversations", "--json", path]),
            ("analyze", [run.BIN, "analyze", "--json", path]),
        ]
        if not a.no_tshark:
            cmds.append(("tshark", ["tshark", "-n", "-q", "-z", "conv,tcp", "-r", path]))
        runs = {name: [] for name, _ in cmds}
        run.measure(cmds[0][1])  # warm the page cache
        for i in range(a.rounds):
            for name, cmd in cmds:
                if name != "tshark" or i < (a.tshark_rounds or a.rounds):
                    runs[name].append(run.measure(cmd))
        med = {}
        for name, rs in runs.items():
            dt, cpu = run.median([r[0] for r in rs]), run.median([r[1] for r in rs])
            rss = max(r[2] for r in rs)
            med[name] = (dt, cpu)
            rows.append((variant, mb, name, dt, min(r[0] for r in rs), cpu, mb / dt, pk / dt, rss))
        if "tshark" in med:
            t = med["tshark"]
            for name in ("conversations", "analyze"):
                ratios.append(f"{variant}: {name} is {t[0] / med[name][0]:.1f}x tshark by wall time, "
                              f"{t[1] / med[name][1]:.1f}x by CPU time")
        breakdowns.append((variant, timings(path)))
        print(f"{variant}: {mb:.0f} MB, {pk} frames ({mb * 1e6 / max(pk, 1):.0f} bytes/frame)", flush=True)
    print()
    print(f"median of {a.rounds} interleaved rounds (tshark: {a.tshark_rounds or a.rounds}); CPU = user + system over all threads")
    print()
    print("| capture | command | seconds (median) | fastest | CPU seconds | MB/s | packets/s | peak RSS (MB) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for variant, mb, name, dt, best, cpu, mbs, pps, rss in rows:
        print(f"| bulk-{variant} {mb:.0f} MB | {name} | {dt:.2f} | {best:.2f} | {cpu:.2f} | {mbs:.0f} | {pps / 1e6:.3f} M | {rss:.1f} |")
    print()
    for r in ratios:
        print(r)
    for variant, lines in breakdowns:
        print(f"\nTRACEHOUND_TIMINGS=1 analyze, bulk-{variant}:")
        for l in lines:
            print("  " + l)


if __name__ == "__main__":
    main()
