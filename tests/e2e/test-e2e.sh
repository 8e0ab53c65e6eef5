#!/bin/bash
# test-e2e.sh CASE: the whole product in network namespaces: Management,
# Signal and coturn on a public network, peers (some behind NAT routers)
# each running `netbird service run` and joining with `netbird up`.
#
# SPDX-License-Identifier: BSD-3-Clause
#
#   mesh            three peers join (two behind NATs): every pair pings,
#                   each one's `status --json` lists the others Connected
#                   with a connection type and candidate types; a fourth
#                   joins later and is reached within seconds
#   delete          a peer deleted through the REST API leaves the others'
#                   status and can no longer be reached; it says so itself
#   policy          the default policy replaced by group A -> group B: the
#                   peer outside gets nobody in its map, nobody gets it,
#                   and no packet passes between them
#   mgmt-restart    Management killed and restarted: a ping stream through
#                   the tunnel loses no more than a few packets, and the
#                   clients sync again (a peer that joins afterwards is
#                   seen by them)
#   daemon-restart  a client daemon restarted comes back up by itself with
#                   the same key and address and reconnects
#   bad-input       a wrong setup key and an unreachable Management URL:
#                   each its message and exit code, the daemon survives
#                   (no daemon and no access to the socket are the CLI's
#                   own tests: tests/cli/)
#   acl             access control (issue 16): only TCP 22 from group A to
#                   group B: 22 answers, 80 and ping do not, B cannot open
#                   connections to A, the drops are counted by the filter;
#                   a policy change through REST is in force within 1 s
CASE=${1:?usage: test-e2e.sh mesh|delete|policy|mgmt-restart|daemon-restart|bad-input|acl}
NBT_NAME=e2e${CASE:0:3}
. "$(dirname "$0")/../lib/nbt.sh"
. "$(dirname "$0")/../lib/nbnet.sh"
nbnet_require

ms_now() { echo $(($(date +%s%N) / 1000000)); }

# three_peers: p1 on the public network, p2 and p3 each behind a NAT of
# their own; all joined with the initial setup key.
three_peers() {
  nbnet_services
  nbnet_router ra
  nbnet_router rb
  nbnet_peer p1
  nbnet_peer p2 ra
  nbnet_peer p3 rb
  local p
  for p in p1 p2 p3; do nbnet_daemon "$p"; done
  for p in p1 p2 p3; do nbnet_up "$p"; done
}

# check_connected NAME OTHER...: NAME's status lists each OTHER Connected,
# with a connection type and the candidate types of its pair.
check_connected() {
  local name=$1 other entry
  shift
  for other in "$@"; do
    entry=$(nbnet_peer_status "$name" "$other")
    [ -n "$entry" ] || nbt_fail "$name's status does not list $other"
    jq -e '.status == "Connected"' <<<"$entry" >/dev/null ||
      nbt_fail "$name sees $other not Connected: $entry"
    jq -e '.connectionType == "P2P" or .connectionType == "Relayed"' <<<"$entry" >/dev/null ||
      nbt_fail "$name: no connection type for $other: $entry"
    jq -e '[.iceCandidateType.local, .iceCandidateType.remote] |
           all(. == "host" or . == "srflx" or . == "prflx" or . == "relay")' <<<"$entry" >/dev/null ||
      nbt_fail "$name: no candidate types for $other: $entry"
    jq -e '.iceCandidateEndpoint.local != "" and .iceCandidateEndpoint.remote != ""' \
      <<<"$entry" >/dev/null || nbt_fail "$name: no candidate endpoints for $other: $entry"
    nbt_log "$name -> $other: $(jq -r '"\(.connectionType) \(.iceCandidateType.local)/\(.iceCandidateType.remote) \(.iceCandidateEndpoint.local) -> \(.iceCandidateEndpoint.remote)"' <<<"$entry")"
  done
}

