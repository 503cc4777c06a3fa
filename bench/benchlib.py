"""Shared helpers of bench/run-offline and bench/run-online: the machine
description every result carries, the build of the benchmark binaries,
and the side-by-side table."""
import os
import platform
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("OB_BENCH_BUILDDIR", os.path.join(REPO, "build-bench"))


def _first_line(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True,
                             timeout=10).stdout
        return out.strip().splitlines()[0] if out.strip() else "?"
    except (OSError, subprocess.SubprocessError):
        return "not installed"


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _mem_total():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return "%.1f GiB" % (int(line.split()[1]) / 1048576)
    except OSError:
        pass
    return "?"


def _dpkg_version(pkg):
    return _first_line(["dpkg-query", "-W", "-f", "${Version}", pkg])


def machine_info():
    """What a reader needs to compare figures across machines."""
    return [
        ("machine", "%s, %d CPUs, %s RAM" % (_cpu_model(), os.cpu_count(),
                                             _mem_total())),
        ("kernel", platform.release()),
        ("load average at start (1/5/15 min)",
         "%.2f %.2f %.2f" % os.getloadavg()),
        ("os", _first_line(["sh", "-c", ". /etc/os-release; "
                            "echo $PRETTY_NAME"])),
        ("compiler", _first_line(["cc", "--version"])),
        ("tor", _first_line(["tor", "--version"])),
        ("onionbalance", _dpkg_version("onionbalance")),
        ("python3-stem", _dpkg_version("python3-stem")),
        ("python", sys.version.split()[0]),
        ("onionbalanced", _first_line(["git", "-C", REPO, "describe",
                                       "--always", "--dirty"])),
    ]


def build(targets):
    """The optimised production configuration (meson's debugoptimized,
    -O2 -g, no sanitizers), as a package would build it."""
    if not os.path.exists(os.path.join(BUILD, "build.ninja")):
        subprocess.run(["meson", "setup", BUILD, REPO], check=True,
                       stdout=subprocess.DEVNULL)
    subprocess.run(["meson", "compile", "-C", BUILD] + targets, check=True,
                   stdout=subprocess.DEVNULL)


def parse_lines(text):
    """figure and info lines of bench.h's format."""
    figures, infos = {}, {}
    for line in text.splitlines():
        parts = line.split("\t")
        if parts[0] == "figure" and len(parts) >= 6:
            figures[parts[1]] = (float(parts[2]), parts[3], int(parts[4]),
                                 parts[5])
        elif parts[0] == "info" and len(parts) >= 3:
            infos[parts[1]] = parts[2]
    return figures, infos


def ratio(ours, theirs, unit):
    """How many times better onionbalanced is (>1: ours is faster or
    smaller), whatever the unit's direction."""
    if ours is None or theirs is None or ours == 0 or theirs == 0:
        return None
    if unit.endswith("/s"):
        return ours / theirs
    return theirs / ours


def fmt(v):
    if v is None:
        return "-"
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.3g" % v


def table(rows, header):
    """A markdown table (also readable as plain text)."""
    widths = [max(len(str(r[i])) for r in rows + [header])
              for i in range(len(header))]

    def line(r):
        return "| " + " | ".join(str(c).ljust(w)
                                 for c, w in zip(r, widths)) + " |"
    out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)
