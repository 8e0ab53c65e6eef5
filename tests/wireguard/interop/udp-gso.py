#!/usr/bin/python3
# udp-gso.py: UDP sent with UDP_SEGMENT (one send, many datagrams), so the
# kernel hands the TUN one USO frame; the receiver checks every datagram.
#
# SPDX-License-Identifier: BSD-3-Clause
#
#   udp-gso.py recv ADDRESS PORT COUNT   (prints "ok N" when all N arrived intact)
#   udp-gso.py send ADDRESS PORT SENDS   (each send: 16 datagrams of 1000 bytes)
#
# Every datagram must arrive, once: the path is two namespaces on one host,
# nothing between them drops, and a datagram lost on the way is the very
# fault (a segment cut wrong, a bad checksum the receiving kernel drops)
# this check exists to catch. The receiver's socket buffer is made large
# enough for the whole run (SO_RCVBUFFORCE, we are root), so a slow reader
# cannot lose any either.
import socket
import sys
import time

UDP_SEGMENT = 103
SO_RCVBUFFORCE = 33
SEG = 1000
PER_SEND = 16


def payload(send, i):
    head = ("%08d:%04d:" % (send, i)).encode()
    return head + bytes((send + i + k) & 0xFF for k in range(SEG - len(head)))


def recv(address, port, count):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 2 * count * (SEG + 1024))
    s.bind((address, port))
    s.settimeout(5)
    print("listening", flush=True)
    seen = set()
    try:
        while len(seen) < count:
            data = s.recv(65535)
            send, i = (int(x) for x in data[:13].decode().split(":")[:2])
            if data != payload(send, i):
                print("corrupt datagram", send, i, flush=True)
                sys.exit(1)
            if (send, i) in seen:
                print("duplicate datagram", send, i, flush=True)
                sys.exit(1)
            seen.add((send, i))
    except socket.timeout:
        pass
    print("ok" if len(seen) == count else "lost %d of" % (count - len(seen)), len(seen),
          flush=True)


def send(address, port, sends):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_UDP, UDP_SEGMENT, SEG)
    for n in range(sends):
        s.sendto(b"".join(payload(n, i) for i in range(PER_SEND)), (address, port))
        time.sleep(0.002)


if __name__ == "__main__":
    if sys.argv[1] == "recv":
        recv(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
