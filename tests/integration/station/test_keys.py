#!/usr/bin/python3
"""Encryption at the station: every key size (128/192/256) entered as ASCII and as
hex, *ACK verified by decrypting it (pad without | [ ], at least 8 pad bytes,
fresh pad every time, station time), wrong key and clear-for-keyed refused
with DUH and a priority-4 alarm, and the helper's AES checked against the
GENERATED rows of tests/data/dc09-vectors.tsv.

Keys at rest: no account key is in the store files in the clear (ASCII nor raw
bytes); a store written before sealing (a key put in the clear by hand) is sealed
when the daemon starts and its panel is served; a replaced key store makes the
daemon refuse to start (exit 1) rather than serve those panels as keyless, and a
missing one is never made again for a store whose keys are sealed."""
import os
import sqlite3
import subprocess
import time

import vstation as v

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "..", "data", "dc09-vectors.tsv")

ASCII_KEYS = {
    128: "0123456789ABCDEF",
    192: "Vigil-192-bit-key-ASCII!",
    256: "Vigil 256-bit key as ASCII chars",
}
HEX_KEYS = {
    128: "00112233445566778899AABBCCDDEEFF",
    192: "0F1E2D3C4B5A69788796A5B4C3D2E1F00112233445566778",
    256: "603DEB1015CA71BE2B73AEF0857D77811F352C073B6108D72D9810A30914DFF4",
}


def test_helper_matches_vectors(args):
    """Self-check: our independent AES/CRC reproduce the published vectors."""
    n = 0
    for line in open(VECTORS, encoding="latin-1"):
        if line.startswith("#") or not line.strip():
            continue
        body, key, fields = line.rstrip("\n").split("\t", 2)
        if "crc=ok" in fields and "len=ok" in fields:
            assert v.crc16(body[8:].encode("latin-1")) == int(body[0:4], 16), body
            assert int(body[4:8], 16) == len(body) - 8, body
        if key and "decrypted='" in fields:
            want = fields.split("decrypted='", 1)[1].split("'", 1)[0]
            hexpart = body.split("[", 1)[1]
            got = v.decrypt_hex(key.encode(), hexpart).decode("latin-1")
            assert got == want, (got, want)
            n += 1
    assert n >= 4, "expected the encrypted vector rows, found %d" % n


def _accounts():
    accts = []
    for bits, k in ASCII_KEYS.items():
        accts.append({"number": "A%d" % bits, "key": k})
    for bits, k in HEX_KEYS.items():
        accts.append({"number": "B%d" % bits, "key_hex": k})
    return accts


def test_every_key_size(args):
    with v.running(args, _accounts()) as st:
        c = st.conn()
        seq = 100
        for kind, keys in (("A", ASCII_KEYS), ("B", HEX_KEYS)):
            for bits, k in keys.items():
                acct = "%s%d" % (kind, bits)
                key = k.encode() if kind == "A" else bytes.fromhex(k)
                assert len(key) * 8 == bits
                seq += 1
                c.send(v.cid(seq, acct, "1121 01 003", key=key))
                r1 = v.expect_ack(c.recv_frame(), seq, acct, key=key)
                assert len(r1.pad) >= 8, "*ACK pad shorter than 8 bytes: %r" % r1.raw
                # SIA-DCS and *NULL with the same key.
                seq += 1
                c.send(v.sia(seq, acct, "Nri1/BA004", key=key))
                r2 = v.expect_ack(c.recv_frame(), seq, acct, key=key)
                assert r2.cipher_hex[:32] != r1.cipher_hex[:32], \
                    "*ACK first block repeats: constant pad (%s)" % acct
                c.send(v.null(0, acct, key=key))
                v.expect_ack(c.recv_frame(), 0, acct, key=key)
                # Same request resent (a retry): the second *ACK still gets a fresh pad.
                f = v.cid(seq + 500, acct, "1602 00 000", key=key)
                c.send(f)
                r3 = v.expect_ack(c.recv_frame(), seq + 500, acct, key=key)
                c.send(f)
                r4 = v.expect_ack(c.recv_frame(), seq + 500, acct, key=key)
                assert r3.cipher_hex != r4.cipher_hex, "two *ACKs identical: pad not fresh"
        c.close()
        for kind, keys in (("A", ASCII_KEYS), ("B", HEX_KEYS)):
            for bits in keys:
                acct = "%s%d" % (kind, bits)
                ev = st.events(acct)
                enc = [e for e in ev if e.get("encrypted") is True]
                assert len(enc) >= 3, "%s: encrypted events not stored as encrypted: %r" % (acct, ev)
                d = [e for e in ev if "cid" in e and e["cid"] and int(e["cid"]["event"]) == 121]
                assert d, "%s: decrypted CID 121 not stored: %r" % (acct, ev)
        al = [a for a in st.alarms() if a["kind"] == "duress"]
        assert len({str(a["account"]).upper() for a in al}) == 6, \
            "each encrypted duress must raise a duress alarm: %r" % al
        log = st.log_text()
        for k in list(ASCII_KEYS.values()) + list(HEX_KEYS.values()):
            assert k not in log and k.lower() not in log, "a key appeared in the log"


