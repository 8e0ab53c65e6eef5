#!/bin/bash
# netbird genkey/pubkey against wireguard-tools' wg genkey/pubkey (TAP output).
#
# SPDX-License-Identifier: BSD-3-Clause
set -u
netbird=${NETBIRD_CLI:?set NETBIRD_CLI to the built netbird binary}
n=0
failed=0

ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check () { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

if ! command -v wg >/dev/null; then
  echo "1..0 # SKIP wg (wireguard-tools) is not installed"
  exit 0
fi

# netbird genkey | netbird pubkey equals wg pubkey on the same private key.
for i in 1 2 3 4 5; do
  priv=$("$netbird" genkey)
  ours=$(printf '%s\n' "$priv" | "$netbird" pubkey)
  theirs=$(printf '%s\n' "$priv" | wg pubkey)
  check "netbird genkey | netbird pubkey = wg pubkey (run $i)" '[ -n "$ours" ] && [ "$ours" = "$theirs" ]'
done

# A wg genkey key gives the same public key through both tools.
for i in 1 2 3; do
  priv=$(wg genkey)
  check "wg genkey | netbird pubkey = wg pubkey (run $i)" \
    '[ "$(printf "%s" "$priv" | "$netbird" pubkey)" = "$(printf "%s" "$priv" | wg pubkey)" ]'
done

# Output format: 44 base64 characters and a newline, as wg prints.
priv=$("$netbird" genkey)
check "genkey prints 44 base64 characters" '[[ "$priv" =~ ^[A-Za-z0-9+/]{43}=$ ]]'
bytes=$("$netbird" genkey | wc -c)
check "genkey output ends in one newline (45 bytes)" '[ "$bytes" = 45 ]'

# Bad input: a clear message on stderr, non-zero exit, nothing on stdout.
out=$(printf 'not a key\n' | "$netbird" pubkey 2>/tmp/nb-cli-err.$$); rc=$?
check "pubkey rejects garbage with an error" '[ $rc -ne 0 ] && [ -z "$out" ] && grep -q "44 characters" /tmp/nb-cli-err.$$'
out=$(head -c 4096 /dev/zero | tr '\0' 'A' | "$netbird" pubkey 2>/dev/null); rc=$?
check "pubkey rejects overlong input" '[ $rc -ne 0 ] && [ -z "$out" ]'
out=$(printf '' | "$netbird" pubkey 2>/dev/null); rc=$?
check "pubkey rejects empty input" '[ $rc -ne 0 ] && [ -z "$out" ]'
rm -f /tmp/nb-cli-err.$$

ver=$("$netbird" version)
check "version prints the library version" '[[ "$ver" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]'
"$netbird" frobnicate >/dev/null 2>&1; rc=$?
check "unknown command exits 2" '[ $rc -eq 2 ]'

echo "1..$n"
exit $failed
