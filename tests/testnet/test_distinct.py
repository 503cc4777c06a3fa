#!/usr/bin/python3
"""Distinct descriptors per HSDir on a real network (issue 18; meson test
'testnet_distinct', suite 'testnet').

A tor client rejects a descriptor with more than 20 introduction points,
so when a frontend's backends together have more, publishd publishes a
different descriptor ("variant", at most 20 intro points) to each of the
HSDirs a client fetches from (the first hsdir_spread_fetch = 3 of each of
the hsdir_n_replicas = 2 replicas, "fetch" HSDirs), and one of those
variants to each other responsible HSDir, spreading the backends so that
each gets an equal share of clients.

The network: 3 authorities + 17 relays = 20 HSDirs (OB_TESTNET_RELAYS),
2 backend tors running 2 onion services each (be0, be0s1, be1, be1s1),
every service with HiddenServiceNumIntroductionPoints 10: 40 intro
points, so at least two descriptors are needed; 5 client tors
(OB_DISTINCT_CLIENTS).  One onionbalanced for one frontend whose 4
instances are those services (`descriptors: auto`, the default, written
out).  Then, keeping going after a failed check so that one run shows
every outcome (the test fails if any failed):

  publish   every instance live with 10 intro points, and both
            descriptors (first and second) built from those sets and
            uploaded: each HSDir has its variant's revision counter.
  plan      the status document (docs/status-socket.md), for each of the
            two descriptors: `plan` is "distinct"; 8 HSDirs (replicas x
            spread_store), 6 of them `fetch`; each fetch HSDir has a
            variant of its own, every variant is on a fetch HSDir, every
            other HSDir has one of them; a variant has 1..20 intro
            points, the sum of its instances', each instance at most
            what the instance has; every instance is in some variant, and
            each gets an equal share of clients (+-50 %: a client picks
            one of the 6 fetch HSDirs, then one intro point of its
            variant).
  hsdirs    for the descriptor of the client's current time period: the
            client tor HSFETCHes the frontend from every responsible
            HSDir (`HSFETCH <frontend> SERVER=$fpr ...`); every HSDir
            serves a descriptor that tor's client accepted (HS_DESC
            RECEIVED; a rejected one is FAILED REASON=BAD_DESC) and
            python3-stem decodes (signature, both layers), with at most
            20 intro points, the revision counter of the variant planned
            for that HSDir, every intro point one of an instance's (by
            auth key, learnt from each backend's own descriptor) and as
            many of each instance as the plan says.  HSDirs of one variant
            serve the same intro points, different variants different
            ones.
  requests  60 requests (OB_DISTINCT_REQUESTS) through the frontend from
            the 5 clients in turn, each after SIGNAL NEWNYM on its client
            (which purges the client's descriptor cache, so every request
            fetches the descriptor anew from an HSDir tor's client picks;
            tor applies one NEWNYM per 10 s per tor, hence several
            clients).  At most 3 may fail; every backend service answers
            at least once; every HSDir a client fetched from is a `fetch`
            HSDir of the plan, none answers NOT_FOUND, and the service
            that answered is in the variant of that HSDir and has intro
            points in the descriptor the client used (its cache after
            the request, decoded with stem: at most 20 intro points).
            The requests and every descriptor fetched are kept in
            <workdir>/distinct/ (the work directory is kept on failure).
  other     the other descriptor slot is checked as in `hsdirs` once the
            client uses it: after the next boundary (every 4 minutes here
            a time period or a shared-random period begins, alternately;
            at the first the client moves on to the second descriptor, at
            the second the first descriptor takes over the current time
            period), at once if it came during the requests, by waiting
            if it comes within 100 s; otherwise skipped and said so
            (OB_DISTINCT_ROLLOVER=always waits up to 4 minutes, =never
            skips).  tor's client fetches only its current period's
            descriptor, and HSDirs refuse a fetch that is not over a
            circuit, so this is the only way to read the other one.
  rejected  tor's clients never reported a descriptor they rejected: no
            HS_DESC FAILED REASON=BAD_DESC for the frontend on any client
            connection of the test, and no warning about a descriptor in
            any client's log ("too many introduction points", "HSDesc
            parsing failed", ...); no HSDir refused an upload
            (UPLOAD_REJECTED in onionbalanced's log); no "unknown key"
            warning for `descriptors`.

Against a daemon without issue 18 (one shared descriptor of at most 20
intro points for every HSDir, no `plan`/`variants`/`variant`/`fetch` in
the status document) the checks on those fields fail, and say so; the
rest (network, HSFETCH per HSDir, stem, intro points to backends,
requests, rejections) runs the same.

Environment: OB_BUILD_DIR (meson's build root, set by tests/meson.build),
OB_TESTNET_RELAYS (default 17), OB_DISTINCT_CLIENTS (5),
OB_DISTINCT_REQUESTS (60), OB_DISTINCT_ROLLOVER (auto, always, never),
OB_TESTNET_KEEP=1 keeps the work directory after a pass too.  Exit
status: 0 pass, 1 fail, 77 skip.
"""

