"""fcommon.py — shared helpers of the crash and network-fault suites (docs/faults.md).

What it is for: a vigil-station on FIXED addresses (so it can be SIGKILLed and
restarted on the same port, or started inside a network namespace with
`ip netns exec`), reading the store back (the vigil CLI, and sqlite3 for
`PRAGMA integrity_check` and exact-once counts), provisioning many accounts
quickly, and network namespaces + veth pairs that are removed even when a test
fails (atexit, SIGTERM from ctest's timeout, and a sweep of leftovers of dead
runs that carry this suite's prefix).

What it must never do: touch an interface or namespace it did not create
(everything it makes is named vgf<pid>…), talk to any address but 127.0.0.1 or
the 10.231.x.y/30 links inside its own namespaces, or weaken an assertion.
"""
import argparse
import atexit
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "station"))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import vstation as v  # noqa: E402

SQLITE3 = "/usr/bin/sqlite3"


def free_port(host="127.0.0.1"):
    s = socket.socket()
    s.bind((host, 0))
    p = s.getsockname()[1]
    s.close()
    return p


# ---------------------------------------------------------------- the station

class FixedStation(v.Station):
    """A vigil-station whose listeners are fixed HOST:PORT strings (same port
    across restarts), optionally inside a network namespace (`netns`)."""

    def __init__(self, args, listen, config=None, name="station", netns=None):
        self.listen = list(listen)
        self.netns = netns
        super().__init__(args, config=config, name=name)

    def _write_config(self):
        with open(self.conf, "w") as f:
            f.write("# written by tests/integration/faults/fcommon.py\n")
            for l in self.listen:
                f.write("dc09_listen %s\n" % l)
            f.write("store sqlite:%s\n" % self.store)
            f.write("ready_file %s\n" % self.ready)
            for k, val in self.cfg.items():
                f.write("%s %s\n" % (k, val))

    def start(self, timeout=30.0, wait_ready=True):
        if os.path.exists(self.ready):
            os.unlink(self.ready)
        self.logf = open(self.log, "ab")
        argv = [self.args.station, "-c", self.conf]
        if self.netns:
            argv = ["ip", "netns", "exec", self.netns] + argv   # execs: same pid
        self.proc = subprocess.Popen(argv, stdout=self.logf, stderr=self.logf)
        if not wait_ready:
            return self
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("vigil-station exited %d at start:\n%s"
                                     % (self.proc.returncode, self.log_text()[-4000:]))
            if os.path.exists(self.ready):
                lines = open(self.ready).read().split("\n")
                tcp = [l for l in lines if l.startswith("tcp ")]
                udp = [l for l in lines if l.startswith("udp ")]
                if len(tcp) >= len(self.listen) and len(udp) >= len(self.listen):
                    self.tcp = v._hostport(tcp[0][4:])
                    self.udp = v._hostport(udp[0][4:])
                    return self
            time.sleep(0.02)
        raise AssertionError("vigil-station did not write its ready file in %.0f s:\n%s"
                             % (timeout, self.log_text()[-4000:]))

    def kill9(self):
        """SIGKILL and reap; returns the time it took."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.logf.close()
        return time.monotonic() - t0

    def sql(self, query, readonly=True):
        """sqlite3 on the store (read-only by default: never checkpoints or
        changes what the daemon will recover)."""
        db = ("file:%s?mode=ro" % self.store) if readonly else self.store
        p = subprocess.run([SQLITE3, "-batch", "-separator", "|", db, query],
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise AssertionError("sqlite3 %r failed (%d): %s" % (query, p.returncode, p.stderr))
        return p.stdout

    def integrity(self):
        out = self.sql("PRAGMA integrity_check;").strip()
        assert out == "ok", "PRAGMA integrity_check: %r" % out[:2000]
        return out


def station(args, listen, accounts=(), key_hex=None, supervision_s=None, config=None,
            netns=None, name="station"):
    """A FixedStation with the accounts provisioned (CLI) before it starts."""
    st = FixedStation(args, listen, config=config, name=name, netns=netns)
    try:
        for a in accounts:
            st.add_account(a, key_hex=key_hex, supervision_s=supervision_s)
        st.start()
    except BaseException:
        print(st.log_text()[-3000:])
        st.cleanup()
        raise
    return st


def add_accounts(st, accounts, key=None, supervision_s=None, jobs=2):
    """`vigil account add` for many accounts, `jobs` at a time (the CLI, as an
    operator provisions; a few ms each)."""
    todo = list(accounts)
    errors = []
    lock = threading.Lock()

    def work():
        while True:
            with lock:
                if not todo or errors:
                    return
                a = todo.pop()
            argv = [st.args.vigil, "-c", st.conf, "account", "add", a, "--name", "Panel " + a,
                    "--address", "1 Fault Lane"]
            if key:
                argv += ["--key", key]
            if supervision_s:
                argv += ["--supervision-s", str(supervision_s)]
            # parallel writers of a fresh store may meet SQLITE_BUSY: a few retries
            for attempt in range(20):
                p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
                if p.returncode == 0:
                    break
                time.sleep(0.05 * (attempt + 1))
            else:
                with lock:
                    errors.append("account add %s: %s" % (a, p.stderr))
    ts = [threading.Thread(target=work) for _ in range(jobs)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors[:3]


def store_counts(st):
    """{(ACCOUNT, seq): number of rows} from the store (sqlite3, read-only)."""
    out = st.sql("SELECT upper(account), seq, count(*) FROM events GROUP BY 1, 2;")
    res = {}
    for line in out.splitlines():
        a, s, n = line.split("|")
        res[(a, int(s))] = int(n)
    return res


def cli_event_counts(st):
    """{(ACCOUNT, seq): rows} read through `vigil events --json` (the operator's view)."""
    ev = st.events()
    res = {}
    for e in ev:
        k = (str(e["account"]).upper(), int(e["seq"]))
        res[k] = res.get(k, 0) + 1
    return res, ev


def duress_linked(st):
    """{(ACCOUNT, seq)} of stored events linked to a `duress` alarm (alarm_events
    links every event of an alarm, its first included)."""
    out = st.sql("SELECT upper(e.account), e.seq FROM events e JOIN alarm_events ae"
                 " ON ae.event_id = e.id JOIN alarms a ON a.id = ae.alarm_id"
                 " WHERE a.kind = 'duress' AND a.priority = 1;")
    return {(a, int(s)) for a, s in (l.split("|") for l in out.splitlines())}


# ---------------------------------------------------------------- namespaces

_NETNS_PREFIX = "vgf"
_made_ns = []
_cleanup_lock = threading.Lock()


def _run(argv, check=True):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (" ".join(argv), p.returncode, p.stderr))
    return p


