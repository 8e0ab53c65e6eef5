#!/usr/bin/python3
# Run a NetBird peer from Python: an NbClient on a config file, brought up
# with a setup key, printing every change of its status and of its peers'.
#
#   sudo netbird-client.py CONFIG [-m MANAGEMENT_URL] [-k SETUP_KEY]
#                          [-i INTERFACE] [--seconds N]
#
# CONFIG is created when missing (the private key beside it, mode 0600); a
# peer that registered before needs no setup key. Ctrl-C (or N seconds)
# brings the tunnel down and ends it. Needs root (a TUN device).
#
# SPDX-License-Identifier: BSD-3-Clause
import argparse
import signal
import sys

import gi

gi.require_version("Netbird", "1.0")
from gi.repository import GLib, Netbird  # noqa: E402


def enum_nick(value):
    return value.value_nick if hasattr(value, "value_nick") else str(value)


def describe_peer(peer):
    text = "%s %s %s" % (peer.get_address(), peer.get_fqdn() or "-", enum_nick(peer.get_state()))
    if peer.get_state() == Netbird.ClientPeerState.CONNECTED:
        ok, local, remote = peer.get_candidate_types()
        text += " %s" % enum_nick(peer.get_connection_type())
        if ok:
            text += " %s/%s" % (enum_nick(local), enum_nick(remote))
        text += " %s -> %s" % (peer.get_local_endpoint(), peer.get_remote_endpoint())
    return text


def main():
    parser = argparse.ArgumentParser(description="Run a NetBird peer and print its status changes")
    parser.add_argument("config", help="the client's JSON config (created if missing)")
    parser.add_argument("-m", "--management-url", help="Management, e.g. https://netbird.example:443")
    parser.add_argument("-k", "--setup-key", help="registers the peer on its first login")
    parser.add_argument("-i", "--interface", help="TUN interface name (default wt0)")
    parser.add_argument("--seconds", type=float, help="bring the tunnel down after this long")
    args = parser.parse_args()

    try:
        client = Netbird.Client.new(args.config)
        if args.management_url:
            client.set_management_url(args.management_url)
        if args.interface:
            client.set_interface_name(args.interface)
    except GLib.Error as e:
        print("netbird-client:", e.message, file=sys.stderr)
        return 1

    loop = GLib.MainLoop()
    result = {"rc": 0}

    def status(what, value):
        print("%-20s %s" % (what, value), flush=True)

    def on_notify(obj, pspec):
        status(pspec.name, enum_nick(obj.get_property(pspec.name)))

    for prop in ("state", "address", "management-connected", "management-error",
                 "signal-connected", "signal-error"):
        client.connect("notify::" + prop, on_notify)

    def on_peer_notify(peer, pspec):
        status("peer changed", describe_peer(peer))

    def on_peer_added(_client, peer):
        status("peer added", describe_peer(peer))
        peer.connect("notify::state", on_peer_notify)

    def on_peer_removed(_client, peer):
        status("peer removed", "%s %s" % (peer.get_address(), peer.get_fqdn() or "-"))

    client.connect("peer-added", on_peer_added)
    client.connect("peer-removed", on_peer_removed)

    def on_up(client, res):
        try:
            client.up_finish(res)
        except GLib.Error as e:
            print("netbird-client: up failed:", e.message, file=sys.stderr)
            result["rc"] = 2
            loop.quit()
            return
        status("up as", "%s %s" % (client.get_address(), client.get_public_key()))

    def stop(*_):
        loop.quit()
        return GLib.SOURCE_REMOVE

    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, stop)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, stop)
    if args.seconds is not None:
        GLib.timeout_add(int(args.seconds * 1000), stop)

    client.up_async(args.setup_key, None, on_up)
    loop.run()
    client.down()
    status("state", enum_nick(client.get_state()))
    return result["rc"]


if __name__ == "__main__":
    sys.exit(main())
