#!/bin/bash
# tunnel.sh: TCP throughput through our WireGuard tunnel, wireguard-go's and
# the raw veth, and the memory of an idle device with 1,000 peers.
#
# SPDX-License-Identifier: BSD-3-Clause
#
#   tests/bench/tunnel.sh [BUILD_DIR]      (or NB_BUILD_DIR=...; default ./build)
#
# Two network namespaces on a veth pair; iperf3 from A to B, single stream and
# 4 streams, DURATION seconds each (default 10) over: the raw veth, a
# wireguard-go tunnel (both ends wireguard-go), our tunnel (both ends
# netbird-wg). Prints Gbit/s, ratios and the CPU seconds each side's daemon
# used, with machine-readable lines among them:
#   raw_gbps=X wireguard_go_gbps=Y netbird_gbps=Z   (single stream)
# Needs root, iperf3, wireguard-go, wg. Everything is removed on exit.
# Don't run it in a loop on a shared machine: DURATION=3 for a quick look.
#
# A measurement that fails (iperf3 exits non-zero, reports an error or
# carries no bytes; a device that does not hold the peers it was given)
# prints "FAIL: ..." with iperf3's own words and the script exits 1; no
# figure is printed for it, so a failure never reads as 0 Gbit/s.

NB_BUILD_DIR=${1:-${NB_BUILD_DIR:-./build}}
NB_BUILD_DIR=$(cd "$NB_BUILD_DIR" 2>/dev/null && pwd) || { echo "no build directory $1" >&2; exit 2; }
export NB_BUILD_DIR
DURATION=${DURATION:-10}
PEERS=${PEERS:-1000}
NBT_NAME=bench
. "$(dirname "$0")/../lib/nbt.sh"
nbt_require_root
command -v iperf3 >/dev/null || nbt_fail "needs iperf3 (./dev installs it)"
NETBIRD_WG=$(nbt_netbird_wg) || nbt_fail "no netbird-wg in $NB_BUILD_DIR/servers/netbird-wg"
export NETBIRD_WG

nbt_pair

# CPU seconds (user + system) a process has used so far.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"
}

# iperf3 A -> B; prints "gbps cpu_client% cpu_server%", or says why there is
# no figure (on stderr) and returns 1.
iperf() {
  local addr=$1 streams=$2 out=$NBT_TMP/iperf.json rc=0
  (nbt_exec b iperf3 -s -1 -B "$addr") >"$NBT_TMP/iperf-server.log" 2>&1 &
  local spid=$!
  NBT_PIDS+=("$spid")
  for _ in $(seq 1 50); do
    nbt_in b ss -ltn 2>/dev/null | grep -q ":5201 " && break
    sleep 0.1
  done
  nbt_in a iperf3 -c "$addr" -t "$DURATION" -P "$streams" -J >"$out" 2>"$NBT_TMP/iperf.err" || rc=$?
  wait "$spid" 2>/dev/null || true
  "$PY" - "$out" "$rc" "$NBT_TMP/iperf.err" <<'EOF'
import json, sys
out, rc, err = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    r = json.load(open(out))
except (OSError, ValueError) as e:
    r = {"error": "no JSON from the client (%s): %s" % (e, open(err).read().strip())}
why = r.get("error")
if why is None and rc != 0:
    why = "client exited with %d: %s" % (rc, open(err).read().strip())
try:
    e = r["end"]
    bps = e["sum_received"]["bits_per_second"]
    received = e["sum_received"]["bytes"]
    cpu = e["cpu_utilization_percent"]
except (KeyError, TypeError):
    why = why or "no end-of-test summary"
if why is None and (received <= 0 or bps <= 0):
    why = "no bytes received"
if why is not None:
    sys.stderr.write("iperf3: %s\n" % why)
    sys.exit(1)
print("%.3f %.0f %.0f" % (bps / 1e9, cpu["host_total"], cpu["remote_total"]))
EOF
}

