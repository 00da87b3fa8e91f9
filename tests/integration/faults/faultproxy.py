#!/usr/bin/python3
"""faultproxy.py — a small userspace fault injector between panels and a station.

Why it exists: the issue asks for tc netem (loss, delay, reordering,
duplication). This machine's kernel has no sch_netem (and no iptables), so
`tc qdisc add ... netem` fails with "Specified qdisc kind is unknown". This
proxy does the same faults in user space, seeded and bounded; a machine with
netem can put `tc qdisc add dev DEV root netem loss 20% delay 50ms 30ms
reorder 25% duplicate 10%` on the veth of tests/integration/faults/fcommon.py's
Link instead (docs/faults.md says how). A cut link is NOT done here but with
`ip link set DEV down` on a veth pair (fcommon.Link), except for the `cut`
control below, which blackholes both directions.

    faultproxy.py --listen HOST:PORT --target HOST:PORT [--seed N]

Listens on HOST:PORT for TCP and UDP and forwards to the target's same
protocol. Faults apply to each DC-09 frame (TCP: the stream is cut at LF..CR;
bytes that make no frame pass as they are) and each UDP datagram, in both
directions:

  loss=P        drop it (TCP: the frame never arrives; the sender's ACK timeout
                and retry, or the station's duplicate window, must cope)
  dup=P         send it twice (the second copy after 0–20 ms)
  delay_ms=D    hold it D ms ... jitter_ms=J  + uniform(0, J) ms
                (TCP keeps the order of frames that are not reordered)
  reorder=P     hold it back reorder_ms (default 100) so later ones overtake it
  reset=P       TCP only: abort both connections (RST) instead of forwarding
  cut=1         blackhole: everything in both directions is dropped, new TCP
                connections are accepted and then hear nothing (a silent line)

Control: one line per command on stdin — `set k=v k=v ...`, `stats` (prints
one JSON line of counters), `quit` (or end of input). It prints `ready` once
listening. Bounds: a delay is at most 5 s, at most 10,000 items wait in the
schedule (beyond, new ones are dropped and counted `overflow`), at most 512
TCP connections; it only ever connects to --target.
"""
import argparse
import heapq
import json
import random
import selectors
import socket
import struct
import sys
import threading
import time

MAX_DELAY_S = 5.0
MAX_SCHEDULED = 10000
MAX_CONNS = 512
FRAME_MAX = 65536


class Faults:
    def __init__(self):
        self.loss = self.dup = self.reorder = self.reset = 0.0
        self.delay_ms = self.jitter_ms = 0.0
        self.reorder_ms = 100.0
        self.cut = False

    def set(self, k, val):
        if k == "cut":
            self.cut = val not in ("0", "false", "no", "")
        elif k in ("loss", "dup", "reorder", "reset"):
            p = float(val)
            if not 0.0 <= p <= 1.0:
                raise ValueError("%s must be 0..1" % k)
            setattr(self, k, p)
        elif k in ("delay_ms", "jitter_ms", "reorder_ms"):
            ms = float(val)
            if not 0.0 <= ms <= MAX_DELAY_S * 1000:
                raise ValueError("%s must be 0..%d" % (k, MAX_DELAY_S * 1000))
            setattr(self, k, ms)
        else:
            raise ValueError("unknown fault %r" % k)


