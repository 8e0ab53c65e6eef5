# nbt.sh: network-namespace test harness, sourced by the interop tests and
# the tunnel benchmark.
#
# SPDX-License-Identifier: BSD-3-Clause
#
# Two namespaces per test, joined by a veth pair on 198.18.0.0/24; WireGuard
# interfaces of either implementation ("netbird" = our netbird-wg, or
# "wireguard-go") on 100.64.0.0/24. Names carry the test's name and pid, so
# tests can run side by side; everything a test made (namespaces, daemons,
# sockets, files) is removed on exit, whatever the exit.
#
#   NBT_NAME=ping . tests/lib/nbt.sh
#   nbt_require_root
#   nbt_pair
#   nbt_tunnel netbird wireguard-go
#   nbt_in a ping -c1 100.64.0.2

set -euo pipefail

NBT_NAME=${NBT_NAME:-t}
NBT_ID=$$
NBT_NS_A="nbt-$NBT_NAME-$NBT_ID-a"
NBT_NS_B="nbt-$NBT_NAME-$NBT_ID-b"
# Interface names are at most 15 bytes and the socket directory is shared
# by all namespaces: the pid keeps them apart.
NBT_IF_A="nbt${NBT_ID}a"
NBT_IF_B="nbt${NBT_ID}b"
NBT_UNDER_A=198.18.0.1
NBT_UNDER_B=198.18.0.2
NBT_OVER_A=100.64.0.1
NBT_OVER_B=100.64.0.2
NBT_UNDER6_A=fd00:18::1
NBT_UNDER6_B=fd00:18::2
NBT_OVER6_A=fd00:64::1
NBT_OVER6_B=fd00:64::2
NBT_PORT_A=51820
NBT_PORT_B=51821
NBT_TMP=""
NBT_PIDS=()
NBT_NAMESPACES=()
NBT_SOCKETS=()
WG_GO=${WG_GO:-wireguard-go}
PY=/usr/bin/python3
# Keys are written by wg genkey: readable by us only.
umask 077

nbt_log() { printf '# %s\n' "$*" >&2; }
nbt_fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

nbt_skip() {
  printf 'SKIP: %s\n' "$*"
  exit 77
}

# Without root the tests cannot run at all: they skip (exit 77), which a
# developer's `meson test` shows as SKIP. As root they run, and a missing tool
# is a failure: ./dev installs every one of them (.ci/debian-packages.txt).
# WG_GO names the reference implementation (WG_GO=/nonexistent shows what a
# machine without it gets).
nbt_require_root() {
  [ "$(id -u)" = 0 ] || nbt_skip "needs root (network namespaces, TUN devices)"
  local missing=""
  command -v ip >/dev/null || missing+=" ip (iproute2)"
  command -v wg >/dev/null || missing+=" wg (wireguard-tools)"
  command -v "$WG_GO" >/dev/null || missing+=" wireguard-go (WG_GO=$WG_GO)"
  command -v nsenter >/dev/null || missing+=" nsenter (util-linux)"
  [ -z "$missing" ] ||
    nbt_fail "needs$missing; ./dev installs it (as root a missing tool is a failure, not a skip)"
}

# Stops every daemon started so far (their interfaces go with them).
nbt_stop_daemons() {
  local pid
  for pid in "${NBT_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${NBT_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  NBT_PIDS=()
  local sock
  for sock in "${NBT_SOCKETS[@]}"; do
    rm -f "$sock"
  done
  NBT_SOCKETS=()
}

