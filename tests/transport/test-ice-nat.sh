#!/bin/bash
# test-ice-nat.sh CASE: two hosts find each other with ICE through NATs in
# network namespaces, and WireGuard runs over the path they chose.
#
# SPDX-License-Identifier: BSD-3-Clause
#
#   host            both on one LAN: a host/host pair
#   srflx           each behind its own NAT: server-reflexive on both
#                   ends, the hole punched by the checks
#   relay           UDP between the two NATs dropped, every candidate type
#                   offered: a pair through coturn, relayed at one end or
#                   both
#   relay-only      the same with both peers offering only relayed
#                   candidates: a relay/relay pair
#   signal-restart  srflx, then Signal killed: the tunnel keeps working;
#                   Signal back, both reconnect, an ICE restart succeeds
#
# In each: the candidate types each peer reports, a ping each way over
# WireGuard, and 20 MB of TCP each way with their SHA-256 compared; which
# transport carried them (the handed-over socket or the TURN channel) is
# checked on the counters.
CASE=${1:?usage: test-ice-nat.sh host|srflx|relay|relay-only|signal-restart}
case $CASE in
  relay-only) NBT_NAME=icero ;;
  *) NBT_NAME=ice${CASE:0:2} ;;
esac
. "$(dirname "$0")/../lib/nbt.sh"
. "$(dirname "$0")/ice-topology.sh"
ice_require
XFER="$PY $(cd "$(dirname "$0")/../wireguard/interop" && pwd)/tcp-transfer.py"
BYTES=${NBT_TCP_BYTES:-20971520}
OVER_A=100.64.0.1
OVER_B=100.64.0.2
SERVERS=(--stun "stun:$ICE_PUBLIC:$ICE_TURN_PORT"
         --turn "turn:$ICE_PUBLIC:$ICE_TURN_PORT?transport=udp" --turn-secret "$ICE_TURN_SECRET")

ice_topology
case $CASE in
  host)
    ice_host a "$ICE_NS_RA" 198.18.1.10
    ice_host b "$ICE_NS_RA" 198.18.1.11
    ;;
  srflx|signal-restart)
    ice_host a "$ICE_NS_RA" 198.18.1.10
    ice_host b "$ICE_NS_RB" 198.18.2.10
    ;;
  relay|relay-only)
    ice_host a "$ICE_NS_RA" 198.18.1.10
    ice_host b "$ICE_NS_RB" 198.18.2.10
    ice_block_nat_udp
    ;;
  *)
    nbt_fail "unknown case $CASE"
    ;;
esac
ice_coturn
ice_signal_start
ice_keys a b
# In the relay case each side's checks through its TURN allocation go to
# every address the other offers, its private host address too. coturn
# relays them; the public namespace has a default route (ice_topology), so
# those to a private address are lost on the way, as on the Internet.
# Without that route coturn's send fails at once (ENETUNREACH) and coturn
# closes the whole allocation of the peer that asked ("closed ... reason:
# general" in its log with ICE_COTURN_ARGS=-V); libnice's next
# CreatePermission from the same address then lands in a new coturn session
# without allocation (438 "Wrong nonce", then 400) and no relayed pair ever
# works.
PEER_ARGS=()
[ "$CASE" = relay-only ] && PEER_ARGS=(--relay-only)
ice_peer a "$OVER_A" b "$OVER_B" "${SERVERS[@]}" "${PEER_ARGS[@]}"
ice_peer b "$OVER_B" a "$OVER_A" "${SERVERS[@]}" "${PEER_ARGS[@]}"

# pair_of NAME [ROUND]: the "state=connected" line of that round.
pair_of() {
  ice_wait "$1" "^state=connected .* round=${2:-1} " 30
}

# check_types NAME LINE EXPECTED...: the pair's "local/remote" types are one
# of EXPECTED.
check_types() {
  local name=$1 line=$2
  shift 2
  local got
  got="$(ice_field "$line" local_type)/$(ice_field "$line" remote_type)"
  local want
  for want in "$@"; do
    [ "$got" = "$want" ] && { nbt_log "$name: $line"; return 0; }
  done
  nbt_fail "$name selected a $got pair, expected one of: $* ($line)"
}

ping_over() {
  local from=$1 to=$2
  ice_in "$from" ping -q -c 3 -i 0.2 -W 2 "$to" >/dev/null ||
    nbt_fail "no ping from $from to $to over WireGuard"
}