# ping_all NAME...: every ordered pair pings.
ping_all() {
  local a b
  for a in "$@"; do
    for b in "$@"; do
      [ "$a" = "$b" ] && continue
      nbnet_ping "$a" "$b" || nbt_fail "$a cannot ping $b ($(nbnet_ip "$b"))"
    done
  done
}

# lists NAME OTHER: NAME's status has OTHER (by its address).
lists() {
  [ -n "$(nbnet_status "$1" | jq -c --arg ip "$2" '.peers.details[] | select((.netbirdIp | sub("/.*"; "")) == $ip)')" ]
}

# wait_gone NAME ADDR SECS: NAME's status stops listing ADDR.
wait_gone() {
  local name=$1 addr=$2 secs=$3
  local end=$((SECONDS + secs))
  while lists "$name" "$addr"; do
    [ $SECONDS -lt $end ] || nbt_fail "$name still lists $addr after $secs s"
    sleep 0.1
  done
}

case_mesh() {
  three_peers
  local p
  for p in p1 p2 p3; do nbnet_wait_connected "$p" 2 30; done
  check_connected p1 p2 p3
  check_connected p2 p1 p3
  check_connected p3 p1 p2
  # Two peers behind two NATs reach each other through the holes ICE
  # punched: their pair is not host/host.
  local entry
  entry=$(nbnet_peer_status p2 p3)
  jq -e '.iceCandidateType.local != "host" or .iceCandidateType.remote != "host"' <<<"$entry" \
    >/dev/null || nbt_fail "p2 -> p3 behind two NATs shows a host/host pair: $entry"
  ping_all p1 p2 p3
  local total
  total=$(nbnet_status p1 | jq .peers.total)
  [ "$total" = 2 ] || nbt_fail "p1's status counts $total peers, not 2"

  # A fourth peer, behind a NAT of its own, joins the running network.
  nbnet_router rc
  nbnet_peer p4 rc
  nbnet_daemon p4
  local t0 t1
  t0=$(ms_now)
  nbnet_up p4
  local ip4
  ip4=$(nbnet_ip p4)
  # Each of the others pings it at once, as an application would.
  local pids=()
  for p in p1 p2 p3; do
    (nbnet_in "$p" ping -q -c 1 -i 0.05 -w 10 "$ip4" >/dev/null 2>&1 &&
      echo "$p reached p4 $(($(ms_now) - t0)) ms after its netbird up" >"$NBT_TMP/reach-$p") &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || true; done
  for p in p1 p2 p3; do
    [ -s "$NBT_TMP/reach-$p" ] || nbt_fail "$p cannot reach the new peer p4 ($ip4) within 10 s"
    nbt_log "$(cat "$NBT_TMP/reach-$p")"
  done
  t1=$(ms_now)
  for p in p1 p2 p3; do nbnet_wait_connected "$p" 3 10; done
  nbnet_wait_connected p4 3 10
  check_connected p4 p1 p2 p3
  echo "mesh: 4 peers, all pairs connected; p4 reached by all $((t1 - t0)) ms after netbird up"
}

case_delete() {
  three_peers
  local p
  for p in p1 p2 p3; do nbnet_wait_connected "$p" 2 30; done
  ping_all p1 p2 p3
  local ip3 id3
  ip3=$(nbnet_ip p3)
  id3=$(nbnet_peer_id p3)
  [ -n "$id3" ] || nbt_fail "no peer p3 in the REST API"
  local t0
  t0=$(ms_now)
  nbnet_api DELETE "peers/$id3" >/dev/null
  wait_gone p1 "$ip3" 5
  wait_gone p2 "$ip3" 5
  nbt_log "p3 left p1's and p2's status $(($(ms_now) - t0)) ms after the DELETE"
  nbnet_unreachable p1 "$ip3" || nbt_fail "p1 still reaches deleted p3 at $ip3"
  nbnet_unreachable p2 "$ip3" || nbt_fail "p2 still reaches deleted p3 at $ip3"
  nbnet_unreachable p3 "$(nbnet_ip p1)" ||
    nbt_fail "deleted p3 still reaches p1"
  # The deleted peer knows, and says why.
  local st
  st=$(nbnet_status p3)
  jq -e '.peers.total == 0' <<<"$st" >/dev/null || nbt_fail "deleted p3 still has peers: $st"
  jq -e '.management.connected == false and (.management.error // "") != ""' <<<"$st" >/dev/null ||
    nbt_fail "deleted p3's status does not say Management refused it: $st"
  nbt_log "p3 says: $(jq -c '{daemonStatus, management}' <<<"$st")"
  # The others still reach each other.
  ping_all p1 p2
  echo "delete: p3 gone from both others' status, unreachable both ways"
}

