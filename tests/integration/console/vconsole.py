"""vconsole.py — shared helpers for the black-box integration tests of vigil-console.

What it is for: starting a real vigil-station AND a real vigil-console from ONE
temporary configuration file on 127.0.0.1 (DC-09 on an ephemeral port, HTTP on
`http_listen 127.0.0.1:0`, the control socket at its default place: the store's
path + .ctl), creating operators through `vigil -c CONF operator add NAME --role
ROLE`, speaking the console's HTTP API with a tiny client on http.client that
keeps the session cookie and the CSRF token, and reading its Server-Sent Events
stream. Alarms are raised the way a panel raises them: a DC-09 frame built
independently in Python (tests/integration/station/vstation.py), sent to the
station, ACK checked.

What it must never do: talk to any address other than 127.0.0.1, import the
project's own code, or weaken an assertion to make a daemon pass. Every wait is
bounded in time and every loop in count.
"""
import argparse
import http.client
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import queue

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "station"))
import vstation as v  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
LOOPBACK = "127.0.0.1"


# ---------------------------------------------------------------- arguments / runner

def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--station", required=True)
    p.add_argument("--vigil", required=True)
    p.add_argument("--console", required=True)
    p.add_argument("--panel", default=None, help="vigil-panel (the set-up test's real panel)")
    p.add_argument("-k", dest="only", default=None,
                   help="run only cases whose name contains this (comma: several)")
    p.add_argument("--skip", default=None, help="skip cases whose name contains this")
    return p.parse_args()


def run_cases(cases, setup=None):
    """Runs f(ctx) for each case (ctx.args; ctx.shared: a lazily started Rig shared by
    the cases that ask for it, stopped and checked at the end). Prints PASS/FAIL per
    case; exits 1 on any failure."""
    args = parse_args()
    ctx = Ctx(args, setup)
    failed = []
    for fn in cases:
        if args.only and not any(k in fn.__name__ for k in args.only.split(",")):
            continue
        if args.skip and args.skip in fn.__name__:
            continue
        t0 = time.monotonic()
        try:
            fn(ctx)
            print("PASS %-48s %.1fs" % (fn.__name__, time.monotonic() - t0), flush=True)
        except Exception:
            failed.append(fn.__name__)
            print("FAIL %-48s %.1fs" % (fn.__name__, time.monotonic() - t0), flush=True)
            traceback.print_exc()
            if ctx._shared is not None:
                ctx._shared.dump_logs()
            sys.stdout.flush()
    t0 = time.monotonic()
    try:
        ctx.close()
        if ctx.used:
            print("PASS %-48s %.1fs" % ("shared_rig_teardown (exit 0, no secret logged)",
                                        time.monotonic() - t0), flush=True)
    except Exception:
        failed.append("shared_rig_teardown")
        print("FAIL shared_rig_teardown", flush=True)
        traceback.print_exc()
    print("%d failed: %s" % (len(failed), " ".join(failed)) if failed else "all passed")
    sys.exit(1 if failed else 0)


class Ctx:
    def __init__(self, args, setup):
        self.args = args
        self._setup = setup
        self._shared = None
        self.used = False

    @property
    def shared(self):
        if self._shared is None:
            self.used = True
            self._shared = self._setup(self.args)
        return self._shared

    def close(self):
        if self._shared is not None:
            r, self._shared = self._shared, None
            r.close(ok=True)


# ---------------------------------------------------------------- the two daemons

def web_root():
    w = os.path.join(REPO, "web")
    return w if os.path.isdir(w) else None


