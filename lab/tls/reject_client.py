#!/usr/bin/python3
"""A TLS client that checks the server's certificate only after the handshake, as
applications that validate in their own code do (Java's HostnameVerifier, WinHTTP / .NET
callbacks over Schannel): the handshake completes, then the client refuses the server and
leaves without sending a byte of application data.

  reject_client.py --host H --port P --sni NAME --cafile CA [--tls 1.2|1.3] [--abort]

Checks the leaf's subjectAltName DNS names against --sni and the chain against --cafile
(`openssl verify`); on failure sends close_notify (an encrypted alert record) and closes
with FIN, or with --abort closes with a TCP reset right after the alert. Standard library
plus the openssl command; prints one line per step (never keys or payload).
"""
import argparse
import os
import socket
import ssl
import struct
import subprocess
import sys
import tempfile


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--sni", required=True)
    p.add_argument("--cafile", required=True)
    p.add_argument("--tls", choices=["1.2", "1.3"], default="1.2")
    p.add_argument("--abort", action="store_true")
    p.add_argument("--timeout", type=float, default=5.0)
    a = p.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the check comes after the handshake, below
    v = ssl.TLSVersion.TLSv1_2 if a.tls == "1.2" else ssl.TLSVersion.TLSv1_3
    ctx.minimum_version = v
    ctx.maximum_version = v
    raw = socket.create_connection((a.host, a.port), timeout=a.timeout)
    s = ctx.wrap_socket(raw, server_hostname=a.sni)
    print(f"handshake completed: {s.version()} {s.cipher()[0]}", flush=True)
    der = s.getpeercert(binary_form=True)
    pem = ssl.DER_cert_to_PEM_cert(der)
    with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as f:
        f.write(pem)
        path = f.name
    try:
        san = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", path],
                             capture_output=True, text=True, timeout=5).stdout
        names = [t.strip()[4:] for t in san.replace("\n", ",").split(",") if t.strip().startswith("DNS:")]
        chain = subprocess.run(["openssl", "verify", "-CAfile", a.cafile, path],
                               capture_output=True, text=True, timeout=5)
    finally:
        os.unlink(path)
    problems = []
    if a.sni not in names:
        problems.append(f"name {a.sni} not in {names}")
    if chain.returncode != 0:
        problems.append("chain not trusted")
    if not problems:
        print("certificate accepted", flush=True)
        s.close()
        return 0
    print("certificate refused: " + "; ".join(problems), flush=True)
    if a.abort:
        # alert, then a reset (SO_LINGER 0), no orderly close
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        try:
            s.settimeout(0.5)
            s.unwrap()
        except (ssl.SSLError, OSError):
            pass
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        raw.close()
    else:
        try:
            s.settimeout(2)
            s.unwrap().close()
        except (ssl.SSLError, OSError):
            s.close()
    return 1


if __name__ == "__main__":
    sys.exit(main())