import json
import os
import pwd
import re
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import hsdesc  # noqa: E402
import obdaemon  # noqa: E402
import test_daemon  # noqa: E402
from test_daemon import TestFailure, note, time_period  # noqa: E402
import testnet  # noqa: E402
import torcontrol  # noqa: E402

# 3 authorities + 17 relays: 20 HSDirs, the minimum.
RELAYS = int(os.environ.get("OB_TESTNET_RELAYS", "17"))
BACKENDS = 2
SERVICES_PER_BACKEND = 2
INTRO_POINTS = 10           # per backend service: 4 x 10 = 40 > 20
CLIENTS = int(os.environ.get("OB_DISTINCT_CLIENTS", "5"))
REQUESTS = int(os.environ.get("OB_DISTINCT_REQUESTS", "60"))
ROLLOVER = os.environ.get("OB_DISTINCT_ROLLOVER", "auto")
MAX_INTRO = 20              # tor: HS_CONFIG_V3_MAX_INTRO_POINTS
SPREAD_FETCH = 3            # consensus param hsdir_spread_fetch, default
REQUEST_FAILURES_ALLOWED = 3
PUBLISH_LIMIT = 240         # onionbalanced start -> every HSDir has its own
ROLLOVER_AUTO_WAIT = 100    # wait this long at most for the boundary (auto)
# A time period (24 x 20 s) begins 4 minutes after each shared-random
# period (the same length): a boundary of either every 4 minutes.
FLIP_S = 240
SHARE_TOLERANCE = 0.5       # of 1/instances
FRESH_TP_LIMIT = 90         # boundary -> the client's consensus is in it
RELEARN_SPACING = 30        # one learning of the instances' keys serves
                            # the requests of this many seconds
# What a tor client logs (warn) about a descriptor it will not use.
REJECT_LOG = re.compile(r"too many introduction points|HSDesc parsing "
                        r"failed|descriptor.*(fail|invalid|reject)|"
                        r"Failed to (decode|parse)", re.IGNORECASE)


class Checks:
    """Records every check; a failed one does not stop the run."""

    def __init__(self):
        self.failures = []

    def __call__(self, cond, message):
        if cond:
            print(f"ok: {message}", flush=True)
            return True
        print(f"FAIL: {message}", flush=True)
        self.failures.append(message)
        return False


# -- the status document -------------------------------------------------


def service_users():
    """Top-level settings for the children's users: the package's ones
    when they exist (scripts/setup makes them), else numeric ids, as
    test_control_login.py does (only matters when run as root)."""
    if os.geteuid() != 0:
        return {}
    try:
        for role in ("keyd", "fetchd", "publishd"):
            pwd.getpwnam(f"onionbalanced-{role}")
        return {}
    except KeyError:
        return {"keyd-user": "#61001", "fetchd-user": "#61002",
                "publishd-user": "#61003"}


class Plan:
    """One status descriptor's plan, read defensively: a daemon without
    issue 18 has no `plan`, `variants`, `variant` or `fetch`; then there
    is one shared variant (number None) whose instances are unknown."""

    def __init__(self, desc):
        self.desc = desc
        self.name = desc.get("descriptor")
        self.tp = desc.get("timePeriod")
        self.plan = desc.get("plan")
        self.has_variants = isinstance(desc.get("variants"), list)
        if self.has_variants:
            self.variants = {v.get("variant"): v for v in desc["variants"]}
        else:
            self.variants = {None: {
                "variant": None,
                "revisionCounter": desc.get("revisionCounter"),
                "introPointsNum": desc.get("introPointsNum"),
                "size": desc.get("size"), "builtAt": desc.get("builtAt"),
                "instances": None}}
        self.hsdirs = desc.get("hsdirs") or []

    def variant_of(self, hsdir):
        """The variant planned for an HSDir (its status object)."""
        if not self.has_variants:
            return self.variants[None]
        return self.variants.get(hsdir.get("variant"))

    def hsdir(self, fingerprint):
        for h in self.hsdirs:
            if h.get("fingerprint", "").upper() == fingerprint.upper():
                return h
        return None

    def fetch_hsdirs(self):
        return [h for h in self.hsdirs if h.get("fetch") is True]

    def expected_revision(self, hsdir):
        v = self.variant_of(hsdir)
        return v.get("revisionCounter") if v else None

    def instance_counts(self, variant):
        """{instance name: intro points} of a variant, or None."""
        insts = variant.get("instances") if variant else None
        if insts is None:
            return None
        return {i.get("name"): i.get("introPointsNum") for i in insts}

    def built_at(self):
        times = [obdaemon.parse_time(v.get("builtAt"))
                 for v in self.variants.values()]
        return None if None in times or not times else min(times)

    def uploaded_everywhere(self):
        return bool(self.hsdirs) and all(
            h.get("state") == "uploaded" and
            h.get("uploadedRevision") == self.expected_revision(h)
            for h in self.hsdirs)

    def describe(self):
        lines = [f"{self.name} descriptor, time period {self.tp}: plan "
                 f"{self.plan!r}, {len(self.variants)} variant(s), "
                 f"{len(self.hsdirs)} HSDirs"]
        for n, v in sorted(self.variants.items(),
                           key=lambda kv: (kv[0] is None, kv[0] or 0)):
            lines.append(f"  variant {n}: revision {v.get('revisionCounter')}"
                         f", {v.get('introPointsNum')} intro points, "
                         f"{v.get('size')} bytes, instances "
                         f"{self.instance_counts(v)}")
        for h in self.hsdirs:
            lines.append(f"  HSDir {h.get('fingerprint', '?')[:8]} fetch="
                         f"{h.get('fetch')} variant={h.get('variant')} "
                         f"{h.get('state')} rev {h.get('uploadedRevision')}")
        return "\n".join(lines)


