#!/usr/bin/python3
"""vigil-console's HTTP API against docs/console.md, black box.

One vigil-station + vigil-console pair (one temporary config file) serves most
cases; the cases that need their own settings (login rate limit, live-stream
cap, take lease and session idle expiry) start their own. Alarms are raised by
DC-09 frames from tests/integration/station/vstation.py's own encoder, and the
alarm state is cross-checked with `vigil alarms --json` (the store, not the
console's word). Every error case checks the status AND the body shape
{"error": "a sentence"}. At the end both daemons must exit 0 on SIGTERM and no
password, passcode, session cookie or CSRF token may appear in either log.

Run: test_console_api.py --station BIN --vigil BIN --console BIN [-k NAME] [--skip NAME]
"""
import json
import os
import re
import signal
import time
import xml.etree.ElementTree as ET

import vconsole as vc
from vconsole import expect, find_key

VERBAL = "blue-harbor-42"
DURESS_WORDS = "red-lantern-17"
WRONG_WORDS = "green-meadow-77"
STATION_NAME = "Test Monitoring Co"
STATION_PHONE = "+15559990000"
DISPOSITIONS = ("real_emergency", "false_user_error", "false_equipment",
                "cancelled_before_dispatch", "cancelled_after_dispatch", "test")
ACTIONS = {  # a valid body per action, for the CSRF and no-session cases
    "take": {"force": False}, "release": {}, "step": {"step": "notes", "note": "x"},
    "passcode": {"passcode": "zzzz-zzzz"}, "dispatch": {"details": "x"},
    "psap": {"status": "accepted", "event_number": "E-1"}, "close": {"disposition": "test"},
}

SHOP = {"number": "1234", "name": "Corner Shop", "address": "12 High Street",
        "extra": [["edit", "1234", "--phone", "+15550100", "--agency", "toronto-ps",
                   "--permit", "P-778"],
                  ["contact", "1234", "add", "--name", "Jane Owner", "--phone", "+15550111",
                   "--relation", "owner", "--lives-at-premises"],
                  ["contact", "1234", "add", "--name", "Bob Neighbour", "--phone", "+15550122",
                   "--relation", "neighbour"],
                  ["contact", "1234", "add", "--name", "Clerk Mobile", "--phone", "+15550133",
                   "--relation", "self", "--user", "3"],
                  ["user", "1234", "add", "3", "--name", "Night clerk"]]}
SUSPENDED = {"number": "3004", "extra": [["edit", "3004", "--police-status", "suspended"]]}


def shared_rig(args):
    accts = [SHOP] + [{"number": n} for n in
                      ("2001", "2002", "2003", "2101", "2102", "3001", "3002", "3003")] + [SUSPENDED]
    rig = vc.Rig(args, accounts=accts, name="capi", agencies=["toronto-ps.json"],
                 config={"station_name": STATION_NAME, "station_phone": STATION_PHONE})
    rig.start()
    rig.set_passcode("1234", verbal=VERBAL, duress=DURESS_WORDS)
    return rig


def cli_alarm_by_id(rig, alarm_id):
    al = json.loads(rig.st.vigil("alarms", "--all", "--json").stdout)
    hit = [a for a in al if int(a["id"]) == alarm_id]
    assert hit, "alarm %d not in vigil alarms --all --json" % alarm_id
    return hit[0]


def detail_of(r, alarm_id):
    """An action's answer is the alarm's detail object."""
    assert isinstance(r.json, dict) and int(r.json.get("id", -1)) == alarm_id, \
        "an action must answer with the alarm's detail object: %r" % r
    return r.json


def step_of(detail, sid):
    hit = [s for s in detail["steps"] if s["id"] == sid]
    assert hit, "step %r not in the plan: %r" % (sid, detail["steps"])
    return hit[0]


# ---------------------------------------------------------------- 401 / login

API_PATHS = ["/api/session", "/api/logout", "/api/alarms", "/api/alarms?all=1",
             "/api/alarms/1", "/api/alarms/1/dispatch.json", "/api/alarms/1/dispatch.xml",
             "/api/accounts", "/api/accounts/1234", "/api/events", "/api/events?account=1234",
             "/api/signals", "/api/operators", "/api/no-such-thing"] + \
    ["/api/alarms/1/%s" % a for a in ACTIONS]


def test_no_session_is_401_everywhere(ctx):
    rig = ctx.shared
    anon = rig.client()
    bogus = rig.client()
    bogus.cookie, bogus.csrf = "A" * 43, "B" * 43
    for c, who in ((anon, "no cookie"), (bogus, "unknown cookie")):
        for path in API_PATHS:
            for method in ("GET", "POST"):
                body = ACTIONS.get(path.rsplit("/", 1)[-1], {}) if method == "POST" else None
                r = c.request(method, path, body=body, csrf=(c.csrf or "x"))
                expect(r, 401, what="%s %s (%s)" % (method, path, who))
        s = vc.Stream(rig.http, c.cookie)
        try:
            assert s.status == 401, "GET /api/alarms/stream (%s): want 401, got %d %r" % (
                who, s.status, s.body[:200])
        finally:
            s.close()
    # an existing alarm is not revealed either, and nothing changed
    aid = rig.raise_alarm("2003")
    r = anon.post("/api/alarms/%d/take" % aid, {"force": False}, csrf="x")
    expect(r, 401, what="take without a session")
    a = cli_alarm_by_id(rig, aid)
    assert a["taken_by"] is None and a["state"] == "new", a


