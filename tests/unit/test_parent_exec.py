#!/usr/bin/python3
"""The real onionbalanced binary, without a Tor network.

onionbalanced runs with --libexecdir pointing at a directory holding the
real keyd and a stand-in (tests/unit/parent_standin.c) under the names
fetchd and publishd, and with a scripted fake tor on a unix socket that
speaks just enough of the control protocol: PROTOCOLINFO, AUTHCHALLENGE
(SAFECOOKIE), AUTHENTICATE, and GETINFO version after authentication.

Checked: the command line and config errors, --version, --check (good
setup, open key file, unreadable cookie), the start handshake (every fd
works: the control connection is authenticated, the keyd channel reaches
keyd), kill -9 of each child and what the others get, a reload with and
without new keys, a failed reload, tor dropping its connections, SIGTERM
(exit 0, socket removed), a crash loop (give up, exit 1), a missing child
binary.

Environment (set by meson): OB_PARENT, OB_KEYD, OB_STANDIN, OB_TEST_DATA.
"""

import base64
import hashlib
import hmac
import os
import pty
import re
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import traceback

PARENT = os.environ["OB_PARENT"]
KEYD = os.environ["OB_KEYD"]
STANDIN = os.environ["OB_STANDIN"]
DATA = os.environ["OB_TEST_DATA"]

KEY_PEM = os.path.join(DATA, "keys", "openssl-ed25519.pem")
KEY_PUB = bytes.fromhex(open(os.path.join(
    DATA, "keys", "openssl-ed25519.pub.hex")).read().strip())
INSTANCES = [
    "k6udx3rspbeemwob5ij4ckqmsitz736vnjs3fm4j6z655onotjskjwad",
    "cfehrmlk7fkfvbmwwtyegs3pvgg4vx26lj7reqizkp3j4s7ek7dqo2yd",
    "le5tsbi4izbr7pzfxabhcrfwe5jokzdpkvwgucbfh4rhf5r2fi3hgvid",
]
TIMEOUT = 20

# Run as root, onionbalanced starts each child as its own user, shut in an
# empty directory (docs/sandbox.md): numeric users need no passwd entry,
# and meson made the directory (OB_SANDBOX_DIR).
SANDBOX_USERS = ['keyd-user: "#61001"', 'fetchd-user: "#61002"',
                 'publishd-user: "#61003"']
SANDBOX_ARGS = ["--chroot-dir", os.environ["OB_SANDBOX_DIR"]]


def onion_address(pub):
    """rend-spec-v3 6: base32(PUBKEY | CHECKSUM | VERSION)."""
    version = b"\x03"
    checksum = hashlib.sha3_256(b".onion checksum" + pub + version)
    raw = pub + checksum.digest()[:2] + version
    return base64.b32encode(raw).decode().lower()


