#!/usr/bin/python3
"""Two vigil-station nodes on one PostgreSQL store (issue 15), black box.

Node A and node B are two vigil-station processes with their own DC-09 ports,
control sockets and copies of the same key store file, and one database on
the test cluster (VIGIL_TEST_PG_URI: ctest's pg fixture, or a private cluster
of scripts/pg-test-cluster for the database restart). Each runs its own
vigil-console. The panels are Python (vstation.py's own DC-09 encoder,
AES-128 *ADM-CID), stop-and-wait, primary path node A and backup path node B,
as a real panel: a frame without an ACK in 2 s is sent again, the same
sequence and payload with a fresh timestamp, on the other path.

Cases:
- kill_a_mid_flood: 12 panels flood; node A is killed with SIGKILL when 300
  events are ACKed; the panels go on through B. Every event is ACKed in the
  end, and each is in the store exactly once (the retries of events A
  committed but never answered meet the shared window's unique key on B).
  A duress sent after the kill is on node B's console; one sent to A before
  it reached B's console within a second.
- retry_on_the_other_node_is_stored_once: an event ACKed by A and sent again
  to B is ACKed by B and stored once (the shared window's unique key).
- take_is_exclusive: operators on A's and B's consoles take one alarm at the
  same moment: exactly one succeeds.
- supervision_once: a supervised panel goes silent: one node raises the
  failure (one log line over both nodes, one alarm).
- database_restart_mid_flood (own cluster): the database stops mid-flood and
  starts again: the nodes stop ACKing while it is away (and say so), resume by
  themselves, and every ACKed event is in the store once. Then a COMMIT that
  never returns (a synchronous standby that does not exist): no ACK, and
  SIGTERM still stops the node (exit 1, after STN_STOP_WAIT_MS).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "console"))
import vconsole as vc  # noqa: E402
from vconsole import v  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
KEY = "0123456789ABCDEF"
DURESS = "1121 01 001"
NODE_CFG = {"account_rate_per_s": 1000000, "account_burst": 1000000,
            "max_connections_per_address": 100000, "supervision_grace_s": 1}


def node_pair(args, accounts, config=None):
    """Rig A (with its accounts) and rig B on A's database; both started."""
    cfg = dict(NODE_CFG)
    cfg.update(config or {})
    a = vc.Rig(args, config=cfg, accounts=accounts, name="node-a")
    a.start()
    b = vc.Rig(args, config=cfg, name="node-b", store_of=a.st)
    b.start()
    return a, b


class Panel(threading.Thread):
    """Stop-and-wait, primary node then backup; resends an unanswered event on
    the other path. acked: (account, seq, payload) as ACKed."""

    def __init__(self, acct, nodes, n, duress_seqs=()):
        super().__init__(daemon=True)
        self.acct, self.nodes, self.n = acct, nodes, n
        self.duress_seqs = set(duress_seqs)
        self.acked = []
        self.resends = 0
        self.path = 0
        self.stop_at = None
        self.error = None

    def payload(self, seq):
        return DURESS if seq in self.duress_seqs else "3441 01 %03d" % (seq % 1000)

    def run(self):
        conn = None
        seq = 1
        deadline = time.monotonic() + 120
        try:
            while seq <= self.n:
                if time.monotonic() > deadline:
                    raise AssertionError("panel %s: event %d not ACKed in 120 s" % (self.acct, seq))
                p = self.payload(seq)
                try:
                    if conn is None:
                        conn = v.Conn(self.nodes[self.path].tcp, timeout=2.0)
                    conn.send(v.cid(seq, self.acct, p, key=KEY.encode()))
                    r = conn.recv_frame(timeout=2.0)
                    v.expect_ack(r, seq, self.acct, key=KEY.encode())
                    self.acked.append((self.acct, seq, p))
                    seq += 1
                except (OSError, AssertionError):
                    if conn is not None:
                        conn.close()
                    conn = None
                    self.resends += 1
                    self.path = 1 - self.path      # the other path
                    time.sleep(0.1)
        except Exception as e:    # reported by the test
            self.error = e
        finally:
            if conn is not None:
                conn.close()


