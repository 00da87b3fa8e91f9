#!/usr/bin/python3
"""Metrics (issue 17): vigil-station's metrics_listen endpoint, scraped over
HTTP and parsed strictly (promtext.py: HELP and TYPE for every sample, valid
names, vigil_ prefix, _total counters, cumulative histogram). Then a known
mix of traffic — events, polls, a duplicate, a duress, an unknown account, a
stale timestamp, an unreadable header, a CRC error, a supervised account
falling silent, a backup — and every counter must move by exactly what was
sent: frames by id and verdict, replies by kind, duress, supervision
failures, events stored, commits, the open P1 alarm and its age, open
connections, the last backup's time. Also: 404 elsewhere, the ready file's
metrics line, a station without metrics_listen serves nothing."""
import http.client
import os
import re
import socket
import time

import promtext
import vstation as v


def metrics_addr(st):
    for line in open(st.ready).read().split("\n"):
        if line.startswith("metrics "):
            host, port = line[8:].rsplit(":", 1)
            return host, int(port)
    raise AssertionError("ready file has no 'metrics HOST:PORT' line:\n" + open(st.ready).read())


def scrape(addr, path="/metrics"):
    c = http.client.HTTPConnection(addr[0], addr[1], timeout=5)
    try:
        c.request("GET", path)
        r = c.getresponse()
        body = r.read().decode("utf-8")
        return r.status, r.getheader("Content-Type"), body
    finally:
        c.close()


def samples(addr):
    status, ctype, body = scrape(addr)
    assert status == 200, "GET /metrics: %d %s" % (status, body[:300])
    assert ctype == "text/plain; version=0.0.4; charset=utf-8", "Content-Type %r" % ctype
    return promtext.parse(body)


FR = "vigil_station_frames_received_total"


def frames(s, ident, verdict):
    return promtext.get(s, FR, id=ident, verdict=verdict)


def wait_for(addr, pred, what, timeout=6.0):
    """The counters are published once a second: scrape until pred holds."""
    deadline = time.monotonic() + timeout
    s = samples(addr)
    while not pred(s):
        assert time.monotonic() < deadline, "%s: not seen within %.0f s" % (what, timeout)
        time.sleep(0.2)
        s = samples(addr)
    return s


