#!/usr/bin/python3
"""Writes the seed corpora of fuzz_conf, fuzz_stream and fuzz_ctl (see each
target's header for its input form). Deterministic: re-running it gives the
same files. pnl_load/ and comm_load/ come from records the real code writes:
build/fuzz/fuzz_seeds fuzz/corpus. dc09/: fuzz/make-corpus.py.
Run: /usr/bin/python3 fuzz/make-seeds.py"""
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "integration", "cli"))
import dc09py  # noqa: E402

NOW = "_13:09:28,11-26-2026"   # NOW_S of fuzz_stream.c
OLD = "_10:00:00,01-01-2020"   # outside any window


def reset(name):
    out = os.path.join(HERE, "corpus", name)
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        os.unlink(os.path.join(out, f))
    return out


def seed(out, blob: bytes):
    with open(os.path.join(out, hashlib.sha1(blob).hexdigest()[:16]), "wb") as f:
        f.write(blob)


# ---- fuzz_conf: byte 0 = mode (bit 0 local table, bit 1 through a file, bit 2 folder)

def conf():
    out = reset("conf")
    with open(os.path.join(SRC, "packaging", "vigil-station.conf"), "rb") as f:
        example = f.read()
    minimal = b"store sqlite:station.db\n"
    full = (b"# a station\n"
            b"store sqlite:/var/lib/vigil/station.db\n"
            b"dc09_listen 0.0.0.0:3061\ndc09_listen [::1]:3062\n"
            b"key_store_file keys/station.keys\n"
            b"control_socket run/ctl.sock\n"
            b"log_level debug\n"
            b"max_connections 5000   # inline comment\n"
            b"\tframe_bytes_max\t1024\r\n"
            b"station_name Zq9SecretStation\n")
    for mode in (0, 2, 4, 6):
        for text in (example, minimal, full):
            seed(out, bytes([mode]) + text)
    bad = [b"store sqlite:\n", b"store postgres://x\n", b"dc09_listen nohost\n",
           b"store sqlite:a\nstore sqlite:b\n", b"unknown_key 1\n", b"store\n",
           b"store sqlite:a\nlog_level loud\n", b"store sqlite:a\nmax_connections -1\n",
           b"store sqlite:a\nmax_connections 99999999999999999999\n",
           b"store sqlite:a\x00hidden\n", b"k\x01ey 1\n", b"store sqlite:a\nstation_name Zq9\x07secret\n",
           b"store sqlite:a\ntls_cert_file c.pem\n", b"x" * 1100 + b"\n",
           b"store sqlite:" + b"p/" * 300 + b"\n"]
    for text in bad:
        seed(out, bytes([0]) + text)
        seed(out, bytes([2]) + text)
    local = [b"s_req x\n", b"s_req x\ni_small 9\ni_neg -1000000\ni_big -9223372036854775808\n"
             b"b off\ns_tiny abcdefg\nlist a\nlist b\ncolour blue\n",
             b"s_req x\ni_small 10\n", b"s_req x\ni_neg -4\n", b"s_req x\ns_tiny abcdefgh\n",
             b"s_req x\ns_tiny a1\n", b"s_req x\n" + b"list a\n" * 9, b"s_req x\ncolour pink\n",
             b"s_req x\nb maybe\n", b"i_small 1\n", b"s_req Zq9secret\ns_big Zq9 " + b"y" * 600 + b"\n",
             b"s_req x\ni_big 9223372036854775808\n", b"  # only a comment\n\n\n"]
    for text in local:
        seed(out, bytes([1]) + text)
        seed(out, bytes([3]) + text)


# ---- fuzz_stream: byte 0 flags (bits 5-6 key of account 4444), byte 1 its quirks, byte 2 split seed

KEYS = {"5678": b"0123456789ABCDEF", "9ABC": b"0123456789ABCDEF0123456789ABCDEF",
        "3333": b"0123456789ABCDEF01234567", "AAAA": b"AAAAAAAAAAAAAAAA"}


