#!/usr/bin/gjs
// Generate a WireGuard key with libnetbird through GObject-Introspection,
// print its public key, and send a sealed message from one key to another.
//
// SPDX-License-Identifier: BSD-3-Clause
imports.gi.versions.Netbird = '1.0';
const {GLib, Netbird} = imports.gi;

const alice = Netbird.Key.generate();
const bob = Netbird.Key.generate();
print(`libnetbird ${Netbird.get_version_string()}`);
print(`alice public key: ${alice.get_public_base64()}`);
print(`bob public key:   ${bob.public_key}`);

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const envelope = Netbird.envelope_seal(alice, bob.dup_public(),
    new GLib.Bytes(encoder.encode('hello, bob')));
const [message, sender] = Netbird.envelope_open(bob, envelope);
print(`bob opened ${envelope.get_size()} bytes from ${sender.get_public_base64()}: ` +
    decoder.decode(message.toArray()));

try {
    Netbird.envelope_open(alice, envelope);
} catch (e) {
    print(`alice cannot open it: ${e.message}`);
}