case_policy() {
  three_peers
  local p
  for p in p1 p2 p3; do nbnet_wait_connected "$p" 2 30; done
  local ga gb rule
  ga=$(nbnet_group A p1)
  gb=$(nbnet_group B p2)
  nbnet_api POST policies "$(jq -cn --arg a "$ga" --arg b "$gb" '{name: "A to B", enabled: true,
    rules: [{name: "A to B", enabled: true, action: "accept", bidirectional: true,
             protocol: "all", sources: [$a], destinations: [$b]}]}')" >/dev/null
  local def
  def=$(nbnet_api GET policies | jq -r '.[] | select(.name == "Default") | .id')
  nbnet_api DELETE "policies/$def" >/dev/null
  local ip1 ip2 ip3
  ip1=$(nbnet_ip p1)
  ip2=$(nbnet_ip p2)
  ip3=$(nbnet_ip p3)
  wait_gone p1 "$ip3" 5
  wait_gone p2 "$ip3" 5
  wait_gone p3 "$ip1" 5
  wait_gone p3 "$ip2" 5
  [ "$(nbnet_status p3 | jq .peers.total)" = 0 ] || nbt_fail "p3 outside the policy has peers"
  [ "$(nbnet_status p1 | jq .peers.total)" = 1 ] || nbt_fail "p1 should have only p2"
  lists p1 "$ip2" && lists p2 "$ip1" || nbt_fail "A and B do not have each other"
  nbnet_ping p1 p2 || nbt_fail "A cannot ping B"
  nbnet_ping p2 p1 || nbt_fail "B cannot ping A"
  nbnet_unreachable p1 "$ip3" || nbt_fail "p1 reaches p3 outside the policy"
  nbnet_unreachable p3 "$ip1" || nbt_fail "p3 reaches p1 outside the policy"
  nbnet_unreachable p3 "$ip2" || nbt_fail "p3 reaches p2 outside the policy"
  echo "policy: A and B have each other, p3 has nobody and nobody reaches it"
}

mgmt_connected() {
  nbnet_status "$1" | jq -e '.management.connected == true'
}

