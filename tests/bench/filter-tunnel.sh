#!/bin/bash
# filter-tunnel.sh: TCP throughput through our tunnel with the packet filter
# holding 1,000 rules, against the same tunnel without rules, same run.
#
# SPDX-License-Identifier: BSD-3-Clause
#
#   tests/bench/filter-tunnel.sh [BUILD_DIR]   (or NB_BUILD_DIR=...; default ./build)
#
# Two namespaces, netbird-wg at both ends, iperf3 A -> B single stream,
# DURATION seconds a run (default 5), ROUNDS rounds (default 3) of: no rule
# set, then 1,000 rules on both sides (set=1 filter_rule lines, as the
# engine will put a network map's rules). B's rules let A in on TCP 5201
# among 999 rules for other peers; A's 1,000 rules name only other peers,
# so B's answers come in through A's connection table. Prints the median
# Gbit/s of each and their ratio (goal: at least 0.95):
#   filter_none_gbps=X filter_1000_rules_gbps=Y filter_ratio=Y/X
# A run that fails, a rule set not in force, or a filter that dropped or
# did not see the benchmark's packets prints "FAIL: ..." and exits 1.

NB_BUILD_DIR=${1:-${NB_BUILD_DIR:-./build}}
NB_BUILD_DIR=$(cd "$NB_BUILD_DIR" 2>/dev/null && pwd) || { echo "no build directory $1" >&2; exit 2; }
export NB_BUILD_DIR
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
RULES=${RULES:-1000}
NBT_NAME=fbench
. "$(dirname "$0")/../lib/nbt.sh"
nbt_require_root
command -v iperf3 >/dev/null || nbt_fail "needs iperf3 (./dev installs it)"
NETBIRD_WG=$(nbt_netbird_wg) || nbt_fail "no netbird-wg in $NB_BUILD_DIR/servers/netbird-wg"
export NETBIRD_WG

nbt_pair
nbt_tunnel netbird netbird
nbt_ping a "$NBT_OVER_B" 2 || nbt_fail "the tunnel does not pass traffic"

