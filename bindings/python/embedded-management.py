#!/usr/bin/python3
# Run a Management server inside a Python program: accounts, peers, setup
# keys and policies in a SQLite store, NetBird's REST API and the sealed
# client protocol, on this process's GLib main loop.
#
#   embedded-management.py [DATA_DIR] [HOST:PORT] [SECONDS]
#
# SPDX-License-Identifier: BSD-3-Clause
import json
import sys
import tempfile

import gi

gi.require_version("Netbird", "1.0")
from gi.repository import GLib, Netbird  # noqa: E402

data_dir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="netbird-mgmt-")
address = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1:0"
seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 0

server = Netbird.ManagementServer.new(data_dir, None)
server.listen(address)
print("Management listening on", server.get_listen_address())
print("server public key:", server.get_public_key().get_public_base64())
credentials = server.get_credentials_file()
if credentials:
    with open(credentials) as f:
        print("admin token:", json.load(f)["admin_token"], "(in %s)" % credentials)

loop = GLib.MainLoop()
if seconds > 0:
    GLib.timeout_add(int(seconds * 1000), loop.quit)
GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, 2, loop.quit)   # SIGINT
GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, 15, loop.quit)  # SIGTERM
loop.run()
server.stop()
print("stopped")
