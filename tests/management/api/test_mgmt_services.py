#!/usr/bin/python3
# test_mgmt_services.py: Signal, STUN and TURN set with netbird-management's
# flags (--signal-url, --stun-url, --turn-url, --turn-secret[-file]) over its
# configuration file, as peers receive them at login and on the sync
# channel; the TURN credentials are tried on a real coturn, which must
# grant an allocation with them and refuse the file's (overridden) secret.
#
# SPDX-License-Identifier: BSD-3-Clause

import base64
import hashlib
import hmac
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mgmt_harness  # noqa: E402
from mgmt_harness import DaemonTestCase, main  # noqa: E402

TURNSERVER = shutil.which('turnserver') or '/usr/bin/turnserver'
SECRET = 'flag-secret-0123456789'
FILE_SECRET = 'file-secret-which-is-overridden'
REALM = 'netbird.test'

# RFC 5389 §6 and §15, RFC 5766 §14 and §16
MAGIC = 0x2112A442
BINDING_REQUEST = 0x0001
ALLOCATE_REQUEST = 0x0003
ALLOCATE_SUCCESS = 0x0103
ALLOCATE_ERROR = 0x0113
ATTR_USERNAME = 0x0006
ATTR_MESSAGE_INTEGRITY = 0x0008
ATTR_ERROR_CODE = 0x0009
ATTR_REALM = 0x0014
ATTR_NONCE = 0x0015
ATTR_XOR_RELAYED_ADDRESS = 0x0016
ATTR_REQUESTED_TRANSPORT = 0x0019


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def stun_attr(kind, value):
    pad = (4 - len(value) % 4) % 4
    return struct.pack('!HH', kind, len(value)) + value + b'\0' * pad


def stun_message(kind, txid, attrs, key=None):
    """A STUN message; with @key, MESSAGE-INTEGRITY (RFC 5389 §15.4) last."""
    body = b''.join(attrs)
    if key is not None:
        # The length covers the MESSAGE-INTEGRITY attribute (24 bytes)
        # while the HMAC is taken over what precedes it.
        head = struct.pack('!HHI', kind, len(body) + 24, MAGIC) + txid
        mac = hmac.new(key, head + body, hashlib.sha1).digest()
        body += stun_attr(ATTR_MESSAGE_INTEGRITY, mac)
    return struct.pack('!HHI', kind, len(body), MAGIC) + txid + body


def stun_parse(data):
    kind, length, magic = struct.unpack('!HHI', data[:8])
    assert magic == MAGIC, 'not a STUN message'
    txid = data[8:20]
    attrs = {}
    pos = 20
    while pos + 4 <= 20 + length:
        a, alen = struct.unpack('!HH', data[pos:pos + 4])
        attrs.setdefault(a, data[pos + 4:pos + 4 + alen])
        pos += 4 + alen + (4 - alen % 4) % 4
    return kind, txid, attrs


def error_code(attrs):
    raw = attrs.get(ATTR_ERROR_CODE)
    if raw is None:
        return None
    return (raw[2] & 0x7) * 100 + raw[3]


def turn_allocate(port, user, password, timeout=3):
    """An Allocate (RFC 5766 §6) on coturn at 127.0.0.1:@port with the
    long-term credentials @user/@password: the relayed address granted as
    (host, port), or ('error', CODE) when refused."""
    transport = stun_attr(ATTR_REQUESTED_TRANSPORT, bytes([17, 0, 0, 0]))  # UDP
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.connect(('127.0.0.1', port))

        def ask(msg, txid):
            s.send(msg)
            while True:
                kind, got_txid, attrs = stun_parse(s.recv(2048))
                if got_txid == txid:
                    return kind, attrs

        # The first ask, without credentials, brings the realm and a nonce
        # (RFC 5389 §10.2.1).
        txid = os.urandom(12)
        kind, attrs = ask(stun_message(ALLOCATE_REQUEST, txid, [transport]), txid)
        assert kind == ALLOCATE_ERROR and error_code(attrs) == 401, (kind, attrs)
        realm, nonce = attrs[ATTR_REALM], attrs[ATTR_NONCE]

        key = hashlib.md5(b'%s:%s:%s' % (user.encode(), realm, password.encode())).digest()
        txid = os.urandom(12)
        msg = stun_message(ALLOCATE_REQUEST, txid,
                           [transport, stun_attr(ATTR_USERNAME, user.encode()),
                            stun_attr(ATTR_REALM, realm), stun_attr(ATTR_NONCE, nonce)], key)
        kind, attrs = ask(msg, txid)
        if kind != ALLOCATE_SUCCESS:
            return ('error', error_code(attrs))
        raw = attrs[ATTR_XOR_RELAYED_ADDRESS]
        rport = struct.unpack('!H', raw[2:4])[0] ^ (MAGIC >> 16)
        addr = struct.unpack('!I', raw[4:8])[0] ^ MAGIC
        return (socket.inet_ntoa(struct.pack('!I', addr)), rport)


