#!/usr/bin/python3
"""vigil-panel over UDP reaches a receiver that is not on loopback (found by
these suites: panel-sim/ports.c bound the UDP socket to 127.0.0.1:0, so with
`transport udp` and a receiver on any other address every send failed and
nothing was ever delivered, the duress included). The path's socket is now
bound to the source address of the route to the receiver. Panel and station
in their own network namespaces, joined by a veth pair."""
import tempfile

import fcommon as fc
import e2e


def test_udp_panel_receiver_off_loopback(args):
    pan = fc.netns_add("pan")
    stn = fc.netns_add("stn")
    link = fc.Link(pan, stn, 1, "p")
    st = fc.station(args, ["%s:7000" % link.addr_b], ["2004"], key_hex=e2e.KEY_HEX,
                    netns=stn, name="udpoff")
    p = fc.panel(args, fc.workdir(prefix="vgf-udpoff-"), "%s:7000" % link.addr_b,
                 ns=pan, account="2004", transport="udp")
    try:
        e2e.setup_users(p)
        p.cmd("keys %s#" % e2e.MASTER, "wait 46s", "keys %s#" % e2e.DURESS)
        fc.wait_queue_empty(p, timeout=20)
        fig = fc.check_panel_delivery(st, "2004", fc.tx_events(p.lines), "udp off loopback")
        assert fig["duress_alarmed"] == 1, fig
    except BaseException:
        print("\n".join(l for l in p.lines if l.startswith(("net", "tx")))[-3000:])
        raise
    finally:
        p.kill()
        st.cleanup()


if __name__ == "__main__":
    fc.run_cases([test_udp_panel_receiver_off_loopback], panel=True)
