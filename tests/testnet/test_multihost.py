#!/usr/bin/python3
"""Two management hosts with one key, and a management host whose clock
is off (issue 20; meson test testnet_multihost, suite 'testnet').

One network (3 authorities, 4 relays, 3 backends) with two management
tors (Network(mgmt_nodes=2): "mgmt" and "mgmt2") and two onionbalanced:
ob on mgmt and ob2 on mgmt2, ob2 a copy of ob's key file and config
(obdaemon.Onionbalanced.configure_like), so both publish one frontend
whose instances are the same 3 backends.  In order:

  both      Both daemons' status documents show every responsible HSDir
            of both descriptors `uploaded` at the descriptor's current
            revision (test_daemon.uploaded_everywhere): both uploaded.
  kill      The victim is the daemon whose descriptors the responsible
            HSDirs serve now (HSFETCH counters against each daemon's
            per-HSDir `uploadedRevision`; the one with more matches; the
            check fails if neither matches any): killing the other one
            would leave nothing to take over.  SIGKILL the victim's parent
            and its three children (four pids).  Then, at the same time:
            - 10 requests through the frontend, NEWNYM before each (fresh
              circuits, a fresh descriptor), each tried once: all must be
              answered by a backend, the last one sent within 120 s of
              the kill;
            - every responsible HSDir of the client's current time period
              (HSFETCH <frontend> SERVER=<hsdir> on the client tor) must
              come to serve the revision counter the survivor's status
              document says that HSDir accepted from it
              (`uploadedRevision`): the survivor's descriptor.  Counters
              come from the clock, so where the victim uploaded last its
              descriptor stays until the survivor builds again: on a
              change, or on its refresh, half a time period (4 minutes
              here) after its last build.  Nothing is forced: a test that
              changed a backend to hurry the survivor would test the
              change, not the takeover.  The cheapest honest way is to
              poll every 5 s until every HSDir serves the survivor's
              counter, bounded by the refresh plus 90 s after the kill;
              the time it took and the survivor's build reason (status
              `reason`) are printed.  On this network the backends'
              intro points rotate within minutes (tor's testing
              lifetimes), so a change usually comes first.
  restart   The victim starts again (same folder, key and config): within
            120 s every responsible HSDir of both its descriptors is
            `uploaded` in its status; the survivor has an HSDir whose
            lastResult is UPLOADED at a time after the kill (implied by
            the takeover).
  counters  Throughout kill and restart, every HSFETCH is recorded per
            (client time period, HSDir): a served revision counter never
            goes down within a period (HSFETCH by address returns the
            current period's descriptor, so the sequence starts again
            when the period changes); every descriptor served says
            `descriptor-lifetime 720`, tor's maximum.
  clock     ob2 stops; a third daemon folder (obskew-behind, the same
            key and config) on mgmt2, from the gcc production build
            (build-gcc beside OB_BUILD_DIR, or OB_CLOCK_BUILD_DIR: under
            libfaketime the sanitizer build's parent deadlocks in ASan's
            allocator before main, see clock_build_dir), runs under
            libfaketime (LD_PRELOAD, inherited
            by the children: parent/spawn.c passes environ on) with
            FAKETIME=-10m, then a fresh one (obskew-ahead) with +10m
            (FAKETIME_DONT_FAKE_MONOTONIC=1, so libevent's timers run in
            real time).  Each: within 60 s an error line "clock: our clock
            ... behind the consensus" (resp. "ahead of the consensus") is
            logged and the status document's consensus says clock
            behind (ahead) with a clockSkewSeconds of at least 7
            minutes, negative when behind; during 60 s after the start
            no descriptor is built (builtAt and lastBuildAttempt null),
            no HSDir upload is attempted (lastAttempt null) and mgmt2
            sees no HS_DESC UPLOAD for the frontend; all three children
            stay alive (a child the seccomp sandbox killed because of
            libfaketime shows here, with the log's last lines).

Each daemon stops with status 0 and leaves no sanitizer report.  The
network's teardown stops every <workdir>/*/*.pid, which covers ob/,
ob2/ and obskew*/ (onionbalanced.pid, the parent; the children follow
it).

Environment: OB_BUILD_DIR (meson's build root, set by tests/meson.build),
OB_TESTNET_RELAYS (default 4), OB_TESTNET_KEEP=1 keeps the work directory
after a pass too, OB_CLOCK_BUILD_DIR (the clock phase's build, default
build-gcc beside OB_BUILD_DIR).  Exit status: 0 pass, 1 fail, 77 skip.
"""