class FakeTor:
    """A control socket that authenticates with SAFECOOKIE (or a
    scripted fault) and then answers GETINFO version."""

    SERVER_KEY = b"Tor safe cookie authentication server-to-controller hash"
    CLIENT_KEY = b"Tor safe cookie authentication controller-to-server hash"

    def __init__(self, workdir, mode="safecookie"):
        self.mode = mode
        self.path = os.path.join(workdir, "control.sock")
        self.cookie_path = os.path.join(workdir, "control_auth_cookie")
        self.cookie = os.urandom(32)
        with open(self.cookie_path, "wb") as f:
            f.write(self.cookie)
        self.authenticated = 0
        # SocksPort as GETCONF shows it ([] for "not configured"), what
        # GETINFO net/listeners/socks says, the SETCONFs received, and
        # what each listener opened by a SETCONF was sent.
        self.socks_ports = ["0"]
        self.socks_listeners = ""
        self.setconfs = []
        self.socks_seen = []
        self.conns = []
        self.lock = threading.Lock()
        self.sock = None
        self.listen()

    def listen(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o777)
        self.sock.listen(16)
        threading.Thread(target=self._accept, args=(self.sock,),
                         daemon=True).start()

    def stop_listening(self):
        self.sock.close()
        os.unlink(self.path)

    def drop_all(self):
        with self.lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.conns = []

    def _accept(self, sock):
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,),
                             daemon=True).start()

    def _serve(self, conn):
        f = conn.makefile("rb")
        state = {"auth": False, "cnonce": None, "snonce": None}
        try:
            for line in f:
                reply = self._answer(line.decode().rstrip("\r\n"), state)
                conn.sendall(reply.encode())
                if reply.startswith("515"):
                    break
        except OSError:
            pass
        finally:
            conn.close()

    def _answer(self, line, state):
        words = line.split()
        if words[:1] == ["PROTOCOLINFO"]:
            methods = "HASHEDPASSWORD" if self.mode == "password" \
                else "COOKIE,SAFECOOKIE"
            return ("250-PROTOCOLINFO 1\r\n"
                    f'250-AUTH METHODS={methods} '
                    f'COOKIEFILE="{self.cookie_path}"\r\n'
                    '250-VERSION Tor="0.4.9.fake"\r\n250 OK\r\n')
        if words[:2] == ["AUTHCHALLENGE", "SAFECOOKIE"]:
            state["cnonce"] = bytes.fromhex(words[2])
            state["snonce"] = os.urandom(32)
            msg = self.cookie + state["cnonce"] + state["snonce"]
            shash = hmac.new(self.SERVER_KEY, msg, "sha256").digest()
            if self.mode == "bad-serverhash":
                shash = bytes(32)
            return (f"250 AUTHCHALLENGE SERVERHASH={shash.hex().upper()} "
                    f"SERVERNONCE={state['snonce'].hex().upper()}\r\n")
        if words[:1] == ["AUTHENTICATE"]:
            ok = False
            if state["cnonce"] is not None and len(words) == 2:
                msg = self.cookie + state["cnonce"] + state["snonce"]
                want = hmac.new(self.CLIENT_KEY, msg, "sha256").digest()
                ok = words[1].lower() == want.hex()
            if ok:
                state["auth"] = True
                with self.lock:
                    self.authenticated += 1
                return "250 OK\r\n"
            return "515 Authentication failed: Wrong length on authentication cookie.\r\n"
        if words[:2] == ["GETINFO", "version"] and state["auth"]:
            return "250-version=0.4.9.fake\r\n250 OK\r\n"
        if not state["auth"]:
            return "514 Authentication required.\r\n"
        if words == ["GETCONF", "SocksPort"]:
            if not self.socks_ports:
                return "250 SocksPort\r\n"
            return "".join(f"250{'-' if i < len(self.socks_ports) - 1 else ' '}"
                           f"SocksPort={v}\r\n"
                           for i, v in enumerate(self.socks_ports))
        if words == ["GETINFO", "net/listeners/socks"]:
            return (f"250-net/listeners/socks={self.socks_listeners}\r\n"
                    "250 OK\r\n")
        if words[:1] == ["SETCONF"]:
            return self._setconf(line)
        return "510 Unrecognized command\r\n"

    def _setconf(self, line):
        """SETCONF SocksPort="..." ...: record it and, as tor would, open
        each new 127.0.0.1 port."""
        values = re.findall(r'SocksPort="((?:[^"\\]|\\.)*)"', line)
        with self.lock:
            self.setconfs.append(values)
        for v in values:
            m = re.match(r"127\.0\.0\.1:(\d+) ", v)
            if m and v not in self.socks_ports:
                lsock = socket.socket()
                lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                lsock.bind(("127.0.0.1", int(m.group(1))))
                lsock.listen(4)
                threading.Thread(target=self._socks_accept, args=(lsock,),
                                 daemon=True).start()
        self.socks_ports = values
        return "250 OK\r\n"

    def _socks_accept(self, lsock):
        while True:
            conn, _ = lsock.accept()
            data = conn.makefile("rb").readline()
            with self.lock:
                self.socks_seen.append(data)
            conn.close()