def live_instances(sv):
    return {i["name"]: i for i in sv["instances"] if i.get("state") == "live"}


def wait_published(ob, timings):
    """Until every instance is live with INTRO_POINTS intro points and
    both descriptors were built after the last change of those sets and
    are on every responsible HSDir (each with its variant's revision)."""
    note("publish: waiting for both descriptors built from every "
         "instance's full set and uploaded to every HSDir")
    deadline = time.time() + PUBLISH_LIMIT
    why = "no status yet"
    while time.time() < deadline:
        try:
            doc, sv = ob.service_status()
        except (OSError, ValueError, obdaemon.DaemonError) as e:
            why = f"status socket: {e}"
            time.sleep(2)
            continue
        insts = sv["instances"]
        full = [i for i in insts if i.get("state") == "live" and
                i.get("introPointsNum") == INTRO_POINTS]
        if len(full) < len(insts):
            why = "instances " + ", ".join(
                f"{i['name']}={i.get('state')}/{i.get('introPointsNum')}"
                for i in insts)
        else:
            changed = max(obdaemon.parse_time(i.get("introSetModified")) or 0
                          for i in insts)
            plans = [Plan(d) for d in sv["descriptors"]]
            pending = [p.name for p in plans
                       if not p.desc.get("active") or
                       (p.built_at() or 0) < changed or
                       not p.uploaded_everywhere()]
            if not pending:
                timings["start_to_published"] = round(
                    time.time() - ob.started_at, 1)
                note(f"  published {timings['start_to_published']} s after "
                     f"onionbalanced started")
                return doc, sv
            why = f"not yet built from the full sets or uploaded: {pending}"
        time.sleep(2)
    raise TestFailure(f"not published within {PUBLISH_LIMIT} s: {why}")


def check_plan(check, plan, sv, doc):
    """The plan of one descriptor as the status document states it."""
    print(plan.describe(), flush=True)
    live = live_instances(sv)
    total = sum(i.get("introPointsNum") or 0 for i in live.values())
    label = f"{plan.name} descriptor"
    check(plan.plan == "distinct", f"{label}: plan is 'distinct' "
          f"({total} live intro points > {MAX_INTRO}); status says "
          f"{plan.plan!r}")
    check(plan.has_variants, f"{label}: the status document lists its "
          f"variants (`variants`)")
    cons = doc.get("consensus") or {}
    n_rep = cons.get("hsdirNReplicas", 2)
    n_store = n_rep * cons.get("hsdirSpreadStore", 4)
    n_fetch = n_rep * cons.get("hsdirSpreadFetch", SPREAD_FETCH)
    check(len(plan.hsdirs) == n_store, f"{label}: {len(plan.hsdirs)} "
          f"responsible HSDirs ({n_store} expected)")
    fetch = plan.fetch_hsdirs()
    check(len(fetch) == n_fetch, f"{label}: {len(fetch)} HSDirs marked "
          f"`fetch` ({n_fetch} expected: replicas x spread_fetch)")
    fetch_variants = [h.get("variant") for h in fetch]
    check(len(set(fetch_variants)) == len(fetch_variants),
          f"{label}: each fetch HSDir has a variant of its own "
          f"{fetch_variants}")
    if plan.has_variants:
        unused = set(plan.variants) - set(fetch_variants)
        check(not unused, f"{label}: every variant is on a fetch HSDir "
              f"(not on one: {sorted(unused)})")
    orphans = [h.get("fingerprint", "?")[:8] for h in plan.hsdirs
               if plan.variant_of(h) is None]
    check(not orphans, f"{label}: every HSDir's `variant` is one of the "
          f"variants (not: {orphans})")
    seen = set()
    for n, v in plan.variants.items():
        counts = plan.instance_counts(v)
        n_ip = v.get("introPointsNum")
        ok = isinstance(n_ip, int) and 1 <= n_ip <= MAX_INTRO
        check(ok, f"{label}: variant {n} has 1..{MAX_INTRO} intro points "
              f"({n_ip})")
        if counts is None:
            continue
        seen |= set(counts)
        check(sum(counts.values()) == n_ip, f"{label}: variant {n}'s "
              f"instances add up to its {n_ip} intro points ({counts})")
        over = {name: k for name, k in counts.items()
                if name not in live or
                k > (live[name].get("introPointsNum") or 0)}
        check(not over, f"{label}: variant {n} holds live instances only, "
              f"each with at most its intro points (not so: {over})")
    if plan.has_variants:
        check(seen == set(live), f"{label}: every live instance is in some "
              f"variant (missing: {sorted(set(live) - seen)})")
        shares = client_shares(plan, fetch, live)
        if shares:
            fair = 1.0 / len(live)
            text = ", ".join(f"{k} {v:.3f}" for k, v in sorted(shares.items()))
            check(all(abs(s - fair) <= SHARE_TOLERANCE * fair
                      for s in shares.values()),
                  f"{label}: each instance gets an equal share of clients "
                  f"({fair:.3f} +-{int(SHARE_TOLERANCE * 100)} %): {text}")


