#!/bin/bash
# relay.sh: WireGuard through netbird-relay against the direct path and
# against coturn, the relay's CPU per Gbit/s, and its memory with 1,000 idle
# authenticated connections.
#
# SPDX-License-Identifier: BSD-3-Clause
#
#   tests/bench/relay.sh [BUILD_DIR]     (or NB_BUILD_DIR=...; default ./build)
#
# The namespaces of tests/transport/test-ice-nat.sh (two NATed LANs; coturn,
# Signal and here netbird-relay in the public namespace):
#  - direct: iperf3 (DURATION s, default 4, one stream) over WireGuard on
#    the ICE-handed socket of two hosts of one LAN (nb-ice-peer);
#  - TURN: the same between hosts behind the two NATs with UDP between the
#    NATs dropped and both peers relay-only, through coturn;
#  - relay: the same two hosts, UDP still dropped, WireGuard over the relay
#    client's channel transport (nb-relay-peer) through netbird-relay over
#    TCP; the relay's CPU time during the run (utime + stime of
#    /proc/PID/stat) as % of one core, and that per Gbit/s;
#  - the relay's VmRSS before and after 1,000 authenticated idle
#    connections (nb-relay-bench-clients), and per connection.
# Machine-readable lines at the end:
#   direct_gbps=X turn_gbps=Y relay_gbps=Z relay_vs_direct=R relay_vs_turn=S
#   relay_cpu_pct=C relay_cpu_pct_per_gbps=P
#   relay_rss_idle_kib=A relay_rss_1000_kib=B relay_rss_per_conn_kib=D
# A run that fails (no path, no ping within 10 s, iperf3 fails or carries
# nothing, a client refused) prints "FAIL: ..." and the script exits 1.

NB_BUILD_DIR=${1:-${NB_BUILD_DIR:-./build}}
NB_BUILD_DIR=$(cd "$NB_BUILD_DIR" 2>/dev/null && pwd) || { echo "no build directory $1" >&2; exit 2; }
export NB_BUILD_DIR
DURATION=${DURATION:-4}
N_IDLE=${N_IDLE:-1000}
NBT_NAME=brel
. "$(dirname "$0")/../lib/nbt.sh"
. "$(dirname "$0")/../transport/ice-topology.sh"
. "$(dirname "$0")/../lib/iperf.sh"
ice_require
command -v iperf3 >/dev/null || nbt_fail "needs iperf3 (./dev installs it)"
RELAY_BIN=$NB_BUILD_DIR/servers/netbird-relay/netbird-relay
RELAY_PEER=$NB_BUILD_DIR/tests/relay/nb-relay-peer
CLIENTS=$NB_BUILD_DIR/tests/bench/relay/nb-relay-bench-clients
for bin in "$RELAY_BIN" "$RELAY_PEER" "$CLIENTS"; do
  [ -x "$bin" ] || nbt_fail "no $bin (build first)"
done
OVER_A=100.64.0.1
OVER_B=100.64.0.2
SERVERS=(--stun "stun:$ICE_PUBLIC:$ICE_TURN_PORT"
         --turn "turn:$ICE_PUBLIC:$ICE_TURN_PORT?transport=udp" --turn-secret "$ICE_TURN_SECRET")
RELAY_SECRET=bench-relay-secret
RELAY_PORT=33080

ice_topology
ice_host a "$ICE_NS_RA" 198.18.1.10
ice_host l "$ICE_NS_RA" 198.18.1.11     # a's LAN neighbour
ice_host b "$ICE_NS_RB" 198.18.2.10     # behind the other NAT
ice_coturn
ice_signal_start
ice_keys a l b

(exec nsenter --net="/var/run/netns/$ICE_NS_PUB" "$RELAY_BIN" --listen "$ICE_PUBLIC:$RELAY_PORT" \
   --metrics 127.0.0.1:33081 --auth-secret "$RELAY_SECRET") >"$NBT_TMP/relay.log" 2>&1 &
