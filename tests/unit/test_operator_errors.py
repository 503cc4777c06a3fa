#!/usr/bin/python3
"""What an operator sees: the real onionbalanced binary, each error an
operator can cause, at a start and under --check.

Every message is checked whole, as one line that says what is wrong and
where: a missing key file, a key file we may not read (its owner and
mode, and the user we run as), a file that is no key, a bad onion
address with its reason, the frontend listed as its own instance, one
key under two file names, an instance listed twice, an unknown key (a
warning with line:column, and onionbalanced still starts), tor
unreachable (the socket and the port tried), a wrong password, a cookie
we may not read (the group to join).

Then Onionbalance compatibility: the file Onionbalance's generator writes
(with real addresses filled in) and the example of Onionbalance's
status-socket documentation, found and steered only through Onionbalance's
environment variables, each of which must change what the binary does.
Then Onionspray's (docs/onionspray.md): ob-gather's config.yaml with
the key in tor's format, started as ob-start starts `onionbalance` (a
link to the binary), as root and as an ordinary user, SIGHUP and
ob-stop's SIGTERM; EOTK's v2 key name answered with the v3 one.
Last, --help and the man pages list the same flags, and each is accepted.

It reuses the fake tor and the work-directory setup of
test_parent_exec.py.  Environment (set by meson): OB_PARENT, OB_KEYD,
OB_STANDIN, OB_TEST_DATA (as there), OB_CONFIG_GEN (onionbalanced-config),
OB_MAN_DIR (docs/man).
"""

import base64
import grp
import hashlib
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_parent_exec as pe  # noqa: E402

CONFIG_GEN = os.environ["OB_CONFIG_GEN"]
MAN_DIR = os.environ["OB_MAN_DIR"]
FRONTEND = pe.onion_address(pe.KEY_PUB)
A0, A1, A2 = pe.INSTANCES
ENV_VARS = ("ONIONBALANCE_CONFIG", "ONIONBALANCE_LOG_LEVEL",
            "ONIONBALANCE_STATUS_SOCKET_LOCATION",
            "ONIONBALANCE_TOR_CONTROL_SOCKET")
# Where the test suite's own parent process must not leak settings in.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
NOBODY = 65534


# -- helpers ---------------------------------------------------------------


def write_config(s, addresses, extra=()):
    """Like Setup.write_config, with any list of instance addresses.
    Line 2 is the key (column 8); instance i's address is on line 4 + 2i,
    column 14; then status socket, control socket, control port, extra,
    and the children's users.  Returns the line number of the last extra
    line."""
    lines = ["services:", f"- key: {s.key}", "  instances:"]
    for i, a in enumerate(addresses):
        lines += [f"  - address: {a}", f"    name: be{i}"]
    lines += [f"status-socket-location: {s.status}",
              f"tor-control-socket: {s.tor.path}",
              "tor-control-port: 1", *extra]
    last_extra = len(lines)
    # As root each child runs as its own user: numeric ones, last.
    lines += pe.SANDBOX_USERS
    with open(s.config, "w") as f:
        f.write("\n".join(lines) + "\n")
    return last_extra


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on (just closed)."""
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        return sk.getsockname()[1]


def as_nobody():
    """preexec_fn: file modes do not stop root, so root tests as nobody."""
    if os.getuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)


def our_user():
    """The user the binary runs as under as_nobody()."""
    return pwd.getpwuid(NOBODY if os.getuid() == 0 else os.geteuid()).pw_name


def check(s, *args, env=None, preexec=None, cwd=None, config=True):
    argv = (["-c", s.config] if config else []) + \
        ["--libexecdir", s.libexec, *pe.SANDBOX_ARGS, "--check", *args]
    return subprocess.run([pe.PARENT, *argv], capture_output=True,
                          text=True, timeout=pe.TIMEOUT,
                          env=CLEAN_ENV if env is None else env,
                          preexec_fn=preexec, cwd=cwd)


def start_and_fail(s, *args, preexec=None):
    """A start that must end at once with exit 1; its stderr."""
    r = subprocess.run([pe.PARENT, "-c", s.config, "--libexecdir",
                        s.libexec, "--restart-backoff-ms", "50",
                        *pe.SANDBOX_ARGS, *args],
                       capture_output=True, text=True, timeout=pe.TIMEOUT,
                       env=dict(CLEAN_ENV, OB_STANDIN_DIR=s.dir),
                       preexec_fn=preexec)
    assert r.returncode == 1, r
    assert r.stdout == "", r
    # Nothing was started, nothing is left behind.
    assert not os.path.exists(s.status), r
    assert not os.path.exists(os.path.join(s.dir, "fetchd.state")), r
    return r.stderr


def only_failure(r, message):
    """--check printed exactly this one FAIL line, and exit 1."""
    fails = [ln for ln in r.stdout.splitlines() if ln.startswith("FAIL")]
    assert fails == ["FAIL     " + message], (message, r.stdout, r.stderr)
    assert r.returncode == 1, r
    assert re.search(r"\nonionbalanced --check: 1 problem(\(s\))?\n\Z",
                     r.stdout), r.stdout


def logged_warning(stderr, message):
    want = "onionbalanced: [warning] " + message
    assert want in stderr.splitlines(), (want, stderr)


def logged_error(stderr, message):
    want = "onionbalanced: [error] " + message
    assert want in stderr.splitlines(), (want, stderr)


def both(s, message, *args, preexec=None):
    """The same one-line message from --check and from a start, where
    it is an error (what made the start give up)."""
    only_failure(check(s, *args, preexec=preexec), message)
    logged_error(start_and_fail(s, *args, preexec=preexec), message)


def with_setup(fn):
    """Runs fn(s) on a fresh Setup; keeps the directory if it fails."""
    def run():
        s = pe.Setup()
        ok = False
        try:
            fn(s)
            ok = True
        finally:
            s.close(ok)
    run.__name__ = fn.__name__
    return run


class PasswordTor(pe.FakeTor):
    """tor with HashedControlPassword only: right password or 515, with
    tor's own reply (control_auth.c, for a quoted password)."""

    def __init__(self, workdir, password):
        self.password = password
        super().__init__(workdir, "password")

    def _answer(self, line, state):
        if not line.startswith("AUTHENTICATE"):
            return super()._answer(line, state)
        if line == "AUTHENTICATE " + self.password_quoted():
            state["auth"] = True
            with self.lock:
                self.authenticated += 1
            return "250 OK\r\n"
        return ("515 Authentication failed: Password did not match "
                "HashedControlPassword value from configuration\r\n")

    def password_quoted(self):
        return '"' + self.password.replace("\\", "\\\\").replace(
            '"', '\\"') + '"'


