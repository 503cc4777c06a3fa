#!/usr/bin/python3
"""The real onionbalanced with the real keyd, fetchd and publishd, against
the scripted fake tor of tests/unit/test_parent_exec.py (no network):

- every child runs with Seccomp: 2 and NoNewPrivs: 1; started as root,
  each as its own uid and gid, and the parent keeps only the capabilities
  docs/sandbox.md lists, in its own sets and in its bounding set;
- the master key's secret bytes are in keyd's memory and in no other
  process's (tests/testnet/test_key_memory.py; keyd is the control);
- publishd serves the metrics (docs/metrics.md) under its filter, on a
  unix socket and a 127.0.0.1 port the parent made: GET /metrics answers
  text that prometheus_client's parser reads whole, other paths 404,
  and the instances' intro-point gauges equal the status socket's;
- in a build with -Dsandbox_test_violation=true: fetchd, then publishd,
  made to call socket() once sandboxed, is killed by SIGSYS, and the
  parent says so and starts it again;
- as root, with the default users (no *-user in the config), in a mount
  namespace of the daemon's own whose /etc/passwd and /etc/group are
  copies (the machine's are never touched): with onionbalanced-fetchd
  missing, a start exits 1 with one error line naming that user and the
  systemd-sysusers command; with the three users made by
  `systemd-sysusers --root` from packaging/sysusers.d/onionbalanced.conf,
  the daemon starts and each child runs as its own user.

Environment (meson): those of test_parent_exec.py, plus OB_FETCHD,
OB_PUBLISHD, OB_TEST_VIOLATION (1 when the build has the option) and
OB_SYSUSERS_CONF (the source tree's sysusers.d file).
"""

import ctypes
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "unit"))
sys.path.insert(0, os.path.join(HERE, "..", "testnet"))

import test_key_memory                  # noqa: E402
from test_parent_exec import Setup      # noqa: E402

FETCHD = os.environ["OB_FETCHD"]
PARENT_EXE = os.environ["OB_PARENT"]
SYSUSERS = os.environ["OB_SYSUSERS_CONF"]
CLONE_NEWNS = 0x00020000
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
PUBLISHD = os.environ["OB_PUBLISHD"]
ROOT = os.geteuid() == 0
UIDS = {"keyd": 61001, "fetchd": 61002, "publishd": 61003}
# CAP_DAC_OVERRIDE 1, CAP_KILL 5, CAP_SETGID 6, CAP_SETUID 7,
# CAP_SYS_CHROOT 18 (sandbox/sandbox_parent.c)
PARENT_CAPS = (1 << 1) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 18)


class DaemonSetup(Setup):
    """test_parent_exec's setup with the real fetchd and publishd."""

    def __init__(self):
        super().__init__(instances=2)
        for name, path in (("fetchd", FETCHD), ("publishd", PUBLISHD)):
            link = os.path.join(self.libexec, name)
            os.unlink(link)
            os.symlink(path, link)

    def pid(self, role):
        pids = re.findall(rf"{role} (?:\(pid (\d+)\) has|started "
                          rf"\(pid (\d+)\))", self.log_text())
        last = pids[-1]
        return int(last[0] or last[1])


class DefaultUsersSetup(DaemonSetup):
    """The real daemons with the default users, resolved from copies of
    /etc/passwd and /etc/group bind-mounted over the machine's in a mount
    namespace that only the daemon (and its children) live in."""

    def __init__(self, etc):
        super().__init__()
        self.etc = etc
        with open(self.config) as f:
            lines = [line for line in f.read().splitlines()
                     if not re.match(r"(keyd|fetchd|publishd)-user:", line)]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self, *extra):
        env = dict(os.environ, OB_STANDIN_DIR=self.dir)
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen(
            [PARENT_EXE, "-c", self.config, "-v", "info", "--libexecdir",
             self.libexec, "--chroot-dir", os.environ["OB_SANDBOX_DIR"],
             *extra],
            stdout=self.logf, stderr=subprocess.STDOUT, env=env,
            preexec_fn=lambda: private_etc(self.etc))


def private_etc(etc):
    """preexec_fn: a mount namespace of our own in which etc/passwd and
    etc/group replace the machine's (nothing propagates back)."""
    libc = ctypes.CDLL(None, use_errno=True)
    calls = [("unshare", lambda: libc.unshare(CLONE_NEWNS)),
             ("make / private", lambda: libc.mount(
                 None, b"/", None, MS_REC | MS_PRIVATE, None))]
    for name in ("passwd", "group"):
        src = os.path.join(etc, name).encode()
        calls.append((f"bind {name}", lambda src=src, name=name: libc.mount(
            src, f"/etc/{name}".encode(), None, MS_BIND, None)))
    for what, call in calls:
        if call() != 0:
            raise OSError(ctypes.get_errno(), what)


