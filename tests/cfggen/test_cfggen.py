#!/usr/bin/python3
"""Tests of onionbalanced-config: runs the built binary in temporary
directories and checks every file it writes, every refusal and every error
message.

Keys and addresses are checked with an ed25519 implementation of its own
(below, from RFC 8032's formulas; slow but independent of the C code under
test), itself checked against a public key that OpenSSL derived
(tests/data/keys/).  The config.yaml it writes is compared byte for byte
with what Debian's onionbalance-config 0.2.2 wrote (tests/data/config/).

Usage: test_cfggen.py BINARY   (OB_TEST_DATA names tests/data)
Python standard library only.
"""
import base64
import hashlib
import os
import pty
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile

BINARY = os.path.abspath(sys.argv[1])
DATA = os.environ.get("OB_TEST_DATA",
                      os.path.join(os.path.dirname(__file__), "..", "data"))
PROG = "onionbalanced-config: "
PLACEHOLDER = "<Enter the instance onion address here>"
failures = []

# Backend addresses of tests/data/config/README.md.
BACKENDS = [
    "k6udx3rspbeemwob5ij4ckqmsitz736vnjs3fm4j6z655onotjskjwad",
    "le5tsbi4izbr7pzfxabhcrfwe5jokzdpkvwgucbfh4rhf5r2fi3hgvid",
    "cfehrmlk7fkfvbmwwtyegs3pvgg4vx26lj7reqizkp3j4s7ek7dqo2yd",
    "vqej6pkpsolausp6cjribzket3tay3w37pywwgkbcqaen3nwkwgfn4yd",
    "wdyko23hf77iec6dmwkhrrgtglclflswbwzttag3c3u3ivdt76vllrid",
    # generator-filled.yaml has the first one here again: onionbalanced-config
    # refuses one address in two services (see its manual), so another one.
    "vkmiy6biqcyphtx5exswxl5sjus2vn2b6pzir7lz5akudhwbqk5muead",
]

# --- an independent ed25519 public-key derivation (RFC 8032, 5.1) ---------

P = 2 ** 255 - 19
L = 2 ** 252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P


