#!/bin/bash
# An overlay address that no peer's allowed IPs cover fails at once, as it
# does with Linux's WireGuard: the device answers with an ICMP (IPv4) or
# ICMPv6 destination-unreachable, so ping reports the host unreachable and
# a TCP connect is refused with "No route to host" instead of timing out.
# Traffic to the real peer is not disturbed.
#
# SPDX-License-Identifier: BSD-3-Clause
NBT_NAME=unreach
. "$(dirname "$0")/../../lib/nbt.sh"
nbt_require_root
OURS=$(nbt_ours)
[ "$OURS" = wireguard-go ] && nbt_skip "wireguard-go sends no ICMP errors"
nbt_pair
nbt_tunnel "$OURS" wireguard-go
nbt_ping a "$NBT_OVER_B" || nbt_fail "no ping to the peer"

nobody4=100.64.0.99
nobody6=fd00:64::99

out=$(nbt_in a ping -c 1 -W 2 "$nobody4" 2>&1) && nbt_fail "ping to $nobody4 succeeded: $out"
echo "$out" | grep -q "Destination Host Unreachable" || nbt_fail "ping to $nobody4: $out"
nbt_log "IPv4: $(echo "$out" | grep Unreachable)"

out=$(nbt_in a ping -6 -c 1 -W 2 "$nobody6" 2>&1) && nbt_fail "ping to $nobody6 succeeded: $out"
echo "$out" | grep -qi "Address unreachable" || nbt_fail "ping to $nobody6: $out"
nbt_log "IPv6: $(echo "$out" | grep -i unreachable)"

# A TCP connect fails fast (the kernel takes the ICMP error as a hard one).
start=$(date +%s%N)
err=$(nbt_in a timeout 10 $PY -c "
import socket, sys
s = socket.socket()
s.settimeout(8)
try:
    s.connect(('$nobody4', 80))
except OSError as e:
    print(e.strerror or e)
    sys.exit(0)
sys.exit(1)
") || nbt_fail "TCP connect to $nobody4 did not fail"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
case "$err" in
  *"No route to host"*) ;;
  *) nbt_fail "TCP connect to $nobody4 failed with '$err' after $ms ms" ;;
esac
[ "$ms" -lt 5000 ] || nbt_fail "TCP connect took $ms ms to fail"
nbt_log "TCP connect to $nobody4: $err after $ms ms"

sent=$(nbt_stat "$NBT_IF_A" tx_icmp_unreachable)
[ "${sent:-0}" -ge 2 ] || nbt_fail "tx_icmp_unreachable is '$sent'"
nbt_ping a "$NBT_OVER_B" || nbt_fail "no ping to the peer afterwards"
echo "PASS"
