#!/usr/bin/python3
"""Write a lab fixture's expect file from what tshark reads in the capture.

Nothing in the expect file is typed by hand: every number comes from a tshark display filter
or field run over the capture the scenario script just made. The standard set of counts is
recorded for every scenario (so zeros are facts too, for negative tests); a scenario adds its
own with --count NAME=FILTER, --values NAME=FIELD[@FILTER] (distinct values with counts) and
--stats NAME=FIELD[@FILTER] (numeric min/median/max over the matching frames).

Usage: expect.py --pcap P --out O --scenario S --diagnosis D [--description T]
                 [--client IP] [--server IP] [--count N=F ...] [--values N=F ...]
                 [--stats N=F ...] [--note TEXT ...]
"""
import argparse
import json
import statistics
import subprocess
import sys

TSHARK = "tshark"
MAX_FRAMES_LISTED = 64

# Recorded for every scenario: name -> (display filter, the same test over the fields of one
# tshark pass). The filter string is what the count means; `--verify` checks that the Python
# test and tshark's own -Y evaluation give the same frames.
F = [
    "frame.number", "ip.src", "tcp.stream", "udp.stream", "tcp.len",
    "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.reset", "tcp.flags.fin",
    "tcp.analysis.retransmission", "tcp.analysis.fast_retransmission",
    "tcp.analysis.spurious_retransmission", "tcp.analysis.duplicate_ack",
    "tcp.analysis.lost_segment", "tcp.analysis.ack_lost_segment", "tcp.analysis.out_of_order",
    "tcp.analysis.zero_window", "tcp.analysis.zero_window_probe", "tcp.analysis.keep_alive",
    "tcp.analysis.window_full", "tcp.analysis.window_update", "tcp.options.sack_le",
    "icmp.type", "icmp.code", "dns.flags.response", "dns.response_in", "tls.handshake.type",
    "tls.alert_message", "http.request", "http.response",
]


def _has(f):
    return lambda r: r.get(f, "") != ""


def _eq(f, v):
    return lambda r: v in r.get(f, "").split("|")


def _all(*ps):
    return lambda r: all(p(r) for p in ps)


SYN = _all(_eq("tcp.flags.syn", "1"), _eq("tcp.flags.ack", "0"))
STANDARD = {
    "tcp_syn": ("tcp.flags.syn==1 && tcp.flags.ack==0", SYN),
    "tcp_syn_retransmission": ("tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.analysis.retransmission",
                               _all(SYN, _has("tcp.analysis.retransmission"))),
    "tcp_synack": ("tcp.flags.syn==1 && tcp.flags.ack==1",
                   _all(_eq("tcp.flags.syn", "1"), _eq("tcp.flags.ack", "1"))),
    "tcp_rst": ("tcp.flags.reset==1", _eq("tcp.flags.reset", "1")),
    "tcp_fin": ("tcp.flags.fin==1", _eq("tcp.flags.fin", "1")),
    "tcp_data": ("tcp.len>0", lambda r: any(int(x) > 0 for x in r.get("tcp.len", "").split("|") if x)),
}
for _f in ("retransmission", "fast_retransmission", "spurious_retransmission", "duplicate_ack",
           "lost_segment", "ack_lost_segment", "out_of_order", "zero_window", "zero_window_probe",
           "keep_alive", "window_full", "window_update"):
    STANDARD["tcp_" + _f] = ("tcp.analysis." + _f, _has("tcp.analysis." + _f))