def etc_without_our_users(workdir):
    """Copies of /etc/passwd, group, shadow and gshadow without
    onionbalanced's users, in workdir/etc."""
    etc = os.path.join(workdir, "etc")
    os.makedirs(etc)
    for name in ("passwd", "group", "shadow", "gshadow"):
        try:
            with open(f"/etc/{name}") as f:
                lines = [line for line in f
                         if not line.startswith("onionbalanced-")]
        except FileNotFoundError:
            continue
        with open(os.path.join(etc, name), "w") as f:
            f.writelines(lines)
    return etc


def passwd_uids(etc):
    with open(os.path.join(etc, "passwd")) as f:
        return {e[0]: int(e[2]) for e in
                (line.split(":") for line in f) if len(e) > 3}


def test_missing_service_user_names_the_command():
    work = tempfile.mkdtemp(prefix="obusers-")
    s = None
    ok = False
    try:
        root = os.path.join(work, "root")
        etc = etc_without_our_users(root)
        subprocess.run(["systemd-sysusers", f"--root={root}", SYSUSERS],
                       check=True, capture_output=True)
        # one of the three missing, as after a partial manual setup
        with open(os.path.join(etc, "passwd")) as f:
            lines = [line for line in f
                     if not line.startswith("onionbalanced-fetchd:")]
        with open(os.path.join(etc, "passwd"), "w") as f:
            f.writelines(lines)
        s = DefaultUsersSetup(etc)
        s.start()
        assert s.proc.wait(timeout=30) == 1, s.log_text()
        errors = [line for line in s.log_text().splitlines()
                  if "[error]" in line]
        assert len(errors) == 1, s.log_text()
        assert 'fetchd-user: user "onionbalanced-fetchd" does not exist' \
            in errors[0], errors
        assert re.search(r'"systemd-sysusers /\S+/sysusers\.d/'
                         r'onionbalanced\.conf"', errors[0]), errors
        ok = True
    finally:
        if s:
            s.close(ok)
        shutil.rmtree(work, ignore_errors=True)


def test_users_from_sysusers_file():
    work = tempfile.mkdtemp(prefix="obusers-")
    s = None
    ok = False
    try:
        root = os.path.join(work, "root")
        etc = etc_without_our_users(root)
        subprocess.run(["systemd-sysusers", f"--root={root}", SYSUSERS],
                       check=True, capture_output=True)
        uids = passwd_uids(etc)
        s = DefaultUsersSetup(etc)
        start_and_wait(s)
        for role in ("keyd", "fetchd", "publishd"):
            want = uids[f"onionbalanced-{role}"]
            st = status(s.pid(role))
            assert st["Uid"].split() == [str(want)] * 4, (role, want, st)
            assert st["Gid"].split() == [str(want)] * 4, (role, want, st)
        assert s.stop() == 0, s.log_text()
        ok = True
    finally:
        if s:
            s.close(ok)
        shutil.rmtree(work, ignore_errors=True)


def status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f
                    if ":\t" in line)


def start(s, env_extra=None):
    if env_extra:
        os.environ.update(env_extra)
    try:
        s.start()
    finally:
        for k in env_extra or {}:
            del os.environ[k]


def start_and_wait(s):
    start(s)
    s.wait_log(r"fetchd ready")
    s.wait_log(r"publishd ready")


def test_children_sandboxed_parent_reduced():
    s = DaemonSetup()
    ok = False
    try:
        start_and_wait(s)
        for role in ("keyd", "fetchd", "publishd"):
            st = status(s.pid(role))
            assert st["Seccomp"] == "2", (role, st)
            assert st["NoNewPrivs"] == "1", (role, st)
            assert int(st["CapEff"], 16) == 0, (role, st)
            if ROOT:
                want = [str(UIDS[role])] * 4
                assert st["Uid"].split() == want, (role, st)
                assert st["Gid"].split() == want, (role, st)
        if ROOT:
            st = status(s.proc.pid)
            for field in ("CapEff", "CapPrm", "CapBnd"):
                assert int(st[field], 16) == PARENT_CAPS, (field, st)
            assert int(st["CapInh"], 16) == 0, st
            assert st["NoNewPrivs"] == "1", st
        # publishd serves the status socket under its filter (accept4,
        # writev) and lives on; nothing was killed.
        with socket.socket(socket.AF_UNIX) as c:
            c.settimeout(10)
            c.connect(s.status)
            doc = b"".join(iter(lambda: c.recv(65536), b""))
        assert isinstance(json.loads(doc), dict), doc
        assert status(s.pid("publishd"))["Seccomp"] == "2"
        assert "lost child" not in s.log_text(), s.log_text()
        assert s.stop() == 0, s.log_text()
        ok = True
    finally:
        s.close(ok)


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(10)
        self.sock.connect(self.unix_path)


def http_get(conn, path):
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type"), r.read().decode()
    finally:
        conn.close()


def free_port():
    with socket.socket() as t:
        t.bind(("127.0.0.1", 0))
        return t.getsockname()[1]


def parse_metrics(text):
    """Every line through prometheus_client's parser; {name: samples}."""
    from prometheus_client.parser import text_string_to_metric_families
    samples = {}
    for fam in text_string_to_metric_families(text):
        for smp in fam.samples:
            samples.setdefault(smp.name, []).append(smp)
    return samples


