#!/usr/bin/python3
"""onionbalanced logging in to a real tor: each authentication method, over
TCP and over a unix socket (issue 16).

tests/testnet/test_torctl_realtor.c runs the library (common/torctl/torctl.c)
against a real tor over TCP.  This test runs the daemon: the real
onionbalanced parent, with the real keyd, fetchd and publishd from the build
directory (OB_BUILD_DIR), whose login is its own code (the parent does
PROTOCOLINFO and AUTHENTICATE in parent/control_open.c and hands fetchd and
publishd connections that are already authenticated).

Three Debian tors, one per authentication mode, each serving a ControlPort
on 127.0.0.1 and a ControlSocket at the same time (DisableNetwork 1,
SocksPort 0, their own DataDirectory in a temporary directory; nothing
leaves the machine).  Ports come from a block of tests/testnet/ports.py.

  tor       its torrc                        PROTOCOLINFO METHODS=
  cookie    CookieAuthentication 1           COOKIE,SAFECOOKIE
  password  HashedControlPassword (made      HASHEDPASSWORD
            with `tor --hash-password`)
  null      no authentication                NULL

Which method the daemon uses: the strongest one tor offers and it has the
secret for, SAFECOOKIE > COOKIE > HASHEDPASSWORD > NULL
(torctl_auth_choose(), called by control_open.c with every method
allowed).  A real tor that offers COOKIE always offers SAFECOOKIE with it,
and the daemon has no setting to refuse a method, so against the cookie
tor it always uses SAFECOOKIE.  Plain COOKIE is run through a relay in
this test that only removes SAFECOOKIE from tor's PROTOCOLINFO reply
(MethodFilter): the daemon then sends the cookie itself, and the real tor
checks it.

Each positive case starts onionbalanced and waits until
- the parent's log says "tor control: authenticated (<METHOD>)" for its
  preflight and for the connections of fetchd and publishd (so the method
  is the expected one, every time);
- publishd's status document says controlConnected (tor accepted its
  SETEVENTS, which tor answers with 514 on a connection that is not
  authenticated), and `onionbalanced status` says "tor control: connected";
- fetchd's log has tor's answer 551 ("no consensus") to its GETINFO and
  never 514 (not authenticated);
- tor's own log (Log info) has as many "Authenticated control connection"
  lines as "New control connection opened" lines for this run, at least
  three (preflight, fetchd, publishd);
- no warning or error in onionbalanced's log, except the expected "no
  consensus" ones (DisableNetwork: tor never gets one).
For a unix case, tor-control-port names a port where nothing listens, so
a fallback to TCP (the socket is tried first) could not pass the test, and
tor's log must show every connection of the run on the expected transport
("opened." on the socket, "opened from 127.0.0.1." on the port).

The ways of naming tor are spread over the cases: the command line (-s,
-i, -p), the environment (ONIONBALANCE_TOR_CONTROL_SOCKET, set to a path
or set but empty), and the config keys (tor-control-socket,
tor-control-address, tor-control-port, tor-control-password).

Negative cases (the preflight refuses to start): a wrong password over
TCP and over the socket, and no password for the password tor.  Each must
exit with status 1 (not a signal, no sanitizer report) before fetchd and
publishd start, with one error line naming the problem, after exactly one
connection to tor (no reconnects).

Every tor is stopped by its pid in a finally (and dies with this process
anyway: PR_SET_PDEATHSIG and __OwningControllerProcess).  The temporary
directory is removed when the test passes and kept (its path printed) when
it fails.  Exit 77 (skipped) when tor is not installed.

Run as root (as in CI), the children drop to numeric users #61001-#61003
and chroot into an empty directory, as tests/testnet/obdaemon.py does.
Python standard library only.
"""

import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import obdaemon  # noqa: E402
import ports  # noqa: E402

BUILD = os.path.abspath(os.environ.get("OB_BUILD_DIR", "build-test"))
DATA = os.environ.get("OB_TEST_DATA", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "data"))
KEY_PEM = os.path.join(DATA, "keys", "openssl-ed25519.pem")
INSTANCE = "k6udx3rspbeemwob5ij4ckqmsitz736vnjs3fm4j6z655onotjskjwad"
PASSWORD = "correct horse battery staple"
CHILDREN = ("keyd", "fetchd", "publishd")
PR_SET_PDEATHSIG = 1
TIMEOUT = 20
# DisableNetwork: tor never has a consensus, and fetchd and publishd say so.
ALLOWED_WARNINGS = ("tor has no consensus yet",
                    "tor has no consensus or microdescriptors yet")


