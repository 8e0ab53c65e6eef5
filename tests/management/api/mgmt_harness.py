# mgmt_harness.py: a real netbird-management daemon and real peers for tests
#
# SPDX-License-Identifier: BSD-3-Clause
#
# The daemon runs as a child process on a free loopback port with its own
# data directory; peers are NbKeys (through the typelib) that seal their
# messages as a client would. Everything is torn down even when a test fails.

import base64
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

import gi
gi.require_version('Netbird', '1.0')
from gi.repository import GLib, Netbird  # noqa: E402

import requests  # noqa: E402
import websocket  # noqa: E402

DAEMON = os.environ.get('NETBIRD_MANAGEMENT')

CLOSE_MALFORMED = 4000
CLOSE_UNAUTHENTICATED = 4001
CLOSE_LOGIN_REQUIRED = 4003
CLOSE_NOT_REGISTERED = 4004
CLOSE_TIMEOUT = 4008
CLOSE_REPLACED = 4009


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Daemon:
    """One netbird-management process over a data directory."""

    def __init__(self, data_dir, config=None, prefix=(), extra_args=()):
        self.data_dir = data_dir
        self.config = config
        self.prefix = list(prefix)        # e.g. prlimit --nofile=1024:1024
        self.extra_args = list(extra_args)
        self.port = None
        self.proc = None
        self.reader = None
        self.log_path = os.path.join(os.path.dirname(data_dir), 'daemon.log')

    def start(self, port=None):
        self.port = port or free_port()
        args = self.prefix + [DAEMON, '--listen', '127.0.0.1:%d' % self.port,
                              '--data-dir', self.data_dir] + self.extra_args
        if self.config is not None:
            path = os.path.join(os.path.dirname(self.data_dir), 'config.json')
            with open(path, 'w') as f:
                json.dump(self.config, f)
            args += ['--config', path]
        env = dict(os.environ)
        env.setdefault('G_MESSAGES_DEBUG', 'netbird-management')
        env.pop('G_DEBUG', None)
        if os.environ.get('NB_DAEMON_OWN_LIBS'):
            # e.g. a sanitizer build's daemon: its own libnetbird (RUNPATH),
            # not the one the typelib of this process loads.
            env.pop('LD_LIBRARY_PATH', None)
        self.log = open(self.log_path, 'ab')
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, env=env)
        self.stdout_lines = []
        # The daemon prints "Listening on ..." once it accepts connections.
        deadline = time.time() + 20
        while time.time() < deadline:
            line = self.proc.stdout.readline().decode()
            if not line:
                break
            self.stdout_lines.append(line)
            if line.startswith('Listening on'):
                # The daemon's info and debug lines go on to its stdout:
                # keep reading them, or a long test fills the pipe and the
                # daemon blocks in a log call.
                self.reader = threading.Thread(target=self._read_stdout, daemon=True)
                self.reader.start()
                return self
        self.stop()
        raise RuntimeError('daemon did not start: %s\n%s' % (
            ''.join(self.stdout_lines), open(self.log_path, errors='replace').read()[-4000:]))

    def _read_stdout(self):
        for raw in iter(self.proc.stdout.readline, b''):
            self.stdout_lines.append(raw.decode(errors='replace'))

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.port

    @property
    def ws_url(self):
        return 'ws://127.0.0.1:%d/management/v1/sync' % self.port

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        if self.reader is not None:
            self.reader.join(10)
            self.reader = None
        self.proc.stdout.close()
        self.log.close()
        self.proc = None
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)

    def credentials(self):
        with open(os.path.join(self.data_dir, 'initial-credentials.json')) as f:
            return json.load(f)

    def server_key(self):
        r = requests.get(self.url + '/management/v1/server-key', timeout=5)
        r.raise_for_status()
        return Netbird.Key.new_public_from_base64(r.json()['key'])


def seal(sender, recipient, data):
    if isinstance(data, str):
        data = data.encode()
    return Netbird.envelope_seal(sender, recipient, GLib.Bytes.new(data)).get_data()


def open_sealed(recipient, data):
    plain, sender = Netbird.envelope_open(recipient, GLib.Bytes.new(data))
    return plain.get_data(), sender