def client_shares(plan, fetch, live):
    """Each instance's share of clients: a client picks one fetch HSDir at
    random and one intro point of its variant at random."""
    if not fetch:
        return {}
    shares = {name: 0.0 for name in live}
    for h in fetch:
        counts = plan.instance_counts(plan.variant_of(h)) or {}
        n = sum(counts.values())
        for name, k in counts.items():
            if n and name in shares:
                shares[name] += k / n / len(fetch)
    return shares


# -- descriptors as the client sees them ----------------------------------


def client_tp(ctl):
    """The client's time period: tor's, from its consensus valid-after."""
    return time_period(test_daemon._valid_after(ctl))


def learn_instance_keys(net, sv, ctl):
    """({instance name: intro-point keys}, {instance name: intro points in
    the descriptor its HSDirs serve}) for the client's current time
    period.  The keys are those of the descriptor its HSDirs serve (what
    fetchd reads) and of its own tor's current one: tor gives a service's
    two descriptors (this time period's and the next's) intro points of
    their own, and which one its tor calls current depends on where in
    the period we are."""
    book, served = {}, {}
    for inst in sv["instances"]:
        addr = inst["onionAddress"]
        svc = net.service_names[net.service_addresses.index(addr)]
        keys = set()
        ctl_be = net.controller(net.service_backend(svc))
        try:
            keys |= hsdesc.intro_keys(
                ctl_be.getinfo("hs/service/desc/id/" + addr[:56]), addr)
        except (OSError, torcontrol.ControlError) as e:
            note(f"  {svc}: its tor gave no descriptor ({e})")
        finally:
            ctl_be.close()
        text = hsdesc.hsfetch(ctl, addr)
        if text is not None:
            hsdir_keys = hsdesc.intro_keys(text, addr)
            served[inst["name"]] = len(hsdir_keys)
            keys |= hsdir_keys
        book[inst["name"]] = keys
    return book, served


def check_hsdirs(check, net, ob, ctl, plan, book, figures):
    """HSFETCH the frontend from each responsible HSDir of plan (the
    client's current time period) and compare with what is planned."""
    label = f"{plan.name} descriptor (time period {plan.tp})"
    note(f"hsdirs: HSFETCH the frontend from each of the {len(plan.hsdirs)} "
         f"HSDirs of the {label}")
    t0 = time.monotonic()
    fps = [h["fingerprint"] for h in plan.hsdirs]
    got = hsdesc.hsfetch_each(ctl, ob.frontend, fps)
    check(plan.has_variants, f"{label}: what each HSDir serves can be "
          f"compared with the variant planned for it (the status document "
          f"has no `variants`: only the revision counter is compared)")
    figures[f"hsfetch_{plan.name}_s"] = round(time.monotonic() - t0, 1)
    by_variant = {}
    for fp in fps:
        h = plan.hsdir(fp)
        f = got[fp.upper()]
        v = plan.variant_of(h)
        vn = h.get("variant")
        tag = f"HSDir {fp[:8]} (fetch={h.get('fetch')}, variant={vn})"
        if not check(f.result == "RECEIVED", f"{label}: {tag} serves a "
                     f"descriptor tor's client accepts (got {f.result}"
                     f"{' ' + f.reason if f.reason else ''})"):
            continue
        if not check(f.text is not None, f"{label}: {tag}: the "
                     f"descriptor's text came (HS_DESC_CONTENT)"):
            continue
        try:
            d = hsdesc.Decoded(f.text, ob.frontend)
        except Exception as e:                       # noqa: BLE001
            check(False, f"{label}: {tag}: python3-stem decodes it ({e})")
            continue
        save(net, f"{plan.name}-tp{plan.tp}-{fp[:8]}.txt", f.text)
        counts = hsdesc.owners(d.intro, book)
        unknown = counts.pop(None, 0)
        check(len(d.keys) == len(d.intro), f"{label}: {tag}: no intro point "
              f"twice ({len(d.intro) - len(d.keys)} repeated)")
        print(f"  {tag}: revision {d.revision}, {len(d.intro)} intro "
              f"points {dict(sorted(counts.items()))}, {d.size} bytes",
              flush=True)
        check(len(d.intro) <= MAX_INTRO, f"{label}: {tag}: stem decodes "
              f"it, {len(d.intro)} intro points (at most {MAX_INTRO})")
        check(unknown == 0, f"{label}: {tag}: every intro point is an "
              f"instance's ({unknown} of no instance)")
        want_rev = v.get("revisionCounter") if v else None
        check(d.revision == want_rev, f"{label}: {tag}: revision counter "
              f"{d.revision} is its variant's ({want_rev})")
        want = plan.instance_counts(v)
        if plan.has_variants:
            check(counts == want, f"{label}: {tag}: its intro points per "
                  f"instance {dict(sorted(counts.items()))} are the plan's "
                  f"for variant {vn} ({want})")
        by_variant.setdefault(vn, []).append((fp, frozenset(d.intro)))
    for vn, served in by_variant.items():
        sets = {s for _, s in served}
        check(len(sets) == 1, f"{label}: the {len(served)} HSDirs of "
              f"variant {vn} serve the same intro points")
    if plan.has_variants and len(by_variant) > 1:
        firsts = [served[0][1] for served in by_variant.values()]
        check(len(set(firsts)) == len(firsts), f"{label}: different "
              f"variants serve different intro points")
    return got


