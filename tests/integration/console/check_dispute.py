#!/usr/bin/python3
"""check_dispute.py — checks the audit proof in a vigil dispute packet
(dispute-ID.json), written from docs/audit.md's definition of the hash
("The hash (version 1)") and docs/audit.md's "The dispute packet" only: it
imports nothing of the project (not auditpy.py, not vconsole.py), only the
standard library.

What it checks:
  1. every entry of audit.chain: its hash is SHA-256 over "vigil-audit-v1" and
     F(seq) F(at_ms) F(actor) F(kind) F(subject) F(before) F(after) F(prev_hash);
  2. seq goes up by one from audit.chain_from to audit.chain_to, and each
     prev_hash is the hash of the entry before it;
  3. the chain ends at audit.last_entry (seq and hash), and the entry the head
     file names (audit.head_file) is in the chain with that hash;
  4. at least one entry is this alarm's (subject = the alarm id, kind alarm.*),
     the packet's entries_about_this_alarm are in the chain, and the chain is
     complete;
  5. optionally (--head SEQ:HASH), a head kept elsewhere is in the chain too.

Usage: check_dispute.py PACKET.json [--head SEQ:HASH]
Exit 0 and "ok ..." when the proof holds; 1 and "FAIL: ..." naming the first
bad entry otherwise; 2 when the file cannot be read.
"""
import hashlib
import json
import sys


def F(v):
    """docs/audit.md: F(NULL) = "~"; F(text) = len ":" bytes ","; F(n) = F(str(n))."""
    if v is None:
        return b"~"
    if isinstance(v, bool):
        raise ValueError("a boolean is not an audit field")
    if isinstance(v, int):
        v = str(v)
    b = v.encode("utf-8")
    return str(len(b)).encode() + b":" + b + b","


def entry_hash(e):
    h = hashlib.sha256()
    h.update(b"vigil-audit-v1")
    for k in ("seq", "at_ms", "actor", "kind", "subject", "before", "after", "prev_hash"):
        h.update(F(e[k]))
    return h.hexdigest()


def check(packet, head=None):
    """(True, message) or (False, why)."""
    alarm = packet["packet"]["alarm"]
    a = packet["audit"]
    chain = a["chain"]
    if not chain:
        return False, "the packet holds no audit entry"
    if not a.get("chain_complete"):
        return False, "the chain in the packet does not reach the end of the trail"
    if chain[0]["seq"] != a["chain_from"] or chain[-1]["seq"] != a["chain_to"]:
        return False, "chain_from/chain_to do not match the entries"
    prev = None
    for i, e in enumerate(chain):
        if i and e["seq"] != chain[i - 1]["seq"] + 1:
            return False, "entry %d: not the one after entry %d (entries missing)" % (
                e["seq"], chain[i - 1]["seq"])
        if e["seq"] == 1 and e["prev_hash"] != "0" * 64:
            return False, "entry 1: prev_hash is not 64 zeros"
        if prev is not None and e["prev_hash"] != prev:
            return False, "entry %d: prev_hash is not entry %d's hash" % (e["seq"], e["seq"] - 1)
        h = entry_hash(e)
        if h != e["hash"]:
            return False, "entry %d: its hash does not match its contents" % e["seq"]
        prev = h
    by_seq = {e["seq"]: e["hash"] for e in chain}
    last = a["last_entry"]
    if not last or last["seq"] != chain[-1]["seq"] or last["hash"] != chain[-1]["hash"]:
        return False, "the chain does not end at the trail's last entry %r" % (last,)
    hf = a.get("head_file")
    if not hf:
        return False, "no head file in the packet: the chain's end cannot be checked"
    if by_seq.get(hf["seq"]) != hf["hash"]:
        return False, "the head file's entry %d (%s) is not in the chain with that hash" % (
            hf["seq"], hf["hash"])
    if head is not None:
        hs, hh = head
        if by_seq.get(hs) != hh:
            return False, "the head kept elsewhere (entry %d) is not in the chain" % hs
    mine = [e for e in chain if e["subject"] == str(alarm) and e["kind"].startswith("alarm.")]
    if not mine:
        return False, "no entry of alarm %s in the chain" % alarm
    listed = set(a.get("entries_about_this_alarm", []))
    if not listed <= set(by_seq):
        return False, "entries_about_this_alarm names entries not in the chain"
    if not {e["seq"] for e in mine} <= listed:
        return False, "an entry of the alarm is not marked as the alarm's"
    return True, "ok alarm %s: %d entries %d..%d recomputed, %d of the alarm, head %d %s" % (
        alarm, len(chain), chain[0]["seq"], chain[-1]["seq"], len(mine), hf["seq"], hf["hash"])


def main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--head"):
        print("usage: check_dispute.py PACKET.json [--head SEQ:HASH]", file=sys.stderr)
        return 2
    head = None
    if len(argv) == 4:
        s, _, h = argv[3].partition(":")
        head = (int(s), h)
    try:
        with open(argv[1], encoding="utf-8") as f:
            packet = json.load(f)
    except (OSError, ValueError) as e:
        print("check_dispute: %s: %s" % (argv[1], e), file=sys.stderr)
        return 2
    try:
        ok, msg = check(packet, head)
    except (KeyError, TypeError, ValueError) as e:
        ok, msg = False, "the packet is malformed: %r" % (e,)
    print(msg if ok else "FAIL: " + msg)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
