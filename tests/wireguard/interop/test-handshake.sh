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
  nbt_ping a "$NBT_OVER6_B" || nbt_fail "$impl_a -> $impl_b: no IPv6 ping reply in the tunnel"
  nbt_ping b "$NBT_OVER6_A" || nbt_fail "$impl_b -> $impl_a: no IPv6 ping reply in the tunnel"
  # The same tunnel over an IPv6 underlay.
  nbt_in a wg set "$NBT_IF_A" peer "$(cat "$NBT_TMP/b.pub")" endpoint "[$NBT_UNDER6_B]:$NBT_PORT_B"
  nbt_in b wg set "$NBT_IF_B" peer "$(cat "$NBT_TMP/a.pub")" endpoint "[$NBT_UNDER6_A]:$NBT_PORT_A"
  nbt_ping a "$NBT_OVER_B" || nbt_fail "$impl_a -> $impl_b: no ping over the IPv6 underlay"
  nbt_ping b "$NBT_OVER6_A" || nbt_fail "$impl_b -> $impl_a: no ping over the IPv6 underlay"
  [ "$(nbt_wg_value a "$NBT_IF_A" endpoints)" = "[$NBT_UNDER6_B]:$NBT_PORT_B" ] ||
    nbt_fail "A shows endpoint $(nbt_wg_value a "$NBT_IF_A" endpoints)"
  nbt_log "$impl_a (initiator) <-> $impl_b: handshake, IPv4 and IPv6 pings both ways, IPv6 underlay ok"
  nbt_stop_daemons
}

round "$OURS" wireguard-go     # ours initiates
round wireguard-go "$OURS"     # wireguard-go initiates, ours responds
echo "PASS"
