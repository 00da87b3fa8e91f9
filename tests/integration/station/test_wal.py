#!/usr/bin/python3
"""The store's WAL under sustained traffic: it stays short and starts again from its
beginning, and a reader holding an old snapshot never stops the commits.

SQLite only begins its WAL again when a checkpoint has copied every frame at the moment a
write transaction starts; under steady traffic a checkpoint on another connection never
sees that moment, so without the daemon's help the WAL grows without end (and a blocking
RESTART checkpoint would hold every commit, a duress's too, while it copies). The daemon's
stats line reports `wal_restarts` and `wal_frames_max`; the file itself is checked too.

- steady_traffic: 6 pipelined panels for 4 s; the WAL began again at least once, never
  held more than 4,096 pages, the -wal file stays under 16 MiB, every ACK is stored.
- reader_holds_snapshot: a second process keeps a read transaction open for 2 s in the
  middle of the traffic: ACKs keep coming while it holds it (the checkpoints are PASSIVE
  and wait for nobody), and once it lets go the WAL begins again.
- idle_after_burst: traffic stops while a reader holds its snapshot, so the last commit
  leaves a WAL of more than 256 pages; once the reader lets go, the idle daemon copies it
  and then rests: under 0.3 s of CPU over the next 2 s (it once went on asking for
  checkpoints of a WAL already copied, back to back: a whole core while idle)."""
import os
import sqlite3
import time

import vstation as v
from test_crash import Panel, check_all_acked_stored

KEY = "0123456789ABCDEF"
CFG = {"account_rate_per_s": 10000, "account_burst": 10000, "stats_interval_s": 1}
WAL_PAGES_MAX = 2048
WAL_BYTES_MAX = 16 << 20


def wal_size(st):
    try:
        return os.path.getsize(st.store + "-wal")
    except OSError:
        return 0


def start_panels(st, accts):
    panels = [Panel(st, a, KEY.encode(), 24) for a in accts]
    for p in panels:
        p.start()
    return panels


def stop_panels(panels):
    for p in panels:
        p.halt.set()
    for p in panels:
        p.join(timeout=15)


def wal_station(args, name, prefix, n):
    """A running daemon (vstation.running: stopped with exit 0 checked, log printed on
    failure) with n keyed accounts prefix00..; yields (station, accounts)."""
    accts = ["%s%02d" % (prefix, i) for i in range(n)]
    return v.running(args, accounts=[{"number": a, "key": KEY} for a in accts], config=CFG,
                     name=name), accts


def hold_snapshot(st):
    """A second process's read transaction on the store, held until commit()."""
    db = sqlite3.connect(st.store, timeout=5, isolation_level=None)
    db.execute("BEGIN")
    held = db.execute("SELECT count(*) FROM events").fetchone()[0]
    return db, held


def let_go(db):
    db.execute("COMMIT")
    db.close()


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_steady_traffic(args):
    running, accts = wal_station(args, "wal", "5A", 6)
    with running as st:
        panels = start_panels(st, accts)
        biggest = 0
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:
            biggest = max(biggest, wal_size(st))
            time.sleep(0.05)
        stop_panels(panels)
        time.sleep(1.5)                       # one more stats line
        s = st.stats()
        n = check_all_acked_stored(st, panels, "steady traffic")
        print("%d ACKed events; commits %d; wal_restarts %d; wal_frames_max %d; "
              "largest -wal file %.1f MiB" % (n, s["commits"], s["wal_restarts"],
                                              s["wal_frames_max"], biggest / 1048576))
        assert s["wal_restarts"] >= 1, "the WAL never began again (%r)" % s
        assert s["wal_frames_max"] <= WAL_PAGES_MAX, \
            "the WAL grew to %d pages" % s["wal_frames_max"]
        assert biggest <= WAL_BYTES_MAX, "the -wal file grew to %d bytes" % biggest
        # the stats line splits a commit: the statements before COMMIT are part of it
        assert 0 < s["rows_ms_avg"] <= s["commit_ms_avg"] + 0.001, \
            "rows_ms_avg %r vs commit_ms_avg %r" % (s.get("rows_ms_avg"), s["commit_ms_avg"])


def test_reader_holds_snapshot(args):
    running, accts = wal_station(args, "walreader", "5B", 4)
    with running as st:
        panels = start_panels(st, accts)
        time.sleep(1.0)
        db, held = hold_snapshot(st)
        before = sum(len(p.acked) for p in panels)
        time.sleep(2.0)
        during = sum(len(p.acked) for p in panels) - before
        restarts_held = st.stats()["wal_restarts"]
        let_go(db)
        time.sleep(2.5)
        restarts_after = st.stats()["wal_restarts"]
        stop_panels(panels)
        n = check_all_acked_stored(st, panels, "reader holding a snapshot")
        print("reader held a snapshot of %d events for 2 s: %d ACKs meanwhile; "
              "wal_restarts %d while held, %d after; %d ACKed in all"
              % (held, during, restarts_held, restarts_after, n))
        assert during >= 100, "only %d ACKs while a reader held its snapshot" % during
        assert restarts_after > restarts_held, \
            "the WAL did not begin again once the reader let go"


def test_idle_after_burst(args):
    running, accts = wal_station(args, "walidle", "5C", 4)
    with running as st:
        panels = start_panels(st, accts)
        time.sleep(0.5)
        db, _ = hold_snapshot(st)
        time.sleep(1.5)
        stop_panels(panels)                   # the last commits happen while it holds
        time.sleep(0.5)
        frames = st.stats(fresh=True)["wal_frames_max"]
        let_go(db)
        time.sleep(1.5)                       # a tick starts the checkpoint, the tail follows
        c0 = cpu_s(st.proc.pid)
        time.sleep(2.0)
        used = cpu_s(st.proc.pid) - c0
        n = check_all_acked_stored(st, panels, "idle after a burst")
        print("WAL up to %d pages while the reader held it; %d ACKed; idle daemon used "
              "%.2f s of CPU in 2 s" % (frames, n, used))
        assert frames > 256, "the WAL never passed 256 pages (%d): the case was not set up" \
            % frames
        assert used < 0.3, "the idle daemon used %.2f s of CPU in 2 s" % used


if __name__ == "__main__":
    v.run_cases([test_steady_traffic, test_reader_holds_snapshot, test_idle_after_burst])
