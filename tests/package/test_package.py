#!/usr/bin/python3
"""The Debian package, built, installed and run on this machine (meson
suite 'package'; docs/packaging.md).

  1. builds the .deb with packaging/build-deb (lintian must pass), or
     takes $OB_PACKAGE_DEB;
  2. installs it with dpkg -i; `systemd-analyze verify` accepts the
     installed unit, and its `systemd-analyze security --offline`
     exposure is no worse than the one docs/packaging.md states;
  3. checks the files, their modes, the three system users (postinst
     makes them from /usr/lib/sysusers.d/onionbalanced.conf: ours that
     exist before, e.g. made by scripts/setup, are removed first and made
     again at the end if the test fails before postinst),
     /etc/onionbalanced, and the link for Onionspray
     (/usr/lib/onionbalanced/onionspray/onionbalance -> the parent;
     docs/onionspray.md);
  4. starts a private Tor network (tests/testnet), writes the
     configuration with the installed onionbalanced-config into
     /etc/onionbalanced, makes the backends instances of the frontend,
     runs `onionbalanced --check` and starts the installed /usr/sbin/onionbalanced as root with the
     credentials the systemd unit gives it (bounding set, supplementary
     groups, no_new_privs; setpriv stands in for systemd, which does not
     run in this container);
  5. checks that keyd, fetchd and publishd each run as their own user,
     chrooted, without capabilities or supplementary groups, under
     seccomp (in a build without the sandbox, which says so in the
     output: that they run as root), that `onionbalanced status`
     answers, and that a client reaches the frontend and is answered by
     a backend;
  6. stops it (SIGTERM, exit 0), purges the package and checks what is
     left: the operator's keys and the users stay (docs/packaging.md
     says why), the package's files, its unit links and runtime directory
     go, and no process of it runs.

The machine is left as the test found it, also on failure: the package
purged, the users and /etc/onionbalanced removed if the test made them
(users it found are there again, made from the same file; their uids may
differ, and none of them owns a file),
the daemon and the network stopped.  The test refuses (skip) to run where
onionbalanced is installed already or /etc/onionbalanced exists: it would
change an installation that is not its own.

Needs root (it installs a package and starts the daemon as root): run as
another user it skips.  Exit status: 0 pass, 1 fail, 77 skip.
"""

import glob
import grp
import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
SYSUSERS = "/usr/lib/sysusers.d/onionbalanced.conf"
SOURCE_SYSUSERS = os.path.join(TOP, "packaging", "sysusers.d",
                               "onionbalanced.conf")
sys.path.insert(0, os.path.join(TOP, "tests", "testnet"))

import testnet  # noqa: E402

PACKAGE = "onionbalanced"
CONFIG_DIR = "/etc/onionbalanced"
CONFIG = CONFIG_DIR + "/config.yaml"
RUN_DIR = "/run/onionbalanced"
CHROOT_DIR = RUN_DIR + "/empty"
STATUS_SOCKET = RUN_DIR + "/status.sock"
UNIT = "/lib/systemd/system/onionbalanced.service"
LIBEXEC = "/usr/libexec/onionbalanced"
ONIONSPRAY_DIR = "/usr/lib/onionbalanced/onionspray"
USERS = {
    "keyd": "onionbalanced-keyd",
    "fetchd": "onionbalanced-fetchd",
    "publishd": "onionbalanced-publishd",
}
# Capability numbers (linux/capability.h) of the ones the unit may name.
CAP_NUMBERS = {"chown": 0, "dac_override": 1, "dac_read_search": 2,
               "fowner": 3, "kill": 5, "setgid": 6, "setuid": 7,
               "setpcap": 8, "sys_chroot": 18}
# docs/packaging.md states the score; a change that makes it worse must
# change the doc too.
MAX_EXPOSURE = 2.2
BACKENDS = 2
START_TIMEOUT = 60
FRONTEND_TIMEOUT = 300


class TestFailure(Exception):
    pass


class Skip(Exception):
    pass


def check(cond, message):
    if not cond:
        raise TestFailure(message)
    print(f"ok: {message}", flush=True)


def run(args, **kw):
    """Runs a command; its output is returned, and shown on failure."""
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, **kw)
    if r.returncode != 0:
        raise TestFailure(f"{' '.join(args)} exited {r.returncode}:\n"
                          f"{r.stdout}")
    return r.stdout


def package_installed():
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", PACKAGE],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       text=True)
    return r.returncode == 0 and "not-installed" not in r.stdout \
        and r.stdout.strip() != ""


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


# -- 1, 2: build, lintian, the unit's exposure ---------------------------


