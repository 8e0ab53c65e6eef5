#!/bin/bash
# test-client-python.sh: NbClient from Python through GI, in a network
# namespace behind a NAT, against a real Management, Signal and coturn (the
# network of tests/lib/nbnet.sh) with one peer run by the netbird daemon:
# test_client.py brings a client up, reads its status and pings through it;
# then the example bindings/python/netbird-client.py runs a few seconds and
# must print its status changes.
#
# SPDX-License-Identifier: BSD-3-Clause
NBT_NAME=pygi
. "$(dirname "$0")/../lib/nbt.sh"
. "$(dirname "$0")/../lib/nbnet.sh"
nbnet_require
here=$(cd "$(dirname "$0")" && pwd)
example=$here/../../bindings/python/netbird-client.py
# A GLib warning from libnice in a client that recovers is not fatal here.
export G_DEBUG=gc-friendly

nbnet_services
nbnet_router ra
nbnet_peer p1
nbnet_peer py ra
nbnet_up p1
ip1=$(nbnet_ip p1)
mkdir -p "$NBT_TMP/py"
nbnet_in py "$PY" "$here/test_client.py" "$NBT_TMP/py" "$NBNET_MGMT_URL" "$NBNET_SETUP_KEY" \
  "${NBNET_IF[py]}" "$ip1" || nbt_fail "test_client.py failed"

# The example, as a user runs it: status changes on stdout.
out=$NBT_TMP/example.txt
nbnet_in py "$PY" "$example" "$NBT_TMP/py/example.json" -m "$NBNET_MGMT_URL" \
  -k "$NBNET_SETUP_KEY" -i "${NBNET_IF[py]}" --seconds 8 >"$out" 2>&1 ||
  nbt_fail "netbird-client.py failed: $(cat "$out")"
sed 's/^/# /' "$out"
grep -q "^up as  *100\." "$out" || nbt_fail "the example did not come up"
grep -Eq "^peer (added|changed) +$ip1.*connected" "$out" ||
  nbt_fail "the example did not print p1 connected"
nbnet_finish
echo "python client: test and example passed"
