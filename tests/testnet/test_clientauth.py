#!/usr/bin/python3
"""Restricted discovery on the frontend, judged by tor's own client (issue
21; meson suite 'testnet').

One network (3 authorities, 4 relays, 2 backends), one onionbalanced whose
frontend has `authorized-clients: [<dir>]`, the directory holding
alice.auth and bob.auth made by `onionbalanced-config add-client` (which
also writes each client's .auth_private).  The client tor gets a client
key with ONION_CLIENT_AUTH_ADD (what ClientOnionAuthDir loads) after
the SIGNAL NEWNYM that precedes each request (NEWNYM purges tor's
descriptor cache, so every request fetches the frontend's descriptor
afresh from an HSDir, and also the keys ONION_CLIENT_AUTH_ADD gave):

  none     no key: tor refuses with SOCKS ExtendedError 0xF4 (missing
           client authorization), before any introduction
  alice    alice's key: 3 requests on fresh circuits are answered by our
           backends
  wrong    a key of no listed client: 0xF5 (wrong client authorization)
  removed  alice.auth deleted, SIGHUP: the status counts 1 client and the
           descriptors are built and uploaded again; alice's key now gets
           0xF5; bob's key is answered

Restricted backend, in the same run: be1's tor has an
authorized_clients/onionbalanced.auth made by `onionbalanced-config
add-client --address <be1>` (whose .auth_private is onionbalanced's key),
and the service's `client-auth-dir` starts empty:

  no key   be1's status is invalid, "client authorization required";
           be0 alone answers the requests above
  wrong    a .auth_private for be1 that be1 does not list, SIGHUP:
           "wrong client key"
  key      the right one (with the "removed" reload): be1 is live, its
           probes get through (the management tor holds the key, and
           holds it again after a NEWNYM on it), and it answers requests
           through the frontend

Environment: OB_BUILD_DIR (set by tests/meson.build), OB_TESTNET_KEEP=1
keeps the work directory, OB_CAPTURE_DIR=DIR writes be1's restricted
descriptor and its client key there (how tests/data/tor-0.4.9-restricted/
was made).  Exit status: 0 pass, 1 fail, 77 skip.
"""

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import hsdesc  # noqa: E402
import obdaemon  # noqa: E402
import test_daemon  # noqa: E402
from test_daemon import TestFailure, check, note  # noqa: E402
import testnet  # noqa: E402

PUBLISH_LIMIT = 180     # first build and upload to every HSDir
RELOAD_LIMIT = 60       # SIGHUP -> rebuilt and uploaded everywhere
RESTRICTED_LIMIT = 120  # a restricted backend's status after a (re)load
REQUESTS = 3
BE1_TRIES = 8           # requests until the restricted be1 answers one


