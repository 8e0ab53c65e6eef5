# nbnet.sh: a whole NetBird network in network namespaces, sourced after
# tests/lib/nbt.sh (whose trap stops every process and removes every
# namespace it made, on any exit). Used by the end-to-end tests
# (tests/e2e/), the connect benchmark and `./dev run` (tools/run-network).
#
# SPDX-License-Identifier: BSD-3-Clause
#
#   "public" namespace, bridge pubbr 198.18.0.1/16:
#     netbird-management :33073 (SQLite in $NBT_TMP/mgmt), netbird-signal
#     :10000, coturn :3478 (use-auth-secret, the secret Management signs
#     TURN credentials with)
#   a public peer:       its own namespace, eth0 198.18.1.N/16 on pubbr
#   a router:            wan 198.18.0.N/16 on pubbr, masquerading its LAN
#                        198.19.N.0/24 (bridge lan) and dropping what nobody
#                        inside asked for, as a home router does
#   a peer behind it:    its own namespace, eth0 198.19.N.M/24 on lan
#
# Each peer runs `netbird service run` on its own Unix socket and config in
# $NBT_TMP, and joins with `netbird up`. Names carry the test's pid: the
# namespaces nbt-NAME-PID-X, the interfaces nbPIDX (their UAPI sockets in
# /var/run/wireguard are shared by all namespaces).
#
#   NBT_NAME=e2e . tests/lib/nbt.sh
#   . tests/lib/nbnet.sh
#   nbnet_require
#   nbnet_services
#   nbnet_router ra
#   nbnet_peer p1 ra; nbnet_peer p2
#   nbnet_up p1; nbnet_up p2
#   nbnet_wait_connected p1 1
#   nbnet_ping p1 p2

NBNET_BUILD=${NB_BUILD_DIR:-./build}
NBNET_NETBIRD=${NETBIRD_CLI:-$NBNET_BUILD/netbird-cli/netbird}
NBNET_MGMT_BIN=${NETBIRD_MANAGEMENT:-$NBNET_BUILD/servers/netbird-management/netbird-management}
NBNET_SIGNAL_BIN=${NETBIRD_SIGNAL:-$NBNET_BUILD/servers/netbird-signal/netbird-signal}
NBNET_RELAY_BIN=${NETBIRD_RELAY:-$NBNET_BUILD/servers/netbird-relay/netbird-relay}
# Where Management's store, the peers' configs, sockets and logs go.
NBNET_DIR=${NBNET_DIR:-$NBT_TMP}
NBNET_PUBLIC=198.18.0.1
NBNET_MGMT_PORT=33073
NBNET_SIGNAL_PORT=10000
NBNET_TURN_PORT=3478
NBNET_TURN_SECRET=${NBNET_TURN_SECRET:-nbnet-turn-secret-$NBT_ID}
# NBNET_RELAY=1: netbird-relay too (WebSocket relay on :33080); Management
# hands it out with tokens signed with the relay's secret, and peers reach
# each other through it first, then directly when ICE finds a path.
NBNET_RELAY=${NBNET_RELAY:-0}
NBNET_RELAY_PORT=33080
NBNET_RELAY_URL="rel://$NBNET_PUBLIC:$NBNET_RELAY_PORT"
NBNET_MGMT_URL="http://$NBNET_PUBLIC:$NBNET_MGMT_PORT"
# Namespace and interface names (./dev run picks shorter, fixed ones).
NBNET_NS_PREFIX=${NBNET_NS_PREFIX:-nbt-$NBT_NAME-$NBT_ID-}
NBNET_IF_PREFIX=${NBNET_IF_PREFIX:-nb$NBT_ID}
NBNET_NS_PUB="${NBNET_NS_PREFIX}pub"
NBNET_MGMT_PID=""
NBNET_SIGNAL_PID=""
NBNET_TOKEN=""
NBNET_SETUP_KEY=""
NBNET_N_ROUTERS=0
NBNET_N_PEERS=0
declare -A NBNET_NS NBNET_IF NBNET_DAEMON_PID NBNET_ROUTER_IDX NBNET_LAN_N NBNET_UNDERLAY

