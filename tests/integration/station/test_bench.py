#!/usr/bin/python3
"""`vigil bench`, the load generator the station's benchmark figures come from, must count
only what the station really ACKed and stored, and must fail loudly otherwise.

- counts_real_acks: 4 panels for 1 s against the daemon, with --echo: exit 0, a station
  line with acks > 0 and bad/nak/duh/timeouts 0, an echo line and a ratio line; and the
  store holds at least as many events from the bench's accounts as the ACKs it counted
  (an ACK the bench counts is an event the station stored).
- wrong_key_fails: the accounts exist with another key: the station answers DUH; the bench
  counts them and exits 1 instead of reporting a throughput.
- durable_echo_syncs_first: --durable-echo DIR prints a durable line (acks > 0, no errors)
  and its ratio lines, leaves nothing in DIR, and — traced with strace — the echo thread
  never writes a reply on a socket between reading frames and an fdatasync of its file:
  its figure is the ceiling of a reply-after-fdatasync design, not a bare echo. A DIR that
  is not a writable directory: exit 2 before anything runs."""
import os
import re
import shutil
import subprocess
import tempfile

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


def echo_thread_order(trace_path):
    """The syscalls of the thread that called fdatasync, in order, as (name, fd) pairs."""
    calls = {}
    pat = re.compile(r"^(\d+)\s+(read|readv|write|writev|pwrite64|fdatasync)\((\d+)")
    with open(trace_path) as f:
        for line in f:
            m = pat.match(line)
            if m:
                calls.setdefault(m.group(1), []).append((m.group(2), int(m.group(3))))
    syncers = [t for t, cs in calls.items() if any(c[0] == "fdatasync" for c in cs)]
    assert len(syncers) == 1, "expected one thread calling fdatasync, got %r" % syncers
    return calls[syncers[0]]


def test_durable_echo_syncs_first(args):
    cfg = {"account_rate_per_s": 100000, "account_burst": 100000}
    accts = [{"number": "%X" % (BASE + i), "key": KEY} for i in range(N)]
    d = tempfile.mkdtemp(prefix="vigil-durable-echo-")
    try:
        with v.running(args, accounts=accts, config=cfg, name="benchdur") as st:
            p = bench(st, KEY, "--durable-echo", os.path.join(d, "missing"))
            assert p.returncode == 2 and "not a writable directory" in p.stderr, (
                p.returncode, p.stderr)
            assert "station " not in p.stdout, "it ran before refusing the directory"

            trace = d + ".strace"
            strace = shutil.which("strace")
            traced = strace and subprocess.run([strace, "-o", os.devnull, "true"]).returncode == 0
            pre = [strace, "-f", "-qq", "-o", trace, "-e",
                   "trace=read,readv,write,writev,pwrite64,fdatasync"] if traced else []
            argv = pre + [args.vigil, "bench", "--host", st.tcp[0], "--port", str(st.tcp[1]),
                          "--key", KEY, "--account-base", "%X" % BASE, "--connections",
                          str(N), "--duration", "1", "--warmup", "0.2", "--durable-echo", d]
            env = dict(os.environ)
            if traced:   # LeakSanitizer cannot run under ptrace (the untraced runs keep it)
                env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
            p = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
            assert p.returncode == 0, "exit %d:\n%s%s" % (p.returncode, p.stdout, p.stderr)
            dl = fields(line_of(p.stdout, "durable"))
            assert "durable echo" in line_of(p.stdout, "durable")
            assert dl["acks"] > 0, dl
            for k in ("bad", "nak", "duh", "timeouts", "closed"):
                assert dl[k] == 0, "durable run: %s=%d" % (k, dl[k])
            assert "station/durable-echo" in p.stdout, p.stdout
            assert os.listdir(d) == [], "left behind in DIR: %r" % os.listdir(d)
            if not traced:
                print("SKIPPED the ordering check: strace cannot trace here")
                return
            calls = echo_thread_order(trace)
            sync_fd = next(fd for name, fd in calls if name == "fdatasync")
            syncs = sum(1 for name, _ in calls if name == "fdatasync")
            assert 0 < syncs <= dl["acks"] + 1000, (syncs, dl["acks"])
            # After a read of frames, no socket write until the next fdatasync.
            state, replies = "clean", 0
            for name, fd in calls:
                if name in ("read", "readv") and fd != sync_fd:
                    state = "unsynced"
                elif name == "fdatasync":
                    state = "clean"
                elif name in ("write", "writev") and fd != sync_fd:
                    replies += 1
                    assert state == "clean", "a reply was written before its frames were synced"
                elif name == "pwrite64":
                    assert fd == sync_fd, "pwrite64 to fd %d, the sync file is %d" % (fd, sync_fd)
            assert replies > 0, "no replies seen in the trace"
            print("durable echo: %d ACKs, %d fdatasyncs, %d socket writes, none before its sync"
                  % (dl["acks"], syncs, replies))
    finally:
        shutil.rmtree(d, ignore_errors=True)
        if os.path.exists(d + ".strace"):
            os.unlink(d + ".strace")


if __name__ == "__main__":
    v.run_cases([test_counts_real_acks, test_wrong_key_fails, test_durable_echo_syncs_first])
