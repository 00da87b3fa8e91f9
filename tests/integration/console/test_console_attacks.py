#!/usr/bin/python3
"""vigil-console as an attacker sees it (issue 12, "Adversaries"; docs/threat-model.md):
session fixation, path traversal, oversized headers and bodies, a forged cookie, a
login brute force against one name from rotating names, and HTTP requests that are
not HTTP — each refused without changing anything, while the console keeps serving."""
import os
import socket
import subprocess
import tempfile
import time

import vconsole as vc
from vconsole import expect


def rig_for(args):
    rig = vc.Rig(args, accounts=[{"number": "5001"}], name="catk",
                 config={"login_attempts_per_min": 5})
    rig.start()
    return rig


def test_session_fixation(ctx):
    """A session id planted before login is never adopted: login issues a new one,
    and the planted one stays unknown."""
    rig = ctx.shared
    rig.operator("fay")
    c = rig.client()
    planted = "A" * 64
    c.cookie = planted
    r = expect(c.login("fay", rig.ops["fay"]), 200)
    assert c.cookie and c.cookie != planted, "login kept the planted session id"
    other = rig.client()
    other.cookie = planted
    expect(other.get("/api/session"), 401, what="the planted id after login")
    assert r.json["csrf"] and r.json["csrf"] not in (planted, c.cookie), r.json


def test_path_traversal(ctx):
    """Nothing outside web_root is served, however the path is spelled."""
    rig = ctx.shared
    c = rig.client()
    for path in ("/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                 "/..%2f..%2fetc%2fpasswd", "/.%2e/.%2e/etc/passwd", "//etc/passwd",
                 "/.git/config", "/index.html/../../station.conf",
                 "/web/../station.conf"):
        r = c.get(path)
        assert r.status in (400, 404), "%s: %d %r" % (path, r.status, r.body[:80])
        assert b"root:" not in r.body and b"store sqlite" not in r.body, path
    assert c.get("/").status == 200, "the page itself"


