#!/usr/bin/python3
"""No child outlives its parent (issue 17): the real onionbalanced with the
real keyd, fetchd and publishd against the fake tor of
tests/unit/test_parent_exec.py, the parent killed with SIGKILL (no chance
to stop its children), and every child must be gone within 2 s:

- when all three are ready and busy: the control connection up, a status
  client connected to publishd and not reading;
- while they start: the parent killed 0 to 0.6 s after its own start, so
  that children are caught before exec, before their sandbox, between
  their uid change and the re-armed parent-death signal (sandbox.c), and
  waiting for their configuration.

This test process makes itself a child subreaper (PR_SET_CHILD_SUBREAPER)
so that the orphans come to it and are found by their parent pid, even
those forked just before the kill, and a child that wrongly took
"my parent is pid 1" for "my parent died" would be caught.  A child still
there after 2 s is described (state, CPU time used in half a second, the
kernel function it waits in, its signal masks) and killed.

Run in both builds (scripts/test runs the sandbox suite in build-gcc too).
Environment (meson): those of test_sandbox_daemons.py.
"""

import ctypes
import os
import signal
import socket
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from test_sandbox_daemons import DaemonSetup   # noqa: E402

PR_SET_CHILD_SUBREAPER = 36
GRACE = 2.0
# Kill points after the parent's start, for the children's start-up.
EARLY_DELAYS = (0.0, 0.02, 0.08, 0.15, 0.3, 0.6)


def set_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_CHILD_SUBREAPER")


def stat_fields(pid):
    """state, ppid, utime+stime (ticks) from /proc/pid/stat, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    rest = text.rsplit(") ", 1)[1].split()
    return rest[0], int(rest[1]), int(rest[11]) + int(rest[12])


def children_of(ppid):
    out = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = stat_fields(int(d))
            if st is not None and st[1] == ppid:
                out.add(int(d))
    return out


def reap(pid):
    """Reaps pid if it is our (adopted) zombie; True when it is gone."""
    st = stat_fields(pid)
    if st is None:
        return True
    if st[0] != "Z":
        return False
    if st[1] == os.getpid():
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
    return True


def describe(pid):
    """What a child that should be gone is doing."""
    first = stat_fields(pid)
    time.sleep(0.5)
    second = stat_fields(pid)
    if first is None or second is None:
        return f"pid {pid}: gone while looked at"
    try:
        with open(f"/proc/{pid}/comm") as f:
            comm = f.read().strip()
        with open(f"/proc/{pid}/wchan") as f:
            wchan = f.read().strip()
        with open(f"/proc/{pid}/status") as f:
            st = dict(line.rstrip("\n").split(":\t", 1) for line in f
                      if ":\t" in line)
    except OSError:
        return f"pid {pid}: gone while looked at"
    ticks = second[2] - first[2]
    return (f"pid {pid} {comm}: state {second[0]}, ppid {second[1]}, "
            f"{ticks} CPU ticks in 0.5 s, wchan {wchan}, "
            f"Uid {st.get('Uid')}, Seccomp {st.get('Seccomp')}, "
            f"SigBlk {st.get('SigBlk')}, SigIgn {st.get('SigIgn')}, "
            f"SigCgt {st.get('SigCgt')}")


def kill_parent_and_check(s, what):
    """SIGKILL the parent; every child it had must be gone in GRACE s."""
    parent = s.proc.pid
    known = children_of(parent)
    os.kill(parent, signal.SIGKILL)
    s.proc.wait()
    t0 = time.monotonic()
    # Ours now: the orphans, including any forked just before the kill.
    left = known | children_of(os.getpid())
    seen = len(left)
    while left and time.monotonic() - t0 < GRACE:
        left = {pid for pid in left if not reap(pid)}
        left |= {pid for pid in children_of(os.getpid()) if not reap(pid)}
        if left:
            time.sleep(0.02)
    took = time.monotonic() - t0
    if left:
        report = [describe(pid) for pid in sorted(left)]
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in left:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        raise AssertionError(
            f"{what}: {len(left)} child(ren) alive {GRACE} s after the "
            f"parent's SIGKILL:\n  " + "\n  ".join(report) + "\n"
            + s.log_text()[-4000:])
    print(f"  {what}: {seen} child(ren) gone in {took:.2f} s")


def test_busy_children():
    s = DaemonSetup()
    ok = False
    client = None
    try:
        s.start()
        s.wait_log(r"fetchd ready")
        s.wait_log(r"publishd ready")
        # A status client that connects and does not read: publishd has
        # a connection with its reply pending when the parent dies.
        client = socket.socket(socket.AF_UNIX)
        client.connect(s.status)
        time.sleep(0.1)
        kill_parent_and_check(s, "ready and busy")
        ok = True
    finally:
        if client is not None:
            client.close()
        s.close(ok)


def test_starting_children():
    for delay in EARLY_DELAYS:
        s = DaemonSetup()
        ok = False
        try:
            s.start()
            time.sleep(delay)
            kill_parent_and_check(s, f"killed {delay} s after start")
            ok = True
        finally:
            s.close(ok)


def main():
    set_subreaper()
    failures = 0
    for t in (test_busy_children, test_starting_children):
        try:
            t()
            print(f"ok {t.__name__}")
        except Exception:
            failures += 1
            print(f"FAIL {t.__name__}")
            traceback.print_exc()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