case_mgmt_restart() {
  three_peers
  local p
  for p in p1 p2 p3; do nbnet_wait_connected "$p" 2 30; done
  local ip2 log=$NBT_TMP/ping-stream.txt
  ip2=$(nbnet_ip p2)
  # 10 s of pings from p1 to p2 (behind a NAT), 10 a second; Management is
  # killed after 1 s and is away for 4.
  nbnet_in p1 ping -i 0.1 -c 100 -W 1 "$ip2" >"$log" 2>&1 &
  local ping_pid=$!
  sleep 1
  nbnet_mgmt_stop KILL
  nbt_log "Management killed"
  sleep 2
  local st
  st=$(nbnet_status p1)
  jq -e '.management.connected == false' <<<"$st" >/dev/null ||
    nbt_fail "p1 still says Management is connected 2 s after it was killed"
  sleep 2
  nbnet_mgmt_start
  nbt_log "Management back"
  wait "$ping_pid" || true
  local sent got
  sent=$(awk '/packets transmitted/ {print $1}' "$log")
  got=$(awk '/packets transmitted/ {print $4}' "$log")
  nbt_log "ping stream while Management restarted: $got of $sent replies"
  [ -n "$sent" ] && [ "$sent" -ge 100 ] || nbt_fail "ping stream did not run: $(cat "$log")"
  [ $((sent - got)) -le 3 ] || nbt_fail "$((sent - got)) of $sent pings lost while Management restarted"
  for p in p1 p2 p3; do
    nbnet_wait_for 40 "$p reconnects to Management" mgmt_connected "$p"
  done
  # The sync channels carry maps again: a peer that joins now is seen.
  nbnet_peer p4
  nbnet_up p4
  nbnet_wait_connected p1 3 15
  nbnet_ping p1 p4 || nbt_fail "p1 cannot reach p4 that joined after the restart"
  echo "mgmt-restart: $got of $sent pings answered during the restart; all clients synced again"
}

case_daemon_restart() {
  three_peers
  local p
  for p in p1 p2 p3; do nbnet_wait_connected "$p" 2 30; done
  local before after
  before=$(nbnet_status p2 | jq -c '{publicKey, netbirdIp}')
  [ -f "$NBT_TMP/p2.json" ] || nbt_fail "p2 has no config file"
  nbnet_daemon_stop p2
  # The tunnel went with it: its interface is gone.
  ! nbnet_in p2 ip link show "${NBNET_IF[p2]}" >/dev/null 2>&1 ||
    nbt_fail "p2's interface outlived its daemon"
  nbnet_daemon p2
  local t0
  t0=$(ms_now)
  # No `netbird up`: the daemon was up when it stopped, so it comes up again.
  nbnet_wait_connected p2 2 30
  after=$(nbnet_status p2 | jq -c '{publicKey, netbirdIp}')
  [ "$before" = "$after" ] || nbt_fail "p2 changed identity across a restart: $before -> $after"
  local t_up
  t_up=$(ms_now)
  # Its peers learn of the new session through Signal and meet it again.
  local ip2
  ip2=$(nbnet_ip p2)
  nbnet_in p1 ping -q -c 1 -i 0.05 -w 15 "$ip2" >/dev/null 2>&1 ||
    nbt_fail "p1 cannot reach p2 within 15 s of its restart"
  local t_ping
  t_ping=$(ms_now)
  nbnet_in p3 ping -q -c 1 -i 0.05 -w 15 "$ip2" >/dev/null 2>&1 ||
    nbt_fail "p3 cannot reach p2 within 15 s of its restart"
  nbnet_ping p2 p1 || nbt_fail "p2 cannot reach p1 after its restart"
  nbnet_ping p2 p3 || nbt_fail "p2 cannot reach p3 after its restart"
  nbnet_wait_connected p1 2 10
  nbnet_wait_connected p3 2 10
  echo "daemon-restart: p2 back as $after, up in $((t_up - t0)) ms, p1 reached it $((t_ping - t0)) ms after the daemon started"
}

# expect_fail NAME WHAT REGEX CMD...: CMD fails with a message matching
# REGEX; prints the exit code.
expect_fail() {
  local what=$1 re=$2 out rc=0
  shift 2
  out=$("$@" 2>&1) || rc=$?
  [ "$rc" != 0 ] || nbt_fail "$what: exit 0 ($out)"
  grep -Eqi "$re" <<<"$out" || nbt_fail "$what: message does not match /$re/: $out"
  nbt_log "$what: exit $rc: $out"
  echo "$rc"
}

