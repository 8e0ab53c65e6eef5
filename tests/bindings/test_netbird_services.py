#!/usr/bin/python3
# The WireGuard device and the Management server from Python through
# GObject-Introspection, as a user scripting libnetbird would drive them.
# Runs against the build tree's typelib (meson test sets the paths).
#
# SPDX-License-Identifier: BSD-3-Clause
import json
import os
import tempfile
import unittest
import urllib.request

import gi

gi.require_version("Netbird", "1.0")
from gi.repository import Gio, GLib, Netbird  # noqa: E402


def iterate_until(predicate, seconds=10.0):
    """Runs the default main context until predicate() holds or time is up."""
    context = GLib.MainContext.default()
    deadline = GLib.get_monotonic_time() + int(seconds * 1e6)
    while not predicate() and GLib.get_monotonic_time() < deadline:
        context.iteration(False)
        GLib.usleep(1000)
    return predicate()


class WgDeviceTests(unittest.TestCase):
    def test_configure_peers(self):
        device = Netbird.WgDevice.new(None)
        key = Netbird.Key.generate()
        device.set_private_key(key)
        self.assertTrue(device.get_private_key().equal(key))

        remote = Netbird.Key.generate()
        peer = device.add_peer(remote.dup_public())
        peer.add_allowed_ip(Gio.InetAddressMask.new_from_string("100.64.0.2/32"))
        peer.add_allowed_ip(Gio.InetAddressMask.new_from_string("fd00::/64"))
        peer.set_persistent_keepalive(25)
        peer.set_endpoint(Gio.InetSocketAddress.new_from_string("198.18.0.2", 51820))

        self.assertTrue(device.lookup_peer(remote).get_public_key().equal(remote))
        self.assertEqual(sorted((m.get_address().to_string(), m.get_length())
                                for m in peer.list_allowed_ips()),
                         [("100.64.0.2", 32), ("fd00::", 64)])
        self.assertEqual(peer.get_persistent_keepalive(), 25)
        self.assertEqual(peer.dup_endpoint().get_port(), 51820)
        self.assertEqual([p.get_public_key().get_public_base64() for p in device.list_peers()],
                         [remote.get_public_base64()])

        with self.assertRaises(GLib.Error) as ctx:
            device.add_peer(remote)
        self.assertTrue(ctx.exception.matches(Netbird.wg_device_error_quark(),
                                              Netbird.WgDeviceError.PEER_EXISTS))
        device.remove_peer(remote)
        self.assertIsNone(device.lookup_peer(remote))

    def test_two_devices_handshake_over_loopback(self):
        a, b = Netbird.WgDevice.new(None), Netbird.WgDevice.new(None)
        ka, kb = Netbird.Key.generate(), Netbird.Key.generate()
        a.set_private_key(ka)
        b.set_private_key(kb)
        a.set_listen_port(0)
        b.set_listen_port(0)
        a.up()
        b.up()
        try:
            pa = a.add_peer(kb.dup_public())
            pb = b.add_peer(ka.dup_public())
            pa.set_endpoint(Gio.InetSocketAddress.new_from_string("127.0.0.1",
                                                                  b.get_listen_port()))
            pb.set_endpoint(Gio.InetSocketAddress.new_from_string("127.0.0.1",
                                                                  a.get_listen_port()))
            # A persistent keepalive makes the device start a handshake.
            pa.set_persistent_keepalive(1)
            self.assertTrue(iterate_until(lambda: pa.get_last_handshake_time() > 0 and
                                          pb.get_last_handshake_time() > 0))
            self.assertTrue(iterate_until(lambda: pb.get_rx_bytes() > 0))
        finally:
            a.down()
            b.down()


class ManagementServerTests(unittest.TestCase):
    def test_embedded_server_answers(self):
        with tempfile.TemporaryDirectory() as d:
            server = Netbird.ManagementServer.new(os.path.join(d, "data"), None)
            server.listen("127.0.0.1:0")
            port = server.get_port()
            self.assertGreater(port, 0)
            credentials = server.get_credentials_file()
            self.assertEqual(os.stat(credentials).st_mode & 0o777, 0o600)
            token = json.load(open(credentials))["admin_token"]

            results = {}

            def fetch(path, headers):
                request = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                                 headers=headers)
                with urllib.request.urlopen(request, timeout=10) as response:
                    return json.loads(response.read())

            # The server runs on this thread's main context: ask it from a
            # worker thread and iterate until the answers are in.
            import threading

            def client():
                results["key"] = fetch("/management/v1/server-key", {})
                results["groups"] = fetch("/api/groups", {"Authorization": "Token " + token})

            t = threading.Thread(target=client)
            t.start()
            self.assertTrue(iterate_until(lambda: not t.is_alive()))
            t.join()
            self.assertEqual(results["key"]["key"], server.get_public_key().get_public_base64())
            self.assertEqual([g["name"] for g in results["groups"]], ["All"])
            server.stop()


class SignalTests(unittest.TestCase):
    def test_embedded_server_forwards_between_clients(self):
        server = Netbird.SignalServer.new()
        server.listen("127.0.0.1:0")
        url = "ws://%s" % server.get_listen_address()
        a, b = Netbird.Key.generate(), Netbird.Key.generate()
        ca, cb = Netbird.SignalClient.new(url, a), Netbird.SignalClient.new(url, b)
        states, got = [], []
        ca.connect("notify::state", lambda c, _: states.append(c.get_state()))
        cb.connect("message-received", lambda c, frm, msg: got.append((frm, msg)))
        try:
            ca.start()
            cb.start()
            connected = Netbird.SignalClientState.CONNECTED
            self.assertTrue(iterate_until(lambda: ca.get_state() == connected
                                          and cb.get_state() == connected))
            self.assertEqual(states, [Netbird.SignalClientState.CONNECTING, connected])
            self.assertEqual(server.get_n_peers(), 2)

            offer = Netbird.SignalMessage.new_offer("0123456789abcdef", "Xy3+",
                                                    "abcdefghijklmnopqrstuv", 51820, "0.1.0",
                                                    None)
            ca.send(b, offer)
            self.assertTrue(iterate_until(lambda: got))
            sender, message = got[0]
            self.assertTrue(sender.equal(a))
            self.assertEqual(message.get_kind(), Netbird.SignalMessageKind.OFFER)
            self.assertEqual(message.get_pwd(), "abcdefghijklmnopqrstuv")
            self.assertEqual(message.get_wg_listen_port(), 51820)
            self.assertIsNone(message.get_relay_address())

            with self.assertRaises(GLib.Error) as ctx:
                ca.send(b, Netbird.SignalMessage.new_candidate("0123456789abcdef", "nonsense"))
            self.assertTrue(ctx.exception.matches(Netbird.signal_client_error_quark(),
                                                  Netbird.SignalClientError.INVALID_MESSAGE))
            metrics = server.dup_metrics()
            self.assertIn("netbird_signal_messages_forwarded_total 1\n", metrics)
        finally:
            ca.stop()
            cb.stop()
            server.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
