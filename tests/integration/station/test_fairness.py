#!/usr/bin/python3
"""One sender must not starve the others (issue 12: 100 MB of garbage).

libuv reads a readable stream up to 32 times (2 MiB) per loop pass; senders
of garbage at full speed on a few connections made every pass long, and a
registered account's duress on its own connection waited 0.7-1.4 s for its
ACK. The station now reads at most one full buffer per connection per pass
(station/rx_tcp.c, "fairness"). Here four connections send garbage as fast as
the kernel takes it (bounded to a few seconds), while a duress is sent every
half second on a fresh connection: each is ACKed within 1 s."""
import threading
import time

import vstation as v

ACCT = "FA17"


class Blaster(threading.Thread):
    """Garbage as fast as the socket takes it, for at most limit_s."""

    def __init__(self, st, limit_s):
        super().__init__(daemon=True)
        self.st, self.limit_s = st, limit_s
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
        finally:
            c.close()


def test_duress_beside_full_speed_garbage(args):
    # long slowloris timeout: the blasters are not closed as stalled meanwhile
    with v.running(args, accounts=[dict(number=ACCT)],
                   config={"partial_frame_timeout_s": 60, "log_level": "warn"}) as st:
        blasters = [Blaster(st, 8.0) for _ in range(4)]
        for b in blasters:
            b.start()
        time.sleep(1.0)
        lat = []
        try:
            for seq in range(1, 9):
                c = st.conn(timeout=5)
                t0 = time.monotonic()
                c.send(v.cid(seq, ACCT, "1121 01 001"))
                r = c.recv_frame(timeout=5)
                lat.append(time.monotonic() - t0)
                c.close()
                v.expect_ack(r, seq, ACCT)
                time.sleep(0.5)
        finally:
            for b in blasters:
                b.stop.set()
            for b in blasters:
                b.join(10)
        sent = sum(b.bytes for b in blasters)
        print("garbage sent: %.0f MB; duress ACK latencies (ms): %s" % (
            sent / 1e6, " ".join("%.0f" % (x * 1000) for x in lat)))
        assert sent > 50e6, "the blasters sent only %.0f MB: no pressure" % (sent / 1e6)
        assert max(lat) < 1.0, "a duress waited %.0f ms behind garbage" % (max(lat) * 1000)
        kinds = [a["kind"] for a in st.alarms() if a["account"] == ACCT]
        assert kinds == ["duress"], kinds


if __name__ == "__main__":
    v.run_cases([test_duress_beside_full_speed_garbage])