RELAY_PID=$!
NBT_PIDS+=("$RELAY_PID")
for _ in $(seq 1 100); do
  grep -q '^Listening on' "$NBT_TMP/relay.log" && break
  sleep 0.05
done
grep -q '^Listening on' "$NBT_TMP/relay.log" || nbt_fail "netbird-relay did not start"

relay_metric() {
  ip netns exec "$ICE_NS_PUB" curl -sf http://127.0.0.1:33081/metrics |
    awk -v s="$1" '$1 == s { print $2 }'
}
relay_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$RELAY_PID/stat"; }
relay_rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$RELAY_PID/status"; }

start_pair() {
  local first=$1 second=$2
  shift 2
  ice_peer "$first" "$OVER_A" "$second" "$OVER_B" "${SERVERS[@]}" "$@"
  ice_peer "$second" "$OVER_B" "$first" "$OVER_A" "${SERVERS[@]}" "$@"
}

stop_pair() {
  ice_stop_peer "$1"
  ice_stop_peer "$2"
}


echo "# Relay benchmark: $DURATION s per iperf3 run, $(nproc) cores, $(uname -r)"

# The direct path: an ICE host pair on one LAN.
start_pair a l
ice_wait a "^state=connected " 10 >/dev/null
ice_in a ping -n -q -c 1 -i 0.01 -w 10 "$OVER_B" >/dev/null || nbt_fail "direct: no ping"
ice_wait a "^transport=socket" 10 >/dev/null
ice_wait l "^transport=socket" 10 >/dev/null
direct_gbps=$(iperf a l "$OVER_B" 2>"$NBT_TMP/why") || nbt_fail "iperf3 direct: $(cat "$NBT_TMP/why")"
stop_pair a l
printf '%-18s %7.2f Gbit/s\n' "direct (ICE host)" "$direct_gbps"

# Through coturn, UDP between the NATs dropped.
ice_block_nat_udp
start_pair a b --relay-only
ice_wait a "^state=connected .*local_type=relay" 10 >/dev/null || nbt_fail "TURN: no relayed pair"
ice_in a ping -n -q -c 1 -i 0.01 -w 10 "$OVER_B" >/dev/null || nbt_fail "TURN: no ping"
turn_gbps=$(iperf a b "$OVER_B" 2>"$NBT_TMP/why") || nbt_fail "iperf3 through TURN: $(cat "$NBT_TMP/why")"
stop_pair a b
printf '%-18s %7.2f Gbit/s\n' "TURN (coturn)" "$turn_gbps"

# Through netbird-relay, UDP still dropped.
relay_peer() {
  local name=$1 overlay=$2 other=$3 other_overlay=$4
  local ifname="nbr${NBT_ID}$name"
  NBT_SOCKETS+=("/var/run/wireguard/$ifname.sock")
  (exec nsenter --net="/var/run/netns/${ICE_PEER_NS[$name]}" "$RELAY_PEER" --ifname "$ifname" \
     --address "$overlay/10" --private-key "$NBT_TMP/$name.key" \
     --peer-key "$(cat "$NBT_TMP/$other.pub")" --peer-allowed-ip "$other_overlay/32" \
     --relay "rel://$ICE_PUBLIC:$RELAY_PORT" --relay-secret "$RELAY_SECRET") \
     >"$NBT_TMP/relay-$name.log" 2>&1 &
  NBT_PIDS+=("$!")
  eval "RELAY_PEER_$name=$!"
}
relay_peer a "$OVER_A" b "$OVER_B"
relay_peer b "$OVER_B" a "$OVER_A"
for _ in $(seq 1 200); do
  grep -q '^peer=online' "$NBT_TMP/relay-a.log" && break
  sleep 0.05