def lf(frame: str) -> bytes:
    return b"\n" + frame.encode("latin-1") + b"\r"


def clear(acct, seq=1, data="1121 01 003", tok="ADM-CID", ts=NOW, line="L0"):
    return lf(dc09py.wrap('"%s"%04d%s#%s[#%s|%s]%s' % (tok, seq, line, acct, acct, data, ts)))


def enc(acct, key, seq=1, data="1121 01 003", tok="ADM-CID", ts=NOW, bar=True, dacct=True):
    region = ("#%s|%s" % (acct, data) if dacct else data) + "]" + ts
    hx = dc09py.encrypt_region(key, region, pad_byte="q")
    if not bar:   # Hikvision: the pad without its '|'
        raw = dc09py.aes_cbc(key, bytes.fromhex(hx), True)
        raw = raw.replace(b"|", b"q", 1)
        hx = dc09py.aes_cbc(key, raw, False).hex().upper()
    return lf(dc09py.wrap('"*%s"%04dL0#%s[%s' % (tok, seq, acct, hx)))


def binary(acct, seq=1, data="1121 01 003"):
    body = '"ADM-CID"%04dL0#%s[#%s|%s]%s' % (seq, acct, acct, data, NOW)
    crc = dc09py.crc16_arc(body.encode())
    return b"\n" + bytes([crc >> 8, crc & 0xFF]) + ("%04X" % len(body)).encode() + body.encode() + b"\r"


def binary_with_cr(acct):
    """a binary-CRC frame whose CRC bytes hold CR or LF"""
    for seq in range(1, 9999):
        for z in range(1, 999):
            f = binary(acct, seq, "1130 01 %03d" % z)
            if 0x0D in f[1:3] or 0x0A in f[1:3]:
                return f
    raise SystemExit("no CR in a CRC")


def eldes(acct, seq=1):
    body = '"ADM-CID"%04dL#%s[#%s|1121 01 003]%s' % (seq, acct, acct, NOW)
    crc = dc09py.crc16_arc(body.encode() + b"\r")
    return lf("%04X%04X%s" % (crc, len(body), body))


def stream():
    out = reset("stream")
    frames = [clear("1234"), clear("1234", 2, "Nri1/HA003", "SIA-DCS"), clear("1234", 3, "", "NULL"),
              enc("5678", KEYS["5678"]), enc("5678", KEYS["5678"], 4, "", "NULL"),
              enc("9ABC", KEYS["9ABC"], 5, bar=False), enc("3333", KEYS["3333"], 6, dacct=False),
              binary("1111"), binary_with_cr("1111"), eldes("2222"), binary("AAAA"),
              clear("abcd", 7), clear("5678", 8), clear("1234", 9, ts=OLD),
              enc("5678", KEYS["9ABC"][:16], 10), lf("0000000A\"ADM-CID\"bad"), b"\n\r" * 5,
              clear("5555", 12, line=""), clear("1234", 13, line=""),
              clear("4444"), enc("4444", b"FEDCBA9876543210", 11)]
    for i, f in enumerate(frames):
        for flags in (0, 1, 2, 8 | 4, 16 | 1):
            seed(out, bytes([flags | (0x20 if i == len(frames) - 1 else 0), 0, i]) + f)
    # mixed streams: framing switched by an accepted frame in the middle of a read
    seed(out, bytes([0, 0, 1]) + clear("1111") + binary_with_cr("1111") + clear("1234", 2))
    seed(out, bytes([4, 0, 2]) + clear("1111") + binary_with_cr("1111") + binary("1111", 3))
    seed(out, bytes([1, 0, 3]) + binary("1111") + clear("1234") + binary_with_cr("1111"))
    seed(out, bytes([0, 0x01, 4]) + clear("4444") + binary_with_cr("4444") + clear("4444", 5))
    seed(out, bytes([24, 0x3F, 5]) + b"junk" + b"".join(frames[:8]) + b"\x00\xff" + b"\n" + b"9" * 300)
    seed(out, bytes([2 | 0x40, 0x08, 6]) + b"".join(frames))
    for q in range(128):   # every quirk combination of account 4444 (no-line: bit 6)
        line = "" if q & 64 else ("L" if q & 4 else "L0")
        seed(out, bytes([q & 0x1E, q, q]) + clear("4444", q + 1, line=line) + binary("4444", q + 2))