def add_client(ob, authdir, name):
    """onionbalanced-config add-client; returns the client's private key
    (32 bytes) from its .auth_private, checked against the frontend."""
    done = subprocess.run(
        [ob.binary("onionbalanced-config"), "add-client", "--address",
         ob.frontend, "--name", name, "--authorized-clients", authdir,
         "--output", ob.dir], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        raise TestFailure(f"add-client {name}: {done.stdout}")
    with open(os.path.join(ob.dir, f"{name}.auth_private")) as f:
        addr, auth, kind, key = f.read().strip().split(":")
    check(addr + ".onion" == ob.frontend and (auth, kind) ==
          ("descriptor", "x25519"), f"{name}.auth_private names the "
          f"frontend: {addr}")
    return base64.b32decode(key.upper() + "=" * (-len(key) % 8))


def set_client_key(net, ob, key):
    """The client tor's key for the frontend (None: none)."""
    ctl = net.controller("client")
    addr = ob.frontend[:-len(".onion")]
    try:
        try:
            ctl.command(f"ONION_CLIENT_AUTH_REMOVE {addr}")
        except testnet.torcontrol.ControlError:
            pass        # none yet
        if key is not None:
            ctl.command(f"ONION_CLIENT_AUTH_ADD {addr} x25519:"
                        f"{base64.b64encode(key).decode()}")
    finally:
        ctl.close()


def outcome(net, ob, key):
    """One request through the frontend after NEWNYM, with the client
    key `key` (None: none): the backend that answered, or the SOCKS
    error."""
    net.client_newnym()
    set_client_key(net, ob, key)
    try:
        r = net.fetch(f"http://{ob.frontend}/", timeout=90)
        return r.backend or f"HTTP {r.status} {r.body!r}"
    except testnet.socksfetch.FetchError as e:
        return str(e)
    except OSError as e:
        return f"no answer ({e})"


def expect_refused(net, ob, key, code, what):
    got = outcome(net, ob, key)
    check(got.startswith(f"SOCKS reply 0x{code:02X}"),
          f"{what}: tor's client refuses with 0x{code:02X}: {got}")


def expect_answered(net, ob, key, what, n=REQUESTS):
    for i in range(n):
        got = outcome(net, ob, key)
        check(got in net.backend_names, f"{what}: request {i + 1} answered "
              f"by a backend: {got}")


def wait_published(ob, clients, after=None, limit=PUBLISH_LIMIT):
    """Until the status counts `clients` and both descriptors are on every
    responsible HSDir (built after `after`, if given)."""
    deadline = time.monotonic() + limit
    last = None
    while time.monotonic() < deadline:
        try:
            _, sv = ob.service_status()
        except obdaemon.DaemonError as e:     # not configured yet
            last = str(e)
            time.sleep(2)
            continue
        descs = sv["descriptors"]
        last = (sv.get("authorizedClients"),
                [(d.get("revisionCounter"), d.get("builtAt")) for d in descs])
        built = [obdaemon.parse_time(d.get("builtAt")) for d in descs]
        if sv.get("authorizedClients") == clients and all(
                test_daemon.uploaded_everywhere(d) for d in descs) and (
                after is None or all(b is not None and b >= after
                                     for b in built)):
            return
        time.sleep(2)
    raise TestFailure(f"not published for {clients} client(s) within "
                      f"{limit} s: {last}")


def add_backend_client(ob, authorized_clients, address, name, output):
    """A client key pair for a restricted backend, the way an operator
    makes one: its .auth into authorized_clients (the backend's, or
    another directory for a key the backend does not know), its
    .auth_private into output."""
    os.makedirs(authorized_clients, mode=0o700, exist_ok=True)
    os.makedirs(output, mode=0o700, exist_ok=True)
    done = subprocess.run(
        [ob.binary("onionbalanced-config"), "add-client", "--address",
         address, "--name", name, "--authorized-clients",
         authorized_clients, "--output", output], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        raise TestFailure(f"add-client {name} for {address}: {done.stdout}")
    return os.path.join(output, f"{name}.auth_private")


def instance_status(ob, name):
    _, sv = ob.service_status()
    for inst in sv["instances"]:
        if inst.get("name") == name:
            return inst
    raise TestFailure(f"no instance {name} in the status: {sv['instances']}")


def wait_instance(ob, name, what, pred, limit=RESTRICTED_LIMIT):
    deadline = time.monotonic() + limit
    inst = None
    while time.monotonic() < deadline:
        try:
            inst = instance_status(ob, name)
        except obdaemon.DaemonError:
            inst = None
        if inst is not None and pred(inst):
            return inst
        time.sleep(2)
    raise TestFailure(f"{name}: not {what} within {limit} s: " + (
        f"state {inst.get('state')}, {inst.get('stateDetail')!r}, "
        f"liveness {inst.get('liveness')}" if inst else "no status"))


def mgmt_client_keys(net):
    """The addresses the management tor holds a client key for."""
    ctl = net.controller("mgmt")
    try:
        lines = ctl.command("ONION_CLIENT_AUTH_VIEW")
    finally:
        ctl.close()
    return {line.text.split()[1] for line in lines
            if line.text.startswith("CLIENT ")}


def check_mgmt_holds_key(net, address, when):
    short = address[:-len(".onion")]
    deadline = time.monotonic() + 20
    while short not in mgmt_client_keys(net):
        if time.monotonic() > deadline:
            raise TestFailure(f"the management tor holds no client key for "
                              f"{short} {when}")
        time.sleep(1)


def capture_restricted(net, address, key_file, out):
    """Test data for the codec (tests/data/tor-0.4.9-restricted/): the
    descriptor tor made for the restricted backend, as an HSDir serves it,
    with the client key that opens it."""
    ctl = net.controller("client")
    try:
        ctl.setevents(["HS_DESC", "HS_DESC_CONTENT"])
        text = hsdesc.hsfetch(ctl, address)
        version = ctl.command("GETINFO version")[0].text
    finally:
        ctl.close()
    if text is None:
        raise TestFailure(f"capture: no descriptor of {address}")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "restricted-descriptor.txt"), "w") as f:
        f.write(text)
    shutil.copy(key_file, os.path.join(out, "restricted.auth_private"))
    meta = {"restricted_address": address,
            "captured_at_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                             time.gmtime()),
            "voting_interval_s": 20,
            "tor_version": version.split("=", 1)[-1]}
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    note(f"captured be1's restricted descriptor into {out}")


