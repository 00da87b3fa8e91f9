"""vstation.py — shared helpers for the black-box integration tests of vigil-station.

What it is for: building SIA DC-09 frames INDEPENDENTLY of the project's own
encoder (own CRC-16/ARC, framing, AES-CBC from pycryptodomex), parsing and
verifying the station's replies byte for byte, starting/stopping a real
daemon on 127.0.0.1 with ephemeral ports and a temporary store, and reading
the store back through `vigil events/alarms --json`.

What it must never do: import or call the project's DC-09 library (the tests
must prove interoperability, not agree with themselves), talk to any address
other than 127.0.0.1, or weaken an assertion to make a daemon pass.
"""
import argparse
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

from Cryptodome.Cipher import AES

# ---------------------------------------------------------------- CRC / time

_CRC_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0xA001 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)
assert len(_CRC_TABLE) == 256


def crc16(data: bytes, crc: int = 0) -> int:
    """CRC-16/ARC: poly 0x8005 reflected, init 0, no xorout."""
    for b in data:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ b) & 0xFF]
    return crc


assert crc16(b"123456789") == 0xBB3D


def dc09_time(t=None) -> str:
    """'_HH:MM:SS,MM-DD-YYYY' in UTC."""
    if t is None:
        t = time.time()
    return time.strftime("_%H:%M:%S,%m-%d-%Y", time.gmtime(t))


def parse_dc09_time(s: str) -> float:
    """'_HH:MM:SS,MM-DD-YYYY' -> Unix seconds (UTC)."""
    m = re.fullmatch(r"_(\d\d):(\d\d):(\d\d),(\d\d)-(\d\d)-(\d\d\d\d)", s)
    if not m:
        raise ValueError("bad timestamp %r" % s)
    hh, mi, ss, mo, dd, yy = (int(x) for x in m.groups())
    import calendar
    return calendar.timegm((yy, mo, dd, hh, mi, ss, 0, 0, 0))


# ---------------------------------------------------------------- keys / AES

def key_bytes(key_ascii=None, key_hex=None) -> bytes:
    if key_ascii is not None:
        return key_ascii.encode("ascii")
    if key_hex is not None:
        return bytes.fromhex(key_hex)
    return None


_PAD_ALPHABET = bytes(b for b in range(0x21, 0x7F) if b not in b"|[]")


def random_pad(n: int) -> bytes:
    return bytes(random.choice(_PAD_ALPHABET) for _ in range(n))


def encrypt_region(key: bytes, clear: bytes, pad_bar=True, min_pad=8) -> str:
    """pad [|] clear, zero-IV AES-CBC, uppercase hex. `clear` = data] xdata _ts."""
    extra = 1 if pad_bar else 0
    n = 16 - ((len(clear) + extra) % 16)
    if n == 16 and not pad_bar:
        n = 16
    while n < min_pad:
        n += 16
    region = random_pad(n) + (b"|" if pad_bar else b"") + clear
    assert len(region) % 16 == 0, len(region)
    return AES.new(key, AES.MODE_CBC, iv=bytes(16)).encrypt(region).hex().upper()


def decrypt_hex(key: bytes, hextext: str) -> bytes:
    raw = bytes.fromhex(hextext)
    if len(raw) % 16:
        raise ValueError("ciphertext not whole blocks")
    return AES.new(key, AES.MODE_CBC, iv=bytes(16)).decrypt(raw)


# ---------------------------------------------------------------- frames

def wrap(body: bytes, crc_with_cr=False, binary_crc=False, length=None) -> bytes:
    """LF CRC LLLL body CR."""
    c = crc16(body + b"\r") if crc_with_cr else crc16(body)
    n = len(body) if length is None else length
    crc_part = bytes([c >> 8, c & 0xFF]) if binary_crc else b"%04X" % c
    return b"\n" + crc_part + b"0%03X" % n + body + b"\r"


