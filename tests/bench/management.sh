#!/bin/bash
# management.sh: Management benchmark at 1,000 and 10,000 peers
#
# SPDX-License-Identifier: BSD-3-Clause
#
# For each size: a real netbird-management daemon on loopback, an account
# with 100 groups and 200 policies (the default All<->All policy removed),
# N peers registered through the client protocol and N sync channels open
# (one client process multiplexing the WebSockets). Prints per size:
#
#   peers=N all_maps_ms=X join_fanout_ms=Y rss_mb=Z join_bytes=B join_receivers=R rest_rps=Q
#
# all_maps_ms   time to compute every peer's map (M-A's map benchmark over
#               the same shape of account), "n/a" when that program is absent
# join_fanout_ms time from one more peer's login until the last peer whose
#               map changed has received the new one, on the live channels:
#               the median of three joins, each measured alone (one sample
#               varies by a third with what else the machine does);
#               join_fanout_ms_each lists the three
# join_server_cpu_ms the server's CPU time (all threads) from one peer's
#               login until the last update arrived (median of the three)
# join_bytes    sealed bytes pushed for the last join, join_receivers to how many
# rss_mb        the server's resident memory with N channels connected
# rest_rps      GET /api/peers requests per second (wrk, 2 threads, 32 conns)
#
# A measurement that fails (a peer that cannot register or connect, a join
# whose fan-out does not finish, the map benchmark or wrk failing) prints
# "management.sh: error: ..." and the script exits 1: no figure is printed
# for it, so a failure never reads as a result.
#
# Usage: tests/bench/management.sh [BUILD_DIR] [SIZES...]   (default: build 1000 10000)

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-$src/build}
shift || true
sizes=${*:-1000 10000}
build=$(cd "$build" && pwd)

