"""A private Tor network on 127.0.0.1 for onionbalanced's tests and demo.

    with Network(backends=3, relays=4) as net:
        net.start()
        net.wait_ready()
        result = net.fetch("http://" + net.backend_addresses[0] + "/")
        assert result.backend == "be0"

The network: 3 directory authorities, N relays (every other one an exit
that only exits to 127.0.0.0/8), K onion-service backends each in front
of a tiny HTTP server that answers with its name, a management tor (for
onionbalanced: ControlPort and ControlSocket, cookie auth) and a client
tor (SocksPort).  Everything listens on 127.0.0.1 only.  See
docs/testnet.md for the layout, the readiness steps and the gotchas.

Only the Python standard library and Debian's tor are used.
"""

import atexit
import glob
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

import ports
import socksfetch
import torcontrol

HERE = os.path.dirname(os.path.abspath(__file__))
TOR = shutil.which("tor") or "/usr/sbin/tor"
TOR_GENCERT = shutil.which("tor-gencert") or "/usr/bin/tor-gencert"
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") \
    else sys.executable

N_AUTHORITIES = 3
DEFAULT_RELAYS = 4
DEFAULT_BACKENDS = 3
# Onionbalance's --is-testnet mode hard-codes a 20 s voting interval for
# its time-period arithmetic, so the network must vote every 20 s.
VOTING_INTERVAL = 20
VOTE_DELAY = 4
DIST_DELAY = 4
# Launch this long before a vote (see Network._align_with_voting), or up
# to LAUNCH_SLACK seconds later.
LAUNCH_LEAD = 8
LAUNCH_SLACK = 3
PROGRESS_EVERY = 15
STOP_GRACE = 5.0
UNIX_PATH_MAX = 107
# tor applies at most one NEWNYM per 10 s (MAX_SIGNEWNYM_RATE, fixed)
NEWNYM_SPACING = 10.5
# Management tors a network may have (mgmt_nodes): one per management host.
MAX_MGMT_NODES = 2
# Services a backend tor may run (services_per_backend; bench/run-online
# --scale runs 6 x 10).
MAX_SERVICES_PER_BACKEND = 10


# An HSDir upload unanswered this long no longer holds up "uploaded"
# (at least one other upload of that descriptor has succeeded).
UPLOAD_STRAGGLER_S = 30


class TestnetError(Exception):
    pass


def _log(msg):
    print(f"testnet: {msg}", file=sys.stderr, flush=True)


class FetchResult:
    """What fetch() got: HTTP status, body, the backend name the body
    names (or None), and how long the request took."""

    def __init__(self, status, body, backend, seconds):
        self.status = status
        self.body = body
        self.backend = backend
        self.seconds = seconds

    def __repr__(self):
        return (f"FetchResult(status={self.status}, backend={self.backend!r},"
                f" seconds={self.seconds:.2f})")


