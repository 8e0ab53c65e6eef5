#!/usr/bin/python3
# test_relay_management.py: netbird-management issues relay tokens
# (--relay-url, --relay-secret-file) that a real netbird-relay sharing the
# secret accepts, at login and with each map on the sync channel; a relay
# with another secret refuses them, and one peer's token does not admit
# another peer.
#
# SPDX-License-Identifier: BSD-3-Clause

import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'management', 'api'))
import mgmt_harness  # noqa: E402
from mgmt_harness import DaemonTestCase, GLib, Netbird, main  # noqa: E402

RELAY = os.environ.get('NETBIRD_RELAY')
SECRET = 'shared-relay-secret-0123456789'

CLOSE_TOKEN_INVALID = 4001
CLOSE_TOKEN_OTHER_PEER = 4003


class Relay:
    """netbird-relay on loopback with a secret from a file."""

    def __init__(self, tmp, secret):
        path = os.path.join(tmp, 'relay-secret-%d' % id(self))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(secret + '\n')
        self.log = open(os.path.join(tmp, 'relay-%d.log' % id(self)), 'w+')
        self.proc = subprocess.Popen(
            [RELAY, '--listen', '127.0.0.1:0', '--metrics', '127.0.0.1:0',
             '--auth-secret-file', path],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.address = self.metrics = None
        while self.address is None or self.metrics is None:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError('netbird-relay exited before it listened')
            if line.startswith('Listening on '):
                self.address = line.split()[-1]
            elif line.startswith('Metrics on '):
                self.metrics = line.split()[-1]
        self.url = 'rel://' + self.address

    def metric(self, series):
        import requests
        text = requests.get(self.metrics, timeout=5).text
        for line in text.splitlines():
            if line.startswith(series + ' '):
                return int(line.split()[-1])
        raise AssertionError('no %s in the metrics' % series)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.seek(0)
        log = self.log.read()
        self.log.close()
        assert 'CRITICAL' not in log and 'WARNING' not in log, log


def wait_until(predicate, seconds=10):
    context = GLib.MainContext.default()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        if not context.iteration(False):
            time.sleep(0.01)
    return predicate()


def relay_client(url, key, relay_config):
    client = Netbird.RelayClient.new(url, key)
    client.set_token(relay_config['token_payload'], relay_config['token_signature'])
    client.start()
    return client


class TokensFromManagement(DaemonTestCase):
    def setUp(self):
        import tempfile
        import shutil
        self.relay_tmp = tempfile.mkdtemp(prefix='nb-relay-mgmt-')
        self.addCleanup(shutil.rmtree, self.relay_tmp, ignore_errors=True)
        self.relay = Relay(self.relay_tmp, SECRET)
        self.addCleanup(self.relay.stop)
        self.other_relay = Relay(self.relay_tmp, 'not-the-management-secret')
        self.addCleanup(self.other_relay.stop)
        path = os.path.join(self.relay_tmp, 'mgmt-relay-secret')
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(SECRET + '\n')
        self.daemon_args = ['--relay-url', self.relay.url, '--relay-secret-file', path]
        super().setUp()

    def check_relay_config(self, relay, peer):
        self.assertEqual(relay['urls'], [self.relay.url])
        expiry, key = relay['token_payload'].split(':', 1)
        self.assertEqual(key, peer.public_key)
        self.assertGreater(int(expiry), time.time())

    def test_tokens_admit_their_peer(self):
        a = self.registered_peer('a')
        b = self.registered_peer('b')
        login_relay = a.config['netbird_config']['relay']
        self.check_relay_config(login_relay, a)
        map_relay = b.map['netbird_config']['relay']
        self.check_relay_config(map_relay, b)

        # a with its login token, b with the one of its first map.
        ca = relay_client(self.relay.url, a.key, login_relay)
        self.addCleanup(ca.stop)
        cb = relay_client(self.relay.url, b.key, map_relay)
        self.addCleanup(cb.stop)
        connected = Netbird.RelayClientState.CONNECTED
        self.assertTrue(wait_until(lambda: ca.get_state() == connected and
                                   cb.get_state() == connected))
        online = []
        ca.connect('peer-online', lambda client, key: online.append(key.get_public_base64()))
        ca.watch_peer(b.key)
        self.assertTrue(wait_until(lambda: online == [b.public_key]))
        self.assertEqual(self.relay.metric('netbird_relay_authenticated_total'), 2)
        self.assertEqual(self.relay.metric('netbird_relay_peers'), 2)

    def test_refused_by_another_relay_and_for_another_peer(self):
        a = self.registered_peer('a')
        b = self.registered_peer('b')
        token = a.config['netbird_config']['relay']

        # A relay that does not share Management's secret.
        wrong = relay_client(self.other_relay.url, a.key, token)
        self.addCleanup(wrong.stop)
        self.assertTrue(wait_until(lambda: wrong.get_close_code() == CLOSE_TOKEN_INVALID))
        self.assertEqual(wrong.get_n_connects(), 0)

        # a's token on b's connection.
        stolen = relay_client(self.relay.url, b.key, token)
        self.addCleanup(stolen.stop)
        self.assertTrue(wait_until(lambda: stolen.get_close_code() == CLOSE_TOKEN_OTHER_PEER))
        self.assertEqual(stolen.get_n_connects(), 0)
        self.assertEqual(
            self.relay.metric('netbird_relay_closed_total{reason="token_other_peer"}'), 1)
        self.assertEqual(
            self.other_relay.metric('netbird_relay_closed_total{reason="token_invalid"}'), 1)


class AddressesFromFile(DaemonTestCase):
    """The configuration file's relay.addresses and secret, no flags."""

    def setUp(self):
        import tempfile
        import shutil
        self.relay_tmp = tempfile.mkdtemp(prefix='nb-relay-mgmt-')
        self.addCleanup(shutil.rmtree, self.relay_tmp, ignore_errors=True)
        self.relay = Relay(self.relay_tmp, SECRET)
        self.addCleanup(self.relay.stop)
        self.config = {'relay': {'addresses': [self.relay.url], 'secret': SECRET,
                                 'credentials_ttl': 600}}
        super().setUp()

    def test_file_token_admits_its_peer(self):
        a = self.registered_peer('a')
        relay = a.map['netbird_config']['relay']
        self.assertEqual(relay['urls'], [self.relay.url])
        expiry = int(relay['token_payload'].split(':', 1)[0])
        self.assertLessEqual(expiry, time.time() + 600 + 5)
        client = relay_client(self.relay.url, a.key, relay)
        self.addCleanup(client.stop)
        self.assertTrue(wait_until(
            lambda: client.get_state() == Netbird.RelayClientState.CONNECTED))
        self.assertEqual(self.relay.metric('netbird_relay_authenticated_total'), 1)


class BadRelayFlags(unittest.TestCase):
    """Each bad relay flag: exit 2 and a message naming what is wrong."""

    def run_daemon(self, *args):
        import tempfile
        import shutil
        tmp = tempfile.mkdtemp(prefix='nb-relay-flags-')
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        data_dir = os.path.join(tmp, 'data')
        r = subprocess.run([mgmt_harness.DAEMON, '--listen', '127.0.0.1:0',
                            '--data-dir', data_dir] + list(args),
                           capture_output=True, text=True, timeout=30)
        self.assertFalse(os.path.exists(data_dir), 'a refused start made ' + data_dir)
        return r

    def assert_refused(self, args, message):
        r = self.run_daemon(*args)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(message, r.stderr)

    def test_bad_flags(self):
        cases = [
            (['--relay-url', 'https://relay.example.org:443', '--relay-secret', 'x'],
             'is not a Relay server URI'),
            (['--relay-url', 'rels://relay.example.org', '--relay-secret', 'x'],
             'is not a Relay server URI'),
            (['--relay-url', 'rels://relay.example.org:443/x?y', '--relay-secret', 'x'],
             'is not a Relay server URI'),
            (['--relay-url', 'rels://relay.example.org:443'],
             'Relays are given but no secret'),
            (['--relay-secret', 'a', '--relay-secret-file', '/nonexistent'], 'not both'),
            (['--relay-url', 'rel://r:1', '--relay-secret-file', '/nonexistent/secret'],
             'Cannot read the relay secret'),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                self.assert_refused(args, message)


if __name__ == '__main__':
    if not RELAY or not os.access(RELAY, os.X_OK):
        sys.stderr.write('NETBIRD_RELAY is not an executable: run through meson\n')
        sys.exit(2)
    main()