def build_package(outdir):
    deb = os.environ.get("OB_PACKAGE_DEB")
    if deb:
        check(os.path.isfile(deb), f"using the package {deb}")
        return deb
    t0 = time.monotonic()
    out = run([os.path.join(TOP, "packaging", "build-deb"), "--lintian",
               outdir])
    debs = [line for line in out.splitlines() if line.endswith(".deb")]
    check(len(debs) == 1 and os.path.isfile(debs[0]),
          f"packaging/build-deb built {debs[0] if debs else 'nothing'} "
          f"in {time.monotonic() - t0:.0f} s, lintian clean")
    return debs[0]


def check_unit():
    out = run(["systemd-analyze", "verify", UNIT])
    check(out.strip() == "", f"systemd-analyze verify {UNIT}: no complaint")
    out = run(["systemd-analyze", "security", "--offline=yes", UNIT])
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", out)
    check(m is not None, "systemd-analyze security rates the unit")
    check(float(m.group(1)) <= MAX_EXPOSURE,
          f"the unit's exposure {m.group(1)} is at most {MAX_EXPOSURE} "
          f"(docs/packaging.md)")


# -- 3: what the package installs ---------------------------------------


def check_mode(path, mode, owner="root", group="root", kind=stat.S_IFREG):
    st = os.lstat(path)
    got = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode),
           pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name)
    check(got == (kind, mode, owner, group),
          f"{path}: {oct(mode)} {owner}:{group} (got {oct(got[1])} "
          f"{got[2]}:{got[3]})")


def check_files():
    for path in ["/usr/sbin/onionbalanced", "/usr/bin/onionbalanced-config",
                 LIBEXEC + "/keyd", LIBEXEC + "/fetchd",
                 LIBEXEC + "/publishd"]:
        check_mode(path, 0o755)
    for path in [UNIT, SYSUSERS, "/usr/share/man/man8/onionbalanced.8.gz",
                 "/usr/share/man/man1/onionbalanced-config.1.gz",
                 "/usr/share/doc/onionbalanced/examples/config.yaml",
                 "/usr/share/doc/onionbalanced/copyright"]:
        check_mode(path, 0o644)
    check_mode(CONFIG_DIR, 0o750, group=USERS["keyd"], kind=stat.S_IFDIR)
    check(os.listdir(CONFIG_DIR) == [],
          f"{CONFIG_DIR} is empty: no conffile, the example is in "
          f"/usr/share/doc/onionbalanced/examples")
    version = run(["/usr/sbin/onionbalanced", "--version"]).strip()
    check(version.startswith("onionbalanced "), f"--version: {version}")
    # Onionspray's `onionbalance` (docs/onionspray.md): a link, and only
    # in our own directory, never on the PATH.
    link = ONIONSPRAY_DIR + "/onionbalance"
    check(os.path.islink(link) and os.path.realpath(link) ==
          "/usr/sbin/onionbalanced", f"{link} -> /usr/sbin/onionbalanced")
    check(run([link, "--version"]).strip() == version,
          f"{link} --version: {version}")


def check_users():
    tor_group = grp.getgrnam("debian-tor")
    uids = set()
    for role, name in USERS.items():
        pw = pwd.getpwnam(name)
        group = grp.getgrgid(pw.pw_gid)
        check(0 < pw.pw_uid < 1000 and group.gr_name == name
              and pw.pw_dir == "/nonexistent"
              and pw.pw_shell == "/usr/sbin/nologin",
              f"{role}'s user {name}: system uid {pw.pw_uid}, own group, "
              f"no home, no shell")
        check(name not in tor_group.gr_mem,
              f"{name} is not in debian-tor (only the parent talks to tor)")
        uids.add(pw.pw_uid)
    check(len(uids) == 3, "three different uids")


# -- 4: configure and start -----------------------------------------------


def write_config(net):
    """The installed onionbalanced-config writes /etc/onionbalanced; the
    test adds the settings that point at its private network."""
    args = ["/usr/bin/onionbalanced-config", "--no-interactive",
            "-n", str(BACKENDS), "--output", CONFIG_DIR]
    for addr in net.backend_addresses:
        args += ["--instance-address", addr]
    run(args, cwd="/")
    keys = glob.glob(CONFIG_DIR + "/*.key")
    check(len(keys) == 1, f"onionbalanced-config wrote one master key: "
          f"{keys}")
    check_mode(keys[0], 0o600)
    frontend = os.path.basename(keys[0])[:-len(".key")]
    with open(CONFIG, "a") as f:
        f.write(f"\n# Added by tests/package/test_package.py\n"
                f"status-socket-location: {STATUS_SOCKET}\n"
                f"tor-control-socket: {net.mgmt_control_socket}\n"
                f"log-level: info\n")
    return keys[0], frontend


