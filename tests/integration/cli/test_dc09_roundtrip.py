#!/usr/bin/python3
"""vigil dc09 encode -> decode round trips (CID, SIA, NULL; clear and
AES-128/192/256 with --key, --key-hex, --key-file, --key-hex-file), exact
bytes against the vectors' GENERATED row, and an independent check with
Cryptodome that our encrypted frames are the standard's: CRC and length over
the hex text, zero-IV AES-CBC, a pad of >= 8 bytes free of | [ ], then
'|#acct|payload]_timestamp'."""
import json
import os
import tempfile
import time

from common import check, finish, run
import dc09py

KEYS = {16: "0123456789ABCDEF", 24: "0123456789ABCDEF01234567",
        32: "0123456789ABCDEF0123456789ABCDEF"}
T_ISO = "2026-11-26T13:09:28Z"

KINDS = [
    ("cid", ["--cid", "1121 01 003"], "#1234|1121 01 003",
     lambda g: g.get("cid") == {"qualifier": 1, "event": 121, "partition": 1, "zone": 3,
                                "description": g["cid"].get("description"),
                                "sia_code": g["cid"].get("sia_code")}),
    ("cid-compact", ["--cid", "112101003"], "#1234|1121 01 003",
     lambda g: g.get("cid", {}).get("zone") == 3),
    ("sia", ["--sia", "Nri1/HA003"], "#1234|Nri1/HA003",
     lambda g: g.get("sia", {}).get("code") == "HA" and g["sia"].get("area") == 1
     and g["sia"].get("zone") == 3),
    ("null", ["--null"], "", lambda g: "cid" not in g and "sia" not in g),
]


def key_args(tmp, size, form):
    k = KEYS[size]
    if form == "key":
        return ["--key", k]
    if form == "key-hex":
        return ["--key-hex", k.encode().hex().upper()]
    path = os.path.join(tmp, "k-%d-%s" % (size, form))
    with open(path, "w") as f:
        f.write((k if form == "key-file" else k.encode().hex()) + "\n")
    os.chmod(path, 0o600)
    return ["--" + form, path]


def independent_decrypt(frame, key, expect_region):
    """Checks an encrypted frame with nothing but the standard and Cryptodome."""
    body = dc09py.check_wrapped(frame)
    head, _, hexdata = body.partition("[")
    check(hexdata == hexdata.upper() and len(hexdata) % 32 == 0,
          "ciphertext is uppercase hex, whole blocks: %r" % hexdata)
    plain = dc09py.aes_cbc(key, bytes.fromhex(hexdata), True).decode("latin-1")
    pad, bar, rest = plain.partition("|")
    check(bar == "|", "decrypted region has the mandatory '|': %r" % plain)
    check(len(pad) >= 8, "pad >= 8 bytes: %d" % len(pad))
    check(not any(c in pad for c in "|[]"), "pad free of | [ ]: %r" % pad)
    check(rest == expect_region, "decrypted region %r != %r" % (rest, expect_region))
    return pad