transfer() {
  local from=$1 to=$2 to_addr=$3 port=$4
  local out=$NBT_TMP/recv-$port sent got
  ice_in "$to" timeout 60 $XFER recv "$to_addr" "$port" >"$out" &
  local rpid=$!
  for _ in $(seq 1 50); do grep -q listening "$out" 2>/dev/null && break; sleep 0.1; done
  sent=$(ice_in "$from" timeout 60 $XFER send "$to_addr" "$port" "$BYTES") ||
    nbt_fail "TCP send $from -> $to failed"
  wait "$rpid" || nbt_fail "TCP receiver on $to failed"
  got=$(tail -n1 "$out")
  [ "$sent" = "$got" ] || nbt_fail "$from -> $to: sent '$sent', received '$got'"
  nbt_log "$from -> $to: $sent"
}

# rx_bytes NAME: what WireGuard received from the other peer (wg show).
rx_bytes() {
  ice_in "$1" wg show "${ICE_PEER_IF[$1]}" transfer | awk '{print $2; exit}'
}

# stats NAME: "channel_rx channel_tx" of a fresh stats line (SIGUSR2).
stats() {
  local log=${ICE_PEER_LOG[$1]} n line
  n=$(grep -c "^stats " "$log" || true)
  kill -USR2 "${ICE_PEER_PID[$1]}"
  for _ in $(seq 1 250); do
    [ "$(grep -c "^stats " "$log" || true)" -gt "$n" ] && break
    sleep 0.02
  done
  line=$(grep "^stats " "$log" | tail -n1)
  [ -n "$line" ] || nbt_fail "peer $1 printed no stats"
  echo "$(ice_field "$line" channel_rx) $(ice_field "$line" channel_tx)"
}

# traffic PORT: pings both ways (a first, so only a initiates the
# handshake), then the transfers.
traffic() {
  ping_over a "$OVER_B"
  ping_over b "$OVER_A"
  transfer a b "$OVER_B" "$1"
  transfer b a "$OVER_A" "$(($1 + 1))"
}

# direct_traffic PORT: traffic once both sides put WireGuard on the
# handed-over socket; the agent must have carried none of it.
direct_traffic() {
  ping_over a "$OVER_B"
  local n=${2:-1}
  for s in a b; do
    for _ in $(seq 1 500); do
      [ "$(grep -c "^transport=socket" "${ICE_PEER_LOG[$s]}")" -ge "$n" ] && break
      sleep 0.02
    done
    [ "$(grep -c "^transport=socket" "${ICE_PEER_LOG[$s]}")" -ge "$n" ] ||
      nbt_fail "$s did not hand the selected socket to WireGuard within 10 s"
  done
  local before_a before_b after_a after_b
  before_a=$(stats a)
  before_b=$(stats b)
  traffic "$1"
  after_a=$(stats a)
  after_b=$(stats b)
  [ "$before_a" = "$after_a" ] && [ "$before_b" = "$after_b" ] ||
    nbt_fail "datagrams went through the agent, not the socket: a $before_a -> $after_a, b $before_b -> $after_b"
  nbt_log "on the handed-over sockets (agent's rx/tx unchanged: a $after_a, b $after_b)"
}

line_a=$(pair_of a)
line_b=$(pair_of b)
case $CASE in
  host)
    check_types a "$line_a" host/host
    check_types b "$line_b" host/host
    ;;
  srflx|signal-restart)
    # Server-reflexive at both ends; the remote one may be learned from the
    # other's check before its candidate arrives (peer-reflexive), with the
    # same address.
    check_types a "$line_a" srflx/srflx srflx/prflx
    check_types b "$line_b" srflx/srflx srflx/prflx
    [ "$(ice_field "$line_a" local)" = "$(ice_field "$line_b" remote)" ] ||
      nbt_fail "a's public endpoint is not what b reaches: $line_a / $line_b"
    [[ "$(ice_field "$line_a" local)" == "$ICE_WAN_A:"* ]] ||
      nbt_fail "a's server-reflexive address is not its NAT's: $line_a"
    [[ "$(ice_field "$line_b" local)" == "$ICE_WAN_B:"* ]] ||
      nbt_fail "b's server-reflexive address is not its NAT's: $line_b"
    ;;
  relay|relay-only)
    # A relayed candidate on at least one end of each side's pair, none of
    # them a direct one.
    for n in a b; do
      l=$(eval echo "\$line_$n")
      [[ "$(ice_field "$l" local_type)/$(ice_field "$l" remote_type)" == *relay* ]] ||
        nbt_fail "$n selected no relayed candidate: $l"
      nbt_log "$n: $l"
    done
    ;;
esac

