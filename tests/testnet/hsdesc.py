"""Onion-service descriptors as a client sees them: HSFETCH through a tor
control connection, decrypted with python3-stem, intro points named by
their auth keys.  Used by tests/testnet/test_failover.py and
bench/run-online.

    ctl = net.controller("client")
    ctl.setevents(["HS_DESC", "HS_DESC_CONTENT"])
    text = hsfetch(ctl, frontend)             # None: not found
    keys = intro_keys(text, frontend)         # {auth key bytes, ...}
    be0 = backend_intro_keys(net, 0, ctl)     # be0's current ones

    book = IntroBook(net)                     # whose intro points are these
    book.read_all()
    keys = book.fetch(frontend)               # learns again if need be
    book.describe(keys)                       # 'be0:3 be1:3 other:2'

Unlike the rest of tests/testnet/ this needs python3-stem (scripts/setup
and bench/setup install it); it is imported only where descriptors are
decrypted.
"""

import time

import torcontrol

try:
    from stem.descriptor.hidden_service import HiddenServiceDescriptorV3
except ImportError:                                 # pragma: no cover
    HiddenServiceDescriptorV3 = None


# How long backend_intro_keys() asks HSDirs for a backend's descriptor.
HSDIR_RETRY_S = 45


class DescriptorError(Exception):
    pass


def _short(address):
    return address[:-len(".onion")] if address.endswith(".onion") \
        else address


def intro_keys(text, address):
    """The intro points of a descriptor (decrypted with stem for
    address), by their auth keys.  Not by their ntor onion keys, as
    Onionbalance does: that is the intro relay's key, the same for a new
    intro point on the same relay."""
    if HiddenServiceDescriptorV3 is None:
        raise DescriptorError("python3-stem is missing")
    desc = HiddenServiceDescriptorV3(text.encode(), validate=True)
    inner = desc.decrypt(_short(address))
    return {ip.auth_key_cert.key for ip in inner.introduction_points}


def hsfetch(ctl, address, timeout=20):
    """HSFETCH address on ctl (subscribed to HS_DESC and HS_DESC_CONTENT):
    the descriptor text one responsible HSDir serves, or None when the
    fetch failed or nothing came within timeout."""
    short = _short(address)
    ctl.drain_events()
    ctl.command("HSFETCH " + short)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ev = ctl.next_event(max(0.1, deadline - time.monotonic()))
        if ev is None:
            return None
        words = ev.text.split()
        if ev.type == "HS_DESC_CONTENT" and len(words) > 1 and \
                words[1] == short and ev.lines[0].data:
            return ev.lines[0].data
        if ev.type == "HS_DESC" and len(words) > 2 and \
                words[1] == "FAILED" and words[2] == short:
            return None
    return None


def hsfetch_many(ctl, addresses, timeout=40):
    """HSFETCH every one of addresses at once on ctl (subscribed to
    HS_DESC and HS_DESC_CONTENT): {address without .onion: the text one
    responsible HSDir served}; an address whose fetch failed or did not
    answer within timeout is missing.  tor runs the fetches in parallel."""
    want = {_short(a) for a in addresses}
    got, failed = {}, set()
    ctl.drain_events()
    for short in sorted(want):
        ctl.command("HSFETCH " + short)
    deadline = time.monotonic() + timeout
    while want - set(got) - failed and time.monotonic() < deadline:
        ev = ctl.next_event(max(0.1, deadline - time.monotonic()))
        if ev is None:
            break
        words = ev.text.split()
        if len(words) < 3 or words[1 if ev.type == "HS_DESC_CONTENT"
                                   else 2] not in want:
            continue
        if ev.type == "HS_DESC_CONTENT" and ev.lines[0].data:
            got[words[1]] = ev.lines[0].data
        elif ev.type == "HS_DESC" and words[1] == "FAILED":
            failed.add(words[2])
    return got


def own_intro_keys(net, i):
    """The intro points of the descriptor be<i>'s own tor calls current
    (GETINFO hs/service/desc/id).  be<i> must be running: a frozen tor
    would not answer."""
    addr = net.backend_addresses[i]
    ctl = net.controller(net.backend_names[i])
    try:
        return intro_keys(ctl.getinfo("hs/service/desc/id/" + _short(addr)),
                          addr)
    finally:
        ctl.close()


