#!/usr/bin/python3
"""Crash suite, panel side: vigil-panel SIGKILLed while it holds queued events.

A real vigil-panel (--script - --fast, its state file on disk) reports to a
real vigil-station through faultproxy.py (loopback). Each round: the panel
(restarted from its state file) arms and disarms a random number of times
(openings/closings), the proxy turns lossy and slow, then blackholes the line
(cut) so ACKs stop, and a last disarm is keyed — in every third round with
the duress code — so events are queued and in flight; `show queue` confirms
it holds events, and it is SIGKILLed. The next round restarts it from the
same state file. At the end the line is clean and the panel drains its queue.

Checked in the station's store: every sequence the panel ever sent (tx lines
of all its lives) is stored exactly once, nothing else; openings/closings in
the panel's order; every duress sent (queued at a kill among them) is linked
to a priority-1 duress alarm. Figures: kills, queued at the kills (events,
duress), sent, found, lost, duplicates.

make test: 8 kills; --long: 40."""
import os
import random
import re
import tempfile
import time

import fcommon as fc
from fcommon import v
import e2e

MASTER, DURESS = e2e.MASTER, e2e.DURESS
PANEL_EXTRA = {"exit_delay_s": 45, "ack_timeout_ms": 500, "backoff_max_ms": 1500,
               "path_fail_max": 2, "probe_s": 2}


def test_panel_sigkill_mid_queue(args):
    rng = random.Random(args.seed)
    kills = 40 if args.long else 8
    work = fc.workdir(prefix="vgf-panelkill-")
    port, proxy_port = fc.free_port(), fc.free_port()
    st = fc.station(args, ["127.0.0.1:%d" % port], ["1234"], key_hex=e2e.KEY_HEX,
                    name="panelkill")
    proxy = fc.FaultProxy("127.0.0.1:%d" % proxy_port, "127.0.0.1:%d" % port, args.seed)
    tx = []
    p = None
    queued_at_kills = duress_at_kills = nonempty_kills = 0
    t0 = time.monotonic()
    try:
        for rnd in range(kills + 1):
            last = rnd == kills
            proxy.clear()
            if not last:
                proxy.set(loss=rng.choice([0, 0.05, 0.1]), delay_ms=rng.choice([0, 10, 30]),
                          jitter_ms=20, dup=0.1)
            p = fc.panel(args, work, "127.0.0.1:%d" % proxy_port, extra=PANEL_EXTRA)
            if rnd == 0:
                e2e.setup_users(p)
            if last:
                fc.wait_queue_empty(p, timeout=60)
                tx += fc.tx_events(p.lines)
                assert p.finish() == 0
                p = None
                break
            for _ in range(rng.randint(1, 3)):
                p.cmd("keys %s#" % MASTER, "wait 46s", "keys %s#" % MASTER)
            p.cmd("keys %s#" % MASTER, "wait 46s")          # armed, the closing sent
            fc.queue_count(p, timeout=60)
            time.sleep(rng.uniform(0.0, 0.5))
            proxy.set(cut=1)                                 # ACKs stop: a silent line
            duress = rnd % 3 == 0
            p.cmd("keys %s#" % (DURESS if duress else MASTER))
            time.sleep(rng.uniform(0.05, 0.8))
            n = fc.queue_count(p)
            mark = p.mark()
            p.kill()                                         # SIGKILL
            lines = p.lines
            tx += fc.tx_events(lines)
            queued_at_kills += n
            nonempty_kills += n > 0
            if duress and any("1121" in l for l in lines if l.startswith("queue ") and
                              "cid=" in l and "delivered" not in l):
                duress_at_kills += 1
            p = None
        fig = fc.check_panel_delivery(st, "1234", tx, "after %d panel kills" % kills)
        print("FIGURES panel crash: kills=%d kills-with-queue=%d queued-at-kills=%d "
              "duress-queued-at-kills=%d sent=%d found=%d lost=%d duplicates=%d "
              "resent-frames=%d duress=%d duress-alarmed=%d proxy=%s %.0fs"
              % (kills, nonempty_kills, queued_at_kills, duress_at_kills, fig["sent"],
                 fig["found"], fig["lost"], fig["duplicates"], fig["resent_frames"],
                 fig["duress"], fig["duress_alarmed"], proxy.stats(),
                 time.monotonic() - t0), flush=True)
        assert nonempty_kills == kills, "%d of %d kills found the queue empty" % (
            kills - nonempty_kills, kills)
        assert duress_at_kills >= 1, "no kill happened with a duress queued"
        st.integrity()
        assert st.stop() == 0
    except BaseException:
        if p is not None:
            print("---- panel output (last 60 lines) ----\n" + "\n".join(p.lines[-60:]))
        print("---- station log ----\n" + st.log_text()[-3000:])
        raise
    finally:
        if p is not None:
            p.kill()
        proxy.stop()
        st.cleanup()


if __name__ == "__main__":
    fc.run_cases([test_panel_sigkill_mid_queue], panel=True)
