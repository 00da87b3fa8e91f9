#!/usr/bin/python3
"""TCP stream handling: a frame split at every byte boundary over one connection
(clear and encrypted), one byte per segment, 1,000 frames in one segment with
the default limits (all ACKed, all stored), garbage bytes, an oversize frame,
and a slowloris connection closed after partial_frame_timeout_s while others
are served."""
import socket
import time

import vstation as v

KEY = b"0123456789ABCDEF0123456789ABCDEF"


def test_split_every_byte(args):
    with v.running(args, [{"number": "1234"}, {"number": "4321", "key_hex": KEY.hex()}]) as st:
        c = st.conn()
        seq = 0
        for acct, key in (("1234", None), ("4321", KEY)):
            n = len(v.cid(1, acct, "1130 01 015", key=key))
            for k in range(1, n):
                seq += 1
                f = v.cid(seq, acct, "1130 01 015", key=key)
                c.send(f[:k])
                # Make it a separate segment: the station must not answer half a frame.
                time.sleep(0.002)
                c.send(f[k:])
                r = c.recv_frame(timeout=3.0)
                try:
                    v.expect_ack(r, seq, acct, key=key)
                except AssertionError as e:
                    raise AssertionError("split at byte %d of %d (%s): %s" % (k, n, acct, e))
        # One byte per segment, twice in a row.
        for _ in range(2):
            seq += 1
            f = v.cid(seq, "1234", "1121 01 003")
            for i in range(len(f)):
                c.send(f[i:i + 1])
                time.sleep(0.001)
            v.expect_ack(c.recv_frame(), seq, "1234")
        c.close()
        keys = v.event_keys(st.events("1234")) | v.event_keys(st.events("4321"))
        missing = [s for s in range(1, seq + 1) if ("1234", s) not in keys and ("4321", s) not in keys]
        assert not missing, "ACKed split frames missing from the store: %r" % missing[:20]


def test_thousand_in_one_segment(args):
    # Default limits (no rate keys in the config): a panel's legitimate burst.
    with v.running(args, [{"number": "0A0A"}]) as st:
        frames = b"".join(v.cid(s, "0A0A", "1130 01 %03d" % (s % 1000)) for s in range(1, 1001))
        c = st.conn(timeout=30)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        c.send(frames)
        replies = c.recv_frames(1000, timeout=30)
        c.close()
        assert len(replies) == 1000, "only %d of 1000 frames answered" % len(replies)
        seqs = []
        for r in replies:
            rr = v.Reply(r)
            assert rr.token == "ACK", "burst frame not ACKed: %r" % r
            seqs.append(rr.seq)
        assert sorted(seqs) == list(range(1, 1001)), "ACK sequence numbers do not match"
        v.expect_ack(replies[0], seqs[0], "0A0A")
        keys = v.event_keys(st.events("0A0A"))
        assert len(keys) == 1000, "%d of 1000 ACKed frames stored" % len(keys)


def test_garbage_and_oversize(args):
    with v.running(args, [{"number": "1234"}], config={"frame_bytes_max": 1024}) as st:
        c = st.conn()
        c.send(bytes(range(256)).replace(b"\n", b"") * 4)  # garbage, no LF
        c.send(v.cid(1, "1234", "1130 01 001"))
        v.expect_ack(c.recv_frame(), 1, "1234")
        # Garbage with LFs and CRs (false frame starts), then a good frame.
        c.send(b"\n\r\n\rXYZ\r\n0000\r\nABCD0010\"ADM-CID\"\r")
        c.expect_silence(0.5)
        c.send(v.cid(2, "1234", "1130 01 002"))
        v.expect_ack(c.recv_frame(), 2, "1234")
        # An oversize frame: silence, and no store change.
        big = v.cid(3, "1234", "1130 01 003", xdata="[I" + "x" * 2000 + "]")
        assert len(big) > 1024
        c.send(big)
        c.expect_silence(1.0)
        # A well-formed frame right after: served on a fresh connection in every case,
        # and on the same connection unless the station chose to close it.
        c.send(v.cid(4, "1234", "1130 01 004"))
        r = c.recv_frame(timeout=2.0)
        if r is not None:
            v.expect_ack(r, 4, "1234")
        else:
            assert c.closed, "after an oversize frame the next good frame got no reply " \
                             "and the connection stayed open"
        c.close()
        v.expect_ack(st.exchange(v.cid(5, "1234", "1130 01 005")), 5, "1234")
        keys = v.event_keys(st.events("1234"))
        assert ("1234", 3) not in keys, "the oversize frame was stored"
        assert {("1234", 1), ("1234", 2), ("1234", 5)} <= keys, keys


def test_slowloris(args):
    with v.running(args, [{"number": "1234"}],
                   config={"partial_frame_timeout_s": 2}) as st:
        slow = st.conn()
        f = v.cid(1, "1234", "1130 01 001")
        slow.send(f[:20])
        t0 = time.monotonic()
        # Others are served meanwhile.
        other = st.conn()
        for s in range(2, 6):
            other.send(v.cid(s, "1234", "1130 01 %03d" % s))
            v.expect_ack(other.recv_frame(), s, "1234")
            time.sleep(0.2)
        # Keep dribbling a byte now and then: must not extend the frame's deadline forever.
        for b in f[20:30]:
            slow.send(bytes([b]))
            if slow.wait_closed(0.25):
                break
        closed = slow.wait_closed(6.0)
        dt = time.monotonic() - t0
        assert closed, "slowloris connection not closed %.1f s after its frame began" % dt
        assert dt >= 1.5, "partial frame closed too early (%.1f s < partial_frame_timeout_s 2)" % dt
        assert dt <= 5.0, "partial frame closed after %.1f s (timeout 2 s)" % dt
        slow.close()
        other.send(v.cid(6, "1234", "1130 01 006"))
        v.expect_ack(other.recv_frame(), 6, "1234")
        other.close()
        keys = v.event_keys(st.events("1234"))
        assert ("1234", 1) not in keys


