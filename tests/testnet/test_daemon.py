#!/usr/bin/python3
"""onionbalanced end to end on a private Tor network (meson suite 'testnet').

One network (3 authorities, 10 relays: 13 HSDirs, 3 backends), one
onionbalanced for two frontends whose instances are the same 3 backends
(each backend's ob_config names both).  "The frontend" below is the
first; the second is checked to be reachable after the first reach and
at the end, and every "built and uploaded" check covers both.  In order,
on that one network:

  reach     the client reaches the frontend; over 20 fresh circuits at
            least 2 of the 3 backends answer (and every request works);
            the second frontend answers too;
  sighup    SIGHUP with the configuration unchanged: no child restarts,
            keyd begins no period again (the signing keys stay), no
            descriptor is built afresh nor uploaded again for 30 s, every
            HSDir keeps its upload state; the next build (backend, below)
            has a revision counter above the last one;
  backend   be1 restarts, so its intro points change: a superdescriptor
            with its new intro points is built and uploaded to every
            responsible HSDir within one fetch interval (20 s here) plus
            30 s of be1's new upload, and the client reaches be1 through
            the frontend (only be1's new intro points lead there);
  kill      kill -9 keyd, fetchd, publishd in turn: the parent restarts
            each, the instances stay live, the frontend stays reachable,
            and the restarted publishd builds through the restarted keyd;
  keyd      (as root) a compromised publishd: a malformed request on
            publishd's own channel to keyd (copied out of publishd with
            pidfd_getfd).  keyd drops that channel and stays the same
            process; the parent restarts publishd, whose new channel keyd
            serves; both frontends are built and uploaded again and the
            frontend answers;
  mgmt      the management tor restarts: fetchd and publishd get new
            control connections, subscribe again (fetchd sees HS_DESC
            results, publishd's uploads are confirmed by HS_DESC events)
            and publishd uploads every descriptor again;
  rollover  across a time-period boundary (every 8 minutes here) the
            frontend stays reachable, fetched afresh (NEWNYM) every ~11 s,
            because the second descriptor for the new period was already
            on its HSDirs;
  metrics   after the first publication and at the end, GET /metrics on
            the metrics socket (tests/testnet/metrics_scrape.py): every
            line parses (prometheus_client), the intro-point gauges equal
            the status socket's, uploads are counted and the count rose
            (unless publishd restarted between), and the parent's
            child_restarts_total counted each child killed;
  ring      all along, in a thread: the client tor is asked again and
            again to HSFETCH the frontend, with SIGNAL NEWNYM before each
            try so that it forgets which HSDirs it asked; every HSDir it
            picks (from its own hash ring) must have the descriptor, in
            the time period before the rollover and in the one after
            (at least 4 and 6 fetches).
            With 23 HSDirs a wrong ring fails this (Onionbalance 0.2.2:
            4 of 14 such fetches got NOT_FOUND); with 8 it would not.

The rollover is checked when the boundary comes: before each scenario
the test looks whether that scenario would overlap the boundary, and if
so it watches the rollover first.  So the test waits for the boundary
only when the scenarios finish before it.

Environment: OB_BUILD_DIR (meson's build root, set by tests/meson.build),
OB_TESTNET_RELAYS (default 10), OB_TESTNET_KEEP=1 keeps the work
directory after a pass too.  Logs: the network's work directory is
kept on failure (path printed); onionbalanced's log is
<workdir>/ob/onionbalanced.log.  Exit status: 0 pass, 1 fail, 77 skip.
"""

import os
import re
import shutil
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import metrics_scrape  # noqa: E402
import obdaemon  # noqa: E402
import test_key_memory  # noqa: E402
import testnet  # noqa: E402
import torcontrol  # noqa: E402

# 13 HSDirs: more than the 8 responsible for each descriptor, so the ring
# check still tells the responsible ones apart.  20 relays (23 HSDirs)
# kept both cores busy with tor alone (each tor ~8 % CPU), and circuits,
# fetches and uploads then stalled for minutes now and then.
RELAYS = int(os.environ.get("OB_TESTNET_RELAYS", "10"))
FETCHES = 20
# fetchd's period on this network: min(fetch interval, voting interval)
FETCH_PERIOD = 20
TP_MINUTES = 8
TP_OFFSET_MINUTES = 4
# How long each scenario may take, for scheduling around the rollover.
ESTIMATE = {"sighup": 60, "backend": 120, "kill": 120, "keyd": 90,
            "mgmt": 100}