# A set=1 request with $RULES rules: other peers' (100.64.1.0 on), and
# with $2 the one rule that lets that peer in on TCP 5201.
rules_request() {
  "$PY" - "$RULES" "${1:-}" <<'PYEOF'
import sys
n, extra = int(sys.argv[1]), sys.argv[2]
lines = ["set=1"]
if extra:
    lines.append("filter_rule=in accept tcp %s 5201" % extra)
    n -= 1
for i in range(n):
    peer = "100.64.%d.%d" % (1 + i // 250, 1 + i % 250)
    lines.append("filter_rule=in accept " + ["tcp %s 22", "udp %s 1000-1050", "icmp %s",
                                              "tcp %s 8000-8080"][i % 4] % peer)
# Literal backslash-n: nbt_uapi turns them into line ends.
sys.stdout.write("\\n".join(lines) + "\\n\\n")
PYEOF
}
set_rules() {
  local ifname=$1 request=$2 reply
  reply=$(nbt_uapi "$ifname" "$request")
  [ "$reply" = "errno=0" ] || nbt_fail "$ifname refused its rules: $reply"
}
REQ_A=$(rules_request)
REQ_B=$(rules_request "$NBT_OVER_A")
stat() { nbt_stat "$1" "$2"; }

# One iperf3 run A -> B: prints Gbit/s, or says why there is none.
iperf() {
  local out=$NBT_TMP/iperf.json rc=0
  (nbt_exec b iperf3 -s -1 -B "$NBT_OVER_B") >"$NBT_TMP/iperf-server.log" 2>&1 &
  local spid=$!
  NBT_PIDS+=("$spid")
  for _ in $(seq 1 50); do
    nbt_in b ss -ltn 2>/dev/null | grep -q ":5201 " && break
    sleep 0.1
  done
  nbt_in a iperf3 -c "$NBT_OVER_B" -t "$DURATION" -J >"$out" 2>"$NBT_TMP/iperf.err" || rc=$?
  wait "$spid" 2>/dev/null || true
  "$PY" - "$out" "$rc" "$NBT_TMP/iperf.err" <<'PYEOF'
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
    e = r["end"]["sum_received"]
    bps, received = e["bits_per_second"], e["bytes"]
except (KeyError, TypeError):
    why = why or "no end-of-test summary"
if why is None and (received <= 0 or bps <= 0):
    why = "no bytes received"
if why is not None:
    sys.stderr.write("iperf3: %s\n" % why)
    sys.exit(1)
print("%.3f" % (bps / 1e9))
PYEOF
}

none=()
rules=()
# A first run warms the path up (and is not counted).
DURATION=1 iperf >/dev/null 2>"$NBT_TMP/why" || nbt_fail "warm-up run: $(cat "$NBT_TMP/why")"
echo "# filter benchmark: $ROUNDS rounds of $DURATION s, $RULES rules, $(nproc) cores, $(uname -r)"
for round in $(seq 1 "$ROUNDS"); do
  set_rules "$NBT_IF_A" 'set=1\nfilter_remove_rules=true\n\n'
  set_rules "$NBT_IF_B" 'set=1\nfilter_remove_rules=true\n\n'
  g=$(iperf 2>"$NBT_TMP/why") || nbt_fail "round $round without rules: $(cat "$NBT_TMP/why")"
  none+=("$g")
  printf 'round %d  no rules    %7.2f Gbit/s\n' "$round" "$g"

  set_rules "$NBT_IF_A" "$REQ_A"
  set_rules "$NBT_IF_B" "$REQ_B"
  for ifname in "$NBT_IF_A" "$NBT_IF_B"; do
    [ "$(stat "$ifname" filter_rules)" = "$RULES" ] ||
      nbt_fail "$ifname holds $(stat "$ifname" filter_rules) rules, not $RULES"
  done
  rule_b=$(stat "$NBT_IF_B" filter_accept_rule)
  track_a=$(stat "$NBT_IF_A" filter_accept_conntrack)
  g=$(iperf 2>"$NBT_TMP/why") || nbt_fail "round $round with $RULES rules: $(cat "$NBT_TMP/why")"
  rules+=("$g")
  printf 'round %d  %d rules %7.2f Gbit/s\n' "$round" "$RULES" "$g"
  # The filter saw the run: B let A's connection in by its rule, A let
  # B's answers in by its table, and neither dropped anything.
  [ "$(stat "$NBT_IF_B" filter_accept_rule)" -gt "$rule_b" ] ||
    nbt_fail "B's filter let nothing in by a rule during the run"
  [ "$(stat "$NBT_IF_A" filter_accept_conntrack)" -gt "$track_a" ] ||
    nbt_fail "A's filter let no reply in during the run"
  for ifname in "$NBT_IF_A" "$NBT_IF_B"; do
    d=$(stat "$ifname" rx_drop_filter)
    [ "$d" = 0 ] || nbt_fail "$ifname's filter dropped $d of the benchmark's packets"
  done
done

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
n=$(median "${none[@]}")
r=$(median "${rules[@]}")
ratio=$(awk -v a="$r" -v b="$n" 'BEGIN { printf "%.3f", a / b }')
echo "filter_none_gbps=$n"
echo "filter_${RULES}_rules_gbps=$r"
echo "filter_ratio=$ratio"
# Each round's pair, run back to back: the machine's own drift shows here.
pairs=""
for i in "${!none[@]}"; do
  pairs+="$(awk -v a="${rules[$i]}" -v b="${none[$i]}" 'BEGIN { printf "%.3f", a / b }') "
done
echo "filter_round_ratios=${pairs% }"
echo "filter_ratio_goal=$(awk -v x="$ratio" 'BEGIN { print (x >= 0.95) ? "met" : "MISSED" }') (0.95)"
