#!/bin/bash
# Handshake with either side initiating, and ping both ways: netbird-wg
# against wireguard-go.
#
# SPDX-License-Identifier: BSD-3-Clause
NBT_NAME=hs
. "$(dirname "$0")/../../lib/nbt.sh"
nbt_require_root
OURS=$(nbt_ours)
nbt_pair

round() {
  local impl_a=$1 impl_b=$2
  nbt_tunnel "$impl_a" "$impl_b"
  [ "$(nbt_wg_value a "$NBT_IF_A" latest-handshakes)" = 0 ] || nbt_fail "handshake before any traffic"
  # A sends first, so A initiates.
  nbt_ping a "$NBT_OVER_B" || nbt_fail "$impl_a -> $impl_b: no ping reply (A initiating)"
  local hs_a hs_b
  hs_a=$(nbt_wg_value a "$NBT_IF_A" latest-handshakes)
  hs_b=$(nbt_wg_value b "$NBT_IF_B" latest-handshakes)
  [ "$hs_a" -gt 0 ] && [ "$hs_b" -gt 0 ] || nbt_fail "latest-handshakes A=$hs_a B=$hs_b"
  nbt_ping b "$NBT_OVER_A" || nbt_fail "$impl_b -> $impl_a: no ping reply"
  # Both counted what they moved.
  local rx tx
  read -r _ rx tx < <(nbt_in a wg show "$NBT_IF_A" transfer)
  [ "$rx" -gt 0 ] && [ "$tx" -gt 0 ] || nbt_fail "A transfer rx=$rx tx=$tx"
  nbt_log "$impl_a (initiator) <-> $impl_b: handshake and pings both ways ok"
  nbt_stop_daemons
}

round "$OURS" wireguard-go     # ours initiates
round wireguard-go "$OURS"     # wireguard-go initiates, ours responds
echo "PASS"
