#!/usr/bin/python3
"""A dead backend leaves the frontend, and comes back when it returns
(issue 14; meson suite 'testnet').

One network (3 authorities, 4 relays, 3 backends), one onionbalanced for
one frontend whose instances are the 3 backends, configured with the
liveness probe (docs/configuration.md):

    probe-interval: 5             (top level)
    probe-timeout: 10             (the defaults, written out)
    probe-port: 80                (the service)
    health-check: http
    health-check-path: /
    health-check: none            (instance node1 = be0 only: overrides)

Every check is on the frontend descriptor as a CLIENT sees it: the
client tor HSFETCHes it from an HSDir, python3-stem decrypts it, and its
intro points (by auth key) are compared with each backend's own (its
tor's current descriptor and the one its HSDirs serve).  A backend is
"gone" when the frontend holds intro points, every one of them of a
known backend, none of this one: hsdesc.IntroBook learns the backends'
keys again when unknown ones appear, since at a time-period rollover
(every 8 minutes, so in every run) a backend's other descriptor, with
other intro points, comes into use.  "Back" is any of its intro points
in the frontend again.  Baseline: all three backends in the frontend,
no "unknown key" warning for the settings above, every instance
`liveness` alive with lastProbe, lastProbeOutcome, livenessSince and
droppedReason null, the service's `unreachable` null, and the metrics'
instance_in_descriptor 1 for each (docs/metrics.md; scraped on the unix
socket of metrics-location).  Then, in order:

  a  kill       SIGKILL be0's tor: within 90 s be0 is gone; the status
                says node1 is dead (with a droppedReason), a warning
                says "dropped", and the metrics' instance_in_descriptor
                falls to 0 for node1 (1 for the others); then 10 requests through the frontend,
                NEWNYM before each (a fresh descriptor, fresh circuits),
                are all answered by be1 or be2.  (These pass against a
                daemon that keeps the dead intro points too: the intro
                relay refuses them at once and tor tries another.  The
                descriptor is what fails there.)
  b  restart    be0's tor starts again (new intro points): they are in the
                frontend descriptor within one fetch period (20 s here)
                + 60 s of be0's new upload; the status says alive again
                and a non-debug line naming node1 says "back".
  c  freeze     SIGSTOP be1's tor: gone within 90 s (status, "dropped");
                SIGCONT: back within 90 s (status, "back").
  d  health     be2's and be0's HTTP servers stop, their tors keep
                running: be2 (health-check http) is gone within 90 s;
                be0 (health-check none: only its tor counts) stays in the
                descriptor, and alive (or suspect), for 25 s more (a probe
                timeout and two intervals); both servers start again: be2
                back within 90 s.
  e  all dead   SIGSTOP all three tors: every instance dead and the
                service's `unreachable` says why within 120 s, an error
                line is logged, and the frontend keeps its last non-empty
                descriptor (HSFETCH still finds it, with intro points of
                our backends), also 30 s later; SIGCONT all: every
                instance alive again and `unreachable` null within 90 s.

The bounds are generous functional bounds, not speed targets: the real
figures are printed (and bench/run-online measures kill -> dropped).
Each scenario leaves the backends running again (finally) and a failed
scenario does not stop the next one, so one run shows every outcome;
the test fails if any failed.  Frozen tors get SIGCONT before anything
is stopped, and the network's teardown stops every process by pid.

Environment: OB_BUILD_DIR (meson's build root, set by tests/meson.build),
OB_TESTNET_RELAYS (default 4), OB_TESTNET_KEEP=1 keeps the work directory
after a pass too, OB_FAILOVER_KEEP_GOING=1 goes on after a failed check
within a scenario too (to see every step against a partial
implementation; the test still fails).  Exit status: 0 pass, 1 fail, 77
skip.
"""

