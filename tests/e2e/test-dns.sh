#!/bin/bash
# test-dns.sh: DNS on every peer (issue 18), the whole product in network
# namespaces: each peer's daemon runs under `ip netns exec`, so the
# /etc/resolv.conf it rewrites is its own /etc/netns/NS/resolv.conf, never
# this machine's. Real resolvers: dnsmasq as the host's original upstream
# (198.18.0.1) and as the two servers of a nameserver group for corp.test
# (198.18.0.2, 198.18.0.3).
#
#   - the peer's resolver answers `dig p2.DOMAIN @its-address`, and
#     `getent hosts` finds p2 through the rewritten resolv.conf (by FQDN
#     and by its short name through the search domain)
#   - corp.test goes to the group's first server; with it silent (dropped)
#     or down (port closed), to the second; other names to the original
#     upstream
#   - status --json has the group in "dnsServers"; status -d shows it
#   - a peer deleted through REST stops resolving within its TTL
#   - resolv.conf: rewritten on up, back byte for byte on down, after a
#     kill -9 and restart, and on daemon exit; --disable-dns leaves it
#
# SPDX-License-Identifier: BSD-3-Clause
NBT_NAME=dns
. "$(dirname "$0")/../lib/nbt.sh"
. "$(dirname "$0")/../lib/nbnet.sh"
nbnet_require
for tool in dig getent dnsmasq; do
  command -v "$tool" >/dev/null || nbt_fail "needs $tool (dnsutils, dnsmasq-base); ./dev installs them"
done

ms_now() { echo $(($(date +%s%N) / 1000000)); }

declare -A DNSMASQ_PID
# dnsmasq_start NAME ADDRESS HOST-RECORD...: a resolver in the public
# namespace answering only its host records, logging every query.
dnsmasq_start() {
  local name=$1 addr=$2 pid
  shift 2
  local records=()
  for r in "$@"; do records+=("--host-record=$r"); done
  (exec ip netns exec "$NBNET_NS_PUB" dnsmasq --keep-in-foreground --no-resolv --no-hosts \
    --bind-interfaces --listen-address="$addr" --port=53 --user=root --pid-file= \
    --log-queries --log-facility="$NBNET_DIR/$name.log" --cache-size=0 "${records[@]}") \
    >>"$NBNET_DIR/$name.out" 2>&1 &
  pid=$!
  DNSMASQ_PID[$name]=$pid
  NBT_PIDS+=("$pid")
  nbnet_wait_for 10 "dnsmasq $name on $addr" \
    nbnet_pub dig +short +time=1 +tries=1 "@$addr" "${1%%,*}"
}

# queries NAME: how many queries resolver NAME logged.
queries() {
  grep -c 'query\[' "$NBNET_DIR/$1.log" 2>/dev/null || echo 0
}

# resolve PEER NAME: PEER's resolver's answer (A records, one line).
resolve() {
  nbnet_in "$1" dig +short +time=2 +tries=1 "@$(nbnet_ip "$1")" "$2" A | tr '\n' ' ' |
    sed 's/ $//'
}

nbnet_services
nbnet_pub ip addr add 198.18.0.2/16 dev pubbr
nbnet_pub ip addr add 198.18.0.3/16 dev pubbr
dnsmasq_start upstream 198.18.0.1 outside.test,198.18.7.7
dnsmasq_start corp1 198.18.0.2 www.corp.test,198.18.8.8 db.corp.test,198.18.8.9
dnsmasq_start corp2 198.18.0.3 www.corp.test,198.18.8.8 db.corp.test,198.18.8.9

nbnet_peer p1
nbnet_peer p2
nbnet_daemon p1
nbnet_daemon p2
resolv1=$(nbnet_resolv_conf p1)
cp "$resolv1" "$NBNET_DIR/p1.resolv.orig"
ino_before=$(stat -c %i "$resolv1")

# The nameserver group before anybody joins: the first map has it.
all=$(nbnet_api GET groups | jq -r '.[] | select(.name == "All") | .id')
[ -n "$all" ] || nbt_fail "no All group"
nbnet_api POST dns/nameservers "$(jq -cn --arg g "$all" '{name: "corp", description: "",
  nameservers: [{ip: "198.18.0.2", ns_type: "udp", port: 53},
                {ip: "198.18.0.3", ns_type: "udp", port: 53}],
  enabled: true, groups: [$g], primary: false, domains: ["corp.test"],
  search_domains_enabled: false}')" >/dev/null

