#!/usr/bin/python3
"""Applies data/tools/spec_opnums.txt to the interface records of
data/names.json and data/interfaces/*.json: each listed interface gets its
operation table and a source note. Run from crates/rpc after
gen_interfaces.py (which rewrites dcom.json and impacket.json).

Line formats (one interface per line, '#' comments):
  uuid|major version|spec|N=Name N=Name ...
  uuid|major version|spec|base|N=Name N=Name ...
A line "@note <text>" gives the source note of the lines that follow (until the
next @note; "@note" alone resets it to the default "<spec> method list").
base is IUnknown (opnums 0-2), IDispatch (0-6) or the uuid of an interface
listed earlier in the file, whose table is copied below the listed opnums
(DCOM: opnum = vtable index). Opnums neither listed nor inherited are the
ones the spec reserves; they are named Opnum<N>NotUsedOnWire, as the specs
name them.
"""
import glob
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.dirname(HERE)
IUNKNOWN = ["QueryInterface", "AddRef", "Release"]
IDISPATCH = IUNKNOWN + ["GetTypeInfoCount", "GetTypeInfo", "GetIDsOfNames", "Invoke"]
MARK = "; operations: "


def dump_core(d):
    out = ["{"]
    keys = list(d.keys())
    for ki, k in enumerate(keys):
        out.append("  %s: [" % json.dumps(k))
        out.append(",\n".join("    " + json.dumps(r, ensure_ascii=False) for r in d[k]))
        out.append("  ]" + ("," if ki < len(keys) - 1 else ""))
    out.append("}")
    return "\n".join(out) + "\n"


def dump_block(d):
    s = '{\n  "source": %s,\n  "interfaces": [\n' % json.dumps(d["source"])
    s += ",\n".join("    " + json.dumps(r, ensure_ascii=False) for r in d["interfaces"])
    return s + "\n  ]\n}\n"


def load_files():
    files = {os.path.join(DATA, "names.json"): dump_core}
    for p in sorted(glob.glob(os.path.join(DATA, "interfaces", "*.json"))):
        files[p] = dump_block
    loaded = {p: json.load(open(p, encoding="utf-8")) for p in files}
    return files, loaded


def parse_lines():
    note = ""
    for line in open(os.path.join(HERE, "spec_opnums.txt"), encoding="utf-8"):
        if line.startswith("@note"):
            note = line[len("@note"):].strip()
            continue
        if line.startswith("#") or not line.strip():
            continue
        parts = line.rstrip("\n").split("|")
        if len(parts) == 4:
            uuid, ver, spec, ops = parts
            base = ""
        else:
            uuid, ver, spec, base, ops = parts
        named = {}
        for item in ops.split():
            n, name = item.split("=", 1)
            if int(n) in named:
                raise SystemExit("%s: opnum %s listed twice" % (uuid, n))
            named[int(n)] = name
        yield uuid, int(ver), spec, base, named, note


def main():
    files, loaded = load_files()
    index = {}
    for d in loaded.values():
        for r in d["interfaces"]:
            index[(r["uuid"], r["version"])] = r
    tables = {}
    for uuid, ver, spec, base, named, block_note in parse_lines():
        rec = index.get((uuid, ver))
        if rec is None:
            raise SystemExit("%s v%d: no interface record" % (uuid, ver))
        inherited = {"": [], "IUnknown": IUNKNOWN, "IDispatch": IDISPATCH}.get(base)
        if inherited is None:
            inherited = tables[base]
        full = dict(enumerate(inherited))
        for n, name in named.items():
            if n < len(inherited):
                raise SystemExit("%s: opnum %d overrides the base %s" % (uuid, n, base))
            full[n] = name
        top = max(full)
        rec["opnums"] = [full.get(i, "Opnum%dNotUsedOnWire" % i) for i in range(top + 1)]
        tables[uuid] = rec["opnums"]
        note = block_note or "%s method list (Opnum N)%s, unnamed opnums reserved by the spec" % (
            spec, ", inherited opnums from " + base if base else "")
        src = rec.get("source", "")
        if MARK in src:
            src = src[: src.index(MARK)]
        if src.startswith(spec + " method list") or src.startswith("Windows SDK") or not src:
            rec["source"] = note
        else:
            rec["source"] = src + MARK + note
    for p, dump in files.items():
        open(p, "w", encoding="utf-8").write(dump(loaded[p]))
    print("applied", len(tables), "tables")


if __name__ == "__main__":
    main()