class Setup:
    """A work directory: libexecdir with keyd and the stand-ins, a key, a
    config, a fake tor."""

    def __init__(self, instances=2, tor_mode="safecookie"):
        self.dir = tempfile.mkdtemp(prefix="obparent-")
        os.chmod(self.dir, 0o755)
        self.libexec = os.path.join(self.dir, "libexec")
        os.mkdir(self.libexec)
        os.symlink(KEYD, os.path.join(self.libexec, "keyd"))
        for name in ("fetchd", "publishd"):
            os.symlink(STANDIN, os.path.join(self.libexec, name))
        self.key = os.path.join(self.dir, "frontend.key")
        shutil.copy(KEY_PEM, self.key)
        os.chmod(self.key, 0o600)
        self.tor = FakeTor(self.dir, tor_mode)
        self.status = os.path.join(self.dir, "status.sock")
        self.config = os.path.join(self.dir, "config.yaml")
        self.write_config(instances)
        self.proc = None
        self.log = os.path.join(self.dir, "parent.log")

    def write_config(self, instances, key=None, extra=""):
        lines = ["services:", f"- key: {key or self.key}", "  instances:"]
        for i in range(instances):
            lines += [f"  - address: {INSTANCES[i]}", f"    name: be{i}"]
        lines += [f"status-socket-location: {self.status}",
                  f"tor-control-socket: {self.tor.path}",
                  "tor-control-port: 1", *SANDBOX_USERS, extra]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self, *extra):
        env = dict(os.environ, OB_STANDIN_DIR=self.dir)
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen(
            [PARENT, "-c", self.config, "-v", "debug", "--libexecdir",
             self.libexec, "--restart-backoff-ms", "50", *SANDBOX_ARGS,
             *extra],
            stdout=self.logf, stderr=subprocess.STDOUT, env=env)

    def log_text(self):
        with open(self.log) as f:
            return f.read()

    def wait_log(self, pattern, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.log_text()):
                return
            time.sleep(0.05)
        raise AssertionError(f"no log line like {pattern!r}:\n"
                             + self.log_text())

    def state(self, role):
        try:
            with open(os.path.join(self.dir, f"{role}.state")) as f:
                text = f.read()
        except FileNotFoundError:
            return {}
        return {k: int(v) for k, v in
                (w.split("=") for w in text.split())}

    def wait_state(self, role, timeout=TIMEOUT, **want):
        """Wait until every key of want matches (a callable is a test)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = self.state(role)
            if st and all(v(st.get(k)) if callable(v) else st.get(k) == v
                          for k, v in want.items()):
                return st
            time.sleep(0.05)
        raise AssertionError(f"{role}: state {self.state(role)} never "
                             f"matched {want}\n" + self.log_text())

    def keyd_pid(self):
        pids = re.findall(r"keyd \(pid (\d+)\)", self.log_text())
        return int(pids[-1])

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                return self.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise
        return self.proc.returncode if self.proc else None

    def close(self, ok=True):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if ok:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print(f"kept {self.dir}", file=sys.stderr)


def run_parent(*args, env=None, preexec=None):
    return subprocess.run([PARENT, *args], capture_output=True, text=True,
                          timeout=TIMEOUT, env=env,
                          preexec_fn=preexec)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is not alive either.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ")[1][0] != "Z"


# -- tests -----------------------------------------------------------------


def test_version_and_usage():
    r = run_parent("--version")
    assert r.returncode == 0 and re.fullmatch(r"onionbalanced \S+\n",
                                               r.stdout), r
    r = run_parent("--no-such-flag")
    assert r.returncode == 2 and r.stderr == 'onionbalanced: unknown ' \
        'option "--no-such-flag" (see --help)\n', r
    r = run_parent("-p", "70000")
    assert r.returncode == 2 and '-p: "70000" is not a port' in r.stderr, r
    r = run_parent("-v", "loud")
    assert r.returncode == 2, r
    # Onionbalance's flag, accepted and not needed.
    r = run_parent("--is-testnet", "--version")
    assert r.returncode == 0, r


def test_config_errors_are_one_line():
    for name, message in [
            ("bad-port.yaml", 'bad-port.yaml:1:19: tor-control-port: '
             '"70000" is not a number from 1 to 65535'),
            ("missing-key.yaml", "missing-key.yaml:2:3: services[0].key: "
             "missing (the file with the frontend's private key)")]:
        path = os.path.join(DATA, "config", "errors", name)
        r = run_parent("-c", path)
        assert r.returncode == 1, r
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].endswith(message), r.stderr
    r = run_parent("-c", "/nonexistent/config.yaml")
    assert r.returncode == 1 and "/nonexistent/config.yaml" in r.stderr, r
    r = run_parent("-c", os.path.join(DATA, "config", "valid",
                                      "minimal.yaml"), "-i", "localhost")
    # A bad flag is a usage error (2), like -p and -v.
    assert r.returncode == 2 and '-i: "localhost" is not an IPv4' \
        in r.stderr, r


def test_check_good_setup():
    s = Setup()
    try:
        os.chmod(s.key, 0o640)
        r = run_parent("-c", s.config, "--libexecdir", s.libexec, "--check",
                       *SANDBOX_ARGS)
        assert r.returncode == 0, r
        out = r.stdout
        assert f"frontend {onion_address(KEY_PUB)}.onion" in out, out
        assert "has mode 0640" in out and out.startswith("ok "), out
        assert "tor control: connected and authenticated" in out, out
        assert out.endswith("onionbalanced --check: OK (with warnings)\n")
        assert s.tor.authenticated == 1
    finally:
        s.close()


def test_check_finds_problems():
    s = Setup(tor_mode="bad-serverhash")
    try:
        with open(s.key, "w") as f:
            f.write("not a key\n")
        os.unlink(os.path.join(s.libexec, "publishd"))
        r = run_parent("-c", s.config, "--libexecdir", s.libexec, "--check",
                       *SANDBOX_ARGS)
        assert r.returncode == 1, r
        assert re.search(r"FAIL +.*/publishd: No such file", r.stdout), r
        assert "SAFECOOKIE: the server hash is wrong" in r.stdout, r
        assert r.stdout.endswith("problem(s)\n"), r.stdout
        os.symlink(STANDIN, os.path.join(s.libexec, "publishd"))
        r = run_parent("-c", s.config, "--libexecdir", s.libexec, "--check",
                       *SANDBOX_ARGS)
        assert re.search(r"FAIL +services\[0\]\.key: .*frontend\.key: ",
                         r.stdout), r
        assert s.tor.authenticated == 0
    finally:
        s.close()


def test_unreadable_cookie_names_file_and_group():
    """Run as nobody (the test runs as root in CI, where file modes do
    not stop root); the cookie is root:root 0640 like tor's."""
    s = Setup()
    try:
        os.chmod(s.tor.cookie_path, 0o640)
        os.chmod(s.config, 0o644)
        os.chmod(s.key, 0o644)

        def as_nobody():
            if os.getuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
        if os.getuid() != 0:
            os.chmod(s.tor.cookie_path, 0)
        r = run_parent("-c", s.config, "--libexecdir", s.libexec, "--check",
                       *SANDBOX_ARGS,
                       preexec=as_nobody)
        assert r.returncode == 1, r
        group = "root" if os.getuid() == 0 else \
            __import__("grp").getgrgid(os.getgid()).gr_name
        want = (f"cannot read tor's cookie file {s.tor.cookie_path} "
                f"(Permission denied): add the user ")
        assert want in r.stdout and f"to the group {group} " in r.stdout, \
            r.stdout
    finally:
        s.close()