def run(build_dir):
    t_start = time.monotonic()
    keep = os.environ.get("OB_TESTNET_KEEP") == "1"
    with testnet.Network(backends=2, keep=keep) as net:
        net.create()
        net.start()
        net.wait_ready(timeout=300)
        ob = obdaemon.Onionbalanced(net, build_dir)
        authdir = os.path.join(ob.dir, "authorized_clients")
        keydir = os.path.join(ob.dir, "backend_keys")
        be1 = net.service_address("be1")
        be1_hs = net.backend_services("be1")[0]["hs_dir"]
        try:
            ob.configure(service={"authorized-clients": [authdir],
                                  "client-auth-dir": keydir})
            os.makedirs(authdir)
            alice = add_client(ob, authdir, "alice")
            bob = add_client(ob, authdir, "bob")
            os.makedirs(keydir, mode=0o700)
            be1_key = add_backend_client(
                ob, os.path.join(be1_hs, "authorized_clients"), be1,
                "onionbalanced", os.path.join(ob.dir, "keys_right"))
            wrong_key = add_backend_client(
                ob, os.path.join(ob.dir, "unused_auth"), be1,
                "onionbalanced", os.path.join(ob.dir, "keys_wrong"))
            ob.switch_backends()        # restarts be1: now restricted
            ob.start()
            note(f"frontend {ob.frontend}, clients alice and bob; "
                 f"be1 restricted")
            wait_published(ob, 2)
            note("restricted be1, no key in client-auth-dir")
            wait_instance(ob, "node2", "'client authorization required'",
                          lambda i: i.get("state") == "invalid" and
                          i.get("stateDetail") ==
                          "client authorization required")
            if os.environ.get("OB_CAPTURE_DIR"):
                capture_restricted(net, be1, be1_key,
                                   os.environ["OB_CAPTURE_DIR"])

            note("none: no client key")
            expect_refused(net, ob, None, 0xF4, "no key")
            note("alice")
            expect_answered(net, ob, alice, "alice's key")
            note("wrong: a key of no listed client")
            expect_refused(net, ob, os.urandom(32), 0xF5, "an unlisted key")

            note("restricted be1, a key it does not list, SIGHUP")
            shutil.copy(wrong_key, keydir)
            os.kill(ob.proc.pid, signal.SIGHUP)
            wait_instance(ob, "node2", "'wrong client key'",
                          lambda i: i.get("state") == "invalid" and
                          i.get("stateDetail") == "wrong client key")

            note("removed: alice.auth deleted; be1's right key; SIGHUP")
            os.unlink(os.path.join(authdir, "alice.auth"))
            shutil.copy(be1_key, keydir)        # replaces the wrong one
            t0 = time.time()
            os.kill(ob.proc.pid, signal.SIGHUP)
            wait_published(ob, 1, after=int(t0), limit=RELOAD_LIMIT)
            note(f"  rebuilt and uploaded {time.time() - t0:.1f} s after "
                 f"SIGHUP")
            wait_instance(ob, "node2", "live, in the descriptor, alive",
                          lambda i: i.get("state") == "live" and
                          i.get("inDescriptor") and
                          i.get("liveness") == "alive")
            note(f"  be1 live and alive {time.time() - t0:.1f} s after "
                 f"SIGHUP")
            check_mgmt_holds_key(net, be1, "after the reload")
            ctl = net.controller("mgmt")
            try:
                ctl.signal("NEWNYM")
            finally:
                ctl.close()
            t_newnym = time.time()
            check_mgmt_holds_key(net, be1, "after a NEWNYM on it")
            wait_instance(ob, "node2", "probed through after the NEWNYM",
                          lambda i: i.get("lastProbeOutcome") ==
                          "stream opened" and
                          (obdaemon.parse_time(i.get("lastProbe")) or 0) >
                          t_newnym + 1, limit=60)
            expect_refused(net, ob, alice, 0xF5, "alice, removed")
            expect_answered(net, ob, bob, "bob's key, after the reload", 1)
            answered = []
            while len(answered) < BE1_TRIES and "be1" not in answered:
                answered.append(outcome(net, ob, bob))
            check("be1" in answered, f"the restricted be1 answers one of "
                  f"{BE1_TRIES} requests through the frontend: {answered}")
        except BaseException:
            print("--- last lines of onionbalanced's log ---", flush=True)
            print(ob.log_tail(40), flush=True)
            raise
        finally:
            code = ob.stop()
        check(code == 0, f"onionbalanced stopped with status {code}")
        sanitizer = [line for line in ob.log_lines()
                     if "Sanitizer" in line or "runtime error:" in line]
        check(not sanitizer, f"no sanitizer report: {sanitizer[:5]}")
        print(f"total {time.monotonic() - t_start:.0f} s", flush=True)


if __name__ == "__main__":
    sys.exit(test_daemon.main(run))
