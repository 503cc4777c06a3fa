"""onionbalanced on a private test network (see docs/testnet.md).

Used by tests/testnet/test_daemon.py and scripts/demo:

    ob = obdaemon.Onionbalanced(net, build_dir)
    ob.configure()        # frontend key + config.yaml (onionbalanced-config)
    ob.switch_backends()  # every backend becomes an instance of the frontend
    ob.start()            # the parent, children from the build directory
    ob.status()           # publishd's status document (dict)
    ob.children()         # {'keyd': pid, 'fetchd': pid, 'publishd': pid}
    ob.stop()

    ob2 = obdaemon.Onionbalanced(net, build_dir, name="ob2", mgmt="mgmt2")
    ob2.configure_like(ob)  # the same key file and config, its own socket

Everything lives in <workdir>/ob/ (<workdir>/<name>/).  The parent's pid is written to
<workdir>/ob/onionbalanced.pid, so the network's teardown (which stops
every <workdir>/*/*.pid whose command line names the workdir) stops it
too; its children follow their parent (PR_SET_PDEATHSIG, EOF on their
channel).  The parent itself gets PR_SET_PDEATHSIG(SIGTERM) for the
Python process, so that a test that is SIGKILLed leaves nothing behind.
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
import time

CHILDREN = ("keyd", "fetchd", "publishd")
PR_SET_PDEATHSIG = 1
# What onionbalanced-config writes for an address it was not given.
PLACEHOLDER = "<Enter the instance onion address here>"
SYS_PIDFD_GETFD = 438   # one number on all architectures (Linux >= 5.6)


class DaemonError(Exception):
    pass


def _die_with_parent():
    """preexec_fn: SIGTERM when the Python process (our parent) dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def parse_time(text):
    """A status-document time ("YYYY-MM-DD HH:MM:SS", UTC) as unix time,
    or None for null."""
    if text is None:
        return None
    return float(time.mktime(time.strptime(text + " UTC",
                                           "%Y-%m-%d %H:%M:%S %Z"))
                 - time.timezone)


def _proc_stat(pid):
    """(comm, state, ppid) of pid from /proc, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    rest = stat[stat.rindex(")") + 2:].split()
    return stat[stat.index("(") + 1:stat.rindex(")")], rest[0], int(rest[1])


def _gone(pid):
    """pid has exited (also: a zombie not reaped yet)."""
    stat = _proc_stat(pid)
    return stat is None or stat[1] in ("Z", "X")


def read_status(path, timeout=10):
    """The status document (docs/status-socket.md) from the status
    socket at path."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return json.loads(b"".join(chunks))


def _yaml_settings(indent, settings):
    return "".join(f"{indent}{key}: {json.dumps(value)}\n"
                   for key, value in (settings or {}).items())


def _add_settings(text, after, indent, settings):
    """Insert settings into the mapping whose line `after` is (the
    generated config.yaml's layout: onionbalanced-config's, fixed)."""
    if not settings:
        return text
    if text.count(after) != 1:
        raise DaemonError(f"config.yaml: no single line {after.strip()!r} "
                          f"to add {settings} after")
    return text.replace(after, after + _yaml_settings(indent, settings))