def frame(token, seq, account, payload=None, *, receiver="0", line="0",
          key=None, ts="now", xdata="", data=None, data_account=True,
          pad_bar=True, crc_with_cr=False, binary_crc=False, length=None,
          min_pad=8) -> bytes:
    """Builds one DC-09 frame.

    token: 'ADM-CID', 'SIA-DCS', 'NULL' (a '*' is added when key is set).
    payload: e.g. '1121 01 003'; data defaults to '#acct|payload' (or '' for
    payload None). ts: 'now', None (no timestamp), or Unix seconds.
    receiver None: no R token. line '' = bare L.
    """
    if data is None:
        if payload is None:
            data = ""
        elif data_account:
            data = "#%s|%s" % (account, payload)
        else:
            data = payload
    tstr = "" if ts is None else dc09_time(None if ts == "now" else ts)
    head = '"%s%s"%04d' % ("*" if key else "", token, seq)
    if receiver is not None:
        head += "R" + receiver
    head += "L" + line + "#" + account + "["
    if key:
        inner = encrypt_region(key, (data + "]" + xdata + tstr).encode("latin-1"),
                               pad_bar=pad_bar, min_pad=min_pad)
        body = (head + inner).encode("ascii")
    else:
        body = (head + data + "]" + xdata + tstr).encode("latin-1")
    return wrap(body, crc_with_cr=crc_with_cr, binary_crc=binary_crc, length=length)


def cid(seq, account, payload, key=None, **kw) -> bytes:
    return frame("ADM-CID", seq, account, payload, key=key, **kw)


def sia(seq, account, payload, key=None, **kw) -> bytes:
    return frame("SIA-DCS", seq, account, payload, key=key, **kw)


def null(seq, account, key=None, **kw) -> bytes:
    return frame("NULL", seq, account, None, key=key, **kw)


# ---------------------------------------------------------------- replies

def garbage_block(account, n=800):
    """About 64 KiB of frames the station must parse and refuse one by one, each
    worth a log line and no reply: unreadable headers, and CRC errors of
    `account` (issue 12's attacks: logs, read fairness, the combined bench)."""
    bad_crc = bytearray(cid(1, account, "1130 01 001"))
    bad_crc[1:5] = b"0000" if bad_crc[1:5] != b"0000" else b"FFFF"
    return b"".join(b"\nXYZW0010\"garbage%04d\"\r" % (i % 10000) + bytes(bad_crc)
                    for i in range(n))


class Reply:
    """A parsed and CRC/length-verified reply frame."""

    def __init__(self, raw: bytes, key: bytes = None, binary_crc_ok=False):
        self.raw = raw
        if not (raw.startswith(b"\n") and raw.endswith(b"\r")):
            raise AssertionError("reply not LF..CR framed: %r" % raw)
        inner = raw[1:-1]
        if re.fullmatch(rb"[0-9A-F]{4}0[0-9A-F]{3}\".*", inner, re.S):
            crc_sent = int(inner[0:4], 16)
            rest = inner[4:]
        elif binary_crc_ok:
            crc_sent = (inner[0] << 8) | inner[1]
            rest = inner[2:]
        else:
            raise AssertionError("reply CRC/length not 4+4 uppercase hex: %r" % raw)
        length = int(rest[0:4], 16)
        body = rest[4:]
        if len(body) != length:
            raise AssertionError("reply length field %d != body length %d: %r"
                                 % (length, len(body), raw))
        if crc16(body) != crc_sent:
            raise AssertionError("reply CRC %04X != computed %04X: %r"
                                 % (crc_sent, crc16(body), raw))
        self.body = body.decode("latin-1")
        m = re.fullmatch(r'"(\*?)(ACK|NAK|DUH)"(\d{4})(R[0-9A-Fa-f]{1,6})?(L[0-9A-Fa-f]{0,6})'
                         r'(#[0-9A-Fa-f]{1,16}|A0)\[(.*)', self.body, re.S)
        if not m:
            raise AssertionError("reply body not a DC-09 reply: %r" % raw)
        self.encrypted = m.group(1) == "*"
        self.token = m.group(2)
        self.seq = int(m.group(3))
        self.receiver = m.group(4)[1:] if m.group(4) else None
        self.line = m.group(5)[1:]
        self.account = m.group(6)[1:] if m.group(6) != "A0" else None
        self.acct_field = m.group(6)
        tail = m.group(7)
        self.pad = None
        self.time_s = None
        if self.encrypted:
            if key is None:
                raise AssertionError("encrypted reply but no key to check it: %r" % raw)
            if not re.fullmatch(r"[0-9A-F]+", tail) or len(tail) % 32:
                raise AssertionError("*ACK ciphertext not whole uppercase-hex blocks: %r" % raw)
            clear = decrypt_hex(key, tail).decode("latin-1")
            bar = clear.find("|")
            if bar < 0:
                raise AssertionError("*ACK decrypted has no pad '|': %r" % clear)
            self.pad = clear[:bar]
            if any(ch in self.pad for ch in "[]"):
                raise AssertionError("*ACK pad contains [ or ]: %r" % clear)
            after = clear[bar + 1:]
            mm = re.fullmatch(r"\](_\d\d:\d\d:\d\d,\d\d-\d\d-\d{4})", after)
            if not mm:
                raise AssertionError("*ACK decrypted is not pad|]_timestamp: %r" % clear)
            self.time_s = parse_dc09_time(mm.group(1))
            self.cipher_hex = tail
        else:
            mm = re.fullmatch(r"\](_\d\d:\d\d:\d\d,\d\d-\d\d-\d{4})?", tail)
            if not mm:
                raise AssertionError("reply data block is not []: %r" % raw)
            if mm.group(1):
                self.time_s = parse_dc09_time(mm.group(1))

    def __repr__(self):
        return "Reply(%r)" % self.raw


