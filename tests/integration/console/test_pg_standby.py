#!/usr/bin/python3
"""Losing the database machine loses no ACKed event (issue 15, make test-long).

A PostgreSQL primary with a synchronous standby (synchronous_commit = on,
synchronous_standby_names = 'FIRST 1 (standby1)'), both throwaway clusters on
127.0.0.1 run as the unprivileged postgres user, as docs/deploy.md describes.
vigil-station's store is a libpq multi-host URI naming both with
target_session_attrs=read-write. Panels flood it (stop-and-wait, resending
what is not ACKed); at 300 ACKs the primary is stopped the hard way
(pg_ctl stop -m immediate: no shutdown checkpoint, as a crash) and the standby
promoted, and (docs/deploy.md, failover step 4) its synchronous_standby_names
cleared. The station finds the new primary by itself, the panels go on, and
every event ever ACKed is on the promoted standby exactly once.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_two_nodes as tn  # noqa: E402
from test_two_nodes import v  # noqa: E402


def bindir():
    for b in sorted(os.listdir("/usr/lib/postgresql"), key=lambda x: [int(p) for p in x.split(".")
                                                                        if p.isdigit()],
                    reverse=True):
        d = "/usr/lib/postgresql/%s/bin" % b
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    raise AssertionError("no PostgreSQL server (install the postgresql package)")


def as_pg(argv, **kw):
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--"] + argv
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=120, **kw)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def psql(port, sql, db="postgres"):
    p = subprocess.run(["psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-p", str(port), "-U",
                        "postgres", "-d", db, "-c", sql], capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0:
        raise AssertionError("psql: %s" % p.stderr)
    return p.stdout.strip()


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--station", required=True)
    ap.add_argument("--vigil", required=True)
    ap.add_argument("--console", default=None)
    args = ap.parse_args()
    B = bindir()
    d = tempfile.mkdtemp(prefix="vst-standby-")
    os.chmod(d, 0o755)
    prim, stby = os.path.join(d, "primary"), os.path.join(d, "standby")
    for x in (prim, stby):
        os.makedirs(x)
        if os.geteuid() == 0:
            shutil.chown(x, "postgres", "postgres")
    p1, p2 = free_port(), free_port()
    st = None
    try:
        as_pg([B + "/initdb", "-D", prim + "/data", "-U", "postgres", "-E", "UTF8",
               "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=trust"])
        with open(prim + "/data/postgresql.conf", "a") as f:
            f.write("listen_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n"
                    "fsync = on\nwal_level = replica\nmax_wal_senders = 5\n"
                    "synchronous_commit = on\n"
                    "synchronous_standby_names = 'FIRST 1 (standby1)'\n"
                    "log_min_messages = warning\n" % prim)
        as_pg([B + "/pg_ctl", "start", "-w", "-D", prim + "/data", "-l", prim + "/log",
               "-o", "-p %d" % p1])
        as_pg([B + "/pg_basebackup", "-d", "host=127.0.0.1 port=%d user=postgres "
               "application_name=standby1" % p1, "-D", stby + "/data", "-R", "-X", "stream"])
        with open(stby + "/data/postgresql.auto.conf", "a") as f:
            f.write("unix_socket_directories = '%s'\n" % stby)
        as_pg([B + "/pg_ctl", "start", "-w", "-D", stby + "/data", "-l", stby + "/log",
               "-o", "-p %d" % p2])
        t0 = time.monotonic()
        while psql(p1, "SELECT sync_state FROM pg_stat_replication WHERE "
                       "application_name = 'standby1'") != "sync":
            assert time.monotonic() - t0 < 30, "the standby never became synchronous"
            time.sleep(0.2)
        print("primary :%d, synchronous standby :%d" % (p1, p2))
        v.PG_URI = ("postgresql://postgres@127.0.0.1:%d,127.0.0.1:%d/postgres"
                    "?target_session_attrs=read-write&connect_timeout=2" % (p1, p2))
        accts = tn.panel_accounts(8)
        st = v.Station(args, config=dict(tn.NODE_CFG), name="standby-node")
        for x in accts:
            st.add_account(x, key=tn.KEY)
        st.start()
        panels = [tn.Panel(x, (st, st), 80) for x in accts]
        tn.start_flood(panels, 300)
        as_pg([B + "/pg_ctl", "stop", "-D", prim + "/data", "-m", "immediate"])
        at = sum(len(p.acked) for p in panels)
        print("primary stopped (immediate) at %d ACKs" % at)
        time.sleep(1.0)
        as_pg([B + "/pg_ctl", "promote", "-w", "-D", stby + "/data"])
        # docs/deploy.md, failover step 4: the promoted server has no synchronous
        # partner; until one is rebuilt, its COMMITs wait (the station stops ACKing).
        # The administrator here accepts running on one database meanwhile.
        psql(p2, "ALTER SYSTEM SET synchronous_standby_names = ''")
        psql(p2, "SELECT pg_reload_conf()")
        print("standby promoted 1 s after; synchronous_standby_names cleared on it")
        for p in panels:
            p.join(150)
            assert p.error is None, "panel %s: %s" % (p.acct, p.error)
            assert len(p.acked) == p.n, "panel %s: %d of %d ACKed" % (p.acct, len(p.acked), p.n)
        # every ACKed event on the promoted standby, once
        rows = psql(p2, "SELECT account || ' ' || seq || ' ' || count(*) FROM events "
                        "GROUP BY account, seq", db=st.pgdb).splitlines()
        count = {(r.split()[0], int(r.split()[1])): int(r.split()[2]) for r in rows if r}
        acked = [(a, s) for p in panels for (a, s, _) in p.acked]
        lost = [k for k in acked if k not in count]
        dup = [k for k, c in count.items() if c != 1]
        print("events: %d ACKed, %d on the promoted standby, %d lost, %d twice"
              % (len(acked), sum(count.values()), len(lost), len(dup)))
        assert not lost, "ACKed events lost with the primary: %r" % lost[:20]
        assert not dup, "events stored twice: %r" % dup[:20]
        log = st.wait_log("event=store_up")
        assert "event=store_down" in log and "event=store_up" in log, log[-3000:]
        print("PASS test_standby_promoted_mid_flood")
    finally:
        if st is not None:
            if st.alive():
                st.stop()
            st.pgdb = None          # the database went with the clusters
            st.cleanup()
        for x in (stby, prim):
            if os.path.exists(x + "/data/postmaster.pid"):
                try:
                    as_pg([B + "/pg_ctl", "stop", "-D", x + "/data", "-m", "immediate"])
                except Exception:
                    pass
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
