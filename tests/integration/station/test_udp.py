#!/usr/bin/python3
"""DC-09 over UDP on the same port as TCP: ACK, *ACK, DUH, NAK, silence on a
CRC error, one datagram per reply, stored like TCP frames."""
import time

import vstation as v

KEY = "Vigil-192-bit-key-ASCII!"


def test_udp(args):
    key = KEY.encode()
    with v.running(args, [{"number": "1234"}, {"number": "2345", "key": KEY}]) as st:
        v.expect_ack(v.udp_exchange(st.udp, v.cid(1, "1234", "1121 01 003")), 1, "1234")
        v.expect_ack(v.udp_exchange(st.udp, v.cid(2, "2345", "1130 01 001", key=key)),
                     2, "2345", key=key)
        v.expect_ack(v.udp_exchange(st.udp, v.null(0, "2345", key=key)), 0, "2345", key=key)
        v.expect_duh(v.udp_exchange(st.udp, v.cid(3, "FFF1", "1130 01 001")), 3, "FFF1")
        v.expect_duh(v.udp_exchange(st.udp, v.cid(4, "2345", "1130 01 001")), 4, "2345")
        v.expect_nak(v.udp_exchange(st.udp, v.cid(5, "2345", "1130 01 001", key=key,
                                                  ts=time.time() - 100)))
        good = v.cid(6, "1234", "1130 01 001")
        bad = good[:1] + (b"0000" if good[1:5] != b"0000" else b"1111") + good[5:]
        assert v.udp_exchange(st.udp, bad, timeout=1.0) is None, "UDP CRC error answered"
        # A retry over UDP is stored once.
        v.expect_ack(v.udp_exchange(st.udp, good), 6, "1234")
        v.expect_ack(v.udp_exchange(st.udp, good), 6, "1234")
        k = v.event_keys(st.events("1234")) | v.event_keys(st.events("2345"))
        assert {("1234", 1), ("2345", 2), ("1234", 6)} <= k, k
        assert len([e for e in st.events("1234") if int(e["seq"]) == 6]) == 1
        al = [a for a in st.alarms() if a["kind"] == "duress"]
        assert al and int(al[0]["priority"]) == 1, "UDP duress must raise a priority-1 alarm"


if __name__ == "__main__":
    v.run_cases([test_udp])
