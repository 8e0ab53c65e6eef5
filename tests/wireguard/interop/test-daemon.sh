#!/bin/bash
# netbird-wg as wireguard-go runs: in the background unless -f (the starter
# returns once the socket is there, with the daemon's status), a 0600 socket
# in a 0755 directory, a second daemon of the same name refused with a
# message, SIGTERM and SIGINT removing socket and interface, bad use and
# missing privileges answered with a clear message and a failure status.
#
# SPDX-License-Identifier: BSD-3-Clause
NBT_NAME=daemon
. "$(dirname "$0")/../../lib/nbt.sh"
nbt_require_root
[ "$(nbt_ours)" = netbird ] || nbt_skip "tests netbird-wg itself"
BIN=$(nbt_netbird_wg)
nbt_pair
IF=$NBT_IF_A
SOCK=/var/run/wireguard/$IF.sock
NBT_SOCKETS+=("$SOCK")

# Background: the command returns 0 once the daemon serves.
nbt_in a "$BIN" "$IF" 2>"$NBT_TMP/bg.log" || nbt_fail "background start failed: $(cat "$NBT_TMP/bg.log")"
[ -S "$SOCK" ] || nbt_fail "no socket when the starter returned"
pid=$(nbt_in a ip netns pids "$NBT_NS_A" | head -n1)
[ -n "$pid" ] || nbt_fail "no daemon in the namespace"
NBT_PIDS+=("$pid")
[ "$(stat -c %a "$SOCK")" = 600 ] || nbt_fail "socket mode $(stat -c %a "$SOCK")"
[ "$(stat -c %a /var/run/wireguard)" = 755 ] || nbt_fail "directory mode $(stat -c %a /var/run/wireguard)"
nbt_in a ip link show "$IF" | grep -q "mtu 1420" || nbt_fail "interface missing or MTU not 1420"
nbt_in a wg show "$IF" >/dev/null || nbt_fail "wg show fails on the daemon"

# The same name again: refused, with a message saying why.
if nbt_in a "$BIN" -f "$IF" 2>"$NBT_TMP/second.log"; then
  nbt_fail "a second daemon for $IF started"
fi
grep -q "in use" "$NBT_TMP/second.log" || nbt_fail "second daemon's message: $(cat "$NBT_TMP/second.log")"
nbt_in a wg show "$IF" >/dev/null || nbt_fail "the first daemon stopped serving"

# SIGTERM: socket and interface gone, exit status 0.
kill -TERM "$pid"
for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$pid" 2>/dev/null || nbt_fail "daemon still running 5 s after SIGTERM"
[ ! -e "$SOCK" ] || nbt_fail "socket left after SIGTERM"
! nbt_in a ip link show "$IF" >/dev/null 2>&1 || nbt_fail "interface left after SIGTERM"

# SIGINT in the foreground, with a configured device passing its status on.
(nbt_exec a "$BIN" -f "$IF") 2>"$NBT_TMP/fg.log" &
pid=$!
NBT_PIDS+=("$pid")
for _ in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
nbt_keys
nbt_in a wg set "$IF" private-key "$NBT_TMP/a.key" listen-port 51820
[ "$(nbt_in a wg show "$IF" listen-port)" = 51820 ] || nbt_fail "listen port not set"
kill -INT "$pid"
wait "$pid" || nbt_fail "exit status $? after SIGINT"
[ ! -e "$SOCK" ] || nbt_fail "socket left after SIGINT"

# A stale socket (daemon killed hard) does not block the next start.
(nbt_exec a "$BIN" -f "$IF") 2>>"$NBT_TMP/fg.log" &
pid=$!
for _ in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
[ -S "$SOCK" ] || nbt_fail "expected a stale socket after SIGKILL"
nbt_in a "$BIN" "$IF" 2>>"$NBT_TMP/fg.log" || nbt_fail "start over a stale socket failed: $(cat "$NBT_TMP/fg.log")"
NBT_PIDS+=("$(nbt_in a ip netns pids "$NBT_NS_A" | head -n1)")

# The interface deleted under the daemon: it shuts down and removes its socket.
pid=${NBT_PIDS[-1]}
nbt_in a ip link del "$IF"
for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$pid" 2>/dev/null || nbt_fail "daemon still running after its interface was deleted"
[ ! -e "$SOCK" ] || nbt_fail "socket left after the interface was deleted"

# Bad use.
if "$BIN" 2>"$NBT_TMP/usage.log"; then nbt_fail "no interface name accepted"; fi
grep -q "Usage" "$NBT_TMP/usage.log" || nbt_fail "no usage message"
if "$BIN" -f "name/with/slash" 2>"$NBT_TMP/name.log"; then nbt_fail "bad name accepted"; fi
grep -q "not a valid interface name" "$NBT_TMP/name.log" || nbt_fail "bad name message: $(cat "$NBT_TMP/name.log")"
if nbt_in a setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN" -f nbtperm$$ 2>"$NBT_TMP/perm.log"; then
  nbt_fail "started without CAP_NET_ADMIN"
fi
grep -q "needs CAP_NET_ADMIN" "$NBT_TMP/perm.log" || nbt_fail "privilege message: $(cat "$NBT_TMP/perm.log")"
echo "PASS"