def start_flood(panels, acks):
    """Starts the panels and returns once they hold `acks` ACKs together."""
    for p in panels:
        p.start()
    t0 = time.monotonic()
    while sum(len(p.acked) for p in panels) < acks:
        assert time.monotonic() - t0 < 60, "%d ACKs not reached in 60 s" % acks
        time.sleep(0.005)


def store_rows(st, sql):
    return v.pg_query(st.pgdb, sql)


def check_once(st, panels):
    """Every ACKed event in the store exactly once; nothing stored twice."""
    rows = store_rows(st, "SELECT account, seq, count(*) FROM events GROUP BY account, seq")
    count = {(r[0], int(r[1])): int(r[2]) for r in rows}
    acked = [(a, s) for p in panels for (a, s, _) in p.acked]
    lost = [k for k in acked if k not in count]
    dup = {k: c for k, c in count.items() if c != 1}
    print("events: %d ACKed, %d rows in the store, %d lost, %d stored more than once, "
          "%d resends" % (len(acked), sum(count.values()), len(lost), len(dup),
                          sum(p.resends for p in panels)))
    assert not lost, "ACKed events missing from the store: %r" % lost[:20]
    assert not dup, "events stored more than once: %r" % list(dup.items())[:20]
    return count


def wait_alarm(client, acct, kind, timeout):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        for a in client.alarms():
            if str(a["account"]).upper() == acct and a["kind"] == kind:
                return a, time.monotonic() - t0
        time.sleep(0.02)
    raise AssertionError("no %s alarm of %s on the console in %.0f s" % (kind, acct, timeout))


def panel_accounts(n):
    return ["%04X" % (0x2000 + i) for i in range(n)]


def test_kill_a_mid_flood(ctx):
    args = ctx.args
    accts = panel_accounts(12) + ["7777"]
    a, b = node_pair(args, [{"number": x, "key": KEY} for x in accts])
    try:
        ca, cb = a.client("alice"), b.client("bob")
        # a duress to node A shows on node B's console within a second
        c = v.Conn(a.st.tcp)
        c.send(v.cid(1, "7777", DURESS, key=KEY.encode()))
        v.expect_ack(c.recv_frame(timeout=3.0), 1, "7777", key=KEY.encode())
        c.close()
        _, dt = wait_alarm(cb, "7777", "duress", 5.0)
        print("a duress ACKed by node A was on node B's console %.0f ms later" % (dt * 1000))
        assert dt <= 1.0, "node B's console saw node A's duress after %.2f s (> 1 s)" % dt
        # the flood; A killed at 300 ACKs; a duress after it
        panels = [Panel(x, (a.st, b.st), 60, duress_seqs=(45,) if i == 0 else ())
                  for i, x in enumerate(accts[:12])]
        start_flood(panels, 300)
        a.st.proc.send_signal(signal.SIGKILL)
        a.st.proc.wait()
        killed_at = sum(len(p.acked) for p in panels)
        print("node A killed (SIGKILL) at %d ACKs" % killed_at)
        for p in panels:
            p.join(150)
            assert not p.is_alive(), "panel %s still running" % p.acct
            assert p.error is None, "panel %s: %s" % (p.acct, p.error)
            assert len(p.acked) == p.n, "panel %s: %d of %d ACKed" % (p.acct, len(p.acked), p.n)
        check_once(b.st, panels)
        # the duress sent during the flood: on B's console
        duress_acct = accts[0]
        al, _ = wait_alarm(cb, duress_acct, "duress", 5.0)
        assert al["priority"] == 1, al
        ids = store_rows(b.st, "SELECT count(*) FROM alarms WHERE account = '%s' AND kind = 'duress'"
                         % duress_acct)
        assert int(ids[0][0]) == 1, "one duress alarm, got %s" % ids
    finally:
        a.st.proc = a.st.proc if a.st.alive() else None
        b.close(ok=True)
        a.close(ok=False)


