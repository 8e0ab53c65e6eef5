#!/usr/bin/python3
# libnetbird from Python through GObject-Introspection, against the build
# tree's typelib (GI_TYPELIB_PATH and LD_LIBRARY_PATH set by meson test).
#
# SPDX-License-Identifier: BSD-3-Clause
import base64
import os
import shutil
import stat
import subprocess
import tempfile
import unittest

import gi

gi.require_version("Netbird", "1.0")
from gi.repository import GLib, Netbird  # noqa: E402


class KeyTests(unittest.TestCase):
    def test_generate_and_print_public_key(self):
        key = Netbird.Key.generate()
        public = key.get_public_base64()
        self.assertEqual(len(public), Netbird.KEY_BASE64_LEN)
        self.assertEqual(len(base64.b64decode(public)), Netbird.KEY_LEN)
        self.assertTrue(key.has_private())
        self.assertEqual(key.props.public_key, public)

    @unittest.skipUnless(shutil.which("wg"), "wg (wireguard-tools) is not installed")
    def test_matches_wg_pubkey(self):
        private = subprocess.run(["wg", "genkey"], capture_output=True, text=True,
                                 check=True).stdout.strip()
        public = subprocess.run(["wg", "pubkey"], input=private, capture_output=True,
                                text=True, check=True).stdout.strip()
        key = Netbird.Key.new_from_base64(private)
        self.assertEqual(key.get_public_base64(), public)
        self.assertEqual(key.dup_private_base64(), private)

    def test_invalid_base64_raises(self):
        with self.assertRaises(GLib.Error) as ctx:
            Netbird.Key.new_from_base64("not a key")
        self.assertTrue(ctx.exception.matches(Netbird.key_error_quark(),
                                              Netbird.KeyError.INVALID_BASE64))

    def test_public_data_and_equality(self):
        key = Netbird.Key.generate()
        public = Netbird.Key.new_public_from_data(key.get_public_data())
        self.assertFalse(public.has_private())
        self.assertTrue(key.equal(public))
        self.assertEqual(key.hash(), public.hash())

    def test_file_roundtrip_mode_0600(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "private.key")
            key = Netbird.Key.generate()
            key.save_to_file(path)
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
            self.assertTrue(Netbird.Key.new_from_file(path).equal(key))


class EnvelopeTests(unittest.TestCase):
    def setUp(self):
        self.alice = Netbird.Key.generate()
        self.bob = Netbird.Key.generate()

    def test_seal_and_open(self):
        envelope = Netbird.envelope_seal(self.alice, self.bob.dup_public(),
                                         GLib.Bytes.new(b"hello"))
        self.assertEqual(envelope.get_size(), 5 + Netbird.ENVELOPE_OVERHEAD)
        message, sender = Netbird.envelope_open(self.bob, envelope)
        self.assertEqual(message.get_data(), b"hello")
        self.assertTrue(sender.equal(self.alice))

    def test_tampered(self):
        envelope = bytearray(Netbird.envelope_seal(self.alice, self.bob,
                                                   GLib.Bytes.new(b"hello")).get_data())
        envelope[-1] ^= 1
        with self.assertRaises(GLib.Error) as ctx:
            Netbird.envelope_open(self.bob, GLib.Bytes.new(bytes(envelope)))
        self.assertTrue(ctx.exception.matches(Netbird.envelope_error_quark(),
                                              Netbird.EnvelopeError.AUTHENTICATION_FAILED))

    def test_truncated(self):
        envelope = Netbird.envelope_seal(self.alice, self.bob, GLib.Bytes.new(b"hello"))
        short = GLib.Bytes.new(envelope.get_data()[:20])
        with self.assertRaises(GLib.Error) as ctx:
            Netbird.envelope_open(self.bob, short)
        self.assertTrue(ctx.exception.matches(Netbird.envelope_error_quark(),
                                              Netbird.EnvelopeError.TRUNCATED))

    def test_wrong_recipient(self):
        envelope = Netbird.envelope_seal(self.alice, self.bob, GLib.Bytes.new(b"hello"))
        with self.assertRaises(GLib.Error) as ctx:
            Netbird.envelope_open(Netbird.Key.generate(), envelope)
        self.assertTrue(ctx.exception.matches(Netbird.envelope_error_quark(),
                                              Netbird.EnvelopeError.WRONG_RECIPIENT))


class VersionTests(unittest.TestCase):
    def test_version(self):
        v = "%d.%d.%d" % (Netbird.get_major_version(), Netbird.get_minor_version(),
                          Netbird.get_micro_version())
        self.assertEqual(v, Netbird.get_version_string())
        self.assertTrue(Netbird.check_version(Netbird.get_major_version(), 0, 0))


if __name__ == "__main__":
    unittest.main(verbosity=2)