def _recover_x(y):
    xx = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    x = pow(xx, (P + 3) // 8, P)
    if (x * x - xx) % P != 0:
        x = x * pow(2, (P - 1) // 4, P) % P
    return x if x % 2 == 0 else P - x


_BY = 4 * pow(5, P - 2, P) % P
BASE = (_recover_x(_BY), _BY, 1, _recover_x(_BY) * _BY % P)


def _add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % P
    bb = (y1 + x1) * (y2 + x2) % P
    cc = 2 * t1 * t2 * D % P
    dd = 2 * z1 * z2 % P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(s, pt):
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = _add(q, pt)
        pt = _add(pt, pt)
        s >>= 1
    return q


def pubkey_from_scalar(a):
    x, y, z, _ = _mul(a, BASE)
    zi = pow(z, P - 2, P)
    x, y = x * zi % P, y * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def pubkey_from_seed(seed):
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return pubkey_from_scalar(a)


def onion_address(pub):
    checksum = hashlib.sha3_256(b".onion checksum" + pub + b"\x03").digest()
    raw = pub + checksum[:2] + b"\x03"
    return base64.b32encode(raw).decode().lower()


PKCS8_V1_PREFIX = bytes.fromhex("302e020100300506032b657004220420")
TOR_HEADER = b"== ed25519v1-secret: type0 ==\0\0\0"


def pem_seed(text):
    """The seed of an unencrypted RFC 8410 v1 PEM key, strictly."""
    m = re.fullmatch(r"-----BEGIN PRIVATE KEY-----\n([A-Za-z0-9+/=\n]+)"
                     r"-----END PRIVATE KEY-----\n", text)
    if m is None:
        return None
    der = base64.b64decode(m.group(1))
    if len(der) != 48 or not der.startswith(PKCS8_V1_PREFIX):
        return None
    return der[16:]


def key_file_address(path):
    """(address, format) of a key file, read by this test's own code."""
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(TOR_HEADER) and len(data) == 96:
        a = int.from_bytes(data[32:64], "little")
        return onion_address(pubkey_from_scalar(a)), "tor"
    seed = pem_seed(data.decode("ascii"))
    if seed is None:
        return None, None
    return onion_address(pubkey_from_seed(seed)), "pem"


def make_tor_key(path, fill):
    """A tor hs_ed25519_secret_key: a clamped scalar and a PRF half."""
    a = bytearray(hashlib.sha512(bytes([fill]) * 32).digest())
    a[0] &= 248
    a[31] &= 127
    a[31] |= 64
    with open(path, "wb") as f:
        f.write(TOR_HEADER + bytes(a))
    os.chmod(path, 0o600)
    return onion_address(pubkey_from_scalar(int.from_bytes(a[:32],
                                                            "little")))


# --- harness ---------------------------------------------------------------

def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what, file=sys.stderr)


def run(args, cwd, stdin=subprocess.DEVNULL, user=None, preexec=None):
    cmd = [BINARY] + args
    if user is not None:
        cmd = ["setpriv", "--reuid=%d" % user, "--regid=%d" % user,
               "--clear-groups", "--"] + cmd
    return subprocess.run(cmd, cwd=cwd, stdin=stdin, capture_output=True,
                          text=True, timeout=60, preexec_fn=preexec)


def listing(top):
    """Every path below top, with contents of files, for before/after."""
    out = {}
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            p = os.path.join(root, name)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    content = f.read()
            elif stat.S_ISLNK(st.st_mode):
                content = os.readlink(p)
            else:
                content = None
            out[os.path.relpath(p, top)] = (st.st_mode, content)
    return out


def read(path):
    with open(path) as f:
        return f.read()


def expect_error(args, message, cwd, status=1, user=None, preexec=None):
    """The run fails with exactly one line, and writes nothing."""
    before = listing(cwd)
    r = run(args, cwd, user=user, preexec=preexec)
    lines = r.stderr.splitlines()
    name = " ".join(args) or "(no arguments)"
    check(r.returncode == status,
          "%s: exit %d, want %d" % (name, r.returncode, status))
    check(len(lines) == 1, "%s: %d lines on stderr, want 1: %r"
          % (name, len(lines), r.stderr))
    check(bool(lines) and lines[0].startswith(PROG) and message in lines[0],
          "%s: stderr %r lacks %r" % (name, r.stderr, message))
    check(listing(cwd) == before, "%s: wrote or removed files" % name)


# --- tests -----------------------------------------------------------------

def test_oracle_matches_openssl():
    """The test's own ed25519 agrees with OpenSSL on a fixture key."""
    seed = pem_seed(read(os.path.join(DATA, "keys", "openssl-ed25519.pem")))
    want = read(os.path.join(DATA, "keys", "openssl-ed25519.pub.hex")).strip()
    check(seed is not None, "fixture PEM parses")
    check(pubkey_from_seed(seed).hex() == want, "oracle agrees with OpenSSL")


def check_instance_folder(folder, frontend, name, port, target,
                          hs_dir="/var/lib/tor", address=None):
    check(sorted(os.listdir(folder)) == ["ob_config", "torrc"],
          "%s holds ob_config and torrc" % folder)
    check(read(os.path.join(folder, "ob_config")) ==
          "MasterOnionAddress %s.onion\n" % frontend,
          "%s/ob_config names the frontend" % folder)
    torrc = read(os.path.join(folder, "torrc"))
    lines = [l for l in torrc.splitlines() if not l.startswith("#")]
    check(lines == ["HiddenServiceDir %s/%s" % (hs_dir,
                                                os.path.basename(folder)),
                    "HiddenServicePort %s %s" % (port, target),
                    "HiddenServiceOnionBalanceInstance 1"],
          "%s/torrc lines: %r" % (folder, lines))
    check(("Instance %s of the onion service %s.onion" % (name, frontend))
          in torrc, "%s/torrc comment names instance and frontend" % folder)
    check((address is not None) == ("This instance is" in torrc),
          "%s/torrc notes a given address" % folder)
    for f in ("ob_config", "torrc"):
        mode = os.stat(os.path.join(folder, f)).st_mode
        check(not mode & 0o022, "%s/%s not writable by others" % (folder, f))


def test_defaults():
    """--no-interactive: Onionbalance's defaults, our extra files."""
    with tempfile.TemporaryDirectory() as tmp:
        r = run(["--no-interactive"], tmp)
        check(r.returncode == 0 and r.stderr == "",
              "defaults: exit %d %r" % (r.returncode, r.stderr))
        out = os.path.join(tmp, "config")
        keys = [f for f in os.listdir(out) if f.endswith(".key")]
        check(len(keys) == 1, "defaults: one key file")
        if len(keys) != 1:
            return
        frontend = keys[0][:-4]
        check(sorted(os.listdir(out)) == sorted(
            ["README", "config.yaml", keys[0], "node1", "node2"]),
            "defaults: files %r" % sorted(os.listdir(out)))
        st = os.stat(os.path.join(out, keys[0]))
        check(stat.S_IMODE(st.st_mode) == 0o600, "key mode 0600")
        check(stat.S_IMODE(os.stat(out).st_mode) == 0o700,
              "output directory mode 0700")
        addr, fmt = key_file_address(os.path.join(out, keys[0]))
        check(fmt == "pem", "generated key is Onionbalance's PEM")
        check(addr == frontend, "key file name is the key's address")
        golden = read(os.path.join(DATA, "config", "errors",
                                   "generator-placeholder.yaml"))
        golden = golden.replace(
            "tvt7elxqxa4uiqmjuhqt52blayywdj4rs5pgrrxsl3twsadvcqwi4kyd",
            frontend)
        check(read(os.path.join(out, "config.yaml")) == golden,
              "config.yaml is what onionbalance-config writes")
        for i in (1, 2):
            check_instance_folder(os.path.join(out, "node%d" % i), frontend,
                                  "node%d" % i, 80, "127.0.0.1:80")
        readme = read(os.path.join(out, "README"))
        for needle in ("config.yaml", keys[0], "node1/", "node2/",
                       "install -d -o debian-tor -g debian-tor -m 700 "
                       "/var/lib/tor/node2", PLACEHOLDER,
                       "onionbalanced -c config.yaml"):
            check(needle in readme, "README mentions %r" % needle)
        check("replace each" in r.stdout and frontend in r.stdout,
              "summary names the frontend and the placeholders")


def test_two_services_with_addresses():
    """-s 2 -n 3 -t web with every address: Onionbalance's layout, filled."""
    with tempfile.TemporaryDirectory() as tmp:
        args = ["-s", "2", "-n", "3", "-t", "web", "--output", "out",
                "--service-virtual-port", "443",
                "--hs-dir-base", "/srv/tor"]
        for a in BACKENDS[:3]:
            args += ["--instance-address", a + ".onion"]
        for a in BACKENDS[3:]:
            args += ["--instance-address", a.upper()]
        r = run(args, tmp)
        check(r.returncode == 0, "two services: exit %d %r"
              % (r.returncode, r.stderr))
        out = os.path.join(tmp, "out")
        cfg = read(os.path.join(out, "config.yaml"))
        frontends = re.findall(r"key: ([a-z2-7]{56})\.key", cfg)
        check(len(frontends) == 2, "two services in config.yaml")
        if len(frontends) != 2:
            return
        golden = read(os.path.join(DATA, "config", "valid",
                                   "generator-filled.yaml"))
        golden = golden.replace(
            "l642a4sbrjhygjxbzpepingaojpu5shjc4lsim3au5cm3pneu54etbid",
            frontends[0]).replace(
            "og5bfjsi56vmkkgqe67jxpadlo66mqmsfmabgbncg6olpcjkpau5llad",
            frontends[1])
        last = golden.rindex(BACKENDS[0])
        golden = golden[:last] + BACKENDS[5] + golden[last + 56:]
        check(cfg == golden, "config.yaml equals generator-filled.yaml")
        for s, frontend in enumerate(frontends, start=1):
            addr, _ = key_file_address(os.path.join(out, frontend + ".key"))
            check(addr == frontend, "service %d key matches its name" % s)
            for i in (1, 2, 3):
                check_instance_folder(
                    os.path.join(out, "service%d-web%d" % (s, i)), frontend,
                    "web%d" % i, 443, "127.0.0.1:443", hs_dir="/srv/tor",
                    address=BACKENDS[(s - 1) * 3 + i - 1])
        check(PLACEHOLDER not in read(os.path.join(out, "README")),
              "README has no placeholder step when all addresses are known")
        check("replace each" not in r.stdout,
              "summary mentions no placeholders")


def test_some_addresses():
    """Fewer --instance-address than instances: the rest are placeholders."""
    with tempfile.TemporaryDirectory() as tmp:
        r = run(["-n", "3", "--instance-address", BACKENDS[0],
                 "--service-target", "unix:/run/web.sock", "-v", "warning"],
                tmp)
        check(r.returncode == 0 and r.stdout == "",
              "partial addresses, -v warning: quiet success")
        cfg = read(os.path.join(tmp, "config", "config.yaml"))
        check(cfg.count(PLACEHOLDER) == 2 and BACKENDS[0] in cfg,
              "one address, two placeholders")
        torrc = read(os.path.join(tmp, "config", "node3", "torrc"))
        check("HiddenServicePort 80 unix:/run/web.sock\n" in torrc,
              "unix target in torrc")


def test_import_tor_key():
    """--key with tor's hs_ed25519_secret_key: same address, same bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "hs_ed25519_secret_key")
        want = make_tor_key(src, 7)
        r = run(["--key", src, "--no-interactive", "-v", "debug"], tmp)
        check(r.returncode == 0, "tor key import: exit %d %r"
              % (r.returncode, r.stderr))
        dst = os.path.join(tmp, "config", want + ".key")
        check(os.path.exists(dst), "tor key written as <address>.key")
        if not os.path.exists(dst):
            return
        with open(src, "rb") as a, open(dst, "rb") as b:
            check(a.read() == b.read(), "tor key copied byte for byte")
        check(stat.S_IMODE(os.stat(dst).st_mode) == 0o600, "mode 0600")
        check("tor's format" in r.stdout and "Wrote " in r.stdout,
              "summary says tor's format, -v debug lists files")
        check(want in read(os.path.join(tmp, "config", "node1",
                                        "ob_config")),
              "ob_config names the imported address")


def test_import_pem_key():
    """--key with a PEM key (OpenSSL's): the address OpenSSL derives."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(DATA, "keys", "openssl-ed25519.pem")
        pub = bytes.fromhex(read(os.path.join(
            DATA, "keys", "openssl-ed25519.pub.hex")).strip())
        want = onion_address(pub)
        r = run(["--key", src, "--output", "o"], tmp)
        check(r.returncode == 0, "PEM import: exit %d" % r.returncode)
        dst = os.path.join(tmp, "o", want + ".key")
        check(os.path.exists(dst), "PEM key written as <address>.key")
        if os.path.exists(dst):
            check(pem_seed(read(dst)) == pem_seed(read(src)),
                  "PEM key written with the same seed")
            check(stat.S_IMODE(os.stat(dst).st_mode) == 0o600, "mode 0600")


def test_umask_does_not_change_key_mode():
    with tempfile.TemporaryDirectory() as tmp:
        old = os.umask(0o277)
        try:
            r = run(["--no-interactive"], tmp)
        finally:
            os.umask(old)
        keys = [f for f in os.listdir(os.path.join(tmp, "config"))
                if f.endswith(".key")] if r.returncode == 0 else []
        check(len(keys) == 1 and stat.S_IMODE(os.stat(os.path.join(
            tmp, "config", keys[0])).st_mode) == 0o600,
            "key mode 0600 under umask 0277")


def test_refuses_to_overwrite():
    with tempfile.TemporaryDirectory() as tmp:
        check(run(["--no-interactive"], tmp).returncode == 0, "first run")
        expect_error(["--no-interactive"],
                     "output directory config/ already contains "
                     "config.yaml: refusing to overwrite it", tmp)
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "config", "node2"))
        expect_error(["--no-interactive"],
                     "config/node2 already exists: refusing to overwrite",
                     tmp)
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "k")
        addr = make_tor_key(src, 9)
        os.mkdir(os.path.join(tmp, "out"))
        with open(os.path.join(tmp, "out", addr + ".key"), "w") as f:
            f.write("old key\n")
        expect_error(["--key", src, "--output", "out"],
                     "out/%s.key already exists" % addr, tmp)
    with tempfile.TemporaryDirectory() as tmp:
        # A new nested output directory is removed again on refusal.
        os.makedirs(os.path.join(tmp, "x"))
        os.symlink("nowhere", os.path.join(tmp, "x", "README"))
        expect_error(["--output", "x"], "x/README already exists", tmp)


