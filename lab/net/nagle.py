#!/usr/bin/python3
"""Nagle + delayed-ACK interaction (write-write-read), for lab/net/net-nagle-*.sh.

  nagle.py server --port P [--life S]
  nagle.py client --host H --port P [--count N] [--nodelay] [--timeout S]

Each request is REQ_LEN bytes written in two small writes (a header, then a body); the server
answers only once it has read the whole request. With Nagle on (the default), the second write
waits until the first is acknowledged, and the server's kernel delays that ACK (~40 ms on
Linux) because it has nothing to send yet: every exchange stalls. With TCP_NODELAY both writes
leave at once and the exchange takes well under a millisecond on a veth.
"""
import argparse
import socket
import statistics
import sys
import threading
import os
import time

HEAD = 60
BODY = 140
REQ_LEN = HEAD + BODY
REPLY = b"R" * 100


def recv_exact(c, n):
    buf = b""
    while len(buf) < n:
        d = c.recv(n - len(buf))
        if not d:
            return None
        buf += d
    return buf


def server(a):
    t = threading.Timer(a.life, lambda: os._exit(0))
    t.daemon = True
    t.start()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", a.port))
    ls.listen(4)
    while True:
        c, _ = ls.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # the reply is one write anyway
        while recv_exact(c, REQ_LEN) is not None:
            c.sendall(REPLY)
        c.close()


def client(a):
    s = socket.socket()
    if a.nodelay:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(a.timeout)
    s.connect((a.host, a.port))
    times = []
    for i in range(a.count):
        t0 = time.monotonic()
        s.send(b"H" * HEAD)    # write 1: header
        s.send(b"B" * BODY)    # write 2: body (held by Nagle until write 1 is ACKed)
        if recv_exact(s, len(REPLY)) is None:
            sys.exit("server closed early")
        times.append(time.monotonic() - t0)
    s.close()
    print(f"{'nodelay' if a.nodelay else 'nagle'}: {a.count} exchanges, median "
          f"{statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["server", "client"])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--nodelay", action="store_true")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--life", type=float, default=30.0)
    a = ap.parse_args()
    server(a) if a.role == "server" else client(a)


if __name__ == "__main__":
    main()
