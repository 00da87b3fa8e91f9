#!/usr/bin/python3
"""Reply rules of vigil-station over TCP, checked byte for byte, and what reaches
the store: ACK (with and without R), NULL polls, DUH (unknown account,
unparseable payload), silence on CRC/length errors, NAK on a bad timestamp,
duress alarms and queue order, the JSON of events/alarms, startup contract
(ready file, listening log line), --test-config, SIGHUP, account pickup.

Frames are built by vstation.py (independent of the project's encoder)."""
import os
import re
import signal
import subprocess
import json
import time

import vstation as v

KEY = "0123456789ABCDEF"  # AES-128 as ASCII


def test_startup_contract(args):
    with v.running(args) as st:
        log = st.log_text()
        m = re.search(r"info main: listening tcp 127\.0\.0\.1:(\d+) udp 127\.0\.0\.1:(\d+)", log)
        assert m, "no 'info main: listening tcp HOST:PORT udp HOST:PORT' line:\n" + log
        assert int(m.group(1)) == st.tcp[1] and int(m.group(2)) == st.udp[1], \
            "log line ports %s differ from ready file %s %s" % (m.groups(), st.tcp, st.udp)


def test_test_config(args):
    st = v.Station(args, name="testcfg")
    try:
        p = subprocess.run([args.station, "-c", st.conf, "--test-config"],
                           capture_output=True, text=True, timeout=20)
        assert p.returncode == 0, "--test-config on a valid config exited %d: %s" % (
            p.returncode, p.stderr)
        bad = os.path.join(st.dir, "bad.conf")
        with open(bad, "w") as f:
            f.write("# comment\nstore sqlite:%s\nno_such_key_xyz 5\n" % st.store)
        p = subprocess.run([args.station, "-c", bad, "--test-config"],
                           capture_output=True, text=True, timeout=20)
        out = p.stdout + p.stderr
        assert p.returncode != 0, "--test-config accepted an unknown key"
        assert "no_such_key_xyz" in out and "3" in out, \
            "--test-config error must name the key and line 3: %r" % out
        with open(bad, "w") as f:
            f.write("store sqlite:%s\nframe_bytes_max banana\n" % st.store)
        p = subprocess.run([args.station, "-c", bad, "--test-config"],
                           capture_output=True, text=True, timeout=20)
        out = p.stdout + p.stderr
        assert p.returncode != 0 and "frame_bytes_max" in out and "2" in out, \
            "--test-config must refuse a non-number naming key and line 2: rc %d %r" % (
                p.returncode, out)
        assert not os.path.exists(st.ready), "--test-config must not start listening"
        # an existing key store the daemon could not use is a configuration error
        ks = os.path.join(st.dir, "bad.keys")
        with open(ks, "w") as f:
            f.write("vigil-key-store 1\n" + "ab" * 32 + "\n")
        os.chmod(ks, 0o644)
        with open(bad, "w") as f:
            f.write("dc09_listen 127.0.0.1:0\nstore sqlite:%s\nkey_store_file %s\n" % (st.store, ks))
        p = subprocess.run([args.station, "-c", bad, "--test-config"],
                           capture_output=True, text=True, timeout=20)
        assert p.returncode == 2 and "chmod 600" in p.stderr, \
            "--test-config must refuse a key store open to others: rc %d %r" % (
                p.returncode, p.stderr)
        os.chmod(ks, 0o600)
        p = subprocess.run([args.station, "-c", bad, "--test-config"],
                           capture_output=True, text=True, timeout=20)
        assert p.returncode == 0, "--test-config with a good key store: %r" % p.stderr
    finally:
        st.cleanup()