import os
import re
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import hsdesc  # noqa: E402
import obdaemon  # noqa: E402
import test_daemon  # noqa: E402
from test_daemon import TestFailure, check, note  # noqa: E402
import testnet  # noqa: E402

RELAYS = int(os.environ.get("OB_TESTNET_RELAYS", str(testnet.DEFAULT_RELAYS)))
BACKENDS = 3
UPLOAD_LIMIT = 120       # both daemons uploaded everywhere
REFRESH_S = 240          # publishd's refresh: half a time period here
TAKEOVER_LIMIT = REFRESH_S + 90
RESTART_LIMIT = 120
REQUESTS = 10
REQUEST_WINDOW = 120
POLL = 5.0
LIFETIME = 720           # descriptor-lifetime main writes (tor's maximum)
SKEW = (("-10m", "behind"), ("+10m", "ahead"))
SKEW_BOUND_S = 7 * 60    # publishd's bound (docs/deployment.md#clocks)
SKEW_LOG_LIMIT = 60
SKEW_WATCH = 60
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


def descriptors(doc):
    """The frontend's descriptors in a status document (none while the
    daemon has not read its configuration yet)."""
    return doc["services"][0]["descriptors"] if doc["services"] else []


def current_descriptor(doc, tp):
    """The frontend's descriptor of time period tp in a status document,
    or None."""
    for d in descriptors(doc):
        if d["active"] and d["timePeriod"] == tp:
            return d
    return None


def published_everywhere(doc):
    """Every active descriptor is on every responsible HSDir at its
    current revision."""
    descs = [d for d in descriptors(doc) if d["active"]]
    return bool(descs) and all(test_daemon.uploaded_everywhere(d)
                               for d in descs)


def upload_summary(doc):
    return "; ".join(
        f"{d['descriptor']} tp {d['timePeriod']} rev {d['revisionCounter']}"
        f": " + ", ".join(f"{h['fingerprint'][:6]} {h['state']}/"
                          f"{h['lastResult']}/{h['uploadedRevision']}"
                          for h in d["hsdirs"])
        for d in descriptors(doc) if d["active"])


class Counters:
    """The revision counters the responsible HSDirs serve, as the client
    tor fetches them (HSFETCH ... SERVER=$fpr), recorded per (the
    client's time period, HSDir)."""

    def __init__(self, net, frontend):
        self.net = net
        self.frontend = frontend
        self.ctl = net.controller("client")
        self.ctl.setevents(["HS_DESC", "HS_DESC_CONTENT"])
        self.last = {}           # (tp, fpr) -> highest counter seen
        self.decreases = []
        self.lifetimes = {}      # lifetime -> count
        self.samples = 0

    def close(self):
        self.ctl.close()

    def tp(self):
        return test_daemon.time_period(test_daemon._valid_after(self.ctl))

    def sample(self, doc):
        """HSFETCH the frontend from every responsible HSDir of the
        client's time period (as doc, a status document, lists them);
        return (tp, {fpr: counter}) for the HSDirs that served one."""
        tp = self.tp()
        desc = current_descriptor(doc, tp)
        if desc is None or not desc["hsdirs"]:
            return tp, {}
        fprs = [h["fingerprint"] for h in desc["hsdirs"]]
        got = hsdesc.hsfetch_each(self.ctl, self.frontend, fprs)
        served = {}
        for fpr, fetched in got.items():
            if fetched.result != "RECEIVED" or not fetched.text:
                continue
            rev = re.search(r"^revision-counter (\d+)$", fetched.text,
                            re.MULTILINE)
            life = re.search(r"^descriptor-lifetime (\d+)$", fetched.text,
                             re.MULTILINE)
            if rev is None or life is None:
                raise TestFailure(f"HSDir {fpr} served a descriptor without "
                                  f"revision-counter or descriptor-lifetime:"
                                  f" {fetched.text[:300]!r}")
            counter = int(rev.group(1))
            lifetime = int(life.group(1))
            self.lifetimes[lifetime] = self.lifetimes.get(lifetime, 0) + 1
            before = self.last.get((tp, fpr))
            if before is not None and counter < before:
                self.decreases.append(f"tp {tp} HSDir {fpr}: {before} -> "
                                      f"{counter}")
                note(f"  DECREASE at {fpr[:8]}: {before} -> {counter}")
            self.last[(tp, fpr)] = max(counter, before or 0)
            served[fpr] = counter
        self.samples += 1
        return tp, served


