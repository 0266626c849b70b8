#!/usr/bin/python3
"""A delay line for a router namespace, since this kernel has no tc netem (standard library
only).

Packets the router would forward are steered (policy routing, see net-slow-network.sh) into
a TUN device; this program reads each one and writes it back into the same device after
--delay seconds, and the kernel then forwards it to its destination. Both directions pass
through it, so every round trip grows by twice the delay: a long network path (WAN, VPN)
between two real TCP stacks.

  delay.py --dev tun0 --delay 0.15 --life 30

Bounded: it exits after --life seconds, holds at most --max-queue packets (more are dropped
and counted), and prints a summary line (counts only, never packet contents).
"""
import argparse
import fcntl
import heapq
import os
import select
import struct
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dev", default="tun0")
    ap.add_argument("--delay", type=float, required=True)
    ap.add_argument("--life", type=float, default=30.0)
    ap.add_argument("--max-queue", type=int, default=10000)
    a = ap.parse_args()
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", a.dev.encode(), IFF_TUN | IFF_NO_PI))
    end = time.monotonic() + a.life
    queue = []  # (due, seq, packet)
    seq = forwarded = dropped = 0
    print(f"delay line on {a.dev}: {a.delay * 1e3:.0f} ms each way", flush=True)
    while True:
        now = time.monotonic()
        if now >= end:
            break
        while queue and queue[0][0] <= now:
            _, _, pkt = heapq.heappop(queue)
            os.write(fd, pkt)
            forwarded += 1
        wait = min(end - now, (queue[0][0] - now) if queue else 0.5)
        ready, _, _ = select.select([fd], [], [], max(wait, 0.0))
        if ready:
            pkt = os.read(fd, 65535)
            if len(queue) >= a.max_queue:
                dropped += 1
                continue
            heapq.heappush(queue, (time.monotonic() + a.delay, seq, pkt))
            seq += 1
    print(f"life time over: {forwarded} packets delayed, {dropped} dropped, {len(queue)} left", flush=True)


if __name__ == "__main__":
    main()
