#!/usr/bin/python3
"""Small TCP/UDP/HTTP/DNS peers for the lab/net scenarios (standard library only).

Every peer is bounded: clients have an overall deadline and socket timeouts, servers exit
after --life seconds even if nobody stops them. They print one line per notable event to
stdout (never payload bytes, never secrets).

  peers.py connect      --host H --port P [--timeout T] [--tries N]     TCP connect attempts
  peers.py udp-probe    --host H --port P [--timeout T] [--tries N]     UDP datagram, wait for reply/ICMP
  peers.py sink-server  --port P [--rcvbuf B] [--hold S]                accept, do not read for S s, then drain
  peers.py send-client  --host H --port P --bytes N [--timeout T] [--mss M]  send N bytes, shut down, drain
  peers.py bulk-server  --port P --bytes N                              send N bytes to every client, close
  peers.py recv-client  --host H --port P [--timeout T] [--mss M]       read until EOF
  peers.py echo-server  --port P                                        line echo (for kill-by-PID)
  peers.py echo-client  --host H --port P --count N --interval S        N request/reply lines
  peers.py rst-server   --port P                                        read ClientHello, close with RST
  peers.py http-server  --port P [--delay S]                            HTTP/1.1 keep-alive, sleeps S per request
  peers.py http-client  --host H --port P --count N                     N GETs on one keep-alive connection
  peers.py dns-server   --port 53                                       names below -> fixed rcodes
"""
import argparse
import http.client
import http.server
import socket
import struct
import sys
import threading
import time


def log(msg):
    print(f"{time.strftime('%H:%M:%S')} {msg}", flush=True)


def life_timer(seconds):
    """Hard bound on a server's lifetime."""
    t = threading.Timer(seconds, lambda: (log("life time over"), sys.stdout.flush(),
                                           __import__("os")._exit(0)))
    t.daemon = True
    t.start()


