#!/usr/bin/python3
"""Run several testnet scripts at the same time, each on its own private
network, as one meson test.

usage: run_together.py SCRIPT [SCRIPT ...]

Why: test_daemon.py spends minutes waiting for its network's time-period
boundary (every 8 minutes), and test_failover.py needs a network of its
own; one after the other they took about 20 minutes of the suite's 30,
side by side 8 (471 s in CI).  Each network takes its own port block
(ports.py) and is torn down by its own script, by pid.

Every line a script prints is passed on with its name in front, as it
comes.  Exit status: 1 if any script failed, 77 if all were skipped,
else 0.  SIGTERM or SIGINT (meson's timeout) is passed on to every
script, which then tears its network down.
"""

import os
import signal
import subprocess
import sys
import threading

PYTHON = "/usr/bin/python3"


def relay(name, stream, out_lock):
    for line in iter(stream.readline, ""):
        with out_lock:
            sys.stdout.write(f"[{name}] {line}")
            sys.stdout.flush()
    stream.close()


def main(scripts):
    if not scripts:
        print("usage: run_together.py SCRIPT [SCRIPT ...]", file=sys.stderr)
        return 2
    out_lock = threading.Lock()
    procs, threads = [], []
    for path in scripts:
        name = os.path.splitext(os.path.basename(path))[0]
        proc = subprocess.Popen([PYTHON, path], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True,
                                bufsize=1)
        procs.append((name, proc))
        t = threading.Thread(target=relay, args=(name, proc.stdout,
                                                 out_lock), daemon=True)
        t.start()
        threads.append(t)

    def pass_on(signum, _frame):
        for _, proc in procs:
            if proc.poll() is None:
                proc.send_signal(signum)

    signal.signal(signal.SIGTERM, pass_on)
    signal.signal(signal.SIGINT, pass_on)
    codes = {}
    for name, proc in procs:
        codes[name] = proc.wait()
    for t in threads:
        t.join(10)
    words = {0: "pass", 77: "skip"}
    print("results: " + ", ".join(
        f"{name} {words.get(code, f'FAIL (exit {code})')}"
        for name, code in codes.items()), flush=True)
    if any(code not in (0, 77) for code in codes.values()):
        return 1
    if all(code == 77 for code in codes.values()):
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