def test_login_and_session(ctx):
    rig = ctx.shared
    pw = rig.operator("lana", "operator")
    c = rig.client()
    r1 = expect(c.login("lana", pw + "x"), 401, "invalid name or password", "bad password")
    r2 = expect(c.login("nobody-here", pw), 401, "invalid name or password", "unknown name")
    assert r1.json["error"] == r2.json["error"], \
        "a bad password and an unknown name must answer alike: %r vs %r" % (r1, r2)
    assert c.cookie is None, "a failed login set a session cookie"
    dpw = rig.operator("dora", "operator")
    rig.st.vigil("operator", "disable", "dora")
    expect(rig.client().login("dora", dpw), 401, "invalid name or password", "disabled operator")
    rig.st.vigil("operator", "enable", "dora")
    expect(rig.client().login("dora", dpw), 200, what="re-enabled operator")
    expect(c.request("POST", "/api/login", raw=b'{"name": "lana", "pass'), 400,
           what="login with malformed JSON")
    expect(c.request("POST", "/api/login", {"name": "lana"}), 400, what="login without password")
    expect(c.request("POST", "/api/login", {"name": "lana", "password": 42}), 400,
           what="login with a number as password")

    r = expect(c.login("lana", pw), 200, what="good login")
    assert set(r.json) >= {"name", "role", "csrf"}, r
    assert r.json["name"] == "lana" and r.json["role"] == "operator", r
    assert isinstance(r.json["csrf"], str) and len(r.json["csrf"]) >= 16, \
        "CSRF token too short to be unguessable: %d chars" % len(r.json.get("csrf") or "")
    assert c.cookie and len(c.cookie) >= 16 and c.cookie != r.json["csrf"], \
        "session cookie missing, short, or equal to the CSRF token"
    attrs = [a.strip().lower() for a in c.cookie_attrs.split(";") if a.strip()]
    for want in ("httponly", "samesite=strict", "path=/"):
        assert want in attrs, "cookie attribute %s missing: %r" % (want, c.cookie_attrs)
    assert "secure" not in attrs, "Secure cookie on plain HTTP (docs: Secure under TLS)"
    s = expect(c.get("/api/session"), 200, what="GET /api/session").json
    assert (s["name"], s["role"], s["csrf"]) == ("lana", "operator", r.json["csrf"]), s
    # a second login is a second session with its own token
    c2 = rig.client()
    expect(c2.login("lana", pw), 200)
    assert c2.cookie != c.cookie and c2.csrf != c.csrf, "two logins share a session or token"


def test_csrf_required_on_every_action(ctx):
    rig = ctx.shared
    c = rig.client("cara")
    other = rig.client("carl")
    aid = rig.raise_alarm("2001")
    wrong = ["", "0" * len(c.csrf), c.csrf[:-1] + ("A" if c.csrf[-1] != "A" else "B"), other.csrf]
    for action, body in ACTIONS.items():
        path = "/api/alarms/%d/%s" % (aid, action)
        expect(c.post(path, body, csrf=False), 403, what="%s without X-CSRF-Token" % action)
        for w in wrong:
            expect(c.post(path, body, csrf=w), 403,
                   what="%s with a wrong X-CSRF-Token (%d chars)" % (action, len(w)))
    a = cli_alarm_by_id(rig, aid)
    assert a["taken_by"] is None and a["state"] == "new", \
        "a refused (403) action changed the alarm: %r" % a
    expect(c.post("/api/logout", {}, csrf=False), 403, what="logout without X-CSRF-Token")
    expect(c.post("/api/logout", {}, csrf=other.csrf), 403, what="logout with another's token")
    expect(c.get("/api/session"), 200, what="session after refused logouts")
    # the good token works
    d = detail_of(expect(c.act(aid, "take"), 200, what="take with the token"), aid)
    assert d["taken_by"] == "cara", d
    expect(c.act(aid, "release"), 200, what="release with the token")


