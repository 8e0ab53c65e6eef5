#!/usr/bin/python3
# test_mgmt_registration.py: registering and logging in peers over the client protocol
#
# SPDX-License-Identifier: BSD-3-Clause

import ipaddress
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mgmt_harness import DaemonTestCase, address_ip, main  # noqa: E402


class Registration(DaemonTestCase):

    def n_peers(self):
        return len(self.api.get('/peers'))

    def test_valid_setup_key_registers(self):
        p = self.peer('alpha')
        config = p.login(self.creds['setup_key'])
        address = config['peer_config']['address']
        iface = ipaddress.ip_interface(address)
        self.assertIn(iface.ip, ipaddress.ip_network('100.64.0.0/10'))
        self.assertTrue(iface.network.subnet_of(ipaddress.ip_network('100.64.0.0/10')))
        self.assertEqual(config['peer_config']['fqdn'], 'alpha.netbird.cloud')
        listed = self.api.peer_by_ip(str(iface.ip))
        self.assertIsNotNone(listed)
        self.assertEqual(listed['hostname'], 'alpha')

    def test_relogin_keeps_address_and_label(self):
        p = self.peer('alpha')
        first = p.login(self.creds['setup_key'])
        again = p.login()  # a known key needs no setup key
        self.assertEqual(first['peer_config'], again['peer_config'])
        with_key = p.login(self.creds['setup_key'])
        self.assertEqual(first['peer_config'], with_key['peer_config'])
        self.assertEqual(self.n_peers(), 1)

    def test_same_hostname_gets_unique_label(self):
        a = self.peer('web').login(self.creds['setup_key'])
        b = self.peer('web').login(self.creds['setup_key'])
        self.assertEqual(a['peer_config']['fqdn'], 'web.netbird.cloud')
        self.assertEqual(b['peer_config']['fqdn'], 'web-1.netbird.cloud')
        self.assertNotEqual(a['peer_config']['address'], b['peer_config']['address'])

    def test_unknown_peer_without_setup_key(self):
        err = self.peer().login(expect=401)
        self.assertEqual(err['code'], 'peer_not_registered')
        self.assertEqual(self.n_peers(), 0)

    def test_unknown_setup_key(self):
        err = self.peer().login('A2C8E62B-38F5-4553-B31E-DD66C696CEBB', expect=401)
        self.assertEqual(err['code'], 'unauthenticated')
        self.assertTrue(err['message'])
        self.assertEqual(self.n_peers(), 0)

    def test_expired_setup_key(self):
        key = self.api.setup_key('short', expires_in=1)
        time.sleep(2.2)
        err = self.peer().login(key['key'], expect=403)
        self.assertEqual(err['code'], 'login_refused')
        self.assertIn('expired', err['message'])
        self.assertEqual(self.n_peers(), 0)

    def test_revoked_setup_key(self):
        key = self.api.setup_key('revoked')
        self.api.put('/setup-keys/' + key['id'], {'revoked': True, 'auto_groups': []})
        err = self.peer().login(key['key'], expect=403)
        self.assertIn('revoked', err['message'])
        self.assertEqual(self.n_peers(), 0)

    def test_exhausted_setup_key(self):
        key = self.api.setup_key('two', usage_limit=2)
        self.peer('a').login(key['key'])
        self.peer('b').login(key['key'])
        err = self.peer('c').login(key['key'], expect=403)
        self.assertEqual(err['code'], 'login_refused')
        self.assertEqual(self.n_peers(), 2)

    def test_one_off_setup_key_reused(self):
        key = self.api.setup_key('once', type='one-off')
        self.peer('a').login(key['key'])
        err = self.peer('b').login(key['key'], expect=403)
        self.assertEqual(err['code'], 'login_refused')
        self.assertEqual(self.n_peers(), 1)

    def test_one_off_key_peer_logs_in_again(self):
        key = self.api.setup_key('once', type='one-off')
        p = self.peer('a')
        first = p.login(key['key'])
        self.assertEqual(p.login()['peer_config'], first['peer_config'])

    def test_auto_groups_applied(self):
        group = self.api.post('/groups', {'name': 'servers', 'peers': []})
        key = self.api.setup_key('grouped', auto_groups=[group['id']])
        config = self.peer('db').login(key['key'])
        listed = self.api.peer_by_ip(address_ip(config))
        self.assertIn(group['id'], [g['id'] for g in listed['groups']])


