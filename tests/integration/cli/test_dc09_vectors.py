#!/usr/bin/python3
"""vigil dc09 decode against tests/data/dc09-vectors.tsv (real panels' frames).

Every whole row (crc=ok, len=ok) decodes as its fields say, quirk rows with
their quirk; rows whose only fault is a stale length decode with
--quirk ignore-length and are refused without it; payload-only rows (CRC
stale) are refused with error crc/length; the Eldes body decodes with
--quirk crc-with-cr; the window refuses the old timestamps by default.
Header fields (seq, receiver, line) are also read from the body by an
independent regex (dc09py.HEAD_RE)."""
import json
import os

from common import check, finish, run, source_dir, one_line_error
import dc09py

# Rows whose fields pysiaalarm could not give: what the frames say, read by hand.
HAND = {
    # bare "L" rows: SIA DC-03 "NBA4" = burglary zone 4, "NCQ1" = remote closing zone 1
    "CEF0003F": {"id": "SIA-DCS", "account": "7303658550", "sia": {"code": "BA", "zone": 4},
                 "timestamp": "2019-05-07T11:52:09Z"},
    "78FC003B": {"id": "SIA-DCS", "account": "22334455", "sia": {"code": "CQ", "zone": 1},
                 "timestamp": "2020-02-09T14:33:53Z"},
    # "Nti19:44/id1/RP": time 19:44, user 1, code RP, no zone
    "1908002B": {"sia": {"code": "RP", "user": 1, "time": "19:44", "zone": None}},
}


def load_rows():
    path = os.path.join(source_dir(), "tests", "data", "dc09-vectors.tsv")
    rows = []
    with open(path, encoding="latin-1") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            body, key, fields = line.split("\t")
            main = fields.split(", src=")[0]
            fd = {}
            for part in main.split(", "):
                if "=" in part:
                    k, v = part.split("=", 1)
                    fd[k] = v
            exp = fields.split("[expected: ")
            if len(exp) > 1:   # "[expected: type=ACK, seq=0000, line=L0, account=1409, ...]"
                for part in exp[1].rstrip("]").split(", "):
                    if "=" in part:
                        k, v = part.split("=", 1)
                        fd.setdefault(k, v)
            rows.append((body, key, fd, fields))
    return rows


def quirks_for(body, fields):
    q = []
    if 'bare "L"' in fields:
        q.append("bare-l")
    if 'NO "|" pad terminator' in fields:
        q.append("pad-no-bar")
    return q


def expect_sia(fd):
    """SIA fields from the vector's code/ri/msg: msg is zone digits, then optional ^text^."""
    s = {"code": fd["code"]}
    if "ri" in fd:
        s["area"] = int(fd["ri"])
    msg = fd.get("msg", "")
    digits = msg.split("^")[0]
    if digits.isdigit():
        s["zone"] = int(digits)
    if "^" in msg:
        s["text"] = msg.split("^")[1]
    return s


def compare(label, got, body, key, fd):
    m = dc09py.HEAD_RE.match(body[8:])
    check(m is not None, label + ": test regex cannot read the header")
    if not check(got.get("ok") is True, "%s: ok:true expected, got %r" % (label, got)):
        return
    check(got["id"] == m["id"], "%s: id %r != %r" % (label, got["id"], m["id"]))
    check(got["encrypted"] == (m["star"] == "*"), label + ": encrypted")
    check(got["seq"] == int(m["seq"]), label + ": seq")
    check(got["receiver"] == m["rcv"], "%s: receiver %r != %r" % (label, got["receiver"], m["rcv"]))
    check(got["line"] == m["line"], "%s: line %r != %r" % (label, got["line"], m["line"]))
    check(got["account"] == m["acct"], label + ": account")
    if "type" in fd:
        check(got["id"] == fd["type"], "%s: id %r != type %r" % (label, got["id"], fd["type"]))
    if "account" in fd:
        check(got["account"] == fd["account"], label + ": account field")
    if "line" in fd:
        check("L" + got["line"] == fd["line"], label + ": line field")
    if "ts" in fd:
        check(got["timestamp"] == dc09py.iso(fd["ts"]),
              "%s: timestamp %r != %r" % (label, got["timestamp"], fd["ts"]))
    elif "timestamp" not in HAND.get(body[:8], {}):
        check(got["timestamp"] is None, label + ": no timestamp expected")
    xd = []
    if "xdata" in fd:
        xd = [{"type": fd["xdata"][0], "value": fd["xdata"][1:]}]
    check(got["xdata"] == xd, "%s: xdata %r != %r" % (label, got["xdata"], xd))
    if got["id"] == "ADM-CID" and "event" in fd:
        exp = {"qualifier": int(fd["q"]), "event": int(fd["event"]),
               "partition": int(fd["part"]), "zone": int(fd["ri"])}
        c = got.get("cid")
        check(c is not None and all(c[k] == v for k, v in exp.items()),
              "%s: cid %r != %r" % (label, c, exp))
    if got["id"] == "SIA-DCS" and "code" in fd:
        exp = expect_sia(fd)
        s = got.get("sia")
        check(s is not None and all(s.get(k) == v for k, v in exp.items()),
              "%s: sia %r != %r" % (label, s, exp))
    if got["id"] == "SIA-DCS" and "code" not in fd and body[:8] not in HAND:
        # "|0|NRP": not a SIA DC-03 event; decoded, payload kept, no sia object
        check("sia" not in got, "%s: no sia expected, got %r" % (label, got.get("sia")))
    if "msg" in fd and got["id"] == "NULL":
        check(got["payload"] == fd["msg"], "%s: payload %r != %r" % (label, got["payload"], fd["msg"]))
    if "msg" in fd and "code" not in fd and got["id"] == "SIA-DCS":
        check(got["payload"] == fd["msg"], "%s: payload %r" % (label, got["payload"]))
    for k, v in HAND.get(body[:8], {}).items():
        if isinstance(v, dict):
            sub = got.get(k) or {}
            check(all(sub.get(kk) == vv for kk, vv in v.items()),
                  "%s: %s %r != %r" % (label, k, sub, v))
        else:
            check(got.get(k) == v, "%s: %s %r != %r" % (label, k, got.get(k), v))


