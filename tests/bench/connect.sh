#!/bin/bash
# connect.sh: how fast a peer that runs `netbird up` reaches the others,
# how fast a network of many meets, and what the daemon holds in memory.
#
# SPDX-License-Identifier: BSD-3-Clause
#
#   tests/bench/connect.sh [BUILD_DIR]   (or NB_BUILD_DIR=...; default ./build)
#
# The network of the end-to-end tests (tests/lib/nbnet.sh): Management,
# Signal and coturn in a public namespace, every peer a namespace of its own
# running `netbird service run`.
#  - first ping: an existing peer on the public network; then RUNS times
#    (default 5) a new peer behind a NAT router runs `netbird up` (its
#    daemon already started, as a booted machine's is) and pings the
#    existing one every 10 ms until a reply comes; the time from `netbird up`
#    to that reply, min/median/max;
#  - the same daemon's resident memory idle: up, with no other peer;
#  - MESH peers (default 20: half on the public network, half behind four
#    NAT routers) run `netbird up` at once: the time until every one of
#    them lists all the others Connected; one daemon's resident memory then;
#  - HUB peers (default 200) that each may reach one hub peer only (a
#    policy hub <-> spokes), so the hub holds HUB connected peers: the time
#    until it does, and its resident memory.
# Machine-readable lines among the output:
#   first_ping_ms=X (median)  mesh_connected_ms=Y
#   daemon_rss_mb=Z peers=N   (for N = 0, MESH - 1 and HUB)
#
# A run that fails (a daemon exits, `netbird up` fails, no reply or no
# connection within its time) prints "FAIL: ..." and the script exits 1.

NB_BUILD_DIR=${1:-${NB_BUILD_DIR:-./build}}
NB_BUILD_DIR=$(cd "$NB_BUILD_DIR" 2>/dev/null && pwd) || { echo "no build directory $1" >&2; exit 2; }
export NB_BUILD_DIR
RUNS=${RUNS:-5}
MESH=${MESH:-20}
HUB=${HUB:-200}
NBT_NAME=bcon
. "$(dirname "$0")/../lib/nbt.sh"
NBNET_LOG_LEVEL=${NBNET_LOG_LEVEL:-warn}
. "$(dirname "$0")/../lib/nbnet.sh"
nbnet_require

ms_now() { echo $(($(date +%s%N) / 1000000)); }

rss_mb() {
  awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/${NBNET_DAEMON_PID[$1]}/status"
}

median() {
  sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}

# all_connected N NAME...: every NAME lists at least N peers Connected.
all_connected() {
  local n=$1 p
  shift
  for p in "$@"; do
    nbnet_has_connected "$p" "$n" || return 1
  done
}

# wait_all N SECS NAME...
wait_all() {
  local n=$1 secs=$2
  shift 2
  local end=$((SECONDS + secs))
  until all_connected "$n" "$@"; do
    if [ $SECONDS -ge $end ]; then
      local p
      for p in "$@"; do
        nbnet_has_connected "$p" "$n" || nbt_log "$p: $(nbnet_connected_count "$p") connected"
      done
      nbt_fail "not every peer has $n connected within $secs s"
    fi
    sleep 0.5
  done
}

nbnet_services
echo "# build: $NB_BUILD_DIR, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- 1. first ping after `netbird up`, and the idle daemon
nbnet_peer e
nbnet_up e
sleep 2
echo "daemon_rss_mb=$(rss_mb e) peers=0"
ip_e=$(nbnet_ip e)
nbnet_router nat
times=()
for i in $(seq 1 "$RUNS"); do
  nbnet_peer "n$i" nat
  nbnet_daemon "n$i"
  t0=$(ms_now)
  nbnet_up "n$i"
  t_up=$(ms_now)
  nbnet_in "n$i" ping -q -c 1 -i 0.01 -w 10 "$ip_e" >/dev/null 2>&1 ||
    nbt_fail "run $i: new peer n$i got no reply from $ip_e within 10 s of netbird up"
  t1=$(ms_now)
  echo "# run $i: netbird up returned in $((t_up - t0)) ms, first reply at $((t1 - t0)) ms"
  times+=($((t1 - t0)))
  # The next run's peer meets e alone: this one leaves.
  nbnet_cli "n$i" down >/dev/null 2>&1 || nbt_fail "netbird down on n$i failed"
  nbnet_daemon_stop "n$i"
  nbnet_api DELETE "peers/$(nbnet_peer_id "n$i")" >/dev/null
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' ')
echo "# first ping after netbird up, ms (sorted): $sorted"
echo "first_ping_ms=$(printf '%s\n' "${times[@]}" | median)"
nbnet_cli e down >/dev/null
nbnet_daemon_stop e
nbnet_api DELETE "peers/$(nbnet_peer_id e)" >/dev/null

