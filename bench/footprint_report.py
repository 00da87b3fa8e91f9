#!/usr/bin/python3
"""footprint_report.py — sizes per library from a GNU ld map file, and the
worst-case stack of each library's public entry points from gcc's
-fcallgraph-info=su graphs (.ci files).

usage: footprint_report.py MAP ELF_NM_FILE CI_DIR
       footprint_report.py image ELF CI_DIR [LABEL FLASH_MAX]
  Per library (first form, the libraries compiled one object at a time): flash = .text/.rodata/.data input sections kept in the image, RAM =
  .data/.bss, attributed by object directory (obj/panel → core, obj/dc09 →
  dc09). The core's RAM also counts the caller-owned `struct pnl` (symbol
  `panel` in the image): it is the core's state even though the caller
  allocates it. Stack: for every public function (pnl_*, dc09_*), its own
  frame plus the deepest chain of callees; calls through port function
  pointers (storage, key, rng, keypad) and libc/libgcc helpers count 0 —
  they are the platform's. Recursion would make the bound infinite: reported.
  Exit 1 when the core misses its targets (flash 16 KiB, RAM 4 KiB, stack 1 KiB).

  Whole image (second form, the image as linked): flash = text + data, RAM =
  data + bss (arm-none-eabi-size), stack = the worst call path from the reset
  handler (the image's only entry: main and everything it calls) over every
  .ci graph in CI_DIR, ports and libc/libgcc helpers counting 0 as above.
  Prints `image flash_bytes=N ram_bytes=M stack_bytes=S`; exit 1 when a
  whole-image target is missed (flash 28 KiB, RAM 6 KiB, stack 1 KiB).
"""
import collections
import glob
import os
import re
import subprocess
import sys

LIBS = {"panel": "core", "comm": "comm", "dc09": "dc09"}


def lib_of(path):
    for d, name in LIBS.items():
        if "/obj/%s/" % d in path:
            return name
    return None


def parse_map(path):
    flash = collections.Counter()
    ram = collections.Counter()
    started = False
    pending = None
    with open(path) as f:
        for line in f:
            if line.startswith("Linker script and memory map"):
                started = True
                continue
            if not started:
                continue
            m = re.match(r"^ (\.[\w.$]+|COMMON)\s*$", line)
            if m:
                pending = m.group(1)
                continue
            m = re.match(r"^ (\.[\w.$]+|COMMON)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+\.o(?:bj)?)\s*$", line)
            if m:
                sec = m.group(1) or pending
                pending = None
                size = int(m.group(3), 16)
                lib = lib_of(m.group(4))
                if sec is None or lib is None or size == 0:
                    continue
                if sec.startswith((".text", ".rodata")):
                    flash[lib] += size
                elif sec.startswith(".data"):
                    flash[lib] += size
                    ram[lib] += size
                elif sec.startswith(".bss") or sec == "COMMON":
                    ram[lib] += size
            else:
                pending = None
    return flash, ram


