#!/usr/bin/python3
"""vigil-panel script mode, bad lines: a specific error and exit 2, and never a code
in the message (a line missing `keys`, a code where a keyword belongs); an
over-long `expect display` is refused, not copied past its buffer (the sanitizer
build would abort)."""
import os
import subprocess
import sys
import tempfile

panel, root = sys.argv[1], sys.argv[2]
fails = 0
with tempfile.TemporaryDirectory() as d:
    conf = os.path.join(d, "panel.conf")
    with open(os.path.join(root, "packaging", "vigil-panel.conf")) as f:
        text = f.read()
    lines = ["state %s" % os.path.join(d, "panel.state") if l.startswith("state ") else l
             for l in text.splitlines()]
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    cases = [
        ("keys 4862#\n4862#\n", "unknown command", "4862"),
        ("user 3 duress 9157\n", "user: unknown word", "9157"),
        ("user 3 9157 duress for 1 2468\n", "user: unknown word", "2468"),
        ("expect display " + "A" * 126 + " " + "B" * 400 + "\n", "longer than 127", None),
        # a code the panel cannot take is a script error (it printed and exited 0)
        ("user 1 12a4\n", "a code must be 4 to 8 digits", "12a4"),
        ("user 2 123\nuser 3 246813\n", "a code must be 4 to 8 digits", "123"),
    ]
    for script, want, secret in cases:
        p = subprocess.run([panel, "-c", conf, "--script", "-", "--fast"], input=script.encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        out = p.stdout.decode("utf-8", "replace")
        problems = []
        if p.returncode != 2:
            problems.append("exit %d, want 2" % p.returncode)
        if want not in out:
            problems.append("no %r in the output" % want)
        if secret and secret in out.replace("keys " + secret, ""):
            problems.append("the code %s is in the output" % secret)
        if problems:
            fails += 1
            print("FAIL %r: %s\n%s" % (script[:40], "; ".join(problems), out[-800:]))
        else:
            print("ok   %r" % script[:40])
sys.exit(1 if fails else 0)