class Ephemeral(DaemonTestCase):
    config = {'ephemeral_idle_seconds': 2}

    def test_ephemeral_peer_removed_after_disconnect(self):
        key = self.api.setup_key('eph', ephemeral=True)
        eph = self.peer('eph')
        eph_config = eph.login(key['key'])
        eph.connect()
        eph.recv_map()
        stay = self.peer('stay')
        stay_config = stay.login(self.creds['setup_key'])

        time.sleep(3)  # connected: idle time does not count
        self.assertIsNotNone(self.api.peer_by_ip(address_ip(eph_config)))

        eph.close()
        deadline = time.time() + 10
        while time.time() < deadline and self.api.peer_by_ip(address_ip(eph_config)):
            time.sleep(0.5)
        self.assertIsNone(self.api.peer_by_ip(address_ip(eph_config)))
        self.assertIsNotNone(self.api.peer_by_ip(address_ip(stay_config)))



class LoginReplay(DaemonTestCase):
    """Each sealed login request is taken once, within 300 s of the server's
    clock: a captured one cannot register its peer again."""

    def body(self, **extra):
        body = {'setup_key': self.creds['setup_key'], 'meta': {'hostname': 'replayed'}}
        body.update(extra)
        return body

    def log(self):
        """What the daemon logged (info lines go to its stdout); stops it."""
        self.daemon.stop()
        return ''.join(self.daemon.stdout_lines)

    def test_replay_after_delete_refused(self):
        p = self.peer('replayed')
        captured = p.seal_login(self.body())
        r = p.post_login(captured)
        self.assertEqual(r.status_code, 200, r.text)
        listed = self.api.get('/peers')
        self.assertEqual(len(listed), 1)
        self.api.delete('/peers/' + listed[0]['id'])
        self.assertEqual(self.api.get('/peers'), [])

        # Before, this registered the deleted peer again.
        r = p.post_login(captured)
        self.assertEqual(r.status_code, 401, r.text)
        self.assertEqual(r.json()['code'], 'replayed_request')
        self.assertIn('taken once', r.json()['message'])
        self.assertEqual(self.api.get('/peers'), [])

        # The peer itself, with a new request, registers again.
        config = p.login(self.creds['setup_key'])
        self.assertEqual(len(self.api.get('/peers')), 1)
        self.assertTrue(config['peer_config']['address'])
        self.assertIn('refused: the request was replayed', self.log())

    def test_replay_of_a_refused_request_refused(self):
        # Taken once whatever its outcome: a request refused for a revoked
        # key stays refused after the key is made valid again.
        p = self.peer()
        captured = p.seal_login({'meta': {'hostname': 'x'}})
        self.assertEqual(p.post_login(captured).json()['code'], 'peer_not_registered')
        p.login(self.creds['setup_key'])
        self.assertEqual(p.post_login(captured).json()['code'], 'replayed_request')

    def test_timestamp_outside_window_refused(self):
        p = self.peer('clock')
        now = int(time.time())
        for ts, side in ((now - 3600, 'behind'), (now + 3600, 'ahead of'),
                         (now - 301 - 5, 'behind')):
            r = p.login_raw(self.body(timestamp=ts))
            self.assertEqual(r.status_code, 400, r.text)
            self.assertEqual(r.json()['code'], 'stale_request')
            self.assertIn(side, r.json()['message'])
            self.assertIn('300 s', r.json()['message'])
        self.assertEqual(self.api.get('/peers'), [])
        # Within the window, either way, it is taken.
        r = p.login_raw(self.body(timestamp=now - 240))
        self.assertEqual(r.status_code, 200, r.text)
        r = p.login_raw(self.body(timestamp=now + 240))
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(len(self.api.get('/peers')), 1)
        self.assertIn('refused: stale request (-3600 s off)', self.log())

    def test_time_and_nonce_required(self):
        p = self.peer()
        for body in ({'meta': {'hostname': 'x'}},
                     {'meta': {'hostname': 'x'}, 'timestamp': int(time.time())},
                     {'meta': {'hostname': 'x'}, 'nonce': 'A' * 22}):
            r = p.login_raw(dict(body, setup_key=self.creds['setup_key']), fresh=False)
            self.assertEqual(r.status_code, 400, r.text)
            self.assertEqual(r.json()['code'], 'invalid_request')
            self.assertIn('nonce', r.json()['message'])
        for nonce in ('short', 'A' * 65, 'not base64 at all!!!!!'):
            r = p.login_raw(self.body(nonce=nonce))
            self.assertEqual(r.status_code, 400, r.text)
            self.assertIn('nonce', r.json()['message'])
        r = p.login_raw(self.body(timestamp='now'))
        self.assertEqual(r.status_code, 400, r.text)
        self.assertEqual(self.api.get('/peers'), [])


if __name__ == '__main__':
    main()
