#!/usr/bin/python3
"""Writes crates/rpc/tests/fixtures/names/impacket_known_protocols.txt: every
UUID of impacket's KNOWN_PROTOCOLS (impacket/dcerpc/v5/epm.py) with impacket's
description, so tests/names_data.rs can check that tracehound names each one.

Run once with Debian's python3-impacket installed, from crates/rpc:
    /usr/bin/python3 data/tools/gen_impacket_fixture.py
"""
import datetime
import os
import subprocess

import impacket
from impacket import version
from impacket.dcerpc.v5 import epm

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "fixtures", "names", "impacket_known_protocols.txt")


def deb_version():
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", "python3-impacket"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except Exception:  # noqa: BLE001 - provenance only
        return "unknown"


def main():
    rows = sorted((k.lower(), v) for k, v in epm.KNOWN_PROTOCOLS.items())
    with open(OUT, "w", encoding="utf-8") as f:
        f.write("# impacket KNOWN_PROTOCOLS (impacket/dcerpc/v5/epm.py): %d UUIDs\n" % len(rows))
        f.write("# impacket %s, Debian package python3-impacket %s, read from %s\n"
                % (version.version, deb_version(), os.path.dirname(impacket.__file__)))
        f.write("# generated %s by crates/rpc/data/tools/gen_impacket_fixture.py\n"
                % datetime.date.today().isoformat())
        f.write("# format: uuid<TAB>impacket description\n")
        for k, v in rows:
            f.write("%s\t%s\n" % (k, v.strip()))


if __name__ == "__main__":
    main()
