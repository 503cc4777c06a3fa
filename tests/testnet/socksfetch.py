"""Fetch an http:// URL through a tor SocksPort (SOCKS5, RFC 1928), with
username/password authentication (RFC 1929).

tor isolates streams by SOCKS credentials (IsolateSOCKSAuth is on by
default), so a distinct username per request means fresh circuits per
request: a new rendezvous, a new choice among a frontend's intro points.
The hostname is sent to tor unresolved (ATYP 3), as .onion needs.
"""

import itertools
import os
import socket
import time
import urllib.parse

# tor's extended SOCKS5 replies (SocksPort flag ExtendedErrors), from
# tor's socks5_reply_status_t; the standard ones are from RFC 1928.
SOCKS5_REPLIES = {
    0x01: "general failure",
    0x02: "not allowed by ruleset",
    0x03: "network unreachable",
    0x04: "host unreachable",
    0x05: "connection refused",
    0x06: "TTL expired (timeout)",
    0x07: "command not supported",
    0x08: "address type not supported",
    0xF0: "onion service descriptor can not be found",
    0xF1: "onion service descriptor is invalid",
    0xF2: "onion service introduction failed",
    0xF3: "onion service rendezvous failed",
    0xF4: "onion service missing client authorization",
    0xF5: "onion service wrong client authorization",
    0xF6: "onion service invalid address",
    0xF7: "onion service introduction timed out",
}

_counter = itertools.count()


class FetchError(Exception):
    """The request failed; .socks_reply is tor's SOCKS reply code if the
    failure was a SOCKS refusal, else None."""

    def __init__(self, message, socks_reply=None):
        super().__init__(message)
        self.socks_reply = socks_reply


def fresh_username():
    return f"ob-{os.getpid()}-{time.monotonic_ns()}-{next(_counter)}"


def _recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise FetchError("SOCKS proxy closed the connection")
        data += chunk
    return data


def _socks5_connect(sock, host, port, username):
    user = username.encode()
    password = b"x"
    sock.sendall(b"\x05\x01\x02")
    if _recv_exact(sock, 2) != b"\x05\x02":
        raise FetchError("SOCKS proxy refused username/password auth")
    sock.sendall(bytes([1, len(user)]) + user + bytes([len(password)]) +
                 password)
    if _recv_exact(sock, 2)[1] != 0:
        raise FetchError("SOCKS proxy rejected the credentials")
    name = host.encode("idna")
    if len(name) > 255:
        raise FetchError(f"host name too long: {host}")
    sock.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name +
                 port.to_bytes(2, "big"))
    ver, rep, _, atyp = _recv_exact(sock, 4)
    if ver != 5:
        raise FetchError(f"bad SOCKS version {ver} in reply")
    if rep != 0:
        why = SOCKS5_REPLIES.get(rep, "unknown")
        raise FetchError(f"SOCKS reply 0x{rep:02X} ({why})", rep)
    # Skip the bound address that follows.
    if atyp == 1:
        _recv_exact(sock, 4 + 2)
    elif atyp == 4:
        _recv_exact(sock, 16 + 2)
    elif atyp == 3:
        _recv_exact(sock, _recv_exact(sock, 1)[0] + 2)
    else:
        raise FetchError(f"bad address type {atyp} in SOCKS reply")


def _read_all(sock, limit=1 << 20):
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
        if len(data) > limit:
            raise FetchError("HTTP response too large")


def _parse_http(raw):
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise FetchError(f"malformed HTTP response ({len(raw)} bytes)")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") \
            or not parts[1].isdigit():
        raise FetchError(f"malformed HTTP status line {status_line!r}")
    return int(parts[1]), body


def http_get(socks_port, url, username=None, timeout=60.0):
    """GET url through tor's SocksPort on 127.0.0.1; return (status, body).
    A fresh username (hence fresh circuits) is used unless one is given."""
    u = urllib.parse.urlsplit(url)
    if u.scheme != "http" or not u.hostname:
        raise ValueError(f"only http:// URLs are supported: {url}")
    port = u.port or 80
    path = (u.path or "/") + (("?" + u.query) if u.query else "")
    username = username or fresh_username()
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", socks_port),
                                  timeout=timeout) as sock:
        _socks5_connect(sock, u.hostname, port, username)
        sock.settimeout(max(1.0, deadline - time.monotonic()))
        request = (f"GET {path} HTTP/1.0\r\nHost: {u.hostname}\r\n"
                   f"Connection: close\r\n\r\n")
        sock.sendall(request.encode())
        return _parse_http(_read_all(sock))
