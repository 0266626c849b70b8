#!/usr/bin/env python3
"""Small servers for the portqry namespace tests (run inside the server namespace).

Every loop is bounded: each server exits after LIFETIME seconds.

  servers.py tcp-listen ADDR PORT...        accept and close
  servers.py udp-echo ADDR PORT             echo every datagram
  servers.py garbage ADDR PORT              send 4 KiB of random bytes, close
  servers.py huge ADDR PORT                 send a BER header claiming 2 GiB, then stream zeros (max 8 MiB)
  servers.py swallow ADDR PORT              read everything, never answer
  servers.py udp-swallow ADDR PORT          read datagrams, never answer
  servers.py replay ADDR PORT BINDACK RESP  DCE/RPC: answer bind with BINDACK, every request with RESP
                                            (call_id patched), forever - endless EPM paging
"""
import os, socket, sys, threading, time

LIFETIME = 120
START = time.time()


def alive():
    return time.time() - START < LIFETIME


def tcp_server(addr, port, handler):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(64)
    s.settimeout(1)
    while alive():
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        c.settimeout(5)
        threading.Thread(target=guard, args=(handler, c), daemon=True).start()


def guard(handler, c):
    try:
        handler(c)
    except OSError:
        pass
    finally:
        c.close()


def read_all(c, limit=1 << 20):
    got = 0
    while got < limit and alive():
        try:
            b = c.recv(65536)
        except socket.timeout:
            continue
        if not b:
            return
        got += len(b)


def recv_pdu(c):
    hdr = b""
    while len(hdr) < 16:
        b = c.recv(16 - len(hdr))
        if not b:
            return None
        hdr += b
    frag = int.from_bytes(hdr[8:10], "little")
    body = b""
    while len(hdr) + len(body) < frag:
        b = c.recv(frag - 16 - len(body))
        if not b:
            return None
        body += b
    return hdr + body


def main():
    mode, addr = sys.argv[1], sys.argv[2]
    if mode == "tcp-listen":
        for p in sys.argv[3:]:
            threading.Thread(target=tcp_server, args=(addr, int(p), lambda c: None), daemon=True).start()
        while alive():
            time.sleep(1)
    elif mode in ("udp-echo", "udp-swallow"):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((addr, int(sys.argv[3])))
        s.settimeout(1)
        while alive():
            try:
                d, peer = s.recvfrom(65536)
            except socket.timeout:
                continue
            if mode == "udp-echo":
                s.sendto(d, peer)
    elif mode == "garbage":
        tcp_server(addr, int(sys.argv[3]), lambda c: (c.recv(4096), c.sendall(os.urandom(4096))))
    elif mode == "huge":
        def h(c):
            c.recv(4096)
            c.sendall(b"\x30\x84\x7f\xff\xff\xff\x02\x01\x01")
            for _ in range(128):
                c.sendall(b"\0" * 65536)
        tcp_server(addr, int(sys.argv[3]), h)
    elif mode == "swallow":
        tcp_server(addr, int(sys.argv[3]), read_all)
    elif mode == "replay":
        bind_ack = open(sys.argv[4], "rb").read()
        resp = open(sys.argv[5], "rb").read()

        def h(c):
            for _ in range(10000):
                if not alive():
                    return
                p = recv_pdu(c)
                if p is None:
                    return
                call_id = p[12:16]
                out = bind_ack if p[2] == 11 else resp
                c.sendall(out[:12] + call_id + out[16:])
        tcp_server(addr, int(sys.argv[3]), h)
    else:
        sys.exit("unknown mode " + mode)


main()
