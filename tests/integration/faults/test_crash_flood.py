#!/usr/bin/python3
"""Crash suite, station side: SIGKILL vigil-station at random moments of a flood
from 150+ panels, restart it, and prove the durability promise each time.

The panels are Python (one selector thread, one TCP connection each, frames
built by vstation.py independently of the project's encoder, encrypted
*ADM-CID): each sends pipelined windows of events, records every ACK, and —
as a real panel does — resends after a reconnect every event it sent but saw
no ACK for, with the same sequence and payload. Some events are duress
(1121). Kill moments are random (seeded, printed): mid-flood, and some during
the daemon's own start (before its ready file).

After each kill: `PRAGMA integrity_check` is ok on the store the dead daemon
left. After each restart (flood paused): every event a panel saw ACKed is in
the store exactly once. At the end (every event resent until ACKed): the same
through `vigil events --json`, no event sent is missing, and every duress is
linked to a priority-1 duress alarm. Figures printed: kills, sent, ACKed,
found, lost, duplicates.

make test: 10 kills (label integration); --long: 100 kills (label long)."""
import random
import selectors
import signal
import socket
import time

import fcommon as fc
from fcommon import v

KEY = "0123456789ABCDEF"
CFG = {"account_rate_per_s": 1000000, "account_burst": 1000000,
       "max_connections_per_address": 100000, "log_level": "warn"}
DURESS = "1121 01 001"


class FPanel:
    def __init__(self, acct, key, rng, duress_p):
        self.acct, self.key, self.rng, self.duress_p = acct, key, rng, duress_p
        self.next_seq = 1
        self.payload = {}          # seq -> payload (kept: a resend is the same event)
        self.unacked = []          # seqs sent at least once, no ACK yet (oldest first)
        self.inflight = {}         # seq -> send time, on the current connection
        self.acked = set()
        self.duress = set()
        self.sock = None
        self.buf = b""
        self.retry_at = 0.0
        self.anomalies = []        # NAK / DUH / stray replies: asserted empty at the end

    def new_event(self):
        if self.next_seq > 9990:       # 4-digit sequences: never wrap inside the window
            return None
        s = self.next_seq
        self.next_seq += 1
        if self.rng.random() < self.duress_p:
            self.payload[s] = DURESS
            self.duress.add(s)
        else:
            self.payload[s] = "%s 01 %03d" % ("1401" if s % 2 else "3441", s % 1000)
        self.unacked.append(s)
        return s


