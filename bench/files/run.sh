#!/usr/bin/env bash
# Files benchmark: one large file (SIZE_MB, default 1024: 1 GiB of random bytes) uploaded
# to and downloaded from our server and nginx on the same machine, in the same run, with
# the same client (curl), over plain HTTP on loopback:
#
#   upload    ours: POST /api/v1/projects/{id}/files, multipart/form-data with one `file`
#             part (curl -F), with a personal access token, into a `localhost` brand's
#             local file store (development mode; ./data/files); every answer must be 201
#             with the file's size and its SHA-256 equal to the source's
#             nginx: PUT (curl -T) to a location with `dav_methods PUT` (the body goes to
#             client_body_temp_path and is renamed into place); every answer must be 201
#             and the stored file as large as the source
#   download  ours: GET /api/v1/projects/{id}/files/{file_id}/content of the file just
#             uploaded; nginx: the source file as a static file, `sendfile on`; each must
#             answer 200 with every byte (curl -o /dev/null), and one more download of
#             each, not timed, is piped through sha256sum and checked against the source
#
# RUNS rounds (default 3) of: our upload, nginx's upload, our download, nginx's download;
# the table gives the median of each (curl's %{speed_upload}/%{speed_download} and
# %{time_total}), the CPU time each server spent on it (/proc/<pid>/stat: ours, and
# nginx's master and workers together) and resident memory: ours idle before the runs
# (VmRSS) and its peak (VmHWM) after them, nginx's largest worker's likewise. curl sends
# no `Expect: 100-continue` to either (it would wait for the 100 before sending). Before
# each measure, the machine's dirty pages are written out (`sync`, not timed).
#
# Usage: bench/files/run.sh
#   TASKSESSION_BIN  our binary (default target/release/tasksession; build it first with
#                    `cargo build --release -p gateway`, this script does not build)
#   SIZE_MB=1024     the file's size in MiB
#   RUNS=3           rounds
#   WORK_DIR=/path   where the temporary folder is made (default $TMPDIR or /tmp); it needs
#                    about 5 × SIZE_MB free (the source, our store and its staging copy,
#                    nginx's stored copy and its temporary body). KEEP=1 keeps it (logs).
# Installs nginx-light, curl and jq from Debian when missing (Debian's nginx has
# ngx_http_dav_module built in; nginx-full is tried when it has not).
set -euo pipefail
caller=$PWD   # TASKSESSION_BIN and WORK_DIR may be given relative to it
cd "$(dirname "$0")/../.."

SIZE_MB=${SIZE_MB:-1024}
RUNS=${RUNS:-3}
HOST=files.localhost
TS_PORT=48080
TS_TLS_PORT=48443
TS_OPERATOR_PORT=49090
NG_PORT=48081
PASSWORD='correct horse battery staple'

die() { echo "bench/files: $*" >&2; exit 1; }
say() { echo "$*" >&2; }

[[ $SIZE_MB =~ ^[1-9][0-9]*$ ]] || die "SIZE_MB=$SIZE_MB is not a whole number of MiB"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS=$RUNS is not a whole number"

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

