#!/usr/bin/python3
"""Operations around the receiver: SIGHUP reloads a reloadable key (log_level), an
untaken priority-1 alarm is escalated after escalate_after_s, and `vigil backup PATH`
makes a consistent copy while the daemon runs and receives (every event ACKed before
the backup began is in the copy)."""
import json
import os
import signal
import subprocess
import threading
import time

import vstation as v


def test_sighup_reload(args):
    with v.running(args, [{"number": "1234"}]) as st:
        v.expect_ack(st.exchange(v.cid(1, "1234", "1130 01 001")), 1, "1234")
        st.cfg["log_level"] = "warn"
        st._write_config()
        st.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        assert st.alive(), "SIGHUP killed the daemon"
        mark = len(st.log_text())
        st.add_account("2345")
        time.sleep(v.ACCOUNT_PICKUP_S)
        v.expect_ack(st.exchange(v.cid(2, "2345", "1130 01 001")), 2, "2345")
        v.expect_duh(st.exchange(v.cid(3, "BEEF", "1130 01 001")), 3, "BEEF")
        time.sleep(0.3)
        new = st.log_text()[mark:]
        lines = [l for l in new.splitlines() if l.strip()]
        assert not [l for l in lines if l.startswith("info ")], \
            "log_level warn after SIGHUP, yet info lines: %r" % lines[:5]
        assert [l for l in lines if l.startswith("warn ") and "BEEF" in l], \
            "warn lines must still be logged after the reload: %r" % lines[:5]


def test_escalation(args):
    with v.running(args, [{"number": "1234"}, {"number": "2345"}],
                   config={"escalate_after_s": 1}) as st:
        v.expect_ack(st.exchange(v.cid(1, "1234", "1121 01 003")), 1, "1234")
        v.expect_ack(st.exchange(v.cid(2, "2345", "1130 01 004")), 2, "2345")
        deadline = time.monotonic() + 8
        while True:
            al = st.alarms()
            d = [a for a in al if a["kind"] == "duress"]
            assert d, al
            if d[0]["state"] == "escalated" or d[0].get("escalated") is True:
                break
            assert time.monotonic() < deadline, \
                "an untaken duress alarm was not escalated 8 s after (escalate_after_s 1): %r" % d
            time.sleep(0.3)
        b = [a for a in al if str(a["account"]).upper() == "2345"]
        assert b and b[0]["state"] == "new" and not b[0].get("escalated"), \
            "only priority 1 escalates: %r" % b
        assert str(al[0]["account"]).upper() == "1234", "the escalated duress stays first"


