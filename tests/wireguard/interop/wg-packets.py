#!/usr/bin/python3
# wg-packets.py: hostile WireGuard traffic for the interop tests.
#
# SPDX-License-Identifier: BSD-3-Clause
#
#   wg-packets.py garbage HOST PORT PUBKEY_B64
#       malformed, truncated, oversized and unknown-index datagrams, and
#       initiations with a bad mac1; prints how many of each
#   wg-packets.py capture IFACE PORT COUNT FILE
#       saves COUNT outgoing WireGuard data packets to PORT seen on IFACE
#   wg-packets.py replay HOST PORT FILE
#       sends the saved packets again, each twice
#   wg-packets.py flood HOST PORT PUBKEY_B64 SECONDS [RATE]
#       handshake initiations with a valid mac1 (no mac2), RATE a second
#       (0: as fast as it can); prints "sent N cookie_replies M"
#
# Message layouts: WireGuard paper §5.4 (initiation 148 bytes, response 92,
# cookie reply 64, data >= 32); mac1 = MAC(HASH("mac1----" || Spub_r),
# msg[0:116]) with MAC = keyed BLAKE2s-128 (§5.4.4).
import base64
import hashlib
import os
import random
import select
import socket
import struct
import sys
import time


def mac1_key(pub):
    return hashlib.blake2s(b"mac1----" + pub).digest()


def initiation(key, good_mac1=True):
    body = struct.pack("<I", 1) + os.urandom(4 + 32 + 48 + 28)
    mac1 = hashlib.blake2s(body, key=key, digest_size=16).digest()
    if not good_mac1:
        mac1 = os.urandom(16)
    return body + mac1 + bytes(16)


def garbage(host, port, pub):
    key = mac1_key(pub)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    counts = {}

    def send(kind, data):
        s.sendto(data, (host, port))
        counts[kind] = counts.get(kind, 0) + 1
        time.sleep(0.0005)

    rnd = random.Random(7)
    for _ in range(50):
        send("random", os.urandom(rnd.randint(0, 1400)))
    send("empty", b"")
    for t in (1, 2, 3, 4):
        send("type-only", struct.pack("<I", t))
    for n in (1, 100, 147, 149, 300):
        send("bad-length-initiation", struct.pack("<I", 1) + os.urandom(n))
    for n in (50, 91, 93):
        send("bad-length-response", struct.pack("<I", 2) + os.urandom(n))
    for n in (10, 63, 65):
        send("bad-length-cookie", struct.pack("<I", 3) + os.urandom(n))
    for n in (4, 20, 27):
        send("short-data", struct.pack("<I", 4) + os.urandom(n))
    for _ in range(20):
        send("unknown-index", struct.pack("<I", 4) + os.urandom(8 + rnd.randint(16, 1400)))
    for _ in range(5):
        send("reserved-bits", bytes([4, 1, 2, 3]) + os.urandom(60))
    for _ in range(5):
        send("bad-mac1-initiation", initiation(key, good_mac1=False))
    for _ in range(3):
        send("oversized", struct.pack("<I", 4) + os.urandom(65000))
    for _ in range(20):
        send("unknown-type", struct.pack("<I", rnd.randint(5, 255)) + os.urandom(60))
    print(" ".join("%s=%d" % kv for kv in sorted(counts.items())))


def capture(iface, port, count, path):
    # ETH_P_ALL: outgoing packets reach only the taps that take every protocol.
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0003))
    s.bind((iface, 0x0003))
    s.settimeout(10)
    print("capturing", flush=True)
    saved = []
    while len(saved) < count:
        pkt = s.recv(70000)
        if len(pkt) < 28 or pkt[0] >> 4 != 4 or pkt[9] != 17:
            continue
        ihl = (pkt[0] & 15) * 4
        dport = struct.unpack("!H", pkt[ihl + 2:ihl + 4])[0]
        payload = pkt[ihl + 8:]
        if dport == port and len(payload) >= 32 and payload[0] == 4:
            saved.append(payload)
    with open(path, "w") as f:
        for p in saved:
            f.write(p.hex() + "\n")
    print("captured", len(saved), flush=True)


def replay(host, port, path):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    n = 0
    with open(path) as f:
        packets = [bytes.fromhex(line.strip()) for line in f if line.strip()]
    for _ in range(2):
        for p in packets:
            s.sendto(p, (host, port))
            n += 1
            time.sleep(0.001)
    print("replayed", n)


def flood(host, port, pub, seconds, rate):
    key = mac1_key(pub)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    s.connect((host, port))
    # Prebuilt initiations: building each costs more than sending it.
    msgs = [initiation(key) for _ in range(512)]
    sent = cookies = 0
    start = time.monotonic()
    end = start + seconds
    while time.monotonic() < end:
        if rate > 0 and sent > rate * (time.monotonic() - start):
            time.sleep(0.002)
        for m in msgs[:64]:
            try:
                s.send(m)
                sent += 1
            except BlockingIOError:
                select.select([], [s], [], 0.01)
            except ConnectionRefusedError:
                pass
        msgs = msgs[64:] + msgs[:64]
        while True:
            try:
                r = s.recv(2048)
            except (BlockingIOError, ConnectionRefusedError):
                break
            if len(r) == 64 and r[0] == 3:
                cookies += 1
    time.sleep(0.2)
    while True:
        try:
            r = s.recv(2048)
        except (BlockingIOError, ConnectionRefusedError):
            break
        if len(r) == 64 and r[0] == 3:
            cookies += 1
    print("sent", sent, "cookie_replies", cookies)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "garbage":
        garbage(sys.argv[2], int(sys.argv[3]), base64.b64decode(sys.argv[4]))
    elif cmd == "capture":
        capture(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    elif cmd == "replay":
        replay(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif cmd == "flood":
        flood(sys.argv[2], int(sys.argv[3]), base64.b64decode(sys.argv[4]), float(sys.argv[5]),
              int(sys.argv[6]) if len(sys.argv) > 6 else 0)