# ---- 2. MESH peers at once
mesh=()
for r in 1 2 3 4; do nbnet_router "mr$r"; done
for i in $(seq 1 "$MESH"); do
  if [ $((i % 2)) = 0 ]; then nbnet_peer "m$i" "mr$(((i / 2) % 4 + 1))"; else nbnet_peer "m$i"; fi
  nbnet_daemon "m$i"
  mesh+=("m$i")
done
t0=$(ms_now)
pids=()
for p in "${mesh[@]}"; do
  nbnet_up "$p" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || nbt_fail "netbird up failed in the mesh"; done
echo "# mesh: every netbird up returned after $(($(ms_now) - t0)) ms"
wait_all $((MESH - 1)) 180 "${mesh[@]}"
t1=$(ms_now)
echo "mesh_connected_ms=$((t1 - t0)) peers=$MESH"
sleep 2
echo "daemon_rss_mb=$(rss_mb m1) peers=$((MESH - 1))"
# Each daemon must stop cleanly within 10 s of SIGTERM, its peers up.
t0=$(ms_now)
for p in "${mesh[@]}"; do
  nbnet_daemon_stop "$p"
done
echo "# mesh: $MESH daemons stopped in $(($(ms_now) - t0)) ms"
for id in $(nbnet_api GET peers | jq -r '.[].id'); do nbnet_api DELETE "peers/$id" >/dev/null; done

# ---- 3. one hub with HUB connected peers
[ "$HUB" -gt 0 ] || exit 0
g_hub=$(nbnet_api POST groups '{"name": "hub"}' | jq -r .id)
g_spokes=$(nbnet_api POST groups '{"name": "spokes"}' | jq -r .id)
def=$(nbnet_api GET policies | jq -r '.[] | select(.name == "Default") | .id')
nbnet_api DELETE "policies/$def" >/dev/null
nbnet_api POST policies "$(jq -cn --arg h "$g_hub" --arg s "$g_spokes" '{name: "hub", enabled: true,
  rules: [{name: "hub", enabled: true, action: "accept", bidirectional: true, protocol: "all",
           sources: [$h], destinations: [$s]}]}')" >/dev/null
key_hub=$(nbnet_setup_key hub "$g_hub")
key_spoke=$(nbnet_setup_key spokes "$g_spokes")
nbnet_peer hub
nbnet_up hub "$key_hub"
t0=$(ms_now)
spokes=()
for i in $(seq 1 "$HUB"); do
  nbnet_peer "s$i"
  nbnet_up "s$i" "$key_spoke"
  spokes+=("s$i")
done
echo "# hub: $HUB spokes up after $(($(ms_now) - t0)) ms; hub daemon $(rss_mb hub) MB"
wait_all "$HUB" 600 hub
t1=$(ms_now)
echo "hub_connected_ms=$((t1 - t0)) peers=$HUB"
sleep 2
echo "daemon_rss_mb=$(rss_mb hub) peers=$HUB"
nbnet_ping hub "s$HUB" || nbt_fail "the hub cannot reach s$HUB"
echo "# hub: $(nbnet_status hub | jq '.peers.connected') connected; load $(cut -d' ' -f1-3 /proc/loadavg)"