class Rig:
    """vigil-station + vigil-console from one temporary config file.

    config: extra keys for the file (both programs' keys live in it).
    accounts: dicts for vstation.Station.add_account (created before the start),
    optionally with "extra": [argv...] run as `vigil account ...` afterwards.
    agencies: files under packaging/agencies/ imported (`vigil agency import`)
    after the accounts are made and before their extras (which may name one)."""

    def __init__(self, args, config=None, accounts=(), name="console", agencies=(),
                 store_of=None):
        self.args = args
        cfg = {"http_listen": "%s:0" % LOOPBACK,
               "escalate_after_s": 3600,       # no escalation changes behind a test's back
               "account_rate_per_s": 100000, "account_burst": 100000}
        wr = web_root()
        self.st = v.Station(args, config=cfg, name=name, store_of=store_of)
        if wr is None:
            wr = os.path.join(self.st.dir, "web")
            os.makedirs(wr)
            with open(os.path.join(wr, "index.html"), "w") as f:
                f.write("<!doctype html><title>vigil</title>\n")
        self.st.cfg["web_root"] = wr
        self.st.cfg.update(config or {})
        self.st._write_config()
        self.accounts = list(accounts)
        self.agencies = list(agencies)
        self.console_log = os.path.join(self.st.dir, "console.log")
        self.cproc = None
        self.http = None
        self.secrets = []          # passwords, passcodes, tokens: never in a log
        self.seq = {}
        self.ops = {}              # name -> password

    # ---- lifecycle

    def start(self, console=True):
        try:
            extras = []
            for a in self.accounts:
                a = dict(a)
                extras += a.pop("extra", [])
                self.st.add_account(a.pop("number"), **a)
            for f in self.agencies:
                self.st.vigil("agency", "import", os.path.join(REPO, "packaging", "agencies", f))
            for argv in extras:
                self.st.vigil("account", *argv)
            self.st.start()
            if console:
                self.start_console()
        except BaseException:
            self.dump_logs()
            self.cleanup()
            raise
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, et, ev, tb):
        if et is not None:
            self.dump_logs()
        self.close(ok=et is None)
        return False

    def close(self, ok=True):
        """Stops both (SIGTERM: exit 0 expected), checks no secret was logged, cleans up."""
        try:
            if ok:
                rc = self.stop_console()
                assert rc in (0, None), "vigil-console exited %s on SIGTERM:\n%s" % (
                    rc, self.console_text()[-3000:])
                if self.st.alive():
                    rc = self.st.stop()
                    assert rc == 0, "vigil-station exited %s on SIGTERM:\n%s" % (
                        rc, self.st.log_text()[-3000:])
                self.check_no_secrets()
        finally:
            self.cleanup()

    def cleanup(self):
        if self.cproc is not None and self.cproc.poll() is None:
            try:
                os.kill(self.cproc.pid, signal.SIGCONT)
            except OSError:
                pass
            self.cproc.kill()
            self.cproc.wait()
        self.st.cleanup()

    def start_console(self, timeout=20.0):
        mark = len(self.console_text())
        self.clogf = open(self.console_log, "ab")
        self.cproc = subprocess.Popen([self.args.console, "-c", self.st.conf],
                                      stdout=self.clogf, stderr=self.clogf)
        deadline = time.monotonic() + timeout
        rx = re.compile(r"^info main: listening http (\S+):(\d+)\s*$", re.M)
        while time.monotonic() < deadline:
            m = rx.search(self.console_text()[mark:])
            if m:
                self.http = (m.group(1), int(m.group(2)))
                assert self.http[0] == LOOPBACK and self.http[1] != 0, \
                    "console listens on %r, asked 127.0.0.1:0" % (self.http,)
                return self
            if self.cproc.poll() is not None:
                raise AssertionError("vigil-console exited %d at start:\n%s"
                                     % (self.cproc.returncode, self.console_text()[-3000:]))
            time.sleep(0.02)
        raise AssertionError("vigil-console never logged 'info main: listening http HOST:PORT'"
                             " in %.0f s:\n%s" % (timeout, self.console_text()[-3000:]))

    def stop_console(self, sig=signal.SIGTERM, timeout=15.0):
        if self.cproc is None:
            return None
        if self.cproc.poll() is not None:
            rc = self.cproc.returncode
        else:
            try:
                os.kill(self.cproc.pid, signal.SIGCONT)
            except OSError:
                pass
            self.cproc.send_signal(sig)
            try:
                rc = self.cproc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.cproc.kill()
                self.cproc.wait()
                raise AssertionError("vigil-console did not exit within %.0f s of %s"
                                     % (timeout, signal.Signals(sig).name))
        try:
            self.clogf.close()
        except Exception:
            pass
        return rc

    def console_signal(self, sig):
        os.kill(self.cproc.pid, sig)

    def console_alive(self):
        return self.cproc is not None and self.cproc.poll() is None

    def console_text(self):
        try:
            with open(self.console_log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def dump_logs(self):
        print("---- vigil-station log (last 3000 chars) ----\n" + self.st.log_text()[-3000:])
        print("---- vigil-console log (last 3000 chars) ----\n" + self.console_text()[-3000:])

    def check_no_secrets(self):
        logs = {"vigil-station": self.st.log_text(), "vigil-console": self.console_text()}
        for who, text in logs.items():
            for s in self.secrets:
                if s and len(s) >= 4 and s in text:
                    line = [l for l in text.splitlines() if s in l][0]
                    raise AssertionError("%s logged a secret (%d chars) in: %r"
                                         % (who, len(s), line.replace(s, "<SECRET>")))

    # ---- the vigil CLI

    def operator(self, name, role="operator"):
        p = self.st.vigil("operator", "add", name, "--role", role)
        m = re.search(r"^password: (\S+)\s*$", p.stdout, re.M)
        assert m, "vigil operator add printed no 'password: X' line: %r" % p.stdout
        self.ops[name] = m.group(1)
        self.secrets.append(m.group(1))
        return m.group(1)

    def set_passcode(self, number, verbal=None, duress=None):
        for flag, code in (("--verbal-file", verbal), ("--duress-file", duress)):
            if code is None:
                continue
            path = os.path.join(self.st.dir, "pc-%s%s" % (number, flag))
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.write(fd, (code + "\n").encode())
            os.close(fd)
            self.secrets.append(code)
            self.st.vigil("account", "passcode", number, flag, path)
            os.unlink(path)

    # ---- the panel side

    def next_seq(self, acct):
        s = self.seq.get(acct, 0) + 1
        self.seq[acct] = s
        return s

    def send(self, acct, payload, timeout=5.0):
        """One ADM-CID frame (own Python encoder) on a fresh connection; ACK asserted.
        Returns the ACK latency in seconds."""
        seq = self.next_seq(acct)
        c = self.st.conn()
        try:
            t0 = time.monotonic()
            c.send(v.cid(seq, acct, payload))
            r = c.recv_frame(timeout=timeout)
            dt = time.monotonic() - t0
        finally:
            c.close()
        v.expect_ack(r, seq, acct)
        return dt

    def cli_alarm(self, acct, kind=None, timeout=10.0, all_=False):
        """The open alarm of acct (kind) as `vigil alarms --json` shows it."""
        deadline = time.monotonic() + timeout
        while True:
            out = self.st.vigil("alarms", "--json", *(["--all"] if all_ else [])).stdout
            al = json.loads(out)
            hit = [a for a in al if str(a["account"]).upper() == acct.upper()
                   and (kind is None or a["kind"] == kind)]
            if hit:
                return hit[0]
            if time.monotonic() > deadline:
                raise AssertionError("no %s alarm for %s in %.0f s: %r" % (kind, acct, timeout, al))
            time.sleep(0.1)

    def raise_alarm(self, acct, payload="1130 01 001", kind=None):
        """Sends the frame and returns the alarm id (read with the CLI, not the console)."""
        self.send(acct, payload)
        return int(self.cli_alarm(acct, kind)["id"])

    # ---- the console side

    def client(self, name=None, role="operator"):
        """A Client, logged in as a new (or known) operator when name is given."""
        c = Client(self.http, self)
        if name is not None:
            if name not in self.ops:
                self.operator(name, role)
            r = c.login(name, self.ops[name])
            expect(r, 200)
        return c

    def stream(self, client, last_event_id=None):
        return Stream(self.http, client.cookie, last_event_id)


# ---------------------------------------------------------------- HTTP client

class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers            # list of (name, value)
        self.body = body
        self.text = body.decode("utf-8", "replace")
        try:
            self.json = json.loads(self.text) if self.text else None
        except ValueError:
            self.json = None

    def header(self, name):
        for k, val in self.headers:
            if k.lower() == name.lower():
                return val
        return None

    @property
    def error(self):
        return self.json.get("error") if isinstance(self.json, dict) else None

    def __repr__(self):
        return "<HTTP %d %s>" % (self.status, self.text[:300])


def expect(r, status, contains=None, what=""):
    """Asserts the status; for an error the body {"error": "a sentence"} (and
    `contains` in it, case-insensitive); JSON content type for JSON answers."""
    assert r.status == status, "%sexpected HTTP %d, got %r" % (
        (what + ": ") if what else "", status, r)
    ct = (r.header("Content-Type") or "").lower()
    if status >= 400:
        assert isinstance(r.json, dict) and isinstance(r.json.get("error"), str) \
            and r.json["error"].strip(), \
            "%serror answer is not {\"error\": \"a sentence\"}: %r" % (
                (what + ": ") if what else "", r)
        assert ct.startswith("application/json"), "error Content-Type %r: %r" % (ct, r)
        if contains is not None:
            for c in ([contains] if isinstance(contains, str) else contains):
                assert c.lower() in r.json["error"].lower(), \
                    "%serror should mention %r: %r" % ((what + ": ") if what else "", c, r)
    elif r.json is not None or status == 200:
        assert ct.startswith("application/json"), "Content-Type %r for %r" % (ct, r)
    return r


class Client:
    """Keeps the vigil_session cookie and the CSRF token; one connection per request."""

    def __init__(self, addr, rig=None, timeout=15.0):
        self.addr = addr
        self.rig = rig
        self.timeout = timeout
        self.cookie = None
        self.cookie_attrs = None
        self.csrf = None
        self.name = self.role = None

    def request(self, method, path, body=None, csrf=True, headers=None, raw=None,
                send_cookie=True):
        """csrf: True (the session's token on non-GET), False (none), or a string.
        body: a JSON value; raw: bytes sent as they are."""
        h = {"Host": "%s:%d" % self.addr, "Connection": "close"}
        if send_cookie and self.cookie:
            h["Cookie"] = "vigil_session=" + self.cookie
        if isinstance(csrf, str):
            h["X-CSRF-Token"] = csrf
        elif csrf and self.csrf and method not in ("GET", "HEAD"):
            h["X-CSRF-Token"] = self.csrf
        data = None
        if raw is not None:
            data = raw
            h["Content-Type"] = "application/json"
        elif body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        elif method == "POST":
            data = b""
        h.update(headers or {})
        conn = http.client.HTTPConnection(self.addr[0], self.addr[1], timeout=self.timeout)
        try:
            conn.request(method, path, body=data, headers=h)
            resp = conn.getresponse()
            body_b = resp.read()
            r = Resp(resp.status, resp.getheaders(), body_b)
        finally:
            conn.close()
        for k, val in r.headers:
            if k.lower() == "set-cookie" and val.startswith("vigil_session="):
                first, _, attrs = val.partition(";")
                self.cookie = first.split("=", 1)[1]
                self.cookie_attrs = attrs
                if self.rig is not None and self.cookie:
                    self.rig.secrets.append(self.cookie)
        return r

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, {} if body is None and "raw" not in kw else body, **kw)

    def login(self, name, password):
        r = self.request("POST", "/api/login", {"name": name, "password": password})
        if r.status == 200 and isinstance(r.json, dict):
            self.csrf = r.json.get("csrf")
            self.name, self.role = r.json.get("name"), r.json.get("role")
            if self.rig is not None and self.csrf:
                self.rig.secrets.append(self.csrf)
        return r

    def act(self, alarm_id, action, body=None, **kw):
        return self.post("/api/alarms/%d/%s" % (alarm_id, action), body if body is not None else {},
                         **kw)

    def alarm(self, alarm_id):
        return expect(self.get("/api/alarms/%d" % alarm_id), 200).json

    def alarms(self, all_=False):
        r = expect(self.get("/api/alarms" + ("?all=1" if all_ else "")), 200)
        assert isinstance(r.json, list), "GET /api/alarms is not an array: %r" % r
        return r.json


