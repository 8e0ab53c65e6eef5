#!/bin/bash
# What must not pass: a peer configured with the wrong public key gets no
# session; packets whose inner source is outside the peer's allowed IPs are
# dropped (and counted) while the session itself works.
#
# SPDX-License-Identifier: BSD-3-Clause
NBT_NAME=rej
. "$(dirname "$0")/../../lib/nbt.sh"
nbt_require_root
OURS=$(nbt_ours)
nbt_pair

# 1. B expects a key that is not A's.
nbt_tunnel "$OURS" wireguard-go
wg genkey | wg pubkey >"$NBT_TMP/other.pub"
nbt_in b wg set "$NBT_IF_B" peer "$(cat "$NBT_TMP/a.pub")" remove \
  peer "$(cat "$NBT_TMP/other.pub")" endpoint "$NBT_UNDER_A:$NBT_PORT_A" allowed-ips "$NBT_OVER_A/32"
! nbt_ping a "$NBT_OVER_B" 3 || nbt_fail "ping passed with a wrong public key at B"
[ "$(nbt_wg_value a "$NBT_IF_A" latest-handshakes)" = 0 ] || nbt_fail "handshake with a wrong key"
# Ours, answering for a key it does not know, must not either.
nbt_in a wg set "$NBT_IF_A" peer "$(cat "$NBT_TMP/b.pub")" remove \
  peer "$(cat "$NBT_TMP/other.pub")" endpoint "$NBT_UNDER_B:$NBT_PORT_B" allowed-ips "$NBT_OVER_B/32"
nbt_in b wg set "$NBT_IF_B" peer "$(cat "$NBT_TMP/other.pub")" remove \
  peer "$(cat "$NBT_TMP/a.pub")" endpoint "$NBT_UNDER_A:$NBT_PORT_A" allowed-ips "$NBT_OVER_A/32"
hs0=0
[ "$OURS" = netbird ] && hs0=$(nbt_stat "$NBT_IF_A" rx_drop_handshake)
! nbt_ping b "$NBT_OVER_A" 3 || nbt_fail "ping passed with a wrong public key at A"
[ "$(nbt_wg_value b "$NBT_IF_B" latest-handshakes)" = 0 ] || nbt_fail "handshake with a wrong key (B)"
if [ "$OURS" = netbird ]; then
  hs=$(( $(nbt_stat "$NBT_IF_A" rx_drop_handshake) - hs0 ))
  [ "$hs" -ge 1 ] || nbt_fail "initiations from an unknown key not counted as dropped: $hs"
  nbt_log "rx_drop_handshake=$hs (initiations from a key we do not know)"
fi
nbt_stop_daemons

# 2. Right keys, but our side allows B only 100.64.0.99/32: B's pings (from
# 100.64.0.2) reach us decrypted and are dropped by the allowed-IPs check.
rm -f "$NBT_TMP"/a.* "$NBT_TMP"/b.*
nbt_tunnel "$OURS" wireguard-go
nbt_in a wg set "$NBT_IF_A" peer "$(cat "$NBT_TMP/b.pub")" allowed-ips 100.64.0.99/32
nbt_in a ip route add "$NBT_OVER_B/32" dev "$NBT_IF_A" 2>/dev/null || true
! nbt_ping b "$NBT_OVER_A" 3 || nbt_fail "ping from outside the allowed IPs passed"
rx=$(nbt_in a wg show "$NBT_IF_A" transfer | awk '{print $2}')
[ "$rx" -gt 0 ] || nbt_fail "nothing received at all: the test proves nothing"
[ "$(nbt_wg_value a "$NBT_IF_A" latest-handshakes)" -gt 0 ] || nbt_fail "no session"
if [ "$OURS" = netbird ]; then
  drops=$(nbt_stat "$NBT_IF_A" rx_drop_allowed_ips)
  [ "${drops:-0}" -ge 3 ] || nbt_fail "allowed-IPs drops counted: '${drops}'"
  nbt_log "rx_drop_allowed_ips=$drops"
fi

# 3. Our side sending to an address no peer has in its allowed IPs (routed
# into the tunnel by the /24): dropped before encryption, and counted.
if [ "$OURS" = netbird ]; then
  np0=$(nbt_stat "$NBT_IF_A" tx_drop_no_peer)
  ! nbt_ping a 100.64.0.77 2 || nbt_fail "a ping to an address of no peer got an answer"
  np=$(( $(nbt_stat "$NBT_IF_A" tx_drop_no_peer) - np0 ))
  [ "$np" -ge 2 ] || nbt_fail "packets to no peer not counted: $np"
  nbt_log "tx_drop_no_peer=$np"
fi
echo "PASS"
