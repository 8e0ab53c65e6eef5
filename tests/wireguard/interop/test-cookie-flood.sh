#!/bin/bash
# A flood of handshake initiations (valid mac1, no mac2) puts our device
# under load: it answers with cookie replies instead of doing Diffie-Hellman,
# while the established peer keeps passing traffic.
#
# SPDX-License-Identifier: BSD-3-Clause
NBT_NAME=flood
. "$(dirname "$0")/../../lib/nbt.sh"
nbt_require_root
OURS=$(nbt_ours)
[ "$OURS" = netbird ] || nbt_skip "reads netbird-wg's counters"
PKT="$PY $(cd "$(dirname "$0")" && pwd)/wg-packets.py"
nbt_pair
nbt_tunnel "$OURS" wireguard-go
nbt_ping b "$NBT_OVER_A" || nbt_fail "no tunnel to start with"
cookies0=$(nbt_stat "$NBT_IF_A" tx_cookie_replies)
# Initiations a second: 80 times the device's default under-load threshold
# (256/s). NBT_FLOOD_RATE=0 floods as fast as python can (on a shared
# 2-core machine the flooder then takes a whole core).
RATE=${NBT_FLOOD_RATE:-20000}

nbt_in b $PKT flood "$NBT_UNDER_A" "$NBT_PORT_A" "$(cat "$NBT_TMP/a.pub")" 4 "$RATE" >"$NBT_TMP/flood.out" &
fpid=$!
sleep 1
under_load=$(nbt_stat "$NBT_IF_A" under_load)
# The established session goes on: 10 pings during the flood.
replies=$(nbt_in b ping -c 10 -i 0.2 -W 1 "$NBT_OVER_A" | awk '/received/ {print $4}')
wait "$fpid"
read -r _ sent _ received <"$NBT_TMP/flood.out"
cookies=$(( $(nbt_stat "$NBT_IF_A" tx_cookie_replies) - cookies0 ))
nbt_log "flood: $sent initiations sent, $received cookie replies received; device counted $cookies; under_load=$under_load; pings $replies/10"
[ "$under_load" = true ] || nbt_fail "device not under load during the flood"
[ "$cookies" -gt 0 ] && [ "$received" -gt 0 ] || nbt_fail "no cookie replies"
[ "${replies:-0}" -ge 7 ] || nbt_fail "established peer lost traffic under the flood: $replies/10"
nbt_ping a "$NBT_OVER_B" || nbt_fail "tunnel broken after the flood"
echo "PASS"
