#!/bin/bash
# ice-sessions.sh: the memory and threads a process holds for many connected
# ICE sessions (the daemon keeps one per remote peer).
#
# SPDX-License-Identifier: BSD-3-Clause
#
#   tests/bench/ice-sessions.sh [BUILD_DIR]   (or NB_BUILD_DIR=...; default ./build)
#
# Runs tests/bench/ice/nb-ice-sessions-rss at each of SIZES (pairs of
# sessions in one process, on loopback, each pair with keys of its own;
# default "1 10 100", that is 2, 20 and 200 sessions) and prints its
# lines: baseline (before the first session), connected, idle (after 3 s
# of keepalives) and closed, each with threads=, vm_rss_kb= and
# rss_anon_kb= (VmRSS and RssAnon of /proc/self/status). Then, per size:
#   ice_sessions=N ice_threads=K ice_rss_kb=R ice_rss_anon_kb=A
#   ice_rss_anon_kb_per_session=P
# from the idle line (P: RssAnon over the baseline, divided by N).
# Exits 1 if a size does not connect every session within 120 s.

NB_BUILD_DIR=${1:-${NB_BUILD_DIR:-./build}}
BIN=$NB_BUILD_DIR/tests/bench/ice/nb-ice-sessions-rss
[ -x "$BIN" ] || { echo "no $BIN (build first)" >&2; exit 2; }
SIZES=${SIZES:-1 10 100}
status=0

field () { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$2"; }

for pairs in $SIZES; do
  out=$("$BIN" "$pairs" 2>/dev/null) || status=1
  echo "$out"
  base=$(grep '^baseline ' <<<"$out")
  idle=$(grep '^idle ' <<<"$out")
  if [ -z "$idle" ]; then
    echo "FAIL: $pairs pairs did not all connect"
    status=1
    continue
  fi
  n=$(field sessions "$idle")
  anon=$(field rss_anon_kb "$idle")
  echo "ice_sessions=$n ice_threads=$(field threads "$idle") ice_rss_kb=$(field vm_rss_kb "$idle")" \
       "ice_rss_anon_kb=$anon" \
       "ice_rss_anon_kb_per_session=$(( (anon - $(field rss_anon_kb "$base")) / n ))"
done
exit $status
