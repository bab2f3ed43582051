#!/usr/bin/env python3
"""A hostile stand-in for redis-server, for leaderrun's tests.

usage: fake_redis.py MODE PORTFILE [CONNS [SECONDS]]

Listens on 127.0.0.1, port 0, writes the port to PORTFILE (atomically),
then answers each connection's first request according to MODE:

  garbage  4 KiB of random bytes that do not start a RESP reply, then close
  hang     never answers; holds the connection until the client closes it
  close    the first half of a valid-looking reply, then close
  big      a bulk string header of 100 MB, then 1 MiB of it, then hold
  deep     an array nested 100 deep, then hold
  denied   a -DENIED error line of 1,100 bytes (protected mode's advice is
           as long), then close

Bounded: at most CONNS connections (50), exits after SECONDS (30).  Logs
"conn N MODE: first bytes" per connection on stderr.  Standard library only.
"""

import os
import socket
import sys
import threading
import time

MODES = ("garbage", "hang", "close", "big", "deep", "denied")


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def hold(conn, deadline):
    conn.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            if not conn.recv(4096):
                return
        except socket.timeout:
            continue
        except OSError:
            return


def handle(conn, mode, n, deadline):
    conn.settimeout(2.0)
    try:
        req = conn.recv(4096)
    except OSError:
        req = b""
    log("conn %d %s: %r" % (n, mode, req[:40]))
    try:
        if mode == "garbage":
            junk = bytearray(os.urandom(4096))
            junk[0:4] = b"\x00\xffZQ"
            conn.sendall(bytes(junk))
        elif mode == "hang":
            hold(conn, deadline)
        elif mode == "close":
            conn.sendall(b"*2\r\n:1\r\n")
            time.sleep(0.05)
        elif mode == "big":
            conn.sendall(b"$100000000\r\n" + b"x" * (1 << 20))
            hold(conn, deadline)
        elif mode == "deep":
            conn.sendall(b"*1\r\n" * 100)
            hold(conn, deadline)
        elif mode == "denied":
            conn.sendall(b"-DENIED Redis is running in protected mode "
                         + b"because protected mode is enabled. " * 30
                         + b"\r\n")
            time.sleep(0.05)
    except OSError:
        pass
    try:
        conn.close()
    except OSError:
        pass


def main(argv):
    if len(argv) < 3 or argv[1] not in MODES:
        sys.stderr.write("usage: fake_redis.py MODE PORTFILE [CONNS [SECONDS]]\n")
        return 2
    mode, portfile = argv[1], argv[2]
    conns = int(argv[3]) if len(argv) > 3 else 50
    deadline = time.monotonic() + (float(argv[4]) if len(argv) > 4 else 30.0)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    os.rename(portfile + ".tmp", portfile)
    n = 0
    while n < conns and time.monotonic() < deadline:
        srv.settimeout(max(0.01, min(deadline - time.monotonic(), 0.5)))
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        n += 1
        threading.Thread(target=handle, args=(conn, mode, n, deadline),
                         daemon=True).start()
    srv.close()
    while time.monotonic() < deadline and threading.active_count() > 1:
        time.sleep(0.05)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
