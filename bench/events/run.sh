#!/usr/bin/env bash
# Live-update events benchmark: STREAMS (default 1,000) Server-Sent-Events streams open on
# one brand (`GET /api/v1/events`, each its own TCP connection, plain HTTP/1.1 on loopback,
# chunked), and a card on a board moved ROUNDS times (default 50): how long from the move
# to every stream receiving its `task.moved` event, and what each open stream costs the
# server.
#
#   setup     a `localhost` brand in development mode; its admin (invitation accepted
#             through the API, signed in, a personal access token) makes a project with one
#             task and STREAMS / 10 staff users (one user may have 10 streams open, the
#             11th is refused with 429), each invited, its invitation accepted, signed in,
#             with a token of its own and added to the project (only members see its
#             events), PARALLEL (default 8) at a time; the sign-in limits are lifted
#   memory    the server's VmRSS (/proc/<pid>/status) before the streams are opened and
#             2 s after every one has had its opening comment (`: live updates`): per
#             stream = (after - before) / STREAMS; the streams open in two halves, VmRSS
#             read after each, and both halves' figures are shown as a check
#   rounds    the admin moves the task (PATCH /api/v1/projects/{id}/tasks/{task_id}
#             {"status"}, round the four columns so that each round is a real move) on one
#             keep-alive connection; latency = when a stream's bytes holding the round's
#             event reached the client - just before the PATCH was written, one sample per
#             stream per round; the next round starts when every stream has its event (at
#             most ROUND_TIMEOUT_S) and PAUSE_MS have passed. Also the PATCH's own answer
#             time (its commit is done by then) and the server's CPU time (utime + stime,
#             /proc/<pid>/stat) over the rounds per delivered event
#
# The client is bench/events/streams.py (Python 3, standard library, asyncio: one process,
# one clock, sharing the machine's cores with the server). The run fails (exit 1) when a
# stream is refused, closes or misses an event (STREAMS × ROUNDS samples, each round's
# within ROUND_TIMEOUT_S), or any answer is not 2xx.
#
# Usage: bench/events/run.sh
#   TASKSESSION_BIN    our binary (default target/release/tasksession; build it first with
#                      `cargo build --release -p gateway`, this script does not build)
#   STREAMS=1000       open streams, a multiple of 10 (users = STREAMS / 10)
#   ROUNDS=50          moves of the card
#   PAUSE_MS=200       pause between rounds
#   ROUND_TIMEOUT_S=10 how long a round waits for every stream's event
#   PARALLEL=8         users made at a time (each sign-in hashes a password with argon2)
#   WORK_DIR=/path     where the temporary folder is made (default $TMPDIR or /tmp);
#                      KEEP=1 keeps it (the server's log, the client's results.json)
# Raises the open-file limit (ulimit -n) to at least 8192 and fails when it cannot.
# Installs curl and jq from Debian when missing; needs python3.
set -euo pipefail
caller=$PWD   # TASKSESSION_BIN and WORK_DIR may be given relative to it
cd "$(dirname "$0")/../.."

STREAMS=${STREAMS:-1000}
ROUNDS=${ROUNDS:-50}
PAUSE_MS=${PAUSE_MS:-200}
ROUND_TIMEOUT_S=${ROUND_TIMEOUT_S:-10}
PARALLEL=${PARALLEL:-8}
HOST=events.localhost
TS_PORT=58080
TS_TLS_PORT=58443
TS_OPERATOR_PORT=59090
PASSWORD='correct horse battery staple'

die() { echo "bench/events: $*" >&2; exit 1; }
say() { echo "$*" >&2; }

[[ $STREAMS =~ ^[1-9][0-9]*$ ]] && [ $((STREAMS % 10)) = 0 ] \
  || die "STREAMS=$STREAMS is not a positive multiple of 10 (10 streams per user)"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS=$ROUNDS is not a whole number"
