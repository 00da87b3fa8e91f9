#!/usr/bin/python3
"""Assisted duress set-up (docs/console.md "Set-up sessions", docs/station.md
"Test mode") end to end with a REAL vigil-panel (--script -, driven line by
line, tests/integration/e2e/e2e.py) against a real vigil-station and
vigil-console:

- an operator opens a set-up session; the customer programs a duress code one
  digit away from the master: the session shows the refusal with its rule (R2)
  and the colliding slot, and no digits anywhere; then a good code: the
  session shows "programmed";
- the operator puts the account on test (bounded); the customer enters the
  duress code: the session shows it arrived (panel time → received → stored),
  the alarm is marked TEST, priority 1 kept, its plan has no dispatch step, an
  operator cannot dispatch it (a supervisor could), it closes as "test";
- meanwhile a real duress from account B is a normal alarm (dispatch step, not
  test) and ranks above A's test duress;
- the test mode ends by itself (the audit trail says "time up"); the next
  duress of A is a real one; the session closes; its result is in the trail;
- bad input: specific errors, nothing changed;
- a session ends by itself; a test mode ends after its bound across a station
  restart (and the restart keeps it while it lasts).
"""
import json
import os
import re
import signal
import sys
import time

import vconsole as vc
from vconsole import expect

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, os.path.join(HERE, "..", "station"))
import e2e  # noqa: E402
import auditpy  # noqa: E402

A, B = "1234", "5678"
MASTER, NEAR, DURESS = e2e.MASTER, "2469", e2e.DURESS      # 2469: R2 against 2468
WEAK = "1111"                                               # R8: warned for a user code
CODES = (MASTER, NEAR, DURESS, WEAK)


def no_digits(obj, what):
    text = json.dumps(obj)
    for c in CODES:
        assert c not in text, "%s shows a code's digits (%s...): %s" % (what, c[:1], text[:400])


def audit_rows(rig, kinds):
    return [r for r in auditpy.rows(rig.st.store) if r[3] in kinds]


def poll(fn, pred, timeout, what):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if pred(last):
            return last
        time.sleep(0.2)
    raise AssertionError("%s not seen in %.0f s; last: %s" % (what, timeout,
                                                              json.dumps(last)[:1500]))


def session(c, sid):
    r = c.get("/api/setup/%d" % sid)
    expect(r, 200)
    return r.json


def rig_for(ctx, name, config=None):
    return vc.Rig(ctx.args, accounts=[{"number": A, "key_hex": e2e.KEY_HEX},
                                      {"number": B}],   # B: frames from Python, clear
                  name=name, config=config)


