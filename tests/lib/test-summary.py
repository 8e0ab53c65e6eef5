#!/usr/bin/python3
# test-summary.py: the closing verdict of ./dev test, where a skip is a failure.
#
# SPDX-License-Identifier: BSD-3-Clause
#
#   test-summary.py [--allow FILE] TESTLOG.json...
#
# Reads meson's testlog.json files (one JSON object a line, with the test's
# stdout and stderr) and prints one line per failed test (with the line of
# its output that says why) and per skip that was not allowed, then the
# closing line 'N passed, N failed, N skipped' that other tools read.
# Exits 1 if any test failed or skipped without an entry in the allowlist
# (tests/allowed-skips.txt), 0 otherwise.
#
# A skip is found wherever a test can report one:
#   - the test's result is SKIP (exit status 77, or a TAP plan "1..0 # SKIP");
#   - a TAP line "ok N NAME # SKIP REASON" (g_test_skip() in a GTest subtest,
#     which meson counts as a pass) or "not ok N NAME # TODO" (g_test_incomplete());
#   - a Python unittest line "NAME (CLASS.NAME) ... skipped 'REASON'", or its
#     closing "OK (skipped=N)" when the verbose lines are missing.
# The C tests need not know about the rule: the log is the one place every
# kind of test writes to.
#
# A test that skips is counted as failed unless allowed; an allowed whole-test
# skip is counted as skipped, an allowed subtest skip leaves its test passed.
import json
import re
import sys

TAP_SKIP = re.compile(r'^ok\s+\d+\s*-?\s*(.*?)\s*#\s*skip\b\s*(.*)$', re.I)
TAP_TODO = re.compile(r'^not ok\s+\d+\s*-?\s*(.*?)\s*#\s*todo\b\s*(.*)$', re.I)
TAP_PLAN_SKIP = re.compile(r'^1\.\.0\s*#\s*skip\b\s*(.*)$', re.I)
UNITTEST_SKIP = re.compile(r"^(\w+) \(([\w.]+)\) \.\.\. .*skipped '(.*)'$")
UNITTEST_TOTAL = re.compile(r'^(?:OK|FAILED) \(.*\bskipped=(\d+)')
SCRIPT_SKIP = re.compile(r'^SKIP:\s*(.*)$')


def short_name(name):
    """'libnetbird:interop / interop-handshake' -> 'interop-handshake'."""
    return name.rsplit(' / ', 1)[-1] if ':' in name.split(' / ')[0] else name


def read_allowlist(path):
    allowed = {}
    if path is None:
        return allowed
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            what, sep, reason = line.partition(': ')
            if not sep or not reason.strip():
                sys.exit('%s:%d: expected "TEST[ SUBTEST]: REASON"' % (path, number))
            parts = what.split(None, 1)
            allowed[(parts[0], parts[1] if len(parts) > 1 else None)] = reason.strip()
    return allowed


def skips_in(result):
    """The (subtest, reason) skips a test's output reports; subtest None for
    the whole test."""
    out = (result.get('stdout') or '') + '\n' + (result.get('stderr') or '')
    found = []
    listed = 0
    total = 0
    for line in out.splitlines():
        line = line.rstrip()
        m = TAP_SKIP.match(line) or TAP_TODO.match(line)
        if m:
            found.append((m.group(1) or None, m.group(2) or 'no reason given'))
            continue
        m = TAP_PLAN_SKIP.match(line)
        if m:
            found.append((None, m.group(1) or 'no reason given'))
            continue
        m = UNITTEST_SKIP.match(line)
        if m:
            found.append((m.group(1), m.group(3)))
            listed += 1
            continue
        m = UNITTEST_TOTAL.match(line)
        if m:
            total += int(m.group(1))
            continue
        if result['result'] == 'SKIP':
            m = SCRIPT_SKIP.match(line)
            if m:
                found.append((None, m.group(1)))
    if total > listed:
        found.append((None, '%d unittest test(s) skipped' % (total - listed)))
    if result['result'] == 'SKIP' and not any(sub is None for sub, _ in found):
        found.append((None, 'exit status 77, no reason printed'))
    return found


FAIL_LINE = re.compile(r'^(FAIL:|not ok\b|Bail out!|ERROR:|error:|Traceback|\S+Error:)')


def failure_of(result):
    """One line saying why a test failed: its last line of the usual failure
    forms, else its exit status."""
    why = None
    for stream in ('stdout', 'stderr'):
        for line in (result.get(stream) or '').splitlines():
            if FAIL_LINE.match(line.strip()):
                why = line.strip()
    return why or '%s, exit status %s' % (result['result'], result.get('returncode', '?'))


def main(argv):
    allow_path = None
    if len(argv) > 1 and argv[0] == '--allow':
        allow_path = argv[1]
        argv = argv[2:]
    allowed = read_allowlist(allow_path)

    passed = failed = skipped = 0
    for log in argv:
        try:
            lines = open(log).read().splitlines()
        except OSError as e:
            print('test-summary: cannot read %s: %s' % (log, e.strerror))
            failed += 1
            continue
        for line in lines:
            if not line.strip():
                continue
            r = json.loads(line)
            name = short_name(r.get('name', '?'))
            if r['result'] not in ('OK', 'EXPECTEDFAIL', 'SKIP'):
                print('%s failed: %s' % (name, failure_of(r)))
                failed += 1
                continue
            bad = []
            whole_allowed = False
            for sub, reason in skips_in(r):
                if (name, sub) in allowed or (name, None) in allowed:
                    whole_allowed = whole_allowed or sub is None
                    continue
                bad.append((sub, reason))
            for sub, reason in bad:
                print('%s%s skipped: %s; a skip here is a failure (./dev installs what tests '
                      'need; list a test that cannot run here in tests/allowed-skips.txt)'
                      % (name, ' ' + sub if sub else '', reason))
            if bad:
                failed += 1
            elif r['result'] == 'SKIP' or whole_allowed:
                skipped += 1
            else:
                passed += 1
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
