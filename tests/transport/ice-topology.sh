# ice-topology.sh: two NATed LANs and a public network in namespaces, and
# nb-ice-peer hosts on them; sourced by test-ice-nat.sh and tests/bench/ice.sh
# after tests/lib/nbt.sh (whose trap removes everything on any exit).
#
# SPDX-License-Identifier: BSD-3-Clause
#
#   net (198.18.0.10/30, forwards nothing)
#              |
#          public (198.18.0.1: coturn :3478, netbird-signal :10000;
#                  uplink 198.18.0.9/30, default route to net)
#        wa 198.18.0.1/30          wb 198.18.0.5/30
#              |                          |
#   wan 198.18.0.2/30  router a   wan 198.18.0.6/30  router b
#   lan 198.18.1.1/24 (bridge)    lan 198.18.2.1/24 (bridge)
#        |        |                       |
#   198.18.1.10  198.18.1.11         198.18.2.10
#
# Each router masquerades its LAN behind its WAN address with nftables
# (Linux keeps the source port when it is free, so the mapping does not
# depend on the destination: what STUN saw is what the other peer reaches)
# and drops unsolicited traffic to itself, as a home router does: a check
# that arrives before the hole is punched leaves no conntrack entry behind
# that would make the NAT pick another port later. The public namespace
# routes between the routers; ice_block_nat_udp drops UDP between their
# WAN addresses there, so only TURN gets through. Its default route ends in
# a namespace that drops what it gets, as the Internet drops datagrams to
# private addresses (ice_topology says why coturn needs one). Nothing routes
# out of the namespaces.

ICE_PUBLIC=198.18.0.1
ICE_WAN_A=198.18.0.2
ICE_WAN_B=198.18.0.6
ICE_TURN_PORT=3478
ICE_TURN_SECRET=${ICE_TURN_SECRET:-nb-ice-test-secret}
ICE_NS_PUB="nbt-$NBT_NAME-$NBT_ID-pub"
ICE_NS_NET="nbt-$NBT_NAME-$NBT_ID-net"
ICE_NS_RA="nbt-$NBT_NAME-$NBT_ID-ra"
ICE_NS_RB="nbt-$NBT_NAME-$NBT_ID-rb"
ICE_BUILD=${NB_BUILD_DIR:-./build}
ICE_PEER_BIN=${NB_ICE_PEER:-$ICE_BUILD/tests/transport/nb-ice-peer}
ICE_SIGNAL_BIN=${NETBIRD_SIGNAL:-$ICE_BUILD/servers/netbird-signal/netbird-signal}
ICE_SIGNAL_PORT=10000
ICE_SIGNAL_PID=""
declare -A ICE_PEER_PID ICE_PEER_LOG ICE_PEER_NS ICE_PEER_IF

ice_require() {
  [ "$(id -u)" = 0 ] || nbt_skip "needs root (network namespaces, TUN devices)"
  local missing="" tool
  for tool in ip nft nsenter turnserver wg; do
    command -v "$tool" >/dev/null || missing+=" $tool"
  done
  [ -z "$missing" ] ||
    nbt_fail "needs$missing; ./dev installs them (as root a missing tool is a failure, not a skip)"
  [ -x "$ICE_PEER_BIN" ] || nbt_fail "no nb-ice-peer at $ICE_PEER_BIN (set NB_BUILD_DIR)"
  [ -x "$ICE_SIGNAL_BIN" ] || nbt_fail "no netbird-signal at $ICE_SIGNAL_BIN (set NB_BUILD_DIR)"
}

ice_ns_add() {
  ip netns add "$1"
  NBT_NAMESPACES+=("$1")
  ip -n "$1" link set lo up
}

# ice_router SIDE WAN_ADDR PUB_ADDR PUB_IF LAN_PREFIX: router namespace
# with its WAN link to the public namespace and a LAN bridge.
ice_router() {
  local ns=$1 wan=$2 pub=$3 pubif=$4 lan=$5
  ice_ns_add "$ns"
  ip -n "$ICE_NS_PUB" link add "$pubif" type veth peer name wan netns "$ns"
  ip -n "$ICE_NS_PUB" addr add "$pub/30" dev "$pubif"
  ip -n "$ICE_NS_PUB" link set "$pubif" up
  ip -n "$ns" addr add "$wan/30" dev wan
  ip -n "$ns" link set wan up
  ip -n "$ns" route add default via "$pub"
  ip -n "$ns" link add lan type bridge
  ip -n "$ns" addr add "$lan.1/24" dev lan
  ip -n "$ns" link set lan up
  ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
  ip netns exec "$ns" nft -f - <<EOF
table ip nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" masquerade
  }
}
table ip filter {
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "wan" ct state established,related accept
    iifname "wan" drop
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "wan" ct state established,related accept
    iifname "wan" drop
  }
}
EOF
}

