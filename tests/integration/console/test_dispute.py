#!/usr/bin/python3
"""The dispute packet (issue 14, docs/audit.md "The dispute packet"), black box:
a Toronto account (agency file imported from packaging/agencies/), a duress
raised by a DC-09 frame (CID 1121), handled in vigil-console (take, dispatch,
PSAP accepted with its event number, a verbal passcode check, the call list,
units dispatched, arrived, closed with the police's finding "false"), then
`vigil dispute ID --out DIR` and GET /api/alarms/{id}/dispute.json|html.

Checked: the packet's content (customer, permit, agency, the 1121 raw frame and
its decoding with the user's name, verification attempts, PSAP times and event
number, the invoice line, every operator action, the alarm.dispute entries),
the HTML page (escaped, no script, no external resource), no secret anywhere,
exit codes and the refusal to overwrite; and the audit proof checked by
check_dispute.py — written from docs/audit.md only, no project code — which
must also FAIL on a packet with one entry edited, with that entry's hash
recomputed (the link breaks), and with an entry removed.

Run: test_dispute.py --station BIN --vigil BIN --console BIN [-k NAME]
"""
import copy
import json
import os
import re
import subprocess
import sys

import vconsole as vc
from vconsole import expect

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKER = os.path.join(HERE, "check_dispute.py")
NAME = 'Ada <b>Lovelace</b> & "Co"'     # must come out escaped in the page
ADDRESS = "12 Elm St, Toronto ON"
PHONE = "+1 416 555 0142"
EVENT_NO = "TPS-2026-4711"
VERBAL, DURESS_WORDS = "blue heron 42", "red kite 77"
ACCOUNTS = [{"number": "6001", "name": NAME, "address": ADDRESS,
             "extra": [["edit", "6001", "--agency", "toronto-ps", "--permit", "TOR-P-881",
                        "--permit-expires", "2027-06-30", "--phone", PHONE],
                       ["user", "6001", "add", "1", "--name", "Ada (owner)"],
                       ["zone", "6001", "add", "1", "--name", "Front door"],
                       ["contact", "6001", "add", "--name", "Charles", "--phone",
                        "+1 416 555 0199", "--relation", "neighbour"]]}]


def run_checker(path, *extra):
    p = subprocess.run([sys.executable, CHECKER, path] + list(extra), capture_output=True,
                       text=True, timeout=60)
    return p.returncode, (p.stdout + p.stderr).strip()


def handled_false_duress(rig):
    c = rig.client("olive")
    aid = rig.raise_alarm("6001", "1121 01 001", kind="duress")
    expect(c.act(aid, "take", {}), 200, what="take")
    expect(c.act(aid, "dispatch", {"details": "silent duress, person may be under threat"}),
           200, what="dispatch")
    expect(c.act(aid, "psap", {"status": "accepted", "event_number": EVENT_NO}), 200,
           what="psap accepted")
    r = expect(c.act(aid, "passcode", {"passcode": VERBAL}), 200, what="passcode")
    assert r.json.get("result") == "normal", r
    expect(c.act(aid, "step", {"step": "call_list", "note": "called Charles, no answer"}), 200)
    expect(c.act(aid, "psap", {"status": "dispatched"}), 200, what="psap dispatched")
    expect(c.act(aid, "psap", {"status": "arrived"}), 200, what="psap arrived")
    d = expect(c.act(aid, "psap", {"status": "closed", "finding": "false"}), 200,
               what="police finding false").json
    assert d["charge"] and d["charge"]["total_cents"] == 13000, d["charge"]
    expect(c.act(aid, "close", {"disposition": "false_user_error"}), 200, what="close")
    return c, aid


