#!/usr/bin/python3
"""onionbalanced in Onionbalance's place under Onionspray's softmap (issue
23; meson suite 'testnet'; docs/onionspray.md says where each step comes
from).

One network (3 authorities, 4 relays, 2 backends).  An Onionspray folder
(ONIONSPRAY_HOME = <workdir>/onionspray) is laid out as Onionspray's
generator lays it out, and onionbalanced is started, reloaded, queried and
stopped as Onionspray does it with Onionbalance:

  keys      the frontend key as secrets/<onion>.v3sec.key and .v3pub.key
            (tor's hs_ed25519_secret_key and _public_key, as
            generate-onion-key.sh leaves them)
  workers   the two backend tors are the project's softmap workers: one
            HiddenServiceDir each, HiddenServiceVersion 3, port 80,
            HiddenServiceOnionbalanceInstance 1 and an ob_config naming
            the frontend
  ob-gather onionbalance/config.yaml as do-obconfig.pl writes it from the
            `maps` lines ("<softmap onion> <domain> <project> softmap via
            <worker onion>"): v2's upper-case settings, then one service
            with both workers, quoted, without ".onion"
  ob-start  `onionbalance -s <control socket> -c <config.yaml> </dev/null
            >onionbalance/onionbalance.log 2>&1 &`, $! into ob.pid, by
            /bin/sh with a PATH whose first directory holds `onionbalance`,
            a link to onionbalanced (as /usr/lib/onionbalanced/onionspray/
            is); the management tor (the network's) plays Onionspray's
            "OnionBalance-Tor".  Only --libexecdir and --chroot-dir (the
            children in the build tree) are added.
  reach     once ob-status (the status socket, read to its end as socat
            does) shows both descriptors uploaded to every responsible
            HSDir: a client reaches the frontend (fresh circuits).
  reload    ob-gather again with one worker dropped, SIGHUP to the pid in
            ob.pid: within 60 s the status lists one instance and both
            descriptors are built after the signal and uploaded; a client
            request is answered by the remaining worker.
  restart   ob-restart: ob-stop (SIGTERM to ob.pid's pid, ob.pid removed;
            the process and its status socket are gone), then ob-start:
            the status socket answers again.

Environment: OB_BUILD_DIR (set by tests/meson.build), OB_TESTNET_KEEP=1
keeps the work directory.  Exit status: 0 pass, 1 fail, 77 skip.
"""

import base64
import hashlib
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import obdaemon  # noqa: E402
import test_daemon  # noqa: E402
from test_daemon import TestFailure, check, note  # noqa: E402
import testnet  # noqa: E402

PUBLISH_LIMIT = 180     # first build and upload to every HSDir
RELOAD_LIMIT = 60       # SIGHUP -> rebuilt and uploaded everywhere
START_LIMIT = 30        # ob-start -> status socket answers
PROJECT = "softexample"
DOMAIN = "example.com"


