#!/usr/bin/python3
"""Smoke test of the test network (meson suite 'testnet').

Starts one network (3 authorities, 4 relays, 3 backends) and checks:
  - the client reaches each backend at its own onion address, on fresh
    circuits, and always gets that backend's answer;
  - every socket the network's processes listen on is on 127.0.0.1;
  - the management tor takes SAFECOOKIE and COOKIE auth on its control
    port and on its control socket;
  - a backend switched into Onionbalance-instance mode registers the
    frontend, publishes again and still answers at its own address;
  - the management tor restarts and comes back.
Exit status: 0 pass, 1 fail, 77 skip (no tor).
"""

import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import testnet  # noqa: E402
import torcontrol  # noqa: E402

FETCHES_PER_BACKEND = 3


class TestFailure(Exception):
    pass


def check(cond, message):
    if not cond:
        raise TestFailure(message)
    print(f"ok: {message}", flush=True)


def check_backends_reachable(net):
    for i, addr in enumerate(net.backend_addresses):
        name = net.backend_names[i]
        seen = []
        for _ in range(FETCHES_PER_BACKEND):
            result = net.fetch(f"http://{addr}/")
            seen.append((result.status, result.backend,
                         round(result.seconds, 2)))
        check(all(s == 200 and b == name for s, b, _ in seen),
              f"{addr} answered by {name} on {FETCHES_PER_BACKEND} fresh "
              f"circuits: {seen}")


def check_loopback_only(net):
    sockets = net.sockets()
    # Each tor has a control listener; the client also a SocksPort,
    # servers an ORPort and a DirPort, each backend's server its port.
    check(len(sockets) >= len(net.nodes) + len(net.backend_names),
          f"found the network's {len(sockets)} listening sockets")
    outside = [s for s in sockets if s[1] != "127.0.0.1"]
    check(not outside, f"all listening sockets are on 127.0.0.1 "
          f"(others: {outside})")
    expected = {p for n in net.nodes.values() for p in n["ports"].values()}
    actual = {s[2] for s in sockets}
    check(expected <= actual, "every allocated port is listening")


def check_mgmt_auth(net):
    cookie = net.mgmt_cookie_path
    check(os.path.getsize(cookie) == 32, f"mgmt cookie at {cookie}")
    for how in ("port", "socket"):
        for method in ("SAFECOOKIE", "COOKIE"):
            if how == "port":
                ctl = torcontrol.Controller.connect_tcp(net.mgmt_control_port)
            else:
                ctl = torcontrol.Controller.connect_unix(
                    net.mgmt_control_socket)
            try:
                if method == "SAFECOOKIE":
                    ctl.authenticate(cookie)
                else:
                    ctl.command("AUTHENTICATE " +
                                torcontrol.read_cookie(cookie).hex())
                version = ctl.getinfo("version")
            finally:
                ctl.close()
            check(version.startswith("0."),
                  f"mgmt control {how}, {method} auth: tor {version}")


def check_wrong_cookie_rejected(net):
    ctl = torcontrol.Controller.connect_tcp(net.mgmt_control_port)
    try:
        ctl.command("AUTHENTICATE " + "00" * 32)
        rejected = False
    except torcontrol.ControlError:
        rejected = True
    finally:
        ctl.close()
    check(rejected, "mgmt rejects a wrong cookie")


def frontend_address():
    path = os.path.join(HERE, "..", "data", "tor-0.4.9-testnet",
                        "frontend-address.txt")
    with open(path) as f:
        return f.read().strip()


def check_ob_mode(net):
    frontend = frontend_address()
    t0 = time.monotonic()
    net.set_backend_ob_mode(0, frontend)
    elapsed = time.monotonic() - t0
    hs = os.path.join(net.node_dir("be0"), "hs")
    with open(os.path.join(hs, "ob_config")) as f:
        check(f.read() == f"MasterOnionAddress {frontend}\n",
              "be0 has hs/ob_config")
    with open(os.path.join(net.node_dir("be0"), "info.log")) as f:
        log = f.read()
    check(f"MasterOnionAddress {frontend} registered" in log,
          f"be0's tor registered the frontend (switch took {elapsed:.1f} s)")
    # The client still holds be0's old descriptor, whose intro points
    # died with the old process; tor refetches after they fail.
    deadline = time.monotonic() + 90
    while True:
        try:
            result = net.fetch(f"http://{net.backend_addresses[0]}/",
                               timeout=30)
            if result.backend == "be0":
                break
        except (OSError, testnet.socksfetch.FetchError) as e:
            print(f"  (be0 not reachable yet: {e})", flush=True)
        if time.monotonic() > deadline:
            raise TestFailure("be0 unreachable after the switch")
        net.client_newnym()
    check(True, "be0 still answers at its own address as an instance")


def check_mgmt_restart(net):
    old = net.pids()["mgmt-tor"]
    net.restart_mgmt()
    new = net.pids()["mgmt-tor"]
    check(old != new, f"mgmt restarted (pid {old} -> {new})")
    check_mgmt_auth(net)


def run():
    with testnet.Network() as net:
        net.create()
        net.start()
        net.wait_ready()
        check(len(set(net.backend_addresses)) == len(net.backend_names) == 3,
              f"3 distinct backend addresses {net.backend_addresses}")
        check_backends_reachable(net)
        check_loopback_only(net)
        check_mgmt_auth(net)
        check_wrong_cookie_rejected(net)
        check_ob_mode(net)
        check_mgmt_restart(net)
        print(f"timings: {net.timings}", flush=True)


def main():
    if not shutil.which("tor") or not shutil.which("tor-gencert"):
        print("SKIP: tor or tor-gencert missing")
        return 77
    try:
        run()
    except (TestFailure, testnet.TestnetError, OSError,
            torcontrol.ControlError, testnet.socksfetch.FetchError) as e:
        print(f"FAIL: {e}", flush=True)
        return 1
    print("PASS", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
