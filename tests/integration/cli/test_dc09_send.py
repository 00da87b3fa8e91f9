#!/usr/bin/python3
"""vigil dc09 send against a loopback peer (peer.py) that answers ACK, *ACK,
NAK, DUH, a bad CRC, a wrong sequence, a wrong key, a stale *ACK, a clear ACK
to an encrypted frame, nothing, or hangs up: exit codes 0/1/3/4 provoked for
real, over TCP and UDP; the peer also checks what it received (CRC, length)."""
import json
import os
import socket
import subprocess
import time

from common import HERE, check, finish, run, vigil_path
import dc09py

KEY = "0123456789ABCDEF"
PEER = os.path.join(HERE, "peer.py")


def start_peer(mode, udp=False, linger=10.0):
    args = ["/usr/bin/python3", PEER, "--mode", mode, "--key-hex", KEY.encode().hex(),
            "--linger", str(linger)]
    if udp:
        args.append("--udp")
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    port = p.stdout.readline().decode().strip()
    return p, port


def send(port, extra, udp=False, timeout="3"):
    """extra may carry --quirk options."""
    args = ["dc09", "send", "--host", "127.0.0.1", "--port", port, "--timeout", timeout,
            "--account", "1234", "--cid", "1121 01 003", "--seq", "17", "--receiver", "5"]
    if udp:
        args.append("--udp")
    return run(args + extra, timeout=60)


CASES = [
    # mode, encrypted, udp, expected exit, expected reply check
    ("ack", False, False, 0, lambda g: g["ok"] and g["id"] == "ACK" and g["seq"] == 17
     and g["receiver"] == "5" and g["account"] == "1234" and not g["encrypted"]),
    ("ack", True, False, 0, lambda g: g["ok"] and g["id"] == "ACK" and g["encrypted"]
     and g["timestamp"] is not None),
    ("ack", False, True, 0, lambda g: g["ok"] and g["id"] == "ACK"),
    ("ack", True, True, 0, lambda g: g["ok"] and g["encrypted"]),
    ("split", True, False, 0, lambda g: g["ok"] and g["id"] == "ACK" and g["encrypted"]),
    ("echo", False, False, 4, lambda g: g["ok"] and g["id"] == "ADM-CID"),
    ("nak", False, False, 1, lambda g: g["ok"] and g["id"] == "NAK" and g["timestamp"]),
    ("nak", True, False, 1, lambda g: g["ok"] and g["id"] == "NAK"),
    ("duh", False, False, 1, lambda g: g["ok"] and g["id"] == "DUH" and g["seq"] == 17),
    ("duh", False, True, 1, lambda g: g["ok"] and g["id"] == "DUH"),
    ("badcrc", False, False, 4, lambda g: g["ok"] is False and g["error"] == "crc"),
    ("badcrc", True, True, 4, lambda g: g["ok"] is False and g["error"] == "crc"),
    ("wrongseq", False, False, 4, lambda g: g["ok"] and g["seq"] == 18),
    ("wrongseq", True, False, 4, lambda g: g["ok"] and g["seq"] == 18),
    ("wrongkey", True, False, 4, lambda g: g["ok"] is False and g["error"] in ("decrypt", "pad", "format")),
    ("oldack", True, False, 4, lambda g: g["ok"] is False and g["error"] == "time"),
    # one reply check with the panel (dc09_reply_check): 120 s ahead, R or L not echoed
    ("futureack", True, False, 4, lambda g: g["ok"] is False and g["error"] == "time"),
    ("noecho-r", False, False, 4, lambda g: g["ok"] and g["id"] == "ACK" and g["receiver"] is None),
    ("otherline", True, False, 4, lambda g: g["ok"] and g["line"] == "9"),
    ("naklr", False, False, 4, lambda g: g["ok"] is False and g["error"] == "format"),
    ("clearack", True, False, 4, lambda g: g["ok"] and g["id"] == "ACK" and not g["encrypted"]),
    ("silent", False, False, 3, None),
    ("silent", True, True, 3, None),
    ("close", False, False, 3, None),
]


def main():
    n = 0
    for mode, enc, udp, want, ok in CASES:
        label = "%s %s %s" % (mode, "encrypted" if enc else "clear", "udp" if udp else "tcp")
        p, port = start_peer(mode, udp, linger=30)
        extra = ["--key", KEY] if enc else []
        t0 = time.time()
        rc, out, err = send(port, extra, udp, timeout="1.5" if mode == "silent" else "5")
        took = time.time() - t0
        if mode == "silent":   # it got the frame and holds on: enough
            time.sleep(0.2)
            p.terminate()
        try:
            _, perr = p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            _, perr = p.communicate()
        perr = perr.decode()
        check(rc == want, "%s: exit %d, expected %d (%s)" % (label, rc, want, err.strip()))
        check(p.returncode == 0 or mode == "silent", "%s: peer failed: %s" % (label, perr))
        check(KEY not in out + err, label + ": key printed")
        # what the peer got is a valid frame of ours: it checked CRC and length
        check("peer: got " in perr, "%s: peer saw no frame: %s" % (label, perr))
        if ok is not None:
            lines = out.splitlines()
            if check(len(lines) == 1, "%s: one JSON line expected, got %r" % (label, out)):
                g = json.loads(lines[0])
                check(ok(g), "%s: reply %r" % (label, g))
        else:
            check(out == "", "%s: nothing on stdout: %r" % (label, out))
            if mode == "silent":
                check(1.2 < took < 5, "%s: waited %.1f s for --timeout 1.5" % (label, took))
        if want != 0:
            check(err.strip().startswith("vigil: "), "%s: stderr says why: %r" % (label, err))
        n += 1

    # the same NAK under the receiver quirk nak-token-order: a NAK (exit 1)
    p, port = start_peer("naklr")
    rc, out, err = send(port, ["--quirk", "nak-token-order"])
    p.communicate(timeout=15)
    check(rc == 1 and json.loads(out)["id"] == "NAK", "naklr quirk: exit %d %r %r" % (rc, out, err))
    n += 1

    # nobody listening: connection refused -> 3 (TCP)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = str(s.getsockname()[1])
    s.close()
    rc, out, err = send(port, [])
    check(rc == 3 and "refused" in err.lower(), "refused: exit %d %r" % (rc, err))
    n += 1
    finish("send: %d exchanges" % n)


if __name__ == "__main__":
    main()
