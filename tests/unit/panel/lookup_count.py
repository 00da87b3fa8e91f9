#!/usr/bin/python3
"""lookup_count.py — the constant-time test of the panel's code lookup.

Counts the instructions pnl__lookup executes (valgrind callgrind,
--toggle-collect on the function) for a normal code, a duress code, a code in
the first and in the last slot, and a wrong code, with a full table, and fails
unless all counts are EQUAL. The same measurement of an early-exit lookup (the
negative control) must show DIFFERENT counts, which proves the measurement can
see an early exit at all.
usage: lookup_count.py HARNESS [HARNESS...]
"""
import os
import re
import subprocess
import sys
import tempfile

CASES = ["normal", "duress", "first", "last", "wrong"]


def count(harness, case, variant):
    fn = "pnl__lookup" if variant == "ct" else "lookup_early"
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "cg.out")
        r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                            "--toggle-collect=" + fn, harness, case, variant],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("%s %s %s: harness failed (rc %d): %s%s" % (harness, case, variant,
                     r.returncode, r.stdout, r.stderr[-2000:]))
        with open(out) as f:
            m = re.search(r"^summary:\s+(\d+)", f.read(), re.M)
        if not m:
            sys.exit("no callgrind summary for %s %s" % (case, variant))
        return int(m.group(1))


def main():
    ok = True
    for h in sys.argv[1:]:
        ct = {c: count(h, c, "ct") for c in CASES}
        early = {c: count(h, c, "early") for c in ("first", "last")}
        print("%s constant-time: %s" % (os.path.basename(h), ct))
        print("%s early-exit control: %s" % (os.path.basename(h), early))
        if min(ct.values()) <= 0 or len(set(ct.values())) != 1:
            print("FAIL: pnl__lookup instruction counts differ between cases")
            ok = False
        if min(early.values()) <= 0 or len(set(early.values())) == 1:
            print("FAIL: the early-exit control shows equal counts: the measurement is blind")
            ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