import os
import re
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import hsdesc  # noqa: E402
import metrics_scrape  # noqa: E402
import obdaemon  # noqa: E402
import test_daemon  # noqa: E402
from test_daemon import TestFailure, note  # noqa: E402
import testnet  # noqa: E402

RELAYS = int(os.environ.get("OB_TESTNET_RELAYS", str(testnet.DEFAULT_RELAYS)))
# fetchd's period on this network: min(fetch interval, voting interval)
FETCH_PERIOD = 20
DROP_LIMIT = 90
BACK_LIMIT = 90
RESTART_LIMIT = FETCH_PERIOD + 60
ALL_DEAD_LIMIT = 120
PROBE_INTERVAL = 5
PROBE_TIMEOUT = 10
NONE_HOLD = PROBE_TIMEOUT + 2 * PROBE_INTERVAL
KEEP_HOLD = 30
REQUESTS = 10
POLL = 2.0

CONFIG_TOP = {"probe-interval": PROBE_INTERVAL,
              "probe-timeout": PROBE_TIMEOUT}
CONFIG_SERVICE = {"probe-port": 80, "health-check": "http",
                  "health-check-path": "/"}
CONFIG_INSTANCES = {"node1": {"health-check": "none"}}


def node(i):
    return f"node{i + 1}"


