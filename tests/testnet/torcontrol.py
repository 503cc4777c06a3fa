"""A small tor control-protocol client for the test network harness.

Only what the harness needs: connect over TCP or a unix socket,
authenticate with SAFECOOKIE (or plain COOKIE, or NULL when tor offers
it), send a command and read its reply, and read asynchronous events.
Events (status 650) that arrive while a command waits for its reply are
queued, not lost, so one connection serves both purposes.

Reference: torspec control-spec.txt, sections 2 (protocol), 3.5
(AUTHENTICATE), 3.21 (PROTOCOLINFO) and 3.24 (AUTHCHALLENGE).
"""

import collections
import hmac
import hashlib
import os
import re
import socket
import time

SERVER_TO_CONTROLLER = b"Tor safe cookie authentication server-to-controller hash"
CONTROLLER_TO_SERVER = b"Tor safe cookie authentication controller-to-server hash"
COOKIE_LEN = 32


class ControlError(Exception):
    """tor answered with an error status, or the connection broke."""


class ReplyLine:
    """One line of a reply: status code, separator (' ', '-', '+'), text,
    and for '+' lines the data block (dot-stuffing undone, each line
    ending in '\\n', so the block is byte-exact)."""

    __slots__ = ("status", "sep", "text", "data")

    def __init__(self, status, sep, text, data=None):
        self.status = status
        self.sep = sep
        self.text = text
        self.data = data

    def __repr__(self):
        return f"ReplyLine({self.status}{self.sep}{self.text!r})"


class Event:
    """One asynchronous event: its lines and the local time it arrived."""

    __slots__ = ("lines", "received")

    def __init__(self, lines, received):
        self.lines = lines
        self.received = received

    @property
    def type(self):
        return self.lines[0].text.split(" ", 1)[0]

    @property
    def text(self):
        return self.lines[0].text

    def __repr__(self):
        return f"Event({self.text!r})"


