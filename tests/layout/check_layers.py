#!/usr/bin/python3
"""The folders' includes go only where their README says they may
(common/README.md and each folder's README), private headers stay in
their folder, and no two folders include each other, directly or round a
longer circle.

Reads the #include "..." lines of the tree's .c and .h files (tests/ is
left out: tests may read a library's internals).  Usage:
check_layers.py SOURCEDIR.  Exit 0, or 1 with one line per violation.
"""
import os
import re
import sys

# What each folder may include from the others: a folder, or one header
# of a folder.  Nothing that is not named here.
MAY_USE = {
    "common/crypto": [],
    "common/codec": ["common/crypto"],
    "common/torctl": ["common/crypto"],
    "common/config": ["common/crypto"],
    "sandbox": ["common/crypto", "common/config"],
    "keyd": ["common/crypto", "sandbox"],
    "fetchd": ["common/crypto", "common/codec", "common/torctl", "sandbox"],
    "publishd": ["common/crypto", "common/codec", "common/torctl",
                 "sandbox", "keyd/keyd_proto.h"],
    "tools": ["common/crypto", "common/config"],
    "parent": ["common/crypto", "common/torctl", "common/config",
               "sandbox", "tools/status_client.h", "keyd/keyd_proto.h"],
    "bench": ["common/crypto", "common/codec", "keyd",
              "publishd/keyd_client.h", "sandbox/sandbox.h"],
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
GENERATED = {"config.h"}


def unit_of(path):
    """The folder of MAY_USE that holds path, or None."""
    best = None
    for unit in MAY_USE:
        if path.startswith(unit + "/") and (best is None or
                                            len(unit) > len(best)):
            best = unit
    return best


def private(path):
    name = os.path.basename(path)
    return name.endswith("_private.h") or "/internal/" in path


def scan(root):
    """{path: [included header paths]}, and the names no file answers."""
    sources = []
    for unit in MAY_USE:
        for d, _, names in os.walk(os.path.join(root, unit)):
            for n in names:
                if n.endswith((".c", ".h")):
                    sources.append(os.path.relpath(os.path.join(d, n), root))
    by_name = {}
    for p in sources:
        by_name.setdefault(os.path.basename(p), []).append(p)
    includes, unknown = {}, []
    for p in sources:
        with open(os.path.join(root, p), errors="replace") as f:
            text = f.read()
        found = []
        for name in INCLUDE.findall(text):
            if name in GENERATED:
                continue
            cands = by_name.get(os.path.basename(name), [])
            same = [c for c in cands if unit_of(c) == unit_of(p)]
            if same or len(cands) == 1:
                found.append((same or cands)[0])
            else:
                unknown.append(f"{p}: #include \"{name}\": "
                               f"{len(cands)} files of that name")
        includes[p] = found
    return includes, unknown


def allowed(src_unit, header):
    for rule in MAY_USE[src_unit]:
        if header == rule or unit_of(header) == rule:
            return True
    return False


def circles(edges):
    """Each circle of the folder graph once, as a list of folders."""
    found, seen = [], set()

    def walk(node, path):
        for nxt in sorted(edges.get(node, ())):
            if nxt in path:
                circle = path[path.index(nxt):]
                key = frozenset(circle)
                if key not in seen:
                    seen.add(key)
                    found.append(circle + [nxt])
            elif len(path) < len(MAY_USE):
                walk(nxt, path + [nxt])

    for start in sorted(edges):
        walk(start, [start])
    return found


def check(root):
    includes, bad = scan(root)
    edges = {}
    for src, headers in sorted(includes.items()):
        su = unit_of(src)
        for h in headers:
            hu = unit_of(h)
            if hu == su:
                continue
            edges.setdefault(su, set()).add(hu)
            if private(h):
                bad.append(f"{src} includes {h}, private to {hu}/")
            elif not allowed(su, h):
                bad.append(f"{src} includes {h}: {su}/ may not use {hu}/")
    for c in circles(edges):
        bad.append("include circle: " + " -> ".join(c))
    return bad


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check_layers.py SOURCEDIR")
    bad = check(sys.argv[1])
    for line in bad:
        print("layers:", line)
    if not bad:
        print(f"layers: {len(MAY_USE)} folders, includes within their "
              "rules, no circle")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
