#!/usr/bin/python3
"""Supervision: an account with a 2 s interval that falls silent raises a
communication-failure alarm (priority 4) after interval + grace (1 s); an
account that keeps polling does not; the next frame restores the silent one
(logged, and it raises no further failure while it keeps polling)."""
import re
import time

import vstation as v


def comm_alarms(st, acct):
    return [a for a in st.alarms() if str(a["account"]).upper() == acct
            and int(a["priority"]) == 4 and re.search("comm|supervis", str(a["kind"]), re.I)]


def poll_until_known(st, conns, accts, timeout=6.0):
    """Accounts were just added: poll each until the daemon ACKs (picked up), so
    supervision starts from a frame and not from the account's creation."""
    pending = dict(zip(accts, conns))
    deadline = time.monotonic() + timeout
    while pending:
        for a, c in list(pending.items()):
            c.send(v.null(0, a))
            r = v.Reply(c.recv_frame())
            if r.token == "ACK":
                del pending[a]
        assert time.monotonic() < deadline, "accounts %r not picked up" % list(pending)
        time.sleep(0.1)


def test_supervision_fail_and_restore(args):
    cfg = {"supervision_grace_s": 1, "supervision_check_s": 1}
    with v.running(args, [], config=cfg) as st:
        live = st.conn()
        quiet = st.conn()
        st.add_account("5003")
        st.add_account("5001", supervision_s=2)
        st.add_account("5002", supervision_s=2)
        poll_until_known(st, [quiet, live], ["5001", "5002"])
        quiet.send(v.null(0, "5001"))
        v.expect_ack(quiet.recv_frame(), 0, "5001")
        t_last = time.monotonic()
        raised_at = None
        deadline = t_last + 8
        while time.monotonic() < deadline:
            live.send(v.null(0, "5002"))
            v.expect_ack(live.recv_frame(), 0, "5002")
            if raised_at is None and comm_alarms(st, "5001"):
                raised_at = time.monotonic() - t_last
                break
            time.sleep(0.4)
        assert raised_at is not None, \
            "no communication-failure alarm 8 s after a 2 s-supervised account fell silent"
        assert raised_at >= 2.5, "comm failure raised after %.1f s, before interval + grace 3 s" \
            % raised_at
        a = comm_alarms(st, "5001")
        assert len(a) == 1 and a[0]["state"] in ("new", "escalated"), a
        assert re.search("comm|supervis|silen", str(a[0]["kind"]), re.I), \
            "comm-failure alarm kind should say so: %r" % a[0]
        assert not comm_alarms(st, "5002"), "a polling account raised a comm failure"
        assert not comm_alarms(st, "5003"), "an unsupervised account raised a comm failure"

        # Restore: the next frame.
        quiet.send(v.null(0, "5001"))
        v.expect_ack(quiet.recv_frame(), 0, "5001")
        time.sleep(1.5)
        log = st.log_text()
        assert re.search(r"restor.*5001|5001.*restor", log, re.I), \
            "restore of 5001 not logged:\n" + log[-3000:]
        # Keep polling for 4 s: no new failure while the panel talks.
        before = len(comm_alarms(st, "5001"))
        t_end = time.monotonic() + 4
        while time.monotonic() < t_end:
            quiet.send(v.null(0, "5001"))
            v.expect_ack(quiet.recv_frame(), 0, "5001")
            live.send(v.null(0, "5002"))
            v.expect_ack(live.recv_frame(), 0, "5002")
            time.sleep(0.5)
        after = comm_alarms(st, "5001")
        assert len(after) == before, "a polling (restored) account raised another failure: %r" % after
        assert not comm_alarms(st, "5002")
        live.close()
        quiet.close()


if __name__ == "__main__":
    v.run_cases([test_supervision_fail_and_restore])
