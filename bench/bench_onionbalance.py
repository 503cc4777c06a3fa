#!/usr/bin/python3
"""The Onionbalance side of the offline benchmark.

Drives Debian's onionbalance 0.2.2 (and python3-stem 1.8) through the same
work bench_offline times, on the same inputs, without a tor: its consensus
and hash-ring code (onionbalance.hs_v3.consensus / hashring) reads the
synthetic consensus and md/all that bench_offline wrote, its
ReceivedDescriptor decodes the captured tor descriptors, and its
OBDescriptor builds a 20-intro-point superdescriptor.  Onionbalance gets
the consensus and microdescriptors from its controller object; here that
object serves the files instead of a control port.  Nothing of
Onionbalance's own code is replaced.

Prints the figure lines of bench/bench.h (run-offline merges them):

    figure<TAB>name<TAB>value<TAB>unit<TAB>iterations<TAB>note
    info<TAB>key<TAB>value

usage: bench_onionbalance.py --inputs DIR --data DIR [--min-seconds S]
Run with /usr/bin/python3 so that Debian's packages are the ones used.
"""
import argparse
import logging
import os
import sys
import time

try:
    import stem
    import stem.descriptor.microdescriptor as stem_md
    from stem.descriptor.hidden_service import (HiddenServiceDescriptorV3,
                                                _blinded_pubkey)
    from stem.descriptor.networkstatus import NetworkStatusDocumentV3
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey)
    from onionbalance.hs_v3 import consensus as ob_consensus
    from onionbalance.hs_v3 import descriptor as ob_descriptor
    from onionbalance.hs_v3 import hashring as ob_hashring
    from onionbalance.hs_v3.onionbalance import my_onionbalance
except ImportError as e:
    print("onionbalance or python3-stem missing (bench/setup installs "
          "them): %s" % e, file=sys.stderr)
    sys.exit(77)

ENCODE_INTROS = 20


class FileController:
    """Onionbalance's StemController, as far as its consensus code uses
    it: get_md_consensus() and controller.get_microdescriptors(), which
    stem answers from GETINFO md/all with the parser used here."""

    def __init__(self, consensus_text, md_bytes):
        self.consensus_text = consensus_text
        self.md_bytes = md_bytes
        self.controller = self

    def get_md_consensus(self):
        return self.consensus_text

    def get_microdescriptors(self):
        import io
        return stem_md._parse_file(io.BytesIO(self.md_bytes))


def figure(name, value, unit, iterations, note):
    print("figure\t%s\t%.6g\t%s\t%d\t%s" % (name, value, unit, iterations,
                                            note))
    sys.stdout.flush()


def info(key, value):
    print("info\t%s\t%s" % (key, value))
    sys.stdout.flush()


def run_timed(op, min_seconds):
    """Seconds per call of op, over at least min_seconds and 3 calls."""
    n = 0
    start = time.perf_counter()
    while True:
        op()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds and n >= 3:
            return elapsed / n, n


def new_consensus():
    """What Onionbalance's Consensus.refresh() does on a new consensus:
    parse it with stem, check it is live, match the microdescriptors."""
    c = ob_consensus.Consensus(do_refresh_consensus=True)
    if c.nodes is None:
        sys.exit("synthetic consensus not accepted by Onionbalance")
    return c


def blinded_keys(identity):
    """Onionbalance's blinded key of the first and second descriptor."""
    c = my_onionbalance.consensus
    keys = []
    for first in (True, False):
        _, tp = ob_hashring.get_srv_and_time_period(first)
        keys.append(_blinded_pubkey(identity,
                                    c.get_blinding_param(identity, tp)))
    return keys


def responsible_both(keys):
    return [ob_hashring.get_responsible_hsdirs(keys[0], True),
            ob_hashring.get_responsible_hsdirs(keys[1], False)]


def bench_ring(args, identity):
    ctl = my_onionbalance.controller
    t, n = run_timed(lambda: NetworkStatusDocumentV3(
        ctl.get_md_consensus().encode()), args.min_seconds)
    figure("ring.parse", t * 1e3, "ms", n,
           "stem NetworkStatusDocumentV3, 8000 relays")
    c = ob_consensus.Consensus(do_refresh_consensus=False)
    c.consensus = NetworkStatusDocumentV3(ctl.get_md_consensus().encode())
    t, n = run_timed(c._initialize_nodes, args.min_seconds)
    figure("ring.md_match", t * 1e3, "ms", n,
           "stem microdescriptors + Consensus._initialize_nodes")
    my_onionbalance.consensus = new_consensus()
    keys = blinded_keys(identity)
    t, n = run_timed(lambda: responsible_both(keys), args.min_seconds)
    figure("ring.build_responsible", t * 1e3, "ms", n,
           "hashring.get_responsible_hsdirs, first and second descriptor")

    def total():
        my_onionbalance.consensus = new_consensus()
        responsible_both(keys)
    t, n = run_timed(total, args.min_seconds)
    figure("ring.total", t * 1e3, "ms", n,
           "Consensus refresh + both responsible sets")
    got = responsible_both(keys)
    info("responsible_first", ",".join(got[0]))
    info("responsible_second", ",".join(got[1]))
    tp = [20000]

    def blind():
        _blinded_pubkey(identity, my_onionbalance.consensus
                        .get_blinding_param(identity, tp[0]))
        tp[0] += 1
    t, n = run_timed(blind, args.min_seconds)
    figure("blind_pubkey", t * 1e6, "us", n,
           "get_blinding_param + stem _blinded_pubkey")


