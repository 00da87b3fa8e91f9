#!/usr/bin/python3
"""False-dispatch billing by jurisdiction (issue 14), black box: the agency
files shipped under packaging/agencies/ imported with `vigil agency import`,
a duress raised by a DC-09 frame, handled in vigil-console, found false by the
police (psap closed + finding) → one invoice line written by vigil-station in
the action's own commit, shown in the alarm's detail and the account's view,
and exported by `vigil billing export --month` as CSV read back with Python's
csv module. Also: the standing shown before dispatch (count, caution, permit
missing, what the next false dispatch costs), the cancel fee, a bad agency
file refused with nothing changed, an account naming an unknown agency refused.

Run: test_console_billing.py --station BIN --vigil BIN --console BIN [-k NAME]
"""
import csv
import io
import json
import os
import time

import vconsole as vc
from vconsole import expect

ADMIN_FEE = 2500            # billing_admin_fee_cents in this rig: $25.00
TRICKY = 'Smith, "Jo" & Co'  # a name CSV must quote (comma and quotes)
AGENCIES = os.path.join(vc.REPO, "packaging", "agencies")

ACCOUNTS = [
    {"number": "5001", "name": TRICKY,
     "extra": [["edit", "5001", "--agency", "toronto-ps", "--permit", "T-1"]]},
    {"number": "5002", "name": "Dallas Home",
     "extra": [["edit", "5002", "--agency", "dallas-pd"]]},       # no permit
    {"number": "5003", "name": "Cancel Test",
     "extra": [["edit", "5003", "--agency", "toronto-ps"]]},
]


def rig_up(args):
    rig = vc.Rig(args, accounts=ACCOUNTS, name="billing",
                 agencies=["toronto-ps.json", "dallas-pd.json"],
                 config={"billing_admin_fee_cents": ADMIN_FEE})
    rig.start()
    return rig


def month_now():
    return time.strftime("%Y-%m", time.gmtime())


def export(rig):
    p = rig.st.vigil("billing", "export", "--month", month_now())
    rows = list(csv.DictReader(io.StringIO(p.stdout, newline="")))
    return p.stdout, rows


def handle_to_police(c, aid, event):
    expect(c.act(aid, "take", {}), 200, what="take")
    expect(c.act(aid, "dispatch", {}), 200, what="dispatch")
    expect(c.act(aid, "psap", {"status": "accepted", "event_number": event}), 200,
           what="psap accepted")


def test_standing_before_dispatch(ctx):
    rig = ctx.shared
    c = rig.client("olive")
    aid = rig.raise_alarm("5001", "1121 01 001", kind="duress")
    d = c.alarm(aid)
    s = d["agency_standing"]
    assert s and s["rules"] is True and s["agency"]["id"] == "toronto-ps", d
    assert s["count"] == 0 and not s["cautioned"] and not s["suspended"], s
    assert s["respond"] is True and s["exempt"] is True, s
    assert s["verification_required"] is False, s
    assert s["to_caution"] == 2 and s["to_suspension"] == 4, s
    nf = s["next_false"]
    assert nf["agency_fee_cents"] == 13000 and nf["admin_fee_cents"] == ADMIN_FEE, nf
    assert nf["total_cents"] == 13000 + ADMIN_FEE and nf["total"] == "$155.00", nf
    assert nf["billed"] == "station" and nf["currency"] == "CAD", nf
    assert d["charge"] is None, d
    # existing fields are still there
    for k in ("account", "steps", "call_list", "dispatch", "history", "events"):
        assert k in d, k
    ctx.duress = aid