def test_roles(ctx):
    rig = ctx.shared
    op = rig.client("olga", "operator")
    sup = rig.client("sam", "supervisor")
    adm = rig.client("ada", "admin")
    expect(op.get("/api/operators"), 403, what="GET /api/operators as operator")
    expect(sup.get("/api/operators"), 403, what="GET /api/operators as supervisor")
    r = expect(adm.get("/api/operators"), 200, what="GET /api/operators as admin")
    assert isinstance(r.json, list), r
    byname = {o["name"]: o for o in r.json}
    for n, role in (("olga", "operator"), ("sam", "supervisor"), ("ada", "admin")):
        assert n in byname and byname[n]["role"] == role, (n, r.json)
        assert set(byname[n]) >= {"name", "role", "disabled", "created_at"}, byname[n]
    assert "argon2" not in r.text and "password" not in r.text.lower(), \
        "operators list shows password material: %r" % r.text[:300]

    aid = rig.raise_alarm("3001", "1121 01 001", kind="duress")
    expect(op.act(aid, "take"), 200, what="operator takes a free alarm")
    expect(op.act(aid, "close", {"disposition": "real_emergency", "override": True}), 403,
           what="close with override as operator")
    a = cli_alarm_by_id(rig, aid)
    assert a["state"] == "taken" and a["taken_by"] == "olga", a
    expect(op.act(aid, "dispatch", {"details": "role test"}), 200, what="dispatch")
    expect(op.act(aid, "psap", {"status": "cancel_requested"}), 403,
           what="cancel_requested after a dispatch as operator")
    j = expect(op.get("/api/alarms/%d/dispatch.json" % aid), 200).json
    assert not find_key(j, "CancelRequestedDate"), "a refused cancel was recorded: %r" % j

    # a supervisor: take over (force), cancel, close with override (logged)
    expect(sup.act(aid, "take", {"force": False}), 409, "olga", what="take another's alarm")
    d = detail_of(expect(sup.act(aid, "take", {"force": True}), 200, what="supervisor force"),
                  aid)
    assert d["taken_by"] == "sam", d
    expect(sup.act(aid, "psap", {"status": "cancel_requested"}), 200,
           what="cancel_requested by a supervisor")
    j = expect(sup.get("/api/alarms/%d/dispatch.json" % aid), 200).json
    assert find_key(j, "CancelRequestedDate"), "CancelRequestedDate not set: %r" % j
    expect(sup.act(aid, "close", {"disposition": "cancelled_after_dispatch"}), 409,
           "call_list", what="close with call_list open, no override")
    d = detail_of(expect(sup.act(aid, "close", {"disposition": "cancelled_after_dispatch",
                                                "override": True, "note": "supervisor"}),
                         200, what="close with override by a supervisor"), aid)
    assert d["state"] == "closed" and d["disposition"] == "cancelled_after_dispatch", d
    hist = json.dumps(d["history"]).lower()
    assert "override" in hist, "close override not logged in history: %r" % d["history"]
    assert any(h.get("operator") == "sam" for h in d["history"]) and \
        any(h.get("operator") == "olga" for h in d["history"]), d["history"]
    a = cli_alarm_by_id(rig, aid)
    assert a["state"] == "closed" and a["disposition"] == "cancelled_after_dispatch", a


# ---------------------------------------------------------------- 400 / 404 / 405

def test_bad_input_is_400(ctx):
    rig = ctx.shared
    c = rig.client("bert")
    aid = rig.raise_alarm("3003", "1121 01 002", kind="duress")
    expect(c.act(aid, "take"), 200)
    for action in ACTIONS:
        path = "/api/alarms/%d/%s" % (aid, action)
        for raw in (b'{"step": ', b"not json at all", b"[1, 2]", b'"a string"'):
            expect(c.request("POST", path, raw=raw), 400, what="%s with body %r" % (action, raw))
    expect(c.act(aid, "take", {"force": "yes"}), 400, what="take force as a string")
    expect(c.act(aid, "step", {}), 400, what="step without step")
    expect(c.act(aid, "step", {"step": 5}), 400, what="step as a number")
    expect(c.act(aid, "step", {"step": "wash_the_car"}), 400, what="step not in the plan")
    expect(c.act(aid, "passcode", {}), 400, what="passcode without passcode")
    expect(c.act(aid, "passcode", {"passcode": 1234}), 400, what="passcode as a number")
    expect(c.act(aid, "dispatch", {"details": 7}), 400, what="dispatch details as a number")
    expect(c.act(aid, "dispatch"), 200, what="dispatch (for the PSAP cases)")
    expect(c.act(aid, "psap", {}), 400, what="psap without status")
    expect(c.act(aid, "psap", {"status": "teleported"}), 400, what="psap unknown status")
    expect(c.act(aid, "psap", {"status": "accepted"}), 400, what="accepted without event_number")
    expect(c.act(aid, "psap", {"status": "rejected"}), 400, what="rejected without reason")
    expect(c.act(aid, "psap", {"status": "rejected", "reason": "bored"}), 400,
           what="rejected with an unknown reason")
    expect(c.act(aid, "close", {"disposition": 3}), 400, what="disposition as a number")
    d = c.alarm(aid)
    assert d["dispatch_status"] not in ("accepted", "rejected"), \
        "a 400 changed the PSAP status: %r" % d["dispatch_status"]
    # a rejection allows a second dispatch
    expect(c.act(aid, "psap", {"status": "rejected", "reason": "invalid_address"}), 200,
           what="PSAP rejection")
    expect(c.act(aid, "dispatch", {"details": "address corrected"}), 200,
           what="dispatch again after a PSAP rejection")