case_bad_input() {
  nbnet_services
  nbnet_router ra
  nbnet_peer p1 ra
  nbnet_peer p2
  nbnet_daemon p1
  nbnet_daemon p2
  local rc_key rc_unreach
  rc_key=$(expect_fail "wrong setup key" "setup key" \
    nbnet_cli p1 up -m "$NBNET_MGMT_URL" -k 00000000-0000-0000-0000-000000000000 \
    --interface-name "${NBNET_IF[p1]}")
  # Nothing listens there: the public address, a closed port.
  rc_unreach=$(expect_fail "unreachable Management" "management|connect|reach" \
    nbnet_cli p2 up -m "http://$NBNET_PUBLIC:1" -k "$NBNET_SETUP_KEY" \
    --interface-name "${NBNET_IF[p2]}")
  # The CLI's table (netbird --help): 6 setup key not valid, 5 Management
  # unreachable.
  [ "$rc_key" = 6 ] || nbt_fail "a wrong setup key exits $rc_key, not 6"
  [ "$rc_unreach" = 5 ] || nbt_fail "an unreachable Management exits $rc_unreach, not 5"
  # Both daemons survived and join with the right input.
  nbnet_up p1
  nbnet_up p2
  nbnet_wait_connected p1 1 30
  nbnet_ping p1 p2 || nbt_fail "p1 cannot reach p2 after the bad input"
  echo "bad-input: wrong setup key exit $rc_key, unreachable Management exit $rc_unreach; both daemons then joined"
}