def sweep_stale_netns():
    """Removes namespaces named vgf<PID>-… whose PID is no longer alive (a run
    that was SIGKILLed could not clean up). Never touches other names."""
    p = _run(["ip", "netns", "list"], check=False)
    for line in p.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.fullmatch(r"vgf(\d+)-\w+", name)
        if m and not os.path.exists("/proc/%s" % m.group(1)):
            _run(["ip", "netns", "del", name], check=False)


def cleanup_netns():
    with _cleanup_lock:
        while _made_ns:
            name = _made_ns.pop()
            # killing what still runs inside (only our own processes live there)
            p = _run(["ip", "netns", "pids", name], check=False)
            for pid in p.stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            _run(["ip", "netns", "del", name], check=False)


atexit.register(cleanup_netns)


def _on_term(signum, frame):
    cleanup_netns()
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, _on_term)


def netns_add(tag):
    name = "%s%d-%s" % (_NETNS_PREFIX, os.getpid(), tag)
    _run(["ip", "netns", "add", name])
    _made_ns.append(name)
    _run(["ip", "-n", name, "link", "set", "lo", "up"])
    return name


class Link:
    """A veth pair between two of our namespaces, /30 addresses 10.231.N.1 (a side)
    and 10.231.N.2 (b side). cut()/restore() take the a side's device down/up:
    the carrier drops on both ends and every packet is lost, as a line cut."""

    def __init__(self, ns_a, ns_b, n, tag):
        self.ns_a, self.ns_b = ns_a, ns_b
        self.dev_a = "vgf%s%da" % (tag, os.getpid() % 100000)
        self.dev_b = "vgf%s%db" % (tag, os.getpid() % 100000)
        assert len(self.dev_a) <= 15
        self.addr_a = "10.231.%d.1" % n
        self.addr_b = "10.231.%d.2" % n
        _run(["ip", "link", "add", self.dev_a, "netns", ns_a, "type", "veth",
              "peer", "name", self.dev_b, "netns", ns_b])
        _run(["ip", "-n", ns_a, "addr", "add", self.addr_a + "/30", "dev", self.dev_a])
        _run(["ip", "-n", ns_b, "addr", "add", self.addr_b + "/30", "dev", self.dev_b])
        _run(["ip", "-n", ns_a, "link", "set", self.dev_a, "up"])
        _run(["ip", "-n", ns_b, "link", "set", self.dev_b, "up"])

    def cut(self):
        _run(["ip", "-n", self.ns_a, "link", "set", self.dev_a, "down"])

    def restore(self):
        _run(["ip", "-n", self.ns_a, "link", "set", self.dev_a, "up"])


