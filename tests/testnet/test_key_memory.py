#!/usr/bin/python3
"""Only keyd holds the master key: scan the memory of the other processes.

The secret forms of a frontend's master key are looked for in every
readable mapping of each process (/proc/<pid>/maps, /proc/<pid>/mem; root
is needed, since the children are not dumpable):
- the 32-byte seed (an Onionbalance/OpenSSL PEM key holds it),
- the 32-byte clamped scalar and the 32-byte prefix of the expanded key
  (SHA-512 of the seed; tor's hs_ed25519_secret_key holds these),
- the unclamped first half of that hash.
None may be in onionbalanced (the parent), fetchd or publishd; keyd is the
positive control that the scan finds them where they are.

Standalone, for a run on the private network (the daemon helper calls it
with the pids of a running onionbalanced):

    test_key_memory.py --key KEYFILE --keyd PID --parent PID \\
        --fetchd PID --publishd PID

exits 0 if no forbidden process holds a secret and keyd does, 1 otherwise.
tests/sandbox/test_sandbox_daemons.py imports it for the unit-level run.
"""

import argparse
import base64
import hashlib
import sys


def _pem_seed(text):
    """The seed of an unencrypted ed25519 PKCS#8 PEM key."""
    body = "".join(line for line in text.splitlines()
                   if line and not line.startswith("-----"))
    der = base64.b64decode(body)
    # RFC 8410: ... OCTET STRING (34) { OCTET STRING (32) seed }
    marker = bytes([0x04, 0x22, 0x04, 0x20])
    i = der.find(marker)
    if i < 0:
        raise ValueError("not an unencrypted ed25519 PKCS#8 key")
    return der[i + 4:i + 36]


def key_secrets(path):
    """{name: bytes} of the secret forms of the key in path."""
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"== ed25519v1-secret: type0 ==") and len(data) == 96:
        expanded = data[32:96]
        return {"scalar": expanded[:32], "prefix": expanded[32:]}
    seed = _pem_seed(data.decode("ascii"))
    h = hashlib.sha512(seed).digest()
    scalar = bytearray(h[:32])
    scalar[0] &= 248
    scalar[31] &= 127
    scalar[31] |= 64
    return {"seed": seed, "scalar": bytes(scalar), "prefix": h[32:],
            "hash-low": h[:32]}


# Larger mappings are a sanitizer's shadow memory or reserved address
# space, not where a key is kept; reading them would take hours.
MAX_MAPPING = 1 << 32
CHUNK = 16 << 20


def _readable_ranges(pid):
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            path = fields[5] if len(fields) > 5 else ""
            if fields[1][0] != "r" or path in ("[vvar]", "[vvar_vclock]"):
                continue
            if end - start <= MAX_MAPPING:
                yield start, end


def _chunks(mem, start, end, overlap):
    """The range in CHUNK pieces that overlap by overlap bytes."""
    pos = start
    while pos < end:
        try:
            mem.seek(pos)
            data = mem.read(min(CHUNK, end - pos))
        except (OSError, ValueError):
            return          # guard pages, a mapping gone meanwhile
        if not data:
            return
        yield data
        if pos + len(data) >= end:
            return
        pos += len(data) - overlap


def scan(pid, secrets):
    """The names of the secrets found anywhere in pid's memory."""
    found = set()
    overlap = max(len(v) for v in secrets.values()) - 1
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for start, end in _readable_ranges(pid):
            for chunk in _chunks(mem, start, end, overlap):
                for name, value in secrets.items():
                    if value in chunk:
                        found.add(name)
    return found


def check(key, keyd, others):
    """Problems, one line each: [] when only keyd holds the key.
    others: {name: pid}."""
    secrets = key_secrets(key)
    problems = []
    for name, pid in others.items():
        found = scan(pid, secrets)
        if found:
            problems.append(f"{name} (pid {pid}) holds the key's "
                            f"{', '.join(sorted(found))}")
    if keyd is not None and not scan(keyd, secrets):
        problems.append(f"keyd (pid {keyd}) does not hold the key: the "
                        "scan cannot be trusted")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--key", required=True)
    ap.add_argument("--keyd", type=int)
    for name in ("parent", "fetchd", "publishd"):
        ap.add_argument("--" + name, type=int, required=True)
    a = ap.parse_args()
    problems = check(a.key, a.keyd, {"onionbalanced": a.parent,
                                     "fetchd": a.fetchd,
                                     "publishd": a.publishd})
    for p in problems:
        print("FAIL:", p)
    if not problems:
        print("ok: the master key is in keyd's memory and nowhere else")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
