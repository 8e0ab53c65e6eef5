#!/usr/bin/gjs
// libnetbird from GJS through GObject-Introspection, against the build
// tree's typelib (GI_TYPELIB_PATH and LD_LIBRARY_PATH set by meson test).
// Prints TAP.
//
// SPDX-License-Identifier: BSD-3-Clause
imports.gi.versions.Netbird = '1.0';
const {GLib, Netbird} = imports.gi;

let n = 0;
let failed = false;
function check(name, fn) {
    n++;
    try {
        fn();
        print(`ok ${n} - ${name}`);
    } catch (e) {
        failed = true;
        print(`not ok ${n} - ${name}: ${e}`);
    }
}
function assert(cond, what) {
    if (!cond)
        throw new Error(`assertion failed: ${what}`);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

check('generate a key and print its public key', () => {
    const key = Netbird.Key.generate();
    const pub = key.get_public_base64();
    assert(pub.length === 44, 'public key has 44 characters');
    assert(key.public_key === pub, 'public-key property matches');
    assert(key.has_private(), 'generated key has its private half');
});

check('private key round-trips through base64', () => {
    const key = Netbird.Key.generate();
    const again = Netbird.Key.new_from_base64(key.dup_private_base64());
    assert(again.equal(key), 'same key');
});

check('invalid base64 throws a NbKeyError', () => {
    let threw = false;
    try {
        Netbird.Key.new_from_base64('garbage');
    } catch (e) {
        threw = e.matches(Netbird.key_error_quark(), Netbird.KeyError.INVALID_BASE64);
    }
    assert(threw, 'INVALID_BASE64 raised');
});

check('seal and open an envelope', () => {
    const alice = Netbird.Key.generate();
    const bob = Netbird.Key.generate();
    const envelope = Netbird.envelope_seal(alice, bob.dup_public(),
        new GLib.Bytes(encoder.encode('hello from gjs')));
    const [message, sender] = Netbird.envelope_open(bob, envelope);
    assert(decoder.decode(message.toArray()) === 'hello from gjs', 'message');
    assert(sender.equal(alice), 'sender is alice');
});

check('tampered envelope fails authentication', () => {
    const alice = Netbird.Key.generate();
    const bob = Netbird.Key.generate();
    const envelope = Netbird.envelope_seal(alice, bob, new GLib.Bytes(encoder.encode('x')));
    const bytes = envelope.toArray().slice();
    bytes[bytes.length - 1] ^= 1;
    let threw = false;
    try {
        Netbird.envelope_open(bob, new GLib.Bytes(bytes));
    } catch (e) {
        threw = e.matches(Netbird.envelope_error_quark(),
            Netbird.EnvelopeError.AUTHENTICATION_FAILED);
    }
    assert(threw, 'AUTHENTICATION_FAILED raised');
});

check('configure a WireGuard device and a peer', () => {
    const {Gio} = imports.gi;
    const device = Netbird.WgDevice.new(null);
    device.set_private_key(Netbird.Key.generate());
    const remote = Netbird.Key.generate().dup_public();
    const peer = device.add_peer(remote);
    peer.add_allowed_ip(Gio.InetAddressMask.new_from_string('100.64.0.9/32'));
    assert(device.lookup_peer(remote) !== null, 'peer is found by its key');
    assert(peer.list_allowed_ips().length === 1, 'one allowed IP');
    assert(device.list_peers().length === 1, 'one peer');
});

check('version', () => {
    assert(Netbird.get_version_string().split('.').length === 3, 'x.y.z');
});

print(`1..${n}`);
if (failed)
    imports.system.exit(1);
