#!/bin/bash
# signal.sh: Signal forwarding benchmark on loopback
#
# SPDX-License-Identifier: BSD-3-Clause
#
# A real netbird-signal daemon and N peers (default 1,000) in one client
# process (tests/bench/signal/nb-signal-bench-clients: raw sockets on one
# epoll loop), each registered with the real proof of key; peer i sends
# sealed messages to peer i+1, keeping WINDOW in flight. Prints:
#
#   clients=N seconds=S forwarded=M rate=R server_cpu_s=C server_cpu_us_per_msg=U
#   client_cpu_s=K
#
# rate                 messages forwarded per second (received by their peer)
# server_cpu_us_per_msg the server's CPU time (user + system, /proc/PID/stat)
#                      per forwarded message
# The per-connection rate limit is raised for the run (--rate-limit), since
# the point is the forwarding capacity; the daemon's counters are checked
# afterwards: the messages it forwarded, and no frame dropped.
#
# A run that fails (the daemon not starting, a peer that cannot register,
# a connection closed, nothing forwarded, a drop) prints
# "signal.sh: error: ..." and exits 1, with no figure.
#
# Usage: tests/bench/signal.sh [BUILD_DIR] [CLIENTS] [SECONDS] [WINDOW]

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
clients=${2:-1000}
seconds=${3:-10}
window=${4:-8}

daemon=$build/servers/netbird-signal/netbird-signal
load=$build/tests/bench/signal/nb-signal-bench-clients
python=/usr/bin/python3

fail() {
  echo "signal.sh: error: $*" >&2
  exit 1
}

[ -x "$daemon" ] || fail "build $daemon first (ninja -C $build)"
[ -x "$load" ] || fail "build $load first (ninja -C $build)"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

tmp=$(mktemp -d /tmp/nb-signal-bench.XXXXXX)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"; wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

"$daemon" --listen 127.0.0.1:0 --metrics 127.0.0.1:0 --rate-limit 1000000 --rate-burst 1000000 \
  >"$tmp/daemon.out" 2>"$tmp/daemon.log" &
pid=$!
for _ in $(seq 100); do grep -q '^Listening' "$tmp/daemon.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^Listening' "$tmp/daemon.out" || { cat "$tmp/daemon.log" >&2; fail "the daemon did not start"; }
address=$(sed -n 's/^Listening on //p' "$tmp/daemon.out")
metrics=$(sed -n 's/^Metrics on //p' "$tmp/daemon.out")

# The load holds its peers connected until its stdin (a FIFO we keep open
# on fd 3) closes, so the counters are read with everyone registered.
mkfifo "$tmp/hold"
"$load" --address "$address" -n "$clients" --seconds "$seconds" --window "$window" \
  --server-pid "$pid" --hold <"$tmp/hold" >"$tmp/load.out" &
load_pid=$!
exec 3>"$tmp/hold"
while kill -0 "$load_pid" 2>/dev/null && ! grep -q '^clients=' "$tmp/load.out"; do sleep 0.2; done
if ! grep -q '^clients=' "$tmp/load.out"; then
  rc=0; wait "$load_pid" || rc=$?
  fail "the load ($load) exited with $rc; see its error above"
fi
out=$(cat "$tmp/load.out")

metric() {
  $python -c 'import sys, urllib.request
text = urllib.request.urlopen(sys.argv[1]).read().decode()
for line in text.splitlines():
    if line.startswith(sys.argv[2] + " "):
        print(line.split()[1]); break
else:
    sys.exit("no " + sys.argv[2])' "$metrics" "$1"
}
registered=$(metric netbird_signal_peers_registered)
forwarded=$(metric netbird_signal_messages_forwarded_total)
dropped=0
for reason in malformed oversize rate_limited unexpected wrong_sender; do
  dropped=$((dropped + $(metric "netbird_signal_drops_total{reason=\"$reason\"}")))
done
[ "$registered" = "$clients" ] || fail "$registered of $clients peers registered at the end"
[ "$dropped" = 0 ] || fail "the server dropped $dropped frames"
[ "$forwarded" -gt 0 ] || fail "the server forwarded nothing"
exec 3>&-
rc=0; wait "$load_pid" || rc=$?
[ "$rc" = 0 ] || fail "the load exited with $rc"

echo "$out"
