#!/usr/bin/python3
# test_mgmt_hostile.py: unsealed, forged, malformed and oversize client messages
#
# SPDX-License-Identifier: BSD-3-Clause

import json
import os
import socket
import sys

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mgmt_harness import (DaemonTestCase, Netbird, seal, address_ip, main,  # noqa: E402
                          CLOSE_MALFORMED, CLOSE_UNAUTHENTICATED, CLOSE_NOT_REGISTERED)

LOGIN = '/management/v1/login'


class HostileLogin(DaemonTestCase):

    def post(self, data, **headers):
        headers.setdefault('Content-Type', 'application/octet-stream')
        return requests.post(self.daemon.url + LOGIN, data=data, headers=headers, timeout=10)

    def assert_refused(self, r, status, code):
        self.assertEqual(r.status_code, status, r.text)
        body = r.json()
        self.assertEqual(body['code'], code)
        self.assertTrue(body['message'])
        self.assertEqual(self.api.get('/peers'), [])  # nothing changed

    def good_body(self):
        return json.dumps({'setup_key': self.creds['setup_key'], 'meta': {'hostname': 'h'}})

    def test_unsealed_json(self):
        self.assert_refused(self.post(self.good_body()), 400, 'not_sealed')

    def test_empty_body(self):
        self.assert_refused(self.post(b''), 400, 'not_sealed')

    def test_sealed_to_another_key(self):
        p = self.peer()
        other = Netbird.Key.generate()
        self.assert_refused(self.post(seal(p.key, other, self.good_body())), 400,
                            'wrong_recipient')

    def test_forged_sender(self):
        # Mallory seals with her key but names the victim as sender.
        victim = Netbird.Key.generate()
        mallory = Netbird.Key.generate()
        env = bytearray(seal(mallory, self.daemon.server_key(), self.good_body()))
        env[1:33] = victim.get_public_data()
        self.assert_refused(self.post(bytes(env)), 401, 'authentication_failed')

    def test_tampered_ciphertext(self):
        p = self.peer()
        env = bytearray(seal(p.key, self.daemon.server_key(), self.good_body()))
        env[-1] ^= 1
        self.assert_refused(self.post(bytes(env)), 401, 'authentication_failed')

    def test_malformed_json(self):
        p = self.peer()
        for text in ['{', 'null', '[]', '{"meta": {"hostname": 7}}', '{"meta": "x"}',
                     '{"setup_key": 5, "meta": {"hostname": "h"}}', '\x00\x01']:
            r = self.post(seal(p.key, self.daemon.server_key(), text))
            self.assert_refused(r, 400, 'invalid_request')

    def test_oversize_body_refused_at_headers(self):
        r = self.post(b'x' * (200 * 1024))
        self.assertEqual(r.status_code, 413)
        self.assertEqual(r.json()['code'], 'too_large')

    def test_oversize_sealed_field(self):
        p = self.peer()
        body = json.dumps({'setup_key': self.creds['setup_key'],
                           'meta': {'hostname': 'h' * 5000}})
        r = self.post(seal(p.key, self.daemon.server_key(), body))
        self.assert_refused(r, 400, 'invalid_request')
        self.assertIn('hostname', r.json()['message'])

    def test_chunked_body_needs_length(self):
        def chunks():
            yield b'abc'
        r = requests.post(self.daemon.url + LOGIN, data=chunks(), timeout=10)
        self.assertEqual(r.status_code, 411)

    def test_sql_metacharacters_in_hostname(self):
        name = "x'; DROP TABLE peers; --"
        p = self.peer(name)
        config = p.login(self.creds['setup_key'])
        listed = self.api.peer_by_ip(address_ip(config))
        self.assertEqual(listed['hostname'], name)
        self.assertEqual(len(self.api.get('/peers')), 1)

    def test_wrong_method_and_path(self):
        r = requests.get(self.daemon.url + LOGIN, timeout=5)
        self.assertEqual(r.status_code, 405)
        r = requests.get(self.daemon.url + '/management/v1/nothing', timeout=5)
        self.assertEqual(r.status_code, 404)
        self.assertEqual(r.json()['code'], 'not_found')

    def test_closed_connections_are_released(self):
        import time
        fd_dir = '/proc/%d/fd' % self.daemon.proc.pid
        before = len(os.listdir(fd_dir))
        for _ in range(100):  # a new connection each, closed by the client
            requests.get(self.daemon.url + '/management/v1/server-key', timeout=5)
        deadline = time.time() + 5
        while time.time() < deadline and len(os.listdir(fd_dir)) > before + 5:
            time.sleep(0.1)
        self.assertLessEqual(len(os.listdir(fd_dir)), before + 5)

    def test_garbage_on_the_socket(self):
        with socket.create_connection(('127.0.0.1', self.daemon.port), timeout=5) as s:
            s.sendall(b'\x16\x03\x01\x02\x00' + os.urandom(512) + b'\r\n\r\n')
            try:
                s.recv(1024)
            except OSError:
                pass
        # The server is still there.
        self.assertEqual(requests.get(self.daemon.url + '/management/v1/server-key',
                                      timeout=5).status_code, 200)