class Coturn:
    """coturn on loopback with the TURN REST API's shared secret."""

    def __init__(self, tmp, secret):
        self.port = free_udp_port()
        self.log_path = os.path.join(tmp, 'coturn.log')
        self.proc = subprocess.Popen(
            [TURNSERVER, '-n', '--listening-ip', '127.0.0.1', '--listening-port', str(self.port),
             '--relay-ip', '127.0.0.1', '--min-port', '49152', '--max-port', '65535',
             '--use-auth-secret', '--static-auth-secret', secret, '--realm', REALM,
             '--no-tcp', '--no-tls', '--no-dtls', '--no-cli', '--no-tcp-relay',
             '--no-multicast-peers', '--simple-log', '--log-file', self.log_path,
             '--userdb', os.path.join(tmp, 'turndb'), '--verbose', '--pidfile', ''],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Up once it answers a Binding request.
        deadline = time.time() + 10
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError('coturn exited with %d' % self.proc.returncode)
                s.sendto(stun_message(BINDING_REQUEST, os.urandom(12), []),
                         ('127.0.0.1', self.port))
                try:
                    s.recv(2048)
                    return
                except (socket.timeout, ConnectionRefusedError):
                    pass
        self.stop()
        raise AssertionError('coturn does not answer on 127.0.0.1:%d' % self.port)

    def log(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def expected_password(secret, user):
    return base64.b64encode(hmac.new(secret.encode(), user.encode(),
                                     hashlib.sha1).digest()).decode()


class ServicesTestCase(DaemonTestCase):
    """A daemon whose flags name a coturn started for the test."""

    config = None
    extra_flags = ()

    def setUp(self):
        self.coturn_tmp = tempfile.mkdtemp(prefix='nb-mgmt-coturn-')
        self.addCleanup(shutil.rmtree, self.coturn_tmp, ignore_errors=True)
        self.coturn = Coturn(self.coturn_tmp, SECRET)
        self.addCleanup(self.coturn.stop)
        self.turn_uris = ['turn:127.0.0.1:%d?transport=udp' % self.coturn.port,
                          'turn:127.0.0.1:%d' % self.coturn.port]
        self.daemon_args = (
            ['--signal-url', 'https://signal.flag.example:10000',
             '--stun-url', 'stun:127.0.0.1:%d' % self.coturn.port,
             '--stun-url', 'stun:stun2.flag.example:3478']
            + [arg for uri in self.turn_uris for arg in ('--turn-url', uri)]
            + list(self.secret_flags()))
        super().setUp()

    def secret_flags(self):
        path = os.path.join(self.coturn_tmp, 'turn-secret')
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(SECRET + '\n')
        return ['--turn-secret-file', path]

    def check_services(self, nb, peer):
        self.assertEqual(nb['signal']['uri'], 'https://signal.flag.example:10000')
        self.assertEqual(nb['signal']['protocol'], 'https')
        self.assertEqual([s['uri'] for s in nb['stuns']],
                         ['stun:127.0.0.1:%d' % self.coturn.port,
                          'stun:stun2.flag.example:3478'])
        turns = nb['turns']
        self.assertEqual([t['host_config']['uri'] for t in turns], self.turn_uris)
        for t in turns:
            expiry, who = t['user'].split(':', 1)
            self.assertEqual(who, peer.public_key)
            self.assertGreater(int(expiry), time.time())
            self.assertEqual(t['password'], expected_password(SECRET, t['user']))
        return turns

    def check_coturn_accepts(self, turns):
        for t in turns:
            got = turn_allocate(self.coturn.port, t['user'], t['password'])
            self.assertEqual(len(got), 2)
            self.assertEqual(got[0], '127.0.0.1', got)
            self.assertGreaterEqual(got[1], 49152)
        # The same user with a password made from the file's secret (which
        # the flags replaced) is refused: coturn does check.
        user = turns[0]['user']
        self.assertEqual(turn_allocate(self.coturn.port, user,
                                       expected_password(FILE_SECRET, user)),
                         ('error', 401))
        log = self.coturn.log()
        granted = [line for line in log.splitlines()
                   if 'ALLOCATE processed, success' in line]
        self.assertEqual(len(granted), len(turns), log)
        for t, line in zip(turns, granted):
            self.assertIn('user <%s>' % t['user'], line)
        self.assertIn('Cannot find credentials of user <%s>' % user, log)


class FlagsOverFile(ServicesTestCase):
    # Everything in the file differs from the flags, which win.
    config = {
        'signal': {'uri': 'https://signal.file.example:443'},
        'stuns': ['stun:stun.file.example:3478'],
        'turn': {'uris': ['turn:turn.file.example:3478'], 'secret': FILE_SECRET},
    }

    def test_login_and_sync_carry_the_flags_services(self):
        a = self.registered_peer('a')
        turns = self.check_services(a.config['netbird_config'], a)
        self.check_services(a.map['netbird_config'], a)
        self.check_coturn_accepts(turns)
        with open(self.daemon.log_path, errors='replace') as f:
            self.assertNotIn(SECRET, f.read())


class FlagsWithoutFile(ServicesTestCase):
    def test_no_configuration_file(self):
        a = self.registered_peer('a')
        self.check_coturn_accepts(self.check_services(a.config['netbird_config'], a))


class SecretOnCommandLine(ServicesTestCase):
    # The file lists TURN servers and no secret; the flag gives the secret.
    config = {'turn': {'uris': ['turn:turn.file.example:3478']}}

    def secret_flags(self):
        return ['--turn-secret', SECRET]

    def test_secret_flag_with_file_uris(self):
        a = self.registered_peer('a')
        self.check_coturn_accepts(self.check_services(a.config['netbird_config'], a))


class BadFlags(unittest.TestCase):
    """Each bad flag: exit 2, a message naming what is wrong, no state."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='nb-mgmt-flags-')
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.data_dir = os.path.join(self.tmp, 'data')

    def run_daemon(self, *args):
        r = subprocess.run([mgmt_harness.DAEMON, '--listen', '127.0.0.1:0',
                            '--data-dir', self.data_dir] + list(args),
                           capture_output=True, text=True, timeout=30)
        self.assertFalse(os.path.exists(self.data_dir), 'a refused start made ' + self.data_dir)
        return r

    def assert_refused(self, args, message):
        r = self.run_daemon(*args)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(message, r.stderr)
        self.assertNotIn('Listening', r.stdout)

    def test_bad_uris(self):
        cases = [
            (['--stun-url', 'turn:stun.example.org:3478'], '“turn:stun.example.org:3478” is not a STUN server URI'),
            (['--stun-url', 'stun:'], 'is not a STUN server URI'),
            (['--stun-url', 'stun:host:3478?transport=udp'], 'is not a STUN server URI'),
            (['--stun-url', 'stun:host:3478', '--stun-url', 'nonsense'], '“nonsense” is not a STUN'),
            (['--turn-url', 'turn:host:99999', '--turn-secret', 'x'], 'is not a TURN server URI'),
            (['--turn-url', 'turn:user@host:3478', '--turn-secret', 'x'], 'is not a TURN server URI'),
            (['--turn-url', 'turns:host:5349?transport=udp', '--turn-secret', 'x'],
             'is not a TURN server URI'),
            (['--signal-url', 'ftp://signal.example.org'], 'is not a Signal server URI'),
            # NetBird's HOST:PORT form is taken (the client tests use it);
            # a port that is not a number is not.
            (['--signal-url', 'signal.example.org:https'], 'is not a Signal server URI'),
            (['--signal-url', 'signal.example.org:'], 'is not a Signal server URI'),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                self.assert_refused(args, message)

    def test_turn_without_secret(self):
        self.assert_refused(['--turn-url', 'turn:turn.example.org:3478'],
                            'TURN servers are given but no secret')

    def test_secret_file_problems(self):
        missing = os.path.join(self.tmp, 'missing')
        self.assert_refused(['--turn-url', 'turn:t:3478', '--turn-secret-file', missing],
                            'Cannot read the TURN secret')
        empty = os.path.join(self.tmp, 'empty')
        with open(empty, 'w') as f:
            f.write('\n')
        self.assert_refused(['--turn-url', 'turn:t:3478', '--turn-secret-file', empty],
                            'is empty')
        self.assert_refused(['--turn-secret', 'a', '--turn-secret-file', empty],
                            'not both')

    def test_good_flags_start(self):
        # The same daemon with good flags does start (the refusals above are
        # the flags', not the command line's).
        r = subprocess.Popen([mgmt_harness.DAEMON, '--listen', '127.0.0.1:0',
                              '--data-dir', self.data_dir,
                              '--stun-url', 'stun:stun.example.org',
                              '--turn-url', 'turns:turn.example.org:5349?transport=tcp',
                              '--turn-secret', 'x',
                              '--signal-url', 'wss://signal.example.org'],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = r.stdout.readline()
            while line and not line.startswith('Listening'):
                line = r.stdout.readline()
            self.assertTrue(line.startswith('Listening'), r.stderr.read() if r.poll() else '')
        finally:
            r.terminate()
            r.wait(10)
            r.stdout.close()
            r.stderr.close()


if __name__ == '__main__':
    main()