def save(net, name, text):
    """Keep a file for inspection in <workdir>/distinct/ (the work
    directory is kept when the test fails, or with OB_TESTNET_KEEP=1)."""
    d = os.path.join(net.workdir, "distinct")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "w") as f:
        f.write(text)


# -- requests -----------------------------------------------------------


class Requests:
    """REQUESTS requests through the frontend from every client tor in
    turn, each after SIGNAL NEWNYM on its client; records what each
    client's HS_DESC events say about the descriptor fetches."""

    def __init__(self, net, ob, book):
        self.net = net
        self.ob = ob
        self.book = book
        self.short = ob.frontend[:56]
        self.lock = threading.Lock()
        self.issued = 0
        self.results = []
        self.errors = []
        self.unowned = {}   # request number -> intro keys of no instance
        self.relearnt = -1e9    # when relearn() last learnt (monotonic)

    def relearn(self, ctl, force=False):
        """Adds the instances' intro-point keys as they are now to the
        book (the old ones stay: a client may still hold them).  At a
        boundary every client thread asks at once, and each learning
        may wait out HSFETCH timeouts: one learning serves the requests
        of the next RELEARN_SPACING seconds (resolve_unowned() forces a
        last one once the requests are done)."""
        with self.lock:
            if not force and \
                    time.monotonic() - self.relearnt < RELEARN_SPACING:
                return
            fresh, _ = learn_instance_keys(
                self.net, self.ob.service_status()[1], ctl)
            for name, keys in fresh.items():
                self.book.setdefault(name, set()).update(keys)
            self.relearnt = time.monotonic()

    def resolve_unowned(self, ctl):
        """Right after a boundary the frontend's descriptor may list a
        backend's new intro points before that backend's own descriptor
        with them reaches its HSDirs, so relearn() finds no owner for
        them.  Once every request is done, learns the instances' keys
        again and counts those descriptors' intro points anew."""
        if not self.unowned:
            return
        self.relearn(ctl, force=True)
        for r in self.results:
            if r["n"] in self.unowned:
                owners = hsdesc.owners(self.unowned[r["n"]], self.book)
                r["desc_owners"] = {str(k): v for k, v in owners.items()}

    def run(self):
        threads = [threading.Thread(target=self.worker, args=(c,),
                                    name=c, daemon=True)
                   for c in self.net.client_names]
        for t in threads:
            t.start()
        for t in threads:
            t.join(REQUESTS * testnet.NEWNYM_SPACING + 120)
        if any(t.is_alive() for t in threads):
            self.errors.append("a client's request thread did not end")
        return self.results

    def next_number(self):
        with self.lock:
            if self.issued >= REQUESTS:
                return None
            self.issued += 1
            return self.issued

    def worker(self, client):
        try:
            ctl = self.net.controller(client)
        except Exception as e:                       # noqa: BLE001
            self.errors.append(f"{client}: control: {e}")
            return
        try:
            ctl.setevents(["HS_DESC"])
            last = -1e9
            while (n := self.next_number()) is not None:
                wait = last + testnet.NEWNYM_SPACING - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                ctl.drain_events()
                ctl.signal("NEWNYM")
                last = time.monotonic()
                self.results.append(self.one(ctl, client, n))
        except Exception as e:                       # noqa: BLE001
            self.errors.append(f"{client}: {type(e).__name__}: {e}")
        finally:
            ctl.close()

    def one(self, ctl, client, n):
        r = {"n": n, "client": client, "backend": None, "error": None,
             "received": [], "failed": [], "seconds": None,
             "tp": client_tp(ctl)}
        t0 = time.monotonic()
        try:
            res = self.net.fetch(f"http://{self.ob.frontend}/", timeout=60,
                                 client=client)
            r["backend"] = res.backend
            if res.status != 200 or not res.backend:
                r["error"] = f"HTTP {res.status} {res.body[:60]!r}"
        except (OSError, testnet.socksfetch.FetchError) as e:
            r["error"] = str(e)
        r["seconds"] = round(time.monotonic() - t0, 2)
        for ev in ctl.drain_events():
            words = ev.text.split()
            if ev.type != "HS_DESC" or len(words) < 5 or \
                    words[2] != self.short:
                continue
            hsdir = hsdesc._event_hsdir(words[4])
            if words[1] == "RECEIVED":
                r["received"].append(hsdir)
            elif words[1] == "FAILED":
                m = re.search(r"REASON=(\S+)", ev.text)
                r["failed"].append((hsdir, m.group(1) if m else "?"))
        # The descriptor this request used: the client's cache was purged
        # by the NEWNYM, so it holds the one just fetched.
        r["desc_revision"] = r["desc_owners"] = None
        try:
            d = hsdesc.Decoded(ctl.getinfo("hs/client/desc/id/" +
                                           self.short), self.ob.frontend)
            r["desc_revision"] = d.revision
            owners = hsdesc.owners(d.intro, self.book)
            if None in owners:
                # the backends' intro points moved on (a time-period
                # boundary: each tor's other descriptor came into use)
                self.relearn(ctl)
                owners = hsdesc.owners(d.intro, self.book)
            if None in owners:
                with self.lock:
                    self.unowned[n] = list(d.intro)
            r["desc_owners"] = {str(k): v for k, v in owners.items()}
        except Exception as e:                       # noqa: BLE001
            r["desc_error"] = str(e)
            # tor looks its cache up under the blinded key of the client's
            # period now: if that turned since the request began, the
            # descriptor used is there but not to be had by GETINFO.
            try:
                r["tp_after"] = client_tp(ctl)
            except Exception:                        # noqa: BLE001
                pass
        try:
            r["plans"] = {Plan(d).tp: Plan(d) for d in
                          self.ob.service_status()[1]["descriptors"]}
        except (OSError, ValueError, obdaemon.DaemonError):
            r["plans"] = {}
        via = r["received"][-1][:8] if r["received"] else "-"
        print(f"  request {n:2} ({client}): {r['backend'] or r['error']} "
              f"in {r['seconds']:.2f} s, descriptor from HSDir {via}"
              f"{' FAILED ' + str(r['failed']) if r['failed'] else ''}",
              flush=True)
        return r