def raw_http(addr, data, timeout=5.0):
    s = socket.create_connection(addr, timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            out += b
        return out
    finally:
        s.close()


def status_of(resp):
    try:
        return int(resp.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def test_oversized_headers_and_bodies(ctx):
    rig = ctx.shared
    rig.operator("gus")
    c = rig.client("gus")
    # a body past 16 KiB: 413, declared or chunked, and the session still works
    expect(c.post("/api/alarms/1/take", raw=b"{" + b" " * 20000 + b"}"), 413, what="big body")
    big = b"x" * (64 * 1024)
    resp = raw_http(rig.http, b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: "
                    b"application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                    + b"%x\r\n" % len(big) + big + b"\r\n0\r\n\r\n")
    assert status_of(resp) == 413, resp[:200]
    # a header line of 64 KiB, and a thousand headers: refused, never a crash
    resp = raw_http(rig.http, b"GET /api/session HTTP/1.1\r\nHost: x\r\nX-Big: " + big +
                    b"\r\nConnection: close\r\n\r\n")
    assert status_of(resp) in (400, 413, 414, 431) or resp == b"", resp[:200]
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(1000))
    resp = raw_http(rig.http, b"GET /api/session HTTP/1.1\r\nHost: x\r\n" + many +
                    b"Connection: close\r\n\r\n")
    assert status_of(resp) in (400, 401, 413, 431) or resp == b"", resp[:200]
    # a URL of 64 KiB
    resp = raw_http(rig.http, b"GET /" + b"a" * 65536 + b" HTTP/1.1\r\nHost: x\r\n"
                    b"Connection: close\r\n\r\n")
    assert status_of(resp) in (400, 404, 414, 431) or resp == b"", resp[:200]
    expect(c.get("/api/session"), 200, what="the console still serves")


def test_not_http(ctx):
    rig = ctx.shared
    for junk in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,   # TLS hello
                 b"\n0000000\"SIA-DCS\"0001L0#1234[#1234|Nri1/BA01]\r",           # DC-09
                 b"GET\r\n\r\n", b"\x00" * 4096):
        raw_http(rig.http, junk, timeout=1.0)
    c = rig.client()
    assert c.get("/").status == 200, "the console after junk"


def test_forged_cookie_and_csrf(ctx):
    """A cookie of the right shape but unknown, or a CSRF token from another
    session, opens nothing."""
    rig = ctx.shared
    rig.operator("hal")
    rig.operator("ida")
    a, b = rig.client("hal"), rig.client("ida")
    aid = rig.raise_alarm("5001")
    forged = rig.client()
    forged.cookie = a.cookie[:-4] + ("0000" if not a.cookie.endswith("0000") else "1111")
    forged.csrf = a.csrf
    expect(forged.act(aid, "take"), 401, what="a forged cookie")
    expect(a.act(aid, "take", csrf=b.csrf), 403, what="another session's CSRF token")
    assert rig.cli_alarm("5001")["taken_by"] is None


def test_login_needs_json(ctx):
    """Login CSRF: a form elsewhere can post text/plain or urlencoded, never
    application/json without a preflight; the console takes only JSON."""
    rig = ctx.shared
    rig.operator("kim")
    c = rig.client()
    body = ('{"name":"kim","password":"%s"}' % rig.ops["kim"]).encode()
    for ct in ("text/plain", "application/x-www-form-urlencoded", ""):
        r = c.request("POST", "/api/login", raw=body, headers={"Content-Type": ct})
        assert r.status == 415 and not c.cookie, (ct, r)
    expect(c.login("kim", rig.ops["kim"]), 200, what="the same login as JSON")


def test_brute_force_one_name(ctx):
    """Guessing one operator's password is stopped at login_attempts_per_min (5 here)
    per name, and the right password then waits too (429), while another operator
    from the same place still logs in only until the address's own limit."""
    rig = ctx.shared
    rig.operator("jon")
    c = rig.client()
    codes = [c.login("jon", "guess%d" % i).status for i in range(8)]
    assert codes[:5] == [401] * 5 and all(x == 429 for x in codes[5:]), codes
    expect(c.login("jon", rig.ops["jon"]), 429, what="the right password during the lockout")


def test_test_config(ctx):
    """--test-config finds what the console would fail on at start (exit 2, a
    sentence naming the key), and passes a good file (exit 0)."""
    d = tempfile.mkdtemp(prefix="vcc-")
    web = vc.web_root()

    def check(lines, want_rc, want=None):
        p = os.path.join(d, "c.conf")
        with open(p, "w") as f:
            f.write("store sqlite:%s/s.db\n" % d + "".join(l + "\n" for l in lines))
        r = subprocess.run([ctx.args.console, "-c", p, "--test-config"], capture_output=True,
                           text=True, timeout=10)
        assert r.returncode == want_rc, (lines, r.returncode, r.stderr)
        if want:
            assert want in r.stderr, (lines, r.stderr)

    check(["web_root " + web, "http_listen 127.0.0.1:0"], 0)
    check(["web_root " + d, "http_listen 127.0.0.1:0"], 2, "index.html")
    check(["web_root " + web, "http_listen no-such-host.invalid:0"], 2, "cannot resolve")
    check(["web_root " + web, "tls_cert_file " + os.path.join(d, "c.pem")], 2, "tls_")
    check(["web_root " + web, "tls_cert_file " + os.path.join(d, "c.pem"),
           "tls_key_file " + os.path.join(d, "k.pem")], 2, "cannot be read")
    check(["web_root " + web, "http_listen nope"], 2, "http_listen")


if __name__ == "__main__":
    vc.run_cases([
        test_session_fixation,
        test_path_traversal,
        test_oversized_headers_and_bodies,
        test_not_http,
        test_forged_cookie_and_csrf,
        test_login_needs_json,
        test_brute_force_one_name,
        test_test_config,
    ], setup=rig_for)
