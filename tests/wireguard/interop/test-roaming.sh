#!/bin/bash
# Roaming: when one side's underlay address changes, traffic resumes and the
# other side's `wg show endpoints` shows the new address. Both ways: ours
# learning wireguard-go's new address, and wireguard-go learning ours.
#
# SPDX-License-Identifier: BSD-3-Clause
NBT_NAME=roam
. "$(dirname "$0")/../../lib/nbt.sh"
nbt_require_root
OURS=$(nbt_ours)
nbt_pair
nbt_tunnel "$OURS" wireguard-go
nbt_ping a "$NBT_OVER_B" || nbt_fail "no ping before roaming"

# wireguard-go keeps sending from the source address it last used (sticky
# sockets) and fails with ENETUNREACH once that address is gone; setting the
# peer's endpoint again makes it pick a source anew. Only the side that
# moved needs it, and only when that side is wireguard-go.
forget_source() {
  local side=$1 impl=$2
  [ "$impl" = wireguard-go ] || return 0
  if [ "$side" = a ]; then
    nbt_in a wg set "$NBT_IF_A" peer "$(cat "$NBT_TMP/b.pub")" endpoint "$(nbt_wg_value a "$NBT_IF_A" endpoints)"
  else
    nbt_in b wg set "$NBT_IF_B" peer "$(cat "$NBT_TMP/a.pub")" endpoint "$(nbt_wg_value b "$NBT_IF_B" endpoints)"
  fi
}

# A (ours) moves from .1 to .11: B must learn it from A's next packet.
nbt_in a ip addr del "$NBT_UNDER_A/24" dev veth0
nbt_in a ip addr add 198.18.0.11/24 dev veth0
forget_source a "$OURS"
nbt_ping a "$NBT_OVER_B" || nbt_fail "no ping after our side moved"
ep=$(nbt_wg_value b "$NBT_IF_B" endpoints)
[ "$ep" = "198.18.0.11:$NBT_PORT_A" ] || nbt_fail "wireguard-go shows our endpoint as $ep"

# B (wireguard-go) moves from .2 to .12: ours must learn it.
nbt_in b ip addr del "$NBT_UNDER_B/24" dev veth0
nbt_in b ip addr add 198.18.0.12/24 dev veth0
forget_source b wireguard-go
nbt_ping b "$NBT_OVER_A" || nbt_fail "no ping after wireguard-go moved"
ep=$(nbt_wg_value a "$NBT_IF_A" endpoints)
[ "$ep" = "198.18.0.12:$NBT_PORT_B" ] || nbt_fail "our side shows the peer's endpoint as $ep"
nbt_ping a "$NBT_OVER_B" || nbt_fail "no ping from our side to the moved peer"
echo "PASS"