class Controller:
    """A connection to one tor's control port or control socket."""

    def __init__(self, sock, name="tor"):
        self.sock = sock
        self.name = name
        self.buf = b""
        self.pos = 0
        self.events = collections.deque()

    @classmethod
    def connect_tcp(cls, port, host="127.0.0.1", timeout=10.0, name="tor"):
        sock = socket.create_connection((host, port), timeout=timeout)
        return cls(sock, name)

    @classmethod
    def connect_unix(cls, path, timeout=10.0, name="tor"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except OSError:
            sock.close()
            raise
        return cls(sock, name)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- reading --------------------------------------------------------

    def _read_line(self, deadline):
        """Return the next line without its CRLF, or raise on timeout.
        Lines are consumed only by a complete reply (see _read_reply)."""
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                line = self.buf[self.pos:end]
                self.pos = end + 2
                return line.decode("utf-8", errors="replace")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout(f"{self.name}: control read timed out")
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ControlError(f"{self.name}: control connection closed")
            self.buf += chunk

    def _read_data_block(self, deadline):
        lines = []
        while True:
            line = self._read_line(deadline)
            if line == ".":
                return "".join(lines)
            if line.startswith("."):
                line = line[1:]
            lines.append(line + "\n")

    def _read_reply(self, deadline):
        """Read one complete reply (possibly multi-line).  On a timeout
        nothing is consumed, so a reply that arrives in pieces is read
        whole by a later call."""
        self.pos = 0
        try:
            lines = self._read_reply_lines(deadline)
        except socket.timeout:
            self.pos = 0
            raise
        self.buf = self.buf[self.pos:]
        self.pos = 0
        return lines

    def _read_reply_lines(self, deadline):
        lines = []
        while True:
            raw = self._read_line(deadline)
            if len(raw) < 4 or not raw[:3].isdigit() or raw[3] not in " -+":
                raise ControlError(f"{self.name}: malformed reply line {raw!r}")
            line = ReplyLine(raw[:3], raw[3], raw[4:])
            if line.sep == "+":
                line.data = self._read_data_block(deadline)
            lines.append(line)
            if line.sep == " ":
                return lines

    def _read_command_reply(self, deadline):
        while True:
            lines = self._read_reply(deadline)
            if lines[0].status == "650":
                self.events.append(Event(lines, time.time()))
                continue
            return lines

    def next_event(self, timeout):
        """Return the next queued or arriving event, or None on timeout."""
        if self.events:
            return self.events.popleft()
        deadline = time.monotonic() + timeout
        try:
            lines = self._read_reply(deadline)
        except socket.timeout:
            return None
        if lines[0].status != "650":
            raise ControlError(f"{self.name}: unexpected reply {lines[0]!r}")
        return Event(lines, time.time())

    def drain_events(self):
        """Return every event that has arrived so far, without blocking
        longer than it takes to read what is already buffered."""
        events = []
        while True:
            event = self.next_event(0.01)
            if event is None:
                return events
            events.append(event)

    # -- commands -------------------------------------------------------

    def command(self, line, timeout=30.0):
        """Send one command line; return its reply lines, raising
        ControlError on a non-2xx status."""
        if "\r" in line or "\n" in line:
            raise ValueError("command must be one line")
        self.sock.sendall(line.encode("utf-8") + b"\r\n")
        lines = self._read_command_reply(time.monotonic() + timeout)
        if not lines[0].status.startswith("2"):
            verb = line.split(" ", 1)[0]
            raise ControlError(
                f"{self.name}: {verb} failed: "
                f"{lines[-1].status} {lines[-1].text}")
        return lines

    def getinfo(self, key, timeout=30.0):
        """GETINFO one key; return its value (data block or one line)."""
        for line in self.command("GETINFO " + key, timeout):
            if line.data is not None and line.text == key + "=":
                return line.data
            if line.text.startswith(key + "="):
                return line.text[len(key) + 1:]
        raise ControlError(f"{self.name}: GETINFO {key}: key missing in reply")

    def setevents(self, events):
        self.command("SETEVENTS " + " ".join(events))

    def signal(self, name):
        self.command("SIGNAL " + name)

    # -- authentication -------------------------------------------------

    def protocolinfo(self):
        methods, cookiefile = [], None
        for line in self.command("PROTOCOLINFO 1"):
            if line.text.startswith("AUTH "):
                m = re.search(r"METHODS=(\S+)", line.text)
                if m:
                    methods = m.group(1).split(",")
                m = re.search(r'COOKIEFILE="((?:[^"\\]|\\.)*)"', line.text)
                if m:
                    cookiefile = re.sub(r"\\(.)", r"\1", m.group(1))
        return methods, cookiefile

    def authenticate(self, cookie_path=None):
        """Authenticate, preferring SAFECOOKIE.  cookie_path overrides the
        COOKIEFILE that tor announces."""
        methods, announced = self.protocolinfo()
        path = cookie_path or announced
        if "SAFECOOKIE" in methods and path:
            self._auth_safecookie(read_cookie(path))
        elif "COOKIE" in methods and path:
            self.command("AUTHENTICATE " + read_cookie(path).hex())
        elif "NULL" in methods:
            self.command("AUTHENTICATE")
        else:
            raise ControlError(
                f"{self.name}: no usable auth method in {methods}")

    def _auth_safecookie(self, cookie):
        client_nonce = os.urandom(32)
        reply = self.command("AUTHCHALLENGE SAFECOOKIE " + client_nonce.hex())
        m = re.match(r"AUTHCHALLENGE SERVERHASH=([0-9A-Fa-f]{64}) "
                     r"SERVERNONCE=([0-9A-Fa-f]{64})$", reply[0].text)
        if not m:
            raise ControlError(
                f"{self.name}: malformed AUTHCHALLENGE reply {reply[0].text!r}")
        server_hash = bytes.fromhex(m.group(1))
        server_nonce = bytes.fromhex(m.group(2))
        material = cookie + client_nonce + server_nonce
        expect = hmac.new(SERVER_TO_CONTROLLER, material,
                          hashlib.sha256).digest()
        # A tor that does not know the cookie must not learn our hash.
        if not hmac.compare_digest(expect, server_hash):
            raise ControlError(f"{self.name}: tor's SERVERHASH is wrong")
        client_hash = hmac.new(CONTROLLER_TO_SERVER, material,
                               hashlib.sha256).digest()
        self.command("AUTHENTICATE " + client_hash.hex())


def read_cookie(path):
    with open(path, "rb") as f:
        cookie = f.read()
    if len(cookie) != COOKIE_LEN:
        raise ControlError(
            f"cookie {path} has {len(cookie)} bytes, not {COOKIE_LEN}")
    return cookie


def parse_kv(text):
    """Parse 'KEY=value KEY="quoted value"' pairs (as in bootstrap status)."""
    result = {}
    for m in re.finditer(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)', text):
        value = m.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        result[m.group(1)] = value
    return result