class Flood:
    """150+ panels on one selector thread; pause()/resume()/drain() from the test."""

    def __init__(self, addr, accounts, rng, window=4, duress_p=0.01):
        self.addr = addr
        self.key = KEY.encode()
        self.panels = [FPanel(a, self.key, random.Random(rng.random()), duress_p)
                       for a in accounts]
        self.window = window
        self.sel = selectors.DefaultSelector()
        self.mode = "run"          # run | pause | drain | stop
        self.error = None
        self.connects = 0
        self.conn_failures = 0
        import threading
        self.t = threading.Thread(target=self._loop, daemon=True)

    def start(self):
        self.t.start()

    def _close(self, p):
        if p.sock is not None:
            try:
                self.sel.unregister(p.sock)
            except (KeyError, ValueError):
                pass
            p.sock.close()
        p.sock = None
        p.buf = b""
        p.inflight.clear()
        p.retry_at = time.monotonic() + 0.05 + p.rng.random() * 0.1

    def _connect(self, p):
        try:
            s = socket.create_connection(self.addr, timeout=1.0)
        except OSError:
            self.conn_failures += 1
            p.retry_at = time.monotonic() + 0.05 + p.rng.random() * 0.15
            return
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        p.sock = s
        self.connects += 1
        self.sel.register(s, selectors.EVENT_READ, p)

    def _send_window(self, p):
        batch = [s for s in p.unacked if s not in p.inflight][:self.window]
        if self.mode == "run":
            while len(batch) < self.window:
                s = p.new_event()
                if s is None:
                    break
                batch.append(s)
        if not batch:
            return
        data = b"".join(v.cid(s, p.acct, p.payload[s], key=self.key) for s in batch)
        now = time.monotonic()
        try:
            p.sock.setblocking(True)
            p.sock.settimeout(2.0)
            p.sock.sendall(data)
            p.sock.setblocking(False)
        except OSError:
            self._close(p)
            return
        for s in batch:
            p.inflight[s] = now

    def _read(self, p):
        try:
            chunk = p.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._close(p)
            return
        p.buf += chunk
        while True:
            lf = p.buf.find(b"\n")
            cr = p.buf.find(b"\r", lf + 1) if lf >= 0 else -1
            if lf < 0 or cr < 0:
                break
            raw = p.buf[lf:cr + 1]
            p.buf = p.buf[cr + 1:]
            r = v.Reply(raw, key=self.key)
            if r.token != "ACK" or r.account != p.acct or r.seq not in p.inflight:
                p.anomalies.append(raw)
                continue
            del p.inflight[r.seq]
            if r.seq not in p.acked:
                p.acked.add(r.seq)
                p.unacked.remove(r.seq)

    def _loop(self):
        try:
            while self.mode != "stop":
                now = time.monotonic()
                for p in self.panels:
                    if self.mode == "pause":
                        break
                    if p.sock is None:
                        if now >= p.retry_at and (self.mode == "run" or p.unacked):
                            self._connect(p)
                        continue
                    if not p.inflight:
                        self._send_window(p)
                    elif now - min(p.inflight.values()) > 5.0:
                        self._close(p)          # no reply in 5 s: reconnect and resend
                for key, _ in self.sel.select(timeout=0.02):
                    self._read(key.data)
        except Exception as e:          # asserted by the test
            import traceback
            traceback.print_exc()
            self.error = e

    def quiesce(self, timeout=15.0):
        """Pause new sends; wait until nothing is in flight (replies read or the
        connection dropped)."""
        self.mode = "pause"
        deadline = time.monotonic() + timeout
        while any(p.inflight and p.sock is not None for p in self.panels):
            if time.monotonic() > deadline:
                raise AssertionError("frames still unanswered %.0f s after the pause" % timeout)
            time.sleep(0.05)
        assert self.error is None, "flood thread: %r" % self.error

    def drain(self, timeout=60.0):
        """Resend everything unACKed until ACKed (no new events)."""
        self.mode = "drain"
        deadline = time.monotonic() + timeout
        while any(p.unacked for p in self.panels):
            assert self.error is None, "flood thread: %r" % self.error
            if time.monotonic() > deadline:
                n = sum(len(p.unacked) for p in self.panels)
                raise AssertionError("%d events still unACKed %.0f s into the drain"
                                     % (n, timeout))
            time.sleep(0.05)
        self.quiesce()

    def stop(self):
        self.mode = "stop"
        self.t.join(timeout=10)
        for p in self.panels:
            self._close(p)

    def acked(self):
        return {(p.acct, s) for p in self.panels for s in p.acked}

    def sent(self):
        return {(p.acct, s) for p in self.panels for s in p.payload}

    def duress_acked(self):
        return {(p.acct, s) for p in self.panels for s in p.duress if s in p.acked}


def check_acked_once(counts, acked, label):
    lost = sorted(k for k in acked if counts.get(k, 0) == 0)
    dups = sorted(k for k, n in counts.items() if n > 1)
    assert not lost, "%s: %d ACKed events missing from the store, e.g. %r" % (
        label, len(lost), lost[:10])
    assert not dups, "%s: %d events stored more than once, e.g. %r" % (label, len(dups), dups[:10])
    return len(lost), len(dups)


