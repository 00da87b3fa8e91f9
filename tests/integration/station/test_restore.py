#!/usr/bin/python3
"""Backup and restore (issue 17): `vigil backup` taken UNDER LOAD (four keyed
panels sending while it runs), then `vigil restore`: it refuses while the
station runs, while another process has the store open, an existing store
without --force, a corrupt backup, a backup with a newer schema, and a backup
whose sealed keys do not open with the key store in place (which it never
touches) — each refusal changing nothing. The accepted restore holds every
event ACKed before the backup began, verifies its audit trail, and the
station starts on it and takes a frame from a keyed panel."""
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import threading
import time

import vstation as v

KEYS = {"7101": "0123456789abcdef", "7102": "fedcba9876543210",
        "7103": "abcdefghijklmnop", "7104": "ponmlkjihgfedcba"}


class Panel(threading.Thread):
    """Sends events stop-and-wait; records (seq, time the ACK arrived)."""

    def __init__(self, st, acct):
        super().__init__(daemon=True)
        self.st, self.acct, self.key = st, acct, KEYS[acct].encode()
        self.acked = []
        self.halt = threading.Event()
        self.error = None

    def run(self):
        try:
            c = self.st.conn()
            seq = 1
            while not self.halt.is_set() and seq < 9000:
                c.send(v.cid(seq, self.acct, "1401 01 %03d" % (seq % 1000), key=self.key))
                v.expect_ack(c.recv_frame(timeout=10), seq, self.acct, key=self.key)
                self.acked.append((seq, time.monotonic()))
                seq += 1
            c.close()
        except Exception as e:  # asserted by the test
            self.error = e


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def restore(st, *argv):
    return st.vigil("restore", *argv, check=False)