def backend_intro_keys(net, i, client):
    """be<i>'s current intro points.  tor gives each of a service's two
    descriptors (current and next period) intro points of its own: take
    the one its own tor calls current and the one an HSDir serves (which
    a client, and onionbalanced, would use).  be<i> must be running."""
    addr = net.backend_addresses[i]
    keys = own_intro_keys(net, i)
    # Just after a restart, the HSDir the client picks may not have the
    # new upload yet, or answer late on a loaded machine: ask again (tor
    # picks another HSDir; on a test network it may ask one again after
    # 5 s).
    deadline = time.monotonic() + HSDIR_RETRY_S
    while (text := hsfetch(client, addr)) is None:
        if time.monotonic() > deadline:
            raise DescriptorError(f"{net.backend_names[i]}'s descriptor "
                                  f"is not on its HSDirs (asked for "
                                  f"{HSDIR_RETRY_S} s)")
        time.sleep(2)
    return keys | intro_keys(text, addr)


class IntroBook:
    """Which backend each intro point (auth key) belongs to, as far as the
    client can tell, kept up to date across time periods: tor gives a
    service's descriptor for the next time period intro points of its
    own, and at a rollover (every 8 minutes on the test network) clients
    and onionbalanced switch to it.  A backend's keys are only ever added.
    The book owns a client control connection for its HSFETCHes."""

    def __init__(self, net):
        self.net = net
        self.client = None
        self.keys = {}          # backend index -> its intro-point keys
        self.retired = {}       # the same of a backend's earlier process
        self.frozen = set()     # backends whose tor must not be asked
        self._connect()

    def _connect(self):
        if self.client:
            self.client.close()
        self.client = self.net.controller("client")
        self.client.setevents(["HS_DESC", "HS_DESC_CONTENT"])

    def close(self):
        self.client.close()

    def hsfetch_keys(self, address):
        """The intro points of address's descriptor as one HSDir serves
        it, or None if the fetch failed."""
        try:
            text = hsfetch(self.client, address)
        except (OSError, torcontrol.ControlError):
            self._connect()
            return None
        return None if text is None else intro_keys(text, address)

    def read(self, i):
        """be<i>'s intro points now (it must run and be on its HSDirs),
        added to its set; returns them."""
        keys = backend_intro_keys(self.net, i, self.client)
        self.keys[i] = self.keys.get(i, set()) | keys
        return keys

    def read_all(self):
        for i in range(len(self.net.backend_names)):
            self.read(i)

    def refresh(self, i):
        """Learn be<i>'s intro points again: the descriptor its HSDirs
        serve, which can be fetched also when be<i> is dead or frozen
        (onionbalanced's fetchd finds the same), and its own tor's
        current one when it runs.  Keys of a process before a restart
        stay out (retire)."""
        found = self.hsfetch_keys(self.net.backend_addresses[i]) or set()
        if i not in self.frozen and self.net.backend_tor_pid(i):
            try:
                found |= own_intro_keys(self.net, i)
            except (OSError, torcontrol.ControlError):
                pass
        self.keys[i] = self.keys.get(i, set()) | \
            (found - self.retired.get(i, set()))

    def retire(self, i):
        """be<i> restarted: its intro points so far are of a dead process."""
        self.retired[i] = self.retired.get(i, set()) | self.keys.pop(i, set())

    def known(self):
        return set().union(*self.keys.values())

    def fetch(self, address):
        """address's intro points as one HSDir serves them (None if the
        fetch failed); when some belong to no known backend, every
        backend's are learnt again first."""
        keys = self.hsfetch_keys(address)
        if keys is not None and keys - self.known():
            for i in range(len(self.net.backend_names)):
                self.refresh(i)
        return keys

    def without(self, keys, i):
        """keys hold intro points, all of known backends, none of be<i>."""
        return bool(keys) and not keys & self.keys.get(i, set()) and \
            not keys - self.known()

    def describe(self, keys):
        """Whose intro points a key set holds, e.g. 'be0:3 be2:3'."""
        if keys is None:
            return "no descriptor"
        parts = [f"{self.net.backend_names[i]}:{len(keys & k)}"
                 for i, k in sorted(self.keys.items()) if keys & k]
        old = len(keys & set().union(*self.retired.values()))
        other = len(keys - self.known()) - old
        return " ".join(parts + ([f"restarted:{old}"] if old else []) +
                        ([f"other:{other}"] if other else [])) or "empty"


