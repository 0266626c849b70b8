#!/usr/bin/python3
"""lab/rpch/rpch_proxy.py - a small RPC over HTTP v2 proxy (MS-RPCH) for the lab.

There is no Windows RPC proxy (IIS rpcproxy.dll) here, so this peer plays the inbound and
outbound proxy and the server side of the RTS exchange:

  IN channel   RPC_IN_DATA /rpc/rpcproxy.dll?HOST:PORT  -> 100 Continue, then reads CONN/B1
  OUT channel  RPC_OUT_DATA /rpc/rpcproxy.dll?HOST:PORT -> 100 Continue, reads CONN/A1,
               answers "200 Success" + CONN/A3 + CONN/C2 once the IN channel with the same
               virtual connection cookie has sent CONN/B1
  then         every DCE/RPC PDU from the IN channel goes to a real DCE/RPC server at
               HOST:PORT (ncacn_ip_tcp; PORT 593 falls back to the endpoint mapper on 135
               when nothing serves ncacn_http there) and every PDU it answers goes back on
               the OUT channel. RTS PDUs from the client (flow-control acks, keep-alives,
               pings) are consumed.

HTTP auth: Basic, checked against --user and the password in --pwfile (never printed); a
request without it gets 401 with "WWW-Authenticate: Basic". --deny-target answers the
CONN/A1 with "503 RPC Error: 6ba" (what IIS says when the target is not in ValidPorts).

Listens with TLS on --tls-port (cert/key from --cert/--key, session keys written to
--keylog in NSS format) and in plain HTTP on --http-port. Exits after --max-seconds.
"""

import argparse
import base64
import socket
import ssl
import struct
import threading
import time

RTS = 20
VC = {}  # virtual connection cookie -> {"in": sock, "b1": event, ...}
VC_LOCK = threading.Lock()


def log(msg):
    print(f"[rpch-proxy] {msg}", flush=True)


def rts(flags, cmds):
    """Encodes an RTS PDU (little-endian) from (type, payload bytes) pairs."""
    body = b"".join(struct.pack("<I", t) + p for t, p in cmds)
    n = 20 + len(body)
    return struct.pack("<BBBB4sHHIHH", 5, 0, RTS, 3, b"\x10\0\0\0", n, 0, 0, flags, len(cmds)) + body


def conn_a3():
    return rts(0, [(2, struct.pack("<I", 120000))])  # ConnectionTimeout


def conn_c2():
    return rts(0, [(6, struct.pack("<I", 1)), (0, struct.pack("<I", 65536)),
                   (2, struct.pack("<I", 120000))])


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("peer closed")
        buf += chunk
    return buf


def read_pdu(s):
    hdr = recv_exact(s, 16)
    frag = struct.unpack("<H", hdr[8:10])[0]
    if frag < 16:
        raise ValueError("bad frag_length")
    return hdr + recv_exact(s, frag - 16)


