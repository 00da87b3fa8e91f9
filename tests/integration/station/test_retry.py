#!/usr/bin/python3
"""Retransmissions and replays: a retry (same account, sequence and payload,
fresh timestamp and pad) is ACKed again and stored once — on the same and on a
new connection; the same sequence with another payload is a new event; an
encrypted frame replayed after its timestamp left the window is NAKed (with
the station's time), logged as a possible replay, and not stored again."""
import time

import vstation as v

KEY = "0123456789ABCDEF"


def rows(st, acct, seq):
    return [e for e in st.events(acct) if int(e["seq"]) == seq]


def test_retry_stored_once(args):
    key = KEY.encode()
    with v.running(args, [{"number": "1234", "key": KEY}, {"number": "2345"}]) as st:
        c = st.conn()
        f1 = v.cid(61, "1234", "1121 01 003", key=key)
        c.send(f1)
        v.expect_ack(c.recv_frame(), 61, "1234", key=key)
        time.sleep(1.1)  # the retry carries a later timestamp
        f2 = v.cid(61, "1234", "1121 01 003", key=key)
        assert f2 != f1
        c.send(f2)
        v.expect_ack(c.recv_frame(), 61, "1234", key=key)
        c.close()
        # The panel reconnected and retries again.
        v.expect_ack(st.exchange(v.cid(61, "1234", "1121 01 003", key=key)), 61, "1234", key=key)
        assert len(rows(st, "1234", 61)) == 1, "a retry was stored twice: %r" % rows(st, "1234", 61)
        dur = [a for a in st.alarms() if a["kind"] == "duress"]
        assert len(dur) == 1, "a retried duress must be one alarm: %r" % dur
        # Clear retry: identical bytes.
        f = v.cid(62, "2345", "1130 01 004", ts=None)
        for _ in range(3):
            v.expect_ack(st.exchange(f), 62, "2345")
        assert len(rows(st, "2345", 62)) == 1, rows(st, "2345", 62)
        # Same sequence, different payload: a different event, stored.
        v.expect_ack(st.exchange(v.cid(62, "2345", "1130 01 005", ts=None)), 62, "2345")
        assert len(rows(st, "2345", 62)) == 2, \
            "same seq with another payload is a new event: %r" % rows(st, "2345", 62)


def test_replay_outside_window(args):
    key = KEY.encode()
    with v.running(args, [{"number": "1234", "key": KEY}],
                   config={"time_window_past_s": 2, "time_window_future_s": 2}) as st:
        f = v.cid(71, "1234", "1130 01 003", key=key)
        v.expect_ack(st.exchange(f), 71, "1234", key=key)
        time.sleep(3.5)
        v.expect_nak(st.exchange(f))
        log = st.wait_log(r"(?i)replay")
        assert "replay" in log.lower(), "a replay outside the window must be logged as possible replay"
        assert len(rows(st, "1234", 71)) == 1
        # A captured frame of a sequence never seen, outside the window: NAK, not stored.
        g = v.cid(72, "1234", "1130 01 003", key=key, ts=time.time() - 10)
        v.expect_nak(st.exchange(g))
        assert not rows(st, "1234", 72)


if __name__ == "__main__":
    v.run_cases([test_retry_stored_once, test_replay_outside_window])