class Failover:
    """The network, the daemon, the client's view of the frontend and the
    backends' intro points as last seen."""

    def __init__(self, net, ob):
        self.net = net
        self.ob = ob
        self.book = hsdesc.IntroBook(net)
        self.keys = self.book.keys
        self.frozen = self.book.frozen      # backends we sent SIGSTOP
        self.figures = {}
        self.failures = []
        self.scenario = None
        self.keep_going = os.environ.get("OB_FAILOVER_KEEP_GOING") == "1"

    def close(self):
        self.book.close()

    def check(self, cond, message):
        """Pass, or fail: raise TestFailure (the scenario ends), or with
        OB_FAILOVER_KEEP_GOING=1 record the failure and go on, so that
        one run against a partial implementation exercises every step
        (the test still fails)."""
        if cond:
            print(f"ok: {message}", flush=True)
            return True
        if not self.keep_going:
            raise TestFailure(message)
        print(f"FAIL (going on): {message}", flush=True)
        self.failures.append(f"{self.scenario}: {message}")
        return False

    def figure(self, key, took):
        self.figures[key] = None if took is None else round(took, 1)
        return "-" if took is None else f"{took:.1f}"

    # -- what the client sees ------------------------------------------

    def frontend_keys(self):
        return self.book.fetch(self.ob.frontend)

    def wait_frontend(self, what, limit, cond, t0=None):
        """HSFETCH the frontend every POLL seconds until cond(keys) holds
        (keys never None); return the seconds since t0 (default: now), or
        None if it did not hold within limit seconds."""
        t0 = time.time() if t0 is None else t0
        last = None
        while True:
            keys = self.frontend_keys()
            if keys is not None:
                last = keys
                if cond(keys):
                    took = time.time() - t0
                    note(f"  {what}: after {took:.1f} s "
                         f"({self.book.describe(keys)})")
                    return took
            if time.time() - t0 > limit:
                self.check(False, f"{what}: not within {limit} s; the "
                           f"client's last view of the frontend: "
                           f"{self.book.describe(last)}")
                return None
            time.sleep(POLL)

    def wait_gone(self, i, limit, t0):
        """Until the frontend holds intro points, every one of them of a
        known backend, and none of be<i>."""
        return self.wait_frontend(
            f"{self.net.backend_names[i]}'s intro points gone from the "
            f"frontend", limit, lambda keys: self.book.without(keys, i), t0)

    def wait_present(self, i, limit, t0=None):
        return self.wait_frontend(
            f"{self.net.backend_names[i]}'s intro points in the frontend",
            limit, lambda keys: bool(keys & self.keys.get(i, set())), t0)

    # -- the daemon's view -------------------------------------------------

    def service(self):
        try:
            return self.ob.service_status()[1]
        except (OSError, ValueError, obdaemon.DaemonError) as e:
            raise TestFailure(f"status socket: {e}")

    def instance(self, i, sv=None):
        sv = sv or self.service()
        for inst in sv["instances"]:
            if inst.get("name") == node(i):
                return inst
        raise TestFailure(f"{node(i)} missing from the status document")

    def liveness(self, i, sv=None):
        inst = self.instance(i, sv)
        return inst.get("liveness"), inst

    def all_in(self, sv, liveness):
        return all(self.liveness(i, sv)[0] == liveness
                   for i in range(len(self.net.backend_names)))

    def wait_status(self, what, limit, cond):
        """Poll the status document until cond(service) holds."""
        deadline = time.time() + limit
        while True:
            sv = self.service()
            if cond(sv):
                return sv
            if time.time() > deadline:
                self.check(False, f"{what}: not within {limit} s; status: " +
                           summary(sv))
                return sv
            time.sleep(1)

    def new_log(self, since):
        return self.ob.log_lines()[since:]

    def check_dropped(self, i, log_from):
        inst = self.instance(i)
        self.check(inst.get("liveness") == "dead" and
                   isinstance(inst.get("droppedReason"), str) and
                   inst["droppedReason"],
                   f"status: {node(i)} liveness {inst.get('liveness')!r}, "
                   f"droppedReason {inst.get('droppedReason')!r}, last probe "
                   f"{inst.get('lastProbe')!r}: "
                   f"{inst.get('lastProbeOutcome')!r}")
        lines = [line for line in self.new_log(log_from)
                 if "[warning]" in line and "dropped" in line]
        named = [line for line in lines if self.names_instance(line, i)]
        self.check(named, f"a warning says {node(i)} was dropped: "
                   f"{(named or lines or ['none'])[0]!r}")

    def check_back(self, i, log_from):
        sv = self.wait_status(f"{node(i)} alive again", 60,
                              lambda sv: self.liveness(i, sv)[0] == "alive")
        inst = self.instance(i, sv)
        self.check(inst.get("liveness") == "alive" and
                   "droppedReason" in inst and inst["droppedReason"] is None,
                   f"status: {node(i)} {inst.get('liveness')!r} since "
                   f"{inst.get('livenessSince')}, droppedReason "
                   f"{inst.get('droppedReason', 'missing')!r}")
        lines = [line for line in self.new_log(log_from)
                 if re.search(r"\bback\b", line) and "[debug]" not in line
                 and self.names_instance(line, i)]
        self.check(lines, f"a line says {node(i)} is back: "
                   f"{(lines or ['none'])[0]!r}")

    def names_instance(self, line, i):
        addr = self.net.backend_addresses[i][:-len(".onion")]
        return re.search(rf"\b{node(i)}\b", line) is not None or \
            addr[:16] in line

    # -- backends ------------------------------------------------------------

    def freeze(self, i):
        self.frozen.add(i)
        self.net.signal_backend_tor(i, signal.SIGSTOP)

    def thaw(self, i):
        if i in self.frozen:
            self.net.signal_backend_tor(i, signal.SIGCONT)
            self.frozen.discard(i)

    def thaw_all(self):
        for i in sorted(self.frozen):
            self.thaw(i)

    # -- scenarios -----------------------------------------------------------

    def run(self, name, fn):
        note(f"--- scenario {name}")
        self.scenario = name
        try:
            fn()
        except TestFailure as e:
            print(f"FAIL ({name}): {e}", flush=True)
            self.failures.append(f"{name}: {e}")
        finally:
            self.thaw_all()

    def baseline(self):
        """Every backend's intro points are in the frontend, and the
        status document carries the liveness fields."""
        self.book.read_all()
        for i in range(len(self.net.backend_names)):
            self.wait_present(i, RESTART_LIMIT)
        unknown = [line for line in self.ob.log_lines()
                   if "unknown key" in line]
        self.check(not unknown, f"the probe settings are known keys "
                   f"({len(unknown)} 'unknown key' warnings: {unknown[:1]})")
        sv = self.wait_status(
            "every instance alive (liveness) after the first probes", 60,
            lambda sv: self.all_in(sv, "alive"))
        insts = [self.instance(i, sv)
                 for i in range(len(self.net.backend_names))]
        self.check(all(inst.get("lastProbe") and inst.get("lastProbeOutcome")
                  and inst.get("livenessSince") and
                  "droppedReason" in inst and
                  inst["droppedReason"] is None for inst in insts),
                   "status: every instance alive, with livenessSince, "
                   "lastProbe, lastProbeOutcome and droppedReason null: " +
                   "; ".join(f"{inst['name']} "
                             f"{inst.get('lastProbeOutcome')!r}"
                             for inst in insts))
        metrics_scrape.wait_in_descriptor(
            self.ob, {node(i): 1 for i in range(len(self.net.backend_names))},
            self.check, "every instance in the descriptor")
        self.check("unreachable" in sv and sv["unreachable"] is None,
                   f"status: the service's unreachable is null "
                   f"({sv.get('unreachable', 'missing')!r})")

    def scenario_kill(self):
        log_from = len(self.ob.log_lines())
        pid = self.net.kill_backend_tor(0)
        t0 = time.time()
        note(f"kill: SIGKILL be0's tor (pid {pid})")
        took = self.wait_gone(0, DROP_LIMIT, t0)
        shown = self.figure("kill_to_dropped", took)
        self.check(took is not None and took <= DROP_LIMIT,
                   f"be0's intro points left the frontend descriptor {shown}"
                   f" s after its tor was killed (bound {DROP_LIMIT} s)")
        self.check_dropped(0, log_from)
        # the instance gauge falls with it
        metrics_scrape.wait_in_descriptor(
            self.ob, {node(i): int(i != 0)
                      for i in range(len(self.net.backend_names))},
            self.check, "be0 (node1) dropped")
        answered = []
        for n in range(REQUESTS):
            self.net.client_newnym()
            try:
                r = self.net.fetch(f"http://{self.ob.frontend}/", timeout=60)
                who = r.backend if r.status == 200 else f"HTTP {r.status}"
                note(f"  request {n + 1:2}: {who} in {r.seconds:.2f} s")
            except (OSError, testnet.socksfetch.FetchError) as e:
                who = f"failed: {e}"
                note(f"  request {n + 1:2}: {who}")
            answered.append(who)
        self.check(all(w in ("be1", "be2") for w in answered),
                   f"{REQUESTS} requests on fresh descriptors and circuits, "
                   f"all answered by live backends: {answered}")

    def scenario_restart(self):
        log_from = len(self.ob.log_lines())
        note("restart: be0's tor starts again")
        if self.net.backend_tor_pid(0) is None:
            self.net.start_backend(0)
        t_up = time.time()   # its new descriptor is uploaded
        old = self.keys[0]
        self.book.retire(0)
        new = self.book.read(0)
        self.check(new and not new & old, f"be0 has new intro points "
                   f"({len(new)}, none of the {len(old)} old ones)")
        took = self.wait_present(0, RESTART_LIMIT, t_up)
        shown = self.figure("restart_to_back", took)
        self.check(took is not None and took <= RESTART_LIMIT,
                   f"be0's new intro points in the frontend descriptor "
                   f"{shown} s after its new upload (bound: fetch period "
                   f"{FETCH_PERIOD} s + 60 s)")
        self.check_back(0, log_from)

    def outage(self, i, what, cause, restore, meanwhile=None):
        """cause() takes be<i> down: its intro points must leave the
        frontend within DROP_LIMIT s, the status and the log say it was
        dropped; meanwhile() runs then; restore() (also on a failure)
        brings it back: its intro points must be in the frontend again
        within BACK_LIMIT s, the status and the log say it is back."""
        name = self.net.backend_names[i]
        self.wait_present(i, RESTART_LIMIT)
        log_from = len(self.ob.log_lines())
        try:
            cause()
            t0 = time.time()
            took = self.wait_gone(i, DROP_LIMIT, t0)
            shown = self.figure(f"{what}_to_dropped", took)
            self.check(took is not None, f"{name} left the frontend {shown} "
                       f"s after {what} (bound {DROP_LIMIT} s)")
            self.check_dropped(i, log_from)
            if meanwhile:
                meanwhile()
            log_from = len(self.ob.log_lines())
        finally:
            restore()
        t0 = time.time()
        self.book.refresh(i)
        took = self.wait_present(i, BACK_LIMIT, t0)
        shown = self.figure(f"{what}_to_back", took)
        self.check(took is not None, f"{name} back in the frontend {shown} s "
                   f"after it was restored (bound {BACK_LIMIT} s)")
        self.check_back(i, log_from)

    def scenario_freeze(self):
        self.outage(1, "sigstop", cause=lambda: self.freeze(1),
                    restore=lambda: self.thaw(1))

    def scenario_health(self):
        """be2 (health-check http) and be0 (none) lose their web servers;
        only be2 is dropped."""
        self.wait_present(0, RESTART_LIMIT)

        def cause():
            self.net.stop_httpd(2)
            self.net.stop_httpd(0)
            note("health: be2's and be0's HTTP servers stopped, their tors "
                 "running")

        def restore():
            for i in (2, 0):
                if not self.httpd_running(i):
                    self.net.start_httpd(i)
            note("health: HTTP servers started again")

        def none_stays():
            hold = time.time() + NONE_HOLD
            while time.time() < hold:
                keys = self.frontend_keys()
                state, inst = self.liveness(0)
                if state == "dead" or (keys is not None and
                                       not keys & self.keys[0]):
                    break
                time.sleep(POLL)
            # suspect: a probe may time out on a loaded machine
            self.check(state in ("alive", "suspect"),
                       f"be0 (health-check none) not dead with its HTTP "
                       f"server down for {NONE_HOLD} s: {state!r} "
                       f"({inst.get('lastProbeOutcome')!r})")
            self.check(keys is None or keys & self.keys[0],
                       f"be0's intro points stay in the frontend for "
                       f"{NONE_HOLD} s ({self.book.describe(keys)})")

        self.outage(2, "httpd_stop", cause, restore, none_stays)

    def httpd_running(self, i):
        return f"{self.net.backend_names[i]}-httpd" in self.net.pids()

    def scenario_all_dead(self):
        n = len(self.net.backend_names)
        for i in range(n):
            self.wait_present(i, RESTART_LIMIT)
        log_from = len(self.ob.log_lines())
        for i in range(n):
            self.freeze(i)
        t0 = time.time()
        note("all dead: SIGSTOP every backend's tor")
        sv = self.wait_status(
            "every instance dead and the service unreachable",
            ALL_DEAD_LIMIT,
            lambda sv: self.all_in(sv, "dead") and sv.get("unreachable"))
        took = time.time() - t0
        self.figure("all_stopped_to_unreachable", took)
        self.check(isinstance(sv.get("unreachable"), str),
                   f"status: every instance dead after {took:.1f} s and the "
                   f"service says unreachable: "
                   f"{sv.get('unreachable', 'missing')!r}")
        errors = [line for line in self.new_log(log_from)
                  if "[error]" in line]
        self.check(errors, f"an error line is logged: "
                   f"{(errors or ['none'])[0]!r}")
        self.check(all(d.get("introPointsNum") for d in sv["descriptors"]),
                   f"status: both descriptors keep their intro points "
                   f"({[d.get('introPointsNum') for d in sv['descriptors']]})")
        for when in ("now", f"{KEEP_HOLD} s later"):
            if when != "now":
                time.sleep(KEEP_HOLD)
            keys = None
            for _ in range(3):
                keys = self.frontend_keys()
                if keys is not None:
                    break
                time.sleep(POLL)
            self.check(keys is not None, f"{when}: HSFETCH of the frontend "
                       f"still finds its descriptor")
            self.check(keys and not keys - self.book.known(),
                       f"{when}: it keeps the last "
                       f"non-empty set, intro points of our backends "
                       f"({self.book.describe(keys)})")
        self.thaw_all()
        note("all dead: SIGCONT every backend's tor")
        sv = self.wait_status(
            "every instance alive again and unreachable null", BACK_LIMIT,
            lambda sv: self.all_in(sv, "alive") and
            sv.get("unreachable") is None)
        note(f"  after SIGCONT: {summary(sv)}")