# -- key files -------------------------------------------------------------


@with_setup
def test_missing_key_file(s):
    os.unlink(s.key)
    both(s, f"services[0].key: cannot open {s.key}: No such file or "
         "directory")


@with_setup
def test_unreadable_key_names_owner_mode_and_user(s):
    """As root the key is root's 0600 and the binary runs as nobody;
    as another user, the key is the user's own with mode 0."""
    if os.getuid() != 0:
        os.chmod(s.key, 0)
    os.chmod(s.config, 0o644)
    os.chmod(s.tor.cookie_path, 0o644)
    # nobody may create the status socket, so the start gets to the key.
    os.chmod(s.dir, 0o1777)
    st = os.stat(s.key)
    owner = pwd.getpwuid(st.st_uid).pw_name
    group = grp.getgrgid(st.st_gid).gr_name
    mode = stat.S_IMODE(st.st_mode)
    both(s, f"services[0].key: cannot open {s.key}: Permission denied "
         f"(owner {owner}, group {group}, mode {mode:04o}; onionbalanced "
         f"runs as {our_user()})", preexec=as_nobody)

    # A directory on the way that we may not search: no owner to name.
    closed = os.path.join(s.dir, "closed")
    os.mkdir(closed, 0o700 if os.getuid() == 0 else 0)
    s.key = os.path.join(closed, "frontend.key")
    write_config(s, [A0, A1])
    only_failure(check(s, preexec=as_nobody),
                 f"services[0].key: cannot open {s.key}: Permission denied "
                 f"(a directory on the way is closed to {our_user()}, the "
                 "user onionbalanced runs as)")
    os.chmod(closed, 0o700)


@with_setup
def test_key_that_is_not_a_file(s):
    os.unlink(s.key)
    os.mkdir(s.key)
    both(s, f"services[0].key: {s.key} is not a regular file")
    os.rmdir(s.key)
    os.mkfifo(s.key)       # must not hang the start
    both(s, f"services[0].key: {s.key} is not a regular file")


@with_setup
def test_wrong_key_format(s):
    with open(s.key, "w") as f:
        f.write("not a key\n")
    both(s, f"services[0].key: {s.key}: neither a PEM key nor a tor "
         "hs_ed25519_secret_key file")
    shutil.copy(os.path.join(pe.DATA, "keys",
                             "openssl-ed25519-encrypted.pem"), s.key)
    both(s, f"services[0].key: {s.key}: PEM key is encrypted; decrypt it "
         "first")
    with open(s.key, "wb") as f:
        f.write(b"== ed25519v1-public: type0 ==\0\0\0" + bytes(64))
    both(s, f"services[0].key: {s.key}: not a tor ed25519v1-secret key "
         "file (wrong header)")


# -- instances -------------------------------------------------------------


@with_setup
def test_bad_onion_address_with_its_reason(s):
    for bad, reason in [
            # Onionbalance's tutorial example: a bad checksum.
            ("wmilwokvqistssclrjdi5arzrctn6bznkwmosvfyobmyv2fc3idbpwyd"
             ".onion", "bad checksum (mistyped?)"),
            ("k6udx3rspbeemwob5ij4ckqmsitz736vnjs3fm4j6z655onotjscfkae",
             "not a version 3 address"),
            ("aeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaahmjqd",
             "not a valid ed25519 public key"),
            ("k6udx3rspbeemwob5ij4ckqmsitz736vnjs3fm4j6z655onotjskjwa",
             "not 56 characters long"),
            ("k6udx3rspbeemwob5ij4ckqmsitz736vnjs3fm4j6z655onotjskjw01",
             "not base32"),
            # What old guides still show.
            ("duskgytldkxiuqc6.onion", "a version 2 address (16 "
             "characters), and tor removed v2 onion services in 0.4.6: "
             "give the v3 address (56 characters) of the service")]:
        write_config(s, [A0, bad])
        both(s, f'{s.config}:6:14: services[0].instances[1].address: bad '
             f'onion address "{bad}": {reason}')


@with_setup
def test_frontend_listed_as_its_own_instance(s):
    """Only keyd knows the frontend's address: the parent asks it at a
    start and in --check."""
    write_config(s, [A0, FRONTEND + ".onion"])
    both(s, f"{s.config}:6:14: services[0].instances[1].address: "
         f"{FRONTEND} is the frontend itself (the key of services[0] on "
         "line 2); list the backends here")


@with_setup
def test_one_key_under_two_names(s):
    """Two services whose key files hold one key: also only keyd knows."""
    copy = os.path.join(s.dir, "copy.key")
    shutil.copy(s.key, copy)
    os.chmod(copy, 0o600)
    with open(s.config, "w") as f:
        f.write(f"services:\n- key: {s.key}\n  instances:\n"
                f"  - address: {A0}\n- key: {copy}\n  instances:\n"
                f"  - address: {A1}\ntor-control-socket: {s.tor.path}\n"
                + "\n".join(pe.SANDBOX_USERS) + "\n")
    both(s, f"{s.config}:5:8: services[1].key: the same frontend "
         f"({FRONTEND}) as services[0].key on line 2")