def test_start_handshake_restarts_reload_stop():
    s = Setup()
    ok = False
    try:
        s.start()
        common = dict(generation=1, services=1, instances=2, readies=1,
                      controls=1, controls_ok=1, peers=1)
        pub = s.wait_state("publishd", keyds=1, keyds_ok=1, statuses=1,
                           **common)
        fet = s.wait_state("fetchd", keyds=0, statuses=0, **common)
        s.wait_log(f"frontend {onion_address(KEY_PUB)}.onion")
        st = os.stat(s.status)
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == \
            0o660, oct(st.st_mode)
        s.wait_log(r"publishd ready \(configuration 1\)")

        # kill -9 fetchd: a new fetchd, and publishd gets the new peer end.
        os.kill(fet["pid"], signal.SIGKILL)
        s.wait_log(r"lost child fetchd: killed by signal 9")
        fet = s.wait_state("fetchd", pid=lambda p: p != fet["pid"],
                           readies=1, controls_ok=1, peers=1)
        s.wait_state("publishd", pid=pub["pid"], peers=2)

        # kill -9 keyd: publishd gets a channel to the new keyd, and it works.
        keyd = s.keyd_pid()
        os.kill(keyd, signal.SIGKILL)
        s.wait_log(r"lost child keyd: killed by signal 9")
        s.wait_state("publishd", pid=pub["pid"], keyds=2, keyds_ok=2)
        assert s.keyd_pid() != keyd

        # kill -9 publishd: fetchd gets the new peer end.
        os.kill(pub["pid"], signal.SIGKILL)
        s.wait_log(r"lost child publishd: killed by signal 9")
        pub = s.wait_state("publishd", pid=lambda p: p != pub["pid"],
                           keyds=1, keyds_ok=1, statuses=1, peers=1)
        s.wait_state("fetchd", pid=fet["pid"], peers=2)

        # Reload with one more instance: no new keyd.
        keyd = s.keyd_pid()
        s.write_config(3)
        s.proc.send_signal(signal.SIGHUP)
        s.wait_state("fetchd", pid=fet["pid"], generation=2, instances=3)
        s.wait_state("publishd", pid=pub["pid"], generation=2, instances=3,
                     keyds=1)
        assert alive(keyd) and s.keyd_pid() == keyd

        # A broken config is refused and changes nothing.
        with open(s.config, "a") as f:
            f.write("tor-control-port: 70000\n")
        s.proc.send_signal(signal.SIGHUP)
        s.wait_log(r"keeping the old configuration")
        assert s.state("fetchd")["generation"] == 2

        # The key file replaced: a new keyd, publishd gets its channel.
        newkey = os.path.join(s.dir, "other.key")
        shutil.copy(KEY_PEM, newkey)
        s.write_config(1, key=newkey)
        s.proc.send_signal(signal.SIGHUP)
        s.wait_state("publishd", pid=pub["pid"], generation=3, instances=1,
                     keyds=2, keyds_ok=2)
        s.wait_log(r"keyd restarted with the new keys")
        deadline = time.monotonic() + TIMEOUT
        while alive(keyd) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(keyd), "the old keyd is still running"

        # tor drops every connection: both children get new ones.
        s.tor.stop_listening()
        s.tor.drop_all()
        s.wait_log(r"fetchd: cannot connect to tor's control socket")
        s.tor.listen()
        s.wait_state("fetchd", controls=lambda n: n >= 2,
                     controls_ok=lambda n: n >= 2)
        s.wait_state("publishd", controls=lambda n: n >= 2,
                     controls_ok=lambda n: n >= 2)

        # SIGTERM: everything stops, exit 0, the socket is gone.
        pids = [s.state("fetchd")["pid"], s.state("publishd")["pid"],
                s.keyd_pid()]
        assert s.stop() == 0, s.log_text()
        assert not os.path.exists(s.status)
        for pid in pids:
            assert not alive(pid), pid
        ok = True
    finally:
        s.close(ok)


