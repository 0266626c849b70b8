#!/usr/bin/python3
"""Builds crates/rpc/data/interfaces/dcom.json and impacket.json.

* dcom.json: the DCOM interfaces of data/tools/dcom_methods.txt, with their
  operations in vtable order (opnum = vtable index: IUnknown's three methods
  are opnums 0-2, IDispatch's seven 0-6, then the interface's own).
* impacket.json: every UUID of impacket's KNOWN_PROTOCOLS (Debian
  python3-impacket, impacket/dcerpc/v5/epm.py) that neither names.json,
  more.json nor dcom.json names, with the interface name from
  data/tools/impacket_names.txt, else from impacket's own dcom modules
  (IID_*/CLSID_* constants), else "<spec> interface <uuid prefix>" (the
  document is known, the interface name is not in any source we hold).

Run from crates/rpc with /usr/bin/python3 data/tools/gen_interfaces.py.
"""
import glob
import json
import os
import re

from impacket.dcerpc.v5 import epm

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.dirname(HERE)
IUNKNOWN = ["QueryInterface", "AddRef", "Release"]
IDISPATCH = IUNKNOWN + ["GetTypeInfoCount", "GetTypeInfo", "GetIDsOfNames", "Invoke"]


def dump(source, recs):
    s = '{\n  "source": %s,\n  "interfaces": [\n' % json.dumps(source)
    s += ",\n".join("    " + json.dumps(r, ensure_ascii=False) for r in recs)
    return s + "\n  ]\n}\n"


def load_dcom():
    rows = []
    for line in open(os.path.join(HERE, "dcom_methods.txt"), encoding="utf-8"):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        uuid, name, base, spec, source, methods = line.split("|")
        rows.append((uuid, name, base, spec, source, methods.split()))
    by_name = {r[1]: r for r in rows}

    def vtable(name):
        if name == "IUnknown":
            return list(IUNKNOWN)
        if name == "IDispatch":
            return list(IDISPATCH)
        _, _, base, _, _, methods = by_name[name]
        return vtable(base) + methods

    recs = []
    for uuid, name, base, spec, source, methods in rows:
        rec = {"uuid": uuid, "version": 0, "name": name, "spec": spec,
               "status": "hresult", "source": source}
        if base != "-":
            rec["opnums"] = vtable(name)
        recs.append(rec)
    return recs


def module_names():
    mod = {}
    pat = re.compile(r"^\s*(IID_\w+|CLSID_\w+)\s*=\s*(?:uuidtup_to_bin\(\s*\(\s*|string_to_bin\(\s*)"
                     r"'([0-9a-fA-F-]{36})'", re.M)
    for f in glob.glob(os.path.join(os.path.dirname(epm.__file__), "dcom", "*.py")):
        for m in pat.finditer(open(f, encoding="utf-8").read()):
            mod.setdefault(m.group(2).lower(), []).append(m.group(1))
    return mod


def main():
    dcom = load_dcom()
    open(os.path.join(DATA, "interfaces", "dcom.json"), "w", encoding="utf-8").write(dump(
        "DCOM interfaces with vtable-order operations: MC-IISA (ahadmin.idl), MS-RSMP, COM "
        "(Windows SDK objidl/ocidl); see data/tools/dcom_methods.txt", dcom))
    known = {r["uuid"] for r in json.load(open(os.path.join(DATA, "names.json")))["interfaces"]}
    known |= {r["uuid"] for r in json.load(open(os.path.join(DATA, "interfaces", "more.json")))["interfaces"]}
    known |= {r["uuid"] for r in dcom}
    names = {}
    for line in open(os.path.join(HERE, "impacket_names.txt"), encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        uuid, name, spec, source = line.rstrip("\n").split("|")
        names[uuid] = (name, spec, source)
    mod = module_names()
    recs = []
    for k, v in sorted(epm.KNOWN_PROTOCOLS.items(), key=lambda kv: (kv[1], kv[0].lower())):
        u = k.lower()
        if u in known:
            continue
        spec = re.match(r"\[(M[SC]-[A-Z0-9]+)\]", v).group(1)
        rec = {"uuid": u, "version": 0, "description": v.split(":", 1)[1].strip().rstrip(":"),
               "spec": spec, "status": "hresult"}
        if u in names:
            rec["name"], _, rec["source"] = names[u]
        elif u in mod:
            ids = [x for x in mod[u] if x.startswith("IID_")]
            rec["name"] = ids[0][4:] if ids else mod[u][0][6:] + " (CLSID)"
            rec["source"] = "impacket dcom module constants (%s)" % ", ".join(mod[u])
        else:
            rec["name"] = "%s interface %s" % (spec, u[:8])
            rec["source"] = "impacket KNOWN_PROTOCOLS (interface name not in the sources held)"
        recs.append({k2: rec[k2] for k2 in ("uuid", "version", "name", "description", "spec", "status", "source")})
    open(os.path.join(DATA, "interfaces", "impacket.json"), "w", encoding="utf-8").write(dump(
        "impacket 0.10.0 epm.KNOWN_PROTOCOLS (UUID and protocol document); names per entry", recs))
    prov = [r for r in recs if r["name"].startswith(r["spec"] + " interface")]
    print("dcom", len(dcom), "impacket", len(recs), "provisional", len(prov))


if __name__ == "__main__":
    main()