@with_setup
def test_duplicate_instance(s):
    write_config(s, [A0, A1, A0.upper() + ".onion"])
    both(s, f"{s.config}:8:14: services[0].instances[2].address: {A0} is "
         "listed twice (also services[0].instances[0] on line 4)")


@with_setup
def test_unknown_keys_warn_with_line_and_still_run(s):
    n = write_config(s, [A0, A1], extra=["REFRESH_INTERVAL: 600",
                                          "status-sokcet-location: /x"])
    warnings = [f"{s.config}:{n - 1}:1: REFRESH_INTERVAL: Onionbalance v2 "
                "setting, ignored",
                f"{s.config}:{n}:1: status-sokcet-location: unknown key, "
                "ignored"]
    r = check(s)
    assert r.returncode == 0, r
    for w in warnings:
        logged_warning(r.stderr, w)
    assert f"warning  {s.config}: 1 service(s), 2 instance(s); 2 unknown " \
        "key(s) ignored (each named in a warning)\n" in r.stdout, r.stdout
    assert r.stdout.endswith("onionbalanced --check: OK (with warnings)\n")

    s.start()
    s.wait_state("publishd", readies=1, instances=2)
    s.wait_log(r"running: 1 service\(s\), 2 instance\(s\)")
    for w in warnings:
        logged_warning(s.log_text(), w)
    assert s.stop() == 0, s.log_text()


# -- tor -------------------------------------------------------------------


@with_setup
def test_tor_unreachable_names_socket_and_port(s):
    port = free_port()
    s.tor.stop_listening()
    write_config(s, [A0, A1])
    both(s, f"cannot connect to tor's control socket {s.tor.path} (No such "
         f"file or directory) nor to its control port 127.0.0.1:{port} "
         "(Connection refused)", "-p", str(port))
    both(s, f"cannot connect to tor's control port 127.0.0.1:{port}: "
         "Connection refused", "-s", "", "-p", str(port))


@with_setup
def test_wrong_password(s):
    s.tor.stop_listening()
    s.tor = PasswordTor(s.dir, 'right "horse"')
    write_config(s, [A0, A1], extra=['tor-control-password: "wrong"'])
    both(s, f"tor control at {s.tor.path}: tor refused HASHEDPASSWORD "
         "authentication: 515 Authentication failed: Password did not "
         "match HashedControlPassword value from configuration")
    write_config(s, [A0, A1])
    both(s, f"tor control at {s.tor.path}: no authentication method we can "
         "use: tor offers HASHEDPASSWORD; set tor-control-password")
    assert s.tor.authenticated == 0
    # The fake tor does tell passwords apart.
    write_config(s, [A0, A1],
                 extra=["tor-control-password: 'right \"horse\"'"])
    r = check(s)
    assert r.returncode == 0 and s.tor.authenticated == 1, r


@with_setup
def test_unreadable_cookie_names_the_group(s):
    """tor's cookie is 0640 in its group (Debian: debian-tor)."""
    os.chmod(s.tor.cookie_path, 0o640 if os.getuid() == 0 else 0)
    os.chmod(s.config, 0o644)
    os.chmod(s.key, 0o644)
    os.chmod(s.dir, 0o1777)    # the status socket is not the problem
    group = grp.getgrgid(os.stat(s.tor.cookie_path).st_gid).gr_name
    me = our_user()
    both(s, f"tor control at {s.tor.path}: cannot read tor's cookie file "
         f"{s.tor.cookie_path} (Permission denied): add the user {me} to "
         f"the group {group} (adduser {me} {group}) and start again, or "
         "set tor-control-password (tor offers COOKIE,SAFECOOKIE)",
         preexec=as_nobody)
    assert s.tor.authenticated == 0


# -- what a start says at "-v error", all problems at once -------------------


def only_errors(stderr, *messages):
    """stderr is exactly these error lines, in this order."""
    want = ["onionbalanced: [error] " + m for m in messages]
    assert stderr.splitlines() == want, (want, stderr)


@with_setup
def test_error_level_shows_each_fatal_problem_alone(s):
    """-v error (or ONIONBALANCE_LOG_LEVEL=error): a start that gives up
    says one error line per problem and nothing else; a start that runs
    says nothing at all, its children included."""
    with open(s.key, "rb") as f:
        good_key = f.read()
    quiet = ("-v", "error")
    port = free_port()
    missing = os.path.join(s.dir, "missing.yaml")
    only_errors(start_and_fail(s, "-c", missing, *quiet),
                f"{missing}: No such file or directory")
    with open(s.config, "w") as f:
        f.write("")
    only_errors(start_and_fail(s, *quiet), f"{s.config}:1:1: services: "
                "missing (the file is empty; onionbalanced-config writes a "
                "first one)")
    write_config(s, [A0, A1])
    only_errors(start_and_fail(s, "-s", "", "-p", str(port), *quiet),
                f"cannot connect to tor's control port 127.0.0.1:{port}: "
                "Connection refused")
    os.unlink(s.key)
    only_errors(start_and_fail(s, *quiet), f"services[0].key: cannot open "
                f"{s.key}: No such file or directory")
    with open(s.key, "w") as f:
        f.write("not a key\n")
    os.chmod(s.key, 0o600)
    only_errors(start_and_fail(s, *quiet), f"services[0].key: {s.key}: "
                "neither a PEM key nor a tor hs_ed25519_secret_key file")
    with open(s.key, "wb") as f:
        f.write(good_key)
    write_config(s, [A0, FRONTEND + ".onion"])
    only_errors(start_and_fail(s, *quiet),
                f"{s.config}:6:14: services[0].instances[1].address: "
                f"{FRONTEND} is the frontend itself (the key of "
                "services[0] on line 2); list the backends here")
    # The environment's level, from the first line on.
    env = dict(CLEAN_ENV, ONIONBALANCE_LOG_LEVEL="error")
    r = subprocess.run([pe.PARENT, "-c", s.config, "--libexecdir",
                        s.libexec, *pe.SANDBOX_ARGS], capture_output=True,
                       text=True, timeout=pe.TIMEOUT, env=env)
    assert r.returncode == 1, r
    only_errors(r.stderr, f"{s.config}:6:14: services[0].instances[1]."
                f"address: {FRONTEND} is the frontend itself (the key of "
                "services[0] on line 2); list the backends here")
    # A start that runs: not a line, from the parent nor from keyd.
    write_config(s, [A0, A1], extra=["REFRESH_INTERVAL: 600"])
    s.start(*quiet)
    s.wait_state("publishd", readies=1, instances=2)
    assert s.stop() == 0, s.log_text()
    assert s.log_text() == "", s.log_text()


