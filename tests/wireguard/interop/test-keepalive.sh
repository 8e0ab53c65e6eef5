#!/bin/bash
# Persistent keepalive set on our side: with no traffic at all, a handshake
# happens and keepalives keep arriving, as wireguard-go's `wg show` tells.
#
# SPDX-License-Identifier: BSD-3-Clause
NBT_NAME=ka
. "$(dirname "$0")/../../lib/nbt.sh"
nbt_require_root
OURS=$(nbt_ours)
nbt_pair
nbt_tunnel "$OURS" wireguard-go
nbt_in a wg set "$NBT_IF_A" peer "$(cat "$NBT_TMP/b.pub")" persistent-keepalive 1
[ "$(nbt_wg_value a "$NBT_IF_A" persistent-keepalive)" = 1 ] || nbt_fail "keepalive not shown on our side"
nbt_in a wg show "$NBT_IF_A" | grep -q "persistent keepalive: every 1 second" ||
  nbt_fail "wg show does not print the keepalive"

for _ in $(seq 1 30); do
  [ "$(nbt_wg_value b "$NBT_IF_B" latest-handshakes)" != 0 ] && break
  sleep 0.1
done
[ "$(nbt_wg_value b "$NBT_IF_B" latest-handshakes)" != 0 ] || nbt_fail "no handshake from keepalive"
rx1=$(nbt_in b wg show "$NBT_IF_B" transfer | awk '{print $2}')
sleep 3.5
rx2=$(nbt_in b wg show "$NBT_IF_B" transfer | awk '{print $2}')
# A keepalive is 32 bytes on the wire: at one a second, 3 or more.
[ $((rx2 - rx1)) -ge 96 ] || nbt_fail "wireguard-go received $((rx2 - rx1)) bytes in 3.5 s of keepalives"
nbt_log "wireguard-go side: rx $rx1 -> $rx2 bytes with no traffic"
nbt_in b wg show "$NBT_IF_B" | sed 's/^/# /' >&2
echo "PASS"