def test_not_found_and_method(ctx):
    rig = ctx.shared
    c = rig.client("nina")
    aid = rig.raise_alarm("2002")
    expect(c.get("/api/alarms/999999"), 404, what="unknown alarm")
    for action, body in ACTIONS.items():
        expect(c.post("/api/alarms/999999/%s" % action, body), 404,
               what="%s on an unknown alarm" % action)
    expect(c.get("/api/alarms/999999/dispatch.json"), 404, what="dispatch.json unknown alarm")
    expect(c.get("/api/alarms/%d/dispatch.json" % aid), 404, what="dispatch.json, no dispatch")
    expect(c.get("/api/alarms/%d/dispatch.xml" % aid), 404, what="dispatch.xml, no dispatch")
    expect(c.get("/api/accounts/FFFF99"), 404, what="unknown account")
    expect(c.get("/api/no-such-thing"), 404, what="unknown /api/ path")
    expect(c.get("/api/alarms/%d/take" % aid), 405, what="GET on an action")
    expect(c.request("POST", "/api/alarms", {}), 405, what="POST /api/alarms")
    expect(c.request("DELETE", "/api/alarms/%d" % aid), 405, what="DELETE an alarm")
    expect(c.request("PUT", "/api/session", {}), 405, what="PUT /api/session")


# ---------------------------------------------------------------- 409

def test_conflicts_409(ctx):
    rig = ctx.shared
    ivy = rig.client("ivy")
    jon = rig.client("jon")
    aid = rig.raise_alarm("3002", "1121 01 004", kind="duress")
    expect(ivy.act(aid, "take"), 200)
    expect(jon.act(aid, "take"), 409, "held by ivy", what="take an alarm another holds")
    for action, body in ACTIONS.items():
        if action == "take":
            continue
        expect(jon.act(aid, action, body), 409, what="%s on an alarm you do not hold" % action)
    a = cli_alarm_by_id(rig, aid)
    assert a["taken_by"] == "ivy" and a["state"] == "taken", a
    expect(ivy.act(aid, "psap", {"status": "accepted", "event_number": "E-9"}), 409,
           what="PSAP update before any dispatch")
    expect(ivy.act(aid, "close", {}), 409, what="close without a disposition")
    r = expect(ivy.act(aid, "close", {"disposition": "real_emergency"}), 409,
               ["dispatch", "call_list"], what="close with mandatory steps open")
    expect(ivy.act(aid, "step", {"step": "notes", "note": "first"}), 200, what="tick notes")
    expect(ivy.act(aid, "step", {"step": "notes", "note": "again"}), 409, what="tick twice")
    expect(ivy.act(aid, "dispatch"), 200, what="dispatch")
    expect(ivy.act(aid, "dispatch"), 409, what="dispatch twice (no rejection)")
    expect(ivy.act(aid, "step", {"step": "dispatch"}), 409,
           what="tick the dispatch step the dispatch already ticked")
    expect(ivy.act(aid, "psap", {"status": "dispatched"}), 409, what="dispatched before accepted")
    expect(ivy.act(aid, "psap", {"status": "arrived"}), 409, what="arrived before accepted")
    expect(ivy.act(aid, "psap", {"status": "accepted", "event_number": "E-9"}), 200)
    expect(ivy.act(aid, "psap", {"status": "arrived"}), 409, what="arrived before dispatched")
    expect(ivy.act(aid, "psap", {"status": "dispatched"}), 200)
    expect(ivy.act(aid, "psap", {"status": "accepted", "event_number": "E-10"}), 409,
           what="accepted after dispatched")
    expect(ivy.act(aid, "step", {"step": "call_list"}), 200)
    expect(ivy.act(aid, "close", {"disposition": "false_user_error"}), 200, what="close")
    for action, body in ACTIONS.items():
        expect(ivy.act(aid, action, body), 409, what="%s on a closed alarm" % action)
    # release: yours only; back to the queue; then another may take it
    bid = rig.raise_alarm("2002", "1130 01 002")  # 2002's burglary (open from not_found or new)
    expect(ivy.act(bid, "take"), 200)
    expect(jon.act(bid, "release"), 409, what="release another's alarm (operator)")
    d = detail_of(expect(ivy.act(bid, "release"), 200, what="release"), bid)
    assert d["taken_by"] is None and d["state"] == "new", d
    expect(jon.act(bid, "take"), 200, what="take a released alarm")
    expect(jon.act(bid, "release"), 200)


# ---------------------------------------------------------------- the duress, end to end