class HostileSync(DaemonTestCase):

    def assert_closed(self, p, code):
        got = p.recv(timeout=5)
        self.assertIsNotNone(got)
        self.assertEqual(got[0], 'close', got)
        self.assertEqual(got[1], code, got)

    def test_unsealed_request(self):
        p = self.registered_peer('a', connect=False)
        p.connect(request=json.dumps({'meta': {'hostname': 'a'}}).encode())
        self.assert_closed(p, CLOSE_MALFORMED)

    def test_sealed_to_another_key(self):
        p = self.registered_peer('a', connect=False)
        p.connect(server_key=Netbird.Key.generate())
        self.assert_closed(p, CLOSE_UNAUTHENTICATED)

    def test_forged_sender(self):
        victim = self.registered_peer('victim', connect=False)
        mallory = self.peer('mallory')
        env = bytearray(seal(mallory.key, self.daemon.server_key(), '{}'))
        env[1:33] = victim.key.get_public_data()
        mallory.connect(request=bytes(env))
        self.assert_closed(mallory, CLOSE_UNAUTHENTICATED)

    def test_malformed_sync_request(self):
        p = self.registered_peer('a', connect=False)
        p.connect(request=b'placeholder')
        p.close()
        for text in ['{', '[]', '{"meta": 5}']:
            p.ws = None
            p.connect(request=seal(p.key, self.daemon.server_key(), text))
            self.assert_closed(p, CLOSE_MALFORMED)
            p.close()

    def test_unregistered_peer(self):
        p = self.peer('nobody')
        p.connect()
        self.assert_closed(p, CLOSE_NOT_REGISTERED)

    def test_oversize_message(self):
        p = self.registered_peer('a', connect=False)
        p.connect(request=b'x' * (200 * 1024))
        # libsoup drops an oversize frame's connection without a close frame.
        got = p.recv(timeout=5)
        self.assertEqual(got[0], 'close', got)
        self.assertIn(got[1], (None, 1009), got)
        self.assertEqual(requests.get(self.daemon.url + '/management/v1/server-key',
                                      timeout=5).status_code, 200)

    def test_text_frame(self):
        p = self.registered_peer('a', connect=False)
        import websocket
        p.ws = websocket.create_connection(self.daemon.ws_url, timeout=5)
        p.ws.send('hello')
        self.assert_closed(p, 1003)

    def test_later_message_from_another_key(self):
        p = self.registered_peer('a')
        other = Netbird.Key.generate()
        p.ws.send_binary(seal(other, self.daemon.server_key(), '{}'))
        self.assert_closed(p, CLOSE_UNAUTHENTICATED)

    def test_plain_get_on_sync_path(self):
        r = requests.get(self.daemon.url + '/management/v1/sync', timeout=5)
        self.assertGreaterEqual(r.status_code, 400)
        self.assertLess(r.status_code, 500)


if __name__ == '__main__':
    main()