class Network:
    """One private Tor network in one work directory.

    Create with Network(...) for a new network or Network.load(workdir)
    for one that is already running (the CLI does that).  Used as a
    context manager it always stops what it started, also on an exception,
    SIGINT or SIGTERM; the workdir is deleted after a clean run unless
    keep is set, and kept (its path printed) after a failure."""

    def __init__(self, workdir=None, relays=DEFAULT_RELAYS,
                 backends=DEFAULT_BACKENDS, keep=False, owned=True,
                 services_per_backend=1, backend_intro_points=None,
                 clients=1, mgmt_nodes=1):
        if relays < 2:
            raise ValueError("a network needs at least 2 relays")
        if backends < 0:
            raise ValueError("backends must be >= 0")
        if not 1 <= services_per_backend <= MAX_SERVICES_PER_BACKEND:
            raise ValueError(f"services_per_backend must be 1.."
                             f"{MAX_SERVICES_PER_BACKEND}")
        if backend_intro_points is not None and \
                not 3 <= backend_intro_points <= 20:
            # tor: NUM_INTRO_POINTS_DEFAULT (3) .. HS_CONFIG_V3_MAX_INTRO_POINTS
            raise ValueError("backend_intro_points must be 3..20")
        if clients < 1:
            raise ValueError("a network needs at least 1 client")
        if not 1 <= mgmt_nodes <= MAX_MGMT_NODES:
            raise ValueError(f"mgmt_nodes must be 1..{MAX_MGMT_NODES}")
        self.keep = keep
        self.owner_pid = os.getpid() if owned else 0
        self.n_relays = relays
        self.n_backends = backends
        self.services_per_backend = services_per_backend
        self.backend_intro_points = backend_intro_points
        self.n_clients = clients
        self.n_mgmt = mgmt_nodes
        self._last_newnym = {}
        self.workdir = os.path.abspath(workdir) if workdir else None
        self.nodes = {}
        self.base_port = None
        self.lock_path = None
        self.timings = {}
        self.backend_addresses = []     # each backend tor's first service
        self.service_addresses = []     # every service, in service_names' order
        self._controllers = {}
        self._consensus_full_at = {}
        self._uploads = {}
        self._why = {}
        self._closed = False
        self._atexit_registered = False

    # -- persistence (for the CLI) ------------------------------------

    @classmethod
    def load(cls, workdir):
        workdir = os.path.abspath(workdir)
        try:
            with open(os.path.join(workdir, "state.json")) as f:
                state = json.load(f)
        except (OSError, ValueError) as e:
            raise TestnetError(f"{workdir}: no usable state.json ({e})")
        net = cls(workdir, state["relays"], state["backends"], owned=False,
                  services_per_backend=state.get("services_per_backend", 1),
                  backend_intro_points=state.get("backend_intro_points"),
                  clients=state.get("clients", 1),
                  mgmt_nodes=state.get("mgmt_nodes", 1))
        net.owner_pid = state["owner_pid"]
        net.nodes = state["nodes"]
        net.base_port = state["base_port"]
        net.lock_path = state["lock_path"]
        net.timings = state.get("timings", {})
        net.backend_addresses = state.get("backend_addresses", [])
        net.service_addresses = state.get("service_addresses",
                                          net.backend_addresses)
        return net

    def save(self):
        state = {
            "workdir": self.workdir,
            "relays": self.n_relays,
            "backends": self.n_backends,
            "services_per_backend": self.services_per_backend,
            "backend_intro_points": self.backend_intro_points,
            "clients": self.n_clients,
            "mgmt_nodes": self.n_mgmt,
            "owner_pid": self.owner_pid,
            "base_port": self.base_port,
            "lock_path": self.lock_path,
            "nodes": self.nodes,
            "backend_addresses": self.backend_addresses,
            "service_addresses": self.service_addresses,
            "timings": self.timings,
            "mgmt": self.mgmt_info() if self.nodes else None,
            "client_socks_port": self.client_socks_port if self.nodes
            else None,
        }
        tmp = os.path.join(self.workdir, "state.json.tmp")
        with open(tmp, "w") as f:
            json.dump(state, f, indent=2)
            f.write("\n")
        os.replace(tmp, os.path.join(self.workdir, "state.json"))

    # -- what a test needs ----------------------------------------------

    def node_dir(self, name):
        return os.path.join(self.workdir, name)

    def names(self, kind):
        return [n for n, v in self.nodes.items() if v["kind"] == kind]

    @property
    def backend_names(self):
        return self.names("backend")

    @property
    def client_names(self):
        return self.names("client")

    @property
    def service_names(self):
        """Every onion service of the backends, be0's first: a backend
        tor's first service has its name (be0), the others be0s1, be0s2,
        ... (services_per_backend)."""
        return [s["name"] for b in self.backend_names
                for s in self.backend_services(b)]

    def backend_services(self, name):
        """The onion services of backend tor name: their names, hidden
        service directories and HTTP ports, the first one's as ever."""
        services = []
        for j in range(self.services_per_backend):
            suffix = "" if j == 0 else str(j)
            services.append({
                "name": name if j == 0 else f"{name}s{j}",
                "backend": name,
                "hs_dir": os.path.join(self.node_dir(name), "hs" + suffix),
                "http_port": self.nodes[name]["ports"]["http" + suffix],
                "httpd_pidfile": os.path.join(self.node_dir(name),
                                              f"httpd{suffix}.pid"),
            })
        return services

    def service_backend(self, service):
        """The backend tor that runs the onion service named service."""
        for b in self.backend_names:
            if any(s["name"] == service for s in self.backend_services(b)):
                return b
        raise KeyError(service)

    def service_address(self, service):
        return self.service_addresses[self.service_names.index(service)]

    @property
    def relay_names(self):
        return self.names("authority") + self.names("relay")

    @property
    def client_socks_port(self):
        return self.nodes["client"]["ports"]["socks"]

    @property
    def mgmt_names(self):
        """The management tors: "mgmt", and "mgmt2" with mgmt_nodes=2
        (two management hosts with one key, test_multihost.py)."""
        return self.names("mgmt")

    @property
    def mgmt_control_port(self):
        return self.mgmt_port_of("mgmt")

    @property
    def mgmt_control_socket(self):
        return self.mgmt_socket_of("mgmt")

    def mgmt_port_of(self, name):
        """The ControlPort of management tor name."""
        return self.nodes[name]["ports"]["control"]

    def mgmt_socket_of(self, name):
        """The ControlSocket of management tor name."""
        return os.path.join(self.node_dir(name), "control.sock")

    @property
    def mgmt_cookie_path(self):
        return os.path.join(self.node_dir("mgmt"), "control_auth_cookie")

    def mgmt_info(self):
        return {
            "control_port": self.mgmt_control_port,
            "control_socket": self.mgmt_control_socket,
            "cookie_path": self.mgmt_cookie_path,
        }

    def log_path(self, name, level="notice"):
        return os.path.join(self.node_dir(name), f"{level}.log")

    def controller(self, name):
        """A new authenticated control connection to node name."""
        port = self.nodes[name]["ports"]["control"]
        ctl = torcontrol.Controller.connect_tcp(port, name=name)
        try:
            ctl.authenticate(os.path.join(self.node_dir(name),
                                          "control_auth_cookie"))
        except Exception:
            ctl.close()
            raise
        return ctl

    # -- context manager and teardown -----------------------------------

    def __enter__(self):
        self._install_teardown()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(success=exc_type is None)
        return False

    def _install_teardown(self):
        if not self._atexit_registered:
            atexit.register(self.close, success=False)
            self._atexit_registered = True
        # SIGTERM (meson's timeout, kill) becomes an exception, so
        # __exit__ and finally blocks run; SIGINT already raises
        # KeyboardInterrupt.
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) in (signal.SIG_DFL, None):
                signal.signal(sig, _raise_system_exit)

    def detach(self):
        """Leave the network running when this process exits (the CLI's
        `up`); someone calls `testnet down` later."""
        if self._atexit_registered:
            atexit.unregister(self.close)
            self._atexit_registered = False
        self._closed = True
        for ctl in self._controllers.values():
            ctl.close()
        self._controllers.clear()

    def close(self, success=True):
        """Stop everything; delete the workdir after a clean run unless
        keep is set, otherwise keep it and say where it is."""
        if self._closed:
            return
        self._closed = True
        self.stop()
        if self.workdir is None or not os.path.isdir(self.workdir):
            return
        if success and not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            why = "kept (--keep)" if success else "kept for inspection"
            _log(f"work directory {why}: {self.workdir}")
            _log(f"  logs: {self.workdir}/<node>/notice.log and info.log, "
                 f"{self.workdir}/<backend>/httpd.log")

    def stop(self):
        """Stop exactly the processes of this network (pid files), then
        release the port block.  A second SIGINT or SIGTERM (an impatient
        user, meson giving up) must not cut this short, or processes that
        need the SIGKILL would be left behind."""
        saved = _ignore_signals()
        try:
            self._stop()
        finally:
            _restore_signals(saved)

    def _stop(self):
        for ctl in self._controllers.values():
            ctl.close()
        self._controllers.clear()
        if self.workdir is None:
            return
        pidfiles = ports.workdir_pidfiles(self.workdir)
        _terminate(pidfiles, self.workdir)
        if self.lock_path:
            ports.release_block(self.lock_path, self.workdir)

    # -- creation ---------------------------------------------------------

    def create(self):
        """Make the workdir, take a port block, generate authority keys
        and write every torrc.  Nothing is started."""
        self._install_teardown()
        _check_programs()
        if self.workdir is None:
            parent = os.environ.get("OB_TESTNET_TMPDIR") or None
            self.workdir = tempfile.mkdtemp(prefix="obtestnet-", dir=parent)
        else:
            os.makedirs(self.workdir, mode=0o700)
        sock = os.path.join(self.workdir, "mgmt", "control.sock")
        if len(sock) > UNIX_PATH_MAX:
            raise TestnetError(f"workdir path too long for a unix socket: "
                               f"{sock}")
        t0 = time.monotonic()
        self._plan_nodes()
        self.base_port, self.lock_path = ports.allocate_block(
            self.workdir, self._ports_needed())
        self._assign_ports()
        for name in self.nodes:
            os.mkdir(self.node_dir(name), 0o700)
        self._make_authority_keys()
        self._write_all_torrcs()
        self.save()
        self.timings["create"] = round(time.monotonic() - t0, 1)
        _log(f"created in {self.workdir} (ports {self.base_port}-"
             f"{self.base_port + ports.BLOCK_SIZE - 1}) in "
             f"{self.timings['create']} s")

    def _plan_nodes(self):
        plan = [(f"a{i}", "authority", False) for i in range(N_AUTHORITIES)]
        # Every other relay is an exit (exiting to loopback only).
        plan += [(f"r{i}", "relay", i % 2 == 0) for i in range(self.n_relays)]
        plan += [(f"be{i}", "backend", False)
                 for i in range(self.n_backends)]
        plan += [("mgmt", "mgmt", False)]
        plan += [(f"mgmt{i}", "mgmt", False)
                 for i in range(2, self.n_mgmt + 1)]
        plan += [("client", "client", False)]
        plan += [(f"client{i}", "client", False)
                 for i in range(1, self.n_clients)]
        for name, kind, exit_ in plan:
            self.nodes[name] = {"kind": kind, "exit": exit_, "ports": {},
                                "ob_frontend": None}

    def _port_names(self, kind):
        return {
            "authority": ["or", "dir", "control"],
            "relay": ["or", "dir", "control"],
            # one web server per onion service: http, http1, http2, ...
            "backend": ["control", "http"] + [
                f"http{j}" for j in range(1, self.services_per_backend)],
            "mgmt": ["control"],
            "client": ["control", "socks"],
        }[kind]

    def _ports_needed(self):
        return sum(len(self._port_names(n["kind"]))
                   for n in self.nodes.values())

    def _assign_ports(self):
        port = self.base_port
        for node in self.nodes.values():
            for what in self._port_names(node["kind"]):
                node["ports"][what] = port
                port += 1

    def _make_authority_keys(self):
        """tor-gencert for the v3 identity, tor --list-fingerprint for the
        relay identity; all authorities at once."""
        procs = []
        for name in self.names("authority"):
            d = self.node_dir(name)
            os.mkdir(os.path.join(d, "keys"), 0o700)
            dirport = self.nodes[name]["ports"]["dir"]
            procs.append(_spawn_checked(
                [TOR_GENCERT, "--create-identity-key", "--passphrase-fd", "0",
                 "-i", "keys/authority_identity_key",
                 "-s", "keys/authority_signing_key",
                 "-c", "keys/authority_certificate",
                 "-m", "12", "-a", f"127.0.0.1:{dirport}"],
                cwd=d, stdin_text="\n", what=f"{name}: tor-gencert"))
            procs.append(_spawn_checked(
                [TOR, "--ignore-missing-torrc", "-f", "/dev/null",
                 "--DataDirectory", d, "--ORPort", "1",
                 "--list-fingerprint"],
                cwd=d, what=f"{name}: tor --list-fingerprint"))
        outputs = [p() for p in procs]
        for i, name in enumerate(self.names("authority")):
            fp = outputs[2 * i + 1].strip().splitlines()[-1].split(" ", 1)[1]
            self.nodes[name]["fingerprint"] = fp.replace(" ", "")
            self.nodes[name]["v3ident"] = _cert_fingerprint(
                os.path.join(self.node_dir(name), "keys",
                             "authority_certificate"))

    # -- torrc --------------------------------------------------------------

    def _write_all_torrcs(self):
        for name in self.nodes:
            self._write_torrc(name)

    def _write_torrc(self, name):
        node = self.nodes[name]
        lines = self._common_torrc(name) + {
            "authority": self._authority_torrc,
            "relay": self._relay_torrc,
            "backend": self._backend_torrc,
            "mgmt": self._mgmt_torrc,
            "client": self._client_torrc,
        }[node["kind"]](name)
        with open(os.path.join(self.node_dir(name), "torrc"), "w") as f:
            f.write("\n".join(lines) + "\n")

    def _common_torrc(self, name):
        d = self.node_dir(name)
        lines = [
            f"# {name}: generated by tests/testnet/testnet.py",
            "TestingTorNetwork 1",
            f"DataDirectory {d}",
            "RunAsDaemon 1",
            f"PidFile {d}/tor.pid",
            f"Nickname {name}",
            "Sandbox 0",
            "SafeLogging 0",
            f"Log notice file {d}/notice.log",
            f"Log info file {d}/info.log",
            f"ControlPort 127.0.0.1:{self.nodes[name]['ports']['control']}",
            "CookieAuthentication 1",
            "ShutdownWaitLength 2",
            "PathsNeededToBuildCircuits 0.67",
            "ClientUseIPv6 0",
        ]
        if self.nodes[name]["kind"] != "client":
            lines.append("SocksPort 0")
        if self.owner_pid:
            # tor exits by itself when the test process dies, even if it
            # was SIGKILLed and could not tear the network down.
            lines.append(f"__OwningControllerProcess {self.owner_pid}")
        for a in self.names("authority"):
            n = self.nodes[a]
            lines.append(f"DirAuthority {a} orport={n['ports']['or']} no-v2 "
                         f"v3ident={n['v3ident']} "
                         f"127.0.0.1:{n['ports']['dir']} {n['fingerprint']}")
        return lines

    def _server_torrc(self, name):
        p = self.nodes[name]["ports"]
        lines = [
            "Address 127.0.0.1",
            f"ORPort 127.0.0.1:{p['or']}",
            f"DirPort 127.0.0.1:{p['dir']}",
            # Without it a relay waits for its own reachability test;
            # with 20 relays that stalled bootstraps (recipe gotcha 6).
            "AssumeReachable 1",
            "ServerDNSDetectHijacking 0",
            "ServerDNSTestAddresses",
            "ServerDNSResolvConfFile /dev/null",
            # Every relay is a directory cache, and a cache keeps each
            # consensus for 8192 hours and, for each new one, computes a
            # diff from every older one in four compressions (tor's
            # consdiffmgr.c).  With a consensus every 20 s that work
            # grows with the network's age: ten minutes in, the tors
            # alone kept both cores of a CI machine busy (zeroing the
            # lzma and zstd encoders' tables) and circuits, fetches and
            # uploads stalled for a minute at a time.  A client here is at
            # most a consensus or two behind, so 45 s of diffs serve it
            # (a cache receives each consensus seconds after it becomes
            # valid, well within that age: consdiffmgr refuses older).
            "MaxConsensusAgeForDiffs 45 seconds",
        ]
        if self.nodes[name]["exit"]:
            lines += [
                "ExitRelay 1",
                "ExitPolicyRejectPrivate 0",
                "ExitPolicyRejectLocalInterfaces 0",
                "ExitPolicy accept 127.0.0.0/8:*",
                "ExitPolicy reject *:*",
            ]
        else:
            lines += ["ExitRelay 0", "ExitPolicy reject *:*"]
        return lines

    def _authority_torrc(self, name):
        iv = VOTING_INTERVAL
        return self._server_torrc(name) + [
            "AuthoritativeDirectory 1",
            "V3AuthoritativeDirectory 1",
            f"TestingV3AuthInitialVotingInterval {iv}",
            f"TestingV3AuthInitialVoteDelay {VOTE_DELAY}",
            f"TestingV3AuthInitialDistDelay {DIST_DELAY}",
            "TestingV3AuthVotingStartOffset 0",
            f"V3AuthVotingInterval {iv}",
            f"V3AuthVoteDelay {VOTE_DELAY}",
            f"V3AuthDistDelay {DIST_DELAY}",
            "V3AuthNIntervalsValid 2",
            "TestingDirAuthVoteExit *",
            "TestingDirAuthVoteGuard *",
            "TestingDirAuthVoteHSDir *",
            "TestingMinExitFlagThreshold 0",
        ]

    def _relay_torrc(self, name):
        return self._server_torrc(name)

    def _backend_torrc(self, name):
        node = self.nodes[name]
        lines = []
        for sv in self.backend_services(name):
            lines += [
                f"HiddenServiceDir {sv['hs_dir']}",
                "HiddenServiceVersion 3",
                f"HiddenServicePort 80 127.0.0.1:{sv['http_port']}",
            ]
            if self.backend_intro_points is not None:
                lines.append("HiddenServiceNumIntroductionPoints "
                             f"{self.backend_intro_points}")
            if node["ob_frontend"]:
                lines.append("HiddenServiceOnionbalanceInstance 1")
        return lines

    def _mgmt_torrc(self, name):
        return [f"ControlSocket {self.mgmt_socket_of(name)}"]

    def _client_torrc(self, name):
        # IsolateSOCKSAuth is on by default: a new SOCKS username is a new
        # circuit.  ExtendedErrors gives onion-specific SOCKS replies.
        return [f"SocksPort 127.0.0.1:{self.nodes[name]['ports']['socks']} "
                "ExtendedErrors"]

    # -- starting -----------------------------------------------------------

    def start(self, align=True):
        """Start the HTTP servers and every tor, all at once (order does
        not matter: every tor retries).  With align, first wait (at most
        one voting interval) for the moment that lets the relays into the
        first consensus; see _align_with_voting."""
        self._install_teardown()
        t0 = time.monotonic()
        if align:
            self._align_with_voting()
        self.timings["align_wait"] = round(time.monotonic() - t0, 1)
        self._t_start = time.monotonic()
        for name in self.backend_names:
            self._start_httpd(name)
        self._start_tors(list(self.nodes))
        self.timings["launch"] = round(time.monotonic() - self._t_start, 1)
        self._subscribe_backends(self.backend_names)
        self._read_backend_addresses()
        self.save()

    def _subscribe_backends(self, names):
        """Open the event connections of freshly launched backends now:
        tor logs no line when an upload succeeds, HS_DESC UPLOADED is the
        only sign, and a backend may upload long before wait_ready() runs
        (e.g. while a test waits for another network)."""
        for name in names:
            _wait_for(lambda: self._try_ctl(name), 30,
                      f"{name}: control port not answering")
            self._uploads[name]["watched_from_launch"] = True

    def _try_ctl(self, name):
        try:
            self._ctl(name)
            return True
        except (OSError, torcontrol.ControlError):
            return False

    def _align_with_voting(self):
        """Sleep until LAUNCH_LEAD seconds before the authorities' next
        vote.  valid-after times are multiples of the voting interval
        (TestingV3AuthVotingStartOffset 0) and the vote happens
        VOTE_DELAY + DIST_DELAY before them.  A relay uploads its
        descriptor about 3 s after launch and the authorities test its
        ORPort at once; if that happens before the first vote, the first
        consensus (8 s later) already lists every relay.  Otherwise the
        first consensus has the authorities only, the next one comes a
        voting interval later, and bootstrapped clients fetch it only
        late in its validity window: 30 to 40 s lost."""
        vote_phase = (-VOTE_DELAY - DIST_DELAY) % VOTING_INTERVAL
        launch_phase = (vote_phase - LAUNCH_LEAD) % VOTING_INTERVAL
        wait = (launch_phase - time.time()) % VOTING_INTERVAL
        if wait > VOTING_INTERVAL - LAUNCH_SLACK:
            wait = 0  # just past the ideal moment: still early enough
        if wait > 0.1:
            _log(f"waiting {wait:.1f} s to launch {LAUNCH_LEAD} s before "
                 "the next vote")
            time.sleep(wait)

    def _start_httpd(self, name):
        """Start the web servers of backend name, one per onion service,
        each answering with its service's name."""
        d = self.node_dir(name)
        for sv in self.backend_services(name):
            pidfile = sv["httpd_pidfile"]
            logname = os.path.basename(pidfile)[:-len(".pid")] + ".log"
            with open(os.path.join(d, logname), "ab") as log:
                subprocess.Popen(
                    [PYTHON, os.path.join(HERE, "namehttpd.py"), sv["name"],
                     str(sv["http_port"]), pidfile, str(self.owner_pid)],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    start_new_session=True)
            _wait_for(lambda: ports.read_pidfile(pidfile), 10,
                      f"{sv['name']}: HTTP server did not start (see "
                      f"{d}/{logname})")
            self._record_pid(f"{sv['name']}-httpd",
                             ports.read_pidfile(pidfile))

    def _start_tors(self, names):
        """Launch tor for each name; with RunAsDaemon the launcher exits
        once the daemon has opened its listeners, non-zero on a bad
        configuration."""
        launched = []
        for name in names:
            d = self.node_dir(name)
            log = open(os.path.join(d, "launch.log"), "ab")
            proc = subprocess.Popen([TOR, "-f", os.path.join(d, "torrc")],
                                    stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT,
                                    start_new_session=True)
            launched.append((name, proc, log))
        failed = []
        for name, proc, log in launched:
            if proc.wait(timeout=60) != 0:
                failed.append(name)
            log.close()
        if failed:
            raise TestnetError(
                "tor failed to start: " + ", ".join(
                    f"{n} (see {self.node_dir(n)}/launch.log)"
                    for n in failed))
        # The daemon writes its PidFile a little after the launcher
        # returns (authorities take longest); until it exists, teardown
        # could not find the process.
        for name in names:
            pidfile = os.path.join(self.node_dir(name), "tor.pid")
            _wait_for(lambda: ports.read_pidfile(pidfile), 30,
                      f"{name}: tor wrote no pid file {pidfile}")
            self._record_pid(f"{name}-tor", ports.read_pidfile(pidfile))

    def _record_pid(self, key, pid):
        """Keep the harness's own copy of a pid: tor deletes its PidFile
        when it starts to exit, and has been seen to hang after that."""
        d = os.path.join(self.workdir, "pids")
        os.makedirs(d, mode=0o700, exist_ok=True)
        with open(os.path.join(d, f"{key}.pid"), "w") as f:
            f.write(f"{pid}\n")

    def _pidfiles(self, name):
        return [os.path.join(self.node_dir(name), "tor.pid"),
                os.path.join(self.workdir, "pids", f"{name}-tor.pid")]

    def _read_backend_addresses(self):
        self.backend_addresses = []
        self.service_addresses = []
        for name in self.backend_names:
            for j, sv in enumerate(self.backend_services(name)):
                path = os.path.join(sv["hs_dir"], "hostname")
                _wait_for(lambda: os.path.exists(path), 10,
                          f"{sv['name']}: no {path}")
                with open(path) as f:
                    addr = f.read().strip()
                self.service_addresses.append(addr)
                if j == 0:
                    self.backend_addresses.append(addr)

    def _backend_short_addresses(self, name):
        """The addresses (without .onion, as in HS_DESC events) of backend
        name's services, as far as they are known."""
        names = self.service_names
        return [self.service_addresses[names.index(sv["name"])][:56]
                for sv in self.backend_services(name)
                if sv["name"] in names and
                len(self.service_addresses) == len(names)]

    # -- readiness ----------------------------------------------------------

    def wait_ready(self, timeout=300):
        """Wait, by watching state, until the client can reach every
        backend: all tors bootstrapped, a consensus listing every relay
        as HSDir on every client-side tor, every backend's descriptor
        uploaded, and a fetch through the client answered by each
        backend.  Prints the time each step took."""
        deadline = time.monotonic() + timeout
        t0 = getattr(self, "_t_start", time.monotonic())
        steps = [
            ("bootstrapped", "all tors at 100 %", self._wait_bootstrapped),
            ("consensus", f"consensus lists all {len(self.relay_names)} "
             "relays as HSDir", self._wait_consensus),
            ("descriptors", f"{self.n_backends} backend descriptors "
             "uploaded", self._wait_descriptors),
            ("reachable", "client reached every backend",
             self._wait_client_reaches_backends),
        ]
        for key, what, step in steps:
            step(deadline)
            self.timings[key] = round(time.monotonic() - t0, 1)
            _log(f"[{self.timings[key]:6.1f} s] {what}")
        self.timings["ready"] = self.timings["reachable"]
        self.save()
        _log(f"network ready {self.timings['ready']} s after launch "
             f"({self.n_relays + N_AUTHORITIES} relays, "
             f"{self.n_backends} backends; create took "
             f"{self.timings.get('create')} s, waiting for the voting "
             f"schedule {self.timings.get('align_wait', 0)} s)")

    def _non_authorities(self):
        return [n for n, v in self.nodes.items() if v["kind"] != "authority"]

    def _client_side(self):
        return self.client_names + self.mgmt_names + self.backend_names

    def _ctl(self, name):
        """The harness's own persistent control connection to name;
        backends' connections also collect HS_DESC events."""
        ctl = self._controllers.get(name)
        if ctl is None:
            ctl = self.controller(name)
            if self.nodes[name]["kind"] == "backend":
                ctl.setevents(["HS_DESC"])
                old = self._uploads.get(name, {})
                self._uploads[name] = {"done": old.get("done", []),
                                       "pending": {}, "last": 0.0}
            self._controllers[name] = ctl
        return ctl

    def _drop_ctl(self, name):
        ctl = self._controllers.pop(name, None)
        if ctl:
            ctl.close()

    def _poll(self, deadline, what, names, check, interval=1.0):
        """Call check(name) for each name until all are true, saying
        every PROGRESS_EVERY seconds who is still pending and why (the
        check leaves its reason in self._why[name])."""
        waiting = list(names)
        next_report = time.monotonic() + PROGRESS_EVERY
        while True:
            self._check_alive(waiting)
            still = []
            for name in waiting:
                try:
                    if not check(name):
                        still.append(name)
                except (OSError, torcontrol.ControlError) as e:
                    self._why[name] = f"control: {e}"
                    self._drop_ctl(name)
                    still.append(name)
            waiting = still
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise TestnetError(
                    f"timed out waiting for {what}: {self._pending(waiting)}"
                    f" (logs: {self.workdir}/<node>/notice.log)")
            if time.monotonic() > next_report:
                _log(f"  still waiting for {what}: {self._pending(waiting)}")
                next_report = time.monotonic() + PROGRESS_EVERY
            time.sleep(interval)

    def _pending(self, names):
        return ", ".join(f"{n} ({self._why.get(n, '?')})" for n in names)

    def _check_alive(self, names):
        for name in names:
            pid = ports.read_pidfile(self._pidfiles(name)[1])
            if not pid or not ports.pid_alive_in(pid, self.workdir):
                raise TestnetError(
                    f"{name}: tor is not running; last log lines:\n" +
                    _tail(self.log_path(name), 15))

    def _bootstrapped(self, name):
        phase = torcontrol.parse_kv(
            self._ctl(name).getinfo("status/bootstrap-phase"))
        self._why[name] = f"{phase.get('PROGRESS')}% {phase.get('TAG')}"
        return phase.get("PROGRESS") == "100"

    def _wait_bootstrapped(self, deadline, names=None):
        self._poll(deadline, "bootstrap", names or self._non_authorities(),
                   self._bootstrapped)

    def _consensus_full(self, name):
        try:
            text = self._ctl(name).getinfo(
                "dir/status-vote/current/consensus-microdesc")
        except torcontrol.ControlError:
            self._why[name] = "no consensus"
            return False
        missing = set(self.relay_names) - consensus_hsdirs(text)
        if missing:
            self._why[name] = f"{len(missing)} relays not HSDir"
            return False
        self._consensus_full_at.setdefault(name, time.monotonic())
        return True

    def _wait_consensus(self, deadline, names=None):
        self._poll(deadline, "a full consensus", names or self._client_side(),
                   self._consensus_full, interval=2.0)

    def _pump_uploads(self, name):
        """Account the HS_DESC events of backend name: UPLOAD starts an
        upload to one HSDir, UPLOADED or FAILED ends it."""
        ctl = self._ctl(name)
        state = self._uploads[name]
        for event in ctl.drain_events():
            words = event.text.split()
            if len(words) < 5 or words[0] != "HS_DESC":
                continue
            action, address, hsdir = words[1], words[2], words[4]
            if action == "UPLOAD":
                state["pending"][hsdir] = time.monotonic()
                state["last"] = time.monotonic()
            elif action in ("UPLOADED", "FAILED"):
                state["pending"].pop(hsdir, None)
                state["last"] = time.monotonic()
                if action == "UPLOADED":
                    state["done"].append((time.monotonic(), hsdir, address))

    def _descriptor_uploaded(self, name, since=0.0, quiet=3.0):
        """True when name uploaded a descriptor (after since), no upload
        is in flight, and nothing happened for quiet seconds after its
        consensus became full: a consensus that changes its HSDirs makes
        tor upload again, within a second or two."""
        self._pump_uploads(name)
        state = self._uploads[name]
        uploaded = {a for t, _, a in state["done"] if t >= since}
        # With several services, each must have uploaded (their addresses
        # are known once start() has read them).
        missing = [a for a in self._backend_short_addresses(name)
                   if a not in uploaded]
        if (not uploaded or missing) and \
                not (since == 0.0 and self._upload_logged(name, state)):
            self._why[name] = "no upload yet" if not uploaded else \
                f"{len(missing)} services not uploaded yet"
            return False
        # One HSDir that never answers must not hold everything up: tor
        # waits minutes for an upload on a stalled circuit (seen on a
        # loaded machine), and the others already have the descriptor.
        now = time.monotonic()
        waiting = [h for h, t in state["pending"].items()
                   if now - t < UPLOAD_STRAGGLER_S]
        if waiting:
            self._why[name] = f"{len(waiting)} uploads in flight"
            return False
        self._why[name] = "settling"
        calm_since = max(state["last"],
                         self._consensus_full_at.get(name, 0.0))
        return time.monotonic() - calm_since >= quiet

    def _upload_logged(self, name, state):
        """Fallback when events may have been missed (the connection was
        opened late, or reopened): tor's info log shows the upload was
        started.  The client fetch in wait_ready() then proves it."""
        if state.get("watched_from_launch"):
            return False
        try:
            with open(self.log_path(name, "info"), errors="replace") as f:
                return "Initiating upload for hidden service" in f.read()
        except OSError:
            return False

    def _wait_descriptors(self, deadline):
        self._poll(deadline, "descriptor uploads", self.backend_names,
                   self._descriptor_uploaded)

    def _wait_client_reaches_backends(self, deadline, names=None):
        """Every onion service of every backend (names: these backend
        tors only) answers the client, at its own address."""
        done = set()

        def reached(name):
            for sv in self.backend_services(name):
                if sv["name"] in done:
                    continue
                addr = self.service_address(sv["name"])
                try:
                    result = self.fetch(f"http://{addr}/", timeout=30)
                except (OSError, socksfetch.FetchError) as e:
                    self._why[name] = f"{sv['name']}: {e}"
                    return False
                self._why[name] = f"{sv['name']} answered by " \
                    f"{result.backend}"
                if result.backend != sv["name"]:
                    return False
                done.add(sv["name"])
            return True

        self._poll(deadline, "the client to reach the backends",
                   names or self.backend_names, reached, interval=2.0)

    # -- client -------------------------------------------------------------

    def fetch(self, url, timeout=60, client="client"):
        """GET url through a client tor (default the first, "client";
        clients=N adds client1, ...) on fresh circuits (a new SOCKS
        username per request); return a FetchResult, whose backend is
        the name of the onion service that answered (be0, or be0s1 for
        a backend's second service), or None."""
        t0 = time.monotonic()
        status, body = socksfetch.http_get(
            self.nodes[client]["ports"]["socks"], url, timeout=timeout)
        text = body.decode("utf-8", errors="replace")
        name = text.strip()
        backend = name if name in self.service_names else None
        return FetchResult(status, text, backend, time.monotonic() - t0)

    def client_newnym(self, client="client"):
        """SIGNAL NEWNYM on a client tor: new circuits and, for onion
        services, a purged descriptor cache.  tor applies at most one per
        10 s, so this waits out the rest of that period first (per
        client: each tor keeps its own)."""
        wait = self.newnym_wait(client)
        if wait > 0:
            time.sleep(wait)
        self._ctl(client).signal("NEWNYM")
        self._last_newnym[client] = time.monotonic()

    def newnym_wait(self, client="client"):
        """Seconds until client_newnym(client) would take effect at once."""
        return self._last_newnym.get(client, -1e9) + NEWNYM_SPACING - \
            time.monotonic()

    # -- restarts -----------------------------------------------------------

    def stop_node(self, name):
        self._drop_ctl(name)
        _terminate(self._pidfiles(name), self.workdir)

    def start_node(self, name, timeout=120):
        """Start name's tor again and wait until it has bootstrapped (for
        a backend: until it uploaded a new descriptor)."""
        deadline = time.monotonic() + timeout
        t0 = time.monotonic()
        self._start_tors([name])
        if self.nodes[name]["kind"] == "backend":
            self._ctl(name)  # subscribe before it can upload
        self._wait_bootstrapped(deadline, [name])
        if self.nodes[name]["kind"] == "backend":
            self._poll(deadline, "a new descriptor upload", [name],
                       lambda n: self._descriptor_uploaded(n, since=t0,
                                                           quiet=2.0))
        _log(f"{name} restarted and ready in "
             f"{time.monotonic() - t0:.1f} s")

    def restart_node(self, name, timeout=120):
        self.stop_node(name)
        self.start_node(name, timeout)

    def stop_backend(self, i):
        self.stop_node(self.backend_names[i])

    def start_backend(self, i, timeout=120):
        self.start_node(self.backend_names[i], timeout)

    def restart_backend(self, i, timeout=120):
        self.restart_node(self.backend_names[i], timeout)

    # -- failures (tests/testnet/test_failover.py) ------------------------

    def backend_tor_pid(self, i):
        """Pid of be<i>'s tor from the harness's own record, or None if it
        is not running."""
        pid = ports.read_pidfile(self._pidfiles(self.backend_names[i])[1])
        return pid if pid and ports.pid_alive_in(pid, self.workdir) else None

    def signal_backend_tor(self, i, sig):
        """Send sig to be<i>'s tor (by its recorded pid, never by name).
        SIGSTOP freezes it as a hung host would be: its circuits stay
        open but nothing answers; SIGCONT resumes it.  The harness's own
        control connection to it is dropped first (it would block)."""
        name = self.backend_names[i]
        pid = self.backend_tor_pid(i)
        if pid is None:
            raise TestnetError(f"{name}: tor is not running")
        self._drop_ctl(name)
        os.kill(pid, sig)
        return pid

    def kill_backend_tor(self, i):
        """SIGKILL be<i>'s tor, as a crash would; return once it is gone.
        Its stale pid files are removed, so that start_backend(i) records
        the new process, not the dead one."""
        name = self.backend_names[i]
        pid = self.signal_backend_tor(i, signal.SIGKILL)
        _wait_for(lambda: not ports.pid_alive_in(pid, self.workdir), 10,
                  f"{name}: tor (pid {pid}) still alive after SIGKILL")
        for path in self._pidfiles(name):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        return pid

    def stop_httpd(self, i):
        """Stop be<i>'s HTTP servers (its tor keeps running, so requests to
        the backend reach tor and find the port closed)."""
        paths = []
        for sv in self.backend_services(self.backend_names[i]):
            paths += [sv["httpd_pidfile"],
                      os.path.join(self.workdir, "pids",
                                   f"{sv['name']}-httpd.pid")]
        _terminate(paths, self.workdir)

    def start_httpd(self, i):
        """Start be<i>'s HTTP servers again (same ports)."""
        self._start_httpd(self.backend_names[i])

    def stop_mgmt(self):
        self.stop_node("mgmt")

    def start_mgmt(self, timeout=120):
        self.start_node("mgmt", timeout)

    def restart_mgmt(self, timeout=120):
        self.restart_node("mgmt", timeout)

    def pids(self):
        """Pids of this network's live processes, from the harness's own
        records, keyed like 'be0-tor' or 'be0-httpd'."""
        result = {}
        for path in glob.glob(os.path.join(self.workdir, "pids", "*.pid")):
            pid = ports.read_pidfile(path)
            if pid and ports.pid_alive_in(pid, self.workdir):
                result[os.path.basename(path)[:-len(".pid")]] = pid
        return result

    def sockets(self):
        """Every TCP listening socket and bound UDP socket of this
        network's processes, as (proto, address, port, pidfile name)."""
        owner = {}
        for name, pid in self.pids().items():
            for inode in _socket_inodes(pid):
                owner[inode] = name
        return [(proto, addr, port, owner[inode])
                for proto, addr, port, inode in _proc_net_sockets()
                if inode in owner]

    def set_backend_ob_mode(self, i, frontend, timeout=120):
        """Make backend i an Onionbalance instance of frontend (an onion
        address, with or without .onion, or a list of them: one
        MasterOnionAddress line each), or a plain service again if
        frontend is None; restart it and wait for its new descriptor.
        The backend must have run once, so that its keys exist."""
        name = self.backend_names[i]
        node = self.nodes[name]
        hs_dirs = [sv["hs_dir"] for sv in self.backend_services(name)]
        for hs in hs_dirs:
            if not os.path.exists(os.path.join(hs, "hs_ed25519_secret_key")):
                raise TestnetError(f"{name} has never run: no keys in {hs}")
        if frontend:
            addrs = [frontend] if isinstance(frontend, str) else frontend
            addrs = [a if a.endswith(".onion") else a + ".onion"
                     for a in addrs]
            for addr in addrs:
                if not re.fullmatch(r"[a-z2-7]{56}\.onion", addr):
                    raise ValueError(f"not a v3 onion address: {addr}")
            # Every service of this tor is an instance of the frontends.
            for hs in hs_dirs:
                with open(os.path.join(hs, "ob_config"), "w") as f:
                    f.write("".join(f"MasterOnionAddress {a}\n"
                                    for a in addrs))
            node["ob_frontend"] = addrs[0]
        else:
            for hs in hs_dirs:
                ob_config = os.path.join(hs, "ob_config")
                if os.path.exists(ob_config):
                    os.unlink(ob_config)
            node["ob_frontend"] = None
        self._write_torrc(name)
        self.save()
        self.restart_node(name, timeout)