STANDARD.update({
    "tcp_sack": ("tcp.options.sack_le", _has("tcp.options.sack_le")),
    "icmp": ("icmp", _has("icmp.type")),
    "icmp_dest_unreachable": ("icmp.type==3", _eq("icmp.type", "3")),
    "icmp_frag_needed": ("icmp.type==3 && icmp.code==4", _all(_eq("icmp.type", "3"), _eq("icmp.code", "4"))),
    "icmp_port_unreachable": ("icmp.type==3 && icmp.code==3", _all(_eq("icmp.type", "3"), _eq("icmp.code", "3"))),
    "icmp_admin_prohibited": ("icmp.type==3 && icmp.code==13", _all(_eq("icmp.type", "3"), _eq("icmp.code", "13"))),
    "dns_query": ("dns.flags.response==0", _eq("dns.flags.response", "0")),
    "dns_response": ("dns.flags.response==1", _eq("dns.flags.response", "1")),
    "dns_unanswered_query": ("dns.flags.response==0 && !dns.response_in",
                             _all(_eq("dns.flags.response", "0"), lambda r: r.get("dns.response_in", "") == "")),
    "tls_client_hello": ("tls.handshake.type==1", _eq("tls.handshake.type", "1")),
    "tls_server_hello": ("tls.handshake.type==2", _eq("tls.handshake.type", "2")),
    "tls_certificate": ("tls.handshake.type==11", _eq("tls.handshake.type", "11")),
    "tls_alert": ("tls.alert_message", _has("tls.alert_message")),
    "http_request": ("http.request", _has("http.request")),
    "http_response": ("http.response", _has("http.response")),
})

# TCP counts exclude ICMP errors, which quote the offending packet's TCP header.
for _k, (_flt, _test) in list(STANDARD.items()):
    if _k.startswith("tcp_"):
        STANDARD[_k] = (_flt + " && !icmp", _all(_test, lambda r: r.get("icmp.type", "") == ""))

STANDARD_VALUES = {
    "icmp_type_code": "icmp.type,icmp.code@icmp",
    "dns_rcode": "dns.qry.name,dns.flags.rcode@dns.flags.response==1",
    "tls_alert_description": "ip.src,tls.alert_message.desc@tls.alert_message",
    "tls_server_hello_version": "tls.handshake.version,tls.handshake.extensions.supported_version@tls.handshake.type==2",
    "tls_cipher_suite": "tls.handshake.ciphersuite@tls.handshake.type==2",
    "tls_sni": "tls.handshake.extensions_server_name@tls.handshake.type==1",
    "tcp_mss_option": "ip.src,tcp.options.mss_val@tcp.flags.syn==1 && !icmp",
}


def run_tshark(pcap, args):
    cmd = [TSHARK, "-n", "-2", "-r", pcap] + args
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        sys.exit(f"tshark failed ({' '.join(cmd)}): {res.stderr.strip()}")
    return res.stdout


def frames(pcap, flt):
    out = run_tshark(pcap, ["-Y", flt, "-T", "fields", "-e", "frame.number"])
    return [int(x) for x in out.split()]


def split_spec(spec):
    field, _, flt = spec.partition("@")
    return field.split(","), flt


def field_rows(pcap, spec):
    fields, flt = split_spec(spec)
    args = ["-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=|"]
    if flt:
        args += ["-Y", flt]
    for f in fields:
        args += ["-e", f]
    out = run_tshark(pcap, args)
    return [line.split("\t") for line in out.splitlines()]


def values(pcap, spec):
    counts = {}
    for row in field_rows(pcap, spec):
        key = "/".join(row)
        if key.strip("/") == "":
            continue
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def stats(pcap, spec):
    nums = []
    for row in field_rows(pcap, spec):
        for v in row[0].split("|"):
            if v:
                nums.append(float(v))
    if not nums:
        return {"count": 0}
    return {
        "count": len(nums),
        "min": round(min(nums), 6),
        "median": round(statistics.median(nums), 6),
        "max": round(max(nums), 6),
        "sum": round(sum(nums), 6),
    }