def test_metrics_served_under_the_filter():
    s = DaemonSetup()
    ok = False
    try:
        msock = os.path.join(s.dir, "metrics.sock")
        port = free_port()
        s.write_config(2, extra=f"metrics-location: [{msock}, "
                       f"127.0.0.1:{port}]")
        start_and_wait(s)
        texts = []
        for conn in (UnixHTTPConnection(msock),
                     http.client.HTTPConnection("127.0.0.1", port,
                                                timeout=10)):
            code, ctype, text = http_get(conn, "/metrics")
            assert code == 200, (code, text)
            assert ctype == "text/plain; version=0.0.4; charset=utf-8", ctype
            texts.append(text)
        code, _, _ = http_get(UnixHTTPConnection(msock), "/other")
        assert code == 404, code
        for text in texts:
            m = parse_metrics(text)
            assert m["onionbalanced_build_info"][0].value == 1, text
            restarts = {x.labels["child"]: x.value
                        for x in m["onionbalanced_child_restarts_total"]}
            assert restarts == {"keyd": 0, "fetchd": 0, "publishd": 0}, \
                restarts
        with socket.socket(socket.AF_UNIX) as c:
            c.settimeout(10)
            c.connect(s.status)
            doc = json.loads(b"".join(iter(lambda: c.recv(65536), b"")))
        want = {i["name"]: i["introPointsNum"]
                for sv in doc["services"] for i in sv["instances"]}
        got = {x.labels["instance"]: x.value for x in
               parse_metrics(texts[-1])["onionbalanced_instance_intro_points"]}
        assert got == want and len(want) == 2, (got, want)
        assert status(s.pid("publishd"))["Seccomp"] == "2"
        assert "lost child" not in s.log_text(), s.log_text()
        # the parent's restart count reaches publishd's metrics
        os.kill(s.pid("fetchd"), signal.SIGKILL)
        s.wait_log(r"(?s)lost child fetchd.*fetchd ready")
        want = {"keyd": 0, "fetchd": 1, "publishd": 0}
        for _ in range(50):     # the parent's message may still be on its way
            _, _, text = http_get(UnixHTTPConnection(msock), "/metrics")
            restarts = {x.labels["child"]: x.value for x in parse_metrics(
                text)["onionbalanced_child_restarts_total"]}
            if restarts == want:
                break
            time.sleep(0.1)
        assert restarts == want, restarts
        # a reload names a changed metrics-location and keeps the old one
        s.write_config(2, extra=f"metrics-location: 127.0.0.1:{port}")
        os.kill(s.proc.pid, signal.SIGHUP)
        s.wait_log(r"reload: metrics-location changes only at a restart")
        s.wait_log(r"publishd ready \(configuration 2\)")
        code, _, _ = http_get(UnixHTTPConnection(msock), "/metrics")
        assert code == 200, code
        assert s.stop() == 0, s.log_text()
        assert not os.path.exists(msock), "metrics socket left behind"
        ok = True
    finally:
        s.close(ok)


def test_key_only_in_keyd():
    if not ROOT:
        print("skip: reading other processes' memory needs root")
        return
    s = DaemonSetup()
    ok = False
    try:
        start_and_wait(s)
        others = {"onionbalanced": s.proc.pid, "fetchd": s.pid("fetchd"),
                  "publishd": s.pid("publishd")}
        problems = test_key_memory.check(s.key, s.pid("keyd"), others)
        assert not problems, problems
        assert s.stop() == 0, s.log_text()
        ok = True
    finally:
        s.close(ok)


def test_violation_kills_and_restarts(role):
    s = DaemonSetup()
    ok = False
    try:
        start(s, {"OB_SANDBOX_TEST_VIOLATION": role})
        s.wait_log(rf"lost child {role}: killed by signal 31 "
                   rf"\(Bad system call\)")
        s.wait_log(rf"restarting {role} in \d+ ms")
        s.wait_log(rf"(?s)killed by signal 31.*{role} started \(pid")
        s.stop()
        ok = True
    finally:
        s.close(ok)


def test_violation_fetchd():
    test_violation_kills_and_restarts("fetchd")


def test_violation_publishd():
    test_violation_kills_and_restarts("publishd")


def main():
    tests = [test_children_sandboxed_parent_reduced,
             test_metrics_served_under_the_filter, test_key_only_in_keyd]
    if ROOT and shutil.which("systemd-sysusers"):
        tests += [test_missing_service_user_names_the_command,
                  test_users_from_sysusers_file]
    else:
        print("skip: the service-user tests need root and systemd-sysusers")
    if os.environ.get("OB_TEST_VIOLATION") == "1":
        tests += [test_violation_fetchd, test_violation_publishd]
    else:
        print("skip: the violation test needs -Dsandbox_test_violation=true")
    failures = 0
    for i, t in enumerate(tests):
        name = getattr(t, "__name__", f"test {i}")
        try:
            t()
            print(f"ok {name}")
        except Exception:
            failures += 1
            print(f"FAIL {name}")
            traceback.print_exc()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
