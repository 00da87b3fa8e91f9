#!/usr/bin/python3
"""Supervision: an account with a 2 s interval that falls silent raises a
communication-failure alarm (priority 4) after interval + grace (1 s); an
account that keeps polling does not; the next frame restores the silent one
(logged, and it raises no further failure while it keeps polling)."""
import re
import threading
import time

import vstation as v


def comm_alarms(st, acct):
    return [a for a in st.alarms() if str(a["account"]).upper() == acct
            and int(a["priority"]) == 4 and re.search("comm|supervis", str(a["kind"]), re.I)]


class Poller(threading.Thread):
    """Keeps accounts talking: a NULL poll for each every 0.3 s on its own connection,
    independent of the (slow, under load) CLI calls of the test."""

    def __init__(self, st, accts):
        super().__init__(daemon=True)
        self.c = st.conn()
        self.accts = list(accts)
        self.halt = threading.Event()
        self.error = None

    def run(self):
        try:
            while not self.halt.is_set():
                for a in list(self.accts):
                    self.c.send(v.null(0, a))
                    v.expect_ack(self.c.recv_frame(), 0, a)
                self.halt.wait(0.3)
        except Exception as e:  # asserted by the test
            self.error = e

    def stop(self):
        self.halt.set()
        self.join(timeout=5)
        self.c.close()
        assert self.error is None, "keep-alive poller: %r" % self.error


def test_supervision_fail_and_restore(args):
    cfg = {"supervision_grace_s": 1, "supervision_check_s": 1}
    # Provisioned before the daemon starts (CLI calls can take seconds under load, and
    # supervision of an account runs from the moment the daemon knows it).
    accts = [{"number": "5003"}, {"number": "5001", "supervision_s": 2},
             {"number": "5002", "supervision_s": 2}]
    with v.running(args, accts, config=cfg) as st:
        poller = Poller(st, ["5002"])
        poller.start()
        quiet = st.conn()
        quiet.send(v.null(0, "5001"))
        v.expect_ack(quiet.recv_frame(), 0, "5001")
        t_last = time.monotonic()
        raised_at = None
        deadline = t_last + 8
        while time.monotonic() < deadline:
            if comm_alarms(st, "5001"):
                raised_at = time.monotonic() - t_last
                break
            time.sleep(0.2)
        assert raised_at is not None, \
            "no communication-failure alarm 8 s after a 2 s-supervised account fell silent"
        assert raised_at >= 2.5, "comm failure raised after %.1f s, before interval + grace 3 s" \
            % raised_at
        a = comm_alarms(st, "5001")
        assert len(a) == 1 and a[0]["state"] in ("new", "escalated"), a
        assert not comm_alarms(st, "5002"), "a polling account raised a comm failure"
        assert not comm_alarms(st, "5003"), "an unsupervised account raised a comm failure"

        # Restore: the next frame; then 5001 keeps polling too.
        quiet.send(v.null(0, "5001"))
        v.expect_ack(quiet.recv_frame(), 0, "5001")
        quiet.close()
        poller.accts.append("5001")
        time.sleep(1.5)
        log = st.wait_log(r"restor.*5001|5001.*restor", flags=re.I)
        assert re.search(r"restor.*5001|5001.*restor", log, re.I), \
            "restore of 5001 not logged:\n" + log[-3000:]
        # 4 s of polling: no new failure while the panels talk.
        before = len(comm_alarms(st, "5001"))
        time.sleep(4)
        poller.stop()
        after = comm_alarms(st, "5001")
        assert len(after) == before, "a polling (restored) account raised another failure: %r" % after
        assert not comm_alarms(st, "5002"), "a polling account raised a comm failure"


if __name__ == "__main__":
    v.run_cases([test_supervision_fail_and_restore])