def test_setup_flow(ctx):
    assert ctx.args.panel, "--panel is required (a real vigil-panel)"
    work = os.path.join("/tmp", "setup-%d" % os.getpid())
    os.makedirs(work, exist_ok=True)
    with rig_for(ctx, "csetup") as rig:
        rig.secrets += list(CODES)
        p = e2e.Panel(ctx.args, work, rig.st.tcp[1], account=A)
        try:
            p.cmd("user 1 %s" % MASTER)
            e2e.wait_events(rig.st, lambda e: (e.get("sia") or {}).get("code") == "YG",
                            account=A)
            c = rig.client("olga")
            # ---- bad input: specific errors, nothing opened
            expect(c.post("/api/accounts/%s/setup" % A, {"kind": "party"}), 400, "kind")
            expect(c.post("/api/accounts/%s/setup" % A, {"kind": "setup", "seconds": 10**6}),
                   400, "setup_session_max_s")
            expect(c.post("/api/accounts/ABC/setup", {"kind": "setup"}), 404, "no account")
            expect(c.post("/api/accounts/%s/setup" % A, {"kind": "setup"}, csrf=False), 403)
            expect(c.get("/api/accounts/%s/setup" % A), 405)
            expect(c.get("/api/setup/999"), 404)
            assert not audit_rows(rig, ("setup.open",)) or all(
                json.loads(r[6]).get("refused") for r in audit_rows(rig, ("setup.open",))), \
                "a refused open left a session"
            # ---- open
            r = c.post("/api/accounts/%s/setup" % A, {"kind": "setup", "seconds": 120})
            expect(r, 201)
            sid = r.json["id"]
            assert r.json["open"] and r.json["kind"] == "setup" and r.json["reports"] == [], r.json
            expect(c.post("/api/accounts/%s/setup" % A, {"kind": "drill"}), 409,
                   "already has set-up session")
            # ---- a refused duress code: the rule and the slot, never digits
            m = p.mark()
            p.cmd("user 2 %s duress for 1" % NEAR)
            p.wait_for(r"^error user 2 refused: R2 one-edit slot 1", since=m)
            s = poll(lambda: session(c, sid), lambda s: any(
                x["result"] == "refused" for x in s["reports"]), 15, "the refusal")
            ref = [x for x in s["reports"] if x["result"] == "refused"][0]
            assert ref["rule"] == "R2" and ref["colliding_slot"] == 1 and ref["slot"] == 2 \
                and ref["code"] == "duress", ref
            assert "slot 1" in ref["rule_text"], ref
            no_digits(s, "the session (refusal)")
            # ---- a good one
            m = p.mark()
            p.cmd("user 2 %s duress for 1" % DURESS)
            p.barrier()
            assert not [l for l in p.lines[m:] if l.startswith("error")], p.lines[m:]
            s = poll(lambda: session(c, sid), lambda s: any(
                x["result"] == "programmed" and x["code"] == "duress" for x in s["reports"]),
                15, "the programmed duress code")
            ok = [x for x in s["reports"] if x["result"] == "programmed"][0]
            assert ok["slot"] == 2 and ok["rule"] is None, ok
            no_digits(s, "the session (programmed)")
            # a weak user code: programmed, with the R8 warning
            p.cmd("user 3 %s" % WEAK)
            s = poll(lambda: session(c, sid), lambda s: any(
                x["slot"] == 3 for x in s["reports"]), 15, "the weak user code's report")
            weak = [x for x in s["reports"] if x["slot"] == 3][0]
            assert weak["result"] == "programmed" and weak["code"] == "user" and \
                weak["rule"] == "R8" and weak["colliding_slot"] is None, weak
            no_digits(s, "the session (weak user code)")
            # ---- test mode: bad input first
            expect(c.post("/api/accounts/%s/test" % A, {}), 400, "minutes")
            expect(c.post("/api/accounts/%s/test" % A, {"minutes": 1, "seconds": 5}), 400)
            expect(c.post("/api/accounts/%s/test" % A, {"seconds": 0}), 400)
            expect(c.post("/api/accounts/%s/test" % A, {"seconds": 10**6}), 400, "test_mode_max_s")
            expect(c.post("/api/accounts/%s/test/end" % A, {}), 409, "not on test")
            expect(c.post("/api/accounts/FFFF/test", {"seconds": 5}), 404)
            assert not session(c, sid)["on_test"]
            TEST_S = 12
            r = c.post("/api/accounts/%s/test" % A, {"seconds": TEST_S})
            expect(r, 200)
            t_on = time.monotonic()
            assert r.json["test_until"], r.json
            s = session(c, sid)
            assert s["on_test"] and 0 < s["test_remaining_s"] <= TEST_S, s
            # ---- the customer enters the duress code once
            m = p.mark()
            p.cmd("keys %s#" % DURESS)
            s = poll(lambda: session(c, sid), lambda s: any(
                a["kind"] == "duress" for a in s["alarms"]), 15, "the test duress")
            al = [a for a in s["alarms"] if a["kind"] == "duress"][0]
            assert al["test"] is True and al["priority"] == 1, al
            assert al["dispatch_step"] is False and "dispatch" not in al["steps"], al
            assert al["plan"] == "test", al
            assert al["panel_time"] and al["received_at"] and al["stored_at"], al
            assert al["delivery_ms"] is not None and -1000 <= al["delivery_ms"] < 10000, al
            assert al["stored_after_ms"] is not None and 0 <= al["stored_after_ms"] < 5000, al
            no_digits(s, "the session (test duress)")
            tid = al["alarm"]
            # shown to operators, marked test, at priority 1, never escalated
            lst = [a for a in c.alarms() if a["id"] == tid]
            assert lst and lst[0]["test"] is True and lst[0]["priority"] == 1 \
                and lst[0]["plan"] == "test", lst
            d = c.alarm(tid)
            assert [x["id"] for x in d["steps"]] == ["confirm_test", "notes"], d["steps"]
            # ---- a REAL duress from account B meanwhile: a normal alarm, above A's test
            rig.send(B, "1121 01 003")
            bal = rig.cli_alarm(B, "duress")
            assert bal["test"] is False, bal
            lst = c.alarms()
            ids = [a["id"] for a in lst]
            bi = [a for a in lst if a["id"] == bal["id"]][0]
            assert bi["test"] is False and bi["plan"] == "duress", bi
            assert ids.index(bal["id"]) < ids.index(tid), "a test duress ranks above B's real one"
            bd = c.alarm(bal["id"])
            assert "dispatch" in [x["id"] for x in bd["steps"]], bd["steps"]
            # ---- the test alarm: an operator cannot dispatch it; closes as "test"
            expect(c.act(tid, "take"), 200)
            expect(c.act(tid, "dispatch"), 403, "TEST signal")
            expect(c.act(tid, "step", {"step": "confirm_test"}), 200)
            expect(c.act(tid, "close", {"disposition": "test"}), 200)
            # ---- the test mode ends by itself
            left = TEST_S - (time.monotonic() - t_on)
            s = poll(lambda: session(c, sid), lambda s: not s["on_test"], left + 8,
                     "the end of test mode")
            assert time.monotonic() - t_on >= TEST_S - 1, "test mode ended early"
            offs = poll(lambda: [r for r in audit_rows(rig, ("account.test.off",))
                                 if r[4] == A and r[2] == "station"],
                        lambda rows: bool(rows), 5, "the station's account.test.off entry")
            assert json.loads(offs[-1][6])["reason"] == "time up", offs
            # the next duress of A is real
            p.cmd("keys %s#" % DURESS)
            s = poll(lambda: session(c, sid), lambda s: any(
                a["kind"] == "duress" and not a["test"] for a in s["alarms"]), 15,
                "a real duress after the test")
            real = [a for a in s["alarms"] if a["kind"] == "duress" and not a["test"]][0]
            assert real["dispatch_step"] is True and real["plan"] == "duress", real
            # ---- the session closes; its result is in the trail
            r = c.post("/api/setup/%d/close" % sid, {})
            expect(r, 200)
            assert r.json["open"] is False and r.json["close_reason"] == "closed by operator", r.json
            expect(c.post("/api/setup/%d/close" % sid, {}), 409, "already closed")
            opens = [r for r in audit_rows(rig, ("setup.open",)) if r[4] == A and
                     not json.loads(r[6]).get("refused")]
            closes = [r for r in audit_rows(rig, ("setup.close",)) if r[4] == A and
                      not json.loads(r[6]).get("refused")]
            assert len(opens) == 1 and opens[0][2] == "olga", opens
            assert len(closes) == 1 and closes[0][2] == "olga", closes
            res = json.loads(closes[0][6])["result"]
            assert res["refused"] == [{"rule": "R2", "colliding_slot": 1}], res
            assert 2 in res["programmed"] and tid in res["test_signals"], res
            ons = [r for r in audit_rows(rig, ("account.test.on",)) if r[4] == A]
            assert any(json.loads(r[6]).get("seconds") == TEST_S for r in ons), ons
            opened = [r for r in audit_rows(rig, ("alarm.opened",)) if r[4] == str(tid)]
            assert opened and json.loads(opened[0][6]).get("test") is True, opened
            for r in auditpy.rows(rig.st.store):
                for code in CODES:
                    assert code not in "%s %s" % (r[5], r[6]), "a code in the audit trail"
            v = rig.st.vigil("audit", "verify")
            assert v.returncode == 0, v.stdout + v.stderr
        finally:
            p.kill()
            if sys.exc_info()[0] is not None:
                print("---- panel output ----\n" + "\n".join(p.lines[-60:]))