def wait_tcp(ns, host, port, timeout=10.0):
    """Waits until HOST:PORT accepts inside namespace ns (or here when ns is None)."""
    code = ("import socket,sys\ns=socket.create_connection((%r,%d),timeout=1)\ns.close()"
            % (host, port))
    deadline = time.monotonic() + timeout
    while True:
        argv = ([] if ns is None else ["ip", "netns", "exec", ns]) + ["/usr/bin/python3", "-c", code]
        if subprocess.run(argv, capture_output=True, timeout=10).returncode == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError("%s:%d not reachable from %s in %.0f s" % (host, port, ns, timeout))
        time.sleep(0.1)


# ---------------------------------------------------------------- runner

def parse_args(panel=False):
    ap = argparse.ArgumentParser()
    ap.add_argument("--station", required=True)
    ap.add_argument("--vigil", required=True)
    ap.add_argument("--panel", required=panel)
    ap.add_argument("-k", dest="only", default=None)
    ap.add_argument("--long", action="store_true", help="the long variant (label long)")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: time)")
    return ap.parse_args()


def run_cases(cases, panel=False):
    """Runs f(args); prints PASS/FAIL per case; always cleans namespaces; exit 1 on failure."""
    args = parse_args(panel)
    if args.seed is None:
        args.seed = int(time.time() * 1000) % 1000000
    print("seed %d (rerun with --seed %d)" % (args.seed, args.seed), flush=True)
    if os.geteuid() == 0:
        sweep_stale_netns()
    failed = []
    try:
        for fn in cases:
            if args.only and args.only not in fn.__name__:
                continue
            t0 = time.monotonic()
            try:
                fn(args)
                print("PASS %-44s %.1fs" % (fn.__name__, time.monotonic() - t0), flush=True)
            except Exception:
                failed.append(fn.__name__)
                print("FAIL %-44s %.1fs" % (fn.__name__, time.monotonic() - t0), flush=True)
                traceback.print_exc()
                sys.stdout.flush()
            finally:
                cleanup_netns()
    finally:
        cleanup_netns()
    print("%d failed: %s" % (len(failed), " ".join(failed)) if failed else "all passed")
    sys.exit(1 if failed else 0)


# ---------------------------------------------------------------- the fault proxy

class FaultProxy:
    """faultproxy.py as a child process (inside namespace `ns` if given), driven
    through its stdin: set(loss=0.2, delay_ms=50), stats(), stop()."""

    def __init__(self, listen, target, seed, ns=None):
        argv = ["/usr/bin/python3", os.path.join(HERE, "faultproxy.py"), "--listen", listen,
                "--target", target, "--seed", str(seed)]
        if ns:
            argv = ["ip", "netns", "exec", ns] + argv
        self.listen = listen
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)
        line = self._line(10)
        assert line == "ready", "faultproxy did not start: %r" % line

    def _line(self, timeout):
        import select
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            raise AssertionError("faultproxy: no answer in %.0f s" % timeout)
        return self.proc.stdout.readline().strip()

    def set(self, **kw):
        self.proc.stdin.write("set " + " ".join("%s=%s" % (k, int(val) if isinstance(val, bool)
                                                           else val) for k, val in kw.items())
                              + "\n")
        self.proc.stdin.flush()
        line = self._line(5)
        assert line == "ok", "faultproxy set %r: %r" % (kw, line)

    def clear(self):
        self.set(loss=0, dup=0, reorder=0, reset=0, delay_ms=0, jitter_ms=0, cut=0)

    def stats(self):
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        return json.loads(self._line(5))

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------- vigil-panel

TX_RX = re.compile(r'^tx (primary|backup) ([0-9A-Fa-f]+) (ADM-CID|SIA-DCS) seq=(\d{4}) '
                   r'(?:cid="([^"]+)"|sia="([^"]*)")')


