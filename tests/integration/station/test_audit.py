#!/usr/bin/env python3
"""test_audit.py — the audit trail (docs/audit.md) through a real vigil-station and
the vigil CLI: a day's traffic of 30 panels in a burst, operators' actions on the
control socket and `vigil` administration running at the same time (two writers,
one chain), then `vigil audit verify` passes and an independent recomputation
(auditpy.py) agrees with every hash and with the head file. Then each attack
(an edited row, a deleted tail, a chain recomputed by hand, a missing head file)
makes `vigil audit verify` exit 1 naming the first bad entry.
"""
import json
import os
import re
import shutil
import socket
import sqlite3
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import auditpy  # noqa: E402
import vstation as v  # noqa: E402

PANELS = ["%04X" % (0x5100 + i) for i in range(30)]


def ctl(st, req, timeout=10.0):
    """One JSON line on the station's control socket (store + .ctl), one reply."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(st.store + ".ctl")
        s.sendall((json.dumps(req) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(4096)
            assert chunk, "control socket closed without a reply to %r" % req
            buf += chunk
        return json.loads(buf)
    finally:
        s.close()


def panel_day(st, acct, errors):
    """One panel's day, in order on one connection: 24 hourly tests, an opening and
    a closing, a burglary and its restore; every frame ACKed."""
    payloads = ["1602 00 000"] * 12 + ["1401 01 002", "1130 01 003", "3130 01 003"] + \
        ["1602 00 000"] * 12 + ["3401 01 002"]
    try:
        c = st.conn(timeout=15)
        try:
            for seq, p in enumerate(payloads, 1):
                c.send(v.cid(seq, acct, p))
                v.expect_ack(c.recv_frame(timeout=15), seq, acct)
        finally:
            c.close()
    except Exception as e:   # reported by the main thread
        errors.append("%s: %r" % (acct, e))


def admin_loop(st, stop, done, errors):
    """`vigil` writing the same store while the station commits: account edits and
    operators added (each its own entry in the one chain)."""
    i = 0
    while not stop.is_set() and i < 12:
        try:
            st.vigil("account", "edit", PANELS[i % len(PANELS)], "--name", "Renamed %d" % i)
            done.append("account.edit")
            if i % 4 == 0:
                st.vigil("operator", "add", "op%d" % i, "--role", "operator")
                done.append("operator.add")
        except AssertionError as e:
            errors.append(str(e))
        i += 1


def verify(st_or_conf, *extra):
    conf = st_or_conf if isinstance(st_or_conf, str) else st_or_conf.conf
    import subprocess
    return subprocess.run([ARGS.vigil, "-c", conf, "audit", "verify"] + list(extra),
                          capture_output=True, text=True, timeout=60)


def kinds(store):
    return [r[3] for r in auditpy.rows(store)]


def verify_loop(st, stop, runs, errors):
    """`vigil audit verify` again and again while the station appends: it must
    never see a head file ahead of the table it reads (no false alarm)."""
    while not stop.is_set():
        p = verify(st)
        runs.append(p.returncode)
        if p.returncode != 0:
            errors.append("verify during traffic: %d %s %s" % (p.returncode, p.stdout,
                                                               p.stderr))


def run_day(args, st):
    """The burst: 30 panels' day + a duress + operators' actions + admin writes,
    with `vigil audit verify` running beside them."""
    errors, done, runs = [], [], []
    stop, vstop = threading.Event(), threading.Event()
    admin = threading.Thread(target=admin_loop, args=(st, stop, done, errors))
    admin.start()
    ver = threading.Thread(target=verify_loop, args=(st, vstop, runs, errors))
    ver.start()
    ths = [threading.Thread(target=panel_day, args=(st, a, errors)) for a in PANELS]
    for t in ths:
        t.start()
    for t in ths:
        t.join(120)
    vstop.set()
    ver.join(60)
    assert runs, "verify never ran during the traffic"
    # a duress, handled through the control socket as the console would
    st.exchange(v.cid(100, PANELS[0], "1121 01 007"))
    deadline = time.monotonic() + 10
    duress = None
    while duress is None and time.monotonic() < deadline:
        duress = next((a for a in st.alarms() if a["kind"] == "duress"), None)
        time.sleep(0.1)
    assert duress, "no duress alarm"
    did = int(duress["id"])
    r = ctl(st, {"op": "take", "alarm": did, "operator": "sup1", "role": "supervisor"})
    assert r.get("ok") is True, r
    r = ctl(st, {"op": "take", "alarm": did, "operator": "op9", "role": "operator"})
    assert r.get("ok") is False and r.get("code") == "conflict", r
    r = ctl(st, {"op": "audit", "kind": "alarm.view", "operator": "sup1", "subject": str(did),
                 "detail": {"address": "127.0.0.1"}})
    assert r.get("ok") is True, r
    r = ctl(st, {"op": "audit", "kind": "login", "operator": "sup1",
                 "detail": {"password": "hunter22"}})
    assert r.get("ok") is False and r.get("code") == "invalid", \
        "a detail carrying a password must be refused: %r" % r
    r = ctl(st, {"op": "audit", "kind": "station.stop", "operator": "sup1"})
    assert r.get("ok") is False, "the console must not write the station's kinds: %r" % r
    stop.set()
    admin.join(120)
    assert not errors, errors
    return did, done


def test_day_of_traffic_verifies(args):
    cfg = {"escalate_after_s": 1, "account_rate_per_s": 100000, "account_burst": 100000}
    with v.running(args, [{"number": a} for a in PANELS], config=cfg) as st:
        did, done = run_day(args, st)
        time.sleep(1.5)   # the duress alarm escalates meanwhile? (it is taken: no)
        p = verify(st)    # while the station runs
        assert p.returncode == 0, "verify on a running station: %d %s %s" % (
            p.returncode, p.stdout, p.stderr)
        rc = st.stop()
        assert rc == 0, rc
        store = st.store
        rs = auditpy.rows(store)
        ok, n, last, why = auditpy.check_rows(rs)
        assert ok, "independent recomputation: " + why
        hseq, hhash = auditpy.read_head(store)
        assert (hseq, hhash) == (n, last), "head file %r, table ends at %r" % ((hseq, hhash),
                                                                             (n, last))
        p = verify(st)
        assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
        m = re.match(r"ok (\d+) entries, head (\d+) ([0-9a-f]{64})$", p.stdout.strip())
        assert m and int(m.group(1)) == n and int(m.group(2)) == n and m.group(3) == last, \
            p.stdout
        k = kinds(store)
        assert k[0] == "account.create" and k[-1] == "station.stop", (k[:3], k[-3:])
        assert k.count("station.start") == 1, k.count("station.start")
        db = sqlite3.connect(store)
        nalarms = db.execute("SELECT count(*) FROM alarms").fetchone()[0]
        db.close()
        assert k.count("alarm.opened") == nalarms, (k.count("alarm.opened"), nalarms)
        assert k.count("alarm.restored") == len(PANELS), k.count("alarm.restored")
        assert k.count("account.create") == len(PANELS)
        assert k.count("account.edit") == done.count("account.edit") > 0
        assert k.count("operator.add") == done.count("operator.add") > 0
        # the duress: opened, taken, a refused take, viewed — all with its id
        mine = [(r[2], r[3], r[4], r[6]) for r in rs if r[4] == str(did)]
        assert [x[1] for x in mine if x[1] != "alarm.joined"][:4] == \
            ["alarm.opened", "alarm.take", "alarm.take", "alarm.view"], mine
        take = json.loads(mine[1][3])
        assert mine[1][0] == "sup1" and take["state"] == "taken" and take["taken_by"] == "sup1"
        refused = json.loads(mine[2][3])
        assert mine[2][0] == "op9" and refused["refused"] == "conflict", refused
        text = json.dumps(rs)
        assert "hunter22" not in text
        print("  %d entries over %d frames; head %s..." % (n, len(PANELS) * 28 + 1, last[:16]))


def make_store(args):
    """A short run: accounts, a passcode, an alarm taken and closed; then stopped.
    Returns (dir, store) of a copy the attacks work on."""
    with v.running(args, [{"number": a} for a in PANELS[:3]],
                   config={"escalate_after_s": 3600}) as st:
        pc = os.path.join(st.dir, "pc")
        with open(pc, "w") as f:
            f.write("7391\n")
        st.vigil("account", "passcode", PANELS[0], "--verbal-file", pc)
        for i, a in enumerate(PANELS[:3]):
            v.expect_ack(st.exchange(v.cid(1, a, "1130 01 001")), 1, a)
        ids = []
        deadline = time.monotonic() + 10
        while len(ids) < 3 and time.monotonic() < deadline:
            ids = [int(a["id"]) for a in st.alarms()]
            time.sleep(0.1)
        assert len(ids) == 3, ids
        for i in ids:
            assert ctl(st, {"op": "take", "alarm": i, "operator": "ann",
                            "role": "operator"}).get("ok") is True
        assert st.stop() == 0
        d = tempfile.mkdtemp(prefix="vst-audit-")
        store = os.path.join(d, "store.db")
        src = sqlite3.connect(st.store)
        dst = sqlite3.connect(store)
        src.backup(dst)
        src.close()
        dst.close()
        shutil.copy(st.store + ".audit-head", store + ".audit-head")
        assert "7391" not in json.dumps(auditpy.rows(store)), "a passcode in the trail"
    conf = os.path.join(d, "s.conf")
    with open(conf, "w") as f:
        f.write("store sqlite:%s\n" % store)
    return d, store, conf


def expect_fail(conf, seq, words):
    p = verify(conf)
    assert p.returncode == 1, "verify should fail (exit 1): %d %s %s" % (
        p.returncode, p.stdout, p.stderr)
    assert ("entry %d" % seq) in p.stderr, "should name entry %d: %r" % (seq, p.stderr)
    for w in words:
        assert w in p.stderr, "should say %r: %r" % (w, p.stderr)
    return p


def test_attacks_detected(args):
    d, store, conf = make_store(args)
    try:
        p = verify(conf)
        assert p.returncode == 0, "untouched copy: %d %s %s" % (p.returncode, p.stdout, p.stderr)
        n = len(auditpy.rows(store))
        assert n >= 10, n
        pristine = os.path.join(d, "pristine.db")
        shutil.copy(store, pristine)
        shutil.copy(store + ".audit-head", pristine + ".audit-head")

        def restore():
            shutil.copy(pristine, store)
            shutil.copy(pristine + ".audit-head", store + ".audit-head")

        # 0. the triggers refuse UPDATE and DELETE
        db = sqlite3.connect(store)
        for sql in ("UPDATE audit SET actor='x' WHERE seq=1", "DELETE FROM audit WHERE seq=1"):
            try:
                db.execute(sql)
                db.commit()
                raise AssertionError("%s was allowed" % sql)
            except sqlite3.DatabaseError as e:
                assert "append-only" in str(e), e
        db.close()

        # 1. an edited row (triggers dropped by the attacker)
        victim = 5
        db = sqlite3.connect(store)
        db.execute("DROP TRIGGER audit_no_update")
        db.execute("UPDATE audit SET actor='mallory' WHERE seq=?", (victim,))
        db.commit()
        db.close()
        expect_fail(conf, victim, ["edited"])
        restore()

        # 2. a deleted tail: the last two entries gone
        db = sqlite3.connect(store)
        db.execute("DROP TRIGGER audit_no_delete")
        db.execute("DELETE FROM audit WHERE seq>?", (n - 2,))
        db.commit()
        db.close()
        expect_fail(conf, n - 1, ["missing", "tail"])
        restore()

        # 2b. a deleted entry in the middle
        db = sqlite3.connect(store)
        db.execute("DROP TRIGGER audit_no_delete")
        db.execute("DELETE FROM audit WHERE seq=3")
        db.commit()
        db.close()
        expect_fail(conf, 3, ["missing"])
        restore()

        # 3. the whole chain recomputed by hand after an edit: the table is
        # consistent again (auditpy agrees), only the head file tells
        auditpy.recompute_all(store, edit_seq=victim, edit_after='{"state":"closed"}')
        ok, m, last, why = auditpy.check_rows(auditpy.rows(store))
        assert ok and m == n, "the forged chain should be self-consistent: " + why
        expect_fail(conf, n, ["head", "rewritten"])
        restore()

        # 4. no head file
        os.unlink(store + ".audit-head")
        p = expect_fail(conf, n, ["missing", "head file"])
        restore()

        # 5. back to the pristine copy: passes again (the test can tell them apart)
        p = verify(conf)
        assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_list_filters(args):
    d, store, conf = make_store(args)
    try:
        import subprocess
        out = subprocess.run([args.vigil, "-c", conf, "audit", "list", "--json"],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        allr = json.loads(out.stdout)
        assert [e["seq"] for e in allr] == list(range(1, len(allr) + 1))
        aid = next(e["subject"] for e in allr if e["kind"] == "alarm.take")
        out = subprocess.run([args.vigil, "-c", conf, "audit", "list", "--alarm", aid, "--json"],
                             capture_output=True, text=True, timeout=30)
        mine = json.loads(out.stdout)
        assert mine and all(e["subject"] == aid and e["kind"].startswith("alarm.")
                            for e in mine), mine
        assert [e["kind"] for e in mine] == ["alarm.opened", "alarm.take"], mine
        # every entry's hash as listed is what an independent reader recomputes
        prev = auditpy.GENESIS
        for e in allr:
            h = auditpy.entry_hash(e["seq"], e["at_ms"], e["actor"], e["kind"], e["subject"],
                                   e["before"], e["after"], prev)
            assert h == e["hash"] and e["prev_hash"] == prev, e
            prev = h
        out = subprocess.run([args.vigil, "-c", conf, "audit", "list", "--since", "2099-01-01T00:00:00Z",
                              "--json"], capture_output=True, text=True, timeout=30)
        assert json.loads(out.stdout) == [], out.stdout
        # a backup carries its own head file and verifies on its own
        bk = os.path.join(d, "bk.db")
        out = subprocess.run([args.vigil, "-c", conf, "backup", bk], capture_output=True,
                             text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        assert auditpy.read_head(bk) == auditpy.read_head(store)
        bconf = os.path.join(d, "bk.conf")
        with open(bconf, "w") as f:
            f.write("store sqlite:%s\n" % bk)
        p = verify(bconf)
        assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_config_reload_recorded(args):
    """A reload (SIGHUP) is a configuration change: one config.reload entry naming
    the keys applied and those waiting for a restart; the start names the file."""
    import signal as sig
    with v.running(args, [{"number": PANELS[0]}], config={"escalate_after_s": 30}) as st:
        st.cfg["escalate_after_s"] = 45
        st.cfg["commit_batch_max"] = 2048          # not reloadable
        st._write_config()
        st.send_signal(sig.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "config.reload" not in kinds(st.store):
            time.sleep(0.1)
        assert st.stop() == 0
        rs = auditpy.rows(st.store)
        start = [json.loads(r[6]) for r in rs if r[3] == "station.start"]
        assert start and start[0]["config"] == st.conf, start
        rel = [json.loads(r[6]) for r in rs if r[3] == "config.reload"]
        assert len(rel) == 1, [r[3] for r in rs]
        assert "escalate_after_s" in rel[0]["reloaded"], rel
        assert "commit_batch_max" in rel[0]["after_restart"], rel
        assert rs[-1][3] == "station.stop"
        p = verify(st)
        assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)


def test_broken_trail_never_holds_a_duress(args):
    """The audit table taken away under the running station: a duress is still
    ACKed and stored at once (its entry is lost, and the station says so)."""
    with v.running(args, [{"number": PANELS[1]}]) as st:
        v.expect_ack(st.exchange(v.cid(1, PANELS[1], "1130 01 001")), 1, PANELS[1])
        db = sqlite3.connect(st.store, isolation_level=None, timeout=10)
        db.execute("DROP TRIGGER audit_no_update")
        db.execute("ALTER TABLE audit RENAME TO audit_gone")
        db.close()
        t0 = time.monotonic()
        r = st.exchange(v.cid(2, PANELS[1], "1121 01 004"), timeout=5)
        dt = time.monotonic() - t0
        v.expect_ack(r, 2, PANELS[1])
        assert any(a["kind"] == "duress" for a in st.alarms()), st.alarms()
        deadline = time.monotonic() + 5
        while "could not be appended" not in st.log_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "could not be appended" in st.log_text(), st.log_text()[-2000:]
        print("  duress ACKed in %.1f ms with the trail gone" % (dt * 1000))


def test_tampering_stays_detected_after_more_traffic(args):
    """The station (and vigil) append after the trail was tampered with while it
    was stopped: the head file is never moved onto the tampered chain, so
    `vigil audit verify` still fails once the trail has grown past the old head."""
    for attack in ("tail", "recompute", "no_head", "recompute_live"):
        with v.running(args, [{"number": PANELS[2]}]) as st:
            for i in range(1, 4):
                v.expect_ack(st.exchange(v.cid(i, PANELS[2], "1130 01 00%d" % i)), i, PANELS[2])
            if attack == "recompute_live":
                # under the running station, between two of its commits
                time.sleep(0.5)
                auditpy.recompute_all(st.store, edit_seq=2, edit_after='{"forged":true}')
                for i in range(4, 12):
                    v.expect_ack(st.exchange(v.cid(i, PANELS[2], "1130 01 00%d" % (i % 8))),
                                 i, PANELS[2])
                    v.expect_ack(st.exchange(v.cid(100 + i, PANELS[2],
                                                   "3130 01 00%d" % (i % 8))), 100 + i, PANELS[2])
                assert st.stop() == 0
                p = verify(st)
                assert p.returncode == 1, "recomputed under the station: verify passed: %s %s" \
                    % (p.stdout, p.stderr)
                assert "no longer in the trail" in st.log_text(), st.log_text()[-2000:]
                print("  %s: %s" % (attack, p.stderr.strip()))
                continue
            assert st.stop() == 0
            n = len(auditpy.rows(st.store))
            db = sqlite3.connect(st.store, isolation_level=None)
            db.execute("DROP TRIGGER audit_no_delete")
            db.execute("DROP TRIGGER audit_no_update")
            db.close()
            if attack == "tail":
                db = sqlite3.connect(st.store, isolation_level=None)
                db.execute("DELETE FROM audit WHERE seq>?", (n - 3,))
                db.close()
            elif attack == "recompute":
                auditpy.recompute_all(st.store, edit_seq=2, edit_after='{"forged":true}')
            else:
                os.unlink(st.store + ".audit-head")
            st.start()
            st.vigil("account", "edit", PANELS[2], "--name", "After %s" % attack)
            for i in range(4, 12):     # well past the old head's seq
                v.expect_ack(st.exchange(v.cid(i, PANELS[2], "1130 01 00%d" % (i % 8))), i,
                             PANELS[2])
                v.expect_ack(st.exchange(v.cid(100 + i, PANELS[2], "3130 01 00%d" % (i % 8))),
                             100 + i, PANELS[2])
            assert st.stop() == 0
            assert len(auditpy.rows(st.store)) > n, "the trail did not grow"
            p = verify(st)
            assert p.returncode == 1, "%s then traffic: verify passed: %s %s" % (
                attack, p.stdout, p.stderr)
            log = st.log_text()
            assert "audit" in log and "left as it is" in log or "not recreated" in log, \
                log[-2000:]
            print("  %s: %s" % (attack, p.stderr.strip()))


if __name__ == "__main__":
    ARGS = v.parse_args()
    sys.argv = sys.argv[:1] + [a for a in sys.argv[1:]]
    v.run_cases([test_day_of_traffic_verifies, test_attacks_detected, test_list_filters,
                 test_config_reload_recorded, test_broken_trail_never_holds_a_duress,
                 test_tampering_stays_detected_after_more_traffic],
                parse=lambda: ARGS)
