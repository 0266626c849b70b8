#!/usr/bin/env python3
"""Seeds fuzz/corpus/apps/ with the application payloads of real captures
(/work/shared/captures, provenance in its SOURCES.md; lab captures in tests/fixtures/lab),
in the `apps` target's input format: [port selector] then [op][len u16 BE][bytes]."""
import os, subprocess, sys

here = os.path.dirname(os.path.abspath(__file__))
shared = os.path.join(here, "..", "..", "shared", "captures")
lab = os.path.join(here, "..", "tests", "fixtures", "lab")
PORTS = [443, 80, 389, 445, 53, 5353, 3268, 4433]
caps = [os.path.join(shared, "tls", f) for f in sorted(os.listdir(os.path.join(shared, "tls")))]
caps += [os.path.join(shared, p) for p in ["tcp/zeek__missing-syn.pcap", "tcp/zeek__tcp-fast-open.pcap",
         "dcerpc/dcerpc__dcerpc-3109__input.pcap", "dcerpc/smb-dce_iface__input.pcap"]]
caps += [os.path.join(lab, f) for f in ["net-dns-failure.pcap", "net-healthy.pcap", "net-slow-responder.pcap"] if os.path.exists(os.path.join(lab, f))]
dst = os.path.join(here, "corpus", "apps")
os.makedirs(dst, exist_ok=True)
n = 0
for cap in caps:
    out = subprocess.run(["tshark", "-r", cap, "-Y", "tcp.len > 0 || udp", "-T", "fields", "-e", "tcp.stream",
                          "-e", "udp.stream", "-e", "tcp.srcport", "-e", "udp.srcport", "-e", "tcp.dstport", "-e", "udp.dstport",
                          "-e", "tcp.payload", "-e", "udp.payload"], capture_output=True, text=True, check=True).stdout
    recs = b""
    server = {}
    for line in out.splitlines():
        ts, us, tsp, usp, tdp, udp_, tp, up = (line.split("\t") + [""] * 8)[:8]
        stream = int(ts or us or 0) % 4
        payload = bytes.fromhex((tp or up).replace(":", ""))[:4000]
        sport, dport = int(tsp or usp or 0), int(tdp or udp_ or 0)
        key = (bool(ts), stream)
        server.setdefault(key, min(sport, dport) if dport > 1024 and sport > 1024 else (dport if dport < sport else sport))
        from_server = sport == server[key]
        op = (stream << 3) | ((1 if from_server else 0) if ts else (2 | (4 if from_server else 0)))
        recs += bytes([op]) + len(payload).to_bytes(2, "big") + payload
        if len(recs) > 60000:
            break
    port = next((i for i, p in enumerate(PORTS) if any(p == v for v in server.values())), 0)
    name = os.path.basename(cap).replace(".", "_")
    with open(os.path.join(dst, name), "wb") as f:
        f.write(bytes([port]) + recs)
    n += 1
print(f"seeded {n} files into {dst}")
