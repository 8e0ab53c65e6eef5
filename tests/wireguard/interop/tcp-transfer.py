#!/usr/bin/python3
# tcp-transfer.py: send or receive N bytes of random data over TCP and print
# their SHA-256, so both ends of a tunnel can be compared.
#
# SPDX-License-Identifier: BSD-3-Clause
#
#   tcp-transfer.py recv ADDRESS PORT      (prints "bytes sha256" once done)
#   tcp-transfer.py send ADDRESS PORT BYTES
import hashlib
import os
import socket
import sys

CHUNK = 1 << 20


def recv(address, port):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((address, port))
    srv.listen(1)
    srv.settimeout(30)
    print("listening", flush=True)
    conn, _ = srv.accept()
    conn.settimeout(60)
    digest = hashlib.sha256()
    total = 0
    while True:
        data = conn.recv(CHUNK)
        if not data:
            break
        digest.update(data)
        total += len(data)
    print(total, digest.hexdigest(), flush=True)


def send(address, port, count):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    conn = socket.create_connection((address, port), timeout=30)
    conn.settimeout(60)
    digest = hashlib.sha256()
    left = count
    while left > 0:
        data = os.urandom(min(CHUNK, left))
        digest.update(data)
        conn.sendall(data)
        left -= len(data)
    conn.shutdown(socket.SHUT_WR)
    conn.recv(1)
    conn.close()
    print(count, digest.hexdigest(), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "recv":
        recv(sys.argv[2], int(sys.argv[3]))
    else:
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