class Failure(Exception):
    pass


def die_with_parent(sig):
    def preexec():
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
    return preexec


def find_tor():
    for d in ("/usr/sbin", "/usr/bin"):
        path = os.path.join(d, "tor")
        if os.access(path, os.X_OK):
            return path
    return shutil.which("tor")


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


# -- tor ---------------------------------------------------------------------

class Tor:
    """One tor with a ControlPort on 127.0.0.1 and a ControlSocket."""

    def __init__(self, tor, workdir, mode, port, hashed=None):
        self.mode = mode
        self.port = port
        self.dir = os.path.join(workdir, mode)
        os.mkdir(self.dir, 0o700)     # tor wants the socket's dir private
        self.socket = os.path.join(self.dir, "control")
        self.cookie = os.path.join(self.dir, "control_auth_cookie")
        self.log = os.path.join(self.dir, "tor.log")
        torrc = os.path.join(self.dir, "torrc")
        open(torrc, "w").close()
        argv = [tor, "-f", torrc, "--defaults-torrc", torrc,
                "--DataDirectory", os.path.join(self.dir, "data"),
                "--PidFile", os.path.join(self.dir, "tor.pid"),
                "--ControlPort", f"127.0.0.1:{port}",
                "--ControlSocket", self.socket,
                "--SocksPort", "0", "--DisableNetwork", "1",
                "--Log", f"info file {self.log}",
                "--__OwningControllerProcess", str(os.getpid())]
        if mode == "cookie":
            argv += ["--CookieAuthentication", "1",
                     "--CookieAuthFile", self.cookie]
        elif mode == "password":
            argv += ["--HashedControlPassword", hashed]
        out = open(os.path.join(self.dir, "stdout"), "w")
        try:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent(signal.SIGKILL))
        finally:
            out.close()

    def wait_ready(self, deadline):
        """Until both the port and the socket accept connections."""
        while True:
            if self.proc.poll() is not None:
                raise Failure(f"tor {self.mode} exited with status "
                              f"{self.proc.returncode}:\n"
                              f"{read(os.path.join(self.dir, 'stdout'))}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(self.socket)
                return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise Failure(f"tor {self.mode}: no control port "
                              f"{self.port} and socket after "
                              f"{TIMEOUT} s")
            time.sleep(0.1)

    def log_offset(self):
        return len(read(self.log))

    def control_log(self, since, transport=None):
        """(connections opened, connections authenticated) since; with
        transport ("TCP" or "unix"), a connection by the other one is an
        error (tor says "opened from 127.0.0.1." for TCP, "opened." for
        its socket)."""
        text = read(self.log)[since:]
        opened = re.findall(r"\[notice\] New control connection opened"
                            r"( from [^ ]+)?\.$", text, re.M)
        authed = len(re.findall(r"Authenticated control connection", text))
        if transport is not None:
            want = " from 127.0.0.1" if transport == "TCP" else ""
            if any(x != want for x in opened):
                raise Failure(f"tor {self.mode}: connections not all over "
                              f"{transport}: {opened}")
        return len(opened), authed

    def stop(self):
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def hash_password(tor, password):
    done = subprocess.run([tor, "--hash-password", password],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=30)
    for line in done.stdout.splitlines():
        if re.fullmatch(r"16:[0-9A-F]+", line.strip()):
            return line.strip()
    raise Failure(f"tor --hash-password: no hash in {done.stdout!r}")


# -- a relay that hides SAFECOOKIE -------------------------------------------

class MethodFilter:
    """A TCP relay on 127.0.0.1:port to tor's control port that removes
    SAFECOOKIE from PROTOCOLINFO's METHODS= (and changes nothing else), so
    that the daemon uses plain COOKIE, which the real tor then checks."""

    def __init__(self, port, target_port):
        self.target = ("127.0.0.1", target_port)
        self.rewritten = 0
        self.offered = set()        # tor's METHODS= values, as they came
        self.lock = threading.Lock()
        self.conns = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(8)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            try:
                tor = socket.create_connection(self.target, 5)
                tor.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, tor]
            threading.Thread(target=self._pump, args=(client, tor, False),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(tor, client, True),
                             daemon=True).start()

    def _rewrite(self, line):
        m = re.match(rb"(250[- ]AUTH METHODS=)(\S+)(.*)", line, re.S)
        if not m:
            return line
        methods = [x for x in m.group(2).split(b",") if x != b"SAFECOOKIE"]
        with self.lock:
            self.rewritten += 1
            self.offered.add(m.group(2).decode())
        return m.group(1) + b",".join(methods) + m.group(3)

    def _pump(self, src, dst, from_tor):
        buf = b""
        try:
            while True:
                chunk = src.recv(65536)
                if not chunk:
                    break
                if not from_tor:
                    dst.sendall(chunk)
                    continue
                buf += chunk
                lines = buf.split(b"\n")
                buf = lines.pop()
                if lines:
                    dst.sendall(b"".join(self._rewrite(x + b"\n")
                                         for x in lines))
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.sock.close()
        with self.lock:
            for s in self.conns:
                s.close()