def test_ack_clear(args):
    with v.running(args, [{"number": "1234"}, {"number": "00A1B2"}]) as st:
        c = st.conn()
        # With R token.
        c.send(v.cid(1, "1234", "1130 01 015"))
        v.expect_ack(c.recv_frame(), 1, "1234")
        # Without R token: the ACK must not invent one.
        c.send(v.cid(2, "1234", "3401 01 002", receiver=None))
        v.expect_ack(c.recv_frame(), 2, "1234", receiver=None)
        # Non-trivial R and L are echoed.
        c.send(v.cid(3, "1234", "1401 01 002", receiver="5A", line="7F"))
        v.expect_ack(c.recv_frame(), 3, "1234", receiver="5A", line="7F")
        # SIA-DCS, no timestamp at all (optional in clear).
        c.send(v.sia(4, "00A1B2", "Nri1/BA003", ts=None))
        v.expect_ack(c.recv_frame(), 4, "00A1B2")
        # Sequence 9999 and 0001 (wrap).
        c.send(v.cid(9999, "1234", "1602 00 000"))
        v.expect_ack(c.recv_frame(), 9999, "1234")
        c.close()
        ev = st.events("1234")
        keys = v.event_keys(ev)
        for s in (1, 2, 3, 9999):
            assert ("1234", s) in keys, "ACKed (1234,%d) not in events: %r" % (s, keys)
        e1 = [e for e in ev if int(e["seq"]) == 1][0]
        for field in ("id", "account", "received_at", "seq", "id_token", "encrypted", "raw"):
            assert field in e1, "events --json object lacks %r: %r" % (field, e1)
        assert "cid" in e1, "ADM-CID event lacks cid: %r" % e1
        assert e1["id_token"] in ("ADM-CID", '"ADM-CID"'), e1
        assert e1["encrypted"] is False, e1
        assert v.iso_ms_utc(e1["received_at"]), "received_at not ISO 8601 UTC with ms: %r" % e1
        assert '"ADM-CID"0001R0L0#1234[#1234|1130 01 015]' in e1["raw"], \
            "raw does not keep the frame: %r" % e1["raw"]
        cd = e1["cid"]
        assert (int(cd["qualifier"]), int(cd["event"]), int(cd["partition"]), int(cd["zone"])) \
            == (1, 130, 1, 15), "cid fields wrong: %r" % cd
        ev2 = st.events("00A1B2")
        assert ("00A1B2", 4) in v.event_keys(ev2) and "sia" in ev2[0], ev2
        # --account filters.
        assert all(str(e["account"]).upper() == "1234" for e in ev), ev


def test_null_poll(args):
    with v.running(args, [{"number": "5678"}]) as st:
        c = st.conn()
        c.send(v.null(0, "5678"))
        v.expect_ack(c.recv_frame(), 0, "5678")
        c.send(v.null(0, "5678", data="#0000|0000 00 000"))  # Hikvision-style clear NULL
        v.expect_ack(c.recv_frame(), 0, "5678")
        c.close()
        ev = st.events("5678")
        assert not [e for e in ev if "NULL" in str(e.get("id_token"))], \
            "NULL polls must only update last-seen, not be stored as events: %r" % ev


def test_silence_on_crc_and_length(args):
    with v.running(args, [{"number": "1234"}]) as st:
        c = st.conn()
        good = v.cid(7, "1234", "1130 01 015")
        bad_crc = good[:1] + (b"0000" if good[1:5] != b"0000" else b"1111") + good[5:]
        c.send(bad_crc)
        c.expect_silence(1.0)
        bad_len = good[:5] + b"0%03X" % (len(good) - 10 + 1) + good[9:]
        c.send(bad_len)
        c.expect_silence(1.0)
        # The connection must still serve the next good frame.
        c.send(good)
        v.expect_ack(c.recv_frame(), 7, "1234")
        c.close()
        keys = v.event_keys(st.events("1234"))
        assert keys == {("1234", 7)}, "only the good frame may be stored: %r" % keys


def test_duh_unknown_account(args):
    with v.running(args, [{"number": "1234"}]) as st:
        r = st.exchange(v.cid(11, "BEEF", "1130 01 015"))
        v.expect_duh(r, 11, "BEEF")
        r = st.exchange(v.cid(12, "BEEF", "1130 01 015", receiver=None))
        v.expect_duh(r, 12, "BEEF", receiver=None)
        # Encrypted from an unknown account: DUH too (no key to decrypt).
        r = st.exchange(v.cid(13, "BEEE", "1130 01 015", key=KEY.encode()))
        v.expect_duh(r, 13, "BEEE")
        log = st.wait_log("BEEF")
        assert "BEEF" in log, "unknown account's signal must be logged"
        # Kept and listed for operators: it shows in what operators list (alarms or events).
        import json
        sig = json.loads(st.vigil("signals", "--json").stdout)
        listed = [a for a in st.alarms() if str(a["account"]).upper() == "BEEF"] + \
                 [x for x in sig if str(x["account"]).upper() == "BEEF"]
        assert listed, "an unknown account's signal must be listed for operators " \
                       "(vigil alarms/signals --json show nothing for BEEF)"
        assert KEY not in log, "a key appeared in the log"