[[ $PAUSE_MS =~ ^[0-9]+$ ]] || die "PAUSE_MS=$PAUSE_MS is not a whole number of milliseconds"
[[ $ROUND_TIMEOUT_S =~ ^[1-9][0-9]*$ ]] || die "ROUND_TIMEOUT_S=$ROUND_TIMEOUT_S is not a whole number of seconds"
[[ $PARALLEL =~ ^[1-9][0-9]*$ ]] || die "PARALLEL=$PARALLEL is not a whole number"

if [ -n "${TASKSESSION_BIN:-}" ]; then
  BIN=$(cd "$caller" && realpath -m -- "$TASKSESSION_BIN")
else
  BIN=$PWD/target/release/tasksession
fi
{ [ -f "$BIN" ] && [ -x "$BIN" ]; } \
  || die "no executable $BIN: build it first with \`cargo build --release -p gateway\`, or set TASKSESSION_BIN"
# The server refuses TASKSESSION_* variables it does not know: none of the caller's reach it.
for name in $(compgen -e); do
  case $name in TASKSESSION_*) unset "$name" ;; esac
done

missing=()
command -v curl >/dev/null || missing+=(curl)
command -v jq >/dev/null || missing+=(jq)
if [ "${#missing[@]}" != 0 ]; then
  say "installing ${missing[*]}…"
  [ "$(id -u)" = 0 ] || die "missing packages: ${missing[*]} (run as root, or install them)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v python3 >/dev/null || die "python3 is missing (the client is bench/events/streams.py)"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 8))' || die "python3 is older than 3.8"

# Every stream is a file descriptor in the server and in the client (they inherit this).
want_files=$((STREAMS + 1024 > 8192 ? STREAMS + 1024 : 8192))
files=$(ulimit -n)
if [ "$files" != unlimited ] && [ "$files" -lt "$want_files" ]; then
  ulimit -n "$want_files" 2>/dev/null \
    || die "cannot raise the open-file limit to $want_files (ulimit -n is $files, the hard limit $(ulimit -Hn)): raise the hard limit (as root, or in /etc/security/limits.conf) and run again"
fi

for port in $TS_PORT $TS_TLS_PORT $TS_OPERATOR_PORT; do
  if curl -s -o /dev/null -m 2 "http://127.0.0.1:$port/"; then die "port $port is already in use"; fi
done

