#!/usr/bin/python3
"""End to end, delivery: the station down then up (in order, none twice), the
primary down (backup used), a power cut with events queued (delivered after
restart), NAK clock correction, and forged ACKs (wrong peer, stale, wrong
sequence) ignored. Deliveries are checked in the station's store; the forged
ACK case uses a loopback fake receiver built from vstation.py's independent
DC-09/AES code."""
import re
import socket
import time

import e2e
from e2e import DURESS, MASTER, Both, Panel
from e2e import v


def stored_cids(st):
    ev = sorted(st.events("1234"), key=lambda e: e["id"])
    return [(e2e.cid_of(e), int(e["seq"])) for e in ev if e.get("cid")]


def test_station_down_then_up(args, work):
    port = e2e.free_port()
    st = e2e.station(args, port=port)
    p = Panel(args, work, port)
    with Both(st, p):
        e2e.setup_users(p)
        p.cmd("keys %s#" % MASTER, "wait 61s")          # closing, delivered
        p.wait_for(r'^queue delivered cid="3441')
        st.stop()
        # while the station is down: opening, closing, then a duress disarm
        p.cmd("keys %s#" % MASTER, "keys %s#" % MASTER, "wait 61s", "keys %s#" % DURESS,
              "wait 2s")
        p.barrier(timeout=60)
        st.start()
        p.wait_for(r'^queue delivered .*\(0 left\)', timeout=30,
                   since=max(0, len(p.lines) - 1))
        p.cmd("wait 1s")
        p.barrier()
        got = stored_cids(st)
        seqs = [s for _, s in got]
        assert len(seqs) == len(set(seqs)), "an event stored twice: %r" % got
        kinds = [(c[0], c[1]) for c, _ in got]
        assert (1, 121) in kinds, got
        routine = [k for k in kinds if k[1] not in (121, 350)]   # 350: the path's trouble
        assert routine == [(3, 441), (1, 401), (3, 441), (1, 401)], \
            "routine events out of order or missing: %r" % got
        # the duress went ahead of the routine events queued before it
        assert kinds.index((1, 121)) <= 3, got
        assert p.finish() == 0


def test_primary_down_backup_used(args, work):
    st = e2e.station(args)
    dead = e2e.free_port()                               # nothing listens there
    p = Panel(args, work, dead, backup=st.tcp[1])
    with Both(st, p):
        e2e.setup_users(p)
        p.cmd("keys %s#" % DURESS)
        a = e2e.wait_alarms(st, e2e.is_duress, timeout=15)
        assert a[0]["user"] == 1, a
        p.wait_for(r"^net primary 1234 path failed")
        p.wait_for(r'^rx backup 1234 ack seq=\d+ cid="1121 01 001"')
        # the path failure itself is reported (CID 350, zone 1 = primary path)
        e2e.wait_events(st, lambda e: e2e.cid_of(e) == (1, 350, 0, 1), timeout=15)
        assert p.finish() == 0


def test_power_cut_with_events_queued(args, work):
    st = e2e.station(args)
    p = Panel(args, work, st.tcp[1])
    with Both(st, p) as b:
        e2e.setup_users(p)
        # the two programming reports (core events, SIA YG) go first
        p.wait_for(r'^queue delivered sia="YG" .*\(0 left\)')
        p.cmd("network down", "keys %s#" % DURESS, "wait 61s")
        line = p.barrier()
        assert re.search(r" 2 events", line), line          # duress + closing queued
        p.cmd("power-cut")
        assert p.proc.wait(timeout=10) == 0
        assert not [a for a in st.alarms() if e2e.is_duress(a)]
        q = b.add(Panel(args, work, st.tcp[1]))             # same state file, power back
        e2e.wait_alarms(st, e2e.is_duress, timeout=15)
        q.wait_for(r'^queue delivered .*\(0 left\)', timeout=15)
        got = stored_cids(st)
        kinds = [(c[0], c[1]) for c, _ in got]
        assert kinds == [(1, 121), (3, 441)], "duress first, then the closing: %r" % got
        # Power cut again right after delivery: the ACKed removals may not be on
        # storage yet, so the events go again — same sequence, same payload —
        # and the station stores each once.
        q.cmd("power-cut")
        assert q.proc.wait(timeout=10) == 0
        r = b.add(Panel(args, work, st.tcp[1]))
        r.cmd("wait 2s")
        r.barrier()
        assert stored_cids(st) == got, "stored twice after a resend: %r" % stored_cids(st)
        assert r.finish() == 0