class Peer:
    """A peer: its own key, login and a sync channel, as the client does."""

    def __init__(self, daemon, hostname='peer'):
        self.daemon = daemon
        self.key = Netbird.Key.generate()
        self.hostname = hostname
        self.ws = None

    @property
    def public_key(self):
        return self.key.get_public_base64()

    def seal_login(self, body, server_key=None, sender=None, fresh=True):
        """A sealed login request; @fresh adds the time and a new nonce
        unless @body has them (the server takes each request once)."""
        if fresh and isinstance(body, dict):
            body = dict(body)
            body.setdefault('timestamp', int(time.time()))
            body.setdefault('nonce', base64.urlsafe_b64encode(os.urandom(16)).decode())
        server_key = server_key or self.daemon.server_key()
        return seal(sender or self.key, server_key, json.dumps(body))

    def post_login(self, sealed):
        return requests.post(self.daemon.url + '/management/v1/login', data=sealed,
                             headers={'Content-Type': 'application/octet-stream'}, timeout=10)

    def login_raw(self, body, server_key=None, sender=None, fresh=True):
        return self.post_login(self.seal_login(body, server_key, sender, fresh))

    def login(self, setup_key=None, expect=200, **meta):
        meta.setdefault('hostname', self.hostname)
        meta.setdefault('go_os', 'linux')
        body = {'meta': meta}
        if setup_key is not None:
            body['setup_key'] = setup_key
        r = self.login_raw(body)
        if r.status_code != expect:
            raise AssertionError('login: expected %d, got %d: %s' % (expect, r.status_code, r.text))
        if r.status_code != 200:
            return r.json()
        plain, sender = open_sealed(self.key, r.content)
        assert sender.get_public_base64() == self.daemon.server_key().get_public_base64()
        return json.loads(plain)

    def connect(self, request=None, sender=None, server_key=None):
        self.ws = websocket.create_connection(self.daemon.ws_url, timeout=5)
        body = request if request is not None else {'meta': {'hostname': self.hostname}}
        if isinstance(body, (bytes, bytearray)):
            self.ws.send_binary(bytes(body))
        else:
            self.ws.send_binary(seal(sender or self.key, server_key or self.daemon.server_key(),
                                     json.dumps(body)))
        return self

    def recv(self, timeout=5):
        """('map', dict) for a pushed map, ('close', code, reason) when closed,
        None when nothing came within @timeout."""
        self.ws.settimeout(timeout)
        while True:
            try:
                opcode, data = self.ws.recv_data(control_frame=True)
            except websocket.WebSocketTimeoutException:
                return None
            except (websocket.WebSocketConnectionClosedException, ConnectionError):
                return ('close', None, '')
            if opcode == websocket.ABNF.OPCODE_BINARY:
                plain, sender = open_sealed(self.key, data)
                return ('map', json.loads(plain))
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                code = struct.unpack('!H', data[:2])[0] if len(data) >= 2 else None
                return ('close', code, data[2:].decode(errors='replace'))
            # pings and pongs: keep reading

    def recv_map(self, timeout=5):
        got = self.recv(timeout)
        if got is None or got[0] != 'map':
            raise AssertionError('expected a network map, got %r' % (got,))
        return got[1]

    def close(self):
        if self.ws is not None:
            try:
                self.ws.close()
            except Exception:
                pass
            self.ws = None


class Api:
    """The REST API with the admin token."""

    def __init__(self, daemon, token):
        self.daemon = daemon
        self.headers = {'Authorization': 'Token ' + token, 'Accept': 'application/json'}

    def call(self, method, path, body=None, expect=None):
        r = requests.request(method, self.daemon.url + '/api' + path, json=body,
                             headers=self.headers, timeout=10)
        if expect is not None and r.status_code != expect:
            raise AssertionError('%s %s: expected %d, got %d: %s' % (
                method, path, expect, r.status_code, r.text))
        return r.json() if r.content else None

    def get(self, path):
        return self.call('GET', path, expect=200)

    def post(self, path, body):
        return self.call('POST', path, body, expect=200)

    def put(self, path, body):
        return self.call('PUT', path, body, expect=200)

    def delete(self, path):
        return self.call('DELETE', path, expect=200)

    def setup_key(self, name='key', type='reusable', **extra):
        body = {'name': name, 'type': type, 'expires_in': extra.pop('expires_in', 86400),
                'auto_groups': extra.pop('auto_groups', []),
                'usage_limit': extra.pop('usage_limit', 0),
                'ephemeral': extra.pop('ephemeral', False)}
        return self.post('/setup-keys', body)

    def peer_by_ip(self, ip):
        for p in self.get('/peers'):
            if p.get('ip') == ip:
                return p
        return None


class DaemonTestCase(unittest.TestCase):
    """Each test gets a fresh data directory and a running daemon."""

    config = None
    daemon_prefix = ()
    daemon_args = ()

    def setUp(self):
        # main() has checked it; a test run by other means must not pass
        # without a daemon either.
        if not daemon_usable(DAEMON):
            self.fail('no netbird-management daemon to test (got %r)' % DAEMON)
        self.tmp = tempfile.mkdtemp(prefix='nb-mgmt-test-')
        self.data_dir = os.path.join(self.tmp, 'data')
        self.daemon = Daemon(self.data_dir, self.config, self.daemon_prefix, self.daemon_args)
        self.peers = []
        self.addCleanup(self._cleanup)
        self.daemon.start()
        self.creds = self.daemon.credentials()
        self.api = Api(self.daemon, self.creds['admin_token'])

    def _cleanup(self):
        for p in self.peers:
            p.close()
        self.daemon.stop()
        if os.environ.get('NB_KEEP_TEST_DIRS') is None:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def peer(self, hostname='peer'):
        p = Peer(self.daemon, hostname)
        self.peers.append(p)
        return p

    def registered_peer(self, hostname='peer', connect=True):
        p = self.peer(hostname)
        p.config = p.login(self.creds['setup_key'])
        if connect:
            p.connect()
            p.map = p.recv_map()
        return p


def remote_keys(sync):
    return sorted(rp['wg_pub_key'] for rp in sync['network_map'].get('remote_peers', []))


def address_ip(config):
    """The peer's IP from a login response."""
    return config['peer_config']['address'].split('/')[0]


def daemon_usable(path):
    return bool(path) and os.path.isfile(path) and os.access(path, os.X_OK)


def main():
    """Runs the suite against the daemon named by the first argument (as
    meson and ./dev pass it) or $NETBIRD_MANAGEMENT. Without one, nothing
    could run: that is an error (exit 2), not a suite of skipped tests."""
    global DAEMON
    import sys
    if len(sys.argv) > 1 and not sys.argv[1].startswith('-'):
        DAEMON = sys.argv.pop(1)
    if not daemon_usable(DAEMON):
        sys.stderr.write('%s: no netbird-management daemon to test: %s\n'
                         'usage: %s NETBIRD_MANAGEMENT [unittest options] '
                         '(or set NETBIRD_MANAGEMENT)\n'
                         % (os.path.basename(sys.argv[0]),
                            '%r is not an executable file' % DAEMON if DAEMON
                            else 'none given', sys.argv[0]))
        sys.exit(2)
    unittest.main(verbosity=2)
