#!/bin/bash
# The packet filter in netbird-wg's data path, between two namespaces.
# A (netbird-wg) is given the rule Management would compute for "B may
# reach A on TCP 22 only" through set=1's filter_rule extension; B is
# wireguard-go. From B: TCP 22 connects, TCP 80 and ping do not get
# through (and A's stats=1 counts each drop), while A's own connections
# to B (TCP, UDP, ping) get their replies through the connection table.
# Then block-inbound closes 22 too, and removing the rules opens all.
#
# SPDX-License-Identifier: BSD-3-Clause
NBT_NAME=filter
. "$(dirname "$0")/../../lib/nbt.sh"
nbt_require_root
OURS=$(nbt_ours)
[ "$OURS" = wireguard-go ] && nbt_skip "the packet filter is netbird-wg's"
nbt_pair
nbt_tunnel "$OURS" wireguard-go
nbt_ping a "$NBT_OVER_B" || nbt_fail "no ping through the tunnel before any rule"

# Listeners on both sides: TCP 22, 80 and 8080 say hello; UDP 5353 echoes.
serve() {
  local side=$1
  (nbt_exec "$side" "$PY" -c '
import socket, threading
def tcp(port):
    s = socket.socket(socket.AF_INET6)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port)); s.listen()
    while True:
        c, _ = s.accept(); c.sendall(b"hello %d\n" % port); c.close()
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 5353))
    while True:
        data, peer = s.recvfrom(2048); s.sendto(data, peer)
for p in (22, 80, 8080):
    threading.Thread(target=tcp, args=(p,), daemon=True).start()
udp()
') >"$NBT_TMP/serve-$side.log" 2>&1 &
  NBT_PIDS+=("$!")
}
serve a
serve b
for side in a b; do
  for _ in $(seq 1 50); do
    nbt_in "$side" ss -ltn 2>/dev/null | grep -q ":8080 " && break
    sleep 0.1
  done
done

# tcp SIDE ADDRESS PORT: prints what the server said, or fails after 2 s.
tcp() {
  nbt_in "$1" timeout 5 "$PY" -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
sys.stdout.write(s.recv(64).decode())
' "$2" "$3" 2>/dev/null
}
udp_echo() {
  nbt_in "$1" timeout 5 "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
s.sendto(b"ping", (sys.argv[1], 5353)); sys.stdout.write(s.recv(64).decode())
' "$2" 2>/dev/null
}
stat() { nbt_stat "$NBT_IF_A" "$1"; }
set_filter() {
  local reply
  reply=$(nbt_uapi "$NBT_IF_A" "set=1\n$1\n\n")
  [ "$reply" = "errno=0" ] || nbt_fail "set=1 with '$1' answered: $reply"
}

# Management's rule: B may reach A on TCP 22.
set_filter "filter_rule=in accept tcp $NBT_OVER_B 22"
[ "$(stat filter_rules)" = 1 ] || nbt_fail "filter_rules is '$(stat filter_rules)'"
[ "$(stat filter_mode)" = enforcing ] || nbt_fail "filter_mode is '$(stat filter_mode)'"

out=$(tcp b "$NBT_OVER_A" 22) || nbt_fail "B could not connect to A's TCP 22"
[ "$out" = "hello 22" ] || nbt_fail "A's TCP 22 said '$out'"
nbt_log "B -> A TCP 22: $out"
tcp b "$NBT_OVER_A" 80 && nbt_fail "B connected to A's TCP 80 through the filter"
tcp b "$NBT_OVER6_A" 22 && nbt_fail "B connected to A's TCP 22 over IPv6, which no rule allows"
nbt_ping b "$NBT_OVER_A" 2 && nbt_fail "B's ping got through the filter"
udp_echo b "$NBT_OVER_A" && nbt_fail "B's UDP got through the filter"
no_rule=$(stat filter_drop_no_rule)
dropped=$(stat rx_drop_filter)
# At least: a SYN to 80 (retransmitted), a SYN over IPv6, two pings, one datagram.
[ "${no_rule:-0}" -ge 5 ] || nbt_fail "filter_drop_no_rule is '$no_rule'"
[ "${dropped:-0}" = "$no_rule" ] || nbt_fail "rx_drop_filter $dropped, filter_drop_no_rule $no_rule"
[ "$(stat filter_accept_rule)" -ge 1 ] || nbt_fail "filter_accept_rule is '$(stat filter_accept_rule)'"
nbt_log "dropped from B: $dropped (filter_drop_no_rule=$no_rule)"

# A opens connections to B: the replies come back.
out=$(tcp a "$NBT_OVER_B" 8080) || nbt_fail "A's connection to B's TCP 8080 got no reply"
[ "$out" = "hello 8080" ] || nbt_fail "B's TCP 8080 said '$out'"
out=$(tcp a "$NBT_OVER6_B" 80) || nbt_fail "A's IPv6 connection to B's TCP 80 got no reply"
out=$(udp_echo a "$NBT_OVER_B") || nbt_fail "A's UDP to B got no echo"
nbt_ping a "$NBT_OVER_B" 2 || nbt_fail "A's ping to B got no reply"
nbt_in a ping -6 -q -c 2 -i 0.2 -W 2 "$NBT_OVER6_B" >/dev/null || nbt_fail "A's IPv6 ping got no reply"
conntrack=$(stat filter_accept_conntrack)
[ "${conntrack:-0}" -ge 5 ] || nbt_fail "filter_accept_conntrack is '$conntrack'"
[ "$(stat filter_conntrack_entries)" -ge 5 ] ||
  nbt_fail "filter_conntrack_entries is '$(stat filter_conntrack_entries)'"
nbt_log "replies let in: filter_accept_conntrack=$conntrack," \
  "filter_conntrack_entries=$(stat filter_conntrack_entries)"

# Block-inbound: no new connection in, even to 22; A's still work.
set_filter "filter_mode=block-inbound"
tcp b "$NBT_OVER_A" 22 && nbt_fail "block-inbound let B connect to A's TCP 22"
[ "$(stat filter_drop_block_inbound)" -ge 1 ] ||
  nbt_fail "filter_drop_block_inbound is '$(stat filter_drop_block_inbound)'"
out=$(tcp a "$NBT_OVER_B" 8080) || nbt_fail "block-inbound cut A's own connection to B"

# A bad rule changes nothing and says why.
reply=$(nbt_uapi "$NBT_IF_A" "set=1\nfilter_rule=in accept icmp $NBT_OVER_B 22\n\n")
[ "$reply" = "errno=-22" ] || nbt_fail "a rule with ports on ICMP was answered '$reply'"
[ "$(stat filter_rules)" = 1 ] || nbt_fail "a rejected set changed the rules: $(stat filter_rules)"

# No rules, enforcing: everything passes again, as before.
set_filter "filter_mode=enforcing\nfilter_remove_rules=true"
out=$(tcp b "$NBT_OVER_A" 80) || nbt_fail "B could not reach A's TCP 80 once the rules were gone"
nbt_ping b "$NBT_OVER_A" 2 || nbt_fail "B's ping did not pass once the rules were gone"
[ "$(stat filter_rules)" = 0 ] || nbt_fail "filter_rules is '$(stat filter_rules)'"
echo "PASS"