# The public namespace and both routers.
ice_topology() {
  ice_ns_add "$ICE_NS_PUB"
  ip netns exec "$ICE_NS_PUB" sysctl -qw net.ipv4.ip_forward=1
  # An uplink, as any host on the Internet has: what is for no address
  # here (the LANs' private ones, which ICE offers as host candidates)
  # leaves by the default route and is lost on the way. Without it a send
  # to such an address fails at once (ENETUNREACH), and coturn, relaying a
  # check to the other peer's host candidate, closes the whole allocation
  # of the peer that asked (see test-ice-nat.sh, case relay).
  # The far end is a namespace that forwards nothing, so it drops them
  # without a word, as the Internet does with private destinations.
  ice_ns_add "$ICE_NS_NET"
  ip -n "$ICE_NS_PUB" link add uplink type veth peer name pub netns "$ICE_NS_NET"
  ip -n "$ICE_NS_PUB" addr add 198.18.0.9/30 dev uplink
  ip -n "$ICE_NS_PUB" link set uplink up
  ip -n "$ICE_NS_NET" addr add 198.18.0.10/30 dev pub
  ip -n "$ICE_NS_NET" link set pub up
  ip netns exec "$ICE_NS_NET" sysctl -qw net.ipv4.ip_forward=0
  ip -n "$ICE_NS_PUB" route add default via 198.18.0.10
  ice_router "$ICE_NS_RA" "$ICE_WAN_A" 198.18.0.1 wa 198.18.1
  ice_router "$ICE_NS_RB" "$ICE_WAN_B" 198.18.0.5 wb 198.18.2
}

# UDP between the two NATs' public addresses is dropped: no hole punching,
# only TURN.
ice_block_nat_udp() {
  ip netns exec "$ICE_NS_PUB" nft -f - <<EOF
table ip block {
  chain forward {
    type filter hook forward priority filter; policy accept;
    ip saddr $ICE_WAN_A ip daddr $ICE_WAN_B meta l4proto udp counter drop
    ip saddr $ICE_WAN_B ip daddr $ICE_WAN_A meta l4proto udp counter drop
  }
}
EOF
}

# Packets the block above dropped (0 when there is no block).
ice_blocked_packets() {
  ip netns exec "$ICE_NS_PUB" nft list table ip block 2>/dev/null |
    awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) } END { print n + 0 }'
}

# ice_host NAME ROUTER_NS ADDR: a LAN namespace behind a router.
ice_host() {
  local name=$1 router=$2 addr=$3
  local ns="nbt-$NBT_NAME-$NBT_ID-$name"
  local gw=${addr%.*}.1
  ice_ns_add "$ns"
  ip -n "$router" link add "h$name" type veth peer name eth0 netns "$ns"
  ip -n "$router" link set "h$name" master lan up
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via "$gw"
  ICE_PEER_NS[$name]=$ns
}

ice_in() {
  local name=$1
  shift
  ip netns exec "${ICE_PEER_NS[$name]}" "$@"
}

# coturn in the public namespace, in the foreground, with the shared secret
# Management would hand out credentials for.
ice_coturn() {
  local log=$NBT_TMP/coturn.log
  (exec nsenter --net="/var/run/netns/$ICE_NS_PUB" turnserver -n \
    --listening-ip "$ICE_PUBLIC" --listening-port "$ICE_TURN_PORT" \
    --relay-ip "$ICE_PUBLIC" --min-port 49152 --max-port 49407 \
    --use-auth-secret --static-auth-secret "$ICE_TURN_SECRET" --realm netbird.test \
    --no-tcp --no-tls --no-dtls --no-cli --no-tcp-relay --no-multicast-peers \
    --simple-log --log-file "$log" --pidfile "" ${ICE_COTURN_ARGS:-}) >"$NBT_TMP/coturn.out" 2>&1 &
  NBT_PIDS+=("$!")
  local pid=$!
  for _ in $(seq 1 100); do
    ip netns exec "$ICE_NS_PUB" ss -lun 2>/dev/null | grep -q "$ICE_PUBLIC:$ICE_TURN_PORT " && return 0
    kill -0 "$pid" 2>/dev/null || nbt_fail "coturn exited at start: $(tail -n 5 "$NBT_TMP/coturn.out")"
    sleep 0.05
  done
  nbt_fail "coturn does not listen on $ICE_PUBLIC:$ICE_TURN_PORT after 5 s"
}