def small_file_limit():
    """Files may grow to 200 bytes; a larger write fails with EFBIG."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))


def test_write_error_removes_everything():
    """A write that fails part-way leaves nothing behind, new dirs included.
    The key (119 bytes) is written; the first torrc is not."""
    with tempfile.TemporaryDirectory() as tmp:
        expect_error(["--output", "a/b"], "cannot write a/b/node1/torrc: "
                     "File too large", tmp, preexec=small_file_limit)


def test_key_errors():
    with tempfile.TemporaryDirectory() as tmp:
        expect_error(["--key", "missing"],
                     "cannot read key file missing: No such file or "
                     "directory", tmp)
        expect_error(["--key", "."], "key file .: not a regular file", tmp)
        with open(os.path.join(tmp, "garbage"), "w") as f:
            f.write("hello\n")
        expect_error(["--key", "garbage"], "key file garbage: neither a PEM "
                     "key nor a tor hs_ed25519_secret_key file", tmp)
        with open(os.path.join(tmp, "short"), "wb") as f:
            f.write(TOR_HEADER + bytes(32))
        expect_error(["--key", "short"],
                     "key file short: tor key file is not 96 bytes long", tmp)
        enc = os.path.join(DATA, "keys", "openssl-ed25519-encrypted.pem")
        expect_error(["--key", enc], "PEM key is encrypted; decrypt it "
                     "first", tmp)
        make_tor_key(os.path.join(tmp, "k"), 3)
        expect_error(["-s", "2", "--key", "k", "--key", "k"],
                     "services 1 and 2 have the same key", tmp)
        expect_error(["--key", "k", "--key", "k"],
                     "--key: given 2 times for 1 service (-s)", tmp)


def unprivileged_user():
    """A uid to run as for permission tests, or None (then: skipped)."""
    if os.geteuid() != 0:
        return -1
    if shutil.which("setpriv") is None:
        return None
    return 65534


def test_permission_errors():
    user = unprivileged_user()
    if user is None:
        print("SKIP: permission tests (root without setpriv)")
        return
    as_user = None if user == -1 else user
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        key = os.path.join(tmp, "k")
        make_tor_key(key, 5)
        os.chmod(key, 0o000)
        if as_user is not None:
            os.chown(key, 0, 0)
        uid = as_user if as_user is not None else os.geteuid()
        work = os.path.join(tmp, "work")
        os.mkdir(work)
        os.chmod(work, 0o777)
        expect_error(["--key", key, "--output", "o"],
                     "cannot read key file %s: Permission denied (owner uid "
                     "%d, mode 0000; this program runs as uid %d)"
                     % (key, os.stat(key).st_uid, uid), work, user=as_user)
        ro = os.path.join(tmp, "ro")
        os.mkdir(ro, 0o555)
        os.chmod(ro, 0o555)
        expect_error(["--output", "ro/new/deeper"],
                     "cannot create output directory ro/new: Permission "
                     "denied", tmp, user=as_user)
        expect_error(["--output", "ro"], "output directory ro is not "
                     "writable: Permission denied", tmp, user=as_user)


def test_address_errors():
    good = BACKENDS[0]
    bad_sum = good[:50] + ("a" if good[50] != "a" else "b") + good[51:]
    cases = [
        (bad_sum, "bad checksum (mistyped?)"),
        (good[:55], "not 56 characters long"),
        (good[:55] + "1", "not base32"),
        ("k6udx3rspbeemwob5ij4ckqmsitz736vnjs3fm4j6z655onotjscfkae",
         "not a version 3 address"),
        ("aeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaahmjqd",
         "not a valid ed25519 public key"),
        ("duskgytldkxiuqc6.onion", "a version 2 address (16 characters), "
         "and tor removed v2 onion services in 0.4.6: give the v3 address "
         "(56 characters) of the service"),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for addr, why in cases:
            expect_error(["--instance-address", addr],
                         '--instance-address: "%s" is not a v3 onion '
                         'address: %s' % (addr, why), tmp, status=2)
        expect_error(["-n", "1", "--instance-address", good,
                      "--instance-address", BACKENDS[1]],
                     "--instance-address: given 2 times for 1 instances "
                     "(-s 1, -n 1)", tmp)
        expect_error(["--instance-address", good, "--instance-address",
                      good + ".onion"],
                     "instances node1 and node2 of service 1 have the same "
                     "address %s.onion" % good, tmp)
        expect_error(["-s", "2", "-n", "1", "--instance-address", good,
                      "--instance-address", good],
                     "instance node1 of service 1 and instance node1 of "
                     "service 2 have the same address", tmp)
        src = os.path.join(tmp, "k")
        addr = make_tor_key(src, 4)
        expect_error(["--key", "k", "--instance-address", addr],
                     "instance node1 of service 1: %s.onion is the "
                     "frontend's own address" % addr, tmp)


def test_option_errors():
    cases = [
        (["-n", "0"], '-n: "0" is not a number from 1 to 1000'),
        (["-n", "x"], '-n: "x" is not a number from 1 to 1000'),
        (["-n", "1001"], '-n: "1001" is not a number from 1 to 1000'),
        (["-n", "-1"], '-n: "-1" is not a number from 1 to 1000'),
        (["-s", "65"], '-s: "65" is not a number from 1 to 64'),
        (["--service-virtual-port", "0"],
         '--service-virtual-port: "0" is not a number from 1 to 65535'),
        (["--service-virtual-port", "65536"],
         '--service-virtual-port: "65536" is not a number'),
        (["--service-target", "localhost:80"],
         '--service-target: "localhost:80" is not PORT, IPv4:PORT, '
         '[IPv6]:PORT or unix:/PATH'),
        (["--service-target", "127.0.0.1:0"], "is not PORT, IPv4:PORT"),
        (["--service-target", "::1:80"], "is not PORT, IPv4:PORT"),
        (["--service-target", "70000"], "not a port from 1 to 65535"),
        (["--service-target", "unix:web.sock"],
         "a unix socket target needs an absolute path"),
        (["--service-target", "80 #"], "not one word of printable"),
        (["--service-target", "80\nHiddenServiceDir /tmp"],
         '"80\\x0aHiddenServiceDir /tmp" is not one word of printable'),
        (["--output", "a\nb"], '--output: "a\\x0ab" has a control'),
        (["-t", "9node"], '--tag: "9node" is not a tag'),
        (["-t", "a/b"], '--tag: "a/b" is not a tag'),
        (["-t", "a" * 33], "is not a tag: 1 to 32 letters"),
        (["--hs-version", "v2"], 'only v3 onion services exist'),
        (["-p", "secret"], "-p/--password: encrypted master keys are not "
         "supported"),
        (["-v", "loud"], '-v: "loud" is not one of debug, info'),
        (["--hs-dir-base", "tor"], '--hs-dir-base: "tor" is not an '
         'absolute path'),
        (["--hs-dir-base", "/var/lib/my tor"], "is not an absolute path"),
        (["--output", ""], "--output: an empty name is not a directory"),
        (["--no-interactive", "extra"], 'unexpected argument "extra"'),
        (["--bogus"], "unknown option --bogus (see --help)"),
        (["-x"], "unknown option -x (see --help)"),
        (["--key"], "option --key needs a value (see --help)"),
        (["-n"], "option -n needs a value (see --help)"),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for args, message in cases:
            expect_error(args, message, tmp, status=2)
        with open(os.path.join(tmp, "file"), "w") as f:
            f.write("x")
        expect_error(["--output", "file"],
                     "output file exists and is not a directory", tmp)


def test_accepted_targets():
    with tempfile.TemporaryDirectory() as tmp:
        for n, target in enumerate(["8080", "[::1]:8080", "10.1.2.3:65535"]):
            r = run(["--service-target", target, "--output", "o%d" % n], tmp)
            check(r.returncode == 0, "target %s accepted" % target)
            if r.returncode == 0:
                check("HiddenServicePort 80 %s\n" % target in read(
                    os.path.join(tmp, "o%d" % n, "node1", "torrc")),
                    "target %s in torrc" % target)


def test_help_and_version():
    with tempfile.TemporaryDirectory() as tmp:
        r = run(["--version"], tmp)
        check(r.returncode == 0 and
              r.stdout.startswith("onionbalanced-config "), "--version")
        r = run(["-h"], tmp)
        check(r.returncode == 0 and r.stdout.startswith("usage:"), "-h")
        check(os.listdir(tmp) == [], "--version and -h write nothing")


INTERACTIVE_ANSWERS = [
    "out",                  # output directory
    "",                     # services: 1
    "",                     # key: generate
    "nine",                 # instances: bad, asked again
    "3",                    # instances
    "web",                  # tag
    "8080",                 # virtual port
    "",                     # target: 127.0.0.1:8080
    "not-an-address",       # instance 1: bad, asked again
    BACKENDS[0],            # instance 1
    "",                     # instance 2: unknown
    BACKENDS[1] + ".onion",  # instance 3
]


def check_interactive_output(tmp, what):
    out = os.path.join(tmp, "out")
    if not os.path.exists(os.path.join(out, "config.yaml")):
        check(False, "%s: config.yaml written" % what)
        return
    cfg = read(os.path.join(out, "config.yaml"))
    check(re.fullmatch(
        r"# Onionbalance Config File\nservices:\n- instances:\n"
        r"  - address: %s\n    name: web1\n"
        r"  - address: %s\n    name: web2\n"
        r"  - address: %s\n    name: web3\n"
        r"  key: [a-z2-7]{56}\.key\n" % (BACKENDS[0], re.escape(PLACEHOLDER),
                                        BACKENDS[1]), cfg) is not None,
          "%s: config.yaml %r" % (what, cfg))
    frontend = re.search(r"key: ([a-z2-7]{56})\.key", cfg).group(1)
    check_instance_folder(os.path.join(out, "web2"), frontend, "web2", 8080,
                          "127.0.0.1:8080")


def test_interactive_piped():
    """No arguments: questions on stdout, answers from a pipe."""
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([BINARY], cwd=tmp,
                           input="\n".join(INTERACTIVE_ANSWERS) + "\n",
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "interactive: exit %d %r"
              % (r.returncode, r.stderr))
        for q in ("Enter path to store generated config [config/]: ",
                  "Number of services (frontends) to create (default: 1): ",
                  "Service #1: Enter path to master service private key",
                  "Service #1: Number of instance services to create "
                  "(default: 2): ",
                  "Service #1: Provide a tag name to group these instances "
                  "[node]: ",
                  "(where your service is listening) [127.0.0.1:8080]: "):
            check(q in r.stdout, "interactive asks %r" % q)
        check(r.stderr.count(PROG) == 2,
              "interactive: two bad answers said: %r" % r.stderr)
        check_interactive_output(tmp, "interactive")
    with tempfile.TemporaryDirectory() as tmp:
        # "-v LEVEL" alone keeps the interactive mode (Onionbalance's rule).
        r = subprocess.run([BINARY, "-v", "info"], cwd=tmp,
                           input="\n".join(INTERACTIVE_ANSWERS[:6]) + "\n",
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 1 and "end of input at a question" in r.stderr,
              "interactive: end of input gives up: %r" % r.stderr)
        check(os.listdir(tmp) == [], "interactive: EOF writes nothing")


# Two services, so that the input also ends inside the second one.
CUT_ANSWERS = [
    "out",                  # output directory
    "2",                    # services
    "",                     # service 1: key: generate
    "1",                    # service 1: instances
    "",                     # service 1: tag
    "",                     # service 1: virtual port
    "",                     # service 1: target
    "",                     # service 1: instance 1 unknown
    "",                     # service 2: key: generate
    "2",                    # service 2: instances
    "web",                  # service 2: tag
    "80",                   # service 2: virtual port
    "127.0.0.1:80",         # service 2: target
    BACKENDS[0],            # service 2: instance 1
    "",                     # service 2: instance 2 unknown
]


def test_interactive_cut_at_every_question():
    """Input that ends at any question: exit 1, one line, never a signal."""
    for n in range(len(CUT_ANSWERS)):
        text = "".join(a + "\n" for a in CUT_ANSWERS[:n])
        with tempfile.TemporaryDirectory() as tmp:
            r = subprocess.run([BINARY], cwd=tmp, input=text,
                               capture_output=True, text=True, timeout=60)
            what = "input cut after %d answers" % n
            check(r.returncode == 1, "%s: exit %d, want 1: %r"
                  % (what, r.returncode, r.stderr[-400:]))
            check(r.stderr == PROG + "end of input at a question; nothing "
                  "written (use --no-interactive to take all defaults)\n",
                  "%s: stderr %r" % (what, r.stderr[-400:]))
            check(os.listdir(tmp) == [], "%s: wrote files" % what)
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([BINARY], cwd=tmp,
                           input="".join(a + "\n" for a in CUT_ANSWERS),
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "uncut input: exit %d %r"
              % (r.returncode, r.stderr))


def test_interactive_pty():
    """The same questions on a terminal."""
    with tempfile.TemporaryDirectory() as tmp:
        pid, fd = pty.fork()
        if pid == 0:
            os.chdir(tmp)
            os.execv(BINARY, [BINARY])
        os.write(fd, ("\n".join(INTERACTIVE_ANSWERS) + "\n").encode())
        output = b""
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        _, status = os.waitpid(pid, 0)
        check(os.waitstatus_to_exitcode(status) == 0,
              "pty: exit status %r: %r" % (status, output[-400:]))
        check(b"Done!" in output, "pty: summary printed")
        check_interactive_output(tmp, "pty")


def test_onionbalance_reads_keys():
    """If Debian's onionbalance is installed: it reads our keys too."""
    try:
        from cryptography.hazmat.primitives import serialization
        from onionbalance.hs_v3 import tor_ed25519
    except ImportError:
        print("SKIP: onionbalance or python3-cryptography not installed")
        return
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "hs_ed25519_secret_key")
        tor_addr = make_tor_key(src, 11)
        check(run(["-s", "2", "--key", src], tmp).returncode == 0,
              "onionbalance oracle: generated")
        raw = serialization.PublicFormat.Raw
        for name in os.listdir(os.path.join(tmp, "config")):
            if not name.endswith(".key"):
                continue
            with open(os.path.join(tmp, "config", name), "rb") as f:
                data = f.read()
            if name[:-4] == tor_addr:
                key = tor_ed25519.load_tor_key_from_disk(data)
            else:
                key = serialization.load_pem_private_key(data, None)
            pub = key.public_key().public_bytes(
                serialization.Encoding.Raw, raw)
            check(onion_address(pub) == name[:-4],
                  "onionbalance reads %s as its address" % name)


