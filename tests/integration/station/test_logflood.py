#!/usr/bin/python3
"""Logs as a weapon (issue 12, finding 3).

Every bad frame writes a log line; with stderr read slowly, a blocking write
used to stall the loop, and a duress waited for the log (30 s seen). Here the
station's stderr is a pipe the test reads at 20 KB/s while garbage frames
flood the port: a registered account's duress is ACKed within 1 s each time,
repeated lines are rate-limited with a "similar lines suppressed" count, and
the counters say how many lines were suppressed or dropped."""
import threading
import time

import vstation as v

ACCT = "D00D"
READ_BYTES_PER_S = 20_000


class Flood(threading.Thread):
    """Garbage at bytes_per_s: thousands of would-be log lines a second, a
    hundred times what the log's reader takes, yet not so much that parsing
    alone (ASan build, shared cores) is what delays the duress: this test is
    about the log."""

    def __init__(self, st, bytes_per_s=4_000_000, limit_s=20.0):
        super().__init__(daemon=True)
        self.st, self.limit_s, self.bytes_per_s = st, limit_s, bytes_per_s
        self.stop = threading.Event()
        self.bytes = 0

    def run(self):
        block = v.garbage_block(ACCT)
        c = self.st.conn(timeout=5)
        t_end = time.monotonic() + self.limit_s
        try:
            while not self.stop.is_set() and time.monotonic() < t_end:
                try:
                    c.send(block)
                except OSError:
                    c.close()
                    c = self.st.conn(timeout=5)
                    continue
                self.bytes += len(block)
                self.stop.wait(len(block) / self.bytes_per_s)
        finally:
            c.close()


def duress_latency(st, seq):
    c = st.conn()
    try:
        t0 = time.monotonic()
        c.send(v.cid(seq, ACCT, "1121 01 003"))
        r = c.recv_frame(timeout=10.0)
        dt = time.monotonic() - t0
        v.expect_ack(r, seq, ACCT)
        return dt
    finally:
        c.close()


def test_duress_not_delayed_by_a_slow_log(args):
    with v.running(args, [{"number": ACCT}], stderr_bytes_per_s=READ_BYTES_PER_S) as st:
        floods = [Flood(st) for _ in range(2)]
        for f in floods:
            f.start()
        lat = []
        try:
            time.sleep(2.0)               # the pipe and any buffer are full by now
            for seq in range(1, 4):
                lat.append(duress_latency(st, seq))
                time.sleep(1.0)
        finally:
            for f in floods:
                f.stop.set()
            for f in floods:
                f.join(10)
        sent = sum(f.bytes for f in floods)
        print("garbage sent: %.1f MB; duress ACK latencies: %s s"
              % (sent / 1e6, ", ".join("%.3f" % x for x in lat)))
        assert all(x < 1.0 for x in lat), "a duress waited %.3f s for its ACK" % max(lat)
        st.stderr_bytes_per_s = None      # read the rest at full speed
        stats = st.stats(fresh=True)
        deadline = time.monotonic() + 10
        while "similar lines suppressed" not in st.log_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        log = st.log_text()
        assert "similar lines suppressed" in log, "no suppressed-lines count in the log"
        assert stats["log_suppressed"] > 0, stats
        assert "log_dropped" in stats, stats
        alarms = [a for a in st.alarms() if a["account"] == ACCT and a["kind"] == "duress"]
        assert alarms and alarms[0]["event_count"] == 3, alarms


if __name__ == "__main__":
    v.run_cases([test_duress_not_delayed_by_a_slow_log])