def check_key_unreadable_by_users(key):
    for name in USERS.values():
        r = subprocess.run(["setpriv", "--reuid", name, "--regid", name,
                            "--clear-groups", "--inh-caps=-all",
                            "--bounding-set=-all", "cat", key],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        check(r.returncode != 0, f"{name} cannot read the master key")


def unit_settings():
    """The installed unit's [Service] settings: {key: [values]}."""
    settings = {}
    with open(UNIT) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", "[")):
                key, _, value = line.partition("=")
                settings.setdefault(key, []).append(value)
    return settings


def unit_credentials():
    """What systemd would give ExecStart: (capability names, group names);
    checks the settings the emulation relies on."""
    unit = unit_settings()
    check(unit.get("User") is None and unit["NoNewPrivileges"] == ["yes"],
          "the unit runs the parent as root, with no_new_privs")
    check(unit["ExecStart"] == ["/usr/sbin/onionbalanced -c " + CONFIG],
          f"the unit's ExecStart is /usr/sbin/onionbalanced -c {CONFIG}")
    caps = [c.lower()[len("cap_"):]
            for c in unit["CapabilityBoundingSet"][-1].split()]
    check(all(c in CAP_NUMBERS for c in caps),
          f"the unit's bounding set: {' '.join(caps)}")
    return caps, unit["SupplementaryGroups"][-1].split()


def as_unit(args, caps, groups):
    """args run with the unit's credentials: its capability bounding set,
    supplementary groups and no_new_privs.  setpriv stands in for systemd;
    for a process exec'd as root the bounding set is what it gets."""
    gids = ",".join(str(grp.getgrnam(g).gr_gid) for g in groups)
    return ["setpriv",
            "--bounding-set=-all," + ",".join("+" + c for c in caps),
            "--inh-caps=-all", "--groups", gids, "--no-new-privs"] + args


def check_setup(creds):
    out = run(as_unit(["/usr/sbin/onionbalanced", "--check", "-c", CONFIG],
                      *creds))
    check(out.rstrip().endswith("onionbalanced --check: OK"),
          "onionbalanced --check passes with the unit's credentials")


def start_daemon(logfile, creds):
    """As the unit's ExecStart, with the unit's credentials."""
    return subprocess.Popen(
        as_unit(["/usr/sbin/onionbalanced", "-c", CONFIG], *creds),
        stdout=logfile, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        cwd="/")


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    return fields


def children_of(pid):
    """{role: pid} of the parent's children, by the binary they run."""
    found = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if proc_status(d).get("PPid") != [str(pid)]:
                continue
            exe = os.readlink(f"/proc/{d}/exe")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        role = os.path.basename(exe)
        if os.path.dirname(exe) == LIBEXEC and role in USERS:
            found[role] = int(d)
    return found


def wait_children(daemon, logpath):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise TestFailure(f"onionbalanced exited {daemon.returncode}:\n"
                              f"{tail(logpath)}")
        kids = children_of(daemon.pid)
        if len(kids) == 3 and os.path.exists(STATUS_SOCKET):
            return kids
        time.sleep(0.5)
    raise TestFailure(f"keyd, fetchd and publishd not all running after "
                      f"{START_TIMEOUT} s:\n{tail(logpath)}")


def tail(path, n=40):
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-n:])


# -- 5: the processes and the frontend ------------------------------------


def sandbox_built():
    """Whether the installed children have the privilege drop: each reads
    its user from $OB_SANDBOX (sandbox/sandbox.h), so the name is in the
    binary exactly when the code is."""
    with open(LIBEXEC + "/keyd", "rb") as f:
        return b"OB_SANDBOX" in f.read()


def check_child(role, pid):
    pw = pwd.getpwnam(USERS[role])
    st = proc_status(pid)
    uid, gid = str(pw.pw_uid), str(pw.pw_gid)
    check(st["Uid"] == [uid] * 4 and st["Gid"] == [gid] * 4,
          f"{role} (pid {pid}) runs as {USERS[role]}: real, effective, "
          f"saved and fs uid {uid}, gid {gid}")
    check(st.get("Groups", []) in ([], [gid]),
          f"{role} has no supplementary group but its own: "
          f"{st.get('Groups', [])}")
    check(all(int(st[c][0], 16) == 0 for c in
              ("CapInh", "CapPrm", "CapEff", "CapAmb")),
          f"{role} has no capability")
    check(st["NoNewPrivs"] == ["1"] and st["Seccomp"] == ["2"],
          f"{role} has no_new_privs and a seccomp filter")
    check(os.readlink(f"/proc/{pid}/root") == CHROOT_DIR,
          f"{role} is chrooted in {CHROOT_DIR}")


