#!/usr/bin/python3
"""Writes the man pages in packaging/man/ from their sources in src/ and the
programs' own option tables.

A source line `.\\" @TABLE program args...` is replaced by what
`program args...` prints (the program from --bin): `vigil --help-man` for
every verb's options, `vigil-station --help-man-keys` for the configuration
keys. So a flag or a key cannot be added without its page changing: the test
in tests/integration/man runs this with --check and fails on any difference.

  mkman.py --bin BUILD_DIR [--check]
"""
import argparse
import difflib
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = {"vigil": "cli/vigil", "vigil-station": "station/vigil-station",
            "vigil-console": "console/vigil-console", "vigil-panel": "panel-sim/vigil-panel"}


def render(src, build):
    out = []
    with open(src, encoding="utf-8") as f:
        for line in f:
            if line.startswith('.\\" @TABLE '):
                argv = line.split()[2:]
                prog = os.path.join(build, PROGRAMS[argv[0]])
                p = subprocess.run([prog] + argv[1:], capture_output=True, text=True)
                if p.returncode != 0 or not p.stdout:
                    sys.exit("mkman: %s %s failed (%d): %s"
                             % (prog, " ".join(argv[1:]), p.returncode, p.stderr))
                out.append(p.stdout)
            else:
                out.append(line)
    return "".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="the build folder")
    ap.add_argument("--check", action="store_true",
                    help="compare with the pages in packaging/man/; exit 1 if any differs")
    a = ap.parse_args()
    bad = 0
    for name in sorted(os.listdir(os.path.join(HERE, "src"))):
        if not name.endswith(".in"):
            continue
        page = name[:-3]
        text = render(os.path.join(HERE, "src", name), a.bin)
        path = os.path.join(HERE, page)
        if a.check:
            old = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
            if old != text:
                bad += 1
                sys.stdout.writelines(difflib.unified_diff(
                    old.splitlines(True), text.splitlines(True), path, "from the tables"))
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            print("mkman: wrote", path)
    if bad:
        print("mkman: %d page(s) out of step with the option tables: run "
              "packaging/man/mkman.py --bin BUILD_DIR" % bad)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