def test_duress_happy_path(ctx):
    rig = ctx.shared
    hank = rig.client("hank")
    rig.send("1234", "1121 01 003")        # duress by user 3
    lst = vc.wait_until(lambda: [a for a in hank.alarms()
                                 if a["account"] == "1234" and a["kind"] == "duress"],
                        5.0, "the duress alarm in GET /api/alarms")
    a = lst[0]
    aid = int(a["id"])
    cli = cli_alarm_by_id(rig, aid)
    for k, val in cli.items():
        assert k in a and a[k] == val, "list field %r: console %r, vigil alarms --json %r" % (
            k, a.get(k), val)
    assert a["priority"] == 1 and a["state"] == "new" and a["taken_by"] is None, a
    assert a["user"] == 3 and a["cid"]["event"] == 121, a
    assert a["account_name"] == "Corner Shop" and a["police_status"] == "normal", a
    assert isinstance(a["plan"], str) and a["plan"], a
    assert a["steps_done"] == 0 and a["steps_total"] >= 3, a
    assert set(a["mandatory_open"]) == {"dispatch", "call_list"}, a["mandatory_open"]
    assert a["dispatch_status"] is None, a
    assert 0 < a["warning_s"] <= a["danger_s"], a
    assert isinstance(a["change"], int) and a["change"] > 0, a
    al = hank.alarms()
    keys = [(x["priority"], x["received_at"]) for x in al]
    assert keys == sorted(keys), "GET /api/alarms not in queue order: %r" % keys
    assert all(x["state"] != "closed" for x in al), "closed alarms in the open list"

    d = hank.alarm(aid)
    acc = d["account"]
    assert acc["number"] == "1234" and acc["name"] == "Corner Shop" and \
        acc["address"] == "12 High Street", acc
    assert acc["phone"] is None and isinstance(acc.get("phone_withheld"), str) \
        and acc["phone_withheld"], "a duress must withhold the premises phone: %r" % acc
    assert "+15550100" not in json.dumps(d), "the premises phone appears in a duress's detail"
    assert acc["agency"] == "toronto-ps" and acc["permit"] == "P-778", acc
    ids = [s["id"] for s in d["steps"]]
    assert ids.index("dispatch") < ids.index("call_list") < ids.index("notes"), ids
    for s in d["steps"]:
        assert set(s) >= {"id", "text", "mandatory", "done", "done_by", "done_at", "note"}, s
        assert s["done"] is False, s
    assert step_of(d, "dispatch")["mandatory"] is True and step_of(d, "notes")["mandatory"] is False
    names = [c["name"] for c in d["call_list"]]
    assert "Bob Neighbour" in names and "Jane Owner" not in names, \
        "a duress's call list is without the premises' contacts: %r" % d["call_list"]
    assert "Clerk Mobile" not in names, \
        "a duress's call list is without the duress user's own numbers: %r" % d["call_list"]
    assert d["dispatch"] is None and isinstance(d["history"], list), d
    assert d["events"] and d["events"][0]["cid"]["event"] == 121, d["events"][:1]

    # police response suspended: call 911 becomes a mandatory step
    sid = rig.raise_alarm("3004", "1121 01 001", kind="duress")
    x = [y for y in hank.alarms() if int(y["id"]) == sid][0]
    assert x["police_status"] == "suspended" and "call_911" in x["mandatory_open"], x

    d = detail_of(expect(hank.act(aid, "take"), 200, what="take"), aid)
    assert d["state"] == "taken" and d["taken_by"] == "hank", d
    for words, want in ((VERBAL, "normal"), (DURESS_WORDS, "duress"), (WRONG_WORDS, "no_match")):
        r = expect(hank.act(aid, "passcode", {"passcode": words}), 200, what="passcode " + want)
        assert r.json.get("result") == want, "passcode %s: got %r" % (want, r.json.get("result"))
        assert isinstance(r.json.get("advice"), str) and r.json["advice"], r.json
        detail_of(r, aid)
    rig.secrets.append(WRONG_WORDS)
    d = detail_of(expect(hank.act(aid, "step", {"step": "call_list", "note": "called Bob"}), 200,
                         what="step call_list"), aid)
    s = step_of(d, "call_list")
    assert s["done"] is True and s["done_by"] == "hank" and s["note"] == "called Bob" \
        and s["done_at"], s
    assert d["steps_done"] == 1, d

    d = detail_of(expect(hank.act(aid, "dispatch", {"details": "silent duress by user 3"}), 200,
                         what="dispatch"), aid)
    assert d["state"] == "dispatched", d
    assert step_of(d, "dispatch")["done"] is True, "dispatch did not tick the plan's step"
    assert d["mandatory_open"] == [], d["mandatory_open"]
    assert d["dispatch"] is not None and d["dispatch_status"] is not None, d

    r = expect(hank.get("/api/alarms/%d/dispatch.json" % aid), 200, what="dispatch.json")
    j = r.json
    want = {"AlarmEventCategory": "Holdup", "AlarmAudibleDescriptionCode": "Silent",
            "AlarmEventCallToPremisesIndicator": False, "AlarmEventPermit": "P-778",
            "AlarmEventDispatchAgency": "Toronto Police Service", "AlarmEventCallBackTelephoneNumber":
            STATION_PHONE, "Account": "1234"}
    for k, val in want.items():
        got = find_key(j, k)
        assert got == val, "dispatch.json %s: want %r, got %r" % (k, val, got)
    for k in ("AlarmEventLocationCategory", "AlarmEventRequestorReceiveDate",
              "DispatchRequestedDate", "PsapStatus"):
        assert find_key(j, k), "dispatch.json %s empty: %r" % (k, j)
    assert "silent duress by user 3" in str(find_key(j, "AlarmEventDetailsText"))
    assert "12 High Street" in json.dumps(find_key(j, "Location"))
    msp = find_key(j, "AlarmMonitoringServiceProvider")
    assert msp["name"] == STATION_NAME and msp["operator"] == "hank" and msp["receive_time"], msp
    conf = find_key(j, "AlarmConfirmation")
    assert conf["call_to_premises_result"] == "none", conf
    assert "+15550100" not in r.text, "the premises phone is in a duress's dispatch record"
    for k in ("PsapEventNumber", "PsapAcceptedDate", "PsapDispatchedDate", "PsapArrivedDate",
              "PsapClosedDate"):
        assert not find_key(j, k), "%s set before the PSAP said anything: %r" % (k, j)

    r = hank.get("/api/alarms/%d/dispatch.xml" % aid)
    assert r.status == 200 and "xml" in (r.header("Content-Type") or ""), r
    root = ET.fromstring(r.body)
    loc = {}
    for el in root.iter():
        loc.setdefault(el.tag.rsplit("}", 1)[-1].split(":")[-1], (el.text or "").strip())
    for k, val in (("AlarmEventCategory", "Holdup"), ("AlarmAudibleDescriptionCode", "Silent"),
                   ("AlarmEventCallToPremisesIndicator", "false")):
        assert loc.get(k) == val, "dispatch.xml %s: want %r, got %r" % (k, val, loc.get(k))
    assert "Alarm" in loc, "dispatch.xml has no (em:)Alarm element: %r" % sorted(loc)

    stamps = []
    for body, field in (({"status": "accepted", "event_number": "PD-0042"}, "PsapAcceptedDate"),
                        ({"status": "dispatched"}, "PsapDispatchedDate"),
                        ({"status": "arrived"}, "PsapArrivedDate")):
        d = detail_of(expect(hank.act(aid, "psap", body), 200, what="psap " + body["status"]), aid)
        assert d["dispatch_status"] == body["status"], d["dispatch_status"]
        j = expect(hank.get("/api/alarms/%d/dispatch.json" % aid), 200).json
        assert find_key(j, "PsapStatus") == body["status"], j
        stamps.append(find_key(j, field))
        assert stamps[-1], "%s not set: %r" % (field, j)
    assert stamps == sorted(stamps), "PSAP times not in order: %r" % stamps
    assert find_key(j, "PsapEventNumber") == "PD-0042", j

    expect(hank.act(aid, "close", {"disposition": "bogus"}), 400, what="unknown disposition")
    expect(hank.act(aid, "close", {}), 409, what="close without a disposition")
    d = detail_of(expect(hank.act(aid, "close", {"disposition": "real_emergency",
                                                 "note": "police on site"}), 200,
                         what="close"), aid)
    assert d["state"] == "closed" and d["disposition"] == "real_emergency" and d["closed_at"], d
    assert aid not in [int(x["id"]) for x in hank.alarms()], "closed alarm still in the queue"
    closed = [x for x in hank.alarms(all_=True) if int(x["id"]) == aid]
    assert closed and closed[0]["state"] == "closed", closed
    cli = cli_alarm_by_id(rig, aid)
    assert cli["state"] == "closed" and cli["disposition"] == "real_emergency", cli

    hist = d["history"]
    assert all(set(h) >= {"at", "operator", "action", "detail"} for h in hist), hist
    acts = " ".join(str(h["action"]) for h in hist if h["operator"] == "hank").lower()
    for w in ("take", "passcode", "dispatch", "psap", "close"):
        assert w in acts, "history lacks %r: %r" % (w, hist)
    results = json.dumps(hist)
    for w in ("normal", "duress", "no_match"):
        assert w in results, "passcode result %r not in history: %r" % (w, hist)
    for words in (VERBAL, DURESS_WORDS, WRONG_WORDS):
        assert words not in results, "passcode words in the alarm's history"
    # the words typed are never stored: not in the store's files at all
    for f in os.listdir(rig.st.dir):
        if f.startswith("store.db") and os.path.isfile(os.path.join(rig.st.dir, f)) \
                and not f.endswith(".ctl"):
            with open(os.path.join(rig.st.dir, f), "rb") as fh:
                blob = fh.read()
            for words in (VERBAL, DURESS_WORDS, WRONG_WORDS):
                assert words.encode() not in blob, "passcode words stored in %s" % f


