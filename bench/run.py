#!/usr/bin/env python3
"""Benchmark: tracehound against tshark on the same large capture, in the same run.

Builds bench/out/{1000,4000}MB.pcap from real captures (../shared/captures and the lab
fixtures; addresses and times rewritten so flows stay distinct, see bench/src/main.rs), then
times, on the same file:
  tracehound conversations --json   (the foundation pass)
  tracehound rpc --json             (plus DCE/RPC analysis)
  tracehound analyze --json         (everything, plus the findings)
  tshark -n -q -z conv,tcp          (the reference)
and prints MB/s, packets/s, peak RSS and ratios. Single-threaded throughout.

Usage: bench/run.py [--sizes 1000,4000] [--no-tshark]
"""
import argparse, glob, os, resource, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
BIN = os.path.join(ROOT, "target", "release", "tracehound")
MK = os.path.join(ROOT, "target", "release", "mkcapture")


def peak_rss(cmd):
    """Run cmd and sample its VmHWM (peak resident set) from /proc just before it exits."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    hwm = 0
    while p.poll() is None:
        try:
            with open(f"/proc/{p.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm = max(hwm, int(line.split()[1]))
        except FileNotFoundError:
            break
        time.sleep(0.05)
    dt = time.perf_counter() - t0
    err = p.stderr.read().decode()
    if p.returncode not in (0, 4):
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}): {err[-500:]}")
    return dt, hwm / 1024.0


def frames_of(path):
    out = subprocess.run([BIN, "conversations", "--top", "1", path], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if " frames, " in line:
            return int(line.split(";")[1].split("frames")[0].strip())
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,4000")
    ap.add_argument("--no-tshark", action="store_true")
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "tracehound-cli", "-p", "tracehound-bench"], cwd=ROOT, check=True)
    os.makedirs(OUT, exist_ok=True)
    inputs = sorted(glob.glob(os.path.join(ROOT, "..", "shared", "captures", "*", "*.pcap*")))
    inputs += sorted(glob.glob(os.path.join(ROOT, "tests", "fixtures", "lab", "*.pcap")))
    rows = []
    for size in [int(s) for s in a.sizes.split(",")]:
        path = os.path.join(OUT, f"{size}MB.pcap")
        if not os.path.exists(path):
            subprocess.run([MK, path, str(size)] + inputs, check=True)
        mb = os.path.getsize(path) / 1e6
        pk = frames_of(path)
        res = {}
        for name, cmd in [
            ("conversations", [BIN, "conversations", "--json", path]),
            ("rpc", [BIN, "rpc", "--json", path]),
            ("analyze", [BIN, "analyze", "--json", path]),
        ]:
            res[name] = peak_rss(cmd)
        if not a.no_tshark and size <= 1000:
            res["tshark"] = peak_rss(["tshark", "-n", "-q", "-z", "conv,tcp", "-r", path])
        for name, (dt, rss) in res.items():
            rows.append((size, name, dt, mb / dt, pk / dt, rss))
        if "tshark" in res:
            conv = res["conversations"][0]
            print(f"{size} MB: tracehound conversations is {res['tshark'][0] / conv:.1f}x tshark; "
                  f"rpc adds {100 * (res['rpc'][0] / conv - 1):.0f}%, analyze is {res['analyze'][0] / conv:.2f}x conversations")
    print()
    print("| capture | command | seconds | MB/s | packets/s | peak RSS (MB) |")
    print("|---|---|---:|---:|---:|---:|")
    for size, name, dt, mbs, pps, rss in rows:
        print(f"| {size} MB | {name} | {dt:.2f} | {mbs:.0f} | {pps/1e6:.2f} M | {rss:.1f} |")


if __name__ == "__main__":
    main()
