#!/usr/bin/python3
"""The man pages (packaging/man/) against the programs' own tables.

Fails when a verb, a flag or a configuration key is missing from its page, when
a page is out of step with the option tables (packaging/man/mkman.py --check),
or when groff -ww or man --warnings says anything about a page."""
import os
import re
import subprocess
import sys

BUILD, SRC = sys.argv[1], sys.argv[2]
MAN = os.path.join(SRC, "packaging", "man")
PROGS = {"vigil": ("cli/vigil", "vigil.1"),
         "vigil-station": ("station/vigil-station", "vigil-station.8"),
         "vigil-console": ("console/vigil-console", "vigil-console.8"),
         "vigil-panel": ("panel-sim/vigil-panel", "vigil-panel.1")}
fails = []


def check(ok, what):
    if not ok:
        fails.append(what)
        print("FAIL", what)


def page_text(name):
    """The page as a reader sees it: rendered by man, hyphenation off."""
    p = subprocess.run(["man", "-l", os.path.join(MAN, name)], capture_output=True, text=True,
                       env=dict(os.environ, MANWIDTH="200", MAN_KEEP_FORMATTING="0"))
    check(p.returncode == 0, "man -l %s: exit %d" % (name, p.returncode))
    t = re.sub(r".\x08", "", p.stdout).replace("\u2010", "-")
    return re.sub(r"(?<=\S)[ \t]+", " ", t)   # inner runs only: indents mark headings


n_opts = n_keys = 0
texts = {}
for prog, (binary, page) in PROGS.items():
    texts[page] = page_text(page)
    p = subprocess.run([os.path.join(BUILD, binary), "--dump-options"], capture_output=True,
                       text=True)
    check(p.returncode == 0 and p.stdout, "%s --dump-options: exit %d" % (prog, p.returncode))
    for line in p.stdout.splitlines():
        f = line.split("\t")
        if f[0] == "key":   # a configuration key: vigil.conf(5), or vigil-panel(1) for the panel's
            kpage = "vigil-panel.1" if prog == "vigil-panel" else "vigil.conf.5"
            texts.setdefault(kpage, page_text(kpage))
            body = texts[kpage].split("\nKEYS\n")[-1].split("\nCONFIGURATION\n")[-1]
            check(re.search(r"^ *%s\s*$|^ *%s " % (re.escape(f[1]), re.escape(f[1])), body, re.M)
                  is not None, "%s: key %s not in %s" % (prog, f[1], kpage))
            n_keys += 1
            continue
        path, name, short = f[1], f[2], f[3]
        if name == "-" and short == "-":   # the command itself: a subsection of its page
            if path:
                check(re.search(r"^ {3}%s %s$" % (prog, re.escape(path)), texts[page], re.M)
                      is not None, "%s: command '%s' has no section in %s" % (prog, path, page))
            continue
        # the option under its command's heading
        sect = texts[page]
        if path:
            # a subsection heading is indented by three spaces; it ends at the next heading
            m = re.search(r"^ {3}%s %s\n(.*?)(?=^ {0,3}\S|\Z)" % (prog, re.escape(path)),
                          sect, re.M | re.S)
            sect = m.group(1) if m else ""
        for opt in (name, short):
            if opt != "-":
                check(re.search(r"(^|[ ,])%s\b" % re.escape(opt), sect, re.M) is not None,
                      "%s %s: option %s missing from %s" % (prog, path, opt, page))
        n_opts += 1

# the pages are what the tables make now
p = subprocess.run([sys.executable, os.path.join(MAN, "mkman.py"), "--bin", BUILD, "--check"],
                   capture_output=True, text=True)
check(p.returncode == 0, "pages out of step with the tables:\n" + p.stdout + p.stderr)

# no warning from groff or man on any page
pages = sorted(x for x in os.listdir(MAN) if re.search(r"\.[158]$", x))
check(set(pages) >= {"vigil.1", "vigil-panel.1", "vigil-station.8", "vigil-console.8",
                     "vigil.conf.5"}, "pages: %s" % pages)
for page in pages:
    path = os.path.join(MAN, page)
    g = subprocess.run(["groff", "-ww", "-z", "-man", path], capture_output=True, text=True)
    check(g.returncode == 0 and g.stderr == "", "groff -ww %s: %s" % (page, g.stderr))
    m = subprocess.run(["man", "--warnings", "-l", path], capture_output=True, text=True,
                       env=dict(os.environ, MANWIDTH="80"))
    check(m.returncode == 0 and m.stderr == "", "man --warnings %s: %s" % (page, m.stderr))
    for sect in ("NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"):
        check("\n%s\n" % sect in page_text(page), "%s: no %s section" % (page, sect))
for page in ("vigil.1", "vigil-station.8", "vigil-console.8", "vigil-panel.1"):
    for sect in ("OPTIONS", "EXIT STATUS", "FILES"):
        check("\n%s\n" % sect in texts[page], "%s: no %s section" % (page, sect))
for page in ("vigil-station.8", "vigil-console.8", "vigil-panel.1"):
    check("\nSIGNALS\n" in texts[page], "%s: no SIGNALS section" % page)

print("%d passed, %d failed" % (n_opts + n_keys + len(pages), len(fails)))
sys.exit(1 if fails else 0)
