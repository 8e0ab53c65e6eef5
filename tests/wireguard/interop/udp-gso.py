#!/usr/bin/python3
# udp-gso.py: UDP sent with UDP_SEGMENT (one send, many datagrams), so the
# kernel hands the TUN one USO frame; the receiver checks every datagram.
#
# SPDX-License-Identifier: BSD-3-Clause
#
#   udp-gso.py recv ADDRESS PORT COUNT   (prints "ok N" when N arrived intact)
#   udp-gso.py send ADDRESS PORT SENDS   (each send: 16 datagrams of 1000 bytes)
import socket
import sys
import time

UDP_SEGMENT = 103
SEG = 1000
PER_SEND = 16


def payload(send, i):
    head = ("%08d:%04d:" % (send, i)).encode()
    return head + bytes((send + i + k) & 0xFF for k in range(SEG - len(head)))


def recv(address, port, count):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((address, port))
    s.settimeout(5)
    print("listening", flush=True)
    got = 0
    try:
        while got < count:
            data = s.recv(65535)
            send, i = (int(x) for x in data[:13].decode().split(":")[:2])
            if data != payload(send, i):
                print("corrupt datagram", send, i, flush=True)
                sys.exit(1)
            got += 1
    except socket.timeout:
        pass
    print("ok" if got >= count * 0.9 else "lost", got, flush=True)


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
