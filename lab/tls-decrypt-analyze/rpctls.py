"""DCE/RPC (connection-oriented, ncacn_ip_tcp framing) inside TLS, both peers, for
lab/tls-decrypt-analyze/make.sh. PDUs are built by hand from the DCE 1.1 / MS-RPCE layouts
(little-endian data representation): the client binds to srvsvc 3.0 with NDR, calls
NetrServerGetInfo (opnum 21, answered with a response) and NetrShareEnum (opnum 15, answered
with a fault nca_s_fault_access_denied 0x00000005). TLS 1.3; the client writes an NSS key
log. Every wait is bounded (socket timeouts, at most one connection).

  rpctls.py server ADDR PORT CERT KEY
  rpctls.py client ADDR PORT KEYLOG"""
import socket
import ssl
import struct
import sys
import uuid

SRVSVC = uuid.UUID("4b324fc8-1670-01d3-1278-5a47bf6ee188")
NDR = uuid.UUID("8a885d04-1ceb-11c9-9fe8-08002b104860")


def hdr(ptype, body, call_id):
    return struct.pack("<BBBB4sHHI", 5, 0, ptype, 0x03, b"\x10\x00\x00\x00",
                       16 + len(body), 0, call_id) + body


def syntax(u, ver):
    return u.bytes_le + struct.pack("<I", ver)


def bind(call_id):
    ctx = struct.pack("<HBB", 0, 1, 0) + syntax(SRVSVC, 3) + syntax(NDR, 2)
    return hdr(11, struct.pack("<HHIBBH", 5840, 5840, 0, 1, 0, 0) + ctx, call_id)


def bind_ack(call_id, port):
    sec = str(port).encode() + b"\x00"
    body = struct.pack("<HHIH", 5840, 5840, 0x1234, len(sec)) + sec
    body += b"\x00" * ((-(16 + len(body))) % 4)
    body += struct.pack("<BBHHH", 1, 0, 0, 0, 0) + syntax(NDR, 2)
    return hdr(12, body, call_id)


def request(call_id, opnum, stub):
    return hdr(0, struct.pack("<IHH", len(stub), 0, opnum) + stub, call_id)


def response(call_id, stub):
    return hdr(2, struct.pack("<IHBB", len(stub), 0, 0, 0) + stub, call_id)


def fault(call_id, status):
    return hdr(3, struct.pack("<IHBBII", 0, 0, 0, 0, status, 0), call_id)


def recv_pdu(s):
    buf = b""
    while len(buf) < 16:
        d = s.recv(16 - len(buf))
        if not d:
            return None
        buf += d
    frag_len = struct.unpack_from("<H", buf, 8)[0]
    while len(buf) < frag_len:
        d = s.recv(frag_len - len(buf))
        if not d:
            return None
        buf += d
    return buf


def server(addr, port, cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ls = socket.create_server((addr, port))
    ls.settimeout(20)
    raw, _ = ls.accept()
    raw.settimeout(5)
    with ctx.wrap_socket(raw, server_side=True) as s:
        while True:
            p = recv_pdu(s)
            if p is None:
                return
            ptype, call_id = p[2], struct.unpack_from("<I", p, 12)[0]
            if ptype == 11:
                s.sendall(bind_ack(call_id, port))
            elif ptype == 0:
                opnum = struct.unpack_from("<H", p, 22)[0]
                if opnum == 21:
                    # SERVER_INFO_100 pointer (level 100, platform 500, null name), WERR_OK.
                    s.sendall(response(call_id, struct.pack("<IIIII", 100, 0x20000, 500, 0, 0)))
                else:
                    s.sendall(fault(call_id, 0x00000005))


def client(addr, port, keylog):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.keylog_filename = keylog
    raw = socket.create_connection((addr, port), timeout=5)
    with ctx.wrap_socket(raw) as s:
        s.sendall(bind(1))
        recv_pdu(s)
        # NetrServerGetInfo(ServerName = null, Level = 100)
        s.sendall(request(2, 21, struct.pack("<II", 0, 100)))
        recv_pdu(s)
        # NetrShareEnum(ServerName = null, InfoStruct level 1 empty, max, resume = null)
        s.sendall(request(3, 15, struct.pack("<IIIIII", 0, 1, 1, 0, 0xFFFFFFFF, 0)))
        recv_pdu(s)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    else:
        client(sys.argv[2], int(sys.argv[3]), sys.argv[4])
