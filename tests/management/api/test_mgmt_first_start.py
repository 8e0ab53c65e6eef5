#!/usr/bin/python3
# test_mgmt_first_start.py: the first start is all or nothing, lost
# credentials are recoverable, and the data files are the owner's only
#
# SPDX-License-Identifier: BSD-3-Clause

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mgmt_harness  # noqa: E402
from mgmt_harness import Api, Daemon, DaemonTestCase, Peer, main  # noqa: E402

CREDENTIALS = 'initial-credentials.json'


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def daemon_env():
    env = dict(os.environ)
    if os.environ.get('NB_DAEMON_OWN_LIBS'):
        env.pop('LD_LIBRARY_PATH', None)  # as the harness's Daemon does
    return env


def n_accounts(data_dir):
    db = sqlite3.connect('file:%s?mode=ro' % os.path.join(data_dir, 'management.db'), uri=True)
    try:
        return db.execute('SELECT count(*) FROM accounts').fetchone()[0]
    finally:
        db.close()


class FirstStart(unittest.TestCase):
    """Starts that fail half-way, then one that succeeds."""

    def setUp(self):
        if not mgmt_harness.DAEMON or not os.path.exists(mgmt_harness.DAEMON):
            self.fail('no netbird-management daemon to test (got %r)' % mgmt_harness.DAEMON)
        self.tmp = tempfile.mkdtemp(prefix='nb-mgmt-first-')
        self.data_dir = os.path.join(self.tmp, 'data')
        self.daemon = None
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        if self.daemon is not None:
            self.daemon.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_daemon(self, *args, config=None, env=None):
        """Runs the daemon to its end (a start that fails, or a command)."""
        argv = [mgmt_harness.DAEMON, '--data-dir', self.data_dir, '--listen', '127.0.0.1:0']
        if config is not None:
            path = os.path.join(self.tmp, 'config.json')
            with open(path, 'w') as f:
                json.dump(config, f)
            argv += ['--config', path]
        full_env = daemon_env()
        full_env.update(env or {})
        return subprocess.run(argv + list(args), capture_output=True, text=True, timeout=30,
                              env=full_env)

    def start_and_check(self):
        """A start that succeeds: its credentials authenticate and register."""
        self.daemon = Daemon(self.data_dir).start()
        self.assertTrue(any(CREDENTIALS in line for line in self.daemon.stdout_lines),
                        self.daemon.stdout_lines)
        creds = self.daemon.credentials()
        self.assertEqual(mode(os.path.join(self.data_dir, CREDENTIALS)), 0o600)
        api = Api(self.daemon, creds['admin_token'])
        users = api.get('/users')
        self.assertEqual([u['id'] for u in users], [creds['user_id']])
        self.assertEqual(users[0]['role'], 'owner')
        peer = Peer(self.daemon, 'first')
        peer.login(creds['setup_key'])
        self.assertEqual(len(api.get('/peers')), 1)
        self.assertEqual(n_accounts(self.data_dir), 1)
        return creds

    def test_invalid_bootstrap_setup_key_stores_nothing(self):
        # The configured key fails validation after the account and token
        # were made: before, they stayed, and no later start wrote any
        # credentials.
        r = self.run_daemon(config={'bootstrap': {'setup_key': 'short'}})
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn('setup key must be 8 to 128', r.stderr)
        self.assertEqual(n_accounts(self.data_dir), 0)
        self.assertFalse(os.path.exists(os.path.join(self.data_dir, CREDENTIALS)))
        self.start_and_check()

    def test_credentials_not_writable_stores_nothing(self):
        # A full disk or an unwritable file at the credentials step: here a
        # folder in the way of the file being written.
        os.makedirs(os.path.join(self.data_dir, CREDENTIALS + '.tmp'))
        r = self.run_daemon()
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn('Cannot create the initial account', r.stderr)
        self.assertEqual(n_accounts(self.data_dir), 0)
        os.rmdir(os.path.join(self.data_dir, CREDENTIALS + '.tmp'))
        self.start_and_check()

    def test_crash_between_commit_and_credentials_file(self):
        r = self.run_daemon(env={'NB_MANAGEMENT_TEST_CRASH': 'bootstrap-commit'})
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('stopping between the commit and the rename', r.stderr)
        self.assertEqual(n_accounts(self.data_dir), 1)
        self.assertFalse(os.path.exists(os.path.join(self.data_dir, CREDENTIALS)))
        self.assertTrue(os.path.exists(os.path.join(self.data_dir, CREDENTIALS + '.tmp')))
        self.start_and_check()
        with open(self.daemon.log_path, errors='replace') as f:
            self.assertIn('finished: account', f.read())
        self.assertFalse(os.path.exists(os.path.join(self.data_dir, CREDENTIALS + '.tmp')))

    def test_crash_before_commit_starts_again(self):
        # A .tmp file without its account (the process died before the
        # commit) is removed, and the first start runs afresh.
        os.makedirs(self.data_dir, mode=0o700)
        with open(os.path.join(self.data_dir, CREDENTIALS + '.tmp'), 'w') as f:
            json.dump({'account_id': 'never-committed', 'admin_token': 'x'}, f)
        self.start_and_check()

    def test_reset_admin_token_without_store(self):
        r = self.run_daemon('--reset-admin-token')
        self.assertEqual(r.returncode, 1)
        self.assertIn('start the server once', r.stderr)
        self.assertEqual(r.stdout, '')
        self.assertFalse(os.path.exists(os.path.join(self.data_dir, 'management.db')))


