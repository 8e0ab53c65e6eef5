#!/bin/bash
# test-dns-resolved.sh: the client's systemd-resolved mode against a real
# systemd-resolved, in a network and mount namespace of the test's own with
# a private system bus (dbus-daemon): the machine's /run, /etc/resolv.conf
# and system bus are never touched.
#
#   SetLinkDNS/SetLinkDomains/SetLinkDefaultRoute on a link: resolvectl
#   shows our server and domains (search netbird.test, routing ~corp.test),
#   a query for peer2.netbird.test through resolved's stub (127.0.0.53)
#   reaches our server (a dnsmasq on the link's address, which logs it),
#   RevertLink clears it all.
#
# The binary: $NB_SYSTEMD_RESOLVED, /lib/systemd/systemd-resolved, the one
# ./dev unpacks from Debian's systemd-resolved package into
# /var/cache/netbird-dev/systemd-resolved, or, without ./dev, the package
# fetched here (apt-get download, unpacked, never installed: installing it
# would take over the machine's resolv.conf). It runs as root with a systemd-resolve user bound into the
# test's own /etc/passwd.
#
# SPDX-License-Identifier: BSD-3-Clause
NBT_NAME=dnsrsv
. "$(dirname "$0")/../lib/nbt.sh"
nbt_require_root
run=${NB_DNS_RESOLVED_RUN:?NB_DNS_RESOLVED_RUN: the nb-dns-resolved-run binary}
for tool in dbus-daemon dnsmasq dig unshare; do
  command -v "$tool" >/dev/null || nbt_fail "needs $tool"
done

bin=${NB_SYSTEMD_RESOLVED:-}
[ -n "$bin" ] || { [ -x /lib/systemd/systemd-resolved ] && bin=/lib/systemd/systemd-resolved; }
cached=/var/cache/netbird-dev/systemd-resolved/lib/systemd/systemd-resolved
[ -n "$bin" ] || { [ -x "$cached" ] && bin=$cached; }
if [ -z "$bin" ]; then
  (cd "$NBT_TMP" && apt-get download systemd-resolved >/dev/null 2>&1 &&
    dpkg -x systemd-resolved_*.deb pkg) ||
    nbt_fail "no systemd-resolved: set NB_SYSTEMD_RESOLVED, or let apt-get download fetch Debian's"
  bin=$NBT_TMP/pkg/lib/systemd/systemd-resolved
fi
resolvectl=$(dirname "$bin")/../../usr/bin/resolvectl
[ -x "$resolvectl" ] || resolvectl=$(command -v resolvectl || true)
[ -x "$bin" ] || nbt_fail "$bin is not executable"

ns=nbt-dnsrsv-$NBT_ID
ip netns add "$ns"
NBT_NAMESPACES+=("$ns")
ip -n "$ns" link set lo up
ip -n "$ns" link add nbdns0 type veth peer name nbdns1
ip -n "$ns" link set nbdns1 up
ip -n "$ns" addr add 100.64.0.7/16 dev nbdns0
ip -n "$ns" link set nbdns0 up
ifindex=$(ip -n "$ns" -o link show nbdns0 | cut -d: -f1)

# resolved drops to its own user before it connects: the bus's directory
# must let it through.
chmod 711 "$NBT_TMP"
mkdir -m 755 "$NBT_TMP/bus"
bus=$NBT_TMP/bus/system_bus_socket
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$bus
cat >"$NBT_TMP/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_type="method_call"/>
    <allow send_destination="*"/><allow receive_sender="*"/>
  </policy>
</busconfig>
CONF
cp /etc/passwd "$NBT_TMP/passwd"
cp /etc/group "$NBT_TMP/group"
grep -q '^systemd-resolve:' "$NBT_TMP/passwd" ||
  echo 'systemd-resolve:x:991:991::/:/usr/sbin/nologin' >>"$NBT_TMP/passwd"
grep -q '^systemd-resolve:' "$NBT_TMP/group" || echo 'systemd-resolve:x:991:' >>"$NBT_TMP/group"

