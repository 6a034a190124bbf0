#!/usr/bin/env bash
# Brings the demo up exactly as the README says (`npm start`), then checks it from outside with curl:
# /healthz answers over TLS 1.3 and a client limited to TLS 1.2 is refused.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
log="$work/out.log"
setsid npm start -- --data-dir "$work/data" --port 0 >"$log" 2>"$work/err.log" &
pid=$!
trap 'kill -- -$pid 2>/dev/null || kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
url=""
for _ in $(seq 1 120); do
  url=$(grep -o 'listening on https://[^ ]*' "$log" | head -1 | cut -d' ' -f3 || true)
  [ -n "$url" ] && break
  kill -0 $pid 2>/dev/null || { cat "$work/err.log"; echo "npm start exited early"; exit 1; }
  sleep 1
done
[ -n "$url" ] || { cat "$log" "$work/err.log"; echo "no URL printed"; exit 1; }
port=${url##*:}
ca="$work/data/tls/server.crt"
body=$(curl -sS --tlsv1.3 --cacert "$ca" --resolve "localhost:$port:127.0.0.1" "https://localhost:$port/healthz")
[ "$body" = '{"status":"ok"}' ] || { echo "unexpected /healthz answer: $body"; exit 1; }
if curl -sS --tls-max 1.2 --cacert "$ca" --resolve "localhost:$port:127.0.0.1" "https://localhost:$port/healthz" 2>/dev/null; then
  echo "a TLS 1.2 client was accepted"; exit 1
fi
echo "npm start: $url answers /healthz over TLS 1.3; TLS 1.2 refused"