class Spray:
    """An Onionspray folder with one softmap project."""

    def __init__(self, net, build_dir):
        self.net = net
        self.ob = obdaemon.Onionbalanced(net, build_dir, name="onionspray")
        self.home = self.ob.dir
        self.secrets = os.path.join(self.home, "secrets")
        self.obdir = os.path.join(self.home, "onionbalance")
        self.conf = os.path.join(self.obdir, "config.yaml")
        self.status_sock = os.path.join(self.obdir, "ob-status.sock")
        self.pidfile = os.path.join(self.obdir, "ob.pid")
        self.log = os.path.join(self.obdir, "onionbalance.log")
        self.bindir = os.path.join(self.home, "bin")
        self.frontend = None
        self.pid = None

    def make_key(self):
        """The frontend key in secrets/, in tor's format (made from a key
        onionbalanced-config writes)."""
        gen = os.path.join(self.home, "gen")
        os.makedirs(self.home, exist_ok=True)
        done = subprocess.run(
            [self.ob.binary("onionbalanced-config"), "--no-interactive",
             "-n", "1", "--output", gen, "-v", "warning"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if done.returncode != 0:
            raise TestFailure(f"onionbalanced-config: {done.stdout}")
        pem = [f for f in os.listdir(gen) if f.endswith(".key")][0]
        onion = pem[:-len(".key")]
        with open(os.path.join(gen, pem)) as f:
            der = base64.b64decode("".join(
                ln for ln in f.read().splitlines() if "-" not in ln))
        expanded = bytearray(hashlib.sha512(der[-32:]).digest())
        expanded[0] &= 248
        expanded[31] = (expanded[31] & 63) | 64
        raw = base64.b32decode(onion.upper())
        os.makedirs(self.secrets, mode=0o700)
        sec = os.path.join(self.secrets, f"{onion}.v3sec.key")
        fd = os.open(sec, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(fd, "wb") as f:
            f.write(b"== ed25519v1-secret: type0 ==\0\0\0" + expanded)
        with open(os.path.join(self.secrets, f"{onion}.v3pub.key"),
                  "wb") as f:
            f.write(b"== ed25519v1-public: type0 ==\0\0\0" + raw[:32])
        self.frontend = onion + ".onion"
        self.ob.frontends = [self.frontend]
        self.ob.frontend = self.frontend

    def maps(self, workers):
        """What `onionspray maps` prints for the project (maps.sh)."""
        return [f"{self.frontend} {DOMAIN} {PROJECT} softmap via {w}"
                for w in workers]

    def ob_gather(self, workers):
        """config.yaml from the maps lines, as ob-gather and
        do-obconfig.pl write it."""
        os.makedirs(self.obdir, mode=0o700, exist_ok=True)
        refresh = 600
        lines = ["LOG_LEVEL: info", "TOR_ADDRESS: 127.0.0.1",
                 "TOR_PORT: 9055",
                 f"STATUS_SOCKET_LOCATION: {self.status_sock}",
                 f"REFRESH_INTERVAL: {refresh}",
                 f"INITIAL_DELAY: {refresh // 6}",
                 f"PUBLISH_CHECK_INTERVAL: {refresh // 2}",
                 f"DESCRIPTOR_OVERLAP_PERIOD: {refresh * 4}",
                 f"DESCRIPTOR_UPLOAD_PERIOD: {refresh * 4}",
                 "DESCRIPTOR_VALIDITY_PERIOD: 86400", "services:",
                 f"# PROJECT {PROJECT}"]
        master = None
        for line in self.maps(workers):
            onion, dns, _, softmap, via, worker = line.split()
            assert (softmap, via) == ("softmap", "via")
            if onion != master:
                master = onion
                key = os.path.join(self.secrets,
                                   onion[:-len(".onion")] + ".v3sec.key")
                lines += [f"  # {dns} => {onion}", f"  - key: {key}",
                          "    instances:"]
            lines.append(f"      - address: "
                         f"'{worker[:-len('.onion')]}'")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def ob_start(self):
        """ob-start's two lines, onionbalanced as `onionbalance`."""
        if os.path.exists(self.pidfile):
            raise TestFailure(f"{self.pidfile} exists: ob-start refuses")
        os.makedirs(self.bindir, exist_ok=True)
        link = os.path.join(self.bindir, "onionbalance")
        if not os.path.lexists(link):
            os.symlink(self.ob.binary("onionbalanced"), link)
        self.ob._link_children()
        extra = ["--libexecdir", self.ob.libexec]
        if os.geteuid() == 0:
            empty = os.path.join(self.home, "empty")
            os.makedirs(empty, mode=0o555, exist_ok=True)
            extra += ["--chroot-dir", empty]
        more = " ".join(f'"${i}"' for i in range(3, 3 + len(extra)))
        script = (f'onionbalance -s "$1" -c "$2" {more} '
                  '</dev/null >>"$L" 2>&1 &\necho $! >"$P"\n')
        env = dict(os.environ, PATH=self.bindir + os.pathsep +
                   os.environ.get("PATH", ""), L=self.log, P=self.pidfile)
        subprocess.run(["/bin/sh", "-c", script, "ob-start",
                        self.net.mgmt_control_socket, self.conf, *extra],
                       env=env, check=True, timeout=10)
        with open(self.pidfile) as f:
            self.pid = int(f.read())
        # The harness's copy, so that the network's teardown stops it.
        with open(os.path.join(self.net.workdir, "pids",
                               "onionspray-ob.pid"), "w") as f:
            f.write(f"{self.pid}\n")
        deadline = time.monotonic() + START_LIMIT
        while True:
            try:
                return self.ob_status()
            except (OSError, ValueError):
                pass
            if not alive(self.pid) or time.monotonic() > deadline:
                raise TestFailure(f"no status socket after ob-start:\n"
                                  f"{self.log_tail()}")
            time.sleep(0.2)

    def ob_stop(self, timeout=15):
        """ob-stop: SIGTERM to the pid in ob.pid, ob.pid removed."""
        if self.pid is None:
            return
        with open(self.pidfile) as f:
            pid = int(f.read())
        os.kill(pid, signal.SIGTERM)
        os.unlink(self.pidfile)
        deadline = time.monotonic() + timeout
        while alive(pid):
            if time.monotonic() > deadline:
                raise TestFailure(f"pid {pid} still runs {timeout} s after "
                                  f"SIGTERM")
            time.sleep(0.1)
        self.pid = None

    def ob_status(self):
        """ob-status's `socat - unix-connect:<sock>`: the document."""
        return obdaemon.read_status(self.status_sock)

    def log_tail(self, n=30):
        try:
            with open(self.log) as f:
                return "".join(f.readlines()[-n:])
        except FileNotFoundError:
            return "(no log)"


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def wait_published(spray, workers, after=None, limit=PUBLISH_LIMIT):
    """Until ob-status lists exactly these workers and both descriptors
    are on every responsible HSDir (built after `after`, if given)."""
    want = sorted(w[:-len(".onion")] for w in workers)
    deadline = time.monotonic() + limit
    last = None
    while time.monotonic() < deadline:
        doc = spray.ob_status()
        if doc["services"]:
            sv = doc["services"][0]
            got = sorted(i["onionAddress"].split(".")[0]
                         for i in sv["instances"])
            descs = sv["descriptors"]
            built = [obdaemon.parse_time(d.get("builtAt")) for d in descs]
            last = (got, [(d.get("revisionCounter"), d.get("builtAt"))
                          for d in descs])
            if got == want and descs and all(
                    test_daemon.uploaded_everywhere(d) for d in descs) and (
                    after is None or all(b is not None and b >= after
                                         for b in built)):
                return sv
        time.sleep(2)
    raise TestFailure(f"not published for {want} within {limit} s: {last}")


def reach(net, spray, names):
    net.client_newnym()
    r = test_daemon.fetch_frontend(net, spray.ob, frontend=spray.frontend)
    check(r.backend in names, f"request answered by {r.backend} "
          f"(one of {names}) in {r.seconds:.1f} s")


def run(build_dir):
    t_start = time.monotonic()
    keep = os.environ.get("OB_TESTNET_KEEP") == "1"
    with testnet.Network(backends=2, keep=keep) as net:
        net.create()
        net.start()
        net.wait_ready(timeout=300)
        spray = Spray(net, build_dir)
        try:
            spray.make_key()
            note(f"softmap {DOMAIN} => {spray.frontend}")
            spray.ob.switch_backends()
            workers = list(net.backend_addresses)
            spray.ob_gather(workers)
            doc = spray.ob_start()
            note(f"ob-start: pid {spray.pid}, ob-status answers "
                 f"({len(doc['services'])} service(s))")
            t0 = time.monotonic()
            wait_published(spray, workers)
            note(f"published everywhere {time.monotonic() - t0:.0f} s "
                 f"after ob-start")
            reach(net, spray, net.backend_names)

            note("reload: ob-gather without the second worker, SIGHUP")
            spray.ob_gather(workers[:1])
            t0 = time.time()
            os.kill(spray.pid, signal.SIGHUP)
            wait_published(spray, workers[:1], after=int(t0),
                           limit=RELOAD_LIMIT)
            note(f"  rebuilt and uploaded {time.time() - t0:.1f} s after "
                 f"SIGHUP")
            reach(net, spray, net.backend_names[:1])
            with open(spray.log) as f:
                logged = f.read()
            check(f"[info] SIGHUP: reloading {spray.conf}" in logged,
                  "LOG_LEVEL: info took effect (the reload is logged)")

            note("ob-restart: ob-stop, then ob-start")
            spray.ob_stop()
            check(not os.path.exists(spray.status_sock),
                  "ob-stop: the status socket is gone")
            spray.ob_start()
            wait_published(spray, workers[:1], limit=RELOAD_LIMIT)
        except BaseException:
            print("--- last lines of onionbalance.log ---", flush=True)
            print(spray.log_tail(40), flush=True)
            raise
        finally:
            spray.ob_stop()
        with open(spray.log) as f:
            lines = f.read().splitlines()
        sanitizer = [ln for ln in lines
                     if "Sanitizer" in ln or "runtime error:" in ln]
        check(not sanitizer, f"no sanitizer report: {sanitizer[:5]}")
        print(f"total {time.monotonic() - t_start:.0f} s", flush=True)


if __name__ == "__main__":
    sys.exit(test_daemon.main(run))