nbnet_up p1
nbnet_up p2
nbnet_wait_connected p1 1 30
nbnet_wait_connected p2 1 30
ip1=$(nbnet_ip p1)
ip2=$(nbnet_ip p2)
fqdn2=$(nbnet_status p2 | jq -r .fqdn)
domain=${fqdn2#*.}
[ -n "$domain" ] && [ "$domain" != "$fqdn2" ] || nbt_fail "p2 has no FQDN: '$fqdn2'"

# resolv.conf rewritten: our resolver first, the account domain searched.
nbnet_wait_for 10 "p1's resolv.conf pointing at $ip1" \
  grep -qx "nameserver $ip1" "$resolv1"
head -n 3 "$resolv1" | grep -qx "nameserver $ip1" || nbt_fail "p1's resolver is not first: $(cat "$resolv1")"
grep -q "^search .*$domain" "$resolv1" || nbt_fail "no search $domain in: $(cat "$resolv1")"
[ "$(stat -c %i "$resolv1")" = "$ino_before" ] || nbt_fail "resolv.conf was replaced, not written in place"
nbt_log "p1's resolv.conf while up: $(tr '\n' '|' <"$resolv1")"

# Peers by name, from the resolver and through the host's configuration.
got=$(resolve p1 "$fqdn2")
[ "$got" = "$ip2" ] || nbt_fail "dig $fqdn2 @$ip1 gave '$got', not $ip2"
got=$(nbnet_in p1 getent hosts "$fqdn2" | awk '{print $1}')
[ "$got" = "$ip2" ] || nbt_fail "getent hosts $fqdn2 on p1 gave '$got', not $ip2"
got=$(nbnet_in p1 getent hosts p2 | awk '{print $1}')
[ "$got" = "$ip2" ] || nbt_fail "getent hosts p2 (search domain) on p1 gave '$got', not $ip2"
nbnet_in p1 ping -q -c 1 -w 10 "$fqdn2" >/dev/null || nbt_fail "p1 cannot ping $fqdn2 by name"
nbt_log "p1: dig/getent/ping $fqdn2 -> $ip2"

# corp.test through the group's first server; other names upstream.
c1=$(queries corp1)
got=$(resolve p1 www.corp.test)
[ "$got" = 198.18.8.8 ] || nbt_fail "www.corp.test gave '$got'"
[ "$(queries corp1)" -gt "$c1" ] || nbt_fail "corp1 logged no query for www.corp.test"
u=$(queries upstream)
got=$(resolve p1 outside.test)
[ "$got" = 198.18.7.7 ] || nbt_fail "outside.test (original upstream) gave '$got'"
[ "$(queries upstream)" -gt "$u" ] || nbt_fail "the original upstream logged no query"
# corp.test names never leak to the original upstream.
grep -q 'corp.test' "$NBNET_DIR/upstream.log" && nbt_fail "corp.test reached the original upstream"
# The first server silent (its packets dropped): the second answers after
# the resolver's upstream timeout.
nbnet_pub nft add table inet nbdnsdrop
nbnet_pub nft add chain inet nbdnsdrop input '{ type filter hook input priority 0; }'
nbnet_pub nft add rule inet nbdnsdrop input ip daddr 198.18.0.2 udp dport 53 drop
c2=$(queries corp2)
t0=$(ms_now)
got=$(nbnet_in p1 dig +short +time=8 +tries=1 "@$ip1" db.corp.test A)
[ "$got" = 198.18.8.9 ] || nbt_fail "db.corp.test with corp1 silent gave '$got'"
[ "$(queries corp2)" -gt "$c2" ] || nbt_fail "corp2 logged no query"
nbt_log "failover (corp1 silent): db.corp.test answered by corp2 $(($(ms_now) - t0)) ms after the ask"
nbnet_pub nft delete table inet nbdnsdrop
# The first server gone (its port closed): the second answers at once.
kill -TERM "${DNSMASQ_PID[corp1]}"
wait "${DNSMASQ_PID[corp1]}" 2>/dev/null
c2=$(queries corp2)
t0=$(ms_now)
got=$(nbnet_in p1 dig +short +time=8 +tries=1 "@$ip1" www.corp.test A)
[ "$got" = 198.18.8.8 ] || nbt_fail "www.corp.test with corp1 down gave '$got'"
[ "$(queries corp2)" -gt "$c2" ] || nbt_fail "corp2 logged no query"
nbt_log "failover (corp1 down): www.corp.test answered by corp2 $(($(ms_now) - t0)) ms after the ask"

# Status: NetBird's dnsServers, and the lines of status -d.
st=$(nbnet_status p1)
jq -e '.dnsServers | length == 1 and (.[0].domains == ["corp.test"])
       and (.[0].servers == ["198.18.0.2:53", "198.18.0.3:53"]) and .[0].enabled' <<<"$st" >/dev/null ||
  nbt_fail "status --json dnsServers: $(jq -c .dnsServers <<<"$st")"
detail=$(nbnet_cli p1 status -d)
grep -qF "[198.18.0.2:53, 198.18.0.3:53] for [corp.test] is Available" <<<"$detail" ||
  nbt_fail "status -d has no nameserver line: $detail"
grep -qF "DNS resolver: $ip1:53, host: resolv.conf" <<<"$detail" ||
  nbt_fail "status -d has no resolver line: $detail"
nbt_log "status -d: $(grep -A2 '^Nameservers' <<<"$detail" | tr '\n' '|')"

# A deleted peer stops resolving within its TTL (5 s) of the map.
t0=$(ms_now)
nbnet_api DELETE "peers/$(nbnet_peer_id p2)" >/dev/null
nbnet_wait_for 12 "$fqdn2 to stop resolving on p1" \
  bash -c "[ -z \"\$(ip netns exec ${NBNET_NS[p1]} dig +short +time=1 +tries=1 @$ip1 $fqdn2 A)\" ]"
rcode=$(nbnet_in p1 dig +time=2 +tries=1 "@$ip1" "$fqdn2" A | sed -n 's/.*status: \([A-Z]*\),.*/\1/p')
[ "$rcode" = NXDOMAIN ] || nbt_fail "deleted $fqdn2: status $rcode, not NXDOMAIN"
nbt_log "deleted p2 stopped resolving $(($(ms_now) - t0)) ms after the DELETE (NXDOMAIN)"

# Down: back byte for byte.
nbnet_cli p1 down >/dev/null || nbt_fail "netbird down on p1 failed"
cmp -s "$resolv1" "$NBNET_DIR/p1.resolv.orig" || nbt_fail "down left: $(cat "$resolv1")"
nbnet_in p1 dig +short +time=1 +tries=1 "@$ip1" "$fqdn2" >/dev/null 2>&1 &&
  nbt_fail "p1's resolver still answers after down"

# kill -9 while up: the next start puts it back (then applies it again).
nbnet_cli p1 up >>"$NBNET_DIR/p1.cli.log" 2>&1 || nbt_fail "p1 up again failed"
nbnet_wait_for 10 "p1's resolv.conf rewritten again" grep -qx "nameserver $ip1" "$resolv1"
nbnet_daemon_stop p1 KILL
grep -qx "nameserver $ip1" "$resolv1" || nbt_fail "the kill -9 left no rewritten resolv.conf to repair"
nbnet_daemon p1
nbnet_wait_for 15 "p1 to repair its resolv.conf after kill -9" \
  grep -q "left rewritten by an earlier run; restoring it" "$NBNET_DIR/p1.log"
nbnet_wait_for 15 "p1 back up with DNS" grep -qx "nameserver $ip1" "$resolv1"
# Daemon exit: back byte for byte.
nbnet_daemon_stop p1
cmp -s "$resolv1" "$NBNET_DIR/p1.resolv.orig" || nbt_fail "daemon exit left: $(cat "$resolv1")"
nbt_log "resolv.conf restored byte for byte after down, kill -9 + restart, daemon exit"

# --disable-dns: the host left alone, no resolver.
nbnet_daemon p1
nbnet_wait_for 15 "p1 up again after restart" grep -qx "nameserver $ip1" "$resolv1"
nbnet_cli p1 down >/dev/null
nbnet_cli p1 up --disable-dns >>"$NBNET_DIR/p1.cli.log" 2>&1 || nbt_fail "up --disable-dns failed"
sleep 1
cmp -s "$resolv1" "$NBNET_DIR/p1.resolv.orig" || nbt_fail "--disable-dns rewrote: $(cat "$resolv1")"
nbnet_in p1 dig +short +time=1 +tries=1 "@$ip1" outside.test >/dev/null 2>&1 &&
  [ -n "$(nbnet_in p1 dig +short +time=1 +tries=1 "@$ip1" outside.test)" ] &&
  nbt_fail "a resolver answers on $ip1 with --disable-dns"
jq -e '.dnsServers == []' <<<"$(nbnet_status p1)" >/dev/null || nbt_fail "dnsServers with --disable-dns"
nbnet_finish
cmp -s "$resolv1" "$NBNET_DIR/p1.resolv.orig" || nbt_fail "exit after --disable-dns changed it"
echo "dns: names, corp.test via its group with failover, upstream, deletion, restores all checked"
