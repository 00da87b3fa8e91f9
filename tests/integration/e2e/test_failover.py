#!/usr/bin/python3
"""End to end, the fastest path for a duress (issue 13): a real vigil-panel
with a primary path through faultproxy.py (tests/integration/faults) and a
backup path straight to a real vigil-station.

- The primary silently drops everything (faultproxy cut=1: the TCP connection
  stays up and hears nothing). A duress keyed at the keypad must be ACKed via
  the backup within ack_timeout + 1 s: the figure is printed and asserted.
- Right after, with the primary passing again, a hold-up goes on both paths
  at once (the primary failed within the hour): the station ACKs both frames
  and stores the event once.
- Receiver quirk one-in-flight, against a receiver that takes each TCP read
  as one frame (as pysiaalarm does): without the quirk a burst is lost (its
  frames are retried); with it, no loss and the duress first.

It must never pass on the panel's word alone: deliveries are read back from the
station's store, and the peer records what it received.
"""
import os
import re
import socket
import sys
import threading
import time

import e2e
from e2e import DURESS, Both, Panel

sys.path.insert(0, os.path.join(e2e.HERE, "..", "faults"))
from fcommon import FaultProxy  # noqa: E402

ACK_TIMEOUT_MS = 3000          # the communicator's default


def wait_count(p, pattern, n, timeout=15.0):
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while len([l for l in list(p.lines) if rx.search(l)]) < n:
        assert time.monotonic() < deadline, "fewer than %d /%s/:\n%s" % (
            n, pattern, "\n".join(p.lines[-40:]))
        time.sleep(0.05)


def events_cid(st, event):
    return [e for e in st.events("1234") if (e.get("cid") or {}).get("event") == event]


def test_duress_fails_over_within_ack_timeout(args, work):
    st = e2e.station(args)
    pport = e2e.free_port()
    fp = FaultProxy("127.0.0.1:%d" % pport, "127.0.0.1:%d" % st.tcp[1], seed=13)
    p = Panel(args, work, pport, backup=st.tcp[1], fast=False,
              extra={"ack_timeout_ms": ACK_TIMEOUT_MS, "path_fail_max": 3, "probe_s": 600,
                     "backoff_max_ms": 60000, "receiver_id": "0"})
    try:
        with Both(st, p):
            e2e.setup_users(p)
            wait_count(p, r'^queue delivered sia="YG"', 2)   # programming reports
            fp.set(cut=1)               # the primary: silent from now on
            time.sleep(0.2)
            mark = p.mark()
            t0 = time.monotonic()
            p.cmd("keys %s#" % DURESS)
            line = p.wait_for(r'^rx (\S+) 1234 ack seq=(\d+) cid="1121 01 001" after (\d+) ms',
                              timeout=20, since=mark)
            wall_ms = (time.monotonic() - t0) * 1000
            m = re.search(r'^rx (\S+) 1234 ack seq=(\d+) cid="1121 01 001" after (\d+) ms', line)
            path, seq, panel_ms = m.group(1), int(m.group(2)), int(m.group(3))
            print("duress failover: ACKed via the %s %d ms after its first send "
                  "(%.0f ms from the key press); bound ack_timeout + 1 s = %d ms"
                  % (path, panel_ms, wall_ms, ACK_TIMEOUT_MS + 1000), flush=True)
            assert path == "backup", line
            assert panel_ms <= ACK_TIMEOUT_MS + 1000, line
            assert wall_ms <= ACK_TIMEOUT_MS + 1000, wall_ms
            tx = [l for l in p.lines[mark:] if l.startswith("tx ") and "1121 01 001" in l]
            assert tx and tx[0].startswith("tx primary"), tx   # it was tried on the primary
            assert not [l for l in p.lines[mark:] if "path failed" in l], \
                "routine rule: one timeout does not fail the path"
            al = e2e.wait_alarms(st, e2e.is_duress)
            assert len(al) == 1, al
            assert len(events_cid(st, 121)) == 1

            # The primary passes again; it failed within the hour: a hold-up goes
            # on both paths at once, same sequence. The station ACKs both, stores once.
            fp.set(cut=0)
            time.sleep(0.3)
            mark = p.mark()
            p.cmd("zone 5 open")
            p.wait_for(r'^queue delivered cid="1122 01 005"', timeout=10, since=mark)
            tx = [l for l in p.lines[mark:] if l.startswith("tx ") and "1122 01 005" in l]
            paths = sorted(l.split()[1] for l in tx)
            assert paths[:2] == ["backup", "primary"], tx
            seqs = {re.search(r"seq=(\d+)", l).group(1) for l in tx}
            assert len(seqs) == 1, tx
            hseq = seqs.pop()
            # both ACKs arrive: one counts, the other finds nothing in flight
            for pname in ("primary", "backup"):
                p.wait_for(r"^rx %s 1234 (ack seq=%s|ignored seq=%s: ACK for a sequence not "
                           r"in flight)" % (pname, hseq, hseq), timeout=10, since=mark)
            time.sleep(0.5)
            assert len(events_cid(st, 122)) == 1, events_cid(st, 122)
            assert "duplicate, ACK again, stored once" in st.wait_log(
                "duplicate, ACK again, stored once"), \
                "the station did not see the second copy as a duplicate"
            assert p.finish() == 0
    finally:
        fp.stop()


