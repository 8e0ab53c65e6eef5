#!/usr/bin/python3
# test_mgmt_input.py: names and escapes from peers, and the log lines that quote input
#
# SPDX-License-Identifier: BSD-3-Clause
#
# A real daemon with every log domain open. A peer's hostname must not hold
# a NUL (json-glib would cut "x\u0000y" to "x"), a bidirectional control or
# a line break; a request path with %0A in it must not write a line of its
# own into the log.

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mgmt_harness  # noqa: E402
from mgmt_harness import (Api, Daemon, DaemonTestCase, free_port, main,  # noqa: E402
                          CLOSE_MALFORMED)


class LoggingDaemon(Daemon):
    """The daemon with G_MESSAGES_DEBUG=all; GLib writes debug and info
    lines to stdout and the rest to stderr, and both go to one file the
    test reads."""

    def start(self, port=None):
        self.port = port or free_port()
        env = dict(os.environ, G_MESSAGES_DEBUG='all')
        env.pop('G_DEBUG', None)
        if os.environ.get('NB_DAEMON_OWN_LIBS'):
            env.pop('LD_LIBRARY_PATH', None)
        self.log = open(self.log_path, 'wb')
        self.proc = subprocess.Popen([mgmt_harness.DAEMON, '--listen', '127.0.0.1:%d' % self.port,
                                      '--data-dir', self.data_dir],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 20
        while time.time() < deadline:
            if 'Listening on' in self.text():
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError('daemon did not start:\n' + self.text()[-4000:])

    def stop(self, *args, **kwargs):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.log.close()
        self.proc = None
        return rc

    def text(self):
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', errors='replace')


class LoggedDaemonTestCase(DaemonTestCase):

    def setUp(self):
        if not mgmt_harness.DAEMON or not os.path.exists(mgmt_harness.DAEMON):
            self.fail('give the netbird-management binary as the first argument')
        self.tmp = tempfile.mkdtemp(prefix='nb-mgmt-input-')
        self.data_dir = os.path.join(self.tmp, 'data')
        self.daemon = LoggingDaemon(self.data_dir)
        self.peers = []
        self.addCleanup(self._cleanup)
        self.daemon.start()
        self.creds = self.daemon.credentials()
        self.api = Api(self.daemon, self.creds['admin_token'])

    def _cleanup(self):
        for p in self.peers:
            p.close()
        rc = self.daemon.stop()
        log = self.daemon.text()
        if os.environ.get('NB_KEEP_TEST_DIRS') is None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        # A clean exit: under the sanitizers a leak or an error shows here.
        self.assertEqual(rc, 0, log[-3000:])

    def wait_for_log(self, needle, timeout=5):
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = self.daemon.text()
            if needle in text:
                return text
            time.sleep(0.05)
        self.fail('%r never appeared in the log:\n%s' % (needle, self.daemon.text()[-3000:]))


# GLib's default writer starts each line with "DOMAIN-LEVEL: " or
# "(program:pid): DOMAIN-LEVEL: ".
LINE_START = re.compile(r'^(\(netbird-management:\d+\): )?[\w-]+-(DEBUG|INFO|MESSAGE|WARNING|'
                        r'CRITICAL)(: |\*\*)')


class LogEscaping(LoggedDaemonTestCase):

    def test_path_with_newline_forges_no_line(self):
        headers = {'Authorization': 'Token ' + self.creds['admin_token']}
        forged = 'netbird-mgmt-rest-DEBUG: 00:00:00.000: forged'
        for path in ('/api/peers/x%0A' + forged.replace(' ', '%20'),
                     '/api/nothing%0D%0A' + forged.replace(' ', '%20') + '2',
                     '/api/groups/%E2%80%AEgpj.exe%1B[2J'):
            r = requests.get(self.daemon.url + path, headers=headers, timeout=5)
            self.assertEqual(r.status_code, 404, r.text)
        # Without a token the 401 is logged with the path too.
        r = requests.get(self.daemon.url + '/api/users%0A' + forged.replace(' ', '%20') + '3',
                         timeout=5)
        self.assertEqual(r.status_code, 401, r.text)

        text = self.wait_for_log('/api/users\\n')
        lines = text.splitlines()
        # The requests were logged, each on one line, quoted...
        self.assertTrue(any('GET /api/peers/x\\nnetbird-mgmt-rest-DEBUG' in l for l in lines), text)
        self.assertTrue(any('GET /api/nothing\\r\\nnetbird-mgmt-rest-DEBUG' in l for l in lines),
                        text)
        self.assertTrue(any('/api/groups/\\u{202e}gpj.exe\\x1b[2J' in l for l in lines), text)
        # ...and none of them started a line of its own, nor reordered one.
        self.assertFalse([l for l in lines if 'forged' in l and not LINE_START.match(l)], text)
        self.assertFalse([l for l in lines if l.startswith('netbird-mgmt-rest-DEBUG: 00:00:00.000')],
                         text)
        self.assertNotIn('\u202e', text)
        self.assertNotIn('\x1b', text)


class PeerNames(LoggedDaemonTestCase):

    def assert_login_refused(self, hostname, words):
        p = self.peer()
        r = p.login_raw({'setup_key': self.creds['setup_key'],
                         'meta': {'hostname': hostname, 'go_os': 'linux'}})
        self.assertEqual(r.status_code, 400, r.text)
        self.assertEqual(r.json()['code'], 'invalid_request')
        self.assertIn(words, r.json()['message'])
        return p

    def test_hostname_with_escaped_nul_is_refused(self):
        # json.dumps writes the NUL as \u0000; json-glib alone would register "x".
        self.assert_login_refused('x\u0000y', 'NUL')
        self.assertEqual(self.api.get('/peers'), [])

    def test_hostname_with_bidi_override_is_refused(self):
        self.assert_login_refused('laptop\u202egpj.exe', 'bidirectional control U+202E')
        self.assert_login_refused('a\u2066b', 'bidirectional control U+2066')
        self.assert_login_refused('two\u2028lines', 'line break U+2028')
        self.assert_login_refused('zero\u200bwidth', 'invisible format character U+200B')
        self.assert_login_refused('nel\u0085', 'control character U+0085')
        self.assertEqual(self.api.get('/peers'), [])

    def test_sync_with_bidi_hostname_is_closed_as_malformed(self):
        p = self.registered_peer('fine', connect=False)
        p.connect({'meta': {'hostname': 'evil\u202etxt.exe'}})
        got = p.recv()
        self.assertEqual(got[0], 'close', got)
        self.assertEqual(got[1], CLOSE_MALFORMED, got)
        self.assertIn('U+202E', got[2])
        self.assertEqual([x['name'] for x in self.api.get('/peers')], ['fine'])

    def test_unicode_hostname_registers_as_it_is(self):
        name = "Zoë's laptop 中文"
        p = self.peer()
        p.login(self.creds['setup_key'], hostname=name)
        peers = self.api.get('/peers')
        self.assertEqual([x['name'] for x in peers], [name])
        self.assertEqual(peers[0]['hostname'], name)
        self.wait_for_log('Peer "%s"' % name)


if __name__ == '__main__':
    main()