def test_nak_clock_correction(args, work):
    st = e2e.station(args)
    p = Panel(args, work, st.tcp[1], extra={"clock_offset_s": -600})
    with Both(st, p):
        e2e.setup_users(p)
        p.cmd("keys %s#" % DURESS)
        line = p.wait_for(r"^rx primary 1234 nak: clock off by")
        m = re.search(r"off by \+(\d+)s, corrected \+(\d+)s", line)
        assert m and 595 <= int(m.group(1)) <= 605 and m.group(1) == m.group(2), line
        e2e.wait_alarms(st, e2e.is_duress)
        assert p.finish() == 0


def test_nak_correction_is_bounded(args, work):
    st = e2e.station(args)
    p = Panel(args, work, st.tcp[1], extra={"clock_offset_s": -7200, "clock_max_s": 3600})
    with Both(st, p):
        e2e.setup_users(p)
        p.cmd("keys %s#" % DURESS)
        line = p.wait_for(r"^rx primary 1234 nak: clock off by")
        assert re.search(r"off by \+72\d\ds, corrected \+3600s", line), line
        time.sleep(2)
        assert not [a for a in st.alarms() if e2e.is_duress(a)], \
            "a clock 2 h off must not be pulled further than clock_max_s"
        assert p.finish() == 0


def test_udp_transport(args, work):
    st = e2e.station(args)
    p = Panel(args, work, st.udp[1], transport="udp")
    with Both(st, p):
        e2e.setup_users(p)
        p.cmd("keys %s#" % DURESS)
        e2e.wait_alarms(st, e2e.is_duress)
        p.wait_for(r'^queue delivered cid="1121 01 001"')
        assert p.finish() == 0


def star_ack(seq, key, t, account="1234"):
    body = ('"*ACK"%04dL0#%s[' % (seq, account)).encode() + \
        v.encrypt_region(key, ("]" + v.dc09_time(t)).encode()).encode()
    return v.wrap(body)


def test_forged_ack_ignored(args, work):
    key = e2e.KEY_ASCII.encode()
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(5)
    forger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    forger.bind(("127.0.0.1", 0))
    p = Panel(args, work, rx.getsockname()[1], transport="udp",
              extra={"ack_timeout_ms": 1500})
    with Both(None, p):
        line = p.wait_for(r"^net primary 1234: udp from 127\.0\.0\.1:(\d+)")
        panel_addr = ("127.0.0.1", int(line.rsplit(":", 1)[1]))
        e2e.setup_users(p)
        p.cmd("keys %s#" % DURESS)
        while True:                 # the programming reports (SIA) come too: not ACKed here
            data, addr = rx.recvfrom(2048)
            assert addr == panel_addr, (addr, panel_addr)
            m = re.search(rb'"\*ADM-CID"(\d{4})L0#1234\[([0-9A-F]+)', data)
            if m:
                break
        seq = int(m.group(1))
        clear = v.decrypt_hex(key, m.group(2).decode())
        assert b"#1234|1121 01 001]" in clear, clear
        mark = p.mark()
        forger.sendto(star_ack(seq, key, time.time()), panel_addr)     # wrong peer
        p.wait_for(r"^rx primary ignored: datagram from 127\.0\.0\.1:%d, not the receiver"
                   % forger.getsockname()[1], since=mark)
        rx.sendto(star_ack(seq, key, time.time() - 600), panel_addr)   # stale
        p.wait_for(r"ignored seq=%04d: stale ACK timestamp" % seq, since=mark)
        rx.sendto(star_ack(seq + 1, key, time.time()), panel_addr)     # wrong sequence
        p.wait_for(r"ignored seq=%04d: ACK for a sequence not in flight" % (seq + 1), since=mark)
        time.sleep(0.3)
        assert not [l for l in p.lines if l.startswith("queue delivered")], p.lines[mark:]
        # the panel keeps trying: same sequence; the genuine ACK ends it
        while True:
            data, addr = rx.recvfrom(2048)
            m2 = re.search(rb'"\*ADM-CID"(\d{4})', data)
            if m2 and int(m2.group(1)) == seq:
                break
        rx.sendto(star_ack(seq, key, time.time()), panel_addr)
        p.wait_for(r'^queue delivered cid="1121 01 001" seq=%04d' % seq, since=mark)
        assert p.finish() == 0
    rx.close()
    forger.close()


if __name__ == "__main__":
    e2e.run_cases([test_station_down_then_up, test_primary_down_backup_used,
                   test_power_cut_with_events_queued, test_nak_clock_correction,
                   test_nak_correction_is_bounded, test_udp_transport, test_forged_ack_ignored])