def x25519_base(k):
    """RFC 7748's X25519(k, 9), clamping k as the RFC says."""
    k = bytearray(k)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    n = int.from_bytes(k, "little")
    x1, x2, z2, x3, z3, swap = 9, 1, 0, 9, 1, 0
    for t in reversed(range(255)):
        bit = (n >> t) & 1
        swap ^= bit
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = bit
        a, b = (x2 + z2) % P, (x2 - z2) % P
        aa, bb = a * a % P, b * b % P
        e = (aa - bb) % P
        c, d = (x3 + z3) % P, (x3 - z3) % P
        da, cb = d * a % P, c * b % P
        x3 = (da + cb) ** 2 % P
        z3 = x1 * (da - cb) ** 2 % P
        x2 = aa * bb % P
        z2 = e * (aa + 121665 * e) % P
    if swap:
        x2, x3, z2, z3 = x3, x2, z3, z2
    return (x2 * pow(z2, P - 2, P) % P).to_bytes(32, "little")


def b32decode(text):
    text = text.upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def test_x25519_oracle():
    # RFC 7748 section 6.1: Alice's key pair
    sk = bytes.fromhex("77076d0a7318a57d3c16c17251b26645"
                       "df4c2f87ebc0992ab177fba51db92c2a")
    check(x25519_base(sk).hex() == "8520f0098930a754748b7ddcb43ef75a"
          "0dbf3a0d26381af4eba4a98eaa9b4e6a", "x25519 oracle: RFC 7748")