def expect_ack(raw, seq, account, receiver="0", line="0", key=None, binary_crc_ok=False):
    """Asserts the exact ACK (clear) or *ACK (key given) echoing the frame's fields."""
    assert raw is not None, "expected %sACK seq %04d #%s, got no reply" % (
        "*" if key else "", seq, account)
    r = Reply(raw, key=key, binary_crc_ok=binary_crc_ok)
    want_token = "ACK"
    assert r.token == want_token and r.encrypted == bool(key), \
        "expected %sACK, got %r" % ("*" if key else "", raw)
    rtok = ("R" + receiver) if receiver is not None else ""
    if key:
        want_prefix = '"*ACK"%04d%sL%s#%s[' % (seq, rtok, line, account)
        assert r.body.startswith(want_prefix), "want prefix %r, got %r" % (want_prefix, raw)
        assert len(r.pad) >= 1
        assert abs(r.time_s - time.time()) <= 3, "*ACK timestamp not station time now: %r" % raw
    else:
        want = '"ACK"%04d%sL%s#%s[]' % (seq, rtok, line, account)
        assert r.body == want, "want ACK body %r, got %r" % (want, raw)
    return r


def expect_duh(raw, seq, account, receiver="0", line="0"):
    assert raw is not None, "expected DUH seq %04d #%s, got no reply" % (seq, account)
    r = Reply(raw)
    rtok = ("R" + receiver) if receiver is not None else ""
    want = '"DUH"%04d%sL%s#%s[]' % (seq, rtok, line, account)
    assert r.body == want, "want DUH body %r, got %r" % (want, raw)
    return r


def expect_nak(raw):
    assert raw is not None, "expected NAK, got no reply"
    r = Reply(raw)
    m = re.fullmatch(r'"NAK"0000R0L0A0\[\](_\d\d:\d\d:\d\d,\d\d-\d\d-\d{4})', r.body)
    assert m, "want NAK body '\"NAK\"0000R0L0A0[]_HH:MM:SS,MM-DD-YYYY', got %r" % raw
    assert abs(parse_dc09_time(m.group(1)) - time.time()) <= 3, \
        "NAK timestamp is not the station's time now: %r" % raw
    return r


# ---------------------------------------------------------------- sockets

