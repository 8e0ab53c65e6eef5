#!/usr/bin/python3
# test_mgmt_abuse.py: the real netbird-management under abuse (issue 11)
#
# SPDX-License-Identifier: BSD-3-Clause
#
# Each test reproduces an audit finding against the daemon and prints the
# figures it measured: the time to recover from descriptor exhaustion, the
# server's RSS before and after a gigabyte announced and a stalled sync
# reader, the answer to oversized headers.

import json
import re
import resource
import socket
import struct
import time

import websocket

import mgmt_harness
from mgmt_harness import DaemonTestCase, free_port, main, seal  # noqa: F401

GIB = 1024 * 1024 * 1024
CLOSE_BACKLOG = 4029


def rss_kb(pid):
    with open('/proc/%d/status' % pid) as f:
        return int(re.search(r'VmRSS:\s+(\d+)', f.read()).group(1))


def under_asan(pid):
    with open('/proc/%d/maps' % pid) as f:
        return 'libasan' in f.read()


def raw_request(port, head, body_prefix=b'', timeout=10.0):
    """Sends @head (and the start of a body), returns (answer, seconds)."""
    start = time.monotonic()
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as s:
        s.sendall(head)
        if body_prefix:
            try:
                s.sendall(body_prefix)
            except (BrokenPipeError, ConnectionResetError):
                pass
        got = b''
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except ConnectionResetError:
            got += b'<reset>'
        except socket.timeout:
            got += b'<timeout>'
    return got, time.monotonic() - start


def metric(text, name, **labels):
    want = ','.join('%s="%s"' % kv for kv in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + '{'):
            got = ','.join(sorted(line[len(name) + 1:line.index('}')].split(',')))
            if got == want:
                return int(line.rsplit(' ', 1)[1])
    raise AssertionError('no %s{%s} in the metrics' % (name, want))