def crash_flood(args, kills, panels_n):
    rng = random.Random(args.seed)
    accts = ["%X" % (0xC000 + i) for i in range(panels_n)]
    port = fc.free_port()
    st = fc.FixedStation(args, ["127.0.0.1:%d" % port], config=CFG, name="crashflood")
    flood = None
    t_start = time.monotonic()
    try:
        fc.add_accounts(st, accts, key=KEY)
        st.start()
        flood = Flood(("127.0.0.1", port), accts, rng)
        flood.start()
        at_start_kills = 0
        unacked_at_kills = committed_unacked = 0
        per_round = []
        for k in range(kills):
            # every 5th kill lands during the daemon's own start (recovery, dedup rebuild)
            if k % 5 == 4:
                st.kill9()
                st.integrity()
                st.start(wait_ready=False)
                time.sleep(rng.uniform(0.0, 0.3))
                st.kill9()
                at_start_kills += 1
            else:
                time.sleep(rng.uniform(0.2, 1.5))
                st.kill9()
            st.integrity()
            time.sleep(0.1)                 # the flood thread reads the last replies
            pend = {(p.acct, s) for p in flood.panels for s in p.unacked}
            before = fc.store_counts(st)    # what the dead daemon committed
            unacked_at_kills += len(pend)
            committed_unacked += sum(1 for x in pend if before.get(x))
            st.start()
            flood.quiesce()
            acked = flood.acked()
            counts = fc.store_counts(st)
            check_acked_once(counts, acked, "after kill %d" % (k + 1))
            per_round.append(len(acked))
            if (k + 1) % 10 == 0 or k + 1 == kills:
                print("kill %d: %d ACKed so far, all stored once" % (k + 1, len(acked)),
                      flush=True)
            flood.mode = "run"
        flood.drain()
        flood.stop()
        sent, acked = flood.sent(), flood.acked()
        counts, ev = fc.cli_event_counts(st)
        found = sum(1 for k in acked if counts.get(k, 0) >= 1)
        lost = len(acked) - found
        dups = sum(1 for n in counts.values() if n > 1)
        never = len(sent - acked)
        stray = [r for p in flood.panels for r in p.anomalies]
        d_acked = flood.duress_acked()
        d_alarm = fc.duress_linked(st)
        d_missing = sorted(d_acked - d_alarm)
        st.integrity()
        print("FIGURES station crash: kills=%d (at start %d) panels=%d sent=%d ACKed=%d "
              "found=%d lost=%d duplicates=%d unACKed-at-end=%d duress ACKed=%d "
              "duress alarmed=%d reconnects=%d refused-connects=%d stored rows=%d; at the kills: %d sent unACKed, "
              "%d of them already committed (ACK lost, resent, stored once) %.0fs"
              % (kills, at_start_kills, panels_n, len(sent), len(acked), found, lost, dups,
                 never, len(d_acked), len(d_acked) - len(d_missing), flood.connects,
                 flood.conn_failures, len(ev), unacked_at_kills, committed_unacked,
                 time.monotonic() - t_start), flush=True)
        check_acked_once(counts, acked, "at the end (vigil events --json)")
        assert never == 0, "%d events never ACKed after the drain" % never
        assert set(counts) == sent, "stored events that no panel sent: %r" % sorted(
            set(counts) - sent)[:10]
        assert not stray, "%d replies that were not the ACK awaited, e.g. %r" % (
            len(stray), stray[:5])
        assert d_acked, "no duress was sent and ACKed (the seed gave none?)"
        assert not d_missing, "%d ACKed duress not linked to a duress alarm: %r" % (
            len(d_missing), d_missing[:10])
        al = [a for a in st.alarms() if a.get("kind") == "duress"]
        assert {str(a["account"]).upper() for a in al} >= {a for a, _ in d_acked}, \
            "an account that sent a duress has no duress alarm in `vigil alarms`"
        assert st.stop() == 0
    except BaseException:
        print("---- station log (last 4000 chars) ----\n" + st.log_text()[-4000:])
        raise
    finally:
        if flood is not None and flood.mode != "stop":
            flood.stop()
        st.cleanup()


def test_sigkill_station_under_flood(args):
    crash_flood(args, kills=100 if args.long else 10, panels_n=160)


if __name__ == "__main__":
    fc.run_cases([test_sigkill_station_under_flood])
