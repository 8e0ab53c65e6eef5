#!/bin/bash
# netbird-management over TLS: the configuration's certificate is served,
# plain HTTP is refused, a bad certificate stops the daemon with a clear
# message (TAP output).
#
# SPDX-License-Identifier: BSD-3-Clause
set -u
daemon=${1:?usage: test-tls.sh NETBIRD_MANAGEMENT}
tmp=$(mktemp -d /tmp/nb-mgmt-tls-XXXXXX)
pid=
cleanup () {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
n=0 failed=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }

for tool in openssl curl; do
  command -v $tool >/dev/null || { echo "1..0 # SKIP $tool is not installed"; exit 0; }
done

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 1 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 2>/dev/null
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$tmp/config.json" <<JSON
{ "tls": { "cert_file": "$tmp/cert.pem", "key_file": "$tmp/key.pem" } }
JSON

"$daemon" --listen "127.0.0.1:$port" --data-dir "$tmp/data" --config "$tmp/config.json" \
  >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do grep -q '^Listening' "$tmp/out" && break; sleep 0.05; done

key=$(curl -fsS --cacert "$tmp/cert.pem" "https://127.0.0.1:$port/management/v1/server-key" |
      /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])' 2>/dev/null)
if [ ${#key} -eq 44 ]; then ok "server key served over HTTPS with the configured certificate"
else not_ok "no server key over HTTPS"; sed 's/^/# /' "$tmp/err"; fi

token=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin_token"])' \
        "$tmp/data/initial-credentials.json")
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$tmp/cert.pem" \
       -H "Authorization: Token $token" "https://127.0.0.1:$port/api/peers")
if [ "$code" = 200 ]; then ok "REST API answers over HTTPS"; else not_ok "REST over HTTPS gave $code"; fi

if curl -fsS --max-time 5 "http://127.0.0.1:$port/management/v1/server-key" >/dev/null 2>&1; then
  not_ok "plain HTTP was answered on the TLS port"
else ok "plain HTTP is not answered on the TLS port"; fi

if curl -fsS --max-time 5 "https://127.0.0.1:$port/management/v1/server-key" >/dev/null 2>&1; then
  not_ok "an unknown certificate was accepted by curl (test is wrong)"
else ok "a client that does not trust the certificate refuses it"; fi

kill "$pid"; wait "$pid"; rc=$?; pid=
if [ $rc -eq 0 ]; then ok "SIGTERM ends the daemon with status 0"; else not_ok "SIGTERM exit status $rc"; fi

echo "not a certificate" > "$tmp/bad.pem"
cat > "$tmp/bad.json" <<JSON
{ "tls": { "cert_file": "$tmp/bad.pem", "key_file": "$tmp/key.pem" } }
JSON
"$daemon" --listen "127.0.0.1:$port" --data-dir "$tmp/data" --config "$tmp/bad.json" \
  >/dev/null 2>"$tmp/bad-err"; rc=$?
if [ $rc -ne 0 ] && grep -q "Cannot load the TLS certificate" "$tmp/bad-err"; then
  ok "a bad certificate stops the daemon with a clear message"
else not_ok "bad certificate: exit $rc"; sed 's/^/# /' "$tmp/bad-err"; fi

echo "1..$n"
exit $failed