def test_drill_session_ends_by_itself(ctx):
    with rig_for(ctx, "cdrill") as rig:
        c = rig.client("olga")
        r = c.post("/api/accounts/%s/setup" % B, {"kind": "drill", "seconds": 2})
        expect(r, 201)
        sid = r.json["id"]
        assert r.json["kind"] == "drill" and r.json["remaining_s"] <= 2, r.json
        s = poll(lambda: session(c, sid), lambda s: s["close_reason"] == "time up", 10,
                 "the session's own end")
        assert s["open"] is False and s["closed_by"] == "station", s
        # a new one may open once it ended
        expect(c.post("/api/accounts/%s/setup" % B, {"kind": "drill", "seconds": 60}), 201)


def test_drill_test_alarm_never_escalates(ctx):
    """A drill (no programming step): account B on test, its duress is a TEST
    alarm with no dispatch step that is never escalated, while account C's
    real duress, received at the same time, escalates and ranks first."""
    C = "9ABC"
    with vc.Rig(ctx.args, accounts=[{"number": B}, {"number": C}], name="cesc",
                config={"escalate_after_s": 2}) as rig:
        c = rig.client("olga")
        r = c.post("/api/accounts/%s/setup" % B, {"kind": "drill"})
        expect(r, 201)
        sid = r.json["id"]
        assert r.json["kind"] == "drill" and r.json["remaining_s"] > 60, r.json
        expect(c.post("/api/accounts/%s/test" % B, {"minutes": 5}), 200)
        rig.send(B, "1121 01 002")
        rig.send(C, "1121 01 004")
        tb, rc = rig.cli_alarm(B, "duress"), rig.cli_alarm(C, "duress")
        assert tb["test"] is True and rc["test"] is False, (tb, rc)
        s = poll(lambda: session(c, sid), lambda s: s["alarms"], 5, "the drill's signal")
        assert s["alarms"][0]["test"] and not s["alarms"][0]["dispatch_step"], s["alarms"]
        assert s["reports"] == [], "a drill programs nothing"
        poll(lambda: {a["id"]: a for a in c.alarms()},
             lambda m: m[rc["id"]]["state"] == "escalated", 10, "C's real duress escalated")
        time.sleep(1.5)
        m = {a["id"]: a for a in c.alarms()}
        assert m[tb["id"]]["state"] == "new", "a test duress was escalated: %r" % m[tb["id"]]
        ids = [a["id"] for a in c.alarms()]
        assert ids.index(rc["id"]) < ids.index(tb["id"]), ids
        assert not [r for r in audit_rows(rig, ("alarm.escalated",)) if r[4] == str(tb["id"])]
        # ending the session ends the test mode with it
        expect(c.post("/api/setup/%d/close" % sid, {}), 200)
        expect(c.post("/api/accounts/%s/test/end" % B, {}), 409, "not on test")
        offs = [json.loads(r[6]) for r in audit_rows(rig, ("account.test.off",)) if r[4] == B]
        assert [o["reason"] for o in offs] == ["set-up session ended", "account %s is not on test" % B], offs
        assert offs[1]["refused"] == "conflict", offs


