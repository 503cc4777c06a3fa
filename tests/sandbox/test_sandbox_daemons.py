#!/usr/bin/python3
"""The real onionbalanced with the real keyd, fetchd and publishd, against
the scripted fake tor of tests/unit/test_parent_exec.py (no network):

- every child runs with Seccomp: 2 and NoNewPrivs: 1; started as root,
  each as its own uid and gid, and the parent keeps only the capabilities
  docs/sandbox.md lists, in its own sets and in its bounding set;
- the master key's secret bytes are in keyd's memory and in no other
  process's (tests/testnet/test_key_memory.py; keyd is the control);
- in a build with -Dsandbox_test_violation=true: fetchd, then publishd,
  made to call socket() once sandboxed, is killed by SIGSYS, and the
  parent says so and starts it again.

Environment (meson): those of test_parent_exec.py, plus OB_FETCHD,
OB_PUBLISHD and OB_TEST_VIOLATION (1 when the build has the option).
"""

import json
import os
import re
import socket
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "unit"))
sys.path.insert(0, os.path.join(HERE, "..", "testnet"))

import test_key_memory                  # noqa: E402
from test_parent_exec import Setup      # noqa: E402

FETCHD = os.environ["OB_FETCHD"]
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
    tests = [test_children_sandboxed_parent_reduced, test_key_only_in_keyd]
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
