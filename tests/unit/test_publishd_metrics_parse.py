#!/usr/bin/env python3
"""Runs test_publishd_status --metrics and parses the text with
prometheus_client's own parser (Debian's python3-prometheus-client):
every family once, counters named _total, the escaped instance name
read back as written."""
import subprocess
import sys

from prometheus_client.parser import text_string_to_metric_families

text = subprocess.run([sys.argv[1], "--metrics"], check=True,
                      capture_output=True, text=True).stdout
families = list(text_string_to_metric_families(text))
names = [f.name for f in families]
assert len(names) == len(set(names)), "a family twice"
assert all(n.startswith("onionbalanced_") for n in names), names
samples = {}
for f in families:
    assert f.type in ("counter", "gauge"), (f.name, f.type)
    assert f.samples, f.name
    for s in f.samples:
        if f.type == "counter":
            assert s.name.endswith("_total"), s.name
        samples.setdefault(s.name, []).append(s)
info = samples["onionbalanced_build_info"][0]
assert info.labels == {"version": '0.1.0"x'} and info.value == 1
names_seen = {s.labels["instance"]
              for s in samples["onionbalanced_instance_state"]}
assert 'backend "0"\n' in names_seen, names_seen
ups = {s.labels["result"]: s.value
       for s in samples["onionbalanced_uploads_total"]}
assert ups == {"succeeded": 1, "failed": 1}, ups
# Fetch results: all five outcomes for every instance, from the start.
types = {f.name: f.type for f in families}
assert types["onionbalanced_instance_fetches"] == "counter", types
fetches = {}
for s in samples["onionbalanced_instance_fetches_total"]:
    fetches.setdefault(s.labels["instance"], {})[s.labels["outcome"]] = \
        s.value
outcomes = {"new", "not-newer", "failed", "invalid", "expired"}
assert set(fetches) == names_seen, (fetches, names_seen)
assert all(set(v) == outcomes for v in fetches.values()), fetches
assert fetches['backend "0"\n'] == {"new": 2, "not-newer": 0, "failed": 1,
                                    "invalid": 0, "expired": 0}, fetches
print(f"ok: {len(families)} families, "
      f"{sum(len(v) for v in samples.values())} samples")
