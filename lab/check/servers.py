#!/usr/bin/env python3
"""Servers for the `tracehound check` namespace tests (crates/probe/tests/check_ns.rs).

  servers.py web PORT [CHAIN KEY [PASSWORD]]   HTTP (HTTPS with a cert chain + key):
        /            200 (Server: th-lab)
        /loop        302 -> /loop2, /loop2 302 -> /loop (a redirect loop)
        /auth        401 with WWW-Authenticate: Negotiate and NTLM
        /cross       302 -> https://other.lab:PORT/ (cross-host)
        /nohead      405 to HEAD, 200 to GET
        presets: POST /autodiscover/autodiscover.xml 401 (Negotiate, NTLM);
        with PASSWORD (Autodiscover lab, user jane@good.lab): that POST offers Basic too and
        answers the POX XML (EwsUrl, OABUrl, EXHTTP Server, MAPI ExternalUrl) to
        `Authorization: Basic jane@good.lab:PASSWORD` over TLS; on the apex good.lab it
        redirects to http://good.lab/... (plain), and the plain server redirects
        GET http://autodiscover.good.lab/autodiscover/autodiscover.xml to https (the redirect
        method). Any Authorization header seen over plain HTTP prints PLAIN-AUTH-SEEN on
        stderr (the test's log; the password itself is never printed).
        GET /autodiscover/autodiscover.json/v1.0/USER?Protocol=EWS -> {"Protocol":"EWS",
        "Url":"https://mail.good.lab/EWS/Exchange.asmx"}; /EWS/Exchange.asmx 401;
        GET / on lyncdiscover* hosts -> {"_links":{...}} pointing at pool.good.lab, whose
        /Autodiscover/AutodiscoverService.svc/root/oauth/user answers 401 Bearer + MsRtcOAuth
  servers.py hostile PORT MODE      plain TCP: endless (headers forever), big
        (Content-Length 2 GiB, then a trickle), silent (accept, never answer)
  servers.py proxy PORT ADDR        HTTP CONNECT proxy: tunnels to ADDR:port whatever the
        name (the lab's resolution); CONNECT to blocked.lab answers 403 Forbidden
  servers.py dns PORT ADDR          UDP DNS: www.lab CNAME edge.lab CNAME good.lab A ADDR;
        good.lab A ADDR; _autodiscover._tcp.good.lab SRV 0 0 443 mail.good.lab;
        nx.lab and anything else NXDOMAIN.
Every server runs until killed (the test kills it by PID); every loop is bounded.
"""
import base64
import json
import socket
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Web(BaseHTTPRequestHandler):
    server_version = "th-lab"
    sys_version = ""

    def log_message(self, *a):
        pass

    def reply(self, code, headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def json(self, obj):
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def pox(self):
        body = POX_ANSWER.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def autodiscover_lab(self, host, p):
        """The Autodiscover lab (PASSWORD given); True when it answered."""
        pw = self.server.password
        if pw is None:
            return False
        tls = self.server.tls
        given = self.headers.get("Authorization")
        if given and not tls:
            sys.stderr.write("PLAIN-AUTH-SEEN %s %s\n" % (host, p))
            sys.stderr.flush()
        if p.lower() != "/autodiscover/autodiscover.xml":
            return False
        if not tls and self.command == "GET" and host == "autodiscover.good.lab":
            self.reply(302, [("Location", "https://autodiscover.good.lab/autodiscover/autodiscover.xml")])
            return True
        if self.command != "POST":
            return False
        if tls and host == "good.lab":
            self.reply(302, [("Location", "http://good.lab/autodiscover/autodiscover.xml")])
            return True
        want = "Basic " + base64.b64encode(("jane@good.lab:" + pw).encode()).decode()
        if tls and given == want:
            self.pox()
        else:
            self.reply(401, [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "NTLM"),
                             ("WWW-Authenticate", 'Basic realm="good.lab"')])
        return True

    def route(self, head):
        p = self.path
        port = self.server.server_address[1]
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        nego = [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "NTLM")]
        if self.autodiscover_lab(host, p):
            pass
        elif p.startswith("/autodiscover/autodiscover.json/v1.0/") and "Protocol=EWS" in p:
            self.json({"Protocol": "EWS", "Url": "https://mail.good.lab/EWS/Exchange.asmx"})
        elif p == "/autodiscover/autodiscover.xml" and self.command == "POST":
            self.reply(401, nego)
        elif p in ("/EWS/Exchange.asmx", "/rpc/rpcproxy.dll") or p.startswith(("/mapi/", "/OAB/")):
            self.reply(401, nego)
        elif host.startswith("lyncdiscover") and p == "/":
            self.json({"_links": {
                "self": {"href": "https://%s/" % host},
                "user": {"href": "https://pool.good.lab/Autodiscover/AutodiscoverService.svc/root/oauth/user"},
            }})
        elif p == "/Autodiscover/AutodiscoverService.svc/root/oauth/user":
            self.reply(401, [("WWW-Authenticate", 'Bearer trusted_issuers="", client_id="00000004-0000-0ff1-ce00-000000000000"'),
                             ("WWW-Authenticate", 'MsRtcOAuth href="https://pool.good.lab/WebTicket/oauthtoken",grant_type="urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password"')])
        elif p == "/loop":
            self.reply(302, [("Location", "/loop2")])
        elif p == "/loop2":
            self.reply(302, [("Location", "/loop")])
        elif p == "/auth":
            self.reply(401, [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "NTLM")])
        elif p == "/cross":
            self.reply(302, [("Location", "https://other.lab:%d/" % port)])
        elif p == "/nohead" and head:
            self.reply(405)
        else:
            self.reply(200)

    def do_HEAD(self):
        self.route(True)

    def do_GET(self):
        self.route(False)

    def do_POST(self):
        n = min(int(self.headers.get("Content-Length") or 0), 65536)
        self.rfile.read(n)
        self.route(False)