# ---------------------------------------------------------------- one-in-flight

class OneReadPeer:
    """A receiver that takes each TCP read as one frame (pysiaalarm's way): a
    read holding one frame is ACKed (clear, echoing R, L, account); a read
    holding several gets no answer at all (they are lost). It waits a little
    before each read, so frames written back to back arrive in one."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.reads = []               # list of lists of frame bodies
        self.stop = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self._conn, args=(conn,), daemon=True).start()

    def _conn(self, conn):
        conn.settimeout(0.2)
        while not self.stop:
            time.sleep(0.15)
            try:
                data = conn.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                return
            frames = re.findall(rb"\n[0-9A-F]{8}(\"[^\r]*)\r", data)
            self.reads.append(frames)
            if len(frames) != 1:
                continue              # "one frame" that does not parse: lost
            m = re.match(rb'"(\*?)([A-Z-]+)"(\d{4})(R[0-9A-F]+)?L([0-9A-F]+)#([0-9A-F]+)\[',
                         frames[0])
            assert m, frames[0]
            body = b'"ACK"' + m.group(3) + (m.group(4) or b"") + b"L" + m.group(5) + \
                b"#" + m.group(6) + b"[]"
            conn.sendall(e2e.v.wrap(body))

    def close(self):
        self.stop = True
        self.t.join(2)
        self.sock.close()

    def frames(self):
        return [f for r in self.reads for f in r]


def burst(args, work, quirks):
    """A burst: the line is down while a duress, a hold-up and routine reports
    queue up; then it comes back. Returns (peer, panel lines since the burst)."""
    peer = OneReadPeer()
    extra = {"ack_timeout_ms": 1000, "backoff_max_ms": 2000, "receiver_id": "0",
             "supervision_s": 0}
    if quirks:
        extra["receiver_quirks"] = quirks
    p = Panel(args, work, peer.port, key_hex=None, extra=extra)
    try:
        with Both(None, p):
            p.wait_for(r"^net primary 1234: connected", timeout=10)
            p.cmd("network down")
            e2e.setup_users(p)        # two programming reports (routine)
            p.cmd("keys %s#" % DURESS, "zone 5 open")
            p.barrier()
            mark = p.mark()
            p.cmd("network up")
            p.wait_for(r'^queue delivered cid="1121 01 001"', timeout=30, since=mark)
            p.wait_for(r'^queue delivered cid="1122 01 005"', timeout=30, since=mark)
            p.wait_for(r"^queue delivered .*\(0 left\)", timeout=30, since=mark)
            lines = p.lines[mark:]
            assert p.finish() == 0
            return peer, lines
    finally:
        peer.close()


def duress_ms(lines):
    for l in lines:
        m = re.search(r'ack seq=\d+ cid="1121 01 001" after (\d+) ms', l)
        if m:
            return int(m.group(1))
    return None


def payloads_of(frames):
    return [re.search(rb"\|([^\]]*)\]", f).group(1) for f in frames if b"|" in f]


def test_one_in_flight(args, work):
    # without the quirk: frames written back to back arrive in one read and are lost
    peer, lines = burst(args, os.path.join(work), "")
    lost = [r for r in peer.reads if len(r) > 1]
    print("without one-in-flight: %d reads, %d held several frames (%s); duress ACKed "
          "%s ms after its first send" % (len(peer.reads), len(lost),
                                          [len(r) for r in peer.reads], duress_ms(lines)),
          flush=True)
    assert lost, "no burst reached the peer: the test proves nothing"
    got = payloads_of(peer.frames())
    assert len(got) > len(set(got)), "lost frames must have come again: %r" % got

    work2 = os.path.join(work, "quirk")
    os.mkdir(work2)
    peer, lines = burst(args, work2, "one-in-flight")
    sizes = [len(r) for r in peer.reads]
    print("with one-in-flight: %d reads, sizes %s; duress ACKed %s ms after its first send"
          % (len(peer.reads), sizes, duress_ms(lines)), flush=True)
    assert sizes and all(n == 1 for n in sizes), sizes
    frames = peer.frames()
    assert b"|1121 01 001]" in frames[0], frames[0]          # the duress first
    # nothing lost: every event arrived once, none had to come again
    payloads = payloads_of(frames)
    assert len(payloads) == len(set(payloads)), payloads
    assert any(b"1122 01 005" in x for x in payloads), payloads


if __name__ == "__main__":
    e2e.run_cases([test_duress_fails_over_within_ack_timeout, test_one_in_flight])