def test_accounts_events_signals(ctx):
    rig = ctx.shared
    c = rig.client("elsa")
    r = expect(c.get("/api/accounts"), 200)
    assert "1234" in [x["number"] for x in r.json], r
    r = expect(c.get("/api/accounts/1234"), 200)
    assert r.json["number"] == "1234", r
    low = r.text.lower()
    assert "argon2" not in low and "passcode_hash" not in low, "account shows a passcode hash"
    rig.send("2001", "1401 01 003")
    r = expect(c.get("/api/events?account=2001&limit=5"), 200)
    assert r.json and all(e["account"] == "2001" for e in r.json) and len(r.json) <= 5, r
    v = vc.v
    v.expect_duh(rig.st.exchange(v.cid(77, "BADC0DE", "1130 01 001")), 77, "BADC0DE")
    r = expect(c.get("/api/signals"), 200)
    assert any(str(s.get("account")).upper() == "BADC0DE" for s in r.json), r


def test_unknown_signals_assigned_to_new_account(ctx):
    """A panel not yet registered: its duress is refused (DUH) and listed among
    the signals; a supervisor creates its account from the console (an operator
    may not), and its next frame is received."""
    rig = ctx.shared
    v = vc.v
    v.expect_duh(rig.st.exchange(v.cid(5, "c0ffee", "1121 01 002")), 5, "c0ffee")
    op = rig.client("olga")
    sup = rig.client("sven", role="supervisor")
    r = expect(op.get("/api/signals"), 200)
    sig = [x for x in r.json if str(x.get("account")).upper() == "C0FFEE"]
    assert sig and sig[0]["reason"] == "unknown_account", r
    al = rig.cli_alarm("C0FFEE", "unknown_account")
    assert al["priority"] == 1, al     # an unregistered panel's duress still shows as P1
    body = {"number": "c0ffee", "name": "New install, Elm St", "address": "9 Elm St"}
    expect(op.post("/api/accounts", body), 403, "supervisor", what="operator creates an account")
    expect(sup.post("/api/accounts", body, csrf="nope"), 403, what="account without CSRF")
    expect(sup.post("/api/accounts", {"number": "xyz", "name": "n"}), 400, what="bad number")
    expect(sup.post("/api/accounts", {"number": "C0FFEE"}), 400, what="no name")
    r = expect(sup.post("/api/accounts", body), 201, what="supervisor creates the account")
    assert r.json["number"] == "C0FFEE" and r.json["name"] == body["name"], r
    expect(sup.post("/api/accounts", body), 409, "exists", what="created twice")
    # the receiver takes the account on after that commit: its frames are ACKed
    deadline = time.monotonic() + 5
    while True:
        seq = rig.next_seq("C0FFEE") + 10
        raw = rig.st.exchange(v.cid(seq, "C0FFEE", "1401 01 002"))
        if b'"ACK"' in raw:
            v.expect_ack(raw, seq, "C0FFEE")
            break
        assert time.monotonic() < deadline, "new account's frame still refused: %r" % raw
        time.sleep(0.2)
    d = expect(sup.get("/api/alarms/%d" % al["id"]), 200).json
    assert any(h["action"] == "account_created" for h in d["history"]), d["history"]