class Proxy:
    def __init__(self, listen, target, seed):
        self.rng = random.Random(seed)
        self.f = Faults()
        self.target = target
        self.sel = selectors.DefaultSelector()
        self.sched = []           # (due, n, callable, args)
        self.n = 0
        self.lock = threading.Lock()
        self.stats = {k: 0 for k in (
            "frames", "datagrams", "forwarded", "dropped", "duplicated", "reordered",
            "delayed", "cut_dropped", "resets", "overflow", "tcp_conns", "raw_bytes")}
        self.tl = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tl.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tl.bind(listen)
        self.tl.listen(128)
        self.tl.setblocking(False)
        self.sel.register(self.tl, selectors.EVENT_READ, ("accept", None))
        self.ul = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.ul.bind(listen)
        self.ul.setblocking(False)
        self.sel.register(self.ul, selectors.EVENT_READ, ("udp_in", None))
        self.udp_peers = {}       # client addr -> upstream socket
        self.conns = set()

    # ------------------------------------------------------------ schedule

    def at(self, due, fn, *a):
        if len(self.sched) >= MAX_SCHEDULED:
            self.stats["overflow"] += 1
            return
        self.n += 1
        heapq.heappush(self.sched, (due, self.n, fn, a))

    def decide(self, last_due=None):
        """The fate of one frame/datagram: None (dropped) or a list of send times."""
        f, r, now = self.f, self.rng, time.monotonic()
        if f.cut:
            self.stats["cut_dropped"] += 1
            return None
        if f.loss and r.random() < f.loss:
            self.stats["dropped"] += 1
            return None
        d = (f.delay_ms + (r.random() * f.jitter_ms if f.jitter_ms else 0.0)) / 1000.0
        if d:
            self.stats["delayed"] += 1
        due = now + min(d, MAX_DELAY_S)
        if f.reorder and r.random() < f.reorder:
            self.stats["reordered"] += 1
            due += f.reorder_ms / 1000.0
        elif last_due is not None:
            due = max(due, last_due)        # TCP: not reordered => keep the order
        times = [due]
        if f.dup and r.random() < f.dup:
            self.stats["duplicated"] += 1
            times.append(due + r.random() * 0.02)
        return times

    # ------------------------------------------------------------ UDP

    def udp_in(self, _):
        for _ in range(64):
            try:
                data, addr = self.ul.recvfrom(65536)
            except BlockingIOError:
                return
            self.stats["datagrams"] += 1
            up = self.udp_peers.get(addr)
            if up is None:
                if len(self.udp_peers) >= MAX_CONNS:
                    continue
                up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                up.connect(self.target)
                up.setblocking(False)
                self.udp_peers[addr] = up
                self.sel.register(up, selectors.EVENT_READ, ("udp_back", addr))
            times = self.decide()
            for t in times or ():
                self.at(t, self._udp_send_up, up, data)

    def _udp_send_up(self, up, data):
        try:
            up.send(data)
            self.stats["forwarded"] += 1
        except OSError:
            pass

    def udp_back(self, addr):
        up = self.udp_peers[addr]
        for _ in range(64):
            try:
                data = up.recv(65536)
            except (BlockingIOError, ConnectionRefusedError):
                return
            except OSError:
                return
            self.stats["datagrams"] += 1
            for t in self.decide() or ():
                self.at(t, self._udp_send_back, addr, data)

    def _udp_send_back(self, addr, data):
        try:
            self.ul.sendto(data, addr)
            self.stats["forwarded"] += 1
        except OSError:
            pass

    # ------------------------------------------------------------ TCP

    def accept(self, _):
        try:
            c, _a = self.tl.accept()
        except BlockingIOError:
            return
        if len(self.conns) >= MAX_CONNS:
            c.close()
            return
        self.stats["tcp_conns"] += 1
        try:
            u = socket.create_connection(self.target, timeout=2.0)
        except OSError:
            c.close()               # the station is down: the panel sees a refusal
            return
        for s in (c, u):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.setblocking(False)
        pair = {"c": c, "u": u, "buf": {"c": b"", "u": b""}, "last": {"c": None, "u": None},
                "out": {"c": b"", "u": b""}, "dead": False}
        self.conns.add(id(pair))
        self.sel.register(c, selectors.EVENT_READ, ("tcp_in", (pair, "c")))
        self.sel.register(u, selectors.EVENT_READ, ("tcp_in", (pair, "u")))

    def _close_pair(self, pair, rst=False):
        if pair["dead"]:
            return
        pair["dead"] = True
        self.conns.discard(id(pair))
        for k in ("c", "u"):
            s = pair[k]
            try:
                self.sel.unregister(s)
            except (KeyError, ValueError):
                pass
            if rst:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()

    def tcp_in(self, arg):
        pair, side = arg
        if pair["dead"]:
            return
        other = "u" if side == "c" else "c"
        try:
            chunk = pair[side].recv(65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            # the sender closed: close the other side after what is scheduled
            self.at(time.monotonic() + (self.f.delay_ms + self.f.jitter_ms) / 1000.0 + 0.01,
                    self._close_pair, pair)
            try:
                self.sel.unregister(pair[side])
            except (KeyError, ValueError):
                pass
            return
        buf = pair["buf"][side] + chunk
        while True:
            lf = buf.find(b"\n")
            if lf < 0:
                if buf:
                    self._raw(pair, other, buf)
                buf = b""
                break
            if lf > 0:                      # bytes before a frame: as they are
                self._raw(pair, other, buf[:lf])
                buf = buf[lf:]
            cr = buf.find(b"\r")
            if cr < 0:
                if len(buf) > FRAME_MAX:
                    self._raw(pair, other, buf)
                    buf = b""
                break
            fr, buf = buf[:cr + 1], buf[cr + 1:]
            self.stats["frames"] += 1
            if self.f.reset and not self.f.cut and self.rng.random() < self.f.reset:
                self.stats["resets"] += 1
                self._close_pair(pair, rst=True)
                return
            times = self.decide(pair["last"][other])
            for t in times or ():
                pair["last"][other] = max(pair["last"][other] or 0, t)
                self.at(t, self._tcp_send, pair, other, fr)
        pair["buf"][side] = buf

    def _raw(self, pair, to, data):
        self.stats["raw_bytes"] += len(data)
        if self.f.cut:
            return
        t = max(time.monotonic(), pair["last"][to] or 0)
        pair["last"][to] = t
        self.at(t, self._tcp_send, pair, to, data)

    def _tcp_send(self, pair, to, data):
        if pair["dead"]:
            return
        s = pair[to]
        out = pair["out"][to] + data
        try:
            n = s.send(out)
        except BlockingIOError:
            n = 0
        except OSError:
            self._close_pair(pair)
            return
        pair["out"][to] = out[n:]
        if data and len(data) and out[n:] == b"":
            self.stats["forwarded"] += 1
        if pair["out"][to]:
            if len(pair["out"][to]) > 4 * 1024 * 1024:
                self._close_pair(pair)      # a peer that never reads: bounded
                return
            self.at(time.monotonic() + 0.01, self._tcp_send, pair, to, b"")

    # ------------------------------------------------------------ loop

    def control(self, line):
        w = line.split()
        if not w:
            return True
        if w[0] == "set":
            with self.lock:
                for kv in w[1:]:
                    k, _, val = kv.partition("=")
                    self.f.set(k, val)
            print("ok", flush=True)
        elif w[0] == "stats":
            with self.lock:
                print(json.dumps(self.stats), flush=True)
        elif w[0] == "quit":
            return False
        else:
            print("error unknown command %r" % w[0], flush=True)
        return True

    def run(self):
        stop = threading.Event()

        def ctl():
            for line in sys.stdin:
                try:
                    if not self.control(line):
                        break
                except ValueError as e:
                    print("error %s" % e, flush=True)
            stop.set()
        threading.Thread(target=ctl, daemon=True).start()
        print("ready", flush=True)
        while not stop.is_set():
            now = time.monotonic()
            timeout = 0.05
            if self.sched:
                timeout = max(0.0, min(timeout, self.sched[0][0] - now))
            for key, _ in self.sel.select(timeout=timeout):
                kind, arg = key.data
                with self.lock:
                    getattr(self, kind)(arg)
            now = time.monotonic()
            with self.lock:
                while self.sched and self.sched[0][0] <= now:
                    _, _, fn, a = heapq.heappop(self.sched)
                    fn(*a)


def hostport(s):
    h, _, p = s.rpartition(":")
    return (h, int(p))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    Proxy(hostport(a.listen), hostport(a.target), a.seed).run()


if __name__ == "__main__":
    main()
