#!/usr/bin/python3
"""The test network's backend web server: answers every GET with its
name and a newline, so a client can tell which backend served it.

    namehttpd.py NAME PORT PIDFILE OWNER_PID

Listens on 127.0.0.1:PORT only.  Writes PIDFILE once it is listening
(the harness waits for it).  If OWNER_PID is not 0, exits when that
process is gone, so an interrupted harness that could not clean up does
not leave it behind.
"""

import http.server
import os
import sys
import threading
import time


class NameHandler(http.server.BaseHTTPRequestHandler):
    server_version = "namehttpd"

    def do_GET(self):
        body = (self.server.backend_name + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (time.strftime("%H:%M:%S"), fmt % args))
        sys.stderr.flush()


def watch_owner(owner_pid, server):
    while True:
        time.sleep(2)
        try:
            os.kill(owner_pid, 0)
        except ProcessLookupError:
            server.shutdown()
            return
        except PermissionError:
            pass


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    name, port, pidfile, owner = sys.argv[1], int(sys.argv[2]), \
        sys.argv[3], int(sys.argv[4])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port),
                                             NameHandler)
    server.backend_name = name
    tmp = pidfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{os.getpid()}\n")
    os.replace(tmp, pidfile)
    if owner:
        threading.Thread(target=watch_owner, args=(owner, server),
                         daemon=True).start()
    try:
        server.serve_forever()
    finally:
        try:
            os.unlink(pidfile)
        except FileNotFoundError:
            pass


if __name__ == "__main__":
    main()