# ---------------------------------------------------------------- Server-Sent Events

class _Chunked:
    """Incremental HTTP/1.1 chunked-body decoder."""

    def __init__(self):
        self.buf = b""
        self.left = None      # bytes left in the current chunk; None: reading a size line
        self.done = False

    def feed(self, data):
        self.buf += data
        out = []
        for _ in range(1000000):
            if self.done:
                break
            if self.left is None:
                i = self.buf.find(b"\r\n")
                if i < 0:
                    break
                size = int(self.buf[:i].split(b";")[0].strip() or b"0", 16)
                self.buf = self.buf[i + 2:]
                if size == 0:
                    self.done = True
                    break
                self.left = size
            elif self.left > 0:
                if not self.buf:
                    break
                take = self.buf[:self.left]
                out.append(take)
                self.buf = self.buf[len(take):]
                self.left -= len(take)
            else:                         # the CRLF after a chunk
                if len(self.buf) < 2:
                    break
                self.buf = self.buf[2:]
                self.left = None
        return b"".join(out)


class SSEParser:
    """Feeds bytes; returns complete events {id, event, data, t}."""

    def __init__(self):
        self.buf = b""
        self.cur = {"id": None, "event": None, "data": []}
        self.comments = 0

    def feed(self, data, t):
        self.buf += data
        out = []
        while True:
            i = self.buf.find(b"\n")
            if i < 0:
                break
            line = self.buf[:i].rstrip(b"\r").decode("utf-8", "replace")
            self.buf = self.buf[i + 1:]
            if line == "":
                if self.cur["data"] or self.cur["event"]:
                    d = "\n".join(self.cur["data"])
                    try:
                        dj = json.loads(d) if d else None
                    except ValueError:
                        dj = None
                    out.append({"id": self.cur["id"], "event": self.cur["event"] or "message",
                                "data": dj, "raw": d, "t": t})
                self.cur = {"id": None, "event": None, "data": []}
                continue
            if line.startswith(":"):
                self.comments += 1
                continue
            k, _, val = line.partition(":")
            if val.startswith(" "):
                val = val[1:]
            if k == "id":
                self.cur["id"] = val
            elif k == "event":
                self.cur["event"] = val
            elif k == "data":
                self.cur["data"].append(val)
        return out


