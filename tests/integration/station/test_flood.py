#!/usr/bin/python3
"""Per-account rate limit with a duress in the middle of a flood.

One account floods (pipelined frames on two connections, far beyond
account_rate_per_s). In the middle of its own flood it sends a duress: that
duress is ACKed promptly, stored, and is a priority-1 alarm. The flooding
account gets unACKed routine frames and a flood alarm; every frame it did get
an ACK for is stored. Another account's duress during the flood is not delayed
noticeably: its latency is compared with the same latency measured without
the flood, as a loose ratio (timing on a shared 2-core machine is noisy)."""
import statistics
import threading
import time

import vstation as v

RATE = 50
BURST = 100


class Reader(threading.Thread):
    """Collects replies on a connection: {seq: first ACK monotonic time}."""

    def __init__(self, conn):
        super().__init__(daemon=True)
        self.c = conn
        self.acks = {}
        self.other = []
        self.stop = False

    def run(self):
        while not self.stop:
            f = self.c.recv_frame(timeout=0.2)
            if f is None:
                if self.c.closed:
                    return
                continue
            r = v.Reply(f)
            if r.token == "ACK":
                self.acks.setdefault(r.seq, time.monotonic())
            else:
                self.other.append(r)


def duress_latency(st, acct, seq):
    c = st.conn()
    try:
        t0 = time.monotonic()
        c.send(v.cid(seq, acct, "1121 01 003"))
        r = c.recv_frame(timeout=10.0)
        dt = time.monotonic() - t0
        v.expect_ack(r, seq, acct)
        return dt
    finally:
        c.close()


def test_flood_with_duress(args):
    cfg = {"account_rate_per_s": RATE, "account_burst": BURST}
    with v.running(args, [{"number": "F001"}, {"number": "D002"}], config=cfg) as st:
        # Baseline: the other account's duress latency without a flood
        # (distinct sequences, so each is a new event, not a retry).
        base = [duress_latency(st, "D002", 100 + i) for i in range(5)]

        # Pre-build the flood so the client spends its CPU on sending.
        n_per_conn = 3000
        chunks = []
        for k in range(2):
            fr = [v.cid(1 + k * n_per_conn + i, "F001", "1130 01 %03d" % (i % 1000))
                  for i in range(n_per_conn)]
            chunks.append([b"".join(fr[j:j + 100]) for j in range(0, n_per_conn, 100)])
        conns = [st.conn(timeout=30) for _ in range(2)]
        readers = [Reader(c) for c in conns]
        for r in readers:
            r.start()
        done = threading.Event()

        def flood(k):
            for ch in chunks[k]:   # 30 chunks of 100 frames over ~2 s: ~3,000 frames/s
                conns[k].send(ch)
                time.sleep(0.065)
                if done.is_set():
                    break

        threads = [threading.Thread(target=flood, args=(k,), daemon=True) for k in range(2)]
        t_start = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(0.6)
        assert all(t.is_alive() for t in threads), "the flood ended before the duress was sent"
        # The flooding account's own duress, in the middle of its flood on its own connection.
        t_d = time.monotonic()
        conns[0].send(v.cid(9000, "F001", "1121 01 007"))
        # Another account's duress during the flood.
        during = []
        for i in range(5):
            during.append(duress_latency(st, "D002", 200 + i))
            time.sleep(0.05)
        deadline = time.monotonic() + 5
        while 9000 not in readers[0].acks and time.monotonic() < deadline:
            time.sleep(0.01)
        own_lat = readers[0].acks.get(9000, None)
        for t in threads:
            t.join(timeout=30)
        flood_s = time.monotonic() - t_start
        time.sleep(1.0)  # let the last ACKs arrive
        for r in readers:
            r.stop = True
        for r in readers:
            r.join(timeout=2)
        for c in conns:
            c.close()

        assert own_lat is not None, "the flooding account's duress got no ACK within 5 s"
        own_lat -= t_d
        assert own_lat < 2.0, "duress in the middle of a flood ACKed after %.2f s" % own_lat
        acked = set()
        for k, r in enumerate(readers):
            acked |= {s for s in r.acks if s != 9000}
        sent = 2 * n_per_conn
        print("flood: sent %d routine frames in %.2f s, %d ACKed; own duress %.1f ms; "
              "other duress baseline %s ms, during flood %s ms" % (
                  sent, flood_s, len(acked), own_lat * 1000,
                  [round(x * 1000, 1) for x in base], [round(x * 1000, 1) for x in during]))
        assert len(acked) < sent, "rate limit: all %d flood frames were ACKed" % sent
        # Not more than burst + rate x elapsed (+ slack for timing).
        assert len(acked) <= BURST + RATE * (flood_s + 2) + 50, \
            "rate limit not applied: %d ACKed in %.1f s at %d/s burst %d" % (
                len(acked), flood_s, RATE, BURST)

        stored = v.event_keys(st.events("F001"))
        missing = [s for s in acked if ("F001", s) not in stored]
        assert not missing, "ACKed flood frames not stored: %r" % sorted(missing)[:20]
        assert ("F001", 9000) in stored, "the duress sent during the flood was not stored"

        al = st.alarms()
        dur = [a for a in al if str(a["account"]).upper() == "F001" and a["kind"] == "duress"]
        assert dur and int(dur[0]["priority"]) == 1, \
            "the flooding account's duress must be a priority-1 alarm: %r" % al
        assert str(al[0]["account"]).upper() in ("F001", "D002") and int(al[0]["priority"]) == 1
        flood_alarms = [a for a in al if str(a["account"]).upper() == "F001"
                        and ("flood" in str(a["kind"]).lower() or "rate" in str(a["kind"]).lower())]
        assert flood_alarms, "no flood alarm for the flooding account: %r" % [
            (a["account"], a["kind"], a["priority"]) for a in al]

        # Another account's duress is not delayed noticeably by the flood.
        b = statistics.median(base)
        d = statistics.median(during)
        assert max(during) < 1.0, "other account's duress took %.0f ms during the flood" % (
            max(during) * 1000)
        assert d <= max(10 * b, b + 0.1), \
            "other account's duress median %.1f ms during the flood vs %.1f ms without" % (
                d * 1000, b * 1000)

        # The flooding panel retries later and is served again.
        time.sleep(2.5)
        c = st.conn()
        c.send(v.cid(9001, "F001", "1130 01 001"))
        v.expect_ack(c.recv_frame(timeout=5), 9001, "F001")
        c.close()


if __name__ == "__main__":
    v.run_cases([test_flood_with_duress])
