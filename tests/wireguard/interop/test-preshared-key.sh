#!/bin/bash
# A preshared key on both sides: the tunnel works and both show it; a
# different key on one side: no handshake completes, no traffic passes.
#
# SPDX-License-Identifier: BSD-3-Clause
NBT_NAME=psk
. "$(dirname "$0")/../../lib/nbt.sh"
nbt_require_root
OURS=$(nbt_ours)
nbt_pair
nbt_tunnel "$OURS" wireguard-go psk
nbt_ping a "$NBT_OVER_B" || nbt_fail "no ping with matching preshared keys"
nbt_ping b "$NBT_OVER_A" || nbt_fail "no ping back with matching preshared keys"
[ "$(nbt_wg_value a "$NBT_IF_A" preshared-keys)" = "$(cat "$NBT_TMP/psk")" ] ||
  nbt_fail "wg show preshared-keys does not show the key on our side"
nbt_stop_daemons

# Same keys, but B's preshared key differs.
nbt_tunnel "$OURS" wireguard-go psk
wg genpsk >"$NBT_TMP/psk2"
nbt_in b wg set "$NBT_IF_B" peer "$(cat "$NBT_TMP/a.pub")" preshared-key "$NBT_TMP/psk2"
! nbt_ping a "$NBT_OVER_B" 3 || nbt_fail "ping passed with different preshared keys"
! nbt_ping b "$NBT_OVER_A" 2 || nbt_fail "ping passed with different preshared keys (B first)"
[ "$(nbt_wg_value a "$NBT_IF_A" latest-handshakes)" = 0 ] || nbt_fail "A completed a handshake"
[ "$(nbt_wg_value b "$NBT_IF_B" latest-handshakes)" = 0 ] || nbt_fail "B completed a handshake"
echo "PASS"