def test_false_duress_invoice_line(ctx):
    rig = ctx.shared
    c = rig.client("olive")
    aid = getattr(ctx, "duress", None) or rig.raise_alarm("5001", "1121 01 001", kind="duress")
    handle_to_police(c, aid, "TPS-2026-0001")
    expect(c.act(aid, "psap", {"status": "dispatched", "finding": "false"}), 400,
           "close", what="a finding before the police's close")
    expect(c.act(aid, "psap", {"status": "closed", "finding": "bogus"}), 400,
           what="an unknown finding")
    _, rows = export(rig)
    assert not [r for r in rows if r["alarm"] == str(aid)], "refused findings billed: %r" % rows
    d = expect(c.act(aid, "psap", {"status": "closed", "finding": "false"}), 200,
               what="the police found it false").json
    ch = d["charge"]
    assert ch and ch["alarm"] == aid and ch["agency"] == "toronto-ps", d
    assert ch["finding"] == "false" and ch["count_in_window"] == 1 and not ch["forgiven"], ch
    assert ch["agency_fee_cents"] == 13000 and ch["admin_fee_cents"] == ADMIN_FEE, ch
    assert ch["total_cents"] == 15500 and ch["psap_event_number"] == "TPS-2026-0001", ch
    assert "$130.00" in ch["rule"], ch
    assert any(h["action"] == "charge" and "$155.00" in (h["detail"] or "")
               for h in d["history"]), d["history"]
    s = d["agency_standing"]
    assert s["count"] == 1 and s["to_caution"] == 1, s
    assert any("caution" in w for w in s["warnings"]), s
    expect(c.act(aid, "step", {"step": "call_list"}), 200)
    expect(c.act(aid, "close", {"disposition": "false_user_error"}), 200, what="close")

    # the account page: its false dispatches and the warning before the caution
    acc = expect(c.get("/api/accounts/5001"), 200).json
    assert [f["alarm"] for f in acc["false_dispatches"]] == [aid], acc["false_dispatches"]
    assert acc["agency_standing"]["count"] == 1, acc["agency_standing"]
    assert acc["agency_standing"]["warnings"], acc["agency_standing"]
    # ... and its alarms (the page's links back): this one, closed, with its disposition
    mine = [x for x in acc["alarms"] if x["id"] == aid]
    assert len(mine) == 1 and mine[0]["kind"] == "duress", acc["alarms"]
    assert mine[0]["state"] == "closed" and mine[0]["disposition"] == "false_user_error", mine

    raw, rows = export(rig)
    mine = [r for r in rows if r["alarm"] == str(aid)]
    assert len(mine) == 1, rows
    r = mine[0]
    assert r["account"] == "5001" and r["account_name"] == TRICKY, r
    assert '"Smith, ""Jo"" & Co"' in raw, "the name is not quoted per RFC 4180: %r" % raw
    assert r["agency"] == "toronto-ps" and r["kind"] == "duress" and r["finding"] == "false", r
    assert r["agency_fee_cents"] == "13000" and r["agency_fee"] == "$130.00", r
    assert r["admin_fee_cents"] == str(ADMIN_FEE) and r["admin_fee"] == "$25.00", r
    assert r["total_cents"] == "15500" and r["total"] == "$155.00", r
    assert r["psap_event_number"] == "TPS-2026-0001" and r["currency"] == "CAD", r
    assert "$130.00" in r["rule"] and r["operator"] == "olive", r

    # a second false alarm: cautioned, and the account's police status says so
    aid2 = rig.raise_alarm("5001", "1130 01 003", kind="burglary")
    handle_to_police(c, aid2, "TPS-2026-0002")
    d = expect(c.act(aid2, "psap", {"status": "closed", "finding": "false"}), 200).json
    assert d["charge"]["count_in_window"] == 2, d["charge"]
    assert d["agency_standing"]["cautioned"] is True, d["agency_standing"]
    assert d["police_status"] == "cautioned", d["police_status"]
    assert "call_911" in d["mandatory_open"] or d["kind"] != "duress"
    _, rows = export(rig)
    assert len([r for r in rows if r["account"] == "5001"]) == 2, rows
    # another month holds none of them
    p = rig.st.vigil("billing", "export", "--month", "2001-01")
    assert len(list(csv.DictReader(io.StringIO(p.stdout)))) == 0, p.stdout