class DescriptorExhaustion(DaemonTestCase):
    """Finding 1: 1,100 silent connections under a 1,024 descriptor limit."""

    daemon_prefix = ('prlimit', '--nofile=1024:1024')
    metrics_port = free_port()
    daemon_args = ('--metrics', '127.0.0.1:%d' % metrics_port)

    def scrape(self):
        import requests
        return requests.get('http://127.0.0.1:%d/metrics' % self.metrics_port, timeout=5).text

    def test_refuses_excess_and_recovers(self):
        import requests
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
        with open(self.daemon.log_path, errors='replace') as f:
            self.assertIn('Descriptor limit: 1024', f.read())

        silent = []
        try:
            # 100 from each of 11 source addresses: the global cap is hit,
            # not the per-address one.
            for i in range(1100):
                s = socket.socket()
                s.bind(('127.0.0.%d' % (2 + i // 100), 0))
                s.connect(('127.0.0.1', self.daemon.port))
                silent.append(s)
            # Wait until the server took all of them off the queue.
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                text = self.scrape()
                if (metric(text, 'nb_service_connections_accepted_total', service='management')
                        + metric(text, 'nb_service_connections_refused_total',
                                 service='management', reason='global_cap')) >= 1100:
                    break
                time.sleep(0.1)

            # While they are open, one more is refused at once.
            answer, took = raw_request(self.daemon.port,
                                       b'GET /management/v1/server-key HTTP/1.1\r\n'
                                       b'Host: x\r\n\r\n', timeout=5)
            print('while 1,100 are open: %r in %.3f s' % (answer[:32], took))
            self.assertTrue(answer.startswith(b'HTTP/1.1 503'), answer[:200])
            self.assertLess(took, 1.0)
            text = self.scrape()
            refused = metric(text, 'nb_service_connections_refused_total',
                             service='management', reason='global_cap')
            open_now = metric(text, 'nb_service_connections_open', service='management')
            print('open %d, refused at the global cap %d' % (open_now, refused))
            self.assertGreater(refused, 100)
            self.assertLessEqual(open_now, 1024 - 64)
        finally:
            for s in silent:
                s.close()

        # All closed: the server answers again.
        start = time.monotonic()
        while True:
            try:
                r = requests.get(self.daemon.url + '/management/v1/server-key', timeout=2)
                if r.status_code == 200:
                    break
            except requests.RequestException:
                pass
            self.assertLess(time.monotonic() - start, 10, 'the server did not recover')
            time.sleep(0.05)
        print('answering again %.3f s after the 1,100 connections closed'
              % (time.monotonic() - start))


class AnnouncedBodies(DaemonTestCase):
    """Finding 2: a gigabyte announced, refused before it is read."""

    def test_gigabyte_announced_is_refused_at_once(self):
        pid = self.daemon.proc.pid
        before = rss_kb(pid)
        for method, path in (('POST', '/api/groups'), ('POST', '/management/v1/login'),
                             ('POST', '/no/handler/here')):
            head = ('%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
                    'Content-Length: %d\r\n\r\n' % (method, path, GIB)).encode()
            answer, took = raw_request(self.daemon.port, head, b'x' * (1024 * 1024))
            print('%s %s with 1 GiB announced: %r in %.3f s'
                  % (method, path, answer.split(b'\r\n')[0], took))
            self.assertTrue(answer.startswith(b'HTTP/1.1 413'), answer[:200])
            self.assertLess(took, 3.0)
        after = rss_kb(pid)
        print('server RSS %d kB before, %d kB after (+%d kB)' % (before, after, after - before))
        self.assertLess(after - before, 20 * 1024)
        # The server still serves.
        self.assertEqual(self.api.call('GET', '/groups', expect=200)[0]['name'], 'All')

    def test_huge_authorization_header_gets_431(self):
        head = (b'GET /api/groups HTTP/1.1\r\nHost: x\r\nAuthorization: Token '
                + b'a' * (100 * 1024) + b'\r\n\r\n')
        answer, took = raw_request(self.daemon.port, head)
        print('100 kB Authorization header: %r in %.3f s' % (answer.split(b'\r\n')[0], took))
        self.assertTrue(answer.startswith(b'HTTP/1.1 431'), answer[:200])
        self.assertIn(b'request headers too large', answer)


class StalledSyncReader(DaemonTestCase):
    """Finding 3: a sync channel that stops reading while its map changes."""

    metrics_port = free_port()
    daemon_args = ('--metrics', '127.0.0.1:%d' % metrics_port)

    def test_stalled_reader_keeps_only_the_newest_map(self):
        peers = [self.registered_peer('p%d' % i, connect=False) for i in range(10)]
        ports = [str(1000 + i) for i in range(300)]
        all_group = [g for g in self.api.get('/groups') if g['name'] == 'All'][0]
        for pol in self.api.get('/policies'):
            self.api.delete('/policies/' + pol['id'])

        def rule(extra):
            return {'name': 'many ports', 'enabled': True,
                    'rules': [{'name': 'r', 'enabled': True, 'action': 'accept',
                               'bidirectional': True, 'protocol': 'tcp',
                               'ports': ports + [str(extra)],
                               'sources': [all_group['id']],
                               'destinations': [all_group['id']]}]}
        policy = self.api.post('/policies', rule(20000))

        # The stalled reader: a small receive buffer, and it never reads.
        stalled = peers[0]
        stalled.ws = websocket.create_connection(
            self.daemon.ws_url, timeout=5,
            sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
        stalled.ws.send_binary(seal(stalled.key, self.daemon.server_key(),
                                    '{"meta": {"hostname": "p0"}}'))
        time.sleep(0.5)
        pid = self.daemon.proc.pid
        before = rss_kb(pid)
        for i in range(200):
            self.api.put('/policies/' + policy['id'], rule(20001 + i))
        # Once the pushes are done (the main loop answers again), the peak.
        time.sleep(0.5)
        self.api.get('/groups')
        time.sleep(1.0)
        after = rss_kb(pid)
        print('server RSS %d kB before 200 changes, %d kB after (+%d kB)'
              % (before, after, after - before))
        import requests
        text = requests.get('http://127.0.0.1:%d/metrics' % self.metrics_port, timeout=5).text
        queued = metric(text, 'nb_service_channel_queued_bytes', service='management')
        replaced = metric(text, 'nb_service_channel_replaced_total', service='management')
        print('channel backlog %d bytes, %d maps replaced while waiting' % (queued, replaced))
        # The maps in flight and the newest one waiting, whatever the number
        # of changes (the old server queued every one).
        self.assertGreater(replaced, 0)
        self.assertLess(queued, 8 * 1024 * 1024)
        if under_asan(pid):
            # AddressSanitizer keeps freed memory in quarantine (256 MB):
            # RSS says nothing there; the backlog above does.
            print('RSS not compared under AddressSanitizer')
        else:
            self.assertLess(after - before, 10 * 1024)

        # Reading again: the maps in flight, then the newest; nothing else.
        maps = []
        while True:
            got = stalled.recv(timeout=3)
            if got is None:
                break
            if got[0] == 'close':
                print('channel closed: %r' % (got,))
                self.assertEqual(got[1], CLOSE_BACKLOG)
                break
            maps.append(got[1])
        print('%d maps read after 201 pushes (%d bytes of JSON each)'
              % (len(maps), len(json.dumps(maps[-1])) if maps else 0))
        self.assertTrue(maps)
        self.assertLess(len(maps), 10)
        newest = {r.get('port') for r in maps[-1]['network_map']['firewall_rules']}
        self.assertIn(20001 + 199, newest)

    def test_unauthenticated_channel_closes_within_seconds(self):
        import requests
        start = time.monotonic()
        ws = websocket.create_connection(self.daemon.ws_url, timeout=10)
        try:
            opcode, data = ws.recv_data(control_frame=True)
        finally:
            ws.close()
        took = time.monotonic() - start
        code = struct.unpack('!H', data[:2])[0]
        print('silent sync channel closed after %.1f s: %d %s'
              % (took, code, data[2:].decode(errors='replace')))
        self.assertEqual(opcode, websocket.ABNF.OPCODE_CLOSE)
        self.assertEqual(code, mgmt_harness.CLOSE_TIMEOUT)
        self.assertLess(took, 8)
        text = requests.get('http://127.0.0.1:%d/metrics' % self.metrics_port, timeout=5).text
        self.assertEqual(metric(text, 'nb_service_timeouts_total', service='management',
                                kind='websocket_auth'), 1)


if __name__ == '__main__':
    main()