# -- onionbalanced -------------------------------------------------------------

def binary(name):
    sub = {"onionbalanced": "parent",
           "onionbalanced-config": "tools"}.get(name, name)
    path = os.path.join(BUILD, sub, name)
    if not os.access(path, os.X_OK):
        raise Failure(f"{path} is missing: build first")
    return path


class Daemon:
    """One onionbalanced run in workdir/<name>/."""

    def __init__(self, workdir, name, libexec, empty):
        self.name = name
        self.dir = os.path.join(workdir, "ob-" + name)
        os.mkdir(self.dir, 0o755)
        self.libexec = libexec
        self.empty = empty
        self.config = os.path.join(self.dir, "config.yaml")
        self.status_path = os.path.join(self.dir, "status.sock")
        self.log_path = os.path.join(self.dir, "onionbalanced.log")
        self.key = os.path.join(self.dir, "key.pem")
        shutil.copy(KEY_PEM, self.key)
        os.chmod(self.key, 0o600)
        self.proc = None

    def write_config(self, settings):
        lines = ["services:", f"- key: {self.key}", "  instances:",
                 f"  - address: {INSTANCE}", "    name: node1",
                 f"status-socket-location: {self.status_path}"]
        lines += [f"{k}: {json.dumps(v)}" for k, v in settings.items()]
        if os.geteuid() == 0:
            lines += ['keyd-user: "#61001"', 'fetchd-user: "#61002"',
                      'publishd-user: "#61003"']
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(self.config, 0o600)    # it may hold the password

    def start(self, args=(), env=None):
        argv = [binary("onionbalanced"), "-c", self.config,
                "--libexecdir", self.libexec, "-v", "debug", *args]
        if os.geteuid() == 0:
            argv += ["--chroot-dir", self.empty]
        full_env = dict(os.environ)
        full_env.pop("ONIONBALANCE_TOR_CONTROL_SOCKET", None)
        full_env.update(env or {})
        log = open(self.log_path, "a")
        try:
            self.proc = subprocess.Popen(
                argv, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, env=full_env,
                preexec_fn=die_with_parent(signal.SIGTERM),
                start_new_session=True)
        finally:
            log.close()

    def log(self):
        return read(self.log_path)

    def status(self):
        return obdaemon.read_status(self.status_path, timeout=5)

    def status_text(self):
        done = subprocess.run([binary("onionbalanced"), "status", "-s",
                               self.status_path], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True,
                              timeout=TIMEOUT)
        return done.returncode, done.stdout

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def auth_lines(log):
    return re.findall(r"^onionbalanced: \[debug\] tor control: "
                      r"authenticated \((\w+)\)", log, re.M)


def bad_lines(log):
    """Warnings and errors other than the expected ones, and sanitizer
    reports."""
    bad = []
    for line in log.splitlines():
        if "[warning]" in line or "[error]" in line:
            if not any(w in line for w in ALLOWED_WARNINGS):
                bad.append(line)
        elif "Sanitizer" in line or "runtime error" in line:
            bad.append(line)
    return bad


def tail(text, n=25):
    return "\n".join("    " + x for x in text.splitlines()[-n:])