def check_requests(check, net, sv, results, errors, instance_of_service):
    answered = {}
    for r in results:
        if r["backend"]:
            answered[r["backend"]] = answered.get(r["backend"], 0) + 1
    failed = [r for r in results if r["error"]]
    check(not errors, f"request threads ran without error {errors}")
    check(len(results) >= REQUESTS, f"{len(results)} requests made "
          f"({REQUESTS} wanted)")
    check(len(failed) <= REQUEST_FAILURES_ALLOWED, f"{len(failed)} of "
          f"{len(results)} requests failed (at most "
          f"{REQUEST_FAILURES_ALLOWED}): "
          f"{[(r['n'], r['error']) for r in failed]}")
    missing = [s for s in net.service_names if s not in answered]
    check(not missing, f"every backend service answered at least once: "
          f"{dict(sorted(answered.items()))} (never: {missing})")
    no_fetch = [r["n"] for r in results if not r["received"]]
    check(not no_fetch, f"after each NEWNYM the client fetched the "
          f"descriptor anew (no fetch seen for requests {no_fetch})")
    # A request whose client's period turned while it ran: the descriptor
    # it used cannot be read back (Requests.one()); at most one per client.
    turned = [(r["n"], r["client"]) for r in results
              if r["desc_owners"] is None and
              r.get("tp_after") not in (None, r["tp"])]
    clients = [c for _, c in turned]
    check(len(clients) == len(set(clients)), f"at most one request per "
          f"client met its period's turn (the descriptor it used unread): "
          f"{turned}")
    turned = [n for n, _ in turned]
    outside = [(r["n"], r["backend"], r["desc_owners"]) for r in results
               if r["backend"] and r["n"] not in turned and
               (r["desc_owners"] is None or
                instance_of_service.get(r["backend"])
                not in r["desc_owners"])]
    check(not outside, f"the service that answered has intro points in the "
          f"descriptor the client used (its cache after the request) "
          f"(not: {outside[:5]})")
    too_many = [(r["n"], sum(r["desc_owners"].values())) for r in results
                if r["desc_owners"] and
                sum(r["desc_owners"].values()) > MAX_INTRO]
    check(not too_many, f"every descriptor a client used has at most "
          f"{MAX_INTRO} intro points (not: {too_many})")
    not_found = [(r["n"], fp[:8]) for r in results
                 for fp, why in r["failed"] if why == "NOT_FOUND"]
    check(not not_found, f"no HSDir a client asked lacked the descriptor "
          f"(NOT_FOUND: {not_found})")
    used = {}
    for r in results:
        for fp in r["received"][-1:]:
            used[fp[:8]] = used.get(fp[:8], 0) + 1
    print(f"  HSDirs the clients fetched the descriptor from (tor's own "
          f"choice): {dict(sorted(used.items()))}", flush=True)
    planned = all(p.has_variants for r in results
                  for p in r["plans"].values())
    if not check(planned, "the status document at each request has the "
                 "plan's `variants`, each HSDir's `variant` and `fetch` "
                 "(without them, which HSDir served which variant cannot "
                 "be checked)"):
        return answered
    not_fetch, wrong_variant, unknown_tp = [], [], []
    for r in results:
        if not r["received"]:
            continue
        plan = r["plans"].get(r["tp"])
        if plan is None:
            unknown_tp.append(r["n"])
            continue
        h = plan.hsdir(r["received"][-1])
        if h is None or h.get("fetch") is not True:
            not_fetch.append((r["n"], r["received"][-1][:8]))
        if r["backend"]:
            inst = instance_of_service.get(r["backend"])
            counts = plan.instance_counts(plan.variant_of(h) or {}) \
                if h else None
            if counts is None or inst not in counts:
                wrong_variant.append((r["n"], r["backend"],
                                      h.get("variant") if h else None))
    check(not unknown_tp, f"the status document had a descriptor for the "
          f"client's time period at each request (not: {unknown_tp})")
    check(not not_fetch, f"every HSDir a client fetched from is a `fetch` "
          f"HSDir of the plan (not: {not_fetch})")
    check(not wrong_variant, f"the service that answered is in the variant "
          f"of the HSDir the client fetched from (not: {wrong_variant})")
    return answered


