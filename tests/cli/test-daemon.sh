#!/bin/bash
# `netbird service run` and the `netbird` CLI end to end (TAP output).
#
# Real processes: netbird-management and netbird-signal in a namespace of
# their own making (198.18.7.1), daemon A beside them and daemon B in a
# second namespace behind a veth (198.18.7.2), each with its configuration
# and socket in a temp folder. Daemon A's CLI calls use the flags after
# the command, B's before it or from NB_*; a user without access to the
# socket is run with setpriv. Everything is removed on exit, failing or not.
#
# SPDX-License-Identifier: BSD-3-Clause
set -u
netbird=${NETBIRD_CLI:?set NETBIRD_CLI to the built netbird binary}
mgmt_bin=${NETBIRD_MANAGEMENT:?set NETBIRD_MANAGEMENT to the built netbird-management}
signal_bin=${NETBIRD_SIGNAL:?set NETBIRD_SIGNAL to the built netbird-signal}
n=0
failed=0

ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check () { if eval "$2"; then ok "$1"; else not_ok "$1"; diag "${3:-}"; fi; }
diag () { [ -n "${1:-}" ] && printf '%s\n' "$1" | sed 's/^/# /'; return 0; }

if [ "$(id -u)" != 0 ]; then
  echo "1..0 # SKIP needs root (network namespaces, TUN devices)"
  exit 0
fi

tag=$(( $$ % 100000 ))
ns_s=nbcli-s-$tag
ns_p=nbcli-p-$tag
if_a=nba$tag
if_b=nbb$tag
tmp=$(mktemp -d /tmp/nb-cli-daemon-XXXXXX)
chmod 755 "$tmp"   # setpriv'd users must reach the sockets to be refused by them
sock_a=$tmp/a.sock
sock_b=$tmp/b.sock
mgmt_url=http://198.18.7.1:33073
pid_a= pid_b= pid_mgmt= pid_signal=

stop () { # pid: SIGTERM, wait; its exit status in $stopped_rc
  stopped_rc=
  [ -n "$1" ] || return 0
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  stopped_rc=$?
}

cleanup () {
  stop "$pid_a"; stop "$pid_b"; stop "$pid_mgmt"; stop "$pid_signal"
  ip netns del "$ns_s" 2>/dev/null
  ip netns del "$ns_p" 2>/dev/null
  rm -f "/var/run/wireguard/$if_a.sock" "/var/run/wireguard/$if_b.sock"
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

wait_for () { # seconds command...: until the command succeeds
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -ge "$deadline" ] && return 1
    sleep 0.1
  done
}

start_daemon () { # name namespace [flags...]
  local name=$1 ns=$2; shift 2
  ip netns exec "$ns" "$netbird" service run -c "$tmp/$name/config.json" \
    --daemon-addr "unix://$tmp/$name.sock" -l debug "$@" >>"$tmp/$name.log" 2>&1 &
  eval "pid_$name=$!"
  wait_for 10 test -S "$tmp/$name.sock"
}

json () { # socket jq-filter: a value of `netbird status --json`
  "$netbird" status --json --daemon-addr "unix://$1" | jq -r "$2"
}

# -- No daemon --------------------------------------------------------------

out=$("$netbird" status --daemon-addr "unix://$tmp/none.sock" 2>&1); rc=$?
check "no daemon: exit 3 and how to start one" \
  '[ $rc = 3 ] && [[ "$out" == *"daemon is not running"* ]] && [[ "$out" == *"netbird service"* ]]' "$out"
