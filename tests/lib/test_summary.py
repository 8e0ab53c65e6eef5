#!/usr/bin/python3
"""The skip gate of ./dev test (tests/lib/test-summary.py), run on meson
test logs shaped like the ones our tests write: every kind of skip fails the
run and is named with its reason, unless the allowlist lists it.

  test_summary.py
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

SUMMARY = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'test-summary.py')


def entry(name, result='OK', stdout='', stderr=''):
    return {'name': 'libnetbird:suite / ' + name, 'result': result, 'returncode': 0,
            'stdout': stdout, 'stderr': stderr}


class Summary(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def run_summary(self, entries, allow=None):
        log = os.path.join(self.tmp.name, 'testlog.json')
        with open(log, 'w') as f:
            for e in entries:
                f.write(json.dumps(e) + '\n')
        args = [sys.executable, SUMMARY]
        if allow is not None:
            path = os.path.join(self.tmp.name, 'allowed-skips.txt')
            with open(path, 'w') as f:
                f.write(allow)
            args += ['--allow', path]
        p = subprocess.run(args + [log], capture_output=True, text=True)
        return p.returncode, p.stdout.splitlines()

    def test_all_ran(self):
        rc, out = self.run_summary([entry('key', stdout='1..2\nok 1 /key/a\nok 2 /key/b\n'),
                                    entry('mgmt-api-sync', stderr='Ran 8 tests\n\nOK\n')])
        self.assertEqual(rc, 0)
        self.assertEqual(out, ['2 passed, 0 failed, 0 skipped'])

    def test_whole_test_skip_fails(self):
        rc, out = self.run_summary([entry('interop-handshake', 'SKIP',
                                          stdout='SKIP: needs wireguard-go\n')])
        self.assertEqual(rc, 1)
        self.assertIn('interop-handshake skipped: needs wireguard-go; a skip here is a failure',
                      out[0])
        self.assertEqual(out[-1], '0 passed, 1 failed, 0 skipped')

    def test_skip_without_reason_fails(self):
        rc, out = self.run_summary([entry('quiet', 'SKIP')])
        self.assertEqual(rc, 1)
        self.assertIn('quiet skipped: exit status 77, no reason printed', out[0])

    def test_gtest_subtest_skip_fails(self):
        # meson's TAP parser counts this test as OK.
        rc, out = self.run_summary([entry('wg-device', stdout=(
            '1..2\nok 1 /wg/device/up\n'
            'ok 2 /wg/device/fwmark # SKIP setting SO_MARK needs CAP_NET_ADMIN\n'))])
        self.assertEqual(rc, 1)
        self.assertIn('wg-device /wg/device/fwmark skipped: setting SO_MARK needs CAP_NET_ADMIN',
                      out[0])
        self.assertEqual(out[-1], '0 passed, 1 failed, 0 skipped')

    def test_incomplete_subtest_fails(self):
        rc, out = self.run_summary([entry('tun', stdout='1..1\nnot ok 1 /netif/tun/x # TODO later\n')])
        self.assertEqual(rc, 1)
        self.assertIn('tun /netif/tun/x skipped: later', out[0])

    def test_tap_plan_skip_fails(self):
        rc, out = self.run_summary([entry('cli-keys', 'SKIP',
                                          stdout='1..0 # SKIP wg (wireguard-tools) is not installed\n')])
        self.assertEqual(rc, 1)
        self.assertIn('cli-keys skipped: wg (wireguard-tools) is not installed', out[0])

    def test_unittest_skips_fail(self):
        stderr = ("test_a (__main__.Sync.test_a) ... skipped 'no daemon'\n"
                  "test_b (__main__.Sync.test_b) ... ok\n\nRan 2 tests\n\nOK (skipped=1)\n")
        rc, out = self.run_summary([entry('mgmt-api-sync', stderr=stderr)])
        self.assertEqual(rc, 1)
        self.assertEqual(len(out), 2)
        self.assertIn('mgmt-api-sync test_a skipped: no daemon', out[0])

    def test_unittest_total_alone_fails(self):
        rc, out = self.run_summary([entry('python', stderr='Ran 22 tests\n\nOK (skipped=22)\n')])
        self.assertEqual(rc, 1)
        self.assertIn('python skipped: 22 unittest test(s) skipped', out[0])

    def test_failure_counts(self):
        rc, out = self.run_summary([
            entry('a'),
            entry('b', 'FAIL', stderr='# setting up\nFAIL: needs wireguard-go\n# cleaning\n'),
            entry('c', 'TIMEOUT')])
        self.assertEqual(rc, 1)
        self.assertEqual(out, ['b failed: FAIL: needs wireguard-go',
                               'c failed: TIMEOUT, exit status 0',
                               '1 passed, 2 failed, 0 skipped'])

    def test_allowlist(self):
        allow = ('# comment\n\n'
                 'interop-handshake: cannot run here, for the test of the gate\n'
                 'wg-device /wg/device/fwmark: one subtest only\n')
        rc, out = self.run_summary([
            entry('interop-handshake', 'SKIP', stdout='SKIP: needs wireguard-go\n'),
            entry('wg-device', stdout='ok 1 /wg/device/fwmark # SKIP no mark\n'),
            entry('tun', stdout='ok 1 /netif/tun/other # SKIP not listed\n')], allow=allow)
        self.assertEqual(rc, 1)
        self.assertEqual(len(out), 2)
        self.assertIn('tun /netif/tun/other skipped: not listed', out[0])
        self.assertEqual(out[1], '1 passed, 1 failed, 1 skipped')

    def test_bad_allowlist_line(self):
        rc, out = self.run_summary([entry('a')], allow='interop-handshake\n')
        self.assertNotEqual(rc, 0)

    def test_missing_log_fails(self):
        p = subprocess.run([sys.executable, SUMMARY, os.path.join(self.tmp.name, 'none.json')],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn('cannot read', p.stdout)


if __name__ == '__main__':
    unittest.main(verbosity=2)
