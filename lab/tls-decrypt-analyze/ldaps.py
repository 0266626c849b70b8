"""A minimal LDAPS peer for lab/tls-decrypt-analyze/make.sh (no LDAP server package here):
TLS 1.2 with RSA key exchange only (AES128-GCM-SHA256) on port 636; answers every simple
BindRequest with BindResponse invalidCredentials (49) and the diagnostic message Active
Directory sends for a wrong password (data 52e). Encodes BER by hand (RFC 4511 4.2.2).
Serves at most MAX_CONNS connections or LIFETIME seconds."""
import socket
import ssl
import sys
import time

MAX_CONNS = 5
LIFETIME = 60
DIAG = (b"80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, "
        b"data 52e, v4563\x00")


def tlv(tag, value):
    n = len(value)
    if n < 0x80:
        return bytes([tag, n]) + value
    lb = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(lb)]) + lb + value


def read_tlv(buf, pos):
    """(tag, value, next position) of the BER element at pos, or None if incomplete."""
    if pos + 2 > len(buf):
        return None
    tag, first = buf[pos], buf[pos + 1]
    pos += 2
    if first < 0x80:
        n = first
    else:
        k = first & 0x7F
        if pos + k > len(buf):
            return None
        n = int.from_bytes(buf[pos:pos + k], "big")
        pos += k
    if pos + n > len(buf):
        return None
    return tag, buf[pos:pos + n], pos + n


def serve(conn):
    buf = b""
    conn.settimeout(5)
    while True:
        try:
            data = conn.recv(4096)
        except (socket.timeout, OSError):
            return
        if not data:
            return
        buf += data
        while True:
            msg = read_tlv(buf, 0)
            if msg is None:
                break
            _, body, end = msg
            buf = buf[end:]
            mid = read_tlv(body, 0)
            if mid is None:
                return
            op = read_tlv(body, mid[2])
            if op is None:
                return
            if op[0] == 0x42:  # UnbindRequest
                return
            if op[0] == 0x60:  # BindRequest
                resp = tlv(0x0A, b"\x31") + tlv(0x04, b"") + tlv(0x04, DIAG)
                out = tlv(0x30, tlv(0x02, mid[1]) + tlv(0x61, resp))
                conn.sendall(out)


def main():
    addr, cert, key = sys.argv[1], sys.argv[2], sys.argv[3]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("AES128-GCM-SHA256")
    ctx.load_cert_chain(cert, key)
    ls = socket.create_server((addr, 636))
    ls.settimeout(1)
    end = time.monotonic() + LIFETIME
    served = 0
    while time.monotonic() < end and served < MAX_CONNS:
        try:
            raw, _ = ls.accept()
        except socket.timeout:
            continue
        served += 1
        try:
            with ctx.wrap_socket(raw, server_side=True) as conn:
                serve(conn)
        except (ssl.SSLError, OSError):
            pass


if __name__ == "__main__":
    main()
