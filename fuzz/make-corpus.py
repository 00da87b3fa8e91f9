#!/usr/bin/python3
"""Writes fuzz/corpus/dc09/: seeds for fuzz_dc09 (see its header for the
3-byte prefix). Sources: every row of tests/data/dc09-vectors.tsv, streams
of several frames with garbage between them, an oversize line, the Eldes
and binary-CRC quirk forms, and encrypted frames (AES-128/192/256: CID, SIA,
NULL, *ACK) made here with Cryptodome. Deterministic: re-running it gives the
same files. Run: /usr/bin/python3 fuzz/make-corpus.py"""
import hashlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "integration", "cli"))
import dc09py  # noqa: E402

OUT = os.path.join(HERE, "corpus", "dc09")
KEYS = {"0123456789ABCDEF": 1, "0123456789ABCDEF01234567": 2,
        "0123456789ABCDEF0123456789ABCDEF": 3, "AAAAAAAAAAAAAAAA": 4}
Q = {"binary-crc": 1, "crc-with-cr": 2, "bare-l": 4, "pad-no-bar": 8, "no-data-account": 16,
     "ignore-length": 32, "no-line": 64}
NOW = "_13:09:28,11-26-2026"   # FUZZ_NOW_S in fuzz_dc09.c
WINDOW = 8


def seed(sel, quirks, split, data: bytes):
    blob = bytes([sel, quirks, split]) + data
    name = hashlib.sha1(blob).hexdigest()[:16]
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(blob)


def lf(frame: str) -> bytes:
    return b"\n" + frame.encode("latin-1") + b"\r"


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.unlink(os.path.join(OUT, f))
    rows = []
    with open(os.path.join(SRC, "tests", "data", "dc09-vectors.tsv"), encoding="latin-1") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            body, key, fields = line.rstrip("\n").split("\t")
            q = 0
            if 'bare "L"' in fields:
                q |= Q["bare-l"]
            if 'NO "|" pad terminator' in fields:
                q |= Q["pad-no-bar"]
            if "len=WRONG" in fields:
                q |= Q["ignore-length"]
            if "[|" in body or "#AAA[N" in body:
                q |= Q["no-data-account"]
            sel = KEYS.get(key, 0)
            if "crc=absent" in fields:   # Eldes: CRC over body + CR
                seed(sel, Q["crc-with-cr"], 1, lf("BCD3%04X%s" % (len(body), body)))
                continue
            rows.append(body)
            seed(sel, q, 7, lf(body))
            seed(sel, 0, 3, lf(body))
    # a stream: several clear frames, garbage between, split in many ways
    clear = [r for r in rows if '"*' not in r]
    stream = b"junk" + b"".join(lf(r) + b"\r\n" for r in clear[:6]) + b"\x00\xff" + lf(clear[-1])
    for split in (1, 2, 200):
        seed(0, 0, split, stream)
    seed(16, 0, 5, b"\n" + b"9" * 300 + b"\r" + lf(clear[0]))   # oversize in a 64-byte reader
    seed(0, 0, 9, b"\n" + b"7" * 1100 + b"\r" + lf(clear[1]))   # oversize in a full reader
    # binary CRC: two CRC bytes, big-endian, then the length
    body = '"ADM-CID"0001R0L0#1234[#1234|1121 01 001]' + NOW
    crc = dc09py.crc16_arc(body.encode())
    seed(0, Q["binary-crc"], 4, b"\n" + bytes([crc >> 8, crc & 0xFF]) +
         ("%04X" % len(body)).encode() + body.encode() + b"\r")
    # encrypted frames made here (fixed pad so the files are deterministic)
    for key, sel in KEYS.items():
        if sel == 4:
            continue
        k = key.encode()
        for tok, data in (("ADM-CID", "#1234|1121 01 003"), ("SIA-DCS", "#1234|Nri1/HA003"),
                          ("NULL", "")):
            region = data + "]" + NOW
            hx = dc09py.encrypt_region(k, region, pad_byte="q")
            frame = dc09py.wrap('"*%s"0009R1L0#1234[%s' % (tok, hx))
            seed(sel | WINDOW, 0, 6, lf(frame))
            seed(sel, 0, 2, lf(frame))
        hx = dc09py.encrypt_region(k, "]" + NOW, pad_byte="z")
        seed(sel, 0, 8, lf(dc09py.wrap('"*ACK"0009R1L0#1234[%s' % hx)))
        region = "#1234|1121 01 003][M0026B9E4268B][RLiving]" + NOW
        seed(sel, 0, 11, lf(dc09py.wrap('"*ADM-CID"0010L0#1234[%s' % dc09py.encrypt_region(k, region))))
    # no L token (outside diallers), with and without the no-line quirk
    for q in (Q["no-line"], 0, Q["no-line"] | Q["bare-l"]):
        seed(0, q, 5, lf(dc09py.wrap('"ADM-CID"0001#1234[#1234|1121 01 003]' + NOW)))
        seed(0, q, 6, lf(dc09py.wrap('"SIA-DCS"0002R1#1234[#1234|Nri1/HA003]' + NOW)))
    # replies
    seed(0, 0, 1, lf(dc09py.wrap('"NAK"0000R0L0A0[]' + NOW)))
    seed(0, 0, 1, lf(dc09py.wrap('"DUH"0009R1L0#1234[]')))
    # payloads alone, for the codecs
    for p in ("1121 01 003", "112101003", "Nri1/HA003", "Nri1BA503^Volum.Taverna ^",
              "Nti19:44/id1/RP", "13:09:28,11-26-2026"):
        seed(0, 0, 0, p.encode())
    print("%d seeds in %s" % (len(os.listdir(OUT)), OUT))


if __name__ == "__main__":
    main()
