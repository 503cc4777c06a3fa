#!/usr/bin/env python3
"""Runs test_publishd_status --dump and checks the document with python's
own JSON parser: Onionbalance's fields with their types, and ours."""
import json
import subprocess
import sys

doc = json.loads(subprocess.run([sys.argv[1], "--dump"], check=True,
                                capture_output=True).stdout)
services = doc["services"]
assert len(services) == 1
s = services[0]
assert s["onionAddress"].endswith(".onion") and len(s["onionAddress"]) == 62
for key in ("publishAttemptFirstDescriptor", "publishAttemptSecondDescriptor"):
    assert s[key] is None or isinstance(s[key], str), key
for inst in s["instances"]:
    assert inst["onionAddress"].endswith(".onion")
    for key in ("received", "descriptorReceived", "introSetModified"):
        assert key in inst, key
    assert isinstance(inst["introPointsNum"], int)
    assert inst["state"] in ("live", "invalid", "expired", "no-descriptor",
                             "fetch-failed", "unknown")
assert [d["descriptor"] for d in s["descriptors"]] == ["first", "second"]
for h in s["descriptors"][0]["hsdirs"]:
    assert len(h["fingerprint"]) == 40
    assert h["lastResult"] in (None, "UPLOADED", "FAILED")
    assert isinstance(h["variant"], int) and isinstance(h["fetch"], bool)
    assert h["replica"] in (1, 2)
first = s["descriptors"][0]
assert first["plan"] == "shared", first["plan"]
assert [v["variant"] for v in first["variants"]] == [0], first["variants"]
assert sum(i["introPointsNum"] for i in first["variants"][0]["instances"]) \
    == first["variants"][0]["introPointsNum"], first["variants"]
assert s["instances"][0]["name"] == 'backend "0"\n'
assert doc["consensus"]["timePeriodLengthMinutes"] == 1440
print("ok")
