#!/usr/bin/env python3
"""Benchmark: a directory of ring-buffer files against the one file they were cut from.

Issue 14's target: "100 files of 40 MB in a directory: throughput within 10 % of one 4 GB
file". Cuts bench/out/SIZEMB.pcap (bench/run.py builds it) into FILES files with
`editcap -c` (names as `dumpcap -b` writes them: dc01_NNNNN_YYYYmmddHHMMSS.pcap), then times
in interleaved rounds, on the same bytes:

  tracehound conversations --json FILE      tracehound conversations --json DIR
  tracehound analyze --json FILE            tracehound analyze --json DIR

and prints medians (wall, CPU), MB/s and the directory's slowdown. Then it checks that the
directory is read as the same capture: the conversations (addresses, ports,
packets, bytes, times, state) are the same multiset as the single file's, and how many of
them cross a file boundary (`last_file`).

Usage: bench/fileset.py [--size 4000] [--files 100] [--format nsecpcap|pcapng] [--rounds 3]
(env TRACEHOUND_BIN, MKCAPTURE as for bench/run.py)
"""
import argparse, collections, json, os, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (bench/run.py: measure, median, frames_of, build, paths)

KEY = ("proto", "src", "sport", "dst", "dport", "packets", "bytes", "start", "end", "state")


def conversations(path):
    """The conversations of a capture as a multiset of KEY tuples, and how many span files."""
    p = subprocess.Popen([run.BIN, "conversations", "--json", path], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    seen, crossing = collections.Counter(), 0
    for line in p.stdout:
        c = json.loads(line)
        seen[tuple(c.get(k) for k in KEY)] += 1
        crossing += "last_file" in c
    p.wait()
    return seen, crossing


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=4000)
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--format", default="nsecpcap", help="editcap -F: nsecpcap (as the input) or pcapng (as dumpcap writes)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-check", action="store_true")
    a = ap.parse_args()
    run.build()
    single = os.path.join(run.OUT, f"{a.size}MB.pcap")
    if not os.path.exists(single):
        sys.exit(f"{single} missing: python3 bench/run.py --sizes {a.size} --rounds 1 --no-tshark")
    ring = os.path.join(run.OUT, f"ring{a.size}-{a.files}-{a.format}")
    if not os.path.isdir(ring):
        frames = run.frames_of(single)
        os.makedirs(ring)
        per = -(-frames // a.files)
        subprocess.run(["editcap", "-F", a.format, "-c", str(per), single, os.path.join(ring, "dc01.pcap")], check=True)
    names = sorted(os.listdir(ring))
    mb_single = os.path.getsize(single) / 1e6
    mb_ring = sum(os.path.getsize(os.path.join(ring, n)) for n in names) / 1e6
    print(f"{single}: {mb_single:.0f} MB; {ring}: {len(names)} files, {mb_ring:.0f} MB "
          f"({mb_ring / len(names):.1f} MB each, editcap -F {a.format})", flush=True)
    cmds = []
    for name in ("conversations", "analyze"):
        cmds.append((f"{name} FILE", [run.BIN, name, "--json", single], mb_single))
        cmds.append((f"{name} DIR", [run.BIN, name, "--json", ring], mb_single))
    runs = {n: [] for n, _, _ in cmds}
    run.measure(cmds[0][1])  # warm the page cache
    run.measure(cmds[1][1])
    for _ in range(a.rounds):
        for n, cmd, _ in cmds:
            runs[n].append(run.measure(cmd))
    print()
    print(f"median of {a.rounds} interleaved rounds; CPU = user + system over all threads; "
          f"MB/s of the {mb_single:.0f} MB of capture")
    print()
    print("| input | command | wall s (median) | fastest | CPU s (median) | MB/s | peak RSS (MB) | vs FILE (wall / CPU) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    med = {}
    for n, cmd, mb in cmds:
        rs = runs[n]
        dt, cpu = run.median([r[0] for r in rs]), run.median([r[1] for r in rs])
        med[n] = (dt, cpu)
        base = med.get(n.replace("DIR", "FILE"), (dt, cpu))
        what = "1 file" if n.endswith("FILE") else f"{len(names)} files"
        print(f"| {what} | `{n.split()[0]} --json` | {dt:.2f} | {min(r[0] for r in rs):.2f} | {cpu:.2f} | "
              f"{mb / dt:.0f} | {max(r[2] for r in rs):.0f} | {dt / base[0]:.3f} / {cpu / base[1]:.3f} |")
    # After the timing: the check's tables would count in the peak RSS of the children.
    if not a.no_check:
        s, _ = conversations(single)
        r, crossing = conversations(ring)
        same = "the same" if s == r else "DIFFERENT"
        print(f"\nconversations: file {sum(s.values())}, directory {sum(r.values())} ({same} "
              f"multiset of {', '.join(KEY)}); {crossing} cross a file boundary")


if __name__ == "__main__":
    main()