def test_cancel_after_acceptance_and_valid(ctx):
    rig = ctx.shared
    sup = rig.client("sara", role="supervisor")
    aid = rig.raise_alarm("5003", "1130 01 004", kind="burglary")
    handle_to_police(sup, aid, "TPS-2026-0003")
    expect(sup.act(aid, "psap", {"status": "closed", "finding": "cancelled"}), 409,
           "cancel", what="a cancelled finding without a cancel passed to the police")
    expect(sup.act(aid, "psap", {"status": "cancel_requested"}), 200)
    d = expect(sup.act(aid, "psap", {"status": "closed", "finding": "cancelled"}), 200).json
    ch = d["charge"]
    assert ch["finding"] == "cancelled" and ch["agency_fee_cents"] == 13000, ch
    assert ch["total_cents"] == 13000 + ADMIN_FEE and "cancel" in ch["rule"], ch
    assert d["agency_standing"]["count"] == 0, "a cancel counted toward the caution"
    expect(sup.act(aid, "close", {"disposition": "cancelled_after_dispatch", "override": True}),
           200, what="close")

    aid2 = rig.raise_alarm("5003", "1130 01 005", kind="burglary")
    handle_to_police(sup, aid2, "TPS-2026-0004")
    d = expect(sup.act(aid2, "psap", {"status": "closed", "finding": "valid"}), 200).json
    assert d["charge"] is None, d["charge"]
    _, rows = export(rig)
    assert [r["alarm"] for r in rows if r["account"] == "5003"] == [str(aid)], rows


def test_dallas_permit_missing(ctx):
    rig = ctx.shared
    c = rig.client("olive")
    aid = rig.raise_alarm("5002", "1130 01 006", kind="burglary")
    s = c.alarm(aid)["agency_standing"]
    assert s["agency"]["id"] == "dallas-pd" and s["permit_required"], s
    assert s["permit_missing"] is True and s["respond"] is False, s
    assert s["next_false"]["agency_fee_cents"] == 0, s          # 3 free per 12 months
    aid2 = rig.raise_alarm("5002", "1121 01 001", kind="duress")
    s = c.alarm(aid2)["agency_standing"]
    assert s["respond"] is True and s["exempt"] is True, s       # duress: answered anyway
    assert s["next_false"]["agency_fee_cents"] == 10000, s
    assert s["next_false"]["billed"] == "user" and s["next_false"]["total_cents"] == ADMIN_FEE


def test_bad_inputs_change_nothing(ctx):
    rig = ctx.shared
    before = rig.st.vigil("agency", "list", "--json").stdout
    with open(os.path.join(AGENCIES, "toronto-ps.json")) as f:
        text = f.read()
    bad = os.path.join(rig.st.dir, "bad.json")
    for old, new, field in (('"cancel_fee_cents": 13000', '"cancel_fee_cents": 130.5',
                             "cancel_fee_cents"),
                            ('"id": "toronto-ps"', '"id": "Toronto"', "id"),
                            ('"caution_at": 2', '"caution_at": 2, "typo": 1', "typo")):
        assert old in text
        with open(bad, "w") as f:
            f.write(text.replace(old, new).replace('"name": "Toronto Police Service"',
                                                   '"name": "Changed"'))
        p = rig.st.vigil("agency", "import", bad, check=False)
        assert p.returncode == 2 and field in p.stderr, (p.returncode, p.stderr)
    assert rig.st.vigil("agency", "list", "--json").stdout == before, "a bad file changed rules"
    p = rig.st.vigil("account", "edit", "5002", "--agency", "nowhere-pd", check=False)
    assert p.returncode == 2 and "nowhere-pd" in p.stderr, (p.returncode, p.stderr)
    acc = json.loads(rig.st.vigil("account", "show", "5002", "--json").stdout)
    assert acc["agency"] == "dallas-pd", acc
    p = rig.st.vigil("billing", "export", "--month", "2026-13", check=False)
    assert p.returncode == 2 and "YYYY-MM" in p.stderr, p.stderr


if __name__ == "__main__":
    vc.run_cases([
        test_standing_before_dispatch,
        test_false_duress_invoice_line,
        test_cancel_after_acceptance_and_valid,
        test_dallas_permit_missing,
        test_bad_inputs_change_nothing,
    ], setup=rig_up)