def tx_events(lines):
    """[(path, ACCOUNT, seq, cid-or-sia)] of the frames a vigil-panel printed it sent."""
    out = []
    for l in lines:
        m = TX_RX.match(l)
        if m and int(m.group(4)) != 0:
            out.append((m.group(1), m.group(2).upper(), int(m.group(4)),
                        m.group(5) or ("sia " + (m.group(6) or ""))))
    return out


def panel(args, workdir, receiver, backup=None, ns=None, **kw):
    """e2e.Panel (vigil-panel --script - --fast) whose receiver/backup are HOST:PORT
    strings, run inside namespace ns when given (through `ip netns exec`, which
    execs: the process is the panel itself)."""
    import e2e
    extra = dict(kw.pop("extra", {}) or {})
    extra["receiver"] = receiver
    if backup:
        extra["backup"] = backup
    a = argparse.Namespace(**vars(args))
    if ns:
        shim = os.path.join(workdir, "panel-in-%s.sh" % ns)
        with open(shim, "w") as f:
            f.write("#!/bin/sh\nexec ip netns exec %s %s \"$@\"\n" % (ns, args.panel))
        os.chmod(shim, 0o755)
        a.panel = shim
    return e2e.Panel(a, workdir, 1, extra=extra, **kw)


def queue_count(p, timeout=15.0):
    """Asks the panel for its queue; returns the number of events it holds: the
    core's events plus the communicator's own (trouble, programming reports)."""
    line = p.barrier(timeout=timeout)
    m = re.search(r" (\d+) events, (\d+) trouble, (\d+) in flight", line)
    assert m, "unexpected queue line %r" % line
    return int(m.group(1)) + int(m.group(2))


def wait_queue_empty(p, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        n = queue_count(p)
        if n == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError("vigil-panel still holds %d events after %.0f s" % (n, timeout))
        time.sleep(0.3)


def check_panel_delivery(st, account, tx, label):
    """Every sequence the panel sent is stored exactly once, nothing else is
    stored for it, routine events (CID 4xx: openings/closings) are stored in
    the panel's order (by the store's id), every duress sent is linked to a
    duress alarm. Returns a dict of figures."""
    account = account.upper()
    sent = {s for _, a, s, _ in tx if a == account}
    rows = st.sql("SELECT id, seq, cid_event FROM events WHERE upper(account)='%s' ORDER BY id;"
                  % account)
    stored = [(int(i), int(s), int(c) if c else None)
              for i, s, c in (l.split("|") for l in rows.splitlines())]
    counts = {}
    for _, s, _ in stored:
        counts[s] = counts.get(s, 0) + 1
    lost = sorted(sent - set(counts))
    dups = sorted(s for s, n in counts.items() if n > 1)
    extra = sorted(set(counts) - sent)
    routine = [s for _, s, c in stored if c is not None and 400 <= c < 500 and s < 9000]
    duress = {s for _, a, s, c in tx if a == account and c.startswith("1121")}
    d_linked = {s for a, s in duress_linked(st) if a == account}
    fig = {"sent": len(sent), "found": len(sent) - len(lost), "lost": len(lost),
           "duplicates": len(dups), "duress": len(duress),
           "duress_alarmed": len(duress & d_linked),
           "resent_frames": len(tx) - len({(a, s) for _, a, s, _ in tx})}
    assert not lost, "%s: %d events the panel sent are not in the store: %r" % (
        label, len(lost), lost[:20])
    assert not dups, "%s: events stored more than once: %r" % (label, dups[:20])
    assert not extra, "%s: stored events the panel never sent: %r" % (label, extra[:20])
    assert routine == sorted(routine), "%s: routine events out of the panel's order: %r" % (
        label, routine)
    assert duress <= d_linked, "%s: duress sent but not a duress alarm: %r" % (
        label, sorted(duress - d_linked))
    return fig


_workdirs = []


def workdir(prefix):
    """A temporary folder removed at exit (kept with VST_KEEP=1, like vstation's)."""
    d = tempfile.mkdtemp(prefix=prefix)
    _workdirs.append(d)
    return d


def _rm_workdirs():
    import shutil
    if os.environ.get("VST_KEEP"):
        print("kept", " ".join(_workdirs))
        return
    for d in _workdirs:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_rm_workdirs)
