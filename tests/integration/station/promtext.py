"""promtext.py — a strict reader of the Prometheus text exposition format 0.0.4
for the metrics tests (station and console), written from the format's
specification, not from our writer.

parse(text) -> {(name, frozenset(labels.items())): value}, and asserts:
every line is a HELP, a TYPE, a sample or empty; names and label names are
valid; every sample belongs to a family whose HELP and TYPE came before it
(histogram/summary samples by their _bucket/_sum/_count suffix); a family is
introduced once; no series twice; counters end in _total; every name has the
vigil_ prefix; histogram buckets are cumulative and +Inf equals _count.
"""
import math
import re

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def _value(s, line):
    if s in ("+Inf", "Inf"):
        return math.inf
    if s == "-Inf":
        return -math.inf
    if s == "NaN":
        return math.nan
    assert re.fullmatch(r"[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?)", s), \
        "bad sample value %r in line %r" % (s, line)
    return float(s)


def _labels(s, line):
    out = {}
    i = 0
    while i < len(s):
        m = re.match(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"", s[i:])
        assert m, "bad label at %r in line %r" % (s[i:], line)
        name = m.group(1)
        i += m.end()
        val = ""
        while True:
            assert i < len(s), "unterminated label value in line %r" % line
            c = s[i]
            if c == "\\":
                nxt = s[i + 1]
                assert nxt in "\\\"n", "bad escape in line %r" % line
                val += {"\\": "\\", "\"": "\"", "n": "\n"}[nxt]
                i += 2
            elif c == "\"":
                i += 1
                break
            else:
                val += c
                i += 1
        assert name not in out, "label %s twice in line %r" % (name, line)
        assert not name.startswith("__"), "reserved label %s in line %r" % (name, line)
        out[name] = val
        if i < len(s):
            assert s[i] == ",", "expected ',' between labels in line %r" % line
            i += 1
    return out


def parse(text, prefix="vigil_"):
    assert text.endswith("\n"), "the exposition must end with a newline"
    helps, types = {}, {}
    samples = {}
    order = []
    for line in text.split("\n")[:-1]:
        if line == "":
            continue
        if line.startswith("#"):
            m = re.fullmatch(r"# (HELP|TYPE) (\S+) (.*)", line)
            if not m:
                assert not line.startswith("# HELP") and not line.startswith("# TYPE"), \
                    "bad HELP/TYPE line %r" % line
                continue        # a comment
            kind, name, rest = m.groups()
            assert NAME.match(name), "bad metric name %r" % name
            assert name.startswith(prefix), "%s lacks the %s prefix" % (name, prefix)
            if kind == "HELP":
                assert name not in helps, "HELP for %s twice" % name
                assert name not in order or True
                assert rest.strip(), "empty HELP for %s" % name
                helps[name] = rest
            else:
                assert name not in types, "TYPE for %s twice" % name
                assert rest in TYPES, "bad TYPE %r for %s" % (rest, name)
                assert not any(n == name for n, _ in samples), \
                    "TYPE for %s after its samples" % name
                types[name] = rest
                if rest == "counter":
                    assert name.endswith("_total"), "counter %s does not end in _total" % name
            continue
        m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?", line)
        assert m, "bad sample line %r" % line
        name, _, lab, val, _ts = m.groups()
        labels = _labels(lab, line) if lab else {}
        fam = name
        if fam not in types:
            for suf in ("_bucket", "_sum", "_count"):
                if name.endswith(suf) and name[:-len(suf)] in types:
                    fam = name[:-len(suf)]
                    break
        assert fam in types and fam in helps, "sample %r without HELP and TYPE before it" % line
        t = types[fam]
        if t == "histogram":
            assert name != fam, "histogram %s sample without suffix" % fam
            if name.endswith("_bucket"):
                assert "le" in labels, "bucket without le: %r" % line
        key = (name, frozenset(labels.items()))
        assert key not in samples, "series twice: %r" % line
        samples[key] = _value(val, line)
        order.append(name)
    # histograms: cumulative buckets, +Inf == _count
    for fam, t in types.items():
        if t != "histogram":
            continue
        buckets = sorted(((float(dict(k[1])["le"].replace("+Inf", "inf")), v)
                          for k, v in samples.items() if k[0] == fam + "_bucket"))
        assert buckets and math.isinf(buckets[-1][0]), "%s has no +Inf bucket" % fam
        for (a, va), (b, vb) in zip(buckets, buckets[1:]):
            assert vb >= va, "%s buckets not cumulative at le=%s" % (fam, b)
        count = samples.get((fam + "_count", frozenset()))
        assert count == buckets[-1][1], "%s: +Inf bucket %s != _count %s" % (
            fam, buckets[-1][1], count)
        assert (fam + "_sum", frozenset()) in samples, "%s has no _sum" % fam
    for fam in types:
        assert fam in helps, "TYPE without HELP for %s" % fam
    return samples


def get(samples, name, **labels):
    key = (name, frozenset(labels.items()))
    assert key in samples, "no series %s%r in the scrape" % (name, labels)
    return samples[key]