class Requests(threading.Thread):
    """REQUESTS requests through the frontend, NEWNYM before each, each
    tried once; records (seconds after t0 when sent, outcome)."""

    def __init__(self, net, frontend, t0):
        super().__init__(name="requests", daemon=True)
        self.net = net
        self.url = f"http://{frontend}/"
        self.t0 = t0
        self.results = []
        self.error = None

    def run(self):
        try:
            for _ in range(REQUESTS):
                self.net.client_newnym()
                sent = time.monotonic() - self.t0
                try:
                    r = self.net.fetch(self.url, timeout=60)
                    ok = r.status == 200 and r.backend is not None
                    outcome = r.backend if ok else \
                        f"HTTP {r.status} {r.body[:60]!r}"
                except (OSError, testnet.socksfetch.FetchError) as e:
                    ok, outcome = False, f"{type(e).__name__}: {e}"
                self.results.append((round(sent, 1), ok, outcome))
        except Exception as e:                      # noqa: BLE001
            self.error = f"{type(e).__name__}: {e}"


def wait_both_uploaded(obs, limit):
    t0 = time.monotonic()
    deadline = t0 + limit
    while True:
        docs = {ob.name: ob.status() for ob in obs}
        if all(published_everywhere(doc) for doc in docs.values()):
            return time.monotonic() - t0
        if time.monotonic() > deadline:
            raise TestFailure(
                f"not every daemon uploaded everywhere within {limit} s: " +
                " | ".join(f"{n}: {upload_summary(d)}"
                           for n, d in docs.items()))
        time.sleep(2)


def served_by(counters, daemons):
    """Which daemon's descriptors the responsible HSDirs serve now: the
    one whose per-HSDir uploadedRevision matches the most served
    counters.  Returns (daemon, matches, HSDirs sampled)."""
    tp, served = counters.sample(daemons[0].status())
    best = (None, 0)
    for d in daemons:
        desc = current_descriptor(d.status(), tp)
        n = sum(1 for h in (desc or {}).get("hsdirs", [])
                if served.get(h["fingerprint"]) == h["uploadedRevision"])
        if n > best[1]:
            best = (d, n)
    return best[0], best[1], len(served)