def assert_content(p, aid, rig):
    assert p["packet"]["format"] == "vigil-dispute-packet" and p["packet"]["alarm"] == aid, p
    cu = p["customer"]
    assert cu["name"] == NAME and cu["address"] == ADDRESS and cu["phone"] == PHONE, cu
    assert cu["permit"] == "TOR-P-881" and cu["permit_expires"].startswith("2027-06-30"), cu
    assert cu["agency"] == "toronto-ps" and "Toronto" in (cu["agency_name"] or ""), cu
    a = p["alarm"]
    assert a["kind"] == "duress" and a["disposition"] == "false_user_error", a
    assert a["user"] == 1 and a["user_name"] == "Ada (owner)", a
    # the signal: the 1121 frame as stored, and decoded
    sig = [s for s in p["signals"] if "1121 01 001" in s["raw"]]
    assert sig, "the 1121 raw frame is not in the packet: %r" % p["signals"]
    s = sig[0]
    assert s["cid"] == {"qualifier": 1, "event": 121, "partition": 1, "zone_or_user": 1}, s
    assert s["user"] == 1 and s["user_name"] == "Ada (owner)" and s["zone"] is None, s
    assert s["account"] == "6001" and s["received_at"] and s["receiver_peer"], s
    assert "1121" in s["decoded"] and "user 001" in s["decoded"], s
    assert p["zones"] == [{"number": 1, "name": "Front door"}], p["zones"]
    assert p["users"] == [{"number": 1, "name": "Ada (owner)"}], p["users"]
    # verification attempts
    v = p["verification"]
    pc = v["passcode_checks"]
    assert len(pc) == 1 and pc[0]["result"] == "normal" and pc[0]["operator"] == "olive" \
        and pc[0]["at"], pc
    cl = [x for x in v["steps"] if x["id"] == "call_list"]
    assert cl and cl[0]["done"] and cl[0]["done_by"] == "olive" \
        and cl[0]["note"] == "called Charles, no answer", v["steps"]
    # dispatch record and times
    d = p["dispatch"]
    assert d["PsapEventNumber"] == EVENT_NO and d["PsapStatus"] == "closed", d
    for k in ("DispatchRequestedDate", "PsapAcceptedDate", "PsapDispatchedDate",
              "PsapArrivedDate", "PsapClosedDate"):
        assert d[k], (k, d)
    t = p["times"]
    assert t["psap_accepted"] == d["PsapAcceptedDate"] and t["arrived"] == d["PsapArrivedDate"]
    assert t["received"] <= t["dispatch_requested"] <= t["psap_accepted"] <= t["arrived"] \
        <= t["psap_closed"] <= t["closed"], t
    assert t["cancel_requested"] is None, t
    # finding and invoice line
    assert p["finding"]["charge_finding"] == "false", p["finding"]
    ch = p["charge"]
    assert ch["alarm"] == aid and ch["agency_fee_cents"] == 13000 and ch["total_cents"] == 13000
    assert ch["psap_event_number"] == EVENT_NO and "$130.00" in ch["rule"], ch
    # every operator action
    acts = [h["action"] for h in p["operator_actions"]]
    for want in ("take", "dispatch", "psap", "passcode", "step", "close"):
        assert want in acts, (want, acts)
    # the alarm's audit entries are in the chain, marked
    mine = [e for e in p["audit"]["chain"] if e["about"] == "alarm"]
    kinds = [e["kind"] for e in mine]
    for want in ("alarm.opened", "alarm.take", "alarm.dispatch", "alarm.psap",
                 "alarm.passcode", "alarm.close"):
        assert want in kinds, (want, kinds)
    assert p["audit"]["chain_complete"] is True and p["audit"]["head_file"], p["audit"]
    # no secret of any kind
    text = json.dumps(p)
    for sec in rig.secrets + [VERBAL, DURESS_WORDS]:
        assert not sec or sec not in text, "a secret (%d chars) is in the packet" % len(sec)
    assert "$argon2" not in text and "passcode_hash" not in text and "password" not in text


def assert_page(html, aid):
    assert html.startswith("<!DOCTYPE html>"), html[:80]
    assert "Ada &lt;b&gt;Lovelace&lt;/b&gt; &amp; &quot;Co&quot;" in html, "name not escaped"
    assert "<b>Lovelace</b>" not in html
    low = html.lower()
    assert "<script" not in low and "<link" not in low and " src=" not in low, "not self-contained"
    assert "http://" not in low and "https://" not in low and "url(" not in low
    assert "@media print" in html, "no print stylesheet"
    for want in ("Dispute packet — alarm %d" % aid, EVENT_NO, "TOR-P-881", "1121 01 001",
                 "Ada (owner)", "called Charles, no answer", "$130.00",
                 "How to check", "vigil-audit-v1"):
        assert want in html, "the page lacks %r" % want