daemon=$build/servers/netbird-management/netbird-management
clients=$build/tests/bench/management/clients/nb-mgmt-sync-clients
mapbench=${NB_MGMT_MAP_BENCH:-$(ls "$build"/tests/bench/management/*bench* 2>/dev/null | grep -v clients | head -n1 || true)}
python=/usr/bin/python3

[ -x "$daemon" ] || { echo "management.sh: build $daemon first" >&2; exit 1; }
if [ ! -x "$clients" ]; then
  # Not in the build yet (its subdir line is not added): build it here.
  clients=$(mktemp -d)/nb-mgmt-sync-clients
  cc -O2 -o "$clients" "$here/management/clients/nb-mgmt-sync-clients.c" \
     -I"$src/libnetbird" -I"$src/libnetbird/proto" -I"$src/libnetbird/netif" \
     -I"$src/libnetbird/wireguard" -I"$src/libnetbird/wireguard/uapi" \
     -I"$src/libnetbird/transport" -I"$src/libnetbird/management" \
     -I"$src/libnetbird/management/server" -I"$build/libnetbird" \
     -I"$build/libnetbird/proto" -I"$build/libnetbird/management/server" \
     $(pkg-config --cflags --libs libsoup-3.0 gio-2.0) \
     -L"$build/libnetbird" -lnetbird-1 -Wl,-rpath,"$build/libnetbird"
fi

# 10,000 sync channels need 10,000 descriptors on each side.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

tmp=$(mktemp -d /tmp/nb-mgmt-bench.XXXXXX)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"; wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

fail() {
  echo "management.sh: error: $*" >&2
  exit 1
}

free_port() {
  $python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

for n in $sizes; do
  rm -rf "$tmp/data"
  port=$(free_port)
  url=http://127.0.0.1:$port
  # Started as systemd starts a service, with a soft descriptor limit of
  # 1,024: the daemon raises it to the hard limit itself.
  prlimit --nofile=1024:"$(ulimit -Hn)" -- \
    "$daemon" --listen 127.0.0.1:$port --data-dir "$tmp/data" >"$tmp/daemon.out" 2>"$tmp/daemon.log" &
  pid=$!
  for _ in $(seq 100); do grep -q '^Listening' "$tmp/daemon.out" 2>/dev/null && break; sleep 0.1; done
  grep -q '^Listening' "$tmp/daemon.out" || { cat "$tmp/daemon.log" >&2; exit 1; }

  # The account's shape: 100 groups, 200 policies between random pairs of
  # groups (fixed seed), one reusable setup key per group so each peer
  # lands in one group.
  token=$($python -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin_token"])' \
          "$tmp/data/initial-credentials.json")
  $python - "$url" "$token" "$tmp/keys" <<'PY'
import random, sys, requests
url, token, keys_path = sys.argv[1:4]
s = requests.Session()
s.headers['Authorization'] = 'Token ' + token
def call(method, path, body=None):
    r = s.request(method, url + '/api' + path, json=body, timeout=30)
    if r.status_code != 200:
        sys.exit('%s %s: %d %s' % (method, path, r.status_code, r.text))
    return r.json() if r.content else None
for p in call('GET', '/policies'):
    call('DELETE', '/policies/' + p['id'])
groups = [call('POST', '/groups', {'name': 'g%03d' % i, 'peers': []})['id'] for i in range(100)]
rnd = random.Random(42)
for i in range(200):
    a, b = rnd.sample(groups, 2)
    call('POST', '/policies', {'name': 'p%03d' % i, 'enabled': True, 'rules': [{
        'name': 'p%03d' % i, 'enabled': True, 'action': 'accept', 'bidirectional': True,
        'protocol': 'all', 'sources': [a], 'destinations': [b]}]})
with open(keys_path, 'w') as f:
    for g in groups:
        k = call('POST', '/setup-keys', {'name': 'k' + g, 'type': 'reusable', 'expires_in': 86400,
                                         'auto_groups': [g], 'usage_limit': 0, 'ephemeral': False})
        f.write(k['key'] + '\n')
PY
  join_key=$(head -n1 "$tmp/keys")

  all_maps_ms=n/a
  if [ -n "$mapbench" ] && [ -x "$mapbench" ]; then
    rc=0
    mapout=$("$mapbench" --peers "$n" --groups 100 --policies 200 2>"$tmp/mapbench.err") || rc=$?
    [ "$rc" = 0 ] || fail "$n peers: $mapbench exited with $rc: $(tail -n 3 "$tmp/mapbench.err")"
    line=$(echo "$mapout" | grep -o 'all_maps_ms=[0-9.]*' | head -n1) ||
      fail "$n peers: $mapbench printed no all_maps_ms"
    all_maps_ms=${line#all_maps_ms=}
  fi

  rc=0
  out=$("$clients" --url "$url" --setup-keys "$tmp/keys" --join-key "$join_key" \
         -n "$n" -c 64 --server-pid "$pid") || rc=$?
  [ "$rc" = 0 ] || fail "$n peers: the sync-channel load ($clients) exited with $rc; see its errors above"
  echo "# $out" >&2
  get() {
    local v
    v=$(echo "$out" | tr ' ' '\n' | sed -n "s/^$1=//p")
    [ -n "$v" ] || fail "$n peers: no $1 in '$out'"
    echo "$v"
  }
  for f in join_fanout_ms join_fanout_ms_each join_server_cpu_ms rss_mb join_bytes join_receivers; do
    get "$f" >/dev/null
  done

  rest_rps=n/a
  if command -v wrk >/dev/null; then
    rest_rps=$(wrk -t2 -c32 -d5s -H "Authorization: Token $token" "$url/api/peers" 2>&1 |
               tee "$tmp/wrk.out" | sed -n 's/^Requests\/sec: *//p')
    [ -n "$rest_rps" ] || fail "$n peers: wrk measured nothing: $(tail -n 3 "$tmp/wrk.out")"
    ! grep -q 'Non-2xx' "$tmp/wrk.out" ||
      fail "$n peers: GET /api/peers failed under wrk: $(grep 'Non-2xx' "$tmp/wrk.out")"
  fi

  echo "peers=$n all_maps_ms=$all_maps_ms join_fanout_ms=$(get join_fanout_ms)" \
       "join_fanout_ms_each=$(get join_fanout_ms_each) join_server_cpu_ms=$(get join_server_cpu_ms)" \
       "rss_mb=$(get rss_mb) join_bytes=$(get join_bytes) join_receivers=$(get join_receivers)" \
       "rest_rps=$rest_rps"

  # With G_MESSAGES_DEBUG=netbird-management the server logs its own side
  # of each fan-out (maps changed, pushed, microseconds).
  grep -h 'maps changed' "$tmp/daemon.log" "$tmp/daemon.out" | tail -n 1 | sed 's/^/# server: /' >&2 || true
  grep -h 'Descriptor limit' "$tmp/daemon.log" "$tmp/daemon.out" | head -n 1 | sed 's/^/# server: /' >&2 || true

  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
done