def test_retry_on_the_other_node_is_stored_once(ctx):
    """An event ACKed by node A, sent again (same sequence and payload, a fresh
    timestamp) to node B, as a panel does when A's ACK never reached it: B ACKs
    it and stores nothing; a new event with the same sequence but another
    payload is stored."""
    args = ctx.args
    a, b = node_pair(args, [{"number": "5678", "key": KEY}])
    try:
        for node in (a.st, b.st):
            c = v.Conn(node.tcp)
            c.send(v.cid(7, "5678", "1130 01 004", key=KEY.encode()))
            v.expect_ack(c.recv_frame(timeout=3.0), 7, "5678", key=KEY.encode())
            c.close()
        rows = store_rows(a.st, "SELECT seq, count(*) FROM events WHERE account = '5678'"
                          " GROUP BY seq")
        assert rows == [["7", "1"]], "the retry on node B was stored again: %r" % rows
        al = store_rows(a.st, "SELECT count(*) FROM alarms WHERE account = '5678'")
        assert al == [["1"]], "one burglary alarm, got %r" % al
        c = v.Conn(b.st.tcp)
        c.send(v.cid(7, "5678", "1130 01 005", key=KEY.encode()))
        v.expect_ack(c.recv_frame(timeout=3.0), 7, "5678", key=KEY.encode())
        c.close()
        rows = store_rows(a.st, "SELECT count(*) FROM events WHERE account = '5678'")
        assert rows == [["2"]], "another payload under the same sequence is a new event: %r" % rows
        print("a retry on the other node: ACKed, stored once; another payload: stored")
    finally:
        b.close(ok=True)
        a.close(ok=True)


