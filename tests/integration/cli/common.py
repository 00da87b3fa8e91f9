"""Shared helpers for the vigil CLI integration tests: running the binary."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

FAILURES = []


def vigil_path():
    if len(sys.argv) < 2:
        raise SystemExit("usage: %s path/to/vigil [source-dir]" % sys.argv[0])
    return sys.argv[1]


def source_dir():
    if len(sys.argv) >= 3:
        return sys.argv[2]
    return os.path.normpath(os.path.join(HERE, "..", "..", ".."))


def run(args, stdin=b"", timeout=30):
    p = subprocess.run([vigil_path()] + args, input=stdin, capture_output=True,
                       timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL: " + what, flush=True)
    return cond


def one_line_error(err, what):
    """An error is one clear line on stderr starting with 'vigil: '."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    check(len(lines) == 1 and lines[0].startswith("vigil: "),
          "%s: expected one 'vigil: ...' line on stderr, got %r" % (what, err))


def finish(n_checks_label):
    if FAILURES:
        print("%d failure(s) in %s" % (len(FAILURES), n_checks_label))
        sys.exit(1)
    print("ok: %s" % n_checks_label)