rx0=$(rx_bytes b)
case $CASE in
  host|srflx|signal-restart)
    direct_traffic 5001
    ;;
  relay|relay-only)
    # A side whose own candidate is the relayed one sends and receives
    # through its agent (TURN); a side with a server-reflexive candidate
    # facing the other's relayed one hands its socket to WireGuard and
    # talks to the relayed address directly.
    # A side may select a pair that its own checks proved before the
    # controlling side nominates another (RFC 8445 §8.1.1): the last
    # selection, once none came for a second, is the one traffic takes.
    ping_over a "$OVER_B"
    settled() {
      cat "${ICE_PEER_LOG[a]}" "${ICE_PEER_LOG[b]}" | grep -c "^state=connected"
    }
    n0=$(settled)
    for _ in $(seq 1 10); do
      sleep 1
      n1=$(settled)
      [ "$n1" = "$n0" ] && break
      n0=$n1
    done
    relayed=()
    for n in a b; do
      l=$(grep "^state=connected" "${ICE_PEER_LOG[$n]}" | tail -n1)
      nbt_log "$n selected: $l"
      [[ "$(ice_field "$l" local_type)/$(ice_field "$l" remote_type)" == *relay* ]] ||
        nbt_fail "$n's last selected pair is not relayed: $l"
      if [ "$(ice_field "$l" local_type)" = relay ]; then
        relayed+=("$n")
        continue
      fi
      [ "$CASE" = relay-only ] && nbt_fail "$n offered only relayed candidates but selected $l"
      for _ in $(seq 1 500); do
        grep -q "^transport=socket" "${ICE_PEER_LOG[$n]}" && break
        sleep 0.02
      done
      grep -q "^transport=socket" "${ICE_PEER_LOG[$n]}" ||
        nbt_fail "$n did not hand its socket to WireGuard within 10 s ($l)"
    done
    [ "${#relayed[@]}" -gt 0 ] || nbt_fail "neither side's pair is relayed at its end"
    before_a=$(stats a)
    before_b=$(stats b)
    traffic 5001
    after_a=$(stats a)
    after_b=$(stats b)
    [ "$(settled)" = "$n1" ] || nbt_fail "a pair was selected during the transfer"
    for n in a b; do
      before=$(eval echo "\$before_$n")
      after=$(eval echo "\$after_$n")
      if [[ " ${relayed[*]} " == *" $n "* ]]; then
        [ "${after% *}" -gt "$(( ${before% *} + BYTES / 1500 ))" ] ||
          nbt_fail "$n's agent received $before -> $after datagrams: not the transfer through TURN"
        grep -q "^transport=socket" "${ICE_PEER_LOG[$n]}" && nbt_fail "$n put a relayed pair on a socket"
        nbt_log "$n through its TURN allocation: agent rx/tx $before -> $after"
      else
        [ "$before" = "$after" ] ||
          nbt_fail "$n's datagrams went through its agent, not the socket: $before -> $after"
        nbt_log "$n on its handed-over socket to the other's relayed address (agent rx/tx $after)"
      fi
    done
    if [ "$CASE" = relay ]; then
      # The direct pairs were tried, and the block is what failed them.
      blocked=$(ice_blocked_packets)
      [ "$blocked" -gt 0 ] || nbt_fail "no direct check was even tried between the NATs"
      nbt_log "direct UDP between the NATs dropped: $blocked datagrams"
    fi
    ;;
esac
rx1=$(rx_bytes b)
[ "$((rx1 - rx0))" -ge "$BYTES" ] ||
  nbt_fail "b's WireGuard peer received $((rx1 - rx0)) bytes for a $BYTES-byte transfer"

if [ "$CASE" = signal-restart ]; then
  ice_signal_stop
  ice_wait a "^signal=disconnected" 10 >/dev/null
  ice_wait b "^signal=disconnected" 10 >/dev/null
  # No Signal: the tunnel carries on, on the same sockets.
  direct_traffic 5101
  nbt_log "the tunnel works while Signal is down"
  ice_signal_start
  # The clients come back by themselves (backoff with jitter).
  for n in a b; do
    line=$(ice_wait "$n" "^signal=connected connects=2 " 20)
    nbt_log "$n: $line"
  done
  # A new negotiation through the new Signal.
  kill -USR1 "${ICE_PEER_PID[a]}"
  ice_wait a "^restart " 5 >/dev/null
  line2_a=$(pair_of a 2)
  line2_b=$(pair_of b 2)
  [ "$(ice_field "$line2_a" session)" != "$(ice_field "$line_a" session)" ] ||
    nbt_fail "a's second round kept its session id"
  [ "$(ice_field "$line2_b" session)" != "$(ice_field "$line_b" session)" ] ||
    nbt_fail "b did not restart with a"
  check_types a "$line2_a" srflx/srflx srflx/prflx
  check_types b "$line2_b" srflx/srflx srflx/prflx
  # The restart moved WireGuard back to the agent; once both sides are
  # done checking it is on the new sockets again.
  direct_traffic 5201 2
fi

ice_stop_peer a
ice_stop_peer b
nbt_log "a: $(grep '^exit ' "${ICE_PEER_LOG[a]}")"
nbt_log "b: $(grep '^exit ' "${ICE_PEER_LOG[b]}")"
echo "PASS"
