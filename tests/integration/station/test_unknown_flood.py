#!/usr/bin/python3
"""Signals of unknown accounts under attack (issue 12, finding 2).

Anyone who reaches the port can claim any account number and any event: a
flood of readable clear "duress" frames for invented accounts once made one
priority-1 alarm each (308,283 of them), and a registered account's real
duress sat behind them all in `vigil alarms`. Now such signals are limited in
total and per source address, each source's signals join one alarm per
priority and window whatever numbers they claim, the signals beyond the
limits are counted into that alarm (event_count) instead of being lost, and a
registered account's duress is first in the queue, every unknown account's
alarm after it."""
import json
import socket
import time

import vstation as v


def blast(st, frames, source="127.0.0.1"):
    """Sends frames pipelined on one connection from `source`; returns the replies."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(10)
    s.connect(st.tcp)
    c = v.Conn.__new__(v.Conn)
    c.sock, c.buf, c.closed = s, b"", False
    try:
        for k in range(0, len(frames), 100):
            c.send(b"".join(frames[k:k + 100]))
        return c.recv_frames(len(frames), timeout=30)
    finally:
        c.close()


def unknown_alarms(st, priority):
    return [a for a in st.alarms() if a["kind"] == "unknown_account" and a["priority"] == priority]


def wait_counted(st, priority, want, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        al = unknown_alarms(st, priority)
        n = sum(a["event_count"] for a in al)
        if n >= want or time.monotonic() > deadline:
            return al, n
        time.sleep(0.5)


def test_unknown_duress_flood(args):
    with v.running(args, [{"number": "1234"}]) as st:
        n1, n2 = 1500, 300
        f1 = [v.cid(i % 10000, "A%05X" % i, "1121 01 003") for i in range(n1)]
        f2 = [v.cid(i % 10000, "B%05X" % i, "1121 01 003") for i in range(n2)]
        r1 = blast(st, f1, "127.0.0.1")
        r2 = blast(st, f2, "127.0.0.2")
        assert len(r1) == n1 and len(r2) == n2, "not every frame answered: %d/%d %d/%d" % (
            len(r1), n1, len(r2), n2)
        assert all(v.Reply(r).token == "DUH" for r in r1 + r2), "an unknown account got no DUH"
        # the registered account's duress, during or after the flood: ACKed at once
        t0 = time.monotonic()
        v.expect_ack(st.exchange(v.cid(7, "1234", "1121 01 005")), 7, "1234")
        assert time.monotonic() - t0 < 1.0, "the registered duress waited %.2f s" % (
            time.monotonic() - t0)
        al, counted = wait_counted(st, 1, n1 + n2)
        queue = st.alarms()
        assert queue and queue[0]["account"] == "1234" and queue[0]["kind"] == "duress", \
            "the registered duress is not first in vigil alarms: %r" % queue[:3]
        assert len(al) <= 2, "want one priority-1 alarm per source address, got %d" % len(al)
        assert counted == n1 + n2, "unknown duress frames lost: %d of %d counted in alarms" % (
            counted, n1 + n2)
        sig = json.loads(st.vigil("signals", "--json").stdout)
        assert len(sig) < n1 + n2, "every refused signal was stored: no limit"
        s = st.stats(fresh=True)
        assert s.get("refused_unstored", 0) > 0, "refused_unstored not counted: %r" % s
        print("%d unknown duress frames from 2 sources: %d P1 alarms (counts %s), %d stored, "
              "registered duress first" % (n1 + n2, len(al), [a["event_count"] for a in al],
                                           len(sig)))


def test_unknown_routine_one_alarm_per_source(args):
    with v.running(args, [{"number": "1234"}]) as st:
        n = 600
        r = blast(st, [v.cid(i, "C%04X" % i, "1130 01 015") for i in range(n)])
        assert len(r) == n
        al, counted = wait_counted(st, 4, n)
        assert len(al) == 1, "want one unknown_account alarm for the source, got %d" % len(al)
        assert counted == n, "%d of %d counted" % (counted, n)
        assert "127.0.0.1" in (al[0]["detail"] or ""), "the alarm does not name its source: %r" % al
        # a registered account's priority-4 alarm ranks before it
        v.expect_ack(st.exchange(v.cid(8, "1234", "1130 01 001")), 8, "1234")
        q = [a for a in st.alarms() if a["priority"] == 4]
        assert q[0]["account"] == "1234", "a registered account's alarm is not first among " \
            "equals: %r" % [(a["account"], a["kind"]) for a in q]


if __name__ == "__main__":
    v.run_cases([test_unknown_duress_flood, test_unknown_routine_one_alarm_per_source])