def check_child_unsandboxed(role, pid):
    """A build without the sandbox (before sandbox/sandbox.c landed): the
    children run as the parent's user.  Said loudly, never passed over:
    once the sandbox is built, check_child() applies."""
    st = proc_status(pid)
    check(st["Uid"] == ["0"] * 4,
          f"NOT SANDBOXED: this build has no privilege drop, so {role} "
          f"(pid {pid}) runs as root like the parent")


def check_parent(pid, caps):
    st = proc_status(pid)
    check(st["Uid"] == ["0"] * 4, "the parent runs as root")
    allowed = sum(1 << CAP_NUMBERS[c] for c in caps)
    bnd = int(st["CapBnd"][0], 16)
    check(bnd & ~allowed == 0,
          f"the parent's bounding set {st['CapBnd'][0]} is within the "
          f"unit's CapabilityBoundingSet")


def check_status_command():
    out = run(["/usr/sbin/onionbalanced", "status", "-c", CONFIG, "--json"])
    try:
        doc = json.loads(out)
    except ValueError as e:
        raise TestFailure(f"onionbalanced status --json: {e}:\n{out}")
    check(isinstance(doc, dict),
          "onionbalanced status answers on the status socket (JSON)")


def check_frontend(net, frontend):
    url = f"http://{frontend}.onion/"
    deadline = time.monotonic() + FRONTEND_TIMEOUT
    t0 = time.monotonic()
    last = None
    while time.monotonic() < deadline:
        try:
            r = net.fetch(url, timeout=60)
            if r.status == 200 and r.backend in net.backend_names:
                print(f"ok: {frontend}.onion answered by {r.backend} "
                      f"after {time.monotonic() - t0:.0f} s", flush=True)
                return
            last = f"HTTP {r.status}, body {r.body!r}"
        except Exception as e:  # FetchError, timeouts: tried again
            last = str(e)
        time.sleep(3)
    raise TestFailure(f"the frontend {url} was not reachable within "
                      f"{FRONTEND_TIMEOUT} s (last: {last})")


# -- 6: stop, purge, what is left -----------------------------------------


def stop_daemon(daemon, kids):
    daemon.send_signal(signal.SIGTERM)
    try:
        code = daemon.wait(timeout=30)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()
        raise TestFailure("onionbalanced did not exit within 30 s of "
                          "SIGTERM")
    check(code == 0, f"onionbalanced exited {code} on SIGTERM")
    left = [pid for pid in kids.values() if os.path.exists(f"/proc/{pid}")]
    check(not left, "no child is left running")


def our_processes():
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            exe = os.readlink(f"/proc/{d}/exe")
        except OSError:
            continue
        if exe == "/usr/sbin/onionbalanced" or exe.startswith(LIBEXEC + "/"):
            found.append((int(d), exe))
    return found


def check_purge(files, key):
    run(["dpkg", "--purge", PACKAGE])
    check(not package_installed(), "dpkg --purge onionbalanced")
    left = [f for f in files if os.path.isfile(f) or os.path.islink(f)]
    check(not left, f"none of the package's {len(files)} files is left "
          f"({left[:5]})")
    links = glob.glob("/etc/systemd/system/*/onionbalanced.service") + \
        glob.glob("/var/lib/systemd/deb-systemd-helper-enabled/"
                  "**/onionbalanced.service*", recursive=True)
    check(not links, f"no enablement of the unit is left ({links})")
    check(not os.path.exists(RUN_DIR), f"{RUN_DIR} is gone")
    check(os.path.isfile(key),
          f"the operator's master key {key} is kept (a purge never deletes "
          f"what the package did not create)")
    check(all(user_exists(u) for u in USERS.values()),
          "the system users are kept, as Debian recommends")
    check(not our_processes(), "no onionbalanced process runs")


def package_files():
    out = run(["dpkg-query", "-L", PACKAGE])
    return [f for f in out.splitlines() if os.path.isfile(f)]


# -- the whole run, and leaving the machine as it was -----------------------