def test_crash_loop_gives_up():
    s = Setup()
    ok = False
    try:
        open(os.path.join(s.dir, "fetchd.crash"), "w").close()
        s.start()
        assert s.proc.wait(timeout=TIMEOUT) == 1, s.log_text()
        log = s.log_text()
        assert "fetchd crashed 5 times within 60 s: giving up" in log, log
        assert log.count("lost child fetchd: killed by signal 6") == 5, log
        assert not os.path.exists(s.status)
        ok = True
    finally:
        s.close(ok)


def test_malformed_keyd_request_restarts_publishd_not_keyd():
    """publishd sends keyd a malformed request: keyd drops that channel
    and stays up; the parent ends and restarts publishd, gives keyd the
    new publishd's channel, and counts the crashes against publishd."""
    s = Setup()
    ok = False
    try:
        open(os.path.join(s.dir, "publishd.malformed"), "w").close()
        s.start()
        s.wait_log(r"keyd \(pid \d+\) has 1 key")
        keyd = s.keyd_pid()
        assert s.proc.wait(timeout=TIMEOUT) == 1, s.log_text()
        log = s.log_text()
        assert "publishd crashed 5 times within 60 s: giving up" in log, log
        assert log.count("keyd dropped its request channel: a malformed "
                         "request") == 5, log
        assert "lost child keyd" not in log, log
        assert "keyd crashed" not in log, log
        assert s.keyd_pid() == keyd, log
        ok = True
    finally:
        s.close(ok)


def test_keyd_serves_publishd_after_a_malformed_request():
    """Once publishd behaves again, keyd (the same process) serves it."""
    s = Setup()
    ok = False
    try:
        bad = os.path.join(s.dir, "publishd.malformed")
        open(bad, "w").close()
        s.start()
        s.wait_log(r"publishd sent keyd a malformed request")
        keyd = s.keyd_pid()
        os.unlink(bad)
        s.wait_state("publishd", keyds_ok=1)
        assert alive(keyd) and s.keyd_pid() == keyd, s.log_text()
        assert "lost child keyd" not in s.log_text()
        assert s.stop() == 0
        ok = True
    finally:
        s.close(ok)