# serve NAME PORT: a TCP server in NAME's namespace that answers every
# connection with "NAME:PORT".
serve() {
  local name=$1 port=$2
  (exec nsenter --net="/var/run/netns/${NBNET_NS[$name]}" "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[2])))
s.listen(16)
while True:
    c, _ = s.accept()
    c.sendall(("%s:%s\n" % (sys.argv[1], sys.argv[2])).encode())
    c.close()
' "$name" "$port") >>"$NBT_TMP/serve-$name-$port.log" 2>&1 &
  NBT_PIDS+=("$!")
  nbnet_wait_for 5 "server on $name:$port" sh -c "ip netns exec ${NBNET_NS[$name]} ss -lnt | grep -q ':$port '"
}

# answers FROM ADDR PORT [SECS]: a TCP connection from FROM gets the
# server's line back.
answers() {
  local out
  out=$(nbnet_in "$1" timeout "${4:-2}" nc -w 1 "$2" "$3" </dev/null 2>/dev/null) || true
  [[ $out == *":$3"* ]]
}

stat_of() {
  nbt_stat "${NBNET_IF[$1]}" "$2"
}

case_acl() {
  three_peers
  local p
  for p in p1 p2 p3; do nbnet_wait_connected "$p" 2 30; done
  local ip1 ip2
  ip1=$(nbnet_ip p1)
  ip2=$(nbnet_ip p2)
  serve p2 22
  serve p2 80
  serve p1 8022
  # The default All <-> All policy: everything passes.
  nbnet_ping p1 p2 || nbt_fail "under the default policy p1 cannot ping p2"
  answers p1 "$ip2" 80 || nbt_fail "under the default policy p1 cannot reach p2:80"
  local ga gb pol def
  ga=$(nbnet_group A p1)
  gb=$(nbnet_group B p2)
  pol=$(nbnet_api POST policies "$(jq -cn --arg a "$ga" --arg b "$gb" '{name: "ssh", enabled: true,
    rules: [{name: "ssh", enabled: true, action: "accept", bidirectional: false,
             protocol: "tcp", ports: ["22"], sources: [$a], destinations: [$b]}]}')" | jq -r .id)
  def=$(nbnet_api GET policies | jq -r '.[] | select(.name == "Default") | .id')
  nbnet_api DELETE "policies/$def" >/dev/null
  # p3 leaves the maps: the new rules are in force.
  wait_gone p1 "$(nbnet_ip p3)" 5
  wait_gone p2 "$(nbnet_ip p3)" 5
  local drops0
  drops0=$(stat_of p2 rx_drop_filter)
  answers p1 "$ip2" 22 || nbt_fail "A -> B tcp/22 does not answer"
  ! answers p1 "$ip2" 80 || nbt_fail "A -> B tcp/80 answers, the policy allows only 22"
  nbnet_unreachable p1 "$ip2" || nbt_fail "A pings B, the policy allows only tcp/22"
  local drops1
  drops1=$(stat_of p2 rx_drop_filter)
  [ "${drops1:-0}" -gt "${drops0:-0}" ] ||
    nbt_fail "B's filter counted no drop ($drops0 -> $drops1) for 80 and ping"
  nbt_log "B's filter: rx_drop_filter $drops0 -> $drops1, filter_drop_no_rule $(stat_of p2 filter_drop_no_rule)"
  # B's answers on 22 passed A's filter as replies (A has no rule that lets
  # B in); a connection B opens to A is not let in.
  local a_drops0
  a_drops0=$(stat_of p1 rx_drop_filter)
  ! answers p2 "$ip1" 8022 || nbt_fail "B opened a connection to A, no rule lets B into A"
  [ "$(stat_of p1 rx_drop_filter)" -gt "${a_drops0:-0}" ] ||
    nbt_fail "A's filter counted no drop for B's connection"
  # A second policy lets B open tcp/8022 to A. B's own inbound still allows
  # only tcp/22 from A: A's answers reach B as replies to the connection B
  # opened (B's connection tracking), and nothing else of A's gets in.
  nbnet_api POST policies "$(jq -cn --arg a "$ga" --arg b "$gb" '{name: "back", enabled: true,
    rules: [{name: "back", enabled: true, action: "accept", bidirectional: false,
             protocol: "tcp", ports: ["8022"], sources: [$b], destinations: [$a]}]}')" >/dev/null
  local t_back
  t_back=$(ms_now)
  until answers p2 "$ip1" 8022 0.5; do
    [ $(($(ms_now) - t_back)) -lt 5000 ] ||
      nbt_fail "B -> A tcp/8022 allowed by a policy, but B gets no answer from A"
  done
  ! answers p1 "$ip2" 80 || nbt_fail "A -> B tcp/80 answers once B may open connections to A"
  nbnet_unreachable p1 "$ip2" || nbt_fail "A pings B once B may open connections to A"

  # The policy changed through REST: 80 instead of 22, in force within 1 s.
  nbnet_api PUT "policies/$pol" "$(jq -cn --arg a "$ga" --arg b "$gb" '{name: "ssh", enabled: true,
    rules: [{name: "web", enabled: true, action: "accept", bidirectional: false,
             protocol: "tcp", ports: ["80"], sources: [$a], destinations: [$b]}]}')" >/dev/null
  local t0 t1
  t0=$(ms_now)
  until answers p1 "$ip2" 80 0.2; do
    [ $(($(ms_now) - t0)) -lt 5000 ] || nbt_fail "the new policy (tcp/80) is not in force after 5 s"
  done
  t1=$(ms_now)
  ! answers p1 "$ip2" 22 || nbt_fail "tcp/22 still answers after the policy moved to 80"
  nbt_log "policy change in force $((t1 - t0)) ms after the REST call returned"
  [ $((t1 - t0)) -le 1000 ] || nbt_fail "policy change took $((t1 - t0)) ms (goal: within 1 s)"
  echo "acl: tcp/22 only: 22 answers, 80 and ping dropped ($drops0 -> $drops1 drops on B); B cannot open to A until a policy lets it, then gets A's replies; change to tcp/80 in force in $((t1 - t0)) ms"
}

case $CASE in
  mesh) case_mesh ;;
  delete) case_delete ;;
  policy) case_policy ;;
  mgmt-restart) case_mgmt_restart ;;
  daemon-restart) case_daemon_restart ;;
  bad-input) case_bad_input ;;
  acl) case_acl ;;
  *) nbt_fail "unknown case $CASE" ;;
esac
nbnet_finish