@with_setup
def test_start_names_every_problem_before_tor(s):
    """A bad key, a world-readable key and a frontend listed as its own
    instance, with no tor: one start names all three, then tor."""
    bad = os.path.join(s.dir, "bad.key")
    with open(bad, "w") as f:
        f.write("not a key\n")
    os.chmod(bad, 0o600)
    os.chmod(s.key, 0o644)
    port = free_port()
    s.tor.stop_listening()
    with open(s.config, "w") as f:
        f.write(f"services:\n- key: {bad}\n  instances:\n"
                f"  - address: {A0}\n- key: {s.key}\n  instances:\n"
                f"  - address: {FRONTEND}\n"
                f"status-socket-location: {s.status}\n"
                "tor-control-socket: ''\n"
                f"tor-control-port: {port}\n"
                + "\n".join(pe.SANDBOX_USERS) + "\n")
    err = start_and_fail(s)
    logged_warning(err, f"services[1].key: {s.key} has mode 0644: others "
                   "than its owner may read the master key (chmod 600 "
                   f"{s.key})")
    logged_error(err, f"services[0].key: {bad}: neither a PEM key nor a "
                 "tor hs_ed25519_secret_key file")
    logged_error(err, f"{s.config}:7:14: services[1].instances[0].address: "
                 f"{FRONTEND} is the frontend itself (the key of "
                 "services[1] on line 5); list the backends here")
    logged_error(err, f"cannot connect to tor's control port 127.0.0.1:"
                 f"{port}: Connection refused")
    errors = [ln for ln in err.splitlines() if "[error]" in ln]
    assert len(errors) == 3, err    # the mode is a warning
    # --check names the same, each key read by a keyd of its own.
    r = check(s)
    fails = [ln for ln in r.stdout.splitlines() if ln.startswith("FAIL")]
    assert fails == [
        f"FAIL     services[0].key: {bad}: neither a PEM key nor a tor "
        "hs_ed25519_secret_key file",
        f"FAIL     {s.config}:7:14: services[1].instances[0].address: "
        f"{FRONTEND} is the frontend itself (the key of services[1] on "
        "line 5); list the backends here",
        f"FAIL     cannot connect to tor's control port 127.0.0.1:{port}: "
        "Connection refused"], r.stdout
    assert f"warning  services[1].key: {s.key} has mode 0644: others than " \
        "its owner may read the master key (chmod 600 " \
        f"{s.key})\n" in r.stdout, r.stdout
    assert r.returncode == 1 and r.stdout.endswith(
        "onionbalanced --check: 3 problem(s)\n"), r


# -- usage errors and sockets that are not what they should be -------------


def test_usage_errors_exit_2_and_name_the_word():
    """Every bad command line: exit 2 and one line naming the word;
    anything else that fails: exit 1."""
    for argv, line in [
            (["stray"], 'onionbalanced: unexpected argument "stray" '
             '(options start with -; see --help)'),
            (["--check", "config.yaml"], 'onionbalanced: unexpected '
             'argument "config.yaml" (options start with -; see --help)'),
            (["--bogus"], 'onionbalanced: unknown option "--bogus" (see '
             '--help)'),
            (["-c"], 'onionbalanced: a value is missing after "-c" (see '
             '--help)'),
            (["-i", "localhost"], 'onionbalanced: -i: "localhost" is not '
             'an IPv4 or IPv6 address'),
            (["-p", "0"], 'onionbalanced: -p: "0" is not a port from 1 to '
             '65535'),
            (["-v", "loud"], 'onionbalanced: -v: "loud" is not debug, '
             'info, warning or error'),
            (["status", "extra"], 'onionbalanced status: unexpected '
             'argument "extra" (see onionbalanced --help)'),
            (["status", "--bogus"], 'onionbalanced status: unknown option '
             '"--bogus"'),
            (["--hs-version", "v2"], 'onionbalanced: --hs-version: "v2" is '
             'not v3')]:
        r = pe.run_parent(*argv, env=CLEAN_ENV)
        assert r.returncode == 2, (argv, r)
        assert r.stderr.splitlines()[0] == line, (argv, r.stderr)
        assert r.stdout == "", (argv, r)
    # A config without the socket is not a usage error.
    r = pe.run_parent("status", "-c", "/nonexistent/config.yaml",
                      env=CLEAN_ENV)
    assert r.returncode == 1 and r.stderr == "onionbalanced status: " \
        "/nonexistent/config.yaml: No such file or directory\n", r