class Server(ThreadingHTTPServer):
    request_queue_size = 256  # socketserver's default of 5 drops SYNs under a parallel check
    daemon_threads = True


POX_ANSWER = """<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
 <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
  <User><DisplayName>Jane</DisplayName></User>
  <Account><AccountType>email</AccountType><Action>settings</Action>
   <Protocol><Type>EXCH</Type><Server>5d2c0f1e@good.lab</Server>
    <EwsUrl>https://mail.good.lab/EWS/Exchange.asmx</EwsUrl>
    <OABUrl>https://mail.good.lab/OAB/7f3a/</OABUrl></Protocol>
   <Protocol><Type>EXHTTP</Type><Server>outlook.good.lab</Server></Protocol>
   <Protocol Type="mapiHttp" Version="1"><MailStore>
    <ExternalUrl>https://outlook.good.lab/mapi/emsmdb/?MailboxId=5d2c0f1e@good.lab</ExternalUrl>
   </MailStore></Protocol>
  </Account>
 </Response>
</Autodiscover>
"""


def web(port, chain=None, key=None, password=None):
    srv = Server(("0.0.0.0", port), Web)
    srv.password = password
    srv.tls = bool(chain)
    if chain:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(chain, key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


def hostile_conn(c, mode):
    try:
        c.settimeout(30)
        c.recv(4096)
        if mode == "endless":
            c.sendall(b"HTTP/1.1 200 OK\r\n")
            for _ in range(100000):
                c.sendall(b"X-Pad: " + b"a" * 100 + b"\r\n")
        elif mode == "big":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2147483648\r\n\r\n")
            for _ in range(300):
                c.sendall(b"x" * 1024)
                time.sleep(0.1)
        else:
            time.sleep(30)
    except OSError:
        pass
    finally:
        c.close()


def hostile(port, mode):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(64)
    for _ in range(10000):
        c, _ = s.accept()
        threading.Thread(target=hostile_conn, args=(c, mode), daemon=True).start()


def pipe(a, b):
    try:
        for _ in range(100000):
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    finally:
        for x in (a, b):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def proxy_conn(c, addr):
    try:
        c.settimeout(30)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 8192:
            d = c.recv(4096)
            if not d:
                return
            head += d
        parts = head.split(b"\r\n")[0].decode("latin-1").split()
        if len(parts) < 2 or parts[0] != "CONNECT":
            c.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host, _, port = parts[1].rpartition(":")
        if host == "blocked.lab":
            c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        u = socket.create_connection((addr, int(port)), timeout=5)
        u.settimeout(30)
        c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        t = threading.Thread(target=pipe, args=(u, c), daemon=True)
        t.start()
        pipe(c, u)
        t.join(30)
    except (OSError, ValueError):
        pass
    finally:
        c.close()


def proxy(port, addr):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(64)
    for _ in range(10000):
        c, _ = s.accept()
        threading.Thread(target=proxy_conn, args=(c, addr), daemon=True).start()


def qname(msg, off):
    labels = []
    for _ in range(128):
        n = msg[off]
        off += 1
        if n == 0:
            return ".".join(labels).lower(), off
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n
    raise ValueError("name too long")


def enc(name):
    return b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"


def rr(name, rtype, ttl, rdata):
    return enc(name) + struct.pack(">HHIH", rtype, 1, ttl, len(rdata)) + rdata


def dns(port, addr):
    a = socket.inet_aton(addr)
    cnames = {"www.lab": "edge.lab", "edge.lab": "good.lab"}
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    for _ in range(100000):
        msg, peer = s.recvfrom(4096)
        try:
            name, off = qname(msg, 12)
            qtype = struct.unpack(">H", msg[off:off + 2])[0]
        except (ValueError, IndexError, struct.error):
            continue
        question = msg[12:off + 4]
        answers = []
        n, ttl = name, 300
        for _ in range(8):
            if n in cnames:
                answers.append(rr(n, 5, ttl, enc(cnames[n])))
                n, ttl = cnames[n], ttl // 2
            else:
                break
        rcode = 0
        if n == "_autodiscover._tcp.good.lab":
            if qtype == 33:
                answers.append(rr(n, 33, 300, struct.pack(">HHH", 0, 0, 443) + enc("mail.good.lab")))
        elif n == "good.lab":
            if qtype == 1:
                answers.append(rr(n, 1, 60, a))
        else:
            rcode = 3
            answers = []
        hdr = msg[:2] + struct.pack(">HHHHH", 0x8180 | rcode, 1, len(answers), 0, 0)
        s.sendto(hdr + question + b"".join(answers), peer)


if __name__ == "__main__":
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "web":
        web(port, *sys.argv[3:6])
    elif kind == "hostile":
        hostile(port, sys.argv[3])
    elif kind == "proxy":
        proxy(port, sys.argv[3])
    elif kind == "dns":
        dns(port, sys.argv[3])