# netbird-signal in the public namespace, in the foreground.
ice_signal_start() {
  local out=$NBT_TMP/signal.log
  : >"$out"
  (exec nsenter --net="/var/run/netns/$ICE_NS_PUB" env G_MESSAGES_DEBUG="${NBT_DEBUG:-}" \
    "$ICE_SIGNAL_BIN" --listen "$ICE_PUBLIC:$ICE_SIGNAL_PORT") >>"$out" 2>&1 &
  ICE_SIGNAL_PID=$!
  NBT_PIDS+=("$ICE_SIGNAL_PID")
  for _ in $(seq 1 100); do
    grep -q "^Listening on" "$out" && return 0
    kill -0 "$ICE_SIGNAL_PID" 2>/dev/null || nbt_fail "netbird-signal exited: $(tail -n 5 "$out")"
    sleep 0.05
  done
  nbt_fail "netbird-signal does not listen after 5 s"
}

# Signal gone at once, as a crash or a killed machine leaves it.
ice_signal_stop() {
  kill -KILL "$ICE_SIGNAL_PID" 2>/dev/null || true
  wait "$ICE_SIGNAL_PID" 2>/dev/null || true
}

# Keys of two peers: $NBT_TMP/NAME.key and .pub.
ice_keys() {
  local name
  for name in "$@"; do
    wg genkey >"$NBT_TMP/$name.key"
    wg pubkey <"$NBT_TMP/$name.key" >"$NBT_TMP/$name.pub"
  done
}

# ice_peer NAME OVERLAY OTHER OTHER_OVERLAY [nb-ice-peer options]: starts a
# peer in NAME's namespace, talking to OTHER; its output goes to
# $NBT_TMP/NAME.log.
ice_peer() {
  local name=$1 overlay=$2 other=$3 other_overlay=$4
  shift 4
  local ifname="nbi${NBT_ID}$name"
  local log=$NBT_TMP/$name.log
  ICE_PEER_IF[$name]=$ifname
  ICE_PEER_LOG[$name]=$log
  NBT_SOCKETS+=("/var/run/wireguard/$ifname.sock")
  (exec nsenter --net="/var/run/netns/${ICE_PEER_NS[$name]}" env G_MESSAGES_DEBUG="${NBT_DEBUG:-}" \
    "$ICE_PEER_BIN" --ifname "$ifname" --address "$overlay/10" \
    --private-key "$NBT_TMP/$name.key" --peer-key "$(cat "$NBT_TMP/$other.pub")" \
    --peer-allowed-ip "$other_overlay/32" --signal "ws://$ICE_PUBLIC:$ICE_SIGNAL_PORT" "$@") >"$log" 2>&1 &
  ICE_PEER_PID[$name]=$!
  NBT_PIDS+=("$!")
}

# ice_stop_peer NAME: SIGTERM, and it must exit 0 within 5 s.
ice_stop_peer() {
  local name=$1 pid=${ICE_PEER_PID[$1]} rc=0
  kill -TERM "$pid" 2>/dev/null || nbt_fail "peer $name is not running"
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && nbt_fail "peer $name did not exit within 5 s of SIGTERM"
  wait "$pid" || rc=$?
  [ "$rc" = 0 ] || nbt_fail "peer $name exited with $rc on SIGTERM"
  grep -q "^exit " "${ICE_PEER_LOG[$name]}" || nbt_fail "peer $name did not say goodbye"
}

# ice_wait NAME REGEX [SECONDS]: waits for a line of NAME's output; prints it.
ice_wait() {
  local name=$1 re=$2 secs=${3:-20} line
  local log=${ICE_PEER_LOG[$name]}
  for _ in $(seq 1 $((secs * 50))); do
    line=$(grep -E -m1 "$re" "$log" 2>/dev/null) && { echo "$line"; return 0; }
    kill -0 "${ICE_PEER_PID[$name]}" 2>/dev/null || nbt_fail "peer $name exited: $(tail -n 20 "$log")"
    sleep 0.02
  done
  nbt_fail "peer $name: no line matching '$re' within $secs s"
}

# ice_field LINE KEY: a key=value word of a line.
ice_field() {
  tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { sub(/^[^=]*=/, ""); print; exit }'
}

# ICE_KEEP_LOGS=DIR keeps every log of the run there (for a failure that
# needs more than the last lines nbt.sh prints).
ice_keep_logs() {
  [ -n "${ICE_KEEP_LOGS:-}" ] && [ -n "$NBT_TMP" ] || return 0
  mkdir -p "$ICE_KEEP_LOGS" && cp "$NBT_TMP"/*.log "$ICE_KEEP_LOGS"/ 2>/dev/null
  return 0
}
# set +e first: under errexit the (exit RC) that hands nbt_cleanup the
# status would end the trap before the cleanup on any failure.
trap 'ice_rc=$?; set +e; ice_keep_logs; (exit $ice_rc); nbt_cleanup' EXIT