@with_setup
def test_socket_paths_that_are_no_socket(s):
    """-s naming a regular file, for tor's control socket and for the
    status socket; a status socket that sends junk and stays open."""
    regular = os.path.join(s.dir, "not-a-socket")
    with open(regular, "w") as f:
        f.write("x\n")
    port = free_port()
    both(s, f"cannot connect to tor's control socket {regular} (a regular "
         "file, not a socket; -s or tor-control-socket names the socket of "
         f"tor's ControlSocket line) nor to its control port 127.0.0.1:"
         f"{port} (Connection refused)", "-s", regular, "-p", str(port))
    r = pe.run_parent("status", "-s", regular, env=CLEAN_ENV)
    assert r.returncode == 1 and r.stderr == f"onionbalanced status: " \
        f"{regular} is a regular file, not a socket; give -s the path of " \
        "status-socket-location\n", r
    junk = os.path.join(s.dir, "junk.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(junk)
    srv.listen(1)
    t0 = time.monotonic()
    proc = subprocess.Popen([pe.PARENT, "status", "-s", junk],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=CLEAN_ENV)
    conn, _ = srv.accept()
    conn.sendall(b"220 not a status document\r\n")
    out, err = proc.communicate(timeout=pe.TIMEOUT)
    conn.close()
    srv.close()
    assert proc.returncode == 1 and out == "", (proc.returncode, out, err)
    assert err == f"onionbalanced status: {junk} did not send a whole " \
        "status document within 5 s (onionbalanced's status socket sends " \
        "one and closes): is it onionbalanced's status socket?\n", err
    assert time.monotonic() - t0 < 15


@with_setup
def test_metrics_location_problems(s):
    """metrics-location (docs/metrics.md): a non-loopback address is a
    config error that says why; a socket directory that is missing and a
    port in use are named by --check and by the start."""
    line = write_config(s, pe.INSTANCES[:1],
                        ["metrics-location: 0.0.0.0:9120"])
    msg = (f"{s.config}:{line}:19: metrics-location: \"0.0.0.0:9120\" is "
           "not a loopback address (127.0.0.0/8 or [::1]): the metrics "
           "have no TLS or authentication; put a reverse proxy with TLS "
           "and authentication in front of a loopback listener")
    only_failure(check(s), msg)
    missing = os.path.join(s.dir, "no-such-dir", "m.sock")
    write_config(s, pe.INSTANCES[:1], [f"metrics-location: {missing}"])
    only_failure(check(s), f"metrics socket {missing}: cannot create it "
                 f"in {os.path.dirname(missing)}: No such file or directory")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        write_config(s, pe.INSTANCES[:1],
                     [f"metrics-location: 127.0.0.1:{port}"])
        logged_error(start_and_fail(s), f"metrics listener 127.0.0.1 port "
                     f"{port}: Address already in use")


# -- Onionbalance's files and environment ------------------------------------


def generated_key(dirname):
    """A fresh frontend key from onionbalanced-config: (path, address)."""
    out = os.path.join(dirname, "gen")
    r = subprocess.run([CONFIG_GEN, "--no-interactive", "-n", "1",
                        "--output", out, "-v", "warning"],
                       capture_output=True, text=True, timeout=pe.TIMEOUT)
    assert r.returncode == 0, r
    keys = [f for f in os.listdir(out) if f.endswith(".key")]
    assert len(keys) == 1, keys
    return os.path.join(out, keys[0]), keys[0][:-len(".key")]


def onionbalance_setup(s, name, keys):
    """A copy of tests/data/config/valid/NAME in s.dir/ob, with the key
    files its relative key: paths name; and an empty directory to run
    in, so that nothing resolves against the working directory."""
    ob = os.path.join(s.dir, "ob")
    os.mkdir(ob)
    config = os.path.join(ob, "config.yaml")
    shutil.copy(os.path.join(pe.DATA, "config", "valid", name), config)
    # As root each child runs as its own user: numeric ones, appended
    # after Onionbalance's own lines, so that no account is needed.
    with open(config, "a") as f:
        f.write("\n".join(pe.SANDBOX_USERS) + "\n")
    for key_name, source in keys.items():
        shutil.copy(source, os.path.join(ob, key_name))
        os.chmod(os.path.join(ob, key_name), 0o600)
    elsewhere = os.path.join(s.dir, "elsewhere")
    os.mkdir(elsewhere)
    return ob, config, elsewhere


def ok_lines(r):
    return [ln[len("ok       "):] for ln in r.stdout.splitlines()
            if ln.startswith("ok ")]


@with_setup
def test_onionbalance_generator_output_via_environment(s):
    """onionbalance-config's file (3 instances, 2 services, relative key
    paths), with no -c, -s or -v: only Onionbalance's variables."""
    gen_key, gen_addr = generated_key(s.dir)
    k0 = "l642a4sbrjhygjxbzpepingaojpu5shjc4lsim3au5cm3pneu54etbid.key"
    k1 = "og5bfjsi56vmkkgqe67jxpadlo66mqmsfmabgbncg6olpcjkpau5llad.key"
    ob, config, elsewhere = onionbalance_setup(
        s, "generator-filled.yaml", {k0: pe.KEY_PEM, k1: gen_key})
    run = os.path.join(s.dir, "run")
    os.mkdir(run)
    status = os.path.join(run, "ob.sock")
    env = dict(CLEAN_ENV, ONIONBALANCE_CONFIG=config,
               ONIONBALANCE_TOR_CONTROL_SOCKET=s.tor.path,
               ONIONBALANCE_STATUS_SOCKET_LOCATION=status)

    r = check(s, env=env, cwd=elsewhere, config=False)
    assert r.returncode == 0, r
    assert r.stdout.endswith("onionbalanced --check: OK\n"), r.stdout
    oks = ok_lines(r)
    for want in [f"{config}: 2 service(s), 6 instance(s)",
                 f"services[0].key: {ob}/{k0} readable, mode 0600",
                 f"services[1].key: {ob}/{k1} readable, mode 0600",
                 f"services[0]: frontend {FRONTEND}.onion",
                 f"services[1]: frontend {gen_addr}.onion",
                 "tor control: connected and authenticated",
                 f"status socket {status}: directory writable"]:
        assert want in oks, (want, r.stdout)
    assert s.tor.authenticated == 1
    # The default level (warning): no debug line from us.
    assert "onionbalanced: [debug]" not in r.stderr, r.stderr

    # ONIONBALANCE_LOG_LEVEL: the level of --check and of a start.
    r = check(s, env=dict(env, ONIONBALANCE_LOG_LEVEL="debug"),
              cwd=elsewhere, config=False)
    assert r.returncode == 0 and "onionbalanced: [debug] tor control: " \
        "authenticated (SAFECOOKIE) to 0.4.9.fake\n" in r.stderr, r
    r = check(s, env=dict(env, ONIONBALANCE_LOG_LEVEL="loud"),
              cwd=elsewhere, config=False)
    only_failure(r, "environment variable ONIONBALANCE_LOG_LEVEL: unknown "
                 'log level "loud" (debug, info, warning, error)')

    # ONIONBALANCE_TOR_CONTROL_SOCKET: the socket tried first; set but
    # empty, TCP only.  (-p, so that no tor on 9051 can answer instead.)
    port = str(free_port())
    missing = os.path.join(s.dir, "no-tor.sock")
    r = check(s, "-p", port, env=dict(
        env, ONIONBALANCE_TOR_CONTROL_SOCKET=missing), cwd=elsewhere,
        config=False)
    only_failure(r, f"cannot connect to tor's control socket {missing} (No "
                 f"such file or directory) nor to its control port "
                 f"127.0.0.1:{port} (Connection refused)")
    r = check(s, "-p", port, env=dict(
        env, ONIONBALANCE_TOR_CONTROL_SOCKET=""), cwd=elsewhere,
        config=False)
    only_failure(r, f"cannot connect to tor's control port 127.0.0.1:{port}"
                 ": Connection refused")

    # ONIONBALANCE_CONFIG: without it, config.yaml in the working
    # directory, which is not there.
    no_config = dict(env)
    del no_config["ONIONBALANCE_CONFIG"]
    r = check(s, env=no_config, cwd=elsewhere, config=False)
    only_failure(r, "config.yaml: No such file or directory")

    # A start: the status socket where the environment says, every
    # service and instance handed to the children, the info level.
    s.logf = open(s.log, "w")
    s.proc = subprocess.Popen(
        [pe.PARENT, "--libexecdir", s.libexec, "--restart-backoff-ms",
         "50", *pe.SANDBOX_ARGS], stdout=s.logf, stderr=subprocess.STDOUT, cwd=elsewhere,
        env=dict(env, ONIONBALANCE_LOG_LEVEL="info", OB_STANDIN_DIR=s.dir))
    s.wait_state("publishd", readies=1, services=2, instances=6,
                 statuses=1)
    s.wait_state("fetchd", readies=1, services=2, instances=6)
    assert stat.S_ISSOCK(os.stat(status).st_mode)
    s.wait_log(re.escape(f"onionbalanced: [info] service 1: frontend "
                         f"{gen_addr}.onion (key {ob}/{k1})"))
    assert "onionbalanced: [debug]" not in s.log_text()
    assert s.stop() == 0, s.log_text()
    assert not os.path.exists(status)


@with_setup
def test_onionbalance_status_socket_doc_example(s):
    """The example of Onionbalance's status-socket.rst names
    /home/user/test.sock; ONIONBALANCE_STATUS_SOCKET_LOCATION moves it."""
    key = "bvy46sg2b5dokczabwv2pabqlrps3lppweyrebhat6gjieo2avojdvad.key"
    _, config, elsewhere = onionbalance_setup(
        s, "onionbalance-status-socket-doc.yaml", {key: pe.KEY_PEM})
    env = dict(CLEAN_ENV, ONIONBALANCE_CONFIG=config,
               ONIONBALANCE_TOR_CONTROL_SOCKET=s.tor.path)
    if not os.path.isdir("/home/user"):
        r = check(s, env=env, cwd=elsewhere, config=False)
        only_failure(r, "status socket /home/user/test.sock: cannot create "
                     "it in /home/user: No such file or directory")
    status = os.path.join(s.dir, "test.sock")
    r = check(s, env=dict(env, ONIONBALANCE_STATUS_SOCKET_LOCATION=status),
              cwd=elsewhere, config=False)
    assert r.returncode == 0, r
    assert f"status socket {status}: directory writable" in ok_lines(r), r
    assert f"{config}: 1 service(s), 1 instance(s)" in ok_lines(r), r


# -- flags, --help, man pages ----------------------------------------------


def man_text(page):
    r = subprocess.run(["man", "-l", os.path.join(MAN_DIR, page)],
                       capture_output=True, text=True, timeout=pe.TIMEOUT,
                       env=dict(CLEAN_ENV, MANWIDTH="200", MANPAGER="cat",
                                PAGER="cat"))
    assert r.returncode == 0 and r.stdout, r
    # Overstrike bold, should a man be configured to keep it.
    return re.sub(r".\x08", "", r.stdout)


def flags_in(text):
    return set(re.findall(r"(?<![\w/*-])(--?[a-zA-Z][a-z-]*)", text))


def man_options(page, first, last):
    text = man_text(page)
    start = text.index(first)
    return flags_in(text[start:text.index(last, start)])


def test_help_and_man_page_list_the_same_flags():
    r = pe.run_parent("--help")
    assert r.returncode == 0 and r.stdout.startswith("usage:"), r
    assert pe.run_parent("-h").stdout == r.stdout
    helped = flags_in(r.stdout)
    for flag in ["-c", "--config", "-i", "--ip", "-p", "--port", "-s",
                 "--socket", "-v", "--verbosity", "--check", "--is-testnet",
                 "--version", "-h", "--help", "--json", "--watch"]:
        assert flag in helped, (flag, r.stdout)
    for var in ENV_VARS:
        assert var in r.stdout, var
    assert "onionbalanced(8)" in r.stdout and "configuration.md" in r.stdout
    documented = man_options("onionbalanced.8", "OPTIONS", "ENVIRONMENT")
    assert documented == helped, (documented ^ helped)
    # Each is a flag the binary takes: parsed in order, --version ends it.
    takes_value = {"-c": "x", "--config": "x", "-i": "::1", "--ip": "::1",
                   "-p": "9051", "--port": "9051", "-s": "", "--socket": "",
                   "-v": "info", "--verbosity": "critical",
                   "--libexecdir": "/x", "--restart-backoff-ms": "50",
                   "--hs-version": "v3"}
    for flag in sorted(helped - {"--json", "--watch", "-h", "--help"}):
        argv = [flag] + ([takes_value[flag]] if flag in takes_value else [])
        r = pe.run_parent(*argv, "--version")
        assert r.returncode == 0 and r.stdout.startswith("onionbalanced "), \
            (argv, r)


def test_config_generator_help_matches_its_man_page():
    r = subprocess.run([CONFIG_GEN, "--help"], capture_output=True,
                       text=True, timeout=pe.TIMEOUT)
    assert r.returncode == 0, r
    helped = flags_in(r.stdout)
    documented = man_options("onionbalanced-config.1", "The options are",
                             "never overwrites")
    assert documented == helped, (documented ^ helped)
    takes_value = {"--hs-version": "v3", "--key": "x", "-n": "2", "-s": "1",
                   "-t": "web", "--tag": "web", "--output": "x",
                   "-v": "info", "--service-virtual-port": "80",
                   "--service-target": "8080", "--instance-address": A0,
                   "--hs-dir-base": "/var/lib/tor"}
    for flag in sorted(helped - {"-h", "--help", "-p", "--password"}):
        argv = [flag] + ([takes_value[flag]] if flag in takes_value else [])
        r = subprocess.run([CONFIG_GEN, *argv, "--version"],
                           capture_output=True, text=True, timeout=pe.TIMEOUT)
        assert r.returncode == 0 and r.stdout.startswith(
            "onionbalanced-config "), (argv, r)
    for flag in ("-p", "--password"):
        r = subprocess.run([CONFIG_GEN, flag, "x"], capture_output=True,
                           text=True, timeout=pe.TIMEOUT)
        assert r.returncode == 2 and "encrypted master keys are not " \
            "supported" in r.stderr, r


@with_setup
def test_is_testnet_is_accepted(s):
    r = check(s, "--is-testnet")
    assert r.returncode == 0 and r.stdout.endswith(
        "onionbalanced --check: OK\n"), r
    s.start("--is-testnet")
    s.wait_state("publishd", readies=1)
    assert s.stop(signal.SIGTERM) == 0, s.log_text()


# -- Onionspray and EOTK (docs/onionspray.md) ------------------------------


def tor_key_files(secrets, pem):
    """The frontend key as EOTK and Onionspray keep it: secrets/<onion>
    .v3sec.key and .v3pub.key, tor's hs_ed25519_secret_key and
    hs_ed25519_public_key (a 32-byte header, then the expanded secret key
    or the public key), made here from the PEM key's seed.  Returns
    (secret key path, onion address)."""
    with open(pem) as f:
        der = base64.b64decode("".join(
            ln for ln in f.read().splitlines() if not ln.startswith("-")))
    expanded = bytearray(hashlib.sha512(der[-32:]).digest())
    expanded[0] &= 248
    expanded[31] &= 63
    expanded[31] |= 64
    onion = pe.onion_address(pe.KEY_PUB)
    os.makedirs(secrets, mode=0o700, exist_ok=True)
    sec = os.path.join(secrets, f"{onion}.v3sec.key")
    with open(os.open(sec, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
        f.write(b"== ed25519v1-secret: type0 ==\0\0\0" + bytes(expanded))
    with open(os.path.join(secrets, f"{onion}.v3pub.key"), "wb") as f:
        f.write(b"== ed25519v1-public: type0 ==\0\0\0" + pe.KEY_PUB)
    return sec, onion


def ob_gather_config(s, key, workers, status):
    """config.yaml as `ob-gather` writes it (EOTK's eotk and
    lib.d/do-obconfig.pl): Onionbalance v2's upper-case settings, then
    the project's softmap onions, each with every worker onion, quoted,
    without ".onion".  The sandbox users (root only) go last."""
    lines = ["LOG_LEVEL: info", "TOR_ADDRESS: 127.0.0.1", "TOR_PORT: 9055",
             f"STATUS_SOCKET_LOCATION: {status}", "REFRESH_INTERVAL: 600",
             "INITIAL_DELAY: 100", "PUBLISH_CHECK_INTERVAL: 300",
             "DESCRIPTOR_OVERLAP_PERIOD: 2400",
             "DESCRIPTOR_UPLOAD_PERIOD: 2400",
             "DESCRIPTOR_VALIDITY_PERIOD: 86400", "services:",
             "# PROJECT softexample",
             f"  # example.com => {FRONTEND}.onion", f"  - key: {key}",
             "    instances:"]
    lines += [f"      - address: '{w}'" for w in workers]
    lines += pe.SANDBOX_USERS
    with open(s.config, "w") as f:
        f.write("\n".join(lines) + "\n")


def still_running(pid):
    """pid (not our child: ob-start's shell started it) has not exited."""
    try:
        return pe.alive(pid)
    except (FileNotFoundError, ProcessLookupError):
        return False


@with_setup
def test_onionspray_ob_start_reload_stop(s):
    """What `onionspray ob-start` does, with onionbalanced as the
    `onionbalance` in its PATH: `onionbalance -s <tor-control.sock> -c
    <config.yaml> </dev/null >onionbalance.log 2>&1 &`, $! into ob.pid.
    The v2 names give the status socket (ob-status's socat reads it) and
    the log level (info: the reload is logged); SIGHUP reloads; SIGTERM
    to the pid in ob.pid (ob-stop) stops everything, exit 0."""
    key, _ = tor_key_files(os.path.join(s.dir, "secrets"), pe.KEY_PEM)
    obdir = os.path.join(s.dir, "onionbalance")
    os.mkdir(obdir, 0o700)
    status = os.path.join(obdir, "ob-status.sock")
    ob_gather_config(s, key, [A0, A1], status)
    bindir = os.path.join(s.dir, "bin")
    os.mkdir(bindir)
    os.symlink(pe.PARENT, os.path.join(bindir, "onionbalance"))
    env = dict(CLEAN_ENV, OB_STANDIN_DIR=s.dir,
               PATH=bindir + os.pathsep + CLEAN_ENV.get("PATH", ""))
    r = subprocess.run(["onionbalance", "--version"], capture_output=True,
                       text=True, timeout=pe.TIMEOUT, env=env)
    assert r.returncode == 0 and r.stdout.startswith("onionbalanced "), r
    # The flags our tests need go after Onionspray's own.
    script = ('onionbalance -s "$1" -c "$2" --libexecdir "$3" '
              '--chroot-dir "$4" </dev/null >"$5/onionbalance.log" 2>&1 &\n'
              'echo $! >"$5/ob.pid"\n')
    subprocess.run(["/bin/sh", "-c", script, "ob-start", s.tor.path,
                    s.config, s.libexec, pe.SANDBOX_ARGS[1], obdir],
                   env=env, check=True, timeout=pe.TIMEOUT)
    with open(os.path.join(obdir, "ob.pid")) as f:
        pid = int(f.read())
    log = os.path.join(obdir, "onionbalance.log")
    try:
        s.wait_state("publishd", readies=1)
        assert stat.S_ISSOCK(os.stat(status).st_mode), status
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            assert f.read().split(b"\0")[0] == b"onionbalance"
        os.kill(pid, signal.SIGHUP)
        deadline = time.monotonic() + pe.TIMEOUT
        want = f"onionbalanced: [info] SIGHUP: reloading {s.config}"
        while want not in open(log).read().splitlines():
            assert time.monotonic() < deadline, open(log).read()
            time.sleep(0.05)
        assert pe.alive(pid)
    finally:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + pe.TIMEOUT
    while still_running(pid):
        assert time.monotonic() < deadline, open(log).read()
        time.sleep(0.05)
    assert not os.path.exists(status), status
    text = open(log).read()
    for name in ("TOR_ADDRESS", "TOR_PORT", "REFRESH_INTERVAL"):
        assert f"{name}: Onionbalance v2 setting, ignored" in text, text
    assert "[error]" not in text, text


@with_setup
def test_onionspray_ob_start_as_its_user(s):
    """Onionspray runs as an ordinary user, and so does what ob-start
    starts: as root the test is that user (nobody), owning the key and
    the onionbalance folder; the children then share its uid (sandbox.md,
    "Started as an ordinary user")."""
    if os.getuid() != 0:
        return      # the test above is this one then
    os.chmod(s.dir, 0o1777)
    os.chmod(s.tor.cookie_path, 0o644)
    os.chmod(s.tor.path, 0o666)
    key, _ = tor_key_files(os.path.join(s.dir, "secrets"), pe.KEY_PEM)
    obdir = os.path.join(s.dir, "onionbalance")
    os.mkdir(obdir, 0o700)
    for path in (os.path.dirname(key), key, obdir):
        os.chown(path, NOBODY, NOBODY)
    status = os.path.join(obdir, "ob-status.sock")
    ob_gather_config(s, key, [A0, A1], status)
    os.chmod(s.config, 0o644)
    log = open(os.path.join(s.dir, "nobody.log"), "w")
    proc = subprocess.Popen(
        [pe.PARENT, "-s", s.tor.path, "-c", s.config, "--libexecdir",
         s.libexec], stdin=subprocess.DEVNULL, stdout=log,
        stderr=subprocess.STDOUT, preexec_fn=as_nobody,
        env=dict(CLEAN_ENV, OB_STANDIN_DIR=s.dir))
    try:
        s.wait_state("publishd", readies=1)
        assert stat.S_ISSOCK(os.stat(status).st_mode), status
        assert os.stat(status).st_uid == NOBODY
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(pe.TIMEOUT)
        log.close()
    text = open(os.path.join(s.dir, "nobody.log")).read()
    assert code == 0, text
    assert "[error]" not in text, text
    assert f"[info] running as uid {NOBODY}, not root" in text, text


@with_setup
def test_onionspray_v2_key_name_points_at_the_v3_key(s):
    """EOTK's do-obconfig.pl names the key secrets.d/<onion>.key (the v2
    name); its v3 key is <onion>.v3sec.key: the error says so."""
    secrets = os.path.join(s.dir, "secrets.d")
    sec, onion = tor_key_files(secrets, pe.KEY_PEM)
    s.key = os.path.join(secrets, f"{onion}.key")
    write_config(s, [A0, A1])
    both(s, f"services[0].key: cannot open {s.key}: No such file or "
         f"directory (the v3 key beside it is {sec}, as EOTK and "
         "Onionspray name it: put that path in key:)")
    # Named as the hint says, it is read.
    s.key = sec
    write_config(s, [A0, A1])
    r = check(s)
    assert r.returncode == 0 and f"frontend {onion}.onion" in r.stdout, r


TESTS = [v for k, v in list(globals().items()) if k.startswith("test_")]


def main():
    failed = 0
    for t in TESTS:
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
