#!/bin/bash
# The wg tool against our device gives what it gives against wireguard-go:
# setconf, set, addconf, syncconf, then show/showconf/show dump compared
# (peers and allowed IPs sorted, interface names replaced); bad requests on
# the socket answer with the same errno values; a rejected set changes
# nothing on our side.
#
# SPDX-License-Identifier: BSD-3-Clause
NBT_NAME=tools
. "$(dirname "$0")/../../lib/nbt.sh"
nbt_require_root
OURS=$(nbt_ours)
NORM="$PY $(cd "$(dirname "$0")" && pwd)/wg-normalize.py"
nbt_pair
nbt_start "$OURS" a "$NBT_IF_A"
nbt_start wireguard-go b "$NBT_IF_B"

T=$NBT_TMP
wg genkey >"$T/priv"
for i in 1 2 3 4 5; do wg genkey | wg pubkey >"$T/p$i"; done
wg genpsk >"$T/psk"
P() { cat "$T/p$1"; }

# Endpoints in TEST-NET-1: no route in the namespaces, nothing leaves.
cat >"$T/conf1" <<CONF
[Interface]
PrivateKey = $(cat "$T/priv")
ListenPort = 51820
FwMark = 0x1234

[Peer]
PublicKey = $(P 1)
PresharedKey = $(cat "$T/psk")
Endpoint = 192.0.2.1:51821
AllowedIPs = 100.64.0.2/32, fd00::2/128
PersistentKeepalive = 25

[Peer]
PublicKey = $(P 2)
Endpoint = [2001:db8::9]:1234
AllowedIPs = 10.10.0.0/16, 10.20.0.5/32, 10.30.1.1/24

[Peer]
PublicKey = $(P 3)
AllowedIPs = 100.64.0.3/32
CONF
cat >"$T/conf2" <<CONF
[Peer]
PublicKey = $(P 4)
AllowedIPs = 100.64.0.4/32
CONF
cat >"$T/conf3" <<CONF
[Interface]
PrivateKey = $(cat "$T/priv")
ListenPort = 51822

[Peer]
PublicKey = $(P 3)
Endpoint = 192.0.2.3:3
AllowedIPs = 100.64.0.3/32, 100.64.3.0/24

[Peer]
PublicKey = $(P 5)
AllowedIPs = 100.64.0.5/32
PersistentKeepalive = 7
CONF

compare_all() {
  local step=$1
  compare "$step" showconf "$NBT_IF_A@"
  compare "$step" show "$NBT_IF_A@"
  for field in public-key private-key listen-port fwmark peers endpoints allowed-ips \
               persistent-keepalive preshared-keys; do
    compare "$step" show "$NBT_IF_A@" "$field"
  done
  nbt_log "$step: ours and wireguard-go agree"
}

# `wg CMD IF@` runs against our interface in A and wireguard-go's in B.
wg_both() {
  nbt_in a wg "${@//IF@/$NBT_IF_A}"
  nbt_in b wg "${@//IF@/$NBT_IF_B}"
}

# The compare helper names A's interface; in B the same arguments must name B's.
compare() {
  local what=$1
  shift
  local args_a=("${@//$NBT_IF_A@/$NBT_IF_A}") args_b=("${@//$NBT_IF_A@/$NBT_IF_B}")
  nbt_in a wg "${args_a[@]}" | $NORM >"$T/ours.out"
  nbt_in b wg "${args_b[@]}" | $NORM >"$T/theirs.out"
  if ! diff -u "$T/theirs.out" "$T/ours.out" >"$T/diff"; then
    cat "$T/diff" >&2
    nbt_fail "$what: wg ${args_a[*]} differs (- wireguard-go, + ours)"
  fi
  [ -s "$T/ours.out" ] || nbt_fail "$what: wg ${args_a[*]} printed nothing"
}

wg_both setconf IF@ "$T/conf1"
compare_all setconf

wg_both set IF@ listen-port 51999 fwmark off peer "$(P 2)" remove \
  peer "$(P 3)" endpoint 192.0.2.7:9 allowed-ips 100.64.0.33/32,100.64.0.34/32 \
  peer "$(P 1)" preshared-key /dev/null persistent-keepalive off
compare_all set

wg_both addconf IF@ "$T/conf2"
compare_all addconf

wg_both syncconf IF@ "$T/conf3"
compare_all syncconf

# Bad requests straight on the socket: the same errno from both.
K=$(wg pubkey <"$T/priv" | $PY -c 'import base64,sys; print(base64.b64decode(sys.stdin.read()).hex())')
for req in 'set=1\nlisten_port=99999\n\n' 'set=1\nprivate_key=zz\n\n' \
           'set=1\nno_equals_sign\n\n' 'set=1\nbogus_key=1\n\n' 'set=1\nreplace_peers=false\n\n' \
           'set=1\nfwmark=-1\n\n' "set=1\\npublic_key=${K:0:10}\\n\\n" 'get=1\nX' \
           'set=1\npublic_key=0000000000000000000000000000000000000000000000000000000000000001\nendpoint=nonsense\n\n' \
           'set=1\npublic_key=0000000000000000000000000000000000000000000000000000000000000002\nallowed_ip=1.2.3.4/33\n\n' \
           'set=1\npublic_key=0000000000000000000000000000000000000000000000000000000000000003\nprotocol_version=2\n\n' \
           'set=1\npublic_key=0000000000000000000000000000000000000000000000000000000000000004\nremove=yes\n\n'; do
  ours=$(nbt_uapi "$NBT_IF_A" "$req" | tail -n 2 | head -n 1)
  theirs=$(nbt_uapi "$NBT_IF_B" "$req" | tail -n 2 | head -n 1)
  [ "$ours" = "$theirs" ] || nbt_fail "request '$req': ours answered '$ours', wireguard-go '$theirs'"
  case $ours in errno=-*) ;; *) nbt_fail "request '$req' was accepted: '$ours'" ;; esac
  nbt_log "$req -> $ours (both)"
done

# Ours applies a set whole or not at all (wireguard-go would keep the port).
if [ "$OURS" = netbird ]; then
  before=$(nbt_in a wg showconf "$NBT_IF_A")
  [ "$(nbt_uapi "$NBT_IF_A" 'set=1\nlisten_port=4444\nfwmark=5\nfoo=bar\n\n' | head -n1)" = "errno=-22" ] ||
    nbt_fail "a set with a bad line was not rejected"
  after=$(nbt_in a wg showconf "$NBT_IF_A")
  [ "$before" = "$after" ] || nbt_fail "a rejected set changed the device"
fi

# Many clients at once, one of them stuck half-way: all the others served.
"$PY" - "$NBT_IF_A" <<'PYEOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect("/var/run/wireguard/%s.sock" % sys.argv[1])
s.sendall(b"set=1\nlisten_po")
time.sleep(3)
PYEOF
stuck=$!
pids=()
for i in $(seq 1 40); do
  nbt_in a wg showconf "$NBT_IF_A" | $NORM >"$T/many.$i" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || nbt_fail "a concurrent wg showconf failed"; done
for i in $(seq 1 40); do cmp -s "$T/many.1" "$T/many.$i" || nbt_fail "concurrent showconf $i differs"; done
kill "$stuck" 2>/dev/null || true
wait "$stuck" 2>/dev/null || true
nbt_log "40 concurrent clients served while one hung mid-request"

# Show with no arguments lists our interface among the userspace ones.
nbt_in a wg show interfaces | tr ' ' '\n' | grep -qx "$NBT_IF_A" || nbt_fail "wg show interfaces misses ours"
echo "PASS"