# -- helpers -------------------------------------------------------------------


def _socket_inodes(pid):
    inodes = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", target)
        if m:
            inodes.add(int(m.group(1)))
    return inodes


def _hex_address(text):
    """Decode /proc/net's ADDR:PORT (address in host byte order words)."""
    addr, port = text.split(":")
    raw = bytes.fromhex(addr)
    words = [raw[i:i + 4][::-1] for i in range(0, len(raw), 4)]
    packed = b"".join(words)
    family = socket.AF_INET if len(packed) == 4 else socket.AF_INET6
    return socket.inet_ntop(family, packed), int(port, 16)


def _proc_net_sockets():
    """(proto, address, port, inode) of listening TCP sockets and all
    UDP sockets on the machine."""
    result = []
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        try:
            with open(f"/proc/net/{proto}") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if proto.startswith("tcp") and fields[3] != "0A":  # LISTEN
                continue
            addr, port = _hex_address(fields[1])
            result.append((proto, addr, port, int(fields[9])))
    return result


def consensus_hsdirs(text):
    """Nicknames of the relays that a microdesc consensus flags HSDir."""
    hsdirs, nick = set(), None
    for line in text.splitlines():
        if line.startswith("r "):
            parts = line.split()
            nick = parts[1] if len(parts) > 1 else None
        elif line.startswith("s ") and nick:
            if "HSDir" in line.split()[1:]:
                hsdirs.add(nick)
            nick = None
    return hsdirs