def check_login(ctx, name, tor, method, transport, settings, args=(),
                env=None, relay=None):
    """onionbalanced against tor: both children authenticated, by method."""
    ob = Daemon(ctx["workdir"], name, ctx["libexec"], ctx["empty"])
    ob.write_config(settings)
    since = tor.log_offset()
    t0 = time.monotonic()
    ob.start(args, env)
    try:
        deadline = t0 + TIMEOUT
        while True:
            if ob.proc.poll() is not None:
                raise Failure(f"{name}: onionbalanced exited with status "
                              f"{ob.proc.returncode}:\n{tail(ob.log())}")
            log = ob.log()
            doc = None
            try:
                doc = ob.status()
            except (OSError, ValueError):
                pass
            fetchd_ok = re.search(r"^fetchd: \[debug\] tor control: "
                                  r"GETINFO: 551 ", log, re.M)
            if doc and doc.get("controlConnected") is True and fetchd_ok \
                    and len(auth_lines(log)) >= 3:
                break
            if time.monotonic() > deadline:
                raise Failure(f"{name}: not logged in after {TIMEOUT} s "
                              f"(status {doc and doc.get('controlConnected')}"
                              f", fetchd answered: {bool(fetchd_ok)}):\n"
                              f"{tail(log)}")
            time.sleep(0.2)
        took = time.monotonic() - t0
        rc, text = ob.status_text()
        if rc != 0 or "tor control: connected" not in text:
            raise Failure(f"{name}: onionbalanced status ({rc}):\n{text}")
        log = ob.log()
        methods = auth_lines(log)
        if set(methods) != {method}:
            raise Failure(f"{name}: the parent authenticated with "
                          f"{methods}, expected {method} only")
        for child in ("fetchd", "publishd"):
            if not re.search(rf"^onionbalanced: \[debug\] {child}: gave it "
                             r"a tor control connection", log, re.M) or \
                    not re.search(rf"^{child}: \[info\] tor control "
                                  r"connection ready", log, re.M):
                raise Failure(f"{name}: {child} got no control "
                              f"connection:\n{tail(log)}")
        if re.search(r"tor control: \w+: 514 ", log) or \
                "tor control connection lost" in log or \
                "refused SETEVENTS" in log:
            raise Failure(f"{name}: a child's connection was refused or "
                          f"lost:\n{tail(log)}")
        bad = bad_lines(log)
        if bad:
            raise Failure(f"{name}: unexpected warnings/errors:\n" +
                          "\n".join(bad))
        opened, authed = tor.control_log(since, transport.split()[0])
        if opened < 3 or authed != opened:
            raise Failure(f"{name}: tor's log: {opened} control "
                          f"connections opened, {authed} authenticated")
        if relay is not None and (relay.rewritten < 3 or
                                  relay.offered != {"COOKIE,SAFECOOKIE"}):
            raise Failure(f"{name}: the relay saw {relay.rewritten} "
                          f"PROTOCOLINFO replies, offering "
                          f"{relay.offered}")
    finally:
        rc = ob.stop()
    if rc != 0:
        raise Failure(f"{name}: onionbalanced exited with {rc} on "
                      f"SIGTERM:\n{tail(ob.log())}")
    print(f"ok {name}: {method} over {transport}, fetchd and publishd "
          f"authenticated in {took:.1f} s; tor saw {opened} connections, "
          f"{authed} authenticated")


def check_refused(ctx, name, tor, transport, settings, want, args=(),
                  env=None):
    """The preflight refuses: exit 1, one line naming the problem, one
    connection to tor."""
    ob = Daemon(ctx["workdir"], name, ctx["libexec"], ctx["empty"])
    ob.write_config(settings)
    since = tor.log_offset()
    ob.start(args, env)
    try:
        rc = ob.wait_exit(TIMEOUT)
    finally:
        ob.stop()
    log = ob.log()
    if rc != 1:
        raise Failure(f"{name}: exit status {rc}, expected 1:\n{tail(log)}")
    errors = [x for x in log.splitlines() if "[error]" in x]
    if len(errors) != 1 or not re.search(want, errors[0]):
        raise Failure(f"{name}: expected one error matching {want!r}, "
                      f"got:\n{tail(log)}")
    # keyd runs for the preflight (it reads the keys); the others must not.
    if "Sanitizer" in log or "runtime error" in log or \
            re.search(r"^(fetchd|publishd): ", log, re.M):
        raise Failure(f"{name}: sanitizer report, or fetchd or publishd "
                      f"started:\n"
                      f"{tail(log)}")
    # tor may log the connection a moment after our process is gone.
    deadline = time.monotonic() + 5
    while True:
        opened, authed = tor.control_log(since)
        if opened >= 1 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    time.sleep(0.5)
    opened, authed = tor.control_log(since, transport)
    if opened != 1 or authed != 0:
        raise Failure(f"{name}: tor's log: {opened} control connections "
                      f"opened, {authed} authenticated; expected 1 and 0")
    print(f"ok {name}: refused over {transport} after one connection: "
          f"{errors[0]}")


