#!/usr/bin/env python3
"""The Debian packages as an administrator gets them (issue 17, Must show):

  1. `make deb` builds vigil-station, vigil-console, vigil-tools and
     vigil-panel-sim from the current tree, and lintian reports no error; every
     lintian warning left is one packaging/README.md explains (`tag` in its
     lintian table).
  2. The packages unpacked into a temporary root (dpkg -x) hold the programs, the
     units, the example configuration, the web files and agencies, every man
     page packaging/man/ has, and every file the man pages' FILES sections name
     (a file the daemon creates at run time, under /var/lib/vigil or /run, needs
     its folder there).
  3. The packaged units verify (systemd-analyze verify, ExecStart= pointed into
     the root) and their systemd-analyze security exposure stays <= 2.0
     (the figures are recorded in packaging/README.md).

usage: test_packages.py --source DIR --work DIR
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import time

PACKAGES = ["vigil-station", "vigil-console", "vigil-tools", "vigil-panel-sim"]
# what the packages must hold whatever the man pages say (units, README, config)
EXPECTED = {
    "vigil-station": ["usr/sbin/vigil-station", "lib/systemd/system/vigil-station.service",
                      "etc/vigil/vigil-station.conf", "var/lib/vigil/",
                      "usr/share/vigil/agencies/toronto-ps.json"],
    "vigil-console": ["usr/sbin/vigil-console", "lib/systemd/system/vigil-console.service",
                      "usr/share/vigil/web/index.html", "usr/share/vigil/web/app.js"],
    "vigil-tools": ["usr/bin/vigil"],
    "vigil-panel-sim": ["usr/bin/vigil-panel", "etc/vigil/vigil-panel.conf"],
}
MAN_OF = {"vigil-station.8": "vigil-station", "vigil.conf.5": "vigil-station",
          "vigil-console.8": "vigil-console", "vigil.1": "vigil-tools",
          "vigil-panel.1": "vigil-panel-sim"}
SECURITY_MAX = 2.0
fails = []


def fail(msg):
    fails.append(msg)
    print("FAIL: " + msg)


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def build(src, out):
    t0 = time.monotonic()
    r = run(["make", "-o", "deps", "-C", src, "deb", "DEB_DIR=" + out, "DEB_JOBS=2"])
    print("make deb: exit %d in %.0f s" % (r.returncode, time.monotonic() - t0))
    if r.returncode != 0:
        print(r.stdout[-4000:])
        fail("make deb failed (exit %d)" % r.returncode)
        return None
    debs = {}
    for p in PACKAGES:
        found = glob.glob(os.path.join(out, "%s_*.deb" % p))
        if len(found) != 1:
            fail("make deb: %d files %s_*.deb" % (len(found), p))
        else:
            debs[p] = found[0]
    return debs


def check_lintian(src, out):
    report = open(os.path.join(out, "lintian.txt")).read()
    readme = open(os.path.join(src, "packaging", "README.md")).read()
    explained = set(re.findall(r"^\|\s*`([a-z0-9-]+)`", readme, re.M))
    tags = re.findall(r"^([EW]): ([a-z0-9-]+): ([a-z0-9-]+)", report, re.M)
    errors = [t for t in tags if t[0] == "E"]
    for _, pkg, tag in errors:
        fail("lintian error %s on %s" % (tag, pkg))
    warnings = sorted({t[2] for t in tags if t[0] == "W"})
    for tag in warnings:
        if tag not in explained:
            fail("lintian warning %s is not explained in packaging/README.md" % tag)
    print("lintian: %d errors, warnings %s (each explained: %s)" % (
        len(errors), warnings or "none", all(w in explained for w in warnings)))


def man_text(path):
    """The man page's source with the usual escapes undone."""
    t = open(path, errors="replace").read()
    t = re.sub(r"\\f(\[[A-Z]*\]|[A-Z])", "", t)
    return t.replace("\\-", "-").replace("\\&", "").replace("\\(em", "-")


def files_named(path):
    """Absolute paths in the FILES section of a man page."""
    t = man_text(path)
    m = re.search(r"^\.SH\s+\"?FILES\"?\s*$(.*?)(?=^\.SH|\Z)", t, re.M | re.S)
    if not m:
        return None
    return sorted(set(re.findall(r"(?<![\w.~-])(/(?:etc|usr|var|lib|run)/[A-Za-z0-9._+/-]*[A-Za-z0-9_+/-])",
                                 m.group(1))))