done
grep -q '^peer=online' "$NBT_TMP/relay-a.log" || nbt_fail "relay: the peers did not meet on the relay"
ice_in a ping -n -q -c 1 -i 0.01 -w 10 "$OVER_B" >/dev/null || nbt_fail "relay: no ping"
ticks0=$(relay_cpu_ticks)
t0=$(date +%s%N)
relay_gbps=$(iperf a b "$OVER_B" 2>"$NBT_TMP/why") || nbt_fail "iperf3 through the relay: $(cat "$NBT_TMP/why")"
t1=$(date +%s%N)
ticks1=$(relay_cpu_ticks)
forwarded=$(relay_metric netbird_relay_forwarded_total)
[ "${forwarded:-0}" -gt 1000 ] || nbt_fail "the relay forwarded only ${forwarded:-0} datagrams"
read -r relay_cpu_pct relay_cpu_per_gbps < <("$PY" -c "
import os, sys
ticks = $ticks1 - $ticks0
secs = ($t1 - $t0) / 1e9
pct = 100.0 * ticks / os.sysconf('SC_CLK_TCK') / secs
print('%.1f %.1f' % (pct, pct / max($relay_gbps, 1e-6)))")
kill -TERM "$RELAY_PEER_a" "$RELAY_PEER_b"
wait "$RELAY_PEER_a" "$RELAY_PEER_b" 2>/dev/null || true
printf '%-18s %7.2f Gbit/s; relay CPU %s %% of a core, %s %% per Gbit/s; %s datagrams forwarded\n' \
  "netbird-relay" "$relay_gbps" "$relay_cpu_pct" "$relay_cpu_per_gbps" "$forwarded"

# Memory: 1,000 authenticated idle connections.
sleep 1
rss0=$(relay_rss_kib)
(exec nsenter --net="/var/run/netns/${ICE_PEER_NS[a]}" "$CLIENTS" \
   "ws://$ICE_PUBLIC:$RELAY_PORT/relay/v1" "$RELAY_SECRET" "$N_IDLE") >"$NBT_TMP/clients.log" 2>&1 &
CLIENTS_PID=$!
NBT_PIDS+=("$CLIENTS_PID")
for _ in $(seq 1 600); do
  grep -q '^authenticated=' "$NBT_TMP/clients.log" && break
  kill -0 "$CLIENTS_PID" 2>/dev/null || nbt_fail "clients: $(tail -n 3 "$NBT_TMP/clients.log")"
  sleep 0.1
done
grep -q '^authenticated=' "$NBT_TMP/clients.log" || nbt_fail "clients did not all authenticate in 60 s"
sleep 1
peers=$(relay_metric netbird_relay_peers)
[ "$peers" = "$N_IDLE" ] || nbt_fail "the relay has $peers peers, expected $N_IDLE"
rss1=$(relay_rss_kib)
kill -TERM "$CLIENTS_PID"
wait "$CLIENTS_PID" 2>/dev/null || true
per_conn=$("$PY" -c "print('%.1f' % (($rss1 - $rss0) / $N_IDLE))")
printf '%-18s %d KiB idle, %d KiB with %d authenticated connections (%s KiB each; %s)\n' \
  "relay RSS" "$rss0" "$rss1" "$N_IDLE" "$per_conn" "$(grep "^authenticated=" "$NBT_TMP/clients.log")"

ratio() { "$PY" -c "print('%.3f' % ($1 / max($2, 1e-6)))"; }
echo "direct_gbps=$direct_gbps"
echo "turn_gbps=$turn_gbps"
echo "relay_gbps=$relay_gbps"
echo "relay_vs_direct=$(ratio "$relay_gbps" "$direct_gbps")"
echo "relay_vs_turn=$(ratio "$relay_gbps" "$turn_gbps")"
echo "relay_cpu_pct=$relay_cpu_pct"
echo "relay_cpu_pct_per_gbps=$relay_cpu_per_gbps"
echo "relay_rss_idle_kib=$rss0"
echo "relay_rss_${N_IDLE}_kib=$rss1"
echo "relay_rss_per_conn_kib=$per_conn"
