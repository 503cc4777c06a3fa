#!/usr/bin/python3
"""The demo (README's first command, run by scripts/demo).

On a private Tor network on 127.0.0.1 it starts three backend onion
services, makes a frontend key and config.yaml with onionbalanced-config,
turns the backends into instances of that frontend, starts onionbalanced,
and then fetches the frontend through a client tor on fresh circuits,
printing which backend answered each time.  It ends with `onionbalanced
status` and stops everything it started (by pid).

    demo.py --build-dir DIR [--requests N] [--keep]
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import obdaemon  # noqa: E402
import testnet  # noqa: E402

T0 = time.monotonic()


def say(message=""):
    print(f"[{time.monotonic() - T0:5.0f} s] {message}" if message else "",
          flush=True)


def first_answer(net, ob, timeout=180):
    url = f"http://{ob.frontend}/"
    while True:
        try:
            r = net.fetch(url, timeout=30)
            if r.backend:
                return r
        except (OSError, testnet.socksfetch.FetchError) as e:
            say(f"  not yet ({e}); trying again")
        if time.time() - ob.started_at > timeout:
            raise obdaemon.DaemonError(f"the frontend did not answer within "
                                       f"{timeout} s; see {ob.log_path}")
        time.sleep(2)


def fetch_many(net, ob, n):
    names = {f"be{i}": f"node{i + 1}" for i in range(len(net.backend_names))}
    counts = {}
    for i in range(n):
        try:
            r = net.fetch(f"http://{ob.frontend}/", timeout=60)
            who = r.backend or f"HTTP {r.status}"
            say(f"  request {i + 1:2}: answered by {who} "
                f"(instance {names.get(r.backend, '?')}) in {r.seconds:.2f} s")
        except (OSError, testnet.socksfetch.FetchError) as e:
            who = "failed"
            say(f"  request {i + 1:2}: failed: {e}")
        counts[who] = counts.get(who, 0) + 1
    return counts


def run(args):
    say("starting a private Tor network on 127.0.0.1: 3 directory "
        "authorities, 4 relays, 3 backend onion services (each serves its "
        "name), a management tor for onionbalanced and a client tor")
    with testnet.Network(relays=4, backends=3, keep=args.keep) as net:
        net.create()
        net.start()
        net.wait_ready()
        say(f"network ready in {net.workdir}")
        for name, addr in zip(net.backend_names, net.backend_addresses):
            say(f"  backend {name}: {addr}")
        ob = obdaemon.Onionbalanced(net, args.build_dir, log_level="info")
        ob.configure()
        say(f"onionbalanced-config made the frontend key and config.yaml: "
            f"frontend {ob.frontend}")
        with open(ob.config_path) as f:
            for line in f.read().splitlines():
                print(f"         | {line}")
        say("switching the backends to Onionbalance-instance mode "
            "(HiddenServiceOnionbalanceInstance 1, restart each tor)")
        ob.switch_backends()
        say(f"starting onionbalanced (log: {ob.log_path})")
        ob.start()
        try:
            kids = ob.wait_children()
            say(f"  parent pid {ob.proc.pid}; keyd {kids['keyd']}, fetchd "
                f"{kids['fetchd']}, publishd {kids['publishd']}")
            say("waiting until the client reaches the frontend")
            r = first_answer(net, ob)
            say(f"first answer from {r.backend}, "
                f"{time.time() - ob.started_at:.0f} s after onionbalanced "
                f"started")
            say(f"{args.requests} requests to http://{ob.frontend}/, each on "
                f"fresh circuits (a new SOCKS username)")
            counts = fetch_many(net, ob, args.requests)
            say(f"answers: {dict(sorted(counts.items()))}")
            say("onionbalanced status:")
            code, text = ob.status_text()
            print(text, flush=True)
        finally:
            say("stopping onionbalanced and the network")
            ob.stop()
    ok = counts.get("failed", 0) == 0 and len(counts) >= 2
    say("done" if ok else "done, but not every request was answered or "
        "only one backend answered")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--requests", type=int, default=15)
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory (logs) after the demo")
    args = ap.parse_args()
    try:
        return run(args)
    except (testnet.TestnetError, obdaemon.DaemonError, OSError) as e:
        print(f"demo: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
