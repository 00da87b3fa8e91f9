#!/usr/bin/python3
"""The store failing under the daemon: a store that cannot be opened, and a full disk.

- store_cannot_be_opened: a store in a folder that does not exist, and a file that is not
  a database: vigil-station exits 1 at once with a message naming the store, and never
  writes its ready file (it never listens).
- full_disk: the daemon runs with RLIMIT_FSIZE a little above its store's size (SIGXFSZ
  ignored), so writes that grow a file fail with EFBIG as on a full disk. Frames are sent
  one at a time until replies stop. Then: the daemon is alive and still answers what needs
  no commit (a stale timestamp gets its NAK at once); the log says the commit failed and
  the stats line counts commit_failures; nothing unanswered was ACKed. The limit is then
  lifted (prlimit, as when space is freed): the panel's retries of the unanswered frames
  (same sequence and payload, fresh timestamp) are ACKed, and after a restart every ACKed
  event is in the store exactly once."""
import os
import re
import resource
import signal
import subprocess
import time

import vstation as v

KEY = "0123456789ABCDEF"
ACCT = "4E01"
OTHER = "4E02"


def test_store_cannot_be_opened(args):
    st = v.Station(args, name="noopen")
    try:
        cases = {
            "missing folder": os.path.join(st.dir, "no-such-folder", "store.db"),
            "not a database": os.path.join(st.dir, "garbage.db"),
        }
        with open(cases["not a database"], "wb") as f:
            f.write(b"this is not an SQLite database, just bytes\n" * 200)
        for what, path in cases.items():
            conf = os.path.join(st.dir, "bad-%s.conf" % what.replace(" ", "-"))
            with open(conf, "w") as f:
                f.write("dc09_listen 127.0.0.1:0\nstore sqlite:%s\nready_file %s\n"
                        % (path, st.ready))
            p = subprocess.run([args.station, "-c", conf], capture_output=True, text=True,
                               timeout=20)
            out = p.stdout + p.stderr
            assert p.returncode == 1, "%s: exit %d, want 1: %r" % (what, p.returncode, out)
            assert path in out, "%s: the message must name the store: %r" % (what, out)
            assert not os.path.exists(st.ready), "%s: the ready file was written" % what
            print("%s: exit 1: %s" % (what, out.strip().splitlines()[-1][:160]))
    finally:
        st.cleanup()


def test_full_disk(args):
    key = KEY.encode()
    st = v.Station(args, config={"account_rate_per_s": 1000, "account_burst": 1000},
                   name="fulldisk")
    try:
        st.add_account(ACCT, key=KEY)
        st.add_account(OTHER, key=KEY)
        for ext in ("-wal", "-shm"):
            assert not os.path.exists(st.store + ext), "the CLI left %s behind" % ext
        limit = os.path.getsize(st.store) + 48 * 1024

        def limited():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

        st.start(preexec_fn=limited)
        c = st.conn(timeout=5)
        acked, unanswered = [], []
        seq = 1
        while seq < 400 and len(unanswered) < 3:
            payload = "1130 01 %03d" % (seq % 1000)
            c.send(v.cid(seq, ACCT, payload, key=key))
            r = c.recv_frame(timeout=1.5)
            if r is None:
                unanswered.append((seq, payload))
            else:
                v.expect_ack(r, seq, ACCT, key=key)   # a later commit may still fit
                acked.append(seq)
            seq += 1
        assert unanswered, "the store never filled: %d frames ACKed under a %d-byte limit" % (
            len(acked), limit)
        assert st.alive(), "the daemon died on a full disk"
        # still serving: a stale timestamp needs no commit and is NAKed at once
        stale = v.cid(900, OTHER, "1130 01 001", key=key, ts=time.time() - 3600)
        v.expect_nak(st.exchange(stale))
        s = st.stats(fresh=True)
        assert s.get("commit_failures", 0) >= 1, "commit_failures not counted: %r" % s
        log = st.wait_log(r"commit of batch \d+ \(\d+ items\) failed")
        assert re.search(r"commit of batch \d+ \(\d+ items\) failed", log), \
            "no log line for the failed commit:\n" + log[-3000:]
        print("full disk after %d ACKed frames (limit %d bytes): %d unanswered, "
              "commit_failures %d" % (len(acked), limit, len(unanswered), s["commit_failures"]))

        # space is back: the panel retries what went unanswered
        resource.prlimit(st.proc.pid, resource.RLIMIT_FSIZE,
                         (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        for rseq, payload in unanswered:
            r = None
            for _ in range(10):
                c.send(v.cid(rseq, ACCT, payload, key=key))
                r = c.recv_frame(timeout=2.0)
                if r is not None:
                    break
            assert r is not None, "retry of %d never ACKed after the space came back" % rseq
            v.expect_ack(r, rseq, ACCT, key=key)
            acked.append(rseq)
        c.send(v.cid(seq, ACCT, "1130 01 999", key=key))
        v.expect_ack(c.recv_frame(timeout=5), seq, ACCT, key=key)
        acked.append(seq)
        c.close()
        assert st.stop() == 0
        st.start()
        stored = [int(e["seq"]) for e in st.events(ACCT)]
        missing = sorted(set(acked) - set(stored))
        assert not missing, "ACKed but not stored: %r" % missing[:20]
        twice = sorted(q for q in set(stored) if stored.count(q) > 1)
        assert not twice, "stored more than once: %r" % twice[:20]
        assert st.stop() == 0
        print("after the space came back: %d ACKed events, all stored once" % len(acked))
    except BaseException:
        print(st.log_text()[-4000:])
        raise
    finally:
        st.cleanup()


if __name__ == "__main__":
    v.run_cases([test_store_cannot_be_opened, test_full_disk])