# Our "resolver": a dnsmasq on the link's address, logging its queries.
(exec ip netns exec "$ns" dnsmasq --keep-in-foreground --no-resolv --no-hosts \
  --bind-interfaces --listen-address=100.64.0.7 --port=53 --user=root --pid-file= \
  --log-queries --log-facility="$NBT_TMP/ours.log" --host-record=peer2.netbird.test,100.64.0.2) \
  >"$NBT_TMP/dnsmasq.out" 2>&1 &
NBT_PIDS+=($!)

# The bus and resolved in a mount namespace whose /run is a tmpfs.
cat >"$NBT_TMP/inner.sh" <<INNER
mount -t tmpfs tmpfs /run
umask 022
mkdir -m 755 -p /run/dbus /run/systemd
mount --bind "$NBT_TMP/passwd" /etc/passwd
mount --bind "$NBT_TMP/group" /etc/group
dbus-daemon --config-file="$NBT_TMP/bus.conf" --nofork >"$NBT_TMP/dbus.log" 2>&1 &
for i in \$(seq 100); do [ -S "$bus" ] && break; sleep 0.05; done
chmod 666 "$bus"
exec env SYSTEMD_LOG_LEVEL=debug ${NB_RESOLVED_WRAP:-} "$bin" >"$NBT_TMP/resolved.log" 2>&1
INNER
(exec ip netns exec "$ns" unshare -m --propagation private bash "$NBT_TMP/inner.sh") &
NBT_PIDS+=($!)
in_ns() { ip netns exec "$ns" "$@"; }
resolved_up() {
  [ "$(busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
        NameHasOwner s org.freedesktop.resolve1 2>/dev/null)" = "b true" ]
}
for i in $(seq 200); do
  resolved_up && break
  sleep 0.05
done
resolved_up ||
  nbt_fail "systemd-resolved did not come up: $(tail -n 5 "$NBT_TMP/resolved.log")"
nbt_log "systemd-resolved $("$bin" --version | head -n1) on a private bus"

in_ns "$run" apply "$ifindex" 100.64.0.7 netbird.test netbird.test,corp.test ||
  nbt_fail "apply failed"
dns=$(in_ns "$resolvectl" dns nbdns0)
domains=$(in_ns "$resolvectl" domain nbdns0)
route=$(in_ns "$resolvectl" default-route nbdns0)
nbt_log "resolvectl: $dns | $domains | $route"
[[ "$dns" == *"100.64.0.7"* ]] || nbt_fail "resolvectl dns: $dns"
[[ "$domains" == *"netbird.test"* && "$domains" == *"~corp.test"* ]] ||
  nbt_fail "resolvectl domain: $domains"
[[ "$route" == *"no"* ]] || nbt_fail "resolvectl default-route: $route"
got=$(in_ns dig +short +time=3 +tries=1 @127.0.0.53 peer2.netbird.test A)
[ "$got" = 100.64.0.2 ] || nbt_fail "peer2.netbird.test through resolved's stub gave '$got'"
grep -q 'query\[A\] peer2.netbird.test' "$NBT_TMP/ours.log" ||
  nbt_fail "our server saw no query from resolved"

# From another network namespace (this one's) resolved is not ours to
# configure: its link indexes are not ours.
out=$("$run" apply "$ifindex" 100.64.0.7 netbird.test corp.test 2>&1) &&
  nbt_fail "apply from another network namespace went through: $out"
[[ "$out" == *"another network namespace"* ]] || nbt_fail "from another namespace: $out"

in_ns "$run" revert "$ifindex" || nbt_fail "revert failed"
dns=$(in_ns "$resolvectl" dns nbdns0)
domains=$(in_ns "$resolvectl" domain nbdns0)
[[ "$dns" != *"100.64.0.7"* && "$domains" != *"netbird.test"* ]] ||
  nbt_fail "RevertLink left: $dns | $domains"
echo "ok - systemd-resolved: link $ifindex got 100.64.0.7, netbird.test ~corp.test, no default route; peer2.netbird.test resolved through it; reverted"
