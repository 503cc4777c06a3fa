#!/usr/bin/python3
"""The harness stops exactly what it started, whatever ends the test
(meson suite 'testnet').

For each way a test can end badly, a child process starts a network
(without waiting for it to bootstrap) and then: raises an exception, is
sent SIGINT, is sent SIGTERM twice (the second during teardown), or is
SIGKILLed.  Afterwards no process of
that network may be left, the work directory must be kept (logs of a
failed run) and the port block must be free again.  After SIGKILL nothing
can run in the child, so the processes must notice on their own (tor's
__OwningControllerProcess, namehttpd's owner pid) within 30 s.
A clean exit must remove the work directory.
Exit status: 0 pass, 1 fail, 77 skip (no tor).
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import ports  # noqa: E402
import testnet  # noqa: E402

ORPHAN_TIMEOUT = 30


class TestFailure(Exception):
    pass


def check(cond, message):
    if not cond:
        raise TestFailure(message)
    print(f"ok: {message}", flush=True)


def child(mode, report):
    """Start a network, write its workdir to report, then end as mode
    says."""
    with testnet.Network(backends=1, relays=2) as net:
        net.create()
        net.start(align=False)
        with open(report + ".tmp", "w") as f:
            f.write(f"{net.workdir}\n{len(net.pids())}\n")
        os.replace(report + ".tmp", report)
        if mode == "raise":
            raise RuntimeError("deliberate failure inside the test")
        if mode == "clean":
            return 0
        time.sleep(600)  # until the parent's signal
    return 0


def live_processes(workdir):
    """Pids of any process whose command line mentions workdir: also
    catches a process whose pid file is gone."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and ports.pid_alive_in(int(entry), workdir):
            pids.append(int(entry))
    return pids


def hung_at_exit(workdir):
    """(pid, node) of each leftover process, if every one is a tor whose
    notice log ends with tor's "exiting cleanly" after its owner vanished;
    else []."""
    hung = []
    for pid in live_processes(workdir):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if not argv[0].endswith(b"tor") or b"-f" not in argv:
            return []
        torrc = argv[argv.index(b"-f") + 1].decode()
        log = os.path.join(os.path.dirname(torrc), "notice.log")
        try:
            with open(log) as f:
                text = f.read()
        except OSError:
            return []
        if "Owning controller process has vanished" not in text or \
                not text.rstrip().endswith("exiting cleanly."):
            return []
        hung.append((pid, os.path.basename(os.path.dirname(torrc))))
    return hung


def run_child(mode, tmp):
    report = os.path.join(tmp, f"{mode}.workdir")
    proc = subprocess.Popen([sys.executable, __file__, "--child", mode,
                             report])
    deadline = time.monotonic() + 60
    while not os.path.exists(report):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise TestFailure(f"{mode}: child did not start a network")
        time.sleep(0.1)
    with open(report) as f:
        workdir, count = f.read().split()
    # 3 authorities, 2 relays, be0, mgmt, client, be0's HTTP server.
    check(int(count) == 9, f"{mode}: network had {count} processes")
    sig = {"sigint": signal.SIGINT, "sigterm": signal.SIGTERM,
           "sigkill": signal.SIGKILL}.get(mode)
    if sig:
        proc.send_signal(sig)
    if mode == "sigterm":
        # An impatient second signal while the child tears down must not
        # cut the teardown short.
        time.sleep(0.3)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    status = proc.wait(timeout=60)
    return workdir, status


def wait_gone(workdir, timeout):
    deadline = time.monotonic() + timeout
    while live_processes(workdir):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def check_mode(mode, tmp):
    t0 = time.monotonic()
    workdir, status = run_child(mode, tmp)
    if mode == "clean":
        check(status == 0 and not os.path.exists(workdir),
              "clean exit: status 0, work directory removed")
        return
    check(status != 0, f"{mode}: child failed (status {status})")
    timeout = ORPHAN_TIMEOUT if mode == "sigkill" else 0.5
    gone = wait_gone(workdir, timeout)
    if not gone and mode == "sigkill":
        hung = hung_at_exit(workdir)
        if hung:
            # tor's own exit hang (docs/testnet.md, gotcha 8): it saw its
            # owner go and began to exit, then its main thread waits on
            # a futex for minutes.  Nothing of ours can still reach it.
            note = ", ".join(f"{pid} ({name})" for pid, name in hung)
            print(f"note: sigkill: tor hung after 'exiting cleanly' "
                  f"(gotcha 8): {note}; killed by the test", flush=True)
            for pid, _ in hung:
                os.kill(pid, signal.SIGKILL)
            gone = wait_gone(workdir, 5)
    check(gone, f"{mode}: no process of the network left after "
          f"{time.monotonic() - t0:.1f} s (left: {live_processes(workdir)})")
    check(os.path.isfile(os.path.join(workdir, "a0", "notice.log")),
          f"{mode}: work directory with logs kept")
    lock = os.path.join(ports.LOCK_DIR,
                        str(testnet.Network.load(workdir).base_port))
    if mode == "sigkill":
        # Nobody could remove the lock; it must at least be reclaimable.
        check(not os.path.exists(lock) or ports._lock_is_stale(lock),
              "sigkill: the port block's lock is stale, so reusable")
        ports.release_block(lock, workdir)
    else:
        check(not os.path.exists(lock), f"{mode}: port block released")
    shutil.rmtree(workdir)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        return child(sys.argv[2], sys.argv[3])
    if not shutil.which("tor") or not shutil.which("tor-gencert"):
        print("SKIP: tor or tor-gencert missing")
        return 77
    tmp = tempfile.mkdtemp(prefix="obtestnet-teardown-")
    try:
        for mode in ("clean", "raise", "sigint", "sigterm", "sigkill"):
            check_mode(mode, tmp)
    except (TestFailure, testnet.TestnetError, OSError,
            subprocess.TimeoutExpired) as e:
        print(f"FAIL: {e}", flush=True)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
