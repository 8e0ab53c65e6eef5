#!/usr/bin/python3
# tcp-stream.py: one TCP transfer with a SHA-256 at each end, for the
# client tests that change the path under a running connection.
#
# SPDX-License-Identifier: BSD-3-Clause
#
#   tcp-stream.py recv ADDRESS PORT REPORT
#       accepts one connection, reads it to its end; REPORT.progress holds
#       the bytes so far (rewritten every half second), REPORT at the end
#       "bytes=N sha256=HEX"
#   tcp-stream.py send ADDRESS PORT BYTES RATE REPORT [STOP]
#       sends BYTES random bytes (0: until the file STOP exists) at RATE
#       bytes per second (0: as fast as it goes), then closes; REPORT as
#       above
import hashlib
import os
import socket
import sys
import time

CHUNK = 64 * 1024


def write_report(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.rename(tmp, path)


def recv(address, port, report):
    listener = socket.create_server((address, port))
    conn, _ = listener.accept()
    digest = hashlib.sha256()
    total = 0
    last = 0.0
    while True:
        data = conn.recv(CHUNK)
        if not data:
            break
        digest.update(data)
        total += len(data)
        now = time.monotonic()
        if now - last > 0.5:
            write_report(report + ".progress", "bytes=%d" % total)
            last = now
    write_report(report + ".progress", "bytes=%d" % total)
    write_report(report, "bytes=%d sha256=%s" % (total, digest.hexdigest()))


def send(address, port, size, rate, report, stop):
    conn = socket.create_connection((address, port), timeout=30)
    conn.settimeout(None)
    digest = hashlib.sha256()
    total = 0
    start = time.monotonic()
    while (size == 0 and not os.path.exists(stop)) or (size > 0 and total < size):
        n = CHUNK if size == 0 else min(CHUNK, size - total)
        data = os.urandom(n)
        conn.sendall(data)
        digest.update(data)
        total += n
        if rate > 0:
            ahead = total / rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
    conn.shutdown(socket.SHUT_WR)
    conn.recv(1)
    conn.close()
    write_report(report, "bytes=%d sha256=%s seconds=%.2f" %
                 (total, digest.hexdigest(), time.monotonic() - start))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "recv":
        recv(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) in (7, 8) and sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6],
             sys.argv[7] if len(sys.argv) == 8 else "")
    else:
        sys.exit("usage: tcp-stream.py recv ADDRESS PORT REPORT | "
                 "send ADDRESS PORT BYTES RATE REPORT [STOP]")
