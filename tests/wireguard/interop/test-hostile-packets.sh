#!/bin/bash
# Malformed, truncated, oversized, unknown-index and replayed UDP packets
# sent at our port are dropped and counted, and the device keeps serving
# its established peer.
#
# SPDX-License-Identifier: BSD-3-Clause
NBT_NAME=hostile
. "$(dirname "$0")/../../lib/nbt.sh"
nbt_require_root
OURS=$(nbt_ours)
[ "$OURS" = netbird ] || nbt_skip "reads netbird-wg's counters"
PKT="$PY $(cd "$(dirname "$0")" && pwd)/wg-packets.py"
nbt_pair
nbt_tunnel "$OURS" wireguard-go
nbt_ping b "$NBT_OVER_A" || nbt_fail "no tunnel to start with"

stat() { nbt_stat "$NBT_IF_A" "$1"; }
malformed0=$(stat rx_drop_malformed)
index0=$(stat rx_drop_unknown_index)
mac1_0=$(stat rx_drop_mac1)
replay0=$(stat rx_drop_replay)

# Garbage of every kind from B's namespace, not from the peer's socket.
sent=$(nbt_in b $PKT garbage "$NBT_UNDER_A" "$NBT_PORT_A" "$(cat "$NBT_TMP/a.pub")")
nbt_log "sent: $sent"
nbt_ping b "$NBT_OVER_A" || nbt_fail "tunnel broken after garbage"

# Replays: data packets wireguard-go sent us, sent again.
nbt_in b $PKT capture veth0 "$NBT_PORT_A" 5 "$NBT_TMP/captured" >"$NBT_TMP/capture.out" &
cpid=$!
for _ in $(seq 1 50); do grep -q capturing "$NBT_TMP/capture.out" 2>/dev/null && break; sleep 0.1; done
nbt_ping b "$NBT_OVER_A" 6 || nbt_fail "no ping while capturing"
wait "$cpid" || nbt_fail "capture failed"
nbt_in b $PKT replay "$NBT_UNDER_A" "$NBT_PORT_A" "$NBT_TMP/captured" >/dev/null
sleep 0.3

malformed=$(( $(stat rx_drop_malformed) - malformed0 ))
index=$(( $(stat rx_drop_unknown_index) - index0 ))
mac1=$(( $(stat rx_drop_mac1) - mac1_0 ))
replay=$(( $(stat rx_drop_replay) - replay0 ))
nbt_log "dropped: malformed=$malformed unknown_index=$index bad_mac1=$mac1 replay=$replay"
# 50 random + 1 empty + 4 type-only + 5+3+3+3 bad lengths + 5 reserved + 20
# unknown types + 3 oversized: at least the fixed-format ones are malformed.
[ "$malformed" -ge 40 ] || nbt_fail "malformed drops: $malformed"
[ "$index" -ge 20 ] || nbt_fail "unknown-index drops: $index"
[ "$mac1" -ge 5 ] || nbt_fail "bad-mac1 drops: $mac1"
[ "$replay" -ge 10 ] || nbt_fail "replay drops: $replay (10 replayed)"

# Still serving, both ways.
nbt_ping b "$NBT_OVER_A" || nbt_fail "tunnel broken after replays"
nbt_ping a "$NBT_OVER_B" || nbt_fail "tunnel broken after replays (ours sending)"
kill -0 "${NBT_PIDS[0]}" || nbt_fail "netbird-wg died"
echo "PASS"