SIGHUP_QUIET = 30        # seconds without a rebuild or upload after SIGHUP
ROLLOVER_BEFORE = 30     # probe from this long before the boundary
ROLLOVER_AFTER = 80      # to this long after it
# HSFETCHes the ring check needs in the period before the boundary and
# in the one after.  Fewer before: the boundary is taken unless it comes
# within ~45 s of the first publication, else the test waits 8 minutes.
RING_MIN_BEFORE = 4
RING_MIN_AFTER = 6
RING_INTERVAL = 10.5     # tor applies at most one NEWNYM per 10 s


class TestFailure(Exception):
    pass


def check(cond, message):
    if not cond:
        raise TestFailure(message)
    print(f"ok: {message}", flush=True)


def note(message):
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())}] {message}",
          flush=True)


def time_period(unix_time):
    return (int(unix_time) // 60 - TP_OFFSET_MINUTES) // TP_MINUTES


def next_boundary(after):
    """The first time-period start later than after (unix time)."""
    tp = time_period(after) + 1
    return (tp * TP_MINUTES + TP_OFFSET_MINUTES) * 60


def instance(sv, name):
    for inst in sv["instances"]:
        if inst["name"] == name:
            return inst
    raise TestFailure(f"instance {name} missing from the status document")


def all_descriptors(doc):
    """Every descriptor of every service in a status document."""
    return [d for sv in doc["services"] for d in sv["descriptors"]]


def uploaded_everywhere(desc):
    """Every responsible HSDir has this descriptor's current revision."""
    return bool(desc["hsdirs"]) and all(
        h["state"] == "uploaded" and
        h["uploadedRevision"] == desc["revisionCounter"]
        for h in desc["hsdirs"])


def fetch_frontend(net, ob, attempts=3, frontend=None):
    """One request through the client on fresh circuits to frontend
    (default the first); a failure is retried (with NEWNYM) up to
    attempts times.  Returns the result."""
    url = f"http://{frontend or ob.frontend}/"
    last = None
    for _ in range(attempts):
        try:
            result = net.fetch(url, timeout=60)
            if result.status == 200 and result.backend:
                return result
            last = f"HTTP {result.status} {result.body!r}"
        except (OSError, testnet.socksfetch.FetchError) as e:
            last = str(e)
        note(f"  frontend request failed ({last}); NEWNYM and again")
        net.client_newnym()
    raise TestFailure(f"frontend unreachable after {attempts} attempts: "
                      f"{last}")


# -- the hash ring, checked by tor's own client ---------------------------


class RingChecker(threading.Thread):
    """NEWNYM + HSFETCH <frontend> on the client, again and again; records
    (client's time period, HSDir, result) of every fetch."""

    def __init__(self, net, frontend):
        super().__init__(name="ring", daemon=True)
        self.net = net
        self.address = frontend[:-len(".onion")]
        self.results = []        # (tp, hsdir, "RECEIVED" or reason)
        self.errors = []
        self.stopping = threading.Event()

    def run(self):
        try:
            ctl = self.net.controller("client")
        except Exception as e:                      # noqa: BLE001
            self.errors.append(f"client control: {e}")
            return
        try:
            ctl.setevents(["HS_DESC"])
            while not self.stopping.is_set():
                t0 = time.monotonic()
                self.fetch_once(ctl)
                self.stopping.wait(max(0.0, RING_INTERVAL -
                                       (time.monotonic() - t0)))
        except Exception as e:                      # noqa: BLE001
            self.errors.append(f"{type(e).__name__}: {e}")
        finally:
            ctl.close()

    def fetch_once(self, ctl):
        ctl.signal("NEWNYM")
        tp = time_period(_valid_after(ctl))
        ctl.command(f"HSFETCH {self.address}")
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            ev = ctl.next_event(timeout=max(0.1, deadline - time.monotonic()))
            if ev is None:
                break
            words = ev.text.split()
            if len(words) < 5 or words[0] != "HS_DESC" or \
                    words[2] != self.address:
                continue
            hsdir = words[4].split("~")[0].lstrip("$")
            if words[1] == "RECEIVED":
                self.results.append((tp, hsdir, "RECEIVED"))
                return
            if words[1] == "FAILED":
                m = re.search(r"REASON=(\S+)", ev.text)
                self.results.append((tp, hsdir, m.group(1) if m else "?"))
                return
        self.results.append((tp, None, "no answer in 40 s"))


def _valid_after(ctl):
    """The client's consensus valid-after, as unix time: what tor's
    hs_get_time_period_num() uses for its time period."""
    text = ctl.getinfo("consensus/valid-after")
    return time.mktime(time.strptime(text + " UTC", "%Y-%m-%d %H:%M:%S %Z")) \
        - time.timezone


# -- scenarios --------------------------------------------------------------


def scenario_reach(net, ob, timings):
    note("reach: waiting for the first answer through the frontend")
    while True:
        try:
            result = net.fetch(f"http://{ob.frontend}/", timeout=30)
            if result.backend:
                break
        except (OSError, testnet.socksfetch.FetchError) as e:
            note(f"  not yet: {e}")
        if time.time() - ob.started_at > 180:
            raise TestFailure("frontend not reachable 180 s after start")
        time.sleep(2)
    timings["start_to_first_success"] = round(time.time() - ob.started_at, 1)
    check(True, f"first answer through the frontend ({result.backend}) "
          f"{timings['start_to_first_success']} s after onionbalanced "
          f"started")
    seen = {}
    for i in range(FETCHES):
        r = fetch_frontend(net, ob, attempts=1)
        seen[r.backend] = seen.get(r.backend, 0) + 1
        note(f"  fresh circuit {i + 1:2}: {r.backend} in {r.seconds:.2f} s")
    check(len(seen) >= 2, f"{FETCHES} fresh circuits, answered by "
          f"{dict(sorted(seen.items()))} (at least 2 backends)")
    reach_second(net, ob)


def reach_second(net, ob):
    """The second frontend, served by the same backends, answers."""
    second = ob.frontends[1]
    deadline = time.time() + 120
    while True:
        try:
            r = fetch_frontend(net, ob, attempts=1, frontend=second)
            break
        except TestFailure as e:
            if time.time() > deadline:
                raise TestFailure(f"second frontend {second}: {e}")
            time.sleep(2)
    check(True, f"the second frontend answers ({r.backend}, "
          f"{r.seconds:.2f} s)")


def scenario_sighup(net, ob, timings):
    kids = ob.wait_children()
    doc = ob.status()
    before = all_descriptors(doc)
    lines_before = len(ob.log_lines())
    t0 = time.time()
    note("sighup: SIGHUP to the parent, configuration unchanged")
    os.kill(ob.proc.pid, signal.SIGHUP)
    applied = re.compile(r"publishd: \[info\] configuration \d+: 2 service")
    while not any(applied.search(line)
                  for line in ob.log_lines()[lines_before:]):
        if time.time() > t0 + 30:
            raise TestFailure("publishd did not log the reloaded "
                              "configuration within 30 s")
        time.sleep(0.5)
    time.sleep(max(0.0, t0 + SIGHUP_QUIET - time.time()))
    after = ob.wait_children()
    check(after == kids, f"no child restarted on SIGHUP ({kids} -> {after})")
    began = [line for line in ob.log_lines()[lines_before:]
             if "keyd: [info] began service" in line]
    check(not began, f"keyd began no period again after SIGHUP (publishd "
          f"kept its signing keys): {began}")
    doc = ob.status()
    for i, (old, d) in enumerate(zip(before, all_descriptors(doc))):
        tag = f"descriptor {i} ({d['descriptor']})"
        if d["builtAt"] == old["builtAt"]:
            sent = [h["fingerprint"][:8] for h in d["hsdirs"]
                    if (obdaemon.parse_time(h["lastAttempt"]) or 0) >= t0]
            check(not sent and uploaded_everywhere(d) and
                  d["revisionCounter"] == old["revisionCounter"],
                  f"{tag}: not rebuilt, not uploaded again in "
                  f"{SIGHUP_QUIET} s, still on every HSDir at revision "
                  f"{d['revisionCounter']} (sent again to {sent})")
        else:
            # a build for a reason of its own (a backend's new intro
            # points) may fall in the window; it must not be a restart
            check(d["reason"] != "first" and
                  d["revisionCounter"] > old["revisionCounter"],
                  f"{tag}: rebuilt during the SIGHUP window for reason "
                  f"{d['reason']}, revision {old['revisionCounter']} -> "
                  f"{d['revisionCounter']}")


def scenario_backend(net, ob, timings):
    _, sv = ob.service_status()
    before = instance(sv, "node2")
    revisions = [d["revisionCounter"] for d in sv["descriptors"]]
    t0 = time.time()
    note("backend: restarting be1 (its intro points change)")
    net.restart_backend(1)
    t_up = time.time()
    limit = FETCH_PERIOD + 30
    while True:
        _, sv = ob.service_status()
        inst = instance(sv, "node2")
        changed = obdaemon.parse_time(inst["introSetModified"])
        fresh = inst["state"] == "live" and changed is not None and \
            changed >= t0 - 1 and \
            inst["revisionCounter"] != before["revisionCounter"]
        if fresh and all(
                obdaemon.parse_time(d["builtAt"]) >= changed and
                uploaded_everywhere(d) for d in sv["descriptors"]):
            break
        if time.time() > t_up + limit + 30:
            raise TestFailure(f"no new superdescriptor uploaded {limit} s "
                              f"after be1's upload: node2 {inst}, "
                              f"descriptors {sv['descriptors']}")
        time.sleep(1)
    took = time.time() - t_up
    timings["backend_restart_to_new_superdescriptor"] = round(took, 1)
    check(took <= limit, f"new superdescriptors (reason "
          f"{[d['reason'] for d in sv['descriptors']]}) uploaded to every "
          f"responsible HSDir {took:.1f} s after be1's upload "
          f"(limit {limit} s)")
    now = [d["revisionCounter"] for d in sv["descriptors"]]
    check(all(n > b for n, b in zip(now, revisions)),
          f"their revision counters rose: {revisions} -> {now}")
    for i in range(25):
        net.client_newnym()
        r = fetch_frontend(net, ob)
        if r.backend == "be1":
            break
    check(r.backend == "be1", f"be1 answers through the frontend after "
          f"{i + 1} fresh descriptor fetches (its new intro points are in "
          f"the superdescriptor)")


def scenario_kill(net, ob, timings):
    for name in obdaemon.CHILDREN:
        kids = ob.wait_children()
        t0 = time.time()
        note(f"kill: kill -9 {name} (pid {kids[name]})")
        os.kill(kids[name], signal.SIGKILL)
        kids = ob.wait_children(timeout=30, changed_from={name: kids[name]})
        took = time.time() - t0
        timings[f"kill_{name}_restarted"] = round(took, 1)
        check(True, f"the parent restarted {name} (pid {kids[name]}) in "
              f"{took:.1f} s")
        if name == "fetchd":
            # the restarted fetchd knows nothing yet: that must not empty
            # the frontend's descriptor
            for _ in range(10):
                _, sv = ob.service_status()
                states = [i["state"] for i in sv["instances"]]
                check_all = all(s == "live" for s in states)
                if not check_all:
                    break
                time.sleep(0.5)
            check(check_all, f"instances stay live while the new fetchd "
                  f"fetches: {states}")
        if name == "publishd":
            wait_rebuilt(ob, t0, "publishd restarted")
        net.client_newnym()
        r = fetch_frontend(net, ob)
        check(True, f"frontend reachable after {name} restarted "
              f"({r.backend}, {r.seconds:.2f} s)")


def scenario_keyd(net, ob, timings):
    if os.geteuid() != 0:
        note("keyd: not root, so publishd's channel cannot be taken over "
             "(pidfd_getfd); not run")
        return
    lines_before = len(ob.log_lines())
    t0 = time.time()
    # Shorter than a message header: keyd cannot even frame it.
    kids = ob.send_as_publishd(b"junk!")
    note(f"keyd: a malformed request sent on publishd's (pid "
         f"{kids['publishd']}) channel to keyd (pid {kids['keyd']})")
    after = ob.wait_children(timeout=30,
                             changed_from={"publishd": kids["publishd"]})
    took = time.time() - t0
    timings["keyd_malformed_publishd_restarted"] = round(took, 1)
    new = ob.log_lines()[lines_before:]
    check(after["keyd"] == kids["keyd"] and not any(
        "lost child keyd" in line for line in new),
        f"keyd (pid {kids['keyd']}) stayed up")
    check(any("keyd dropped its request channel: a malformed request" in
              line for line in new),
          f"the parent says keyd dropped publishd's channel and restarted "
          f"publishd (pid {after['publishd']}) {took:.1f} s later")
    wait_rebuilt(ob, t0, "publishd restarted after its malformed request")
    net.client_newnym()
    r = fetch_frontend(net, ob)
    check(True, f"frontend reachable after keyd refused publishd's request "
          f"({r.backend})")


def wait_rebuilt(ob, t0, why, timeout=180):
    """Both descriptors of every service built after t0 and uploaded
    everywhere.  The limit
    covers one lost upload: publishd gives an upload that tor never
    reports on 120 s before it retries that HSDir (publishd/README.md),
    and on a loaded 2-core machine with 28 tors that does happen."""
    deadline = time.time() + timeout
    while True:
        try:
            doc = ob.status()
            descs = all_descriptors(doc)
            if doc["controlConnected"] and descs and all(
                    (obdaemon.parse_time(d["builtAt"]) or 0) >= t0 - 1 and
                    d["lastError"] is None and uploaded_everywhere(d)
                    for d in descs):
                break
        except (OSError, ValueError, obdaemon.DaemonError) as e:
            # a publishd that has just started serves a document without
            # services until its configuration arrives
            descs = f"status socket: {e}"
        if time.time() > deadline:
            raise TestFailure(f"{why}: descriptors not rebuilt and uploaded "
                              f"within {timeout} s: {descs}")
        time.sleep(1)
    check(True, f"{why}: the {len(descs)} descriptors built (through keyd) "
          f"and uploaded to every HSDir {time.time() - t0:.1f} s later")


def scenario_mgmt(net, ob, timings):
    lines_before = len(ob.log_lines())
    t0 = time.time()
    note("mgmt: restarting the management tor")
    net.stop_node("mgmt")
    # Uploads confirmed after this instant went through the new tor:
    # onionbalanced may reconnect and upload before the harness has seen
    # the new tor bootstrapped, so t_up is too late a mark.
    t_gone = time.time()
    net.start_node("mgmt")
    t_up = time.time()
    deadline = t_up + 90
    while True:
        new = ob.log_lines()[lines_before:]
        text = "\n".join(new)
        reconnected = {d: f"{d}: [info] tor control connection ready" in text
                       for d in ("fetchd", "publishd")}
        fetch_seen = any(re.match(r"fetchd: \[(debug|info)\] node\d+: "
                                  r"(descriptor revision|revision .* is not "
                                  r"newer)", line) and
                         idx > _first_index(new, "fetchd: [info] tor control "
                                                 "connection ready")
                         for idx, line in enumerate(new))
        doc = ob.status()
        reuploaded = doc["controlConnected"] and all(
            uploaded_everywhere(d) and all(
                (obdaemon.parse_time(h["lastResultAt"]) or 0) >= t_gone - 1
                for h in d["hsdirs"])
            for d in all_descriptors(doc))
        if all(reconnected.values()) and fetch_seen and reuploaded:
            break
        if time.time() > deadline:
            raise TestFailure(f"after the mgmt restart: reconnected "
                              f"{reconnected}, fetchd saw a descriptor "
                              f"{fetch_seen}, publishd re-uploaded "
                              f"{reuploaded}")
        time.sleep(1)
    took = time.time() - t_up
    timings["mgmt_restart_to_republished"] = round(took, 1)
    check(True, f"after the mgmt restart (took {t_up - t0:.1f} s) fetchd and "
          f"publishd reconnected, fetchd got descriptors again and every "
          f"descriptor was uploaded again to every HSDir and confirmed by "
          f"HS_DESC events, {took:.1f} s after tor was back")
    net.client_newnym()
    r = fetch_frontend(net, ob)
    check(True, f"frontend reachable after the mgmt restart ({r.backend})")


def _first_index(lines, text):
    for i, line in enumerate(lines):
        if text in line:
            return i
    return len(lines)


def scenario_rollover(net, ob, boundary, timings):
    tp_new = time_period(boundary)
    wait = boundary - ROLLOVER_BEFORE - time.time()
    if wait > 0:
        note(f"rollover: waiting {wait:.0f} s for the boundary at "
             f"{time.strftime('%H:%M:%S', time.gmtime(boundary))} "
             f"(time period {tp_new - 1} -> {tp_new})")
        time.sleep(wait)
    _, sv = ob.service_status()
    second = sv["descriptors"][1]
    check(second["timePeriod"] == tp_new and uploaded_everywhere(second),
          f"before the boundary the second descriptor is for time period "
          f"{tp_new} and on all its {len(second['hsdirs'])} HSDirs")
    ok = []
    while time.time() < boundary + ROLLOVER_AFTER:
        net.client_newnym()
        # A second try (fresh circuits, NEWNYM) for one request that timed
        # out: on a loaded 2-core machine an intro circuit can time out;
        # a descriptor that is missing or wrong fails both tries.
        r = fetch_frontend(net, ob, attempts=2)
        ok.append((round(time.time() - boundary), r.backend))
        note(f"  {time.time() - boundary:+5.0f} s: {r.backend} in "
             f"{r.seconds:.2f} s")
    after = [x for x in ok if x[0] > 10]
    check(len(after) >= 3, f"frontend reachable on every fresh descriptor "
          f"fetch across the boundary: {ok}")
    timings["rollover_probes"] = len(ok)


def check_ring(ring, boundary):
    tp_new = time_period(boundary)
    bad = [r for r in ring.results if r[2] != "RECEIVED"]
    before = [r for r in ring.results if r[0] == tp_new - 1]
    after = [r for r in ring.results if r[0] == tp_new]
    hsdirs = {r[1] for r in ring.results if r[1]}
    print(f"ring: {len(ring.results)} HSFETCHes by the client, "
          f"{len(hsdirs)} distinct HSDirs; per time period: "
          f"{ {tp: sum(1 for r in ring.results if r[0] == tp) for tp in sorted({r[0] for r in ring.results})} }",
          flush=True)
    check(not ring.errors, f"ring checker ran without errors {ring.errors}")
    check(not bad, f"every HSDir the client picked had the descriptor "
          f"(failures: {bad})")
    check(len(before) >= RING_MIN_BEFORE and len(after) >= RING_MIN_AFTER,
          f"HSFETCH found it {len(before)} times in time period "
          f"{tp_new - 1} and {len(after)} times in {tp_new}")


# -- the run --------------------------------------------------------------


def run(build_dir):
    timings = {}
    t_start = time.monotonic()
    keep = os.environ.get("OB_TESTNET_KEEP") == "1"
    with testnet.Network(relays=RELAYS, backends=3, keep=keep) as net:
        net.create()
        net.start()
        net.wait_ready(timeout=480)
        timings["network_ready"] = round(time.monotonic() - t_start, 1)
        ob = obdaemon.Onionbalanced(net, build_dir)
        print(f"onionbalanced log: {ob.log_path}", flush=True)
        try:
            run_scenarios(net, ob, timings)
        except BaseException:
            print("--- last lines of onionbalanced's log ---", flush=True)
            print(ob.log_tail(40), flush=True)
            raise
        finally:
            code = ob.stop()
        check(code == 0, f"onionbalanced stopped with status {code}")
        sanitizer = [line for line in ob.log_lines()
                     if "Sanitizer" in line or "runtime error:" in line]
        check(not sanitizer, f"no sanitizer report in the daemons' log "
              f"{sanitizer[:5]}")
        rejected = ob.log_count("UPLOAD_REJECTED")
        check(rejected == 0, f"no HSDir refused an upload ({rejected} "
              f"UPLOAD_REJECTED; a revision counter that does not rise "
              f"would show here)")
        warnings = [line for line in ob.log_lines()
                    if "[warning]" in line or "[error]" in line]
        print(f"onionbalanced logged {len(warnings)} warning(s); "
              f"see {ob.log_path}", flush=True)
    timings["total"] = round(time.monotonic() - t_start, 1)
    print(f"timings (s): {timings}", flush=True)


def run_scenarios(net, ob, timings):
    ob.configure(services=2, top={
        "metrics-location": metrics_scrape.socket_path(ob)})
    note(f"frontends {' and '.join(ob.frontends)}; switching the 3 backends "
         f"to Onionbalance-instance mode")
    ob.switch_backends()
    ob.start()
    note(f"onionbalanced started (pid {ob.proc.pid})")
    scenario_reach(net, ob, timings)
    wait_rebuilt(ob, ob.started_at, "first publication")
    first_scrape = metrics_scrape.check(ob, check)

    ring = RingChecker(net, ob.frontend)
    ring.start()
    try:
        run_checks(net, ob, ring, timings)
        last = metrics_scrape.check(ob, check, before=first_scrape)
        metrics_scrape.check_restarts(last, check, obdaemon.CHILDREN)
    finally:
        ring.stopping.set()
        print(f"ring: HSFETCH results (time period, HSDir, result): "
              f"{ring.results}", flush=True)


def check_key_memory(ob):
    """After the scenarios: the master key's secret bytes are in keyd's
    memory and in no other process of ours (reading another process's
    memory needs root; the sandbox suite does the same without tor)."""
    if os.geteuid() != 0:
        note("key memory: not root, not scanned")
        return
    kids = ob.wait_children()
    for key_path in ob.key_paths:
        problems = test_key_memory.check(
            key_path, kids["keyd"], {"onionbalanced": ob.proc.pid,
                                     "fetchd": kids["fetchd"],
                                     "publishd": kids["publishd"]})
        check(not problems, f"the master key {os.path.basename(key_path)} "
              f"is in keyd's memory only" +
              (": " + "; ".join(problems) if problems else ""))


def run_checks(net, ob, ring, timings):
    # the boundary must leave room for ring fetches before it
    boundary = next_boundary(time.time() + RING_MIN_BEFORE * RING_INTERVAL
                             + 3)
    rollover_done = False
    for name, fn in (("sighup", scenario_sighup),
                     ("backend", scenario_backend), ("kill", scenario_kill),
                     ("keyd", scenario_keyd), ("mgmt", scenario_mgmt)):
        if not rollover_done and \
                time.time() + ESTIMATE[name] > boundary - ROLLOVER_BEFORE:
            scenario_rollover(net, ob, boundary, timings)
            rollover_done = True
        fn(net, ob, timings)
    if not rollover_done:
        scenario_rollover(net, ob, boundary, timings)
    # enough ring fetches in the new period too
    while sum(1 for r in ring.results if r[0] == time_period(boundary)) < \
            RING_MIN_AFTER and ring.is_alive():
        time.sleep(2)
    ring.stopping.set()
    ring.join(60)
    check_ring(ring, boundary)
    reach_second(net, ob)
    check_key_memory(ob)
    code, text = ob.status_text()
    print(text, flush=True)
    check(code == 0 and ob.frontend in text, "onionbalanced status prints "
          "the frontend")


def main(run_fn=run, errors=()):
    """Run run_fn(build_dir) as a meson test: 0 pass, 1 fail, 77 skip.
    errors: more exception types that mean a failure (test_failover)."""
    if not shutil.which("tor") or not shutil.which("tor-gencert"):
        print("SKIP: tor or tor-gencert missing")
        return 77
    build_dir = os.environ.get("OB_BUILD_DIR")
    if not build_dir:
        print("FAIL: OB_BUILD_DIR is not set (meson sets it)")
        return 1
    try:
        run_fn(build_dir)
    except (TestFailure, testnet.TestnetError, obdaemon.DaemonError, OSError,
            metrics_scrape.MetricsError,
            torcontrol.ControlError, testnet.socksfetch.FetchError) + \
            tuple(errors) as e:
        print(f"FAIL: {e}", flush=True)
        return 1
    print("PASS", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