# NBNET_KEEP_LOGS=DIR keeps every log of the run there (nbt.sh removes
# them with the rest).
nbnet_keep_logs() {
  [ -n "${NBNET_KEEP_LOGS:-}" ] && [ -n "$NBT_TMP" ] || return 0
  mkdir -p "$NBNET_KEEP_LOGS" && cp "$NBNET_DIR"/*.log "$NBNET_KEEP_LOGS"/ 2>/dev/null
  return 0
}
# set +e first: under errexit the (exit RC) that hands nbt_cleanup the
# status would end the trap before the cleanup.
trap 'nbnet_rc=$?; set +e; nbnet_keep_logs; (exit $nbnet_rc); nbt_cleanup' EXIT

nbnet_require() {
  [ "$(id -u)" = 0 ] || nbt_skip "needs root (network namespaces, TUN devices)"
  local missing="" tool
  for tool in ip nft nsenter turnserver curl jq nc ping; do
    command -v "$tool" >/dev/null || missing+=" $tool"
  done
  [ -z "$missing" ] ||
    nbt_fail "needs$missing; ./dev installs them (as root a missing tool is a failure, not a skip)"
  local bin
  for bin in "$NBNET_NETBIRD" "$NBNET_MGMT_BIN" "$NBNET_SIGNAL_BIN"; do
    [ -x "$bin" ] || nbt_fail "no $bin (set NB_BUILD_DIR)"
  done
}

nbnet_ns_add() {
  ip netns add "$1"
  NBT_NAMESPACES+=("$1")
  ip -n "$1" link set lo up
}

# nbnet_in NAME CMD...: CMD in peer (or router) NAME's namespace.
nbnet_in() {
  local name=$1
  shift
  ip netns exec "${NBNET_NS[$name]}" "$@"
}

nbnet_pub() {
  ip netns exec "$NBNET_NS_PUB" "$@"
}

# nbnet_wait_for SECS DESCRIPTION CMD...: polls CMD every 50 ms.
nbnet_wait_for() {
  local secs=$1 what=$2
  shift 2
  local end=$((SECONDS + secs))
  while ! "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || nbt_fail "$what: not within $secs s"
    sleep 0.05
  done
}

# ---- the public network and its servers

nbnet_public() {
  [ -n "${NBNET_NS[pub]:-}" ] && return 0
  nbnet_ns_add "$NBNET_NS_PUB"
  NBNET_NS[pub]=$NBNET_NS_PUB
  ip -n "$NBNET_NS_PUB" link add pubbr type bridge
  ip -n "$NBNET_NS_PUB" addr add "$NBNET_PUBLIC/16" dev pubbr
  ip -n "$NBNET_NS_PUB" link set pubbr up
}

nbnet_coturn() {
  local log=$NBNET_DIR/coturn.log pid
  (exec nsenter --net="/var/run/netns/$NBNET_NS_PUB" turnserver -n \
    --listening-ip "$NBNET_PUBLIC" --listening-port "$NBNET_TURN_PORT" \
    --relay-ip "$NBNET_PUBLIC" --min-port 49152 --max-port 65535 \
    --use-auth-secret --static-auth-secret "$NBNET_TURN_SECRET" --realm netbird.test \
    --no-tcp --no-tls --no-dtls --no-cli --no-tcp-relay --no-multicast-peers \
    --simple-log --log-file "$log" --pidfile "") >"$NBNET_DIR/coturn.out" 2>&1 &
  pid=$!
  NBT_PIDS+=("$pid")
  nbnet_wait_for 10 "coturn listening on $NBNET_PUBLIC:$NBNET_TURN_PORT" \
    nbnet_listening "$pid" udp "$NBNET_PUBLIC:$NBNET_TURN_PORT"
}

# nbnet_listening PID udp|tcp ADDR:PORT: the process lives and the port is
# bound in the public namespace.
nbnet_listening() {
  kill -0 "$1" 2>/dev/null || nbt_fail "a server exited at start (pid $1): see $NBNET_DIR/*.log"
  nbnet_pub ss "-ln${2:0:1}" | grep -q " $3 "
}

nbnet_signal() {
  local log=$NBNET_DIR/signal.log pid
  (exec nsenter --net="/var/run/netns/$NBNET_NS_PUB" env G_MESSAGES_DEBUG="${NBT_DEBUG:-}" \
    "$NBNET_SIGNAL_BIN" --listen "$NBNET_PUBLIC:$NBNET_SIGNAL_PORT") >>"$log" 2>&1 &
  pid=$!
  NBNET_SIGNAL_PID=$pid
  NBT_PIDS+=("$pid")
  nbnet_wait_for 10 "netbird-signal listening" nbnet_listening "$pid" tcp "$NBNET_PUBLIC:$NBNET_SIGNAL_PORT"
}

# nbnet_relay: netbird-relay in the public namespace; its secret in a
# file (mode 0600) that Management reads too.
nbnet_relay() {
  local log=$NBNET_DIR/relay.log pid
  (umask 077; echo "nbnet-relay-secret-$NBT_ID-$RANDOM$RANDOM" >"$NBNET_DIR/relay-secret")
  (exec nsenter --net="/var/run/netns/$NBNET_NS_PUB" env G_MESSAGES_DEBUG="${NBT_DEBUG:-}" \
    "$NBNET_RELAY_BIN" --listen "$NBNET_PUBLIC:$NBNET_RELAY_PORT" \
    --auth-secret-file "$NBNET_DIR/relay-secret") >>"$log" 2>&1 &
  pid=$!
  NBT_PIDS+=("$pid")
  nbnet_wait_for 10 "netbird-relay listening" nbnet_listening "$pid" tcp "$NBNET_PUBLIC:$NBNET_RELAY_PORT"
}

# Management's configuration: Signal, STUN and TURN on the public address;
# the TURN credentials it hands out are HMACs with coturn's secret.
nbnet_mgmt_config() {
  jq -n --arg sig "ws://$NBNET_PUBLIC:$NBNET_SIGNAL_PORT" \
    --arg stun "stun:$NBNET_PUBLIC:$NBNET_TURN_PORT" \
    --arg turn "turn:$NBNET_PUBLIC:$NBNET_TURN_PORT?transport=udp" \
    --arg secret "$NBNET_TURN_SECRET" \
    '{signal: {uri: $sig}, stuns: [$stun], turn: {uris: [$turn], secret: $secret}}' \
    >"$NBNET_DIR/management.json"
}

# nbnet_mgmt_start: Management in the public namespace on its SQLite store
# (kept across restarts); the admin token and setup key of its first start.
nbnet_mgmt_start() {
  local log=$NBNET_DIR/management.log relay=()
  nbnet_mgmt_config
  mkdir -p "$NBNET_DIR/mgmt"
  [ "$NBNET_RELAY" = 1 ] &&
    relay=(--relay-url "$NBNET_RELAY_URL" --relay-secret-file "$NBNET_DIR/relay-secret")
  (exec nsenter --net="/var/run/netns/$NBNET_NS_PUB" env G_MESSAGES_DEBUG="${NBT_DEBUG:-}" \
    "$NBNET_MGMT_BIN" --listen "$NBNET_PUBLIC:$NBNET_MGMT_PORT" --data-dir "$NBNET_DIR/mgmt" \
    --config "$NBNET_DIR/management.json" "${relay[@]}") >>"$log" 2>&1 &
  NBNET_MGMT_PID=$!
  NBT_PIDS+=("$NBNET_MGMT_PID")
  nbnet_wait_for 20 "netbird-management listening" \
    nbnet_listening "$NBNET_MGMT_PID" tcp "$NBNET_PUBLIC:$NBNET_MGMT_PORT"
  local creds=$NBNET_DIR/mgmt/initial-credentials.json
  NBNET_TOKEN=$(jq -r .admin_token "$creds")
  NBNET_SETUP_KEY=$(jq -r .setup_key "$creds")
  [ -n "$NBNET_TOKEN" ] && [ "$NBNET_TOKEN" != null ] || nbt_fail "no admin token in $creds"
}

# nbnet_mgmt_stop [SIGNAL]: Management gone (SIGTERM, or KILL as a crash).
nbnet_mgmt_stop() {
  kill "-${1:-TERM}" "$NBNET_MGMT_PID" 2>/dev/null || true
  wait "$NBNET_MGMT_PID" 2>/dev/null || true
}

nbnet_services() {
  nbnet_public
  nbnet_coturn
  nbnet_signal
  [ "$NBNET_RELAY" = 1 ] && nbnet_relay
  nbnet_mgmt_start
}

# nbnet_api METHOD PATH [JSON]: Management's REST API with the admin token;
# prints the answer, fails on an HTTP error.
nbnet_api() {
  local method=$1 path=$2 body=${3:-}
  local args=(-sS --fail-with-body -X "$method" -H "Authorization: Token $NBNET_TOKEN"
              --max-time 10)
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data "$body")
  nbnet_pub curl "${args[@]}" "$NBNET_MGMT_URL/api/$path" ||
    nbt_fail "REST $method /api/$path failed"
}

# nbnet_peer_id NAME: the id Management gave peer NAME (by its hostname).
nbnet_peer_id() {
  nbnet_api GET peers | jq -r --arg n "$1" '.[] | select(.hostname == $n or .name == $n) | .id' |
    head -n1
}

# nbnet_group NAME PEER...: a group holding those peers; prints its id.
nbnet_group() {
  local name=$1 ids=() p
  shift
  for p in "$@"; do ids+=("$(nbnet_peer_id "$p")"); done
  nbnet_api POST groups "$(jq -cn --arg n "$name" '{name: $n, peers: $ARGS.positional}' \
    --args "${ids[@]}")" | jq -r .id
}

# nbnet_setup_key NAME [GROUP_ID...]: a new reusable setup key; prints it.
nbnet_setup_key() {
  local name=$1
  shift
  nbnet_api POST setup-keys "$(jq -cn --arg n "$name" \
    '{name: $n, type: "reusable", expires_in: 86400, auto_groups: $ARGS.positional}' \
    --args "$@")" | jq -r .key
}

# ---- routers and peers

# nbnet_router NAME: a NAT router on the public network.
nbnet_router() {
  local name=$1 ns="$NBNET_NS_PREFIX$1"
  nbnet_public
  NBNET_N_ROUTERS=$((NBNET_N_ROUTERS + 1))
  local n=$NBNET_N_ROUTERS
  NBNET_ROUTER_IDX[$name]=$n
  NBNET_LAN_N[$name]=0
  NBNET_NS[$name]=$ns
  nbnet_ns_add "$ns"
  ip -n "$NBNET_NS_PUB" link add "r$name" type veth peer name wan netns "$ns"
  ip -n "$NBNET_NS_PUB" link set "r$name" master pubbr up
  ip -n "$ns" addr add "198.18.0.$((100 + n))/16" dev wan
  ip -n "$ns" link set wan up
  ip -n "$ns" link add lan type bridge
  ip -n "$ns" addr add "198.19.$n.1/24" dev lan
  ip -n "$ns" link set lan up
  ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
  # Masquerade keeps the source port when it is free, so the mapping does
  # not depend on the destination and hole punching works; unsolicited
  # packets from outside are dropped, to the router and through it.
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

# nbnet_router_block_udp NAME: the router forwards no UDP at all (a network
# that lets only TCP out, as some corporate ones do): its peers reach no
# STUN or TURN server and no other peer directly, only the WebSocket relay.
nbnet_router_block_udp() {
  ip netns exec "${NBNET_NS[$1]:?no router $1}" nft insert rule ip filter forward meta l4proto udp drop
}

# nbnet_peer NAME [ROUTER]: a host namespace, on the public network or
# behind ROUTER; nothing runs in it yet.
nbnet_peer() {
  local name=$1 router=${2:-} ns="$NBNET_NS_PREFIX$1"
  nbnet_public
  NBNET_N_PEERS=$((NBNET_N_PEERS + 1))
  local n=$NBNET_N_PEERS
  NBNET_NS[$name]=$ns
  NBNET_IF[$name]="$NBNET_IF_PREFIX$name"
  nbnet_ns_add "$ns"
  if [ -z "$router" ]; then
    local addr="198.18.$((1 + n / 250)).$((1 + n % 250))"
    ip -n "$NBNET_NS_PUB" link add "v$name" type veth peer name eth0 netns "$ns"
    ip -n "$NBNET_NS_PUB" link set "v$name" master pubbr up
    ip -n "$ns" addr add "$addr/16" dev eth0
    ip -n "$ns" link set eth0 up
  else
    local r=${NBNET_ROUTER_IDX[$router]:?no router $router}
    local m=$((NBNET_LAN_N[$router] + 10))
    NBNET_LAN_N[$router]=$((NBNET_LAN_N[$router] + 1))
    local addr="198.19.$r.$m"
    ip -n "${NBNET_NS[$router]}" link add "h$name" type veth peer name eth0 netns "$ns"
    ip -n "${NBNET_NS[$router]}" link set "h$name" master lan up
    ip -n "$ns" addr add "$addr/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via "198.19.$r.1"
  fi
  NBNET_UNDERLAY[$name]=$addr
  nbnet_make_resolv_conf "$name"
}

nbnet_sock() { echo "$NBNET_DIR/$1.sock"; }

# nbnet_resolv_conf NAME: the resolv.conf NAME's daemon sees as
# /etc/resolv.conf (`ip netns exec` binds /etc/netns/NS/resolv.conf over
# it), so the client's DNS host configuration works on that one and never
# on this machine's. Its first nameserver is $NBNET_UPSTREAM_DNS (the
# public namespace's address by default).
nbnet_resolv_conf() {
  echo "/etc/netns/${NBNET_NS[$1]}/resolv.conf"
}

# nbnet_make_resolv_conf NAME: NAME's own resolv.conf, made with its
# namespace, so every process `nbnet_in NAME` runs (a daemon, a client in
# Python) sees that one as /etc/resolv.conf and never this machine's.
nbnet_make_resolv_conf() {
  local resolv
  resolv=$(nbnet_resolv_conf "$1")
  [ -n "${NBNET_NS[$1]:-}" ] || nbt_fail "no namespace for $1"
  mkdir -p "$(dirname "$resolv")"
  printf '# %s: nbnet peer %s\nnameserver %s\noptions timeout:2\n' \
    "${NBNET_NS[$1]}" "$1" "${NBNET_UPSTREAM_DNS:-$NBNET_PUBLIC}" >"$resolv"
}

# nbnet_daemon NAME: `netbird service run` in NAME's namespace, on its own
# socket, config and resolv.conf; waits for the socket.
nbnet_daemon() {
  local name=$1 sock log=$NBNET_DIR/$1.log pid resolv
  sock=$(nbnet_sock "$name")
  rm -f "$sock"
  resolv=$(nbnet_resolv_conf "$name")
  [ -e "$resolv" ] || nbnet_make_resolv_conf "$name"
  (exec ip netns exec "${NBNET_NS[$name]}" \
    env -u NB_DNS_RESOLV_CONF G_MESSAGES_DEBUG="${NBT_DEBUG:-}" ${NBNET_DAEMON_ENV:-} \
    "$NBNET_NETBIRD" service run --daemon-addr "unix://$sock" -c "$NBNET_DIR/$name.json" \
    -l "${NBNET_LOG_LEVEL:-info}") >>"$log" 2>&1 &
  pid=$!
  NBNET_DAEMON_PID[$name]=$pid
  NBT_PIDS+=("$pid")
  NBT_SOCKETS+=("/var/run/wireguard/${NBNET_IF[$name]}.sock")
  local end=$((SECONDS + 10))
  until [ -S "$sock" ]; do
    kill -0 "$pid" 2>/dev/null || nbt_fail "daemon $name exited at start: $(tail -n 5 "$log")"
    [ $SECONDS -lt $end ] || nbt_fail "daemon $name: no socket $sock after 10 s"
    sleep 0.02
  done
}

# nbnet_daemon_stop NAME [SIGNAL]: the daemon gone; SIGTERM must end it
# within 10 s with status 0 (a sanitizer's report makes it non-zero).
nbnet_daemon_stop() {
  local name=$1 sig=${2:-TERM} pid=${NBNET_DAEMON_PID[$1]} rc=0
  kill "-$sig" "$pid" 2>/dev/null || nbt_fail "daemon $name is not running"
  local end=$((SECONDS + 10))
  while kill -0 "$pid" 2>/dev/null; do
    [ $SECONDS -lt $end ] || nbt_fail "daemon $name did not exit within 10 s of SIG$sig"
    sleep 0.05
  done
  wait "$pid" 2>/dev/null || rc=$?
  NBNET_DAEMON_PID[$name]=""
  [ "$sig" != TERM ] || [ "$rc" = 0 ] ||
    nbt_fail "daemon $name exited with status $rc on SIGTERM: $(tail -n 20 "$NBNET_DIR/$name.log")"
}

# nbnet_finish: every daemon, Management and Signal stopped with SIGTERM,
# each of which must exit 0: the end of a test that passed.
nbnet_finish() {
  local name rc
  for name in "${!NBNET_DAEMON_PID[@]}"; do
    [ -n "${NBNET_DAEMON_PID[$name]}" ] && nbnet_daemon_stop "$name"
  done
  for name in management signal; do
    local pid=$NBNET_MGMT_PID
    [ $name = signal ] && pid=$NBNET_SIGNAL_PID
    [ -n "$pid" ] || continue
    kill -TERM "$pid" 2>/dev/null || nbt_fail "$name is not running at the end"
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" = 0 ] || nbt_fail "$name exited with status $rc on SIGTERM: $(tail -n 20 "$NBNET_DIR/$name.log")"
  done
  NBNET_MGMT_PID=""
  NBNET_SIGNAL_PID=""
}

# nbnet_cli NAME ARGS...: the CLI against NAME's daemon.
nbnet_cli() {
  local name=$1
  shift
  "$NBNET_NETBIRD" --daemon-addr "unix://$(nbnet_sock "$name")" "$@"
}

# nbnet_up NAME [SETUP_KEY] [more `up` options]: starts the daemon if it
# does not run, and joins with the setup key (the initial one by default).
nbnet_up() {
  local name=$1 key=${2:-$NBNET_SETUP_KEY}
  shift
  [ $# -gt 0 ] && shift
  [ -n "${NBNET_DAEMON_PID[$name]:-}" ] || nbnet_daemon "$name"
  nbnet_cli "$name" up -m "$NBNET_MGMT_URL" -k "$key" -n "$name" \
    --interface-name "${NBNET_IF[$name]}" "$@" >>"$NBNET_DIR/$name.cli.log" 2>&1 ||
    nbt_fail "netbird up on $name failed: $(tail -n 5 "$NBNET_DIR/$name.cli.log")"
}

nbnet_status() {
  nbnet_cli "$1" status --json
}

# nbnet_ip NAME: NAME's overlay address, without its prefix length.
nbnet_ip() {
  nbnet_status "$1" | jq -r '.netbirdIp | sub("/.*"; "")'
}

# nbnet_connected_count NAME: how many peers NAME's status shows Connected.
nbnet_connected_count() {
  nbnet_status "$1" | jq '[.peers.details[] | select(.status == "Connected")] | length'
}

# nbnet_has_connected NAME N: at least N peers Connected.
nbnet_has_connected() {
  [ "$(nbnet_connected_count "$1" 2>/dev/null || echo 0)" -ge "$2" ]
}

# nbnet_wait_connected NAME N [SECS]: waits until N peers are Connected.
nbnet_wait_connected() {
  local name=$1 n=$2 secs=${3:-30}
  local end=$((SECONDS + secs))
  until nbnet_has_connected "$name" "$n"; do
    if [ $SECONDS -ge $end ]; then
      nbnet_status "$name" >&2 || true
      nbt_fail "$name: $n peer(s) not Connected within $secs s"
    fi
    sleep 0.1
  done
}

# nbnet_peer_status NAME OTHER: OTHER's entry in NAME's status (empty when
# NAME does not list it).
nbnet_peer_status() {
  local ip
  ip=$(nbnet_ip "$2")
  nbnet_status "$1" | jq -c --arg ip "$ip" '.peers.details[] | select((.netbirdIp | sub("/.*"; "")) == $ip)'
}

# nbnet_ping FROM TO [COUNT]: COUNT (default 3) answers within
# NBNET_PING_WAIT seconds (default 10); an answer that took over a second
# is logged, so a slow path shows in the test's output.
nbnet_ping() {
  nbnet_ping_ip "$1" "$(nbnet_ip "$2")" "${3:-3}"
}

# nbnet_ping_ip FROM ADDRESS [COUNT]
nbnet_ping_ip() {
  local t0 ms
  t0=$(date +%s%N)
  nbnet_in "$1" ping -q -c "${3:-3}" -i 0.1 -w "${NBNET_PING_WAIT:-10}" "$2" >/dev/null 2>&1 ||
    return 1
  ms=$((($(date +%s%N) - t0) / 1000000))
  [ "$ms" -le $((1000 + ${3:-3} * 100)) ] || nbt_log "slow: $1 -> $2 answered after $ms ms"
  return 0
}

# nbnet_unreachable FROM ADDRESS: no answer to 5 pings over 1.5 s.
nbnet_unreachable() {
  ! nbnet_in "$1" ping -q -c 5 -i 0.2 -W 1 "$2" >/dev/null 2>&1
}
