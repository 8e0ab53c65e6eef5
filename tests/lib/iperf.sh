# iperf.sh: one iperf3 run between two namespaces of the ICE topology,
# for the benchmarks (sourced after nbt.sh and transport/ice-topology.sh)
#
# SPDX-License-Identifier: BSD-3-Clause
#
# Uses DURATION (seconds per run), NBT_TMP and PY from the caller.

# iperf FROM TO ADDRESS: iperf3 FROM -> TO over ADDRESS; prints Gbit/s or says why not and returns 1.
iperf() {
  local from=$1 to=$2 addr=$3 out=$NBT_TMP/iperf.json rc=0
  ice_in "$to" iperf3 -s -1 -B "$addr" >"$NBT_TMP/iperf-server.log" 2>&1 &
  local spid=$!
  for _ in $(seq 1 50); do
    ice_in "$to" ss -ltn 2>/dev/null | grep -q ":5201 " && break
    sleep 0.1
  done
  ice_in "$from" iperf3 -c "$addr" -t "$DURATION" -J >"$out" 2>"$NBT_TMP/iperf.err" || rc=$?
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
    e = r["end"]
    bps = e["sum_received"]["bits_per_second"]
    received = e["sum_received"]["bytes"]
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
