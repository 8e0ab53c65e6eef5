#!/bin/bash
# ice.sh: how fast two hosts meet through ICE and how fast WireGuard runs
# over the path they chose.
#
# SPDX-License-Identifier: BSD-3-Clause
#
#   tests/bench/ice.sh [BUILD_DIR]      (or NB_BUILD_DIR=...; default ./build)
#
# The namespaces of tests/transport/test-ice-nat.sh (two NATed LANs, coturn
# and Signal in a public namespace), with nb-ice-peer as the hosts:
#  - time to first ping, per case (host: one LAN; srflx: two NATs; relay:
#    UDP between the NATs dropped, every candidate type offered;
#    relay-only: the same, both peers relay-only): from starting both
#    peers to the first ping answered over WireGuard, the ping sent once
#    the first peer reports its pair (RUNS runs, default 5; min, median,
#    max). Also ICE's own part: the pair's elapsed_ms as the peer reports it;
#  - the same for the host case with the ping sent as soon as the interface
#    is up, before ICE has a path (what an application that starts talking
#    at boot sees);
#  - iperf3 (DURATION s, default 4, one stream) over WireGuard on the
#    ICE-handed socket of a host pair, against our plain-UDP WireGuard
#    (netbird-wg configured with wg(8), as tunnel.sh does) between the same
#    two namespaces, both up at once, in ITER rounds (default 15) of one run
#    each, the order flipped every round (ICE, plain; plain, ICE; ...) so
#    that the machine's load falls on both alike; the ratio of each round,
#    and their median; and over a TURN-relayed pair. SYSCALLS=1 adds a
#    look, with strace, at how each path sends and receives.
# Machine-readable lines among the output:
#   host_first_ping_ms=X srflx_first_ping_ms=Y relay_first_ping_ms=Z
#   relay_only_first_ping_ms=W (medians)
#   ice_socket_gbps=X plain_udp_gbps=Y (medians) ice_vs_plain=R (the median
#   of the rounds' ratios) turn_relay_gbps=T
#
# A run that fails (no pair, no ping answered within 10 s, iperf3 exits
# non-zero, reports an error or carries no bytes) prints "FAIL: ..." and
# the script exits 1; no figure is printed for it.

NB_BUILD_DIR=${1:-${NB_BUILD_DIR:-./build}}
NB_BUILD_DIR=$(cd "$NB_BUILD_DIR" 2>/dev/null && pwd) || { echo "no build directory $1" >&2; exit 2; }
export NB_BUILD_DIR
RUNS=${RUNS:-5}
DURATION=${DURATION:-4}
NBT_NAME=bice
. "$(dirname "$0")/../lib/nbt.sh"
. "$(dirname "$0")/../transport/ice-topology.sh"
. "$(dirname "$0")/../lib/iperf.sh"
ice_require
command -v iperf3 >/dev/null || nbt_fail "needs iperf3 (./dev installs it)"
NETBIRD_WG=$(nbt_netbird_wg) || nbt_fail "no netbird-wg in $NB_BUILD_DIR/servers/netbird-wg"
OVER_A=100.64.0.1
OVER_B=100.64.0.2
SERVERS=(--stun "stun:$ICE_PUBLIC:$ICE_TURN_PORT"
         --turn "turn:$ICE_PUBLIC:$ICE_TURN_PORT?transport=udp" --turn-secret "$ICE_TURN_SECRET")

ice_topology
ice_host a "$ICE_NS_RA" 198.18.1.10
ice_host l "$ICE_NS_RA" 198.18.1.11     # a's LAN neighbour
ice_host b "$ICE_NS_RB" 198.18.2.10     # behind the other NAT
ice_coturn
ice_signal_start
ice_keys a l b

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# start_pair FIRST SECOND [options]: both peers, SECOND the one a pings.
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