def phase_kill(net, ob, ob2, counters, figures):
    """Kill ob (the daemon the HSDirs serve); requests succeed; the HSDirs
    come to serve ob2's counters.  Returns the kill time (unix)."""
    pids = ob.kill_all()
    t_kill = time.monotonic()
    kill_unix = time.time()
    note(f"kill: SIGKILLed {ob.name}'s four processes {pids}")
    requests = Requests(net, ob.frontend, t_kill)
    requests.start()
    took = None
    last = None
    while True:
        doc = ob2.status()
        tp, served = counters.sample(doc)
        desc = current_descriptor(doc, tp)
        if desc is not None:
            want = {h["fingerprint"]: h["uploadedRevision"]
                    for h in desc["hsdirs"]}
            last = (tp, want, served)
            if want and all(w > 0 and served.get(f) == w
                            for f, w in want.items()):
                took = time.monotonic() - t_kill
                figures["survivor_build_reason"] = desc.get("reason")
                break
        if time.monotonic() - t_kill > TAKEOVER_LIMIT:
            break
        time.sleep(POLL)
    requests.join(REQUEST_WINDOW + 120)
    figures["kill_to_survivor_served_s"] = round(took, 1) if took else None
    for sent, ok, outcome in requests.results:
        note(f"  request at +{sent} s: {'ok' if ok else 'FAILED'} "
             f"({outcome})")
    check(requests.error is None, f"requests ran ({requests.error})")
    check(len(requests.results) == REQUESTS and
          all(ok for _, ok, _ in requests.results),
          f"all {REQUESTS} fresh-circuit requests after the kill answered "
          f"by a backend: {requests.results}")
    check(requests.results[-1][0] <= REQUEST_WINDOW,
          f"the {REQUESTS} requests were sent within {REQUEST_WINDOW} s of "
          f"the kill (last at +{requests.results[-1][0]} s)")
    figures["requests_last_sent_s"] = requests.results[-1][0]
    check(took is not None,
          f"every responsible HSDir serves the survivor's ({ob2.name}) "
          f"revision counter within "
          f"{TAKEOVER_LIMIT} s of the kill; last seen (tp, its "
          f"uploadedRevision per HSDir, served): {last}")
    return kill_unix


def phase_restart(ob, ob2, counters, kill_unix, figures):
    t0 = time.monotonic()
    ob.start()
    note(f"restart: {ob.name} started again (pid {ob.proc.pid})")
    ob_done = None
    ob2_done = None
    while True:
        doc, doc2 = ob.status(), ob2.status()
        counters.sample(doc2)
        now = time.monotonic() - t0
        if ob_done is None and published_everywhere(doc):
            ob_done = now
        if ob2_done is None and any(
                h["lastResult"] == "UPLOADED" and
                (obdaemon.parse_time(h["lastResultAt"]) or 0) >= kill_unix - 1
                for d in descriptors(doc2)
                for h in d["hsdirs"]):
            ob2_done = now
        if ob_done is not None and ob2_done is not None:
            break
        if ob_done is None and now > RESTART_LIMIT:
            break
        if time.time() - kill_unix > TAKEOVER_LIMIT:
            break
        time.sleep(POLL)
    figures["restart_to_ob_uploaded_s"] = \
        round(ob_done, 1) if ob_done is not None else None
    check(ob_done is not None,
          f"the restarted {ob.name} uploaded everywhere within "
          f"{RESTART_LIMIT} s: "
          f"{upload_summary(doc)}")
    check(ob2_done is not None,
          f"{ob2.name} uploaded (UPLOADED) after the kill: "
          f"{upload_summary(doc2)}")
    # One more round after both published: the restarted one's newer
    # counters are what the HSDirs serve now, never a lower one.
    counters.sample(ob.status())


def check_counters(counters, figures):
    figures["hsfetch_rounds"] = counters.samples
    figures["counter_series"] = len(counters.last)
    check(counters.samples > 0 and counters.last,
          f"HSDirs served the frontend ({counters.samples} rounds)")
    check(not counters.decreases,
          f"no HSDir's served revision counter went down within a time "
          f"period: {counters.decreases}")
    check(set(counters.lifetimes) == {LIFETIME},
          f"every served descriptor says descriptor-lifetime {LIFETIME} "
          f"(seen {counters.lifetimes})")


