#!/usr/bin/python3
"""vigil-console review findings (each a defect once): the login limiter under
concurrent attempts, an operator disabled while a live stream is open, and the
dispatch XML with characters XML 1.0 cannot carry."""
import threading
import time
import xml.etree.ElementTree as ET

import vconsole as vc
from vconsole import expect


def rig_for(args):
    rig = vc.Rig(args, accounts=[{"number": "7001"}], name="crev")
    rig.start()
    return rig


def test_login_limit_holds_under_concurrency(ctx):
    """login_attempts_per_min 3: twenty wrong passwords sent at once for one name
    must not give twenty guesses (the check and the count must be one step)."""
    with vc.Rig(ctx.args, config={"login_attempts_per_min": 3}, name="crlc") as rig:
        concurrent_guesses(rig)


def concurrent_guesses(rig):
    rig.operator("quinn")
    codes = []
    lock = threading.Lock()

    def one(i):
        r = rig.client().login("quinn", "guess-%d" % i)
        with lock:
            codes.append(r.status)

    ts = [threading.Thread(target=one, args=(i,)) for i in range(20)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert len(codes) == 20, codes
    assert codes.count(401) <= 3 and codes.count(429) == 20 - codes.count(401), \
        "20 concurrent guesses with login_attempts_per_min 3: %d checked (401), codes %r" % (
            codes.count(401), sorted(codes))


def test_disabled_operator_stream_ends(ctx):
    """`vigil operator disable` ends the operator's sessions: an open live stream
    (which makes no request) must close too, not keep feeding alarms to someone
    who was just locked out and keep them 'present' for the take lease."""
    rig = ctx.shared
    c = rig.client("ruth")
    s = rig.stream(c)
    try:
        assert s.status == 200, s.status
        rig.st.vigil("operator", "disable", "ruth")
        assert s.closed.wait(12.0), \
            "a disabled operator's live stream was still open 12 s after `operator disable`"
    finally:
        s.close()
    expect(c.get("/api/session"), 401, what="the disabled operator's session")


def test_dispatch_xml_is_well_formed(ctx):
    """Details with U+FFFE / U+FFFF (not XML 1.0 characters) still give a
    well-formed em:Alarm document: such characters are dropped."""
    rig = ctx.shared
    sam = rig.client("sam")
    aid = rig.raise_alarm("7001")
    expect(sam.act(aid, "take"), 200, what="take")
    expect(sam.act(aid, "dispatch", {"details": "a\uffffb\ufffec <&> done"}), 200,
           what="dispatch")
    r = sam.get("/api/alarms/%d/dispatch.xml" % aid)
    assert r.status == 200, r
    try:
        root = ET.fromstring(r.body)
    except ET.ParseError as e:
        raise AssertionError("dispatch.xml is not well-formed XML (%s): %r" % (e, r.body[:400]))
    ns = "{http://release.niem.gov/niem/domains/emergencyManagement/4.0/}"
    det = root.find(ns + "AlarmEventDetailsText")
    assert det is not None and det.text == "abc <&> done", det is not None and det.text


if __name__ == "__main__":
    vc.run_cases([
        test_login_limit_holds_under_concurrency,
        test_disabled_operator_stream_ends,
        test_dispatch_xml_is_well_formed,
    ], setup=rig_for)