# first_ping FIRST SECOND eager|after [options]: one run; prints
# "first_ping_ms ice_ms".
first_ping() {
  local first=$1 second=$2 when=$3
  shift 3
  local t0 t1 line ice_ms
  : >"$NBT_TMP/$first.log"
  : >"$NBT_TMP/$second.log"
  t0=$(now_ms)
  start_pair "$first" "$second" "$@"
  if [ "$when" = after ]; then
    line=$(ice_wait "$first" "^state=connected " 10) ||
      { stop_pair "$first" "$second"; echo "no pair within 10 s"; return 1; }
  else
    # As soon as the interface has its address.
    line=$(ice_wait "$first" "^start " 10) ||
      { stop_pair "$first" "$second"; echo "no interface within 10 s"; return 1; }
  fi
  # -w 10: keep sending (every 10 ms) until one answer, for 10 s at most.
  ice_in "$first" ping -n -q -c 1 -i 0.01 -w 10 "$OVER_B" >/dev/null ||
    { stop_pair "$first" "$second"; echo "no ping answered within 10 s"; return 1; }
  t1=$(now_ms)
  line=$(ice_wait "$first" "^state=connected " 1) ||
    { stop_pair "$first" "$second"; echo "a ping but no pair reported"; return 1; }
  ice_ms=$(ice_field "$line" elapsed_ms)
  # What a slow run had: initiations sent, and what the other side could
  # not send for want of a path (its response, before its pair was up).
  local inits dropped
  inits=$(nbt_stat "${ICE_PEER_IF[$first]}" tx_handshake_initiations)
  dropped=$(nbt_stat "${ICE_PEER_IF[$second]}" tx_drop_no_endpoint)
  stop_pair "$first" "$second"
  echo "$((t1 - t0)) $ice_ms $(ice_field "$line" local_type)/$(ice_field "$line" remote_type) $inits $dropped"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

declare -A FIRST
# measure LABEL FIRST SECOND eager|after EXPECTED_TYPES [options]
measure() {
  local label=$1 first=$2 second=$3 when=$4 types=$5
  shift 5
  local times=() ices=() result ms ice pair inits dropped slow=""
  for run in $(seq 1 "$RUNS"); do
    result=$(first_ping "$first" "$second" "$when" "$@") ||
      nbt_fail "$label, run $run: $result"
    read -r ms ice pair inits dropped <<<"$result"
    [[ " $types " == *" $pair "* ]] || nbt_fail "$label, run $run: a $pair pair, expected $types"
    times+=("$ms")
    ices+=("$ice")
    [ "$ms" -gt 1000 ] &&
      slow+=" run $run: $inits initiations, the other side dropped $dropped for want of a path;"
  done
  local med ice_med
  med=$(printf '%s\n' "${times[@]}" | median)
  ice_med=$(printf '%s\n' "${ices[@]}" | median)
  FIRST[$label]=$med
  printf '%-18s first ping %5d ms median (runs: %s ms); ICE pair after %d ms median\n' \
    "$label" "$med" "${times[*]}" "$ice_med"
  [ -z "$slow" ] || printf '%-18s slow:%s\n' "" "$slow"
}

echo "# ICE benchmark: $RUNS runs per case, $DURATION s per iperf3 run, $(nproc) cores, $(uname -r)"
measure host a l after "host/host"
measure srflx a b after "srflx/srflx srflx/prflx"
ice_block_nat_udp
measure relay a b after "relay/srflx srflx/relay relay/relay relay/prflx prflx/relay"
measure relay-only a b after "relay/relay" --relay-only
ip netns exec "$ICE_NS_PUB" nft delete table ip block
measure host-eager a l eager "host/host"


# Over the ICE-handed socket of a host pair, and over plain-UDP WireGuard
# (netbird-wg configured with wg(8)) between the same two namespaces at
# the same time, on 100.65.0.0/24: short runs in rounds of one each, the
# order flipped every round, so a change in the machine's load falls on
# both sides of a round alike; the median of the rounds' ratios is the
# figure (a ratio of medians taken over minutes mixes different loads).
start_pair a l
ice_wait a "^state=connected " 10 >/dev/null
ice_in a ping -n -q -c 1 -i 0.01 -w 10 "$OVER_B" >/dev/null || nbt_fail "ICE host pair: no ping"
ice_wait a "^transport=socket" 10 >/dev/null
ice_wait l "^transport=socket" 10 >/dev/null

PLAIN_A=100.65.0.1
PLAIN_B=100.65.0.2
WG_PIDS=()
for n in a l; do
  ifname="nbw${NBT_ID}$n"
  NBT_SOCKETS+=("/var/run/wireguard/$ifname.sock")
  (exec nsenter --net="/var/run/netns/${ICE_PEER_NS[$n]}" "$NETBIRD_WG" -f "$ifname") \
    >"$NBT_TMP/wg-$n.log" 2>&1 &
  NBT_PIDS+=("$!")
  WG_PIDS+=("$!")
done
for _ in $(seq 1 100); do
  [ -S "/var/run/wireguard/nbw${NBT_ID}a.sock" ] && [ -S "/var/run/wireguard/nbw${NBT_ID}l.sock" ] && break
  sleep 0.05
done
ice_in a wg set "nbw${NBT_ID}a" private-key "$NBT_TMP/a.key" listen-port 51820 \
  peer "$(cat "$NBT_TMP/l.pub")" endpoint 198.18.1.11:51821 allowed-ips "$PLAIN_B/32" ||
  nbt_fail "wg set on a"
ice_in l wg set "nbw${NBT_ID}l" private-key "$NBT_TMP/l.key" listen-port 51821 \
  peer "$(cat "$NBT_TMP/a.pub")" endpoint 198.18.1.10:51820 allowed-ips "$PLAIN_A/32" ||
  nbt_fail "wg set on l"
ice_in a ip addr add "$PLAIN_A/24" dev "nbw${NBT_ID}a"
ice_in l ip addr add "$PLAIN_B/24" dev "nbw${NBT_ID}l"
ice_in a ip link set "nbw${NBT_ID}a" up
ice_in l ip link set "nbw${NBT_ID}l" up
ice_in a ping -n -q -c 1 -i 0.01 -w 10 "$PLAIN_B" >/dev/null || nbt_fail "plain WireGuard: no ping"

ice_runs=()
plain_runs=()
ratios=()
for run in $(seq 1 "${ITER:-15}"); do
  if [ $((run % 2)) = 1 ]; then order="ice plain"; else order="plain ice"; fi
  for side in $order; do
    if [ "$side" = ice ]; then
      ice_g=$(iperf a l "$OVER_B" 2>"$NBT_TMP/why") ||
        nbt_fail "iperf3 over the ICE socket: $(cat "$NBT_TMP/why")"
    else
      plain_g=$(iperf a l "$PLAIN_B" 2>"$NBT_TMP/why") ||
        nbt_fail "iperf3 over plain WireGuard: $(cat "$NBT_TMP/why")"
    fi
  done
  ice_runs+=("$ice_g")
  plain_runs+=("$plain_g")
  ratios+=("$(awk -v a="$ice_g" -v b="$plain_g" 'BEGIN { printf "%.3f", a / b }')")
done
# SYSCALLS=1: one more short run of each path with strace -c on the sender
# and the receiver: both should send in UDP_SEGMENT batches (sendmsg; a
# sendmmsg means GSO was refused) and receive runs of datagrams per
# recvmmsg (UDP_GRO), and the handed-over socket as often as the device's.
syscalls() {
  local label=$1 addr=$2 tx_pid=$3 rx_pid=$4 rx_if=$5 d0 d1 st=()
  d0=$(nbt_stat "$rx_if" rx_datagrams)
  strace -f -c -e trace=sendmsg,sendmmsg,recvmmsg -o "$NBT_TMP/strace-$label-tx" -p "$tx_pid" 2>/dev/null &
  st+=("$!")
  strace -f -c -e trace=sendmsg,sendmmsg,recvmmsg -o "$NBT_TMP/strace-$label-rx" -p "$rx_pid" 2>/dev/null &
  st+=("$!")
  sleep 1
  g=$(DURATION=3 iperf a l "$addr" 2>"$NBT_TMP/why") || nbt_fail "iperf3 ($label, strace): $(cat "$NBT_TMP/why")"
  kill -INT "${st[@]}"
  wait "${st[@]}" 2>/dev/null || true   # strace ends with 130 on SIGINT
  d1=$(nbt_stat "$rx_if" rx_datagrams)
  calls() { awk -v c="$2" '$NF == c { print $4; f = 1 } END { if (!f) print 0 }' "$1"; }
  local gso plain rx
  gso=$(calls "$NBT_TMP/strace-$label-tx" sendmsg)
  plain=$(calls "$NBT_TMP/strace-$label-tx" sendmmsg)
  rx=$(calls "$NBT_TMP/strace-$label-rx" recvmmsg)
  printf '%-18s %s Gbit/s under strace; sender: sendmsg %s (GSO), sendmmsg %s; receiver: %s datagrams in %s recvmmsg (%.1f each)\n' \
    "$label" "$g" "$gso" "$plain" "$((d1 - d0))" "$rx" \
    "$(awk -v d="$((d1 - d0))" -v r="$rx" 'BEGIN { print (r > 0 ? d / r : 0) }')"
}
if [ -n "${SYSCALLS:-}" ]; then
  command -v strace >/dev/null || nbt_fail "SYSCALLS=1 needs strace"
  syscalls "ICE socket" "$OVER_B" "${ICE_PEER_PID[a]}" "${ICE_PEER_PID[l]}" "${ICE_PEER_IF[l]}"
  syscalls "plain UDP" "$PLAIN_B" "${WG_PIDS[0]}" "${WG_PIDS[1]}" "nbw${NBT_ID}l"
fi

for pid in "${WG_PIDS[@]}"; do
  kill -TERM "$pid"
  wait "$pid" || nbt_fail "netbird-wg exited with $? on SIGTERM"
done
stop_pair a l
agent=$(grep "^exit " "${ICE_PEER_LOG[a]}")
[ "$(ice_field "$agent" channel_tx)" -lt 100 ] ||
  nbt_fail "the ICE runs went through the agent ($agent), not the handed-over socket"
ice_gbps=$(printf '%s\n' "${ice_runs[@]}" | median)
plain_gbps=$(printf '%s\n' "${plain_runs[@]}" | median)
printf '%-18s %7.2f Gbit/s median (runs: %s; a: %s)\n' "ICE socket" "$ice_gbps" "${ice_runs[*]}" "$agent"
printf '%-18s %7.2f Gbit/s median (runs: %s)\n' "plain UDP" "$plain_gbps" "${plain_runs[*]}"
ratio=$(printf '%s\n' "${ratios[@]}" | median)
printf '%-18s %7.3f median of the rounds (rounds: %s)\n' "ICE / plain" "$ratio" "${ratios[*]}"

# Through coturn.
ice_block_nat_udp
start_pair a b --relay-only
ice_wait a "^state=connected .*local_type=relay" 10 >/dev/null
ice_in a ping -n -q -c 1 -i 0.01 -w 10 "$OVER_B" >/dev/null || nbt_fail "TURN pair: no ping"
turn_gbps=$(iperf a b "$OVER_B" 2>"$NBT_TMP/why") || nbt_fail "iperf3 through TURN: $(cat "$NBT_TMP/why")"
stop_pair a b
printf '%-18s %7.2f Gbit/s (a: %s)\n' "TURN relay/relay" "$turn_gbps" "$(grep '^exit ' "${ICE_PEER_LOG[a]}")"

echo "host_first_ping_ms=${FIRST[host]}"
echo "srflx_first_ping_ms=${FIRST[srflx]}"
echo "relay_first_ping_ms=${FIRST[relay]}"
echo "relay_only_first_ping_ms=${FIRST[relay-only]}"
echo "host_eager_first_ping_ms=${FIRST[host-eager]}"
echo "ice_socket_gbps=$ice_gbps"
echo "plain_udp_gbps=$plain_gbps"
echo "ice_vs_plain=$ratio"
echo "turn_relay_gbps=$turn_gbps"