def main():
    n = 0
    tmp = tempfile.mkdtemp(prefix="vigil-rt-")
    ts = dc09py.dc09_time(dc09py.iso_to_unix(T_ISO))

    # Exact bytes: the vectors' GENERATED clear duress row
    rc, out, err = run(["dc09", "encode", "--account", "1234", "--cid", "1121 01 001", "--seq", "1",
                        "--receiver", "0", "--line", "0", "--time", T_ISO])
    check(rc == 0 and out == '9821003D"ADM-CID"0001R0L0#1234[#1234|1121 01 001]_13:09:28,11-26-2026\n',
          "GENERATED row bytes: rc %d %r %s" % (rc, out, err))
    rc, raw, err = run(["dc09", "encode", "--account", "1234", "--cid", "1121 01 001", "--seq", "1",
                        "--receiver", "0", "--time", T_ISO, "--raw"])
    check(rc == 0 and raw == "\n" + out[:-1] + "\r", "--raw is LF + frame + CR: %r" % raw)

    for ki, (kname, kargs, region_data, payload_ok) in enumerate(KINDS):
        # clear
        args = ["dc09", "encode", "--account", "1234", "--seq", "42", "--receiver", "12AB",
                "--line", "3", "--time", T_ISO, "--xdata", "M0026B9E4268B"] + kargs
        rc, out, err = run(args)
        if not check(rc == 0, "%s clear encode: %d %s" % (kname, rc, err)):
            continue
        frame = out.rstrip("\n")
        body = dc09py.check_wrapped(frame)
        idtok = {"cid": "ADM-CID", "cid-compact": "ADM-CID", "sia": "SIA-DCS", "null": "NULL"}[kname]
        check(body == '"%s"0042R12ABL3#1234[%s][M0026B9E4268B]%s' % (idtok, region_data, ts),
              "%s clear body %r" % (kname, body))
        rc, dout, err = run(["dc09", "decode", "--no-time-window"], out.encode())
        g = json.loads(dout)
        check(rc == 0 and g["ok"] and g["id"] == idtok and not g["encrypted"] and g["seq"] == 42
              and g["receiver"] == "12AB" and g["line"] == "3" and g["account"] == "1234"
              and g["timestamp"] == T_ISO and payload_ok(g)
              and g["xdata"] == [{"type": "M", "value": "0026B9E4268B"}],
              "%s clear round trip: %r" % (kname, g))
        n += 1

        # encrypted, every key size and key form
        forms = ("key", "key-hex", "key-file", "key-hex-file")
        for si, size in enumerate((16, 24, 32)):
            # every key form meets every key size over the kinds (keeps the test fast)
            for form in (forms[(ki + si) % 4], forms[(ki + si + 2) % 4]):
                label = "%s AES-%d %s" % (kname, size * 8, form)
                rc, out, err = run(["dc09", "encode", "--account", "1234", "--seq", "7",
                                    "--time", T_ISO] + kargs + key_args(tmp, size, form))
                if not check(rc == 0, "%s encode: %d %s" % (label, rc, err)):
                    continue
                frame = out.rstrip("\n")
                check(KEYS[size] not in out + err, label + ": key printed")
                check(dc09py.HEAD_RE.match(frame[8:])["star"] == "*", label + ": '*' token")
                independent_decrypt(frame, KEYS[size].encode(), region_data + "]" + ts)
                # decode with another key form of the same key
                other = "key-hex" if form.startswith("key") and "hex" not in form else "key"
                rc, dout, err = run(["dc09", "decode", "--no-time-window"]
                                    + key_args(tmp, size, other), out.encode())
                g = json.loads(dout) if dout else {}
                check(rc == 0 and g.get("ok") and g["encrypted"] and g["id"] == idtok
                      and g["seq"] == 7 and g["line"] == "0" and g["receiver"] is None
                      and g["timestamp"] == T_ISO and payload_ok(g),
                      "%s round trip: rc %d %r %s" % (label, rc, g, err))
                n += 1
            # wrong key: refused as decrypt/pad, exit 2
            wrong = "F" * size
            rc, dout, err = run(["dc09", "decode", "--no-time-window", "--key", wrong], out.encode())
            g = json.loads(dout)
            check(rc == 2 and g["ok"] is False and g["error"] in ("decrypt", "pad", "format"),
                  "%s AES-%d wrong key: %r" % (kname, size * 8, g))
            # no key: refused
            rc, dout, err = run(["dc09", "decode", "--no-time-window"], out.encode())
            check(rc == 2 and json.loads(dout)["ok"] is False, "%s: encrypted without key" % kname)

    # Two encryptions of one event differ (fresh random pad, zero IV)
    a = run(["dc09", "encode", "--account", "1234", "--cid", "1121 01 003", "--time", T_ISO,
             "--key", KEYS[16]])[1]
    b = run(["dc09", "encode", "--account", "1234", "--cid", "1121 01 003", "--time", T_ISO,
             "--key", KEYS[16]])[1]
    check(a != b and a[8:30] == b[8:30], "two encryptions of one event differ in ciphertext")

    # Default time is now; the default window accepts a fresh frame, clear and encrypted
    for extra in ([], ["--key", KEYS[16]]):
        rc, out, err = run(["dc09", "encode", "--account", "ABC", "--cid", "1121 01 003"] + extra)
        rc2, dout, err2 = run(["dc09", "decode"] + extra, out.encode())
        g = json.loads(dout)
        now = time.time()
        check(rc == 0 and rc2 == 0 and g["ok"] and abs(dc09py.iso_to_unix(g["timestamp"]) - now) < 30,
              "default --time now within the window: %r %s" % (g, err2))
        n += 1

    # --time none: clear frame without a timestamp
    rc, out, err = run(["dc09", "encode", "--account", "ABC", "--null", "--time", "none", "--seq", "0"])
    check(rc == 0 and dc09py.check_wrapped(out.strip()) == '"NULL"0000L0#ABC[]', "--time none: %r" % out)

    # A key for the account refuses its clear frames (no downgrade)
    rc, out, err = run(["dc09", "encode", "--account", "1234", "--cid", "1121 01 003"])
    rc, dout, err = run(["dc09", "decode", "--key", KEYS[16]], out.encode())
    g = json.loads(dout)
    check(rc == 2 and g["ok"] is False, "clear frame with --key is refused: %r" % g)
    finish("round trips: %d" % n)


if __name__ == "__main__":
    main()