# ---------------------------------------------------------------- live stream

def test_sse_live_and_resume(ctx):
    rig = ctx.shared
    sue = rig.client("sue")
    s1 = rig.stream(sue)
    try:
        assert s1.status == 200, "stream: %d %r" % (s1.status, s1.body[:200])
        assert s1.headers.get("content-type", "").startswith("text/event-stream"), s1.headers
        quiet = [e for e in s1.drain(0.8) if e["event"] == "alarm"]
        assert not quiet, "a stream without Last-Event-ID must start at the present: %r" % quiet
        aid = rig.raise_alarm("2101")
        ev = s1.next(lambda e: e["event"] == "alarm" and e["data"]
                     and int(e["data"]["id"]) == aid, timeout=5.0)
        assert ev is not None, "no `alarm` event for the new alarm %d in 5 s: %r" % (
            aid, s1.events[-5:])
        assert ev["id"] and ev["id"].isdigit(), "alarm event without a numeric id: %r" % ev
        last = int(ev["id"])
        assert ev["data"]["account"] == "2101" and ev["data"]["state"] == "new", ev
        assert int(ev["data"]["change"]) >= last, ev
    finally:
        s1.close()
    # missed while disconnected: a change of the first alarm, and a new alarm
    expect(sue.act(aid, "take"), 200)
    bid = rig.raise_alarm("2102")
    s2 = rig.stream(sue, last_event_id=last)
    try:
        assert s2.status == 200, s2.status
        got = [e for e in s2.drain(2.0) if e["event"] == "alarm"]
        ids = [int(e["data"]["id"]) for e in got]
        assert sorted(ids) == sorted([aid, bid]), \
            "resume after %d should send exactly alarms %d and %d once each, got %r" % (
                last, aid, bid, [(e["id"], e["data"]["id"]) for e in got])
        seqs = [int(e["id"]) for e in got]
        assert all(s > last for s in seqs) and seqs == sorted(seqs), seqs
        ea = [e for e in got if int(e["data"]["id"]) == aid][0]
        assert ea["data"]["taken_by"] == "sue" and ea["data"]["state"] == "taken", ea
        # and it is live from there on
        expect(sue.act(aid, "release"), 200)
        ev = s2.next(lambda e: e["event"] == "alarm" and int(e["data"]["id"]) == aid, 5.0)
        assert ev is not None and ev["data"]["taken_by"] is None and int(ev["id"]) > max(seqs), ev
    finally:
        s2.close()


def test_logout(ctx):
    rig = ctx.shared
    lou = rig.client("lou")
    s = rig.stream(lou)
    try:
        assert s.status == 200
        r = expect(lou.post("/api/logout", {}), 200, what="logout")
        assert r.json == {}, "logout answers {}: %r" % r
        assert s.closed.wait(5.0), "the session's stream stayed open after logout"
    finally:
        s.close()
    expect(lou.get("/api/session"), 401, what="session after logout")
    expect(lou.get("/api/alarms"), 401, what="alarms after logout")
    aid = rig.raise_alarm("2003")
    expect(lou.act(aid, "take"), 401, what="take after logout")
    old = lou.cookie
    expect(lou.login("lou", rig.ops["lou"]), 200)
    assert lou.cookie != old, "a new login reused the ended session's cookie"