def kv(items, what):
    res = {}
    for it in items or []:
        name, sep, val = it.partition("=")
        if not sep:
            sys.exit(f"bad --{what} {it!r}: want NAME=VALUE")
        res[name] = val
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pcap", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--diagnosis", required=True,
                    help="expected diagnosis id(s), comma separated; 'none' for healthy")
    ap.add_argument("--description", default="")
    ap.add_argument("--client", default="")
    ap.add_argument("--server", default="")
    ap.add_argument("--count", action="append")
    ap.add_argument("--values", action="append")
    ap.add_argument("--stats", action="append")
    ap.add_argument("--note", action="append")
    ap.add_argument("--verify", action="store_true",
                    help="also run every standard filter through tshark -Y and compare")
    a = ap.parse_args()

    summary = run_tshark(a.pcap, ["-q", "-z", "conv,tcp"])
    total = None
    cap = subprocess.run(["capinfos", "-M", "-c", "-l", "-d", "-u", "-E", a.pcap],
                         capture_output=True, text=True, check=False).stdout
    meta = {}
    for line in cap.splitlines():
        k, sep, v = line.partition(":")
        if sep and k.strip() != "File name":
            meta[k.strip()] = v.strip()

    rows = field_rows(a.pcap, ",".join(F))
    recs = [dict(zip(F, row)) for row in rows]
    counts = {}
    frame_lists = {}
    definitions = {}

    def record(name, fr, flt):
        counts[name] = len(fr)
        definitions[name] = flt
        if fr:
            frame_lists[name] = fr[:MAX_FRAMES_LISTED]

    for name, (flt, test) in STANDARD.items():
        fr = [int(r["frame.number"]) for r in recs if test(r)]
        if a.verify:
            tf = frames(a.pcap, flt)
            if tf != fr:
                sys.exit(f"verify {name}: python {fr[:20]} != tshark {tf[:20]}")
        record(name, fr, flt)
    ck = ["-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
          "-o", "udp.check_checksum:TRUE"]
    for name, flt in kv(a.count, "count").items():
        if "checksum.status" in flt:
            out = run_tshark(a.pcap, ck + ["-Y", flt, "-T", "fields", "-e", "frame.number"])
            record(name, [int(x) for x in out.split()], flt + " (with checksum validation on)")
        else:
            record(name, frames(a.pcap, flt), flt)

    # checksum problems need tshark's (default off) validation enabled
    for name, flt in (("tcp_bad_checksum", "tcp.checksum.status==0"),
                      ("ip_bad_checksum", "ip.checksum.status==0"),
                      ("udp_bad_checksum", "udp.checksum.status==0")):
        out = run_tshark(a.pcap, ck + ["-Y", flt, "-T", "fields", "-e", "frame.number"])
        fr = [int(x) for x in out.split()]
        record(name, fr, flt + " (with tcp/ip/udp checksum validation on)")

    streams = {r["tcp.stream"] for r in recs if r.get("tcp.stream")}
    udp_streams = {r["udp.stream"] for r in recs if r.get("udp.stream")}

    vals = {}
    for name, spec in list(STANDARD_VALUES.items()) + list(kv(a.values, "values").items()):
        v = values(a.pcap, spec)
        if v:
            vals[name] = v
    st = {}
    for name, spec in kv(a.stats, "stats").items():
        st[name] = stats(a.pcap, spec)

    doc = {
        "scenario": a.scenario,
        "pcap": a.pcap.rsplit("/", 1)[-1],
        "expected_diagnosis": [d for d in a.diagnosis.split(",") if d and d != "none"],
        "description": a.description,
        "generated_by": "lab/net/expect.py (tshark " + run_tshark_version() + ")",
        "client": a.client,
        "server": a.server,
        "capture": meta,
        "frames": len(recs),
        "tcp_streams": len(set(streams)),
        "udp_streams": len(set(udp_streams)),
        "counts": counts,
        "frames_matching": frame_lists,
        "count_definitions": definitions,
        "values": vals,
        "stats": st,
        "notes": a.note or [],
        "tcp_conversations": [l for l in summary.splitlines() if "<->" in l],
    }
    with open(a.out, "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")


def run_tshark_version():
    out = subprocess.run([TSHARK, "--version"], capture_output=True, text=True).stdout
    first = out.splitlines()[0] if out else ""
    parts = first.split()
    return parts[2] if len(parts) > 2 else "?"


if __name__ == "__main__":
    main()
