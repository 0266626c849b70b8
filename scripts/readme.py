#!/usr/bin/env python3
"""Keeps the README's example outputs true.

Every block in README.md of the form
    <!-- run: tracehound ARGS -->
    ```text
    ...
    ```
is the output of that command run from the repository root with the release binary and
NO_COLOR=1. `scripts/readme.py --update` rewrites the blocks; `scripts/readme.py --check`
(run by the test suite) fails when one differs.
"""
import os, re, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAT = re.compile(r"<!-- run: (tracehound [^>]*?) -->\n```text\n(.*?)```\n", re.S)


def output(cmd, binary):
    args = cmd.split()[1:]
    env = dict(os.environ, NO_COLOR="1")
    p = subprocess.run([binary] + args, cwd=ROOT, capture_output=True, text=True, env=env)
    return p.stdout


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "--check"
    binary = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "target", "release", "tracehound")
    path = os.path.join(ROOT, "README.md")
    text = open(path).read()
    bad = []

    def repl(m):
        want = output(m.group(1), binary)
        if want != m.group(2):
            bad.append(m.group(1))
        return f"<!-- run: {m.group(1)} -->\n```text\n{want}```\n"

    new = PAT.sub(repl, text)
    n = len(PAT.findall(text))
    if mode == "--update":
        open(path, "w").write(new)
        print(f"{n} blocks, {len(bad)} updated")
    else:
        if bad:
            sys.exit("README output differs from the binary for:\n  " + "\n  ".join(bad) + "\nrun scripts/readme.py --update")
        print(f"README: {n} output blocks match")


if __name__ == "__main__":
    main()