apt_install() { # packages…
  say "installing $*…"
  [ "$(id -u)" = 0 ] || die "missing packages: $* (run as root, or install them)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
missing=()
command -v nginx >/dev/null || missing+=(nginx-light)
command -v curl >/dev/null || missing+=(curl)
command -v jq >/dev/null || missing+=(jq)
[ "${#missing[@]}" = 0 ] || apt_install "${missing[@]}"
nginx -V 2>&1 | grep -q with-http_dav_module || apt_install nginx-full
nginx -V 2>&1 | grep -q with-http_dav_module || die "this nginx has no ngx_http_dav_module (nginx -V)"

for port in $TS_PORT $TS_TLS_PORT $TS_OPERATOR_PORT $NG_PORT; do
  if curl -s -o /dev/null -m 2 "http://127.0.0.1:$port/"; then die "port $port is already in use"; fi
done

parent=$(cd "$caller" && realpath -m -- "${WORK_DIR:-${TMPDIR:-/tmp}}")
[ -d "$parent" ] || die "WORK_DIR=$parent is not a folder"
work=$(mktemp -d "$parent/files-bench.XXXXXX")
ts_pid="" ng_pid=""
cleanup() {
  for pid in $ts_pid $ng_pid; do kill "$pid" 2>/dev/null || true; done
  for pid in $ts_pid $ng_pid; do wait "$pid" 2>/dev/null || true; done
  if [ -n "${KEEP:-}" ]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

bytes=$((SIZE_MB * 1024 * 1024))
need_mb=$((SIZE_MB * 5 + 512))
avail_mb=$(df -Pm "$work" | awk 'NR == 2 {print $4}')
[ "$avail_mb" -ge "$need_mb" ] \
  || die "$work has $avail_mb MiB free, this run needs about $need_mb MiB: set WORK_DIR to a larger disk or lower SIZE_MB"
# Either server takes a file of up to twice SIZE_MB, 2 GiB at least.
limit_mb=$((SIZE_MB * 2 > 2048 ? SIZE_MB * 2 : 2048))

mkdir -p "$work/www" "$work/ts" "$work/nginx-put" "$work/nginx-tmp"
src=$work/www/big.bin
say "writing $SIZE_MB MiB of random bytes to $src…"
head -c "$bytes" /dev/urandom > "$src"
[ "$(stat -c %s "$src")" = "$bytes" ] || die "could not write $bytes bytes to $src"
src_sha=$(sha256sum "$src" | cut -d' ' -f1)

# ---------------------------------------------------------------------------------------------
# Ours: one brand with an admin, served on the HTTP listener in development mode.
( cd "$work/ts" && "$BIN" domain add "$HOST" --brand "Files" --admin-email "admin@$HOST" ) \
  >"$work/domain-add.out" 2>&1 || die "tasksession domain add failed: $(cat "$work/domain-add.out")"
invitation=$(sed -n 's|.*/invite/\([^[:space:]]*\).*|\1|p' "$work/domain-add.out" | head -1)
[ -n "$invitation" ] || die "tasksession domain add printed no /invite/ link: $(cat "$work/domain-add.out")"
( cd "$work/ts" && TASKSESSION_LISTEN_HTTP=127.0.0.1:$TS_PORT TASKSESSION_LISTEN_HTTPS=127.0.0.1:$TS_TLS_PORT \
  TASKSESSION_LISTEN_OPERATOR=127.0.0.1:$TS_OPERATOR_PORT \
  TASKSESSION_LIMITS_MAX_UPLOAD_BYTES=$((limit_mb * 1024 * 1024)) RUST_LOG=warn exec "$BIN" serve ) \
  >"$work/ts.log" 2>&1 &
ts_pid=$!
for _ in $(seq 1 300); do
  curl -s -o /dev/null -m 2 -H "Host: $HOST" "http://127.0.0.1:$TS_PORT/" && break
  kill -0 "$ts_pid" 2>/dev/null || die "tasksession serve exited: $(tail -20 "$work/ts.log")"
  sleep 0.1
done
curl -s -o /dev/null -m 2 -H "Host: $HOST" "http://127.0.0.1:$TS_PORT/" \
  || die "tasksession did not answer on port $TS_PORT in 30 s: $(tail -20 "$work/ts.log")"

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
auth="Authorization: Bearer $token"
project=$(ts_api /api/v1/projects -H "$auth" -X POST -d '{"name":"Bench"}' | jq -r '.id // empty')
[ -n "$project" ] || die "POST /api/v1/projects gave no project id"

# ---------------------------------------------------------------------------------------------
# nginx: the source as a static file, and PUT into $work/nginx-put.
ng_user=""
[ "$(id -u)" = 0 ] && ng_user="user root root;"   # the workers read and write in $work (0700)
cat > "$work/nginx.conf" <<NGINX
$ng_user
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  default_type application/octet-stream;
  client_body_temp_path $work/nginx-tmp/body;
  proxy_temp_path $work/nginx-tmp/proxy;
  fastcgi_temp_path $work/nginx-tmp/fastcgi;
  uwsgi_temp_path $work/nginx-tmp/uwsgi;
  scgi_temp_path $work/nginx-tmp/scgi;
  server {
    listen 127.0.0.1:$NG_PORT;
    root $work/www;
    location /upload/ {
      root $work/nginx-put;
      dav_methods PUT;
      create_full_put_path on;
      client_max_body_size ${limit_mb}m;
      # On the same file system as the destination, so that the body is renamed into place.
      client_body_temp_path $work/nginx-put/tmp;
    }
  }
}
NGINX
nginx -t -q -e "$work/nginx-error.log" -c "$work/nginx.conf" 2>"$work/nginx-t.out" \
  || die "nginx -t: $(cat "$work/nginx-t.out")"
nginx -e "$work/nginx-error.log" -c "$work/nginx.conf" -g 'daemon off;' >"$work/nginx.out" 2>&1 &
ng_pid=$!
for _ in $(seq 1 100); do
  curl -s -o /dev/null -m 2 -r 0-0 "http://127.0.0.1:$NG_PORT/big.bin" && break
  kill -0 "$ng_pid" 2>/dev/null || die "nginx exited: $(cat "$work/nginx.out" "$work/nginx-error.log" 2>/dev/null)"
  sleep 0.1
done
ng_workers=()
for _ in $(seq 1 50); do
  read -r -a ng_workers <<<"$(ps -o pid= --ppid "$ng_pid" | tr '\n' ' ')"
  [ "${#ng_workers[@]}" -ge 2 ] && break
  sleep 0.1
done
[ "${#ng_workers[@]}" = 2 ] || die "nginx started ${#ng_workers[@]} workers, not 2"
ng_all=("$ng_pid" "${ng_workers[@]}")
ng_stored=$work/nginx-put/upload/big.bin

# ---------------------------------------------------------------------------------------------
kib() { # pid field -> the field of /proc/<pid>/status in KiB (VmRSS, VmHWM)
  awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"
}
ticks() { # pid… -> user + system CPU ticks of those processes together
  local pid total=0
  for pid in "$@"; do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done
  echo "$total"
}
hz=$(getconf CLK_TCK)

sleep 1
ts_idle_kib=$(kib "$ts_pid" VmRSS)
ts_hwm_before_kib=$(kib "$ts_pid" VmHWM)
ng_idle_kib=0
for pid in "${ng_workers[@]}"; do
  k=$(kib "$pid" VmRSS); [ "$k" -gt "$ng_idle_kib" ] && ng_idle_kib=$k
done

# Each measure's runs, one value a round: bytes/s, seconds, server CPU seconds.
declare -A speed secs cpu
file_id=""
record() { # key wanted-code cpu-ticks-before "code seconds bytes/s bytes" pids… : check, keep
  local key=$1 want=$2 before=$3 c t s n
  read -r c t s n <<<"$4"
  shift 4
  local after; after=$(ticks "$@")
  [ "$c" = "$want" ] || die "$key answered ${c:-nothing}, wanted $want: $(head -c 500 "$work/answer" 2>/dev/null)"
  [ "$n" = "$bytes" ] || die "$key moved $n bytes, wanted $bytes"
  speed[$key]+="$s " secs[$key]+="$t "
  cpu[$key]+="$(awk -v t=$((after - before)) -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }') "
  say "    $key: $(awk -v s="$s" 'BEGIN { printf "%.0f", s / 1e6 }') MB/s, $t s"
}

# Before each measure, not timed: the previous one's written bytes go to disk, so that
# neither server's measure pays for the other's writeback.
settle() { sync; sleep 0.5; }

upload_ours() {
  settle
  local before out; before=$(ticks "$ts_pid")
  out=$(curl -s -H "Host: $HOST" -H "$auth" -H 'Expect:' -F "file=@$src;type=application/octet-stream" \
    -o "$work/answer" -w '%{http_code} %{time_total} %{speed_upload} %{size_upload}' \
    "http://127.0.0.1:$TS_PORT/api/v1/projects/$project/files" || true)
  # The speed of the file's bytes, not of the multipart form around them.
  out=$(awk -v n="$bytes" '{ if ($4 >= n) print $1, $2, $3 * n / $4, n; else print }' <<<"$out")
  record upload/ours 201 "$before" "$out" "$ts_pid"
  local got_size got_sha
  file_id=$(jq -r '.id // empty' "$work/answer")
  got_size=$(jq -r '.size // empty' "$work/answer")
  got_sha=$(jq -r '.sha256 // empty' "$work/answer")
  [ -n "$file_id" ] || die "our upload's answer has no id: $(head -c 500 "$work/answer")"
  [ "$got_size" = "$bytes" ] || die "our upload stored $got_size bytes, wanted $bytes"
  [ "${got_sha,,}" = "$src_sha" ] || die "our upload's sha256 is $got_sha, the source's $src_sha"
}

upload_nginx() {
  rm -f "$ng_stored"   # each PUT creates the file (201), as each of ours is a new file
  settle
  local before out; before=$(ticks "${ng_all[@]}")
  out=$(curl -s -H 'Expect:' -T "$src" -o "$work/answer" \
    -w '%{http_code} %{time_total} %{speed_upload} %{size_upload}' \
    "http://127.0.0.1:$NG_PORT/upload/big.bin" || true)
  record upload/nginx 201 "$before" "$out" "${ng_all[@]}"
  local stored; stored=$(stat -c %s "$ng_stored" 2>/dev/null || echo none)
  [ "$stored" = "$bytes" ] || die "nginx stored $stored bytes at $ng_stored, wanted $bytes"
}

download_ours() {
  settle
  local before out; before=$(ticks "$ts_pid")
  rm -f "$work/answer"
  out=$(curl -s -H "Host: $HOST" -H "$auth" -o /dev/null \
    -w '%{http_code} %{time_total} %{speed_download} %{size_download}' \
    "http://127.0.0.1:$TS_PORT/api/v1/projects/$project/files/$file_id/content" || true)
  record download/ours 200 "$before" "$out" "$ts_pid"
}

download_nginx() {
  settle
  local before out; before=$(ticks "${ng_all[@]}")
  rm -f "$work/answer"
  out=$(curl -s -o /dev/null -w '%{http_code} %{time_total} %{speed_download} %{size_download}' \
    "http://127.0.0.1:$NG_PORT/big.bin" || true)
  record download/nginx 200 "$before" "$out" "${ng_all[@]}"
}

for round in $(seq 1 "$RUNS"); do
  say "round $round of $RUNS:"
  upload_ours
  upload_nginx
  download_ours
  download_nginx
done

ts_hwm_kib=$(kib "$ts_pid" VmHWM)
ts_rss_after_kib=$(kib "$ts_pid" VmRSS)
ng_hwm_kib=0
for pid in "${ng_workers[@]}"; do
  k=$(kib "$pid" VmHWM); [ "$k" -gt "$ng_hwm_kib" ] && ng_hwm_kib=$k
done

# Every byte, once each (not timed).
say "checking the downloaded bytes' SHA-256…"
ours_sha=$(curl -s -f -H "Host: $HOST" -H "$auth" \
  "http://127.0.0.1:$TS_PORT/api/v1/projects/$project/files/$file_id/content" | sha256sum | cut -d' ' -f1)
ng_sha=$(curl -s -f "http://127.0.0.1:$NG_PORT/big.bin" | sha256sum | cut -d' ' -f1)
ng_put_sha=$(sha256sum "$ng_stored" | cut -d' ' -f1)
[ "$ours_sha" = "$src_sha" ] || die "our download's SHA-256 is $ours_sha, the source's $src_sha"
[ "$ng_sha" = "$src_sha" ] || die "nginx's download's SHA-256 is $ng_sha, the source's $src_sha"
[ "$ng_put_sha" = "$src_sha" ] || die "the file nginx stored has SHA-256 $ng_put_sha, the source's $src_sha"
kill -0 "$ts_pid" 2>/dev/null || die "tasksession exited during the runs: $(tail -20 "$work/ts.log")"
ts_logged=$({ grep -c 'WARN\|ERROR' "$work/ts.log" || true; } | head -1)
ng_logged=$({ grep -c '\[\(warn\|error\|crit\|alert\|emerg\)\]' "$work/nginx-error.log" || true; } | head -1)

# ---------------------------------------------------------------------------------------------
median() { # values… -> their median
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
fmt() { awk -v v="$1" -v d="$2" 'BEGIN { printf "%.*f", d, v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
each() { # "bytes/s…" -> "MB/s, MB/s, …"
  awk '{ for (i = 1; i <= NF; i++) printf "%s%.0f", (i > 1 ? ", " : ""), $i / 1e6 }' <<<"$1"
}
row() { # label ours nginx
  printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"
}
declare -A mbs mt mc
for key in upload/ours upload/nginx download/ours download/nginx; do
  # shellcheck disable=SC2086
  mbs[$key]=$(fmt "$(awk -v v="$(median ${speed[$key]})" 'BEGIN { print v / 1e6 }')" 0)
  # shellcheck disable=SC2086
  mt[$key]=$(fmt "$(median ${secs[$key]})" 2)
  # shellcheck disable=SC2086
  mc[$key]=$(fmt "$(median ${cpu[$key]})" 2)
done

echo
echo "| $SIZE_MB MiB file, median of $RUNS | ours | nginx | ours/nginx |"
echo "|---|---|---|---|"
row "upload, MB/s" "${mbs[upload/ours]}" "${mbs[upload/nginx]}"
row "upload, s" "${mt[upload/ours]}" "${mt[upload/nginx]}"
row "download, MB/s" "${mbs[download/ours]}" "${mbs[download/nginx]}"
row "download, s" "${mt[download/ours]}" "${mt[download/nginx]}"
row "server CPU per upload, s" "${mc[upload/ours]}" "${mc[upload/nginx]}"
row "server CPU per download, s" "${mc[download/ours]}" "${mc[download/nginx]}"
row "resident memory idle, MiB" "$(fmt "$(awk -v k="$ts_idle_kib" 'BEGIN { print k / 1024 }')" 1)" \
  "$(fmt "$(awk -v k="$ng_idle_kib" 'BEGIN { print k / 1024 }')" 1)"
row "peak resident memory (VmHWM), MiB" "$(fmt "$(awk -v k="$ts_hwm_kib" 'BEGIN { print k / 1024 }')" 1)" \
  "$(fmt "$(awk -v k="$ng_hwm_kib" 'BEGIN { print k / 1024 }')" 1)"
echo
echo "- every run, MB/s: upload ours $(each "${speed[upload/ours]}"), nginx $(each "${speed[upload/nginx]}"); download ours $(each "${speed[download/ours]}"), nginx $(each "${speed[download/nginx]}")"
echo "- MB is 10^6 bytes; speeds are curl's %{speed_upload}/%{speed_download} (for our multipart upload, of the file's $bytes bytes, not the form around them), times its %{time_total}"
echo "- upload: ours is a multipart/form-data POST (curl -F) to /api/v1/projects/{id}/files, hashed (SHA-256) into the brand's local file store (content is kept by its SHA-256, so the $RUNS uploads are $RUNS files sharing one stored copy); nginx's is a PUT (curl -T) with dav_methods PUT, written to client_body_temp_path and renamed into place; curl sends no Expect: 100-continue to either"
echo "- download: ours streams the stored file from GET …/files/{id}/content; nginx sends the source file with sendfile; both checked by SHA-256 once (equal to the source's), every upload's answer and stored size checked"
echo "- resident memory: ours is the whole process (idle: VmRSS after start-up and setup, before the runs; peak: VmHWM after them: $(fmt "$(awk -v k="$ts_hwm_before_kib" 'BEGIN { print k / 1024 }')" 1) MiB before the runs, $(fmt "$(awk -v k="$ts_rss_after_kib" 'BEGIN { print k / 1024 }')" 1) MiB resident after them); nginx's is its largest worker of 2 (worker_processes 2); server CPU: ours, nginx's master and workers"
echo "- plain HTTP on loopback; curl and both servers share this machine's $(nproc) cores; both download files already in the page cache (nginx the source, written before the runs; ours the upload just before); $ts_logged warnings or errors in our log (RUST_LOG=warn), $ng_logged in nginx's error log"
