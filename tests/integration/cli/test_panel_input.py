#!/usr/bin/python3
"""vigil-panel's input (issue 12, finding 6):
- 32 codes programmed in a row are 32 programming reports (SIA YG), every one
  delivered to a receiver that ACKs them; none dropped, no "storage slot too
  small" (the communicator keeps a few until ACKed, the rest wait in order);
- `state` given with an empty value means memory only, as the example config
  says, and is not refused;
- a NUL byte in a config line is refused (file, line and key named), not cut at
  in silence; binary bytes in a config are escaped in the message, never echoed
  raw to the terminal.
(`user 1 12a4` exiting 2 is in test_panel_script_errors.py.)"""
import os
import socket
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer  # noqa: E402

panel, root = sys.argv[1], sys.argv[2]
fails = 0


def check(cond, what, detail=""):
    global fails
    if cond:
        print("ok   " + what)
    else:
        fails += 1
        print("FAIL " + what + ("\n" + detail if detail else ""))


def base_config(d, receiver="127.0.0.1:9", state=True):
    with open(os.path.join(root, "packaging", "vigil-panel.conf")) as f:
        text = f.read()
    out = []
    for line in text.splitlines():
        if line.startswith("state "):
            line = "state %s" % os.path.join(d, "panel.state") if state else "state"
        elif line.startswith("receiver "):
            line = "receiver " + receiver
        out.append(line)
    return "\n".join(out) + "\n"


class AckServer:
    """Loopback TCP receiver: ACKs every frame (clear), records what it got."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.frames = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        buf = b""
        while True:
            try:
                chunk = c.recv(4096)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while b"\r" in buf:
                frame, buf = buf.split(b"\r", 1)
                frame = frame.lstrip(b"\n")
                if not frame:
                    continue
                self.frames.append(frame.decode("latin-1"))
                c.sendall(b"\n" + peer.reply_for(frame + b"\r", "ack", b"").encode("latin-1")
                          + b"\r")


def run_panel(conf, script, timeout=120):
    p = subprocess.run([panel, "-c", conf, "--script", "-", "--fast"], input=script.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return p.returncode, p.stdout


with tempfile.TemporaryDirectory() as d:
    # --- 32 programming reports in a row
    srv = AckServer()
    conf = os.path.join(d, "panel.conf")
    with open(conf, "w") as f:
        f.write(base_config(d, "127.0.0.1:%d" % srv.port))
    codes = ["%06d" % (100003 + 7919 * i * 13 % 899990) for i in range(32)]
    script = "".join("user %d %s\n" % (i + 1, c) for i, c in enumerate(codes)) + "wait 60s\n"
    rc, out = run_panel(conf, script)
    text = out.decode("utf-8", "replace")
    yg = [l for l in srv.frames if '"SIA-DCS"' in l and "YG" in l]
    zones = set()
    for l in yg:
        body = l.split("[", 1)[1] if "[" in l else ""
        for part in body.split("/"):
            if part.startswith("YG") or "YG" in part:
                z = part.split("YG", 1)[1].split("^", 1)[0]
                if z.isdigit():
                    zones.add(int(z))
    delivered = text.count('delivered sia="YG"')
    check(rc == 0, "32 programmed codes: exit 0 (got %d)" % rc, text[-1500:])
    check("slot too small" not in text, "no misleading 'storage slot too small'", text[-1500:])
    check("lost" not in text and "not queued" not in text, "no programming report dropped",
          "\n".join(l for l in text.splitlines() if "error" in l)[-1500:])
    check(delivered == 32, "all 32 programming reports delivered (got %d)" % delivered,
          text[-1500:])
    check(zones == set(range(1, 33)),
          "the receiver got a YG report for every slot 1..32 (missing %r)"
          % sorted(set(range(1, 33)) - zones), "\n".join(srv.frames[:3]))
    for secret in codes:
        if secret in text.replace("user", ""):
            check(False, "no code digits in the output (%s shown)" % secret)
            break

    # --- `state` with an empty value: memory only, as the example config says
    conf_e = os.path.join(d, "empty-state.conf")
    with open(conf_e, "w") as f:
        f.write(base_config(d, state=False))
    rc, out = run_panel(conf_e, "wait 100ms\n", timeout=60)
    text = out.decode("utf-8", "replace")
    check(rc == 0 and "missing value" not in text,
          "`state` with an empty value is accepted (exit %d)" % rc, text[-800:])

    # --- a NUL byte: refused, naming file, line and key; nothing raw echoed
    good = base_config(d).encode()
    cases = [
        ("NUL in a value", good + b"device_key_file " + d.encode() + b"/dev\x00key\n",
         "device_key_file",
         "0x00"),
        ("NUL after the key", good.replace(b"\nline 0\n", b"\nline 0\x00junk\n"), "'line'",
         "0x00"),
        ("escape sequence in a key", good + b"\x1b[2J\xff\x01zz 1\n", "", "0x1B"),
        ("binary key name", good + b"\xff\xfezz\xc3 1\n", "\\xFF\\xFEzz\\xC3", "unknown key"),
    ]
    for name, data, key, want in cases:
        path = os.path.join(d, "bad.conf")
        with open(path, "wb") as f:
            f.write(data)
        nline = data[:data.index(b"\x00") if b"\x00" in data else len(data)].count(b"\n") + 1
        if b"\x00" not in data:
            nline = data.rstrip(b"\n").count(b"\n") + 1
        p = subprocess.run([panel, "-c", path, "--script", "-", "--fast"], input=b"",
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        raw = p.stdout
        text = raw.decode("latin-1")
        check(p.returncode == 2, "%s: exit 2 (got %d)" % (name, p.returncode), text)
        check("%s:%d:" % (path, nline) in text, "%s: the message names file and line %d"
              % (name, nline), text)
        check(key in text and want in text, "%s: the message says %r and %r" % (name, key, want),
              text)
        bad = [b for b in raw if (b < 0x20 and b not in (0x0A,)) or b >= 0x7F]
        check(not bad, "%s: no raw control or binary byte in the output (%r)" % (name, bad[:5]),
              repr(raw))

sys.exit(1 if fails else 0)