def open_sse(addr, cookie, last_event_id=None, timeout=10.0):
    """Connects and sends the GET; returns (socket, status, headers dict, leftover bytes)."""
    s = socket.create_connection(addr, timeout=timeout)
    req = ["GET /api/alarms/stream HTTP/1.1", "Host: %s:%d" % addr,
           "Accept: text/event-stream", "Cache-Control: no-cache"]
    if cookie:
        req.append("Cookie: vigil_session=" + cookie)
    if last_event_id is not None:
        req.append("Last-Event-ID: %s" % last_event_id)
    s.sendall(("\r\n".join(req) + "\r\n\r\n").encode())
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in buf:
        if time.monotonic() > deadline:
            s.close()
            raise AssertionError("SSE: no response head in %.0f s: %r" % (timeout, buf[:200]))
        r, _, _ = select.select([s], [], [], 0.2)
        if r:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0] if lines else "")
    if not m:
        s.close()
        raise AssertionError("SSE: not an HTTP response: %r" % buf[:300])
    hdrs = {}
    for l in lines[1:]:
        k, _, val = l.partition(":")
        hdrs[k.strip().lower()] = val.strip()
    return s, int(m.group(1)), hdrs, rest


class Stream:
    """GET /api/alarms/stream in a thread; events go to a queue (and .events)."""

    def __init__(self, addr, cookie, last_event_id=None, timeout=10.0):
        self.sock, self.status, self.headers, rest = open_sse(addr, cookie, last_event_id, timeout)
        self.events = []
        self.q = queue.Queue()
        self.closed = threading.Event()
        self._stop = False
        self.parser = SSEParser()
        self.body = b""
        self.chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        self.dec = _Chunked() if self.chunked else None
        if self.status != 200:
            # an error answer: read its body (Content-Length) and stop
            n = int(self.headers.get("content-length", "0") or 0)
            self.body = rest
            deadline = time.monotonic() + 5
            while len(self.body) < n and time.monotonic() < deadline:
                r, _, _ = select.select([self.sock], [], [], 0.2)
                if r:
                    c = self.sock.recv(65536)
                    if not c:
                        break
                    self.body += c
            self.sock.close()
            self.closed.set()
            return
        self._feed(rest)
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _feed(self, data):
        now = time.monotonic()
        if self.dec is not None:
            data = self.dec.feed(data)
        for ev in self.parser.feed(data, now):
            self.events.append(ev)
            self.q.put(ev)
        if self.dec is not None and self.dec.done:
            self.closed.set()

    def _run(self):
        try:
            while not self._stop and not self.closed.is_set():
                r, _, _ = select.select([self.sock], [], [], 0.2)
                if not r:
                    continue
                try:
                    chunk = self.sock.recv(65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    break
                self._feed(chunk)
        finally:
            self.closed.set()

    def next(self, pred=lambda e: e["event"] == "alarm", timeout=5.0):
        """The next event matching pred (others are skipped), or None after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                ev = self.q.get(timeout=min(left, 0.2))
            except queue.Empty:
                if self.closed.is_set() and self.q.empty():
                    return None
                continue
            if pred(ev):
                return ev

    def drain(self, wait=0.5):
        """Every event that arrives within `wait` seconds from now (after those queued)."""
        out = []
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            try:
                out.append(self.q.get(timeout=min(left, 0.1)))
            except queue.Empty:
                pass

    def close(self):
        self._stop = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if hasattr(self, "t"):
            self.t.join(timeout=2)
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------- small helpers

def find_key(obj, name):
    """The first value under key `name` anywhere in a JSON value (depth-first), or KeyError."""
    stack = [obj]
    for _ in range(100000):
        if not stack:
            break
        o = stack.pop(0)
        if isinstance(o, dict):
            if name in o:
                return o[name]
            stack.extend(o.values())
        elif isinstance(o, list):
            stack.extend(o)
    raise KeyError(name)


def wait_until(fn, timeout, what, step=0.1):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError("%s: not within %.1f s" % (what, timeout))
        time.sleep(step)
