#!/usr/bin/python3
"""`vigil bench`, the load generator the station's benchmark figures come from, must count
only what the station really ACKed and stored, and must fail loudly otherwise.

- counts_real_acks: 4 panels for 1 s against the daemon, with --echo: exit 0, a station
  line with acks > 0 and bad/nak/duh/timeouts 0, an echo line and a ratio line; and the
  store holds at least as many events from the bench's accounts as the ACKs it counted
  (an ACK the bench counts is an event the station stored).
- wrong_key_fails: the accounts exist with another key: the station answers DUH; the bench
  counts them and exits 1 instead of reporting a throughput."""
import re
import subprocess

import vstation as v

KEY = "0123456789ABCDEF"
BASE = 0x7C000
N = 4


def bench(st, key, *extra):
    argv = [st.args.vigil, "bench", "--host", st.tcp[0], "--port", str(st.tcp[1]),
            "--key", key, "--account-base", "%X" % BASE, "--connections", str(N),
            "--duration", "1", "--warmup", "0.2"] + list(extra)
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def fields(line):
    return {k: float(x) for k, x in re.findall(r"([\w/]+)=([0-9.]+)", line)}


def line_of(out, word):
    ls = [l for l in out.splitlines() if l.startswith(word + " ")]
    assert ls, "no '%s' line in:\n%s" % (word, out)
    return ls[0]


def test_counts_real_acks(args):
    cfg = {"account_rate_per_s": 100000, "account_burst": 100000}
    accts = [{"number": "%X" % (BASE + i), "key": KEY} for i in range(N)]
    with v.running(args, accounts=accts, config=cfg, name="bench") as st:
        p = bench(st, KEY, "--echo")
        assert p.returncode == 0, "vigil bench exited %d:\n%s%s" % (p.returncode, p.stdout,
                                                                   p.stderr)
        s = fields(line_of(p.stdout, "station"))
        e = fields(line_of(p.stdout, "echo"))
        line_of(p.stdout, "ratio")
        assert s["acks"] > 0 and s["msgs/s"] > 0, s
        for k in ("bad", "nak", "duh", "timeouts", "closed"):
            assert s[k] == 0, "station run: %s=%d" % (k, s[k])
        assert e["acks"] > 0, e
        stored = sum(len(st.events("%X" % (BASE + i))) for i in range(N))
        assert stored >= s["acks"], "the bench counted %d ACKs, the store has %d events" % (
            s["acks"], stored)
        print("bench: %d ACKs counted, %d events stored; echo %d" % (s["acks"], stored,
                                                                  e["acks"]))


def test_wrong_key_fails(args):
    accts = [{"number": "%X" % (BASE + i), "key": "FEDCBA9876543210"} for i in range(N)]
    with v.running(args, accounts=accts, name="benchkey") as st:
        p = bench(st, KEY)
        assert p.returncode == 1, "vigil bench with the wrong key exited %d:\n%s%s" % (
            p.returncode, p.stdout, p.stderr)
        s = fields(line_of(p.stdout, "station"))
        assert s["duh"] > 0, "the DUH replies were not counted: %r" % s
        print("wrong key: exit 1, duh=%d" % s["duh"])


if __name__ == "__main__":
    v.run_cases([test_counts_real_acks, test_wrong_key_fails])