def run(tor_path, workdir):
    base, lock = ports.allocate_block(workdir, 5)
    ctx = {"workdir": workdir, "libexec": os.path.join(workdir, "libexec"),
           "empty": os.path.join(workdir, "empty")}
    os.makedirs(ctx["libexec"])
    for name in CHILDREN:
        os.symlink(binary(name), os.path.join(ctx["libexec"], name))
    os.mkdir(ctx["empty"], 0o555)
    tors = []
    relay = None
    try:
        hashed = hash_password(tor_path, PASSWORD)
        cookie = Tor(tor_path, workdir, "cookie", base)
        tors.append(cookie)
        pw = Tor(tor_path, workdir, "password", base + 1, hashed)
        tors.append(pw)
        null = Tor(tor_path, workdir, "null", base + 2)
        tors.append(null)
        relay_port, closed = base + 3, base + 4   # nothing listens on closed
        deadline = time.monotonic() + TIMEOUT
        for t in tors:
            t.wait_ready(deadline)
        relay = MethodFilter(relay_port, cookie.port)

        tcp_keys = {"tor-control-socket": "",
                    "tor-control-address": "127.0.0.1"}
        # Cookie: SAFECOOKIE (what tor offers), over TCP given on the
        # command line, over the socket given in the environment.
        check_login(ctx, "cookie-tcp", cookie, "SAFECOOKIE", "TCP", {},
                    args=["-s", "", "-i", "127.0.0.1", "-p",
                          str(cookie.port)])
        check_login(ctx, "cookie-unix", cookie, "SAFECOOKIE", "unix",
                    {"tor-control-port": closed},
                    env={"ONIONBALANCE_TOR_CONTROL_SOCKET": cookie.socket})
        # Plain COOKIE: tor's offer without SAFECOOKIE, through the relay.
        check_login(ctx, "cookie-plain-tcp", cookie, "COOKIE",
                    "TCP (through a relay that hides SAFECOOKIE)",
                    dict(tcp_keys, **{"tor-control-port": relay_port}),
                    relay=relay)
        # Password, from the config file, both ways.
        check_login(ctx, "password-tcp", pw, "HASHEDPASSWORD", "TCP",
                    dict(tcp_keys, **{"tor-control-port": pw.port,
                                      "tor-control-password": PASSWORD}))
        check_login(ctx, "password-unix", pw, "HASHEDPASSWORD", "unix",
                    {"tor-control-socket": pw.socket,
                     "tor-control-port": closed,
                     "tor-control-password": PASSWORD})
        # No authentication: TCP with the socket turned off by an empty
        # environment variable; the socket given with -s.
        check_login(ctx, "null-tcp", null, "NULL", "TCP",
                    {"tor-control-address": "127.0.0.1",
                     "tor-control-port": null.port},
                    env={"ONIONBALANCE_TOR_CONTROL_SOCKET": ""})
        check_login(ctx, "null-unix", null, "NULL", "unix",
                    {"tor-control-port": closed}, args=["-s", null.socket])

        # Refusals.
        wrong = (r"tor refused HASHEDPASSWORD authentication: 515 "
                 r"Authentication failed: Password did not match "
                 r"HashedControlPassword")
        check_refused(ctx, "wrong-password-tcp", pw, "TCP",
                      dict(tcp_keys, **{"tor-control-port": pw.port,
                                        "tor-control-password": "wrong"}),
                      rf"tor control at 127\.0\.0\.1:{pw.port}: {wrong}")
        check_refused(ctx, "wrong-password-unix", pw, "unix",
                      {"tor-control-socket": pw.socket,
                       "tor-control-port": closed,
                       "tor-control-password": "wrong"},
                      rf"tor control at {re.escape(pw.socket)}: {wrong}")
        check_refused(ctx, "no-password-tcp", pw, "TCP",
                      dict(tcp_keys, **{"tor-control-port": pw.port}),
                      r"no authentication method we can use: tor offers "
                      r"HASHEDPASSWORD; set tor-control-password")
    finally:
        if relay is not None:
            relay.close()
        for t in tors:
            t.stop()
        ports.release_block(lock, workdir)


def main():
    tor_path = find_tor()
    if tor_path is None:
        print("SKIP: tor is not installed")
        return 77
    t0 = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="ob-login-")
    os.chmod(workdir, 0o755)    # the children (other users) pass through
    try:
        run(tor_path, workdir)
    except Exception as e:      # noqa: BLE001 (report anything, keep files)
        if not isinstance(e, Failure):
            traceback.print_exc()
        print(f"FAIL: {e}\n(files kept in {workdir})")
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    print(f"all passed in {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