def phase_clock(net, build_dir, template, faketime, expect, figures):
    """A daemon on mgmt2 whose clock is off by faketime."""
    name = "obskew-" + ("behind" if expect == "behind" else "ahead")
    d = obdaemon.Onionbalanced(net, build_dir, name=name, mgmt="mgmt2")
    d.configure_like(template)
    short = d.frontend[:-len(".onion")]
    ctl = net.controller("mgmt2")
    try:
        ctl.setevents(["HS_DESC"])
        ctl.drain_events()
        env = {"LD_PRELOAD": FAKETIME_LIB, "FAKETIME": faketime,
               "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
        d.start(env=env)
        t0 = time.monotonic()
        note(f"clock: {name} started with FAKETIME={faketime} "
             f"(pid {d.proc.pid}, log {d.log_path})")
        kids = d.wait_children()
        wanted = ("behind the consensus" if expect == "behind"
                  else "ahead of the consensus")
        logged = None
        doc = None
        uploads = []
        while time.monotonic() - t0 < max(SKEW_WATCH, SKEW_LOG_LIMIT):
            for ev in ctl.drain_events():
                words = ev.text.split()
                if len(words) > 2 and words[0] == "HS_DESC" and \
                        words[1] == "UPLOAD" and words[2] == short:
                    uploads.append(ev.text)
            if logged is None:
                lines = [line for line in d.log_lines()
                         if "clock: our clock" in line and wanted in line]
                if lines:
                    logged = (time.monotonic() - t0, lines[0])
            if not d.alive():
                break
            doc = d.status()
            time.sleep(2)
        alive = d.alive()
        now_kids = d.children() if alive else {}
        check(alive and now_kids == kids,
              f"{name}: parent and children alive all along "
              f"(children {kids} -> {now_kids}); log:\n{d.log_tail(15)}")
        check(logged is not None,
              f"{name}: a line 'clock: our clock ... {wanted}' within {SKEW_LOG_LIMIT} s; log:\n"
              f"{d.log_tail(15)}")
        note(f"  logged after {logged[0]:.1f} s: {logged[1]}")
        check("[error]" in logged[1],
              f"{name}: the clock line is at error level: {logged[1]}")
        figures[f"clock_{expect}_logged_s"] = round(logged[0], 1)
        cons = (doc or {}).get("consensus") or {}
        skew = cons.get("clockSkewSeconds")
        check(cons.get("clock") == expect and isinstance(skew, int) and
              abs(skew) >= SKEW_BOUND_S and
              (skew < 0) == (expect == "behind"),
              f"{name}: status consensus clock {expect!r} with "
              f"clockSkewSeconds beyond {SKEW_BOUND_S} s "
              f"(negative when behind): clock={cons.get('clock')!r} "
              f"clockSkewSeconds={skew!r}")
        figures[f"clock_{expect}_skew_s"] = skew
        descs = descriptors(doc)
        built = [(x["descriptor"], x["builtAt"], x["lastBuildAttempt"])
                 for x in descs
                 if x["builtAt"] is not None or
                 x["lastBuildAttempt"] is not None]
        tried = [(h["fingerprint"][:8], h["lastAttempt"]) for x in descs
                 for h in x["hsdirs"] if h["lastAttempt"] is not None]
        check(not built and not tried and not uploads,
              f"{name}: nothing built or uploaded in {SKEW_WATCH} s "
              f"(builds {built}, HSDir attempts {tried}, HS_DESC UPLOAD "
              f"on mgmt2 {uploads[:3]})")
    finally:
        ctl.close()
        code = d.stop()
    check(code == 0, f"{name} stopped with status {code}")
    return d


def clock_build_dir(build_dir):
    """The build the clock phase runs: not the sanitizer build, whose
    ASan allocator deadlocks under libfaketime (ASan calls
    clock_gettime while holding its allocator lock, libfaketime's first
    clock_gettime calls dlsym, dlsym calls malloc: the parent hangs
    before main).  OB_CLOCK_BUILD_DIR, default the gcc production build
    scripts/test compiles beside it (build-gcc), whose seccomp filters
    are the shipped ones."""
    path = os.environ.get("OB_CLOCK_BUILD_DIR") or os.path.join(
        os.path.dirname(os.path.abspath(build_dir)), "build-gcc")
    exe = os.path.join(path, "parent", "onionbalanced")
    if not os.access(exe, os.X_OK):
        raise TestFailure(f"the clock phase needs a build without ASan: "
                          f"{exe} is missing (scripts/test compiles "
                          f"build-gcc; or set OB_CLOCK_BUILD_DIR)")
    return path


def sanitizer_lines(ob):
    return [line for line in ob.log_lines()
            if "Sanitizer" in line or "runtime error:" in line]


def run(build_dir):
    t_start = time.monotonic()
    keep = os.environ.get("OB_TESTNET_KEEP") == "1"
    figures = {}
    if not os.path.exists(FAKETIME_LIB):
        raise TestFailure(f"{FAKETIME_LIB} missing: apt-get install "
                          f"libfaketime (scripts/setup)")
    with testnet.Network(relays=RELAYS, backends=BACKENDS, keep=keep,
                         mgmt_nodes=2) as net:
        net.create()
        net.start()
        net.wait_ready(timeout=300)
        figures["network_ready_s"] = round(time.monotonic() - t_start, 1)
        ob = obdaemon.Onionbalanced(net, build_dir)
        ob2 = obdaemon.Onionbalanced(net, build_dir, name="ob2",
                                     mgmt="mgmt2")
        daemons = [ob, ob2]
        counters = None
        try:
            ob.configure()
            ob2.configure_like(ob)
            note(f"frontend {ob.frontend}: ob on mgmt, ob2 on mgmt2 "
                 f"(key copied to {ob2.key_path})")
            ob.switch_backends()
            ob.start()
            ob2.start()
            note(f"ob (pid {ob.proc.pid}) and ob2 (pid {ob2.proc.pid}) "
                 f"started")
            took = wait_both_uploaded(daemons, UPLOAD_LIMIT)
            figures["both_uploaded_s"] = round(took, 1)
            print(f"ok: both daemons uploaded everywhere ({took:.0f} s)",
                  flush=True)
            counters = Counters(net, ob.frontend)
            victim, n, sampled = served_by(counters, [ob, ob2])
            check(victim is not None,
                  f"the HSDirs serve one daemon's counters ({n} of "
                  f"{sampled} served match)")
            survivor = ob2 if victim is ob else ob
            note(f"the HSDirs serve {victim.name}'s descriptors ({n} of "
                 f"{sampled} HSDirs): killing it, {survivor.name} must "
                 f"take over")
            figures["killed"] = victim.name
            kill_unix = phase_kill(net, victim, survivor, counters, figures)
            phase_restart(victim, survivor, counters, kill_unix, figures)
            check_counters(counters, figures)
            figures["multihost_s"] = round(time.monotonic() - t_start, 1)
            code2 = ob2.stop()
            check(code2 == 0, f"ob2 stopped with status {code2}")
            for faketime, expect in SKEW:
                daemons.append(phase_clock(net, clock_build_dir(build_dir),
                                           ob, faketime, expect, figures))
        except BaseException:
            for d in daemons:
                print(f"--- last lines of {d.name}'s log ---", flush=True)
                print(d.log_tail(30), flush=True)
            raise
        finally:
            if counters:
                counters.close()
            code = ob.stop()
            ob2.stop()
            print(f"figures: {figures}", flush=True)
            print(f"total {time.monotonic() - t_start:.0f} s", flush=True)
        check(code == 0, f"ob stopped with status {code}")
        found = {d.name: sanitizer_lines(d)[:3] for d in daemons
                 if sanitizer_lines(d)}
        check(not found, f"no sanitizer report in the daemons' logs "
                         f"({found})")


def main():
    if hsdesc.HiddenServiceDescriptorV3 is None:
        print("SKIP: python3-stem is missing")
        return 77
    return test_daemon.main(run)


if __name__ == "__main__":
    sys.exit(main())
