#!/usr/bin/python3
"""lab/auth/httpd.py ADDR PORT: a small HTTP server for the auth lab.

Paths: /ok -> 200; /forbidden -> 403; /missing -> 404; /boom -> 500;
/gateway -> 502 (Server: lab-proxy, Via: 1.1 lab-proxy); /busy -> 503 (Retry-After);
/proxy -> 407 (Proxy-Authenticate: Negotiate, NTLM; Via);
/ntlm -> NTLM handshake that never succeeds: no Authorization -> 401
(WWW-Authenticate: Negotiate, NTLM); NTLM NEGOTIATE -> 401 with an NTLM CHALLENGE;
NTLM AUTHENTICATE -> 401 again (a 401 loop, like a server that rejects the account).
Runs until killed (the lab scenario kills it by PID)."""
import base64
import struct
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


def challenge() -> bytes:
    # NTLM CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2): signature, type 2, TargetName, flags,
    # server challenge, reserved, TargetInfo (MsvAvNbDomainName "LAB", MsvAvEOL)
    target = "LAB".encode("utf-16-le")
    info = struct.pack("<HH", 2, len(target)) + target + struct.pack("<HH", 0, 0)
    flags = 0x00000001 | 0x00000200 | 0x00010000 | 0x00800000 | 0x02000000 | 0x00080000 | 0x20000000
    head_len = 56
    msg = b"NTLMSSP\0" + struct.pack("<I", 2)
    msg += struct.pack("<HHI", len(target), len(target), head_len)
    msg += struct.pack("<I", flags) + b"\x01\x23\x45\x67\x89\xab\xcd\xef" + b"\0" * 8
    msg += struct.pack("<HHI", len(info), len(info), head_len + len(target))
    msg += b"\x06\x01\xb1\x1d\x00\x00\x00\x0f"  # version
    return msg + target + info


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def send(self, code, extra=(), body=b""):
        self.send_response(code)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        p = self.path
        if p == "/ok":
            self.send(200, body=b"ok\n")
        elif p == "/forbidden":
            self.send(403, body=b"forbidden\n")
        elif p == "/missing":
            self.send(404, body=b"not found\n")
        elif p == "/boom":
            self.send(500, body=b"internal error\n")
        elif p == "/gateway":
            self.send(502, [("Server", "lab-proxy"), ("Via", "1.1 lab-proxy")], b"bad gateway\n")
        elif p == "/proxy":
            self.send(407, [("Proxy-Authenticate", "Negotiate"), ("Proxy-Authenticate", "NTLM"),
                            ("Via", "1.1 lab-proxy")], b"proxy authentication required\n")
        elif p == "/busy":
            self.send(503, [("Retry-After", "30")], b"busy\n")
        elif p == "/ntlm":
            auth = self.headers.get("Authorization", "")
            tok = auth.split(" ", 1)[1] if " " in auth else ""
            raw = base64.b64decode(tok) if tok else b""
            if raw[8:12] == b"\x01\0\0\0":
                c = base64.b64encode(challenge()).decode()
                self.send(401, [("WWW-Authenticate", "NTLM " + c)])
            else:
                self.send(401, [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "NTLM")],
                          b"denied\n")
        else:
            self.send(404)

    def log_message(self, *a):
        pass


HTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