def read_http_head(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(1)
        if not chunk:
            raise EOFError("closed in HTTP header")
        buf += chunk
        if len(buf) > 16384:
            raise ValueError("HTTP header too long")
    lines = buf.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return method, path, headers


def cookie_of(pdu, index):
    """The index-th command's 16-byte cookie in a CONN/A1 or CONN/B1 (after Version)."""
    off = 20 + 8 + index * 20  # header, Version, then Cookie commands of 20 bytes
    return pdu[off + 4:off + 20]


def authorised(headers, user, password):
    want = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    return headers.get("authorization") == want


def connect_target(target):
    host, port = target.rsplit(":", 1)
    port = int(port)
    try:
        t = socket.create_connection((host, port), timeout=10)
    except OSError:
        if port != 593:
            raise
        t = socket.create_connection((host, 135), timeout=10)
        return t
    t.settimeout(2)
    try:  # an ncacn_http endpoint greets with its legacy banner
        first = t.recv(14, socket.MSG_PEEK)
        if first == b"ncacn_http/1.0":
            t.recv(14)
    except socket.timeout:
        pass
    t.settimeout(30)
    return t


def pump_out(target, out_sock):
    try:
        while True:
            out_sock.sendall(read_pdu(target))
    except (OSError, EOFError, ValueError):
        pass
    finally:
        try:
            out_sock.close()
        except OSError:
            pass


def in_channel(s, first_pdu):
    cookie = cookie_of(first_pdu, 0)
    with VC_LOCK:
        vc = VC.setdefault(cookie, {"ready": threading.Event(), "go": threading.Event()})
    vc["ready"].set()
    if not vc["go"].wait(15):
        log("no CONN/A1 for this virtual connection")
        return
    target = vc["target"]
    try:
        while True:
            pdu = read_pdu(s)
            if pdu[2] == RTS:
                continue
            target.sendall(pdu)
    except (OSError, EOFError, ValueError):
        pass
    finally:
        try:
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def out_channel(s, target_name, a1, args):
    cookie = cookie_of(a1, 0)
    with VC_LOCK:
        vc = VC.setdefault(cookie, {"ready": threading.Event(), "go": threading.Event()})
    if args.deny_target:
        s.sendall(b"HTTP/1.1 503 RPC Error: 6ba\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        return
    if not vc["ready"].wait(15):
        log("no CONN/B1 for this virtual connection")
        return
    target = connect_target(target_name)
    vc["target"] = target
    s.sendall(b"HTTP/1.1 200 Success\r\nContent-Type: application/rpc\r\n"
              b"Content-Length: 1073741824\r\n\r\n" + conn_a3() + conn_c2())
    vc["go"].set()
    pump_out(target, s)


def handle(s, args, password):
    s.settimeout(30)
    try:
        while True:
            method, path, headers = read_http_head(s)
            length = int(headers.get("content-length", "0"))
            if method not in ("RPC_IN_DATA", "RPC_OUT_DATA") or \
                    not path.startswith("/rpc/rpcproxy.dll"):
                s.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                return
            if not authorised(headers, args.user, password):
                s.sendall(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"rpc\"\r\n"
                          b"Content-Length: 0\r\n\r\n")
                if 0 < length < 65536:
                    recv_exact(s, length)
                continue
            if "?" not in path:
                s.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                return
            if headers.get("expect", "").lower() == "100-continue":
                s.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            target_name = path.split("?", 1)[1]
            first = read_pdu(s)
            if method == "RPC_IN_DATA":
                in_channel(s, first)
            else:
                out_channel(s, target_name, first, args)
            return
    except (OSError, EOFError, ValueError) as e:
        log(f"connection ended: {type(e).__name__}")
    finally:
        try:
            s.close()
        except OSError:
            pass


def serve(lsock, args, password, ctx):
    while True:
        try:
            c, _ = lsock.accept()
        except OSError:
            return
        if ctx is not None:
            try:
                c.settimeout(10)
                c = ctx.wrap_socket(c, server_side=True)
            except (OSError, ssl.SSLError) as e:
                log(f"TLS handshake failed: {e}")
                c.close()
                continue
        threading.Thread(target=handle, args=(c, args, password), daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--tls-port", type=int, default=443)
    ap.add_argument("--http-port", type=int, default=80)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--keylog")
    ap.add_argument("--user", required=True)
    ap.add_argument("--pwfile", required=True)
    ap.add_argument("--deny-target", action="store_true")
    ap.add_argument("--max-seconds", type=int, default=120)
    args = ap.parse_args()
    with open(args.pwfile) as f:
        password = f.read().strip()
    socks = []
    for port, tls in ((args.tls_port, True), (args.http_port, False)):
        if not port:
            continue
        ctx = None
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(args.cert, args.key)
            if args.keylog:
                ctx.keylog_filename = args.keylog
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((args.addr, port))
        ls.listen(16)
        socks.append(ls)
        threading.Thread(target=serve, args=(ls, args, password, ctx), daemon=True).start()
    log(f"listening on {args.addr} tls={args.tls_port} http={args.http_port}")
    time.sleep(args.max_seconds)


if __name__ == "__main__":
    main()
