#!/usr/bin/python3
"""End to end, the keypad's emergency keys and the power troubles: a real
vigil-panel (script mode, --fast) against a real vigil-station. Each case
holds a key as a keypad reports it (auto-repeat for 2.5 s) and checks what
the station stored: the alarm's kind, priority and Contact ID, and what the
premises saw and heard (siren for fire and audible panic, nothing for a
silent panic)."""
import time

import e2e
from e2e import Both, Panel

INSTALLER = "9517"


def start(args, work):
    st = e2e.station(args)
    p = Panel(args, work, st.tcp[1])
    e2e.setup_users(p)
    p.cmd("user 3 %s installer" % INSTALLER)
    return st, p


def alarm_of(st, event, timeout=10.0, part=1):
    al = e2e.wait_alarms(st, lambda a: (a.get("cid") or {}).get("event") == event,
                         timeout=timeout)
    assert len(al) == 1, "one press, one alarm: %r" % al
    a = al[0]
    assert a["account"] == "1234" and a["partition"] == part, a
    assert a["cid"]["qualifier"] == 1, a
    return a


def test_fire_medical_panic_at_their_priorities(args, work):
    st, p = start(args, work)
    with Both(st, p):
        p.cmd("keys F", "wait 3s")                  # a tap: nothing
        p.barrier()
        m = p.mark()
        p.cmd("hold F", "wait 1s")
        p.barrier()
        prem = p.premises(since=m)
        assert "siren fire" in prem and "display ALARM keypad" in prem, prem
        fire = alarm_of(st, 115)
        assert fire["kind"] == "fire" and fire["priority"] == 2, fire
        p.cmd("keys %s#" % e2e.MASTER, "expect display DISARMED")
        p.barrier()

        m = p.mark()
        p.cmd("hold M", "wait 1s")
        p.barrier()
        prem = p.premises(since=m)
        assert "beep ok" in prem and not [l for l in prem if l.startswith("siren")], prem
        med = alarm_of(st, 100)
        assert med["kind"] == "medical" and med["priority"] == 3, med

        m = p.mark()
        p.cmd("hold P", "wait 1s")
        p.barrier()
        assert "siren burglary" in p.premises(since=m), p.premises(since=m)
        pan = alarm_of(st, 120)
        assert pan["kind"] == "panic" and pan["priority"] == 3, pan
        # the tap reported nothing: one alarm each, nothing else
        kinds = sorted(a["kind"] for a in st.alarms())
        assert kinds == ["fire", "medical", "panic"], st.alarms()
        p.cmd("keys %s#" % e2e.MASTER)
        assert p.finish() == 0


def test_silent_panic_is_a_holdup_nobody_sees(args, work):
    st, p = start(args, work)
    with Both(st, p):
        p.cmd("keys *9%s#162#" % INSTALLER, "wait 1s")   # setting 16 (panic key) = 2 silent
        p.barrier()
        m = p.mark()
        p.cmd("hold P", "wait 2s")
        p.barrier()
        prem = p.premises(since=m)
        assert prem == ["beep key"], "a silent panic shows only the key beep: %r" % prem
        a = alarm_of(st, 122)
        assert a["kind"] == "holdup" and a["priority"] == 1, a
        assert p.finish() == 0


def test_battery_and_ac_trouble_with_restores(args, work):
    st, p = start(args, work)
    with Both(st, p):
        p.cmd("power battery low", "wait 1s")
        bat = alarm_of(st, 302, part=0)                # the panel's own: partition 0
        assert bat["kind"] == "trouble" and bat["priority"] == 5, bat
        p.cmd("power ac off", "wait 29m")            # CP-01 panels delay AC loss: 30 min
        p.barrier()
        time.sleep(1.0)
        assert not [e for e in st.events("1234") if e2e.cid_of(e)[1] == 301], st.events("1234")
        p.cmd("wait 2m")
        e2e.wait_events(st, lambda e: e2e.cid_of(e) == (1, 301, 0, 0), timeout=20.0)
        # the station joins it to the account's open trouble alarm (priority 5)
        al = [a for a in st.alarms() if a["kind"] == "trouble"]
        assert len(al) == 1 and al[0]["priority"] == 5 and al[0]["event_count"] == 2, al
        p.cmd("power ac on", "power battery ok", "wait 2s")
        e2e.wait_events(st, lambda e: e2e.cid_of(e)[:2] in ((3, 301), (3, 302)), n=2)
        assert p.finish() == 0


if __name__ == "__main__":
    e2e.run_cases([test_fire_medical_panic_at_their_priorities,
                   test_silent_panic_is_a_holdup_nobody_sees,
                   test_battery_and_ac_trouble_with_restores])