out=$(NB_DAEMON_ADDR="unix://$tmp/none.sock" "$netbird" up -k X 2>&1); rc=$?
check "no daemon, address from NB_DAEMON_ADDR: exit 3" '[ $rc = 3 ] && [[ "$out" == *"$tmp/none.sock"* ]]' "$out"
out=$("$netbird" status --daemon-addr tcp://127.0.0.1:1 2>&1); rc=$?
check "a daemon address that is not unix:// is a usage error (exit 2)" \
  '[ $rc = 2 ] && [[ "$out" == *"not a Unix socket"* ]]' "$out"
out=$("$netbird" frobnicate 2>&1); rc=$?
check "unknown command: exit 2" '[ $rc = 2 ] && [[ "$out" == *"unknown command"* ]]' "$out"
out=$("$netbird" --help); rc=$?
check "--help lists the exit codes" '[ $rc = 0 ] && [[ "$out" == *"Exit codes:"* ]] && [[ "$out" == *"permission denied"* ]]' "$out"

# -- Servers and daemons ----------------------------------------------------

ip netns add "$ns_s" && ip netns add "$ns_p" || { echo "Bail out! cannot make namespaces"; exit 1; }
ip -n "$ns_s" link set lo up
ip -n "$ns_p" link set lo up
ip link add "nbcs$tag" netns "$ns_s" type veth peer name "nbcp$tag" netns "$ns_p"
ip -n "$ns_s" addr add 198.18.7.1/24 dev "nbcs$tag"
ip -n "$ns_p" addr add 198.18.7.2/24 dev "nbcp$tag"
ip -n "$ns_s" link set "nbcs$tag" up
ip -n "$ns_p" link set "nbcp$tag" up

cat >"$tmp/management.json" <<EOF
{ "listen": "198.18.7.1:33073", "data_dir": "$tmp/management",
  "signal": { "uri": "http://198.18.7.1:10000" } }
EOF
ip netns exec "$ns_s" "$signal_bin" --listen 198.18.7.1:10000 >"$tmp/signal.log" 2>&1 &
pid_signal=$!
ip netns exec "$ns_s" "$mgmt_bin" --config "$tmp/management.json" >"$tmp/management.log" 2>&1 &
pid_mgmt=$!
wait_for 20 test -s "$tmp/management/initial-credentials.json" ||
  { echo "Bail out! netbird-management did not start"; cat "$tmp/management.log"; exit 1; }
key=$(jq -r .setup_key "$tmp/management/initial-credentials.json")
token=$(jq -r .admin_token "$tmp/management/initial-credentials.json")
api () { # method path [json]
  ip netns exec "$ns_s" curl -sS -X "$1" -H "Authorization: Token $token" \
    -H 'Content-Type: application/json' ${3:+--data "$3"} "$mgmt_url$2"
}
wait_for 10 api GET /api/peers || { echo "Bail out! no REST API"; exit 1; }

start_daemon a "$ns_s" || { echo "Bail out! daemon A did not start"; cat "$tmp/a.log"; exit 1; }
start_daemon b "$ns_p" || { echo "Bail out! daemon B did not start"; cat "$tmp/b.log"; exit 1; }

mode=$(stat -c '%a %U %G' "$sock_a")
check "the socket is mode 0660, root:root" '[ "$mode" = "660 root root" ]' "$mode"
check "a fresh daemon is Idle" '[ "$(json "$sock_a" .daemonStatus)" = Idle ]'
"$netbird" status -C ready --daemon-addr "unix://$sock_a" 2>/dev/null; rc=$?
check "status -C ready: exit 10 while Idle" '[ $rc = 10 ]'
"$netbird" status --check live --daemon-addr "unix://$sock_a"; rc=$?
check "status --check live: exit 0 while the daemon answers" '[ $rc = 0 ]'

# -- Refused logins -----------------------------------------------------------

out=$("$netbird" up -m "$mgmt_url" -k 00000000-0000-4000-8000-000000000000 \
      --daemon-addr "unix://$sock_a" 2>&1); rc=$?
check "wrong setup key: exit 6 and Management's reason" '[ $rc = 6 ] && [[ "$out" == *"setup key"* ]]' "$out"
out=$("$netbird" up -m http://198.18.7.1:1 -k "$key" --daemon-addr "unix://$sock_a" 2>&1); rc=$?
check "unreachable management URL: exit 5 and what to check" \
  '[ $rc = 5 ] && [[ "$out" == *"not reachable"* ]] && [[ "$out" == *"--management-url"* ]]' "$out"
check "the daemon logged both failures" '[ "$(grep -c "Up failed" "$tmp/a.log")" -ge 2 ]'
out=$("$netbird" up -c "$tmp/elsewhere.json" --daemon-addr "unix://$sock_a" 2>&1); rc=$?
check "up -c naming another configuration than the daemon's: exit 2, restart it" \
  '[ $rc = 2 ] && [[ "$out" == *"restart it"* ]]' "$out"
out=$("$netbird" up --wireguard-port 70000 --daemon-addr "unix://$sock_a" 2>&1); rc=$?
check "--wireguard-port 70000: exit 2" '[ $rc = 2 ] && [[ "$out" == *"1 to 65535"* ]]' "$out"

# -- Up: A with its flags after the command, B before it and from NB_* ---------

"$netbird" up -m "$mgmt_url" -k "$key" -n peer-a --interface-name "$if_a" \
  --daemon-addr "unix://$sock_a" >"$tmp/up-twice.out" 2>&1 &
twice=$!
out=$("$netbird" up -m "$mgmt_url" -k "$key" -n peer-a --interface-name "$if_a" \
      --daemon-addr "unix://$sock_a" 2>&1); rc=$?
wait $twice; rc2=$?
check "up with flags after the command: Connected" '[ $rc = 0 ] && [[ "$out" == *Connected ]]' "$out"
check "a second up at the same time waits for the same outcome" \
  '[ $rc2 = 0 ] && [[ "$(cat "$tmp/up-twice.out")" =~ ^(Already\ )?[Cc]onnected$ ]]' "$(cat "$tmp/up-twice.out")"
out=$(NB_SETUP_KEY=$key NB_MANAGEMENT_URL=$mgmt_url NB_HOSTNAME=peer-b NB_INTERFACE_NAME=$if_b \
      "$netbird" --daemon-addr "unix://$sock_b" up 2>&1); rc=$?
check "up with flags before the command and from NB_*: Connected" '[ $rc = 0 ] && [ "$out" = Connected ]' "$out"
out=$("$netbird" --daemon-addr "unix://$sock_a" up 2>&1); rc=$?
check "up while up: Already connected" '[ $rc = 0 ] && [ "$out" = "Already connected" ]' "$out"
check "the tunnel devices exist" \
  'ip -n "$ns_s" link show "$if_a" >/dev/null && ip -n "$ns_p" link show "$if_b" >/dev/null'

connected_to_b () { [ "$(json "$sock_a" '.peers.connected')" = 1 ] && [ "$(json "$sock_b" '.peers.connected')" = 1 ]; }
wait_for 30 connected_to_b
check "A and B list each other Connected within 30 s" connected_to_b "$("$netbird" status -d --daemon-addr "unix://$sock_a")"

sa=$("$netbird" status --json --daemon-addr "unix://$sock_a")
sb=$("$netbird" --daemon-addr "unix://$sock_b" status --json)
ja () { printf '%s' "$sa" | jq -r "$1"; }
jb () { printf '%s' "$sb" | jq -r "$1"; }
ip_b=$(jb .netbirdIp); ip_b=${ip_b%/*}
pub_a=$("$netbird" pubkey <"$tmp/a/config.key")
check "json: daemonStatus Connected" '[ "$(ja .daemonStatus)" = Connected ]' "$sa"
check "json: netbirdIp in 100.64.0.0/10 with its prefix" '[[ "$(ja .netbirdIp)" =~ ^100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.[0-9]+\.[0-9]+/[0-9]+$ ]]' "$sa"
check "json: publicKey is the key file's" '[ "$(ja .publicKey)" = "$pub_a" ]' "$sa"
check "json: fqdn from --hostname" '[[ "$(ja .fqdn)" == peer-a.* ]]' "$sa"
check "json: management url and connected" '[ "$(ja .management.url)" = "$mgmt_url" ] && [ "$(ja .management.connected)" = true ] && [ "$(ja .management.error)" = "" ]' "$sa"
check "json: signal connected" '[ "$(ja .signal.connected)" = true ] && [ "$(ja .signal.url)" = http://198.18.7.1:10000 ]' "$sa"
check "json: peers total 1, connected 1" '[ "$(ja .peers.total)" = 1 ] && [ "$(ja .peers.connected)" = 1 ]' "$sa"
check "json: the peer is B (fqdn, netbirdIp, publicKey)" \
  '[[ "$(ja ".peers.details[0].fqdn")" == peer-b.* ]] && [ "$(ja ".peers.details[0].netbirdIp")" = "$ip_b" -o "$(ja ".peers.details[0].netbirdIp")" = "$(jb .netbirdIp)" ] && [ "$(ja ".peers.details[0].publicKey")" = "$(jb .publicKey)" ]' "$sa"
check "json: peer status Connected, connectionType P2P" \
  '[ "$(ja ".peers.details[0].status")" = Connected ] && [ "$(ja ".peers.details[0].connectionType")" = P2P ]' "$sa"
check "json: ICE candidate types and endpoints" \
  '[[ "$(ja ".peers.details[0].iceCandidateType.local")" =~ ^(host|srflx|prflx)$ ]] && [[ "$(ja ".peers.details[0].iceCandidateType.remote")" =~ ^(host|srflx|prflx)$ ]] && [[ "$(ja ".peers.details[0].iceCandidateEndpoint.remote")" == 198.18.7.2:* ]]' "$sa"
check "json: lastStatusUpdate in RFC 3339, relayAddress a string" \
  '[[ "$(ja ".peers.details[0].lastStatusUpdate")" =~ ^20[0-9][0-9]-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$ ]] && [ "$(ja ".peers.details[0].relayAddress | type")" = string ]' "$sa"
check "json: transfer and latency are numbers" \
  '[ "$(ja ".peers.details[0] | [.transferReceived, .transferSent, .latency] | map(type) | unique | .[0]")" = number ]' "$sa"

ping_ok=0
t0=$(date +%s%N)
wait_for 15 ip netns exec "$ns_s" ping -c 1 -W 1 "$ip_b" && ping_ok=1
echo "# daemon A, one peer connected:" $(grep -E "VmRSS|RssAnon|RssFile" /proc/$pid_a/status)
echo "# first ping answered $(( ($(date +%s%N) - t0) / 1000000 )) ms after both listed each other Connected"
check "A pings B's overlay address through the tunnel" '[ $ping_ok = 1 ]' \
  "$(grep -v libsoup "$tmp/a.log" | tail -20; echo; grep -v libsoup "$tmp/b.log" | tail -20)"
sa=$("$netbird" status --json --daemon-addr "unix://$sock_a")
check "json: the ping shows in transferSent, and a WireGuard handshake happened" \
  '[ "$(ja ".peers.details[0].transferSent")" -gt 0 ] && [ "$(ja ".peers.details[0].lastWireguardHandshake")" != 0001-01-01T00:00:00Z ]' "$sa"

out=$("$netbird" status -d --daemon-addr "unix://$sock_a")
check "status -d: NetBird's per-peer block" \
  '[[ "$out" == *"Peers detail:"* ]] && [[ "$out" == *" peer-b."*":"* ]] && [[ "$out" == *"  Connection type: P2P"* ]] && [[ "$out" == *"  ICE candidate (Local/Remote): "* ]] && [[ "$out" == *"  Last WireGuard handshake: "* ]] && [[ "$out" == *"Transfer status (received/sent)"* ]]' "$out"
check "status -d: Management connected to its URL" '[[ "$out" == *"Management: Connected to $mgmt_url"* ]]' "$out"
diag "$out"
out=$("$netbird" status --daemon-addr "unix://$sock_a")
check "status: the summary counts 1/1 peers" '[[ "$out" == *"Peers count: 1/1 Connected"* ]] && [[ "$out" != *"Peers detail"* ]]' "$out"
"$netbird" status -C ready --daemon-addr "unix://$sock_a"; rc=$?
check "status -C ready: exit 0 when connected" '[ $rc = 0 ]'

# -- Who may use the socket -------------------------------------------------

out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$netbird" status --daemon-addr "unix://$sock_a" 2>&1); rc=$?
check "a user without access to the socket: exit 4, permission denied" \
  '[ $rc = 4 ] && [[ "$out" == *"permission denied"* ]]' "$out"

# -- Down, up again, restart ---------------------------------------------------

check "wanted-up is remembered beside the configuration" 'test -f "$tmp/a/config.wanted-up"'
out=$("$netbird" down --daemon-addr "unix://$sock_a" 2>&1); rc=$?
check "down: Disconnected" '[ $rc = 0 ] && [ "$out" = Disconnected ]' "$out"
"$netbird" status -C ready --daemon-addr "unix://$sock_a" 2>/dev/null; rc=$?
check "status -C ready after down: exit 10" '[ $rc = 10 ]'
check "after down: Idle, no tunnel device, wanted-up forgotten" \
  '[ "$(json "$sock_a" .daemonStatus)" = Idle ] && ! ip -n "$ns_s" link show "$if_a" >/dev/null 2>&1 && ! test -e "$tmp/a/config.wanted-up"'
out=$(cd "$tmp" && "$netbird" up -c a/config.json --daemon-addr "unix://$sock_a" 2>&1); rc=$?
check "up again without a setup key (registered peer), -c relative to the CLI's folder" \
  '[ $rc = 0 ] && [ "$out" = Connected ]' "$out"
ip_a=$(json "$sock_a" .netbirdIp)

stop "$pid_a"; pid_a=
check "SIGTERM: the daemon exits 0, removes its socket and its tunnel" \
  '[ "$stopped_rc" = 0 ] && ! test -e "$sock_a" && ! ip -n "$ns_s" link show "$if_a" >/dev/null 2>&1 && grep -q "Shutting down" "$tmp/a.log"' "$(tail -5 "$tmp/a.log")"
# The machine reboots and Management is not back yet: the daemon keeps
# trying, and comes up once Management answers.
stop "$pid_mgmt"; pid_mgmt=
start_daemon a "$ns_s" --daemon-group nogroup
wait_for 10 grep -q "Trying again in" "$tmp/a.log"; rc=$?
"$netbird" status -C ready --daemon-addr "unix://$sock_a" 2>/dev/null; rc2=$?
check "a restarted daemon, Management away: it retries and is not ready" \
  '[ $rc = 0 ] && [ $rc2 = 10 ]' "$(grep -v libsoup "$tmp/a.log" | tail -5)"
ip netns exec "$ns_s" "$mgmt_bin" --config "$tmp/management.json" >>"$tmp/management.log" 2>&1 &
pid_mgmt=$!
wait_for 30 "$netbird" status -C ready --daemon-addr "unix://$sock_a"; rc=$?
check "... and brings the tunnel back up by itself once Management is back" \
  '[ $rc = 0 ] && grep -q "bringing it up again" "$tmp/a.log"' "$(grep -v libsoup "$tmp/a.log" | tail -5)"
check "... with the same key and address" \
  '[ "$(json "$sock_a" .publicKey)" = "$pub_a" ] && [ "$(json "$sock_a" .netbirdIp)" = "$ip_a" ]'
mode=$(stat -c '%a %G' "$sock_a")
check "--daemon-group: the socket's group" '[ "$mode" = "660 nogroup" ]' "$mode"
out=$(setpriv --reuid=65534 --regid=65534 --init-groups "$netbird" status --json --daemon-addr "unix://$sock_a" 2>&1); rc=$?
check "a member of the socket's group may use the daemon" \
  '[ $rc = 0 ] && [ "$(printf "%s" "$out" | jq -r .daemonStatus)" = Connected ]' "$out"
chmod 0666 "$sock_a"
out=$(setpriv --reuid=12345 --regid=12345 --clear-groups "$netbird" status --daemon-addr "unix://$sock_a" 2>&1); rc=$?
check "a socket widened by hand still refuses others (EXTERNAL auth): exit 4" \
  '[ $rc = 4 ] && [[ "$out" == *"refused this user"* ]] && grep -q "Refused a connection from uid 12345" "$tmp/a.log"' "$out"
chmod 0660 "$sock_a"

# -- A peer deleted through the REST API -----------------------------------------

id_b=$(api GET /api/peers | jq -r --arg ip "$ip_b" '.[] | select(.ip == $ip) | .id')
api DELETE "/api/peers/$id_b" >/dev/null
needs_login () { [ "$(json "$sock_b" .daemonStatus)" = NeedsLogin ]; }
wait_for 15 needs_login
check "a peer deleted through the REST API: its daemon says NeedsLogin" needs_login \
  "$(api GET /api/peers)"
out=$("$netbird" status --daemon-addr "unix://$sock_b")
check "... and status tells how to register again" \
  '[[ "$out" == "Daemon status: NeedsLogin"* ]] && [[ "$out" == *"Reason: "*"deleted"* ]] && [[ "$out" == *"netbird up --setup-key"* ]]' "$out"
out=$("$netbird" up --daemon-addr "unix://$sock_b" 2>&1); rc=$?
check "... up without a setup key: Management knows it no more, exit 8" \
  '[ $rc = 8 ] && [[ "$out" == *"--setup-key"* ]]' "$out"

# -- Logout, setup keys used up and expired --------------------------------------

out=$(NB_DAEMON_ADDR=unix://$sock_b "$netbird" logout 2>&1); rc=$?
check "logout: Logged out" '[ $rc = 0 ] && [ "$out" = "Logged out" ]' "$out"
out=$(NB_DAEMON_ADDR=unix://$sock_b "$netbird" up 2>&1); rc=$?
check "up after logout without a setup key: exit 8, give a setup key" \
  '[ $rc = 8 ] && [[ "$out" == *"--setup-key"* ]]' "$out"
once=$(api POST /api/setup-keys '{"name":"once","type":"one-off","expires_in":86400,"auto_groups":[],"usage_limit":1}' | jq -r .key)
printf '%s\n' "$once" >"$tmp/once.key"
out=$(NB_DAEMON_ADDR=unix://$sock_b "$netbird" login --setup-key-file "$tmp/once.key" 2>&1); rc=$?
check "login with --setup-key-file (a one-off key)" '[ $rc = 0 ] && [ "$out" = "Logged in" ]' "$out"
"$netbird" logout --daemon-addr "unix://$sock_b" >/dev/null
out=$(NB_DAEMON_ADDR=unix://$sock_b NB_SETUP_KEY_FILE=$tmp/once.key "$netbird" up 2>&1); rc=$?
check "the one-off key again: exit 7, used up" '[ $rc = 7 ] && [[ "$out" == *"used"* ]]' "$out"
short=$(api POST /api/setup-keys '{"name":"short","type":"reusable","expires_in":1,"auto_groups":[]}' | jq -r .key)
sleep 2
out=$("$netbird" up -k "$short" --daemon-addr "unix://$sock_b" 2>&1); rc=$?
check "an expired setup key: exit 7, expired" '[ $rc = 7 ] && [[ "$out" == *"expired"* ]]' "$out"

# -- service install / uninstall into a temp root ----------------------------------

root=$tmp/root
out=$("$netbird" service install --root "$root" -c /etc/nb/c.json --daemon-addr unix:///run/nb.sock -l debug 2>&1); rc=$?
unit=$root/etc/systemd/system/netbird.service
check "service install --root writes the unit" '[ $rc = 0 ] && test -f "$unit" && [[ "$out" == *"$unit"* ]]' "$out"
check "the unit: Type=simple, ExecStart with the flags given, Restart=on-failure, CAP_NET_ADMIN" \
  'grep -qx "Type=simple" "$unit" && grep -qx "ExecStart=$(readlink -f "$netbird") service run --config /etc/nb/c.json --daemon-addr unix:///run/nb.sock --log-level debug" "$unit" && grep -qx "Restart=on-failure" "$unit" && grep -q "CAP_NET_ADMIN" "$unit" && grep -qx "ReadWritePaths=/etc/nb /run" "$unit" && ! test -e /etc/nb' "$(cat "$unit" 2>&1)"
out=$("$netbird" service install --root "$root" 2>&1); rc=$?
check "service install twice: exit 1, already installed" '[ $rc = 1 ] && [[ "$out" == *"already installed"* ]]' "$out"
out=$("$netbird" service uninstall --root "$root" 2>&1); rc=$?
check "service uninstall removes it" '[ $rc = 0 ] && ! test -e "$unit"' "$out"
out=$("$netbird" service uninstall --root "$root" 2>&1); rc=$?
check "service uninstall when not installed: exit 1" '[ $rc = 1 ] && [[ "$out" == *"not installed"* ]]' "$out"
out=$(NB_SYSTEMD_UNIT_DIR=$tmp/units "$netbird" service install 2>&1); rc=$?
check "NB_SYSTEMD_UNIT_DIR names the unit folder" \
  '[ $rc = 0 ] && grep -q "service run --config /etc/netbird/config.json$" "$tmp/units/netbird.service"' "$out"
NB_SYSTEMD_UNIT_DIR=$tmp/units "$netbird" service uninstall >/dev/null 2>&1
check "... and uninstall removes it there" '! test -e "$tmp/units/netbird.service"'
if [ ! -d /run/systemd/system ]; then
  out=$("$netbird" service start 2>&1); rc=$?
  check "service start without systemd: exit 1 and what to do instead" \
    '[ $rc = 1 ] && [[ "$out" == *"netbird service run"* ]]' "$out"
fi

# -- A second daemon, a daemon killed -------------------------------------------------

out=$(timeout 20 ip netns exec "$ns_s" "$netbird" service run -c "$tmp/a2/config.json" \
      --daemon-addr "unix://$sock_a" 2>&1); rc=$?
check "a second daemon on a socket in use: exit 1, the first keeps it" \
  '[ $rc = 1 ] && [[ "$out" == *"serving $sock_a already"* ]] && [ "$(json "$sock_a" .daemonStatus)" = Connected ]' "$out"
kill -KILL "$pid_b"; wait "$pid_b" 2>/dev/null; pid_b=
check "a daemon killed with SIGKILL leaves its socket behind" 'test -S "$sock_b"'
out=$("$netbird" status --daemon-addr "unix://$sock_b" 2>&1); rc=$?
check "... where nothing answers: exit 3" '[ $rc = 3 ] && [[ "$out" == *"nothing answers"* ]]' "$out"
start_daemon b "$ns_p"
wait_for 10 "$netbird" status -C live --daemon-addr "unix://$sock_b"
check "the next daemon removes the stale socket and serves" \
  'grep -q "Removing the stale socket" "$tmp/b.log" && "$netbird" status -C live --daemon-addr "unix://$sock_b"'

# -- The end -------------------------------------------------------------------------

stop "$pid_b"; pid_b=
check "daemon B ends on SIGTERM with status 0" '[ "$stopped_rc" = 0 ] && ! test -e "$sock_b"' "$(tail -5 "$tmp/b.log")"

echo "1..$n"
exit $failed
