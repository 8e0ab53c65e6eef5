#!/bin/bash
# test-relay-wg.sh: two WireGuard devices (TUNs in two namespaces) whose
# only path is the relay: UDP between the namespaces is dropped, the peers
# have no endpoints, and their channel transports go through netbird-relay.
# A ping each way and a 5 MB TCP transfer with its SHA-256 compared; the
# relay's forwarded counter and the peers' relay counters show that the
# relay carried them. Then the relay is killed and restarted on the same
# address: both peers reconnect and the ping works again.
#
# SPDX-License-Identifier: BSD-3-Clause
NBT_NAME=relwg
. "$(dirname "$0")/../lib/nbt.sh"
nbt_require_root
PEER=${NB_RELAY_PEER:?NB_RELAY_PEER names nb-relay-peer}
RELAY=${NETBIRD_RELAY:?NETBIRD_RELAY names netbird-relay}
XFER="$PY $(cd "$(dirname "$0")/../wireguard/interop" && pwd)/tcp-transfer.py"
SECRET=relay-wg-test-secret
RELAY_ADDR=$NBT_UNDER_A:33080
METRICS_ADDR=127.0.0.1:33081

nbt_pair
# No datagram crosses between the namespaces: WireGuard can only use the
# relay (a TCP connection).
for side in a b; do
  nbt_in $side nft -f - <<NFT
table inet relaywg {
  chain out { type filter hook output priority 0; policy accept; oifname "veth0" meta l4proto udp drop; }
}
NFT
done

start_relay() {
  (nbt_exec a "$RELAY" --listen "$RELAY_ADDR" --metrics "$METRICS_ADDR" \
     --auth-secret "$SECRET" --keepalive 2) >"$NBT_TMP/relay.log" 2>&1 &
  RELAY_PID=$!
  NBT_PIDS+=("$RELAY_PID")
  for _ in $(seq 1 100); do
    grep -q '^Listening on' "$NBT_TMP/relay.log" && return 0
    sleep 0.05
  done
  nbt_fail "netbird-relay did not start"
}

metric() {
  nbt_in a curl -sf "http://$METRICS_ADDR/metrics" | awk -v s="$1" '$1 == s { print $2 }'
}

wg genkey >"$NBT_TMP/a.key"
wg genkey >"$NBT_TMP/b.key"
PUB_A=$(wg pubkey <"$NBT_TMP/a.key")
PUB_B=$(wg pubkey <"$NBT_TMP/b.key")

start_relay
start_peer() {
  local side=$1 ifname=$2 addr=$3 other_addr=$4 key=$5 other_pub=$6
  (nbt_exec "$side" "$PEER" --ifname "$ifname" --address "$addr/24" --private-key "$key" \
     --peer-key "$other_pub" --peer-allowed-ip "$other_addr/32" \
     --relay "rel://$RELAY_ADDR" --relay-secret "$SECRET") >"$NBT_TMP/$ifname.log" 2>&1 &
  NBT_PIDS+=("$!")
  NBT_SOCKETS+=("/var/run/wireguard/$ifname.sock")
  eval "PID_$side=$!"
}
start_peer a "$NBT_IF_A" "$NBT_OVER_A" "$NBT_OVER_B" "$NBT_TMP/a.key" "$PUB_B"
start_peer b "$NBT_IF_B" "$NBT_OVER_B" "$NBT_OVER_A" "$NBT_TMP/b.key" "$PUB_A"

wait_for() {
  local file=$1 pattern=$2 count=${3:-1}
  for _ in $(seq 1 200); do
    [ "$(grep -c -- "$pattern" "$file" || true)" -ge "$count" ] && return 0
    sleep 0.05
  done
  nbt_fail "no “$pattern” (x$count) in $(basename "$file")"
}
wait_for "$NBT_TMP/$NBT_IF_A.log" 'relay=connected connects=1'
wait_for "$NBT_TMP/$NBT_IF_B.log" 'relay=connected connects=1'
wait_for "$NBT_TMP/$NBT_IF_A.log" 'peer=online'

nbt_in a ping -c 3 -W 2 -i 0.2 "$NBT_OVER_B" >/dev/null || nbt_fail "no ping a -> b over the relay"
nbt_in b ping -c 3 -W 2 -i 0.2 "$NBT_OVER_A" >/dev/null || nbt_fail "no ping b -> a over the relay"
nbt_log "pings both ways over the relay"

BYTES=5242880
nbt_in b timeout 60 $XFER recv "$NBT_OVER_B" 5201 >"$NBT_TMP/serve.out" &
SERVE=$!
sleep 0.3
SENT=$(nbt_in a timeout 60 $XFER send "$NBT_OVER_B" 5201 "$BYTES")
wait "$SERVE"
GOT=$(grep -v listening "$NBT_TMP/serve.out")
[ -n "$SENT" ] && [ "$SENT" = "$GOT" ] || nbt_fail "TCP over the relay: sent $SENT, got $GOT"
nbt_log "5 MB over TCP through the relay, SHA-256 $SENT"

FORWARDED=$(metric netbird_relay_forwarded_total)
[ "${FORWARDED:-0}" -gt 3000 ] || nbt_fail "the relay forwarded only ${FORWARDED:-0} datagrams"
kill -USR2 "$PID_a"
wait_for "$NBT_TMP/$NBT_IF_A.log" '^stats '
STATS=$(grep '^stats ' "$NBT_TMP/$NBT_IF_A.log" | tail -1)
TX=$(sed -n 's/.*relay_tx=\([0-9]*\).*/\1/p' <<<"$STATS")
[ "$TX" -gt 3000 ] || nbt_fail "peer a sent only $TX datagrams through the relay: $STATS"
# The device's own sockets carried nothing: no endpoint was ever learnt.
if nbt_in a wg show "$NBT_IF_A" endpoints | grep -q '[0-9]:[0-9]'; then
  nbt_fail "peer a has a direct endpoint: $(nbt_in a wg show "$NBT_IF_A" endpoints)"
fi
nbt_log "relay forwarded $FORWARDED datagrams; peer a: $STATS"

# The relay dies and comes back: both reconnect, the tunnel works again.
kill -KILL "$RELAY_PID"
wait "$RELAY_PID" 2>/dev/null || true
wait_for "$NBT_TMP/$NBT_IF_A.log" 'relay=waiting'
start_relay
wait_for "$NBT_TMP/$NBT_IF_A.log" 'relay=connected connects=2'
wait_for "$NBT_TMP/$NBT_IF_B.log" 'relay=connected connects=2'
nbt_in a ping -c 3 -W 2 -i 0.2 "$NBT_OVER_B" >/dev/null ||
  nbt_fail "no ping a -> b after the relay restarted"
FORWARDED=$(metric netbird_relay_forwarded_total)
[ "${FORWARDED:-0}" -ge 6 ] || nbt_fail "the new relay forwarded ${FORWARDED:-0} datagrams"
nbt_log "after the restart: reconnected, ping ok, $FORWARDED forwarded"
echo "ok"