def decode(body, key, quirks, window=False, extra=()):
    args = ["dc09", "decode"]
    if not window:
        args.append("--no-time-window")
    if key:
        args += ["--key", key]
    for q in quirks:
        args += ["--quirk", q]
    args += list(extra)
    rc, out, err = run(args, (body + "\n").encode("latin-1"))
    lines = out.splitlines()
    got = json.loads(lines[0]) if len(lines) == 1 else {"ok": None, "raw": out}
    return rc, got, err


def main():
    rows = load_rows()
    whole = [r for r in rows if "crc=ok" in r[3] and "len=ok" in r[3]]
    check(len(whole) >= 18, "expected at least 18 whole rows, found %d" % len(whole))
    n = 0
    for body, key, fd, fields in whole:
        label = "row " + body[:8]
        q = quirks_for(body, fields)
        rc, got, err = decode(body, key, q)
        check(rc == 0, "%s: exit %d (%s)" % (label, rc, err.strip()))
        compare(label, got, body, key, fd)
        n += 1
        if q:   # strict, a quirk row is refused
            rc, got, err = decode(body, key, [])
            check(rc == 2 and got.get("ok") is False,
                  "%s: strict decode should refuse (exit %d, %r)" % (label, rc, got))
        if "ts" in fd or "timestamp" in HAND.get(body[:8], {}):   # the window is on by default: these timestamps are old
            rc, got, err = decode(body, key, q, window=True)
            check(rc == 2 and got.get("ok") is False and got.get("error") == "time",
                  "%s: default window should refuse with time (exit %d, %r)" % (label, rc, got))

    # CRC ok, length stale: refused strictly, decoded with ignore-length
    stale = [r for r in rows if "crc=ok" in r[3] and "len=WRONG" in r[3]]
    check(len(stale) >= 4, "expected 4 stale-length rows")
    for body, key, fd, fields in stale:
        label = "stale-length row " + body[:8]
        rc, got, err = decode(body, key, [])
        check(rc == 2 and got.get("error") == "length", "%s: strict: %r" % (label, got))
        q = ["ignore-length"] + (["no-data-account"] if "[|" in body else [])
        rc, got, err = decode(body, key, q)
        check(rc == 0, "%s: exit %d with %s (%s)" % (label, rc, q, err.strip()))
        compare(label, got, body, key, fd)
        n += 1

    # CRC stale: refused, error crc or length (either is checked first), exit 2
    stale_crc = [r for r in rows if "crc=MISMATCH" in r[3]]
    for body, key, fd, fields in stale_crc:
        rc, got, err = decode(body, key, [])
        check(rc == 2 and got.get("ok") is False and got.get("error") in ("crc", "length")
              and got.get("detail"), "crc-stale row %s: %r" % (body[:8], got))
        one_line_error(err, "crc-stale row " + body[:8])
        n += 1

    # Eldes: CRC over body + CR (sent CRC BCD3); the vectors give the body only
    eldes = [r for r in rows if "crc=absent" in r[3]]
    check(len(eldes) == 1, "one Eldes row expected")
    for body, key, fd, fields in eldes:
        frame = "BCD3%04X%s" % (len(body), body)
        rc, got, err = decode(frame, key, [])
        check(rc == 2 and got.get("error") == "crc", "Eldes strict should be crc: %r" % got)
        rc, got, err = decode(frame, key, ["crc-with-cr"])
        check(rc == 0, "Eldes with crc-with-cr: exit %d %s" % (rc, err))
        compare("Eldes", got, frame, key, fd)
        n += 1

    # Many frames in one run: one JSON line each, in order; exit 2 because one is bad
    plain = [r for r in whole if not r[1] and not quirks_for(r[0], r[3])]
    stream = "".join(b + "\r\n" for b, _, _, _ in plain) + "garbage\n"
    rc, out, err = run(["dc09", "decode", "--no-time-window"], stream.encode("latin-1"))
    lines = [json.loads(x) for x in out.splitlines()]
    check(len(lines) == len(plain) + 1, "stream: %d lines for %d frames" % (len(lines), len(plain) + 1))
    check(all(x["ok"] for x in lines[:-1]) and lines[-1]["ok"] is False, "stream: oks")
    want = [int(dc09py.HEAD_RE.match(b[8:])["seq"]) for b, _, _, _ in plain]
    check([x.get("seq") for x in lines[:-1]] == want, "stream: frames out of order")
    check(rc == 2, "stream with one bad frame: exit %d, expected 2" % rc)

    # Oversize line: error oversize, and decoding goes on with the next line
    big = "9" * 5000 + "\n" + whole[1][0] + "\n"
    rc, out, err = run(["dc09", "decode", "--no-time-window"], big.encode())
    lines = [json.loads(x) for x in out.splitlines()]
    check(len(lines) == 2 and lines[0].get("error") == "oversize" and lines[1]["ok"] is True,
          "oversize then a good frame: %r" % lines)

    # Raw LF..CR input (what `encode --raw` writes) decodes too
    rawin = "".join("\n" + b + "\r" for b, _, _, _ in plain[:3])
    rc, out, err = run(["dc09", "decode", "--no-time-window"], rawin.encode())
    check(rc == 0 and len(out.splitlines()) == 3, "raw LF..CR input: rc %d, %r" % (rc, out))
    # --stream: the same frames as one byte stream with garbage between them, cut by the
    # library's reader: the same JSON as line by line
    rc1, lines_out, _ = run(["dc09", "decode", "--no-time-window"],
                            "".join(b + "\n" for b, _, _, _ in plain).encode("latin-1"))
    wire = b"noise" + b"".join(b"\n" + b.encode("latin-1") + b"\r" + b"\x00junk" for b, _, _, _ in plain)
    rc2, stream_out, err = run(["dc09", "decode", "--no-time-window", "--stream"], wire)
    check(rc1 == 0 and rc2 == 0 and stream_out == lines_out and len(stream_out.splitlines()) == len(plain),
          "--stream gives the same JSON as lines: rc %d/%d %s" % (rc1, rc2, err))

    # --stream --quirk binary-crc: two binary CRC bytes (big-endian), found by the reader
    # through the length field even when a CRC byte is CR or LF
    hit = None
    for seq in range(1, 10000):
        body = '"ADM-CID"%04dR0L0#1234[#1234|1121 01 003]_13:09:28,11-26-2026' % seq
        crc = dc09py.crc16_arc(body.encode())
        if (crc >> 8) in (0x0A, 0x0D) or (crc & 0xFF) in (0x0A, 0x0D):
            hit = (seq, body, crc)
            break
    check(hit is not None, "a sequence whose CRC holds a CR or LF byte")
    seq, body, crc = hit
    framebin = b"\n" + bytes([crc >> 8, crc & 0xFF]) + ("%04X" % len(body)).encode() + body.encode() + b"\r"
    rc, out, err = run(["dc09", "decode", "--no-time-window", "--stream", "--quirk", "binary-crc"],
                       b"xx" + framebin + framebin)
    got = [json.loads(x) for x in out.splitlines()]
    check(rc == 0 and len(got) == 2 and all(g["ok"] and g["seq"] == seq and g["cid"]["zone"] == 3
                                            for g in got),
          "binary CRC %04X (seq %d) via --stream: rc %d %r %s" % (crc, seq, rc, got, err))
    rc, out, err = run(["dc09", "decode", "--no-time-window", "--stream"], framebin)
    check(rc == 2 or out == "", "binary CRC without the quirk is not accepted: %r" % out)
    # --stream oversize: reported, then the next frame decodes
    rc, out, err = run(["dc09", "decode", "--no-time-window", "--stream"],
                       b"\n" + b"7" * 3000 + b"\r" + b"\n" + plain[0][0].encode() + b"\r")
    got = [json.loads(x) for x in out.splitlines()]
    check(rc == 2 and len(got) == 2 and got[0].get("error") == "oversize" and got[1]["ok"],
          "--stream oversize then a frame: %r" % got)
    finish("vectors: %d rows decoded and compared" % n)


if __name__ == "__main__":
    main()