def test_test_mode_bound_across_restart(ctx):
    with rig_for(ctx, "crestart") as rig:
        c = rig.client("olga")
        T = 8
        expect(c.post("/api/accounts/%s/test" % B, {"seconds": T}), 200)
        t0 = time.monotonic()
        assert rig.st.stop() == 0
        rig.st.start()
        # the restart kept it: a duress now is a test one
        rig.send(B, "1121 01 002")
        a = rig.cli_alarm(B, "duress")
        assert a["test"] is True, a
        assert time.monotonic() - t0 < T, "the machine is too slow for this bound"
        # stopped again across the end time: the station ends it at its next start
        assert rig.st.stop() == 0
        time.sleep(max(0.0, T - (time.monotonic() - t0)) + 1.0)
        rig.st.start()
        poll(lambda: [r for r in audit_rows(rig, ("account.test.off",)) if r[4] == B],
             lambda rows: rows and json.loads(rows[-1][6])["reason"] == "time up", 10,
             "test off (time up) after the restart")
        acc = c.get("/api/accounts/%s" % B)
        expect(acc, 200)
        rig.send(B, "1121 01 002")
        real = [x for x in json.loads(rig.st.vigil("alarms", "--json").stdout)
                if x["account"] == B and x["kind"] == "duress" and not x["test"]]
        assert real, "the duress after the end of test mode is not a real alarm"


if __name__ == "__main__":
    vc.run_cases([test_setup_flow, test_drill_session_ends_by_itself,
                  test_drill_test_alarm_never_escalates, test_test_mode_bound_across_restart])
