# test_client.py: an NbClient run from Python through GObject-Introspection,
# against a real Management and Signal, in a network namespace that
# test-client-python.sh made (with a peer, OTHER_IP, already in the
# network). Prints one "ok"/"not ok" line per check; exits 1 if any fails.
#
#   test_client.py DIR MANAGEMENT_URL SETUP_KEY IFNAME OTHER_IP
#
# SPDX-License-Identifier: BSD-3-Clause
import os
import stat
import subprocess
import sys
import time

import gi

gi.require_version("Netbird", "1.0")
from gi.repository import GLib, Netbird  # noqa: E402

DIR, URL, SETUP_KEY, IFNAME, OTHER_IP = sys.argv[1:6]
failures = 0


def check(ok, what):
    global failures
    print("%s - %s" % ("ok" if ok else "not ok", what), flush=True)
    if not ok:
        failures += 1
    return ok


def run_until(predicate, seconds):
    """Runs the main loop until predicate() holds; False on timeout."""
    ctx = GLib.MainContext.default()
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        ctx.iteration(False) or time.sleep(0.01)
    return True


def up(client, key):
    box = {}

    def done(c, res):
        try:
            box["ok"] = c.up_finish(res)
        except GLib.Error as e:
            box["error"] = e

    client.up_async(key, None, done)
    if not run_until(lambda: box, 30):
        return None, "up did not finish in 30 s"
    return box.get("ok"), box.get("error")


def peer_at(client, ip):
    for p in client.list_peers():
        if p.get_address().split("/")[0] == ip:
            return p
    return None


# A wrong setup key first: the error Management gave, as NbClientError.
bad = Netbird.Client.new(os.path.join(DIR, "bad.json"))
bad.set_management_url(URL)
bad.set_interface_name(IFNAME + "x")
bad.set_wireguard_port(0)
ok, err = up(bad, "00000000-0000-0000-0000-000000000000")
check(isinstance(err, GLib.Error) and err.matches(Netbird.client_error_quark(),
                                                   Netbird.ClientError.SETUP_KEY_INVALID),
      "a wrong setup key fails with SETUP_KEY_INVALID (%s)" % (err.message if err else ok))
check(bad.get_state() != Netbird.ClientState.CONNECTED, "the refused client is not connected")
del bad

config = os.path.join(DIR, "client.json")
client = Netbird.Client.new(config)
client.set_management_url(URL)
client.set_interface_name(IFNAME)
client.set_hostname("python")
check(client.get_state() == Netbird.ClientState.DOWN, "a new client is down")

states = []
peers_added = []
client.connect("notify::state", lambda c, _p: states.append(c.get_state()))
client.connect("peer-added", lambda _c, p: peers_added.append(p))

ok, err = up(client, SETUP_KEY)
check(ok is True and err is None, "up with the setup key (%s)" % (err.message if err else "done"))
check(client.get_state() == Netbird.ClientState.CONNECTED, "state CONNECTED after up")
check(Netbird.ClientState.CONNECTING in states and states[-1] == Netbird.ClientState.CONNECTED,
      "notify::state went through CONNECTING to CONNECTED (%s)" % [s.value_nick for s in states])
address = client.get_address() or ""
check(address.startswith("100."), "an overlay address: %s" % address)
check(len(client.get_public_key() or "") == 44, "a public key: %s" % client.get_public_key())
check(client.get_management_connected(), "management-connected")
check(client.get_property("management-connected") is True, "management-connected as a property")
check(client.get_property("address") == address, "address as a property")
mode = stat.S_IMODE(os.stat(config).st_mode)
check(mode & 0o077 == 0, "the config is private to root (mode %o)" % mode)
link = subprocess.run(["ip", "-o", "addr", "show", "dev", IFNAME], capture_output=True, text=True)
check(address.split("/")[0] in link.stdout, "the TUN device %s carries %s" % (IFNAME, address))

check(run_until(lambda: peer_at(client, OTHER_IP) is not None, 10),
      "the other peer %s is in the map" % OTHER_IP)
check(any(p.get_address().split("/")[0] == OTHER_IP for p in peers_added),
      "peer-added was emitted for it")
other = peer_at(client, OTHER_IP)
if other is not None:
    check(run_until(lambda: other.get_state() == Netbird.ClientPeerState.CONNECTED, 30),
          "the other peer becomes CONNECTED (%s)" % other.get_state().value_nick)
    ok, local, remote = other.get_candidate_types()
    check(ok, "candidate types of its pair: %s/%s" % (local.value_nick, remote.value_nick))
    check(other.get_connection_type() in (Netbird.ClientConnectionType.P2P,
                                          Netbird.ClientConnectionType.RELAYED),
          "connection type %s" % other.get_connection_type().value_nick)
    sent0 = other.get_bytes_sent()
    ping = subprocess.run(["ping", "-q", "-c", "3", "-i", "0.2", "-W", "2", OTHER_IP],
                          capture_output=True, text=True)
    check(ping.returncode == 0, "ping %s through the tunnel" % OTHER_IP)
    run_until(lambda: False, 0.2)
    check(other.get_bytes_sent() > sent0,
          "bytes sent to it grew: %d -> %d" % (sent0, other.get_bytes_sent()))
    check(other.get_last_handshake() > 0, "a WireGuard handshake at %d" % other.get_last_handshake())

client.down()
check(client.get_state() == Netbird.ClientState.DOWN, "down")
link = subprocess.run(["ip", "link", "show", "dev", IFNAME], capture_output=True)
check(link.returncode != 0, "the TUN device is gone after down")
print("python client: %d failure(s)" % failures)
sys.exit(1 if failures else 0)
