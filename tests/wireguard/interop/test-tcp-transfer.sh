#!/bin/bash
# 100 MB over TCP through the tunnel in each direction, SHA-256 compared on
# both ends: exercises GSO reads and GRO writes of the TUN and the crypto
# path at full speed. With NB_WG_CRYPT_WORKERS set, the crypto workers must
# have taken part (the same bytes must still arrive, in order).
#
# SPDX-License-Identifier: BSD-3-Clause
NBT_NAME=tcp
. "$(dirname "$0")/../../lib/nbt.sh"
nbt_require_root
OURS=$(nbt_ours)
XFER="$PY $(cd "$(dirname "$0")" && pwd)/tcp-transfer.py"
BYTES=${NBT_TCP_BYTES:-104857600}
nbt_pair
nbt_tunnel "$OURS" wireguard-go
nbt_ping a "$NBT_OVER_B" || nbt_fail "no ping before the transfer"

transfer() {
  local from=$1 to=$2 to_addr=$3 port=$4
  local out=$NBT_TMP/recv-$port
  nbt_in "$to" timeout 90 $XFER recv "$to_addr" "$port" >"$out" &
  local rpid=$!
  for _ in $(seq 1 50); do grep -q listening "$out" 2>/dev/null && break; sleep 0.1; done
  local sent got
  sent=$(nbt_in "$from" timeout 90 $XFER send "$to_addr" "$port" "$BYTES") || nbt_fail "send $from -> $to failed"
  wait "$rpid" || nbt_fail "receiver on $to failed"
  got=$(tail -n1 "$out")
  [ "$sent" = "$got" ] || nbt_fail "$from -> $to: sent '$sent', received '$got'"
  nbt_log "$from -> $to: $sent"
}

# A counter of netbird-wg's UAPI stats=1 (0 when "ours" is wireguard-go,
# which has none).
ours_stat() {
  if [ "$OURS" = netbird ]; then nbt_stat "$NBT_IF_A" "$1"; else echo 0; fi
}

start=$(date +%s.%N)
transfer a b "$NBT_OVER_B" 5001     # ours sends: TUN reads (GSO), encryption
transfer b a "$NBT_OVER_A" 5002     # ours receives: decryption, TUN writes (GRO)
transfer a b "$NBT_OVER6_B" 5003    # the same over IPv6 (TSO6, GRO for TCPv6)
transfer b a "$NBT_OVER6_A" 5004
end=$(date +%s.%N)
# The TCP sends reached our TUN as TSO frames, which we cut (not segments
# the kernel cut before it).
if [ "$OURS" = netbird ]; then
  tso=$(ours_stat tun_rx_tso_frames)
  [ "${tso:-0}" -gt 0 ] || nbt_fail "no TSO frame came from the TUN: offloads are off"
  nbt_log "TCP: $tso TSO frames read from the TUN"
fi

# UDP segmentation offload: one send of 16 datagrams reaches our TUN as one
# USO frame; wireguard-go's side must receive every datagram, intact (the
# kernel there drops any with a bad checksum), and our TUN must have given
# us one USO frame per send (Linux 6.2 on; before that the kernel cuts
# them itself and there is nothing of ours to count).
UDP="$PY $(cd "$(dirname "$0")" && pwd)/udp-gso.py"
SENDS=100
uso_kernel=true
if [ "$OURS" = netbird ]; then
  uso_kernel=$(ours_stat tun_uso)
  # Linux 6.2 has TUN_F_USO4/6: from there on a device without them is ours
  # to blame, not the kernel's.
  IFS=. read -r kmajor kminor _ <<<"$(uname -r)"
  if [ "$kmajor" -gt 6 ] || { [ "$kmajor" = 6 ] && [ "${kminor%%[!0-9]*}" -ge 2 ]; }; then
    [ "$uso_kernel" = true ] ||
      nbt_fail "Linux $(uname -r) offers USO to a TUN but the device did not enable it"
  fi
fi
for dst in "$NBT_OVER_B" "$NBT_OVER6_B"; do
  out=$NBT_TMP/udp-$dst
  uso0=$(ours_stat tun_rx_uso_frames)
  nbt_in b timeout 30 $UDP recv "$dst" 6000 $((SENDS * 16)) >"$out" &
  rpid=$!
  for _ in $(seq 1 50); do grep -q listening "$out" 2>/dev/null && break; sleep 0.1; done
  nbt_in a $UDP send "$dst" 6000 "$SENDS" || nbt_fail "UDP GSO send to $dst failed"
  wait "$rpid" || nbt_fail "UDP receiver on $dst failed: $(cat "$out")"
  grep -q "^ok" "$out" || nbt_fail "UDP GSO to $dst: $(tail -n1 "$out") of $((SENDS * 16)) datagrams arrived"
  uso=$(( $(ours_stat tun_rx_uso_frames) - uso0 ))
  if [ "$OURS" = netbird ] && [ "$uso_kernel" = true ]; then
    [ "$uso" -ge "$SENDS" ] ||
      nbt_fail "UDP GSO to $dst: $uso USO frames read from the TUN for $SENDS sends"
  elif [ "$OURS" = netbird ]; then
    nbt_log "this kernel gives the TUN no USO frames (tun_uso=$uso_kernel)"
  fi
  nbt_log "UDP GSO to $dst: $(tail -n1 "$out") of $((SENDS * 16)) datagrams, $uso USO frames"
done

if [ "${NB_WG_CRYPT_WORKERS:-0}" -gt 0 ] && [ "$OURS" != wireguard-go ]; then
  offloaded=$(nbt_stat "$NBT_IF_A" crypt_offloaded)
  [ "${offloaded:-0}" -gt 0 ] || nbt_fail "$NB_WG_CRYPT_WORKERS crypto workers did no packet"
  nbt_log "crypto workers sealed or opened $offloaded packets"
fi
nbt_log "$(awk -v s="$start" -v e="$end" -v b="$BYTES" 'BEGIN {printf "4 x %d MB in %.1f s", b/1048576, e-s}')"
echo "PASS"