# ---------------------------------------------------------------- own rigs

def test_stream_cap(ctx):
    with vc.Rig(ctx.args, config={"sse_clients_max": 2}, name="ccap") as rig:
        c = rig.client("sid")
        s = [rig.stream(c) for _ in range(2)]
        try:
            assert [x.status for x in s] == [200, 200], [x.status for x in s]
            s3 = rig.stream(c)
            assert s3.status == 503, "a 3rd stream over sse_clients_max 2: want 503, got %d" % (
                s3.status)
            err = json.loads(s3.body.decode() or "{}").get("error")
            assert isinstance(err, str) and err, "503 body not {\"error\": ...}: %r" % s3.body
            s[0].close()
            ok = None
            for _ in range(50):       # the server notices the closed stream (5 s)
                x = rig.stream(c)
                if x.status == 200:
                    ok = x
                    break
                x.close()
                time.sleep(0.1)
            assert ok is not None, "a stream closed by its client still holds its sse_clients_max slot 5 s later (measured: freed only after two 15 s keepalive writes, ~30 s)"
            ok.close()
        finally:
            for x in s:
                x.close()


def test_login_rate_limit(ctx):
    with vc.Rig(ctx.args, config={"login_attempts_per_min": 3}, name="crl") as rig:
        # per name: 3 failures for pat, then even the right password is 429
        pw = rig.operator("pat")
        for i in range(3):
            expect(rig.client().login("pat", "wrong-%d" % i), 401, what="failure %d" % (i + 1))
        expect(rig.client().login("pat", "wrong-3"), 429, what="4th failure in a minute")
        expect(rig.client().login("pat", pw), 429, what="right password after the limit")
        # per address (restart: the counters are the console's own)
        assert rig.stop_console() == 0
        rig.start_console()
        expect(rig.client().login("x1", "nope-1"), 401)
        expect(rig.client().login("x2", "nope-2"), 401)
        expect(rig.client().login("pat", pw), 200, what="good login under the limit")
        expect(rig.client().login("x3", "nope-3"), 401, what="3rd failure (a success between)")
        expect(rig.client().login("pat", pw), 429,
               what="address over the limit (a success does not reset its count)")
        expect(rig.client().login("x4", "nope-4"), 429, what="address over the limit, new name")


def test_take_lease_and_session_idle(ctx):
    """session_idle_s 30 (its minimum), take_lease_s 5 (its minimum). ~45 s."""
    cfg = {"session_idle_s": 30, "take_lease_s": 5}
    accts = [{"number": n} for n in ("4001", "4002", "4003")]
    with vc.Rig(ctx.args, config=cfg, accounts=accts, name="clease") as rig:
        ann, ben, cid = rig.client("ann"), rig.client("ben"), rig.client("cid")
        al = {n: rig.raise_alarm(n) for n in ("4001", "4002", "4003")}
        s = rig.stream(cid)
        try:
            assert s.status == 200
            expect(ann.act(al["4001"], "take"), 200)
            expect(ben.act(al["4002"], "take"), 200)
            expect(cid.act(al["4003"], "take"), 200)
            t0 = time.monotonic()
            expect(ben.post("/api/logout", {}), 200)
            released = {}
            # ann: idle from t0, a session lives 30 s; ben: logged out; cid: stream open
            for _ in range(200):
                el = time.monotonic() - t0
                for n in ("4001", "4002", "4003"):
                    a = cli_alarm_by_id(rig, al[n])
                    if a["taken_by"] is None and n not in released:
                        released[n] = el
                        assert a["state"] == "new", "a released alarm goes back to new: %r" % a
                if "4001" in released or el > 50:
                    break
                time.sleep(0.5)
            print("released after (s): %r" % {k: round(x, 1) for k, x in released.items()})
            assert "4002" in released and released["4002"] <= 5 + 5 + 3, \
                "logged-out operator's alarm: want back in the queue within take_lease_s + " \
                "5 s presence + 3 s, got %r" % released.get("4002")
            assert "4001" in released, "idle operator's alarm never released (50 s)"
            assert released["4001"] >= 25, \
                "released %.1f s after the last request: the session (session_idle_s 30) was " \
                "still present" % released["4001"]
            assert released["4001"] <= 30 + 5 + 5 + 4, released["4001"]
            assert "4003" not in released, "an operator with an open stream is present"
            assert cli_alarm_by_id(rig, al["4003"])["taken_by"] == "cid"
            expect(ann.get("/api/session"), 401, what="session idle past session_idle_s")
            assert not s.closed.is_set(), "the open stream of a present operator was closed"
        finally:
            s.close()


if __name__ == "__main__":
    vc.run_cases([
        test_no_session_is_401_everywhere,
        test_login_and_session,
        test_csrf_required_on_every_action,
        test_roles,
        test_bad_input_is_400,
        test_not_found_and_method,
        test_conflicts_409,
        test_duress_happy_path,
        test_accounts_events_signals,
        test_unknown_signals_assigned_to_new_account,
        test_sse_live_and_resume,
        test_logout,
        test_login_rate_limit,
        test_stream_cap,
        test_take_lease_and_session_idle,
    ], setup=shared_rig)
