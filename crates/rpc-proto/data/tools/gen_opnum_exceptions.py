#!/usr/bin/python3
"""Lists the interface records of an MS-*/MC-* document that still have no
operation table (CLSIDs, type libraries and type-serialization UUIDs are not
interfaces and are left out), keeping the reasons already written in
tests/fixtures/names/opnum_exceptions.txt and giving new ones the default
reason. Run from crates/rpc; review the output before committing."""
import glob
import json
import os
import re

FIX = "tests/fixtures/names/opnum_exceptions.txt"
HEADER = """# Interface records whose document is an MS-*/MC-* specification (every one
# publishes its IDL, appendix A) but which have no operation table in
# crates/rpc/data, each with the reason. tests/names_data.rs
# (every_spec_interface_has_opnums) fails for a record missing from this list
# and for an entry here that has a table (or no record): the list only shrinks.
# Records named "(CLSID ...)", "(type library)" or "(type UUID ...)" are not
# interfaces and are not listed.
# Format: uuid|major version|name|reason
"""
DEFAULT = "not yet transcribed from the spec's method list"


def records():
    d = json.load(open("data/names.json"))["interfaces"]
    for f in sorted(glob.glob("data/interfaces/*.json")):
        d += json.load(open(f))["interfaces"]
    return d


def not_an_interface(name):
    return "(CLSID" in name or "(type library)" in name or "(type UUID" in name


def main():
    old = {}
    if os.path.exists(FIX):
        for line in open(FIX):
            if line.startswith("#") or not line.strip():
                continue
            u, v, _, reason = line.rstrip("\n").split("|", 3)
            old[(u, int(v))] = reason
    out = [HEADER]
    for r in sorted(records(), key=lambda r: (r.get("spec", ""), r["name"])):
        if r.get("opnums") or not re.search(r"\bM[SC]-[A-Z0-9]+", r.get("spec", "")):
            continue
        if not_an_interface(r["name"]):
            continue
        reason = old.get((r["uuid"], r["version"]), "%s: %s" % (r["spec"], DEFAULT))
        out.append("%s|%d|%s|%s\n" % (r["uuid"], r["version"], r["name"], reason))
    open(FIX, "w").write("".join(out))
    print(len(out) - 1, "exceptions")


if __name__ == "__main__":
    main()