def check_rejections(check, net, ob, events_failed):
    bad = [e for e in events_failed if e[1] == "BAD_DESC"]
    check(not bad, f"no client rejected a frontend descriptor (HS_DESC "
          f"FAILED REASON=BAD_DESC: {bad})")
    lines = []
    for c in net.client_names:
        try:
            with open(net.log_path(c), errors="replace") as f:
                lines += [f"{c}: {line.strip()}" for line in f
                          if "[warn]" in line and REJECT_LOG.search(line)]
        except OSError as e:
            lines.append(f"{c}: {e}")
    check(not lines, f"no client logged a rejected descriptor "
          f"{lines[:5]}")
    rejected = ob.log_count("UPLOAD_REJECTED")
    check(rejected == 0, f"no HSDir refused an upload ({rejected} "
          f"UPLOAD_REJECTED)")
    unknown = [line for line in ob.log_lines()
               if "unknown key" in line and "descriptors" in line]
    check(not unknown, f"onionbalanced knows the `descriptors` key "
          f"{unknown[:2]}")


# -- the run --------------------------------------------------------------


def next_flip(after):
    """The first moment after `after` (unix time) when a time period or a
    shared-random period begins: every FLIP_S, alternately."""
    return (int(after) // FLIP_S + 1) * FLIP_S


def check_other(check, net, ob, ctl, checked, t_checked, timings, figures):
    """The descriptor slot (first or second) not yet checked on its
    HSDirs, once the client uses it: after the next boundary.  Returns the
    FAILED fetches.  When a shared-random period begins, the first
    descriptor takes over the current time period from the second; when
    a time period begins, the client moves on to the second.  Either way
    the client then fetches the other slot's descriptor."""
    flip = next_flip(t_checked)
    wait = flip - time.time()
    if ROLLOVER == "never" or (ROLLOVER == "auto" and
                               wait > ROLLOVER_AUTO_WAIT):
        note(f"other: the descriptor slot other than {sorted(checked)} is "
             f"not checked on its HSDirs: the next boundary is "
             f"{wait:.0f} s away (OB_DISTINCT_ROLLOVER={ROLLOVER}); its "
             f"plan was checked above")
        figures["other_descriptor"] = "plan only"
        return []
    t0 = time.monotonic()
    if wait > 0:
        note(f"other: waiting {wait:.0f} s for the next boundary")
        time.sleep(wait)
    else:
        note("other: a boundary passed during the requests")
    deadline = time.time() + FRESH_TP_LIMIT
    while True:
        doc, sv = ob.service_status()
        tp = client_tp(ctl)
        other = [p for p in (Plan(d) for d in sv["descriptors"])
                 if p.tp == tp and p.name not in checked]
        if other and other[0].uploaded_everywhere():
            break
        if time.time() > deadline:
            check(False, f"within {FRESH_TP_LIMIT} s of the boundary the "
                  f"client's time period {tp} is that of a descriptor other "
                  f"than {sorted(checked)}, uploaded everywhere "
                  f"({[(p.name, p.tp) for p in map(Plan, sv['descriptors'])]}"
                  f")")
            return []
        time.sleep(2)
    p = other[0]
    note(f"other: the client's time period {tp} is now the {p.name} "
         f"descriptor's")
    check_plan(check, p, sv, doc)
    book, _ = learn_instance_keys(net, sv, ctl)
    got = check_hsdirs(check, net, ob, ctl, p, book, figures)
    timings["other"] = round(time.monotonic() - t0, 1)
    figures["other_descriptor"] = f"{p.name} checked on its HSDirs"
    return [(fp, f.reason) for fp, f in got.items() if f.result == "FAILED"]


def scenario(check, net, ob, timings, figures):
    ob.configure(top=service_users(), service={"descriptors": "auto"})
    note(f"frontend {ob.frontend}; instances "
         f"{dict(zip(net.service_names, net.service_addresses))}")
    t0 = time.monotonic()
    ob.switch_backends()
    timings["backends_switched"] = round(time.monotonic() - t0, 1)
    ob.start()
    note(f"onionbalanced started (pid {ob.proc.pid})")
    doc, sv = wait_published(ob, timings)
    instance_of_service = {
        net.service_names[net.service_addresses.index(
            i["onionAddress"])]: i["name"] for i in sv["instances"]}
    check(len(live_instances(sv)) == len(net.service_names),
          f"all {len(net.service_names)} instances live with "
          f"{INTRO_POINTS} intro points each")

    ctl = net.controller("client")
    ctl.setevents(["HS_DESC", "HS_DESC_CONTENT"])
    failed_events = []
    try:
        t0 = time.monotonic()
        book, served = learn_instance_keys(net, sv, ctl)
        check(len(served) == len(book) and
              all(n == INTRO_POINTS for n in served.values()),
              f"each backend service's descriptor on its HSDirs has "
              f"{INTRO_POINTS} intro points ({dict(sorted(served.items()))})")
        # Near a boundary the client's consensus and onionbalanced's may
        # disagree for a few seconds about the time period.
        deadline = time.time() + 60
        while True:
            tp = client_tp(ctl)
            plans = {Plan(d).name: Plan(d) for d in sv["descriptors"]}
            visible = [p for p in plans.values() if p.tp == tp]
            if visible or time.time() > deadline:
                break
            time.sleep(5)
            doc, sv = ob.service_status()
        for p in plans.values():
            check_plan(check, p, sv, doc)
        if not check(len(visible) == 1, f"one descriptor is for the "
                     f"client's time period {tp} "
                     f"({[(p.name, p.tp) for p in plans.values()]})"):
            raise TestFailure("no descriptor for the client's time period")
        got = check_hsdirs(check, net, ob, ctl, visible[0], book, figures)
        failed_events += [(fp, f.reason) for fp, f in got.items()
                          if f.result == "FAILED"]
        timings["hsdirs_checked"] = round(time.monotonic() - t0, 1)
        checked = {visible[0].name}
        t_checked = time.time()

        note(f"requests: {REQUESTS} through the frontend from "
             f"{len(net.client_names)} clients, NEWNYM before each")
        t0 = time.monotonic()
        req = Requests(net, ob, book)
        results = req.run()
        req.resolve_unowned(ctl)
        timings["requests"] = round(time.monotonic() - t0, 1)
        save(net, "requests.json", json.dumps(
            [{k: v for k, v in r.items() if k != "plans"} for r in results],
            indent=1))
        failed_events += [f for r in results for f in r["failed"]]
        answered = check_requests(check, net, sv, results, req.errors,
                                  instance_of_service)
        figures["answered"] = dict(sorted(answered.items()))
        secs = sorted(r["seconds"] for r in results if not r["error"])
        if secs:
            figures["request_s_median"] = secs[len(secs) // 2]
            figures["request_s_max"] = secs[-1]

        failed_events += check_other(check, net, ob, ctl, checked,
                                     t_checked, timings, figures)
    finally:
        ctl.close()
    check_rejections(check, net, ob, failed_events)


def run(build_dir):
    timings, figures = {}, {}
    check = Checks()
    t_start = time.monotonic()
    keep = os.environ.get("OB_TESTNET_KEEP") == "1"
    with testnet.Network(relays=RELAYS, backends=BACKENDS,
                         services_per_backend=SERVICES_PER_BACKEND,
                         backend_intro_points=INTRO_POINTS,
                         clients=CLIENTS, keep=keep) as net:
        net.create()
        net.start()
        net.wait_ready(timeout=480)
        timings["network_ready"] = round(time.monotonic() - t_start, 1)
        ob = obdaemon.Onionbalanced(net, build_dir)
        print(f"onionbalanced log: {ob.log_path}", flush=True)
        try:
            scenario(check, net, ob, timings, figures)
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
        timings["total"] = round(time.monotonic() - t_start, 1)
        figures["loadavg"] = [round(x, 1) for x in os.getloadavg()]
        print(f"timings (s): {timings}", flush=True)
        print(f"figures: {figures}", flush=True)
        if check.failures:
            # inside the with: the work directory is kept
            raise TestFailure(f"{len(check.failures)} check(s) failed:\n  " +
                              "\n  ".join(check.failures))


if __name__ == "__main__":
    if hsdesc.HiddenServiceDescriptorV3 is None:
        print("SKIP: python3-stem is missing")
        sys.exit(77)
    sys.exit(test_daemon.main(run, errors=(hsdesc.DescriptorError,)))
