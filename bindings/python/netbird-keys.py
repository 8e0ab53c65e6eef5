#!/usr/bin/python3
# Generate a WireGuard key with libnetbird through GObject-Introspection,
# print its public key, and send a sealed message from one key to another.
#
# SPDX-License-Identifier: BSD-3-Clause
import gi

gi.require_version("Netbird", "1.0")
from gi.repository import GLib, Netbird  # noqa: E402

alice = Netbird.Key.generate()
bob = Netbird.Key.generate()
print("libnetbird", Netbird.get_version_string())
print("alice public key:", alice.get_public_base64())
print("bob public key:  ", bob.props.public_key)

envelope = Netbird.envelope_seal(alice, bob.dup_public(), GLib.Bytes.new(b"hello, bob"))
message, sender = Netbird.envelope_open(bob, envelope)
print("bob opened", len(envelope.get_data()), "bytes from",
      sender.get_public_base64(), ":", message.get_data().decode())

try:
    Netbird.envelope_open(alice, envelope)
except GLib.Error as e:
    print("alice cannot open it:", e.message)
