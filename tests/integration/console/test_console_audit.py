#!/usr/bin/python3
"""The audit trail through vigil-console (docs/audit.md): an operator's login, a
failed login (the name kept only when it is an operator's, never the password),
a view of an alarm's detail, an action and a logout each leave one entry in the
station's chain, with who, when and before/after; nothing secret is in it; and
`vigil audit verify` passes on the store afterwards, checked again by an
independent recomputation (tests/integration/station/auditpy.py)."""
import json
import os
import subprocess
import sys

import vconsole as vc
from vconsole import expect

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "station"))
import auditpy  # noqa: E402


def entries(rig):
    return auditpy.rows(rig.st.store)


def after(row):
    return json.loads(row[6]) if row[6] else None


def test_console_entries(ctx):
    with vc.Rig(ctx.args, accounts=[{"number": "7A01"}], name="caud") as rig:
        rig.operator("olga", "operator")
        wrong = "not-olgas-password-9"
        typo = "Tr0ub4dor&3-typed-as-name"
        rig.secrets += [wrong, typo]
        n0 = len(entries(rig))

        # a failed login with an operator's name, and one with a name nobody has
        c = rig.client()
        expect(c.login("olga", wrong), 401)
        expect(rig.client().login(typo, "whatever-1"), 401)
        # the real login
        c = rig.client("olga")
        aid = rig.raise_alarm("7A01")
        d = c.alarm(aid)                       # a view of the detail
        assert d["id"] == aid or int(d.get("id", aid)) == aid
        expect(c.act(aid, "take"), 200)        # an action
        expect(c.post("/api/logout"), 200)

        rs = entries(rig)[n0:]
        by_kind = {}
        for r in rs:
            by_kind.setdefault(r[3], []).append(r)
        failed = by_kind.get("login.failed", [])
        assert len(failed) == 2, rs
        known = [r for r in failed if r[4] == "olga"]
        unknown = [r for r in failed if r[4] is None]
        assert known and after(known[0])["name_known"] is True, failed
        assert unknown and after(unknown[0])["name_known"] is False, failed
        assert all(r[2] == "vigil-console" and after(r)["address"] == "127.0.0.1" for r in failed)
        login = by_kind.get("login", [])
        assert len(login) == 1 and login[0][2] == "olga" and \
            after(login[0])["role"] == "operator", login
        views = [r for r in by_kind.get("alarm.view", []) if r[4] == str(aid)]
        assert len(views) == 1 and views[0][2] == "olga", by_kind.get("alarm.view")
        takes = [r for r in by_kind.get("alarm.take", []) if r[4] == str(aid)]
        assert len(takes) == 1 and takes[0][2] == "olga", takes
        assert json.loads(takes[0][5])["state"] == "new" and after(takes[0])["state"] == "taken"
        opened = [r for r in by_kind.get("alarm.opened", []) if r[4] == str(aid)]
        assert len(opened) == 1 and opened[0][2] == "station", opened
        assert by_kind.get("logout") and by_kind["logout"][0][2] == "olga"
        # in the order they happened
        order = [r[3] for r in rs if r[3] in ("login", "alarm.opened", "alarm.view",
                                               "alarm.take", "logout")]
        assert order == ["login", "alarm.opened", "alarm.view", "alarm.take", "logout"], order

        # no password, passcode, session cookie or CSRF token anywhere in the trail
        text = json.dumps(entries(rig))
        for s in rig.secrets:
            assert not s or s not in text, "a secret (%d chars) is in the audit trail" % len(s)

        p = subprocess.run([ctx.args.vigil, "-c", rig.st.conf, "audit", "verify"],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and p.stdout.startswith("ok "), (p.returncode, p.stdout,
                                                                  p.stderr)
        ok, n, last, why = auditpy.check_rows(entries(rig))
        assert ok, why


if __name__ == "__main__":
    vc.run_cases([test_console_entries])
