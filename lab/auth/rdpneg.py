#!/usr/bin/python3
"""lab/auth/rdpneg.py ADDR PORT PROTOCOLS [USER]: send one RDP X.224 Connection Request
(MS-RDPBCGR 2.2.1.1) with an mstshash cookie and RDP_NEG_REQ requesting PROTOCOLS
(0 = standard RDP security, 1 = TLS, 2 = CredSSP, 3 = both), read the Connection Confirm,
print the negotiation type and value, close."""
import socket
import struct
import sys

addr, port, protocols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
user = sys.argv[4] if len(sys.argv) > 4 else "lab"
cookie = f"Cookie: mstshash={user}\r\n".encode()
neg = struct.pack("<BBHI", 1, 0, 8, protocols)
x224 = bytes([6 + len(cookie) + len(neg), 0xE0, 0, 0, 0, 0, 0]) + cookie + neg
tpkt = struct.pack(">BBH", 3, 0, 4 + len(x224)) + x224
with socket.create_connection((addr, port), timeout=5) as s:
    s.sendall(tpkt)
    cc = s.recv(1024)
    if len(cc) >= 19:
        ty, _, _, val = struct.unpack("<BBHI", cc[11:19])
        print(f"negotiation type {ty} value {val}")
    else:
        print(f"{len(cc)} bytes")
