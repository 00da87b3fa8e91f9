#!/usr/bin/python3
"""File-descriptor exhaustion (issue 12, finding 4).

Every connection is a descriptor. Under a low open-file limit the station
used to accept until accept(2) failed, then drop connections (a duress among
them) with no reply, no log line and conns_refused=0. Now it raises the soft
limit to the hard one at start, refuses a max_connections that does not fit
beside its reserve (exit 2, the numbers in the message), fits the default to
the limit, follows a limit lowered under it while it runs, and counts and
logs the accept failures libuv reports (accept_failures)."""
import resource
import subprocess
import time

import vstation as v

ACCT = "D00D"


def limit(soft, hard):
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def open_many(st, n):
    out = []
    for _ in range(n):
        try:
            out.append(st.conn(timeout=2))
        except OSError:
            pass
    return out


def duress_acked(st, seq):
    c = st.conn()
    try:
        c.send(v.cid(seq, ACCT, "1121 01 003"))
        v.expect_ack(c.recv_frame(timeout=3.0), seq, ACCT)
    finally:
        c.close()


def soft_limit_of(pid):
    for line in open("/proc/%d/limits" % pid):
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError("no open-file limit in /proc/%d/limits" % pid)


def test_max_connections_that_does_not_fit(args):
    st = v.Station(args, config={"max_connections": 20000}, name="nofile")
    try:
        p = subprocess.run(["prlimit", "--nofile=256:256", args.station, "-c", st.conf],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 2, "exit %d under --nofile=256 with max_connections 20000:\n%s" % (
            p.returncode, p.stderr)
        for word in ("max_connections", "20000", "256", "at most"):
            assert word in p.stderr, "%r not in the message: %s" % (word, p.stderr)
        p = subprocess.run(["prlimit", "--nofile=256:256", args.station, "-c", st.conf,
                            "--test-config"], capture_output=True, text=True, timeout=30)
        assert p.returncode == 2 and "20000" in p.stderr, p.stderr
    finally:
        st.cleanup()


def test_default_fits_the_limit(args):
    """prlimit --nofile=256: the default max_connections is what fits; 300
    connections held, a duress on a new one is still ACKed."""
    with v.running(args, [{"number": ACCT}], preexec_fn=limit(256, 256)) as st:
        held = open_many(st, 300)
        try:
            time.sleep(0.5)
            duress_acked(st, 1)
        finally:
            for c in held:
                c.close()
        stats = st.stats(fresh=True)
        assert stats["accept_failures"] == 0, stats
        assert stats["conns_evicted"] > 0, stats
        assert "(what fits) (open-file limit 256" in st.wait_log(r"\(what fits\) \(open-file limit 256")


def test_soft_limit_raised(args):
    """Soft 128, hard 4096: the station runs with 4096 and serves 300
    connections and a duress (with 128 it could hold about 100)."""
    with v.running(args, [{"number": ACCT}], config={"max_connections": 1000},
                   preexec_fn=limit(128, 4096)) as st:
        assert soft_limit_of(st.proc.pid) == 4096, "soft limit not raised to the hard one"
        held = open_many(st, 300)
        try:
            time.sleep(0.5)
            duress_acked(st, 1)
            assert st.stats(fresh=True)["conns_open"] >= 300
        finally:
            for c in held:
                c.close()


def test_limit_lowered_while_running(args):
    """A limit lowered under the running station (prlimit --pid): it follows
    within a second, logs the numbers and runs with what fits, so accept(2)
    does not fail (libuv would close the waiting connections unanswered and
    unreported); 100 connections held, a duress is still ACKed."""
    with v.running(args, [{"number": ACCT}], config={"max_connections": 100},
                   preexec_fn=limit(256, 256)) as st:
        resource.prlimit(st.proc.pid, resource.RLIMIT_NOFILE, (60, 256))
        time.sleep(1.5)
        held = open_many(st, 100)
        try:
            time.sleep(0.5)
            duress_acked(st, 1)
        finally:
            for c in held:
                c.close()
        stats = st.stats(fresh=True)
        assert stats["accept_failures"] == 0, stats
        assert "the open-file limit is now 60" in st.wait_log("the open-file limit is now 60")


if __name__ == "__main__":
    v.run_cases([test_max_connections_that_does_not_fit, test_default_fits_the_limit,
                 test_soft_limit_raised, test_limit_lowered_while_running])