def check_root(src, root, debs):
    for pkg, paths in EXPECTED.items():
        for p in paths:
            full = os.path.join(root, p)
            ok = os.path.isdir(full) if p.endswith("/") else os.path.isfile(full)
            if not ok:
                fail("%s: %s not in the package" % (pkg, p))
    for p in ("usr/sbin/vigil-station", "usr/sbin/vigil-console", "usr/bin/vigil",
              "usr/bin/vigil-panel"):
        f = os.path.join(root, p)
        if os.path.isfile(f) and not os.access(f, os.X_OK):
            fail("%s is not executable" % p)
    conf = os.path.join(root, "etc/vigil/vigil-station.conf")
    if os.path.isfile(conf):
        text = open(conf).read()
        for want in ("web_root /usr/share/vigil/web", "store sqlite:/var/lib/vigil/"):
            if want not in text:
                fail("etc/vigil/vigil-station.conf: no '%s'" % want)
    # conffiles
    r = run(["dpkg-deb", "-I", debs["vigil-station"], "conffiles"])
    if "/etc/vigil/vigil-station.conf" not in r.stdout:
        fail("vigil-station: /etc/vigil/vigil-station.conf is not a conffile: %r" % r.stdout)

    pages = sorted(glob.glob(os.path.join(src, "packaging", "man", "*.[1-8]")))
    if not pages:
        print("man pages: packaging/man/ has none yet; the fixed list above was checked")
    for page in pages:
        name = os.path.basename(page)
        sec = name.rsplit(".", 1)[1]
        inst = os.path.join(root, "usr/share/man/man%s/%s.gz" % (sec, name))
        if name in MAN_OF and not os.path.isfile(inst):
            fail("man page %s not in %s (%s)" % (name, MAN_OF[name], inst))
        named = files_named(page)
        if named is None:
            fail("man page %s has no FILES section" % name)
            continue
        for p in named:
            full = os.path.join(root, p.lstrip("/"))
            if os.path.exists(full):
                continue
            if p.startswith("/var/lib/vigil/") or p.startswith("/run/"):
                folder = os.path.join(root, "var/lib/vigil" if p.startswith("/var/") else "run")
                if p.startswith("/run/") or os.path.isdir(folder):
                    continue   # made at run time, in a folder the package ships
            fail("%s names %s, which no package holds" % (name, p))
        print("man page %s: %d files named, each in the root" % (name, len(named)))


def check_units(root, work):
    for unit in ("vigil-station", "vigil-console"):
        path = os.path.join(root, "lib/systemd/system/%s.service" % unit)
        if not os.path.isfile(path):
            continue
        text = open(path).read()
        # the units as installed, their programs taken from the root
        local = os.path.join(work, "%s.service" % unit)
        with open(local, "w") as f:
            f.write(text.replace("/usr/sbin/", os.path.join(root, "usr/sbin/")))
        r = run(["systemd-analyze", "verify", "--man=no", local], cwd=work)
        if r.returncode != 0 or r.stdout.strip():
            fail("systemd-analyze verify %s: exit %d\n%s" % (unit, r.returncode, r.stdout))
        r = run(["systemd-analyze", "security", "--offline=yes", local], cwd=work)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\w+)", r.stdout)
        if not m:
            fail("systemd-analyze security %s: no score\n%s" % (unit, r.stdout[-2000:]))
            continue
        score = float(m.group(1))
        print("%s.service: verify ok; security exposure %.1f %s" % (unit, score, m.group(2)))
        if score > SECURITY_MAX:
            fail("%s.service: exposure %.1f above %.1f" % (unit, score, SECURITY_MAX))
        for key in ("Type=notify", "WatchdogSec=", "Restart=on-failure", "ExecReload=/bin/kill -HUP $MAINPID",
                    "ProtectSystem=strict", "ReadWritePaths=/var/lib/vigil", "NoNewPrivileges=yes",
                    "PrivateTmp=yes", "CapabilityBoundingSet=\n", "MemoryDenyWriteExecute=yes",
                    "SystemCallFilter=@system-service", "User=vigil"):
            if key not in text:
                fail("%s.service: no %r" % (unit, key.strip()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    work = os.path.abspath(a.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    out = os.path.join(work, "deb")
    debs = build(os.path.abspath(a.source), out)
    if debs:
        check_lintian(a.source, out)
        root = os.path.join(work, "root")
        os.makedirs(root)
        for p, deb in debs.items():
            r = run(["dpkg", "-x", deb, root])
            if r.returncode != 0:
                fail("dpkg -x %s: %s" % (deb, r.stdout))
        check_root(a.source, root, debs)
        check_units(root, work)
    if fails:
        print("%d failures" % len(fails))
        return 1
    shutil.rmtree(os.path.join(out, "src"), ignore_errors=True)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