# -- one descriptor from each of several HSDirs (tests/testnet/test_distinct.py)


class Fetched:
    """What one HSDir served for an HSFETCH ... SERVER=: result is
    "RECEIVED" (tor's client decoded it: both layers, at most 20 intro
    points), "FAILED" (reason: tor's REASON=, e.g. NOT_FOUND or BAD_DESC,
    the latter for a descriptor the client rejected) or None (no answer
    in time); text is the HS_DESC_CONTENT body (None if empty)."""

    __slots__ = ("hsdir", "result", "reason", "text")

    def __init__(self, hsdir):
        self.hsdir = hsdir
        self.result = None
        self.reason = None
        self.text = None

    def __repr__(self):
        return (f"Fetched({self.hsdir[:8]}, {self.result}, {self.reason}, "
                f"{len(self.text or '')} bytes)")


def _event_hsdir(word):
    """'$FPR~nick' (or '$FPR=nick', or 'FPR') -> 'FPR'."""
    return word.lstrip("$").split("~")[0].split("=")[0].upper()


def hsfetch_each(ctl, address, fingerprints, timeout=40):
    """HSFETCH address SERVER=$fpr... on ctl (subscribed to HS_DESC and
    HS_DESC_CONTENT): tor's client fetches the descriptor of its current
    time period from every one of those HSDirs in parallel (control-spec
    HSFETCH), each result reported with the HSDir's fingerprint.  The
    client's cache keeps one descriptor per address, so the text comes
    from each fetch's HS_DESC_CONTENT event, never from the cache.
    Returns {fingerprint: Fetched}."""
    short = _short(address)
    out = {fp.upper(): Fetched(fp.upper()) for fp in fingerprints}
    ctl.drain_events()
    ctl.command("HSFETCH " + short + "".join(
        f" SERVER=${fp}" for fp in out))
    content_seen = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(f.result is not None and f.hsdir in content_seen
               for f in out.values()):
            break
        ev = ctl.next_event(max(0.1, deadline - time.monotonic()))
        if ev is None:
            break
        words = ev.text.split()
        if ev.type == "HS_DESC_CONTENT" and len(words) >= 4 and \
                words[1] == short:
            hsdir = _event_hsdir(words[3])
            if hsdir in out:
                content_seen.add(hsdir)
                if ev.lines[0].data:
                    out[hsdir].text = ev.lines[0].data
        elif ev.type == "HS_DESC" and len(words) >= 5 and \
                words[2] == short and words[1] in ("RECEIVED", "FAILED"):
            hsdir = _event_hsdir(words[4])
            if hsdir in out:
                out[hsdir].result = words[1]
                if words[1] == "FAILED":
                    m = [w for w in words if w.startswith("REASON=")]
                    out[hsdir].reason = m[0][len("REASON="):] if m else "?"
    return out


class Decoded:
    """A descriptor as python3-stem reads it (signature checked, both
    layers decrypted with the onion address): revision counter,
    lifetime, intro points in order (auth keys), size in bytes."""

    def __init__(self, text, address):
        if HiddenServiceDescriptorV3 is None:
            raise DescriptorError("python3-stem is missing")
        desc = HiddenServiceDescriptorV3(text.encode(), validate=True)
        inner = desc.decrypt(_short(address))
        self.revision = desc.revision_counter
        self.lifetime = desc.lifetime
        self.intro = [ip.auth_key_cert.key
                      for ip in inner.introduction_points]
        self.size = len(text.encode())

    @property
    def keys(self):
        return set(self.intro)


def owners(keys, book):
    """{owner: count} of intro-point keys, book being {owner: set of
    keys}; keys of no owner count under None."""
    counts = {}
    for k in keys:
        who = next((o for o, ks in book.items() if k in ks), None)
        counts[who] = counts.get(who, 0) + 1
    return counts