def listener(port, rcvbuf=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf:
        # set before listen so the accepted socket inherits it (and the window scale fits it)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind(("0.0.0.0", port))
    s.listen(16)
    return s


def client_sock(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if getattr(a, "mss", 0):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, a.mss)
    s.settimeout(a.timeout)
    s.connect((a.host, a.port))
    return s


# ---------------------------------------------------------------- clients
def cmd_connect(a):
    for i in range(a.tries):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(a.timeout)
        t0 = time.monotonic()
        try:
            s.connect((a.host, a.port))
            log(f"connect {i}: established")
        except OSError as e:
            log(f"connect {i}: {type(e).__name__} {e.strerror or e} after "
                f"{time.monotonic() - t0:.1f}s")
        finally:
            s.close()
        time.sleep(a.gap)


def cmd_udp_probe(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(a.timeout)
    s.connect((a.host, a.port))  # connected: ICMP errors are reported on this socket
    for i in range(a.tries):
        try:
            s.send(b"tracehound-lab-probe %d\n" % i)
            s.recv(2048)
            log(f"udp {i}: reply")
        except OSError as e:
            log(f"udp {i}: {type(e).__name__} {e.strerror or e}")
        time.sleep(a.gap)


def cmd_send_client(a):
    deadline = time.monotonic() + a.timeout
    s = client_sock(a)
    chunk = b"x" * 16384
    sent = 0
    try:
        if a.request:
            s.sendall(a.request.encode() + b"\n")  # a small first write
            log("sent request line")
            time.sleep(0.3)
        while sent < a.bytes and time.monotonic() < deadline:
            n = s.send(chunk[: min(len(chunk), a.bytes - sent)])
            sent += n
        log(f"sent {sent} bytes")
        s.shutdown(socket.SHUT_WR)
        while time.monotonic() < deadline:
            if not s.recv(65536):
                break
        log("closed")
    except OSError as e:
        log(f"send-client: {type(e).__name__} {e} after {sent} bytes")
    s.close()


def cmd_recv_client(a):
    deadline = time.monotonic() + a.timeout
    got = 0
    try:
        s = client_sock(a)
        if a.request:
            s.sendall(a.request.encode() + b"\n")
        while time.monotonic() < deadline:
            d = s.recv(65536)
            if not d:
                break
            got += len(d)
        log(f"received {got} bytes")
        s.close()
    except OSError as e:
        log(f"recv-client: {type(e).__name__} {e} after {got} bytes")


def cmd_echo_client(a):
    s = client_sock(a)
    for i in range(a.count):
        try:
            s.sendall(b"request %d\n" % i)
            r = s.recv(4096)
            if not r:
                log(f"echo {i}: connection closed by peer")
            else:
                log(f"echo {i}: reply")
        except OSError as e:
            log(f"echo {i}: {type(e).__name__} {e}")
        time.sleep(a.interval)
        if a.idle and i + 1 == a.idle_after:
            log(f"idle for {a.idle}s")
            time.sleep(a.idle)
    s.close()


def cmd_http_client(a):
    c = http.client.HTTPConnection(a.host, a.port, timeout=a.timeout)
    for i in range(a.count):
        t0 = time.monotonic()
        c.request("GET", f"/item/{i}", headers={"User-Agent": "tracehound-lab"})
        r = c.getresponse()
        body = r.read()
        log(f"GET /item/{i}: {r.status} {len(body)} bytes in {time.monotonic() - t0:.3f}s")
    c.close()


# ---------------------------------------------------------------- servers
def cmd_sink_server(a):
    life_timer(a.life)
    ls = listener(a.port, a.rcvbuf)
    c, _ = ls.accept()
    log(f"accepted; not reading for {a.hold}s")
    time.sleep(a.hold)
    got = 0
    c.settimeout(10)
    while True:
        d = c.recv(65536)
        if not d:
            break
        got += len(d)
        time.sleep(a.read_pause)
    log(f"drained {got} bytes")
    c.close()


def cmd_bulk_server(a):
    life_timer(a.life)
    ls = listener(a.port)
    chunk = b"y" * 16384
    while True:
        c, _ = ls.accept()
        c.settimeout(a.life)
        if a.wait_request:
            c.recv(4096)
        left = a.bytes
        try:
            while left > 0:
                left -= c.send(chunk[: min(len(chunk), left)])
            c.shutdown(socket.SHUT_WR)
            while c.recv(65536):
                pass
        except OSError as e:
            log(f"bulk-server: {type(e).__name__} {e}")
        log(f"served {a.bytes - left} bytes")
        c.close()


def cmd_echo_server(a):
    life_timer(a.life)
    ls = listener(a.port)
    while True:
        c, _ = ls.accept()
        log("accepted")
        while True:
            d = c.recv(4096)
            if not d:
                break
            c.sendall(b"reply: " + d)
        c.close()


def cmd_rst_server(a):
    life_timer(a.life)
    ls = listener(a.port)
    while True:
        c, _ = ls.accept()
        c.settimeout(5)
        try:
            d = c.recv(16384)
            log(f"read {len(d)} bytes (ClientHello); resetting")
        except OSError as e:
            log(f"rst-server: {e}")
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()


class SlowHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    delay = 0.0
    # headers and body are two writes: without this, Nagle + the client's delayed ACK would
    # add ~40 ms to every response and blur the think time this server is meant to show
    disable_nagle_algorithm = True

    def do_GET(self):
        time.sleep(self.delay)  # server think time
        body = b"ok %s\n" % self.path.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        log("http: " + fmt % args)


def cmd_http_server(a):
    life_timer(a.life)
    SlowHandler.delay = a.delay
    srv = http.server.ThreadingHTTPServer(("0.0.0.0", a.port), SlowHandler)
    srv.serve_forever()


# DNS: RFC 1035 message format. Names (lower case) -> behaviour.
DNS_ZONE = {
    "ok.lab.test": ("A", "10.77.1.2"),
    "www.lab.test": ("A", "10.77.1.2"),
    "server.lab.test": ("A", "10.77.1.2"),
    "nx.lab.test": ("RCODE", 3),        # NXDOMAIN
    "fail.lab.test": ("RCODE", 2),      # SERVFAIL
    "refused.lab.test": ("RCODE", 5),   # REFUSED
    "silent.lab.test": ("DROP", None),  # never answered
}


def dns_qname(msg, off):
    labels = []
    for _ in range(128):
        if off >= len(msg):
            raise ValueError("truncated name")
        n = msg[off]
        off += 1
        if n == 0:
            return ".".join(labels), off
        if n & 0xC0:
            raise ValueError("compression in question")
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n
    raise ValueError("name too long")


def cmd_dns_server(a):
    life_timer(a.life)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", a.port))
    while True:
        msg, peer = s.recvfrom(4096)
        try:
            if len(msg) < 12:
                raise ValueError("short header")
            qid, flags, qd = struct.unpack("!HHH", msg[:6])
            name, off = dns_qname(msg, 12)
            qtype, qclass = struct.unpack("!HH", msg[off:off + 4])
            question = msg[12:off + 4]
        except (ValueError, struct.error) as e:
            log(f"dns: bad query: {e}")
            continue
        kind, val = DNS_ZONE.get(name.lower().rstrip("."), ("RCODE", 3))
        log(f"dns: {name} type {qtype} -> {kind} {val}")
        if kind == "DROP":
            continue
        rd = flags & 0x0100
        rcode = val if kind == "RCODE" else 0
        ancount = 1 if kind == "A" and qtype == 1 else 0
        hdr = struct.pack("!HHHHHH", qid, 0x8000 | 0x0400 | rd | 0x0080 | rcode, 1, ancount, 0, 0)
        ans = b""
        if ancount:
            ans = struct.pack("!HHHIH", 0xC00C, 1, 1, 300, 4) + socket.inet_aton(val)
        s.sendto(hdr + question + ans, peer)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)

    def add(name, fn, **defaults):
        p = sub.add_parser(name)
        p.set_defaults(fn=fn)
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--timeout", type=float, default=defaults.get("timeout", 10.0))
        p.add_argument("--life", type=float, default=defaults.get("life", 60.0))
        p.add_argument("--tries", type=int, default=1)
        p.add_argument("--gap", type=float, default=0.2)
        p.add_argument("--bytes", type=int, default=0)
        p.add_argument("--mss", type=int, default=0)
        p.add_argument("--count", type=int, default=10)
        p.add_argument("--interval", type=float, default=0.2)
        p.add_argument("--rcvbuf", type=int, default=0)
        p.add_argument("--hold", type=float, default=3.0)
        p.add_argument("--read-pause", type=float, default=0.0)
        p.add_argument("--delay", type=float, default=0.0)
        p.add_argument("--idle", type=float, default=0.0)
        p.add_argument("--idle-after", type=int, default=0)
        p.add_argument("--request", default="")
        p.add_argument("--wait-request", action="store_true")

    add("connect", cmd_connect)
    add("udp-probe", cmd_udp_probe, timeout=1.0)
    add("send-client", cmd_send_client)
    add("recv-client", cmd_recv_client)
    add("echo-client", cmd_echo_client, timeout=3.0)
    add("http-client", cmd_http_client)
    add("sink-server", cmd_sink_server)
    add("bulk-server", cmd_bulk_server)
    add("echo-server", cmd_echo_server)
    add("rst-server", cmd_rst_server)
    add("http-server", cmd_http_server)
    add("dns-server", cmd_dns_server)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