class Conn:
    """One TCP connection to the station with a reply reassembler."""

    def __init__(self, addr, timeout=5.0):
        self.sock = socket.create_connection(addr, timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.closed = False

    def send(self, data: bytes):
        self.sock.sendall(data)

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        r, _, _ = select.select([self.sock], [], [], remaining)
        if not r:
            return False
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, OSError):
            chunk = b""
        if not chunk:
            self.closed = True
            return False
        self.buf += chunk
        return True

    def recv_frame(self, timeout=3.0):
        """The next reply LF..CR, or None on timeout/close. Replies use hex CRC,
        so CR is the end (a binary-CRC reply is handled by recv_frame_len)."""
        deadline = time.monotonic() + timeout
        while True:
            lf = self.buf.find(b"\n")
            if lf >= 0:
                cr = self.buf.find(b"\r", lf)
                if cr >= 0:
                    f = self.buf[lf:cr + 1]
                    self.buf = self.buf[cr + 1:]
                    return f
            if self.closed or not self._fill(deadline):
                return None

    def recv_frames(self, n, timeout=10.0):
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < n:
            f = self.recv_frame(timeout=max(0.0, deadline - time.monotonic()))
            if f is None:
                break
            out.append(f)
        return out

    def expect_silence(self, wait=1.0):
        f = self.recv_frame(timeout=wait)
        assert f is None, "expected no reply at all, got %r" % f

    def wait_closed(self, timeout):
        deadline = time.monotonic() + timeout
        while not self.closed:
            if not self._fill(deadline) and not self.closed:
                if time.monotonic() >= deadline:
                    return False
        return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def udp_exchange(addr, data: bytes, timeout=3.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(data, addr)
        try:
            reply, _ = s.recvfrom(4096)
            return reply
        except socket.timeout:
            return None
    finally:
        s.close()


# ---------------------------------------------------------------- the daemon

DEFAULT_CONFIG = {
    "log_level": "info",
}


# PostgreSQL (issue 15): with VIGIL_TEST_PG_URI set (ctest's pg fixture,
# scripts/pg-test-cluster) every Station gets a fresh database on that cluster
# instead of a SQLite file, `key_store_file` beside its config, and its log is
# checked never to hold the URI's password.
PG_URI = os.environ.get("VIGIL_TEST_PG_URI") or None
_pg_count = [0]


def pg_uri_with_db(uri, name):
    """uri with its database replaced by name."""
    m = re.match(r"^([a-z]+://[^/?]*)(/[^?]*)?(\?.*)?$", uri)
    return m.group(1) + "/" + name + (m.group(3) or "")


def pg_password(uri):
    m = re.match(r"^[a-z]+://[^:@/]*:([^@/]*)@", uri)
    return m.group(1) if m else None


def pg_admin(sql):
    """Runs sql on the cluster's maintenance database (psql)."""
    p = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", PG_URI, "-c", sql],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError("psql %s: %s" % (sql, p.stderr))


def pg_query(dbname, sql):
    """Rows of sql on database dbname, as lists of text (psql, unaligned)."""
    p = subprocess.run(["psql", "-X", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                        "-d", pg_uri_with_db(PG_URI, dbname), "-c", sql],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError("psql %s: %s" % (sql, p.stderr))
    return [l.split("\t") for l in p.stdout.splitlines() if l]


class Station:
    """A vigil-station process on 127.0.0.1:0 with its own temporary store."""

    def __init__(self, args, config=None, name="station", store_of=None):
        """store_of: another Station whose PostgreSQL database this one shares (a
        second node): its own ports, control socket and copy of the key store."""
        self.args = args
        self.dir = tempfile.mkdtemp(prefix="vst-%s-" % name)
        self.store = os.path.join(self.dir, "store.db")
        self.pgdb = None
        self.store_of = store_of
        if store_of is not None:
            assert store_of.pgdb, "only a PostgreSQL store is shared by two nodes"
            self.pgdb, self.store_uri = store_of.pgdb, store_of.store_uri
        elif PG_URI:
            _pg_count[0] += 1
            self.pgdb = "t_vst_%d_%d" % (os.getpid(), _pg_count[0])
            pg_admin("DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.pgdb)
            pg_admin("CREATE DATABASE %s" % self.pgdb)
            self.store_uri = pg_uri_with_db(PG_URI, self.pgdb)
        self.ready = os.path.join(self.dir, "ready")
        self.conf = os.path.join(self.dir, "station.conf")
        self.log = os.path.join(self.dir, "station.log")
        self.cfg = dict(DEFAULT_CONFIG)
        self.cfg.update(config or {})
        self.proc = None
        self.tcp = self.udp = None
        self._write_config()

    def _write_config(self):
        with open(self.conf, "w") as f:
            f.write("# written by tests/integration/station/vstation.py\n")
            f.write("dc09_listen 127.0.0.1:0\n")
            if self.pgdb:
                f.write("store %s\n" % self.store_uri)
                f.write("key_store_file %s\n" % os.path.join(self.dir, "store.keys"))
            else:
                f.write("store sqlite:%s\n" % self.store)
            f.write("ready_file %s\n" % self.ready)
            for k, v in self.cfg.items():
                f.write("%s %s\n" % (k, v))

    def start(self, timeout=20.0, preexec_fn=None, stderr_bytes_per_s=None):
        """preexec_fn: run in the child before exec (limits for a test).
        stderr_bytes_per_s: stderr is a pipe this object reads at that rate (a
        slow log collector), copying what it reads to the log file; set
        self.stderr_bytes_per_s = None to read at full speed again."""
        keys = os.path.join(self.dir, "store.keys")
        if self.store_of is not None and not os.path.exists(keys):
            # every node holds a copy of the same key store file
            shutil.copy2(os.path.join(self.store_of.dir, "store.keys"), keys)
        if os.path.exists(self.ready):
            os.unlink(self.ready)
        self.logf = open(self.log, "ab")
        self.stderr_bytes_per_s = stderr_bytes_per_s
        err = subprocess.PIPE if stderr_bytes_per_s else self.logf
        self.proc = subprocess.Popen([self.args.station, "-c", self.conf],
                                     stdout=self.logf, stderr=err, preexec_fn=preexec_fn)
        if stderr_bytes_per_s:
            threading.Thread(target=self._slow_reader, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("vigil-station exited %d at start:\n%s"
                                     % (self.proc.returncode, self.log_text()))
            if os.path.exists(self.ready):
                lines = open(self.ready).read().split("\n")
                tcp = [l for l in lines if l.startswith("tcp ")]
                udp = [l for l in lines if l.startswith("udp ")]
                if tcp and udp:
                    self.tcp = _hostport(tcp[0][4:])
                    self.udp = _hostport(udp[0][4:])
                    assert self.tcp[1] != 0 and self.udp[1] != 0, "ready file has port 0"
                    return self
            time.sleep(0.02)
        raise AssertionError("vigil-station did not write its ready file in %.0f s:\n%s"
                             % (timeout, self.log_text()))

    def _slow_reader(self):
        """Reads stderr in 1 KiB steps, no faster than stderr_bytes_per_s."""
        fd = self.proc.stderr.fileno()
        while True:
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                return
            if not chunk:
                return
            with open(self.log, "ab") as f:
                f.write(chunk)
            rate = self.stderr_bytes_per_s
            if rate:
                time.sleep(len(chunk) / rate)

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        """Sends sig, waits, returns the exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("vigil-station did not exit within %.0f s of %s"
                                 % (timeout, signal.Signals(sig).name))
        self.logf.close()
        return rc

    def stats(self, fresh=False):
        """The counters of the daemon's last stats line as {name: float}; fresh: ask
        for a new line first (SIGUSR1)."""
        if fresh:
            self.send_signal(signal.SIGUSR1)
            time.sleep(0.5)
        lines = [l for l in self.log_text().splitlines() if " stats: " in l]
        assert lines, "no stats line in the log:\n" + self.log_text()[-2000:]
        return {k: float(x) for k, x in re.findall(r"(\w+)=([0-9.]+)", lines[-1])}

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_log(self, pattern, timeout=5.0, flags=0):
        """The log once the regular expression `pattern` is found in it, or as
        it is when `timeout` s have passed. The daemon's lines reach stderr
        through a writer thread, so a line can arrive after the reply that it
        explains: a test that asserts a line was logged waits for it here."""
        rx = re.compile(pattern, flags)
        deadline = time.monotonic() + timeout
        while True:
            log = self.log_text()
            if rx.search(log) or time.monotonic() >= deadline:
                return log
            time.sleep(0.05)

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.pgdb:
            pw = pg_password(PG_URI)
            if pw and pw in self.log_text():
                raise AssertionError("the PostgreSQL password is in the station's log")
            if not os.environ.get("VST_KEEP") and self.store_of is None:
                pg_admin("DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.pgdb)
        if os.environ.get("VST_KEEP"):
            print("kept", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ---- the vigil CLI on the same store

    def vigil(self, *argv, check=True):
        p = subprocess.run([self.args.vigil, "-c", self.conf] + [str(a) for a in argv],
                           capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError("vigil %s exited %d\nstdout: %s\nstderr: %s"
                                 % (" ".join(map(str, argv)), p.returncode, p.stdout, p.stderr))
        return p

    def add_account(self, number, key=None, key_hex=None, quirks=(), supervision_s=None,
                    name=None, address="1 Test Street"):
        argv = ["account", "add", number, "--name", name or ("Panel " + number),
                "--address", address]
        if key is not None:
            argv += ["--key", key]
        if key_hex is not None:
            argv += ["--key-hex", key_hex]
        if supervision_s is not None:
            argv += ["--supervision-s", supervision_s]
        for q in quirks:
            argv += ["--quirk", q]
        self.vigil(*argv)

    def events(self, account=None):
        argv = ["events", "--json"]
        if account is not None:
            argv[1:1] = ["--account", account]
        out = self.vigil(*argv).stdout
        try:
            v = json.loads(out)
        except ValueError as e:
            raise AssertionError("vigil events --json is not JSON (%s): %r" % (e, out[:500]))
        assert isinstance(v, list), "events --json is not an array"
        return v

    def alarms(self):
        out = self.vigil("alarms", "--json").stdout
        try:
            v = json.loads(out)
        except ValueError as e:
            raise AssertionError("vigil alarms --json is not JSON (%s): %r" % (e, out[:500]))
        assert isinstance(v, list), "alarms --json is not an array"
        return v

    def conn(self, timeout=5.0):
        return Conn(self.tcp, timeout=timeout)

    def exchange(self, data, timeout=3.0):
        """One frame on a fresh connection, one reply (or None)."""
        c = self.conn()
        try:
            c.send(data)
            return c.recv_frame(timeout=timeout)
        finally:
            c.close()


def _hostport(s):
    host, _, port = s.strip().rpartition(":")
    return (host, int(port))


ACCOUNT_PICKUP_S = 2.5  # the contract: the daemon sees CLI account changes within ~1-2 s


def event_keys(events):
    """{(account, seq)} of stored events."""
    return {(str(e.get("account")).upper(), int(e.get("seq"))) for e in events}


def iso_ms_utc(s):
    return re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|\+00:00)", s or "") is not None


# ---------------------------------------------------------------- runner

def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--station", required=True)
    p.add_argument("--vigil", required=True)
    p.add_argument("-k", dest="only", default=None, help="run only cases whose name contains this")
    p.add_argument("--long", action="store_true", help="the long variant (ctest label long)")
    return p.parse_args()


def run_cases(cases, parse=None, call=None):
    """Runs test functions f(args) (or call(f, args)); prints a line per case;
    exits 1 on any failure. parse: the argument parser (default parse_args)."""
    args = (parse or parse_args)()
    call = call or (lambda fn, a: fn(a))
    failed = []
    for fn in cases:
        if args.only and args.only not in fn.__name__:
            continue
        t0 = time.monotonic()
        try:
            call(fn, args)
            print("PASS %-44s %.1fs" % (fn.__name__, time.monotonic() - t0), flush=True)
        except Exception:
            failed.append(fn.__name__)
            print("FAIL %-44s %.1fs" % (fn.__name__, time.monotonic() - t0), flush=True)
            traceback.print_exc()
            sys.stdout.flush()
    print("%d failed: %s" % (len(failed), " ".join(failed)) if failed else "all passed")
    sys.exit(1 if failed else 0)


class running:
    """with running(args, accounts, config) as st: ... — always stops and cleans up,
    and prints the daemon's log when the block fails."""

    def __init__(self, args, accounts=(), config=None, name="station", **start_kw):
        self.args, self.accounts, self.config, self.name = args, list(accounts), config, name
        self.start_kw = start_kw      # Station.start's: preexec_fn, stderr_bytes_per_s

    def __enter__(self):
        self.st = Station(self.args, config=self.config, name=self.name)
        try:
            # Accounts are provisioned through the CLI on the (new) store before the
            # daemon starts, as an operator would; pickup of accounts added while the
            # daemon runs is tested on its own (test_replies: account pickup).
            for a in self.accounts:
                a = dict(a)
                self.st.add_account(a.pop("number"), **a)
            self.st.start(**self.start_kw)
        except BaseException:
            print("---- station log ----\n" + self.st.log_text()[-4000:])
            self.st.cleanup()
            raise
        return self.st

    def __exit__(self, et, ev, tb):
        if et is not None:
            print("---- station log (last 4000 chars) ----\n" + self.st.log_text()[-4000:])
        try:
            if self.st.alive():
                rc = self.st.stop()
                if et is None:
                    assert rc == 0, "vigil-station exited %s on SIGTERM:\n%s" % (
                        rc, self.st.log_text()[-4000:])
        finally:
            self.st.cleanup()
        return False