def test_silent_connections_closed(args):
    """Near max_connections, a connection that has sent no frame for
    partial_frame_timeout_s gives its slot up (not after idle_timeout_s, 26 h by
    default): silent connections cannot keep max_connections full. One that has sent
    a frame is idle, not silent, and stays."""
    with v.running(args, [{"number": "1234"}],
                   config={"partial_frame_timeout_s": 2, "max_connections": 3}) as st:
        good = st.conn()
        good.send(v.null(0, "1234"))
        v.expect_ack(good.recv_frame(), 0, "1234")
        t0 = time.monotonic()
        silent = [st.conn(), st.conn()]
        for c in silent:
            assert c.wait_closed(6.0), "a connection that sent nothing is still open after " \
                                       "6 s (partial_frame_timeout_s 2)"
        dt = time.monotonic() - t0
        assert dt >= 1.5, "silent connection closed after %.1f s (timeout 2 s)" % dt
        # Their slots are free again, and the panel that spoke is still served.
        late = st.conn()
        late.send(v.null(1, "1234"))
        v.expect_ack(late.recv_frame(), 1, "1234")
        good.send(v.cid(2, "1234", "1130 01 002"))
        v.expect_ack(good.recv_frame(), 2, "1234")
        for c in silent + [late, good]:
            c.close()
        assert "closed to free a slot" in st.wait_log("closed to free a slot"), "closing a silent connection not logged"


def test_silent_connection_kept_with_room(args):
    """With room to spare, a connection that has not sent its first frame yet is left
    alone (a panel may connect before its first event or poll): it is served when it
    speaks, well after partial_frame_timeout_s."""
    with v.running(args, [{"number": "1234"}],
                   config={"partial_frame_timeout_s": 1, "max_connections": 100}) as st:
        c = st.conn()
        time.sleep(3.5)
        c.send(v.cid(1, "1234", "1121 01 003"))
        v.expect_ack(c.recv_frame(), 1, "1234")
        assert not c.closed
        c.close()


def test_streaming_is_not_slowloris(args):
    """A sender streaming whole frames whose writes end inside the next frame (normal
    TCP) always has a partial frame buffered: each complete frame restarts the clock,
    so it is never closed as a slowloris."""
    with v.running(args, [{"number": "1234"}], config={"partial_frame_timeout_s": 2}) as st:
        frames = [v.cid(s, "1234", "1130 01 %03d" % s) for s in range(1, 82)]
        stream = b"".join(frames)
        cuts, end = [], 0
        for f in frames[:-1]:
            end += len(f)
            cuts.append(end + 10)        # each write: a frame's end + 10 bytes of the next
        c = st.conn()
        start = 0
        t0 = time.monotonic()
        for cut in cuts:                 # 80 writes, 20 per second: 4 s, twice the timeout
            c.send(stream[start:cut])
            start = cut
            time.sleep(0.05)
        c.send(stream[start:])
        replies = c.recv_frames(len(frames), timeout=10)
        dt = time.monotonic() - t0
        assert not c.closed, "a connection streaming whole frames was closed as a slowloris " \
                             "after %.1f s" % dt
        assert len(replies) == len(frames), "%d of %d frames answered" % (len(replies), len(frames))
        assert sorted(v.Reply(r).seq for r in replies) == list(range(1, 82))
        c.close()
        assert "slowloris" not in st.log_text()


def test_connection_bounds(args):
    """max_connections: a connection beyond the bound is served, and the one that
    gave its slot up is the panel idle longest (all four have spoken; with a
    connection that never sent a valid frame that one would go first,
    test_slots.py); the others are served on; idle_timeout_s closes a silent
    connection."""
    with v.running(args, [{"number": "1234"}],
                   config={"max_connections": 4, "idle_timeout_s": 3}) as st:
        conns = []
        for i in range(4):
            c = st.conn()
            c.send(v.null(0, "1234"))
            v.expect_ack(c.recv_frame(), 0, "1234")
            conns.append(c)
            time.sleep(0.05)
        for c in conns[1:]:              # conns[0] is now the one idle longest
            c.send(v.null(0, "1234"))
            v.expect_ack(c.recv_frame(), 0, "1234")
        extra = st.conn()
        extra.send(v.null(0, "1234"))
        v.expect_ack(extra.recv_frame(), 0, "1234")
        assert conns[0].wait_closed(2.0), "the connection idle longest kept its slot"
        for c in conns[1:]:
            c.send(v.null(0, "1234"))
            v.expect_ack(c.recv_frame(), 0, "1234")
        assert st.stats(fresh=True)["conns_evicted"] == 1
        extra.close()
        conns = conns[1:]
        time.sleep(0.5)
        c = st.conn()
        c.send(v.null(0, "1234"))
        v.expect_ack(c.recv_frame(), 0, "1234")
        # idle_timeout_s 3: a connection that stays silent is closed by the station.
        t0 = time.monotonic()
        assert c.wait_closed(8.0), "silent connection still open 8 s after idle_timeout_s 3"
        assert time.monotonic() - t0 >= 2.0, "idle connection closed before idle_timeout_s"
        for x in conns:
            x.close()
        c.close()


if __name__ == "__main__":
    v.run_cases([test_split_every_byte, test_thousand_in_one_segment,
                 test_garbage_and_oversize, test_slowloris, test_silent_connections_closed,
                 test_silent_connection_kept_with_room, test_streaming_is_not_slowloris, test_connection_bounds])