def test_sigint_and_missing_binary():
    s = Setup()
    ok = False
    try:
        s.start()
        s.wait_state("publishd", readies=1)
        assert s.stop(signal.SIGINT) == 0, s.log_text()
        os.unlink(os.path.join(s.libexec, "fetchd"))
        s.start()
        assert s.proc.wait(timeout=TIMEOUT) == 1
        assert re.search(r"cannot run .*/libexec/fetchd: No such file",
                         s.log_text()), s.log_text()
        ok = True
    finally:
        s.close(ok)


def test_tor_down_at_start_is_an_error():
    s = Setup()
    ok = False
    try:
        s.tor.stop_listening()
        s.start()
        assert s.proc.wait(timeout=TIMEOUT) == 1
        assert "cannot connect to tor's control socket" in s.log_text()
        ok = True
    finally:
        s.close(ok)


def test_bad_key_at_start():
    s = Setup()
    ok = False
    try:
        with open(s.key, "w") as f:
            f.write("junk\n")
        s.start()
        assert s.proc.wait(timeout=TIMEOUT) == 1, s.log_text()
        assert re.search(r"onionbalanced: \[error\] services\[0\]\.key: "
                         r".*frontend\.key: neither a PEM key", s.log_text())
        assert not os.path.exists(s.status)
        assert not os.path.exists(os.path.join(s.dir, "fetchd.state"))
        ok = True
    finally:
        s.close(ok)


