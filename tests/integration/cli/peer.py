#!/usr/bin/python3
"""peer.py — a tiny loopback DC-09 receiver for testing `vigil dc09 send`
(and for the demo until vigil-station exists). It answers the first frame it
gets in the way --mode says, then exits. Listens on 127.0.0.1 only, on an
ephemeral port that it prints as the first line of stdout.

Modes: ack, split (garbage, then the ACK in three pieces), echo (sends the
frame back: not a reply), nak, duh, badcrc (ACK with a wrong CRC), wrongseq (ACK for
another sequence number), clearack (clear ACK even to an encrypted frame),
wrongkey (*ACK encrypted with another key), oldack (*ACK with a stale
timestamp), futureack (*ACK dated 120 s ahead), noecho-r (ACK without the R
token the frame had), otherline (ACK with another L), naklr (NAK written
"L0R0A0"), silent (never answers), close (closes without answering).
Test/demo use only: it never stores anything."""
import argparse
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dc09py  # noqa: E402


def reply_for(frame: bytes, mode: str, key: bytes):
    text = frame.strip(b"\r\n").decode("latin-1")
    body = dc09py.check_wrapped(text)
    m = dc09py.HEAD_RE.match(body)
    if not m:
        raise SystemExit("peer: cannot parse %r" % body)
    seq = int(m["seq"])
    r = ("R" + m["rcv"]) if m["rcv"] is not None else ""
    if mode == "noecho-r":
        r = ""
    line = "9" if mode == "otherline" else m["line"]
    tail = "%sL%s#%s" % (r, line, m["acct"])
    now = int(time.time())
    if mode == "nak":
        return dc09py.wrap('"NAK"0000R0L0A0[]' + dc09py.dc09_time(now))
    if mode == "naklr":
        return dc09py.wrap('"NAK"0000L0R0A0[]' + dc09py.dc09_time(now))
    if mode == "duh":
        return dc09py.wrap('"DUH"%04d%s[]' % (seq, tail))
    if mode == "wrongseq":
        seq = seq % 9999 + 1
    encrypted = m["star"] == "*" and mode != "clearack"
    if encrypted:
        k = key
        if mode == "wrongkey":
            k = bytes(b ^ 0x55 for b in key)
        t = now - 600 if mode == "oldack" else now + 120 if mode == "futureack" else now
        hexdata = dc09py.encrypt_region(k, "]" + dc09py.dc09_time(t))
        out = dc09py.wrap('"*ACK"%04d%s[%s' % (seq, tail, hexdata))
    else:
        out = dc09py.wrap('"ACK"%04d%s[]' % (seq, tail))
    if mode == "badcrc":
        crc = int(out[:4], 16) ^ 0x0101
        out = "%04X" % crc + out[4:]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="ack")
    ap.add_argument("--udp", action="store_true")
    ap.add_argument("--key-hex", default="")
    ap.add_argument("--linger", type=float, default=10.0,
                    help="silent mode: how long to hold the connection open")
    a = ap.parse_args()
    key = bytes.fromhex(a.key_hex)
    kind = socket.SOCK_DGRAM if a.udp else socket.SOCK_STREAM
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    if not a.udp:
        s.listen(1)
    print(s.getsockname()[1], flush=True)
    s.settimeout(30)
    if a.udp:
        data, peer = s.recvfrom(2048)
        send = lambda b: s.sendto(b, peer)  # noqa: E731
        conn = None
    else:
        conn, _ = s.accept()
        conn.settimeout(30)
        data = b""
        while not data.endswith(b"\r"):
            chunk = conn.recv(2048)
            if not chunk:
                return
            data += chunk
        send = conn.sendall
    print("peer: got " + data.strip(b"\r\n").decode("latin-1"), file=sys.stderr, flush=True)
    if a.mode == "silent":
        time.sleep(a.linger)
        return
    if a.mode == "close":
        return
    if a.mode == "echo":
        send(data)
        print("peer: echoed the frame", file=sys.stderr, flush=True)
    elif a.mode == "split" and conn is not None:
        out = reply_for(data, "ack", key)
        wire = b"\x00junk\r" + b"\n" + out.encode("latin-1") + b"\r"
        for piece in (wire[:9], wire[9:20], wire[20:]):
            send(piece)
            time.sleep(0.05)
        print("peer: sent " + out + " after garbage, in 3 pieces", file=sys.stderr, flush=True)
    else:
        out = reply_for(data, a.mode, key)
        print("peer: sent " + out, file=sys.stderr, flush=True)
        send(b"\n" + out.encode("latin-1") + b"\r")
    if conn is not None:
        time.sleep(0.2)
        conn.close()


if __name__ == "__main__":
    main()
