#!/usr/bin/python3
"""End to end, the duress code: a real vigil-panel (core + communicator, --fast
virtual clock for the CP-01 delays, real network) against a real vigil-station.
Each case checks the station's store: the duress alarm at priority 1 for the
right user, the ordinary reports that follow, and what must NOT be there."""
import time

import e2e
from e2e import DURESS, MASTER, Both, Panel


def start(args, work, **kw):
    st = e2e.station(args)
    p = Panel(args, work, st.tcp[1], **kw)
    e2e.setup_users(p)
    return st, p


def duress_alarm(st, timeout=10.0):
    al = e2e.wait_alarms(st, e2e.is_duress, timeout=timeout)
    assert len(al) == 1, "one duress, one alarm: %r" % al
    a = al[0]
    assert a["account"] == "1234" and a["user"] == 1 and a["partition"] == 1, a
    assert a["cid"]["event"] == 121 and a["cid"]["qualifier"] == 1, a
    return a


def test_duress_while_disarmed(args, work):
    st, p = start(args, work)
    with Both(st, p):
        t0 = time.monotonic()
        p.cmd("keys %s#" % DURESS)           # a duress code arms as the code would
        p.cmd("expect display EXIT DELAY")
        duress_alarm(st)
        took = time.monotonic() - t0
        assert took < 5.0, "duress took %.1f s to reach the store" % took
        p.wait_for(r'^queue delivered cid="1121 01 001"')
        assert p.finish() == 0


def test_duress_while_armed(args, work):
    st, p = start(args, work)
    with Both(st, p):
        p.cmd("keys %s#" % MASTER, "wait 61s", "expect display ARMED STAY")
        p.cmd("keys %s#" % DURESS, "expect display DISARMED", "wait 2s")
        p.barrier()
        duress_alarm(st)
        ev = e2e.wait_events(st, lambda e: e2e.cid_of(e)[:2] == (1, 401), n=1)
        assert e2e.cid_of(ev[0]) == (1, 401, 1, 1), "the opening reports user 1: %r" % ev[0]
        assert p.finish() == 0


def test_duress_during_lockout(args, work):
    st, p = start(args, work)
    with Both(st, p):
        for _ in range(5):
            p.cmd("keys 1357#")
        p.cmd("expect display LOCKED")
        p.barrier()
        m = p.mark()
        p.cmd("keys %s#" % DURESS, "expect display LOCKED")   # refused like any code
        p.barrier()
        prem = p.premises(since=m)
        assert "beep error" in prem and "display DISARMED" not in prem, prem
        duress_alarm(st)                     # ... and reported silently
        e2e.wait_events(st, lambda e: e2e.cid_of(e)[1] == 461)
        assert p.finish() == 0


def test_duress_inside_abort_window(args, work):
    st, p = start(args, work)
    with Both(st, p):
        p.cmd("keys %s#" % MASTER, "wait 61s", "expect display ARMED STAY")
        p.cmd("zone 3 open", "expect display ALARM zone 3", "wait 5s")
        p.cmd("keys %s#" % DURESS, "expect display DISARMED", "wait 2s")
        p.barrier()
        duress_alarm(st)
        burg = e2e.wait_alarms(st, lambda a: a["kind"] == "burglary" or
                               (a.get("cid") or {}).get("event") == 131)
        assert burg[0]["zone"] == 3, burg
        # Contrast: the NORMAL code inside the abort window withdraws the report.
        p.cmd("zone 3 close", "keys %s#" % MASTER, "wait 61s", "zone 3 open",
              "expect display ALARM zone 3", "wait 5s", "keys %s#" % MASTER,
              "expect display DISARMED", "wait 40s")
        p.barrier()
        ev = [e for e in st.events("1234") if e2e.cid_of(e)[1] == 131]
        assert len(ev) == 1, "only the duress disarm's burglary report: %r" % ev
        assert not [e for e in st.events("1234") if e2e.cid_of(e)[1] == 406]
        assert p.finish() == 0


def test_cancel_after_duress(args, work):
    st, p = start(args, work)
    with Both(st, p):
        p.cmd("keys %s#" % DURESS, "wait 1s", "keys %s#" % MASTER, "expect display DISARMED",
              "keys %s#" % MASTER, "wait 61s", "keys %s#" % MASTER, "wait 2s")
        p.barrier()
        a = duress_alarm(st)
        time.sleep(0.5)
        a = [x for x in st.alarms() if x["id"] == a["id"]][0]
        assert a["state"] == "new", "nothing from the premises withdraws a duress: %r" % a
        assert not [e for e in st.events("1234") if e2e.cid_of(e)[1] == 406]
        assert p.finish() == 0


def test_programming_reported_without_digits(args, work):
    st, p = start(args, work)               # user 1 + duress 2 programmed by start()
    with Both(st, p):
        p.cmd("user 3 2469 duress",           # one digit from the master code: refused
              "keys *7%s#041357#" % MASTER,   # a user code from the keypad (*7)
              "keys *8%s#05011358#" % MASTER, # a duress code one digit from it (*8)
              "wait 2s")
        p.barrier()
        want = [(1, "user code programmed"), (2, "duress code programmed"),
                (3, "duress code refused R2 one-edit slot 1"), (4, "user code programmed"),
                (5, "duress code refused R2 one-edit slot 4")]
        deadline = time.monotonic() + 10
        while True:
            got = [(e["sia"]["zone"], e["sia"]["text"]) for e in st.events("1234")
                   if e.get("sia") and e["sia"].get("code") == "YG"]
            if got == want or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert got == want, got
        # the decoded reports never carry a code (the raw frames are ciphertext)
        for e in st.events("1234"):
            for code in (MASTER, DURESS, "2469", "1357", "1358"):
                assert code not in str(e.get("sia")) and code not in str(e.get("cid")), e
        assert p.finish() == 0


def premises_run(args, work, st, code, account):
    p = Panel(args, work, st.tcp[1], account=account,
              state=work + "/panel-%s.state" % account)
    e2e.setup_users(p)
    p.cmd("keys %s#" % MASTER, "wait 61s", "keys %s#" % code, "wait 2s",
          "keys %s#" % code, "wait 61s", "zone 3 open", "wait 3s", "keys %s#" % code, "wait 3s")
    p.barrier()
    assert p.finish() == 0
    return p


def test_keypad_identical_normal_and_duress(args, work):
    st = e2e.station(args)
    st.add_account("1235", key_hex=e2e.KEY_HEX)
    time.sleep(e2e.v.ACCOUNT_PICKUP_S)
    with Both(st) as b:
        normal = b.add(premises_run(args, work, st, MASTER, "1234"))
        duress = b.add(premises_run(args, work, st, DURESS, "1235"))
        a, d = normal.premises(), duress.premises()
        assert len(a) > 20, a
        assert a == d, "the premises saw a difference:\n%s" % "\n".join(
            "%-30s | %s" % (x, y) for x, y in zip(a, d) if x != y)
        # ... while the station did learn it (the comparison is not vacuous)
        al = e2e.wait_alarms(st, e2e.is_duress)
        assert {x["account"] for x in al} == {"1235"}, al


if __name__ == "__main__":
    e2e.run_cases([test_duress_while_disarmed, test_duress_while_armed,
                   test_duress_during_lockout, test_duress_inside_abort_window,
                   test_cancel_after_duress, test_programming_reported_without_digits,
                   test_keypad_identical_normal_and_duress])
