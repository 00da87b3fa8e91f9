#!/usr/bin/python3
"""The station's smaller findings of issue 12 (finding 6).

- lower_case_account: an account number sent in lower case is the same
  account (stored, alarmed and listed upper case), never one of its own.
- urgent_not_throttled: fire and panic (priority 1-3) bypass the per-account
  rate limit, as a duress does; only routine frames are held back.
- test_config_checks: --test-config refuses a store path that is a folder or
  that cannot be written, and a dc09_listen host that does not resolve.
- no_line: a frame with good CRC and length whose header lacks the L token is
  answered DUH (once logged per account), and accepted for an account with the
  quirk no-line (the reply carries L0).
- logs_after_commit: "alarm opened" and "refused (DUH), alarm" are logged
  only once the commit carrying them has succeeded (on a full disk, nothing
  of the kind is logged for frames whose batch was rolled back)."""
import json
import os
import re
import resource
import signal
import subprocess
import time

import vstation as v

KEY = "0123456789ABCDEF"


def test_lower_case_account(args):
    with v.running(args, [{"number": "ABCD", "key": KEY}, {"number": "DCBA"}]) as st:
        for seq, acct in ((1, "beef"), (2, "BEEF"), (3, "Beef")):
            v.expect_duh(st.exchange(v.cid(seq, acct, "1130 01 015")), seq, acct)
        v.expect_duh(st.exchange(v.cid(4, "abcd", "1130 01 015")), 4, "abcd")   # clear, keyed
        v.expect_ack(st.exchange(v.cid(5, "dcba", "1130 01 015")), 5, "dcba")
        sig = json.loads(st.vigil("signals", "--json").stdout)
        accts = sorted({x["account"] for x in sig})
        assert accts == ["ABCD", "BEEF"], "refused signals not stored upper case: %r" % accts
        al = st.alarms()
        assert all(a["account"] == a["account"].upper() for a in al), \
            "an alarm under a lower-case number: %r" % [(a["account"], a["kind"]) for a in al]
        assert len([a for a in al if a["kind"] == "clear_on_keyed"]) == 1
        assert [e["account"] for e in st.events()] == ["DCBA"]


def test_urgent_not_throttled(args):
    cfg = {"account_rate_per_s": 1, "account_burst": 2}
    with v.running(args, [{"number": "F1F1"}], config=cfg) as st:
        c = st.conn()
        payloads = ["1110 01 001", "1120 01 002", "1100 01 003"]   # fire, panic, medical
        frames = [v.cid(100 + i, "F1F1", payloads[i % 3]) for i in range(15)]
        c.send(b"".join(frames))
        got = {v.Reply(r).seq for r in c.recv_frames(15, timeout=10)}
        assert got == set(range(100, 115)), "fire/panic/medical held back by the rate " \
            "limit: ACKed %d of 15" % len(got)
        # routine frames are still limited
        c.send(b"".join(v.cid(200 + i, "F1F1", "1130 01 %03d" % i) for i in range(10)))
        r = c.recv_frames(10, timeout=3)
        assert len(r) < 10, "routine frames beyond the limit were all ACKed"
        c.close()


def test_test_config_checks(args):
    st = v.Station(args, name="tcfg")
    try:
        os.chmod(st.dir, 0o755)

        def run(store, listen="127.0.0.1:0", user=None):
            conf = os.path.join(st.dir, "t.conf")
            with open(conf, "w") as f:
                f.write("dc09_listen %s\nstore sqlite:%s\n" % (listen, store))
            os.chmod(conf, 0o644)
            pre = None
            if user is not None:
                def pre():
                    os.setgid(user)
                    os.setuid(user)
            p = subprocess.run([args.station, "-c", conf, "--test-config"], capture_output=True,
                               text=True, timeout=30, preexec_fn=pre)
            return p.returncode, p.stdout + p.stderr

        rc, out = run(os.path.join(st.dir, "ok.db"))
        assert rc == 0, "a good config refused: %s" % out
        folder = os.path.join(st.dir, "a-folder")
        os.mkdir(folder)
        rc, out = run(folder)
        assert rc == 2 and "folder" in out, "a store path that is a folder: rc %d %r" % (rc, out)
        rc, out = run(os.path.join(st.dir, "ok.db"), listen="no-such-host.invalid:3061")
        assert rc == 2 and "resolve" in out, "an unresolvable listen host: rc %d %r" % (rc, out)
        ro = os.path.join(st.dir, "ro.db")
        with open(ro, "wb"):
            pass
        os.chmod(ro, 0o444)
        if os.getuid() == 0:
            rc, out = run(ro, user=65534)       # root writes anything: test as nobody
        else:
            rc, out = run(ro)
        assert rc == 2 and "cannot be written" in out, "a read-only store: rc %d %r" % (rc, out)
    finally:
        st.cleanup()


