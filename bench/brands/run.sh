#!/usr/bin/env bash
# Many brands: one data directory with BRANDS registered brands (default 10,000; five
# active, as the largest plan allows, the rest suspended with their stores kept), then
#
#   - `serve` start-up: from the process starting until an active brand answers (active
#     brands' stores are brought up to date first, as `serve` always does)
#   - resident memory idle, and after each active brand has served requests
#   - routing: keep-alive requests/s and latency of an active brand's sign-in page, and
#     the answer for a suspended brand's name, with the directory holding every brand
#   - `domain list` over every brand
#
# Usage: bench/brands/run.sh   (BRANDS=10000 PARALLEL=4 to change; TASKSESSION_BIN=… to use
# a built binary). The brands are made with the CLI under eatmydata (fsync skipped while
# setting up only; the measured server runs without it). Installs eatmydata and wrk from
# Debian when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

BRANDS=${BRANDS:-10000}
PARALLEL=${PARALLEL:-4}
DURATION=${DURATION:-10}

missing=""
command -v eatmydata >/dev/null || missing+=" eatmydata"
command -v wrk >/dev/null || missing+=" wrk"
if [ -n "$missing" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
if [ -z "${TASKSESSION_BIN:-}" ]; then
  echo "building the release binary…" >&2
  cargo build --release --quiet -p gateway
  TASKSESSION_BIN=$PWD/target/release/tasksession
fi
BIN=$TASKSESSION_BIN
unset TASKSESSION_BIN   # the server refuses TASKSESSION_* variables it does not know

work=${WORK_DIR:-$(mktemp -d)}
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  if [ -z "${WORK_DIR:-}" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
cd "$work"

# The suspended brands, PARALLEL at a time (each worker has at most one active brand at a
# moment, so the development limit of five active is never reached).
made=$( (find data/tenants -maxdepth 1 -mindepth 1 2>/dev/null || true) | wc -l)
if [ "$made" -lt "$BRANDS" ]; then
  echo "registering $BRANDS brands in $work (kept with WORK_DIR=$work)…" >&2
  started=$(date +%s)
  seq 6 "$BRANDS" | xargs -P "$PARALLEL" -I{} sh -ec '
    eatmydata "$0" domain add "s{}.test" --brand "Suspended {}" >/dev/null
    eatmydata "$0" domain suspend "s{}.test" >/dev/null
    if [ $(( {} % 500 )) -eq 0 ]; then echo "  {} brands" >&2; fi' "$BIN"
  for i in 1 2 3 4 5; do eatmydata "$BIN" domain add "b$i.test" --brand "Brand $i" >/dev/null; done
  echo "registered in $(( $(date +%s) - started )) s" >&2
fi
count=$("$BIN" domain list --json | grep -o '"domain"' | wc -l)
active=$("$BIN" domain list --json | grep -o '"state": *"active"' | wc -l)
list_start=$(date +%s%N)
"$BIN" domain list >/dev/null
list_ms=$(( ($(date +%s%N) - list_start) / 1000000 ))
du_data=$(du -sh data | cut -f1)

# Start-up: from exec until b1.test's sign-in page answers 200.
start_ns=$(date +%s%N)
TASKSESSION_LISTEN_HTTP=127.0.0.1:28080 TASKSESSION_LISTEN_HTTPS=127.0.0.1:28443 \
  TASKSESSION_LISTEN_OPERATOR=127.0.0.1:29090 RUST_LOG=warn "$BIN" serve >"$work/serve.log" 2>&1 &
server=$!
until [ "$(curl -sk -o /dev/null -w '%{http_code}' -H 'Host: b1.test' https://127.0.0.1:28443/sign-in)" = 200 ]; do
  kill -0 "$server" 2>/dev/null || { echo "serve exited:" >&2; cat "$work/serve.log" >&2; exit 1; }
  sleep 0.02
done
startup_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
sleep 2
rss_idle=$(( $(ps -o rss= -p "$server") / 1024 ))
for i in 1 2 3 4 5; do
  curl -sk -o /dev/null -H "Host: b$i.test" https://127.0.0.1:28443/sign-in
done
rss_open=$(( $(ps -o rss= -p "$server") / 1024 ))
suspended=$(curl -sk -o /dev/null -w '%{http_code}' -H "Host: s$((BRANDS / 2)).test" https://127.0.0.1:28443/sign-in)
unknown=$(curl -sk -o /dev/null -w '%{http_code}' -H "Host: nobody.test" https://127.0.0.1:28443/sign-in)
out=$(wrk -t2 -c32 -d"${DURATION}s" --latency -H "Host: b3.test" https://127.0.0.1:28443/sign-in)
rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
rss_after=$(( $(ps -o rss= -p "$server") / 1024 ))

echo
echo "brands registered: $count ($active active, the rest suspended); data directory $du_data"
echo "serve start → an active brand answers: $startup_ms ms"
echo "resident memory: $rss_idle MiB idle, $rss_open MiB with the five active brands' stores open, $rss_after MiB after the load"
echo "an active brand's sign-in page: $rps req/s keep-alive (wrk -t2 -c32 -d${DURATION}s), p50 $p50, p99 $p99"
echo "a suspended brand's name answers $suspended; an unknown name $unknown"
echo "domain list over every brand: $list_ms ms"