class Onionbalanced:
    """One onionbalanced (parent + keyd + fetchd + publishd) for one
    frontend whose instances are all the network's backends."""

    def __init__(self, net, build_dir, log_level="debug", name="ob",
                 mgmt="mgmt"):
        """name: its folder in the workdir; mgmt: the management tor it
        uses (Network(mgmt_nodes=2) has "mgmt" and "mgmt2")."""
        self.net = net
        self.build_dir = os.path.abspath(build_dir)
        self.log_level = log_level
        self.name = name
        self.mgmt = mgmt
        self.dir = os.path.join(net.workdir, name)
        self.config_path = os.path.join(self.dir, "config.yaml")
        self.status_path = os.path.join(self.dir, "status.sock")
        self.log_path = os.path.join(self.dir, "onionbalanced.log")
        self.pid_path = os.path.join(self.dir, "onionbalanced.pid")
        self.libexec = os.path.join(self.dir, "libexec")
        self.frontend = None        # '<56 chars>.onion'
        self.frontends = []         # every frontend, first = frontend
        self.started_at = None      # time.time() of the last start()
        self.proc = None

    # -- binaries -------------------------------------------------------

    def binary(self, name):
        """Path of one of our executables in the build directory."""
        sub = {"onionbalanced": "parent",
               "onionbalanced-config": "tools"}.get(name, name)
        path = os.path.join(self.build_dir, sub, name)
        if not os.access(path, os.X_OK):
            raise DaemonError(f"{path} is missing: build first "
                              f"(meson compile -C {self.build_dir})")
        return path

    def _link_children(self):
        """The parent runs the children from --libexecdir; in a build
        directory they live in three folders, so link them into one."""
        os.makedirs(self.libexec, exist_ok=True)
        for name in CHILDREN:
            link = os.path.join(self.libexec, name)
            if os.path.lexists(link):
                os.unlink(link)
            os.symlink(self.binary(name), link)

    # -- configuration ----------------------------------------------------

    def configure(self, top=None, service=None, instances=None,
                  services=1):
        """Make the frontend keys and config.yaml with onionbalanced-config:
        `services` frontends, each with one instance per backend onion
        service (named node1, node2, ... for be0, be1, ...; with several
        services per backend tor, net.service_names' order: be0, be0s1,
        be1, ...; several frontends share the backends), and the status socket in the ob folder.  Extra
        settings: top (a dict of top-level keys), service (keys set in
        every service), instances ({'node1': {key: value}, ...}, one
        service only); values are ints or strings.  self.frontend is the
        first frontend, self.frontends all of them in the config's order."""
        gen = os.path.join(self.dir, "gen")
        os.makedirs(self.dir, exist_ok=True)
        argv = [self.binary("onionbalanced-config"), "--no-interactive",
                "--output", gen, "-s", str(services),
                "-n", str(len(self.net.service_addresses))]
        # The tool refuses a backend in two services (the ob_config it
        # writes names one frontend); the test writes the backends' own
        # ob_config, so the other services' addresses are filled in below.
        for addr in self.net.service_addresses:
            argv += ["--instance-address", addr]
        done = subprocess.run(argv, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        if done.returncode != 0:
            raise DaemonError(f"onionbalanced-config failed:\n{done.stdout}")
        with open(os.path.join(gen, "config.yaml")) as f:
            text = f.read()
        for addr in self.net.service_addresses * (services - 1):
            text = text.replace(f"address: {PLACEHOLDER}",
                                f"address: {addr}", 1)
        keys = re.findall(r"^  key: (\S+\.key)$", text, re.MULTILINE)
        if len(keys) != services or sorted(keys) != sorted(
                f for f in os.listdir(gen) if f.endswith(".key")):
            raise DaemonError(f"onionbalanced-config wrote keys {keys} for "
                              f"{services} service(s) in {gen}")
        self.frontends = [k[:-len(".key")] + ".onion" for k in keys]
        self.frontend = self.frontends[0]
        self.key_paths = [os.path.join(gen, k) for k in keys]
        self.key_path = self.key_paths[0]
        for key in keys:
            # The generated key path is relative to the config's folder.
            text = text.replace(f"key: {key}", f"key: gen/{key}")
            text = _add_settings(text, f"  key: gen/{key}\n", "  ", service)
        if instances and services != 1:
            raise DaemonError("instance settings need a single service")
        for name, settings in (instances or {}).items():
            text = _add_settings(text, f"    name: {name}\n", "    ",
                                 settings)
        text += _yaml_settings("", top)
        text += f"status-socket-location: {self.status_path}\n"
        # As root the children drop to onionbalanced's own users, the
        # default ones, which scripts/setup makes from
        # packaging/sysusers.d/onionbalanced.conf as the package does; a
        # missing one stops the start with the command that makes it.
        with open(self.config_path, "w") as f:
            f.write(text)
        self._link_children()
        return self.frontend

    def configure_like(self, other):
        """A second management host of other's frontends: a copy of its
        key files and its config.yaml, with this instance's own status
        socket (and any other socket of other's folder) in this folder."""
        if not other.frontends:
            raise DaemonError(f"{other.name} is not configured yet")
        gen = os.path.join(self.dir, "gen")
        os.makedirs(gen, exist_ok=True)
        self.key_paths = []
        for path in other.key_paths:
            copy = os.path.join(gen, os.path.basename(path))
            shutil.copyfile(path, copy)
            os.chmod(copy, os.stat(path).st_mode & 0o777)
            self.key_paths.append(copy)
        self.key_path = self.key_paths[0]
        with open(other.config_path) as f:
            text = f.read()
        # Key paths are relative to the config's folder; the absolute
        # paths in it are other's sockets.
        text = text.replace(other.dir + os.sep, self.dir + os.sep)
        with open(self.config_path, "w") as f:
            f.write(text)
        self.frontends = list(other.frontends)
        self.frontend = other.frontend
        self._link_children()
        return self.frontend

    def switch_backends(self):
        """Every backend becomes an Onionbalance instance of every frontend
        (HiddenServiceOnionbalanceInstance, one MasterOnionAddress line
        each; restarts each backend tor)."""
        for i in range(len(self.net.backend_names)):
            self.net.set_backend_ob_mode(i, self.frontends)

    # -- process ----------------------------------------------------------

    def start(self, timeout=30, env=None):
        """Start the parent; return once the status socket answers.
        env: more environment variables (e.g. libfaketime's)."""
        argv = [self.binary("onionbalanced"), "-c", self.config_path,
                "-s", self.net.mgmt_socket_of(self.mgmt),
                "-i", "127.0.0.1",
                "-p", str(self.net.mgmt_port_of(self.mgmt)),
                "--libexecdir", self.libexec, "-v", self.log_level]
        if os.geteuid() == 0:
            # The empty directory the children chroot into.
            empty = os.path.join(self.dir, "empty")
            os.makedirs(empty, mode=0o555, exist_ok=True)
            argv += ["--chroot-dir", empty]
        log = open(self.log_path, "a")
        try:
            self.proc = subprocess.Popen(
                argv, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
                start_new_session=True,
                env=dict(os.environ, **env) if env else None)
        finally:
            log.close()
        self.started_at = time.time()
        with open(self.pid_path, "w") as f:
            f.write(f"{self.proc.pid}\n")
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise DaemonError(f"onionbalanced exited with status "
                                  f"{self.proc.returncode}:\n"
                                  f"{self.log_tail(20)}")
            try:
                self.status()
                return
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise DaemonError(f"no status socket after {timeout} s:\n"
                                  f"{self.log_tail(20)}")
            time.sleep(0.2)

    def stop(self, timeout=10):
        """SIGTERM the parent (it stops its children) and wait."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
        finally:
            try:
                os.unlink(self.pid_path)
            except FileNotFoundError:
                pass

    def kill_all(self, timeout=10):
        """SIGKILL the parent and its three children, each by its pid (a
        management host that dies at once); return the pids killed once
        none of them is left."""
        if not self.alive():
            raise DaemonError(f"{self.name}: not running")
        pids = dict(self.wait_children(), parent=self.proc.pid)
        for pid in pids.values():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(timeout)
        deadline = time.monotonic() + timeout
        while not all(_gone(pid) for pid in pids.values()):
            if time.monotonic() > deadline:
                raise DaemonError(f"{self.name}: still running after "
                                  f"SIGKILL: {pids}")
            time.sleep(0.1)
        try:
            os.unlink(self.pid_path)
        except FileNotFoundError:
            pass
        return pids

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def children(self):
        """{'keyd': pid, ...} of the parent's live children, from /proc."""
        found = {}
        if not self.alive():
            return found
        for entry in os.listdir("/proc"):
            stat = _proc_stat(entry) if entry.isdigit() else None
            if stat is None:
                continue
            comm, _, ppid = stat
            if ppid == self.proc.pid and comm in CHILDREN:
                found[comm] = int(entry)
        return found

    def wait_children(self, timeout=30, changed_from=None):
        """Wait until all three children run (and, with changed_from, the
        ones named there have a new pid); return their pids."""
        deadline = time.monotonic() + timeout
        while True:
            kids = self.children()
            fresh = all(kids.get(name) != pid
                        for name, pid in (changed_from or {}).items())
            if len(kids) == len(CHILDREN) and fresh:
                return kids
            if not self.alive():
                raise DaemonError(f"onionbalanced exited:\n"
                                  f"{self.log_tail(20)}")
            if time.monotonic() > deadline:
                raise DaemonError(f"children after {timeout} s: {kids}\n"
                                  f"{self.log_tail(20)}")
            time.sleep(0.2)

    # -- a compromised publishd --------------------------------------------

    def publishd_keyd_fd(self):
        """publishd's end of its request channel to keyd: the fd number in
        publishd whose socket's peer is one of keyd's sockets (ss -xp)."""
        kids = self.wait_children()
        done = subprocess.run(["ss", "-x", "-a", "-p", "-n", "-H"],
                              stdout=subprocess.PIPE, text=True, check=True)
        owners = {}      # socket inode -> [(pid, fd)]
        peers = {}       # socket inode -> peer inode
        for line in done.stdout.splitlines():
            f = line.split()
            if len(f) < 8 or not f[5].isdigit() or not f[7].isdigit():
                continue
            peers[f[5]] = f[7]
            owners[f[5]] = [(int(pid), int(fd)) for pid, fd in
                            re.findall(r"pid=(\d+),fd=(\d+)", line)]
        found = [fd for inode, users in owners.items()
                 for pid, fd in users
                 if pid == kids["publishd"] and
                 any(p == kids["keyd"] for p, _ in owners.get(
                     peers[inode], []))]
        if len(found) != 1:
            raise DaemonError(f"publishd (pid {kids['publishd']}) has "
                              f"{len(found)} sockets to keyd "
                              f"(pid {kids['keyd']}): {found}")
        return kids, found[0]

    def send_as_publishd(self, payload):
        """Send payload to keyd on publishd's own request channel, as a
        compromised publishd would: the channel's fd is copied out of
        publishd with pidfd_getfd(2) (needs root: publishd is not
        dumpable).  Returns the children's pids before the send."""
        kids, fd = self.publishd_keyd_fd()
        libc = ctypes.CDLL(None, use_errno=True)
        pidfd = os.pidfd_open(kids["publishd"])
        try:
            copy = libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
            if copy < 0:
                err = ctypes.get_errno()
                raise DaemonError(f"pidfd_getfd(publishd fd {fd}): "
                                  f"{os.strerror(err)}")
        finally:
            os.close(pidfd)
        with socket.socket(fileno=copy) as s:
            s.send(payload)
        return kids

    # -- status -------------------------------------------------------------

    def status(self, timeout=10):
        """publishd's status document (docs/status-socket.md)."""
        return read_status(self.status_path, timeout)

    def service_status(self, frontend=None):
        """(document, the service of frontend, default the first)."""
        frontend = frontend or self.frontend
        doc = self.status()
        for sv in doc["services"]:
            if sv["onionAddress"] == frontend:
                return doc, sv
        raise DaemonError(f"{frontend} not in the status document")

    def status_text(self):
        """`onionbalanced status`, as an operator sees it."""
        done = subprocess.run([self.binary("onionbalanced"), "status",
                               "-s", self.status_path],
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        return done.returncode, done.stdout

    # -- logs ---------------------------------------------------------------

    def log_lines(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read().splitlines()
        except OSError:
            return []

    def log_tail(self, n):
        return "\n".join("  " + line for line in self.log_lines()[-n:])

    def log_count(self, text):
        return sum(1 for line in self.log_lines() if text in line)
