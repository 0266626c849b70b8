"""HTTPS lab server for lab/tls-decrypt-analyze/make.sh: TLS 1.2, RSA key exchange only
(AES128-GCM-SHA256), so that the server's private key decrypts the capture.

/ok -> 200, /missing -> 404, /error -> 500, /slow -> 200 after 0.4 s. Stops by itself after
MAX_REQUESTS requests or LIFETIME seconds."""
import http.server
import ssl
import sys
import threading
import time

MAX_REQUESTS = 50
LIFETIME = 60


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    served = 0

    def do_GET(self):
        Handler.served += 1
        code, body = {
            "/ok": (200, b"ok\n"),
            "/missing": (404, b"not here\n"),
            "/error": (500, b"the application failed\n"),
            "/slow": (200, b"slow but fine\n"),
        }.get(self.path, (404, b"unknown\n"))
        if self.path == "/slow":
            time.sleep(0.4)
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    addr, cert, key = sys.argv[1], sys.argv[2], sys.argv[3]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("AES128-GCM-SHA256")
    ctx.load_cert_chain(cert, key)
    srv = http.server.HTTPServer((addr, 443), Handler)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.timeout = 1
    end = time.monotonic() + LIFETIME
    while time.monotonic() < end and Handler.served < MAX_REQUESTS:
        srv.handle_request()


if __name__ == "__main__":
    threading.excepthook = lambda *a: None
    main()
