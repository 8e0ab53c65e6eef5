#!/usr/bin/python3
# make-envelope-seeds.py: the seed corpus of fuzz-envelope.c, sealed to its
# fixed recipient key so that inputs reach the authenticated paths
# (decryption, the sender's key) and not only the header checks.
#
# SPDX-License-Identifier: BSD-3-Clause
#
#   GI_TYPELIB_PATH=build/libnetbird LD_LIBRARY_PATH=build/libnetbird \
#     tests/fuzz/make-envelope-seeds.py tests/fuzz/corpus/envelope
#
# Each seed comes from a fresh sender key and nonce, so the bytes differ
# from run to run; what they hold does not.
import os
import sys

import gi
gi.require_version('Netbird', '1.0')
from gi.repository import GLib, Netbird  # noqa: E402

# The recipient_private of fuzz-envelope.c.
RECIPIENT_PRIVATE = bytes([
    0x58, 0x38, 0x1a, 0x87, 0x2c, 0x6e, 0x0a, 0x45, 0x61, 0x64, 0x33, 0x0e, 0x8a, 0x11, 0x7d, 0x4c,
    0x90, 0x12, 0x5f, 0xb2, 0x4c, 0x19, 0x22, 0x0b, 0x3d, 0xa0, 0x47, 0x5a, 0x77, 0x2b, 0x39, 0x5e,
])

SEEDS = {
    'empty': b'',
    'short': b'hi',
    'json': b'{"setup_key":"A2C8E62B-38F5-4553-B31E-DD66C696CEBB","meta":{"hostname":"a"}}',
}


def main(out_dir):
    recipient = Netbird.Key.new_from_data(RECIPIENT_PRIVATE)
    public = Netbird.Key.new_public_from_data(recipient.get_public_data())
    for name, plain in SEEDS.items():
        sealed = Netbird.envelope_seal(Netbird.Key.generate(), public, GLib.Bytes.new(plain))
        opened, _ = Netbird.envelope_open(recipient, sealed)
        assert bytes(opened.get_data() or b'') == plain
        with open(os.path.join(out_dir, name), 'wb') as f:
            f.write(bytes(sealed.get_data()))


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit('usage: make-envelope-seeds.py DIRECTORY')
    main(sys.argv[1])
