#!/usr/bin/env python3
"""vigil-station and vigil-console under systemd's protocols, without systemd:

  notify   NOTIFY_SOCKET is an AF_UNIX datagram socket of this test. Each daemon
           sends READY=1 only once its port accepts (the test connects the moment
           READY=1 arrives), WATCHDOG=1 periodically when WATCHDOG_USEC is set (and
           none when it is not), RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on
           SIGTERM, and exits 0.
  journal  JOURNAL_STREAM names stderr's device:inode, as systemd sets it when
           stderr is the journal: every line starts with its syslog priority
           (<7> debug, <6> info, <4> warn, <3> error) matching its level word; with
           JOURNAL_STREAM naming another file, no line carries one.

usage: test_systemd.py notify|journal --station BIN --console BIN --web DIR
"""
import argparse
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

WATCHDOG_USEC = 400000          # pings expected every 200 ms


class Notify:
    """The notify socket, drained by a thread as systemd does (a sender blocks
    once the socket's queue of datagrams is full)."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.q = queue.Queue()
        self.got = []           # (monotonic time, {key: value}) handed out by read()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        while True:
            data = self.sock.recv(4096)
            kv = dict(l.split("=", 1) for l in data.decode().split("\n") if "=" in l)
            self.q.put((time.monotonic(), kv))

    def read(self, timeout):
        """Messages arriving within timeout seconds (and those queued before)."""
        out = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                item = self.q.get(timeout=max(left, 0)) if left > 0 else self.q.get_nowait()
            except queue.Empty:
                return out
            out.append(item)
            self.got.append(item)

    def wait_for(self, key, timeout, proc=None, what=""):
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            for t, kv in self.read(0.05):
                seen.append(kv)
                if key in kv:
                    return t, kv, seen
            if proc is not None and proc.poll() is not None:
                raise AssertionError("%s exited %d before %s" % (what, proc.returncode, key))
        raise AssertionError("%s: no %s within %.0f s (got %r)" % (what, key, timeout, seen))


def write_config(d, extra=""):
    conf = os.path.join(d, "vigil.conf")
    with open(conf, "w") as f:
        f.write("dc09_listen 127.0.0.1:0\n"
                "store sqlite:%s/store.db\n"
                "ready_file %s/ready\n"
                "http_listen 127.0.0.1:0\n"
                "web_root %s\n"
                "log_level info\n%s" % (d, d, ARGS.web, extra))
    return conf


def connect_ok(port, what):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.close()


def wait_log(path, pattern, timeout, proc, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(pattern, open(path, errors="replace").read())
        if m:
            return m
        if proc.poll() is not None:
            raise AssertionError("%s exited %d:\n%s" % (what, proc.returncode, open(path).read()))
        time.sleep(0.02)
    raise AssertionError("%s: no /%s/ in its log:\n%s" % (what, pattern, open(path).read()))


def stop(proc, what, timeout=15):
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(timeout=timeout)
    assert rc == 0, "%s exited %d after SIGTERM" % (what, rc)


def check_watchdog(n, what, seconds=1.6):
    msgs = n.read(seconds)
    pings = [t for t, kv in msgs if kv.get("WATCHDOG") == "1"]
    assert len(pings) >= 4, "%s: %d WATCHDOG=1 in %.1f s with WATCHDOG_USEC=%d (want >= 4)" % (
        what, len(pings), seconds, WATCHDOG_USEC)
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert max(gaps) < WATCHDOG_USEC / 1e6, "%s: a gap of %.3f s between pings" % (what, max(gaps))
    print("%s: %d pings in %.1f s, largest gap %.3f s" % (what, len(pings), seconds, max(gaps)))


def check_reload(proc, n, what):
    proc.send_signal(signal.SIGHUP)
    _, _, seen = n.wait_for("READY", 5, proc, what + " after SIGHUP")
    assert any("RELOADING" in kv for kv in seen), "%s: READY=1 after SIGHUP without RELOADING=1 first" % what
    time.sleep(0.2)
    assert proc.poll() is None, "%s died on SIGHUP" % what


def test_notify(d):
    conf = write_config(d)
    # the station
    n = Notify(os.path.join(d, "notify-station"))
    env = dict(os.environ, NOTIFY_SOCKET=n.path, WATCHDOG_USEC=str(WATCHDOG_USEC))
    env.pop("WATCHDOG_PID", None)
    slog = os.path.join(d, "station.log")
    st = subprocess.Popen([ARGS.station, "-c", conf], stdout=open(slog, "ab"),
                          stderr=subprocess.STDOUT, env=env)
    try:
        _, kv, seen = n.wait_for("READY", 20, st, "vigil-station")
        m = re.search(r"127\.0\.0\.1:(\d+)", kv.get("STATUS", ""))
        assert m, "vigil-station: READY=1 without the port in STATUS=: %r" % kv
        connect_ok(int(m.group(1)), "vigil-station")     # the moment READY came
        assert os.path.exists(os.path.join(d, "ready")), "READY=1 before the ready file"
        assert not any("WATCHDOG" in k for k in seen), "a ping before READY=1: %r" % seen
        print("vigil-station: READY=1 (%s), port %s accepts" % (kv["STATUS"], m.group(1)))
        check_watchdog(n, "vigil-station")
        check_reload(st, n, "vigil-station")

        # the console, on the station's store
        c = Notify(os.path.join(d, "notify-console"))
        cenv = dict(os.environ, NOTIFY_SOCKET=c.path, WATCHDOG_USEC=str(WATCHDOG_USEC))
        cenv.pop("WATCHDOG_PID", None)
        clog = os.path.join(d, "console.log")
        co = subprocess.Popen([ARGS.console, "-c", conf], stdout=open(clog, "ab"),
                              stderr=subprocess.STDOUT, env=cenv)
        try:
            c.wait_for("READY", 20, co, "vigil-console")
            port = int(wait_log(clog, r"listening http 127\.0\.0\.1:(\d+)", 1, co,
                                "vigil-console").group(1))
            connect_ok(port, "vigil-console")
            print("vigil-console: READY=1, port %d accepts" % port)
            check_watchdog(c, "vigil-console")
            check_reload(co, c, "vigil-console")
            stop(co, "vigil-console")
            c.read(0.2)
            assert any("STOPPING" in kv for _, kv in c.got), "vigil-console: no STOPPING=1"
        finally:
            if co.poll() is None:
                co.kill()
        stop(st, "vigil-station")
        n.read(0.2)
        assert any("STOPPING" in kv for _, kv in n.got), "vigil-station: no STOPPING=1"

        # no WATCHDOG_USEC: READY=1 and no pings
        env.pop("WATCHDOG_USEC")
        n.got.clear()
        st = subprocess.Popen([ARGS.station, "-c", conf], stdout=open(slog, "ab"),
                              stderr=subprocess.STDOUT, env=env)
        n.wait_for("READY", 20, st, "vigil-station (no watchdog)")
        quiet = [kv for _, kv in n.read(0.8) if "WATCHDOG" in kv]
        assert not quiet, "vigil-station pinged without WATCHDOG_USEC: %r" % quiet
        stop(st, "vigil-station")
    finally:
        if st.poll() is None:
            st.kill()


PRIO = {"debug": "<7>", "info": "<6>", "warn": "<4>", "error": "<3>"}


def run_logged(d, name, journal_of):
    """Station (with a warn and an error line) and console; stderr to d/name.log.
    journal_of: the file whose dev:ino JOURNAL_STREAM names (None: unset)."""
    conf = write_config(d, "stats_interval_s 60\n")
    log = os.path.join(d, name + ".log")
    open(log, "w").close()
    env = dict(os.environ)
    for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "JOURNAL_STREAM"):
        env.pop(k, None)
    if journal_of:
        st_ = os.stat(journal_of)
        env["JOURNAL_STREAM"] = "%d:%d" % (st_.st_dev, st_.st_ino)
    f = open(log, "ab")
    st = subprocess.Popen([ARGS.station, "-c", conf], stdout=f, stderr=f, env=env)
    try:
        wait_log(log, r"listening control", 20, st, "vigil-station")
        # a key that needs a restart (warn), then a file that does not load (error)
        text = open(conf).read().replace("dc09_listen 127.0.0.1:0", "dc09_listen 127.0.0.1:1")
        with open(conf, "w") as c:
            c.write(text)
        st.send_signal(signal.SIGHUP)
        wait_log(log, r"takes effect only after a restart", 5, st, "vigil-station")
        with open(conf, "a") as c:
            c.write("no_such_key 1\n")
        st.send_signal(signal.SIGHUP)
        wait_log(log, r"reload refused", 5, st, "vigil-station")
        with open(conf, "w") as c:
            c.write(text)
        co = subprocess.Popen([ARGS.console, "-c", conf], stdout=f, stderr=f, env=env)
        try:
            wait_log(log, r"listening http", 20, co, "vigil-console")
            stop(co, "vigil-console")
        finally:
            if co.poll() is None:
                co.kill()
        stop(st, "vigil-station")
    finally:
        if st.poll() is None:
            st.kill()
    return open(log, errors="replace").read().splitlines()


def test_journal(d):
    lines = run_logged(d, "journal", os.path.join(d, "journal.log"))
    levels = set()
    for l in lines:
        m = re.match(r"^(<[0-7]>)?(debug|info|warn|error) [a-z_]+: ", l)
        if not m:
            continue    # a line printed before the log (none expected here)
        assert m.group(1) == PRIO[m.group(2)], "journal line without its priority: %r" % l
        levels.add(m.group(2))
    for want in ("info", "warn", "error"):
        assert want in levels, "no %s line to check (lines: %r)" % (want, lines[:20])
    assert any(l.startswith("<6>info main: listening http") for l in lines), \
        "the console's lines carry no priority"
    print("journal: %d lines, levels %s, each with its <N>" % (len(lines), sorted(levels)))

    other = os.path.join(d, "other")
    open(other, "w").close()
    plain = run_logged(d, "plain", other)      # JOURNAL_STREAM names another file
    pref = [l for l in plain if re.match(r"^<[0-7]>", l)]
    assert not pref, "a priority prefix when stderr is not the journal: %r" % pref[:3]
    assert any(l.startswith("warn config:") for l in plain), "no plain warn line: %r" % plain[:20]
    print("not the journal: %d lines, none prefixed" % len(plain))


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["notify", "journal"])
    p.add_argument("--station", required=True)
    p.add_argument("--console", required=True)
    p.add_argument("--web", required=True)
    ARGS = p.parse_args()
    d = tempfile.mkdtemp(prefix="vigil-systemd-")
    try:
        {"notify": test_notify, "journal": test_journal}[ARGS.mode](d)
    except AssertionError as e:
        print("FAIL: %s" % e)
        for name in ("station.log", "console.log"):
            path = os.path.join(d, name)
            if os.path.exists(path):
                print("--- %s\n%s" % (name, open(path, errors="replace").read()[-3000:]))
        return 1
    shutil.rmtree(d, ignore_errors=True)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
