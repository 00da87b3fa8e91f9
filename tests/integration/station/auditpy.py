"""auditpy.py — the audit trail's chain recomputed INDEPENDENTLY of the project's
code (docs/audit.md, "The hash"): what a dispute's reader would write. Used by
the tests to check the station's hashes, and to forge a chain "recomputed by
hand" (the attack `vigil audit verify` must catch through the head file).

Must never import or call the project's code: it proves the documented
encoding, not the implementation agreeing with itself.
"""
import hashlib
import sqlite3

GENESIS = "0" * 64
TAG = b"vigil-audit-v1"


def _field(v):
    if v is None:
        return b"~"
    if isinstance(v, int):
        v = str(v)
    b = v.encode("utf-8")
    return str(len(b)).encode("ascii") + b":" + b + b","


def entry_hash(seq, at_ms, actor, kind, subject, before, after, prev_hash):
    m = TAG + b"".join(_field(x) for x in (seq, at_ms, actor, kind, subject, before, after,
                                          prev_hash))
    return hashlib.sha256(m).hexdigest()


def rows(store):
    db = sqlite3.connect(store)
    try:
        return db.execute("SELECT seq, at_ms, actor, kind, subject, before, after, prev_hash,"
                          " hash FROM audit ORDER BY seq").fetchall()
    finally:
        db.close()


def check_rows(rs):
    """Returns (ok, n, last_hash, why): the chain from genesis, every hash recomputed."""
    prev, expect = GENESIS, 1
    for r in rs:
        seq, at_ms, actor, kind, subject, before, after, prev_hash, h = r
        if seq != expect:
            return False, expect - 1, prev, "gap at %d" % expect
        if prev_hash != prev:
            return False, expect - 1, prev, "prev_hash of %d" % seq
        want = entry_hash(seq, at_ms, actor, kind, subject, before, after, prev)
        if h != want:
            return False, expect - 1, prev, "hash of %d" % seq
        prev, expect = h, expect + 1
    return True, expect - 1, prev, ""


def read_head(store):
    with open(store + ".audit-head") as f:
        lines = f.read().split("\n")
    assert lines[0] == "vigil-audit-head 1", lines
    seq = int(lines[1].split(" ")[1])
    h = lines[2].split(" ")[1]
    return seq, h


def recompute_all(store, edit_seq=None, edit_after=None):
    """The forger's move: edit one entry (with the triggers dropped) and recompute
    every hash after it, so that the table alone is consistent again."""
    db = sqlite3.connect(store, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("DROP TRIGGER IF EXISTS audit_no_update")
        if edit_seq is not None:
            db.execute("UPDATE audit SET after=? WHERE seq=?", (edit_after, edit_seq))
        prev = GENESIS
        for r in db.execute("SELECT seq, at_ms, actor, kind, subject, before, after FROM audit"
                            " ORDER BY seq").fetchall():
            h = entry_hash(*r, prev)
            db.execute("UPDATE audit SET prev_hash=?, hash=? WHERE seq=?", (prev, h, r[0]))
            prev = h
        db.execute("COMMIT")
    finally:
        db.close()
    return prev
