#!/usr/bin/python3
"""The durability promise: every ACKed event is in the store.

SIGTERM (and SIGINT) during traffic: the daemon exits 0, and every (account, seq) a client
got an ACK for is in `vigil events --json`. SIGKILL during a flood: the same
check after kill -9 and a restart (the restarted daemon also serves again).
With --long (ctest label long): more connections and several kill rounds."""
import signal
import threading
import time

import vstation as v

KEY = "0123456789ABCDEF"
CFG = {"account_rate_per_s": 10000, "account_burst": 10000}


class Panel(threading.Thread):
    """One connection, one account, pipelined windows of frames; records ACKed seqs."""

    def __init__(self, st, acct, key, window, first_seq=1):
        super().__init__(daemon=True)
        self.st, self.acct, self.key, self.window = st, acct, key, window
        self.seq = first_seq
        self.acked = set()
        self.sent = 0
        self.error = None
        self.halt = threading.Event()

    def run(self):
        try:
            c = self.st.conn(timeout=10)
        except OSError as e:
            self.error = e
            return
        try:
            while not self.halt.is_set() and self.seq + self.window < 9999:
                batch = []
                for _ in range(self.window):
                    batch.append(v.cid(self.seq, self.acct, "1130 01 %03d" % (self.seq % 1000),
                                       key=self.key))
                    self.seq += 1
                try:
                    c.send(b"".join(batch))
                except OSError:
                    return
                self.sent += len(batch)
                for _ in range(len(batch)):
                    f = c.recv_frame(timeout=5)
                    if f is None:
                        return
                    r = v.Reply(f, key=self.key)
                    assert r.token == "ACK", "unexpected reply %r" % f
                    assert r.account == self.acct
                    self.acked.add(r.seq)
        except Exception as e:  # recorded, asserted by the test
            self.error = e
        finally:
            c.close()


def run_traffic(st, accounts, key, window, seconds_before, first_seq=1):
    panels = [Panel(st, a, key, window, first_seq) for a in accounts]
    for p in panels:
        p.start()
    time.sleep(seconds_before)
    return panels


def check_all_acked_stored(st, panels, label):
    stored = v.event_keys(st.events())
    total = 0
    for p in panels:
        assert p.error is None, "%s: client error %r" % (label, p.error)
        missing = sorted(s for s in p.acked if (p.acct, s) not in stored)
        assert not missing, "%s: %d ACKed events of %s missing from the store, e.g. %r" % (
            label, len(missing), p.acct, missing[:10])
        total += len(p.acked)
    assert total > 0, "%s: no frame was ACKed at all before the signal" % label
    return total


def test_sigterm_during_traffic(args):
    stop_during_traffic(args, signal.SIGTERM)


def test_sigint_during_traffic(args):
    stop_during_traffic(args, signal.SIGINT)


def stop_during_traffic(args, sig):
    name = signal.Signals(sig).name
    accts = ["7E%02d" % i for i in range(4)]
    key = KEY.encode()
    st = v.Station(args, config=CFG, name=name.lower())
    try:
        for a in accts:
            st.add_account(a, key=KEY)
        st.start()
        panels = run_traffic(st, accts, key, 16, 1.5)
        t0 = time.monotonic()
        rc = st.stop(sig, timeout=15)
        dt = time.monotonic() - t0
        for p in panels:
            p.halt.set()
            p.join(timeout=10)
        assert rc == 0, "%s during traffic: exit status %r\n%s" % (name, rc, st.log_text()[-3000:])
        assert dt < 10, "%s took %.1f s" % (name, dt)
        n = check_all_acked_stored(st, panels, name)
        print("%s: %d ACKed events, all stored; exit in %.2f s" % (name, n, dt))
    except BaseException:
        print(st.log_text()[-4000:])
        raise
    finally:
        st.cleanup()


def test_sigkill_during_flood(args):
    rounds = 5 if args.long else 1
    nconn = 16 if args.long else 6
    accts = ["9A%02d" % i for i in range(nconn)]
    key = KEY.encode()
    st = v.Station(args, config=CFG, name="sigkill")
    try:
        for a in accts:
            st.add_account(a, key=KEY)
        st.start()
        all_panels = []
        first = 1
        for rnd in range(rounds):
            panels = run_traffic(st, accts, key, 32, 1.5, first_seq=first)
            st.stop(signal.SIGKILL, timeout=10)
            for p in panels:
                p.halt.set()
                p.join(timeout=10)
            all_panels += panels
            first = max(p.seq for p in panels) + 1
            st.start()
            n = check_all_acked_stored(st, all_panels, "SIGKILL round %d" % (rnd + 1))
            print("SIGKILL round %d: %d ACKed events so far, all stored" % (rnd + 1, n))
            if first > 9000:
                break
        # The restarted daemon serves again.
        v.expect_ack(st.exchange(v.cid(9500, accts[0], "1130 01 001", key=key)), 9500, accts[0],
                     key=key)
        assert st.stop() == 0
    except BaseException:
        print(st.log_text()[-4000:])
        raise
    finally:
        st.cleanup()


if __name__ == "__main__":
    v.run_cases([test_sigterm_during_traffic, test_sigint_during_traffic,
                 test_sigkill_during_flood])
