"""Port blocks for test networks that run side by side.

Every network takes one block of BLOCK_SIZE consecutive TCP ports on
127.0.0.1, starting at a base port that is a multiple of BLOCK_SIZE in
[PORT_LOW, PORT_HIGH).  The range lies below Linux's ephemeral range
(32768 and up by default), so the loopback connections that the tors make
to each other never take one of our listening ports by chance.

A block is taken by creating LOCK_DIR/<base> with O_EXCL; the file holds
the owner's workdir and pid.  Before it is handed out, every port of the
block is bind-tested, so a port used by something else on the machine is
noticed.  A lock is stale, and is taken over, when the process that
created it is gone and no process of its workdir (pid files, checked
against /proc/<pid>/cmdline) is alive any more.  Allocation is serialised
with flock() on LOCK_DIR/.allocate, so two harnesses starting at the same
moment cannot both take over the same stale lock.
"""

import fcntl
import glob
import json
import os
import random
import socket

PORT_LOW = 20000
PORT_HIGH = 32000
BLOCK_SIZE = 250
LOCK_DIR = "/tmp/onionbalanced-testnet-ports"


class PortError(Exception):
    pass


def pid_alive_in(pid, needle):
    """True if pid is a live process whose command line mentions needle
    (a path inside its workdir): a recycled pid does not count."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return needle in cmdline


def read_pidfile(path):
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def workdir_pidfiles(workdir):
    """tor's and namehttpd's own pid files (<node>/*.pid) and the
    harness's copies (pids/*.pid; tor removes its own while exiting)."""
    return sorted(glob.glob(os.path.join(workdir, "*", "*.pid")))


def workdir_has_live_process(workdir):
    for path in workdir_pidfiles(workdir):
        pid = read_pidfile(path)
        if pid and pid_alive_in(pid, workdir):
            return True
    return False


def _lock_is_stale(path):
    try:
        with open(path) as f:
            info = json.load(f)
        owner, workdir = int(info["pid"]), str(info["workdir"])
    except (OSError, ValueError, KeyError, TypeError):
        return True
    try:
        os.kill(owner, 0)
        return False
    except ProcessLookupError:
        pass
    except PermissionError:
        return False
    return not workdir_has_live_process(workdir)


def _ports_free(base):
    for port in range(base, base + BLOCK_SIZE):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # tor sets SO_REUSEADDR too, so a port in TIME_WAIT is usable.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def _create_lock(path, workdir):
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        if not _lock_is_stale(path):
            return False
        os.unlink(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w") as f:
        json.dump({"pid": os.getpid(), "workdir": workdir}, f)
    return True


def _open_lock_dir():
    try:
        os.mkdir(LOCK_DIR, 0o1777)
        os.chmod(LOCK_DIR, 0o1777)
    except FileExistsError:
        pass
    return os.open(os.path.join(LOCK_DIR, ".allocate"),
                   os.O_RDWR | os.O_CREAT, 0o666)


def allocate_block(workdir, needed):
    """Take a free block for workdir; return (base_port, lock_path)."""
    if needed > BLOCK_SIZE:
        raise PortError(f"{needed} ports needed, a block has {BLOCK_SIZE}")
    bases = list(range(PORT_LOW, PORT_HIGH - BLOCK_SIZE + 1, BLOCK_SIZE))
    start = random.randrange(len(bases))
    bases = bases[start:] + bases[:start]
    fd = _open_lock_dir()
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        for base in bases:
            path = os.path.join(LOCK_DIR, str(base))
            if not _create_lock(path, workdir):
                continue
            if _ports_free(base):
                return base, path
            os.unlink(path)
    finally:
        os.close(fd)
    raise PortError(f"no free block of {BLOCK_SIZE} ports in "
                    f"{PORT_LOW}-{PORT_HIGH} on 127.0.0.1")


def release_block(lock_path, workdir):
    """Remove the lock if it is still ours."""
    try:
        with open(lock_path) as f:
            info = json.load(f)
        if info.get("workdir") == workdir:
            os.unlink(lock_path)
    except (OSError, ValueError):
        pass  # already gone, or not ours to judge
