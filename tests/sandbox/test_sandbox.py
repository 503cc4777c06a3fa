#!/usr/bin/python3
"""Each role's sandbox, entered by tests/sandbox/sandbox_probe.c exactly as
the daemons enter it, then probed one system call at a time.

For keyd, fetchd and publishd:
- what the role does all day works: an fd passed over a channel,
  waiting on it (poll for keyd, epoll for the others), the clock,
  getrandom, memory;
- open() and openat() fail with EACCES and do not kill;
- socket, connect, execve, an executable mmap or mprotect, fork, ptrace
  and a signal to another process kill it with SIGSYS;
  keyd cannot use epoll, and only publishd may accept;
- /proc/<pid>/status shows Seccomp: 2 and NoNewPrivs: 1, its root
  directory is empty, and the directory fd it had open is closed.
As root: each role runs as the uid and gid it was given, with no
supplementary group and no capability, chrooted into $OB_SANDBOX_DIR.
Then the same as an ordinary user (the probe drops to a uid of its own
first when the test runs as root): the user namespace gives it an empty
root of its own.

Environment (meson): OB_PROBE (the helper), OB_SANDBOX_DIR.
"""

import os
import signal
import subprocess
import sys
import traceback

PROBE = os.environ["OB_PROBE"]
EMPTY = os.environ["OB_SANDBOX_DIR"]
ROOT = os.geteuid() == 0
UIDS = {"keyd": 61001, "fetchd": 61002, "publishd": 61003}
UNPRIVILEGED_UID = 61010
ROLES = list(UIDS)
ALWAYS_KILLED = ["socket", "connect", "execve", "mmap-exec", "mprotect-exec",
                 "fork", "ptrace", "kill-other"]
KILLED = {
    "keyd": ALWAYS_KILLED + ["epoll", "accept"],
    "fetchd": ALWAYS_KILLED + ["accept"],
    "publishd": ALWAYS_KILLED,
}


def modes():
    """The ways a child can be started here: as root, and as a user."""
    return ["root", "unprivileged"] if ROOT else ["unprivileged"]


def uid_arg(mode, role):
    """The probe's UID argument (see sandbox_probe.c)."""
    if mode == "root":
        return str(UIDS[role])
    return str(-UNPRIVILEGED_UID) if ROOT else None


def run_probe(role, probe, arg):
    cmd = [PROBE, role, probe] + ([arg] if arg else [])
    return subprocess.run(cmd, capture_output=True, text=True, timeout=20,
                          env=dict(os.environ, OB_SANDBOX_DIR=EMPTY))


def check_allowed_and_open(role, arg):
    r = run_probe(role, "allowed", arg)
    assert r.returncode == 0 and "allowed: ok" in r.stdout, (role, r)
    r = run_probe(role, "open", arg)
    assert r.returncode == 0 and "open: EACCES" in r.stdout, (role, r)


def check_killed(role, arg):
    for probe in KILLED[role]:
        r = run_probe(role, probe, arg)
        assert r.returncode == -signal.SIGSYS, (role, probe, r)
    if role == "publishd":
        # accept4 passes the filter and fails on a socketpair (EINVAL).
        r = run_probe(role, "accept", arg)
        assert r.returncode == 1 and "returned" in r.stderr, (role, r)


def status_fields(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f
                    if ":\t" in line)


def check_status(role, mode, arg):
    p = subprocess.Popen([PROBE, role, "hold"] + ([arg] if arg else []),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, OB_SANDBOX_DIR=EMPTY))
    try:
        assert p.stdout.readline() == "sandboxed\n", p.stderr.read()
        # The directory fd the probe left open was closed (root can look:
        # the probe is not dumpable).
        for fd in os.listdir(f"/proc/{p.pid}/fd") if ROOT else []:
            target = os.readlink(f"/proc/{p.pid}/fd/{fd}")
            assert int(fd) <= 2 or not target.startswith("/"), (fd, target)
        st = status_fields(p.pid)
        assert st["Seccomp"] == "2" and st["NoNewPrivs"] == "1", st
        assert int(st["CapEff"], 16) == 0, st
        if mode == "root":
            want = str(UIDS[role])
            assert st["Uid"].split() == [want] * 4, st
            assert st["Gid"].split() == [want] * 4, st
            assert st["Groups"].split() == [want], st
            assert int(st["CapPrm"], 16) == 0, st
            assert os.readlink(f"/proc/{p.pid}/root") == EMPTY
        elif ROOT:
            want = str(UNPRIVILEGED_UID)
            assert st["Uid"].split() == [want] * 4, st
        # As root the test can look inside: the root it sees is empty.
        if ROOT:
            assert os.listdir(f"/proc/{p.pid}/root") == [], role
    finally:
        p.stdin.close()
        assert p.wait(timeout=20) == 0, p.stderr.read()


def main():
    failures = 0
    for mode in modes():
        for role in ROLES:
            arg = uid_arg(mode, role)
            for check in (check_allowed_and_open, check_killed):
                try:
                    check(role, arg)
                    print(f"ok {mode} {role} {check.__name__}")
                except Exception:
                    failures += 1
                    print(f"FAIL {mode} {role} {check.__name__}")
                    traceback.print_exc()
            try:
                check_status(role, mode, arg)
                print(f"ok {mode} {role} check_status")
            except Exception:
                failures += 1
                print(f"FAIL {mode} {role} check_status")
                traceback.print_exc()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
