#!/bin/bash
# dns.sh: the client's DNS resolver under dnsperf, and how fast a new zone
# is served.
#
# SPDX-License-Identifier: BSD-3-Clause
#
#   tests/bench/dns.sh [BUILD_DIR]   (or NB_BUILD_DIR=...; default ./build)
#
#  - the resolver (tests/bench/dns/nb-dns-bench serve) holds a zone of
#    PEERS names (default 1000) on 127.0.0.1, pinned to CPU 0; dnsperf,
#    pinned to CPU 1, asks for all of them over UDP for DURATION s (default
#    10) with 100 queries outstanding: queries/s and the latency
#    percentiles of every query (dnsperf -v);
#  - RUNS (default 200) zone swaps in one process: the time from
#    nb_dns_resolver_set_zone() to a client's first answer with the new
#    address.
# Machine-readable lines among the output:
#   dns_qps=N  dns_latency_us p50=.. p90=.. p99=.. max=..
#   swap_to_answer_us median=.. p99=.. max=..
#
# Goal: dns_qps >= 50000. A failed run (no server, lost queries above 1%,
# answers other than NOERROR, qps under the goal with GOAL_STRICT=1) prints
# "FAIL: ..." and exits 1.
set -u

NB_BUILD_DIR=${1:-${NB_BUILD_DIR:-./build}}
NB_BUILD_DIR=$(cd "$NB_BUILD_DIR" 2>/dev/null && pwd) || { echo "no build directory $1" >&2; exit 2; }
PEERS=${PEERS:-1000}
SECONDS_RUN=${DURATION:-10}
RUNS=${RUNS:-200}
GOAL=50000
BENCH=$NB_BUILD_DIR/tests/bench/dns/nb-dns-bench

command -v dnsperf >/dev/null || { echo "FAIL: dnsperf is not installed (apt-get install dnsperf)"; exit 1; }
[ -x "$BENCH" ] || { echo "FAIL: $BENCH is not built"; exit 1; }

work=$(mktemp -d)
srv_pid=
cleanup () {
  [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null
  [ -n "$srv_pid" ] && wait "$srv_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

for ((i = 0; i < PEERS; i++)); do echo "peer$i.netbird.test A"; done > "$work/queries"

mkfifo "$work/in"
taskset -c 0 "$BENCH" serve "$PEERS" < "$work/in" > "$work/server.out" &
srv_pid=$!
exec 3> "$work/in"
for ((i = 0; i < 50; i++)); do
  grep -q '^port=' "$work/server.out" 2>/dev/null && break
  sleep 0.1
done
port=$(sed -n 's/^port=//p' "$work/server.out")
[ -n "$port" ] || { echo "FAIL: the resolver did not start"; exit 1; }

echo "== dnsperf: $PEERS names, ${SECONDS_RUN}s, resolver on CPU 0, dnsperf on CPU 1"
echo "   taskset -c 1 dnsperf -s 127.0.0.1 -p $port -d queries -l $SECONDS_RUN -q 100 -v"
taskset -c 1 dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries" -l "$SECONDS_RUN" -q 100 -v \
  > "$work/dnsperf.out" 2>&1
rc=$?
exec 3>&-
wait "$srv_pid"
srv_pid=
[ $rc -eq 0 ] || { echo "FAIL: dnsperf exited $rc"; tail -5 "$work/dnsperf.out"; exit 1; }

grep -E '^  (Queries (sent|completed|lost)|Response codes|Queries per second|Average Latency)' "$work/dnsperf.out"
grep '^stats' "$work/server.out"

qps=$(awk '/Queries per second:/ { printf "%d", $4 }' "$work/dnsperf.out")
lost_pct=$(awk '/Queries lost:/ { gsub(/[()%]/, "", $4); print $4 }' "$work/dnsperf.out")
bad=$(awk '/^> / && $2 != "NOERROR" { n++ } END { print n + 0 }' "$work/dnsperf.out")
awk '/^> NOERROR/ { print int($5 * 1000000) }' "$work/dnsperf.out" | sort -n > "$work/lat"
n=$(wc -l < "$work/lat")
pct () { sed -n "$(( ($1 * n + 99) / 100 ))p" "$work/lat"; }
echo "dns_qps=$qps"
echo "dns_latency_us p50=$(pct 50) p90=$(pct 90) p99=$(pct 99) max=$(tail -1 "$work/lat") (of $n answers)"

fail=0
[ "$bad" -eq 0 ] || { echo "FAIL: $bad answers were not NOERROR"; fail=1; }
awk -v l="$lost_pct" 'BEGIN { exit !(l > 1) }' && { echo "FAIL: ${lost_pct}% of the queries were lost"; fail=1; }
if [ "${qps:-0}" -lt $GOAL ]; then
  echo "below the goal of $GOAL queries/s"
  [ "${GOAL_STRICT:-0}" = 1 ] && { echo "FAIL: under the goal"; fail=1; }
fi

echo "== zone swap to answer: $RUNS swaps of a zone of $PEERS names"
taskset -c 0 "$BENCH" swap "$PEERS" "$RUNS" || { echo "FAIL: swap run"; fail=1; }
exit $fail