nbt_cleanup() {
  local rc=$?
  set +e
  local pid
  for pid in "${NBT_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${NBT_PIDS[@]}"; do
    for _ in $(seq 1 30); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  local ns
  for ns in "${NBT_NAMESPACES[@]}"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
    ip netns del "$ns" 2>/dev/null
    # What `ip netns exec` binds over /etc for it (nbnet.sh's resolv.conf).
    [ -n "$ns" ] && rm -rf "/etc/netns/$ns"
  done
  local sock
  for sock in "${NBT_SOCKETS[@]}"; do
    rm -f "$sock"
  done
  if [ -n "$NBT_TMP" ] && [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
    local f
    for f in "$NBT_TMP"/*.log; do
      [ -s "$f" ] || continue
      echo "---- $(basename "$f") (last lines)" >&2
      tail -n 20 "$f" >&2
    done
  fi
  [ -n "$NBT_TMP" ] && rm -rf "$NBT_TMP"
  exit "$rc"
}
trap nbt_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

NBT_TMP=$(mktemp -d "/tmp/nbt-$NBT_NAME-XXXXXX")

# The netbird-wg binary: $NETBIRD_WG, else $NB_BUILD_DIR/servers/netbird-wg/netbird-wg.
nbt_netbird_wg() {
  local bin=${NETBIRD_WG:-${NB_BUILD_DIR:-./build}/servers/netbird-wg/netbird-wg}
  [ -x "$bin" ] || return 1
  echo "$bin"
}

# Which implementation plays "ours": netbird by default; NBT_OURS=wireguard-go
# runs the same test with wireguard-go on both sides (to check the harness).
nbt_ours() {
  local ours=${NBT_OURS:-netbird}
  if [ "$ours" = netbird ] && ! nbt_netbird_wg >/dev/null; then
    nbt_fail "netbird-wg is not built (set NETBIRD_WG or NB_BUILD_DIR)"
  fi
  echo "$ours"
}

nbt_in() {
  local side=$1
  shift
  local ns=$NBT_NS_A
  [ "$side" = b ] && ns=$NBT_NS_B
  ip netns exec "$ns" "$@"
}

# Two namespaces and a veth pair between them.
nbt_pair() {
  ip netns add "$NBT_NS_A"
  NBT_NAMESPACES+=("$NBT_NS_A")
  ip netns add "$NBT_NS_B"
  NBT_NAMESPACES+=("$NBT_NS_B")
  ip -n "$NBT_NS_A" link add veth0 type veth peer name veth0 netns "$NBT_NS_B"
  ip -n "$NBT_NS_A" addr add "$NBT_UNDER_A/24" dev veth0
  ip -n "$NBT_NS_B" addr add "$NBT_UNDER_B/24" dev veth0
  ip -n "$NBT_NS_A" addr add "$NBT_UNDER6_A/64" dev veth0 nodad
  ip -n "$NBT_NS_B" addr add "$NBT_UNDER6_B/64" dev veth0 nodad
  local ns
  for ns in "$NBT_NS_A" "$NBT_NS_B"; do
    ip -n "$ns" link set lo up
    ip -n "$ns" link set veth0 up
  done
}

# nbt_exec SIDE CMD...: runs CMD in SIDE's namespace as this very process
# (`ip netns exec` forks and would leave us the pid of ip, not of CMD).
nbt_exec() {
  local side=$1
  shift
  local ns=$NBT_NS_A
  [ "$side" = b ] && ns=$NBT_NS_B
  exec nsenter --net="/var/run/netns/$ns" "$@"
}

# nbt_start IMPL SIDE IFNAME: runs a WireGuard daemon in the foreground in
# SIDE's namespace and waits for its UAPI socket.
nbt_start() {
  local impl=$1 side=$2 ifname=$3
  local sock=/var/run/wireguard/$ifname.sock
  local log=$NBT_TMP/$ifname.log
  local pid
  NBT_SOCKETS+=("$sock")
  case $impl in
    netbird)
      (nbt_exec "$side" env G_MESSAGES_DEBUG="${NBT_DEBUG:-}" "$(nbt_netbird_wg)" -f "$ifname") >"$log" 2>&1 &
      pid=$!
      ;;
    wireguard-go)
      (nbt_exec "$side" env LOG_LEVEL="${NBT_WG_GO_LOG:-error}" "$WG_GO" -f "$ifname") >"$log" 2>&1 &
      pid=$!
      ;;
    *)
      nbt_fail "unknown implementation $impl"
      ;;
  esac
  NBT_PIDS+=("$pid")
  for _ in $(seq 1 100); do
    [ -S "$sock" ] && return 0
    kill -0 "$pid" 2>/dev/null || nbt_fail "$impl $ifname exited at start: $(cat "$log")"
    sleep 0.05
  done
  nbt_fail "$impl $ifname: no UAPI socket after 5 s"
}

# Keys for both sides in $NBT_TMP: a.key a.pub b.key b.pub psk
nbt_keys() {
  local s
  for s in a b; do
    wg genkey >"$NBT_TMP/$s.key"
    wg pubkey <"$NBT_TMP/$s.key" >"$NBT_TMP/$s.pub"
  done
  wg genpsk >"$NBT_TMP/psk"
}

# nbt_tunnel IMPL_A IMPL_B [psk]: a point-to-point tunnel, A 100.64.0.1 and
# fd00:64::1, B 100.64.0.2 and fd00:64::2, each knowing the other's IPv4
# endpoint (so either may initiate).
nbt_tunnel() {
  local impl_a=$1 impl_b=$2 psk=${3:-}
  local psk_args=()
  [ -n "$psk" ] && psk_args=(preshared-key "$NBT_TMP/psk")
  [ -f "$NBT_TMP/a.key" ] || nbt_keys
  nbt_start "$impl_a" a "$NBT_IF_A"
  nbt_start "$impl_b" b "$NBT_IF_B"
  nbt_in a wg set "$NBT_IF_A" private-key "$NBT_TMP/a.key" listen-port "$NBT_PORT_A" \
    peer "$(cat "$NBT_TMP/b.pub")" "${psk_args[@]}" endpoint "$NBT_UNDER_B:$NBT_PORT_B" \
    allowed-ips "$NBT_OVER_B/32,$NBT_OVER6_B/128"
  nbt_in b wg set "$NBT_IF_B" private-key "$NBT_TMP/b.key" listen-port "$NBT_PORT_B" \
    peer "$(cat "$NBT_TMP/a.pub")" "${psk_args[@]}" endpoint "$NBT_UNDER_A:$NBT_PORT_A" \
    allowed-ips "$NBT_OVER_A/32,$NBT_OVER6_A/128"
  nbt_in a ip addr add "$NBT_OVER_A/24" dev "$NBT_IF_A"
  nbt_in b ip addr add "$NBT_OVER_B/24" dev "$NBT_IF_B"
  nbt_in a ip addr add "$NBT_OVER6_A/64" dev "$NBT_IF_A" nodad
  nbt_in b ip addr add "$NBT_OVER6_B/64" dev "$NBT_IF_B" nodad
  nbt_in a ip link set "$NBT_IF_A" up
  nbt_in b ip link set "$NBT_IF_B" up
}

# nbt_ping SIDE ADDRESS [COUNT]: succeeds if any reply comes back.
nbt_ping() {
  local side=$1 addr=$2 count=${3:-3}
  nbt_in "$side" ping -q -c "$count" -i 0.2 -W 2 "$addr" >/dev/null 2>&1
}

# nbt_wg_value SIDE IFNAME FIELD: one field of `wg show IFNAME FIELD` for the
# only peer (second column).
nbt_wg_value() {
  nbt_in "$1" wg show "$2" "$3" | awk '{print $2; exit}'
}

# nbt_uapi IFNAME REQUEST: raw request on the UAPI socket ("get=1\n\n").
nbt_uapi() {
  "$PY" - "$1" "$2" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect("/var/run/wireguard/%s.sock" % sys.argv[1])
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
out = b""
while not out.endswith(b"\n\n"):
    chunk = s.recv(65536)
    if not chunk:
        break
    out += chunk
sys.stdout.write(out.decode())
EOF
}

# nbt_stat IFNAME COUNTER: a packet-path counter of a netbird-wg device.
nbt_stat() {
  nbt_uapi "$1" 'stats=1\n\n' | awk -F= -v k="$2" '$1 == k {print $2}'
}
