#!/usr/bin/python3
"""A tor control port that authenticates and then misbehaves, against the
real onionbalanced with its real keyd, fetchd and publishd (the parent
opens every control connection and hands it to a child).

1. After authentication it answers the children with junk, which is no
   control protocol: over 30 s the children may cost only a handful of
   connections (the parent's backoff, 1 s doubling to 30 s, with jitter),
   and the logs say why (the protocol violation, how long the connection
   lasted, when the next one comes), as does "onionbalanced status".  Before the backoff covered every
   cause, this made tens of thousands of connections.
2. It answers SETEVENTS with 510: each child logs an error and is given
   a new connection later, again and again, instead of sitting idle.

Environment (set by meson): as test_parent_exec.py, plus OB_FETCHD and
OB_PUBLISHD.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_parent_exec as pe  # noqa: E402

FETCHD = os.environ["OB_FETCHD"]
PUBLISHD = os.environ["OB_PUBLISHD"]


class BadTor(pe.FakeTor):
    """FakeTor's authentication, then junk or a 510 to SETEVENTS."""

    def __init__(self, workdir, after_auth):
        self.after_auth = after_auth
        super().__init__(workdir)

    def _answer(self, line, state):
        if not state["auth"]:
            return super()._answer(line, state)
        if self.after_auth == "junk":
            return "this is not the control protocol\r\n"
        if line.startswith("SETEVENTS"):
            return '510 Unrecognized event "HS_DESC_CONTENT"\r\n'
        return "250 OK\r\n"


def real_children(s):
    """s's libexec with the real fetchd and publishd."""
    for name, binary in (("fetchd", FETCHD), ("publishd", PUBLISHD)):
        os.unlink(os.path.join(s.libexec, name))
        os.symlink(binary, os.path.join(s.libexec, name))


def run_against(after_auth, seconds, *args):
    """Runs onionbalanced against BadTor for seconds; returns
    (connections authenticated, the log, onionbalanced status)."""
    s = pe.Setup()
    ok = False
    try:
        real_children(s)
        s.tor.stop_listening()
        s.tor = BadTor(s.dir, after_auth)
        s.write_config(2)
        s.start("-v", "info", *args)
        time.sleep(seconds)
        assert s.proc.poll() is None, s.log_text()
        with s.tor.lock:
            n = s.tor.authenticated
        r = pe.run_parent("status", "-s", s.status)
        assert r.returncode == 0, r
        assert s.stop() == 0, s.log_text()
        ok = True
        return n, s.log_text(), r.stdout
    finally:
        s.close(ok)


def test_junk_after_authentication():
    # The default first delay, 1 s (Setup.start gives 50 ms, for tests).
    n, log, status = run_against("junk", 30, "--restart-backoff-ms",
                                 "1000")
    assert re.search(r"^tor control: NOT connected \(\d+ loss\(es\), the "
                     r"last at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d: protocol "
                     r"violation: .*\)$", status, re.M), status
    # The parent's own check, then per child: the first connection and
    # at most one per backoff step of 0.5-1, 1-2, 2-4, 4-8, 8-16, 15-30 s.
    assert 3 <= n <= 1 + 2 * 7, (n, log)
    for child in ("fetchd", "publishd"):
        assert re.search(rf"^{child}: \[warning\] tor control connection "
                         r"lost \(protocol violation: .*\); asking for a "
                         "new one$", log, re.M), (child, log)
        waits = [int(ms) for ms in re.findall(
            rf"^onionbalanced: \[warning\] {child}: its tor control "
            r"connection ended after \d+ ms; the next one in (\d+) ms$",
            log, re.M)]
        assert len(waits) >= 2, (child, log)
        # Doubling, with jitter: each wait is 1/2 to 1 of its step.
        for i, ms in enumerate(waits):
            step = min(1000 * 2 ** i, 30000)
            assert step // 2 <= ms <= step, (child, i, ms, log)
    print(f"    {n} connections in 30 s")


def test_setevents_refused_is_an_error_and_retried():
    n, log, status = run_against("510", 8, "--restart-backoff-ms", "200")
    assert re.search(r"^tor control: NOT connected \(\d+ loss\(es\), the "
                     r"last at .*: tor refused SETEVENTS\)$", status,
                     re.M), status
    for child in ("fetchd", "publishd"):
        refusals = re.findall(rf"^{child}: \[error\] tor refused SETEVENTS: "
                              r'Unrecognized event "HS_DESC_CONTENT"$',
                              log, re.M)
        assert len(refusals) >= 2, (child, log)
        assert re.search(rf"^onionbalanced: \[warning\] {child}: its tor "
                         r"control connection ended after \d+ ms; the next "
                         r"one in \d+ ms$", log, re.M), (child, log)
    # 200 ms doubling with jitter: a few each, not hundreds.
    assert 5 <= n <= 1 + 2 * 7, (n, log)


if __name__ == "__main__":
    pe.main([v for k, v in list(globals().items())
             if k.startswith("test_")])