def test_metrics_move_with_traffic(args):
    cfg = {"metrics_listen": "127.0.0.1:0", "supervision_grace_s": 0, "supervision_check_s": 1,
           "escalate_after_s": 3600}
    accts = [{"number": "1234"}, {"number": "5678"}, {"number": "7001", "supervision_s": 1}]
    with v.running(args, accts, config=cfg) as st:
        addr = metrics_addr(st)
        assert addr[0] == "127.0.0.1" and addr[1] > 0, addr
        status, _, body = scrape(addr, "/other")
        assert status == 404, "GET /other: %d" % status
        s0 = samples(addr)
        # the families the issue names are all there
        for name in (FR, "vigil_station_replies_total", "vigil_station_duress_received_total",
                     "vigil_station_supervision_failures_total",
                     "vigil_station_commit_duration_seconds_count",
                     "vigil_station_batch_items_count", "vigil_station_connections_open",
                     "vigil_store_size_bytes", "vigil_store_last_backup_timestamp_seconds",
                     "vigil_alarm_oldest_untaken_priority1_age_seconds"):
            assert any(k[0] == name for k in s0), "no %s in the scrape" % name
        assert promtext.get(s0, "vigil_store_up") == 1
        assert promtext.get(s0, "vigil_store_size_bytes") > 0
        assert promtext.get(s0, "vigil_store_last_backup_timestamp_seconds") == 0
        p1_new0 = promtext.get(s0, "vigil_alarms_open", priority="1", state="new")

        # supervised 7001 speaks once, then falls silent (after 1 s + grace 0: failure)
        c1 = st.conn()
        c1.send(v.null(1, "7001"))
        v.expect_ack(c1.recv_frame(), 1, "7001")
        # traffic on two connections, kept open
        c2 = st.conn()
        for i in range(5):       # ADM-CID openings/closings: stored, no alarm
            c1.send(v.cid(10 + i, "1234", "1401 01 00%d" % (i + 1)))
            v.expect_ack(c1.recv_frame(), 10 + i, "1234")
        for i in range(2):
            c2.send(v.sia(20 + i, "5678", "Nri1/OP001"))
            v.expect_ack(c2.recv_frame(), 20 + i, "5678")
        for i in range(3):
            c2.send(v.null(30 + i, "5678"))
            v.expect_ack(c2.recv_frame(), 30 + i, "5678")
        dup = v.cid(40, "1234", "1401 01 009")
        c1.send(dup)
        v.expect_ack(c1.recv_frame(), 40, "1234")
        c1.send(dup)                                     # the panel's retry
        v.expect_ack(c1.recv_frame(), 40, "1234")
        c1.send(v.cid(41, "1234", "1121 01 003"))        # duress
        v.expect_ack(c1.recv_frame(), 41, "1234")
        c2.send(v.cid(50, "9999", "1401 01 001"))        # unknown account
        v.expect_duh(c2.recv_frame(), 50, "9999")
        c2.send(v.cid(51, "5678", "1401 01 001", ts=time.time() - 3600))   # stale: NAK
        v.expect_nak(c2.recv_frame())
        c2.send(b"\nXYZW0010\"garbage0001\"\r")          # unreadable header: silence
        bad = bytearray(v.cid(52, "5678", "1401 01 001"))
        bad[1:5] = b"0000" if bad[1:5] != b"0000" else b"FFFF"
        c2.send(bytes(bad))                              # CRC error: silence
        c2.expect_silence(0.5)

        s1 = wait_for(addr, lambda s: frames(s, "ADM-CID", "crc_error") >
                      frames(s0, "ADM-CID", "crc_error"), "the CRC error in the counters")

        def d(name, **lab):
            return promtext.get(s1, name, **lab) - promtext.get(s0, name, **lab)

        want = {("ADM-CID", "ack"): 5 + 1 + 1, ("SIA-DCS", "ack"): 2, ("NULL", "ack"): 3 + 1,
                ("ADM-CID", "duplicate"): 1, ("ADM-CID", "duh"): 1, ("ADM-CID", "nak"): 1,
                ("unknown", "unreadable"): 1, ("ADM-CID", "crc_error"): 1}
        for k in s1:
            if k[0] != FR:
                continue
            lab = dict(k[1])
            got = d(FR, **lab)
            exp = want.get((lab["id"], lab["verdict"]), 0)
            assert got == exp, "frames id=%s verdict=%s moved by %s, sent %d" % (
                lab["id"], lab["verdict"], got, exp)
        assert d("vigil_station_replies_total", kind="ack") == 5 + 2 + 3 + 2 + 1 + 1, \
            d("vigil_station_replies_total", kind="ack")
        assert d("vigil_station_replies_total", kind="nak") == 1
        assert d("vigil_station_replies_total", kind="duh") == 1
        assert d("vigil_station_duress_received_total") == 1
        assert d("vigil_station_events_stored_total") == 5 + 2 + 1 + 1, \
            d("vigil_station_events_stored_total")
        ncommits = d("vigil_station_commit_duration_seconds_count")
        assert ncommits >= 1, "no commit counted"
        assert d("vigil_station_batch_items_count") == ncommits
        assert d("vigil_station_batch_items_sum") >= 5 + 2 + 3 + 1 + 1, \
            d("vigil_station_batch_items_sum")
        assert d("vigil_station_commit_duration_seconds_sum") > 0
        assert promtext.get(s1, "vigil_station_connections_open") == 2
        # the store's side: the duress is an open, untaken priority-1 alarm
        s2 = wait_for(addr, lambda s: promtext.get(s, "vigil_alarms_open", priority="1",
                                                   state="new") == p1_new0 + 1,
                      "the duress alarm in vigil_alarms_open")
        # the readable log: one line, stable keys after the message (docs/station.md)
        log = st.wait_log(r"^warn rx: account 1234: duress .* seq=0041$", flags=re.M)
        assert re.search(r"^warn alarm: alarm (\d+) opened: priority 1 duress account 1234 "
                         r"alarm=\1 account=1234 kind=duress priority=1 event=raised$", log,
                         re.M), "no keyed line for the duress alarm:\n" + log[-2000:]
        assert re.search(r"^warn rx: account 1234: duress \(priority 1\) received "
                         r"account=1234 kind=duress priority=1 seq=0041$", log, re.M), log[-2000:]
        time.sleep(1.2)
        s3 = samples(addr)
        age = promtext.get(s3, "vigil_alarm_oldest_untaken_priority1_age_seconds")
        assert 1.0 <= age < 60, "oldest untaken P1 age %s s" % age

        # supervision: 7001 silent past 1 s + 0 grace
        s4 = wait_for(addr, lambda s: promtext.get(s, "vigil_station_supervision_failures_total")
                      == promtext.get(s0, "vigil_station_supervision_failures_total") + 1,
                      "the supervision failure of 7001", timeout=10)
        c1.close()
        c2.close()
        wait_for(addr, lambda s: promtext.get(s, "vigil_station_connections_open") == 0,
                 "connections_open back to 0")

        # a backup: its time in vigil_store_last_backup_timestamp_seconds
        # (`vigil backup` is SQLite's; a PostgreSQL store is backed up with
        # pg_basebackup / pg_dump, docs/backup.md)
        if not st.pgdb:
            t0 = int(time.time())
            st.vigil("backup", os.path.join(st.dir, "backup.db"))
            t1 = int(time.time()) + 1
            s5 = wait_for(addr, lambda s: promtext.get(
                s, "vigil_store_last_backup_timestamp_seconds") > 0, "the backup's time")
            got = promtext.get(s5, "vigil_store_last_backup_timestamp_seconds")
            assert t0 <= got <= t1, "last backup %s, ran between %d and %d" % (got, t0, t1)
        assert s4 is not None
        rc = st.stop()
        assert rc == 0, "vigil-station exited %s" % rc


def test_no_metrics_listen(args):
    """Unset (the default): no endpoint, no metrics line in the ready file."""
    with v.running(args, [{"number": "1234"}]) as st:
        text = open(st.ready).read()
        assert "metrics" not in text, "a metrics line without metrics_listen: %r" % text
        assert "listening metrics" not in st.log_text()


def test_metrics_listen_refused(args):
    """A bad metrics_listen is refused by --test-config, naming the key."""
    st = v.Station(args, config={"metrics_listen": "127.0.0.1:99999"}, name="mbad")
    try:
        import subprocess
        p = subprocess.run([args.station, "-c", st.conf, "--test-config"], capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 2 and "metrics_listen" in p.stderr, (p.returncode, p.stderr)
        # the port taken: the station does not start, and says why
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        st.cfg["metrics_listen"] = "127.0.0.1:%d" % busy.getsockname()[1]
        st._write_config()
        st.vigil("account", "add", "1234", "--name", "x", "--address", "y")
        p = subprocess.run([args.station, "-c", st.conf], capture_output=True, text=True,
                           timeout=30)
        busy.close()
        assert p.returncode != 0 and "metrics_listen" in p.stderr, (p.returncode, p.stderr)
    finally:
        st.cleanup()


if __name__ == "__main__":
    v.run_cases([test_metrics_move_with_traffic, test_no_metrics_listen,
                 test_metrics_listen_refused])