# ---- fuzz_ctl: byte 0 flags (bit 0 lease check), then request lines

def ctl():
    out = reset("ctl")

    def req(op, alarm=1, who="alice", role="operator", **kw):
        d = {"op": op, "alarm": alarm, "operator": who, "role": role}
        d.update(kw)
        return json.dumps(d, separators=(",", ":"))

    lines = [
        req("take"), req("take", 2, "bob"), req("take", 2, "sup", "supervisor", force=True),
        req("release", 2), req("step", 2, step="call_premises", note="no answer"),
        req("step", 1, step="nope"), req("passcode", 1, result="duress"),
        req("passcode", 1, result="normal"),
        req("dispatch", 1, details="armed man", provider_name="Vigil", callback_phone="+39 02 1"),
        req("psap", 3, status="accepted", event_number="E-1"),
        req("psap", 3, status="rejected", reason="too_old"),
        req("psap", 3, status="cancel_requested"), req("psap", 3, status="closed", disposition="x"),
        req("close", 2, disposition="false_user_error", note="cat"),
        req("close", 2, disposition="real_emergency", override=True, role="supervisor"),
        req("close", 5, disposition="test"), req("take", 6), req("take", 99),
        req("take", 4, role="viewer"), req("lease_expired"), req("fly"),
        json.dumps({"op": "account_create", "number": "9999", "name": "Nuovo", "operator": "sup",
                    "role": "supervisor", "address": "Via 3", "phone": "123"}),
        json.dumps({"op": "account_create", "number": "1234", "name": "dup", "operator": "sup",
                    "role": "supervisor"}),
        json.dumps({"op": "account_create", "number": "abc", "name": "lower", "operator": "o",
                    "role": "operator"}),
        '{"op":"take","alarm":-1,"operator":"a","role":"operator"}',
        '{"op":"take","alarm":"1","operator":"a","role":"operator"}',
        '{"op":"take","alarm":1,"operator":"' + "n" * 200 + '","role":"operator"}',
        '{"op":"take","alarm":1,"operator":"a","role":"operator"', "not json", "[]", "{}",
        '{"op":"take","alarm":1e3,"operator":"a","role":"operator"}',
    ]
    for i, line in enumerate(lines):
        seed(out, bytes([i & 1]) + line.encode())
    # sequences on one alarm, in one batch
    seqs = [[req("take", 1), req("step", 1, step="call_premises"), req("passcode", 1, result="duress"),
             req("dispatch", 1, details="d"), req("psap", 1, status="accepted", event_number="7"),
             req("psap", 1, status="dispatched"), req("psap", 1, status="arrived"),
             req("close", 1, disposition="real_emergency", override=True, role="supervisor")],
            [req("take", 7, "alice"), req("take", 7, "sup", "supervisor", force=True),
             req("release", 7, "sup", "supervisor"), req("close", 7, disposition="test")],
            [req("take", 4), req("dispatch", 4), req("psap", 4, status="cancel_requested"),
             req("close", 4, disposition="cancelled_after_dispatch")]]
    for k, s in enumerate(seqs):
        seed(out, bytes([k & 1]) + "\n".join(s).encode())


def main():
    which = sys.argv[1:] or ["conf", "stream", "ctl"]
    for w in which:
        {"conf": conf, "stream": stream, "ctl": ctl}[w]()
        print("%s: %d seeds" % (w, len(os.listdir(os.path.join(HERE, "corpus", w)))))


if __name__ == "__main__":
    main()