def parse_ci(ci_dir):
    frame = {}
    edges = collections.defaultdict(set)
    owner = {}
    for ci in glob.glob(os.path.join(ci_dir, "**", "*.ci"), recursive=True):
        lib = lib_of(ci)
        text = open(ci).read()
        for m in re.finditer(r'node: \{ title: "([^"]+)" label: "([^"]*)"', text):
            title, label = m.group(1), m.group(2)
            b = re.search(r"\\n(\d+) bytes \((static|dynamic[^)]*)\)", label)
            if b:
                if "dynamic" in b.group(2) and "bounded" not in b.group(2):
                    sys.exit("unbounded dynamic stack in %s" % title)
                frame[title] = int(b.group(1))
                owner[title] = lib
        for m in re.finditer(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"', text):
            edges[m.group(1)].add(m.group(2))
    return frame, edges, owner


def worst(fn, frame, edges, memo, stack):
    if fn in memo:
        return memo[fn]
    if fn in stack:
        sys.exit("recursion through %s: no stack bound" % fn)
    stack.add(fn)
    deepest = 0
    for callee in edges.get(fn, ()):
        if callee in frame:
            deepest = max(deepest, worst(callee, frame, edges, memo, stack))
    stack.discard(fn)
    memo[fn] = frame.get(fn, 0) + deepest
    return memo[fn]


def chain(fn, frame, edges, memo):
    """The deepest path from fn, as 'name(frame)' steps."""
    out = []
    while fn is not None:
        out.append("%s(%d)" % (fn.split(":")[-1], frame.get(fn, 0)))
        nxt = [c for c in edges.get(fn, ()) if c in frame]
        fn = max(nxt, key=lambda c: memo.get(c, 0)) if nxt else None
    return " > ".join(out)


IMAGE_FLASH_MAX = 28672
IMAGE_RAM_MAX = 6144
IMAGE_STACK_MAX = 1024


def image(elf, ci_dir, label="image", flash_max=None):
    flash_max = IMAGE_FLASH_MAX if flash_max is None else flash_max
    out = subprocess.run(["arm-none-eabi-size", elf], check=True, capture_output=True,
                         text=True).stdout.splitlines()
    text, data, bss = (int(x) for x in out[1].split()[:3])
    frame, edges, _ = parse_ci(ci_dir)
    roots = [fn for fn in frame if fn.split(":")[-1] == "Reset_Handler"]
    if len(roots) != 1:
        sys.exit("image: expected one Reset_Handler in the call graphs, found %d" % len(roots))
    memo = {}
    stack = worst(roots[0], frame, edges, memo, set())
    flash, ram = text + data, data + bss
    print("%s flash_bytes=%d ram_bytes=%d stack_bytes=%d" % (label, flash, ram, stack))
    print("%s sections: text %d data %d bss %d (flash = text + data, ram = data + bss)"
          % (label, text, data, bss))
    print("deepest %s path: %s" % (label, chain(roots[0], frame, edges, memo)))
    missed = [name for name, v, cap in (("flash", flash, flash_max), ("ram", ram, IMAGE_RAM_MAX),
                                        ("stack", stack, IMAGE_STACK_MAX)) if v > cap]
    print("%s targets (flash <= %d, ram <= %d, stack <= %d): %s"
          % (label, flash_max, IMAGE_RAM_MAX, IMAGE_STACK_MAX,
             "EXCEEDED (%s)" % ", ".join(missed) if missed else "met"))
    return 1 if missed else 0


def main():
    if sys.argv[1] == "image":
        if len(sys.argv) > 5:
            sys.exit(image(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])))
        sys.exit(image(sys.argv[2], sys.argv[3]))
    map_path, nm_path, ci_dir = sys.argv[1:4]
    flash, ram = parse_map(map_path)
    panel_state = 0
    comm_state = 0
    for line in open(nm_path):
        parts = line.split()
        if len(parts) == 4 and parts[3] == "panel":
            panel_state = int(parts[1], 16)
        if len(parts) == 4 and parts[3] == "comm":
            comm_state = int(parts[1], 16)
    frame, edges, owner = parse_ci(ci_dir)
    memo = {}
    stack = collections.Counter()
    path_root = {}
    for fn, lib in owner.items():
        name = fn.split(":")[-1]
        prefix = {"core": "pnl_", "comm": "comm_", "dc09": "dc09_"}.get(lib)
        if prefix and name.startswith(prefix) and ":" not in fn:
            w = worst(fn, frame, edges, memo, set())
            if w > stack[lib]:
                stack[lib] = w
                path_root[lib] = name
    core_ram = ram["core"] + panel_state
    print("flash_bytes=%d ram_bytes=%d stack_bytes=%d" % (flash["core"], core_ram, stack["core"]))
    print("lib=core flash_bytes=%d ram_bytes=%d stack_bytes=%d  (ram: struct pnl %d + static %d; deepest: %s)"
          % (flash["core"], core_ram, stack["core"], panel_state, ram["core"], path_root.get("core")))
    print("lib=dc09 flash_bytes=%d ram_bytes=%d stack_bytes=%d  (deepest: %s)"
          % (flash["dc09"], ram["dc09"], stack["dc09"], path_root.get("dc09")))
    comm_ram = ram["comm"] + comm_state
    print("lib=comm flash_bytes=%d ram_bytes=%d stack_bytes=%d  (ram: struct comm %d + static %d; deepest: %s)"
          % (flash["comm"], comm_ram, stack["comm"], comm_state, ram["comm"], path_root.get("comm")))
    ok = flash["core"] <= 16384 and core_ram <= 4096 and stack["core"] <= 1024
    for lib in ("core", "dc09", "comm"):
        root = path_root.get(lib)
        if root:
            print("deepest %s path: %s" % (lib, chain(root, frame, edges, memo)))
    print("core targets (flash <= 16384, ram <= 4096, stack <= 1024): %s" % ("met" if ok else "EXCEEDED"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