def serve_once(path, payload):
    """A status socket that writes payload to one client and closes."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)

    def run():
        conn, _ = srv.accept()
        conn.sendall(payload)
        conn.close()
        srv.close()
    threading.Thread(target=run, daemon=True).start()


STATUS_DOC = (
    b'{"timestamp": "2026-01-01 00:00:09", "controlConnected": true, '
    b'"consensus": {"validAfter": "2026-01-01 00:00:00", '
    b'"reasonablyLive": true, "clock": "behind", '
    b'"clockSkewSeconds": -612, "votingIntervalSeconds": 20, '
    b'"timePeriodLengthMinutes": 8}, '
    b'"services": [{"onionAddress": "abc.onion", '
    b'"publishAttemptFirstDescriptor": "2026-01-01 00:00:00", '
    b'"instances": [{"onionAddress": "be0.onion", "name": "node1", '
    b'"state": "live", "stateSince": "2026-01-01 00:00:01", '
    b'"introPointsNum": 3, "revisionCounter": 7, "timePeriod": 5, '
    b'"received": "2026-01-01 00:00:01", "ok": true, '
    b'"liveness": "alive", "livenessSince": "2026-01-01 00:00:02", '
    b'"lastProbe": "2026-01-01 00:00:08", '
    b'"lastProbeOutcome": "stream opened", "droppedReason": null}, '
    b'{"onionAddress": "be1\\u001b[31m.onion", "name": "node2", '
    b'"state": "fetch-failed", "stateSince": "2026-01-01 00:00:02", '
    b'"stateDetail": "NOT_\\"FOUND\\"\\n", "introPointsNum": 0, '
    b'"liveness": "dead", "livenessSince": "2026-01-01 00:00:05", '
    b'"lastProbe": "2026-01-01 00:00:07", '
    b'"lastProbeOutcome": "introduction failed (SOCKS 0xF2)", '
    b'"droppedReason": "no answer in 10 s"}], '
    b'"descriptors": [{"descriptor": "first", "active": true, '
    b'"timePeriod": 5, "builtAt": "2026-01-01 00:00:03", '
    b'"reason": "first", "revisionCounter": 11, "introPointsNum": 3, '
    b'"size": 9000, "lastError": null, "plan": "distinct", "variants": ['
    b'{"variant": 0, "replica": 1, "revisionCounter": 11, '
    b'"introPointsNum": 2, "instances": [{"name": "node1", '
    b'"introPointsNum": 2}]}, {"variant": 1, "replica": 2, '
    b'"revisionCounter": 10, "introPointsNum": 1, "instances": ['
    b'{"name": "node1", "introPointsNum": 1}]}], "hsdirs": ['
    b'{"fingerprint": "AA", "state": "uploaded", "uploadedRevision": 11, '
    b'"variant": 0, "fetch": true, '
    b'"lastResultAt": "2026-01-01 00:00:04", "failures": 0}, '
    b'{"fingerprint": "BB", "state": "pending", "failures": 2, '
    b'"variant": 1, "fetch": false, '
    b'"reason": "UPLOAD_REJECTED", "nextTry": "2026-01-01 00:00:30"}]}, '
    b'{"descriptor": "second", "active": false, "hsdirs": []}]}]}')

STATUS_TEXT = (
    "onionbalanced status at 2026-01-01 00:00:09 UTC\n"
    "tor control: connected\n"
    "consensus: valid after 2026-01-01 00:00:00, live; voting interval "
    "20 s, time period 8 min\n"
    "clock: 612 s or more behind the consensus: NOT publishing; run NTP\n"
    "\n"
    "service abc.onion\n"
    "  instances: 2, 1 live\n"
    "    node1        be0.onion\n"
    "      live since 2026-01-01 00:00:01: 3 intro points, revision 7, "
    "time period 5, received 2026-01-01 00:00:01\n"
    "      liveness: alive since 2026-01-01 00:00:02; last probe "
    "2026-01-01 00:00:08: stream opened\n"
    "    node2        be1?[31m.onion\n"
    "      fetch-failed since 2026-01-01 00:00:02: NOT_\"FOUND\"?\n"
    "      liveness: dead since 2026-01-01 00:00:05; last probe "
    "2026-01-01 00:00:07: introduction failed (SOCKS 0xF2)\n"
    "      dropped from the frontend: no answer in 10 s\n"
    "  first descriptor: time period 5, revision 11, 3 intro points, "
    "9000 bytes\n"
    "    built 2026-01-01 00:00:03 (first); on 1 of 2 HSDirs\n"
    "    2 distinct descriptors (one per fetch HSDir):\n"
    "      descriptor 0 (replica 1): revision 11, 2 intro points: "
    "node1 (2)\n"
    "      descriptor 1 (replica 2): revision 10, 1 intro points: "
    "node1 (1)\n"
    "      AA  uploaded  descriptor 0 (fetch) revision 11 at "
    "2026-01-01 00:00:04\n"
    "      BB  pending   descriptor 1 (store) next try "
    "2026-01-01 00:00:30, 2 failure(s), last UPLOAD_REJECTED\n"
    "  second descriptor: no time period yet (no consensus)\n")


def test_probe_socks_listener():
    """fetchd's probe connections: the parent adds its SOCKS listener to
    tor beside the operator's SocksPort lines (dropping "0"; keeping the
    default listeners when none is configured), and hands fetchd a
    connection to it."""
    flags = "ExtendedErrors OnionTrafficOnly IsolateSOCKSAuth"
    for ports, listeners, kept in (
            (["0"], "", []),
            (["9050", "unix:/run/tor/socks WorldWritable"], "",
             ["9050", "unix:/run/tor/socks WorldWritable"]),
            ([], '"127.0.0.1:9050" "unix:/x"', ["127.0.0.1:9050", "unix:/x"])):
        s = Setup()
        ok = False
        try:
            s.tor.socks_ports = list(ports)
            s.tor.socks_listeners = listeners
            open(os.path.join(s.dir, "fetchd.socks"), "w").close()
            s.start()
            s.wait_state("fetchd", socks_ok=1, socks_failed=0)
            deadline = time.monotonic() + TIMEOUT
            while not s.tor.socks_seen and time.monotonic() < deadline:
                time.sleep(0.05)
            assert s.tor.socks_seen == [b"probe\n"], s.tor.socks_seen
            assert len(s.tor.setconfs) == 1, s.tor.setconfs
            values = s.tor.setconfs[0]
            assert values[:-1] == kept, values
            assert re.fullmatch(r"127\.0\.0\.1:\d+ " + flags, values[-1]), \
                values
            s.wait_log(r"added SOCKS listener 127\.0\.0\.1:\d+ to tor")
            ok = True
        finally:
            s.stop()
            s.close(ok)
    # A tor that refuses: fetchd is told why, and the parent says it once.
    s = Setup()
    ok = False
    try:
        s.tor._setconf = lambda line: "553 Unable to set option: sandbox\r\n"
        open(os.path.join(s.dir, "fetchd.socks"), "w").close()
        s.start()
        s.wait_state("fetchd", socks_ok=0, socks_failed=1)
        s.wait_log(r"\[warning\] liveness probes unavailable: tor refused "
                   r"to add a SocksPort for the liveness probes: Unable to "
                   r"set option: sandbox")
        ok = True
    finally:
        s.stop()
        s.close(ok)


def test_status_client():
    d = tempfile.mkdtemp(prefix="obstatus-")
    try:
        path = os.path.join(d, "s1")
        serve_once(path, STATUS_DOC)
        r = run_parent("status", "-s", path)
        assert r.returncode == 0, r
        assert r.stdout == STATUS_TEXT, r.stdout
        serve_once(path + "j", STATUS_DOC)
        r = run_parent("status", "-s", path + "j", "--json")
        assert r.returncode == 0 and r.stdout.encode() == STATUS_DOC, r
        serve_once(path + "bad", b'{"services": [1, 2')
        r = run_parent("status", "-s", path + "bad")
        assert r.returncode == 1 and "malformed JSON (at byte 18)" in \
            r.stderr, r
        for bad in (b'[1]', b'{"a": tru}', b'{"a": "\x01"}', b'{"a" 1}',
                    b'[' * 40 + b']' * 40, b'{"a": 1} x'):
            serve_once(path + "bad2", bad)
            r = run_parent("status", "-s", path + "bad2")
            assert r.returncode == 1 and "malformed JSON" in r.stderr, \
                (bad, r)
            os.unlink(path + "bad2")
        r = run_parent("status", "-s", os.path.join(d, "none"))
        assert r.returncode == 1 and "No such file" in r.stderr, r
    finally:
        shutil.rmtree(d, ignore_errors=True)


def serve_always(path, payload, stop):
    """A status socket that writes payload to every client until stop is
    set; it then removes its socket."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)
    srv.settimeout(0.2)

    def run():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except socket.timeout:
                continue
            conn.sendall(payload)
            conn.close()
        srv.close()
        os.unlink(path)
    threading.Thread(target=run, daemon=True).start()