declare -A GBPS
report() {
  local label=$1 key=$2 addr=$3 pid_a=${4:-} pid_b=${5:-}
  local streams result gbps cpu_c cpu_s a0 b0 a1 b1
  for streams in 1 4; do
    [ -n "$pid_a" ] && a0=$(cpu_seconds "$pid_a") && b0=$(cpu_seconds "$pid_b")
    result=$(iperf "$addr" "$streams" 2>"$NBT_TMP/iperf.why") ||
      nbt_fail "$label, $streams stream(s) to $addr: no measurement: $(cat "$NBT_TMP/iperf.why")"
    read -r gbps cpu_c cpu_s <<<"$result"
    local suffix=""
    [ "$streams" = 4 ] && suffix="_p4"
    GBPS[$key$suffix]=$gbps
    if [ -n "$pid_a" ]; then
      a1=$(cpu_seconds "$pid_a")
      b1=$(cpu_seconds "$pid_b")
      printf '%-14s %d stream%s %7.2f Gbit/s   daemon CPU: sender side %.2f s, receiver side %.2f s (iperf3 CPU %s%%/%s%%)\n' \
        "$label" "$streams" "$([ "$streams" = 1 ] && echo " " || echo s)" "$gbps" \
        "$(awk -v x="$a1" -v y="$a0" 'BEGIN {print x - y}')" "$(awk -v x="$b1" -v y="$b0" 'BEGIN {print x - y}')" "$cpu_c" "$cpu_s"
    else
      printf '%-14s %d stream%s %7.2f Gbit/s   (iperf3 CPU %s%%/%s%%)\n' \
        "$label" "$streams" "$([ "$streams" = 1 ] && echo " " || echo s)" "$gbps" "$cpu_c" "$cpu_s"
    fi
  done
}

echo "# tunnel benchmark: $DURATION s per run, $(nproc) cores, $(uname -r)"
report raw raw "$NBT_UNDER_B"

nbt_tunnel wireguard-go wireguard-go
nbt_ping a "$NBT_OVER_B" 2 || nbt_fail "wireguard-go tunnel does not pass traffic"
report wireguard-go wireguard_go "$NBT_OVER_B" "${NBT_PIDS[-2]}" "${NBT_PIDS[-1]}"
nbt_stop_daemons

nbt_tunnel netbird netbird
nbt_ping a "$NBT_OVER_B" 2 || nbt_fail "netbird-wg tunnel does not pass traffic"
report netbird-wg netbird "$NBT_OVER_B" "${NBT_PIDS[-2]}" "${NBT_PIDS[-1]}"
nbt_stop_daemons

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }'; }
echo "raw_gbps=${GBPS[raw]}"
echo "wireguard_go_gbps=${GBPS[wireguard_go]}"
echo "netbird_gbps=${GBPS[netbird]}"
echo "raw_p4_gbps=${GBPS[raw_p4]}"
echo "wireguard_go_p4_gbps=${GBPS[wireguard_go_p4]}"
echo "netbird_p4_gbps=${GBPS[netbird_p4]}"
echo "netbird_vs_wireguard_go=$(ratio "${GBPS[netbird]}" "${GBPS[wireguard_go]}")"
echo "netbird_vs_wireguard_go_p4=$(ratio "${GBPS[netbird_p4]}" "${GBPS[wireguard_go_p4]}")"
echo "netbird_vs_raw=$(ratio "${GBPS[netbird]}" "${GBPS[raw]}")"

# Memory: an idle device, then with $PEERS peers configured by wg setconf.
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
peers_conf() {
  local conf=$1
  {
    echo "[Interface]"
    echo "PrivateKey = $(wg genkey)"
    echo "ListenPort = 51830"
    "$PY" - "$PEERS" <<'EOF'
import base64, os, sys
for i in range(int(sys.argv[1])):
    print("\n[Peer]\nPublicKey = %s\nAllowedIPs = 100.%d.%d.%d/32\nEndpoint = 198.18.1.%d:51820"
          % (base64.b64encode(os.urandom(32)).decode(), 64 + (i >> 16), (i >> 8) & 255, i & 255,
             1 + i % 250))
EOF
  } >"$conf"
}
peers_conf "$NBT_TMP/peers.conf"
for impl in netbird wireguard-go; do
  ifname="nbt${NBT_ID}m"
  nbt_start "$impl" a "$ifname"
  pid=${NBT_PIDS[-1]}
  sleep 0.5
  idle=$(rss_kib "$pid")
  nbt_in a wg setconf "$ifname" "$NBT_TMP/peers.conf"
  nbt_in a ip link set "$ifname" up
  sleep 1
  loaded=$(rss_kib "$pid")
  n=$(nbt_in a wg show "$ifname" peers | wc -l)
  key=${impl//-/_}
  [ "$key" = netbird ] || key=wireguard_go
  [ -n "$idle" ] && [ -n "$loaded" ] || nbt_fail "$impl: cannot read the daemon's memory"
  [ "$n" = "$PEERS" ] || nbt_fail "$impl shows $n peers, not $PEERS: no memory figure"
  echo "${key}_rss_kib_idle=$idle"
  echo "${key}_rss_kib_${PEERS}_peers=$loaded"
  echo "${key}_bytes_per_peer=$(( (loaded - idle) * 1024 / n ))"
  nbt_stop_daemons
done