def test_unknown_account_duress_own_alarm(args):
    """An unregistered panel's readable duress is DUHed like its other signals, but it
    opens its own priority-1 alarm: it never disappears into the panel's open
    priority-4 unknown_account alarm, and that panel's routine signals never join it."""
    with v.running(args, [{"number": "1234"}]) as st:
        for seq, payload in ((41, "1130 01 015"), (42, "1121 01 003"), (43, "1130 01 016")):
            v.expect_duh(st.exchange(v.cid(seq, "BEE1", payload)), seq, "BEE1")
        alarms = [a for a in st.alarms() if str(a["account"]).upper() == "BEE1"]
        by_prio = {}
        for a in alarms:
            by_prio.setdefault(a["priority"], []).append(a)
        assert sorted(by_prio) == [1, 4] and all(len(x) == 1 for x in by_prio.values()), \
            "want one priority-1 and one priority-4 alarm for BEE1, got %r" % alarms
        duress, routine = by_prio[1][0], by_prio[4][0]
        assert duress["event_count"] == 1, "a routine signal joined the duress alarm: %r" % duress
        assert "121" in json.dumps(duress["cid"]), "the priority-1 alarm is not the 1121: %r" % duress
        assert routine["event_count"] == 2, "the routine signals did not stay together: %r" % routine
        assert alarms.index(duress) < alarms.index(routine), \
            "the duress is not ahead of the routine alarm in queue order"
        assert "priority 1" in st.wait_log("priority 1"), "the duress alarm was not logged at priority 1"


def test_event_after_restore_opens_new_alarm(args):
    """A duress restored (3121) and then a new duress: the new one opens its own alarm,
    not an event_count+1 on an alarm that reads "restored"."""
    with v.running(args, [{"number": "1234"}]) as st:
        for seq, payload in ((51, "1121 01 003"), (52, "3121 01 003"), (53, "1121 01 005")):
            v.expect_ack(st.exchange(v.cid(seq, "1234", payload)), seq, "1234")
        duress = [a for a in st.alarms() if a["account"] == "1234" and a["priority"] == 1]
        assert len(duress) == 2, "want the restored duress alarm and a new one: %r" % duress
        old, new = sorted(duress, key=lambda a: a["id"])
        assert old["restored"] and old["event_count"] == 1, old
        assert not new["restored"] and new["event_count"] == 1, new
        assert new["user"] == 5 or new["zone"] == 5 or "5" in json.dumps(new["cid"]), new


def test_duh_unparseable_payload(args):
    with v.running(args, [{"number": "1234"}]) as st:
        r = st.exchange(v.cid(21, "1234", "XYZ garbage"))
        v.expect_duh(r, 21, "1234")
        # The AlphaVision "|0|NRP" layout from the vectors: DUH (as pysiaalarm).
        body = b'"SIA-DCS"0014L0#0001[#0001|0|NRP]'
        st.add_account("0001")
        time.sleep(v.ACCOUNT_PICKUP_S)
        r = st.exchange(v.wrap(body))
        v.expect_duh(r, 14, "0001", receiver=None)


def test_nak_time_window(args):
    key = KEY.encode()
    with v.running(args, [{"number": "1234", "key": KEY}]) as st:
        c = st.conn()
        for label, t in (("past 45 s", time.time() - 45), ("future 25 s", time.time() + 25),
                         ("past 1 day", time.time() - 86400)):
            c.send(v.cid(31, "1234", "1130 01 015", key=key, ts=t))
            try:
                v.expect_nak(c.recv_frame())
            except AssertionError as e:
                raise AssertionError("%s: %s" % (label, e))
        # Inside the window (30 s past, 15 s future): accepted.
        c.send(v.cid(32, "1234", "1130 01 015", key=key, ts=time.time() - 30))
        v.expect_ack(c.recv_frame(), 32, "1234", key=key)
        c.send(v.cid(33, "1234", "1130 01 016", key=key, ts=time.time() + 15))
        v.expect_ack(c.recv_frame(), 33, "1234", key=key)
        c.close()
        keys = v.event_keys(st.events("1234"))
        assert ("1234", 31) not in keys, "a NAKed frame was stored"
        assert {("1234", 32), ("1234", 33)} <= keys, keys


