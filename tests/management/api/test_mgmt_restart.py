#!/usr/bin/python3
# test_mgmt_restart.py: first start, restart, and SIGKILL during a burst of writes
#
# SPDX-License-Identifier: BSD-3-Clause

import os
import stat
import sys
import threading
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mgmt_harness import DaemonTestCase, Api, address_ip, main  # noqa: E402


class Restart(DaemonTestCase):

    def test_first_start_writes_credentials_once(self):
        path = os.path.join(self.data_dir, 'initial-credentials.json')
        st = os.stat(path)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertTrue(self.creds['admin_token'].startswith('nbp_'))
        self.assertEqual(len(self.creds['admin_token']), 40)
        self.assertTrue(self.creds['setup_key'])
        self.assertTrue(any(path in line for line in self.daemon.stdout_lines))
        with open(path, 'rb') as f:
            before = f.read()

        self.daemon.stop()
        time.sleep(1.1)  # a rewrite would show in the mtime
        self.daemon.start()
        self.assertFalse(any('initial-credentials' in line for line in self.daemon.stdout_lines))
        with open(path, 'rb') as f:
            self.assertEqual(f.read(), before)
        self.assertEqual(os.stat(path).st_mtime_ns, st.st_mtime_ns)
        # The token still works after the restart.
        self.assertEqual(self.api.get('/peers'), [])

    def test_server_key_persisted_private(self):
        key = self.daemon.server_key().get_public_base64()
        path = os.path.join(self.data_dir, 'server.key')
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.daemon.stop()
        self.daemon.start()
        self.assertEqual(self.daemon.server_key().get_public_base64(), key)

    def test_restart_keeps_peers_and_addresses(self):
        a = self.registered_peer('a')
        b = self.registered_peer('b', connect=False)
        group = self.api.post('/groups', {'name': 'kept', 'peers': []})
        self.daemon.stop()
        self.daemon.start(port=self.daemon.port)
        self.assertEqual(a.login()['peer_config'], a.config['peer_config'])
        self.assertEqual(b.login()['peer_config'], b.config['peer_config'])
        names = [g['name'] for g in self.api.get('/groups')]
        self.assertIn('kept', names)
        self.assertIn(group['id'], [g['id'] for g in self.api.get('/groups')])
        a.close()
        a.connect()
        self.assertEqual([rp['wg_pub_key'] for rp in a.recv_map()['network_map']['remote_peers']],
                         [b.public_key])

    def test_sigkill_during_write_burst_loses_no_acknowledged_change(self):
        acked = []
        stop = threading.Event()
        api = Api(self.daemon, self.creds['admin_token'])

        def writer(prefix):
            i = 0
            session = requests.Session()
            while not stop.is_set():
                name = '%s-%d' % (prefix, i)
                try:
                    r = session.post(self.daemon.url + '/api/groups',
                                     json={'name': name, 'peers': []},
                                     headers=api.headers, timeout=5)
                except requests.RequestException:
                    return
                if r.status_code == 200:
                    acked.append(r.json()['id'])
                i += 1

        threads = [threading.Thread(target=writer, args=('w%d' % n,)) for n in range(3)]
        for t in threads:
            t.start()
        deadline = time.time() + 10
        while len(acked) < 60 and time.time() < deadline:
            time.sleep(0.05)
        self.daemon.kill()
        stop.set()
        for t in threads:
            t.join()
        self.assertGreater(len(acked), 20)

        self.daemon.start()
        ids = {g['id'] for g in self.api.get('/groups')}
        missing = [i for i in acked if i not in ids]
        self.assertEqual(missing, [], '%d of %d acknowledged groups lost' % (len(missing),
                                                                            len(acked)))

    def test_sigkill_leaves_no_peer_marked_connected(self):
        a = self.registered_peer('a')
        pid = self.api.peer_by_ip(address_ip(a.config))['id']
        self.assertTrue(self.api.get('/peers/' + pid)['connected'])
        self.daemon.kill()
        a.close()
        self.daemon.start()
        self.assertFalse(self.api.get('/peers/' + pid)['connected'])

    def test_sigkill_keeps_registered_peers(self):
        a = self.registered_peer('a', connect=False)
        self.daemon.kill()
        self.daemon.start()
        self.assertEqual(a.login()['peer_config'], a.config['peer_config'])
        self.assertIsNotNone(self.api.peer_by_ip(address_ip(a.config)))


if __name__ == '__main__':
    main()
