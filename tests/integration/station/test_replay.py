#!/usr/bin/python3
"""Replays with a rewritten header (issue 12, finding 7).

DC-09 encrypts the data block, not the header: an eavesdropper who captured
an encrypted frame can change its sequence number, recompute the CRC and send
it again inside the time window. Such a frame was ACKed and stored as a new
event. Now an encrypted block seen before within the window under another
sequence number is a replay: no ACK (DUH), nothing stored, counted
(`replays`), one `replay` alarm per episode. A panel's own retry (same
sequence, encrypted again with a fresh pad) is still ACKed and stored once,
and so is a byte-identical resend with the same sequence."""
import re
import time

import vstation as v

KEY = "0123456789ABCDEF"


def reseq(frame, seq):
    """The same frame with its header's sequence number rewritten, CRC recomputed."""
    body = frame[9:-1]
    new = re.sub(rb'^("\*?[A-Z-]+")\d{4}', lambda m: m.group(1) + b"%04d" % seq, body)
    assert new != body
    return v.wrap(new)


def test_rewritten_seq_is_a_replay(args):
    key = KEY.encode()
    with v.running(args, [{"number": "1234", "key": KEY}]) as st:
        f = v.cid(81, "1234", "1130 01 003", key=key)
        v.expect_ack(st.exchange(f), 81, "1234", key=key)
        for seq in (82, 83, 84):
            r = st.exchange(reseq(f, seq))
            assert r is not None, "a replay got no answer at all"
            v.expect_duh(r, seq, "1234")
        ev = st.events("1234")
        assert len(ev) == 1, "a replayed block was stored again: %r" % [e["seq"] for e in ev]
        rep = [a for a in st.alarms() if a["kind"] == "replay"]
        assert len(rep) == 1 and rep[0]["account"] == "1234", \
            "want one replay alarm for the episode, got %r" % rep
        s = st.stats(fresh=True)
        assert s.get("replays", 0) >= 3, "replays not counted: %r" % s
        # a poll replayed under another sequence: no ACK either
        p = v.null(90, "1234", key=key)
        v.expect_ack(st.exchange(p), 90, "1234", key=key)
        v.expect_duh(st.exchange(reseq(p, 91)), 91, "1234")
        # the panel's own retry: same seq, encrypted again (fresh pad): ACKed, stored once
        f2 = v.cid(81, "1234", "1130 01 003", key=key)
        assert f2 != f
        v.expect_ack(st.exchange(f2), 81, "1234", key=key)
        # a byte-identical resend with the same seq: a retry, ACKed, stored once
        v.expect_ack(st.exchange(f), 81, "1234", key=key)
        assert len(st.events("1234")) == 1
        # a new event still goes through
        v.expect_ack(st.exchange(v.cid(85, "1234", "1130 01 004", key=key)), 85, "1234", key=key)
        assert len(st.events("1234")) == 2
        assert len([a for a in st.alarms() if a["kind"] == "replay"]) == 1


def test_replay_over_udp(args):
    key = KEY.encode()
    with v.running(args, [{"number": "2345", "key": KEY}]) as st:
        f = v.cid(11, "2345", "1121 01 003", key=key)
        v.expect_ack(v.udp_exchange(st.udp, f), 11, "2345", key=key)
        v.expect_duh(v.udp_exchange(st.udp, reseq(f, 12)), 12, "2345")
        ev = st.events("2345")
        assert len(ev) == 1, "a replayed duress was stored again: %r" % ev
        assert len([a for a in st.alarms() if a["kind"] == "duress"]) == 1


if __name__ == "__main__":
    v.run_cases([test_rewritten_seq_is_a_replay, test_replay_over_udp])
