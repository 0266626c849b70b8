#!/usr/bin/env python3
"""SSL 3.0 peers for lab/tls-decrypt/ssl3.sh, built on tlslite-ng (pure Python; the
system OpenSSL has no SSL 3.0 any more).

  ssl3_peer.py server ADDR PORT CERT KEY COUNT
      accept COUNT connections one after the other (SSL 3.0 only, RSA key exchange, a
      session cache so a client can resume by session id); read a request line, answer
      an HTTP/1.0 response whose body size is the number after "size=" in the path.
  ssl3_peer.py client ADDR PORT KEYLOG SPEC...
      one connection per SPEC "cipher:mac:path" (tlslite names: aes128, aes256, 3des,
      rc4; sha, md5); a SPEC "resume:path" reconnects with the previous session (same
      session id). Writes the NSS key log line (CLIENT_RANDOM, master secret) of every
      connection to KEYLOG.

Every socket has a timeout, every loop is bounded by COUNT or the SPEC list.
"""
import socket
import sys

from tlslite.api import (HandshakeSettings, SessionCache, TLSConnection, X509CertChain,
                         parsePEMKey)

TIMEOUT = 20


def settings(cipher=None, mac=None):
    s = HandshakeSettings()
    s.minVersion = (3, 0)
    s.maxVersion = (3, 0)
    s.keyExchangeNames = ["rsa"]
    s.useEncryptThenMAC = False
    s.useExtendedMasterSecret = False
    if cipher:
        s.cipherNames = [cipher]
    if mac:
        s.macNames = [mac]
    return s


def read_request(conn):
    buf = b""
    while b"\r\n\r\n" not in buf and len(buf) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            break
        buf += bytes(chunk)
    return buf


def server(addr, port, cert, key, count):
    chain = X509CertChain()
    chain.parsePemList(open(cert).read())
    pkey = parsePEMKey(open(key).read(), private=True)
    cache = SessionCache()
    st = settings()
    st.cipherNames = ["aes256", "aes128", "3des", "rc4"]
    st.macNames = ["sha", "md5"]
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(4)
    ls.settimeout(60)
    for _ in range(count):
        sock, _peer = ls.accept()
        sock.settimeout(TIMEOUT)
        conn = TLSConnection(sock)
        try:
            conn.handshakeServer(certChain=chain, privateKey=pkey, settings=st,
                                 sessionCache=cache)
            req = read_request(conn)
            path = req.split(b" ")[1] if req.count(b" ") >= 1 else b"/"
            size = 64
            if b"size=" in path:
                size = min(int(path.split(b"size=")[1].split(b"&")[0]), 1 << 20)
            body = bytes((i * 7 + 13) % 251 for i in range(size))
            head = b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n" \
                   b"Content-Length: %d\r\n\r\n" % size
            conn.write(head)
            conn.write(body)
            conn.close()
        except Exception as e:  # one bad connection must not stop the lab
            print("server: %s" % e, file=sys.stderr)
            sock.close()
    ls.close()


def client(addr, port, keylog, specs):
    last = None
    with open(keylog, "w") as kl:
        for spec in specs:
            parts = spec.split(":")
            sock = socket.create_connection((addr, port), timeout=TIMEOUT)
            conn = TLSConnection(sock)
            if parts[0] == "resume":
                path = parts[1]
                conn.handshakeClientCert(session=last, settings=settings())
                if not conn.resumed:
                    print("client: %s was not resumed" % path, file=sys.stderr)
            else:
                cipher, mac, path = parts
                conn.handshakeClientCert(settings=settings(cipher, mac))
            kl.write("CLIENT_RANDOM %s %s\n" % (bytes(conn._clientRandom).hex(),
                                                bytes(conn.session.masterSecret).hex()))
            # The request in two writes: two records from the client.
            conn.write(b"GET " + path.encode() + b" HTTP/1.0\r\n")
            conn.write(b"Host: lab.tracehound.test\r\n\r\n")
            got = b""
            for _ in range(10000):
                chunk = conn.read()
                if not chunk:
                    break
                got += bytes(chunk)
            print("client: %s %s %d bytes" % (conn.getCipherName(), path, len(got)),
                  file=sys.stderr)
            last = conn.session
            conn.close()


def main():
    if len(sys.argv) >= 7 and sys.argv[1] == "server":
        server(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], int(sys.argv[6]))
    elif len(sys.argv) >= 6 and sys.argv[1] == "client":
        client(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5:])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