def read_pty(fd, until, timeout):
    """What the program behind the pty's master fd writes, until the text
    matches until(text) or timeout; returns the text."""
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not until(out.decode(
            errors="replace")):
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                out += os.read(fd, 65536)
            except OSError:        # EIO: the program closed the pty
                break
    return out.decode(errors="replace")


def test_status_watch_in_a_terminal():
    """status --watch in a pseudo-terminal: each frame clears the screen
    and shows the document again; a frame without onionbalanced says why
    and the next one tries again; SIGINT ends it with status 0."""
    d = tempfile.mkdtemp(prefix="obwatch-")
    stop = threading.Event()
    master, slave = pty.openpty()
    proc = None
    try:
        path = os.path.join(d, "status.sock")
        serve_always(path, STATUS_DOC, stop)
        proc = subprocess.Popen([PARENT, "status", "-s", path, "--watch=1"],
                                stdin=slave, stdout=slave, stderr=slave)
        os.close(slave)
        slave = None
        clear = "\033[H\033[2J"
        text = read_pty(master, lambda t: t.count(clear) >= 2 and
                        t.count("first descriptor") >= 2, 10)
        assert text.count(clear) >= 2 and text.count(
            f"Every 1 s: onionbalanced status -s {path}") >= 2, text
        assert text.count("first descriptor") >= 2, text
        stop.set()           # onionbalanced goes away: the watch goes on
        text = read_pty(master, lambda t: "No such file" in t, 10)
        assert "No such file" in text and proc.poll() is None, text
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 0
        r = run_parent("status", "-s", path, "--watch=0")
        assert r.returncode == 2 and "--watch=0: not a number of seconds" \
            in r.stderr, r
    finally:
        stop.set()
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        if slave is not None:
            os.close(slave)
        shutil.rmtree(d, ignore_errors=True)


TESTS = [v for k, v in list(globals().items()) if k.startswith("test_")]


def main(tests=None):
    """Runs tests (default: this file's), each on its own; exit 1 if
    any failed."""
    failed = 0
    for t in TESTS if tests is None else tests:
        t0 = time.monotonic()
        try:
            t()
            print(f"ok   {t.__name__} ({time.monotonic() - t0:.1f} s)")
        except Exception:
            failed += 1
            print(f"FAIL {t.__name__}")
            traceback.print_exc()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