def no_l(seq, acct, payload):
    body = '"ADM-CID"%04dR0#%s[#%s|%s]%s' % (seq, acct, acct, payload, v.dc09_time())
    return v.wrap(body.encode())


def test_no_line(args):
    with v.running(args, [{"number": "5555"}]) as st:
        for seq in (91, 92, 93):
            v.expect_duh(st.exchange(no_l(seq, "5555", "1130 01 015")), seq, "5555")
        log = st.wait_log(r"account 5555: frame without the L token")
        n = len(re.findall(r"account 5555: frame without the L token", log))
        assert n == 1, "want the missing L token logged once for the account, got %d" % n
        assert not st.events("5555")
        st.add_account("6666", quirks=["no-line"])
        time.sleep(v.ACCOUNT_PICKUP_S)
        v.expect_ack(st.exchange(no_l(94, "6666", "1130 01 015")), 94, "6666")
        assert [int(e["seq"]) for e in st.events("6666")] == [94]
        # an unknown account without the L token: DUH too
        v.expect_duh(st.exchange(no_l(95, "7777", "1130 01 015")), 95, "7777")


def test_logs_after_commit(args):
    key = KEY.encode()
    st = v.Station(args, config={"account_rate_per_s": 1000, "account_burst": 1000},
                   name="logcommit")
    try:
        st.add_account("4E01", key=KEY)
        st.add_account("4E02", key=KEY)
        st.add_account("4E03")
        limit = os.path.getsize(st.store) + 48 * 1024

        def limited():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

        st.start(preexec_fn=limited)
        c = st.conn(timeout=5)
        seq, misses = 1, 0
        while seq < 400 and misses < 3:
            c.send(v.cid(seq, "4E01", "1130 01 %03d" % (seq % 1000), key=key))
            if c.recv_frame(timeout=1.5) is None:
                misses += 1
            seq += 1
        assert misses, "the store never filled"
        # refused signals (clear frames of a keyed account) until one goes unanswered
        duhs, unanswered = 0, 0
        for k in range(30):
            r = st.exchange(v.cid(500 + k, "4E02", "1130 01 001"), timeout=1.5)
            if r is None:
                unanswered += 1
                break
            v.expect_duh(r, 500 + k, "4E02")
            duhs += 1
        assert unanswered, "every refused signal was committed: the test proves nothing"
        # a new duress alarm while the disk is full
        acked = st.exchange(v.cid(1, "4E03", "1121 01 003"), timeout=1.5) is not None
        time.sleep(1.0)
        log = st.wait_log(r"commit of batch \d+ .* failed")
        assert re.search(r"commit of batch \d+ .* failed", log), "no commit failure"
        claims = [l for l in log.splitlines() if "refused (DUH), alarm" in l and "4E02" in l]
        assert len(claims) == duhs, "%d refused signals of 4E02 answered, %d logged as " \
            "'refused (DUH), alarm': %r" % (duhs, len(claims), claims[-3:])
        if not acked:
            opened = [l for l in log.splitlines() if "opened" in l and "4E03" in l]
            assert not opened, "alarm logged as opened by a rolled-back commit: %r" % opened
        resource.prlimit(st.proc.pid, resource.RLIMIT_FSIZE,
                         (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        r = None
        for _ in range(10):
            r = st.exchange(v.cid(1, "4E03", "1121 01 003"), timeout=2)
            if r is not None:
                break
        v.expect_ack(r, 1, "4E03")
        time.sleep(0.5)
        m = re.search(r"alarm (\d+) opened: priority 1 duress account 4E03",
                      st.wait_log(r"alarm \d+ opened: priority 1 duress account 4E03"))
        assert m, "the duress alarm's opening was not logged after its commit"
        ids = {a["id"] for a in st.alarms() if a["account"] == "4E03"}
        assert int(m.group(1)) in ids, "logged alarm %s is not in the store: %r" % (
            m.group(1), ids)
        c.close()
        assert st.stop() == 0
    except BaseException:
        print(st.log_text()[-3000:])
        raise
    finally:
        st.cleanup()


if __name__ == "__main__":
    v.run_cases([test_lower_case_account, test_urgent_not_throttled, test_test_config_checks,
                 test_no_line, test_logs_after_commit])