def test_cli_packet_and_proof(ctx):
    rig = ctx.shared
    c, aid = handled_false_duress(rig)
    ctx.aid, ctx.client = aid, c
    out = os.path.join(rig.st.dir, "packets")
    os.makedirs(out)
    p = rig.st.vigil("dispute", aid, "--out", out)
    jpath = os.path.join(out, "dispute-%d.json" % aid)
    hpath = os.path.join(out, "dispute-%d.html" % aid)
    assert p.stdout.split() == [jpath, hpath], p.stdout
    assert oct(os.stat(jpath).st_mode & 0o777) == "0o600", "packet not owner-only"
    with open(jpath, encoding="utf-8") as f:
        packet = json.load(f)
    assert_content(packet, aid, rig)
    # the request itself is the chain's last entry, and the head file names it
    last = packet["audit"]["chain"][-1]
    assert last["kind"] == "alarm.dispute" and last["actor"] == "vigil-cli" \
        and last["subject"] == str(aid), last
    assert packet["audit"]["head_file"]["seq"] == last["seq"], packet["audit"]["head_file"]
    with open(hpath, encoding="utf-8") as f:
        assert_page(f.read(), aid)

    rc, msg = run_checker(jpath)
    assert rc == 0 and msg.startswith("ok alarm %d" % aid), (rc, msg)
    # a head copied elsewhere before the packet was made still links
    hf = packet["audit"]["chain"][0]
    rc, msg = run_checker(jpath, "--head", "%d:%s" % (hf["seq"], hf["hash"]))
    assert rc == 0, msg

    # the checker can fail: one entry edited (the police's finding made "valid")
    psap = [e for e in packet["audit"]["chain"] if e["kind"] == "alarm.psap"
            and '"false"' in (e["after"] or "")]
    assert psap, "no alarm.psap entry with the finding"
    seq = psap[0]["seq"]
    bad = copy.deepcopy(packet)
    e = [x for x in bad["audit"]["chain"] if x["seq"] == seq][0]
    e["after"] = e["after"].replace('"false"', '"valid"')
    rc, msg = check_json(rig, bad, "edited")
    assert rc == 1 and "entry %d: its hash does not match" % seq in msg, (rc, msg)
    # ... and its hash recomputed to fit: the next entry's link breaks
    sys.path.insert(0, HERE)
    import check_dispute
    e["hash"] = check_dispute.entry_hash(e)
    rc, msg = check_json(rig, bad, "rehashed")
    assert rc == 1 and "entry %d: prev_hash is not entry %d" % (seq + 1, seq) in msg, (rc, msg)
    # ... an entry removed from the chain
    bad = copy.deepcopy(packet)
    bad["audit"]["chain"] = [x for x in bad["audit"]["chain"] if x["seq"] != seq]
    rc, msg = check_json(rig, bad, "cut")
    assert rc == 1 and "entries missing" in msg, (rc, msg)
    # ... a head kept elsewhere that this chain does not hold
    rc, msg = run_checker(jpath, "--head", "%d:%s" % (seq, "0" * 64))
    assert rc == 1, msg

    # the store's own verify agrees
    v = rig.st.vigil("audit", "verify")
    assert v.stdout.startswith("ok "), v.stdout


def check_json(rig, packet, tag):
    path = os.path.join(rig.st.dir, "tampered-%s.json" % tag)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(packet, f)
    return run_checker(path)


def test_cli_errors_change_nothing(ctx):
    rig = ctx.shared
    aid = getattr(ctx, "aid", None)
    assert aid, "needs test_cli_packet_and_proof"
    out = os.path.join(rig.st.dir, "packets")
    jpath = os.path.join(out, "dispute-%d.json" % aid)
    before = open(jpath, "rb").read()
    n0 = len(json.loads(rig.st.vigil("audit", "list", "--json").stdout))
    for argv, code, says in (
            (["dispute", "999999", "--out", out], 1, "no alarm 999999"),
            (["dispute", "12x", "--out", out], 2, "ALARM_ID"),
            (["dispute", str(aid)], 2, "usage"),
            (["dispute", str(aid), "--out", os.path.join(out, "nope")], 2, "--out"),
            (["dispute", str(aid), "--out", out], 2, "already exists")):
        p = rig.st.vigil(*argv, check=False)
        assert p.returncode == code and says in p.stderr, (argv, p.returncode, p.stderr)
    assert open(jpath, "rb").read() == before, "a refused dispute changed the packet"
    assert not os.path.exists(os.path.join(out, "dispute-999999.json"))
    n1 = len(json.loads(rig.st.vigil("audit", "list", "--json").stdout))
    assert n1 == n0, "a refused dispute appended %d audit entries" % (n1 - n0)
    p = rig.st.vigil("dispute", aid, "--out", out, "--force")
    assert p.returncode == 0 and open(jpath, "rb").read() != before
    assert not [f for f in os.listdir(out) if f.endswith(".tmp")], os.listdir(out)


