#!/usr/bin/python3
"""Per-account quirks (bare-l, no-data-account, pad-no-bar, crc-with-cr,
binary-crc, ignore-length) with frames from real panels
(tests/data/dc09-vectors.tsv, re-timestamped where they carry a timestamp),
and the same frames refused by an account without the quirk (strict default)."""
import time

import vstation as v

HIK_KEY = b"AAAAAAAAAAAAAAAA"


def retimestamp(body: str) -> bytes:
    """Replaces a vector body's trailing _HH:MM:SS,MM-DD-YYYY with the time now."""
    assert body[-20] == "_", body
    return (body[:-20] + v.dc09_time()).encode("latin-1")


def accounts():
    return [
        {"number": "7303658550", "quirks": ["bare-l"]},
        {"number": "22334455", "quirks": ["bare-l"]},
        {"number": "AAA", "quirks": ["no-data-account"]},
        {"number": "AAAB", "key": HIK_KEY.decode(), "quirks": ["pad-no-bar"]},
        {"number": "4F39", "quirks": ["crc-with-cr"]},
        {"number": "4F3A", "quirks": ["ignore-length"]},
        {"number": "B1C2", "quirks": ["binary-crc"]},
        # Strict twins: same kind of frames, no quirk.
        {"number": "5555"},
        {"number": "5556", "key": HIK_KEY.decode()},
    ]


def not_acked(c, what):
    r = c.recv_frame(timeout=1.0)
    if r is not None:
        rr = v.Reply(r)
        assert rr.token != "ACK", "%s: a strict account ACKed a quirky frame: %r" % (what, r)


def test_quirks(args):
    # Self-check of the Eldes row: its sent CRC BCD3 is CRC-16/ARC over body + CR.
    eldes = b'"ADM-CID"1533L0#4F39[#4F39|1412 00 000]'
    assert v.crc16(eldes + b"\r") == 0xBCD3
    with v.running(args, accounts()) as st:
        c = st.conn()
        # bare-l: two GSM panels from the vectors, re-timestamped.
        for body, acct, seq in (('"SIA-DCS"0001L#7303658550[#7303658550|NBA4]_11:52:09,05-07-2019',
                                 "7303658550", 1),
                                ('"SIA-DCS"0001L#22334455[#22334455|NCQ1]_14:33:53,02-09-2020',
                                 "22334455", 1)):
            c.send(v.wrap(retimestamp(body)))
            v.expect_ack(c.recv_frame(), seq, acct, receiver=None, line="")
        # no-data-account: Ajax "[|payload]" and "[payload]" (case_cl, case_wa), re-timestamped.
        c.send(v.wrap(retimestamp('"SIA-DCS"6002L0#AAA[|Nri1/CL501]_14:12:04,09-25-2019')))
        v.expect_ack(c.recv_frame(), 6002, "AAA", receiver=None)
        c.send(v.wrap(retimestamp('"SIA-DCS"5268L0#AAA[Nri1/WA000]_08:40:47,07-08-2020')))
        v.expect_ack(c.recv_frame(), 5268, "AAA", receiver=None)
        # pad-no-bar: Hikvision *NULL, pad without '|', fresh timestamp.
        c.send(v.null(0, "AAAB", key=HIK_KEY, pad_bar=False, data=""))
        v.expect_ack(c.recv_frame(), 0, "AAAB", key=HIK_KEY)
        # crc-with-cr: the Eldes frame verbatim (no timestamp), CRC BCD3.
        c.send(b"\nBCD3" + b"0%03X" % len(eldes) + eldes + b"\r")
        v.expect_ack(c.recv_frame(), 1533, "4F39", receiver=None)
        # ignore-length: the Eldes case_adm_cid2 layout (length written in DECIMAL).
        il = b'"ADM-CID"0247R4F3AL4F39#4F3A[#4F3A|3401 01 057]'
        assert len(il) == 0x2F
        c.send(b"\n%04X" % v.crc16(il) + b"0047" + il + b"\r")
        v.expect_ack(c.recv_frame(), 247, "4F3A", receiver="4F3A", line="4F39")
        # binary-crc: two binary CRC bytes; one frame whose CRC contains CR or LF.
        c.send(v.cid(1, "B1C2", "1130 01 001", binary_crc=True))
        v.expect_ack(c.recv_frame(), 1, "B1C2", binary_crc_ok=True)
        seq = 2
        while True:
            f = v.cid(seq, "B1C2", "1130 01 001", binary_crc=True, ts=None)
            if b"\r" in f[1:3] or b"\n" in f[1:3]:
                break
            seq += 1
            assert seq < 9999
        c.send(f)
        v.expect_ack(c.recv_frame(), seq, "B1C2", binary_crc_ok=True)
        # ... and one whose first CRC byte is '"' (1 frame in 256: the header
        # reader once took it for a frame with no CRC and length, and dropped it)
        crlf_seq = seq
        seq += 1
        while True:
            f = v.cid(seq, "B1C2", "1130 01 001", binary_crc=True, ts=None)
            if f[1:2] == b'"':
                break
            seq += 1
            assert seq < 9999
        c.send(f)
        v.expect_ack(c.recv_frame(), seq, "B1C2", binary_crc_ok=True)
        c.close()

        stored = set()
        for acct in ("7303658550", "22334455", "AAA", "4F39", "4F3A", "B1C2"):
            stored |= v.event_keys(st.events(acct))
        for k in (("7303658550", 1), ("22334455", 1), ("AAA", 6002), ("AAA", 5268),
                  ("4F39", 1533), ("4F3A", 247), ("B1C2", 1), ("B1C2", crlf_seq), ("B1C2", seq)):
            assert k in stored, "ACKed quirk frame %r not stored: %r" % (k, stored)

        # The same frames for strict accounts: refused.
        c = st.conn()
        c.send(v.wrap(b'"SIA-DCS"0001L#5555[#5555|NBA4]' + v.dc09_time().encode()))
        not_acked(c, "bare-l")
        c.send(v.wrap(b'"SIA-DCS"5268L0#5555[Nri1/WA000]' + v.dc09_time().encode()))
        not_acked(c, "no-data-account")
        c.send(v.null(0, "5556", key=HIK_KEY, pad_bar=False, data=""))
        not_acked(c, "pad-no-bar")
        b = b'"ADM-CID"1533L0#5555[#5555|1412 00 000]'
        c.send(b"\n%04X" % v.crc16(b + b"\r") + b"0%03X" % len(b) + b + b"\r")
        c.expect_silence(1.0)  # a CRC mismatch for a strict account: no reply at all
        b = b'"ADM-CID"0247R5555L4F39#5555[#5555|3401 01 057]'
        c.send(b"\n%04X" % v.crc16(b) + b"0047" + b + b"\r")
        c.expect_silence(1.0)  # wrong length, strict: no reply
        c.send(v.cid(9, "5555", "1130 01 001", binary_crc=True))
        c.expect_silence(1.0)
        # Still serving the strict account normally afterwards.
        c.send(v.cid(10, "5555", "1130 01 001"))
        v.expect_ack(c.recv_frame(), 10, "5555")
        c.close()
        k = v.event_keys(st.events("5555"))
        assert ("5555", 9) not in k and ("5555", 1533) not in k and ("5555", 247) not in k, k


if __name__ == "__main__":
    v.run_cases([test_quirks])