def test_duress_alarms_and_order(args):
    with v.running(args, [{"number": "1234"}, {"number": "2345"}, {"number": "3456"}]) as st:
        c = st.conn()
        c.send(v.cid(1, "2345", "1130 02 007"))   # burglary: priority 4
        v.expect_ack(c.recv_frame(), 1, "2345")
        c.send(v.cid(2, "2345", "1401 01 002"))   # opening: no alarm
        v.expect_ack(c.recv_frame(), 2, "2345")
        time.sleep(0.05)
        c.send(v.cid(3, "1234", "1121 01 003"))   # duress by user 3, partition 1
        v.expect_ack(c.recv_frame(), 3, "1234")
        c.send(v.sia(4, "3456", "Nri1/HA003"))    # SIA HA: duress/hold-up
        v.expect_ack(c.recv_frame(), 4, "3456")
        c.close()
        al = st.alarms()
        for a in al:
            for field in ("id", "account", "priority", "state", "kind", "partition", "zone",
                          "user", "received_at", "taken_by"):
                assert field in a, "alarm lacks %r: %r" % (field, a)
            assert "cid" in a or "sia" in a, a
            assert v.iso_ms_utc(a["received_at"]), "received_at not ISO 8601 ms UTC: %r" % a
        by_acct = {}
        for a in al:
            by_acct.setdefault(str(a["account"]).upper(), []).append(a)
        d = by_acct.get("1234")
        assert d and len(d) == 1, "duress must raise exactly one alarm: %r" % al
        d = d[0]
        assert d["kind"] == "duress" and int(d["priority"]) == 1 and d["state"] == "new", d
        cd = d["cid"]
        assert (int(cd["qualifier"]), int(cd["event"]), int(cd["partition"]), int(cd["zone"])) \
            == (1, 121, 1, 3), d
        assert int(d["partition"]) == 1 and d["taken_by"] in (None, ""), d
        assert d["user"] is not None and int(d["user"]) == 3, \
            "CID 121's ZZZ is the user under duress (3): %r" % d
        h = by_acct.get("3456")
        assert h and h[0]["kind"] == "duress" and int(h[0]["priority"]) == 1, \
            "SIA HA must be a priority-1 duress alarm: %r" % al
        b = by_acct.get("2345")
        assert b and len(b) == 1 and int(b[0]["priority"]) == 4, \
            "burglary = one priority-4 alarm, opening = none: %r" % al
        # Queue order: priority asc, then oldest first.
        prios = [int(a["priority"]) for a in al]
        assert prios == sorted(prios), "alarms not in priority order: %r" % prios
        assert str(al[0]["account"]).upper() == "1234" and str(al[1]["account"]).upper() == "3456", \
            "the older duress comes first: %r" % [(a["account"], a["priority"]) for a in al]
        assert str(al[-1]["account"]).upper() == "2345"


def test_account_pickup_and_sighup(args):
    with v.running(args) as st:
        r = st.exchange(v.cid(41, "ABCD", "1130 01 015"))
        v.expect_duh(r, 41, "ABCD")
        st.add_account("ABCD")
        deadline = time.monotonic() + 5
        seq = 42
        while True:
            r = st.exchange(v.cid(seq, "ABCD", "1130 01 015"))
            if v.Reply(r).token == "ACK":
                v.expect_ack(r, seq, "ABCD")
                break
            assert time.monotonic() < deadline, "new account not picked up within 5 s"
            seq += 1
            time.sleep(0.2)
        st.vigil("account", "remove", "ABCD")
        deadline = time.monotonic() + 5
        while True:
            seq += 1
            r = st.exchange(v.cid(seq, "ABCD", "1130 01 015"))
            if v.Reply(r).token == "DUH":
                break
            assert time.monotonic() < deadline, "removed account still ACKed after 5 s"
            time.sleep(0.2)
        st.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        assert st.alive(), "SIGHUP killed the daemon"
        st.add_account("ABCE")
        time.sleep(v.ACCOUNT_PICKUP_S)
        v.expect_ack(st.exchange(v.cid(77, "ABCE", "1130 01 015")), 77, "ABCE")


if __name__ == "__main__":
    v.run_cases([test_startup_contract, test_test_config, test_ack_clear, test_null_poll,
                 test_silence_on_crc_and_length, test_duh_unknown_account,
                 test_unknown_account_duress_own_alarm, test_event_after_restore_opens_new_alarm,
                 test_duh_unparseable_payload, test_nak_time_window,
                 test_duress_alarms_and_order, test_account_pickup_and_sighup])
