#!/usr/bin/python3
"""Generates crates/rpc/data/status/*.json (the status spaces behind
tracehound_rpc::names) from facts:

* NTSTATUS, Win32 and HRESULT names and messages: Debian's python3-impacket
  (impacket/nt_errors.py, system_errors.py, hresult_errors.py), which
  transcribe MS-ERREF 2.3.1, 2.2 and 2.1.1; plus the entries tracehound's
  names.json already held (C706, MS-RPCE, MS-ERREF).
* DCE (nca_s_*, rpc_s_*, ept_s_*) and WMI (WBEM_*): legacy_statuses.json (the
  table names.json held before this split)
  (C706 Appendix E, MS-RPCE 3.3.3.1, MS-WMI 2.2.11) plus MS-WMI WBEM_S_*.
* MAPI: data/tools/mapi_codes.txt (MS-OXCDATA 2.4, MS-OXCSTOR, MS-OXCRPC).

Run with Debian's python (/usr/bin/python3) from crates/rpc:
    /usr/bin/python3 data/tools/gen_status.py
It rewrites data/status/*.json; the output is data, reviewed and committed.
"""
import json
import os
import sys

import impacket
from impacket import hresult_errors, nt_errors, system_errors
from impacket import version as impacket_version

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.dirname(HERE)


def parse_code(s):
    s = s.strip()
    if s.lower().startswith("0x"):
        return int(s, 16)
    v = int(s)
    return v & 0xFFFFFFFF


def space_of_legacy(c):
    hi = c >> 16
    if hi in (0x1C00, 0x1C01, 0x16C9):
        return "dce"
    if c < 0x10000:
        return "win32"
    if (c >> 16) & 0xFFFF == 0x8004 and 0x1000 <= (c & 0xFFFF) < 0x1100:
        return "wmi"
    if c in (0x40004, 0x40005):
        return "wmi"
    if c >> 28 in (0x0, 0x4, 0xC) and c >> 28 != 0:
        return "ntstatus"
    if c in (0x80000005, 0x8000001A):
        return "ntstatus"
    return "hresult"


WBEM_S = [
    (0x00000000, "WBEM_S_NO_ERROR", "The call succeeded."),
    (0x00000001, "WBEM_S_FALSE", "The call succeeded with a FALSE result (no more items)."),
    (0x00040001, "WBEM_S_ALREADY_EXISTS", "The object already exists."),
    (0x00040002, "WBEM_S_RESET_TO_DEFAULT", "The value was reset to its default."),
    (0x00040003, "WBEM_S_DIFFERENT", "The objects are different."),
    (0x00040006, "WBEM_S_OPERATION_CANCELLED", "The operation was cancelled."),
    (0x00040007, "WBEM_S_PENDING", "The operation is pending."),
    (0x00040008, "WBEM_S_DUPLICATE_OBJECTS", "Duplicate objects were returned."),
    (0x00040009, "WBEM_S_ACCESS_DENIED", "Some results were withheld: access denied."),
    (0x00040010, "WBEM_S_PARTIAL_RESULTS", "Only partial results were returned."),
]


MSRPCE_FAULTS = [
    (0x00000001, "nca_s_fault_other", "Unspecified fault (ERROR_INVALID_FUNCTION)."),
    (0x00000005, "nca_s_fault_access_denied", "Access denied (ERROR_ACCESS_DENIED)."),
    (0x000006D8, "nca_s_fault_cant_perform", "Operation cannot be performed (EPT_S_CANT_PERFORM_OP)."),
    (0x000006F7, "nca_s_fault_ndr", "Stub data could not be unmarshalled (RPC_X_BAD_STUB_DATA)."),
    (0x00000721, "nca_s_fault_sec_pkg_error", "Security package error: checksum/decryption failed (RPC_S_SEC_PKG_ERROR)."),
]


def load_mapi():
    out = []
    with open(os.path.join(HERE, "mapi_codes.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            code, name, desc = line.split(" ", 2)
            out.append((int(code, 16), name, desc))
    return out


def add(table, names, code, name, desc):
    if code in table or name in names:
        return
    table[code] = (name, desc)
    names.add(name)


def write(space, source, table):
    codes = [["0x%08x" % c, n, d] for c, (n, d) in sorted(table.items())]
    path = os.path.join(DATA, "status", space + ".json")
    with open(path, "w", encoding="utf-8") as f:
        f.write('{\n  "space": %s,\n  "source": %s,\n  "codes": [\n'
                % (json.dumps(space), json.dumps(source)))
        f.write(",\n".join("    " + json.dumps(c, ensure_ascii=False) for c in codes))
        f.write("\n  ]\n}\n")
    print(space, len(codes), file=sys.stderr)


def main():
    legacy = json.load(open(os.path.join(HERE, "legacy_statuses.json"), encoding="utf-8"))
    legacy_by = {}
    for r in legacy.get("statuses", []):
        c = parse_code(r["code"])
        legacy_by.setdefault(space_of_legacy(c), []).append((c, r["name"], r.get("description", "")))
    ver = getattr(impacket_version, "version", "?")
    imp = "Debian python3-impacket %s (%s)" % (ver, os.path.dirname(impacket.__file__))

    tables = {}
    srcs = {
        "ntstatus": (nt_errors.ERROR_MESSAGES, "MS-ERREF 2.3.1 via %s nt_errors.py; C706/MS-RPCE" % imp),
        "win32": (system_errors.ERROR_MESSAGES, "MS-ERREF 2.2 via %s system_errors.py; MS-RPCE" % imp),
        "hresult": (hresult_errors.ERROR_MESSAGES, "MS-ERREF 2.1.1 via %s hresult_errors.py; MS-DCOM 2.2.x" % imp),
    }
    for space, (msgs, source) in srcs.items():
        t, names = {}, set()
        for c, (n, d) in sorted(msgs.items()):
            add(t, names, c & 0xFFFFFFFF, n, d)
        for c, n, d in legacy_by.get(space, []):
            add(t, names, c, n, d)
        tables[space] = t
        write(space, source, t)

    t, names = {}, set()
    t[0] = ("rpc_s_ok", "Success.")
    names.add("rpc_s_ok")
    # Win32 values Windows sends as fault status, with their fault names
    # (MS-RPCE 3.1.1.5.5 / Wireshark packet-dcerpc.c reject_status_vals).
    for c, n, d in MSRPCE_FAULTS:
        add(t, names, c, n, d)
    for c, n, d in legacy_by.get("dce", []):
        add(t, names, c, n, d)
    write("dce", "C706 Appendix E (nca_s_*), DCE 1.1 rpc_s_*/ept_s_* status codes; MS-RPCE Windows fault values (nca_s_fault_access_denied, _ndr, _cant_perform, _sec_pkg_error, _other)", t)

    t, names = {}, set()
    for c, n, d in WBEM_S:
        add(t, names, c, n, d)
    for c, n, d in legacy_by.get("wmi", []):
        add(t, names, c, n, d)
    write("wmi", "MS-WMI 2.2.11 WBEMSTATUS", t)

    t, names = {}, set()
    for c, n, d in load_mapi():
        add(t, names, c, n, d)
    write("mapi", "MS-OXCDATA 2.4 (MAPI_E_*/MAPI_W_* and ec* codes), MS-OXCSTOR 3.2.5.1.3, MS-OXCRPC 3.1.4", t)


if __name__ == "__main__":
    main()
