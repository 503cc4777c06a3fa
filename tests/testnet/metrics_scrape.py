"""Scrapes onionbalanced's metrics (docs/metrics.md) during a testnet run
and holds them against the status socket.  test_daemon.py configures
metrics-location (a unix socket in the daemon's folder) and calls
check() after the first publication and again at the end.

Every scrape is parsed whole by prometheus_client's parser
(python3-prometheus-client, scripts/setup), which raises on any line it
cannot read.
"""

import http.client
import os
import socket
import time

from prometheus_client.parser import text_string_to_metric_families

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
FETCH_OUTCOMES = {"new", "not-newer", "failed", "invalid", "expired"}


class MetricsError(Exception):
    pass


def socket_path(ob):
    return os.path.join(ob.dir, "metrics.sock")


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(10)
        self.sock.connect(self.unix_path)


def scrape(path):
    """{sample name: [samples]} of one GET /metrics on the unix socket."""
    conn = _UnixHTTPConnection(path)
    try:
        conn.request("GET", "/metrics")
        r = conn.getresponse()
        body = r.read().decode()
        if r.status != 200 or r.getheader("Content-Type") != CONTENT_TYPE:
            raise MetricsError(f"GET /metrics: {r.status} "
                               f"{r.getheader('Content-Type')}: {body!r}")
    finally:
        conn.close()
    samples = {}
    for fam in text_string_to_metric_families(body):
        for s in fam.samples:
            samples.setdefault(s.name, []).append(s)
    return samples


def _values(samples, name, *labels):
    """{(label values...): value} of one metric."""
    return {tuple(s.labels[k] for k in labels): s.value
            for s in samples.get("onionbalanced_" + name, [])}


def _intro_points(doc):
    """The status socket's intro-point numbers, keyed as the metrics'."""
    descs, insts = {}, {}
    for sv in doc["services"]:
        for d in sv["descriptors"]:
            if d["active"] and d["builtAt"] is not None:
                descs[(sv["onionAddress"], d["descriptor"],
                       str(d["timePeriod"]))] = d["introPointsNum"]
        for i in sv["instances"]:
            insts[(sv["onionAddress"], i["name"])] = i["introPointsNum"]
    return descs, insts


def _fetches(samples):
    """{(service, instance): {outcome: value}} of instance_fetches_total."""
    out = {}
    for s in samples.get("onionbalanced_instance_fetches_total", []):
        key = (s.labels["service"], s.labels["instance"])
        out.setdefault(key, {})[s.labels["outcome"]] = s.value
    return out


def _fetches_lacking(doc, fetches, first):
    """What instance_fetches_total lacks against the status document, as
    text; "" if nothing."""
    for sv in doc["services"]:
        for i in sv["instances"]:
            key = (sv["onionAddress"], i["name"])
            got = fetches.get(key, {})
            if set(got) != FETCH_OUTCOMES:
                return f"{key}: outcomes {sorted(got)}"
            if sum(got.values()) < 1:
                return f"{key}: no fetch result counted"
            if first and i["state"] == "live" and got["new"] < 1:
                return f"{key}: live, but no new descriptor counted"
    return ""


def check_fetches(ob, check_fn, first, timeout=120):
    """instance_fetches_total: every instance of the status document has
    its five outcomes and at least one result counted; at the first
    publication (first) every live instance a new descriptor too.  Polled
    until then or timeout: a publishd restarted since an instance's last
    fetch counts from 0 again, and fetchd fetches each instance every
    fetch period (a failed one ends by 60 s)."""
    deadline = time.time() + timeout
    while True:
        doc = ob.status()
        fetches = _fetches(scrape(socket_path(ob)))
        lacking = _fetches_lacking(doc, fetches, first)
        if not lacking or time.time() > deadline:
            break
        time.sleep(2)
    total = {o: sum(v.get(o, 0) for v in fetches.values())
             for o in sorted(FETCH_OUTCOMES)}
    check_fn(not lacking, f"metrics: instance_fetches_total has the five "
             f"outcomes of each of {len(fetches)} instances, each with a "
             f"result{', each live one a new descriptor' if first else ''}"
             f" ({lacking or total})")


def check(ob, check_fn, before=None, tries=10):
    """The intro-point gauges equal the status socket's (read before and
    after the scrape, retried while the state moves); uploads were
    counted; with before (an earlier result) the upload counter rose,
    unless publishd was restarted between (its counters start again);
    the fetch results were counted (check_fetches()).
    Returns the scrape, for a later call's before."""
    for _ in range(tries):
        doc1 = ob.status()
        samples = scrape(socket_path(ob))
        doc2 = ob.status()
        if _intro_points(doc1) == _intro_points(doc2):
            break
        time.sleep(1)
    else:
        raise MetricsError("the status kept changing during the scrapes")
    descs, insts = _intro_points(doc2)
    check_fn(_values(samples, "descriptor_intro_points", "service",
                     "descriptor", "time_period") == descs and descs,
             f"metrics: descriptor_intro_points equal the status socket's "
             f"introPointsNum of every built descriptor ({len(descs)})")
    check_fn(_values(samples, "instance_intro_points", "service",
                     "instance") == insts,
             f"metrics: instance_intro_points equal the status socket's "
             f"({len(insts)} instances)")
    ok = _values(samples, "uploads_total", "service", "result")
    held = sum(_values(samples, "descriptor_hsdirs_uploaded", "service",
                       "descriptor").values())
    succeeded = sum(v for (_, r), v in ok.items() if r == "succeeded")
    check_fn(held > 0 and succeeded >= held,
             f"metrics: {succeeded:.0f} uploads succeeded, at least the "
             f"{held:.0f} descriptors the HSDirs hold now")
    if before is not None:
        restarts = _values(samples, "child_restarts_total", "child")
        was = _values(before, "child_restarts_total", "child")
        earlier = sum(v for (_, r), v in _values(
            before, "uploads_total", "service", "result").items()
            if r == "succeeded")
        if restarts.get(("publishd",)) == was.get(("publishd",)):
            check_fn(succeeded > earlier, f"metrics: uploads succeeded "
                     f"rose from {earlier:.0f} to {succeeded:.0f}")
        else:
            print(f"metrics: publishd restarted since the last scrape "
                  f"({was} -> {restarts}); uploads succeeded "
                  f"{earlier:.0f} then, {succeeded:.0f} now", flush=True)
    check_fetches(ob, check_fn, first=before is None)
    return samples


def check_restarts(samples, check_fn, children):
    """The parent's restart counter counted each child killed."""
    restarts = _values(samples, "child_restarts_total", "child")
    check_fn(all(restarts.get((c,), 0) >= 1 for c in children),
             f"metrics: child_restarts_total counted the restarts "
             f"({restarts})")


def in_descriptor(ob, frontend=None):
    """{instance name: instance_in_descriptor} of one frontend."""
    frontend = frontend or ob.frontend
    return {name: v for (sv, name), v in _values(
        scrape(socket_path(ob)), "instance_in_descriptor", "service",
        "instance").items() if sv == frontend}


def wait_in_descriptor(ob, want, check_fn, what, timeout=30):
    """Poll until instance_in_descriptor is want ({name: 0 or 1})."""
    deadline = time.time() + timeout
    while True:
        got = in_descriptor(ob)
        if got == want or time.time() > deadline:
            break
        time.sleep(1)
    check_fn(got == want, f"metrics: {what}: instance_in_descriptor {got} "
             f"(sum {sum(got.values()):.0f})")