class Machine:
    """What the test changes on the machine, undone in restore()."""

    def __init__(self):
        self.users_before = {u for u in USERS.values() if user_exists(u)}
        self.daemon = None
        self.made_config_dir = False

    def remove_users(self):
        """Our users, so that postinst has to make them: userdel also
        removes the group of the same name (USERGROUPS_ENAB)."""
        for u in sorted(self.users_before):
            run(["userdel", u])
        left = [u for u in USERS.values() if user_exists(u)]
        if left:
            raise TestFailure(f"userdel left {left}")
        check(True, f"our users removed before dpkg -i "
              f"({sorted(self.users_before) or 'none existed'}): postinst "
              f"must make them")

    def restore(self):
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.kill()
            self.daemon.wait()
        for pid, exe in our_processes():
            print(f"cleanup: killing leftover {exe} (pid {pid})")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if package_installed():
            subprocess.run(["dpkg", "--purge", PACKAGE],
                           stdout=subprocess.DEVNULL)
        if self.made_config_dir and os.path.exists(CONFIG_DIR):
            shutil.rmtree(CONFIG_DIR)
        if any(not user_exists(u) for u in self.users_before):
            subprocess.run(["systemd-sysusers", SOURCE_SYSUSERS],
                           stdout=subprocess.DEVNULL)
        for u in USERS.values():
            if u not in self.users_before and user_exists(u):
                subprocess.run(["deluser", "--system", "--quiet", u],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        # A daemon killed above leaves its status socket behind.
        if os.path.isdir(RUN_DIR):
            shutil.rmtree(RUN_DIR)


def preconditions():
    if os.geteuid() != 0:
        raise Skip("needs root: it installs the package and runs the "
                   "daemon as root (run the suite as root, as CI does)")
    if package_installed():
        raise Skip("onionbalanced is installed on this machine already; "
                   "the test does not touch an installation of its own")
    if os.path.exists(CONFIG_DIR):
        raise Skip(f"{CONFIG_DIR} exists; the test does not touch a "
                   f"configuration that is not its own")
    # An empty chroot directory left by an earlier run (the parent makes
    # it and leaves it; the purge removes it) is fine; anything else there
    # is another onionbalanced's.
    if os.path.exists(RUN_DIR) and (os.listdir(RUN_DIR) != ["empty"]
                                    or os.listdir(CHROOT_DIR) != []):
        raise TestFailure(f"{RUN_DIR} holds {os.listdir(RUN_DIR)}: an "
                          f"onionbalanced runs here or left it behind; the "
                          f"test would take it over (stop that one, or "
                          f"remove {RUN_DIR})")
    for tool in ("dpkg-buildpackage", "dh", "lintian", "systemd-analyze",
                 "setpriv", "tor"):
        if shutil.which(tool) is None and not os.path.exists(
                "/usr/sbin/" + tool):
            raise TestFailure(f"{tool} is missing: run scripts/setup")


def main():
    outdir = os.environ.get("OB_PACKAGE_OUT",
                            os.path.join(TOP, "build-deb"))
    preconditions()
    machine = Machine()
    try:
        deb = build_package(outdir)
        machine.made_config_dir = True    # postinst makes it
        machine.remove_users()
        run(["dpkg", "-i", deb])
        check(package_installed(), f"dpkg -i {os.path.basename(deb)}")
        check_unit()
        check_files()
        check_users()
        files = package_files()
        run_daemon(machine, files)
    finally:
        machine.restore()
    check(not package_installed() and not os.path.exists(CONFIG_DIR)
          and not our_processes(), "the machine is as the test found it")


def run_daemon(machine, files):
    with testnet.Network(backends=BACKENDS) as net:
        net.create()
        net.start()
        net.wait_ready()
        key, frontend = write_config(net)
        check_key_unreadable_by_users(key)
        for i in range(BACKENDS):
            net.set_backend_ob_mode(i, frontend)
        # What RuntimeDirectory= makes; its removal after a run without
        # systemd is postrm's (checked after the purge).
        os.makedirs(RUN_DIR, mode=0o755, exist_ok=True)
        creds = unit_credentials()
        check_setup(creds)
        logpath = os.path.join(net.workdir, "onionbalanced.log")
        with open(logpath, "w") as log:
            machine.daemon = start_daemon(log, creds)
        kids = wait_children(machine.daemon, logpath)
        check(sorted(kids) == sorted(USERS),
              f"onionbalanced started keyd, fetchd, publishd: {kids}")
        check_parent(machine.daemon.pid, creds[0])
        sandboxed = sandbox_built()
        for role, pid in sorted(kids.items()):
            if sandboxed:
                check_child(role, pid)
            else:
                check_child_unsandboxed(role, pid)
        check_status_command()
        check_frontend(net, frontend)
        stop_daemon(machine.daemon, kids)
        print(tail(logpath, 15), end="")
    check_purge(files, key)


if __name__ == "__main__":
    try:
        main()
    except Skip as e:
        print(f"SKIP: {e}")
        sys.exit(77)
    except TestFailure as e:
        print(f"FAIL: {e}")
        sys.exit(1)
    print("PASS")