def test_restore_backup_taken_under_load(args):
    accts = [{"number": a, "key": k} for a, k in KEYS.items()]
    with v.running(args, accts, name="restore") as st:
        backup = os.path.join(st.dir, "under-load.db")
        panels = [Panel(st, a) for a in KEYS]
        for p in panels:
            p.start()
        time.sleep(1.0)                        # traffic flowing
        t_begin = time.monotonic()
        acked_before = {p.acct: [s for s, t in p.acked if t < t_begin] for p in panels}
        st.vigil("backup", backup)
        t_end = time.monotonic()
        time.sleep(0.5)
        for p in panels:
            p.halt.set()
        for p in panels:
            p.join(timeout=15)
            assert p.error is None, "panel %s: %r" % (p.acct, p.error)
        n_before = sum(len(x) for x in acked_before.values())
        n_during = sum(1 for p in panels for s, t in p.acked if t_begin <= t < t_end)
        assert n_before >= 20, "only %d events ACKed before the backup: no load" % n_before
        print("  %d events ACKed before the backup began, %d while it ran (%.2f s)"
              % (n_before, n_during, t_end - t_begin))

        # refused while the station runs: nothing changes
        p = restore(st, backup, "--force")
        assert p.returncode == 1 and "vigil-station is running" in p.stderr, (p.returncode, p.stdout, p.stderr)
        rc = st.stop()
        assert rc == 0, "vigil-station exited %s" % rc
        store_before = digest(st.store)
        keys_before = digest(st.store + ".keys")

        # refused while another process has the store open (the console, a vigil command)
        holder = sqlite3.connect(st.store)
        holder.execute("SELECT count(*) FROM events").fetchone()
        try:
            p = restore(st, backup, "--force")
            assert p.returncode == 1 and "open in another process" in p.stderr, (p.returncode, p.stdout, p.stderr)
        finally:
            holder.close()
        # an existing store needs --force
        p = restore(st, backup)
        assert p.returncode == 1 and "--force" in p.stderr, (p.returncode, p.stdout, p.stderr)

        # a corrupt backup: refused by its integrity check
        bad = os.path.join(st.dir, "corrupt.db")
        shutil.copy(backup, bad)
        size = os.path.getsize(bad)
        with open(bad, "r+b") as f:
            hdr = f.read(100)
            page = int.from_bytes(hdr[16:18], "big") or 65536
            for off in range(page, size, page):   # every b-tree page header after page 1
                f.seek(off)
                f.write(b"\xff" * 8)
        p = restore(st, bad, "--force")
        assert p.returncode == 2 and "integrity check" in p.stderr, (p.returncode, p.stdout,
                                                                    p.stderr)
        # a newer schema than this program's
        newer = os.path.join(st.dir, "newer.db")
        shutil.copy(backup, newer)
        c = sqlite3.connect(newer)
        c.execute("PRAGMA user_version=999")
        c.commit()
        c.close()
        p = restore(st, newer, "--force")
        assert p.returncode == 2 and "newer than this program" in p.stderr, (p.returncode, p.stdout, p.stderr)
        # another key store in place: the sealed keys do not open
        os.rename(st.store + ".keys", st.store + ".keys.real")
        with open(st.store + ".keys.real", "rb") as f:
            real = f.read()
        other = v.Station(args, name="otherkeys")
        try:
            other.add_account("7999", key="0123456789abcdef")   # makes its own key store
            shutil.copy(other.store + ".keys", st.store + ".keys")
            os.chmod(st.store + ".keys", 0o600)
        finally:
            other.cleanup()
        wrong = digest(st.store + ".keys")
        p = restore(st, backup, "--force")
        assert p.returncode == 1 and "do not open" in p.stderr, (p.returncode, p.stdout, p.stderr)
        assert digest(st.store + ".keys") == wrong, "restore changed the key store"
        os.replace(st.store + ".keys.real", st.store + ".keys")
        with open(st.store + ".keys", "rb") as f:
            assert f.read() == real
        assert digest(st.store) == store_before, "a refused restore changed the store"

        # the restore
        p = restore(st, backup, "--force")
        assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
        assert "all 4 sealed account keys open" in p.stdout, p.stdout
        assert "kept as" in p.stdout, p.stdout
        assert digest(st.store + ".keys") == keys_before, "restore changed the key store"
        kept = [l.split("kept as ", 1)[1].strip() for l in p.stdout.splitlines()
                if "kept as" in l][0]
        # the replaced store is kept whole (its WAL folded in): every event ACKed
        n_all = sum(len(p.acked) for p in panels)
        k = sqlite3.connect("file:%s?mode=ro" % kept, uri=True)
        n_kept = k.execute("SELECT count(*) FROM events").fetchone()[0]
        k.close()
        assert n_kept == n_all, "the kept store has %d events, %d were ACKed" % (n_kept, n_all)
        assert not os.path.exists(kept + "-wal") or os.path.getsize(kept + "-wal") == 0

        # every event ACKed before the backup began is in the restored store
        for acct, seqs in acked_before.items():
            got = {int(e["seq"]) for e in st.events(account=acct)}
            missing = [s for s in seqs if s not in got]
            assert not missing, "account %s: %d events ACKed before the backup are missing " \
                "after the restore (first %s)" % (acct, len(missing), missing[:5])
        p = st.vigil("audit", "verify", check=False)
        assert p.returncode == 0, "audit verify after the restore: %s %s" % (p.stdout, p.stderr)
        entries = json.loads(st.vigil("audit", "list", "--json").stdout)
        assert entries and entries[-1]["kind"] == "store.restore", entries[-1:]

        # the station starts on it, keys open: a keyed panel is answered
        st.start()
        c = st.conn()
        c.send(v.cid(9500, "7101", "1401 01 001", key=KEYS["7101"].encode()))
        v.expect_ack(c.recv_frame(), 9500, "7101", key=KEYS["7101"].encode())
        c.close()


if __name__ == "__main__":
    v.run_cases([test_restore_backup_taken_under_load])
