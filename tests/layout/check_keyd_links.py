#!/usr/bin/python3
"""keyd links keyd's own code, common_crypto and the sandbox, and nothing
else of ours; of the system, only libsodium, OpenSSL's libcrypto and
libseccomp (keyd/PROTOCOL.md: what an auditor reads is what keyd links).

Reads keyd's link step from the build directory's build.ninja, so that
what is checked is what the linker is given.  Usage:
check_keyd_links.py BUILDDIR.  Exit 0, or 1 with one line per excess.
"""
import os
import re
import sys

# In-tree static libraries keyd may link, as build.ninja names them.
ALLOWED_LIBS = {
    "keyd/libkeyd.a",
    "common/crypto/libcommon_crypto.a",
    "sandbox/libsandbox.a",
}
# System libraries, by the stem of their file name (libsodium.so, -lsodium).
ALLOWED_SYSTEM = {"sodium", "crypto", "seccomp"}


def keyd_link_step(ninja):
    """The inputs and LINK_ARGS of the rule that links keyd/keyd."""
    lines = ninja.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("build keyd/keyd: "):
            args = ""
            for follow in lines[i + 1:]:
                if not follow.startswith(" "):
                    break
                if follow.strip().startswith("LINK_ARGS = "):
                    args = follow.strip()[len("LINK_ARGS = "):]
            return line.split(":", 1)[1].split(), args.split()
    return None, None


def problems(inputs, args):
    found = []
    for word in inputs[1:] + args:
        if word in ("|", "||") or word.startswith("-W") or \
                word.startswith("-f") or word in ("-pie", "-no-pie"):
            continue
        if word.endswith(".o"):
            if not word.startswith("keyd/keyd.p/"):
                found.append(f"an object not of keyd/: {word}")
        elif word.endswith(".a") and not word.startswith("/"):
            if word not in ALLOWED_LIBS:
                found.append(f"a library of ours keyd may not link: {word}")
        else:
            m = re.match(r"(?:.*/)?lib([^/]+?)\.(?:so|a)(?:\.[0-9.]+)?$",
                         word) or re.match(r"-l(.+)$", word)
            if m is None:
                continue
            if m.group(1) not in ALLOWED_SYSTEM:
                found.append(f"a system library keyd may not link: {word}")
    return sorted(set(found))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check_keyd_links.py BUILDDIR")
    with open(os.path.join(sys.argv[1], "build.ninja")) as f:
        inputs, args = keyd_link_step(f.read())
    if inputs is None:
        print("no rule links keyd/keyd in build.ninja")
        return 1
    linked = sorted(w for w in inputs + args
                    if w.endswith(".a") and not w.startswith("/"))
    bad = problems(inputs, args)
    for line in bad:
        print("keyd_links:", line)
    if not bad:
        print("keyd links:", " ".join(sorted(set(linked))))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
