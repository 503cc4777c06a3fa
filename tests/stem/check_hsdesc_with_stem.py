#!/usr/bin/python3
"""Independent oracle for the descriptor encoder: Debian's python3-stem.

Runs the writer (argv[1]) to get a superdescriptor made by our encoder,
has stem parse it (signature checked), decrypt both layers with the onion
address, and checks that the introduction points stem reads are exactly
those our decoder reads.  Run with /usr/bin/python3 so that Debian's stem
is used, whatever python is first in PATH.
"""
import binascii
import os
import subprocess
import sys
import tempfile

try:
    import stem.descriptor.hidden_service as hs
except ImportError:
    print("python3-stem is not installed (scripts/setup installs it)")
    sys.exit(77)


def stem_intro_points(text, address):
    desc = hs.HiddenServiceDescriptorV3(text.encode(), validate=True)
    inner = desc.decrypt(address)
    out = []
    for ip in inner.introduction_points:
        lspec = bytes([len(ip.link_specifiers)]) + b"".join(
            ls.pack() for ls in ip.link_specifiers)
        out.append(" ".join([
            "ip",
            binascii.hexlify(lspec).decode(),
            binascii.hexlify(binascii.a2b_base64(ip.onion_key_raw)).decode(),
            binascii.hexlify(ip.auth_key_cert.key).decode(),
            binascii.hexlify(binascii.a2b_base64(ip.enc_key_raw)).decode(),
        ]))
    return out, inner


def main():
    writer = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([writer, tmp], check=True)
        with open(os.path.join(tmp, "address.txt")) as f:
            address = f.read().strip()
        with open(os.path.join(tmp, "descriptor.txt")) as f:
            text = f.read()
        with open(os.path.join(tmp, "expected.txt")) as f:
            expected = [l.strip() for l in f if l.strip()]
    got, inner = stem_intro_points(text, address)
    if got != expected:
        print("stem reads different introduction points")
        print("stem: ", "\n      ".join(got))
        print("ours: ", "\n      ".join(expected))
        return 1
    if "create2-formats 2" not in str(inner):
        print("inner layer lacks create2-formats 2")
        return 1
    if "pow-params" in str(inner):
        print("pow-params must never be emitted")
        return 1
    print("stem agrees on %d introduction points" % len(got))
    return 0


if __name__ == "__main__":
    sys.exit(main())