def read_capture(data, desc, addr):
    with open(os.path.join(data, desc)) as f:
        text = f.read()
    with open(os.path.join(data, addr)) as f:
        address = f.read().strip()
    if address.endswith(".onion"):
        address = address[:-len(".onion")]
    return text, address


def bench_decode(args, captures):
    i = [0]

    def received():
        text, address = captures[i[0] % 2]
        i[0] += 1
        return ob_descriptor.ReceivedDescriptor(text, address)
    t, n = run_timed(received, args.min_seconds)
    figure("decode.tor_descriptor", 1.0 / t, "desc/s", n,
           "Onionbalance ReceivedDescriptor: stem from_str + decrypt "
           "(no signature check)")

    def validated():
        text, address = captures[i[0] % 2]
        i[0] += 1
        HiddenServiceDescriptorV3(text.encode(), validate=True) \
            .decrypt(address)
    t, n = run_timed(validated, args.min_seconds)
    figure("decode.tor_descriptor_validated", 1.0 / t, "desc/s", n,
           "stem validate=True (body signature) + decrypt")


def bench_encode(args, captures):
    """OBDescriptor: a fresh signing key, 40 certs, the revision counter,
    both layers and the signature, as Onionbalance's publish does."""
    recv = [ob_descriptor.ReceivedDescriptor(t, a) for t, a in captures]
    pts = [r.get_intro_points() for r in recv]
    intros = [pts[i % 2][(i // 2) % len(pts[i % 2])]
              for i in range(ENCODE_INTROS)]
    key = Ed25519PrivateKey.generate()
    address = HiddenServiceDescriptorV3.address_from_identity_key(
        key, suffix=False)
    pub = key.public_key()
    c = my_onionbalance.consensus
    _, tp = ob_hashring.get_srv_and_time_period(False)
    param = c.get_blinding_param(stem.util._pubkey_bytes(pub), tp)

    def build():
        return ob_descriptor.OBDescriptor(address, key, param, intros, False)
    desc = build()
    # A real result: stem decodes it under the frontend's address.
    check = HiddenServiceDescriptorV3(str(desc.v3_desc).encode(),
                                      validate=True)
    got = len(check.decrypt(address).introduction_points)
    if got != ENCODE_INTROS:
        sys.exit("OBDescriptor holds %d intro points" % got)
    info("superdescriptor_bytes", len(str(desc.v3_desc)))
    t, n = run_timed(build, args.min_seconds)
    figure("encode.onionbalance", 1.0 / t, "desc/s", n,
           "OBDescriptor, 20 intro points: stem, keys in-process "
           "(pure-python blinded signature)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--inputs", required=True,
                    help="bench_offline --out directory")
    ap.add_argument("--data", required=True, help="captured descriptors")
    ap.add_argument("--min-seconds", type=float, default=1.0)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    # Onionbalance logs at debug by default; its daemon runs at warning.
    logging.getLogger("onionbalance").setLevel(logging.WARNING)
    with open(os.path.join(args.inputs, "consensus-microdesc.txt")) as f:
        cons = f.read()
    with open(os.path.join(args.inputs, "md-all.txt"), "rb") as f:
        mds = f.read()
    with open(os.path.join(args.inputs, "identity.hex")) as f:
        identity = bytes.fromhex(f.read().strip())
    my_onionbalance.is_testnet = False
    my_onionbalance.controller = FileController(cons, mds)
    info("onionbalance", "0.2.2 (Debian), stem %s, python %s" % (
        stem.__version__, sys.version.split()[0]))
    if args.only == "" or args.only.startswith(("ring", "blind")):
        bench_ring(args, identity)
    else:
        my_onionbalance.consensus = new_consensus()
    captures = [read_capture(args.data, "backend-descriptor.txt",
                             "backend-address.txt"),
                read_capture(args.data, "backend-be2-descriptor.txt",
                             "backend-be2-address.txt")]
    if args.only == "" or args.only.startswith("decode"):
        bench_decode(args, captures)
    if args.only == "" or args.only.startswith("encode"):
        bench_encode(args, captures)


if __name__ == "__main__":
    main()
