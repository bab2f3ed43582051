#!/usr/bin/env python3
"""A hostile stand-in for etcd's HTTP gateway, for leaderrun's tests.

usage: fake_server.py MODE PORTFILE [CONNS [SECONDS]]

Listens on 127.0.0.1, port 0 (the kernel picks a free one), writes the port
number to PORTFILE (atomically: written to PORTFILE.tmp, then renamed), then
answers every connection according to MODE:

  garbage  reads the request, replies 4 KiB of random non-HTTP bytes, closes
  hang     reads the request, never answers; holds the connection until the
           client closes it or the server's time is up
  close    reads the request, sends the first half of a valid-looking JSON
           response (status line, headers with Content-Length, half the
           body), then closes
  big      HTTP/1.1 200, application/json, Content-Length: 10485760; streams
           4 MiB of a JSON-looking body, then closes
  html502  a proxy's HTTP/1.1 502 Bad Gateway with a text/html body
  badjson  HTTP/1.1 200, application/json, Content-Length, a non-JSON body

Bounded: accepts at most CONNS connections (default 20), and exits once they
are all done or SECONDS (default 30) after the start, whichever comes first.
Logs one line per connection on stderr: "conn N MODE: first request line".
Python 3 standard library only.
"""

import os
import socket
import sys
import threading
import time

MODES = ("garbage", "hang", "close", "big", "html502", "badjson")


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def read_request(conn, limit=65536, timeout=2.0):
    """Read what the client sends first (headers and some body), bounded."""
    conn.settimeout(timeout)
    data = b""
    try:
        while len(data) < limit:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                head, _, body = data.partition(b"\r\n\r\n")
                want = 0
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        try:
                            want = int(v.strip())
                        except ValueError:
                            want = 0
                if len(body) >= want:
                    break
    except (socket.timeout, OSError):
        pass
    return data


def send(conn, data):
    try:
        conn.sendall(data)
        return True
    except OSError:
        return False


def response(status, ctype, body, length=None):
    if length is None:
        length = len(body)
    head = (
        "HTTP/1.1 %s\r\n"
        "Content-Type: %s\r\n"
        "Content-Length: %d\r\n"
        "Date: Tue, 01 Dec 2026 04:00:00 GMT\r\n"
        "\r\n" % (status, ctype, length)
    )
    return head.encode("ascii") + body


def handle(conn, mode, n, deadline):
    req = read_request(conn)
    first = req.split(b"\r\n", 1)[0].decode("latin-1", "replace")[:120]
    log("conn %d %s: %s" % (n, mode, first or "(nothing read)"))
    if mode == "garbage":
        junk = bytearray(os.urandom(4096))
        junk[0:5] = b"\x00\xffZQ\x01"  # never "HTTP/"
        send(conn, bytes(junk))
    elif mode == "hang":
        conn.settimeout(0.2)
        while time.monotonic() < deadline:
            try:
                if not conn.recv(4096):
                    break  # the client gave up
            except socket.timeout:
                continue
            except OSError:
                break
    elif mode == "close":
        body = (
            b'{"header":{"cluster_id":"2037210783374497686","member_id":'
            b'"13195394291058371180","revision":"22","raft_term":"2"},'
            b'"ID":"7668682480359012466","TTL":"5"}'
        )
        full = response("200 OK", "application/json", body)
        send(conn, full[: len(full) - len(body) // 2])
        time.sleep(0.05)
    elif mode == "big":
        total = 10 * 1024 * 1024
        if send(conn, response("200 OK", "application/json", b"", total)):
            piece = b'{"header":{"revision":"1"},"kvs":[' + b"x" * 65000
            sent = 0
            block = b'"' + b"a" * 65534 + b'",'
            if send(conn, piece):
                sent = len(piece)
            while sent and sent < 4 * 1024 * 1024 and time.monotonic() < deadline:
                if not send(conn, block):
                    break
                sent += len(block)
            log("conn %d big: streamed %d bytes" % (n, sent))
    elif mode == "html502":
        body = (
            b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n"
            b"<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n"
            b"<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n"
        )
        head = (
            "HTTP/1.1 502 Bad Gateway\r\n"
            "Server: nginx/1.22.1\r\n"
            "Date: Tue, 01 Dec 2026 04:00:00 GMT\r\n"
            "Content-Type: text/html\r\n"
            "Content-Length: %d\r\n"
            "Connection: close\r\n"
            "\r\n" % len(body)
        )
        send(conn, head.encode("ascii") + body)
    elif mode == "badjson":
        body = b"this is not JSON {\"header\": <oops> ]]\n"
        send(conn, response("200 OK", "application/json", body))
    try:
        conn.close()
    except OSError:
        pass


def main(argv):
    if len(argv) < 3 or argv[1] not in MODES:
        sys.stderr.write(
            "usage: fake_server.py MODE PORTFILE [CONNS [SECONDS]]\n"
            "MODE: %s\n" % " ".join(MODES)
        )
        return 2
    mode, portfile = argv[1], argv[2]
    conns = int(argv[3]) if len(argv) > 3 else 20
    seconds = float(argv[4]) if len(argv) > 4 else 30.0
    deadline = time.monotonic() + seconds

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    port = srv.getsockname()[1]
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(portfile + ".tmp", portfile)
    log("fake_server %s listening on 127.0.0.1:%d (%d connections, %gs)"
        % (mode, port, conns, seconds))

    threads = []
    n = 0
    while n < conns:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        srv.settimeout(min(left, 0.5))
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        n += 1
        t = threading.Thread(target=handle, args=(conn, mode, n, deadline),
                             daemon=True)
        t.start()
        threads.append(t)
    srv.close()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    log("fake_server %s: %d connections, exiting" % (mode, n))
    # Daemon threads still hanging at the deadline end with the process.
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