def test_add_client():
    frontend = BACKENDS[0]
    with tempfile.TemporaryDirectory() as tmp:
        os.mkdir(os.path.join(tmp, "clients"))
        os.mkdir(os.path.join(tmp, "out"))
        r = run(["add-client", "--address", frontend + ".onion", "--name",
                 "alice", "--authorized-clients", "clients", "--output",
                 "out"], tmp)
        check(r.returncode == 0, "add-client: exit %d: %s"
              % (r.returncode, r.stderr))
        pub_line = read(os.path.join(tmp, "clients", "alice.auth"))
        priv_path = os.path.join(tmp, "out", "alice.auth_private")
        priv_line = read(priv_path)
        check(stat.S_IMODE(os.stat(priv_path).st_mode) == 0o600,
              "add-client: the private half is mode 0600")
        m = re.fullmatch(r"descriptor:x25519:([a-z2-7]{52})\n", pub_line)
        check(m is not None, "add-client: .auth is tor's line: %r"
              % pub_line)
        n = re.fullmatch(r"([a-z2-7]{56}):descriptor:x25519:([a-z2-7]{52})"
                         r"\n", priv_line)
        check(n is not None, "add-client: .auth_private is tor's line: %r"
              % priv_line)
        if m and n:
            check(n.group(1) == frontend,
                  "add-client: .auth_private names the frontend")
            check(x25519_base(b32decode(n.group(2))) ==
                  b32decode(m.group(1)),
                  "add-client: the public half is X25519(private, 9)")
        expect_error(["add-client", "--address", frontend, "--name",
                      "alice", "--authorized-clients", "clients"],
                     "clients/alice.auth: File exists", tmp)
        expect_error(["add-client", "--address", "abc", "--name", "bob",
                      "--authorized-clients", "clients"],
                     "is not a v3 onion address", tmp, status=2)
        expect_error(["add-client", "--address", frontend, "--name",
                      "../bob", "--authorized-clients", "clients"],
                     "--name: \"../bob\"", tmp, status=2)
        # the private half cannot be written: no public half is left
        expect_error(["add-client", "--address", frontend, "--name",
                      "carol", "--authorized-clients", "clients",
                      "--output", "missing"],
                     "missing/carol.auth_private", tmp)


def main():
    tests = [v for k, v in sorted(globals().items())
             if k.startswith("test_") and callable(v)]
    for t in tests:
        t()
    print("%d tests, %d failures" % (len(tests), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
