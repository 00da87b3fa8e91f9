#!/usr/bin/python3
"""Who holds the station's connection slots (issue 12, finding 1).

Only a frame with a good CRC and length counts as a sign of life: connections
that send "\\n\\r" (an empty frame) faster than partial_frame_timeout_s used to
hold every slot for ever, and a TCP duress got a reset. Here 200 such
connections (reconnecting when closed, as an attacker would) fill a small
max_connections while a registered account's duress is sent on a new
connection: it is ACKed, now and again after the sweeps. A "\\n\\r" sender is
closed after partial_frame_timeout_s even with room to spare. And
max_connections_per_address bounds what one address may hold."""
import select
import socket
import threading
import time

import vstation as v

ACCT = "D00D"


class Holders(threading.Thread):
    """n connections each sending "\\n\\r" every period_s; a closed one is
    reopened. Bounded: stops at stop or after limit_s."""

    def __init__(self, addr, n, period_s=0.3, limit_s=60.0):
        super().__init__(daemon=True)
        self.addr, self.n, self.period_s, self.limit_s = addr, n, period_s, limit_s
        self.socks = []
        self.reconnects = 0
        self.stop = threading.Event()

    def _open(self):
        s = socket.create_connection(self.addr, timeout=2.0)
        s.setblocking(False)
        return s

    def _alive(self, s):
        try:
            s.send(b"\n\r")
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False
        r, _, _ = select.select([s], [], [], 0)
        if r:
            try:
                if not s.recv(4096):
                    return False
            except BlockingIOError:
                pass
            except OSError:
                return False
        return True

    def run(self):
        self.socks = [self._open() for _ in range(self.n)]
        t_end = time.monotonic() + self.limit_s
        while not self.stop.is_set() and time.monotonic() < t_end:
            for i, s in enumerate(self.socks):
                if not self._alive(s):
                    s.close()
                    self.reconnects += 1
                    try:
                        self.socks[i] = self._open()
                    except OSError:
                        self.socks[i] = self._open()
            self.stop.wait(self.period_s)
        for s in self.socks:
            s.close()


def duress_acked(st, seq, timeout=3.0):
    c = st.conn()
    try:
        t0 = time.monotonic()
        c.send(v.cid(seq, ACCT, "1121 01 003"))
        r = c.recv_frame(timeout=timeout)
        assert r is not None, "duress seq %d: no reply (connection %s)" % (
            seq, "closed" if c.closed else "open")
        v.expect_ack(r, seq, ACCT)
        return time.monotonic() - t0
    finally:
        c.close()


def test_empty_frames_hold_no_slot(args):
    cfg = {"partial_frame_timeout_s": 2, "max_connections": 50}
    with v.running(args, [{"number": ACCT}], config=cfg) as st:
        h = Holders(st.tcp, 200)
        h.start()
        try:
            time.sleep(1.0)                 # all slots held, none timed out yet
            dt1 = duress_acked(st, 1)
            time.sleep(4.0)                 # two partial-frame timeouts of sweeps
            dt2 = duress_acked(st, 2)
        finally:
            h.stop.set()
            h.join(10)
        print("duress ACKed in %.3f s while slots were held, %.3f s after the sweeps; "
              "the holders reconnected %d times" % (dt1, dt2, h.reconnects))
        stats = st.stats(fresh=True)
        # (the holders evict one another before any times out: the time-out
        # is test_empty_frames_time_out_with_room's)
        assert stats["conns_evicted"] > 0, "no connection was evicted: %r" % stats
        alarms = [a for a in st.alarms() if a["account"] == ACCT and a["kind"] == "duress"]
        assert alarms and alarms[0]["event_count"] == 2, alarms


def test_empty_frames_time_out_with_room(args):
    """With room to spare too: "\\n\\r" is not a frame, so its sender is closed
    after partial_frame_timeout_s; a connection that sent a valid frame stays."""
    with v.running(args, [{"number": ACCT}], config={"partial_frame_timeout_s": 2}) as st:
        good = st.conn()
        good.send(v.null(0, ACCT))
        v.expect_ack(good.recv_frame(), 0, ACCT)
        bad = st.conn()
        t0 = time.monotonic()
        closed = False
        while time.monotonic() - t0 < 8.0 and not closed:
            try:
                bad.send(b"\n\r")
            except OSError:
                closed = True
                break
            closed = bad.wait_closed(0.3)
        dt = time.monotonic() - t0
        assert closed, "a connection sending only \\n\\r is still open after %.1f s" % dt
        assert dt >= 1.5, "closed after %.1f s, before partial_frame_timeout_s 2" % dt
        good.send(v.null(1, ACCT))
        v.expect_ack(good.recv_frame(), 1, ACCT)
        good.close()
        bad.close()


def test_per_address_limit(args):
    cfg = {"max_connections_per_address": 5, "max_connections": 100}
    with v.running(args, [{"number": ACCT}], config=cfg) as st:
        held = [st.conn() for _ in range(5)]
        time.sleep(0.3)
        extra = st.conn()
        try:
            extra.send(v.cid(1, ACCT, "1121 01 003"))
        except OSError:
            pass
        r = extra.recv_frame(timeout=1.5)
        assert r is None and extra.closed, \
            "a 6th connection from one address was served with max_connections_per_address 5"
        extra.close()
        held[0].close()
        time.sleep(0.3)
        dt = duress_acked(st, 2)
        assert dt < 2.0
        stats = st.stats(fresh=True)
        assert stats["conns_refused"] >= 1, stats
        assert "max_connections_per_address 5 reached" in st.wait_log(
            "max_connections_per_address 5 reached")
        for c in held[1:]:
            c.close()


if __name__ == "__main__":
    v.run_cases([test_empty_frames_hold_no_slot, test_empty_frames_time_out_with_room,
                 test_per_address_limit])
