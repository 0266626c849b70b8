#!/usr/bin/python3
"""lab/auth/banner.py ADDR PORT: an SSH-like server: sends an SSH identification banner,
reads what the client sends, and closes after 2 s (it never speaks HTTP)."""
import socket
import sys

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(8)
for _ in range(20):
    c, _ = s.accept()
    c.settimeout(2)
    c.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
    try:
        c.recv(4096)
        c.sendall(b"Invalid SSH identification string.\r\n")
    except OSError:
        pass
    c.close()