def test_console_packet(ctx):
    rig = ctx.shared
    aid = getattr(ctx, "aid", None)
    assert aid, "needs test_cli_packet_and_proof"
    c = rig.client("pavel")              # another operator, not the one who handled it
    r = c.get("/api/alarms/%d/dispute.json" % aid)
    assert r.status == 200 and r.header("Content-Type").startswith("application/json"), r
    assert 'attachment; filename="dispute-%d.json"' % aid == r.header("Content-Disposition"), r
    p = json.loads(r.body)
    assert_content(p, aid, rig)
    last = p["audit"]["chain"][-1]
    assert last["kind"] == "alarm.dispute" and last["actor"] == "pavel", last
    assert json.loads(last["after"]) == {"address": "127.0.0.1", "format": "json"}, last
    path = os.path.join(rig.st.dir, "console-dispute.json")
    with open(path, "wb") as f:
        f.write(r.body)
    rc, msg = run_checker(path)
    assert rc == 0, msg

    r = c.get("/api/alarms/%d/dispute.html" % aid)
    assert r.status == 200 and r.header("Content-Type").startswith("text/html"), r
    csp = r.header("Content-Security-Policy") or ""
    assert "default-src 'none'" in csp and "script" not in csp, csp
    assert_page(r.body.decode("utf-8"), aid)

    expect(c.get("/api/alarms/999999/dispute.json"), 404, "no such alarm")
    expect(c.get("/api/alarms/abc/dispute.html"), 404)
    expect(c.post("/api/alarms/%d/dispute.json" % aid), 405)
    expect(vc.Client(rig.http).get("/api/alarms/%d/dispute.html" % aid), 401)
    # every download is in the trail; the refused ones are not
    rows = json.loads(rig.st.vigil("audit", "list", "--alarm", aid, "--json").stdout)
    dl = [(x["actor"], json.loads(x["after"])["format"] if x["actor"] != "vigil-cli" else "cli")
          for x in rows if x["kind"] == "alarm.dispute"]
    assert dl == [("vigil-cli", "cli"), ("vigil-cli", "cli"), ("pavel", "json"),
                  ("pavel", "html")], dl
    assert not [x for x in json.loads(rig.st.vigil("audit", "list", "--json").stdout)
                if x["kind"] == "alarm.dispute" and x["subject"] == "999999"]
    v = rig.st.vigil("audit", "verify")
    assert v.stdout.startswith("ok "), v.stdout


def test_open_alarm_without_dispatch(ctx):
    """A burglary just received, never dispatched: the packet says so plainly
    (no dispatch record, no charge, no finding) and its proof still checks."""
    rig = ctx.shared
    aid = rig.raise_alarm("6001", "1130 01 001", kind="burglary")
    out = os.path.join(rig.st.dir, "open")
    os.makedirs(out)
    rig.st.vigil("dispute", aid, "--out", out)
    with open(os.path.join(out, "dispute-%d.json" % aid), encoding="utf-8") as f:
        p = json.load(f)
    assert p["alarm"]["state"] == "new" and p["alarm"]["kind"] == "burglary", p["alarm"]
    assert p["dispatch"] is None and p["charge"] is None, p
    assert p["finding"] == {"psap_disposition": None, "charge_finding": None}, p["finding"]
    assert p["times"]["dispatch_requested"] is None and p["times"]["received"], p["times"]
    s = p["signals"][0]
    assert s["zone"] == 1 and s["zone_name"] == "Front door" and s["user"] is None, s
    assert [e["kind"] for e in p["audit"]["chain"] if e["about"] == "alarm"] == \
        ["alarm.opened", "alarm.dispute"], p["audit"]["chain"]
    rc, msg = run_checker(os.path.join(out, "dispute-%d.json" % aid))
    assert rc == 0, msg
    with open(os.path.join(out, "dispute-%d.html" % aid), encoding="utf-8") as f:
        page = f.read()
    assert "No police dispatch was requested for this alarm." in page
    assert "none (no false finding recorded)" in page


def setup(args):
    rig = vc.Rig(args, accounts=ACCOUNTS, name="dispute", agencies=["toronto-ps.json"])
    rig.start()
    rig.set_passcode("6001", verbal=VERBAL, duress=DURESS_WORDS)
    return rig


if __name__ == "__main__":
    vc.run_cases([test_cli_packet_and_proof, test_cli_errors_change_nothing,
                  test_console_packet, test_open_alarm_without_dispatch], setup=setup)