class ResetAdminToken(DaemonTestCase):

    def reset(self):
        r = subprocess.run([mgmt_harness.DAEMON, '--data-dir', self.data_dir,
                            '--reset-admin-token'], capture_output=True, text=True, timeout=30,
                           env=daemon_env())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(self.creds['account_id'], r.stderr)
        return r.stdout.strip()

    def test_lost_credentials_recovered(self):
        os.unlink(os.path.join(self.data_dir, CREDENTIALS))
        # Beside the running server, as an operator would.
        token = self.reset()
        self.assertTrue(token.startswith('nbp_'), token)
        self.assertEqual(len(token), 40)
        api = Api(self.daemon, token)
        self.assertEqual(api.get('/users')[0]['id'], self.creds['user_id'])
        api.post('/groups', {'name': 'after-reset', 'peers': []})
        # Listed, and the old token still works.
        names = [t['name'] for t in api.get('/users/%s/tokens' % self.creds['user_id'])]
        self.assertIn('bootstrap', names)
        self.assertTrue(any(n.startswith('admin token reset') for n in names), names)
        self.assertEqual(len(self.api.get('/groups')), 2)
        # A second reset is another token.
        self.assertNotEqual(self.reset(), token)
        # And after a restart too.
        self.daemon.stop()
        self.daemon.start()
        self.assertEqual(api.get('/users')[0]['role'], 'owner')
        # One character changed (a token may end in 'x' already).
        wrong = token[:-1] + ('y' if token.endswith('x') else 'x')
        r = requests.get(self.daemon.url + '/api/users',
                         headers={'Authorization': 'Token ' + wrong}, timeout=5)
        self.assertEqual(r.status_code, 401)


class FileModes(DaemonTestCase):

    def store_files(self):
        base = os.path.join(self.data_dir, 'management.db')
        return [p for p in (base, base + '-wal', base + '-shm') if os.path.exists(p)]

    def test_files_private_after_start_and_writes(self):
        self.assertEqual(mode(self.data_dir), 0o700)
        files = self.store_files()
        self.assertEqual(len(files), 3, files)  # WAL and SHM exist while the server runs
        for p in files:
            self.assertEqual(mode(p), 0o600, p)
        for i in range(5):
            self.api.post('/groups', {'name': 'g%d' % i, 'peers': []})
        self.registered_peer('p')
        for p in self.store_files():
            self.assertEqual(mode(p), 0o600, p)
        for name in ('server.key', CREDENTIALS):
            self.assertEqual(mode(os.path.join(self.data_dir, name)), 0o600)

    def test_existing_open_files_and_folder_tightened(self):
        self.daemon.stop()
        os.chmod(self.data_dir, 0o755)
        for p in self.store_files():
            os.chmod(p, 0o644)
        self.daemon.start()
        self.assertEqual(mode(self.data_dir), 0o700)
        for p in self.store_files():
            self.assertEqual(mode(p), 0o600, p)
        with open(self.daemon.log_path, errors='replace') as f:
            log = f.read()
        self.assertIn('Made the data directory %s private: mode 0755 -> 0700' % self.data_dir,
                      log)
        self.assertIn('management.db private: mode 0644 -> 0600', log)
        self.assertEqual(self.api.get('/peers'), [])


if __name__ == '__main__':
    main()