def test_backup_while_running(args):
    key = b"0123456789ABCDEF"
    with v.running(args, [{"number": "B%03d" % i, "key": key.decode()} for i in range(3)],
                   config={"account_rate_per_s": 10000, "account_burst": 10000}) as st:
        acked = set()
        halt = threading.Event()
        errors = []

        def traffic(acct):
            try:
                c = st.conn()
                seq = 1
                while not halt.is_set() and seq < 9000:
                    c.send(v.cid(seq, acct, "1130 01 001", key=key))
                    r = v.Reply(c.recv_frame(), key=key)
                    assert r.token == "ACK" and r.seq == seq, r
                    acked.add((acct, seq))
                    seq += 1
                c.close()
            except Exception as e:
                errors.append(e)

        th = [threading.Thread(target=traffic, args=("B%03d" % i,), daemon=True) for i in range(3)]
        for t in th:
            t.start()
        time.sleep(1.0)
        before = set(acked)
        path = os.path.join(st.dir, "backup.db")
        if st.pgdb:     # PostgreSQL: its own tools back it up; `vigil backup` says so
            p = st.vigil("backup", path, check=False)
            halt.set()
            for t in th:
                t.join(timeout=10)
            assert p.returncode != 0 and "pg_dump" in p.stderr, (p.returncode, p.stderr)
            assert not os.path.exists(path), "a PostgreSQL store's backup left a file"
            assert not errors, errors
            return
        st.vigil("backup", path)
        mode = os.stat(path).st_mode & 0o777
        assert mode & 0o077 == 0, "the backup (passcode hashes) is readable by others: %o" % mode
        time.sleep(0.5)
        halt.set()
        for t in th:
            t.join(timeout=10)
        assert not errors, errors
        assert before, "no traffic before the backup"
        # Read the copy through the CLI with a config naming it.
        conf = os.path.join(st.dir, "backup.conf")
        with open(conf, "w") as f:
            f.write("store sqlite:%s\n" % path)
        p = subprocess.run([args.vigil, "-c", conf, "events", "--json"], capture_output=True,
                           text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        got = v.event_keys(json.loads(p.stdout))
        missing = sorted(before - got)
        assert not missing, "%d events ACKed before the backup are not in it, e.g. %r" % (
            len(missing), missing[:5])
        print("backup: %d events in the copy, %d ACKed before it began" % (len(got), len(before)))


def test_retention_keeps_open_alarms_evidence(args):
    """Retention prunes old events, but never the events of an alarm that is still
    open: a duress nobody has closed keeps its evidence past event_retention_days."""
    import sqlite3
    with v.running(args, [{"number": "1234"}], config={"event_retention_days": 1}) as st:
        for seq, payload in ((60, "1401 01 003"), (61, "1121 01 003"), (62, "1401 01 004")):
            v.expect_ack(st.exchange(v.cid(seq, "1234", payload)), seq, "1234")
        st.stop()
        if st.pgdb:
            v.pg_query(st.pgdb, "UPDATE events SET received_at_ms = received_at_ms - 3 * 86400000")
        else:
            db = sqlite3.connect(st.store)
            db.execute("UPDATE events SET received_at_ms = received_at_ms - 3 * 86400000")
            db.commit()
            db.close()
        st.start()                       # prunes once soon after start
        deadline = time.monotonic() + 10
        while "pruned" not in st.log_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        seqs = sorted(e["seq"] for e in st.events("1234"))
        assert seqs == [61, 62], "want the routine event before the open duress pruned and " \
                                 "the duress kept, got seqs %r" % seqs
        duress = [a for a in st.alarms() if a["priority"] == 1]
        assert len(duress) == 1 and duress[0]["kind"] == "duress", duress


def test_migration_race(args):
    """Two programs opening a version-1 store at once (the daemon and a vigil command,
    here two vigil commands) migrate it once: neither fails on the other's work."""
    import re
    import sqlite3
    import tempfile
    src = open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "..", "..", "..", "station", "schema_sqlite.c")).read()
    m1 = re.search(r"/\* 1: .*?\n(.*?)/\* 2:", src, re.S)
    assert m1, "migration 1 not found in schema_sqlite.c"
    sql1 = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m1.group(1)))
    with tempfile.TemporaryDirectory() as d:
        store = os.path.join(d, "store.db")
        db = sqlite3.connect(store, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(sql1)
        db.execute("PRAGMA user_version=1")
        conf = os.path.join(d, "s.conf")
        with open(conf, "w") as f:
            f.write("store sqlite:%s\n" % store)
        db.execute("BEGIN IMMEDIATE")      # both read version 1, then wait to migrate
        ps = [subprocess.Popen([args.vigil, "-c", conf, "account", "list"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(2)]
        time.sleep(1.0)
        db.execute("ROLLBACK")
        db.close()
        for p in ps:
            out, err = p.communicate(timeout=30)
            assert p.returncode == 0, "a second opener failed: exit %d: %s" % (p.returncode, err)
        db = sqlite3.connect(store)
        v = db.execute("PRAGMA user_version").fetchone()[0]
        db.close()
        assert v >= 2, "store left at version %d" % v


def test_read_verbs_never_create_store(args):
    """A mistyped store path must not show an empty queue (issue 12, finding 5): the
    read verbs (and every verb that only changes what exists) refuse a store that
    does not exist, exit 2 naming the file, and make no file; only `account add`,
    `operator add` and the daemon create one, and say so once."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        store = os.path.join(d, "typo.db")
        conf = os.path.join(d, "typo.conf")
        with open(conf, "w") as f:
            f.write("store sqlite:%s\n" % store)

        def vigil(*argv):
            return subprocess.run([args.vigil, "-c", conf] + list(argv), capture_output=True,
                                  text=True, timeout=60)

        def leftovers():
            return sorted(n for n in os.listdir(d) if n.startswith("typo.db"))

        for argv in (["alarms"], ["alarms", "--json"], ["alarms", "--all"], ["events"],
                     ["events", "--json"], ["signals"], ["signals", "--json"],
                     ["account", "list"], ["account", "list", "--json"],
                     ["account", "show", "1234"], ["account", "edit", "1234", "--name", "x"],
                     ["account", "remove", "1234"], ["account", "user", "1234", "add", "1",
                                                     "--name", "x"],
                     ["operator", "list"], ["operator", "list", "--json"],
                     ["operator", "disable", "ann"], ["operator", "reset", "ann"],
                     ["backup", os.path.join(d, "copy.db")]):
            p = vigil(*argv)
            what = "vigil %s" % " ".join(argv)
            assert p.returncode == 2, "%s on a missing store: exit %d, want 2 (stdout %r)" % (
                what, p.returncode, p.stdout[:200])
            assert store in p.stderr and "does not exist" in p.stderr, \
                "%s: the message must name the missing store %s: %r" % (what, store, p.stderr)
            assert "[]" not in p.stdout, "%s printed an empty list: %r" % (what, p.stdout)
            assert not leftovers(), "%s created %r" % (what, leftovers())
            assert not os.path.exists(os.path.join(d, "copy.db")), "%s made a backup" % what

        console = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(args.station))),
                               "console", "vigil-console")
        if os.path.exists(console):
            with open(conf, "a") as f:
                f.write("http_listen 127.0.0.1:0\n")
            try:
                p = subprocess.run([console, "-c", conf], capture_output=True, text=True,
                                   timeout=20)
                rc, out = p.returncode, p.stdout + p.stderr
            except subprocess.TimeoutExpired as e:
                rc, out = None, "still running after 20 s"
            assert rc not in (0, None), "vigil-console on a missing store: %s" % out[-500:]
            assert store in out, "vigil-console must name the missing store: %r" % out[-500:]
            assert not leftovers(), "vigil-console created %r" % leftovers()

        p = vigil("account", "add", "1234", "--name", "A", "--address", "1 Road")
        assert p.returncode == 0, p.stderr
        assert p.stderr.count("created store %s" % store) == 1, \
            "account add must say once that it created the store: %r" % p.stderr
        p = vigil("account", "add", "2345", "--name", "B", "--address", "2 Road")
        assert p.returncode == 0 and "created" not in p.stderr, p.stderr
        p = vigil("alarms", "--json")
        assert p.returncode == 0 and json.loads(p.stdout) == [], (p.returncode, p.stdout)

        store2 = os.path.join(d, "ops.db")
        with open(conf, "w") as f:
            f.write("store sqlite:%s\n" % store2)
        p = vigil("operator", "add", "ann", "--role", "operator")
        assert p.returncode == 0, p.stderr
        assert p.stderr.count("created store %s" % store2) == 1, p.stderr

    if v.PG_URI:                          # a database is made by its administrator
        return
    with v.running(args, []) as st:       # the daemon creates its store, and says so
        assert os.path.exists(st.store)
        assert "created store %s" % st.store in st.log_text(), st.log_text()[-2000:]


if __name__ == "__main__":
    v.run_cases([test_sighup_reload, test_escalation, test_backup_while_running,
                 test_retention_keeps_open_alarms_evidence, test_migration_race,
                 test_read_verbs_never_create_store])
