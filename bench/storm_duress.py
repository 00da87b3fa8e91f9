#!/usr/bin/python3
"""bench/storm_duress.py — the duress panels of bench/station-storm.sh.

While `vigil bench` storms the station, this sends one encrypted duress
(*ADM-CID 1121) a second, taking turns over the duress accounts (one persistent
TCP connection each, like a panel), verifies each *ACK (CRC, length, sequence,
account, decrypted timestamp) and times it from the send to the ACK. It stops
when STOP_FILE holds a line starting "station " (vigil bench has finished its
station half) or after DURATION seconds, waits for the replies still due, and
writes one line per duress to OUT: "account seq latency_us" (latency -1: no ACK).

  storm_duress.py HOST PORT KEY ACCOUNTS(comma-separated) DURATION STOP_FILE OUT

Only the given host and port; every wait bounded; never prints the key.
"""
import os
import selectors
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "integration", "station"))
import vstation as v  # noqa: E402

REPLY_WAIT_S = 30.0


class Panel:
    def __init__(self, addr, account):
        self.account = account
        self.sock = socket.create_connection(addr, timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buf = b""
        self.seq = 0
        self.sent_at = None     # monotonic time of the duress awaiting its ACK


def stopped(stop_file):
    try:
        with open(stop_file, "rb") as f:
            return any(line.startswith(b"station ") for line in f)
    except OSError:
        return False


def main():
    host, port, key_ascii, accounts, duration, stop_file, out = sys.argv[1:8]
    key = v.key_bytes(key_ascii=key_ascii)
    addr = (host, int(port))
    panels = [Panel(addr, a) for a in accounts.split(",")]
    sel = selectors.DefaultSelector()
    for p in panels:
        sel.register(p.sock, selectors.EVENT_READ, p)
    results = []            # (account, seq, latency_us or -1)
    t_end = time.monotonic() + float(duration)
    next_send = time.monotonic() + 1.0
    turn = 0
    sending = True
    while True:
        now = time.monotonic()
        if sending and (now >= t_end or stopped(stop_file)):
            sending = False
            drain_until = now + REPLY_WAIT_S
        pending = [p for p in panels if p.sent_at is not None]
        if not sending and (not pending or now >= drain_until):
            break
        if sending and now >= next_send:
            next_send += 1.0
            free = [p for p in panels[turn:] + panels[:turn] if p.sent_at is None]
            turn = (turn + 1) % len(panels)
            if free:
                p = free[0]
                p.seq = p.seq % 9999 + 1
                frame = v.cid(p.seq, p.account, "1121 01 %03d" % (p.seq % 999 + 1), key=key)
                p.sock.sendall(frame)
                p.sent_at = time.monotonic()
            else:
                results.append(("-", 0, -2))   # every duress panel still waiting: skipped
        timeout = max(0.0, min(next_send if sending else drain_until, now + 0.2) - now)
        for k, _ in sel.select(timeout):
            p = k.data
            try:
                chunk = p.sock.recv(65536)
            except BlockingIOError:
                continue
            if not chunk:
                raise SystemExit("storm_duress: the station closed the connection of %s"
                                 % p.account)
            p.buf += chunk
            while b"\r" in p.buf:
                lf = p.buf.find(b"\n")
                cr = p.buf.find(b"\r", lf)
                if lf < 0 or cr < 0:
                    break
                raw, p.buf = p.buf[lf:cr + 1], p.buf[cr + 1:]
                t = time.monotonic()
                if p.sent_at is None:
                    raise SystemExit("storm_duress: a reply nobody waited for: %r" % raw)
                v.expect_ack(raw, p.seq, p.account, key=key)
                results.append((p.account, p.seq, int((t - p.sent_at) * 1e6)))
                p.sent_at = None
    for p in panels:
        if p.sent_at is not None:
            results.append((p.account, p.seq, -1))
        p.sock.close()
    with open(out, "w") as f:
        for a, s, us in results:
            f.write("%s %d %d\n" % (a, s, us))


if __name__ == "__main__":
    main()
