#!/usr/bin/python3
"""vigil dc09: bad input and usage exit 2 with one clear 'vigil: ...' line on
stderr and nothing on stdout; a key never appears in any output."""
import os
import tempfile

from common import check, finish, run, one_line_error

SECRET = "SECRETKEY1234567"   # 16 ASCII chars: a valid AES-128 key
BAD = [
    (["dc09"], "no verb"),
    (["dc09", "frobnicate"], "unknown verb"),
    (["dc09", "encode", "--cid", "1121 01 003"], "no account"),
    (["dc09", "encode", "--account", "12", "--cid", "1121 01 003"], "short account"),
    (["dc09", "encode", "--account", "12G4", "--cid", "1121 01 003"], "non-hex account"),
    (["dc09", "encode", "--account", "1234"], "no payload kind"),
    (["dc09", "encode", "--account", "1234", "--cid", "1121 01 003", "--null"], "two kinds"),
    (["dc09", "encode", "--account", "1234", "--cid", "1121 1 3"], "bad cid"),
    (["dc09", "encode", "--account", "1234", "--cid", "7121 01 003"], "bad cid qualifier"),
    (["dc09", "encode", "--account", "1234", "--sia", "hello"], "bad sia"),
    (["dc09", "encode", "--account", "1234", "--null", "--seq", "10000"], "seq too big"),
    (["dc09", "encode", "--account", "1234", "--null", "--seq", "x"], "seq not a number"),
    (["dc09", "encode", "--account", "1234", "--null", "--receiver", "1234567"], "receiver too long"),
    (["dc09", "encode", "--account", "1234", "--null", "--line", "L0"], "line with L"),
    (["dc09", "encode", "--account", "1234", "--null", "--time", "yesterday"], "bad time"),
    (["dc09", "encode", "--account", "1234", "--null", "--time", "2026-02-30T10:00:00Z"], "bad date"),
    (["dc09", "encode", "--account", "1234", "--null", "--time", "none", "--key", SECRET],
     "encrypted without time"),
    (["dc09", "encode", "--account", "1234", "--null", "--key", SECRET[:10]], "short key"),
    (["dc09", "encode", "--account", "1234", "--null", "--key-hex", "ABC"], "short hex key"),
    (["dc09", "encode", "--account", "1234", "--null", "--key-hex", "Z" * 32], "non-hex key"),
    (["dc09", "encode", "--account", "1234", "--null", "--key", SECRET, "--key-hex", "00" * 16],
     "two keys"),
    (["dc09", "encode", "--account", "1234", "--null", "--key-file", "/nonexistent/k"], "no key file"),
    (["dc09", "encode", "--account", "1234", "--null", "--xdata", "m1"], "bad xdata"),
    (["dc09", "encode", "--account", "1234", "--null", "--bogus"], "unknown option"),
    (["dc09", "encode", "--account", "1234", "--null", "stray"], "stray argument"),
    (["dc09", "encode", "--account"], "missing value"),
    (["dc09", "encode", "--account", "1234", "--null", "--host", "x"], "send option on encode"),
    (["dc09", "decode", "--quirk", "nonsense"], "unknown quirk"),
    (["dc09", "decode", "--key", SECRET[:15]], "decode short key"),
    (["dc09", "send", "--account", "1234", "--null"], "send without host"),
    (["dc09", "send", "--host", "127.0.0.1", "--port", "0", "--account", "1234", "--null"], "port 0"),
    (["dc09", "send", "--host", "127.0.0.1", "--port", "9", "--timeout", "-1",
      "--account", "1234", "--null"], "negative timeout"),
    (["dc09", "send", "--host", "no.such.host.invalid", "--port", "9", "--account", "1234",
      "--null", "--timeout", "2"], "unresolvable host"),
]


def main():
    n = 0
    for args, what in BAD:
        rc, out, err = run(args)
        check(rc == 2, "%s: exit %d, expected 2 (%s)" % (what, rc, err.strip()))
        check(out == "", "%s: nothing on stdout, got %r" % (what, out))
        if args != ["dc09"] and args[1] != "frobnicate":
            one_line_error(err, what)
        check(SECRET not in err and SECRET[:10] not in err, what + ": key in stderr")
        n += 1

    # key files: ASCII with a trailing newline, hex with CRLF; a big file is refused
    tmp = tempfile.mkdtemp(prefix="vigil-usage-")
    big = os.path.join(tmp, "big")
    with open(big, "w") as f:
        f.write("A" * 1000)
    rc, out, err = run(["dc09", "encode", "--account", "1234", "--null", "--key-file", big])
    check(rc == 2 and "too big" in err, "big key file refused: %d %r" % (rc, err))
    crlf = os.path.join(tmp, "crlf")
    with open(crlf, "w") as f:
        f.write(SECRET.encode().hex() + "\r\n")
    rc, out, err = run(["dc09", "encode", "--account", "1234", "--null", "--key-hex-file", crlf])
    check(rc == 0 and SECRET not in out and SECRET.encode().hex() not in out.lower(),
          "hex key file with CRLF: %d %r" % (rc, err))
    n += 2

    # decode: a bad frame is bad input: JSON error on stdout, exit 2, key not echoed
    rc, out, err = run(["dc09", "decode", "--key", SECRET], b"0000000A\"NULL\"0000L0#12[]\n")
    check(rc == 2 and '"ok":false' in out and SECRET not in out + err, "bad frame: %r" % out)
    # empty input: nothing to do, exit 0
    rc, out, err = run(["dc09", "decode"], b"")
    check(rc == 0 and out == "", "empty stdin: %d %r" % (rc, out))
    # help is not an error
    for verb in ("decode", "encode", "send"):
        rc, out, err = run(["dc09", verb, "--help"])
        check(rc == 0 and out.startswith("usage: vigil dc09 " + verb), verb + " --help")
    finish("usage: %d cases" % n)


if __name__ == "__main__":
    main()