def test_take_is_exclusive(ctx):
    args = ctx.args
    a, b = node_pair(args, [{"number": "3456", "key": KEY}])
    try:
        ca, cb = a.client("alice"), b.client("bob")
        c = v.Conn(b.st.tcp)
        c.send(v.cid(1, "3456", "1130 01 003", key=KEY.encode()))
        v.expect_ack(c.recv_frame(timeout=3.0), 1, "3456", key=KEY.encode())
        c.close()
        al, _ = wait_alarm(ca, "3456", "burglary", 5.0)
        aid = int(al["id"])
        res = {}
        barrier = threading.Barrier(2)

        def take(name, cl):
            barrier.wait()
            res[name] = cl.act(aid, "take")

        ts = [threading.Thread(target=take, args=(n, cl)) for n, cl in (("alice", ca), ("bob", cb))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        ok = [n for n, r in res.items() if r.status == 200]
        print("take at once on both nodes: %s" % {n: r.status for n, r in res.items()})
        assert len(ok) == 1, "exactly one take succeeds: %r" % {n: (r.status, r.body[:200])
                                                                for n, r in res.items()}
        who = ok[0]
        for cl in (ca, cb):
            assert cl.alarm(aid)["taken_by"] == who, cl.alarm(aid)
    finally:
        b.close(ok=True)
        a.close(ok=True)


def test_supervision_once(ctx):
    args = ctx.args
    a, b = node_pair(args, [{"number": "4567", "key": KEY, "supervision_s": 2}])
    try:
        c = v.Conn(b.st.tcp)
        c.send(v.cid(1, "4567", "1602 00 000", key=KEY.encode()))
        v.expect_ack(c.recv_frame(timeout=3.0), 1, "4567", key=KEY.encode())
        c.close()
        cb = b.client("bob")
        wait_alarm(cb, "4567", "comm_failure", 15.0)
        time.sleep(3.0)    # time for a second node to raise its own, if it did
        rx = re.compile(r"supervision: account 4567 silent")
        n = len(rx.findall(a.st.log_text())) + len(rx.findall(b.st.log_text()))
        rows = store_rows(b.st, "SELECT count(*) FROM alarms WHERE account = '4567'"
                          " AND kind = 'comm_failure'")
        print("supervision failures raised over both nodes: %d; alarms: %s" % (n, rows[0][0]))
        assert n == 1, "one node raises the failure, %d lines over both" % n
        assert int(rows[0][0]) == 1, rows
    finally:
        b.close(ok=True)
        a.close(ok=True)


def cluster_su(cl, sql):
    """sql as the private cluster's superuser (postgres, over its Unix socket)."""
    port = open(os.path.join(cl, "port")).read().strip()
    argv = ["psql", "-X", "-q", "-h", cl, "-p", port, "-U", "postgres", "-d", "postgres",
            "-c", sql]
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--"] + argv
    subprocess.run(argv, check=True, timeout=30)


def test_database_restart_mid_flood(ctx):
    """On a private cluster: pg-test-cluster halt, then start (same port)."""
    args = ctx.args
    import tempfile
    d = tempfile.mkdtemp(prefix="vst-pg-restart-")
    os.chmod(d, 0o755)
    cl = os.path.join(d, "cluster")
    script = os.path.join(REPO, "scripts", "pg-test-cluster")
    subprocess.run([script, "start", cl], check=True, timeout=120)
    saved = v.PG_URI
    try:
        v.PG_URI = open(os.path.join(cl, "uri")).read().strip()
        accts = panel_accounts(8)
        a, b = node_pair(args, [{"number": x, "key": KEY} for x in accts])
        try:
            panels = [Panel(x, (a.st, b.st), 50) for x in accts]
            start_flood(panels, 150)
            subprocess.run([script, "halt", cl], check=True, timeout=60)
            at = sum(len(p.acked) for p in panels)
            time.sleep(3.0)
            during = sum(len(p.acked) for p in panels) - at
            print("database stopped at %d ACKs; %d ACKs while it was away (the in-flight "
                  "ones committed before it stopped)" % (at, during))
            assert during <= len(panels), "ACKs went on without a database: %d" % during
            subprocess.run([script, "start", cl], check=True, timeout=120)
            for p in panels:
                p.join(150)
                assert p.error is None, "panel %s: %s" % (p.acct, p.error)
                assert len(p.acked) == p.n, "panel %s: %d of %d" % (p.acct, len(p.acked), p.n)
            check_once(a.st, panels)
            for st in (a.st, b.st):
                log = st.wait_log("event=store_up")
                assert "event=store_down" in log, "a node did not say the database was lost"
                assert "event=store_up" in log, "a node did not say the database was back"
            # A database that takes a COMMIT and never answers (a synchronous
            # standby that does not exist): no ACK, and SIGTERM still stops the node.
            for sql in ("ALTER SYSTEM SET synchronous_standby_names = 'nobody'",
                        "SELECT pg_reload_conf()"):
                cluster_su(cl, sql)
            c = v.Conn(a.st.tcp)
            c.send(v.cid(51, accts[0], "1130 01 009", key=KEY.encode()))
            r = c.recv_frame(timeout=2.0)
            assert r is None, "a reply while the COMMIT waits: %r" % (r,)
            c.close()
            t0 = time.monotonic()
            a.st.proc.send_signal(signal.SIGTERM)
            rc = a.st.proc.wait(30)
            dt = time.monotonic() - t0
            print("SIGTERM with a COMMIT that never returns: exit %d after %.1f s" % (rc, dt))
            assert rc == 1, rc
            assert "event=stop_abandoned" in a.st.log_text()
            for sql in ("ALTER SYSTEM RESET synchronous_standby_names", "SELECT pg_reload_conf()"):
                cluster_su(cl, sql)
        finally:
            b.close(ok=True)
            a.close(ok=True)
    finally:
        v.PG_URI = saved
        subprocess.run([script, "stop", cl], timeout=120)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    if not v.PG_URI:
        print("VIGIL_TEST_PG_URI is not set: run under ctest's pg fixture")
        sys.exit(1)
    vc.run_cases([test_kill_a_mid_flood, test_retry_on_the_other_node_is_stored_once,
                  test_take_is_exclusive, test_supervision_once,
                  test_database_restart_mid_flood])
