"""e2e.py — helpers for the end-to-end tests: real vigil-panel processes
(--script -, driven line by line through a pipe) against a real vigil-station
on 127.0.0.1, read back through `vigil alarms/events --json`.

Reuses tests/integration/station/vstation.py (the station's black-box
helpers: daemon start/stop, accounts, independent DC-09 frames and AES).
What it must never do: talk to any address but 127.0.0.1, or pass a test on
the panel's word alone — deliveries are checked in the station's store.
"""
import argparse
import os
import queue
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "station"))
import vstation as v  # noqa: E402

KEY_ASCII = "DemoKey-16-Bytes"
KEY_HEX = KEY_ASCII.encode().hex()
MASTER = "2468"
DURESS = "9305"
PREMISES = ("display", "led", "beep", "siren")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class FixedStation(v.Station):
    """A station whose port stays the same across restarts."""

    def __init__(self, args, port, config=None, name="station"):
        self.port = port
        super().__init__(args, config=config, name=name)

    def _write_config(self):
        with open(self.conf, "w") as f:
            f.write("dc09_listen 127.0.0.1:%d\n" % self.port)
            f.write("store sqlite:%s\n" % self.store)
            f.write("ready_file %s\n" % self.ready)
            for k, val in self.cfg.items():
                f.write("%s %s\n" % (k, val))


def station(args, account="1234", key_hex=KEY_HEX, port=0, config=None):
    st = FixedStation(args, port, config=config) if port else v.Station(args, config=config)
    st.start()
    st.add_account(account, key_hex=key_hex)
    time.sleep(v.ACCOUNT_PICKUP_S)
    return st


class Panel:
    """A vigil-panel --script - process; lines it prints are collected."""

    def __init__(self, args, workdir, receiver, backup=None, fast=True, transport="tcp",
                 extra=None, account="1234", key_hex=KEY_HEX, state=None):
        self.args = args
        self.dir = workdir
        self.conf = os.path.join(workdir, "panel.conf")
        self.state = state or os.path.join(workdir, "panel.state")
        cfg = {"account": account, "receiver": "127.0.0.1:%d" % receiver,
               "transport": transport, "state": self.state, "ack_timeout_ms": 500,
               "backoff_max_ms": 2000, "path_fail_max": 2, "probe_s": 2}
        if key_hex:
            cfg["key_hex"] = key_hex
        if backup:
            cfg["backup"] = "127.0.0.1:%d" % backup
        cfg.update(extra or {})
        with open(self.conf, "w") as f:
            for k, val in cfg.items():
                f.write("%s %s\n" % (k, val))
        argv = [args.panel, "-c", self.conf, "--script", "-"] + (["--fast"] if fast else [])
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.lines = []
        self.q = queue.Queue()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            self.q.put(line)
        self.q.put(None)

    def cmd(self, *lines):
        for line in lines:
            self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait_for(self, pattern, timeout=10.0, since=0):
        """The first line (from index `since`) matching the regex; waits for it."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            for line in list(self.lines[since:]):
                if rx.search(line):
                    return line
            if time.monotonic() > deadline:
                raise AssertionError("panel never printed /%s/ in %.0f s; output:\n%s"
                                     % (pattern, timeout, "\n".join(self.lines[-60:])))
            if self.proc.poll() is not None and self.q.empty():
                time.sleep(0.05)
                for line in list(self.lines[since:]):
                    if rx.search(line):
                        return line
                raise AssertionError("panel exited %s before /%s/; output:\n%s"
                                     % (self.proc.returncode, pattern,
                                        "\n".join(self.lines[-60:])))
            time.sleep(0.02)

    def barrier(self, timeout=10.0):
        """Returns once every command sent so far has run."""
        n = len(self.lines)
        self.cmd("show queue")
        return self.wait_for(r"^queue \S+ \d+ events", timeout, since=n)

    def mark(self):
        return len(self.lines)

    def finish(self, timeout=15.0):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("vigil-panel did not stop at end of input")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def premises(self, since=0, until=None):
        return [l for l in self.lines[since:until] if l.split(" ", 1)[0] in PREMISES]


def wait_alarms(st, pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        al = st.alarms()
        hit = [a for a in al if pred(a)]
        if hit:
            return hit
        if time.monotonic() > deadline:
            raise AssertionError("no matching alarm in %.0f s; alarms: %r" % (timeout, al))
        time.sleep(0.1)


def wait_events(st, pred, n=1, timeout=10.0, account="1234"):
    deadline = time.monotonic() + timeout
    while True:
        ev = [e for e in st.events(account) if pred(e)]
        if len(ev) >= n:
            return ev
        if time.monotonic() > deadline:
            raise AssertionError("wanted %d matching events in %.0f s, have %d: %r"
                                 % (n, timeout, len(ev), st.events(account)))
        time.sleep(0.1)


def cid_of(e):
    c = e.get("cid") or {}
    return (c.get("qualifier"), c.get("event"), c.get("partition"), c.get("zone"))


def is_duress(a):
    return a.get("kind") == "duress" and a.get("priority") == 1


def setup_users(p):
    p.cmd("user 1 %s" % MASTER, "user 2 %s duress for 1" % DURESS)


# ---------------------------------------------------------------- runner

def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--station", required=True)
    ap.add_argument("--vigil", required=True)
    ap.add_argument("--panel", required=True)
    ap.add_argument("-k", dest="only", default=None)
    return ap.parse_args()


def run_cases(cases):
    """vstation's runner, each case called as f(args, work) with its own temp dir."""
    v.run_cases(cases, parse=parse_args,
                call=lambda fn, args: fn(args, tempfile.mkdtemp(prefix="e2e-%s-" % fn.__name__)))


class Both:
    """with Both(st, panel...): stops everything, prints logs on failure."""

    def __init__(self, st, *panels):
        self.st, self.panels = st, list(panels)

    def add(self, p):
        self.panels.append(p)
        return p

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        for p in self.panels:
            p.kill()
        if et is not None:
            for p in self.panels:
                print("---- panel output (last 80 lines) ----\n" + "\n".join(p.lines[-80:]))
            if self.st is not None:
                print("---- station log (last 3000 chars) ----\n" + self.st.log_text()[-3000:])
        if self.st is not None:
            self.st.cleanup()
        return False
