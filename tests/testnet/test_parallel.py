#!/usr/bin/python3
"""Two test networks side by side do not interfere (meson suite 'testnet').

Starts two small networks at the same moment (4 relays, 1 backend each)
and checks that they got disjoint port blocks and work directories, that
each client reaches its own backend, that neither client can find the
other network's backend (its HSDirs are not ours), and that stopping one
network leaves every process of the other running and working.
Exit status: 0 pass, 1 fail, 77 skip (no tor).
"""

import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import ports  # noqa: E402
import socksfetch  # noqa: E402
import testnet  # noqa: E402


class TestFailure(Exception):
    pass


def check(cond, message):
    if not cond:
        raise TestFailure(message)
    print(f"ok: {message}", flush=True)


def fetch_name(net, addr):
    return net.fetch(f"http://{addr}/", timeout=60).backend


def check_isolated(a, b, label):
    """a's client must not find b's backend: the descriptor lives on b's
    HSDirs, which a's network does not know."""
    addr = b.backend_addresses[0]
    try:
        result = a.fetch(f"http://{addr}/", timeout=60)
        got = f"an answer ({result.backend})"
    except socksfetch.FetchError as e:
        got = str(e)
    except OSError as e:
        got = f"no answer ({e})"
    check(got.startswith("SOCKS reply 0xF0") or got.startswith("no answer"),
          f"{label}: client cannot reach the other network's backend: {got}")


def run():
    with testnet.Network(backends=1) as a, testnet.Network(backends=1) as b:
        a.create()
        b.create()
        a.start()
        b.start()
        # The two bootstrap at the same time; waiting on one and then the
        # other costs nothing extra.
        a.wait_ready()
        b.wait_ready()
        a_ports = {p for n in a.nodes.values() for p in n["ports"].values()}
        b_ports = {p for n in b.nodes.values() for p in n["ports"].values()}
        check(not a_ports & b_ports,
              f"disjoint ports: A {a.base_port}+, B {b.base_port}+")
        check(a.workdir != b.workdir, "distinct work directories")
        check(fetch_name(a, a.backend_addresses[0]) == "be0",
              "A's client reaches A's backend")
        check(fetch_name(b, b.backend_addresses[0]) == "be0",
              "B's client reaches B's backend")
        check_isolated(a, b, "A")
        check_isolated(b, a, "B")
        b_pids = b.pids()
        a.close()
        check(not a.pids() and not os.path.exists(a.workdir),
              "A is stopped and its work directory removed")
        check(not os.path.exists(a.lock_path), "A's port block is released")
        check(b.pids() == b_pids,
              f"all {len(b_pids)} processes of B survive A's teardown")
        check(fetch_name(b, b.backend_addresses[0]) == "be0",
              "B still works after A's teardown")
        print(f"timings A: {a.timings}", flush=True)
        print(f"timings B: {b.timings}", flush=True)
        print(f"lock dir: {sorted(os.listdir(ports.LOCK_DIR))}", flush=True)


def main():
    if not shutil.which("tor") or not shutil.which("tor-gencert"):
        print("SKIP: tor or tor-gencert missing")
        return 77
    try:
        run()
    except (TestFailure, testnet.TestnetError, OSError,
            socksfetch.FetchError) as e:
        print(f"FAIL: {e}", flush=True)
        return 1
    print("PASS", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