def test_wrong_key_and_clear_for_keyed(args):
    key = ASCII_KEYS[128].encode()
    wrong = b"FEDCBA9876543210"
    with v.running(args, [{"number": "C128", "key": ASCII_KEYS[128]},
                          {"number": "D128", "key": ASCII_KEYS[128]}]) as st:
        c = st.conn()
        c.send(v.cid(51, "C128", "1121 01 003", key=wrong))
        v.expect_duh(c.recv_frame(), 51, "C128")
        c.send(v.cid(52, "D128", "1121 01 003"))  # clear frame, keyed account: no downgrade
        v.expect_duh(c.recv_frame(), 52, "D128")
        # Truncated ciphertext (not whole blocks, CRC recomputed): DUH, not a crash.
        good = v.cid(53, "C128", "1130 01 001", key=key)
        body = good[9:-1]
        v_trunc = v.wrap(body[:-6])
        c.send(v_trunc)
        r = c.recv_frame(timeout=1.5)
        if r is not None:
            rr = v.Reply(r)
            assert rr.token != "ACK", "truncated ciphertext was ACKed: %r" % r
        # The right key still works on the same connection.
        c.send(v.cid(54, "C128", "1130 01 001", key=key))
        v.expect_ack(c.recv_frame(), 54, "C128", key=key)
        c.close()
        time.sleep(0.3)
        al = st.alarms()
        for acct in ("C128", "D128"):
            a = [x for x in al if str(x["account"]).upper() == acct and int(x["priority"]) == 4]
            assert a, "%s: a refused frame (wrong key / clear for keyed) must raise a " \
                      "priority-4 alarm: %r" % (acct, al)
        keys = v.event_keys(st.events("C128")) | v.event_keys(st.events("D128"))
        assert ("C128", 54) in keys
        log = st.log_text()
        assert ASCII_KEYS[128] not in log and wrong.decode() not in log, "a key appeared in the log"


def store_bytes(st):
    data = b""
    for ext in ("", "-wal"):
        try:
            with open(st.store + ext, "rb") as f:
                data += f.read()
        except OSError:
            pass
    return data


def test_keys_sealed_at_rest(args):
    key = ASCII_KEYS[256].encode()
    hexkey = bytes.fromhex(HEX_KEYS[192])
    st = v.Station(args, name="sealed")
    try:
        st.add_account("5EA1", key=ASCII_KEYS[256])
        st.add_account("5EA2", key_hex=HEX_KEYS[192])
        assert os.path.exists(st.store + ".keys"), "no key store beside the store"
        assert os.stat(st.store + ".keys").st_mode & 0o077 == 0, "key store open to others"
        raw = store_bytes(st)
        assert key not in raw and hexkey not in raw, "an account key is in the store in the clear"
        # a store from before sealing: a key written in the clear by hand
        db = sqlite3.connect(st.store)
        db.execute("INSERT INTO accounts (number, name, key, created_at_ms, updated_at_ms)"
                   " VALUES ('5EA3', 'legacy', ?, 0, 0)", (hexkey,))
        db.commit()
        db.close()
        st.start()
        for acct, k in (("5EA1", key), ("5EA2", hexkey), ("5EA3", hexkey)):
            v.expect_ack(st.exchange(v.cid(11, acct, "1130 01 001", key=k)), 11, acct, key=k)
        assert "1 account keys stored in the clear were sealed" in st.log_text()
        assert st.stop() == 0
        raw = store_bytes(st)
        assert hexkey not in raw, "the hand-written clear key was not sealed"
        print("keys sealed; the clear one sealed at start; all three panels served")

        # the key store replaced: refuse to start, name the file
        ks = st.store + ".keys"
        os.rename(ks, ks + ".orig")
        p = subprocess.run([args.station, "-c", st.conf], capture_output=True, text=True,
                           timeout=20)
        assert p.returncode == 1 and "does not exist" in p.stderr and ks in p.stderr, \
            "missing key store: exit %d %r" % (p.returncode, p.stderr)
        assert not os.path.exists(ks), "a new key store was made for a sealed store"
        with open(ks, "w") as f:
            f.write("vigil-key-store 1\n" + "ab" * 32 + "\n")
        os.chmod(ks, 0o600)
        p = subprocess.run([args.station, "-c", st.conf], capture_output=True, text=True,
                           timeout=20)
        assert p.returncode == 1 and "do not open" in p.stderr, \
            "wrong key store: exit %d %r" % (p.returncode, p.stderr)
        os.replace(ks + ".orig", ks)
        st.start()
        v.expect_ack(st.exchange(v.cid(12, "5EA1", "1130 01 001", key=key)), 12, "5EA1", key=key)
        assert st.stop() == 0
        print("missing key store: exit 1, none made; wrong one: exit 1; restored: served")
    except BaseException:
        print(st.log_text()[-3000:])
        raise
    finally:
        st.cleanup()


if __name__ == "__main__":
    v.run_cases([test_helper_matches_vectors, test_every_key_size, test_keys_sealed_at_rest,
                 test_wrong_key_and_clear_for_keyed])