def _raise_system_exit(signum, frame):
    raise SystemExit(128 + signum)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _ignore_signals():
    try:
        return {sig: signal.signal(sig, signal.SIG_IGN)
                for sig in STOP_SIGNALS}
    except ValueError:
        return {}  # not the main thread: signals go elsewhere anyway


def _restore_signals(saved):
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def _check_programs():
    for prog in (TOR, TOR_GENCERT):
        if not os.access(prog, os.X_OK):
            raise TestnetError(f"{prog} is missing (scripts/setup installs "
                               "Debian's tor)")


def _spawn_checked(argv, cwd, what, stdin_text=None):
    """Start argv; return a function that waits for it and returns its
    stdout, raising if it failed."""
    proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)

    def finish():
        out, err = proc.communicate(stdin_text, timeout=120)
        if proc.returncode != 0:
            raise TestnetError(f"{what} failed ({proc.returncode}): "
                               f"{err.strip()[-500:]}")
        return out
    return finish


def _cert_fingerprint(path):
    with open(path) as f:
        for line in f:
            if line.startswith("fingerprint "):
                return line.split()[1]
    raise TestnetError(f"{path}: no fingerprint line")


def _wait_for(cond, timeout, message):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TestnetError(message)
        time.sleep(0.05)


def _terminate(pidfiles, workdir):
    """SIGCONT and SIGTERM every live process named by pidfiles (checked
    to belong to workdir), SIGKILL what is left after STOP_GRACE seconds,
    then remove the pid files."""
    pids = []
    for path in pidfiles:
        pid = ports.read_pidfile(path)
        if pid and pid not in pids and ports.pid_alive_in(pid, workdir):
            try:
                # A process a test froze (SIGSTOP) would hold SIGTERM
                # pending until the SIGKILL: let it run first.
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGTERM)
                pids.append(pid)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + STOP_GRACE
    while pids and time.monotonic() < deadline:
        pids = [p for p in pids if ports.pid_alive_in(p, workdir)]
        time.sleep(0.1)
    for pid in pids:
        if ports.pid_alive_in(pid, workdir):
            _log(f"pid {pid} ignored SIGTERM; sending SIGKILL")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for path in pidfiles:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _tail(path, n):
    try:
        with open(path, errors="replace") as f:
            lines = f.readlines()[-n:]
    except OSError as e:
        return f"  ({path}: {e})"
    return "".join("  " + line for line in lines) + f"  ({path})"
