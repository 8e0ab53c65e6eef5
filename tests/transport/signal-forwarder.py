#!/usr/bin/python3
# signal-forwarder.py: an interim signalling link for nb-ice-peer, until
# netbird-signal exists: forwards each envelope line to the connection that
# said "hello KEY" for the envelope's "to" key; drops it when that peer is
# not connected. It reads only the envelope, as Signal does; the bodies are
# sealed between the peers.
#
# SPDX-License-Identifier: BSD-3-Clause
#
#   signal-forwarder.py PATH      (a UNIX socket; prints "listening")
import asyncio
import json
import os
import sys

peers = {}


async def serve(reader, writer):
    key = None
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            if line.startswith(b"hello "):
                key = line[6:].strip().decode()
                peers[key] = writer
                continue
            try:
                to = json.loads(line)["to"]
            except (ValueError, KeyError, TypeError):
                continue
            dest = peers.get(to)
            if dest is not None:
                dest.write(line)
    except ConnectionError:
        pass
    finally:
        if key is not None and peers.get(key) is writer:
            del peers[key]
        writer.close()


async def main(path):
    if os.path.exists(path):
        os.unlink(path)
    server = await asyncio.start_unix_server(serve, path)
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main(sys.argv[1]))
