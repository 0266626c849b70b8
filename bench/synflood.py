#!/usr/bin/env python3
"""Flood and scan benchmark: memory of `tracehound analyze` on captures of unanswered SYNs.

Writes classic pcap files (Ethernet, IPv4, TCP SYN with MSS / SACK-permitted / window-scale
options, correct IP and TCP checksums) with the standard library only, then runs
`tracehound analyze --json` on each and reports peak RSS (from wait4) and the tcp.scan /
tcp.syn_flood findings it raised. Not a timed test: the figures go into the report.

Variants:
  flood  N SYNs from N/4 spoofed sources (10.89.128.0/17, random ports) to one service,
         10.89.0.10:443, over 60 s of capture time; nothing answers.
  scan   N SYNs from one source, 10.89.0.2, to 1,024 hosts (10.89.16.0 - 10.89.19.255) x
         ports 1-65535 in nmap-like order (random source port per probe), over 60 s; nothing
         answers.

Usage:
  bench/synflood.py [--count 400000] [--variants flood,scan] [--keep] [--no-build]
  bench/synflood.py --write flood|scan --count N [--seconds S] OUT.pcap   (only write one)

The test fixture tests/fixtures/lab/net-syn-flood.pcap was written with
  bench/synflood.py --write flood --count 3000 --seconds 6 tests/fixtures/lab/net-syn-flood.pcap
"""
import argparse, os, random, struct, subprocess, sys, time, json

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
BIN = os.path.join(ROOT, "target", "release", "tracehound")

SRC_MAC = bytes.fromhex("020000000001")
DST_MAC = bytes.fromhex("020000000002")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def syn(src, dst, sport, dport, seq, ip_id, ttl):
    """One Ethernet frame: IPv4 + TCP SYN with the options a Linux SYN carries."""
    opts = struct.pack("!BBH", 2, 4, 1460) + b"\x04\x02" + b"\x01" + b"\x03\x03\x07"
    opts += b"\0" * ((4 - len(opts) % 4) % 4)
    off = (20 + len(opts)) // 4
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, off << 4, 0x02, 64240, 0, 0) + opts
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    c = csum(pseudo + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), ip_id, 0x4000, ttl, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return DST_MAC + SRC_MAC + b"\x08\x00" + ip + tcp


def ip4(a, b, c, d):
    return bytes((a, b, c, d))


def write(path, variant, count, seconds=60, seed=7):
    rnd = random.Random(seed)
    start = 1_764_633_600  # 2025-12-02 00:00:00 UTC
    span_us = int(seconds * 1_000_000)
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(count):
            t = start * 1_000_000 + i * span_us // count
            if variant == "flood":
                s = 128 * 256 + rnd.randrange(0, 32768)  # 10.89.128.0/17
                src = ip4(10, 89, s >> 8, s & 255)
                dst, dport = ip4(10, 89, 0, 10), 443
                ttl = rnd.choice((52, 57, 113, 118, 240))
            else:
                src, ttl = ip4(10, 89, 0, 2), 64
                h = i % 1024
                dst = ip4(10, 89, 16 + (h >> 8), h & 255)
                dport = 1 + (i // 1024 * 7919) % 65535
            pkt = syn(src, dst, rnd.randrange(1024, 65536), dport,
                      rnd.getrandbits(32), rnd.getrandbits(16), ttl)
            f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(pkt), len(pkt)))
            f.write(pkt)


def run_measured(cmd):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    return out, os.waitstatus_to_exitcode(status), time.perf_counter() - t0, ru.ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=400_000)
    ap.add_argument("--variants", default="flood,scan")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--write", choices=("flood", "scan"))
    ap.add_argument("--seconds", type=float, default=60.0, help="capture time spanned")
    ap.add_argument("out", nargs="?")
    a = ap.parse_args()
    if a.write:
        if not a.out:
            sys.exit("--write needs an output file")
        write(a.out, a.write, a.count, a.seconds)
        return
    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "tracehound-cli"], cwd=ROOT,
                       check=True)
    os.makedirs(OUT, exist_ok=True)
    for v in a.variants.split(","):
        path = os.path.join(OUT, f"syn-{v}-{a.count}.pcap")
        if not os.path.exists(path):
            write(path, v, a.count, a.seconds)
        out, code, dt, rss = run_measured([BIN, "analyze", "--json", path])
        found = []
        for line in out.decode(errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            fid = rec.get("id", "") if isinstance(rec, dict) else ""
            if fid.startswith(("tcp.scan", "tcp.syn_flood", "capture.", "tcp.connect")):
                found.append(f'{fid} [{rec.get("severity")}]: {rec.get("title")}')
        mb = os.path.getsize(path) / 1e6
        print(f"{v:6} {a.count:>8} SYNs  {mb:7.1f} MB  exit {code}  {dt:6.2f} s  "
              f"peak RSS {rss:7.1f} MB")
        for x in found:
            print(f"         {x}")


if __name__ == "__main__":
    main()