def summary(sv):
    return "unreachable %r; %s" % (sv.get("unreachable", "missing"), "; ".join(
        f"{i.get('name')} {i.get('liveness', 'no liveness')} "
        f"({i.get('lastProbeOutcome')!r}, dropped "
        f"{i.get('droppedReason')!r}) state {i.get('state')}"
        for i in sv.get("instances", [])))


# -- the run --------------------------------------------------------------


def run(build_dir):
    t_start = time.monotonic()
    keep = os.environ.get("OB_TESTNET_KEEP") == "1"
    with testnet.Network(relays=RELAYS, backends=3, keep=keep) as net:
        net.create()
        net.start()
        net.wait_ready(timeout=300)
        ob = obdaemon.Onionbalanced(net, build_dir)
        print(f"onionbalanced log: {ob.log_path}", flush=True)
        fo = None
        try:
            ob.configure(top=dict(CONFIG_TOP, **{
                "metrics-location": metrics_scrape.socket_path(ob)}),
                service=CONFIG_SERVICE, instances=CONFIG_INSTANCES)
            note(f"frontend {ob.frontend}; switching the 3 backends to "
                 f"Onionbalance-instance mode")
            ob.switch_backends()
            ob.start()
            note(f"onionbalanced started (pid {ob.proc.pid})")
            fo = Failover(net, ob)
            fo.run("baseline", fo.baseline)
            fo.run("a kill", fo.scenario_kill)
            fo.run("b restart", fo.scenario_restart)
            fo.run("c freeze", fo.scenario_freeze)
            fo.run("d health", fo.scenario_health)
            fo.run("e all dead", fo.scenario_all_dead)
        except BaseException:
            print("--- last lines of onionbalanced's log ---", flush=True)
            print(ob.log_tail(40), flush=True)
            raise
        finally:
            if fo:
                fo.thaw_all()
                fo.close()
            code = ob.stop()
        failures = fo.failures
        if code != 0:
            failures.append(f"onionbalanced stopped with status {code}")
        sanitizer = [line for line in ob.log_lines()
                     if "Sanitizer" in line or "runtime error:" in line]
        if sanitizer:
            failures.append(f"sanitizer report in the daemons' log "
                            f"{sanitizer[:5]}")
        print(f"figures (s): {fo.figures}", flush=True)
        print(f"total {time.monotonic() - t_start:.0f} s", flush=True)
        if failures:
            print("--- last lines of onionbalanced's log ---", flush=True)
            print(ob.log_tail(40), flush=True)
            # keep the work directory: the with block sees an exception
            raise TestFailure(f"{len(failures)} failed:\n  " +
                              "\n  ".join(failures))


def main():
    if hsdesc.HiddenServiceDescriptorV3 is None:
        print("SKIP: python3-stem missing (scripts/setup installs it)")
        return 77
    return test_daemon.main(run, errors=(hsdesc.DescriptorError,))


if __name__ == "__main__":
    sys.exit(main())