parent=$(cd "$caller" && realpath -m -- "${WORK_DIR:-${TMPDIR:-/tmp}}")
[ -d "$parent" ] || die "WORK_DIR=$parent is not a folder"
work=$(mktemp -d "$parent/events-bench.XXXXXX")
ts_pid=""
cleanup() {
  if [ -n "$ts_pid" ]; then kill "$ts_pid" 2>/dev/null || true; wait "$ts_pid" 2>/dev/null || true; fi
  if [ -n "${KEEP:-}" ]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
mkdir -p "$work/ts"

# ---------------------------------------------------------------------------------------------
# One brand with an admin, served on the HTTP listener in development mode.
( cd "$work/ts" && "$BIN" domain add "$HOST" --brand "Events" --admin-email "admin@$HOST" ) \
  >"$work/domain-add.out" 2>&1 || die "tasksession domain add failed: $(cat "$work/domain-add.out")"
invitation=$(sed -n 's|.*/invite/\([^[:space:]]*\).*|\1|p' "$work/domain-add.out" | head -1)
[ -n "$invitation" ] || die "tasksession domain add printed no /invite/ link: $(cat "$work/domain-add.out")"
started=$(date +%s.%N)
( cd "$work/ts" && TASKSESSION_LISTEN_HTTP=127.0.0.1:$TS_PORT TASKSESSION_LISTEN_HTTPS=127.0.0.1:$TS_TLS_PORT \
  TASKSESSION_LISTEN_OPERATOR=127.0.0.1:$TS_OPERATOR_PORT \
  TASKSESSION_LIMITS_SIGN_IN_PER_MINUTE_PER_ADDRESS=1000000 \
  TASKSESSION_LIMITS_SIGN_IN_PER_MINUTE_PER_ACCOUNT=1000000 RUST_LOG=warn exec "$BIN" serve ) \
  >"$work/ts.log" 2>&1 &
ts_pid=$!
for _ in $(seq 1 300); do
  curl -s -o /dev/null -m 2 -H "Host: $HOST" "http://127.0.0.1:$TS_PORT/" && break
  kill -0 "$ts_pid" 2>/dev/null || die "tasksession serve exited: $(tail -20 "$work/ts.log")"
  sleep 0.1
done
curl -s -o /dev/null -m 2 -H "Host: $HOST" "http://127.0.0.1:$TS_PORT/" \
  || die "tasksession did not answer on port $TS_PORT in 30 s: $(tail -20 "$work/ts.log")"
start_s=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
[ "$(readlink "/proc/$ts_pid/exe" 2>/dev/null)" = "$BIN" ] \
  || die "process $ts_pid is not $BIN (it is $(readlink "/proc/$ts_pid/exe" 2>/dev/null || echo gone))"
server_files=$(awk '/^Max open files/ {print $4}' "/proc/$ts_pid/limits")
[ "$server_files" = unlimited ] || [ "$server_files" -ge "$want_files" ] \
  || die "the server may open $server_files files, fewer than $want_files"

ts_api() { # path [curl args…] : JSON with the brand's Host and Origin
  local path=$1; shift
  curl -s -H "Host: $HOST" -H "Origin: http://$HOST" -H 'Content-Type: application/json' \
    "$@" "http://127.0.0.1:$TS_PORT$path"
}
code=$(ts_api "/api/v1/invitations/$invitation/accept" -o "$work/answer" -w '%{http_code}' \
  -X POST -d "{\"password\":\"$PASSWORD\"}")
[[ $code == 2* ]] || die "accepting the invitation answered $code: $(cat "$work/answer")"
cookie=$(ts_api /api/v1/session -i -X POST -d "{\"email\":\"admin@$HOST\",\"password\":\"$PASSWORD\"}" \
  | sed -n 's/^set-cookie: \(__Host-ts_session=[^;]*\).*/\1/ip' | tr -d '\r' | head -1)
[ -n "$cookie" ] || die "signing in set no __Host-ts_session cookie"
token=$(ts_api /api/v1/tokens -H "Cookie: $cookie" -X POST -d '{"name":"bench"}' | jq -r '.token // empty')
[ -n "$token" ] || die "POST /api/v1/tokens gave no token"

# ---------------------------------------------------------------------------------------------
# The users, the streams and the rounds: bench/events/streams.py.
client_rc=0
python3 bench/events/streams.py --port "$TS_PORT" --host "$HOST" --token "$token" \
  --password "$PASSWORD" --pid "$ts_pid" --streams "$STREAMS" --rounds "$ROUNDS" \
  --pause-ms "$PAUSE_MS" --round-timeout "$ROUND_TIMEOUT_S" --parallel "$PARALLEL" \
  --out "$work/results.json" || client_rc=$?
[ -s "$work/results.json" ] || die "the client wrote no results (exit $client_rc)"
alive=yes
kill -0 "$ts_pid" 2>/dev/null || alive=no
# Beyond the two warnings of every development-mode start (no licence, no SMTP).
logged() { grep 'WARN\|ERROR' "$work/ts.log" | grep -v 'no licence installed\|\[smtp\] is not configured' || true; }
ts_logged=$(logged | wc -l)

r() { jq -r "$1" "$work/results.json"; }
problems() { jq -r '.problems[] | "  - " + .' "$work/results.json"; }
if [ "$(r .measured)" != true ]; then
  say "bench/events: the run stopped before it measured:"
  problems >&2
  [ "$alive" = yes ] || say "  - tasksession exited: $(tail -20 "$work/ts.log")"
  [ "$ts_logged" = 0 ] || { say "the server's log:"; logged | head -20 >&2; }
  exit 1
fi

# ---------------------------------------------------------------------------------------------
fmt() { awk -v v="$1" -v d="$2" 'BEGIN { if (v == "" || v == "null") print "-"; else printf "%.*f", d, v }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
echo
echo "| $(r .streams) streams ($(r .users) users × 10), $(r .rounds) moves | value |"
echo "|---|---|"
echo "| events delivered | $(r .samples) of $(r .expected_samples) |"
echo "| move → event on every stream, p50, ms | $(fmt "$(r .p50_ms)" 1) |"
echo "| p90, ms | $(fmt "$(r .p90_ms)" 1) |"
echo "| p99, ms | $(fmt "$(r .p99_ms)" 1) |"
echo "| max, ms | $(fmt "$(r .max_ms)" 1) |"
echo "| PATCH answer (committed), p50, ms | $(fmt "$(r .answer_p50_ms)" 1) |"
echo "| server CPU per delivered event, µs | $(fmt "$(r .cpu_per_event_us)" 1) |"
echo "| server memory per open stream, KiB | $(fmt "$(r .per_stream_kib)" 1) |"
echo "| server resident memory, no streams → all open, MiB | $(mib "$(r .rss_before_kib)") → $(mib "$(r .rss_after_kib)") |"
echo
echo "- latency: from just before the PATCH is written to the moment the stream's bytes holding the event reach the client (one process, one monotonic clock), one sample per stream per round, $(r .samples) samples, nearest-rank percentiles; fastest $(fmt "$(r .min_ms)" 1) ms; PATCH answer p90 $(fmt "$(r .answer_p90_ms)" 1) ms, max $(fmt "$(r .answer_max_ms)" 1) ms"
echo "- per round (p50/max ms): first $(fmt "$(r '.round_p50_ms[0]')" 1)/$(fmt "$(r '.round_max_ms[0]')" 1), slowest (round $(r .slowest_round)) $(fmt "$(r '.round_p50_ms[.slowest_round - 1]')" 1)/$(fmt "$(r '.round_max_ms[.slowest_round - 1]')" 1); each round's p50: $(r '[.round_p50_ms[] | . * 10 | round / 10] | map(tostring) | join(" ")')"
echo "- memory: VmRSS before the streams, 2 s after the first half opened and 2 s after the second: $(fmt "$(r .first_half_kib)" 1) and $(fmt "$(r .second_half_kib)" 1) KiB per stream (glibc malloc; memory freed after the setup's password hashing may be reused by the first streams without growing VmRSS)"
echo "- server CPU: $(fmt "$(r .cpu_s)" 2) s (utime $(fmt "$(r .cpu_user_s)" 2) + stime $(fmt "$(r .cpu_sys_s)" 2), at $(r .cpu_hz) ticks/s) over the $(fmt "$(r .rounds_s)" 1) s of rounds, heartbeats and stream checks included; the client (Python asyncio, same $(nproc) cores) spent $(fmt "$(r .client_per_event_us)" 1) µs per received event in its handler (reading the chunk, finding the event; its JSON is read after the round), which adds to the latency of the streams read after it in a round"
echo "- setup: server answering $start_s s after start; $(r .users) users made in $(fmt "$(r .setup_users_s)" 1) s ($PARALLEL at a time); $(r .streams) streams opened in $(fmt "$(r .open_s)" 2) s; PAUSE_MS=$(r .pause_ms)"
echo "- $(r .heartbeats) heartbeats and $(r .other_events) other events seen; $ts_logged warnings or errors in the server's log (RUST_LOG=warn; besides development mode's two at start: no licence, no SMTP)"

failed=0
if [ "$(r '.problems | length')" != 0 ]; then
  say
  say "bench/events: FAILED:"
  problems >&2
  failed=1
fi
[ "$client_rc" = 0 ] || failed=1
if [ "$alive" = no ]; then say "bench/events: tasksession exited during the run: $(tail -20 "$work/ts.log")"; failed=1; fi
if [ "$ts_logged" != 0 ]; then
  say "the server's log has $ts_logged warnings or errors:"
  logged | head -20 >&2
fi
exit "$failed"
